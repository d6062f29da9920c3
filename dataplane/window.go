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
//
// The slots live in chunks of chunkSlots, allocated by the owner as the
// window deepens, up to the window's size: a connection that pipelines a
// few requests holds one chunk, and a deep one does not force its frames to
// wait unread in the inbound buffer (where they would age past XDR's
// timeout) — it gets answers, 11 at once when the connector is over its
// bounds. Settlers only touch slots of requests already opened, whose chunk
// was published before the request was handed to any other goroutine.
type window struct {
	chunks []atomic.Pointer[[chunkSlots]slot]
	mask   uint64 // size - 1
	shift  uint   // log2(size)

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

const chunkShift = 10
const chunkSlots = 1 << chunkShift // 16 KiB of slots

func newWindow(size int) *window {
	n := chunkSlots
	shift := uint(chunkShift)
	for n < size {
		n <<= 1
		shift++
	}
	w := &window{chunks: make([]atomic.Pointer[[chunkSlots]slot], n/chunkSlots), mask: uint64(n - 1), shift: shift}
	w.chunks[0].Store(new([chunkSlots]slot))
	return w
}

// slot returns the slot of seq; its chunk must exist.
func (w *window) slot(seq uint64) *slot {
	i := seq & w.mask
	return &w.chunks[i>>chunkShift].Load()[i&(chunkSlots-1)]
}

// size is the number of requests the window can hold unanswered.
func (w *window) size() uint64 { return w.mask + 1 }

func (w *window) epoch(seq uint64) uint64 { return (seq >> w.shift) & 0xFFFFFFFF }

// full reports whether every slot holds an unanswered request.
func (w *window) full() bool { return w.tail.Load()-w.head.Load() == w.size() }

// unanswered is the number of requests accepted and not yet answered.
func (w *window) unanswered() int { return int(w.tail.Load() - w.head.Load()) }

// open assigns the next slot to a request that waits on pending
// destinations (0: settled at once with rc). The owner must check full()
// first. It returns the request's sequence number.
func (w *window) open(pending int, rc byte, nowMs int64) uint64 {
	seq := w.tail.Load()
	i := seq & w.mask
	c := &w.chunks[i>>chunkShift]
	if c.Load() == nil {
		c.Store(new([chunkSlots]slot))
	}
	s := &c.Load()[i&(chunkSlots-1)]
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
	s := w.slot(seq)
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
		s := w.slot(seq)
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
	return w.slot(head).born.Load()
}

// appendReplies appends the replies of the settled prefix to dst and
// advances the head past them, tallying each reply's latency as of nowMs.
// Owner only. It returns how many it answered.
func (w *window) appendReplies(dst []byte, nowMs int64, lat *latencyCounts) ([]byte, int) {
	head, tail := w.head.Load(), w.tail.Load()
	n := 0
	for ; head < tail; head++ {
		s := w.slot(head)
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
