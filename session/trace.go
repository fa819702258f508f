package session

import (
	"fmt"
	"io"
	"time"
)

// tracer writes the -t trace: one line per event, "<RFC3339Nano> <event>
// <args>", each line written at once (no buffering) so that a kill -9 loses
// nothing already traced. Used by the loop only (and the final shutdown).
type tracer struct {
	w   io.Writer
	buf []byte
}

// newTracer returns a tracer writing to w; nil w traces nothing.
func newTracer(w io.Writer) *tracer { return &tracer{w: w} }

// printf writes one trace line.
func (t *tracer) printf(format string, args ...any) {
	if t.w == nil {
		return
	}
	t.buf = time.Now().UTC().AppendFormat(t.buf[:0], time.RFC3339Nano)
	t.buf = append(t.buf, ' ')
	t.buf = fmt.Appendf(t.buf, format, args...)
	t.buf = append(t.buf, '\n')
	t.w.Write(t.buf)
}
