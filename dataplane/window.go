package dataplane

import (
	"sync/atomic"

	"github.com/xdrhook/xdrhook/wire"
)

// window is one XDR connection's in-order reply window (the shape of
// Pebble's ackseq): every request gets a sequence number and a slot; the
// request's destinations settle the slot from any goroutine; the owner of the
// connection (its event loop) writes the replies of the settled prefix, in
// request order, coalesced into one write.
//
// A slot's state is one atomic word, so settling takes no lock:
//
//	bits 63..32  epoch: seq >> log2(len(slots)); a late settle for a slot
//	             that was answered and reused carries an old epoch and is
//	             ignored, so a record's reply is never sent twice
//	bit  16      settled
//	bits 15..8   destinations still pending
//	bits  7..0   the worst result code so far
type window struct {
	slots []slot
	mask  uint64
	shift uint

	head atomic.Uint64 // next seq to answer; written only by the owner
	tail atomic.Uint64 // next seq to assign; written only by the owner

	wakePending atomic.Uint32
}

type slot struct {
	state atomic.Uint64
	born  atomic.Int64 // coarse ms when accepted
}

const (
	settledBit   = 1 << 16
	pendingShift = 8
	// maxFanOut bounds the destinations of one record (8 bits of pending).
	maxFanOut = 255
)

func newWindow(size int) *window {
	n := 1
	shift := uint(0)
	for n < size {
		n <<= 1
		shift++
	}
	return &window{slots: make([]slot, n), mask: uint64(n - 1), shift: shift}
}

func (w *window) epoch(seq uint64) uint64 { return (seq >> w.shift) & 0xFFFFFFFF }

// full reports whether every slot holds an unanswered request.
func (w *window) full() bool { return w.tail.Load()-w.head.Load() == uint64(len(w.slots)) }

// unanswered is the number of requests accepted and not yet answered.
func (w *window) unanswered() int { return int(w.tail.Load() - w.head.Load()) }

// open assigns the next slot to a request that waits on pending
// destinations (0: settled at once with rc). The owner must check full()
// first. It returns the request's sequence number.
func (w *window) open(pending int, rc byte, nowMs int64) uint64 {
	seq := w.tail.Load()
	s := &w.slots[seq&w.mask]
	s.born.Store(nowMs)
	st := w.epoch(seq)<<32 | uint64(pending)<<pendingShift | uint64(rc)
	if pending == 0 {
		st |= settledBit
	}
	s.state.Store(st)
	w.tail.Store(seq + 1)
	return seq
}

// settle records one destination's outcome for request seq. It returns
// true when that completed the request. Safe from any goroutine; a settle of
// a request already answered (deadline) is ignored.
func (w *window) settle(seq uint64, rc byte) bool {
	s := &w.slots[seq&w.mask]
	ep := w.epoch(seq)
	for {
		old := s.state.Load()
		if old>>32 != ep || old&settledBit != 0 {
			return false
		}
		pending := (old >> pendingShift) & 0xFF
		cur := byte(old)
		if rank(rc) > rank(cur) {
			cur = rc
		}
		if pending > 0 {
			pending--
		}
		st := ep<<32 | pending<<pendingShift | uint64(cur)
		if pending == 0 {
			st |= settledBit
		}
		if s.state.CompareAndSwap(old, st) {
			return pending == 0
		}
	}
}

// expire answers rc (retry) for every unanswered request accepted at or
// before cutoffMs, oldest first; it returns how many it settled. Safe from
// any goroutine (the deadline ticker).
func (w *window) expire(cutoffMs int64, rc byte) int {
	n := 0
	tail := w.tail.Load()
	for seq := w.head.Load(); seq < tail; seq++ {
		s := &w.slots[seq&w.mask]
		if s.born.Load() > cutoffMs {
			break
		}
		ep := w.epoch(seq)
		for {
			old := s.state.Load()
			if old>>32 != ep || old&settledBit != 0 {
				break
			}
			if s.state.CompareAndSwap(old, ep<<32|settledBit|uint64(rc)) {
				n++
				break
			}
		}
	}
	return n
}

// oldest returns the accept time of the oldest unanswered request, or -1.
func (w *window) oldest() int64 {
	head := w.head.Load()
	if head == w.tail.Load() {
		return -1
	}
	return w.slots[head&w.mask].born.Load()
}

// appendReplies appends the replies of the settled prefix to dst and
// advances the head past them, tallying each reply's latency as of nowMs.
// Owner only. It returns how many it answered.
func (w *window) appendReplies(dst []byte, nowMs int64, lat *latencyCounts) ([]byte, int) {
	head, tail := w.head.Load(), w.tail.Load()
	n := 0
	for ; head < tail; head++ {
		s := &w.slots[head&w.mask]
		st := s.state.Load()
		if st&settledBit == 0 || st>>32 != w.epoch(head) {
			break
		}
		dst = wire.AppendReply(dst, byte(st))
		lat.add(nowMs - s.born.Load())
		n++
	}
	w.head.Store(head)
	return dst, n
}

// rank orders outcomes for a record sent to several destinations: the reply
// is the worst one. A retryable code outranks a permanent failure, so that a
// destination that only needs a retry does not lose the record because
// another one refused it for good.
func rank(rc byte) int {
	switch {
	case wire.Done(rc):
		return 0
	case wire.Retried(rc):
		return 2
	}
	return 1
}
