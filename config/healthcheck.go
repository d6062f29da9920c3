package config

import (
	"fmt"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Defaults of destinations.*.health-check and connection-ttl.
const (
	// DefaultHealthCallTimeout bounds one check (ESP's request default).
	DefaultHealthCallTimeout = 1000 * time.Millisecond
	// DefaultHealthInterval and DefaultHealthyThreshold are ESP's.
	DefaultHealthInterval      = 5 * time.Second
	DefaultHealthyThreshold    = 3
	DefaultUnhealthyThreshold  = 3
	DefaultHealthMethod        = "GET"
	DefaultHealthExpectedRange = "200-499"
	// NoConnectionTTL is connection-ttl's default, -1: connections live
	// until idle-connection-timeout or the server closes them.
	NoConnectionTTL = -1
)

// rawHealthCheck is destinations.*.health-check.
type rawHealthCheck struct {
	CallTimeout        *int       `yaml:"call-timeout,omitempty"`
	IntervalSeconds    *int       `yaml:"interval-seconds,omitempty"`
	HealthyThreshold   *int       `yaml:"healthy-threshold,omitempty"`
	UnhealthyThreshold *int       `yaml:"unhealthy-threshold,omitempty"`
	Path               *string    `yaml:"path,omitempty"`
	Method             *string    `yaml:"method,omitempty"`
	ExpectedStatus     statusList `yaml:"expected-status,omitempty"`
}

// HealthCheck is destinations.*.health-check: an active check of each URL
// of the destination. A URL failing UnhealthyThreshold checks in a row
// leaves the round robin (its queued requests go to the others); it comes
// back after HealthyThreshold passes in a row. With every URL down, records
// for the destination are answered 11 at once.
type HealthCheck struct {
	// CallTimeout bounds one check (call-timeout, ms). Default 1000 ms; it
	// must be below the interval.
	CallTimeout time.Duration
	// Interval between checks of a URL (interval-seconds). Default 5 s.
	Interval time.Duration
	// HealthyThreshold passes in a row bring a URL back (default 3, as
	// ESP); UnhealthyThreshold failures in a row take it out (xdrhook key,
	// default 3: one lost check is not an outage).
	HealthyThreshold, UnhealthyThreshold int
	// Path is requested on the URL's host; "" (the default) requests the URL
	// itself. An absolute path ("/health") replaces the URL's path.
	Path string
	// Method default GET (GET, HEAD or OPTIONS: a check must not write).
	Method string
	// Expected statuses pass; default 200-499: any answer short of a server
	// error shows the endpoint is up (a _bulk URL answers GET with 405).
	// Transport errors and timeouts fail.
	Expected StatusSet
}

func (l *loader) resolveHealthCheck(r *rawHealthCheck, p string) *HealthCheck {
	p += ".health-check"
	h := &HealthCheck{}
	h.CallTimeout = l.ms(&r.CallTimeout, p+".call-timeout", DefaultHealthCallTimeout, 1)
	secs := l.intIn(&r.IntervalSeconds, p+".interval-seconds", int(DefaultHealthInterval/time.Second), 1, 3600)
	h.Interval = time.Duration(secs) * time.Second
	if h.CallTimeout >= h.Interval {
		// Aerospike's own ESP examples set call-timeout 5100 with the 5 s
		// default interval: checks run one after another per endpoint, so a
		// slow one only delays the next. A warning, not an error.
		l.warnf(p+".call-timeout", "%d ms is not below interval-seconds (%d s): a check that slow delays the next one (checks of an endpoint never overlap)", h.CallTimeout.Milliseconds(), secs)
	}
	h.HealthyThreshold = l.intIn(&r.HealthyThreshold, p+".healthy-threshold", DefaultHealthyThreshold, 1, 100)
	h.UnhealthyThreshold = l.intIn(&r.UnhealthyThreshold, p+".unhealthy-threshold", DefaultUnhealthyThreshold, 1, 100)
	h.Path = l.str(&r.Path, "")
	switch {
	case h.Path != "" && h.Path[0] != '/':
		l.errorf(p+".path", "%s: want an absolute path such as /health (empty checks the URL itself)", l.show(p+".path", h.Path))
	case strings.ContainsAny(h.Path, " \r\n\x00#"):
		l.errorf(p+".path", "%s: a path has no spaces, control characters or #fragment", l.show(p+".path", h.Path))
	}
	h.Method = l.enum(&r.Method, p+".method", DefaultHealthMethod, "GET", "HEAD", "OPTIONS")
	if !r.ExpectedStatus.set {
		r.ExpectedStatus = statusList{set: true, items: []*yaml.Node{{Kind: yaml.ScalarNode, Tag: "!!str", Value: DefaultHealthExpectedRange}}}
	}
	h.Expected = l.statusSet(r.ExpectedStatus, p+".expected-status")
	if len(r.ExpectedStatus.items) == 0 {
		l.errorf(p+".expected-status", "at least one status code must mean healthy")
	}
	return h
}

// resolveConnectionTTL reads destinations.*.connection-ttl: -1 (never, the
// default) or at least 1 ms.
func (l *loader) resolveConnectionTTL(r **int, p string) time.Duration {
	p += ".connection-ttl"
	if *r == nil {
		*r = ptr(NoConnectionTTL)
	}
	v := **r
	switch {
	case v == NoConnectionTTL:
		return 0
	case v < 1:
		l.errorf(p, "%d: want -1 (never) or a duration in ms of at least 1", v)
		return 0
	case v > 1<<31:
		l.errorf(p, "%d ms is out of range", v)
		return 0
	}
	return time.Duration(v) * time.Millisecond
}

// urlLabels are the destination's URLs as metrics and logs may show them:
// a URL from the environment is its redacted template; another keeps its
// scheme, host and path (not its query: it may carry a token).
func (l *loader) urlLabels(d *Destination) []string {
	out := make([]string, len(d.rawURLs))
	for i, s := range d.rawURLs {
		if tpl, ok := l.secretVals[s]; ok {
			out[i] = redacted(tpl)
			continue
		}
		u := *d.URLs[i]
		u.User, u.RawQuery, u.ForceQuery, u.Fragment = nil, "", false, ""
		out[i] = u.String()
	}
	return out
}

// String describes the check for `check`'s summaries and logs.
func (h *HealthCheck) String() string {
	return fmt.Sprintf("%s every %v (timeout %v), down after %d failures, up after %d passes",
		h.Method, h.Interval, h.CallTimeout, h.UnhealthyThreshold, h.HealthyThreshold)
}
