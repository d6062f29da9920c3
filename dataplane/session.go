package dataplane

import (
	"sync"
	"sync/atomic"

	"github.com/panjf2000/gnet/v2"
	"github.com/xdrhook/xdrhook/expression"
	"github.com/xdrhook/xdrhook/pool"
	"github.com/xdrhook/xdrhook/wire"
)

// session is the state of one XDR connection, independent of the transport
// (gnet event loop, or a goroutine for TLS). consume, flush and close run
// only on the connection's owner, under its loop's mu; destinations settle
// its window and notify it from any goroutine.
type session struct {
	e  *Engine
	lp *loop // the state of the connection's event loop
	// w is made by the owner on the first frame, so that a connection that
	// never sends one (XDR's health checks: connect, close) costs no
	// window (16 KiB for its first 1024 slots). The session is tracked by the
	// deadline ticker only from then on.
	w      *window
	msg    wire.Message
	out    []byte // replies collected and not yet written (one write), maybe held (replyhold.go)
	closed atomic.Bool
	// Reply holding (replyhold.go), under the loop's mu: when out's
	// replies began to be held (monoNow; 0: none held), and whether s is
	// in lp.held.
	heldAt int64
	listed bool
	// wake asks the owner to run flush (and resume consuming); the
	// transport sets it. Called at most once per flush (wakePending).
	wake func()
	// gc is the connection of a session on a gnet loop (nil for TLS): the
	// loop's waker runs it. closing: the loop asked gnet to close it (the
	// loop's own; closed follows at OnClose).
	gc      gnet.Conn
	closing bool

	frames int // frames seen: 0 at close means a health check
	port   int // the listener port the connection came in on (port-based-config)

	// Custom logic (expression.go): the Runner, made on first use, and the
	// route expression's scratch.
	ex    *expression.Runner
	names []string
	dests []*Destination
}

func (e *Engine) newSession(lp *loop) *session {
	return &session{e: e, lp: lp, out: make([]byte, 0, 64*wire.ReplySize)}
}

// inflaters are shared by all connections: the zlib state is ~40 KiB.
var inflaters = sync.Pool{New: func() any { return new(wire.Inflater) }}

// frameResult tells the transport what to do after a frame.
type frameResult uint8

const (
	frameDone  frameResult = iota // consumed
	frameStall                    // not consumed: the window is full; resume on wake
	frameClose                    // protocol error: close the connection
)

// consume handles one complete frame (header included). The frame's bytes
// are only borrowed: everything needed later is copied (encoded) before
// consume returns.
func (s *session) consume(frame []byte, typ byte) frameResult {
	e := s.e
	if s.w == nil {
		s.w = newWindow(e.opts.WindowSize)
		e.track(s)
	}
	if s.w.full() {
		e.m.windowFull.Inc()
		return frameStall
	}
	s.frames++
	switch typ {
	case wire.TypeInfo:
		e.m.infoFrames.Inc()
		e.logInfoFrame()
		return frameClose
	case wire.TypeCompressed:
		s.lp.c.compressedFrames++
		inf := inflaters.Get().(*wire.Inflater)
		buf := pool.Get(0)
		inner, err := inf.Inflate(frame, e.opts.MaxFrameBytes, buf)
		inflaters.Put(inf)
		if err != nil {
			pool.Put(buf)
			e.m.parseErrors.Inc()
			e.logParseError(err)
			s.open(0, wire.RCParameter)
			return frameDone
		}
		s.handle(inner)
		pool.Put(buf)
		return frameDone
	}
	s.handle(frame)
	return frameDone
}

func (s *session) open(pending int, rc byte) uint64 {
	s.lp.inflight++
	return s.w.open(pending, rc, s.e.clock.nowMs())
}

// handle decodes a type-3 frame, routes the record and hands it to the
// batchers of its destinations.
func (s *session) handle(frame []byte) {
	e, lp := s.e, s.lp
	lp.c.bytesIn += uint64(len(frame))
	m := &s.msg
	if err := m.Decode(frame[wire.HeaderSize:]); err != nil {
		e.m.parseErrors.Inc()
		e.logParseError(err)
		s.open(0, wire.RCParameter)
		return
	}
	lp.c.received(m)
	if e.draining.Load() || !e.admit(lp) {
		lp.c.overload++
		s.open(0, wire.RCRetry)
		return
	}
	p, dests := e.route(s.port, m)
	if p != nil && p.Ordering && e.order != nil {
		t0 := lutStart()
		stale := e.order.stale(m, e.clock.nowMs())
		lp.lutEnd(t0)
		if stale {
			e.m.skippedStale.Inc()
			s.open(0, wire.RCOK)
			return
		}
	}
	if p != nil && p.Logic != nil {
		var ok bool
		if m, dests, ok = s.evaluate(p, m, dests); !ok {
			return
		}
	}
	if len(dests) == 0 {
		lp.c.skipped++
		s.open(0, wire.RCOK)
		return
	}
	seq := s.open(len(dests), 0)
	nowMs, nowUnix := e.clock.nowMs(), e.clock.nowUnix()
	for _, d := range dests {
		if rc := lp.batchers[p.ID][d.index].add(e, m, ref{s: s, seq: seq}, nowMs, nowUnix); rc != rcTaken {
			s.w.settle(seq, rc)
		}
	}
}

// notify wakes the owner to flush, once until it has flushed.
func (s *session) notify() {
	if s.closed.Load() {
		return
	}
	if s.w.wakePending.CompareAndSwap(0, 1) {
		s.wake()
	}
}

// flush returns the replies of the settled prefix, counted as written (the
// caller writes them in one go, now: nothing is held); the slice is valid
// until the next flush.
func (s *session) flush() []byte {
	s.sent()
	out := s.flushMore()
	if len(out) > 0 {
		s.lp.wrote(out)
	}
	return out
}

// flushMore appends the replies settled since the last flush to those
// flush (or flushMore) returned and not yet written: the transport answers
// the records settled before and during one batch of frames in one write,
// or holds them for the next (hold).
func (s *session) flushMore() []byte {
	if s.w == nil {
		return s.out
	}
	s.w.wakePending.Store(0)
	var n int
	s.out, n = s.w.appendReplies(s.out, s.e.clock.nowMs(), &s.lp.lat)
	if n > 0 {
		s.e.answered(s.lp, int64(n))
	}
	return s.out
}

// close forgets the unanswered records: XDR resends them.
func (s *session) close() {
	if s.closed.Swap(true) {
		return
	}
	if s.w == nil {
		s.e.connClosed(s)
		return
	}
	if n := s.w.unanswered(); n > 0 {
		s.e.answered(s.lp, int64(n))
		s.e.m.abandonedOnClose.Add(n)
	}
	if s.heldAt != 0 { // held replies, never written: XDR sends those records again
		s.e.m.abandonedOnClose.Add(len(s.out) / wire.ReplySize)
		s.sent()
	}
	s.e.connClosed(s)
}
