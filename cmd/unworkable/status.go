package main

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Status socket (-g/--status, the C client's -g): every client that
// connects gets the JSON event lines from then on. Nothing is read from
// clients.
const (
	statusQueue     = 64              // lines queued per client at most; a full queue drops the client
	statusWriteWait = 5 * time.Second // a write blocked this long drops the client
	statusSndBuf    = 4096            // small kernel buffer, so a stalled client is noticed soon
	statusFlushWait = 2 * time.Second // at exit, time given to clients to take the last lines
)

// statusAddr is a parsed --status address.
type statusAddr struct {
	network string // "unix" or "tcp"
	addr    string
}

// parseStatusAddr checks a --status address. A path (it contains a '/' or
// ends in .sock) is a unix socket. Otherwise it is host:port, where the host
// must be a loopback address or localhost, or, only with public, another
// specific IP address; a wildcard or empty host is always refused.
func parseStatusAddr(s string, public bool) (statusAddr, error) {
	if strings.Contains(s, "/") || strings.HasSuffix(s, ".sock") {
		return statusAddr{"unix", s}, nil
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return statusAddr{}, fmt.Errorf("--status %s: want a socket path or host:port", s)
	}
	if host == "localhost" {
		return statusAddr{"tcp", net.JoinHostPort("127.0.0.1", port)}, nil
	}
	ip, err := netip.ParseAddr(host)
	switch {
	case host == "":
		return statusAddr{}, fmt.Errorf("--status %s: no host: give 127.0.0.1, [::1] or localhost", s)
	case err != nil:
		return statusAddr{}, fmt.Errorf("--status %s: the host must be an IP address or localhost", s)
	case ip.IsUnspecified():
		return statusAddr{}, fmt.Errorf("--status %s: refusing to listen on all interfaces", s)
	case !ip.IsLoopback() && !public:
		return statusAddr{}, fmt.Errorf("--status %s: not a loopback address (add --status-public to serve it anyway)", s)
	}
	return statusAddr{"tcp", s}, nil
}

// statusServer serves the event lines on the status socket. broadcast runs
// on the session loop and never blocks; each client has its own queue and
// writer goroutine. The mutex guards clients and closed.
type statusServer struct {
	ln  net.Listener
	log *slog.Logger

	mu      sync.Mutex
	clients map[*statusClient]struct{}
	closed  bool
	writers sync.WaitGroup
}

// statusClient is one connected client. q is closed (under the server's
// mutex) when the client is dropped or the server closes.
type statusClient struct {
	conn net.Conn
	q    chan []byte
}

// listenStatus opens the status socket. A unix socket is created with mode
// 0600; an existing socket file is replaced only when nobody answers on it,
// any other existing file is left alone and refused.
func listenStatus(a statusAddr, log *slog.Logger) (*statusServer, error) {
	var ln net.Listener
	var err error
	if a.network == "unix" {
		ln, err = listenUnix(a.addr)
	} else {
		ln, err = net.Listen("tcp", a.addr)
	}
	if err != nil {
		return nil, fmt.Errorf("status socket: %w", err)
	}
	s := &statusServer{ln: ln, log: log, clients: map[*statusClient]struct{}{}}
	log.Info("status socket listening", "addr", ln.Addr().String())
	go s.accept()
	return s, nil
}

// listenUnix creates a unix socket at path, readable and writable by its
// owner only.
func listenUnix(path string) (net.Listener, error) {
	fi, err := os.Lstat(path)
	switch {
	case err == nil && fi.Mode().Type() != fs.ModeSocket:
		return nil, fmt.Errorf("%s exists and is not a socket", path)
	case err == nil:
		if c, derr := net.DialTimeout("unix", path, time.Second); derr == nil {
			c.Close()
			return nil, fmt.Errorf("%s is in use by another process", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, err
		}
	case !errors.Is(err, fs.ErrNotExist):
		return nil, err
	}
	// The umask makes the socket 0600 from the start: no window in which
	// others may connect. Nothing else creates files at this point.
	old := syscall.Umask(0o177)
	ln, err := net.Listen("unix", path)
	syscall.Umask(old)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, err
	}
	return ln, nil // Close removes the socket file
}

// accept takes clients until the listener is closed.
func (s *statusServer) accept() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		if uc, ok := c.(*net.UnixConn); ok {
			uc.SetWriteBuffer(statusSndBuf)
		}
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetWriteBuffer(statusSndBuf)
		}
		cl := &statusClient{conn: c, q: make(chan []byte, statusQueue)}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.clients[cl] = struct{}{}
		s.writers.Add(1)
		s.mu.Unlock()
		s.log.Info("status client connected", "remote", remoteName(c))
		go s.write(cl)
	}
}

// remoteName names a client for the log.
func remoteName(c net.Conn) string {
	if a := c.RemoteAddr(); a != nil && a.String() != "" && a.String() != "@" {
		return a.String()
	}
	return "unix"
}

// write sends the client's lines until its queue is closed; a failed or
// stalled write drops the client.
func (s *statusServer) write(cl *statusClient) {
	defer s.writers.Done()
	defer cl.conn.Close()
	for line := range cl.q {
		cl.conn.SetWriteDeadline(time.Now().Add(statusWriteWait))
		if _, err := cl.conn.Write(line); err != nil {
			s.drop(cl, err.Error())
			for range cl.q {
			}
			return
		}
	}
}

// broadcast offers line to every client without blocking: a client whose
// queue is full is dropped.
func (s *statusServer) broadcast(line []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for cl := range s.clients {
		select {
		case cl.q <- line:
		default:
			s.dropLocked(cl, "not reading")
		}
	}
}

// drop removes a client, once.
func (s *statusServer) drop(cl *statusClient, why string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropLocked(cl, why)
}

// dropLocked is drop with the mutex held. The connection is closed at once,
// which also ends a write blocked on it.
func (s *statusServer) dropLocked(cl *statusClient, why string) {
	if _, ok := s.clients[cl]; !ok {
		return
	}
	delete(s.clients, cl)
	close(cl.q)
	cl.conn.Close()
	s.log.Info("status client dropped", "remote", remoteName(cl.conn), "why", why)
}

// close stops accepting, gives the clients up to grace to take what is
// queued (the final events), then closes every connection and, for a unix
// socket, removes the socket file.
func (s *statusServer) close(grace time.Duration) {
	s.mu.Lock()
	s.closed = true
	s.ln.Close()
	left := make([]*statusClient, 0, len(s.clients))
	for cl := range s.clients {
		close(cl.q)
		left = append(left, cl)
	}
	clear(s.clients)
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.writers.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(grace):
		for _, cl := range left {
			cl.conn.Close()
		}
		<-done
	}
}
