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
	if _, ok := c.Context().(*loopWaker); ok {
		return nil, gnet.None // a loop's own (loopwake.go), not XDR's
	}
	if h.e.m.connActive.Get() >= uint64(h.e.opts.MaxConnections) {
		h.e.m.connRefused.Inc()
		h.e.logSlow(c.RemoteAddr().String(), "max-connections reached")
		return nil, gnet.Close
	}
	lp := h.e.gnetLoop(c.EventLoop())
	if lp.wakerStarted.CompareAndSwap(false, true) {
		go h.e.startWaker(lp, c.EventLoop())
	}
	s := h.e.newSession(lp)
	s.port = localPort(c.LocalAddr())
	s.gc = c
	s.wake = func() {
		if w := lp.waker.Load(); w == nil || !w.wake(s) {
			_ = c.Wake(nil)
		}
	}
	c.SetContext(s)
	h.e.connOpened()
	return nil, gnet.None
}

func (h *gnetHandler) OnClose(c gnet.Conn, _ error) gnet.Action {
	switch x := c.Context().(type) {
	case *session:
		x.lp.mu.Lock()
		x.close()
		x.lp.mu.Unlock()
	case *loopWaker:
		x.close()
	}
	return gnet.None
}

func (h *gnetHandler) OnTraffic(c gnet.Conn) gnet.Action {
	switch x := c.Context().(type) {
	case *session:
		if x.closed.Load() {
			return gnet.None // a wake for a connection that has gone
		}
		w := x.lp.waker.Load()
		if w == nil {
			return h.traffic(c, x)
		}
		w.busy.Store(1)
		a := h.traffic(c, x)
		h.settled(w)
		return a
	case *loopWaker:
		_, _ = c.Discard(-1) // the wake-up byte
		x.busy.Store(1)
		h.runListed(x)
		h.settled(x)
	}
	return gnet.None
}

// settled runs the sessions listed while the loop was busy, until none
// is, and marks the loop idle: a session listed after that writes a byte.
func (h *gnetHandler) settled(w *loopWaker) {
	for {
		w.busy.Store(0)
		if w.listed.Load() == 0 {
			return
		}
		w.busy.Store(1)
		h.runListed(w)
	}
}

// runListed runs the sessions w listed, as gnet runs a woken connection.
func (h *gnetHandler) runListed(w *loopWaker) {
	list := w.take()
	for _, s := range list {
		// On the loop that owns s: its connection is open while s is.
		if !s.closed.Load() && h.traffic(s.gc, s) == gnet.Close {
			_ = s.gc.Close() // asynchronous: gnet may hold events of it in this poll
		}
	}
	w.done(list)
}

// traffic handles the frames buffered on c and writes the replies settled:
// on a read, or a wake-up of s.
func (h *gnetHandler) traffic(c gnet.Conn, s *session) gnet.Action {
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
