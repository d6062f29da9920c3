package sink

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"strconv"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// serveH2C is the lean server's h2c (prior knowledge) connection: one
// goroutine reads frames with x/net/http2's Framer, gathers each stream's
// body, counts it when the stream ends and writes the response frames into
// a buffer flushed once the input read so far is handled — many responses
// in one write. Flow control: the sink grants a 1 GiB window per stream and
// for the connection up front and tops the connection window up every
// MiB, so a sender is never held back by it; its own responses are a few
// bytes, well inside any window a client grants.
const (
	h2MaxFrame     = 1 << 20
	h2Window       = 1 << 30
	h2UpdateAfter  = 1 << 20
	h2MaxStreams   = 1000
	h2KeepBodyUpTo = 4 << 20 // a stream's body buffer goes back to the free list up to this size
)

type h2Stream struct {
	id               uint32
	get              bool
	path, ctype      []byte
	cenc, recordsHdr []byte
	body             []byte
	over             bool // the body passed MaxBody: not kept, answered 413
	unacked          int
}

func (st *h2Stream) reset(id uint32) {
	st.id, st.get, st.over, st.unacked = id, false, false, 0
	st.path, st.ctype, st.cenc, st.recordsHdr = st.path[:0], st.ctype[:0], st.cenc[:0], st.recordsHdr[:0]
	st.body = st.body[:0]
}

func (l *lean) serveH2C(c net.Conn, pre []byte) {
	rest := make([]byte, len(http2.ClientPreface)-len(pre))
	if _, err := io.ReadFull(c, rest); err != nil || string(pre)+string(rest) != http2.ClientPreface {
		return
	}
	br := bufio.NewReaderSize(c, 64<<10)
	bw := bufio.NewWriterSize(c, 64<<10)
	fr := http2.NewFramer(bw, br)
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	fr.SetMaxReadFrameSize(h2MaxFrame)
	fr.WriteSettings(
		http2.Setting{ID: http2.SettingMaxFrameSize, Val: h2MaxFrame},
		http2.Setting{ID: http2.SettingInitialWindowSize, Val: h2Window},
		http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: h2MaxStreams},
	)
	fr.WriteWindowUpdate(0, h2Window-65535)
	if bw.Flush() != nil {
		return
	}
	h := &h2Conn{l: l, fr: fr, streams: map[uint32]*h2Stream{}}
	h.henc = hpack.NewEncoder(&h.hbuf)
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			var se http2.StreamError
			if errors.As(err, &se) {
				fr.WriteRSTStream(se.StreamID, se.Code)
				h.release(se.StreamID)
				continue
			}
			var ce http2.ConnectionError
			if errors.As(err, &ce) {
				fr.WriteGoAway(h.lastID, http2.ErrCode(ce), nil)
				bw.Flush()
			}
			return
		}
		if !h.frame(f) {
			bw.Flush()
			return
		}
		if br.Buffered() == 0 { // all read input handled: send the answers in one write
			if bw.Flush() != nil {
				return
			}
		}
	}
}

type h2Conn struct {
	l       *lean
	fr      *http2.Framer
	streams map[uint32]*h2Stream
	free    []*h2Stream
	lastID  uint32
	unacked int // connection-level bytes received since the last WINDOW_UPDATE
	hbuf    bytes.Buffer
	henc    *hpack.Encoder
	lenBuf  [20]byte
}

// frame handles one frame; false ends the connection.
func (h *h2Conn) frame(f http2.Frame) bool {
	switch f := f.(type) {
	case *http2.SettingsFrame:
		if !f.IsAck() {
			h.fr.WriteSettingsAck()
		}
	case *http2.MetaHeadersFrame:
		id := f.StreamID
		if id <= h.lastID || id%2 == 0 {
			h.fr.WriteGoAway(h.lastID, http2.ErrCodeProtocol, []byte("stream id"))
			return false
		}
		h.lastID = id
		var st *h2Stream
		if n := len(h.free); n > 0 {
			st, h.free = h.free[n-1], h.free[:n-1]
		} else {
			st = &h2Stream{}
		}
		st.reset(id)
		for _, hf := range f.Fields {
			switch hf.Name {
			case ":method":
				st.get = hf.Value == "GET" || hf.Value == "HEAD"
			case ":path":
				st.path = append(st.path, hf.Value...)
			case "content-type":
				st.ctype = append(st.ctype, hf.Value...)
			case "content-encoding":
				st.cenc = append(st.cenc, hf.Value...)
			case "xdrhook-records":
				st.recordsHdr = append(st.recordsHdr, hf.Value...)
			}
		}
		h.streams[id] = st
		if f.StreamEnded() {
			h.finish(st)
		}
	case *http2.DataFrame:
		n := int(f.Header().Length) // padding counts against the window too
		h.unacked += n
		if h.unacked >= h2UpdateAfter {
			h.fr.WriteWindowUpdate(0, uint32(h.unacked))
			h.unacked = 0
		}
		st := h.streams[f.StreamID]
		if st == nil {
			return true // reset or unknown: its bytes are counted for the connection only
		}
		if st.over = st.over || int64(len(st.body)+len(f.Data())) > h.l.s.cfg.MaxBody; !st.over {
			st.body = append(st.body, f.Data()...)
		}
		if f.StreamEnded() {
			h.finish(st)
			return true
		}
		if st.unacked += n; st.unacked >= h2UpdateAfter {
			h.fr.WriteWindowUpdate(st.id, uint32(st.unacked))
			st.unacked = 0
		}
	case *http2.PingFrame:
		if !f.IsAck() {
			h.fr.WritePing(true, f.Data)
		}
	case *http2.RSTStreamFrame:
		h.release(f.StreamID)
	case *http2.GoAwayFrame:
		return false
	}
	return true // WINDOW_UPDATE, PRIORITY: nothing to do (the answers are small)
}

var (
	hdrStatus        = ":status"
	hdrContentType   = "content-type"
	hdrContentLength = "content-length"
)

// finish answers a stream whose request has ended.
func (h *h2Conn) finish(st *h2Stream) {
	var status int
	var ct string
	var reply []byte
	switch {
	case st.get:
		status, ct, reply = h.l.get(st.path)
	case st.over:
		status, ct, reply = h.l.tooLarge(protoH2)
	default:
		status, ct, reply = h.l.data(protoH2, st.path, st.ctype, st.cenc, st.recordsHdr, st.body)
	}
	h.hbuf.Reset()
	if status == 200 {
		h.henc.WriteField(hpack.HeaderField{Name: hdrStatus, Value: "200"}) // static table: one byte
	} else {
		h.henc.WriteField(hpack.HeaderField{Name: hdrStatus, Value: strconv.Itoa(status)})
	}
	if ct != "" {
		h.henc.WriteField(hpack.HeaderField{Name: hdrContentType, Value: ct})
	}
	if len(reply) > 0 {
		h.henc.WriteField(hpack.HeaderField{Name: hdrContentLength, Value: string(strconv.AppendInt(h.lenBuf[:0], int64(len(reply)), 10))})
	}
	h.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: st.id, BlockFragment: h.hbuf.Bytes(), EndHeaders: true, EndStream: len(reply) == 0})
	for len(reply) > 0 { // within the default frame size a client allows
		chunk := reply[:min(len(reply), 16384)]
		reply = reply[len(chunk):]
		h.fr.WriteData(st.id, len(reply) == 0, chunk)
	}
	h.release(st.id)
}

func (h *h2Conn) release(id uint32) {
	st := h.streams[id]
	if st == nil {
		return
	}
	delete(h.streams, id)
	if cap(st.body) <= h2KeepBodyUpTo {
		h.free = append(h.free, st)
	}
}
