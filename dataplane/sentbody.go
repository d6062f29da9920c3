package dataplane

import (
	"io"
	"sync"
	"time"
)

// sentBody is the bytes of one HTTP/2 request, lent to x/net's Transport,
// and tells when the transport is done with them. The transport gets a
// bodyReader per attempt: the request's Body, and one more from GetBody
// each time it retries the request on another connection. That matters:
// x/net closes the body of an attempt that found its connection unusable
// (errClientConnUnusable) and then retries with the same Request; a body
// whose Read ends at Close would then send an empty stream with
// END_STREAM, which a server answers 200 — records acknowledged to XDR
// that no destination received. With GetBody set, each attempt reads its
// own reader from the start.
//
// The transport may go on reading after RoundTrip returned (a response
// came before the whole body was sent) and closes a reader when it lets
// go, possibly from another goroutine while a Read is under way; Read and
// Close share the lock, so once a reader is closed it never touches the
// bytes again. Not every path closes a reader (x/net returns a dial error
// without closing the body), so Do does not wait for Close blindly: see
// release. A sentBody is not pooled: a late Close must land on the
// request it belongs to.
type sentBody struct {
	mu      sync.Mutex
	b       []byte
	holding int  // readers read from and not closed: streams holding the bytes
	retired bool // release ran: a reader not read yet gets EOF, not the bytes
	waiting bool // release waits for holding to reach 0
	done    chan struct{}
}

// bodyReader is one attempt's view of a sentBody.
type bodyReader struct {
	sb     *sentBody
	off    int
	read   bool // counted in sb.holding
	closed bool
}

// closeWait is how long release waits for a stream that read the body to
// close it after the request's context was cancelled (x/net aborts the
// stream and closes the body at once; this only bounds a surprise).
const closeWait = time.Second

func newSentBody(b []byte) *sentBody {
	return &sentBody{b: b, done: make(chan struct{}, 1)}
}

// reader returns a new reader from the start of the bytes (the first
// attempt's Body, and Request.GetBody for the transport's retries).
func (sb *sentBody) reader() *bodyReader { return &bodyReader{sb: sb} }

func (sb *sentBody) getBody() (io.ReadCloser, error) { return sb.reader(), nil }

func (r *bodyReader) Read(p []byte) (int, error) {
	sb := r.sb
	sb.mu.Lock()
	defer sb.mu.Unlock()
	if r.closed || (sb.retired && !r.read) {
		return 0, io.EOF
	}
	if !r.read {
		r.read = true
		sb.holding++
	}
	if r.off >= len(sb.b) {
		return 0, io.EOF
	}
	n := copy(p, sb.b[r.off:])
	r.off += n
	return n, nil
}

func (r *bodyReader) Close() error {
	sb := r.sb
	sb.mu.Lock()
	if !r.closed {
		r.closed = true
		if r.read {
			sb.holding--
			if sb.holding == 0 && sb.waiting {
				sb.done <- struct{}{}
			}
		}
	}
	sb.mu.Unlock()
	return nil
}

// release is called after the request's context was cancelled. It reports
// whether the transport is done with the bytes: every reader that was read
// from is closed (a reader never read gets EOF from now on, so no stream
// will). Otherwise it waits up to closeWait for the closes; past that the
// bytes stay the transport's (false).
func (sb *sentBody) release() bool {
	sb.mu.Lock()
	sb.retired = true
	if sb.holding == 0 {
		sb.mu.Unlock()
		return true
	}
	sb.waiting = true
	sb.mu.Unlock()
	t := time.NewTimer(closeWait)
	defer t.Stop()
	select {
	case <-sb.done:
		return true
	case <-t.C:
		return false
	}
}
