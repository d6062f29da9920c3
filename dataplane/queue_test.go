package dataplane

import (
	"testing"
	"time"

	"github.com/xdrhook/xdrhook/pool"
)

// queueUnderTest is a destination with 8 workers and the engine's default
// bounds (max-concurrent-records 32768, reply deadline 8 s), none started.
func queueUnderTest(t *testing.T, o DestinationOptions) *Destination {
	t.Helper()
	o.MaxInFlight = 8
	d := NewDestination(o)
	d.queueDefaults(&Options{MaxConcurrentRecords: 32768, ReplyDeadline: 8 * time.Second})
	return d
}

// fill queues n one-record bodies born at bornMs.
func fill(d *Destination, n int, bornMs int64) {
	for range n {
		d.enqueue(&batch{buf: pool.Get(256), bornMs: bornMs, refs: make([]ref, 0, 1)})
	}
}

// drainAt feeds the sampler a busy stretch: every worker busy, rate
// bodies/s over the sample's 250 ms.
func drainAt(d *Destination, nowMs *int64, rate int) {
	d.q.drained.Add(uint64(rate / 4))
	*nowMs += 250
	d.sampleDrain(*nowMs)
}

func TestQueueDefaults(t *testing.T) {
	d := queueUnderTest(t, DestinationOptions{})
	if d.opts.MaxQueued != 32768 || d.opts.MaxQueueWait != 4*time.Second || d.opts.MaxQueuedBytes != 64<<20 {
		t.Fatalf("defaults: %d bodies, %d bytes, wait %v", d.opts.MaxQueued, d.opts.MaxQueuedBytes, d.opts.MaxQueueWait)
	}
	small := NewDestination(DestinationOptions{MaxInFlight: 1})
	small.queueDefaults(&Options{MaxConcurrentRecords: 100, ReplyDeadline: time.Second})
	if small.opts.MaxQueued != 1024 || small.opts.MaxQueueWait != 500*time.Millisecond {
		t.Fatalf("small: %d bodies, wait %v", small.opts.MaxQueued, small.opts.MaxQueueWait)
	}
	set := NewDestination(DestinationOptions{MaxInFlight: 1, MaxQueued: 50, MaxQueueWait: time.Second})
	set.queueDefaults(&Options{MaxConcurrentRecords: 100, ReplyDeadline: 8 * time.Second})
	if set.opts.MaxQueued != 50 || set.opts.MaxQueueWait != time.Second {
		t.Fatalf("set: %d bodies, wait %v", set.opts.MaxQueued, set.opts.MaxQueueWait)
	}
}

// A healthy destination at 10,000 bodies/s takes 4,096 queued in 0.4 s:
// none refused, whatever the count; at 800/s the queue holds 3,200 (4 s).
func TestBackedUpByDrainRate(t *testing.T) {
	d := queueUnderTest(t, DestinationOptions{})
	now := int64(1_000_000)
	d.sampleDrain(now) // the first sample only starts the count
	if d.q.nsPerBody.Load() != 0 {
		t.Fatal("a rate before any sample")
	}
	fill(d, 4096, now)
	if d.backedUp(now) {
		t.Fatal("refused before any rate is known, the head fresh")
	}
	for range 8 {
		drainAt(d, &now, 10_000)
	}
	fill(d, 8000, now) // 12,096 queued: 1.2 s at 10,000/s
	d.q.headBornMs.Store(now)
	if d.backedUp(now) {
		t.Fatalf("12,096 queued at 10,000/s (%d ns a body) refused", d.q.nsPerBody.Load())
	}
	for range 40 {
		drainAt(d, &now, 800) // the destination slows down
	}
	if got := d.q.nsPerBody.Load(); got < 1_240_000 || got > 1_260_000 {
		t.Fatalf("%d ns a body at 800/s, want 1.25 ms", got)
	}
	if !d.backedUp(now) {
		t.Fatal("12,096 queued at 800/s (15 s) not refused")
	}
	for d.queued.Load() > 3150 {
		d.take()
	}
	d.q.headBornMs.Store(now)
	if d.backedUp(now) {
		t.Fatalf("3,150 queued at 800/s (3.94 s) refused")
	}
	fill(d, 100, now)
	if !d.backedUp(now) {
		t.Fatalf("3,250 queued at 800/s (4.06 s) not refused")
	}
}

// One slow sample (the connector stalled a quarter of a second) among
// healthy ones does not refuse a queue a healthy destination takes in
// well under the bound; samples with an idle worker (the records came
// slower than the destination takes them) never lower the rate.
func TestDrainRateSteady(t *testing.T) {
	d := queueUnderTest(t, DestinationOptions{})
	now := int64(1_000_000)
	d.sampleDrain(now)
	for range 8 {
		drainAt(d, &now, 8_000)
	}
	fill(d, 4096, now)
	drainAt(d, &now, 0)
	d.q.headBornMs.Store(now)
	if d.backedUp(now) {
		t.Fatalf("one stalled sample refused 4,096 queued (%d ns a body)", d.q.nsPerBody.Load())
	}
	before := d.q.nsPerBody.Load()
	d.q.waiting.Add(1) // a worker idle: the sample measures the records coming
	for range 8 {
		drainAt(d, &now, 100)
	}
	d.q.waiting.Add(-1)
	if got := d.q.nsPerBody.Load(); got != before {
		t.Fatalf("idle samples moved %d ns a body to %d", before, got)
	}
	d.q.waiting.Add(1)
	drainAt(d, &now, 50_000)
	d.q.waiting.Add(-1)
	if got := d.q.nsPerBody.Load(); got != 20_000 {
		t.Fatalf("an idle sample at 50,000/s: %d ns a body, want 20000", got)
	}
}

// Nothing finished while every worker was busy (a destination that
// stopped answering): one queued body is the bound.
func TestDrainRateZero(t *testing.T) {
	d := queueUnderTest(t, DestinationOptions{})
	now := int64(1_000_000)
	d.sampleDrain(now)
	drainAt(d, &now, 0)
	if d.backedUp(now) {
		t.Fatal("an empty queue refused")
	}
	fill(d, 1, now)
	if !d.backedUp(now) {
		t.Fatal("a body queued toward a destination that finished nothing: not refused")
	}
}

// Before any rate is known (the start), a body that waited half the reply
// deadline at the head of the queue backs the destination up.
func TestBackedUpByHeadAge(t *testing.T) {
	d := queueUnderTest(t, DestinationOptions{})
	now := int64(1_000_000)
	fill(d, 2, now-3999)
	if d.backedUp(now) {
		t.Fatal("head waited 3.999 s: refused")
	}
	if !d.backedUp(now + 1) {
		t.Fatal("head waited 4 s: not refused")
	}
	d.take()
	d.take()
	if d.backedUp(now+10_000) || d.q.headBornMs.Load() != 0 {
		t.Fatal("an empty queue still aged")
	}
}

// The bytes bound counts what a body holds (buffer capacity and
// bookkeeping), so many one-record bodies are bounded too.
func TestBackedUpByFootprint(t *testing.T) {
	b := &batch{buf: pool.Get(256), refs: make([]ref, 0, 1)} // as fill
	fp := b.footprint()
	if fp < int64(cap(b.buf.B)+batchOverhead+16) {
		t.Fatalf("footprint %d < buffer %d + batch %d + ref", fp, cap(b.buf.B), batchOverhead)
	}
	d := queueUnderTest(t, DestinationOptions{MaxQueuedBytes: int(10 * fp)})
	now := int64(1_000_000)
	fill(d, 9, now)
	if d.backedUp(now) {
		t.Fatalf("9 bodies of %d bytes under %d: refused (%d queued)", fp, 10*fp, d.queuedBytes.Load())
	}
	fill(d, 1, now)
	if !d.backedUp(now) {
		t.Fatalf("10 bodies of %d bytes: not refused (%d queued)", fp, d.queuedBytes.Load())
	}
	for d.queued.Load() > 0 {
		d.take()
	}
	if d.queuedBytes.Load() != 0 {
		t.Fatalf("%d bytes left in an empty queue", d.queuedBytes.Load())
	}
}

// A queue held at its bound never empties: taking moves the rest to the
// front now and then, so its array stays near the bound instead of growing
// by every body ever queued.
func TestQueueNeverEmptyStaysBounded(t *testing.T) {
	d := queueUnderTest(t, DestinationOptions{})
	fill(d, 100, 1)
	for range 100 * compactAfter {
		fill(d, 1, 1)
		if d.take() == nil {
			t.Fatal("empty")
		}
	}
	if n := len(d.queue) - d.qhead; n != 100 {
		t.Fatalf("%d queued, want 100", n)
	}
	if cap(d.queue) > 4*compactAfter {
		t.Fatalf("array of %d for 100 queued bodies", cap(d.queue))
	}
}

// The head's wait runs from when the body was queued: a body sealed by a
// long batch-interval (older than half the reply deadline when it is
// queued) does not refuse records for a destination that takes it at once.
func TestQueueWaitCountsFromQueueing(t *testing.T) {
	d := queueUnderTest(t, DestinationOptions{})
	d.e = &Engine{} // its clock: when bodies are queued
	d.e.clock.set(time.Now())
	now := d.e.clock.nowMs()
	d.enqueue(&batch{buf: pool.Get(256), bornMs: now - 5000, refs: make([]ref, 0, 1)})
	if d.backedUp(now + 100) {
		t.Fatal("a body born 5 s ago, queued 100 ms ago, refuses records")
	}
	if !d.backedUp(now + d.opts.MaxQueueWait.Milliseconds()) {
		t.Fatal("a body queued MaxQueueWait ago does not")
	}
}
