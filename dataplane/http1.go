package dataplane

import (
	"compress/gzip"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/xdrhook/xdrhook/h1client"
	"github.com/xdrhook/xdrhook/pool"
)

// http1WriteBuffer is the write buffer of each HTTP/1.1 connection: a
// request whose head and body fit goes out in one write syscall.
const http1WriteBuffer = 32 << 10

// http1Sender sends over HTTP/1.1: with fasthttp, one HostClient (a
// keep-alive connection pool) per URL; with pipelining, one h1client.Client
// per URL, whose connections carry many requests each and need no
// goroutine per request (Go, as HTTP/2's).
type http1Sender struct {
	o     HTTPOptions
	eps   []endpoint
	hosts []*fasthttp.HostClient
	pipes []*h1client.Client
	auth  []string // Host per endpoint (pipelined)
	// prefixes: per endpoint, the head up to its per-request fields
	// (pipelined, when the destination's headers allow: fastHeadable).
	prefixes []atomic.Pointer[headPrefix]
	calls    sync.Pool
	rr       roundRobin
	// health, with health-check, steers the round robin off endpoints
	// that are down.
	health *endpointHealth
	probes []*fasthttp.HostClient // health checks' own clients, by endpoint
}

// NewHTTP1Sender builds an HTTP/1.1 sender.
func NewHTTP1Sender(o HTTPOptions) (Sender, error) {
	if err := o.check(false); err != nil {
		return nil, err
	}
	eps, err := o.endpoints()
	if err != nil {
		return nil, err
	}
	s := &http1Sender{o: o, eps: eps}
	s.calls.New = func() any {
		c := new(h1call)
		c.onDone = c.complete
		return c
	}
	dial := func(addr string) (net.Conn, error) { return fasthttp.DialTimeout(addr, o.ConnectTimeout) }
	for _, ep := range eps {
		if o.Pipeline {
			ho := h1client.Options{
				Addr: ep.host, ConnectTimeout: o.ConnectTimeout, MaxConns: o.MaxConnsPerEndpoint,
				MaxPending: pipelineDepth, IdleTimeout: o.IdleConnTimeout, ConnTTL: o.ConnTTL,
				MaxBody: maxCheckedBody,
			}
			if o.pipeDial != nil {
				addr := ep.host
				ho.Dial = func(ctx context.Context) (net.Conn, error) { return o.pipeDial(ctx, addr) }
			}
			if ep.tls {
				ho.TLS = o.TLS
				if ho.TLS == nil {
					ho.TLS = &tls.Config{} // system roots, verification on
				}
			}
			s.pipes = append(s.pipes, h1client.New(ho))
			s.auth = append(s.auth, strings.ToLower(ep.origin[len(ep.scheme)+3:]))
			continue
		}
		s.hosts = append(s.hosts, &fasthttp.HostClient{
			Addr: ep.host, IsTLS: ep.tls, TLSConfig: o.TLS, Dial: dial,
			MaxConns: o.MaxConnsPerEndpoint,
			// Wait for a free connection rather than fail at once: the
			// destination's window already bounds concurrency.
			MaxConnWaitTimeout: o.ConnectTimeout + 5*time.Second,
			// Below common server keep-alives (nginx 75 s), so that we
			// seldom reuse a connection the server just closed.
			MaxIdleConnDuration: o.IdleConnTimeout,
			// connection-ttl: an older connection's request goes with
			// Connection: close, and the next one dials.
			MaxConnDuration: o.ConnTTL,
			// A POST that failed on a reused connection is retried once:
			// duplicates are within the at-least-once contract.
			RetryIfErr: func(_ *fasthttp.Request, attempts int, _ error) (bool, bool) {
				return false, attempts < 2
			},
			NoDefaultUserAgentHeader: true,
			DisablePathNormalizing:   true,
			// One write per request up to 32 KiB of head and body: with
			// fasthttp's 4 KiB a 12 KB body took two write syscalls
			// (2.05 writes per request against 1.33 for small bodies,
			// XDR replies included).
			WriteBufferSize: http1WriteBuffer,
		})
	}
	if o.Pipeline && fastHeadable(o.Headers) {
		s.prefixes = make([]atomic.Pointer[headPrefix], len(eps))
	}
	return s, nil
}

// pipelineDepth bounds the requests unanswered on one pipelined
// connection: past it a request waits (the destination's max-in-flight is
// the bound that matters; this one keeps a connection's queue finite).
const pipelineDepth = 1024

func (s *http1Sender) Do(r *Request, deadline time.Time) (int, time.Duration, error) {
	if s.pipes != nil {
		return s.doPipelined(r, deadline)
	}
	i := s.health.pickFor(r, s.rr.next(len(s.eps)), len(s.eps))
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	target := s.eps[i].target(r)
	req.SetRequestURI(target)
	method := s.o.Method
	if r.Method != "" {
		method = r.Method
	}
	req.Header.SetMethod(method)
	if r.ContentType != "" {
		req.Header.SetContentType(r.ContentType)
	}
	req.Header.SetUserAgent(s.o.UserAgent)
	for _, h := range s.o.Headers {
		req.Header.Set(h[0], h[1])
	}
	for _, h := range r.Headers {
		req.Header.SetBytesV(h.Name, h.Value)
	}
	if len(r.IdempotencyKey) > 0 {
		req.Header.SetBytesV("Idempotency-Key", r.IdempotencyKey)
	} else {
		req.Header.Set(recordsHeader, strconv.Itoa(r.Records))
	}
	var zbuf *pool.Buf
	if s.o.Gzip && len(r.Body) >= s.o.GzipThreshold {
		zbuf = pool.Get(len(r.Body)/2 + 64)
		zbuf.B = fasthttp.AppendGzipBytesLevel(zbuf.B, r.Body, gzip.DefaultCompression)
		req.Header.Set("Content-Encoding", "gzip")
		req.SetBodyRaw(zbuf.B)
	} else {
		req.SetBodyRaw(r.Body)
	}
	err := authorize(s.o.Auth, r, method, target, req.Body(), (*fastHeader)(&req.Header))
	if err != nil {
		if zbuf != nil {
			pool.Put(zbuf)
		}
		return 0, 0, err
	}
	err = s.hosts[i].DoDeadline(req, resp, deadline)
	if zbuf != nil {
		pool.Put(zbuf)
	}
	if err != nil {
		if errors.Is(err, fasthttp.ErrTimeout) || errors.Is(err, fasthttp.ErrDialTimeout) || errors.Is(err, fasthttp.ErrConnectionClosed) && time.Now().After(deadline) {
			return 0, 0, ErrTimeout
		}
		return 0, 0, err
	}
	status := resp.StatusCode()
	if r.checks(status) {
		// A user header may have asked for a compressed response.
		body, err := resp.BodyUncompressedWithLimit(maxCheckedBody)
		if status, err = r.checked(status, body, err); err != nil {
			return 0, 0, err
		}
	}
	return status, parseRetryAfter(resp.Header.Peek("Retry-After"), time.Now()), nil
}

// HTTPOptions returns the options the sender runs with.
func (s *http1Sender) HTTPOptions() HTTPOptions { return s.o }

func (s *http1Sender) Close() {
	for _, h := range s.hosts {
		h.CloseIdleConnections()
	}
	for _, c := range s.pipes {
		c.Close()
	}
	for _, h := range s.probes {
		h.CloseIdleConnections()
	}
	if s.o.Auth != nil {
		s.o.Auth.Close()
	}
}
