package h2client

import (
	"time"
)

// async is the state of a request started by Go: no goroutine waits for
// it. Its stream's end is queued on the connection (conn.fin, under mu)
// and its completion run after mu is released, by the goroutine that
// ended it (the reader, mostly: once per read). Its deadline is kept by
// the connection's watchdog (one timer per connection, moved only for a
// deadline earlier than the one it is set for), so a request costs no
// timer operation.
type async struct {
	done     func(error) // the caller's completion; nil: a Do
	req      *Request
	resp     *Response
	deadline time.Time
}

// Go starts req like Do but returns without waiting for the response: done
// is called once with what Do would have returned, by the goroutine that
// ended the stream (the connection's reader, its watchdog at the deadline, the one
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
	st.a = async{done: done, req: req, resp: resp, deadline: deadline}
	if _, err := c.start(st, req, resp, deadline); err != nil {
		c.release(st)
		return err
	}
	// st may be finished and reused already (its completion is run by
	// whoever ended it): not a look at it here.
	return nil
}

// armAsync makes sure the watchdog runs by st's deadline. Under mu, from
// open: run set the watchdog before the connection could take a stream.
func (c *conn) armAsync(st *stream) {
	if st.a.deadline.Before(c.watchAt) {
		c.watchAt = st.a.deadline
		c.watch.Reset(time.Until(st.a.deadline))
	}
}

// expireAsync ends the streams of Go past their deadline (RST_STREAM
// CANCEL, ErrTimeout, as Do's wait does) and returns the earliest deadline
// of those left, or next. Under mu, from the watchdog.
func (c *conn) expireAsync(now, next time.Time) time.Time {
	for _, st := range c.streams {
		if st.a.done == nil {
			continue
		}
		if now.Before(st.a.deadline) {
			next = earlier(next, st.a.deadline)
			continue
		}
		c.cancel(st) // deletes st from c.streams: allowed while ranging
	}
	return next
}

func earlier(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// finishedAsync queues the completion of st, a stream of Go that finish
// ended. Under mu.
func (c *conn) finishedAsync(st *stream) {
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
	c.release(st)
	done(err)
}

// resend is Do's loop for a request of Go whose stream the server did not
// process: rare (GOAWAY, REFUSED_STREAM), so a goroutine waits for it.
func (c *Client) resend(st *stream) {
	a := &st.a
	req, resp, deadline, done := a.req, a.resp, a.deadline, a.done
	c.release(st)
	err := ErrTimeout
	if time.Now().Before(deadline) {
		err = c.do(req, resp, deadline, 2) // the first stream went unprocessed
	}
	done(err)
}

// release puts st, a stream of Go whose completion is taken (or that Go
// failed to start), back in the pool.
func (c *Client) release(st *stream) {
	if st.armed { // set while Go waited for a free stream (start)
		st.timer.Stop()
		st.armed = false
	}
	st.a = async{}
	c.streams.Put(st)
}
