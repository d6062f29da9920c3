package suite

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xdrhook/xdrhook/perf/harness"
)

// The records file holds prebuilt(size) json messages, one per line, each
// a JSON object as xdrhook's encoder writes it, under benthosLinks names
// of one file.
func TestWriteBenthosRecords(t *testing.T) {
	dir := t.TempDir()
	glob, err := WriteBenthosRecords(dir, "small")
	if err != nil {
		t.Fatal(err)
	}
	names, _ := filepath.Glob(glob)
	if len(names) != benthosLinks {
		t.Fatalf("%d names, want %d", len(names), benthosLinks)
	}
	a, _ := os.Stat(names[0])
	b, _ := os.Stat(filepath.Join(dir, "records.ndjson"))
	if !os.SameFile(a, b) {
		t.Error("the names are not links of one file")
	}
	f, err := os.Open(names[len(names)-1])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	n, kinds := 0, map[string]int{}
	for sc.Scan() {
		var m struct {
			Msg string `json:"msg"`
			Key []any  `json:"key"`
		}
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %d: %v: %s", n+1, err, sc.Bytes())
		}
		if len(m.Key) != 4 {
			t.Fatalf("line %d: key %v", n+1, m.Key)
		}
		kinds[m.Msg]++
		n++
	}
	if n != prebuilt("small") || kinds["write"] == 0 || kinds["delete"] == 0 || kinds["write"]+kinds["delete"] != n {
		t.Errorf("%d lines (want %d), kinds %v", n, prebuilt("small"), kinds)
	}
}

func TestBenthosConfig(t *testing.T) {
	batched := Scenario{Connector: Benthos, Format: "json", Batch: 500, Proto: HTTP1, Size: "typical"}
	single := batched
	single.Batch = 1
	cb := BenthosConfig(&batched, "/r/records-*.ndjson", "http://127.0.0.1:9/in")
	cs := BenthosConfig(&single, "/r/records-*.ndjson", "http://127.0.0.1:9/in")
	for _, want := range []string{`paths: ["/r/records-*.ndjson"]`, "scanner: {lines: {}}", `url: "http://127.0.0.1:9/in"`, "max_in_flight: 64"} {
		if !strings.Contains(cb, want) || !strings.Contains(cs, want) {
			t.Errorf("configs lack %q:\n%s\n%s", want, cb, cs)
		}
	}
	if !strings.Contains(cb, "      count: 500\n      period: 20ms\n      processors:\n        - archive: {format: lines}\n") ||
		!strings.Contains(cb, "Content-Type: application/x-ndjson") {
		t.Errorf("batched config:\n%s", cb)
	}
	if strings.Contains(cs, "batching") || !strings.Contains(cs, "Content-Type: application/json") {
		t.Errorf("one-per-request config:\n%s", cs)
	}
	bad := batched
	bad.Proto = H2C
	if err := bad.Normalize(); err == nil {
		t.Error("a Benthos h2c row normalized")
	}
}

// The report puts Benthos next to xdrhook's rows, with the ratio and the
// targets, and says why when the rows were not run.
func TestPeerReport(t *testing.T) {
	rep := fakeReport()
	for _, s := range BenthosScenarios() {
		s.Normalize()
		if s.Size != "typical" {
			continue
		}
		r := Result{Scenario: s, Name: s.Name(), OK: true, RecordsPerSec: 20000, CPUSecPerMillion: 40, PeakRSSMiB: 40, Cores: Cores{Connector: 0.8, Sink: 0.05}}
		if s.Batch == 1 {
			r.CPUSecPerMillion = 300
		}
		rep.PeerRuns = append(rep.PeerRuns, r)
	}
	rep.Peer = comparePeer(rep.Matrix, rep.PeerRuns)
	rep.Targets = targets(rep)
	md := rep.Markdown()
	var ours *Result
	for i := range rep.Matrix {
		if rep.Matrix[i].Name == Headline.Name() && rep.Matrix[i].Connector == Ours {
			ours = &rep.Matrix[i]
		}
	}
	if ours == nil || ours.CPUSecPerMillion <= 0 {
		t.Fatal("the fake report has no headline row")
	}
	for _, want := range []string{
		"## A real peer: Benthos", "**Benthos does not decode XDR in this setup**",
		"| json · batch 500 · HTTP/1.1 · typical | 170,000 | 20,000 | " + f2(ours.CPUSecPerMillion) + " | 40.00 |",
		"CPU per record vs Benthos, batched (json · batch 500 · HTTP/1.1 · typical) | ≥ 10× less |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("REPORT.md lacks %q", want)
		}
	}
	rep.Peer, rep.PeerRuns, rep.PeerNote = nil, nil, "not run: QUICK mode does not build Benthos (make perf does)"
	rep.Targets = targets(rep)
	md = rep.Markdown()
	if !strings.Contains(md, "Benthos rows not run: QUICK mode does not build Benthos") || !strings.Contains(md, "not run (see the Benthos section)") {
		t.Error("the report does not say why Benthos was not run")
	}
}

// TestBenthosRun runs Benthos (built once into the user cache) on a short
// window into the sink: the figures are there and the sink refused nothing.
func TestBenthosRun(t *testing.T) {
	if testing.Short() {
		t.Skip("system tier: builds Benthos and starts processes; run by make test-system")
	}
	ctx := context.Background()
	bin, err := BenthosBinary(ctx, t.Logf)
	if err != nil {
		t.Skipf("Benthos %s could not be built: %v", BenthosVersion, err)
	}
	glob, err := WriteBenthosRecords(t.TempDir(), "small")
	if err != nil {
		t.Fatal(err)
	}
	env := &Env{Bin: harness.Binary(t), Dir: t.TempDir()}
	for _, b := range []int{500, 1} {
		s := Scenario{Connector: Benthos, Format: "json", Batch: b, Proto: HTTP1, Size: "small",
			Warmup: 300 * time.Millisecond, Measure: 700 * time.Millisecond}
		r := env.RunBenthos(ctx, s, bin, glob)
		if !r.OK {
			t.Fatalf("%s: %s", r.Name, r.Error)
		}
		if r.WindowRecords <= 0 || r.CPUSecPerMillion <= 0 || r.Cores.Connector <= 0 || r.PeakRSSMiB <= 0 {
			t.Errorf("%s: figures missing: %+v", r.Name, r)
		}
	}
}
