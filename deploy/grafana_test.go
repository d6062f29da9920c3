package deploy

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/xdrhook/xdrhook/perf/harness"
	"github.com/xdrhook/xdrhook/perf/harness/prom"
	"github.com/xdrhook/xdrhook/perf/xdrsim"
)

const dashboardPath = "grafana/xdrhook-dashboard.json"

// generatedSeries are series Prometheus makes itself, per scrape target:
// a dashboard may use them though no /metrics exports them.
var generatedSeries = map[string]bool{"up": true, "scrape_duration_seconds": true, "scrape_samples_scraped": true}

type dashboard struct {
	Title         string                    `json:"title"`
	UID           string                    `json:"uid"`
	SchemaVersion int                       `json:"schemaVersion"`
	Panels        []panel                   `json:"panels"`
	Templating    struct{ List []variable } `json:"templating"`
}

type panel struct {
	ID         int                      `json:"id"`
	Type       string                   `json:"type"`
	Title      string                   `json:"title"`
	GridPos    struct{ H, W, X, Y int } `json:"gridPos"`
	Datasource *datasource              `json:"datasource"`
	Targets    []struct {
		RefID      string      `json:"refId"`
		Expr       string      `json:"expr"`
		Datasource *datasource `json:"datasource"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // collapsed rows
}

type datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type variable struct {
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Query      json.RawMessage `json:"query"`
	Definition string          `json:"definition"`
}

func loadDashboard(t *testing.T) *dashboard {
	t.Helper()
	data, err := os.ReadFile(dashboardPath)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("%s: %v", dashboardPath, err)
	}
	return &d
}

// allPanels flattens rows.
func (d *dashboard) allPanels() []panel {
	var out []panel
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			out = append(out, p)
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return out
}

// queries returns every PromQL text of the dashboard, with where it is.
func (d *dashboard) queries() map[string]string {
	q := map[string]string{}
	for _, p := range d.allPanels() {
		for _, tg := range p.Targets {
			q[p.Title+" / "+tg.RefID] = tg.Expr
		}
	}
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		q["variable "+v.Name] = v.Definition
		var s string
		var o struct{ Query string }
		if json.Unmarshal(v.Query, &s) == nil {
			q["variable "+v.Name+" query"] = s
		} else if json.Unmarshal(v.Query, &o) == nil {
			q["variable "+v.Name+" query"] = o.Query
		}
	}
	return q
}

var (
	promStrings   = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|` + "`[^`]*`")
	promMatchers  = regexp.MustCompile(`\{[^{}]*\}`)
	promRanges    = regexp.MustCompile(`\[[^\]]*\]`)
	promGrouping  = regexp.MustCompile(`\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promVars      = regexp.MustCompile(`\$\{?\w+\}?`)
	promIdent     = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)
	promKeywords  = map[string]bool{"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true, "offset": true, "bool": true, "and": true, "or": true, "unless": true, "atan2": true, "inf": true, "nan": true, "e": true}
	promFuncBegin = regexp.MustCompile(`^\s*\(`)
)

// metricNames returns the metric names a PromQL expression (or a Grafana
// label_values(...) query) reads: identifiers that are neither functions,
// keywords, label names nor inside strings, matchers or ranges.
func metricNames(expr string) []string {
	s := promStrings.ReplaceAllString(expr, `""`)
	s = promVars.ReplaceAllString(s, " ")
	for promMatchers.MatchString(s) {
		s = promMatchers.ReplaceAllString(s, " ")
	}
	s = promRanges.ReplaceAllString(s, " ")
	s = promGrouping.ReplaceAllString(s, " ")
	// label_values(metric, label): the second argument is a label.
	s = regexp.MustCompile(`label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*,\s*\w+\s*\)`).ReplaceAllString(s, " $1 ")
	var out []string
	for _, loc := range promIdent.FindAllStringIndex(s, -1) {
		id := s[loc[0]:loc[1]]
		if promKeywords[strings.ToLower(id)] || promFuncBegin.MatchString(s[loc[1]:]) {
			continue
		}
		if loc[0] > 0 && (s[loc[0]-1] >= '0' && s[loc[0]-1] <= '9' || s[loc[0]-1] == '.') {
			continue // 1e3, 0.5 and the like
		}
		out = append(out, id)
	}
	return out
}

func TestMetricNamesParser(t *testing.T) {
	for expr, want := range map[string]string{
		`sum by (kind) (rate(xdrhook_records_received_total{job="$job", instance=~"$instance"}[$__rate_interval]))`: "xdrhook_records_received_total",
		`histogram_quantile(0.99, sum by (le, destination) (rate(a_bucket{x="y"}[5m])))`:                            "a_bucket",
		`sum(rate(a{rc=~"9|11"}[1m])) / sum(rate(b[1m])) > bool 0.5`:                                                "a b",
		`label_values(xdrhook_records_in_flight{job="$job"}, instance)`:                                             "xdrhook_records_in_flight",
		`sum(up{job="x"}) * on (instance) group_left (version) c`:                                                   "up c",
		`rate(process_cpu_seconds_total[1m]) * 1e3`:                                                                 "process_cpu_seconds_total",
	} {
		if got := strings.Join(metricNames(expr), " "); got != want {
			t.Errorf("%s: %q, want %q", expr, got, want)
		}
	}
}

// TestGrafanaDashboard checks the dashboard's structure, then starts a
// real `xdrhook run`, sends it records, scrapes its /metrics and asserts
// that every metric any panel or variable queries is exported.
func TestGrafanaDashboard(t *testing.T) {
	d := loadDashboard(t)
	if d.Title == "" || d.UID == "" || d.SchemaVersion < 30 {
		t.Errorf("title %q uid %q schemaVersion %d", d.Title, d.UID, d.SchemaVersion)
	}
	vars := map[string]bool{}
	for _, v := range d.Templating.List {
		vars[v.Name] = true
	}
	if !vars["datasource"] {
		t.Error("no datasource variable: the dashboard should import onto any Prometheus")
	}
	ids := map[int]bool{}
	n := 0
	for _, p := range d.allPanels() {
		if ids[p.ID] || p.ID == 0 {
			t.Errorf("panel %q: id %d missing or used twice", p.Title, p.ID)
		}
		ids[p.ID] = true
		if p.Title == "" || p.GridPos.W <= 0 || p.GridPos.H <= 0 || p.GridPos.X+p.GridPos.W > 24 {
			t.Errorf("panel %q: gridPos %+v", p.Title, p.GridPos)
		}
		if p.Type == "row" {
			continue
		}
		n++
		if len(p.Targets) == 0 {
			t.Errorf("panel %q: no query", p.Title)
		}
		refs := map[string]bool{}
		for _, tg := range p.Targets {
			if tg.Expr == "" || tg.RefID == "" || refs[tg.RefID] {
				t.Errorf("panel %q: target %q: empty expression or refId used twice", p.Title, tg.RefID)
			}
			refs[tg.RefID] = true
			for _, ds := range []*datasource{p.Datasource, tg.Datasource} {
				if ds == nil || ds.Type != "prometheus" || ds.UID != "${datasource}" {
					t.Errorf("panel %q: datasource %+v: want prometheus ${datasource}", p.Title, ds)
				}
			}
			for _, v := range promVars.FindAllString(tg.Expr, -1) {
				name := strings.Trim(v, "${}")
				if !vars[name] && !strings.HasPrefix(name, "__") {
					t.Errorf("panel %q: $%s is no dashboard variable", p.Title, name)
				}
			}
		}
	}
	if n < 10 {
		t.Errorf("%d panels", n)
	}

	// What the dashboard reads.
	used := map[string][]string{}
	for where, q := range d.queries() {
		names := metricNames(q)
		if len(names) == 0 {
			t.Errorf("%s: no metric in %q", where, q)
		}
		for _, m := range names {
			used[m] = append(used[m], where)
		}
	}
	for _, need := range []string{"xdrhook_records_received_total", "xdrhook_records_settled_total", "xdrhook_request_duration_seconds_bucket", "xdrhook_records_in_flight", "xdrhook_requests_total", "xdrhook_reply_latency_seconds_bucket"} {
		if used[need] == nil {
			t.Errorf("no panel shows %s", need)
		}
	}

	// What xdrhook exports: a live process with traffic (histograms have
	// series only once observed).
	if testing.Short() {
		t.Skip("system tier: the metrics of a live xdrhook are checked by make test-system")
	}
	exported := scrapeLiveXdrhook(t)
	var names []string
	for m := range used {
		names = append(names, m)
	}
	sort.Strings(names)
	for _, m := range names {
		switch {
		case exported[m]:
		case generatedSeries[m]:
			t.Logf("%s: made by Prometheus per target", m)
		default:
			t.Errorf("%s (in %v) is not exported at /metrics", m, used[m])
		}
	}
	t.Logf("%d panels, %d metric names, all exported", n, len(names))
}

// scrapeLiveXdrhook runs `xdrhook run` against a local destination that
// answers 200, sends it records with the emulator, and returns the metric
// names of its /metrics.
func scrapeLiveXdrhook(t *testing.T) map[string]bool {
	t.Helper()
	dest := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
	}))
	defer dest.Close()
	p := harness.Connector{Config: `service:
  port: {{XDR_PORT}}
  address: 127.0.0.1
  manage: {port: {{MANAGE_PORT}}}
destinations:
  search: {urls: ["` + dest.URL + `/_bulk"]}
routing: {mode: static, destination: search}
format: {mode: flat-json, framing: es-bulk}
batching: {max-records: 50, batch-interval: 10}
logging: {level: warn}
`}.Start(t)
	w := xdrsim.DefaultWorkload()
	w.Size = xdrsim.SizeSmall
	w.Compress = 0.1
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sm, err := xdrsim.Run(ctx, xdrsim.Config{Target: p.XDRAddr, Conns: 2, Count: 500, Workload: w, HealthInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if sm.Settled != 500 {
		t.Fatalf("settled %d of 500:\n%s\n%s", sm.Settled, sm.String(), p.Log())
	}
	m, err := prom.Scrape(p.MetricsURL())
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	// Sample names (a histogram's name_bucket, name_sum, name_count) and
	// family names (the histogram's name).
	out := map[string]bool{}
	for _, n := range append(m.Names(), m.Families()...) {
		out[n] = true
	}
	if !out["xdrhook_request_duration_seconds_bucket"] {
		t.Logf("note: no _bucket series in the scrape: %v", m.Names())
	}
	return out
}
