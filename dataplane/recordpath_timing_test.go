package dataplane

import (
	"bytes"
	"io"
	"log/slog"
	"runtime"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/xdrhook/xdrhook/encode"
	"github.com/xdrhook/xdrhook/perf/xdrsim"
	"github.com/xdrhook/xdrhook/wire"
)

// BenchmarkEngineRecordPath measures the record path of several event loops
// at once: the perf suite's records (xdrsim's default workload, ~1 KB,
// every kind of bin) are fed to one session per loop as gnet's OnTraffic
// does (the loop's lock held for a batch of frames, replies of what settled
// written once at its end), decoded, routed, encoded (JSON) and framed
// (NDJSON, batch defaults: 500 records, 1 MiB, 50 ms) into the loop's
// bodies, handed to a destination whose sender accepts every body at once,
// settled and answered. b.RunParallel runs one loop per P: with -cpu 1,2
// the records/s ratio is the scaling of the record path.
//
// Reported: ns/record (wall time ÷ records), records/s, allocs/record,
// replies/write, cpu-ns/record (the process's user+system time ÷ records,
// destination workers and ticker included) and cores (CPU time ÷ wall: on
// a shared machine, how much of -cpu N the benchmark got), and the serial
// fraction serial-%: the CPU time the loops spend on state other loops
// also use (shared-ns/record: the sections sharedTiming times, less the
// cost of timing them) plus the time the loops' goroutines spent blocked
// (lockwait-ns/record, block profile: waiting for a lock, the ticker's or
// a shared one), per record, as a share of cpu-ns/record (less the cost of
// the timing). amdahl-16x and amdahl-32x are the speedups it allows at 16
// and 32 loops: 1 / (s + (1-s)/N). window-spin-% is the loops' time spent
// yielding on a full window (2048 unanswered) until a worker settles.
func BenchmarkEngineRecordPath(b *testing.B) { benchRecordPath(b, false) }

// BenchmarkEngineRecordPathOrdered is the same with record-ordering on: the
// LUT cache is the one structure loops share per record (a lock of one of
// its 64 shards).
func BenchmarkEngineRecordPathOrdered(b *testing.B) { benchRecordPath(b, true) }

func benchRecordPath(b *testing.B, ordered bool) {
	frames, types := simFrames(b, 4096)
	e := benchEngine(b, ordered)
	go e.tick()
	b.Cleanup(func() {
		close(e.stopping)
		<-e.tickDone
	})
	// A running connector's pools hold the buffers its bodies circulate
	// in; a new engine's first bodies would fault fresh 1 MiB buffers in
	// (in newBatch, a section on shared state), a start-up cost that
	// short runs would count per record.
	warmPools(e, frames, types)
	e.fold()
	answered0 := e.m.repliedByRC[0].Get()

	runtime.SetBlockProfileRate(1)
	defer runtime.SetBlockProfileRate(0)
	tc := sharedTimerCost()
	sharedTiming.Store(true)
	defer sharedTiming.Store(false)
	sh0 := e.sharedTime()
	wait0, _ := loopWaits()
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	cpu0 := cpuTime()

	var mu sync.Mutex
	var sessions []*session
	var waited atomic.Int64 // ns the loops spun (yielding) on a full window
	var seed int
	const (
		perTraffic = 16   // frames per OnTraffic
		window     = 2048 // unanswered records per connection before it waits, as XDR's window
	)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		lp := e.newLoop()
		s := e.newSession(lp)
		s.wake = func() {}
		mu.Lock()
		sessions = append(sessions, s)
		i := seed * 1031
		seed++
		mu.Unlock()
		for {
			k := 0
			for k < perTraffic && pb.Next() {
				k++
			}
			if k == 0 {
				return
			}
			if s.w != nil && s.w.unanswered() > window {
				t0 := time.Now()
				for s.w.unanswered() > window {
					benchTraffic(s, nil, nil, 0, 0)
					runtime.Gosched()
				}
				waited.Add(int64(time.Since(t0)))
			}
			i = benchTraffic(s, frames, types, i, k)
		}
	})
	// Every record is answered before the clock stops.
	e.sealAll(true)
	for _, s := range sessions {
		for s.w != nil && s.w.unanswered() > 0 {
			benchTraffic(s, nil, nil, 0, 0)
			runtime.Gosched()
		}
	}
	elapsed := time.Since(start)
	cpu := cpuTime() - cpu0
	b.StopTimer()
	runtime.ReadMemStats(&ms1)
	wait1, sites := loopWaits()
	sh1 := e.sharedTime()

	e.fold()
	if n := e.m.overload.Get(); n > 0 {
		b.Fatalf("%d records refused for max-concurrent-records: the benchmark outran its destination", n)
	}
	if n := e.m.repliedByRC[0].Get() - answered0; n != uint64(b.N) {
		b.Fatalf("%d of %d records answered 0", n, b.N)
	}
	writes, replies := e.replyWrites()
	n := float64(b.N)
	nsPer := float64(elapsed.Nanoseconds()) / n
	loopPer := nsPer * float64(len(sessions))
	waitPer := float64((wait1 - wait0).Nanoseconds()) / n
	b.ReportMetric(0, "ns/op") // ns/record says it, wall clock
	b.ReportMetric(nsPer, "ns/record")
	b.ReportMetric(n/elapsed.Seconds(), "records/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/n, "cpu-ns/record")
	b.ReportMetric(cpu.Seconds()/elapsed.Seconds(), "cores")
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/n, "allocs/record")
	b.ReportMetric(float64(replies)/float64(writes), "replies/write")
	// The timed sections' clock reads: what they put inside the sections
	// comes off the shared time, all they cost off the CPU.
	cpuTimed, wallTimed := float64(sh1.cpuTimed-sh0.cpuTimed), float64(sh1.wallTimed-sh0.wallTimed)
	sharedPer := max(float64(sh1.nanos-sh0.nanos)-cpuTimed*tc.cpuIn-wallTimed*tc.wallIn, 0) / n
	lutPer := max(float64(sh1.lutNanos-sh0.lutNanos)-wallTimed*tc.wallIn, 0) / n
	cpuPer := max(float64(cpu.Nanoseconds())-cpuTimed*tc.cpuAll-wallTimed*tc.wallAll, 1) / n
	serial := (sharedPer + waitPer) / cpuPer
	b.ReportMetric(waitPer, "lockwait-ns/record")
	// The share of the loops' time spent yielding until a worker settles a
	// full window: CPU the benchmark's client burns where gnet's loop would
	// sleep, in cpu-ns/record.
	b.ReportMetric(100*float64(waited.Load())/n/loopPer, "window-spin-%")
	b.ReportMetric(sharedPer, "shared-ns/record")
	if ordered {
		b.ReportMetric(lutPer, "lut-ns/record") // of shared-ns/record
	}
	b.ReportMetric(100*serial, "serial-%")
	b.ReportMetric(amdahl(serial, 16), "amdahl-16x")
	b.ReportMetric(amdahl(serial, 32), "amdahl-32x")
	if b.N > 10000 && testing.Verbose() {
		b.Logf("%d loops, %d records: shared sections per record %.4f timed by CPU, %.4f by wall clock (%+v ns); the loops blocked %.2f%% of their time (%.1f ns/record), at (since the process started): %s",
			len(sessions), b.N, cpuTimed/n, wallTimed/n, tc, 100*waitPer/loopPer, waitPer, sites)
	}
}

// amdahl is the speedup n loops give when a fraction s of the work is
// serial: 1 / (s + (1-s)/n).
func amdahl(s float64, n int) float64 { return 1 / (s + (1-s)/float64(n)) }

// timerCost is what timing an empty shared section costs, ns, with each
// clock: the time it puts inside the section (in) and all it costs (all).
type timerCost struct{ cpuIn, cpuAll, wallIn, wallAll float64 }

// sharedTimerCost measures timerCost: the medians of 15 rounds of 1000
// empty sections on a locked thread.
func sharedTimerCost() timerCost {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	sharedTiming.Store(true)
	defer sharedTiming.Store(false)
	med := func(v []float64) float64 { sort.Float64s(v); return v[len(v)/2] }
	var ci, ca, wi, wa []float64
	const k = 1000
	for range 15 {
		var lp loop
		t0 := threadCPU()
		for range k {
			lp.sharedEnd(sharedStart())
		}
		t1 := threadCPU()
		ci, ca = append(ci, float64(lp.sharedNanos)/k), append(ca, float64(t1-t0)/k)
		lp.sharedNanos = 0
		for range k {
			lp.lutEnd(lutStart())
		}
		wi, wa = append(wi, float64(lp.sharedNanos)/k), append(wa, float64(threadCPU()-t1)/k)
	}
	return timerCost{cpuIn: med(ci), cpuAll: med(ca), wallIn: med(wi), wallAll: med(wa)}
}

// BenchmarkRecordPathControl is the control of BenchmarkEngineRecordPath's
// scaling: the same frames decoded and framed (NDJSON of JSON) by
// b.RunParallel goroutines that share nothing but the read-only frames —
// each has its own message, framer and body, reused every 500 records (the
// engine's batch size). Its
// -cpu 2 ÷
// -cpu 1 records/s is what the machine gives two copies of the bulk of the
// record path's work: the ceiling of the engine's ratio, which also
// routes, batches, hands bodies over and answers. Reported like the
// engine's: ns/record, records/s, cpu-ns/record and cores.
func BenchmarkRecordPathControl(b *testing.B) {
	frames, _ := simFrames(b, 4096)
	var seed atomic.Int64
	cpu0 := cpuTime()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		var m wire.Message
		f := &encode.NDJSON{Enc: &encode.JSON{}}
		body := f.Begin(make([]byte, 0, 1<<20))
		nowUnix := time.Now().Unix()
		i := int(seed.Add(1)-1) * 1031
		for k := 1; pb.Next(); k++ {
			fr := frames[i%len(frames)]
			i++
			if err := m.Decode(fr[wire.HeaderSize:]); err != nil {
				panic(err)
			}
			var err error
			if body, err = f.Append(body, &m, nowUnix); err != nil {
				panic(err)
			}
			if k%500 == 0 || len(body) >= 1<<20 {
				body = f.Begin(f.End(body)[:0])
			}
		}
	})
	elapsed := time.Since(start)
	cpu := cpuTime() - cpu0
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(float64(elapsed.Nanoseconds())/n, "ns/record")
	b.ReportMetric(n/elapsed.Seconds(), "records/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/n, "cpu-ns/record")
	b.ReportMetric(cpu.Seconds()/elapsed.Seconds(), "cores")
}

// warmPools sends 8 bodies of records through a loop of e's own and waits
// for them to be answered, so that the pools hold the buffers of
// steady state.
func warmPools(e *Engine, frames [][]byte, types []byte) {
	s := e.newSession(e.newLoop())
	s.wake = func() {}
	for i := 0; i < 8*500; i += 16 {
		benchTraffic(s, frames, types, i, 16)
	}
	e.sealAll(true)
	for s.w.unanswered() > 0 {
		benchTraffic(s, nil, nil, 0, 0)
		runtime.Gosched()
	}
}

// benchTraffic is one OnTraffic of s (gnetHandler.serve): collect,
// consume the k frames from from on (cycling), one write of the replies
// unless they are held. It returns from+k.
func benchTraffic(s *session, frames [][]byte, types []byte, from, k int) int {
	s.lp.mu.Lock()
	s.flushMore()
	if k > 0 {
		for i := from; i < from+k; i++ {
			j := i % len(frames)
			if s.consume(frames[j], types[j]) != frameDone {
				panic("frame not consumed")
			}
		}
	}
	if out := s.flushMore(); len(out) > 0 && !s.hold() {
		s.lp.wrote(out)
		s.sent()
	}
	s.lp.mu.Unlock()
	return from + k
}

// simFrames returns n frames of xdrsim's default workload and their types.
func simFrames(tb testing.TB, n int) ([][]byte, []byte) {
	tb.Helper()
	frames, err := xdrsim.Frames(xdrsim.DefaultWorkload(), n, time.Now().UnixMilli())
	if err != nil {
		tb.Fatal(err)
	}
	types := make([]byte, n)
	for i, f := range frames {
		if _, typ, err := wire.Split(f, wire.DefaultMaxBody); err != nil {
			tb.Fatal(err)
		} else {
			types[i] = typ
		}
	}
	return frames, types
}

// benchEngine: one NDJSON/JSON profile with the batch defaults, one
// destination whose sender accepts every body at once.
func benchEngine(tb testing.TB, ordered bool) *Engine {
	d := newTestDestination(DestinationOptions{Name: "ok", Sender: okSender{}, MaxInFlight: 2})
	p := &Profile{
		NewFramer:  func() encode.Framer { return &encode.NDJSON{Enc: &encode.JSON{}} },
		NewEncoder: func() encode.Encoder { return &encode.JSON{} },
		Batching:   true, MaxRecords: 500, MaxBytes: 1 << 20, Interval: 50 * time.Millisecond,
		Ordering: ordered,
	}
	var ttl time.Duration
	if ordered {
		ttl = time.Minute
	}
	e, err := newTestEngine(Options{
		LUTCacheTTL: ttl,
		Listen:      []string{"unused"}, Profiles: []*Profile{p}, Destinations: []*Destination{d},
		Router: &StaticRouter{Profile: p, Dests: []*Destination{d}},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		tb.Fatal(err)
	}
	d.start()
	tb.Cleanup(d.stop)
	return e
}

// cpuTime is the process's user + system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loopWaits returns the time the benchmark's loop goroutines have been
// blocked so far (block profile records whose stack goes through
// benchRecordPath's RunParallel body), and where: the innermost dataplane
// function of the stack (else its innermost function).
func loopWaits() (time.Duration, string) {
	var buf bytes.Buffer
	pprof.Lookup("block").WriteTo(&buf, 1)
	var cps, total float64
	bySite := map[string]float64{}
	var cycles float64
	var fns []string
	record := func() {
		loop, site := false, ""
		for _, fn := range fns {
			if strings.Contains(fn, "benchRecordPath.func") {
				loop = true
			} else if site == "" && strings.Contains(fn, "dataplane.") {
				site = fn
			}
		}
		if loop {
			if site == "" {
				site = fns[0]
			}
			total += cycles
			bySite[site] += cycles
		}
		cycles, fns = 0, fns[:0]
	}
	for _, line := range strings.Split(buf.String(), "\n") {
		if v, ok := strings.CutPrefix(line, "cycles/second="); ok {
			cps, _ = strconv.ParseFloat(v, 64)
			continue
		}
		f := strings.Fields(line)
		switch {
		case len(f) >= 3 && f[2] == "@": // "cycles count @ pcs..."
			if len(fns) > 0 {
				record()
			}
			cycles, _ = strconv.ParseFloat(f[0], 64)
		case len(f) >= 3 && f[0] == "#": // "#	0x...	pkg.func+0x..	file:line"
			fn, _, _ := strings.Cut(f[2], "+0x")
			fns = append(fns, fn)
		}
	}
	if len(fns) > 0 {
		record()
	}
	if cps == 0 {
		return 0, ""
	}
	type where struct {
		name string
		ns   float64
	}
	var top []where
	for k, v := range bySite {
		top = append(top, where{k, v / cps * 1e9})
	}
	sort.Slice(top, func(i, j int) bool { return top[i].ns > top[j].ns })
	var sb strings.Builder
	for i, w := range top {
		if i == 5 {
			break
		}
		sb.WriteString(w.name + " " + time.Duration(w.ns).String() + "; ")
	}
	return time.Duration(total / cps * 1e9), sb.String()
}
