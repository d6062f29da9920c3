package reliability

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/xdrhook/xdrhook/perf/harness"
	"github.com/xdrhook/xdrhook/perf/sink"
	"github.com/xdrhook/xdrhook/perf/xdrsim"
)

// TestProtocolFramings: es-bulk and splunk-hec, batching on and off, into a
// sink at the path of Elasticsearch's _bulk API and Splunk's HTTP Event
// Collector, where it refuses (400) any body those servers would. Every
// record settled 0 must have been delivered, and no body refused.
func TestProtocolFramings(t *testing.T) {
	systemTier(t)
	for _, tc := range []struct{ framing, path string }{
		{"es-bulk", "/_bulk"},
		{"splunk-hec", "/services/collector/event"},
	} {
		for _, batching := range []string{"off", ""} {
			name := tc.framing + "/batching-on"
			if batching == "off" {
				name = tc.framing + "/batching-off"
			}
			t.Run(name, func(t *testing.T) {
				sk := startSink(t, sink.Config{})
				c := conf{URL: sk.URL() + tc.path, Format: "{mode: flat-json, framing: " + tc.framing + "}", Batching: batching}
				p := harness.Connector{Config: c.yaml()}.Start(t)
				cfg := simConfig(p.XDRAddr)
				cfg.Rate, cfg.Duration = 2000, 2*time.Second
				sm, err := xdrsim.Run(context.Background(), cfg)
				if err != nil {
					t.Fatal(err)
				}
				f := verify(t, &sm, sk.IDs())
				st := sk.Stats()
				if st.Invalid != 0 {
					t.Errorf("%d bodies refused as the real server would; last: %s", st.Invalid, st.LastInvalid)
				}
				fs := st.ByFormat[tc.framing]
				if fs == nil || fs.Requests == 0 {
					t.Fatalf("no %s bodies received: %v", tc.framing, st.ByFormat)
				}
				if batching == "off" && fs.Requests != fs.Records {
					t.Errorf("batching off: %d requests for %d records", fs.Requests, fs.Records)
				}
				f.Extra = fmt.Sprintf("%s at %s: %d requests, %d records, %d refused", tc.framing, tc.path, fs.Requests, fs.Records, st.Invalid)
				report(t, f)
			})
		}
	}
}
