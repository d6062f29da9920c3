package h2client

import (
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

func opts() Options {
	return Options{MaxConns: 1, ConnectTimeout: time.Second, IdleTimeout: 10 * time.Second,
		ReadIdleTimeout: 10 * time.Second, PingTimeout: 5 * time.Second}
}

// The frames of requests started while the writer is busy go out together:
// 50 concurrent requests take 1 or 2 writes (the first held until all 50
// are open), not 50.
func TestWritesCoalesce(t *testing.T) {
	l := listen(t)
	l.holdWrites()
	c := l.client(opts())
	const n = 50
	var chs []chan result
	for i := 0; i < n; i++ {
		chs = append(chs, goDo(c, "{}", 5*time.Second, false))
	}
	p := l.accept()
	deadline := time.Now().Add(5 * time.Second)
	for activeStreams(c) < n && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if a := activeStreams(c); a != n {
		t.Fatalf("%d streams open", a)
	}
	l.openWrites()
	p.holdSettings = true
	p.handshake()
	ids := map[uint32]bool{}
	for len(ids) < n {
		switch f := p.next().(type) {
		case *http2.MetaHeadersFrame:
			ids[f.StreamID] = true
		case *http2.DataFrame:
			if string(f.Data()) != "{}" || !f.StreamEnded() {
				t.Fatalf("DATA %q", f.Data())
			}
		}
	}
	if w := l.writes.Load(); w > 2 {
		t.Fatalf("%d requests took %d writes, want 2 at most", n, w)
	}
	p.fr.WriteSettings()
	for id := range ids {
		p.respond(id, "200", "")
	}
	for _, ch := range chs {
		if r := wait(t, ch); r.err != nil || r.status != 200 {
			t.Fatalf("%+v", r)
		}
	}
	if w := l.writes.Load(); w > 4 {
		t.Fatalf("%d writes", w) // + the SETTINGS ack and a late DATA at most
	}
}

// No more streams open than the server's SETTINGS_MAX_CONCURRENT_STREAMS;
// with one connection allowed the rest wait and go as streams end.
func TestMaxConcurrentStreams(t *testing.T) {
	l := listen(t)
	c := l.client(opts())
	first := goDo(c, "", 5*time.Second, false)
	p := l.accept()
	p.handshake(http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: 2})
	h := p.request() // stream 1, possibly sent before our SETTINGS arrived
	// The client acks our SETTINGS: from then on it holds to 2.
	p.waitAck()
	var rest []chan result
	for i := 0; i < 4; i++ {
		rest = append(rest, goDo(c, "", 5*time.Second, false))
	}
	open := []uint32{h.StreamID, p.request().StreamID}
	p.quiet(100 * time.Millisecond)
	for served := 0; served < 5; served++ {
		p.respond(open[0], "200", "")
		open = open[1:]
		if served < 3 {
			open = append(open, p.request().StreamID)
			p.quiet(20 * time.Millisecond)
		}
	}
	for _, ch := range append(rest, first) {
		if r := wait(t, ch); r.err != nil || r.status != 200 {
			t.Fatalf("%+v", r)
		}
	}
	if d := c.Dialed(); d != 1 {
		t.Fatalf("%d connections", d)
	}
}

// GOAWAY: the streams up to its last stream id finish on the old
// connection; the one above is sent again, body and all, on a new one.
func TestGoAwayRetriesStreamsAbove(t *testing.T) {
	l := listen(t)
	c := l.client(opts())
	var chs []chan result
	chs = append(chs, goDo(c, "a", 5*time.Second, false))
	p := l.accept()
	p.handshake()
	ids := []uint32{p.request().StreamID}
	p.next() // its DATA
	chs = append(chs, goDo(c, "b", 5*time.Second, false))
	ids = append(ids, p.request().StreamID)
	p.next()
	chs = append(chs, goDo(c, "c", 5*time.Second, false))
	ids = append(ids, p.request().StreamID)
	p.next()
	if ids[0] != 1 || ids[1] != 3 || ids[2] != 5 {
		t.Fatalf("stream ids %v", ids)
	}
	p.fr.WriteGoAway(3, http2.ErrCodeNo, nil)
	p2 := l.accept()
	p2.handshake()
	h := p2.request()
	d, ok := p2.next().(*http2.DataFrame)
	if h.StreamID != 1 || !ok || string(d.Data()) != "c" {
		t.Fatalf("retry: stream %d, %v", h.StreamID, d)
	}
	p2.respond(1, "202", "")
	if r := wait(t, chs[2]); r.err != nil || r.status != 202 {
		t.Fatalf("retried request: %+v", r)
	}
	p.respond(1, "200", "")
	p.respond(3, "201", "")
	if r := wait(t, chs[0]); r.status != 200 || r.err != nil {
		t.Fatalf("%+v", r)
	}
	if r := wait(t, chs[1]); r.status != 201 || r.err != nil {
		t.Fatalf("%+v", r)
	}
	// Drained, the old connection says GOAWAY and closes.
	if f, ok := p.next().(*http2.GoAwayFrame); !ok || f.ErrCode != http2.ErrCodeNo {
		t.Fatalf("old connection: %v", f)
	}
}

// REFUSED_STREAM: the server did not process the stream; Do sends it
// again (the same connection takes it) within the same call.
func TestRefusedStreamRetried(t *testing.T) {
	l := listen(t)
	c := l.client(opts())
	ch := goDo(c, "", 5*time.Second, false)
	p := l.accept()
	p.handshake()
	p.fr.WriteRSTStream(p.request().StreamID, http2.ErrCodeRefusedStream)
	h := p.request()
	if h.StreamID != 3 {
		t.Fatalf("retry on stream %d", h.StreamID)
	}
	p.respond(3, "200", "")
	if r := wait(t, ch); r.err != nil || r.status != 200 {
		t.Fatalf("%+v", r)
	}
}

// Any other RST_STREAM is the request's error (the destination retries).
func TestResetStreamIsAnError(t *testing.T) {
	l := listen(t)
	c := l.client(opts())
	ch := goDo(c, "", 5*time.Second, false)
	p := l.accept()
	p.handshake()
	p.fr.WriteRSTStream(p.request().StreamID, http2.ErrCodeInternal)
	r := wait(t, ch)
	var se StreamResetError
	if !errors.As(r.err, &se) || se.Code != http2.ErrCodeInternal {
		t.Fatalf("%+v", r)
	}
	p.quiet(50 * time.Millisecond) // no retry
}

// A response cut short by RST_STREAM NO_ERROR (headers and part of the body,
// no END_STREAM) is an error, not the 200 its headers said: a complete
// response ends with END_STREAM first (RFC 9113 8.1), and a cut _bulk answer
// must not vouch for its records.
func TestResetNoErrorBeforeEndIsAnError(t *testing.T) {
	l := listen(t)
	c := l.client(opts())
	ch := goDo(c, "", 5*time.Second, true)
	p := l.accept()
	p.handshake()
	id := p.request().StreamID
	p.hbuf.Reset()
	p.enc.WriteField(hpack.HeaderField{Name: ":status", Value: "200"})
	p.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: p.hbuf.Bytes(), EndHeaders: true})
	p.fr.WriteData(id, false, []byte(`{"took":1,"errors":`))
	p.fr.WriteRSTStream(id, http2.ErrCodeNo)
	r := wait(t, ch)
	var se StreamResetError
	if !errors.As(r.err, &se) || se.Code != http2.ErrCodeNo {
		t.Fatalf("%+v", r)
	}
}

// A 200 KiB body against the default 64 KiB windows goes out exactly as the
// server's WINDOW_UPDATEs allow.
func TestFlowControlSend(t *testing.T) {
	l := listen(t)
	c := l.client(opts())
	body := strings.Repeat("x", 200<<10)
	ch := goDo(c, body, 5*time.Second, false)
	p := l.accept()
	p.handshake()
	id := p.request().StreamID
	got := 0
	readData := func(want int) {
		t.Helper()
		for got < want {
			d, ok := p.next().(*http2.DataFrame)
			if !ok {
				t.Fatal("want DATA")
			}
			if len(d.Data()) > 16384 {
				t.Fatalf("DATA frame of %d bytes", len(d.Data()))
			}
			got += len(d.Data())
		}
		if got != want {
			t.Fatalf("got %d bytes, want %d", got, want)
		}
		p.quiet(50 * time.Millisecond)
	}
	readData(65535)
	// The connection window alone does not let more through...
	p.fr.WriteWindowUpdate(0, 100000)
	p.quiet(50 * time.Millisecond)
	// ...the stream's too: 100000 more (the connection's limit).
	p.fr.WriteWindowUpdate(id, 200000)
	readData(165535)
	p.fr.WriteWindowUpdate(0, 1<<20)
	readData(len(body))
	p.respond(id, "200", "")
	if r := wait(t, ch); r.err != nil || r.status != 200 {
		t.Fatalf("%+v", r)
	}
}

// A new SETTINGS_INITIAL_WINDOW_SIZE moves the windows of open streams by
// the difference.
func TestInitialWindowSizeChange(t *testing.T) {
	l := listen(t)
	c := l.client(opts())
	first := goDo(c, "", 5*time.Second, false)
	p := l.accept()
	p.handshake(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 16384})
	p.fr.WriteWindowUpdate(0, 1<<20)
	p.respond(p.request().StreamID, "200", "")
	wait(t, first)
	ch := goDo(c, strings.Repeat("y", 100000), 5*time.Second, false)
	id := p.request().StreamID
	got := 0
	for got < 16384 {
		got += len(p.next().(*http2.DataFrame).Data())
	}
	p.quiet(50 * time.Millisecond)
	if got != 16384 {
		t.Fatalf("%d bytes in a 16384 window", got)
	}
	p.fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 65536})
	for got < 65536 {
		got += len(p.next().(*http2.DataFrame).Data())
	}
	p.quiet(50 * time.Millisecond)
	if got != 65536 {
		t.Fatalf("%d bytes after the window grew to 65536", got)
	}
	p.fr.WriteRSTStream(id, http2.ErrCodeNo)
	p.respond(id, "200", "") // ignored: the stream is gone
	if r := wait(t, ch); r.err == nil {
		t.Fatalf("a stream reset before its response: %+v", r)
	}
}

// Response bodies never stall: we credit the DATA we read (kept or not)
// with WINDOW_UPDATEs; a kept body arrives whole.
func TestFlowControlReceive(t *testing.T) {
	l := listen(t)
	c := l.client(opts())
	ch := goDo(c, "", 5*time.Second, true)
	p := l.accept()
	p.handshake()
	id := p.request().StreamID
	p.respond(id, "200", "")
	wait(t, ch)
	ch = goDo(c, "", 5*time.Second, true)
	id = p.request().StreamID
	p.hbuf.Reset()
	p.enc.WriteField(hpackField(":status", "200"))
	p.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: p.hbuf.Bytes(), EndHeaders: true})
	chunk := []byte(strings.Repeat("z", 16384))
	sent, credited := 0, 0
	for sent < 3*recvStreamWindow {
		p.fr.WriteData(id, false, chunk)
		sent += len(chunk)
		// Read what the client sends back meanwhile, without blocking.
		p.c.SetReadDeadline(time.Now().Add(time.Millisecond))
		for {
			f, err := p.fr.ReadFrame()
			if err != nil {
				break
			}
			if w, ok := f.(*http2.WindowUpdateFrame); ok && w.StreamID == id {
				credited += int(w.Increment)
			}
		}
	}
	p.fr.WriteData(id, true, []byte("end"))
	r := wait(t, ch)
	if r.err != nil || len(r.body) != sent+3 || !strings.HasSuffix(r.body, "end") {
		t.Fatalf("body of %d bytes, %v", len(r.body), r.err)
	}
	if credited < sent-recvStreamWindow {
		t.Fatalf("%d of %d bytes credited", credited, sent)
	}
}

// The server's PING is answered with its data.
func TestPingAnswered(t *testing.T) {
	l := listen(t)
	c := l.client(opts())
	ch := goDo(c, "", 5*time.Second, false)
	p := l.accept()
	p.handshake()
	id := p.request().StreamID
	p.fr.WritePing(false, [8]byte{1, 2, 3, 4, 5, 6, 7, 8})
	f, ok := p.next().(*http2.PingFrame)
	if !ok || !f.IsAck() || f.Data != [8]byte{1, 2, 3, 4, 5, 6, 7, 8} {
		t.Fatalf("%v", f)
	}
	p.respond(id, "200", "")
	wait(t, ch)
}

// A connection silent for ReadIdleTimeout is pinged; with no answer within
// PingTimeout it is closed and its requests fail.
func TestPingLiveness(t *testing.T) {
	l := listen(t)
	o := opts()
	o.ReadIdleTimeout, o.PingTimeout = 100*time.Millisecond, 100*time.Millisecond
	c := l.client(o)
	start := time.Now()
	ch := goDo(c, "", 5*time.Second, false)
	p := l.accept()
	p.handshake()
	p.request()
	f, ok := p.next().(*http2.PingFrame)
	if !ok || f.IsAck() {
		t.Fatalf("want a PING, got %v", f)
	}
	r := wait(t, ch)
	if r.err == nil || !strings.Contains(r.err.Error(), "PING") {
		t.Fatalf("%+v", r)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("closed after %v", d)
	}
	// An answered PING keeps the connection.
	ch = goDo(c, "", 5*time.Second, false)
	p = l.accept()
	p.handshake()
	id := p.request().StreamID
	f = p.next().(*http2.PingFrame)
	p.fr.WritePing(true, f.Data)
	time.Sleep(150 * time.Millisecond)
	p.respond(id, "200", "")
	if r := wait(t, ch); r.err != nil || r.status != 200 {
		t.Fatalf("%+v", r)
	}
}

// A connection dropped with requests in flight fails every one of them at
// once (not at their deadline), and the next request dials anew.
func TestConnectionDropFailsEveryStream(t *testing.T) {
	l := listen(t)
	c := l.client(opts())
	var chs []chan result
	chs = append(chs, goDo(c, "", 30*time.Second, false))
	p := l.accept()
	p.handshake()
	p.request()
	for i := 0; i < 4; i++ {
		chs = append(chs, goDo(c, "", 30*time.Second, false))
		p.request()
	}
	start := time.Now()
	p.c.Close()
	for _, ch := range chs {
		if r := wait(t, ch); r.err == nil || errors.Is(r.err, ErrTimeout) {
			t.Fatalf("%+v", r)
		}
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("errors after %v", d)
	}
	ch := goDo(c, "", 5*time.Second, false)
	p = l.accept()
	p.handshake()
	p.respond(p.request().StreamID, "200", "")
	if r := wait(t, ch); r.err != nil {
		t.Fatal(r.err)
	}
}

// At the deadline Do returns ErrTimeout and the stream is reset (CANCEL);
// a late response is dropped and the connection goes on.
func TestDeadlineResetsStream(t *testing.T) {
	l := listen(t)
	c := l.client(opts())
	start := time.Now()
	ch := goDo(c, "", 200*time.Millisecond, false)
	p := l.accept()
	p.handshake()
	id := p.request().StreamID
	r := wait(t, ch)
	if r.err != ErrTimeout {
		t.Fatalf("%+v", r)
	}
	if d := time.Since(start); d < 200*time.Millisecond || d > time.Second {
		t.Fatalf("timed out after %v", d)
	}
	f, ok := p.next().(*http2.RSTStreamFrame)
	if !ok || f.StreamID != id || f.ErrCode != http2.ErrCodeCancel {
		t.Fatalf("%v", f)
	}
	p.respond(id, "200", "late")
	ch = goDo(c, "", 5*time.Second, false)
	id2 := p.request().StreamID
	p.respond(id2, "503", "", "retry-after", "7")
	if r := wait(t, ch); r.err != nil || r.status != 503 || r.retry != "7" {
		t.Fatalf("%+v", r)
	}
}

// Responses: headers split over CONTINUATION, 100-continue before the
// final status, a body kept only when asked for, trailers.
func TestResponseShapes(t *testing.T) {
	l := listen(t)
	c := l.client(opts())
	ch := goDo(c, "", 5*time.Second, true)
	p := l.accept()
	p.handshake()
	id := p.request().StreamID
	p.hbuf.Reset()
	p.enc.WriteField(hpackField(":status", "100"))
	p.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: p.hbuf.Bytes(), EndHeaders: true})
	p.hbuf.Reset()
	p.enc.WriteField(hpackField(":status", "200"))
	p.enc.WriteField(hpackField("x-long", strings.Repeat("v", 100)))
	b := p.hbuf.Bytes()
	p.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: b[:3]})
	p.fr.WriteContinuation(id, false, b[3:10])
	p.fr.WriteContinuation(id, true, b[10:])
	p.fr.WriteData(id, false, []byte("hello "))
	p.hbuf.Reset()
	p.enc.WriteField(hpackField("grpc-status", "0"))
	p.fr.WriteData(id, false, []byte("world"))
	p.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: p.hbuf.Bytes(), EndHeaders: true, EndStream: true})
	if r := wait(t, ch); r.err != nil || r.status != 200 || r.body != "hello world" {
		t.Fatalf("%+v", r)
	}
	ch = goDo(c, "", 5*time.Second, false)
	id = p.request().StreamID
	p.respond(id, "200", "not kept")
	if r := wait(t, ch); r.err != nil || r.status != 200 || r.body != "" {
		t.Fatalf("%+v", r)
	}
	// No :status: the request fails, the connection does not.
	ch = goDo(c, "", 5*time.Second, false)
	id = p.request().StreamID
	p.hbuf.Reset()
	p.enc.WriteField(hpackField("x", "y"))
	p.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: p.hbuf.Bytes(), EndHeaders: true, EndStream: true})
	if r := wait(t, ch); r.err == nil {
		t.Fatalf("%+v", r)
	}
	if f, ok := p.next().(*http2.RSTStreamFrame); !ok || f.ErrCode != http2.ErrCodeProtocol {
		t.Fatalf("%v", f)
	}
}

// A protocol violation fails the connection with GOAWAY and its code.
func TestProtocolErrorGoAway(t *testing.T) {
	l := listen(t)
	c := l.client(opts())
	ch := goDo(c, "", 5*time.Second, false)
	p := l.accept()
	p.handshake()
	p.request()
	p.fr.AllowIllegalWrites = true
	p.fr.WriteData(0, false, []byte("x"))
	f, ok := p.next().(*http2.GoAwayFrame)
	if !ok || f.ErrCode != http2.ErrCodeProtocol {
		t.Fatalf("%v", f)
	}
	if r := wait(t, ch); r.err == nil {
		t.Fatal("no error")
	}
}

// More connections only when the streams run out (MaxConns 2, server
// limit 1); with Spread, round robin over both.
func TestConnectionsAddedWhenStreamsRunOut(t *testing.T) {
	l := listen(t)
	o := opts()
	o.MaxConns = 2
	c := l.client(o)
	a := goDo(c, "", 5*time.Second, false)
	p := l.accept()
	p.handshake(http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: 1})
	ida := p.request().StreamID
	p.waitAck()
	b := goDo(c, "", 5*time.Second, false)
	p2 := l.accept()
	p2.handshake()
	p2.respond(p2.request().StreamID, "200", "")
	p.respond(ida, "200", "")
	wait(t, a)
	wait(t, b)
	if d := c.Dialed(); d != 2 {
		t.Fatalf("%d dialled", d)
	}
}

func hpackField(n, v string) hpack.HeaderField { return hpack.HeaderField{Name: n, Value: v} }

// Fixed fields reuse their encoding while the HPACK table is unchanged; a
// SETTINGS_HEADER_TABLE_SIZE change (here to 0, evicting everything) puts
// the size update first in the next block and re-encodes: the server's
// decoder reads every request's fields right.
func TestHeaderTableSizeChange(t *testing.T) {
	l := listen(t)
	c := l.client(opts())
	check := func(p *peer) uint32 {
		t.Helper()
		h := p.request()
		want := []string{":method=POST", ":scheme=http", ":authority=test", ":path=/p"}
		if len(h.Fields) != len(want) {
			t.Fatalf("fields %v", h.Fields)
		}
		for i, f := range h.Fields {
			if f.Name+"="+f.Value != want[i] {
				t.Fatalf("fields %v", h.Fields)
			}
		}
		return h.StreamID
	}
	p := (*peer)(nil)
	for i := 0; i < 3; i++ {
		ch := goDo(c, "", 5*time.Second, false)
		if p == nil {
			p = l.accept()
			p.handshake()
		}
		p.respond(check(p), "200", "")
		if r := wait(t, ch); r.err != nil || r.status != 200 {
			t.Fatalf("%+v", r)
		}
	}
	p.acked = false
	p.fr.WriteSettings(http2.Setting{ID: http2.SettingHeaderTableSize, Val: 0})
	p.waitAck()
	// The next block starts with a size update to 0 (001 00000), and
	// every field is sent as a literal or a static index.
	p.fr.ReadMetaHeaders = nil
	ch := goDo(c, "", 5*time.Second, false)
	h, ok := p.next().(*http2.HeadersFrame)
	if !ok {
		t.Fatal("want HEADERS")
	}
	dec := hpack.NewDecoder(0, nil)
	fields, err := dec.DecodeFull(h.HeaderBlockFragment())
	if b := h.HeaderBlockFragment(); b[0] != 0x20 || err != nil || len(fields) != 4 || fields[2].Value != "test" {
		t.Fatalf("block %x: %v, %v", b, fields, err)
	}
	p.respond(h.StreamID, "200", "")
	wait(t, ch)
}

// appendNeverIndexed's output decodes (hpack's decoder) to the field, for
// static and literal names and lengths across the integer prefixes.
func TestAppendNeverIndexed(t *testing.T) {
	for _, f := range [][2]string{{"content-length", "0"}, {"idempotency-key", "3-abcdef"},
		{":path", "/" + strings.Repeat("p", 300)}, {"x-" + strings.Repeat("n", 200), strings.Repeat("v", 127)}, {"a", ""},
		{"authorization", "AWS4-HMAC-SHA256 x"}, {"content-type", "application/json"}, {"date", "Mon"},
		{"if-match", `"1"`}, {"range", "bytes=0-1"}, {"user-agent", "xdrhook"}} {
		b := appendNeverIndexed(nil, f[0], f[1])
		got, err := hpack.NewDecoder(4096, nil).DecodeFull(b)
		if err != nil || len(got) != 1 || got[0].Name != f[0] || got[0].Value != f[1] || !got[0].Sensitive {
			t.Fatalf("%q: %v, %v", f, got, err)
		}
	}
}

// A connection lost while some requests' frames were still in our write
// buffer: those never reached the server and are sent again on a new
// connection within the same Do; the one already handed to the socket
// fails (the destination decides).
func TestUnsentStreamsRetriedOnNewConnection(t *testing.T) {
	l := listen(t)
	c := l.client(opts())
	// A first request settles the connection (preface, SETTINGS and their
	// ack written), so that the held write below is stream 3's.
	warm := goDo(c, "", 5*time.Second, false)
	p := l.accept()
	p.handshake()
	p.respond(p.request().StreamID, "200", "")
	if r := wait(t, warm); r.err != nil || r.status != 200 {
		t.Fatalf("warm-up: %+v", r)
	}
	p.waitAck()
	l.holdWrites()
	first := goDo(c, "", 5*time.Second, false)
	until(t, "the writer holds stream 3 in its write", func() bool { return c.writing() >= 3 })
	more := []chan result{goDo(c, "b", 5*time.Second, false), goDo(c, "c", 5*time.Second, false)}
	until(t, "streams 3, 5 and 7 open", func() bool { return activeStreams(c) >= 3 })
	p.c.Close()
	if r := wait(t, first); r.err == nil || errors.Is(r.err, ErrTimeout) {
		t.Fatalf("handed stream: %+v", r)
	}
	l.openWrites()
	p2 := l.accept()
	p2.handshake()
	for i := 0; i < 2; i++ {
		h := p2.request()
		p2.next() // its DATA
		p2.respond(h.StreamID, "200", "")
	}
	for _, ch := range more {
		if r := wait(t, ch); r.err != nil || r.status != 200 {
			t.Fatalf("unsent stream: %+v", r)
		}
	}
}

// until polls cond for 5 s at most.
func until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("5 s and not yet: %s", what)
		}
	}
}

// A server that refuses every stream: Do sends the request 5 times, then
// returns ErrNotProcessed (the destination's backoff takes over) rather
// than spinning until its deadline.
func TestRefusedEveryTime(t *testing.T) {
	l := listen(t)
	c := l.client(opts())
	ch := goDo(c, "", 5*time.Second, false)
	p := l.accept()
	p.handshake()
	for i := 0; i < maxUnprocessed+1; i++ {
		p.fr.WriteRSTStream(p.request().StreamID, http2.ErrCodeRefusedStream)
	}
	if r := wait(t, ch); r.err != ErrNotProcessed {
		t.Fatalf("%+v", r)
	}
	p.quiet(50 * time.Millisecond)
}

// A server that floods PINGs and does not read what we write: the
// acknowledgements queued behind a blocked write are bounded
// (maxQueuedControl); past it the connection fails with GOAWAY
// ENHANCE_YOUR_CALM and the request in flight gets an error, rather than
// wbuf growing until WriteTimeout.
func TestControlFramesBoundedWhileWriterBlocked(t *testing.T) {
	l := listen(t)
	c := l.client(opts())
	ch := goDo(c, "", 10*time.Second, false)
	p := l.accept()
	p.handshake()
	p.request()
	l.holdWrites()
	// More than twice the bound: the writer's first (held) write took
	// those queued before it (up to the bound, when it was slow to take
	// them), the rest count. The few past 2 × the bound fit in the socket
	// buffers once the client stops reading.
	const pings = 2*maxQueuedControl + 5000
	for i := 0; i < pings; i++ {
		p.fr.WritePing(false, [8]byte{byte(i >> 8), byte(i)})
	}
	// The client read them all: its connection is failing, its GOAWAY
	// waiting at our gate behind the acknowledgements it did write.
	until(t, "acknowledgements past the bound", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		for cc := range c.conns {
			cc.mu.Lock()
			q := cc.ctrlQueued
			cc.mu.Unlock()
			if q > maxQueuedControl {
				return true
			}
		}
		return false
	})
	l.openWrites()
	if r := wait(t, ch); r.err == nil || !strings.Contains(r.err.Error(), "pile up") {
		t.Fatalf("%+v", r)
	}
	// What reached us before the client closed (a close with our PINGs
	// unread may reset the connection first): acknowledgements, at most
	// the bound and one past the first write's (itself at most the bound),
	// and GOAWAY ENHANCE_YOUR_CALM.
	acks := 0
	p.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		f, err := p.fr.ReadFrame()
		if err != nil {
			break
		}
		if _, ok := f.(*http2.PingFrame); ok {
			acks++
		}
		if g, ok := f.(*http2.GoAwayFrame); ok && g.ErrCode != http2.ErrCodeEnhanceYourCalm {
			t.Fatalf("GOAWAY %v", g.ErrCode)
		}
	}
	if acks > 2*maxQueuedControl+1 {
		t.Errorf("%d of %d PINGs acknowledged, want %d at most", acks, pings, 2*maxQueuedControl+1)
	}
}
