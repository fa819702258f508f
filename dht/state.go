package dht

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// MaxStateLen bounds the state file read at start; a real one is under
// a kilobyte (an id and at most MaxNodes contacts per family).
const MaxStateLen = 4 << 10

// State is what a node keeps across restarts so that it does not start
// cold: its id and some good nodes.
type State struct {
	ID    ID
	Nodes []NodeInfo // IPv4 and IPv6 contacts; MaxNodes of each are kept
}

// Encode returns the state as a bencoded dictionary: "id", and "nodes"
// and "nodes6" in the compact forms of BEP 5 and BEP 32.
func (st State) Encode() []byte {
	b := []byte("d2:id")
	b = appendStr(b, st.ID[:])
	b = append(b, "5:nodes"...)
	b = appendCompactNodes(b, st.Nodes, false)
	b = append(b, "6:nodes6"...)
	b = appendCompactNodes(b, st.Nodes, true) // each call takes its own family
	return append(b, 'e')
}

// ParseState decodes a state file. Anything malformed is an error: the
// caller starts cold rather than from a half-read file.
func ParseState(b []byte) (State, error) {
	if len(b) > MaxStateLen {
		return State{}, fmt.Errorf("dht state: %d bytes, limit %d", len(b), MaxStateLen)
	}
	d, n, err := scanDict(b, "id", "nodes", "nodes6")
	if err != nil || n != len(b) {
		return State{}, fmt.Errorf("dht state: not one bencoded dictionary")
	}
	var st State
	id, ok := rawStr(d["id"])
	if !ok || len(id) != IDLen {
		return State{}, fmt.Errorf("dht state: id missing or not %d bytes", IDLen)
	}
	copy(st.ID[:], id)
	for key, ipLen := range map[string]int{"nodes": 4, "nodes6": 16} {
		nodes, err := compactNodes(d[key], ipLen)
		if err != nil {
			return State{}, fmt.Errorf("dht state: %s: %w", key, err)
		}
		st.Nodes = append(st.Nodes, nodes...)
	}
	return st, nil
}

// LoadState reads the state file at path.
func LoadState(path string) (State, error) {
	f, err := os.Open(path)
	if err != nil {
		return State{}, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxStateLen+1))
	if err != nil {
		return State{}, err
	}
	return ParseState(b)
}

// SaveState writes st to path atomically: a temporary file in the same
// directory, synced, then renamed over path, so a crash leaves the old
// state or the new one, never half of one. The directory is created.
func SaveState(path string, st State) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".dht-state-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // fails harmlessly once renamed
	if _, err := f.Write(st.Encode()); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
