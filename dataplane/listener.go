package dataplane

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
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
	if w, ok := c.Context().(*loopWaker); ok {
		w.opened.Store(true)  // in the loop's poller: gnet's Enroll does not say
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
		if x.closed.Load() || x.closing {
			return gnet.None // a wake for a connection that has gone or goes
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
		_, _ = c.Discard(-1) // the wake-up bytes
		x.busy.Store(1)
		h.runListed(x)
		h.settled(x)
	}
	return gnet.None
}

// settledRounds bounds the lists a loop runs after a connection's traffic
// before it polls again: completions that keep coming must not keep the
// loop from its sockets.
const settledRounds = 4

// settled runs the sessions listed while the loop was busy, a few lists
// at most, and marks the loop idle: a session listed after that writes a
// byte, and so does the loop for what it left.
func (h *gnetHandler) settled(w *loopWaker) {
	for range settledRounds {
		if w.listed.Load() == 0 {
			break
		}
		h.runListed(w)
	}
	w.busy.Store(0)
	if w.listed.Load() > 0 {
		w.poke()
	}
}

// runListed runs the sessions w listed, as gnet runs a woken connection.
func (h *gnetHandler) runListed(w *loopWaker) {
	list := w.take()
	for _, s := range list {
		// On the loop that owns s: its connection is open while s is.
		if !s.closed.Load() && !s.closing && h.traffic(s.gc, s) == gnet.Close {
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
	var out []byte
	if o := s.flushMore(); len(o) > 0 && (res == frameClose || !s.hold()) {
		s.lp.wrote(o) // handed to the connection
		s.sent()
		out = o // s.out's array: only this goroutine appends to it
	}
	s.lp.mu.Unlock()
	// Written without mu: gnet closes a connection whose write fails
	// inside Write, and OnClose takes mu.
	if len(out) > 0 {
		_, _ = c.Write(out)
		if s.closed.Load() {
			e.m.abandonedOnClose.Add(len(out) / wire.ReplySize) // they never left
			return gnet.None
		}
	}
	switch {
	case res == frameClose:
		s.closing = true
		return gnet.Close
	case c.OutboundBuffered() > e.opts.MaxOutbound:
		e.m.connSlowReaders.Inc()
		e.logSlow(c.RemoteAddr().String(), "it does not read its replies")
		s.closing = true
		return gnet.Close
	case res == frameStall && c.InboundBuffered() > e.opts.MaxInboundStall:
		e.m.connSlowReaders.Inc()
		e.logSlow(c.RemoteAddr().String(), "its window is full and it keeps sending")
		s.closing = true
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
func (g gnetLogger) Warnf(f string, a ...any) {
	if strings.Contains(f, "of a stale connection") {
		// An event of a connection closed earlier in the same poll (a
		// reply write that failed on a wake-up): gnet drops it.
		g.l.Debug("gnet: " + fmt.Sprintf(f, a...))
		return
	}
	g.l.Warn("gnet: " + fmt.Sprintf(f, a...))
}
func (g gnetLogger) Errorf(f string, a ...any) { g.l.Error("gnet: " + fmt.Sprintf(f, a...)) }
func (g gnetLogger) Fatalf(f string, a ...any) { g.l.Error("gnet: " + fmt.Sprintf(f, a...)) }
