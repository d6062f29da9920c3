package config

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestConnectionTTLAndHealthCheck(t *testing.T) {
	c := mustParse(t, minimal, nil)
	d := c.Destinations["d"]
	if d.ConnectionTTL != 0 || d.HealthCheck != nil {
		t.Fatalf("defaults: ttl %v, health-check %+v", d.ConnectionTTL, d.HealthCheck)
	}
	c = mustParse(t, `
destinations:
  d:
    urls: ["http://127.0.0.1:9200/_bulk"]
    connection-ttl: 60000
    health-check: {call-timeout: 500}
routing: {mode: static, destination: d}
`, nil)
	d = c.Destinations["d"]
	h := d.HealthCheck
	if d.ConnectionTTL != time.Minute || h == nil {
		t.Fatalf("ttl %v, health-check %+v", d.ConnectionTTL, h)
	}
	if h.CallTimeout != 500*time.Millisecond || h.Interval != 5*time.Second || h.HealthyThreshold != 3 || h.UnhealthyThreshold != 3 ||
		h.Path != "" || h.Method != "GET" || h.Expected.String() != "200-499" {
		t.Fatalf("health-check %+v expected %s", h, h.Expected.String())
	}
	var out bytes.Buffer
	if err := c.WriteYAML(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"connection-ttl: 60000\n", "health-check:\n", "call-timeout: 500\n", "interval-seconds: 5\n",
		"healthy-threshold: 3\n", "unhealthy-threshold: 3\n", "method: GET\n", `expected-status: ["200-499"]`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("check output lacks %q:\n%s", want, out.String())
		}
	}
	// What check prints loads again to the same values.
	c2 := mustParse(t, out.String(), nil)
	if h2 := c2.Destinations["d"].HealthCheck; *h2 != *h || c2.Destinations["d"].ConnectionTTL != time.Minute {
		t.Errorf("reloaded %+v, want %+v", h2, h)
	}
	c = mustParse(t, `
destinations:
  d:
    urls: ["http://127.0.0.1:9200/"]
    connection-ttl: -1
    health-check: {interval-seconds: 2, healthy-threshold: 1, unhealthy-threshold: 2, path: /health, method: head, expected-status: [200, 204]}
routing: {mode: static, destination: d}
`, nil)
	h = c.Destinations["d"].HealthCheck
	if c.Destinations["d"].ConnectionTTL != 0 || h.Interval != 2*time.Second || h.HealthyThreshold != 1 || h.UnhealthyThreshold != 2 ||
		h.Path != "/health" || h.Method != "HEAD" || !h.Expected.Contains(204) || h.Expected.Contains(201) {
		t.Errorf("health-check %+v", h)
	}
}

func TestConnectionTTLAndHealthCheckErrors(t *testing.T) {
	wantErrs(t, `
destinations:
  d:
    urls: ["http://127.0.0.1:9200/"]
    connection-ttl: 0
    health-check:
      call-timeout: 5000
      interval-seconds: 5
      healthy-threshold: 0
      path: health
      method: POST
      expected-status: []
routing: {mode: static, destination: d}
`, nil,
		`config.yml:5: destinations.d.connection-ttl: 0: want -1 (never) or a duration in ms of at least 1`,
		`config.yml:9: destinations.d.health-check.healthy-threshold: 0 is out of range (1 to 100)`,
		`config.yml:10: destinations.d.health-check.path: "health": want an absolute path such as /health (empty checks the URL itself)`,
		`config.yml:11: destinations.d.health-check.method: "POST" is not one of GET, HEAD, OPTIONS`,
		`config.yml:12: destinations.d.health-check.expected-status: at least one status code must mean healthy`)
	wantErrContains(t, `
destinations:
  d: {urls: ["http://127.0.0.1:9200/"], health-check: {interval: 5}}
routing: {mode: static, destination: d}
`, nil, `unknown key "interval" in destinations.d.health-check (did you mean "interval-seconds"?)`)
}

func TestURLLabels(t *testing.T) {
	c := mustParse(t, `
destinations:
  d: {urls: ["${ES_URL}", "http://127.0.0.1:9/x?token=s3cret", "http://127.0.0.1:10/"]}
routing: {mode: static, destination: d}
`, map[string]string{"ES_URL": "http://127.0.0.1:9200/_bulk"})
	got := strings.Join(c.Destinations["d"].URLLabels, " | ")
	if want := "<redacted: from ${ES_URL}> | http://127.0.0.1:9/x | http://127.0.0.1:10/"; got != want {
		t.Errorf("labels %q, want %q", got, want)
	}
}
