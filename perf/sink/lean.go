package sink

import (
	"bytes"
	"compress/gzip"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// The lean server serves the counting mode (Check "count") when no fault
// or store is asked for: HTTP/1.1 through fasthttp and h2c through a small
// server on x/net/http2's Framer (lean_h2c.go), on one port, told apart by
// the connection's first bytes (the h2c preface starts "PRI"). With TLS the
// same, inside the TLS connection (h2 if ALPN chose it: its preface).
// Go's net/http spent ~53 µs of CPU per request in the perf suite's
// one-record-per-request rows, more than the connector it measured; the
// lean server counts a body by its framing (countBody) and answers with
// no goroutine, header map or body copy per request.

// leanFits: the configuration needs nothing only net/http serves.
func leanFits(cfg Config) bool {
	return cfg.Check == "count" && cfg.FailRate == 0 && cfg.FailFirst == 0 && cfg.Latency == 0 &&
		cfg.HangupRate == 0 && (cfg.DownAfter == 0 || cfg.DownFor == 0) && cfg.Store == "" && cfg.StoreW == nil
}

// leanFormats are the framings the lean server counts, in Stats order.
var leanFormats = [...]string{FormatJSON, FormatNDJSON, FormatJSONArray, FormatESBulk, FormatSplunkHEC,
	FormatMsgpack, FormatMsgpackArray, FormatAvro, FormatAvroOCF}

type leanCounter struct{ requests, records, bytes atomic.Int64 }

type lean struct {
	s  *Sink
	fh *fasthttp.Server
	h1 *connListener

	requests, accepted, records, bytes, invalid atomic.Int64
	h1Reqs, h2Reqs                              atomic.Int64
	byStatus                                    sync.Map // int → *atomic.Int64
	byFormat                                    [len(leanFormats)]leanCounter
	lastInvalid                                 atomic.Pointer[string]

	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

func newLean(s *Sink) *lean {
	l := &lean{s: s, conns: map[net.Conn]struct{}{}}
	l.fh = &fasthttp.Server{
		Handler:                       l.serveH1,
		MaxRequestBodySize:            int(min(s.cfg.MaxBody, 1<<30)),
		ReadBufferSize:                64 << 10,
		WriteBufferSize:               16 << 10,
		NoDefaultServerHeader:         true,
		NoDefaultDate:                 true,
		NoDefaultContentType:          true,
		DisableHeaderNamesNormalizing: true,
		ReduceMemoryUsage:             false,
		Logger:                        quietFastLog{},
		ErrorHandler: func(ctx *fasthttp.RequestCtx, err error) {
			status, ct, reply := 400, "text/plain; charset=utf-8", []byte("bad request\n")
			if errors.Is(err, fasthttp.ErrBodyTooLarge) {
				status, ct, reply = l.tooLarge(protoH1)
			}
			ctx.SetStatusCode(status)
			ctx.SetContentType(ct)
			ctx.SetBody(reply)
		},
	}
	return l
}

type quietFastLog struct{}

func (quietFastLog) Printf(string, ...any) {}

func (l *lean) start(ln net.Listener) {
	l.ln = ln
	l.h1 = &connListener{ch: make(chan net.Conn), done: make(chan struct{}), addr: ln.Addr()}
	l.wg.Add(2)
	go func() { defer l.wg.Done(); l.fh.Serve(l.h1) }()
	go func() { defer l.wg.Done(); l.accept() }()
}

func (l *lean) accept() {
	for {
		c, err := l.ln.Accept()
		if err != nil {
			return
		}
		l.mu.Lock()
		if l.closed {
			l.mu.Unlock()
			c.Close()
			return
		}
		l.conns[c] = struct{}{}
		l.mu.Unlock()
		go l.route(c)
	}
}

// route reads the first three bytes: "PRI" opens the h2c preface, anything
// else is HTTP/1.1 for fasthttp.
func (l *lean) route(raw net.Conn) {
	c := raw
	if l.s.tlsCfg != nil {
		tc := tls.Server(raw, l.s.tlsCfg)
		raw.SetDeadline(time.Now().Add(10 * time.Second))
		if err := tc.Handshake(); err != nil {
			l.drop(raw)
			return
		}
		raw.SetDeadline(time.Time{})
		c = tc
	}
	var pre [3]byte
	if _, err := io.ReadFull(c, pre[:]); err != nil {
		l.drop(raw)
		return
	}
	if string(pre[:]) == "PRI" {
		l.serveH2C(c, pre[:])
		l.drop(raw)
		return
	}
	pc := &prefixConn{Conn: c, pre: append([]byte(nil), pre[:]...), l: l, raw: raw}
	select {
	case l.h1.ch <- pc:
	case <-l.h1.done:
		l.drop(raw)
	}
}

func (l *lean) drop(c net.Conn) {
	c.Close()
	l.mu.Lock()
	delete(l.conns, c)
	l.mu.Unlock()
}

func (l *lean) close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	err := l.ln.Close()
	close(l.h1.done)
	for c := range l.conns {
		c.Close()
	}
	l.mu.Unlock()
	l.wg.Wait()
	return err
}

// connListener hands fasthttp the HTTP/1.1 connections route picked.
type connListener struct {
	ch   chan net.Conn
	done chan struct{}
	addr net.Addr
}

func (cl *connListener) Accept() (net.Conn, error) {
	select {
	case c := <-cl.ch:
		return c, nil
	case <-cl.done:
		return nil, net.ErrClosed
	}
}
func (cl *connListener) Close() error   { return nil }
func (cl *connListener) Addr() net.Addr { return cl.addr }

// prefixConn gives back the bytes route read.
type prefixConn struct {
	net.Conn
	pre []byte
	l   *lean
	raw net.Conn // the accepted connection (under TLS, Conn is the tls.Conn on it)
}

func (p *prefixConn) Read(b []byte) (int, error) {
	if len(p.pre) > 0 {
		n := copy(b, p.pre)
		p.pre = p.pre[n:]
		return n, nil
	}
	return p.Conn.Read(b)
}

func (p *prefixConn) Close() error {
	p.l.drop(p.raw)
	return nil
}

const (
	protoH1 = iota
	protoH2
)

var (
	esBulkReply = []byte(`{"took":0,"errors":false,"items":[]}`)
	splunkReply = []byte(`{"text":"Success","code":0}`)
	ctJSON      = "application/json"
)

// data answers a POST or PUT: the status, and a body with its content
// type (none for a plain 200).
func (l *lean) data(proto int, path, ctype, cenc, recordsHdr, body []byte) (status int, ct string, reply []byte) {
	if int64(len(body)) > l.s.cfg.MaxBody {
		return l.tooLarge(proto)
	}
	l.request(proto)
	switch {
	case len(cenc) == 0 || bytes.EqualFold(cenc, []byte("identity")):
	case bytes.EqualFold(cenc, []byte("gzip")):
		b, err := gunzip(body, l.s.cfg.MaxBody)
		if err != nil {
			if errors.Is(err, errTooLarge) {
				return l.reject(413, err.Error())
			}
			return l.reject(400, "gzip: "+err.Error())
		}
		body = b
	default:
		return l.reject(400, "content encoding "+strconv.Quote(string(cenc)))
	}
	format, n, err := countBody(ctype, body)
	if err != nil {
		return l.reject(400, err.Error())
	}
	if why := leanProtocol(path, format, body); why != "" {
		return l.reject(400, why)
	}
	if len(recordsHdr) > 0 {
		if h, ok := atoi(recordsHdr); !ok || h != n {
			return l.reject(400, "Xdrhook-Records "+strconv.Quote(string(recordsHdr))+", the body holds "+strconv.Itoa(n)+" records")
		}
	}
	l.accepted.Add(1)
	l.records.Add(int64(n))
	l.bytes.Add(int64(len(body)))
	l.status(200)
	for i := range leanFormats {
		if leanFormats[i] == format {
			c := &l.byFormat[i]
			c.requests.Add(1)
			c.records.Add(int64(n))
			c.bytes.Add(int64(len(body)))
		}
	}
	switch format {
	case FormatESBulk:
		return 200, ctJSON, esBulkReply
	case FormatSplunkHEC:
		return 200, ctJSON, splunkReply
	}
	return 200, "", nil
}

func (l *lean) request(proto int) {
	l.requests.Add(1)
	if proto == protoH2 {
		l.h2Reqs.Add(1)
	} else {
		l.h1Reqs.Add(1)
	}
}

// tooLarge answers a body over MaxBody (fasthttp's ErrorHandler, or the
// h2c stream that passed it).
func (l *lean) tooLarge(proto int) (int, string, []byte) {
	l.request(proto)
	return l.reject(413, errTooLarge.Error())
}

// leanProtocol is checkProtocol on the path's bytes.
func leanProtocol(path []byte, format string, body []byte) string {
	switch {
	case bytes.HasSuffix(path, []byte("/_bulk")):
		return checkProtocol("/_bulk", format, body)
	case bytes.Equal(path, []byte("/services/collector")) || bytes.HasPrefix(path, []byte("/services/collector/event")):
		return checkProtocol("/services/collector", format, body)
	}
	return ""
}

func gunzip(b []byte, limit int64) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	out, err := io.ReadAll(io.LimitReader(zr, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(out)) > limit {
		return nil, errTooLarge
	}
	return out, nil
}

func (l *lean) reject(status int, why string) (int, string, []byte) {
	l.invalid.Add(1)
	l.status(status)
	l.lastInvalid.Store(&why)
	if len(why) > 4096 {
		why = why[:4096]
	}
	return status, "text/plain; charset=utf-8", []byte(why + "\n")
}

func (l *lean) status(code int) {
	v, ok := l.byStatus.Load(code)
	if !ok {
		v, _ = l.byStatus.LoadOrStore(code, new(atomic.Int64))
	}
	v.(*atomic.Int64).Add(1)
}

// get answers GET /stats, /ids and /healthz.
func (l *lean) get(path []byte) (int, string, []byte) {
	switch string(path) {
	case "/stats":
		b, _ := json.MarshalIndent(l.s.Stats(), "", "  ")
		return 200, ctJSON, append(b, '\n')
	case "/ids":
		var buf bytes.Buffer
		l.s.ids.WriteBinary(&buf)
		return 200, "application/octet-stream", buf.Bytes()
	case "/healthz":
		return 200, "text/plain; charset=utf-8", []byte("ok\n")
	}
	return 404, "text/plain; charset=utf-8", []byte("404 page not found\n")
}

func (l *lean) serveH1(ctx *fasthttp.RequestCtx) {
	var status int
	var ct string
	var reply []byte
	switch {
	case ctx.IsGet() || ctx.IsHead():
		status, ct, reply = l.get(ctx.Path())
	case ctx.IsPost() || ctx.IsPut():
		h := &ctx.Request.Header
		status, ct, reply = l.data(protoH1, ctx.Path(), h.ContentType(), h.ContentEncoding(), h.Peek("Xdrhook-Records"), ctx.PostBody())
	default:
		ctx.Response.Header.Set("Allow", "POST, PUT, GET")
		status, ct, reply = 405, "text/plain; charset=utf-8", []byte("POST or PUT data; GET /stats or /ids\n")
	}
	ctx.SetStatusCode(status)
	if ct != "" {
		ctx.SetContentType(ct)
	}
	if len(reply) > 0 {
		ctx.SetBody(reply)
	}
}

// stats are the lean server's counters as Stats.
func (l *lean) stats(st *Stats) {
	st.Requests = l.requests.Load()
	st.Accepted = l.accepted.Load()
	st.Records = l.records.Load()
	st.Bytes = l.bytes.Load()
	st.Invalid = l.invalid.Load()
	if p := l.lastInvalid.Load(); p != nil {
		st.LastInvalid = *p
	}
	st.ByFormat = map[string]*FormatStats{}
	for i, f := range leanFormats {
		c := &l.byFormat[i]
		if r := c.requests.Load(); r > 0 {
			st.ByFormat[f] = &FormatStats{Requests: r, Records: c.records.Load(), Bytes: c.bytes.Load()}
		}
	}
	st.ByStatus = map[int]int64{}
	l.byStatus.Range(func(k, v any) bool {
		st.ByStatus[k.(int)] = v.(*atomic.Int64).Load()
		return true
	})
	st.ByProto = map[string]int64{}
	if n := l.h1Reqs.Load(); n > 0 {
		st.ByProto["HTTP/1.1"] = n
	}
	if n := l.h2Reqs.Load(); n > 0 {
		st.ByProto["HTTP/2.0"] = n
	}
}

// atoi parses a decimal count without allocating.
func atoi(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 12 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}
