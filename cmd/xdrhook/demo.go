package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/xdrhook/xdrhook/config"
	"github.com/xdrhook/xdrhook/dataplane"
	"github.com/xdrhook/xdrhook/perf/sink"
	"github.com/xdrhook/xdrhook/perf/xdrsim"
)

// demoConfig is the connector's configuration in the demo: an ordinary
// config file, so what the demo shows is what `xdrhook run` does.
const demoConfig = `
service:
  port: %[1]d
  address: 127.0.0.1
  manage: {port: %[2]d}
destinations:
  sink: {urls: ["%[3]s/ingest"], protocol: %[4]s}
routing: {mode: static, destination: sink}
format: {mode: %[5]s}
batching: {enabled: %[6]t, max-records: 500, batch-interval: 50}
logging: {level: warn}
`

// runDemo is the embedded demo: an XDR emulator, the connector and a
// checking HTTP sink in one process, with live progress.
func runDemo(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: xdrhook demo [flags]\n\nAn XDR emulator, the connector and a checking HTTP sink in one process, with a line per second.\n\nFlags:")
		fs.PrintDefaults()
	}
	rate := fs.Float64("rate", 5000, "records per second the emulator offers (0: as fast as possible)")
	dur := fs.Duration("duration", 0, "stop after this long (default: run until Ctrl-C)")
	format := fs.String("format", "json", "json | flat-json | message-pack | avro")
	proto := fs.String("protocol", "HTTP_1_1", "HTTP_1_1 | HTTP_2 (h2c)")
	batching := fs.Bool("batching", true, "batch records (500 per request, 50 ms); false: one record per request")
	if rc, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return rc
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if *dur > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *dur)
		defer cancel()
	}
	if err := demo(ctx, stdout, *rate, *format, *proto, *batching); err != nil {
		fmt.Fprintln(stderr, "xdrhook demo:", err)
		return 1
	}
	return 0
}

// firstMessage keeps the first message the sink stores, to show it.
type firstMessage struct {
	mu   sync.Mutex
	line []byte
}

func (f *firstMessage) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.line == nil {
		if i := bytes.IndexByte(p, '\n'); i >= 0 {
			f.line = bytes.Clone(p[:i])
		}
	}
	return len(p), nil
}

func freeLocalPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// progressLine makes the demo's line per second: what happened since the
// previous line — records offered and delivered, the reply latency of the
// replies received in that second — and the running totals.
type progressLine struct {
	sent, delivered int64
	lat             xdrsim.HistSnapshot // cumulative, at the previous line
}

// next formats the line for the cumulative counters s, st and latencies h.
func (p *progressLine) next(s xdrsim.Summary, st sink.Stats, inFlight int64, h *xdrsim.HistSnapshot) string {
	d := *h
	d.Sub(&p.lat)
	line := fmt.Sprintf("%6.0fs  offered %7d/s  delivered %7d/s  in flight %5d  retries %d  reply p50 %.1f ms p99 %.1f ms  sink: %d records, %d invalid",
		s.ElapsedSeconds, s.Sent-p.sent, st.Records-p.delivered, inFlight, s.Retries,
		msOf(d.Quantile(0.5)), msOf(d.Quantile(0.99)), st.Records, st.Invalid)
	p.sent, p.delivered, p.lat = s.Sent, st.Records, *h
	return line
}

func msOf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func demo(ctx context.Context, out io.Writer, rate float64, format, proto string, batching bool) error {
	first := &firstMessage{}
	sk, err := sink.New(sink.Config{StoreW: first, StoreRaw: true})
	if err != nil {
		return err
	}
	if err := sk.Start(); err != nil {
		return err
	}
	defer sk.Close()
	xdrPort, err := freeLocalPort()
	if err != nil {
		return err
	}
	managePort, err := freeLocalPort()
	if err != nil {
		return err
	}
	yml := fmt.Sprintf(demoConfig, xdrPort, managePort, sk.URL(), proto, format, batching)
	cfg, err := config.Parse("demo.yml", []byte(yml), config.Options{})
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: slog.LevelWarn}))
	started := make(chan *dataplane.Engine, 1)
	srvCtx, stopServe := context.WithCancel(context.Background())
	defer stopServe()
	served := make(chan error, 1)
	go func() { served <- serve(srvCtx, cfg, log, started) }()
	var eng *dataplane.Engine
	select {
	case eng = <-started:
	case err := <-served:
		return err
	}

	fmt.Fprintf(out, "xdrhook demo: XDR emulator → xdrhook (127.0.0.1:%d, %s, %s, batching %t) → sink (%s)\n",
		xdrPort, format, proto, batching, sk.URL())
	fmt.Fprintf(out, "metrics: http://127.0.0.1:%d/metrics   stop: Ctrl-C\n\n", managePort)
	// The emulator has its own context: on Ctrl-C it stops making records
	// and lets the outstanding ones settle, as XDR would on a clean stop.
	sim, err := xdrsim.Start(context.Background(), xdrsim.Config{
		Target: "127.0.0.1:" + strconv.Itoa(xdrPort), Conns: 4, Window: 128, Rate: rate,
		Workload: xdrsim.DefaultWorkload(), HealthInterval: 5 * time.Second,
		KeepSettled: 5_000_000, DrainTimeout: 15 * time.Second,
	})
	if err != nil {
		return err
	}
	tick := time.NewTicker(time.Second)
	var pl progressLine
	for running := true; running; {
		select {
		case <-ctx.Done():
			running = false
		case <-tick.C:
			var h xdrsim.HistSnapshot
			sim.Latency(&h)
			fmt.Fprintln(out, pl.next(sim.Snapshot(), sk.Stats(), eng.InFlight(), &h))
		}
	}
	tick.Stop()
	fmt.Fprintln(out, "stopping: letting every record in flight settle…")
	sim.Finish()
	sum := sim.Wait()
	stopServe()
	if err := <-served; err != nil {
		return err
	}
	v := xdrsim.Verify(&sum, sk.IDs())
	st := sk.Stats()
	fmt.Fprintf(out, "\nsummary: %d records offered, %d answered 0, %d abandoned, %d retried; sink received %d messages (%d invalid); every answered record delivered: %t (missing %d, duplicates %d); reply latency p50 %.2f ms p99 %.2f ms\n",
		sum.Generated, sum.Settled, sum.Abandoned, sum.Retries, st.Records, st.Invalid, v.OK(), v.Missing, v.Duplicates, sum.Latency.P50Ms, sum.Latency.P99Ms)
	first.mu.Lock()
	line := first.line
	first.mu.Unlock()
	if line != nil {
		var sl struct {
			Raw json.RawMessage `json:"raw"`
		}
		if json.Unmarshal(line, &sl) == nil && len(sl.Raw) > 0 {
			fmt.Fprintf(out, "a message as the sink received it:\n  %s\n", strings.TrimSpace(string(sl.Raw)))
		}
	}
	if !v.OK() || st.Invalid > 0 {
		return fmt.Errorf("%d records lost, %d invalid bodies", v.Missing, st.Invalid)
	}
	return nil
}
