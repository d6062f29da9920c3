package suite

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/xdrhook/xdrhook/encode"
	"github.com/xdrhook/xdrhook/perf/harness"
	"github.com/xdrhook/xdrhook/perf/xdrsim"
	"github.com/xdrhook/xdrhook/wire"
)

// A real peer in the report: Benthos (the core of Redpanda Connect), built
// from the Go module proxy and cached outside the repository, posts the
// same json messages into the same sink. It reads them ready-made, one per
// line, from a file: it decodes no XDR and answers no XDR acks, so its CPU
// per record is a floor for what it would cost in xdrhook's place.
const (
	Benthos        = "benthos"
	BenthosVersion = "v4.60.0"
	benthosModule  = "github.com/redpanda-data/benthos/v4"
	// benthosLinks is how many names the records file gets (hard links: no
	// disk) for Benthos's file input to read in turn; it reads a path once,
	// so the names are what keeps it busy past the window (16k records a
	// name: ~8M typical records, minutes at the rates measured here).
	benthosLinks = 500
)

// BenthosScenarios are the rows Benthos runs, each next to the xdrhook
// matrix row of the same scenario: json over HTTP/1.1, batched (500
// records or 20 ms, one ndjson body) and one record per request (64
// requests in flight), small and typical records.
func BenthosScenarios() []Scenario {
	var out []Scenario
	for _, size := range []string{"small", "typical"} {
		for _, b := range Batches {
			out = append(out, Scenario{Connector: Benthos, Format: "json", Batch: b, Proto: HTTP1, Size: size})
		}
	}
	return out
}

// BenthosBinary returns the cached Benthos binary
// (~/.cache/xdrhook-peers/benthos-v4.60.0/benthos), building it the first
// time: go mod init in a temporary directory, go get, go build (~1 minute).
// The error says why it could not be had.
func BenthosBinary(ctx context.Context, logf func(string, ...any)) (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache directory: %w", err)
	}
	dir := filepath.Join(cache, "xdrhook-peers", "benthos-"+BenthosVersion)
	bin := filepath.Join(dir, "benthos")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp("", "benthos-build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	ctx, cancel := context.WithTimeout(ctx, 15*time.Minute)
	defer cancel()
	logf("== building Benthos %s from the Go module proxy into %s", BenthosVersion, dir)
	start := time.Now()
	for _, args := range [][]string{
		{"mod", "init", "benthospeer"},
		{"get", benthosModule + "/cmd/benthos@" + BenthosVersion},
		{"build", "-o", bin + ".new", benthosModule + "/cmd/benthos"},
	} {
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Dir = tmp
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local")
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("`go %s` failed: %v: %s", strings.Join(args, " "), err, lastLines(string(out), 5))
		}
	}
	if err := os.Rename(bin+".new", bin); err != nil {
		return "", err
	}
	logf("   built in %v", time.Since(start).Round(time.Second))
	return bin, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// WriteBenthosRecords writes the json messages xdrhook sends for the
// emulator's records of size (the first prebuilt(size) of its default
// workload, as `sim --prebuilt` builds them), encoded by xdrhook's own
// encoder, one per line, into dir/records.ndjson, and gives the file
// benthosLinks names; it returns the glob of those names.
func WriteBenthosRecords(dir, size string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	w := xdrsim.DefaultWorkload()
	w.Size = sizeBytes[size]
	now := time.Now()
	frames, err := xdrsim.Frames(w, prebuilt(size), now.UnixMilli())
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "records.ndjson")
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	var enc encode.JSON
	var m wire.Message
	var buf []byte
	for i, fr := range frames {
		frame, typ, err := wire.Split(fr, wire.DefaultMaxBody)
		if err != nil || typ != wire.TypeMsg {
			f.Close()
			return "", fmt.Errorf("record %d: frame type %d, %v", i, typ, err)
		}
		if err := m.Decode(frame[wire.HeaderSize:]); err != nil {
			f.Close()
			return "", fmt.Errorf("record %d: %w", i, err)
		}
		if buf, err = enc.Append(buf[:0], &m, now.Unix()); err != nil {
			f.Close()
			return "", fmt.Errorf("record %d: %w", i, err)
		}
		bw.Write(buf)
		bw.WriteByte('\n')
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	for i := range benthosLinks {
		link := filepath.Join(dir, fmt.Sprintf("records-%03d.ndjson", i))
		os.Remove(link)
		if err := os.Link(path, link); err != nil {
			return "", fmt.Errorf("records file: %w", err)
		}
	}
	return filepath.Join(dir, "records-*.ndjson"), nil
}

// BenthosConfig is Benthos's configuration for a scenario: the file input
// line by line into http_client, 64 requests in flight; batched, 500
// records or 20 ms joined into one ndjson body by the archive processor.
func BenthosConfig(s *Scenario, glob, url string) string {
	ct := "application/json"
	batching := ""
	if s.Batch > 1 {
		ct = "application/x-ndjson"
		batching = fmt.Sprintf(`    batching:
      count: %d
      period: 20ms
      processors:
        - archive: {format: lines}
`, s.Batch)
	}
	return fmt.Sprintf(`# written by perf/suite for one scenario
http: {enabled: false}
logger: {level: warn}
input:
  file:
    paths: [%q]
    scanner: {lines: {}}
output:
  http_client:
    url: %q
    verb: POST
    headers: {Content-Type: %s}
    max_in_flight: 64
%s`, glob, url, ct, batching)
}

// RunBenthos runs Benthos (bin) on scenario s into a fresh sink and
// measures it as Run measures a connector: records/s at the sink, Benthos's
// CPU per record from /proc, the cores of each process. glob names the
// records files.
func (e *Env) RunBenthos(ctx context.Context, s Scenario, bin, glob string) (res Result) {
	res = Result{Scenario: s, Name: s.Name(), AllocsPerRecord: -1}
	if err := res.Scenario.Normalize(); err != nil {
		res.Error = err.Error()
		return res
	}
	s = res.Scenario
	res.Name = s.Name()
	if err := e.runBenthos(ctx, &s, bin, glob, &res); err != nil {
		res.Error = err.Error()
		return res
	}
	res.OK = true
	return res
}

func (e *Env) runBenthos(ctx context.Context, s *Scenario, bin, glob string, res *Result) error {
	ports, err := harness.FreePorts(1)
	if err != nil {
		return err
	}
	key := s.Key()
	logDir := filepath.Join(e.Dir, "logs")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return err
	}
	logf := func(name string) string { return filepath.Join(logDir, key+"."+name+".log") }
	sinkBase := "http://127.0.0.1:" + strconv.Itoa(ports[0])
	sk, err := harness.Command{Name: "sink", Bin: e.Bin, Args: []string{"sink", "--listen", "127.0.0.1:" + strconv.Itoa(ports[0]),
		"--check", "count", "--max-ids", "1", "--quiet", "--json"}, LogFile: logf("sink")}.Start()
	if err != nil {
		return err
	}
	defer sk.Kill()
	if err := sk.WaitUp(ctx, sinkBase+"/healthz", "", 15*time.Second); err != nil {
		return err
	}
	cfgPath := filepath.Join(logDir, key+".yaml")
	if err := os.WriteFile(cfgPath, []byte(BenthosConfig(s, glob, sinkBase+"/in")), 0o644); err != nil {
		return err
	}
	bt, err := harness.Command{Name: "benthos", Bin: bin, Args: []string{"-c", cfgPath}, LogFile: logf("benthos")}.Start()
	if err != nil {
		return err
	}
	defer bt.Kill()

	firstBy := time.Now().Add(30 * time.Second)
	for {
		st, err := getSinkStats(sinkBase)
		if err == nil && st.Records > 0 {
			break
		}
		if bt.Exited() || sk.Exited() || time.Now().After(firstBy) {
			return fmt.Errorf("no record reached the sink (benthos %s): see %s", exitOf(bt), logf("*"))
		}
		if !sleepCtx(ctx, 10*time.Millisecond) {
			return ctx.Err()
		}
	}
	if !sleepCtx(ctx, s.Warmup) {
		return ctx.Err()
	}
	type peerSample struct {
		at                time.Time
		records, bytes    int64
		cpu, sinkCPU      time.Duration
		wait, sinkWait    time.Duration
		invalid           int64
		lastInvalid       string
		benthosExitedLate bool
	}
	take := func() (peerSample, error) {
		var p peerSample
		p.cpu, p.sinkCPU = bt.CPU(), sk.CPU()
		p.wait, p.sinkWait = bt.RunWait(), sk.RunWait()
		st, err := getSinkStats(sinkBase)
		if err != nil {
			return p, fmt.Errorf("sink stats: %w", err)
		}
		p.at, p.records, p.bytes, p.invalid, p.lastInvalid = time.Now(), st.Records, st.Bytes, st.Invalid, st.Last
		return p, nil
	}
	s0, err := take()
	if err != nil {
		return err
	}
	if !sleepCtx(ctx, s.Measure) {
		return ctx.Err()
	}
	if bt.Exited() {
		return fmt.Errorf("Benthos ended before the window did (exit %d; its records ran out or it failed): see %s", bt.ExitCode(), logf("benthos"))
	}
	s1, err := take()
	if err != nil {
		return err
	}
	res.PeakRSSMiB = float64(bt.PeakRSS()) / (1 << 20)
	bt.Term(10 * time.Second)
	sk.Term(10 * time.Second)

	dt := s1.at.Sub(s0.at).Seconds()
	recs := s1.records - s0.records
	res.WindowSeconds, res.WindowRecords = dt, recs
	if dt > 0 {
		res.RecordsPerSec = float64(recs) / dt
		res.MBPerSecOut = float64(s1.bytes-s0.bytes) / dt / 1e6
		res.Cores = Cores{Connector: (s1.cpu - s0.cpu).Seconds() / dt, Sink: (s1.sinkCPU - s0.sinkCPU).Seconds() / dt}
		res.Waiting = Cores{Connector: (s1.wait - s0.wait).Seconds() / dt, Sink: (s1.sinkWait - s0.sinkWait).Seconds() / dt}
	}
	if recs > 0 {
		res.CPUSecPerMillion = (s1.cpu - s0.cpu).Seconds() / float64(recs) * 1e6
	}
	res.SinkRecords = s1.records
	if s1.invalid > 0 {
		return fmt.Errorf("the sink rejected %d of Benthos's bodies: %s", s1.invalid, s1.lastInvalid)
	}
	if recs <= 0 {
		return errors.New("no record reached the sink in the window")
	}
	return nil
}

// PeerComparison is an xdrhook matrix row next to Benthos's run of the same
// scenario.
type PeerComparison struct {
	Name        string  `json:"name"`
	Ours        float64 `json:"oursRecordsPerSec"`
	Peer        float64 `json:"benthosRecordsPerSec"`
	OursCPU     float64 `json:"oursCpuSecPerMillion"` // = CPU-µs per record
	PeerCPU     float64 `json:"benthosCpuSecPerMillion"`
	CPURatio    float64 `json:"cpuRatio"` // Benthos CPU per record ÷ xdrhook's
	OursSink    float64 `json:"oursSinkCores"`
	PeerSink    float64 `json:"benthosSinkCores"`
	PeerRSS     float64 `json:"benthosPeakRssMiB"`
	PeerOK      bool    `json:"benthosOk"`
	PeerProblem string  `json:"benthosError,omitempty"`
}

func comparePeer(matrix, peer []Result) []PeerComparison {
	var out []PeerComparison
	for _, p := range peer {
		o := p.Scenario
		o.Connector = Ours
		c := PeerComparison{Name: p.Name, Peer: p.RecordsPerSec, PeerCPU: p.CPUSecPerMillion, PeerSink: p.Cores.Sink,
			PeerRSS: p.PeakRSSMiB, PeerOK: p.OK, PeerProblem: p.Error}
		if r := findResult(matrix, o); r != nil && r.OK {
			c.Ours, c.OursCPU, c.OursSink = r.RecordsPerSec, r.CPUSecPerMillion, r.Cores.Sink
			if r.CPUSecPerMillion > 0 && p.OK {
				c.CPURatio = p.CPUSecPerMillion / r.CPUSecPerMillion
			}
		}
		out = append(out, c)
	}
	return out
}
