package dataplane

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/panjf2000/gnet/v2"
	"github.com/xdrhook/xdrhook/wire"
)

// gnetHandler runs XDR connections on gnet's event loops: frames are parsed
// straight out of the connection's inbound buffer (no copy when contiguous),
// encoded into batch buffers, and the replies of the settled prefix go out
// in one write.
type gnetHandler struct {
	gnet.BuiltinEventEngine
	e *Engine
}

func (e *Engine) serveGnet() error {
	addrs := make([]string, len(e.opts.Listen))
	for i, a := range e.opts.Listen {
		addrs[i] = "tcp://" + a
	}
	return gnet.Rotate(&gnetHandler{e: e}, addrs, e.gnetOptions()...)
}

// loopReadBuffer is what an event loop reads from a socket at once (one
// buffer per loop, not per connection). gnet's 64 KiB default split nearly
// every 64 KB record across reads, and a frame split is copied into the
// connection's ring buffer and out again to be decoded.
const loopReadBuffer = 512 << 10

func (e *Engine) gnetOptions() []gnet.Option {
	opts := []gnet.Option{
		gnet.WithNumEventLoop(e.numLoops),
		gnet.WithTCPNoDelay(gnet.TCPNoDelay),
		gnet.WithTCPKeepAlive(time.Minute),
		gnet.WithReuseAddr(true),
		gnet.WithReadBufferCap(loopReadBuffer),
		gnet.WithLogger(gnetLogger{e.log}),
	}
	if e.opts.SocketRecvBuffer > 0 {
		// Set on the listening socket, which accepted sockets inherit.
		opts = append(opts, gnet.WithSocketRecvBuffer(e.opts.SocketRecvBuffer))
	}
	return opts
}

func (e *Engine) stopListeners() {
	for _, l := range e.tlsLns {
		l.close()
	}
	if e.opts.TLS == nil {
		// Stop with a context already done only signals the shutdown (its
		// own wait polls every 500 ms); serveGnet returns once gnet is down.
		signal, cancel := context.WithCancel(context.Background())
		cancel()
		e.gnetEng.Stop(signal)
		<-e.served
	}
}

func (h *gnetHandler) OnBoot(eng gnet.Engine) gnet.Action {
	h.e.gnetEng = eng
	close(h.e.booted)
	return gnet.None
}

func (h *gnetHandler) OnOpen(c gnet.Conn) ([]byte, gnet.Action) {
	if h.e.m.connActive.Get() >= uint64(h.e.opts.MaxConnections) {
		h.e.m.connRefused.Inc()
		h.e.logSlow(c.RemoteAddr().String(), "max-connections reached")
		return nil, gnet.Close
	}
	s := h.e.newSession(h.e.gnetLoop(c.EventLoop()))
	s.port = localPort(c.LocalAddr())
	s.wake = func() { c.Wake(nil) }
	c.SetContext(s)
	h.e.connOpened()
	return nil, gnet.None
}

func (h *gnetHandler) OnClose(c gnet.Conn, _ error) gnet.Action {
	if s, ok := c.Context().(*session); ok {
		s.lp.mu.Lock()
		s.close()
		s.lp.mu.Unlock()
	}
	return gnet.None
}

func (h *gnetHandler) OnTraffic(c gnet.Conn) gnet.Action {
	s, ok := c.Context().(*session)
	if !ok || s.closed.Load() {
		return gnet.None // a wake for a connection that has gone
	}
	e := h.e
	// The loop's state is this goroutine's for the whole batch of frames;
	// only the ticker (once a tick) or a scrape may wait for it.
	s.lp.mu.Lock()
	s.flushMore() // first: answered slots make room for new frames
	res := h.drain(c, s)
	// One write answers what settled before and during the batch, unless
	// a bigger one is coming (replyhold.go).
	if out := s.flushMore(); len(out) > 0 && (res == frameClose || !s.hold()) {
		s.lp.wrote(out)
		c.Write(out)
		s.sent()
	}
	s.lp.mu.Unlock()
	switch {
	case res == frameClose:
		return gnet.Close
	case c.OutboundBuffered() > e.opts.MaxOutbound:
		e.m.connSlowReaders.Inc()
		e.logSlow(c.RemoteAddr().String(), "it does not read its replies")
		return gnet.Close
	case res == frameStall && c.InboundBuffered() > e.opts.MaxInboundStall:
		e.m.connSlowReaders.Inc()
		e.logSlow(c.RemoteAddr().String(), "its window is full and it keeps sending")
		return gnet.Close
	}
	return gnet.None
}

// drain handles every complete frame in the inbound buffer.
func (h *gnetHandler) drain(c gnet.Conn, s *session) frameResult {
	e := h.e
	for {
		n := c.InboundBuffered()
		if n < wire.HeaderSize {
			return frameDone
		}
		hdr, _ := c.Peek(wire.HeaderSize)
		typ, body, err := wire.ParseHeader(hdr, e.opts.MaxFrameBytes)
		if err != nil {
			e.m.connProtocolErrors.Inc()
			e.logFrameError(c.RemoteAddr().String(), err)
			return frameClose
		}
		total := wire.HeaderSize + body
		if n < total {
			return frameDone
		}
		frame, _ := c.Peek(total)
		switch s.consume(frame, typ) {
		case frameStall:
			return frameStall
		case frameClose:
			return frameClose
		}
		c.Discard(total)
	}
}

// gnetLogger routes gnet's own log lines into ours, its chatter at debug.
type gnetLogger struct{ l *slog.Logger }

func (g gnetLogger) Debugf(f string, a ...any) { g.l.Debug("gnet: " + fmt.Sprintf(f, a...)) }
func (g gnetLogger) Infof(f string, a ...any)  { g.l.Debug("gnet: " + fmt.Sprintf(f, a...)) }
func (g gnetLogger) Warnf(f string, a ...any)  { g.l.Warn("gnet: " + fmt.Sprintf(f, a...)) }
func (g gnetLogger) Errorf(f string, a ...any) { g.l.Error("gnet: " + fmt.Sprintf(f, a...)) }
func (g gnetLogger) Fatalf(f string, a ...any) { g.l.Error("gnet: " + fmt.Sprintf(f, a...)) }
