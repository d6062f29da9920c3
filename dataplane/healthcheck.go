package dataplane

import (
	"errors"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/xdrhook/xdrhook/h2client"
)

// HealthCheckOptions configure the active check of a destination's
// endpoints (destinations.*.health-check). An endpoint failing
// UnhealthyThreshold checks in a row leaves the round robin: requests,
// queued ones included, go to the others. It returns after
// HealthyThreshold passes in a row. With every endpoint down, records for
// the destination are answered 11 at once instead of waiting for their
// deadline.
type HealthCheckOptions struct {
	Interval, Timeout                    time.Duration
	HealthyThreshold, UnhealthyThreshold int
	// Method is GET, HEAD or OPTIONS.
	Method string
	// Path "" checks the endpoint URL as configured; "/x" replaces its path.
	Path string
	// Expected statuses pass; anything else, and transport errors, fail.
	Expected StatusSet
}

func (o *HealthCheckOptions) check() error {
	switch {
	case o.Interval <= 0 || o.Timeout <= 0:
		return errors.New("health-check: interval and call-timeout must be more than 0")
	case o.HealthyThreshold <= 0 || o.UnhealthyThreshold <= 0:
		return errors.New("health-check: thresholds must be at least 1")
	case o.Method == "" || o.Expected == nil:
		return errors.New("health-check: no method or expected statuses")
	}
	return nil
}

// endpointProber is what a Sender offers the health checker: its
// endpoints, a check request to one of them through its own transport
// (same protocol, TLS and dialer as the records), and the health its round
// robin follows.
type endpointProber interface {
	endpointList() []endpoint
	probe(i int, method, target string, deadline time.Time) (int, error)
	useHealth(h *endpointHealth)
}

// endpointHealth is the up/down state of a destination's endpoints, read
// by the senders' round robin on every request.
type endpointHealth struct {
	up   []atomic.Bool
	down atomic.Int32
}

func newEndpointHealth(n int) *endpointHealth {
	h := &endpointHealth{up: make([]atomic.Bool, n)}
	for i := range h.up {
		h.up[i].Store(true)
	}
	return h
}

// pick turns a round-robin choice i into an endpoint that is up: i itself,
// else the next one up. With none up it returns i (the destination answers
// 11 before sending, so this only happens in a race).
func (h *endpointHealth) pick(i int) int {
	if h == nil || h.down.Load() == 0 {
		return i
	}
	n := len(h.up)
	for k := 0; k < n; k++ {
		if j := (i + k) % n; h.up[j].Load() {
			return j
		}
	}
	return i
}

// pickFor chooses the endpoint of r's attempt from the round robin's
// next: not the one r's last attempt failed on without a response while
// there is another, so a request an endpoint held when it died goes to
// another at once, not back to it until its health checks find it down
// (a nil h too: without health checks). It notes the choice in r.
func (h *endpointHealth) pickFor(r *Request, next, n int) int {
	if r.failedOn > 0 && n > 1 && next == r.failedOn-1 {
		next = (next + 1) % n
	}
	i := h.pick(next)
	r.endpoint = i
	return i
}

func (h *endpointHealth) set(i int, up bool) bool {
	if h.up[i].Swap(up) == up {
		return false
	}
	if up {
		h.down.Add(-1)
	} else {
		h.down.Add(1)
	}
	return true
}

// allDown reports whether no endpoint is up.
func (h *endpointHealth) allDown() bool { return h != nil && int(h.down.Load()) == len(h.up) }

// healthChecker runs one goroutine per endpoint of a destination.
type healthChecker struct {
	o      HealthCheckOptions
	p      endpointProber
	h      *endpointHealth
	eps    []endpoint
	labels []string
	stop   chan struct{}
	wg     sync.WaitGroup
}

// initHealth registers xdrhook_endpoint_up for each endpoint of the
// destination's sender (1 without health-check) and, with health-check,
// builds the checker; Start runs it.
func (d *Destination) initHealth() error {
	p, ok := d.opts.Sender.(endpointProber)
	if !ok {
		if d.opts.HealthCheck != nil {
			return errors.New("health-check needs an HTTP sender")
		}
		return nil
	}
	eps := p.endpointList()
	var h *endpointHealth
	if d.opts.HealthCheck != nil {
		if err := d.opts.HealthCheck.check(); err != nil {
			return err
		}
		h = newEndpointHealth(len(eps))
		p.useHealth(h)
		d.hc = &healthChecker{o: *d.opts.HealthCheck, p: p, h: h, eps: eps, stop: make(chan struct{})}
	}
	set := d.e.m.set
	for i, ep := range eps {
		label := redactURL(ep.raw)
		if i < len(d.opts.EndpointLabels) {
			label = labelValue(d.opts.EndpointLabels[i])
		}
		if d.hc != nil {
			d.hc.labels = append(d.hc.labels, label)
		}
		set.NewGauge(`xdrhook_endpoint_up{destination="`+d.opts.Name+`",url="`+label+`"}`, func() float64 {
			if h == nil || h.up[i].Load() {
				return 1
			}
			return 0
		})
	}
	return nil
}

// redactURL is the URL as a metric label: no user:password, no query (it
// may carry a token), no quotes or backslashes.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "unparsable"
	}
	u.User, u.RawQuery, u.ForceQuery, u.Fragment = nil, "", false, ""
	return labelValue(u.String())
}

// labelValue drops what a Prometheus label value cannot hold as written
// (quotes, backslashes, control characters).
func labelValue(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != '"' && c != '\\' && c >= ' ' {
			out = append(out, c)
		}
	}
	return string(out)
}

// unhealthy reports whether the destination has health checks and no
// endpoint up: its records are answered 11 at once.
func (d *Destination) unhealthy() bool { return d.hc != nil && d.hc.h.allDown() }

// ready is the destination's part of /readyz: with health-check, an
// endpoint up; without, the last request got a response (or none was sent).
func (d *Destination) ready() bool {
	if d.hc != nil {
		return !d.hc.h.allDown()
	}
	return d.reachable.Load()
}

func (d *Destination) startHealthChecks() {
	if d.hc == nil {
		return
	}
	for i := range d.hc.eps {
		d.hc.wg.Add(1)
		go d.checkEndpoint(i)
	}
}

func (d *Destination) stopHealthChecks() {
	if d.hc == nil {
		return
	}
	close(d.hc.stop)
	d.hc.wg.Wait()
}

// checkEndpoint checks endpoint i every interval (the first at once) and
// moves it in or out of the round robin at the thresholds.
func (d *Destination) checkEndpoint(i int) {
	hc := d.hc
	defer hc.wg.Done()
	target := hc.eps[i].raw
	if hc.o.Path != "" {
		target = hc.eps[i].origin + hc.o.Path
	}
	passes, fails := 0, 0
	t := time.NewTicker(hc.o.Interval)
	defer t.Stop()
	for {
		st, err := hc.p.probe(i, hc.o.Method, target, time.Now().Add(hc.o.Timeout))
		if err == nil && hc.o.Expected.Contains(st) {
			passes, fails = passes+1, 0
			if !hc.h.up[i].Load() && passes >= hc.o.HealthyThreshold && hc.h.set(i, true) {
				d.e.log.Info("destination endpoint is healthy again: back in the round robin", "destination", d.opts.Name, "url", hc.labels[i], "passes", passes)
			}
		} else {
			passes, fails = 0, fails+1
			if hc.h.up[i].Load() && fails >= hc.o.UnhealthyThreshold && hc.h.set(i, false) {
				args := []any{"destination", d.opts.Name, "url", hc.labels[i], "failures", fails, "status", st, "err", err}
				if hc.h.allDown() {
					args = append(args, "note", "no endpoint of the destination is up: its records are answered 11 (XDR retries) until one is back")
				}
				d.e.log.Warn("destination endpoint failed its health checks: out of the round robin", args...)
			}
		}
		select {
		case <-hc.stop:
			return
		case <-t.C:
		}
	}
}

// ---- the senders' side

func (s *http1Sender) endpointList() []endpoint { return s.eps }

// useHealth also makes the probes' own clients: a check must not wait
// behind the records for one of the endpoint's connections (a busy, slow
// endpoint is not a dead one), nor sit in a pipeline's queue.
func (s *http1Sender) useHealth(h *endpointHealth) {
	s.health = h
	for _, ep := range s.eps {
		s.probes = append(s.probes, &fasthttp.HostClient{
			Addr: ep.host, IsTLS: ep.tls, TLSConfig: s.o.TLS, MaxConns: 1,
			Dial:                     func(addr string) (net.Conn, error) { return fasthttp.DialTimeout(addr, s.o.ConnectTimeout) },
			MaxIdleConnDuration:      s.o.IdleConnTimeout,
			NoDefaultUserAgentHeader: true,
			DisablePathNormalizing:   true,
		})
	}
}

func (s *http1Sender) probe(i int, method, target string, deadline time.Time) (int, error) {
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(target)
	req.Header.SetMethod(method)
	req.Header.SetUserAgent(s.o.UserAgent)
	for _, h := range s.o.Headers {
		req.Header.Set(h[0], h[1])
	}
	resp.SkipBody = method == fasthttp.MethodHead
	if err := s.probes[i].DoDeadline(req, resp, deadline); err != nil {
		return 0, err
	}
	return resp.StatusCode(), nil
}

func (s *http2Sender) endpointList() []endpoint    { return s.eps }
func (s *http2Sender) useHealth(h *endpointHealth) { s.health = h }

func (s *http2Sender) probe(i int, method, target string, deadline time.Time) (int, error) {
	c := s.calls.Get().(*h2call)
	defer s.putCall(c)
	c.set(":method", method, false)
	c.set(":scheme", s.scheme[i], false)
	c.set(":authority", s.auth[i], false)
	c.set(":path", urlPath(target), true)
	if s.ua != "" {
		c.set("user-agent", s.ua, false)
	}
	for _, h := range s.static {
		c.set(h.Name, h.Value, false)
	}
	c.req = h2client.Request{Header: c.hdr}
	if err := s.cls[i].Do(&c.req, &c.resp, deadline); err != nil {
		return 0, err
	}
	return c.resp.Status, nil
}
