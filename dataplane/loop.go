package dataplane

import (
	"sync"
	"sync/atomic"

	"github.com/panjf2000/gnet/v2"
	"github.com/xdrhook/xdrhook/wire"
)

// loop is the state one event loop owns: its open bodies per (profile,
// destination), its share of the max-concurrent-records budget and its
// counters. A record is decoded, routed, encoded and appended to a body on
// its loop without touching a lock or a cache line another loop writes per
// record. mu is held by the loop's owner for a whole batch of frames (one
// gnet OnTraffic, one TLS read), so it is uncontended but for the engine's
// ticker (every tickEvery: seal idle bodies, return idle credit) and a
// metrics scrape (fold the counters).
//
// gnet connections share their event loop's state; TLS connections, which
// run on goroutines of their own, share tlsLoops states round-robin (their
// mu is then what serializes the connections of one state).
type loop struct {
	_  [64]byte // keep mu off the previous allocation's cache line
	mu sync.Mutex

	// Guarded by mu.
	batchers [][]*batcher // [profile][destination]
	grant    int64        // credit taken from Engine.credit
	inflight int64        // records of this loop's connections accepted and not answered
	busy     bool         // a record arrived since the last tick
	c        loopCounters
	lat      latencyCounts
	// Reply writes and the replies in them, for replies per write (the
	// record-path benchmark reports it); never reset.
	writesOut, repliesOut uint64
	// Time in sections on state shared with other loops and the sections
	// timed with each clock, while sharedTiming is on (sharedtime.go);
	// never reset.
	sharedNanos, lutNanos, sharedCPUTimed, sharedWallTimed uint64

	// Reply holding (replyhold.go): the sessions that held replies since
	// the ticker last looked (each once: session.listed), under mu, and
	// how many are listed, for the ticker to skip a loop without its lock.
	held   []*session
	listed atomic.Int32

	// gnet loops: the waker of the loop's sessions (loopwake.go), nil
	// until it runs; wakerStarted makes it once.
	waker        atomic.Pointer[loopWaker]
	wakerStarted atomic.Bool
}

// loopCounters are the per-record counters of engineMetrics, counted by the
// loop and added to the shared ones when scraped (fold).
type loopCounters struct {
	frames, writes, partialWrites, metaWrites, deletes, durableDeletes, bytesIn uint64
	compressedFrames, skipped, overload                                         uint64
	// Custom logic (expression.go): records filtered out, records that ran
	// expressions and the nanoseconds they took.
	skippedFilter, exprRecords, exprNanos uint64
	replies                               [256]uint64
}

// newLoop adds the state of one more event loop.
func (e *Engine) newLoop() *loop {
	lp := &loop{batchers: make([][]*batcher, len(e.opts.Profiles))}
	for i, p := range e.opts.Profiles {
		lp.batchers[i] = make([]*batcher, len(e.opts.Destinations))
		for j, d := range e.opts.Destinations {
			lp.batchers[i][j] = newBatcher(lp, p, d)
		}
	}
	e.loopMu.Lock()
	e.loops = append(e.loops[:len(e.loops):len(e.loops)], lp) // copy on write: readers keep their snapshot
	e.loopMu.Unlock()
	return lp
}

// gnetLoop returns the state of gnet event loop el (per connection, not per
// record: a map under a lock).
func (e *Engine) gnetLoop(el gnet.EventLoop) *loop {
	e.loopMu.Lock()
	lp := e.loopByEL[el]
	e.loopMu.Unlock()
	if lp == nil {
		lp = e.newLoop()
		e.loopMu.Lock()
		if old := e.loopByEL[el]; old != nil {
			lp = old // lost a race with another connection of the same loop; the spare state stays idle
		} else {
			e.loopByEL[el] = lp
		}
		e.loopMu.Unlock()
	}
	return lp
}

// tlsLoop hands TLS connections the states of tlsLoops round-robin.
func (e *Engine) tlsLoop() *loop {
	i := int(e.tlsNext.Add(1)-1) % len(e.tlsLoops)
	return e.tlsLoops[i]
}

// allLoops returns a snapshot of the loop states.
func (e *Engine) allLoops() []*loop {
	e.loopMu.Lock()
	defer e.loopMu.Unlock()
	return e.loops
}

// creditChunk is how much of max-concurrent-records a loop takes from the
// shared budget at a time: small against the budget (an eighth of a loop's
// fair share), large against a record (one shared atomic per up to 256
// records).
func creditChunk(maxRecords, loops int) int64 {
	return int64(min(max(maxRecords/(8*max(loops, 1)), 1), 256))
}

// admit accepts one more record on lp, taking a chunk of credit from the
// shared budget when lp has none left. It reports false when the budget is
// spent (the record is answered 11). Under lp.mu.
func (e *Engine) admit(lp *loop) bool {
	lp.busy = true
	if lp.inflight < lp.grant {
		return true
	}
	t0 := sharedStart()
	defer lp.sharedEnd(t0)
	for {
		avail := e.credit.Load()
		if avail <= 0 {
			return false
		}
		n := min(e.chunk, avail)
		if e.credit.CompareAndSwap(avail, avail-n) {
			lp.grant += n
			return lp.inflight < lp.grant
		}
	}
}

// answered forgets n records of lp answered (or abandoned), and gives the
// credit lp holds beyond what it needs for its records and one chunk back
// to the shared budget. Under lp.mu.
func (e *Engine) answered(lp *loop, n int64) {
	lp.inflight -= n
	if spare := lp.grant - max(lp.inflight, 0) - e.chunk; spare > e.chunk {
		t0 := sharedStart()
		lp.grant -= spare
		e.credit.Add(spare)
		lp.sharedEnd(t0)
	}
}

// idle returns all the credit an idle loop holds beyond its records in
// flight (ticker, under lp.mu), so that no record is refused for credit
// a quiet loop sits on for longer than a tick.
func (e *Engine) idle(lp *loop) {
	if lp.busy {
		lp.busy = false
		return
	}
	if spare := lp.grant - max(lp.inflight, 0); spare > 0 {
		lp.grant -= spare
		e.credit.Add(spare)
	}
}

// fold adds the loops' counters to the shared metrics (at a scrape, and
// every second from the ticker so that direct readers catch up).
func (e *Engine) fold() {
	for _, lp := range e.allLoops() {
		lp.mu.Lock()
		c := lp.c
		lp.c = loopCounters{}
		e.m.replyLatency.merge(&lp.lat)
		lp.mu.Unlock()
		m := e.m
		add := func(ctr interface{ Add(int) }, n uint64) {
			if n != 0 {
				ctr.Add(int(n))
			}
		}
		add(m.frames, c.frames)
		add(m.writes, c.writes)
		add(m.partialWrites, c.partialWrites)
		add(m.metaWrites, c.metaWrites)
		add(m.deletes, c.deletes)
		add(m.durableDeletes, c.durableDeletes)
		add(m.bytesIn, c.bytesIn)
		add(m.compressedFrames, c.compressedFrames)
		add(m.skipped, c.skipped)
		add(m.overload, c.overload)
		for rc, n := range c.replies {
			add(m.repliedByRC[rc], n)
		}
		add(e.x.skippedFilter, c.skippedFilter)
		add(e.x.records, c.exprRecords)
		if c.exprNanos != 0 {
			e.x.seconds.Add(float64(c.exprNanos) / 1e9)
		}
	}
}

// received counts a decoded record by kind. Under lp.mu.
func (c *loopCounters) received(msg *wire.Message) {
	c.frames++
	switch {
	case msg.Kind == wire.KindDelete && msg.Durable:
		c.durableDeletes++
	case msg.Kind == wire.KindDelete:
		c.deletes++
	case msg.MetadataOnly:
		c.metaWrites++
	case msg.Partial:
		c.partialWrites++
	default:
		c.writes++
	}
}

// replied counts the replies of one write (30 bytes each, rc at byte 13).
func (c *loopCounters) replied(out []byte) {
	for i := 13; i < len(out); i += wire.ReplySize {
		c.replies[out[i]]++
	}
}

// wrote counts one write of replies out, and the replies in it by code.
// Under lp.mu.
func (lp *loop) wrote(out []byte) {
	lp.c.replied(out)
	lp.writesOut++
	lp.repliesOut += uint64(len(out) / wire.ReplySize)
}

// replyWrites sums the writes of replies and the replies in them.
func (e *Engine) replyWrites() (writes, replies uint64) {
	for _, lp := range e.allLoops() {
		lp.mu.Lock()
		writes += lp.writesOut
		replies += lp.repliesOut
		lp.mu.Unlock()
	}
	return writes, replies
}

// inFlight sums the records accepted and not answered over the loops.
func (e *Engine) inFlight() int64 {
	var n int64
	for _, lp := range e.allLoops() {
		lp.mu.Lock()
		n += lp.inflight
		lp.mu.Unlock()
	}
	return n
}
