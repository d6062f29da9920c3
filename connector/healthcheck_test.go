package connector

import (
	"testing"
	"time"

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
