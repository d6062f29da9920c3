package connector

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/xdrhook/xdrhook/config"
	"github.com/xdrhook/xdrhook/dataplane"
)

// connection-ttl and health-check reach the sender and the destination.
func TestConnectionTTLAndHealthCheckWired(t *testing.T) {
	for _, proto := range []string{"HTTP_1_1", "HTTP_2"} {
		_, o := buildOptions(t, `
destinations:
  d:
    urls: ["http://127.0.0.1:9/"]
    protocol: `+proto+`
    connection-ttl: 30000
    health-check: {call-timeout: 200, interval-seconds: 2, healthy-threshold: 4, unhealthy-threshold: 5, path: /health, method: HEAD, expected-status: [204]}
  e: {urls: ["http://127.0.0.1:9/"], protocol: `+proto+`}
routing: {mode: static-multi-destination, destinations: [d, e]}
`)
		d := o.Destinations[0].Options()
		ho := d.Sender.(interface{ HTTPOptions() dataplane.HTTPOptions }).HTTPOptions()
		h := d.HealthCheck
		if ho.ConnTTL != 30*time.Second || h == nil || h.Timeout != 200*time.Millisecond || h.Interval != 2*time.Second ||
			h.HealthyThreshold != 4 || h.UnhealthyThreshold != 5 || h.Path != "/health" || h.Method != "HEAD" ||
			!h.Expected.Contains(204) || h.Expected.Contains(200) {
			t.Errorf("%s: ttl %v, health-check %+v", proto, ho.ConnTTL, h)
		}
		e := o.Destinations[1].Options()
		if eo := e.Sender.(interface{ HTTPOptions() dataplane.HTTPOptions }).HTTPOptions(); eo.ConnTTL != 0 || e.HealthCheck != nil {
			t.Errorf("%s: defaults: ttl %v, health-check %+v", proto, eo.ConnTTL, e.HealthCheck)
		}
	}
}

// xdrhook_endpoint_up names each URL without what may be secret.
func TestEndpointUpLabels(t *testing.T) {
	cfg, err := config.Parse("config.yml", []byte(`
destinations:
  d:
    urls: ["${ES_URL}", "http://127.0.0.1:9/x?token=s3cret"]
    health-check: {}
routing: {mode: static, destination: d}
`), config.Options{LookupEnv: func(k string) (string, bool) { return "http://10.1.2.3:9200/_bulk", k == "ES_URL" }})
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(cfg, dataplane.Options{}, "test")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	e.WritePrometheus(&buf)
	for _, want := range []string{
		`xdrhook_endpoint_up{destination="d",url="<redacted: from ${ES_URL}>"} 1`,
		`xdrhook_endpoint_up{destination="d",url="http://127.0.0.1:9/x"} 1`,
	} {
		if !strings.Contains(buf.String(), want+"\n") {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(buf.String(), "10.1.2.3") || strings.Contains(buf.String(), "s3cret") {
		t.Error("a secret is in the metrics")
	}
}
