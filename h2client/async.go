package h2client

import (
	"sync/atomic"
	"time"
)

// async is the state of a request started by Go: no goroutine waits for
// it. Its stream's end is queued on the connection (conn.fin, under mu)
// and its completion run after mu is released, by the goroutine that
// ended it (the reader, mostly: once per read); its deadline is a timer
// of the stream's own, reused like the stream.
type async struct {
	done     func(error) // the caller's completion; nil: a Do
	req      *Request
	resp     *Response
	deadline time.Time
	cc       atomic.Pointer[conn] // the stream's connection (set in open)
	timer    *time.Timer          // AfterFunc(expire), armed in open
	armed    bool                 // the timer runs for this stream (under cc.mu)
	// refs: the completion's, and the timer's from armAsync until Stop
	// stopped it or expire ran: the stream goes back to the pool at 0.
	refs atomic.Int32
}

// Go starts req like Do but returns without waiting for the response: done
// is called once with what Do would have returned, by the goroutine that
// ended the stream (the connection's reader, the deadline timer, the one
// that failed or closed the connection, or the one re-sending a stream the
// server did not process), maybe before Go returns, never under a lock of
// the Client's. done must not block nor call Do or Go (it may run on a
// connection's reader, which the streams of other requests wait for). Go itself waits only for a free
// stream (or a dial), as Do does; if that fails it returns the error and
// done is not called. resp, req and req.Body must stay untouched until
// done is called; a stream the server did not process is sent again
// (synchronously, on a goroutine of its own) as Do does.
func (c *Client) Go(req *Request, resp *Response, deadline time.Time, done func(error)) error {
	st := c.streams.Get().(*stream)
	st.armed = false
	a := &st.a
	a.done, a.req, a.resp, a.deadline, a.armed = done, req, resp, deadline, false
	a.refs.Store(1)
	if _, err := c.start(st, req, resp, deadline); err != nil {
		a.done, a.req, a.resp = nil, nil, nil
		st.timer.Stop()
		c.streams.Put(st)
		return err
	}
	// st may be finished and reused already (its completion is run by
	// whoever ended it): not a look at it here.
	return nil
}

// armAsync starts st's deadline timer. Under mu, from open.
func (c *conn) armAsync(st *stream) {
	st.a.cc.Store(c)
	st.a.armed = true
	st.a.refs.Add(1)
	st.a.timer.Reset(time.Until(st.a.deadline))
}

// finishedAsync queues the completion of st, a stream of Go that finish
// ended. Under mu.
func (c *conn) finishedAsync(st *stream) {
	if st.a.armed {
		st.a.armed = false
		if st.a.timer.Stop() {
			st.a.refs.Add(-1) // expire will not run
		}
	}
	c.fin = append(c.fin, st)
	c.nfin.Add(1)
}

// complete runs the completions queued on c, not under mu; dst is a
// scratch slice, returned for reuse.
func (c *conn) complete(dst []*stream) []*stream {
	if c.nfin.Load() == 0 {
		return dst
	}
	c.mu.Lock()
	dst = append(dst[:0], c.fin...)
	clear(c.fin)
	c.fin = c.fin[:0]
	c.nfin.Store(0)
	c.mu.Unlock()
	for i, st := range dst {
		dst[i] = nil
		c.cl.completeAsync(st)
	}
	return dst[:0]
}

// completeAsync reports st's end to its caller, or sends a stream the
// server did not process again.
func (c *Client) completeAsync(st *stream) {
	if st.err == errUnprocessed {
		go c.resend(st)
		return
	}
	done, err := st.a.done, st.err
	c.unref(st)
	done(err)
}

// resend is Do's loop for a request of Go whose stream the server did not
// process: rare (GOAWAY, REFUSED_STREAM), so a goroutine waits for it.
func (c *Client) resend(st *stream) {
	a := &st.a
	req, resp, deadline, done := a.req, a.resp, a.deadline, a.done
	c.unref(st)
	err := ErrTimeout
	if time.Now().Before(deadline) {
		err = c.do(req, resp, deadline, 2) // the first stream went unprocessed
	}
	done(err)
}

// unref drops one reference to st, a stream of Go; the last puts it back.
func (c *Client) unref(st *stream) {
	if st.a.refs.Add(-1) != 0 {
		return
	}
	st.timer.Stop()
	st.a.done, st.a.req, st.a.resp = nil, nil, nil
	st.a.cc.Store(nil)
	c.streams.Put(st)
}

// expire is st's deadline timer: the stream is reset (RST_STREAM CANCEL)
// and ends with ErrTimeout, as Do's wait does, unless it ended meanwhile.
func (st *stream) expire() {
	c := st.a.cc.Load()
	c.mu.Lock()
	if st.a.armed && !st.finished {
		st.a.armed = false
		c.cancel(st)
	}
	c.mu.Unlock()
	c.complete(nil)
	c.cl.unref(st)
}
