package h2client

import (
	"bytes"
	"context"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// peer is the server side of one connection, scripted frame by frame with
// x/net's Framer.
type peer struct {
	t    *testing.T
	c    net.Conn
	fr   *http2.Framer
	hbuf bytes.Buffer
	enc  *hpack.Encoder
	// acked: the client acked our SETTINGS; holdSettings: handshake
	// does not send them (the test does).
	acked, holdSettings bool
}

// listener accepts the client's connections as peers.
type listener struct {
	t     *testing.T
	ln    net.Listener
	conns chan *peer
	// writes counts the client's write calls, over all connections;
	// gate, if set, holds each write until it is closed.
	writes atomic.Int64
	gate   atomic.Pointer[chan struct{}]
}

// holdWrites sets the gate: writes wait until openWrites.
func (l *listener) holdWrites() { g := make(chan struct{}); l.gate.Store(&g) }

// openWrites lets the held writes, and every later one, through.
func (l *listener) openWrites() { close(*l.gate.Load()) }

func listen(t *testing.T) *listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &listener{t: t, ln: ln, conns: make(chan *peer, 8)}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p := &peer{t: t, c: c, fr: http2.NewFramer(c, c)}
			p.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
			p.enc = hpack.NewEncoder(&p.hbuf)
			l.conns <- p
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return l
}

// countingConn counts (and optionally holds) the client's writes.
type countingConn struct {
	net.Conn
	l *listener
}

func (c countingConn) Write(p []byte) (int, error) {
	c.l.writes.Add(1)
	if g := c.l.gate.Load(); g != nil {
		<-*g
	}
	return c.Conn.Write(p)
}

// client returns a Client of the listener with o's knobs.
func (l *listener) client(o Options) *Client {
	o.Addr = l.ln.Addr().String()
	o.Dial = func(ctx context.Context) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, "tcp", o.Addr)
		if err != nil {
			return nil, err
		}
		return countingConn{c, l}, nil
	}
	c := New(o)
	l.t.Cleanup(c.Close)
	return c
}

func (l *listener) accept() *peer {
	l.t.Helper()
	select {
	case p := <-l.conns:
		l.t.Cleanup(func() { p.c.Close() })
		return p
	case <-time.After(5 * time.Second):
		l.t.Fatal("no connection")
		return nil
	}
}

// handshake reads the preface and the client's SETTINGS and WINDOW_UPDATE,
// and sends ours.
func (p *peer) handshake(settings ...http2.Setting) {
	p.t.Helper()
	pre := make([]byte, len(http2.ClientPreface))
	p.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(p.c, pre); err != nil || string(pre) != http2.ClientPreface {
		p.t.Fatalf("preface %q, %v", pre, err)
	}
	sf, ok := p.read().(*http2.SettingsFrame)
	if !ok {
		p.t.Fatal("no SETTINGS first")
	}
	if v, _ := sf.Value(http2.SettingInitialWindowSize); v != recvStreamWindow {
		p.t.Fatalf("advertised stream window %d", v)
	}
	if v, ok := sf.Value(http2.SettingEnablePush); !ok || v != 0 {
		p.t.Fatal("push not disabled")
	}
	wu, ok := p.read().(*http2.WindowUpdateFrame)
	if !ok || wu.StreamID != 0 || wu.Increment != recvConnWindow-65535 {
		p.t.Fatalf("connection window update %+v", wu)
	}
	if !p.holdSettings {
		p.fr.WriteSettings(settings...)
	}
}

// waitAck waits for the client's SETTINGS ack.
func (p *peer) waitAck() {
	p.t.Helper()
	for !p.acked {
		if s, ok := p.read().(*http2.SettingsFrame); ok && s.IsAck() {
			p.acked = true
		}
	}
}

// read returns the next frame (5 s at most).
func (p *peer) read() http2.Frame {
	p.t.Helper()
	p.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	f, err := p.fr.ReadFrame()
	if err != nil {
		p.t.Fatalf("read frame: %v", err)
	}
	return f
}

// next returns the next frame that is not a SETTINGS ack, PING ack or
// WINDOW_UPDATE of the connection.
func (p *peer) next() http2.Frame {
	p.t.Helper()
	for {
		switch f := p.read().(type) {
		case *http2.SettingsFrame:
			if f.IsAck() {
				p.acked = true
				continue
			}
			return f
		case *http2.WindowUpdateFrame:
			if f.StreamID == 0 {
				continue
			}
			return f
		default:
			return f
		}
	}
}

// request reads the next request's HEADERS.
func (p *peer) request() *http2.MetaHeadersFrame {
	p.t.Helper()
	f, ok := p.next().(*http2.MetaHeadersFrame)
	if !ok {
		p.t.Fatalf("want HEADERS, got %T", f)
	}
	return f
}

// quiet asserts that no frame but SETTINGS/WINDOW_UPDATE of the
// connection comes within d.
func (p *peer) quiet(d time.Duration) {
	p.t.Helper()
	p.c.SetReadDeadline(time.Now().Add(d))
	for {
		f, err := p.fr.ReadFrame()
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				return
			}
			p.t.Fatalf("read: %v", err)
		}
		if s, ok := f.(*http2.SettingsFrame); ok && s.IsAck() {
			continue
		}
		p.t.Fatalf("unexpected %v", f.Header())
	}
}

// respond sends a response with status and body (none: END_STREAM on the
// HEADERS).
func (p *peer) respond(id uint32, status string, body string, fields ...string) {
	p.t.Helper()
	p.hbuf.Reset()
	p.enc.WriteField(hpack.HeaderField{Name: ":status", Value: status})
	for i := 0; i+1 < len(fields); i += 2 {
		p.enc.WriteField(hpack.HeaderField{Name: fields[i], Value: fields[i+1]})
	}
	p.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: p.hbuf.Bytes(), EndHeaders: true, EndStream: body == ""})
	if body != "" {
		p.fr.WriteData(id, true, []byte(body))
	}
}

// result is what one Do returned.
type result struct {
	status int
	body   string
	retry  string
	err    error
}

// viaGo makes goDo send with Go and wait for its completion (async_test.go).
var viaGo bool

// goDo runs Do (or Go, viaGo) in a goroutine.
func goDo(c *Client, body string, deadline time.Duration, keep bool) chan result {
	ch := make(chan result, 1)
	go func() {
		req := &Request{Header: []hpack.HeaderField{
			{Name: ":method", Value: "POST"}, {Name: ":scheme", Value: "http"},
			{Name: ":authority", Value: "test"}, {Name: ":path", Value: "/p"},
		}, Body: []byte(body), KeepBody: keep}
		var resp Response
		var err error
		if viaGo {
			done := make(chan error, 1)
			if err = c.Go(req, &resp, time.Now().Add(deadline), func(e error) { done <- e }); err == nil {
				err = <-done
			}
		} else {
			err = c.Do(req, &resp, time.Now().Add(deadline))
		}
		ch <- result{resp.Status, string(resp.Body), string(resp.RetryAfter), err}
	}()
	return ch
}

func wait(t *testing.T, ch chan result) result {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("Do hung")
		return result{}
	}
}

// activeStreams is the number of open streams of the client's connections.
func activeStreams(c *Client) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for cc := range c.conns {
		cc.mu.Lock()
		n += cc.active
		cc.mu.Unlock()
	}
	return n
}

var _ = sync.Mutex{}

// writing is the highest stream id the writer of the client's connection
// took (tests).
func (c *Client) writing() uint32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	for cc := range c.conns {
		cc.mu.Lock()
		defer cc.mu.Unlock()
		return cc.handedID
	}
	return 0
}
