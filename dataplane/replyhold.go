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
// Options.ReplyHold (service.reply-hold; 0, the default, holds nothing):
// the records behind settle soon and share the write. A connection with
// few records in flight (a lone record, a shallow XDR window, the last
// records of a burst) is answered at once.
const holdReplies = 32 // replies per write worth waiting for

// monoNow is the monotonic clock of reply holding, in nanoseconds (never 0).
func monoNow() int64 { return int64(time.Since(monoEpoch)) | 1 }

// hold reports whether the replies collected in s.out (not empty) wait for
// more instead of going out now: fewer than holdReplies of them, at least
// holdReplies more records of the connection unanswered, the oldest
// collected less than ReplyHold ago, and the engine not draining. The
// first reply held starts the clock (heldAt) and lists s for the ticker
// (wakeHeld). Under the loop's mu.
func (s *session) hold() bool {
	hold := s.e.opts.ReplyHold
	if hold <= 0 || len(s.out) >= holdReplies*wire.ReplySize || s.w.unanswered() < holdReplies || s.e.draining.Load() {
		return false
	}
	t := s.heldAt
	if t == 0 {
		s.heldAt = monoNow()
		if !s.listed {
			s.listed = true
			s.lp.held = append(s.lp.held, s)
			s.lp.listed.Add(1)
		}
		return true
	}
	return monoNow()-t < int64(hold)
}

// sent forgets the replies of s.out, written (or to be written by the
// caller of flush), and stops the hold clock. Under the loop's mu.
func (s *session) sent() {
	s.out = s.out[:0]
	s.heldAt = 0
}

// wakeHeld wakes the connections whose replies have waited ReplyHold: those
// whose other records stopped settling (a slow destination, retries) get
// no other wake-up. Run by the ticker, with due as scratch; it takes the
// lock of a loop only if that loop listed a session since, and drops from
// the list the sessions that hold nothing any more.
func (e *Engine) wakeHeld(due []*session) []*session {
	now := monoNow()
	for _, lp := range e.allLoops() {
		if lp.listed.Load() == 0 {
			continue
		}
		lp.mu.Lock()
		kept := lp.held[:0]
		for _, s := range lp.held {
			t := s.heldAt
			if t == 0 { // written since, or closed (close stops the clock)
				s.listed = false
				continue
			}
			kept = append(kept, s)
			if now-t >= int64(e.opts.ReplyHold) {
				due = append(due, s)
			}
		}
		clear(lp.held[len(kept):])
		lp.held = kept
		lp.listed.Store(int32(len(kept)))
		lp.mu.Unlock()
	}
	for _, s := range due {
		s.notify()
	}
	clear(due)
	return due[:0]
}
