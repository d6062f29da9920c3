package dataplane

import (
	"sync/atomic"
	"time"
	"unsafe"
)

// DefaultMaxQueuedBytes bounds the memory of the bodies waiting for one
// destination (buffers and bookkeeping, see footprint).
const DefaultMaxQueuedBytes = 64 << 20

// minMaxQueued is the default count bound's floor: with a small
// max-concurrent-records, batched bodies still queue like before.
const minMaxQueued = 1024

// queueGauge is what backedUp reads besides the counts: the age of the
// oldest queued body and the queue's drain rate.
type queueGauge struct {
	headBornMs atomic.Int64  // queuedMs of the body at the head (0: empty)
	drained    atomic.Uint64 // bodies sent (Destination.deliver)
	emptied    atomic.Bool   // a worker found the queue empty since the last sample
	waiting    atomic.Int32  // workers waiting for a body now
	nsPerBody  atomic.Int64  // 1 s ÷ the drain rate; 0: not known yet

	maxWaitMs, maxWaitNs int64 // MaxQueueWait

	// The sampler's state (sampleDrain: the engine's ticker only).
	lastDrained uint64
	lastMs      int64
	rate        float64 // bodies/s
	known       bool
}

// drainSampleEvery is how often the ticker samples each queue's drain rate:
// long enough for a destination at 100 ms a request to finish some, short
// enough to see a burst coming well inside the reply deadline.
const drainSampleEvery = 250 * time.Millisecond

// queueDefaults fills the queue bounds left zero from the engine's options.
//
// The count bound defaults to max-concurrent-records bodies: with batching
// off a body is one record, and a count below the records an XDR sender
// keeps in flight refuses records a healthy destination would take in a
// moment (1024 bodies against 4,096 records in flight answered ~3 records
// 11 for every one delivered). Memory is bounded by bytes instead, and
// slowness by time: when a new body would wait half of the reply deadline
// before a worker takes it, the destination drains slower than records
// come, and a body queued behind more would only age towards the deadline
// and be answered 11 then; new records are answered 11 at once instead,
// which tells XDR to back off and costs no memory.
func (d *Destination) queueDefaults(o *Options) {
	if d.opts.MaxQueued <= 0 {
		d.opts.MaxQueued = max(minMaxQueued, o.MaxConcurrentRecords)
	}
	if d.opts.MaxQueueWait <= 0 {
		d.opts.MaxQueueWait = o.ReplyDeadline / 2
	}
	d.q.maxWaitMs = max(d.opts.MaxQueueWait.Milliseconds(), 1)
	d.q.maxWaitNs = max(int64(d.opts.MaxQueueWait), 1)
}

// backedUp reports whether new records should be refused (answered 11):
// the queue holds its count or its bytes, or a new body would wait
// MaxQueueWait. The wait is judged two ways: the queued bodies ÷ the drain
// rate, which sees a burst coming before it has waited; and the age of the
// oldest queued body (nowMs is the engine's coarse clock), which sees a
// destination that stopped answering, and covers the start, before a rate
// is known.
func (d *Destination) backedUp(nowMs int64) bool {
	q := int64(d.queued.Load())
	if q >= int64(d.opts.MaxQueued) || d.queuedBytes.Load() >= int64(d.opts.MaxQueuedBytes) {
		return true
	}
	if ns := d.q.nsPerBody.Load(); ns > 0 && q*ns >= d.q.maxWaitNs {
		return true
	}
	h := d.q.headBornMs.Load()
	return h != 0 && nowMs-h >= d.q.maxWaitMs
}

// sampleDrain measures the bodies sent since the last sample. Only a
// sample in which no worker went idle measures the destination (otherwise
// it measures the records coming): it moves the rate a quarter of the way,
// so one slow stretch (a GC, a busy CPU) does not refuse a burst a healthy
// destination would take. A sample with an idle worker can only raise the
// rate: the destination took at least that much.
func (d *Destination) sampleDrain(nowMs int64) {
	g := &d.q
	n := g.drained.Load()
	// A worker waiting now was idle in this sample and starts the next one
	// idle.
	w := g.waiting.Load() > 0
	idle := g.emptied.Swap(w) || w
	if g.lastMs == 0 || nowMs <= g.lastMs {
		g.lastDrained, g.lastMs = n, nowMs
		return
	}
	r := float64(n-g.lastDrained) * 1000 / float64(nowMs-g.lastMs)
	g.lastDrained, g.lastMs = n, nowMs
	switch {
	case !idle && g.known:
		g.rate += (r - g.rate) / 4
	case !idle:
		g.rate, g.known = r, true
	case g.known && r > g.rate:
		g.rate = r
	default:
		return
	}
	ns := g.maxWaitNs // a rate of 0 (nothing finished while all were busy): one body is the wait
	if g.rate*float64(g.maxWaitNs) > 1e9 {
		ns = int64(1e9 / g.rate)
	}
	g.nsPerBody.Store(ns)
}

// compactAfter is how many taken bodies a queue that never empties keeps
// before it moves the rest to the front (amortized: at most one copy of each
// body per compactAfter taken).
const compactAfter = 1024

// batchOverhead is what a queued body costs besides its slices' arrays.
const batchOverhead = int(unsafe.Sizeof(batch{}))

// footprint is the memory a queued body holds: capacities, not lengths (a
// pooled buffer is a size class larger than its body), and the batch
// itself, so that a queue of many one-record bodies is bounded too.
func (b *batch) footprint() int64 {
	n := batchOverhead + cap(b.refs)*int(unsafe.Sizeof(ref{})) + cap(b.idem) + cap(b.path)
	if b.buf != nil {
		n += cap(b.buf.B)
	}
	return int64(n)
}

func (d *Destination) enqueue(b *batch) {
	b.queuedBytes = b.footprint()
	// The wait is judged from when the body was queued, not from its
	// oldest record: a batch sealed by its interval comes already that old,
	// and a long batch-interval would make every queued body look late.
	b.queuedMs = b.bornMs
	if d.e != nil {
		b.queuedMs = max(d.e.clock.nowMs(), b.bornMs)
	}
	d.queued.Add(1)
	d.queuedBytes.Add(b.queuedBytes)
	d.mu.Lock()
	d.queue = append(d.queue, b)
	if len(d.queue)-d.qhead == 1 {
		d.q.headBornMs.Store(max(b.queuedMs, 1))
	}
	d.mu.Unlock()
	d.cond.Signal()
}

func (d *Destination) take() *batch {
	d.mu.Lock()
	defer d.mu.Unlock()
	for d.qhead == len(d.queue) {
		if d.closed {
			return nil
		}
		d.q.emptied.Store(true)
		d.q.waiting.Add(1)
		d.cond.Wait()
		d.q.waiting.Add(-1)
	}
	b := d.queue[d.qhead]
	d.queue[d.qhead] = nil
	d.qhead++
	if d.qhead == len(d.queue) {
		d.queue, d.qhead = d.queue[:0], 0
		d.q.headBornMs.Store(0)
	} else {
		if d.qhead >= compactAfter && 2*d.qhead >= len(d.queue) {
			// A queue that never empties (a backlog held at its bound)
			// would otherwise keep its taken prefix and grow forever.
			n := copy(d.queue, d.queue[d.qhead:])
			clear(d.queue[n:])
			d.queue, d.qhead = d.queue[:n], 0
		}
		d.q.headBornMs.Store(max(d.queue[d.qhead].queuedMs, 1))
	}
	d.queued.Add(-1)
	d.queuedBytes.Add(-b.queuedBytes)
	return b
}
