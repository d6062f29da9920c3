package h2client

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// The reader parses the server's frames itself rather than with
// http2.Framer.ReadFrame, which allocates a HeadersFrame per response:
// frame headers and payloads are read into one reused buffer, header
// blocks decoded by the connection's hpack.Decoder into a few fields.

// connError is a connection error of ours: GOAWAY with its code, then close.
type connError struct {
	code http2.ErrCode
	why  string
}

func (e connError) Error() string {
	return fmt.Sprintf("h2client: connection error %v: %s", e.code, e.why)
}

// StreamResetError is a RST_STREAM from the server (other than
// REFUSED_STREAM, which Do retries).
type StreamResetError struct{ Code http2.ErrCode }

func (e StreamResetError) Error() string {
	return "h2client: the server reset the stream: " + e.Code.String()
}

type reader struct {
	c   *conn
	br  *bufio.Reader
	buf []byte // one frame's payload
	dec *hpack.Decoder

	// the header block being received (HEADERS + CONTINUATIONs)
	block     []byte
	blockID   uint32
	blockEnd  bool // END_STREAM on its HEADERS
	inBlock   bool
	status    int
	retry     []byte
	sawStatus bool
	badStatus bool

	fin []*stream // scratch of conn.complete
}

func (r *reader) init(c *conn, br *bufio.Reader) {
	r.c, r.br = c, br
	r.buf = make([]byte, maxFrameRead)
	r.dec = hpack.NewDecoder(4096, r.emit)
	r.dec.SetMaxStringLength(maxHeaderBlock)
}

// emit takes the fields of a response header block we use.
func (r *reader) emit(f hpack.HeaderField) {
	switch f.Name {
	case ":status":
		r.sawStatus = true
		if len(f.Value) != 3 {
			r.badStatus = true
			return
		}
		v := 0
		for i := 0; i < 3; i++ {
			d := f.Value[i] - '0'
			if d > 9 {
				r.badStatus = true
				return
			}
			v = v*10 + int(d)
		}
		if v < 100 {
			r.badStatus = true
		}
		r.status = v
	case "retry-after":
		r.retry = append(r.retry[:0], f.Value...)
	}
}

// loop reads frames until the connection fails.
func (r *reader) loop() {
	err := r.run()
	c := r.c
	var ce connError
	if errors.As(err, &ce) {
		c.mu.Lock()
		if !c.closed {
			c.fw.WriteGoAway(0, ce.code, nil)
			buf := c.wbuf
			c.wbuf = nil
			c.handedID = c.lastOpened()
			c.mu.Unlock()
			// Best effort: tell the server why, then close.
			c.nc.SetWriteDeadline(time.Now().Add(time.Second))
			c.nc.Write(buf)
		} else {
			c.mu.Unlock()
		}
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	c.fail(err)
}

func (r *reader) run() error {
	var hdr [9]byte
	for {
		if _, err := io.ReadFull(r.br, hdr[:]); err != nil {
			return err
		}
		n := int(hdr[0])<<16 | int(hdr[1])<<8 | int(hdr[2])
		typ, flags := http2.FrameType(hdr[3]), http2.Flags(hdr[4])
		id := binary.BigEndian.Uint32(hdr[5:]) & maxStreamID
		if n > maxFrameRead {
			return connError{http2.ErrCodeFrameSize, fmt.Sprintf("%v frame of %d bytes", typ, n)}
		}
		p := r.buf[:n]
		if _, err := io.ReadFull(r.br, p); err != nil {
			return err
		}
		r.c.readSeen.Store(true)
		if r.inBlock && typ != http2.FrameContinuation {
			return connError{http2.ErrCodeProtocol, "a header block interrupted by " + typ.String()}
		}
		var err error
		switch typ {
		case http2.FrameData:
			err = r.data(id, flags, p)
		case http2.FrameHeaders:
			err = r.headers(id, flags, p)
		case http2.FrameContinuation:
			if !r.inBlock || id != r.blockID {
				return connError{http2.ErrCodeProtocol, "CONTINUATION out of a header block"}
			}
			err = r.fragment(p, flags.Has(http2.FlagContinuationEndHeaders))
		case http2.FrameRSTStream:
			err = r.rst(id, p)
		case http2.FrameSettings:
			err = r.settings(id, flags, p)
		case http2.FramePing:
			err = r.ping(id, flags, p)
		case http2.FrameGoAway:
			err = r.goAway(id, p)
		case http2.FrameWindowUpdate:
			err = r.windowUpdate(id, p)
		case http2.FramePushPromise:
			err = connError{http2.ErrCodeProtocol, "PUSH_PROMISE with push disabled"}
		case http2.FramePriority:
			if n != 5 {
				err = connError{http2.ErrCodeFrameSize, "PRIORITY frame size"}
			}
		default: // unknown frame types are ignored (RFC 9113 4.1)
		}
		if err != nil {
			return err
		}
		// Run the completions of the requests of Go that these frames
		// finished once no whole frame is buffered (the next read may
		// wait): those of one read together, none under mu.
		if r.c.nfin.Load() > 0 && !r.frameBuffered() {
			r.fin = r.c.complete(r.fin)
		}
	}
}

// frameBuffered reports whether a whole frame is buffered: reading it
// will not wait.
func (r *reader) frameBuffered() bool {
	if r.br.Buffered() < 9 {
		return false
	}
	h, _ := r.br.Peek(9) // buffered: no read
	return r.br.Buffered() >= 9+(int(h[0])<<16|int(h[1])<<8|int(h[2]))
}

// unpad strips the padding of a DATA or HEADERS payload.
func unpad(p []byte, padded bool) ([]byte, error) {
	if !padded {
		return p, nil
	}
	if len(p) < 1 || int(p[0]) >= len(p) {
		return nil, connError{http2.ErrCodeProtocol, "padding longer than the frame"}
	}
	return p[1 : len(p)-int(p[0])], nil
}

func (r *reader) data(id uint32, flags http2.Flags, p []byte) error {
	if id == 0 {
		return connError{http2.ErrCodeProtocol, "DATA on stream 0"}
	}
	n := len(p)
	body, err := unpad(p, flags.Has(http2.FlagDataPadded))
	if err != nil {
		return err
	}
	end := flags.Has(http2.FlagDataEndStream)
	c := r.c
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.streams[id]
	if st != nil && !st.gotHeaders {
		if err := c.received(nil, n, end); err != nil {
			return err
		}
		c.resetStream(st, http2.ErrCodeProtocol, "DATA before the response headers")
		return nil
	}
	if err := c.received(st, n, end); err != nil {
		return err
	}
	if st == nil {
		return nil
	}
	if resp := st.resp; st.keep && resp.Status >= 200 && resp.Status < 300 && !resp.BodyTooLarge {
		if len(resp.Body)+len(body) > c.cl.o.MaxBody {
			resp.BodyTooLarge = true
		} else {
			resp.Body = append(resp.Body, body...)
		}
	}
	if end {
		c.finish(st, nil)
	}
	return nil
}

func (r *reader) headers(id uint32, flags http2.Flags, p []byte) error {
	if id == 0 {
		return connError{http2.ErrCodeProtocol, "HEADERS on stream 0"}
	}
	p, err := unpad(p, flags.Has(http2.FlagHeadersPadded))
	if err != nil {
		return err
	}
	if flags.Has(http2.FlagHeadersPriority) {
		if len(p) < 5 {
			return connError{http2.ErrCodeFrameSize, "HEADERS priority beyond the frame"}
		}
		p = p[5:]
	}
	r.inBlock, r.blockID, r.blockEnd = true, id, flags.Has(http2.FlagHeadersEndStream)
	r.block = r.block[:0]
	return r.fragment(p, flags.Has(http2.FlagHeadersEndHeaders))
}

// fragment adds a piece of the header block; at its end the block is
// decoded (always: the hpack state is the connection's) and applied.
func (r *reader) fragment(p []byte, last bool) error {
	if len(r.block)+len(p) > maxHeaderBlock {
		return connError{http2.ErrCodeProtocol, "response header block over 1 MiB"}
	}
	r.block = append(r.block, p...)
	if !last {
		return nil
	}
	r.inBlock = false
	r.status, r.sawStatus, r.badStatus = 0, false, false
	r.retry = r.retry[:0]
	if _, err := r.dec.Write(r.block); err != nil {
		return connError{http2.ErrCodeCompression, err.Error()}
	}
	if err := r.dec.Close(); err != nil {
		return connError{http2.ErrCodeCompression, err.Error()}
	}
	if cap(r.block) > 64<<10 {
		r.block = nil
	}
	c := r.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if r.blockID%2 == 0 || r.blockID >= c.nextID {
		return connError{http2.ErrCodeProtocol, fmt.Sprintf("HEADERS on stream %d, which we did not open", r.blockID)}
	}
	st := c.streams[r.blockID]
	if st == nil {
		return nil // a stream we gave up
	}
	switch {
	case st.gotHeaders: // trailers
		if !r.blockEnd {
			c.resetStream(st, http2.ErrCodeProtocol, "trailers without END_STREAM")
			return nil
		}
	case !r.sawStatus || r.badStatus:
		c.resetStream(st, http2.ErrCodeProtocol, "a response without a valid :status")
		return nil
	case r.status >= 100 && r.status < 200:
		if r.blockEnd {
			c.resetStream(st, http2.ErrCodeProtocol, "an informational response ending the stream")
		}
		return nil // 100-continue, 103: the final response follows
	default:
		st.gotHeaders = true
		st.resp.Status = r.status
		st.resp.RetryAfter = append(st.resp.RetryAfter[:0], r.retry...)
	}
	if r.blockEnd {
		c.finish(st, nil)
	}
	return nil
}

// resetStream ends st with a stream error of ours: RST_STREAM code, the
// caller gets an error. Under mu.
func (c *conn) resetStream(st *stream, code http2.ErrCode, why string) {
	if !c.closed {
		st.sentEnd = true
		c.fw.WriteRSTStream(st.id, code)
		c.kick()
	}
	c.finish(st, fmt.Errorf("h2client: stream error %v: %s", code, why))
}

func (r *reader) rst(id uint32, p []byte) error {
	if id == 0 || len(p) != 4 {
		return connError{http2.ErrCodeProtocol, "RST_STREAM on stream 0 or of a wrong size"}
	}
	code := http2.ErrCode(binary.BigEndian.Uint32(p))
	c := r.c
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.streams[id]
	if st == nil {
		return nil
	}
	st.sentEnd = true // the stream is closed: no RST of ours
	// NO_ERROR too is an error here: a complete response ended the stream
	// with END_STREAM before (RFC 9113 8.1), so this one was cut short,
	// and a cut _bulk answer must not vouch for its records.
	switch {
	case code == http2.ErrCodeRefusedStream:
		c.finish(st, errUnprocessed)
	default:
		c.finish(st, StreamResetError{code})
	}
	return nil
}

func (r *reader) settings(id uint32, flags http2.Flags, p []byte) error {
	if id != 0 {
		return connError{http2.ErrCodeProtocol, "SETTINGS on a stream"}
	}
	if flags.Has(http2.FlagSettingsAck) {
		if len(p) != 0 {
			return connError{http2.ErrCodeFrameSize, "SETTINGS ack with a payload"}
		}
		return nil
	}
	if len(p)%6 != 0 {
		return connError{http2.ErrCodeFrameSize, "SETTINGS size"}
	}
	c := r.c
	c.mu.Lock()
	defer c.mu.Unlock()
	for ; len(p) > 0; p = p[6:] {
		v := binary.BigEndian.Uint32(p[2:])
		switch http2.SettingID(binary.BigEndian.Uint16(p)) {
		case http2.SettingMaxConcurrentStreams:
			c.peerMaxStreams = v
		case http2.SettingInitialWindowSize:
			if err := c.initialWindow(v); err != nil {
				return err
			}
		case http2.SettingMaxFrameSize:
			if v < 16384 || v > 1<<24-1 {
				return connError{http2.ErrCodeProtocol, "SETTINGS_MAX_FRAME_SIZE out of range"}
			}
			c.peerMaxFrame = v
		case http2.SettingHeaderTableSize:
			c.enc.SetMaxDynamicTableSize(v)
			c.hgen++ // the size update goes first in the next block
			c.hpending = true
		case http2.SettingEnablePush:
			if v > 1 {
				return connError{http2.ErrCodeProtocol, "SETTINGS_ENABLE_PUSH not 0 or 1"}
			}
		}
	}
	if err := c.queuedControl(); err != nil {
		return err
	}
	c.fw.WriteSettingsAck()
	c.kick()
	c.cl.wake() // more streams may be allowed
	return nil
}

func (r *reader) ping(id uint32, flags http2.Flags, p []byte) error {
	if id != 0 || len(p) != 8 {
		return connError{http2.ErrCodeProtocol, "PING on a stream or of a wrong size"}
	}
	c := r.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if flags.Has(http2.FlagPingAck) {
		c.pingOut = false
		return nil
	}
	if err := c.queuedControl(); err != nil {
		return err
	}
	c.fw.WritePing(true, [8]byte(p))
	c.kick()
	return nil
}

// queuedControl counts an acknowledgement about to be queued for the
// server and fails the connection past maxQueuedControl since the writer
// last took wbuf. Under mu.
func (c *conn) queuedControl() error {
	c.ctrlQueued++
	if c.ctrlQueued > maxQueuedControl {
		return connError{http2.ErrCodeEnhanceYourCalm, "the server's PING and SETTINGS frames pile up unacknowledged: it does not read what we write"}
	}
	return nil
}

func (r *reader) goAway(id uint32, p []byte) error {
	if id != 0 || len(p) < 8 {
		return connError{http2.ErrCodeProtocol, "GOAWAY on a stream or too short"}
	}
	last := binary.BigEndian.Uint32(p) & maxStreamID
	c := r.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.goAway && last > c.goAwayID {
		last = c.goAwayID // it may only go down
	}
	c.goAway, c.goAwayID = true, last
	// Streams above last were not processed: Do sends them again.
	for sid, st := range c.streams {
		if sid > last {
			st.sentEnd = true
			c.finish(st, errUnprocessed)
		}
	}
	if c.active == 0 {
		c.closeGracefully()
	}
	c.cl.wake()
	return nil
}

func (r *reader) windowUpdate(id uint32, p []byte) error {
	if len(p) != 4 {
		return connError{http2.ErrCodeFrameSize, "WINDOW_UPDATE size"}
	}
	incr := binary.BigEndian.Uint32(p) & maxStreamID
	c := r.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if incr == 0 {
		if id == 0 {
			return connError{http2.ErrCodeProtocol, "WINDOW_UPDATE of 0"}
		}
		if st := c.streams[id]; st != nil {
			c.resetStream(st, http2.ErrCodeProtocol, "WINDOW_UPDATE of 0")
		}
		return nil
	}
	return c.windowUpdate(id, incr)
}
