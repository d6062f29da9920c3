// Package suite is the end-to-end perf suite behind `make perf` and
// `xdrhook bench`: it runs the XDR emulator (`xdrhook sim`), a connector
// (`xdrhook run`, or the naive baseline `xdrhook bench baseline`) and the
// HTTP sink (`xdrhook sink --check count`) as three separate processes on
// loopback, measures each scenario in a steady-state window, and writes a
// Markdown report, a JSON file of every figure and SVG charts.
//
// How a scenario is measured:
//
//  1. start the sink, then the connector (wait for its manage /healthz and
//     its XDR port), then the emulator with Prebuilt records for
//     Warmup+Measure (+ a short tail);
//  2. once the sink has seen a first record, wait Warmup, then sample the
//     sink's counters, the connector's CPU time (/proc/PID/stat) and its
//     go_memstats_mallocs_total (/metrics), and the CPU time of the sink and
//     the emulator; wait Measure and sample again;
//  3. the deltas give records/s delivered, MB/s, connector CPU seconds per
//     million records, allocations per record, and the cores each process
//     used; the emulator's summary (stdout JSON) gives the reply latency
//     quantiles; VmHWM gives the connector's peak RSS;
//  4. a scenario fails — and the suite exits non-zero — only when a process
//     does not start or dies, or records are lost: the emulator left some
//     unsettled or abandoned, or the sink counted fewer records than the
//     emulator saw answered 0. Speed is reported, never asserted.
package suite

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/xdrhook/xdrhook/perf/harness"
	"github.com/xdrhook/xdrhook/perf/xdrsim"
)

// Connectors.
const (
	Ours     = "xdrhook"
	Baseline = "baseline"
)

// Protocols.
const (
	HTTP1 = "http1"
	H2C   = "h2c"
	// HTTP1Pipelined is HTTP/1.1 with http1-pipelining: true (xdrhook
	// only; the sink's fasthttp server answers pipelined requests).
	HTTP1Pipelined = "http1-pipelined"
	// H2 is HTTP/2 over TLS (ALPN h2), the sink's certificate verified
	// through the destination's tls.ca-file (xdrhook only).
	H2 = "h2"
)

// Sizes of the emulator's records (xdrsim.SizeSmall, SizeTypical, SizeLarge).
var sizeBytes = map[string]int{"small": 150, "typical": 1024, "large": 64 << 10}

// Scenario is one end-to-end run.
type Scenario struct {
	Connector string  `json:"connector"` // Ours or Baseline
	Format    string  `json:"format"`    // json, flat-json, message-pack, avro
	Batch     int     `json:"batch"`     // records per request: 500 (batching on) or 1 (off)
	Proto     string  `json:"proto"`     // HTTP1, HTTP1Pipelined, H2C or H2
	Size      string  `json:"size"`      // small, typical, large
	Conns     int     `json:"conns"`     // XDR connections
	Window    int     `json:"window"`    // requests in flight per connection
	Rate      float64 `json:"rate"`      // offered records/s; 0 = as fast as the windows allow
	// Framing is "" (the format's default framing) or "es-bulk"
	// (format.framing: es-bulk, flat-json documents in an Elasticsearch
	// _bulk body, sent to a path ending /_bulk so the sink enforces the
	// framing). WriteOp (auto, index, create, update; default auto) and
	// Versioning (none, lut; default none) are its write-operation and
	// versioning; es-bulk only, and xdrhook only.
	Framing    string `json:"framing,omitempty"`
	WriteOp    string `json:"writeOperation,omitempty"`
	Versioning string `json:"versioning,omitempty"`
	// Dest is "" (an HTTP destination: POST) or "s3" (type s3: one object
	// per batch, PUT and signed with SigV4 — auth aws-sigv4, service s3 —
	// to the sink standing in for the store, which counts but does not
	// check signatures). xdrhook only, batched.
	Dest string `json:"dest,omitempty"`

	Warmup  time.Duration `json:"-"`
	Measure time.Duration `json:"-"`
	// Profile, when set, runs xdrhook under the CPU and allocation profilers
	// and writes cpu.pprof and allocs.pprof into this directory.
	Profile string `json:"-"`
	// SinkCA is where the sink of an H2 row writes its certificate, the
	// destination's tls.ca-file (set by Run).
	SinkCA string `json:"-"`
}

// DefaultConns is the number of XDR connections of the matrix.
const DefaultConns = 8

// InFlight is how many records the emulator keeps in flight in all
// (connections × window) unless a scenario says otherwise: enough to fill
// 500-record batches many times over when batching, XDR's usual 64 per
// connection when not. Both are capped at 8 MiB of records, so large
// records do not hit the connector's 64 MiB queue bound.
func InFlight(batch int, size string) int {
	n := 8192
	if batch <= 1 {
		n = 512
	}
	if b := sizeBytes[size]; b > 0 {
		n = min(n, max(16, (8<<20)/b))
	}
	return n
}

// Normalize fills the defaults.
func (s *Scenario) Normalize() error {
	if s.Connector == "" {
		s.Connector = Ours
	}
	if s.Connector != Ours && s.Connector != Baseline && s.Connector != Benthos {
		return fmt.Errorf("connector %q: want %s or %s", s.Connector, Ours, Baseline)
	}
	if s.Connector == Benthos && (s.Format != "json" || s.Framing != "" || (s.Proto != "" && s.Proto != HTTP1)) {
		return fmt.Errorf("the %s rows post json over HTTP/1.1 (ndjson when batched), not %s %s %s", Benthos, s.Format, s.Framing, s.Proto)
	}
	switch s.Format {
	case "":
		s.Format = "json"
	case "json", "flat-json", "message-pack", "avro":
	default:
		return fmt.Errorf("format %q: want json, flat-json, message-pack or avro", s.Format)
	}
	if s.Batch <= 0 {
		s.Batch = 500
	}
	if err := s.normalizeESBulk(); err != nil {
		return err
	}
	switch {
	case s.Dest == "":
	case s.Dest != DestS3 && s.Dest != DestSigV4:
		return fmt.Errorf("dest %q: want %s, %s or none", s.Dest, DestS3, DestSigV4)
	case s.Dest == DestS3 && (s.Connector == Baseline || s.Batch <= 1 || s.Framing != ""):
		return fmt.Errorf("dest %s: xdrhook, batched, in the format's own framing only", DestS3)
	case s.Dest == DestSigV4 && (s.Connector == Baseline || s.Framing != ""):
		return fmt.Errorf("dest %s: xdrhook, in the format's own framing only", DestSigV4)
	}
	switch s.Proto {
	case "":
		s.Proto = HTTP1
	case HTTP1, H2C:
	case HTTP1Pipelined, H2:
		if s.Connector != Ours {
			return fmt.Errorf("protocol %s: xdrhook only", s.Proto)
		}
	default:
		return fmt.Errorf("protocol %q: want %s, %s, %s or %s", s.Proto, HTTP1, HTTP1Pipelined, H2C, H2)
	}
	if s.Size == "" {
		s.Size = "typical"
	}
	if _, ok := sizeBytes[s.Size]; !ok {
		return fmt.Errorf("size %q: want small, typical or large", s.Size)
	}
	if s.Conns <= 0 {
		s.Conns = DefaultConns
	}
	if s.Window <= 0 {
		s.Window = max(1, InFlight(s.Batch, s.Size)/s.Conns)
	}
	if s.Warmup <= 0 {
		s.Warmup = time.Second
	}
	if s.Measure <= 0 {
		s.Measure = 2 * time.Second
	}
	return nil
}

// ESBulk is the framing value of Scenario.Framing for es-bulk.
const ESBulk = "es-bulk"

func (s *Scenario) normalizeESBulk() error {
	switch s.Framing {
	case "":
		if s.WriteOp != "" || s.Versioning != "" {
			return fmt.Errorf("write-operation and versioning are options of framing %s", ESBulk)
		}
		return nil
	case ESBulk:
	default:
		return fmt.Errorf("framing %q: want %s or none", s.Framing, ESBulk)
	}
	if s.Connector == Baseline {
		return fmt.Errorf("the baseline has no %s framing: it posts one flat message per record", ESBulk)
	}
	if s.Format != "flat-json" {
		return fmt.Errorf("format %s with framing %s: es-bulk embeds flat-json documents, use format flat-json", s.Format, ESBulk)
	}
	switch s.WriteOp {
	case "":
		s.WriteOp = "auto"
	case "auto", "index", "create", "update":
	default:
		return fmt.Errorf("write-operation %q: want auto, index, create or update", s.WriteOp)
	}
	switch s.Versioning {
	case "":
		s.Versioning = "none"
	case "none", "lut":
	default:
		return fmt.Errorf("versioning %q: want none or lut", s.Versioning)
	}
	return nil
}

// DestS3 is Scenario.Dest for an s3 destination.
const DestS3 = "s3"

// DestSigV4 is Scenario.Dest for an HTTP destination whose requests are
// signed with AWS SigV4 (auth aws-sigv4, service lambda: a Lambda function
// URL with IAM auth); the sink does not check the signature.
const DestSigV4 = "sigv4"

// FormatLabel is the format of the row label: the format, and for es-bulk
// its write operation and versioning, or the s3 destination.
func (s *Scenario) FormatLabel() string {
	switch s.Dest {
	case DestS3:
		return s.Format + " → s3 (SigV4)"
	case DestSigV4:
		return s.Format + " + SigV4"
	}
	if s.Framing == "" {
		return s.Format
	}
	return fmt.Sprintf("%s %s (%s, versioning %s)", s.Format, s.Framing, s.WriteOp, s.Versioning)
}

// Name is the scenario's row label.
func (s *Scenario) Name() string {
	b := "batch 500"
	if s.Batch > 1 && s.Batch != 500 {
		b = "batch " + strconv.Itoa(s.Batch)
	} else if s.Batch <= 1 {
		b = "1 per request"
	}
	p := "HTTP/1.1"
	if s.Proto == H2C {
		p = "h2c"
	}
	if s.Proto == HTTP1Pipelined {
		p = "HTTP/1.1 pipelined"
	}
	if s.Proto == H2 {
		p = "h2 (TLS)"
	}
	n := fmt.Sprintf("%s · %s · %s · %s", s.FormatLabel(), b, p, s.Size)
	if s.Rate > 0 {
		n += " · at " + human(s.Rate) + "/s" // a fixed-rate row: not the same measurement as the full-speed one
	}
	return n
}

// Key names the scenario's files.
func (s *Scenario) Key() string {
	f := s.Format
	if s.Framing != "" {
		f += "-" + strings.ReplaceAll(s.Framing, "-", "") + "-" + s.WriteOp + "-" + s.Versioning
	}
	if s.Dest != "" {
		f += "-" + s.Dest
	}
	k := fmt.Sprintf("%s-%s-b%d-%s-%s-c%d-w%d", s.Connector, f, s.Batch, s.Proto, s.Size, s.Conns, s.Window)
	if s.Rate > 0 {
		k += fmt.Sprintf("-r%.0f", s.Rate)
	}
	return k
}

// Latency is the emulator's reply latency, in milliseconds.
type Latency struct {
	P50  float64 `json:"p50Ms"`
	P90  float64 `json:"p90Ms"`
	P99  float64 `json:"p99Ms"`
	P999 float64 `json:"p999Ms"`
	Max  float64 `json:"maxMs"`
	Mean float64 `json:"meanMs"`
}

// Result is what one scenario measured.
type Result struct {
	Scenario
	Name string `json:"name"`

	RecordsPerSec    float64 `json:"recordsPerSec"`    // delivered to the sink, steady-state window
	MBPerSecIn       float64 `json:"mbPerSecIn"`       // XDR frame bytes of those records (10^6 B/s)
	MBPerSecOut      float64 `json:"mbPerSecOut"`      // HTTP body bytes the sink accepted
	Latency          Latency `json:"latency"`          // request written to reply read, whole run
	CPUSecPerMillion float64 `json:"cpuSecPerMillion"` // connector CPU seconds per 10^6 records
	AllocsPerRecord  float64 `json:"allocsPerRecord"`  // connector heap allocations per record (-1: unknown)
	PeakRSSMiB       float64 `json:"peakRssMiB"`       // connector VmHWM
	Cores            Cores   `json:"cores"`            // CPU used in the window, in cores
	// Waiting is the time each process was runnable but waiting for a CPU
	// (run queue, /proc/PID/task/*/schedstat) in the window, in cores: CPU
	// the machine did not give.
	Waiting Cores `json:"waiting"`
	// ESUpdateShare is, for es-bulk with versioning lut, the update actions
	// the connector wrote in the window (xdrhook_es_unversioned_updates_total:
	// partial and metadata-only writes under write-operation auto) per
	// record delivered in it; 0 when not measured (another framing or
	// versioning: the counter counts only unversioned updates).
	ESUpdateShare float64 `json:"esUpdateShare,omitempty"`
	// RepliesPerWrite is the replies to XDR per write that carried them in
	// the window (Δ xdrhook_replies_total ÷ Δ xdrhook_reply_writes_total):
	// records settled together are answered in one write per connection.
	// 0: not measured (the baseline has no such counters).
	RepliesPerWrite float64 `json:"repliesPerWrite,omitempty"`

	WindowSeconds  float64          `json:"windowSeconds"`
	WindowRecords  int64            `json:"windowRecords"`
	SimSettled     int64            `json:"simSettled"`
	SimRetries     int64            `json:"simRetries"`
	SimResent      int64            `json:"simResent"`
	SimCodes       map[string]int64 `json:"simCodes"`
	SimSettledRate float64          `json:"simSettledPerSec"` // whole run, ramp and drain included
	SinkRecords    int64            `json:"sinkRecords"`
	SinkRequests   int64            `json:"sinkRequests"`
	SinkByProto    map[string]int64 `json:"sinkByProto"`

	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
	Note  string `json:"note,omitempty"` // an anomaly that is not a failure
}

// Cores is the CPU each process used during the window, in cores.
type Cores struct {
	Connector float64 `json:"connector"`
	Sim       float64 `json:"sim"`
	Sink      float64 `json:"sink"`
}

// Env is where scenarios run.
type Env struct {
	Bin string // the xdrhook binary
	Dir string // logs and configs go here
}

const configTemplate = `# written by perf/suite for one scenario
service:
  port: {{XDR_PORT}}
  address: 127.0.0.1
  manage: {address: 127.0.0.1, port: {{MANAGE_PORT}}}
destinations:
  sink:
    urls: ["{{SINK_URL}}"]
    protocol: {{PROTOCOL}}
{{S3}}routing: {mode: static, destination: sink}
format: {mode: {{FORMAT}}{{ESBULK}}}
{{BATCHING}}logging: {level: warn}
`

// ConnectorConfig is the YAML xdrhook runs with in a scenario: defaults
// everywhere but the format (and its es-bulk options), the batching and the
// protocol.
func ConnectorConfig(s *Scenario, xdrPort, managePort int, sinkURL string) string {
	proto := "HTTP_1_1"
	if s.Proto == H2C || s.Proto == H2 {
		proto = "HTTP_2"
	}
	batching := ""
	if s.Batch > 1 {
		batching = fmt.Sprintf("batching: {max-records: %d}\n", s.Batch)
	}
	esbulk := ""
	if s.Framing == ESBulk {
		esbulk = fmt.Sprintf(", framing: %s, write-operation: %s, versioning: %s", ESBulk, s.WriteOp, s.Versioning)
	}
	s3 := ""
	if s.Proto == HTTP1Pipelined {
		s3 = "    http1-pipelining: true\n"
	}
	if s.Proto == H2 {
		s3 = fmt.Sprintf("    tls: {ca-file: %q}\n", s.SinkCA)
	}
	switch s.Dest {
	case DestS3:
		s3 += "    type: s3\n    bucket: xdr-perf\n    node: perf\n    auth: {type: aws-sigv4, service: s3, region: us-east-1}\n"
	case DestSigV4:
		s3 += "    auth: {type: aws-sigv4, service: lambda, region: us-east-1}\n"
	}
	return strings.NewReplacer(
		"{{XDR_PORT}}", strconv.Itoa(xdrPort), "{{MANAGE_PORT}}", strconv.Itoa(managePort),
		"{{SINK_URL}}", sinkURL, "{{PROTOCOL}}", proto, "{{FORMAT}}", s.Format, "{{ESBULK}}", esbulk, "{{BATCHING}}", batching,
		"{{S3}}", s3,
	).Replace(configTemplate)
}

// connectorEnv is the environment a scenario's connector adds: for an s3
// or SigV4 destination, static AWS credentials (the sink does not check the
// signature; the connector computes it all the same) and no AWS config
// files or instance metadata to look up.
func connectorEnv(s *Scenario) []string {
	if s.Dest != DestS3 && s.Dest != DestSigV4 {
		return nil
	}
	return []string{"AWS_ACCESS_KEY_ID=XDRHOOKPERF", "AWS_SECRET_ACCESS_KEY=xdrhook-perf-secret", "AWS_REGION=us-east-1",
		"AWS_CONFIG_FILE=/nonexistent", "AWS_SHARED_CREDENTIALS_FILE=/nonexistent", "AWS_EC2_METADATA_DISABLED=true"}
}

// prebuilt is how many distinct records the emulator builds: ~16 MiB of
// them, at least 256.
func prebuilt(size string) int {
	return min(20000, max(256, (16<<20)/sizeBytes[size]))
}

type sample struct {
	at              time.Time
	records, bytes  int64
	connCPU         time.Duration
	simCPU, sinkCPU time.Duration
	connWait        time.Duration
	simWait         time.Duration
	sinkWait        time.Duration
	mallocs         float64
	mallocsOK       bool
	esUpdates       float64
	esUpdatesOK     bool
	replies         float64
	replyWrites     float64
	repliesOK       bool
}

// startError is a process that did not come up.
type startError struct{ error }

// Run runs one scenario. The error is only for a scenario that could not be
// measured or lost records; the Result then holds what was seen.
func (e *Env) Run(ctx context.Context, s Scenario) (res Result) {
	res = Result{Scenario: s, Name: s.Name(), AllocsPerRecord: -1}
	if err := res.Scenario.Normalize(); err != nil {
		res.Error = err.Error()
		return res
	}
	s = res.Scenario
	res.Name = s.Name()
	err := e.run(ctx, &s, &res)
	var se startError
	if errors.As(err, &se) && ctx.Err() == nil {
		// A process that did not come up (a port taken between picking it
		// and binding it, a machine too busy to start in time): once more,
		// on fresh ports.
		res.Note = "restarted once: " + se.Error()
		err = e.run(ctx, &s, &res)
	}
	if err != nil {
		res.Error = err.Error()
		return res
	}
	res.OK = true
	return res
}

func (e *Env) run(ctx context.Context, s *Scenario, res *Result) error {
	ports, err := harness.FreePorts(4)
	if err != nil {
		return err
	}
	sinkPort, xdrPort, managePort := ports[0], ports[1], ports[2]
	key := s.Key()
	logDir := filepath.Join(e.Dir, "logs")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return err
	}
	logf := func(name string) string { return filepath.Join(logDir, key+"."+name+".log") }
	sinkBase := "http://127.0.0.1:" + strconv.Itoa(sinkPort)
	sinkArgs := []string{"sink", "--listen", "127.0.0.1:" + strconv.Itoa(sinkPort),
		"--check", "count", "--max-ids", "1", "--quiet", "--json"}
	if s.Proto == H2 {
		// Absolute: the connector reads a relative ca-file from its
		// config's directory, which is logDir already.
		ca, err := filepath.Abs(filepath.Join(logDir, key+".sink.pem"))
		if err != nil {
			return err
		}
		s.SinkCA = ca
		sinkArgs = append(sinkArgs, "--tls", "--cert-out", s.SinkCA)
		sinkBase = "https://127.0.0.1:" + strconv.Itoa(sinkPort)
	}
	for _, n := range []string{"sink", "connector", "sim"} {
		os.Remove(logf(n))
	}

	// 1. sink
	sk, err := harness.Command{Name: "sink", Bin: e.Bin, Args: sinkArgs, LogFile: logf("sink")}.Start()
	if err != nil {
		return err
	}
	defer sk.Kill()
	if err := sk.WaitUp(ctx, sinkBase+"/healthz", "", 15*time.Second); err != nil {
		return startError{err}
	}

	// 2. connector
	xdrAddr := "127.0.0.1:" + strconv.Itoa(xdrPort)
	manageBase := "http://127.0.0.1:" + strconv.Itoa(managePort)
	var args []string
	if s.Connector == Baseline {
		args = []string{"bench", "baseline", "--listen", xdrAddr, "--manage", "127.0.0.1:" + strconv.Itoa(managePort),
			"--url", sinkBase + "/in", "--format", s.Format}
		if s.Proto == H2C {
			args = append(args, "--h2c")
		}
	} else {
		cfgPath := filepath.Join(logDir, key+".yml")
		if err := os.WriteFile(cfgPath, []byte(ConnectorConfig(s, xdrPort, managePort, sinkBase+sinkPath(s))), 0o644); err != nil {
			return err
		}
		args = []string{"run", "--config", cfgPath}
		if s.Profile != "" {
			if err := os.MkdirAll(s.Profile, 0o755); err != nil {
				return err
			}
			args = []string{"bench", "profiled-run", "--config", cfgPath,
				"--cpuprofile", filepath.Join(s.Profile, "cpu.pprof"),
				"--memprofile", filepath.Join(s.Profile, "allocs.pprof"), "--window-signals"}
		}
	}
	cn, err := harness.Command{Name: "connector", Bin: e.Bin, Args: args, Env: connectorEnv(s), LogFile: logf("connector")}.Start()
	if err != nil {
		return err
	}
	defer cn.Kill()
	if err := cn.WaitUp(ctx, manageBase+"/healthz", xdrAddr, 15*time.Second); err != nil {
		return startError{err}
	}
	if _, ok := e.mallocs(manageBase); !ok {
		return fmt.Errorf("connector /metrics has no go_memstats_mallocs_total")
	}

	// 3. emulator
	tail := 500 * time.Millisecond
	simArgs := []string{"sim", "--target", xdrAddr, "--json", "--quiet",
		"--prebuilt", strconv.Itoa(prebuilt(s.Size)), "--size", s.Size,
		"--conns", strconv.Itoa(s.Conns), "--window", strconv.Itoa(s.Window),
		"--duration", (s.Warmup + s.Measure + tail).String(), "--drain-timeout", "30s"}
	if s.Rate > 0 {
		simArgs = append(simArgs, "--rate", strconv.FormatFloat(s.Rate, 'f', 0, 64))
	}
	sim, err := harness.Command{Name: "sim", Bin: e.Bin, Args: simArgs, LogFile: logf("sim")}.Start()
	if err != nil {
		return err
	}
	defer sim.Kill()

	// 4. the window: from Warmup after the first record reached the sink.
	firstBy := time.Now().Add(30 * time.Second)
	for {
		st, err := getSinkStats(sinkBase)
		if err == nil && st.Records > 0 {
			break
		}
		if sim.Exited() || cn.Exited() || sk.Exited() || time.Now().After(firstBy) {
			return fmt.Errorf("no record reached the sink (sim exit %v, connector exited %v): see %s",
				exitOf(sim), cn.Exited(), logf("*"))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	if !sleepCtx(ctx, s.Warmup) {
		return ctx.Err()
	}
	s0, err := e.sample(sinkBase, manageBase, cn, sim, sk)
	if err != nil {
		return err
	}
	if s.Profile != "" {
		cn.Signal(syscall.SIGUSR1) // profile the window only
	}
	if !sleepCtx(ctx, s.Measure) {
		return ctx.Err()
	}
	s1, err := e.sample(sinkBase, manageBase, cn, sim, sk)
	if err != nil {
		return err
	}
	if s.Profile != "" {
		cn.Signal(syscall.SIGUSR2)
	}

	// 5. the end of the run
	if !sim.Wait(s.Warmup + s.Measure + tail + 45*time.Second) {
		sim.Kill()
		return fmt.Errorf("the emulator did not finish: see %s", logf("sim"))
	}
	var sm simSummary
	if err := json.Unmarshal(sim.Stdout(), &sm); err != nil {
		return fmt.Errorf("emulator summary (exit %d): %v: see %s", sim.ExitCode(), err, logf("sim"))
	}
	final, err := getSinkStats(sinkBase)
	if err != nil {
		return fmt.Errorf("sink stats: %w", err)
	}
	res.PeakRSSMiB = float64(cn.PeakRSS()) / (1 << 20)
	if cn.Exited() {
		return fmt.Errorf("the connector died during the run (status %d): see %s", cn.ExitCode(), logf("connector"))
	}
	cnExit := cn.Term(20 * time.Second)
	sk.Term(10 * time.Second)

	// 6. figures
	dt := s1.at.Sub(s0.at).Seconds()
	recs := s1.records - s0.records
	res.WindowSeconds = dt
	res.WindowRecords = recs
	if dt > 0 {
		res.RecordsPerSec = float64(recs) / dt
		res.MBPerSecOut = float64(s1.bytes-s0.bytes) / dt / 1e6
		if sm.Sent > 0 {
			res.MBPerSecIn = res.RecordsPerSec * float64(sm.Bytes) / float64(sm.Sent) / 1e6
		}
		res.Cores = Cores{
			Connector: (s1.connCPU - s0.connCPU).Seconds() / dt,
			Sim:       (s1.simCPU - s0.simCPU).Seconds() / dt,
			Sink:      (s1.sinkCPU - s0.sinkCPU).Seconds() / dt,
		}
		res.Waiting = Cores{
			Connector: (s1.connWait - s0.connWait).Seconds() / dt,
			Sim:       (s1.simWait - s0.simWait).Seconds() / dt,
			Sink:      (s1.sinkWait - s0.sinkWait).Seconds() / dt,
		}
	}
	if recs > 0 {
		res.CPUSecPerMillion = (s1.connCPU - s0.connCPU).Seconds() / float64(recs) * 1e6
		if s0.mallocsOK && s1.mallocsOK {
			res.AllocsPerRecord = math.Max(0, s1.mallocs-s0.mallocs) / float64(recs)
		}
		if s.Framing == ESBulk && s.Versioning == "lut" && s0.esUpdatesOK && s1.esUpdatesOK {
			res.ESUpdateShare = math.Max(0, s1.esUpdates-s0.esUpdates) / float64(recs)
		}
		if s0.repliesOK && s1.repliesOK && s1.replyWrites > s0.replyWrites {
			res.RepliesPerWrite = (s1.replies - s0.replies) / (s1.replyWrites - s0.replyWrites)
		}
	}
	res.Latency = Latency{P50: sm.Latency.P50Ms, P90: sm.Latency.P90Ms, P99: sm.Latency.P99Ms,
		P999: sm.Latency.P999Ms, Max: sm.Latency.MaxMs, Mean: sm.Latency.MeanMs}
	res.SimSettled, res.SimRetries, res.SimResent = sm.Settled, sm.Retries, sm.Resent
	res.SimCodes = sm.Codes
	res.SimSettledRate = sm.SettledPerSecond
	res.SinkRecords, res.SinkRequests, res.SinkByProto = final.Records, final.Requests, final.ByProto

	// 7. failures: lost records, a process that failed.
	var problems []string
	if sm.Unsettled > 0 {
		problems = append(problems, fmt.Sprintf("%d records unsettled at the end of the run", sm.Unsettled))
	}
	if sm.Abandoned > 0 {
		problems = append(problems, fmt.Sprintf("%d records abandoned (answered a code XDR does not retry: %v)", sm.Abandoned, sm.Codes))
	}
	if ok0 := sm.Codes["0"]; final.Records < ok0 {
		problems = append(problems, fmt.Sprintf("records lost: the emulator saw %d answered 0, the sink received %d", ok0, final.Records))
	}
	if final.Invalid > 0 {
		problems = append(problems, fmt.Sprintf("the sink rejected %d bodies: %s", final.Invalid, final.Last))
	}
	if c := sim.ExitCode(); c != 0 && len(problems) == 0 {
		problems = append(problems, fmt.Sprintf("the emulator exited %d", c))
	}
	if recs <= 0 {
		// Not a failure (nothing was lost): a stall, reported as such.
		res.Note = fmt.Sprintf("no record reached the sink in the %.1fs window: a stall (the emulator's p99.9 says how long)", dt)
	}
	if cnExit != 0 {
		problems = append(problems, fmt.Sprintf("the connector exited %d on SIGTERM", cnExit))
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s (logs: %s)", strings.Join(problems, "; "), logf("*"))
	}
	return nil
}

// sinkPath is the path the connector posts to: one ending /_bulk for
// es-bulk, where the sink takes only es-bulk bodies (ending with a newline)
// and answers as Elasticsearch does.
func sinkPath(s *Scenario) string {
	if s.Framing == ESBulk {
		return "/in/_bulk"
	}
	return "/in"
}

func exitOf(p *harness.Proc) string {
	if !p.Exited() {
		return "running"
	}
	return strconv.Itoa(p.ExitCode())
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}

func (e *Env) mallocs(manageBase string) (float64, bool) {
	code, body, err := harness.HTTPGet(manageBase + "/metrics")
	if err != nil || code != 200 {
		return 0, false
	}
	return metricValue(body, "go_memstats_mallocs_total")
}

// metricSum sums the series of a metric, labelled or not; ok is false when
// there is none.
func metricSum(text []byte, name string) (sum float64, ok bool) {
	for line := range bytes.Lines(text) {
		rest, found := bytes.CutPrefix(line, []byte(name))
		if !found || len(rest) == 0 {
			continue
		}
		switch rest[0] {
		case ' ':
		case '{':
			i := bytes.LastIndexByte(rest, '}')
			if i < 0 {
				continue
			}
			rest = rest[i+1:]
		default:
			continue // another metric with this prefix
		}
		v, err := strconv.ParseFloat(string(bytes.TrimSpace(rest)), 64)
		if err != nil {
			return 0, false
		}
		sum, ok = sum+v, true
	}
	return sum, ok
}

// metricValue finds one unlabelled series in Prometheus text; ok is false
// when it is absent. A line lookup, not perf/harness/prom: the suite runs
// inside the xdrhook binary, and linking expfmt and protobuf there would
// add to the resident memory of every connector it measures.
func metricValue(text []byte, name string) (float64, bool) {
	for line := range bytes.Lines(text) {
		if rest, ok := bytes.CutPrefix(line, []byte(name+" ")); ok {
			v, err := strconv.ParseFloat(string(bytes.TrimSpace(rest)), 64)
			return v, err == nil
		}
	}
	return 0, false
}

func (e *Env) sample(sinkBase, manageBase string, cn, sim, sk *harness.Proc) (sample, error) {
	// The connector's counters first, the sink's last: records delivered
	// between the two reads are counted, which errs on the side of more
	// records per CPU second by at most a few milliseconds' worth.
	var sm sample
	if code, body, err := harness.HTTPGet(manageBase + "/metrics"); err == nil && code == 200 {
		sm.mallocs, sm.mallocsOK = metricValue(body, "go_memstats_mallocs_total")
		sm.esUpdates, sm.esUpdatesOK = metricSum(body, "xdrhook_es_unversioned_updates_total")
		var okR, okW bool
		sm.replies, okR = metricSum(body, "xdrhook_replies_total")
		sm.replyWrites, okW = metricValue(body, "xdrhook_reply_writes_total")
		sm.repliesOK = okR && okW
	}
	sm.connCPU = cn.CPU()
	sm.simCPU = sim.CPU()
	sm.sinkCPU = sk.CPU()
	sm.connWait, sm.simWait, sm.sinkWait = cn.RunWait(), sim.RunWait(), sk.RunWait()
	st, err := getSinkStats(sinkBase)
	if err != nil {
		return sm, fmt.Errorf("sink stats: %w", err)
	}
	sm.at = time.Now()
	sm.records, sm.bytes = st.Records, st.Bytes
	return sm, nil
}

// simSummary is the part of the emulator's JSON summary the suite reads.
type simSummary struct {
	ElapsedSeconds   float64          `json:"elapsedSeconds"`
	Generated        int64            `json:"generated"`
	Sent             int64            `json:"sent"`
	Bytes            int64            `json:"bytes"`
	Settled          int64            `json:"settled"`
	Abandoned        int64            `json:"abandoned"`
	Unsettled        int64            `json:"unsettled"`
	Retries          int64            `json:"retries"`
	Resent           int64            `json:"resent"`
	Codes            map[string]int64 `json:"codes"`
	SettledPerSecond float64          `json:"settledPerSecond"`
	Latency          xdrsim.Latency   `json:"latency"`
}
