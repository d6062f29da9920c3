package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	xconfig "github.com/xdrhook/xdrhook/config"
	"github.com/xdrhook/xdrhook/connector"
	"github.com/xdrhook/xdrhook/dataplane"
	"github.com/xdrhook/xdrhook/perf/harness"
	"github.com/xdrhook/xdrhook/perf/harness/prom"
	"github.com/xdrhook/xdrhook/perf/sink"
	"github.com/xdrhook/xdrhook/perf/xdrsim"
)

// The four examples of the Connect for ESP SDK (Java plugins there), each
// one line of configuration here, end to end: emulator → xdrhook → sink,
// the sink keeping every message for the checks. In the short tier the
// connector runs in the test process (config → connector.New, as `xdrhook
// run` does); in the system tier it is the xdrhook binary in a process of
// its own.

// espExample is one example: the line, and what every message must show.
type espExample struct {
	name string
	line string
	// check is called with the messages of each sink (a, then b) and the
	// connector's skipped-filter count; it returns the number of records
	// accounted for (delivered + filtered), which must be every record.
	check func(t *testing.T, a, b []flatMsg, filtered int64, window [2]int64) int
}

// flatMsg is a flat-json message as the sink received it.
type flatMsg map[string]any

func (m flatMsg) meta(k string) any { return m["metadata"].(map[string]any)[k] }

func espExamples() []espExample {
	return []espExample{{
		name: "skip-by-generation",
		line: `filter: 'gen > 1'`,
		check: func(t *testing.T, a, b []flatMsg, filtered int64, _ [2]int64) int {
			for _, m := range a {
				if gen, _ := m.meta("gen").(json.Number).Int64(); gen <= 1 {
					t.Fatalf("generation %v delivered: %v", gen, m)
				}
			}
			if filtered == 0 || len(a) == 0 {
				t.Errorf("filtered %d, delivered %d: the workload has both", filtered, len(a))
			}
			return len(a) + int(filtered)
		},
	}, {
		name: "route-by-bin-value",
		line: `routing: {mode: expression, expression: 'type(bins.age) == "int" && bins.age % 2 == 0 ? ["a"] : ["b"]'}`,
		check: func(t *testing.T, a, b []flatMsg, filtered int64, _ [2]int64) int {
			even := func(v any) bool {
				n, ok := v.(json.Number)
				i, err := n.Int64()
				return ok && err == nil && i%2 == 0
			}
			for _, m := range a {
				if !even(m["age"]) {
					t.Fatalf("at a: age %#v", m["age"])
				}
			}
			for _, m := range b {
				if even(m["age"]) {
					t.Fatalf("at b: age %v", m["age"])
				}
			}
			if len(a) == 0 || len(b) == 0 {
				t.Errorf("a %d b %d: the workload has both", len(a), len(b))
			}
			return len(a) + len(b)
		},
	}, {
		name: "add-bins-from-parameters",
		line: `transform: {set: {source_dc: '"dc-west"', region: 'namespace + "-eu"'}}`,
		check: func(t *testing.T, a, b []flatMsg, filtered int64, _ [2]int64) int {
			writes := 0
			for _, m := range a {
				if m.meta("msg") == "delete" {
					if _, ok := m["source_dc"]; ok {
						t.Fatalf("a delete carries computed bins: %v", m)
					}
					continue
				}
				writes++
				if m["source_dc"] != "dc-west" || m["region"] != "test-eu" {
					t.Fatalf("write without its computed bins: %v", m)
				}
			}
			if writes == 0 {
				t.Error("no writes")
			}
			return len(a)
		},
	}, {
		name: "wrap-with-a-timestamp",
		line: `transform: {set: {shipped_at: 'now()'}}`,
		check: func(t *testing.T, a, b []flatMsg, filtered int64, w [2]int64) int {
			for _, m := range a {
				if m.meta("msg") == "delete" {
					continue
				}
				n, _ := m["shipped_at"].(json.Number)
				ts, err := n.Int64()
				if err != nil || ts < w[0] || ts > w[1] {
					t.Fatalf("shipped_at %#v outside the run [%d, %d]", m["shipped_at"], w[0], w[1])
				}
			}
			return len(a)
		},
	}}
}

const espBase = `service:
  port: {{XDR_PORT}}
  address: 127.0.0.1
  manage: {port: {{MANAGE_PORT}}}
destinations:
  a: {urls: ["%s/in"]}
  b: {urls: ["%s/in"]}
format: {mode: flat-json}
batching: {max-records: 50, batch-interval: 20}
logging: {level: warn}
%s
`

// lockedBuffer is the sink's store: written under the sink's lock, read
// after it closed.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// messages parses the store: one line per message, each distinct id once.
func messages(t *testing.T, l *lockedBuffer) []flatMsg {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []flatMsg
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(l.b.Bytes()))
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var line struct {
			NS, Digest string
			LUT        int64
			Raw        flatMsg `json:"raw"`
		}
		d := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		d.UseNumber()
		if err := d.Decode(&line); err != nil {
			t.Fatalf("store line %s: %v", sc.Bytes(), err)
		}
		id := line.NS + line.Digest + strconv.FormatInt(line.LUT, 10)
		if seen[id] {
			continue
		}
		seen[id] = true
		out = append(out, line.Raw)
	}
	return out
}

func TestESPExamplesInProcess(t *testing.T) {
	for _, ex := range espExamples() {
		t.Run(ex.name, func(t *testing.T) { runESPExample(t, ex, false) })
	}
}

func TestESPExamplesProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("system tier: run by make test-system")
	}
	for _, ex := range espExamples() {
		t.Run(ex.name, func(t *testing.T) { runESPExample(t, ex, true) })
	}
}

func runESPExample(t *testing.T, ex espExample, process bool) {
	var stores [2]*lockedBuffer
	var sinks [2]*sink.Sink
	for i := range sinks {
		stores[i] = &lockedBuffer{}
		sinks[i] = harness.StartSink(t, sink.Config{StoreW: stores[i], StoreRaw: true})
	}
	line := ex.line
	if !strings.HasPrefix(line, "routing:") {
		line += "\nrouting: {mode: static, destination: a}"
	}
	yml := fmt.Sprintf(espBase, sinks[0].URL(), sinks[1].URL(), line)
	start := time.Now().UnixMilli()
	var xdrAddr string
	var metricsText func() string
	var stop func()
	if process {
		proc := harness.Connector{Config: yml}.Start(t)
		xdrAddr = proc.XDRAddr
		metricsText = func() string {
			_, body, err := proc.Get("/metrics")
			if err != nil {
				t.Fatal(err)
			}
			return body
		}
		stop = func() {
			if code := proc.Term(10 * time.Second); code != 0 {
				t.Errorf("SIGTERM: exit %d\n%s", code, proc.Log())
			}
		}
	} else {
		ports, err := harness.FreePorts(2)
		if err != nil {
			t.Fatal(err)
		}
		y := strings.ReplaceAll(yml, "{{XDR_PORT}}", strconv.Itoa(ports[0]))
		y = strings.ReplaceAll(y, "{{MANAGE_PORT}}", strconv.Itoa(ports[1]))
		cfg, err := xconfig.Parse(ex.name+".yml", []byte(y), xconfig.Options{})
		if err != nil {
			t.Fatal(err)
		}
		e, err := connector.New(cfg, dataplane.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, "test")
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Start(); err != nil {
			t.Fatal(err)
		}
		xdrAddr = cfg.Service.ListenAddrs()[0]
		metricsText = func() string {
			var b bytes.Buffer
			e.WritePrometheus(&b)
			return b.String()
		}
		stop = func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := e.Stop(ctx); err != nil {
				t.Error(err)
			}
		}
	}
	w := xdrsim.DefaultWorkload()
	w.Size = xdrsim.SizeSmall
	w.Keys = 200
	const n = 1500
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sum, err := xdrsim.Run(ctx, xdrsim.Config{
		Target: xdrAddr, Conns: 2, Window: 64, Count: n, Workload: w,
		KeepSettled: n, DrainTimeout: 20 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Generated != n || sum.Settled != n || sum.Codes[0] != n {
		t.Fatalf("settled %d of %d, codes %v", sum.Settled, sum.Generated, sum.Codes)
	}
	mt := metricsText()
	stop()
	end := time.Now().UnixMilli()
	for _, s := range sinks {
		if st := s.Stats(); st.Invalid != 0 {
			t.Errorf("%d invalid requests, last: %s", st.Invalid, st.LastInvalid)
		}
		s.Close() // flushes the store
	}
	pm, err := prom.Parse(strings.NewReader(mt))
	if err != nil {
		t.Fatal(err)
	}
	filtered := int64(pm.Sum(`xdrhook_records_settled_total{outcome="skipped-filter"}`))
	if errs := pm.Sum("xdrhook_expression_errors_total"); errs != 0 {
		t.Errorf("%v expression errors", errs)
	}
	a, b := messages(t, stores[0]), messages(t, stores[1])
	if got := ex.check(t, a, b, filtered, [2]int64{start, end}); got != n {
		t.Errorf("accounted for %d records of %d (a %d, b %d, filtered %d)", got, n, len(a), len(b), filtered)
	}
	t.Logf("%s: %d records: a %d, b %d, filtered %d", ex.line, n, len(a), len(b), filtered)
}
