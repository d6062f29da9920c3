package prom

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// text is Prometheus text as VictoriaMetrics/metrics writes it (no TYPE
// lines: every family untyped), with a typed histogram and summary too.
const text = `go_memstats_mallocs_total 5917
xdrhook_records_settled_total{destination="sink",outcome="delivered"} 20480
xdrhook_records_settled_total{outcome="delivered"} 7
xdrhook_records_settled_total{outcome="skipped"} 3
xdrhook_request_duration_seconds_bucket{destination="sink",le="0.005"} 4
xdrhook_request_duration_seconds_bucket{destination="sink",le="+Inf"} 5
xdrhook_request_duration_seconds_sum{destination="sink"} 0.25
xdrhook_request_duration_seconds_count{destination="sink"} 5
go_gc_duration_seconds{quantile="0.5"} 0.001
go_gc_duration_seconds_sum 0.01
go_gc_duration_seconds_count 9
go_cgo_calls_count 1
# HELP typed_seconds A typed histogram.
# TYPE typed_seconds histogram
typed_seconds_bucket{le="1"} 2
typed_seconds_bucket{le="+Inf"} 3
typed_seconds_sum 1.5
typed_seconds_count 3
`

func TestParse(t *testing.T) {
	m, err := Parse(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	for series, want := range map[string]float64{
		"go_memstats_mallocs_total": 5917,
		`xdrhook_records_settled_total{outcome="delivered",destination="sink"}`: 20480, // any label order
		`xdrhook_records_settled_total{destination="sink",outcome="delivered"}`: 20480,
		`xdrhook_request_duration_seconds_bucket{destination="sink",le="+Inf"}`: 5,
		`typed_seconds_bucket{le="1"}`:                                          2,
		`typed_seconds_count`:                                                   3,
		`go_gc_duration_seconds{quantile="0.5"}`:                                0.001,
	} {
		if v, ok := m.Value(series); !ok || v != want {
			t.Errorf("%s: %v %v, want %v", series, v, ok, want)
		}
	}
	for _, absent := range []string{"go_memstats_frees_total", `xdrhook_records_settled_total{outcome="retry"}`,
		"xdrhook_records_settled_total", `xdrhook_records_settled_total{destination="sink"}`, "not a series{"} {
		if v, ok := m.Value(absent); ok {
			t.Errorf("%s found: %v", absent, v)
		}
	}
	for sel, want := range map[string]float64{
		"xdrhook_records_settled_total":                           20490,
		`xdrhook_records_settled_total{outcome="delivered"}`:      20487,
		`xdrhook_records_settled_total{destination="sink"}`:       20480,
		`xdrhook_records_settled_total{outcome="retry"}`:          0,
		"xdrhook_request_duration_seconds_count":                  5,
		`xdrhook_request_duration_seconds_bucket{le="+Inf"}`:      5,
		`xdrhook_records_settled_total{outcome="delivered",x=""}`: 20487, // an empty label is no label
	} {
		if got := m.Sum(sel); got != want {
			t.Errorf("Sum(%s) = %v, want %v", sel, got, want)
		}
	}
	if got := m.Families(); !slices.Equal(got, []string{"go_cgo_calls_count", "go_gc_duration_seconds", "go_memstats_mallocs_total",
		"typed_seconds", "xdrhook_records_settled_total", "xdrhook_request_duration_seconds"}) {
		t.Errorf("Families %v", got)
	}
	if got := m.Names(); !slices.Contains(got, "xdrhook_request_duration_seconds_bucket") || !slices.Contains(got, "typed_seconds_sum") ||
		slices.Contains(got, "typed_seconds") {
		t.Errorf("Names %v", got)
	}
}

func TestParseError(t *testing.T) {
	if _, err := Parse(strings.NewReader("a{b=\"c\" 1\n")); err == nil {
		t.Error("no error for a broken line")
	}
}

func TestScrape(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(text))
	}))
	defer srv.Close()
	if v := Series(srv.URL+"/metrics", `xdrhook_records_settled_total{outcome="skipped"}`); v != 3 {
		t.Errorf("Series %v", v)
	}
	if v := Series(srv.URL+"/metrics", "absent"); v != -1 {
		t.Errorf("absent series %v", v)
	}
	if v := Series(srv.URL+"/other", "go_memstats_mallocs_total"); v != -1 {
		t.Errorf("a 404 scrape %v", v)
	}
}
