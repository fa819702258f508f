package mse

import "net"

// sender writes a handshake's messages to the connection in order, on its
// own goroutine, so that our side never sits in Write while the peer does
// the same: on an unbuffered connection (net.Pipe) both would wait
// forever. Each side sends two messages; the queue holds both.
type sender struct {
	q    chan []byte
	done chan error
}

// startSender starts the goroutine writing to c.
func startSender(c net.Conn) *sender {
	s := &sender{q: make(chan []byte, 2), done: make(chan error, 1)}
	go s.run(c)
	return s
}

// run writes each queued message until one write fails, then only drains
// the queue; it reports the first error when the queue is closed.
func (s *sender) run(c net.Conn) {
	var err error
	for b := range s.q {
		if err == nil {
			_, err = c.Write(b)
		}
	}
	s.done <- err
}

// send queues b, which the caller must not touch afterwards.
func (s *sender) send(b []byte) { s.q <- b }

// wait closes the queue and returns once every message is written (or the
// first write failed), with that write's error.
func (s *sender) wait() error {
	close(s.q)
	return <-s.done
}
