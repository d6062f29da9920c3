package dataplane

import (
	"time"

	"github.com/xdrhook/xdrhook/wire"
)

// Reply holding (gnet transport). Each write of replies to an XDR
// connection is a syscall for us and a wake-up of XDR's reader: with one
// record per request and 64 records in flight per connection, the replies
// of ~6 (HTTP/1.1) to ~11 (HTTP/2) records went out per write. While a
// connection has many records in flight, its replies wait in session.out
// until holdReplies have collected or the oldest has waited
// Options.ReplyHold (1 ms by default): the records behind settle soon and
// share the write. A connection with few records in flight (a lone record,
// a shallow XDR window, the last records of a burst) is answered at once.
const holdReplies = 32 // replies per write worth waiting for

// monoNow is the monotonic clock of reply holding, in nanoseconds (never 0).
func monoNow() int64 { return int64(time.Since(monoEpoch)) | 1 }

// hold reports whether the replies collected in s.out (not empty) wait for
// more instead of going out now: fewer than holdReplies of them, at least
// holdReplies more records of the connection unanswered, the oldest
// collected less than ReplyHold ago, and the engine not draining. The
// first reply held starts the clock (heldAt) that the ticker watches
// (wakeHeld). Under the loop's mu.
func (s *session) hold() bool {
	hold := s.e.opts.ReplyHold
	if hold <= 0 || len(s.out) >= holdReplies*wire.ReplySize || s.w.unanswered() < holdReplies || s.e.draining.Load() {
		return false
	}
	t := s.heldAt.Load()
	if t == 0 {
		s.heldAt.Store(monoNow())
		s.lp.holding.Add(1)
		return true
	}
	return monoNow()-t < int64(hold)
}

// sent forgets the replies of s.out, written (or to be written by the
// caller of flush), and stops the hold clock. Under the loop's mu.
func (s *session) sent() {
	s.out = s.out[:0]
	if s.heldAt.Load() != 0 {
		s.heldAt.Store(0)
		s.lp.holding.Add(-1)
	}
}

// wakeHeld wakes the connections whose replies have waited ReplyHold: those
// whose other records stopped settling (a slow destination, retries) get
// no other wake-up. Run by the ticker; it looks at the sessions only while
// some loop holds replies.
func (e *Engine) wakeHeld(sess []*session) []*session {
	holding := false
	for _, lp := range e.allLoops() {
		if lp.holding.Load() > 0 {
			holding = true
			break
		}
	}
	if !holding {
		return sess
	}
	sess = e.snapshot(sess[:0])
	now := monoNow()
	for _, s := range sess {
		if t := s.heldAt.Load(); t != 0 && now-t >= int64(e.opts.ReplyHold) {
			s.notify()
		}
	}
	clear(sess)
	return sess[:0]
}
