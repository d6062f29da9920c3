package dataplane

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/xdrhook/xdrhook/auth"
)

// HTTPOptions configure the HTTP senders of one destination.
type HTTPOptions struct {
	// URLs are the endpoints; requests go round-robin over them.
	URLs []string
	// Path is appended to every URL (config `path`).
	Path    string
	Method  string      // required
	Headers [][2]string // extra headers, values already resolved
	// Gzip compresses bodies of at least GzipThreshold bytes (0: all).
	Gzip          bool
	GzipThreshold int
	// MaxConnsPerEndpoint: HTTP/1.1 connection pool size per URL; HTTP/2
	// connections per URL.
	MaxConnsPerEndpoint int
	ConnectTimeout      time.Duration
	// TLS for https:// URLs (nil: system roots, verification on).
	TLS *tls.Config
	// Pipeline sends HTTP/1.1 requests pipelined on each connection
	// (package h1client): only for servers known to pipeline well.
	Pipeline bool
	// pipeDial, if set, replaces the pipelined connections' TCP dial
	// (tests).
	pipeDial func(ctx context.Context, addr string) (net.Conn, error)
	// UserAgent is sent on every request (empty: no User-Agent header).
	UserAgent string
	// IdleConnTimeout closes connections (HTTP/1.1 and HTTP/2) idle this
	// long; keep it below the server's keep-alive so that a request seldom
	// meets a connection the server is closing.
	IdleConnTimeout time.Duration
	// HTTP/2: a connection silent for ReadIdleTimeout is pinged and closed
	// if no answer comes within PingTimeout.
	H2ReadIdleTimeout, H2PingTimeout time.Duration
	// H2MaxStreams caps the streams of one HTTP/2 connection below the
	// server's SETTINGS_MAX_CONCURRENT_STREAMS (0: the server's alone).
	H2MaxStreams int
	// ConnTTL, if more than 0, retires connections that old
	// (connection-ttl; see connttl.go).
	ConnTTL time.Duration
	// Auth, if set, authenticates every attempt over its final body
	// (destinations.*.auth); the sender closes it.
	Auth auth.Authorizer
}

// check rejects the options a sender cannot work with. The values come
// resolved from package config, which holds the defaults.
func (o *HTTPOptions) check(h2 bool) error {
	switch {
	case o.Method == "":
		return errors.New("no method")
	case o.MaxConnsPerEndpoint <= 0:
		return fmt.Errorf("max-connections-per-endpoint %d: want at least 1", o.MaxConnsPerEndpoint)
	case o.ConnectTimeout <= 0:
		return fmt.Errorf("connect-timeout %v: want more than 0", o.ConnectTimeout)
	case o.GzipThreshold < 0:
		return fmt.Errorf("compression-threshold %d: want at least 0", o.GzipThreshold)
	case o.IdleConnTimeout <= 0:
		return fmt.Errorf("idle-connection-timeout %v: want more than 0", o.IdleConnTimeout)
	case h2 && (o.H2ReadIdleTimeout <= 0 || o.H2PingTimeout <= 0):
		return fmt.Errorf("http2-read-idle-timeout %v, http2-ping-timeout %v: want more than 0", o.H2ReadIdleTimeout, o.H2PingTimeout)
	}
	return nil
}

type endpoint struct {
	raw    string // the URL as configured
	origin string // scheme://host[:port] as configured
	url    string // full URL with the path
	base   string // the URL as configured, without a trailing slash
	host   string // host:port
	tls    bool
	scheme string
}

func (o *HTTPOptions) endpoints() ([]endpoint, error) {
	if len(o.URLs) == 0 {
		return nil, fmt.Errorf("no urls")
	}
	var eps []endpoint
	for _, raw := range o.URLs {
		u, err := url.Parse(raw)
		if err != nil {
			return nil, fmt.Errorf("url %q: %v", raw, err)
		}
		ep := endpoint{raw: raw, origin: u.Scheme + "://" + u.Host, scheme: u.Scheme, host: u.Host}
		switch u.Scheme {
		case "http":
			if u.Port() == "" {
				ep.host += ":80"
			}
		case "https":
			ep.tls = true
			if u.Port() == "" {
				ep.host += ":443"
			}
		default:
			return nil, fmt.Errorf("url %q: scheme must be http or https", raw)
		}
		// Host names in lower case, as fasthttp sends them: a signature
		// (auth) covers the Host that both senders send.
		if lh := strings.ToLower(u.Host); lh != u.Host {
			if i := strings.Index(raw, u.Host); i >= 0 {
				raw = raw[:i] + lh + raw[i+len(u.Host):]
			}
			ep.host = strings.ToLower(ep.host)
		}
		ep.base = strings.TrimRight(raw, "/")
		ep.url = ep.base
		if o.Path != "" {
			ep.url += "/" + strings.TrimLeft(o.Path, "/")
		} else if u.Path == "" {
			ep.url += "/"
		}
		eps = append(eps, ep)
	}
	return eps, nil
}

// roundRobin picks the next of n endpoints.
type roundRobin struct{ n atomic.Uint64 }

func (r *roundRobin) next(n int) int { return int(r.n.Add(1) % uint64(n)) }

// parseRetryAfter reads a Retry-After value: seconds, or an HTTP date.
func parseRetryAfter(v []byte, now time.Time) time.Duration {
	if len(v) == 0 {
		return 0
	}
	if s, err := strconv.Atoi(string(v)); err == nil {
		if s < 0 {
			return 0
		}
		return time.Duration(s) * time.Second
	}
	if t, err := time.Parse(time.RFC1123, string(v)); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

const recordsHeader = "Xdrhook-Records"

// target is the URL of a request to endpoint ep.
func (ep *endpoint) target(r *Request) string {
	if len(r.Path) > 0 && r.Path[0] == '?' {
		return ep.url + string(r.Path)
	}
	if len(r.Path) > 0 {
		return ep.base + string(r.Path)
	}
	return ep.url
}
