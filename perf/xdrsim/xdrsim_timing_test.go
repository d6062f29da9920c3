package xdrsim

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/xdrhook/xdrhook/pool"
	"github.com/xdrhook/xdrhook/wire"
)

// deadlineConn stands for the connection in the send-path benchmarks: the
// reader only sets deadlines on it.
type deadlineConn struct{ net.Conn }

func (deadlineConn) SetReadDeadline(time.Time) error { return nil }

// benchSim builds an emulator without connections, for driving one
// worker's send and settle path by hand.
func benchSim(b *testing.B, size, prebuilt int, compress float64) (*Sim, *worker) {
	b.Helper()
	w := DefaultWorkload()
	w.Size = size
	w.Compress = compress
	cfg := Config{Target: "bench", Window: 64, Workload: w, Prebuilt: prebuilt}
	if err := cfg.normalize(); err != nil {
		b.Fatal(err)
	}
	s := &Sim{cfg: cfg, ns: []string{w.Namespace}, start: time.Now(), tokens: 1}
	s.q.retry = make([]deque, retryLevels(cfg.RetryBackoff, cfg.MaxRetryBackoff))
	s.gen = newGenerator(cfg.Workload)
	s.estSize = size
	if prebuilt > 0 {
		s.prebuild(prebuilt)
	}
	s.initEndpoints()
	wk := newWorker(s, s.eps[0], 0)
	s.eps[0].workers = append(s.eps[0].workers, wk)
	wk.wbuf = pool.Get(cfg.MaxBatchBytes + 64<<10)
	b.Cleanup(func() { pool.Put(wk.wbuf) })
	return s, wk
}

// benchSendPath measures, per record, what one connection does: take a
// window's worth of records, build (or copy) their frames into the
// connection buffer, queue them in the window, write the buffer with one
// call (to a discarding writer), then read back a window of replies and
// settle them. All on one goroutine, so ns/op is the cost on one core.
func benchSendPath(b *testing.B, size, prebuilt int, compress float64) {
	s, w := benchSim(b, size, prebuilt, compress)
	replies := make([]byte, 0, s.cfg.Window*wire.ReplySize)
	for i := 0; i < s.cfg.Window; i++ {
		replies = wire.AppendReply(replies, 0)
	}
	conn := deadlineConn{}
	var bytes int64
	run := func(n int) {
		for done := 0; done < n; {
			now := s.now()
			w.fill(min(s.cfg.Window, n-done), now)
			for i := range w.batch {
				w.ring.push(&w.batch[i])
			}
			io.Discard.Write(w.wbuf.B)
			bytes += int64(len(w.wbuf.B))
			k := len(w.batch)
			if err := w.settle(conn, replies[:k*wire.ReplySize], nil); err != nil {
				b.Fatal(err)
			}
			done += k
		}
	}
	run(1000) // warm up
	bytes = 0
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	run(b.N)
	el := time.Since(start)
	b.StopTimer()
	b.SetBytes(bytes / int64(b.N))
	b.ReportMetric(float64(b.N)/el.Seconds(), "records/s")
	if s.c.settled.Load() < int64(b.N) {
		b.Fatalf("settled %d of %d", s.c.settled.Load(), b.N)
	}
}

func BenchmarkSendPrebuiltSmall(b *testing.B)   { benchSendPath(b, SizeSmall, 4096, 0) }
func BenchmarkSendPrebuiltTypical(b *testing.B) { benchSendPath(b, SizeTypical, 4096, 0) }
func BenchmarkSendGeneratedSmall(b *testing.B)  { benchSendPath(b, SizeSmall, 0, 0) }
func BenchmarkSendGeneratedTypical(b *testing.B) {
	benchSendPath(b, SizeTypical, 0, 0)
}

// Generating records: plan, stamp, digest, bins, frame.
func benchGenerate(b *testing.B, size int, compress float64) {
	w := DefaultWorkload()
	w.Size = size
	w.Compress = compress
	g := newTestGen(b, w)
	bl := newBuilder(g)
	buf := make([]byte, 0, 2*size+4096)
	nowMs := time.Now().UnixMilli()
	var total int64
	for i := 0; i < 100; i++ {
		it := item{seq: uint64(i)}
		buf = bl.appendItem(buf[:0], &it, nowMs)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		it := item{seq: uint64(i)}
		buf = bl.appendItem(buf[:0], &it, nowMs)
		total += int64(len(buf))
	}
	b.SetBytes(total / int64(b.N))
}

func BenchmarkGenerateSmall(b *testing.B)      { benchGenerate(b, SizeSmall, 0) }
func BenchmarkGenerateTypical(b *testing.B)    { benchGenerate(b, SizeTypical, 0) }
func BenchmarkGenerateLarge(b *testing.B)      { benchGenerate(b, SizeLarge, 0) }
func BenchmarkGenerateCompressed(b *testing.B) { benchGenerate(b, SizeTypical, 1) }

// benchLoopback runs the whole emulator over TCP loopback against a
// minimal connector that answers 0 to every frame. Both share the machine:
// records/s is end to end, not the send path alone.
func BenchmarkLoopbackPrebuiltSmall(b *testing.B)    { benchLoopback(b, SizeSmall, 4096) }
func BenchmarkLoopbackGeneratedTypical(b *testing.B) { benchLoopback(b, SizeTypical, 0) }

func benchLoopback(b *testing.B, size, prebuilt int) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go fastConnector(c)
		}
	}()
	w := DefaultWorkload()
	w.Size = size
	cfg := Config{Target: ln.Addr().String(), Conns: 2, Window: 256, Count: int64(b.N), Prebuilt: prebuilt, Workload: w}
	b.ReportAllocs()
	b.ResetTimer()
	sm, err := Run(context.Background(), cfg)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	if sm.Settled != int64(b.N) {
		b.Fatalf("settled %d of %d", sm.Settled, b.N)
	}
	b.ReportMetric(sm.SettledPerSecond, "records/s")
	b.ReportMetric(sm.Latency.P99Ms, "p99-ms")
}

// fastConnector answers 0 to every frame, coalescing replies per read.
func fastConnector(c net.Conn) {
	defer c.Close()
	in := make([]byte, 0, 1<<20)
	out := make([]byte, 0, 64<<10)
	tmp := make([]byte, 256<<10)
	for {
		n, err := c.Read(tmp)
		if err != nil {
			return
		}
		in = append(in, tmp[:n]...)
		out = out[:0]
		off := 0
		for {
			f, _, err := wire.Split(in[off:], wire.DefaultMaxBody)
			if err != nil {
				return
			}
			if f == nil {
				break
			}
			off += len(f)
			out = wire.AppendReply(out, 0)
		}
		in = in[:copy(in, in[off:])]
		if len(out) > 0 {
			if _, err := c.Write(out); err != nil {
				return
			}
		}
	}
}
