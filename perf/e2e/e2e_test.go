// Package e2e runs the product as users run it: the XDR emulator, the
// xdrhook binary in its own process, and the checking sink, on loopback.
package e2e

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/xdrhook/xdrhook/perf/harness"
	"github.com/xdrhook/xdrhook/perf/harness/prom"
	"github.com/xdrhook/xdrhook/perf/sink"
	"github.com/xdrhook/xdrhook/perf/xdrsim"
)

type combo struct {
	format, framing string
	batching        bool
	dest            string // h1: HTTP/1.1, h2: h2c
}

func (c combo) set() string {
	b := "single"
	if c.batching {
		b = c.framing
	}
	return c.format + "-" + b + "-" + c.dest
}

// matrix is every format with every framing it takes, batched, plus each
// format one record per request; each over HTTP/1.1 and h2c.
func matrix() []combo {
	var cs []combo
	for _, dest := range []string{"h1", "h2"} {
		for _, f := range []struct {
			format   string
			framings []string
		}{
			{"json", []string{"ndjson", "json-array", "es-bulk", "splunk-hec"}},
			{"flat-json", []string{"ndjson", "json-array", "es-bulk", "splunk-hec"}},
			{"message-pack", []string{"msgpack-array"}},
			{"avro", []string{"avro-ocf"}},
		} {
			for _, fr := range f.framings {
				cs = append(cs, combo{f.format, fr, true, dest})
			}
			cs = append(cs, combo{f.format, "", false, dest})
		}
	}
	return cs
}

func config(sinkURL string, cs []combo) string {
	var b strings.Builder
	fmt.Fprintf(&b, `service:
  port: {{XDR_PORT}}
  address: 127.0.0.1
  manage: {port: {{MANAGE_PORT}}}
  reply-deadline: 5000
destinations:
  h1: {urls: ["%[1]s/ingest"], protocol: HTTP_1_1}
  h2: {urls: ["%[1]s/ingest"], protocol: HTTP_2, max-connections-per-endpoint: 2}
routing: {mode: static, destination: h1}
format: {mode: json}
batching: {max-records: 50, batch-interval: 20}
logging: {level: warn}
namespaces:
  test:
    sets:
`, sinkURL)
	for _, c := range cs {
		fmt.Fprintf(&b, "      %s:\n        routing: {mode: static, destination: %s}\n", c.set(), c.dest)
		if c.batching {
			fmt.Fprintf(&b, "        format: {mode: %s, framing: %s}\n        batching: {max-records: 50, batch-interval: 20}\n", c.format, c.framing)
		} else {
			fmt.Fprintf(&b, "        format: {mode: %s}\n        batching: {enabled: false}\n", c.format)
		}
	}
	return b.String()
}

// TestEveryFormatFramingAndProtocol streams the emulator's full mix of
// records (writes, partial and metadata-only writes, deletes, compressed
// frames, every particle type) through one xdrhook process whose per-set
// overrides cover the whole matrix, into a sink that validates every
// message with independent decoders. Every record must be answered 0 and
// arrive at least once; nothing may be invalid.
func TestEveryFormatFramingAndProtocol(t *testing.T) {
	if testing.Short() {
		t.Skip("system tier: run by make test-system")
	}
	sk := harness.StartSink(t, sink.Config{})
	cs := matrix()
	proc := harness.Connector{Config: config(sk.URL(), cs)}.Start(t)

	w := xdrsim.DefaultWorkload()
	w.Size = xdrsim.SizeSmall
	w.Keys = 2000
	w.Compress = 0.05
	w.NoSetRatio = 0.02
	w.Sets = nil
	for _, c := range cs {
		w.Sets = append(w.Sets, c.set())
	}
	const n = 6000
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sum, err := xdrsim.Run(ctx, xdrsim.Config{
		Target: proc.XDRAddr, Conns: 4, Window: 64, Count: n, Workload: w,
		KeepSettled: n, DrainTimeout: 20 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	v := xdrsim.Verify(&sum, sk.IDs())
	st := sk.Stats()
	t.Logf("records %d settled %d abandoned %d retries %d; sink requests %d records %d invalid %d duplicates %d; verify missing %d",
		sum.Generated, sum.Settled, sum.Abandoned, sum.Retries, st.Requests, st.Records, st.Invalid, st.Duplicates, v.Missing)
	if sum.Generated != n || sum.Settled != n || sum.Codes[0] != n {
		t.Errorf("settled %d of %d, codes %v", sum.Settled, sum.Generated, sum.Codes)
	}
	if v.Missing != 0 || v.Checked != n {
		t.Errorf("verify: %+v", v)
	}
	if st.Invalid != 0 {
		t.Errorf("%d invalid requests, last: %s", st.Invalid, st.LastInvalid)
	}
	for _, f := range []string{sink.FormatJSON, sink.FormatNDJSON, sink.FormatJSONArray, sink.FormatESBulk,
		sink.FormatSplunkHEC, sink.FormatMsgpack, sink.FormatMsgpackArray, sink.FormatAvro, sink.FormatAvroOCF} {
		if fs := st.ByFormat[f]; fs == nil || fs.Records == 0 {
			t.Errorf("no %s bodies arrived (%v)", f, st.ByFormat)
		}
	}
	for _, m := range []string{"json", "flat-json", "message-pack", "avro"} {
		if st.ByMode[m] == 0 {
			t.Errorf("no %s messages arrived (%v)", m, st.ByMode)
		}
	}
	if st.ByProto["HTTP/1.1"] == 0 || st.ByProto["HTTP/2.0"] == 0 {
		t.Errorf("protocols %v", st.ByProto)
	}
	// xdrhook run gives the runtime one P more than the CPUs its event loops
	// take (cmd/xdrhook/procs.go); this test's own GOMAXPROCS is the default.
	if os.Getenv("GOMAXPROCS") == "" {
		m, err := prom.Scrape(proc.MetricsURL())
		if err != nil {
			t.Fatal(err)
		}
		if v, ok := m.Value("go_gomaxprocs"); !ok || int(v) != runtime.GOMAXPROCS(0)+1 {
			t.Errorf("go_gomaxprocs %v (%v), want %d: the CPUs and one", v, ok, runtime.GOMAXPROCS(0)+1)
		}
	}
	if t.Failed() {
		t.Log(proc.Log())
	}
	if code := proc.Term(10 * time.Second); code != 0 {
		t.Errorf("SIGTERM: exit %d\n%s", code, proc.Log())
	}
}
