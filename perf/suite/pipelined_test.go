package suite

import (
	"strings"
	"testing"

	"github.com/xdrhook/xdrhook/config"
)

// The pipelined row: its config turns http1-pipelining on (and loads as
// xdrhook reads it), it is in the full matrix once, next to the keep-alive
// row it compares with, and only xdrhook runs it.
func TestPipelinedScenario(t *testing.T) {
	s := PipelinedScenario
	if err := s.Normalize(); err != nil {
		t.Fatal(err)
	}
	if got := s.Name(); got != "json · 1 per request · HTTP/1.1 pipelined · small" {
		t.Errorf("name %q", got)
	}
	cfg := ConnectorConfig(&s, 1, 2, "http://127.0.0.1:9/in")
	if !strings.Contains(cfg, "    protocol: HTTP_1_1\n    http1-pipelining: true\n") {
		t.Errorf("config:\n%s", cfg)
	}
	c, err := config.Parse("perf.yml", []byte(cfg), config.Options{SkipFiles: true})
	if err != nil {
		t.Fatalf("the row's config does not load: %v\n%s", err, cfg)
	}
	if !c.Destinations["sink"].HTTP1Pipelining {
		t.Error("loaded without pipelining")
	}
	if bad := (Scenario{Connector: Baseline, Format: "json", Proto: HTTP1Pipelined}); bad.Normalize() == nil {
		t.Error("a baseline pipelined row normalizes")
	}
	ms := (&Options{}).matrix()
	n := 0
	for i, m := range ms {
		if m.Proto != HTTP1Pipelined {
			continue
		}
		n++
		prev := ms[i-2] // ms[i-1] is the baseline run of the keep-alive rows

		if prev.Connector != Ours || prev.Format != "json" || prev.Batch != 1 || prev.Proto != HTTP1 || prev.Size != "small" {
			t.Errorf("the pipelined row follows %+v, not the keep-alive row", prev)
		}
	}
	if n != 1 {
		t.Errorf("%d pipelined rows in the matrix", n)
	}
}
