package dataplane

import (
	"sync/atomic"
	"time"
)

// The serial fraction of the record path: the CPU time an event loop
// spends on state other loops also write — the destination's queue (one
// handoff per body), the pools a body's buffers come from (per body), the
// shared max-concurrent-records budget (per chunk of credit) and, with
// record-ordering, the LUT cache's shard lock (per record). By Amdahl it
// bounds what more cores give. BenchmarkEngineRecordPath switches the
// timing on and reports it per record (serial-%); in production it is off,
// and a section costs one atomic load (a plain load on amd64 and arm64).
//
// The clock of the per-body and per-chunk sections is the thread's CPU
// time (threadCPU), not the wall clock: on a loaded machine a thread
// descheduled in a section (a system call or a page fault is where the
// kernel switches) would count another process's milliseconds as the
// section's. A section starts and ends on one thread unless the goroutine
// was preempted or parked inside it and resumed on another: the difference
// of two threads' clocks is then meaningless, most likely far off, and a
// section read below 0 or above sectionMax is left out (the benchmark's
// loops are not locked to threads, as gnet's are not: a locked goroutine
// would pay two thread switches at each yield). Only the loops time
// sections; the ticker's sealing of idle bodies is not timed.
var sharedTiming atomic.Bool

// sharedStart starts timing a shared section: 0 when timing is off.
func sharedStart() int64 {
	if !sharedTiming.Load() {
		return 0
	}
	return threadCPU() | 1 // never 0 when on
}

// sharedEnd adds the section started at t0 to lp's shared time. Under
// lp.mu.
func (lp *loop) sharedEnd(t0 int64) {
	if t0 == 0 {
		return
	}
	if d := threadCPU() - t0; d >= 0 && d < sectionMax {
		lp.sharedNanos += uint64(d)
	}
	lp.sharedCPUTimed++
}

// sectionMax bounds a believable shared section's CPU time, ns: a body's
// fresh 1 MiB buffer with its page faults takes well under it.
const sectionMax = 5_000_000

// The LUT cache's section is per record and short (a shard lock and a map
// lookup): a system call each side would cost more than it and, cold,
// more than a calibration says. It is timed with the monotonic clock (one
// vDSO read each side) instead; a section that took longer than lutSlow
// was descheduled or parked on the shard's lock — the block profile counts
// the parking — and is left out.
const lutSlow = 20_000 // ns

// lutStart starts timing a LUT section: 0 when timing is off.
func lutStart() int64 {
	if !sharedTiming.Load() {
		return 0
	}
	return int64(time.Since(monoEpoch)) | 1
}

// lutEnd adds the LUT section started at t0 to lp's shared time. Under
// lp.mu.
func (lp *loop) lutEnd(t0 int64) {
	if t0 == 0 {
		return
	}
	if d := int64(time.Since(monoEpoch)) - t0; d >= 0 && d < lutSlow {
		lp.sharedNanos += uint64(d)
		lp.lutNanos += uint64(d)
	}
	lp.sharedWallTimed++
}

// monoEpoch anchors the monotonic clock (time.Since of a monotonic time is
// one runtime nanotime).
var monoEpoch = time.Now()

// sharedTotals are the loops' shared time (of which the LUT cache's) and
// the sections timed with each clock.
type sharedTotals struct{ nanos, lutNanos, cpuTimed, wallTimed uint64 }

// sharedTime sums the loops' sharedTotals.
func (e *Engine) sharedTime() sharedTotals {
	var t sharedTotals
	for _, lp := range e.allLoops() {
		lp.mu.Lock()
		t.nanos += lp.sharedNanos
		t.lutNanos += lp.lutNanos
		t.cpuTimed += lp.sharedCPUTimed
		t.wallTimed += lp.sharedWallTimed
		lp.mu.Unlock()
	}
	return t
}
