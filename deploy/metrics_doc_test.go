package deploy

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/xdrhook/xdrhook/config"
	"github.com/xdrhook/xdrhook/connector"
	"github.com/xdrhook/xdrhook/dataplane"
	"github.com/xdrhook/xdrhook/perf/harness/prom"
)

// notOnDashboard are metrics the engine exports that the dashboard leaves
// out on purpose, each with its reason. README lists them all the same.
var notOnDashboard = map[string]string{}

// exportedFamilies builds an engine from a config with one destination
// and returns the metric families it exports (xdrhook_ only, histograms
// by their family name).
func exportedFamilies(t *testing.T) []string {
	t.Helper()
	cfg, err := config.Parse("metrics.yml", []byte(`
destinations:
  d: {urls: ["http://127.0.0.1:9/"]}
routing: {mode: static, destination: d}
`), config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e, err := connector.New(cfg, dataplane.Options{}, "test")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	e.WritePrometheus(&buf)
	m, err := prom.Parse(&buf)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range m.Families() {
		if strings.HasPrefix(f, "xdrhook_") {
			out = append(out, f)
		}
	}
	if len(out) < 20 {
		t.Fatalf("only %d metric families exported: %v", len(out), out)
	}
	return out
}

// Every metric the engine registers is in README's metrics table (by its
// full name, in backquotes) and on the Grafana dashboard, or listed in
// notOnDashboard with a reason: a metric nobody can find is not there for
// an operator.
func TestEveryMetricDocumented(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	onDashboard := map[string]bool{}
	for _, expr := range loadDashboard(t).queries() {
		for _, n := range metricNames(expr) {
			onDashboard[n] = true
		}
	}
	for _, f := range exportedFamilies(t) {
		if !bytes.Contains(readme, []byte("`"+f+"`")) && !bytes.Contains(readme, []byte("`"+f+"{")) {
			t.Errorf("%s: not in README's metrics table", f)
		}
		if _, ok := notOnDashboard[f]; !ok && !onDashboard[f] && !onDashboard[f+"_bucket"] {
			t.Errorf("%s: not on the Grafana dashboard (%s) nor listed in notOnDashboard", f, dashboardPath)
		}
	}
}
