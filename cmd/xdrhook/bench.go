package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/xdrhook/xdrhook/config"
	"github.com/xdrhook/xdrhook/perf/baseline"
	"github.com/xdrhook/xdrhook/perf/suite"
)

const benchUsage = `Usage:
  xdrhook bench [flags]                one end-to-end scenario: sim → run → sink, each its own process,
                                       xdrhook and then the naive baseline (see --connector)
  xdrhook bench suite [flags]          the whole perf suite (make perf): matrix, latency and scaling sweeps,
                                       report (REPORT.md, report.json, SVG charts)
  xdrhook bench baseline [flags]       the naive baseline connector alone (perf/baseline)
  xdrhook bench profiled-run --config FILE --cpuprofile F --memprofile F
                                       xdrhook run under the CPU and allocation profilers (written on SIGTERM)
`

// runBench is `xdrhook bench`: the perf suite and its helpers.
func runBench(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "suite":
			return runBenchSuite(args[1:], stdout, stderr)
		case "baseline":
			return runBaseline(args[1:], stdout, stderr)
		case "profiled-run":
			return runProfiled(args[1:], stdout, stderr)
		case "help", "-h", "--help":
			fmt.Fprint(stdout, benchUsage)
			fmt.Fprintln(stdout, "\nFlags of a single scenario:")
			benchFlags(stdout)
			return 0
		}
	}
	return runBenchOne(args, stdout, stderr)
}

type scenarioFlags struct {
	connector, format, proto, size string
	framing, writeOp, versioning   string
	dest                           string
	batch, conns, window           int
	rate                           float64
	warmup, measure                time.Duration
	asJSON                         bool
	profile, out                   string
}

func benchFlagSet(w io.Writer) (*flag.FlagSet, *scenarioFlags) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(w)
	f := &scenarioFlags{}
	fs.StringVar(&f.connector, "connector", "both", "xdrhook, baseline, or both (xdrhook, then the baseline, and the ratio)")
	fs.StringVar(&f.format, "format", "json", "json, flat-json, message-pack or avro (flat-json with --framing es-bulk)")
	fs.StringVar(&f.framing, "framing", "", "es-bulk: flat-json documents in Elasticsearch _bulk bodies, posted to a sink path ending /_bulk (xdrhook only; the baseline posts plain flat-json); empty: the format's default framing")
	fs.StringVar(&f.writeOp, "write-operation", "", "es-bulk write-operation: auto, index, create or update (default auto)")
	fs.StringVar(&f.versioning, "versioning", "", "es-bulk versioning: none or lut (default none)")
	fs.StringVar(&f.dest, "dest", "", "sigv4: every request signed (auth aws-sigv4, service lambda); s3: one object per batch, PUT and signed (xdrhook only); empty: a plain HTTP destination")
	fs.IntVar(&f.batch, "batch", 500, "records per request: 500 (batching on, max-records) or 1 (off); the baseline always sends 1")
	fs.StringVar(&f.proto, "proto", suite.HTTP1, "http1, http1-pipelined (xdrhook only), h2c, or h2 (over TLS, xdrhook only)")
	fs.StringVar(&f.size, "size", "typical", "record size: small (~150 B), typical (~1 KB), large (~64 KB)")
	fs.IntVar(&f.conns, "conns", suite.DefaultConns, "XDR connections")
	fs.IntVar(&f.window, "window", 0, "requests in flight per connection (0: the suite's rule, see perf/REPORT.md)")
	fs.Float64Var(&f.rate, "rate", 0, "offered records/s (0: as fast as the windows allow)")
	fs.DurationVar(&f.warmup, "warmup", time.Second, "run this long before measuring")
	fs.DurationVar(&f.measure, "measure", 2*time.Second, "the measurement window")
	fs.BoolVar(&f.asJSON, "json", false, "print the results as JSON on stdout")
	fs.StringVar(&f.profile, "profile", "", "write xdrhook's cpu.pprof and allocs.pprof into this directory")
	fs.StringVar(&f.out, "out", "perf/out", "logs and configs of the processes go here")
	return fs, f
}

func benchFlags(w io.Writer) {
	fs, _ := benchFlagSet(w)
	fs.PrintDefaults()
}

func runBenchOne(args []string, stdout, stderr io.Writer) int {
	fs, f := benchFlagSet(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), benchUsage)
		fmt.Fprintln(fs.Output(), "\nFlags of a single scenario:")
		fs.PrintDefaults()
	}
	if rc, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return rc
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "xdrhook bench: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	var conns []string
	switch f.connector {
	case "both":
		conns = []string{suite.Ours, suite.Baseline}
	case suite.Ours, suite.Baseline:
		conns = []string{f.connector}
	default:
		fmt.Fprintf(stderr, "xdrhook bench: --connector %q: want xdrhook, baseline or both\n", f.connector)
		return 2
	}
	var scenarios []suite.Scenario
	for _, c := range conns {
		s := suite.Scenario{Connector: c, Format: f.format, Batch: f.batch, Proto: f.proto, Size: f.size,
			Framing: f.framing, WriteOp: f.writeOp, Versioning: f.versioning, Dest: f.dest,
			Conns: f.conns, Window: f.window, Rate: f.rate, Warmup: f.warmup, Measure: f.measure}
		if f.framing == suite.ESBulk && !formatSet(fs) {
			s.Format = "flat-json" // es-bulk embeds flat-json documents
		}
		if c == suite.Baseline {
			s.Batch = 1 // the baseline sends one record per request
			if f.framing != "" && f.connector == "both" {
				// Nothing but plain messages: compared with the same format
				// posted one record per request, as in the suite's matrix.
				s.Framing, s.WriteOp, s.Versioning = "", "", ""
			}
		} else {
			s.Profile = f.profile
		}
		if err := s.Normalize(); err != nil {
			fmt.Fprintln(stderr, "xdrhook bench:", err)
			return 2
		}
		scenarios = append(scenarios, s)
	}
	bin, err := os.Executable()
	if err != nil {
		fmt.Fprintln(stderr, "xdrhook bench:", err)
		return 1
	}
	if err := os.MkdirAll(f.out, 0o755); err != nil {
		fmt.Fprintln(stderr, "xdrhook bench:", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	env := &suite.Env{Bin: bin, Dir: f.out}
	var results []suite.Result
	rc := 0
	for _, s := range scenarios {
		fmt.Fprintf(stderr, "xdrhook bench: %s %s (%d conns × window %d)...\n", s.Connector, s.Name(), s.Conns, s.Window)
		r := env.Run(ctx, s)
		results = append(results, r)
		if !r.OK {
			fmt.Fprintf(stderr, "  FAILED: %s\n", r.Error)
			rc = 1
			continue
		}
		fmt.Fprintf(stderr, "  %s\n", benchLine(&r))
		if r.Note != "" {
			fmt.Fprintf(stderr, "  note: %s\n", r.Note)
		}
	}
	if len(results) == 2 && results[0].OK && results[1].OK && results[1].RecordsPerSec > 0 {
		fmt.Fprintf(stderr, "  xdrhook / baseline: %.1f×\n", results[0].RecordsPerSec/results[1].RecordsPerSec)
	}
	if f.asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(results)
	}
	return rc
}

// formatSet reports whether --format was given.
func formatSet(fs *flag.FlagSet) bool {
	set := false
	fs.Visit(func(fl *flag.Flag) { set = set || fl.Name == "format" })
	return set
}

func benchLine(r *suite.Result) string {
	allocs := "n/a"
	if r.AllocsPerRecord >= 0 {
		allocs = fmt.Sprintf("%.3f", r.AllocsPerRecord)
	}
	line := fmt.Sprintf("%.0f records/s  %.1f MB/s in  %.1f MB/s out  latency p50 %.2f p99 %.2f p999 %.2f ms  %.2f CPU-s per M records  %s allocs/record  peak RSS %.0f MiB  cores: connector %.2f sim %.2f sink %.2f  connector waiting for a CPU %.2f",
		r.RecordsPerSec, r.MBPerSecIn, r.MBPerSecOut, r.Latency.P50, r.Latency.P99, r.Latency.P999,
		r.CPUSecPerMillion, allocs, r.PeakRSSMiB, r.Cores.Connector, r.Cores.Sim, r.Cores.Sink, r.Waiting.Connector)
	if r.RepliesPerWrite > 0 {
		line += fmt.Sprintf("  %.1f replies per write to XDR", r.RepliesPerWrite)
	}
	return line
}

func runBenchSuite(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench suite", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: xdrhook bench suite [flags]\n\nThe whole perf suite (make perf): matrix, latency and scaling sweeps, report.\n\nFlags:")
		fs.PrintDefaults()
	}
	var o suite.Options
	fs.StringVar(&o.OutDir, "out", "perf/out", "logs, configs and profiles")
	fs.StringVar(&o.ReportDir, "report", "", "REPORT.md, report.json and the SVG charts (default: --out)")
	fs.StringVar(&o.Micro, "micro", "", "`go test -bench -benchmem` output to summarize in the report")
	fs.StringVar(&o.Command, "command", "", "the command line to print in the report (default: this one)")
	fs.BoolVar(&o.Quick, "quick", false, "a few short scenarios (CI)")
	fs.BoolVar(&o.Profile, "profile", false, "profile xdrhook in the heaviest scenario (cpu.pprof, allocs.pprof under --out/profile)")
	fs.StringVar(&o.Only, "only", "", "regexp: only the matrix scenarios whose name or key matches; skips the sweeps")
	fs.DurationVar(&o.Warmup, "warmup", 0, "warm-up of every scenario (0: 1s, --quick 0.5s)")
	fs.DurationVar(&o.Measure, "measure", 0, "measurement window of every scenario (0: 2s, --quick 1s)")
	rerender := fs.String("rerender", "", "run nothing: write the report again from this report.json into --report")
	if rc, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return rc
	}
	if *rerender != "" {
		dir := o.ReportDir
		if dir == "" {
			dir = o.OutDir
		}
		if _, err := suite.Rerender(*rerender, dir); err != nil {
			fmt.Fprintln(stderr, "xdrhook bench suite:", err)
			return 1
		}
		return 0
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "xdrhook bench suite: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if o.Command == "" {
		o.Command = "xdrhook bench suite " + strings.Join(args, " ")
	}
	o.Progress = stderr
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	rep, err := suite.Run(ctx, o)
	dir := o.ReportDir
	if dir == "" {
		dir = o.OutDir
	}
	if rep != nil {
		fmt.Fprintf(stderr, "\nxdrhook bench suite: %d runs in %s; report: %s/REPORT.md\n", len(rep.Matrix)+len(rep.LatencySweep)+len(rep.Scaling),
			time.Since(start).Round(time.Second), dir)
		for _, t := range rep.Targets {
			fmt.Fprintf(stderr, "  %-70s %-7s %s\n", t.Name, t.Status, t.Got)
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "\nxdrhook bench suite: FAILED:\n%v\n", err)
		return 1
	}
	return 0
}

// runBaseline serves the naive baseline connector until SIGINT/SIGTERM.
func runBaseline(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench baseline", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: xdrhook bench baseline --url URL [flags]\n\nThe naive baseline connector alone (perf/baseline), until SIGINT/SIGTERM.\n\nFlags:")
		fs.PrintDefaults()
	}
	var cfg baseline.Config
	fs.StringVar(&cfg.Listen, "listen", "127.0.0.1:8901", "XDR listener")
	fs.StringVar(&cfg.Manage, "manage", "127.0.0.1:8902", "manage listener: /healthz, /readyz, /metrics")
	fs.StringVar(&cfg.URL, "url", "", "destination URL (required)")
	fs.StringVar(&cfg.Format, "format", "json", "json, flat-json, message-pack or avro")
	fs.BoolVar(&cfg.HTTP2, "h2c", false, "HTTP/2 with prior knowledge (h2c) instead of HTTP/1.1")
	fs.DurationVar(&cfg.Timeout, "timeout", 5*time.Second, "request timeout")
	if rc, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return rc
	}
	if cfg.URL == "" {
		fmt.Fprintln(stderr, "xdrhook bench baseline: --url is required")
		return 2
	}
	s, err := baseline.Start(cfg)
	if err != nil {
		fmt.Fprintln(stderr, "xdrhook bench baseline:", err)
		return 1
	}
	fmt.Fprintf(stderr, "xdrhook bench baseline: listening on %s (manage %s), %s to %s\n", s.Addr(), s.ManageAddr(), cfg.Format, cfg.URL)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	s.Close()
	fmt.Fprintf(stderr, "xdrhook bench baseline: stopped; %d records delivered\n", s.Delivered())
	return 0
}

// runProfiled is `xdrhook run` under the profilers: the same serve path,
// with runtime/pprof around it, so the perf suite can profile the
// connector as a process without a profiling endpoint in the daemon. With
// --window-signals the CPU profile covers SIGUSR1 … SIGUSR2 (the suite's
// measurement window) and the allocation profile is written at both, so
// `go tool pprof -base` gives the window's allocations; without it, the
// whole run until SIGTERM.
func runProfiled(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench profiled-run", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: xdrhook bench profiled-run --config FILE [flags]\n\nxdrhook run under the CPU and allocation profilers (written on SIGTERM).\n\nFlags:")
		fs.PrintDefaults()
	}
	path := fs.String("config", "", "the YAML configuration file")
	cpuFile := fs.String("cpuprofile", "cpu.pprof", "CPU profile")
	memFile := fs.String("memprofile", "allocs.pprof", "allocation profile (cumulative since start; with --window-signals also FILE.base at SIGUSR1)")
	windowed := fs.Bool("window-signals", false, "profile CPU from SIGUSR1 to SIGUSR2 only")
	memRate := fs.Int("memprofilerate", 16<<10, "runtime.MemProfileRate: one sample per this many bytes allocated")
	if rc, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return rc
	}
	runtime.MemProfileRate = *memRate
	if *path == "" {
		fmt.Fprintln(stderr, "xdrhook bench profiled-run: --config FILE is required")
		return 2
	}
	cfg, err := config.Load(*path, config.Options{})
	if err != nil {
		fmt.Fprintf(stderr, "xdrhook bench profiled-run: %v\n", err)
		return 2
	}
	log := newLogger(stderr, cfg.Logging)
	fail := func(err error) int {
		fmt.Fprintln(stderr, "xdrhook bench profiled-run:", err)
		return 1
	}
	cf, err := os.Create(*cpuFile)
	if err != nil {
		return fail(err)
	}
	defer cf.Close()
	writeAllocs := func(name string) error {
		f, err := os.Create(name)
		if err != nil {
			return err
		}
		defer f.Close()
		runtime.GC()
		return pprof.Lookup("allocs").WriteTo(f, 0)
	}

	var mu sync.Mutex
	profiling, done := false, false
	startCPU := func() error {
		mu.Lock()
		defer mu.Unlock()
		if profiling || done {
			return nil
		}
		profiling = true
		return pprof.StartCPUProfile(cf)
	}
	stopCPU := func() {
		mu.Lock()
		defer mu.Unlock()
		if profiling {
			pprof.StopCPUProfile()
			profiling, done = false, true
		}
	}
	if *windowed {
		usr := make(chan os.Signal, 2)
		signal.Notify(usr, syscall.SIGUSR1, syscall.SIGUSR2)
		defer signal.Stop(usr)
		go func() {
			for sig := range usr {
				if sig == syscall.SIGUSR1 {
					if err := writeAllocs(*memFile + ".base"); err != nil {
						log.Error("allocation profile", "err", err)
					}
					if err := startCPU(); err != nil {
						log.Error("CPU profile", "err", err)
					}
					continue
				}
				stopCPU()
				if err := writeAllocs(*memFile); err != nil {
					log.Error("allocation profile", "err", err)
				}
			}
		}()
	} else if err := startCPU(); err != nil {
		return fail(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	serveErr := serve(ctx, cfg, log, nil)
	mu.Lock()
	wrote := done
	mu.Unlock()
	stopCPU()
	rc := 0
	if serveErr != nil {
		log.Error("xdrhook stopped", "err", serveErr)
		rc = 1
	}
	if !*windowed || !wrote {
		if err := writeAllocs(*memFile); err != nil {
			return fail(err)
		}
	}
	return rc
}
