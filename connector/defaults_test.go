package connector

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/xdrhook/xdrhook/dataplane"
	"github.com/xdrhook/xdrhook/encode"
	"go.yaml.in/yaml/v3"
)

// minimalConfig sets only what has no default, so every other value is
// config's default.
const minimalConfig = `destinations:
  h1: {urls: ["http://127.0.0.1:1/a"]}
  h2: {urls: ["http://127.0.0.1:1/b"], protocol: HTTP_2}
routing: {mode: static-multi-destination, destinations: [h1, h2]}
format: {mode: flat-json}
batching: {enabled: true}
record-ordering: {enable: true}
`

// TestCheckDefaultsAreEffective: what `xdrhook check` prints as the
// resolved configuration (config's WriteYAML) is what the engine built
// from it runs with — config is the one source of defaults, the data plane
// has no second value that could drift.
func TestCheckDefaultsAreEffective(t *testing.T) {
	cfg := parseConfig(t, minimalConfig)
	var printed bytes.Buffer
	if err := cfg.WriteYAML(&printed); err != nil {
		t.Fatal(err)
	}
	var y map[string]any
	if err := yaml.Unmarshal(printed.Bytes(), &y); err != nil {
		t.Fatalf("%v\n%s", err, printed.Bytes())
	}
	get := func(path ...string) any {
		var v any = y
		for _, k := range path {
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("check output has no %v:\n%s", path, printed.Bytes())
			}
			v = m[k]
		}
		if v == nil {
			t.Fatalf("check output has no %v:\n%s", path, printed.Bytes())
		}
		return v
	}
	num := func(path ...string) int { return get(path...).(int) }
	ms := func(path ...string) time.Duration { return time.Duration(num(path...)) * time.Millisecond }
	eq := func(what string, got, want any) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: the engine runs with %v, check prints %v", what, got, want)
		}
	}

	e, err := New(cfg, dataplane.Options{}, "test")
	if err != nil {
		t.Fatal(err)
	}
	o := e.Options()
	eq("max-concurrent-records", o.MaxConcurrentRecords, num("service", "max-concurrent-records"))
	eq("max-frame-bytes", o.MaxFrameBytes, num("service", "max-frame-bytes"))
	eq("reply-deadline", o.ReplyDeadline, ms("service", "reply-deadline"))
	eq("max-connections", o.MaxConnections, num("service", "max-connections"))
	eq("io-threads", o.Loops, num("service", "io-threads"))
	eq("listen", o.Listen, []string{fmt.Sprintf("%s:%d", get("service", "address"), num("service", "port"))})
	eq("lut-cache-ttl-seconds", o.LUTCacheTTL, time.Duration(num("record-ordering", "lut-cache-ttl-seconds"))*time.Second)

	if len(o.Destinations) != 2 {
		t.Fatalf("%d destinations", len(o.Destinations))
	}
	for _, d := range o.Destinations {
		name := d.Name()
		p := func(k ...string) []string { return append([]string{"destinations", name}, k...) }
		do := d.Options()
		h2 := get(p("protocol")...) == "HTTP_2"
		conns := num(p("max-connections-per-endpoint")...)
		window := min(num(p("max-in-flight")...), conns) // one request per HTTP/1.1 connection
		if h2 {
			window = min(num(p("max-in-flight")...), conns*num(p("http2-max-concurrent-streams")...))
		}
		eq(name+" max-in-flight (window)", do.MaxInFlight, window)
		eq(name+" call-timeout", do.CallTimeout, ms(p("call-timeout")...))
		eq(name+" retry.max-attempts", do.Retry.MaxAttempts, num(p("retry", "max-attempts")...))
		eq(name+" retry.initial-backoff", do.Retry.InitialBackoff, ms(p("retry", "initial-backoff")...))
		eq(name+" retry.max-backoff", do.Retry.MaxBackoff, ms(p("retry", "max-backoff")...))
		eq(name+" http-success-status-codes", get(p("http-success-status-codes")...), []any{"200-299"})
		for st := 100; st < 600; st++ {
			if do.Success.Contains(st) != (st >= 200 && st <= 299) {
				t.Errorf("%s: status %d success %t", name, st, do.Success.Contains(st))
			}
		}
		eq(name+" permanent-failure-status-codes", fmt.Sprint(get(p("permanent-failure-status-codes")...)), "[]")
		if do.Permanent != nil {
			t.Errorf("%s: permanent failures %v, check prints none", name, do.Permanent)
		}

		snd, ok := do.Sender.(interface{ HTTPOptions() dataplane.HTTPOptions })
		if !ok {
			t.Fatalf("%s: sender %T", name, do.Sender)
		}
		ho := snd.HTTPOptions()
		eq(name+" method", ho.Method, get(p("method")...))
		eq(name+" max-connections-per-endpoint", ho.MaxConnsPerEndpoint, conns)
		eq(name+" connect-timeout", ho.ConnectTimeout, ms(p("connect-timeout")...))
		eq(name+" idle-connection-timeout", ho.IdleConnTimeout, ms(p("idle-connection-timeout")...))
		eq(name+" http2-read-idle-timeout", ho.H2ReadIdleTimeout, ms(p("http2-read-idle-timeout")...))
		eq(name+" http2-ping-timeout", ho.H2PingTimeout, ms(p("http2-ping-timeout")...))
		eq(name+" compression", ho.Gzip, get(p("compression")...) == "gzip")
		eq(name+" compression-threshold", ho.GzipThreshold, num(p("compression-threshold")...))
		eq(name+" http1-pipelining", ho.Pipeline, get(p("http1-pipelining")...))
		eq(name+" user agent", ho.UserAgent, "xdrhook/test")
	}

	if len(o.Profiles) != 1 {
		t.Fatalf("%d profiles", len(o.Profiles))
	}
	pr := o.Profiles[0]
	eq("batching.enabled", pr.Batching, get("batching", "enabled"))
	eq("batching.max-records", pr.MaxRecords, num("batching", "max-records"))
	eq("batching.max-bytes", pr.MaxBytes, num("batching", "max-bytes"))
	eq("batching.batch-interval", pr.Interval, ms("batching", "batch-interval"))
	eq("record-ordering.enable", pr.Ordering, get("record-ordering", "enable"))
	eq("format.metadata-key", pr.NewEncoder().(*encode.FlatJSON).MetadataKey, get("format", "metadata-key"))
	eq("format.framing", typeName(pr.NewFramer()), "NDJSON")
	eq("check's format.framing", get("format", "framing"), "ndjson")
}
