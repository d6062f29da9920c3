package suite

import (
	"context"
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/xdrhook/xdrhook/config"
	"github.com/xdrhook/xdrhook/perf/harness"
)

const microText = `goos: linux
goarch: amd64
pkg: github.com/xdrhook/xdrhook/wire
cpu: AMD EPYC
BenchmarkDecodeTypical-2   	 9319394	       126.0 ns/op	3251.30 MB/s	       0 B/op	       0 allocs/op
BenchmarkDecodeTypical-2   	 9319394	       130.0 ns/op	3151.30 MB/s	       0 B/op	       0 allocs/op
BenchmarkDecodeTypical-2   	 3319394	       400.0 ns/op	1000.00 MB/s	       0 B/op	       0 allocs/op
PASS
ok  	github.com/xdrhook/xdrhook/wire	2.1s
pkg: github.com/xdrhook/xdrhook/encode
BenchmarkJSONFramings/ndjson-2         	  100000	       600 ns/op	      16 B/op	       1 allocs/op
BenchmarkJSON-2         	 2000000	       517.5 ns/op	       0 B/op	       0 allocs/op
BenchmarkSimJSON-2         	 500000	       2182 ns/op	 654.36 MB/s	       0 B/op	       0 allocs/op
`

// microScalingText is the record-path scaling step's output: -cpu 1,2,
// custom units, ns/op hidden, two passes.
const microScalingText = `pkg: github.com/xdrhook/xdrhook/dataplane
BenchmarkEngineRecordPath   	  100000	      3400 cpu-ns/record	         0.99 cores	     10000 ns/record	    100000 records/s	         0.40 serial-%
BenchmarkEngineRecordPath-2 	  150000	      3600 cpu-ns/record	         1.80 cores	      6667 ns/record	    150000 records/s	         0.50 serial-%
BenchmarkRecordPathControl   	  200000	      3000 cpu-ns/record	         1.00 cores	      5000 ns/record	    200000 records/s
BenchmarkRecordPathControl-2 	  320000	      3600 cpu-ns/record	         1.70 cores	      3125 ns/record	    320000 records/s
BenchmarkEngineRecordPath   	  100000	      3500 cpu-ns/record	         0.50 cores	     20000 ns/record	     50000 records/s	         0.80 serial-%
BenchmarkEngineRecordPath   	  100000	      3300 cpu-ns/record	         1.00 cores	      9000 ns/record	    110000 records/s	         0.30 serial-%
ok  	github.com/xdrhook/xdrhook/dataplane	12.1s
`

func TestParseMicroMetrics(t *testing.T) {
	ms, err := ParseMicro(strings.NewReader(microScalingText))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 4 {
		t.Fatalf("got %d benchmarks: %+v", len(ms), ms)
	}
	one, two := findMicroProcs(ms, "dataplane", "EngineRecordPath", 1), findMicroProcs(ms, "dataplane", "EngineRecordPath", 2)
	if one == nil || two == nil {
		t.Fatalf("EngineRecordPath at -cpu 1 and 2: %+v", ms)
	}
	// The median of three runs at -cpu 1; the -cpu 2 run apart.
	if one.Runs != 3 || one.Metrics["records/s"] != 100000 || one.Metrics["serial-%"] != 0.4 || one.Metrics["cores"] != 0.99 || one.NsPerOp != 0 {
		t.Errorf("-cpu 1: %+v", one)
	}
	if two.Runs != 1 || two.Procs != 2 || two.Metrics["records/s"] != 150000 {
		t.Errorf("-cpu 2: %+v", two)
	}
	ts := scalingTargets(ms)
	if ts[0].Status != "missed" || ts[0].Value != 1.5 || ts[1].Status != "met" || ts[1].Value != 0.5 {
		t.Errorf("scaling targets: %+v", ts)
	}
	// Not run: n/a, no figure.
	for _, tg := range scalingTargets(nil) {
		if tg.Status != "n/a" || tg.Got != "not run" {
			t.Errorf("without the benchmarks: %+v", tg)
		}
	}
	// Met, and a serial fraction over the goal.
	ms[1].Metrics["records/s"], ms[1].Metrics["serial-%"] = 190000, 3.25
	ts = scalingTargets(ms)
	if ts[0].Status != "met" || ts[0].Gap != "" || ts[1].Status != "missed" || ts[1].Gap != "1.2 points over" {
		t.Errorf("scaling targets: %+v", ts)
	}
	if a := amdahl(0.02, 16); a < 12.30 || a > 12.31 {
		t.Errorf("amdahl(2%%, 16) = %v, want 12.31", a)
	}
}

func TestParseMicro(t *testing.T) {
	ms, err := ParseMicro(strings.NewReader(microText))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 4 {
		t.Fatalf("got %d benchmarks: %+v", len(ms), ms)
	}
	d := findMicro(ms, "wire", "DecodeTypical")
	if d == nil || d.NsPerOp != 130 || d.MBPerSec != 3151.30 || d.AllocsPerOp != 0 || d.Runs != 3 {
		t.Errorf("DecodeTypical (median of three): %+v", d)
	}
	f := findMicro(ms, "encode", "JSONFramings/ndjson")
	if f == nil || f.BytesPerOp != 16 || f.AllocsPerOp != 1 {
		t.Errorf("sub-benchmark: %+v", f)
	}
	if got := microSim(ms); got != "2182 ns per record (encode.SimJSON)" {
		t.Errorf("microSim: %q", got)
	}
	if got := microSim(ms[:1]); !strings.Contains(got, "not measured") {
		t.Errorf("microSim without the benchmark: %q", got)
	}
	bs := budgets(ms)
	if bs[0].Status != "met" || bs[1].Status != "missed" || bs[2].Status != "n/a" {
		t.Errorf("budgets: %+v", bs)
	}
}

const pprofText = `File: xdrhook
Type: cpu
Duration: 4.16s, Total samples = 1.32s (31.70%)
Showing nodes accounting for 1.17s, 88.64% of 1.32s total
      flat  flat%   sum%        cum   cum%
     0.73s 55.30% 55.30%      0.73s 55.30%  internal/runtime/syscall/linux.Syscall6
     0.04s  3.03% 58.33%      0.04s  3.03%  runtime.memmove
     0.03s  2.27% 60.61%      0.03s  2.27%  github.com/valyala/fasthttp.caseInsensitiveCompare (inline)
     0.02s  1.52% 62.12%      0.04s  3.03%  github.com/xdrhook/xdrhook/encode.jsonAppendString
     0.02s  1.52% 63.64%      0.02s  1.52%  github.com/xdrhook/xdrhook/wire.(*CDTReader).read
         0     0%     0%      0.74s 56.06%  github.com/xdrhook/xdrhook/dataplane.(*Destination).worker
`

func TestParsePprofTop(t *testing.T) {
	total, lines := parsePprofTop(pprofText)
	if !strings.HasPrefix(total, "Duration: 4.16s") {
		t.Errorf("total %q", total)
	}
	if len(lines) != 6 || lines[0].FlatPct != 55.30 || lines[2].Function != "github.com/valyala/fasthttp.caseInsensitiveCompare (inline)" {
		t.Fatalf("lines %+v", lines)
	}
	sh := shares(lines)
	if sh[0].Area != "system calls (network I/O, polling, wake-ups)" || sh[0].Pct != 55.30 {
		t.Errorf("shares %+v", sh)
	}
	pr := &ProfileInfo{Shares: sh, CPUTop: lines}
	if got := pr.share("encode") + pr.share("wire"); got < 3 || got > 3.1 {
		t.Errorf("encode+wire share %v", got)
	}
	if h := pr.hot(2, "github.com/xdrhook/xdrhook/encode", "github.com/xdrhook/xdrhook/wire"); h != "encode.jsonAppendString (1.5%), wire.(*CDTReader).read (1.5%)" {
		t.Errorf("hot %q", h)
	}
}

func TestMetricValue(t *testing.T) {
	text := []byte("go_memstats_mallocs_total 5917\nxdrhook_records_settled_total{outcome=\"skipped\"} 3\ngo_memstats_mallocs_total_x 1")
	if v, ok := metricValue(text, "go_memstats_mallocs_total"); !ok || v != 5917 {
		t.Errorf("mallocs %v %v", v, ok)
	}
	if _, ok := metricValue(text, "go_memstats_frees_total"); ok {
		t.Error("absent series found")
	}
}

func TestNormalize(t *testing.T) {
	s := Scenario{}
	if err := s.Normalize(); err != nil {
		t.Fatal(err)
	}
	if s.Connector != Ours || s.Format != "json" || s.Batch != 500 || s.Proto != HTTP1 || s.Size != "typical" || s.Conns*s.Window != 8192 {
		t.Errorf("defaults %+v", s)
	}
	l := Scenario{Batch: 1, Size: "large"}
	l.Normalize()
	if l.Conns*l.Window != 128 {
		t.Errorf("large, one per request: %d × %d", l.Conns, l.Window)
	}
	for _, bad := range []Scenario{{Format: "xml"}, {Proto: "h3"}, {Size: "huge"}, {Connector: "other"}} {
		if bad.Normalize() == nil {
			t.Errorf("no error for %+v", bad)
		}
	}
	cfg := ConnectorConfig(&Scenario{Format: "avro", Batch: 1, Proto: H2C}, 1, 2, "http://x/in")
	if !strings.Contains(cfg, "protocol: HTTP_2") || strings.Contains(cfg, "batching") || !strings.Contains(cfg, "mode: avro") {
		t.Errorf("config:\n%s", cfg)
	}
}

func TestESBulkScenario(t *testing.T) {
	ss := ESBulkScenarios()
	for _, s := range ss {
		if err := s.Normalize(); err != nil {
			t.Fatalf("%+v: %v", s, err)
		}
	}
	plain, auto := ss[0], ss[1]
	plain.Normalize()
	auto.Normalize()
	if got := auto.Name(); got != "flat-json es-bulk (auto, versioning lut) · batch 500 · HTTP/1.1 · typical" {
		t.Errorf("name %q", got)
	}
	if plain.Key() == auto.Key() || !strings.Contains(auto.Key(), "-flat-json-esbulk-auto-lut-") {
		t.Errorf("keys %q %q", plain.Key(), auto.Key())
	}
	if sinkPath(&auto) != "/in/_bulk" || sinkPath(&Headline) != "/in" {
		t.Error("sink path")
	}
	cfg := ConnectorConfig(&auto, 1, 2, "http://x/in/_bulk")
	if !strings.Contains(cfg, "format: {mode: flat-json, framing: es-bulk, write-operation: auto, versioning: lut}") {
		t.Errorf("config:\n%s", cfg)
	}
	d := Scenario{Format: "flat-json", Framing: ESBulk}
	if err := d.Normalize(); err != nil || d.WriteOp != "auto" || d.Versioning != "none" {
		t.Errorf("es-bulk defaults %+v %v", d, err)
	}
	for _, bad := range []Scenario{
		{Format: "flat-json", Framing: "splunk-hec"},
		{Format: "json", Framing: ESBulk},
		{Format: "flat-json", Framing: ESBulk, WriteOp: "upsert"},
		{Format: "flat-json", Framing: ESBulk, Versioning: "internal"},
		{Format: "flat-json", WriteOp: "index"},
		{Connector: Baseline, Format: "flat-json", Framing: ESBulk},
	} {
		if bad.Normalize() == nil {
			t.Errorf("no error for %+v", bad)
		}
	}

	// The matrix: both rows next to flat-json, one in QUICK.
	count := func(ms []Scenario) (n int) {
		for _, s := range ms {
			if s.Framing != "" {
				n++
			}
		}
		return n
	}
	if n := count((&Options{}).matrix()); n != 2 {
		t.Errorf("full matrix: %d es-bulk rows", n)
	}
	if n := count((&Options{Quick: true}).matrix()); n != 1 {
		t.Errorf("quick matrix: %d es-bulk rows", n)
	}

	// findResult tells the rows apart; the comparison is with the flat-json baseline.
	fj := Scenario{Connector: Ours, Format: "flat-json", Batch: 500, Proto: HTTP1, Size: "typical"}
	bl := fj
	bl.Connector, bl.Batch = Baseline, 1
	var rs []Result
	for i, s := range []Scenario{fj, bl, plain, auto} {
		s.Normalize()
		rs = append(rs, Result{Scenario: s, Name: s.Name(), OK: true, RecordsPerSec: float64(1000 * (i + 1)), CPUSecPerMillion: float64(i + 1)})
	}
	if r := findResult(rs, fj); r == nil || r.Framing != "" {
		t.Errorf("flat-json row: %+v", r)
	}
	if r := findResult(rs, auto); r == nil || r.WriteOp != "auto" {
		t.Errorf("auto row: %+v", r)
	}
	cs := compare(rs)
	if len(cs) != 3 || cs[2].Baseline != 2000 || cs[2].Name != auto.Name() {
		t.Errorf("comparisons %+v", cs)
	}
}

func TestMetricSum(t *testing.T) {
	text := []byte("xdrhook_es_unversioned_updates_total{destination=\"a\"} 3\nxdrhook_es_unversioned_updates_total{destination=\"b,}\"} 4\nxdrhook_es_unversioned_updates_total_x 100\n")
	if v, ok := metricSum(text, "xdrhook_es_unversioned_updates_total"); !ok || v != 7 {
		t.Errorf("sum %v %v", v, ok)
	}
	if _, ok := metricSum(text, "xdrhook_es_unversioned"); ok {
		t.Error("a prefix matched")
	}
	if v, ok := metricSum([]byte("go_x 2\n"), "go_x"); !ok || v != 2 {
		t.Errorf("unlabelled %v %v", v, ok)
	}
}

// fakeReport has a figure in every section.
func fakeReport() *Report {
	ok := func(s Scenario, rate float64) Result {
		s.Normalize()
		return Result{Scenario: s, Name: s.Name(), OK: true, RecordsPerSec: rate, MBPerSecIn: rate / 1000, CPUSecPerMillion: 2e6 / rate,
			AllocsPerRecord: 0.01, PeakRSSMiB: 30, Cores: Cores{0.8, 0.1, 0.5}, Latency: Latency{P50: 20, P99: 60, P999: 80}}
	}
	rep := &Report{Machine: ReadMachine(), Command: "make perf", Started: time.Now(), WarmupSeconds: 1, MeasureSeconds: 2}
	rep.Micro, _ = ParseMicro(strings.NewReader(microText + microScalingText))
	single, h2 := Headline, Headline
	single.Batch, h2.Proto = 1, H2C
	bl := Headline
	bl.Connector, bl.Batch = Baseline, 1
	blh2 := bl
	blh2.Proto = H2C
	rep.Matrix = []Result{ok(Headline, 170000), ok(single, 11000), ok(bl, 8000), ok(h2, 150000), ok(blh2, 4000)}
	failed := Result{Scenario: Scenario{Connector: Ours, Format: "avro", Batch: 500, Proto: HTTP1, Size: "large", Conns: 8, Window: 16},
		Name: "avro · batch 500 · HTTP/1.1 · large", Error: "records lost | something"}
	rep.Matrix = append(rep.Matrix, failed)
	for i, s := range ESBulkScenarios() {
		r := ok(s, 160000-float64(i)*10000)
		r.ESUpdateShare = 0.12 * float64(i)
		rep.Matrix = append(rep.Matrix, r)
	}
	rep.Failures = []string{"xdrhook " + failed.Name + ": " + failed.Error}
	rep.Comparisons = compare(rep.Matrix)
	for _, pct := range []int{10, 50, 100} {
		s := Headline
		s.Rate = 1700 * float64(pct)
		rep.LatencySweep = append(rep.LatencySweep, SweepPoint{Connector: Ours, PercentOfPeak: pct, Offered: s.Rate, Result: ok(s, s.Rate)})
	}
	for _, c := range []int{1, 16, 256} {
		s := Headline
		s.Conns, s.Window = c, 8192/c
		rep.Scaling = append(rep.Scaling, ok(s, float64(100000+c*100)))
		b := bl
		b.Conns, b.Window = c, max(1, 512/c)
		rep.Scaling = append(rep.Scaling, ok(b, float64(3000+c*20)))
	}
	_, lines := parsePprofTop(pprofText)
	rep.Profiles = []*ProfileInfo{{Scenario: single.Name(), Result: ok(single, 11000), CPUTop: lines, Shares: shares(lines), CPUTotal: "Duration: 2s"},
		{Scenario: Headline.Name(), Error: "the profiled run failed"}}
	rep.Targets = targets(rep)
	rep.Budgets = microTargets(rep.Micro)
	return rep
}

func TestReport(t *testing.T) {
	rep := fakeReport()
	md := rep.Markdown()
	for _, want := range []string{
		"# xdrhook performance report", "**Machine:**", "`make perf`", "## FAILURES", "## Targets",
		"| batched json, HTTP/1.1 (typical ~1 KB records) | ≥ 1.00M records/s | 170k records/s | missed: 83% short",
		"| batched json vs the baseline, HTTP/1.1 (typical) | ≥ 10× | 21.2× (170k vs 8.0k records/s) | met |",
		"## Where the time goes", "### Profile: json · 1 per request", "System calls dominate", "Not available: the profiled run failed",
		"## xdrhook vs the baseline", "![throughput](throughput.svg)", "| json · batch 500 · HTTP/1.1 · typical | 170,000 | 8,000 | 21.2× |",
		"FAILED: records lost / something", "## Latency under load", "## Scaling with XDR connections", "## Microbenchmarks", "| allocs/op | runs |", "| wire | DecodeTypical | 130 | 3151.3 | 0 | 0 | 3 |", "## Method",
		"### es-bulk: write-operation auto + versioning lut", "10% partial writes, 2% metadata-only writes, 5% deletes",
		"12.0% of the records delivered were update actions",
		"| BenchmarkEngineRecordPath records/s, -cpu 2 ÷ -cpu 1 | ≥ 1.8 | 1.50 (100k → 150k records/s, 0.99 → 1.80 cores; CPU per record ×1.06: 1.89 with two cores to itself) | missed: 17% under; the control, which shares nothing, made 1.60 in the same runs (the machine's ceiling) |",
		"| serial fraction of the record path (BenchmarkEngineRecordPath) | ≤ 2% | 0.50% at 2 loops (Amdahl: 14.9× at 16 cores, 27.7× at 32) | met |",
		"## Scaling of the record path", "| EngineRecordPath | 2 | 150k | 1.50 | 1.80 | 3600 | 0.50% | 14.9× / 27.7× |",
		"| RecordPathControl | 1 | 200k |  | 1.00 | 3000 | — | — |",
		"the control's CPU per record went from 3000 to 3600 ns (+20%) with nothing shared. Work that shares nothing does not reach 1.8× here either",
		"| dataplane | EngineRecordPath (-cpu 1) | 10000 per record |", "| CPU-s / M records | 12.50 | 13.33 | 1.067× |", "≤ 1.10× the CPU per record: 1.067× in this run, within it",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("REPORT.md lacks %q", want)
		}
	}
	for name, doc := range map[string]string{"throughput": rep.ThroughputSVG(), "latency": rep.LatencySVG(), "scaling": rep.ScalingSVG()} {
		checkSVG(t, name, doc)
		if !strings.Contains(doc, "<polyline") && name != "throughput" {
			t.Errorf("%s: no line", name)
		}
	}
	if !strings.Contains(rep.ThroughputSVG(), "21.2×") {
		t.Error("throughput chart lacks the ratio")
	}
	// Empty reports render too.
	empty := &Report{Machine: ReadMachine()}
	empty.Targets = targets(empty)
	for _, doc := range []string{empty.ThroughputSVG(), empty.LatencySVG(), empty.ScalingSVG()} {
		checkSVG(t, "empty", doc)
	}
	if md := empty.Markdown(); !strings.Contains(md, "Not run.") {
		t.Error("empty report")
	}
	if err := rep.Write(t.TempDir()); err != nil {
		t.Fatal(err)
	}
}

func checkSVG(t *testing.T, name, doc string) {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(doc))
	for {
		_, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: not well-formed XML: %v", name, err)
		}
	}
	if !strings.HasPrefix(doc, "<svg ") || !strings.HasSuffix(doc, "</svg>\n") {
		t.Errorf("%s: not an SVG document", name)
	}
}

// TestScenarios runs a short scenario of each connector in processes:
// emulator → connector → sink. It asserts that the figures are there and
// nothing was lost, never a speed.
func TestScenarios(t *testing.T) {
	if testing.Short() {
		t.Skip("system tier: starts processes; run by make test-system")
	}
	env := &Env{Bin: harness.Binary(t), Dir: t.TempDir()}
	for _, s := range []Scenario{
		{Connector: Ours, Format: "message-pack", Batch: 500, Proto: H2C, Size: "small"},
		{Connector: Baseline, Format: "avro", Batch: 1, Proto: HTTP1, Size: "small"},
		{Connector: Ours, Format: "flat-json", Framing: ESBulk, WriteOp: "auto", Versioning: "lut", Batch: 500, Proto: HTTP1, Size: "small"},
		H2TLSScenario, // the sink's certificate, verified: a wrong ca-file would deliver nothing
	} {
		s.Conns, s.Window = 2, 32
		s.Warmup, s.Measure = 300*time.Millisecond, 500*time.Millisecond
		r := env.Run(context.Background(), s)
		if !r.OK {
			t.Fatalf("%s %s: %s", s.Connector, r.Name, r.Error)
		}
		if r.WindowRecords <= 0 || r.RecordsPerSec <= 0 || r.CPUSecPerMillion <= 0 || r.AllocsPerRecord < 0 || r.PeakRSSMiB <= 0 || r.Latency.P50 <= 0 {
			t.Errorf("%s %s: figures missing: %+v", s.Connector, r.Name, r)
		}
		want := "HTTP/1.1"
		if s.Proto == H2C || s.Proto == H2 {
			want = "HTTP/2.0"
		}
		if r.SinkByProto[want] == 0 {
			t.Errorf("%s: no %s request at the sink: %v", r.Name, want, r.SinkByProto)
		}
		if s.Framing == ESBulk && r.ESUpdateShare <= 0 {
			// The default mix has partial and metadata-only writes: updates.
			t.Errorf("%s: no update action counted", r.Name)
		}
	}

	// Profiled: xdrhook under `bench profiled-run`, the window's profiles.
	dir := t.TempDir()
	s := Scenario{Connector: Ours, Format: "json", Batch: 500, Proto: HTTP1, Size: "small", Conns: 2, Window: 512,
		Warmup: 300 * time.Millisecond, Measure: 700 * time.Millisecond, Profile: dir}
	r := env.Run(context.Background(), s)
	if !r.OK {
		t.Fatalf("profiled: %s", r.Error)
	}
	pr := readProfile(dir, r)
	if pr.Error != "" || !pr.AllocsWindow || !strings.HasPrefix(pr.CPUTotal, "Duration:") {
		t.Errorf("profile: %+v", pr)
	}
}

// The SigV4 row: its config signs every request (and loads as xdrhook
// reads it), it is in both matrices next to the row it is compared with,
// and the report puts the two side by side.
func TestSigV4Scenario(t *testing.T) {
	s := SigV4Scenario
	if err := s.Normalize(); err != nil {
		t.Fatal(err)
	}
	if got := s.Name(); got != "json + SigV4 · 1 per request · HTTP/1.1 · typical" {
		t.Errorf("name %q", got)
	}
	cfg := ConnectorConfig(&s, 1, 2, "http://127.0.0.1:9/in")
	if !strings.Contains(cfg, "    auth: {type: aws-sigv4, service: lambda, region: us-east-1}\n") {
		t.Errorf("config:\n%s", cfg)
	}
	if _, err := config.Parse("perf.yml", []byte(cfg), config.Options{SkipFiles: true}); err != nil {
		t.Errorf("the row's config does not load: %v\n%s", err, cfg)
	}
	if env := strings.Join(connectorEnv(&s), " "); !strings.Contains(env, "AWS_ACCESS_KEY_ID=") {
		t.Errorf("env %q", env)
	}
	if bad := (Scenario{Connector: Baseline, Format: "json", Dest: DestSigV4}); bad.Normalize() == nil {
		t.Error("a baseline SigV4 row normalizes")
	}
	for _, quick := range []bool{false, true} {
		n, nRate, plain, plainRate := 0, 0, false, false
		keys, names := map[string]bool{}, map[string]bool{}
		for _, m := range (&Options{Quick: quick}).matrix() {
			m.Normalize()
			name := m.Connector + " " + m.Name() // a baseline row is named as the xdrhook row it is compared with
			if keys[m.Key()] || names[name] {
				t.Errorf("quick %v: %s / %s twice in the matrix", quick, m.Key(), name)
			}
			keys[m.Key()], names[name] = true, true
			isPlain := m.Connector == Ours && m.Format == "json" && m.Batch == 1 && m.Proto == HTTP1 && m.Size == "typical" && m.Dest == ""
			if m.Rate == 0 {
				n += b2i(m.Dest == DestSigV4)
				plain = plain || isPlain
			} else {
				nRate += b2i(m.Dest == DestSigV4 && m.Rate == SigV4Rate)
				plainRate = plainRate || (isPlain && m.Rate == SigV4Rate)
			}
		}
		// The fixed-rate pair is two more runs: the full matrix only.
		if n != 1 || !plain || nRate != b2i(!quick) || plainRate != !quick {
			t.Errorf("quick %v: %d SigV4 rows, unsigned row %v; at %d/s: %d SigV4 rows, unsigned row %v", quick, n, plain, SigV4Rate, nRate, plainRate)
		}
	}
	pair := SigV4RatePair()
	for i := range pair {
		pair[i].Normalize()
	}
	if got := pair[1].Name(); got != "json + SigV4 · 1 per request · HTTP/1.1 · typical · at 10k/s" {
		t.Errorf("fixed-rate name %q", got)
	}
	if got := pair[0].Key(); got != "xdrhook-json-b1-http1-typical-c8-w64-r10000" {
		t.Errorf("fixed-rate key %q", got)
	}
	unsigned := s
	unsigned.Dest = ""
	res := func(s Scenario, rate, cpu float64) Result {
		return Result{Scenario: s, Name: s.Name(), OK: true, RecordsPerSec: rate, CPUSecPerMillion: cpu, AllocsPerRecord: 0.01}
	}
	rep := &Report{Matrix: []Result{res(unsigned, 29000, 32), res(s, 20000, 44.5), res(pair[0], 9990, 55), res(pair[1], 10010, 57.2)},
		Micro: []Micro{{Pkg: "auth", Name: "SigV4Apply1KiB", NsPerOp: 2500, AllocsPerOp: 0, Metrics: map[string]float64{"cpu-ns/op": 2100}}}}
	rep.Comparisons = compare(rep.Matrix)
	var b strings.Builder
	rep.writeSigV4(&b)
	for _, want := range []string{
		"costs 2.10 µs of CPU and 0 allocations per request in this run's microbenchmarks",
		"| full speed: records/s | 29,000 | 20,000 | 0.690× |",
		"| full speed: CPU-µs / record | 32.00 | 44.50 | +12.50 |",
		"| offered 10k/s: records/s delivered | 9,990 | 10,010 | 1.002× |",
		"| offered 10k/s: CPU-µs / record | 55.00 | 57.20 | +2.20 |",
		"At full speed the signed row delivered 0.69× the records/s of the unsigned one and cost +12.50 CPU-µs per record.",
		"The unsigned row shows it: 32.00 CPU-µs per record at 29k records/s, 55.00 at 10k/s offered.",
		"both rows delivered it (9,990 and 10,010), and the signed one cost +2.20 CPU-µs per record (+4.0%)",
		"The microbenchmark's 2.10 µs",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, b.String())
		}
	}
	// Fixed-rate rows are not throughput: no comparison with the baseline.
	for _, c := range rep.Comparisons {
		if strings.Contains(c.Name, "at 10k/s") {
			t.Errorf("comparison of a fixed-rate row: %+v", c)
		}
	}
	// A rate the machine did not hold is said so; a quick run (no pair) says the pair is missing.
	rep.Matrix[3].RecordsPerSec = 8000
	b.Reset()
	rep.writeSigV4(&b)
	if !strings.Contains(b.String(), "the rows delivered only 9,990 and 8,000: the machine did not hold the rate") || strings.Contains(b.String(), "both rows delivered it") {
		t.Errorf("rate not held:\n%s", b.String())
	}
	rep.Matrix = rep.Matrix[:2]
	b.Reset()
	rep.writeSigV4(&b)
	if !strings.Contains(b.String(), "| full speed: CPU-µs / record | 32.00 | 44.50 | +12.50 |") || !strings.Contains(b.String(), "is not in this run") || strings.Contains(b.String(), "offered 10k/s") {
		t.Errorf("quick report:\n%s", b.String())
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// The s3 section's text comes from its rows and the hash benchmark.
func TestS3Report(t *testing.T) {
	s3 := S3Scenario
	s3.Normalize()
	post := s3
	post.Dest = ""
	rep := &Report{Matrix: []Result{
		{Scenario: post, Name: post.Name(), OK: true, RecordsPerSec: 250000, CPUSecPerMillion: 3.2, MBPerSecOut: 270, Cores: Cores{Connector: 0.8}, SinkRecords: 998000, SinkRequests: 2000},
		{Scenario: s3, Name: s3.Name(), OK: true, RecordsPerSec: 150000, CPUSecPerMillion: 4.4, MBPerSecOut: 162, Cores: Cores{Connector: 0.66}, SinkRecords: 430000, SinkRequests: 1000},
	}, Micro: []Micro{{Pkg: "auth", Name: "SigV4Apply64KiB", NsPerOp: 50000, Metrics: map[string]float64{"cpu-ns/op": 45875.2}}}}
	var b strings.Builder
	rep.writeS3(&b)
	for _, want := range []string{
		"| CPU-s / M records | 3.20 | 4.40 | 1.375× |", "| records/s | 250,000 | 150,000 | 0.600× |",
		"The s3 row cost 1.20 CPU-µs per record more than POSTing the same batches (1.38×) and delivered 0.60× the records/s.",
		// 45875.2 ns / 64 KiB = 0.7 ns per byte; 162 MB/s / 150k/s = 1080 bytes
		"1080 bytes at 0.73 ms per MiB (auth's BenchmarkSigV4Apply64KiB) is 0.76 µs, 63% of the difference.",
		"used 0.66 cores to the POST row's 0.80: it was not short of CPU",
		"Objects held 430 records on average, POST bodies 499 (the default key-template has a folder per set",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, b.String())
		}
	}
	// Cheaper and no benchmark: said as measured, no share claimed.
	rep.Matrix[1].CPUSecPerMillion, rep.Micro = 3.0, nil
	b.Reset()
	rep.writeS3(&b)
	if !strings.Contains(b.String(), "cost 0.20 CPU-µs per record less") || !strings.Contains(b.String(), "is not in this run") || strings.Contains(b.String(), "% of the difference") || strings.Contains(b.String(), "not short of CPU") {
		t.Errorf("report:\n%s", b.String())
	}
}
