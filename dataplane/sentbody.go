package dataplane

import (
	"io"
	"sync"
	"time"
)

// sentBody is an HTTP/2 request body that tells when the transport is done
// with it. x/net's Transport may go on reading a body after RoundTrip
// returned (a response came before the whole body was sent) and closes it
// when it lets go, possibly from another goroutine while a Read is under
// way; Read and Close share a lock, so once Close returned no Read touches
// the bytes again. Not every path closes it (x/net's Transport returns a
// dial error without closing the body), so Do does not wait for Close
// blindly: see release.
type sentBody struct {
	mu     sync.Mutex
	b      []byte
	read   bool // the transport has read from it: a stream holds it
	closed bool
	done   chan struct{} // receives once, at the first Close
}

var sentBodies = sync.Pool{New: func() any { return &sentBody{done: make(chan struct{}, 1)} }}

// closeWait is how long release waits for a stream that read the body to
// close it after the request's context was cancelled (x/net aborts the
// stream and closes the body at once; this only bounds a surprise).
const closeWait = time.Second

func newSentBody(b []byte) *sentBody {
	sb := sentBodies.Get().(*sentBody)
	sb.b, sb.read, sb.closed = b, false, false
	return sb
}

func (sb *sentBody) Read(p []byte) (int, error) {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	sb.read = true
	if sb.closed || len(sb.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, sb.b)
	sb.b = sb.b[n:]
	return n, nil
}

func (sb *sentBody) Close() error {
	sb.mu.Lock()
	if !sb.closed {
		sb.closed, sb.b = true, nil
		sb.done <- struct{}{}
	}
	sb.mu.Unlock()
	return nil
}

// release is called after the request's context was cancelled. It reports
// whether the transport is done with the body's bytes: closed, or never
// read and so held by no stream. Otherwise it waits up to closeWait for
// the close; past that the bytes stay the transport's (false), and sb is
// dropped rather than pooled.
func (sb *sentBody) release() bool {
	sb.mu.Lock()
	closed, read := sb.closed, sb.read
	if !closed && !read {
		sb.closed, sb.b = true, nil // a late Read gets EOF, not the bytes
		closed = true
		sb.done <- struct{}{}
	}
	sb.mu.Unlock()
	if !closed {
		t := time.NewTimer(closeWait)
		select {
		case <-sb.done:
			closed = true
		case <-t.C:
		}
		t.Stop()
		if !closed {
			return false
		}
	} else {
		<-sb.done
	}
	sentBodies.Put(sb)
	return true
}
