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
// replies/write, and the serial fraction: time goroutines spent waiting on
// a lock (mutex profile: every contended lock, shared ones included) per
// record, as a share of the CPU time per record (wall × loops ÷ records).
func BenchmarkEngineRecordPath(b *testing.B) {
	frames, types := simFrames(b, 4096)
	e := benchEngine(b)
	go e.tick()
	b.Cleanup(func() {
		close(e.stopping)
		<-e.tickDone
	})

	prev := runtime.SetMutexProfileFraction(1)
	defer runtime.SetMutexProfileFraction(prev)
	wait0, _ := mutexWait()
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)

	var mu sync.Mutex
	var sessions []*session
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
			for s.w != nil && s.w.unanswered() > window {
				benchTraffic(s, nil, nil, 0, 0)
				runtime.Gosched()
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
	b.StopTimer()
	runtime.ReadMemStats(&ms1)
	wait1, sites := mutexWait()

	e.fold()
	if n := e.m.overload.Get(); n > 0 {
		b.Fatalf("%d records refused for max-concurrent-records: the benchmark outran its destination", n)
	}
	if n := e.m.repliedByRC[0].Get(); n != uint64(b.N) {
		b.Fatalf("%d of %d records answered 0", n, b.N)
	}
	writes, replies := e.replyWrites()
	n := float64(b.N)
	nsPer := float64(elapsed.Nanoseconds()) / n
	cpuPer := nsPer * float64(len(sessions))
	waitPer := float64((wait1 - wait0).Nanoseconds()) / n
	b.ReportMetric(0, "ns/op") // ns/record says it, wall clock
	b.ReportMetric(nsPer, "ns/record")
	b.ReportMetric(n/elapsed.Seconds(), "records/s")
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/n, "allocs/record")
	b.ReportMetric(float64(replies)/float64(writes), "replies/write")
	b.ReportMetric(waitPer, "lockwait-ns/record")
	b.ReportMetric(100*waitPer/cpuPer, "serial-%")
	if b.N > 10000 && testing.Verbose() {
		b.Logf("%d loops, %d records; lock waits by site since the process started: %s", len(sessions), b.N, sites)
	}
}

// benchTraffic is one OnTraffic of s: flush, consume the k frames from
// from on (cycling), one write of the replies. It returns from+k.
func benchTraffic(s *session, frames [][]byte, types []byte, from, k int) int {
	s.lp.mu.Lock()
	s.flush()
	if k > 0 {
		for i := from; i < from+k; i++ {
			j := i % len(frames)
			if s.consume(frames[j], types[j]) != frameDone {
				panic("frame not consumed")
			}
		}
	}
	if out := s.flushMore(); len(out) > 0 {
		s.lp.wrote(out)
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
func benchEngine(tb testing.TB) *Engine {
	d := newTestDestination(DestinationOptions{Name: "ok", Sender: okSender{}, MaxInFlight: 2})
	p := &Profile{
		NewFramer:  func() encode.Framer { return &encode.NDJSON{Enc: &encode.JSON{}} },
		NewEncoder: func() encode.Encoder { return &encode.JSON{} },
		Batching:   true, MaxRecords: 500, MaxBytes: 1 << 20, Interval: 50 * time.Millisecond,
	}
	e, err := newTestEngine(Options{
		Listen: []string{"unused"}, Profiles: []*Profile{p}, Destinations: []*Destination{d},
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

// mutexWait returns the time goroutines have waited on contended locks
// (runtime and sync) so far, from the mutex profile, and the top sites.
func mutexWait() (time.Duration, string) {
	var buf bytes.Buffer
	pprof.Lookup("mutex").WriteTo(&buf, 1)
	var cps, total float64
	bySite := map[string]float64{}
	var cur float64
	for _, line := range strings.Split(buf.String(), "\n") {
		if v, ok := strings.CutPrefix(line, "cycles/second="); ok {
			cps, _ = strconv.ParseFloat(v, 64)
			continue
		}
		if f := strings.Fields(line); len(f) >= 3 && f[2] == "@" {
			cur, _ = strconv.ParseFloat(f[0], 64)
			total += cur
			continue
		}
		// "#	0x...	pkg.func+0x..	file:line": the first dataplane frame names the site.
		if f := strings.Fields(line); cur > 0 && len(f) >= 3 && f[0] == "#" && strings.Contains(f[2], "dataplane.") {
			bySite[f[2][:strings.LastIndex(f[2], "+")]] += cur
			cur = 0
		}
	}
	if cps == 0 {
		return 0, ""
	}
	type site struct {
		name string
		ns   float64
	}
	var top []site
	for k, v := range bySite {
		top = append(top, site{k, v / cps * 1e9})
	}
	sort.Slice(top, func(i, j int) bool { return top[i].ns > top[j].ns })
	var sb strings.Builder
	for i, s := range top {
		if i == 5 {
			break
		}
		sb.WriteString(s.name + " " + time.Duration(s.ns).String() + "; ")
	}
	return time.Duration(total / cps * 1e9), sb.String()
}
