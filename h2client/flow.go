package h2client

import "golang.org/x/net/http2"

// Flow control. Sending: DATA goes out only within both the connection's
// and the stream's send window; what does not fit waits in conn.blocked and
// is framed when a WINDOW_UPDATE (or a larger SETTINGS_INITIAL_WINDOW_SIZE)
// opens the window. Receiving: we grant recvStreamWindow per stream and
// recvConnWindow for the connection, and give back what the server used in
// one WINDOW_UPDATE per half window, for DATA we keep, drop, or that
// arrives for a stream already given up — so a response never stalls.

// sendData frames as much of st.data as the windows and the server's frame
// size allow and reports whether some is left. Under mu.
func (c *conn) sendData(st *stream) (left bool) {
	for len(st.data) > 0 {
		n := int64(len(st.data))
		n = min(n, int64(c.peerMaxFrame), c.sendWindow, st.sendWindow)
		if n <= 0 {
			return true
		}
		end := n == int64(len(st.data))
		c.writeData(st.id, end, st.data[:n])
		st.data = st.data[n:]
		c.sendWindow -= n
		st.sendWindow -= n
		if end {
			st.data, st.sentEnd = nil, true
		}
	}
	return false
}

// writeData appends a DATA frame (RFC 9113 6.1, no padding) to wbuf. Not
// through the Framer: it copies the payload into its own buffer before
// handing it to Write, a second copy of every body byte. Under mu.
func (c *conn) writeData(id uint32, end bool, p []byte) {
	var flags byte
	if end {
		flags = byte(http2.FlagDataEndStream)
	}
	n := len(p)
	c.wbuf = append(c.wbuf, byte(n>>16), byte(n>>8), byte(n), byte(http2.FrameData), flags,
		byte(id>>24), byte(id>>16), byte(id>>8), byte(id))
	c.wbuf = append(c.wbuf, p...)
}

// unblock frames the DATA the windows now allow, streams in the order they
// blocked. Under mu.
func (c *conn) unblock() {
	keep := c.blocked[:0]
	for _, st := range c.blocked {
		if st.finished || st.data == nil {
			continue
		}
		if c.sendData(st) {
			keep = append(keep, st)
		}
	}
	for i := len(keep); i < len(c.blocked); i++ {
		c.blocked[i] = nil
	}
	c.blocked = keep
	c.kick()
}

// windowUpdate applies a WINDOW_UPDATE of the server. Under mu.
func (c *conn) windowUpdate(id, incr uint32) error {
	if id == 0 {
		c.sendWindow += int64(incr)
		if c.sendWindow > maxStreamID {
			return connError{http2.ErrCodeFlowControl, "connection send window over 2^31-1"}
		}
		c.unblock()
		return nil
	}
	st := c.streams[id]
	if st == nil {
		return nil // a stream that ended
	}
	st.sendWindow += int64(incr)
	if st.sendWindow > maxStreamID {
		c.resetStream(st, http2.ErrCodeFlowControl, "stream send window over 2^31-1")
		return nil
	}
	c.unblock()
	return nil
}

// initialWindow applies a new SETTINGS_INITIAL_WINDOW_SIZE: every open
// stream's window moves by the difference (RFC 9113 6.9.2). Under mu.
func (c *conn) initialWindow(v uint32) error {
	if v > maxStreamID {
		return connError{http2.ErrCodeFlowControl, "SETTINGS_INITIAL_WINDOW_SIZE over 2^31-1"}
	}
	delta := int64(v) - int64(c.peerInitWindow)
	c.peerInitWindow = int32(v)
	for _, st := range c.streams {
		st.sendWindow += delta
		if st.sendWindow > maxStreamID {
			return connError{http2.ErrCodeFlowControl, "stream send window over 2^31-1"}
		}
	}
	if delta > 0 {
		c.unblock()
	}
	return nil
}

// received credits n bytes of DATA (padding included) on stream st (nil:
// one already ended) and sends WINDOW_UPDATEs once half a window is used.
// Under mu.
func (c *conn) received(st *stream, n int, end bool) error {
	if int64(n) > c.recvAvail {
		return connError{http2.ErrCodeFlowControl, "DATA beyond the connection window"}
	}
	c.recvAvail -= int64(n)
	c.recvUnacked += n
	if c.recvUnacked >= recvConnWindow/2 {
		c.fw.WriteWindowUpdate(0, uint32(c.recvUnacked))
		c.recvAvail += int64(c.recvUnacked)
		c.recvUnacked = 0
		c.kick()
	}
	if st != nil && !end {
		st.recvUnacked += n
		if st.recvUnacked >= recvStreamWindow/2 {
			c.fw.WriteWindowUpdate(st.id, uint32(st.recvUnacked))
			st.recvUnacked = 0
			c.kick()
		}
	}
	return nil
}
