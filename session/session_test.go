package session

import (
	"bytes"
	"context"
	"crypto/rand"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/unworkable/unworkable/metainfo"
)

// makeTorrent writes files (name -> size) with random bytes under
// dir/<root>/ and returns the parsed metainfo of a torrent of them.
func makeTorrent(t testing.TB, dir string, sizes []int64, pieceLen int64) *metainfo.MetaInfo {
	t.Helper()
	return makeTorrentOpts(t, dir, sizes, metainfo.BuildOptions{PieceLength: pieceLen})
}

// makeTorrentOpts is makeTorrent with every build option.
func makeTorrentOpts(t testing.TB, dir string, sizes []int64, opts metainfo.BuildOptions) *metainfo.MetaInfo {
	t.Helper()
	root := filepath.Join(dir, "payload")
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, n := range sizes {
		b := make([]byte, n)
		rand.Read(b)
		name := filepath.Join(root, string(rune('a'+i))+".bin")
		if err := os.WriteFile(name, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data, err := metainfo.Build(root, opts)
	if err != nil {
		t.Fatal(err)
	}
	m, err := metainfo.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// traceBuf is a goroutine-safe trace sink for tests.
type traceBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (t *traceBuf) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.b.Write(p)
}

func (t *traceBuf) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.b.String()
}

// count returns how many trace lines have the given event word.
func (t *traceBuf) count(word string) int {
	n := 0
	for _, l := range strings.Split(t.String(), "\n") {
		f := strings.Fields(l)
		if len(f) > 1 && f[1] == word {
			n++
		}
	}
	return n
}

// startSeeder runs a seeding session on dir in the background and returns
// its address; it stops at test cleanup.
func startSeeder(t testing.TB, m *metainfo.MetaInfo, dir string) netip.AddrPort {
	t.Helper()
	return netip.MustParseAddrPort(runListening(t, Config{Meta: m, Dir: dir, Seed: true}))
}

// download runs a leeching session against peers until it returns.
func download(t testing.TB, m *metainfo.MetaInfo, dir string, tr *traceBuf, peers ...netip.AddrPort) error {
	t.Helper()
	s, err := New(testHost(), Config{Meta: m, Dir: dir, Peers: peers, Trace: tr})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	return s.Run(ctx)
}

// sameTree fails unless every file of want/payload equals got/payload.
func sameTree(t *testing.T, want, got string) {
	t.Helper()
	ents, _ := os.ReadDir(filepath.Join(want, "payload"))
	for _, e := range ents {
		a, _ := os.ReadFile(filepath.Join(want, "payload", e.Name()))
		b, err := os.ReadFile(filepath.Join(got, "payload", e.Name()))
		if err != nil || !bytes.Equal(a, b) {
			t.Fatalf("%s differs (err %v)", e.Name(), err)
		}
	}
}

// leakCheck fails if goroutines started during the test outlive it.
func leakCheck(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if n := runtime.NumGoroutine(); n > before {
			buf := make([]byte, 1<<16)
			t.Errorf("%d goroutines leaked:\n%s", n-before, buf[:runtime.Stack(buf, true)])
		}
	})
}

func TestDownloadFromSeeder(t *testing.T) {
	src := t.TempDir()
	// Pieces cross file boundaries, a zero-length file, a short last piece.
	m := makeTorrent(t, src, []int64{100000, 0, 3*32768 + 7, 12345}, 32768)
	leakCheck(t)
	seed := startSeeder(t, m, src)
	dst := t.TempDir()
	tr := &traceBuf{}
	if err := download(t, m, dst, tr, seed); err != nil {
		t.Fatalf("download: %v\n%s", err, tr)
	}
	sameTree(t, src, dst)
	if n := tr.count("verified"); n != m.Info.NumPieces() {
		t.Errorf("verified %d pieces, want %d", n, m.Info.NumPieces())
	}
}

func TestResumeSkipsVerifiedPieces(t *testing.T) {
	src := t.TempDir()
	m := makeTorrent(t, src, []int64{300000, 70000}, 16384)
	seed := startSeeder(t, m, src)
	dst := t.TempDir()
	// Copy the first half of the data, as if a previous run died midway.
	half := m.Info.Length / 2
	var off int64
	for _, f := range m.Info.Files {
		b, _ := os.ReadFile(filepath.Join(append([]string{src}, f.Path...)...))
		keep := max(0, min(int64(len(b)), half-off))
		out := filepath.Join(append([]string{dst}, f.Path...)...)
		os.MkdirAll(filepath.Dir(out), 0o755)
		os.WriteFile(out, b[:keep], 0o644)
		off += f.Length
	}
	tr := &traceBuf{}
	if err := download(t, m, dst, tr, seed); err != nil {
		t.Fatalf("download: %v\n%s", err, tr)
	}
	sameTree(t, src, dst)
	checked, verified := tr.count("checked"), tr.count("verified")
	if want := int(half / m.Info.PieceLength); checked != want {
		t.Errorf("checked %d pieces at start, want %d", checked, want)
	}
	if checked+verified != m.Info.NumPieces() {
		t.Errorf("checked %d + verified %d != %d pieces", checked, verified, m.Info.NumPieces())
	}
	// A second run on the complete data trusts the resume file: no check.
	tr2 := &traceBuf{}
	if err := download(t, m, dst, tr2); err != nil {
		t.Fatalf("second run: %v", err)
	}
	if !strings.Contains(tr2.String(), "resume: ") || tr2.count("verified") != 0 {
		t.Errorf("second run did not resume from the resume file:\n%s", tr2)
	}
}

func TestCorruptSeederIsBanned(t *testing.T) {
	src := t.TempDir()
	m := makeTorrent(t, src, []int64{400000}, 16384)
	good := startSeeder(t, m, src)
	bad := t.TempDir()
	b, _ := os.ReadFile(filepath.Join(src, "payload", "a.bin"))
	for i := range b {
		if i%5000 == 0 {
			b[i] ^= 0xff
		}
	}
	os.MkdirAll(filepath.Join(bad, "payload"), 0o755)
	os.WriteFile(filepath.Join(bad, "payload", "a.bin"), b, 0o644)
	// The bad seeder believes its data: give it a resume file saying so.
	writeFullResume(t, m, bad)
	evil := startSeeder(t, m, bad)
	dst := t.TempDir()
	tr := &traceBuf{}
	if err := download(t, m, dst, tr, evil, good); err != nil {
		t.Fatalf("download: %v\n%s", err, tr)
	}
	sameTree(t, src, dst)
	if !strings.Contains(tr.String(), "banned: sent corrupt data") && tr.count("hashfail") > 0 {
		t.Errorf("hash failures but no ban:\n%s", tr)
	}
}

// writeFullResume makes a resume file claiming every piece of dir's data.
func writeFullResume(t *testing.T, m *metainfo.MetaInfo, dir string) {
	t.Helper()
	s, err := openSession(t, Config{Meta: m, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	for i := range m.Info.NumPieces() {
		s.table.MarkHave(i)
	}
	if err := s.saveResume(); err != nil {
		t.Fatal(err)
	}
	s.close()
}

// openSession makes a session of a host without a listener and takes it
// through its start-up check on the test goroutine (no loop runs), for
// tests that drive its methods directly. close releases it.
func openSession(t testing.TB, cfg Config) (*Session, error) {
	t.Helper()
	s, err := New(testHost(), cfg)
	if err != nil {
		return nil, err
	}
	s.enterCheck(cfg.Meta)
	for s.err == nil && s.phase == phaseCheck {
		s.hashDone(<-s.hashed)
	}
	if s.err != nil {
		s.close()
		return nil, s.err
	}
	return s, nil
}

// close stops the hashers of a session from openSession and closes its
// storage.
func (s *Session) close() {
	close(s.done)
	s.hashers.Wait()
	if s.store != nil {
		s.store.Close()
	}
}
