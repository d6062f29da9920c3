package suite

import (
	"strings"
	"testing"

	"github.com/xdrhook/xdrhook/config"
)

// The h2-over-TLS row: its config speaks HTTP/2 to an https URL and trusts
// the sink's certificate by tls.ca-file (and loads as xdrhook reads it), it
// is in the full matrix once, next to the h2c row it compares with, and
// only xdrhook runs it.
func TestH2TLSScenario(t *testing.T) {
	s := H2TLSScenario
	if err := s.Normalize(); err != nil {
		t.Fatal(err)
	}
	if got := s.Name(); got != "json · 1 per request · h2 (TLS) · small" {
		t.Errorf("name %q", got)
	}
	s.SinkCA = "/tmp/sink.pem"
	cfg := ConnectorConfig(&s, 1, 2, "https://127.0.0.1:9/in")
	if !strings.Contains(cfg, "    protocol: HTTP_2\n    tls: {ca-file: \"/tmp/sink.pem\"}\n") {
		t.Errorf("config:\n%s", cfg)
	}
	c, err := config.Parse("perf.yml", []byte(cfg), config.Options{SkipFiles: true})
	if err != nil {
		t.Fatalf("the row's config does not load: %v\n%s", err, cfg)
	}
	if d := c.Destinations["sink"]; d.TLS.CAFile != "/tmp/sink.pem" {
		t.Errorf("loaded without the ca-file: %+v", d.TLS)
	}
	if bad := (Scenario{Connector: Baseline, Format: "json", Proto: H2}); bad.Normalize() == nil {
		t.Error("a baseline h2 row normalizes")
	}
	ms := (&Options{}).matrix()
	n := 0
	for i, m := range ms {
		if m.Proto != H2 {
			continue
		}
		n++
		prev := ms[i-2] // ms[i-1] is the baseline run of the h2c rows
		if prev.Connector != Ours || prev.Format != "json" || prev.Batch != 1 || prev.Proto != H2C || prev.Size != "small" {
			t.Errorf("the h2 row follows %+v, not the h2c row", prev)
		}
	}
	if n != 1 {
		t.Errorf("%d h2 rows in the matrix", n)
	}
}
