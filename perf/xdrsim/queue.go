package xdrsim

import (
	"sync"
	"sync/atomic"
)

// item is one record on its way: in a connection's window, or queued for a
// resend or a retry. It holds enough to rebuild the record's frame (the
// generator is a function of seq), so nothing per record is allocated.
type item struct {
	seq     uint64
	sentAt  int64 // ns since the start of the run, when last written
	due     int64 // retry queue: ns since the start when it may go again
	lutMs   int64 // Unix ms of the LUT it was last sent with
	digest  [20]byte
	gen     uint32
	attempt uint8 // "retry" replies so far
	built   bool  // gen and LUT assigned
	refresh bool  // re-ship with a new LUT (after a "retry" reply)
}

// ring is a connection's window: items in the order they were written,
// which is the order their replies come back in.
type ring struct {
	buf  []item
	head int
	n    int
}

func newRing(size int) ring { return ring{buf: make([]item, size)} }

func (r *ring) push(it *item) {
	r.buf[(r.head+r.n)%len(r.buf)] = *it
	r.n++
}

func (r *ring) front() *item { return &r.buf[r.head] }

// popInto moves the k oldest items to dst.
func (r *ring) popInto(dst []item, k int) []item {
	for i := 0; i < k; i++ {
		dst = append(dst, r.buf[r.head])
		r.head = (r.head + 1) % len(r.buf)
	}
	r.n -= k
	return dst
}

// deque is a FIFO of items that keeps its storage.
type deque struct {
	buf  []item
	head int
}

func (d *deque) len() int      { return len(d.buf) - d.head }
func (d *deque) front() *item  { return &d.buf[d.head] }
func (d *deque) push(it *item) { d.buf = append(d.buf, *it) }

func (d *deque) pop() item {
	it := d.buf[d.head]
	d.head++
	switch {
	case d.head == len(d.buf):
		d.buf, d.head = d.buf[:0], 0
	case d.head >= 1024 && d.head*2 >= len(d.buf):
		n := copy(d.buf, d.buf[d.head:])
		d.buf, d.head = d.buf[:n], 0
	}
	return it
}

// queues hold records waiting to go again: resends (their connection
// dropped: send at once, on any connection) and retries (answered "retry":
// send after a backoff). Retries sit in one FIFO per backoff level, so each
// FIFO is in due order and no heap is needed.
type queues struct {
	mu     sync.Mutex
	n      atomic.Int64 // items queued, read without the lock
	resend deque
	retry  []deque
}

func (q *queues) pushResend(items []item) {
	if len(items) == 0 {
		return
	}
	q.mu.Lock()
	for i := range items {
		items[i].sentAt = 0
		q.resend.push(&items[i])
	}
	q.n.Add(int64(len(items)))
	q.mu.Unlock()
}

func (q *queues) pushRetry(it *item, level int) {
	q.mu.Lock()
	q.retry[min(level, len(q.retry)-1)].push(it)
	q.n.Add(1)
	q.mu.Unlock()
}

// take appends to dst, up to max items in all, the resends and then the
// retries that are due at now.
func (q *queues) take(dst []item, max int, now int64) []item {
	if q.n.Load() == 0 || len(dst) >= max {
		return dst
	}
	q.mu.Lock()
	k := len(dst)
	for len(dst) < max && q.resend.len() > 0 {
		dst = append(dst, q.resend.pop())
	}
	for len(dst) < max {
		best := -1
		for i := range q.retry {
			d := &q.retry[i]
			if d.len() > 0 && d.front().due <= now && (best < 0 || d.front().due < q.retry[best].front().due) {
				best = i
			}
		}
		if best < 0 {
			break
		}
		dst = append(dst, q.retry[best].pop())
	}
	q.n.Add(-int64(len(dst) - k))
	q.mu.Unlock()
	return dst
}

// nextDue returns the earliest due time of a queued item (0 for a resend).
func (q *queues) nextDue() (int64, bool) {
	if q.n.Load() == 0 {
		return 0, false
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.resend.len() > 0 {
		return 0, true
	}
	var due int64
	ok := false
	for i := range q.retry {
		d := &q.retry[i]
		if d.len() > 0 && (!ok || d.front().due < due) {
			due, ok = d.front().due, true
		}
	}
	return due, ok
}
