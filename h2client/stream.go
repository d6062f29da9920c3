package h2client

import (
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// stream is one request's HTTP/2 stream. A stream object is reused (the
// Client's pool) with its channel and timer: a request allocates nothing.
// Its fields are guarded by the connection's mu while it is open.
type stream struct {
	id    uint32
	done  chan struct{} // one token when finished (under mu)
	timer *time.Timer
	armed bool // timer set for the current deadline

	resp *Response
	keep bool

	data        []byte // request body not yet framed (waits for window)
	sentEnd     bool   // END_STREAM (or RST_STREAM) sent
	sendWindow  int64
	recvUnacked int

	gotHeaders bool // final response headers seen
	finished   bool
	err        error

	a async // Go's state; a.done == nil for Do
}

func newStream() *stream {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &stream{done: make(chan struct{}, 1), timer: t}
}

// arm sets the timer for deadline once per Do.
func (st *stream) arm(deadline time.Time) {
	if !st.armed {
		st.timer.Reset(time.Until(deadline))
		st.armed = true
	}
}

// open writes req's HEADERS (and the DATA the windows allow) for st, a new
// stream of c. Under c.mu.
func (c *conn) open(st *stream, req *Request, resp *Response) {
	c.encodeHeader(req.Header)
	st.id = c.nextID
	c.nextID += 2
	st.resp, st.keep = resp, req.KeepBody
	resp.Status, resp.RetryAfter, resp.Body, resp.BodyTooLarge = 0, resp.RetryAfter[:0], resp.Body[:0], false
	st.data, st.sentEnd, st.recvUnacked = req.Body, false, 0
	st.sendWindow = int64(c.peerInitWindow)
	st.gotHeaders, st.finished, st.err = false, false, nil
	if st.a.done != nil {
		c.armAsync(st)
	}
	// The header block, in HEADERS and as many CONTINUATION frames as
	// the server's frame size asks for, back to back.
	block := c.hbuf
	max := int(c.peerMaxFrame)
	first := block
	if len(first) > max {
		first = block[:max]
	}
	end := len(req.Body) == 0
	c.fw.WriteHeaders(http2.HeadersFrameParam{StreamID: st.id, BlockFragment: first, EndStream: end, EndHeaders: len(first) == len(block)})
	for rest := block[len(first):]; len(rest) > 0; {
		n := min(len(rest), max)
		c.fw.WriteContinuation(st.id, n == len(rest), rest[:n])
		rest = rest[n:]
	}
	st.sentEnd = end
	c.streams[st.id] = st
	c.active++
	if !end {
		if c.sendData(st) {
			c.blocked = append(c.blocked, st)
		}
	}
	c.kick()
}

// encodeHeader encodes a header block into c.hbuf. A field that is not
// Sensitive and was last encoded, at the same position, as a plain index
// into the HPACK tables reuses those bytes while the dynamic table is
// unchanged (hgen: bumped by every field that may insert, and by a table
// size change, which must then be the block's first bytes): the fixed
// fields of a destination cost a string comparison, not a table search.
// Under mu.
func (c *conn) encodeHeader(fields []hpack.HeaderField) {
	c.hbuf = c.hbuf[:0]
	for i, f := range fields {
		if !f.Sensitive && i < len(c.hcache) {
			if e := &c.hcache[i]; e.gen == c.hgen && e.name == f.Name && e.value == f.Value {
				c.hbuf = append(c.hbuf, e.enc...)
				continue
			}
		}
		if f.Sensitive && !c.hpending {
			c.hbuf = appendNeverIndexed(c.hbuf, f.Name, f.Value)
			continue // never indexed: the table is unchanged
		}
		start := len(c.hbuf)
		c.enc.WriteField(f) // its Write (ours) cannot fail
		c.hpending = false  // a size update went first
		if f.Sensitive {
			continue
		}
		enc := c.hbuf[start:]
		if len(enc) == 0 || enc[0]&0x80 == 0 {
			c.hgen++ // a literal (inserted into the table) or a size update
			continue
		}
		for len(c.hcache) <= i {
			c.hcache = append(c.hcache, hcached{})
		}
		e := &c.hcache[i]
		e.name, e.value, e.gen = f.Name, f.Value, c.hgen
		e.enc = append(e.enc[:0], enc...)
	}
}

// wait waits for st's response or the deadline. At the deadline the stream
// is reset (RST_STREAM CANCEL) unless it finished meanwhile.
func (st *stream) wait(c *conn, deadline time.Time) error {
	c.mu.Lock()
	finished := st.finished
	c.mu.Unlock()
	if !finished {
		st.arm(deadline)
		select {
		case <-st.done:
			return st.err
		case <-st.timer.C:
			st.armed = false
		}
		c.mu.Lock()
		if !st.finished {
			c.cancel(st)
			c.mu.Unlock()
			return ErrTimeout
		}
		c.mu.Unlock()
	}
	<-st.done // finished under mu: the token is there
	return st.err
}

// cancel gives up st at its deadline. Under mu.
func (c *conn) cancel(st *stream) {
	if !st.sentEnd && !c.closed {
		st.sentEnd = true // RST_STREAM ends our side too
	}
	if !c.closed {
		c.fw.WriteRSTStream(st.id, http2.ErrCodeCancel)
		c.kick()
	}
	c.finish(st, ErrTimeout)
	if st.a.done == nil {
		<-st.done // finish put the token: nobody else waits for it
	}
}

// finish ends st with err (nil: the response is complete), frees its slot
// and wakes its caller. A response that came before the whole body was
// sent resets the stream: the rest of the body is not sent. Under mu.
func (c *conn) finish(st *stream, err error) {
	if st.finished {
		return
	}
	st.finished, st.err = true, err
	delete(c.streams, st.id)
	if st.data != nil {
		st.data = nil
		for i, b := range c.blocked {
			if b == st {
				copy(c.blocked[i:], c.blocked[i+1:])
				c.blocked[len(c.blocked)-1] = nil
				c.blocked = c.blocked[:len(c.blocked)-1]
				break
			}
		}
	}
	if !st.sentEnd && !c.closed {
		st.sentEnd = true
		c.fw.WriteRSTStream(st.id, http2.ErrCodeCancel)
		c.kick()
	}
	st.resp = nil
	c.active--
	if c.active == 0 {
		c.idleSince = time.Now()
		if c.goAway || c.retired {
			c.closeGracefully()
		}
	}
	if st.a.done != nil {
		c.finishedAsync(st)
	} else {
		st.done <- struct{}{}
	}
	c.cl.wake()
}

// staticName is the HPACK static table's index of a name a request sends
// with values that change (RFC 7541 Appendix A), 0 for the others: a switch,
// not a map, since it runs for every such field of every request.
func staticName(name string) uint64 {
	switch name {
	case ":path":
		return 4
	case "authorization":
		return 23
	case "content-length":
		return 28
	case "content-type":
		return 31
	case "date":
		return 33
	case "if-match":
		return 39
	case "range":
		return 50
	case "user-agent":
		return 58
	}
	return 0
}

// appendNeverIndexed appends a "literal never indexed" representation
// (RFC 7541 6.2.3) of a field whose value changes per request: the name by
// static index or as a literal, the strings without Huffman coding — a few
// more bytes on the wire, no table search nor coding per request.
func appendNeverIndexed(b []byte, name, value string) []byte {
	if i := staticName(name); i != 0 {
		b = appendVarInt(b, 4, 0x10, i)
	} else {
		b = append(b, 0x10)
		b = appendVarInt(b, 7, 0, uint64(len(name)))
		b = append(b, name...)
	}
	b = appendVarInt(b, 7, 0, uint64(len(value)))
	return append(b, value...)
}

// appendVarInt appends i as an HPACK integer with an n-bit prefix, the
// prefix's other bits being first's (RFC 7541 5.1).
func appendVarInt(b []byte, n uint, first byte, i uint64) []byte {
	k := uint64(1)<<n - 1
	if i < k {
		return append(b, first|byte(i))
	}
	b = append(b, first|byte(k))
	for i -= k; i >= 128; i >>= 7 {
		b = append(b, byte(0x80|i&0x7f))
	}
	return append(b, byte(i))
}
