package h1client

import "time"

// call is a request from Go to its completion, pooled. From enqueue to
// finish it is its connection's, under the connection's mu (the reader
// alone fills resp, for the call whose response it parses).
type call struct {
	req      *Request
	resp     *Response
	deadline time.Time
	done     func(error)
	sent     int    // the connections it was queued on, re-sends included
	seq      uint64 // its place in its connection's queue
	err      error  // the outcome, set by finish
}

func (k *call) reset() { *k = call{} }

// complete runs the completions queued on cc, not under mu; dst is a
// scratch slice, returned for reuse.
func (cc *conn) complete(dst []*call) []*call {
	if cc.nfin.Load() == 0 {
		return dst
	}
	cc.mu.Lock()
	dst = append(dst[:0], cc.fin...)
	clear(cc.fin)
	cc.fin = cc.fin[:0]
	cc.nfin.Store(0)
	cc.mu.Unlock()
	var again []*call // requests the server did not process, in the order sent
	for i, k := range dst {
		dst[i] = nil
		if k.err == errUnprocessed && !cc.cl.closed.Load() {
			again = append(again, k)
			continue
		}
		cc.cl.completeCall(k)
	}
	if len(again) > 0 {
		go cc.cl.resendAll(again)
	}
	cc.cl.wake()
	return dst[:0]
}

// completeCall reports k's end to its caller.
func (c *Client) completeCall(k *call) {
	if k.err == errUnprocessed {
		k.err = ErrClosed // only after Close: complete re-sends them otherwise
	}
	done, err := k.done, k.err
	k.reset()
	c.calls.Put(k)
	done(err)
}

// resendAll queues requests the server did not process on a connection
// again, in the order they were sent: rare (a server closing a pipelined
// connection), so a goroutine does it.
func (c *Client) resendAll(ks []*call) {
	for _, k := range ks {
		c.resend(k)
	}
}

// resend queues k, a request the server did not process, again.
func (c *Client) resend(k *call) {
	k.err = nil
	err := ErrNotProcessed
	if k.sent <= maxUnprocessed {
		k.sent++
		c.resent.Add(1)
		if err = c.start(k); err == nil {
			return
		}
	}
	done := k.done
	k.reset()
	c.calls.Put(k)
	done(err)
}
