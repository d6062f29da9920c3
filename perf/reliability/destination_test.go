package reliability

import (
	"fmt"
	"testing"
	"time"

	"github.com/xdrhook/xdrhook/perf/harness"
	"github.com/xdrhook/xdrhook/perf/sink"
	"github.com/xdrhook/xdrhook/perf/xdrsim"
)

// env is one running scenario: sink, optional proxy, connector, emulator.
type env struct {
	sk      *sink.Sink
	skStart time.Time
	px      *proxy
	fr      *front
	proc    *harness.Proc
	sim     *xdrsim.Sim
	w       *watcher
	start   time.Time
}

// destCase is a destination fault: the sink's own faults, or faults the
// test drives through a proxy while the emulator streams.
type destCase struct {
	name     string
	sink     sink.Config
	conf     conf
	proxy    bool
	front    bool // an HTTP front (storms) between the connector and the sink
	rate     float64
	duration time.Duration
	// fault runs while the emulator streams; it returns the recovery time
	// (negative: not applicable).
	fault func(t *testing.T, e *env) time.Duration
	check func(t *testing.T, e *env, sm *xdrsim.Summary) string
}

// TestDestinationFaults: the destination goes down, flaps, answers 5xx or
// 429 storms with Retry-After, answers slower than the reply deadline, and
// drops connections mid-request. Every record answered 0 must have reached
// it; every other record is retried by the emulator until it is.
func TestDestinationFaults(t *testing.T) {
	systemTier(t)
	cases := []destCase{
		{
			name:     "down-5s",
			sink:     sink.Config{DownAfter: 2 * time.Second, DownFor: 5 * time.Second},
			rate:     5000,
			duration: 9 * time.Second,
			fault: func(t *testing.T, e *env) time.Duration {
				return recovery(e.sim, e.skStart.Add(7*time.Second), 20*time.Second)
			},
			check: func(t *testing.T, e *env, sm *xdrsim.Summary) string {
				if st := e.sk.Stats(); st.Faults["down"] != 1 {
					t.Errorf("the sink did not go down: %v", st.Faults)
				}
				errs := metric(t, e.proc, `xdrhook_requests_total{destination="sink",status="error"}`)
				if errs <= 0 || sm.Retries == 0 {
					t.Errorf("an outage without transport errors (%v) or retries (%d)", errs, sm.Retries)
				}
				return fmt.Sprintf("transport errors %.0f, codes %v", errs, sm.Codes)
			},
		},
		{
			name:     "flapping",
			proxy:    true,
			rate:     5000,
			duration: 8 * time.Second,
			fault: func(t *testing.T, e *env) time.Duration {
				time.Sleep(1500 * time.Millisecond)
				for i := 0; i < 6; i++ { // down 400 ms, up 600 ms
					e.px.Down()
					time.Sleep(400 * time.Millisecond)
					e.px.Up()
					time.Sleep(600 * time.Millisecond)
				}
				return recovery(e.sim, time.Now(), 20*time.Second)
			},
			check: func(t *testing.T, e *env, sm *xdrsim.Summary) string {
				errs := metric(t, e.proc, `xdrhook_requests_total{destination="sink",status="error"}`)
				if errs <= 0 {
					t.Errorf("flapping without transport errors")
				}
				return fmt.Sprintf("6 outages of 400 ms; transport errors %.0f, codes %v", errs, sm.Codes)
			},
		},
		storm("503-storm", 503),
		storm("429-storm", 429),
		{
			name: "latency-over-deadline",
			// Uniform latency 0..1.6 s against a 1 s reply deadline: a
			// third of the requests cannot finish in time.
			sink:     sink.Config{Latency: 1600 * time.Millisecond, LatencyRand: true},
			conf:     conf{ReplyDeadline: 1000, CallTimeout: 900, Dest: []string{"max-connections-per-endpoint: 64"}},
			rate:     2000,
			duration: 6 * time.Second,
			check: func(t *testing.T, e *env, sm *xdrsim.Summary) string {
				late := metric(t, e.proc, `xdrhook_request_timeouts_total{destination="sink"}`)
				dl := metric(t, e.proc, `xdrhook_records_settled_total{outcome="deadline-retry"}`)
				if late <= 0 {
					t.Errorf("no request timed out")
				}
				if sm.Codes[9]+sm.Codes[11] == 0 {
					t.Errorf("no record answered 9/11: %v", sm.Codes)
				}
				// XDR gives up on a reply after ~10 s: the connector must
				// answer by its deadline (1 s) plus a tick and scheduling.
				if sm.Latency.MaxMs > 1600 {
					t.Errorf("a reply took %.0f ms with a 1000 ms reply deadline", sm.Latency.MaxMs)
				}
				return fmt.Sprintf("request timeouts %.0f, deadline-answered %.0f, reply latency p99 %.0f ms max %.0f ms, codes %v",
					late, dl, sm.Latency.P99Ms, sm.Latency.MaxMs, sm.Codes)
			},
		},
		{
			name: "resets-mid-request",
			// The sink hangs up on a fifth of the requests before reading
			// them, and the proxy resets every connection every 250 ms,
			// mid-request or mid-response.
			sink:     sink.Config{HangupRate: 0.2},
			proxy:    true,
			rate:     5000,
			duration: 5 * time.Second,
			fault: func(t *testing.T, e *env) time.Duration {
				var last time.Time
				for time.Since(e.start) < 5*time.Second {
					time.Sleep(250 * time.Millisecond)
					e.px.Reset()
					last = time.Now()
				}
				return recovery(e.sim, last, 20*time.Second)
			},
			check: func(t *testing.T, e *env, sm *xdrsim.Summary) string {
				st := e.sk.Stats()
				if st.Faults["hangup"] == 0 || e.px.resets.Load() == 0 {
					t.Errorf("no hangups (%v) or resets (%d)", st.Faults, e.px.resets.Load())
				}
				return fmt.Sprintf("sink hangups %d, proxy resets %d, codes %v", st.Faults["hangup"], e.px.resets.Load(), sm.Codes)
			},
		},
	}
	cases = append(cases, oneByOneCases(cases)...)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { runDestCase(t, c) })
	}
}

// oneByOneCases are the outage and the resets again one record per
// request over h2c and over pipelined HTTP/1.1, whose destinations
// complete requests without a goroutine waiting for each (asynchronous
// completions) and send their failures back to the synchronous retries. A
// hang-up closes the connection and every request on it, so the sink hangs
// up on 2% of the requests, not 20%.
func oneByOneCases(cases []destCase) []destCase {
	var out []destCase
	for _, c := range cases {
		switch c.name {
		case "down-5s", "resets-mid-request":
		default:
			continue
		}
		if c.sink.HangupRate > 0 {
			c.sink.HangupRate = 0.02
		}
		c.conf.Batching = "off"
		for _, v := range []struct{ prefix, dest string }{
			{"h2c-", "protocol: HTTP_2"},
			{"pipelined-", "http1-pipelining: true"},
		} {
			v2 := c
			v2.name = v.prefix + c.name
			v2.conf.Dest = append(c.conf.Dest[:len(c.conf.Dest):len(c.conf.Dest)], v.dest)
			out = append(out, v2)
		}
	}
	return out
}

// storm: from 1.5 s to 3.5 s every request is answered status with
// Retry-After: 1 (by an HTTP front), and a tenth of them before and after
// by the sink itself.
func storm(name string, status int) destCase {
	return destCase{
		name:     name,
		sink:     sink.Config{FailRate: 0.1, FailStatus: status, RetryAfter: "1"},
		front:    true,
		rate:     5000,
		duration: 6 * time.Second,
		fault: func(t *testing.T, e *env) time.Duration {
			time.Sleep(1500 * time.Millisecond)
			e.fr.storm.Store(int32(status))
			time.Sleep(2 * time.Second)
			e.fr.storm.Store(0)
			return recovery(e.sim, time.Now(), 20*time.Second)
		},
		check: func(t *testing.T, e *env, sm *xdrsim.Summary) string {
			st := e.sk.Stats()
			retries := metric(t, e.proc, `xdrhook_request_retries_total{destination="sink"}`)
			class := metric(t, e.proc, fmt.Sprintf(`xdrhook_requests_total{destination="sink",status="%dxx"}`, status/100))
			if e.fr.n.Load() == 0 || retries <= 0 {
				t.Errorf("storm: %d answered %d by the front, %d by the sink, %v retries", e.fr.n.Load(), status, st.ByStatus[status], retries)
			}
			return fmt.Sprintf("answered %d: %d in the 2 s storm + %d after (%.0f counted as %dxx), connector retries %.0f, codes %v",
				status, e.fr.n.Load(), st.ByStatus[status], class, status/100, retries, sm.Codes)
		},
	}
}

func runDestCase(t *testing.T, c destCase) {
	e := &env{skStart: time.Now()}
	e.sk = startSink(t, c.sink)
	url := e.sk.URL()
	if c.proxy {
		e.px = newProxy(t, e.sk.Addr(), nil)
		url = e.px.URL()
	}
	if c.front {
		e.fr = newFront(t, e.sk.URL(), "1")
		url = e.fr.URL()
	}
	c.conf.URL = url + "/in"
	e.proc = harness.Connector{Config: c.conf.yaml()}.Start(t)
	e.w = watch(e.proc, 100*time.Millisecond, false)
	cfg := simConfig(e.proc.XDRAddr)
	cfg.Rate, cfg.Duration = c.rate, c.duration
	e.start = time.Now()
	e.sim = startSim(t, cfg)
	rec := time.Duration(-1)
	if c.fault != nil {
		rec = c.fault(t, e)
	}
	sm := e.sim.Wait()
	f := verify(t, &sm, e.sk.IDs())
	if c.check != nil {
		f.Extra = c.check(t, e, &sm)
	}
	f.MaxRSS = e.w.Stop()
	f.Recovery = rec
	report(t, f)
	if t.Failed() {
		t.Logf("connector log:\n%s", tail(e.proc.Log(), 40))
	}
}
