package dataplane

import (
	"compress/gzip"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/xdrhook/xdrhook/pool"
	"golang.org/x/net/http2"
)

// http2Sender sends over HTTP/2 with golang.org/x/net/http2: h2 over TLS
// (ALPN) for https:// URLs, h2c with prior knowledge for http:// URLs.
// One connection serializes its writes, so each URL gets several
// transports (each keeps its own connection) used round-robin.
type http2Sender struct {
	o   HTTPOptions
	eps []endpoint
	tr  [][]*http2.Transport // [endpoint][connection]
	rr  roundRobin
	// health, with health-check, steers the round robin off endpoints
	// that are down.
	health *endpointHealth
	// pools are the connection pools when a connection TTL is set.
	pools []*ttlConnPool
}

// NewHTTP2Sender builds an HTTP/2 sender.
func NewHTTP2Sender(o HTTPOptions) (Sender, error) {
	if err := o.check(true); err != nil {
		return nil, err
	}
	eps, err := o.endpoints()
	if err != nil {
		return nil, err
	}
	s := &http2Sender{o: o, eps: eps}
	for _, ep := range eps {
		var row []*http2.Transport
		for i := 0; i < o.MaxConnsPerEndpoint; i++ {
			t := &http2.Transport{
				// A dead connection is noticed within ReadIdleTimeout +
				// PingTimeout instead of eating requests for minutes.
				ReadIdleTimeout:    o.H2ReadIdleTimeout,
				PingTimeout:        o.H2PingTimeout,
				IdleConnTimeout:    o.IdleConnTimeout,
				WriteByteTimeout:   10 * time.Second,
				DisableCompression: true,
			}
			var dial func(ctx context.Context) (net.Conn, error)
			if ep.tls {
				cfg := &tls.Config{}
				if o.TLS != nil {
					cfg = o.TLS.Clone()
				}
				cfg.NextProtos = []string{"h2"}
				t.TLSClientConfig = cfg
				d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: o.ConnectTimeout}, Config: cfg}
				addr := ep.host
				dial = func(ctx context.Context) (net.Conn, error) { return d.DialContext(ctx, "tcp", addr) }
			} else {
				t.AllowHTTP = true
				d := &net.Dialer{Timeout: o.ConnectTimeout}
				addr := ep.host
				dial = func(ctx context.Context) (net.Conn, error) { return d.DialContext(ctx, "tcp", addr) }
			}
			t.DialTLSContext = func(ctx context.Context, _, _ string, _ *tls.Config) (net.Conn, error) { return dial(ctx) }
			if o.ConnTTL > 0 {
				p := &ttlConnPool{t: t, ttl: o.ConnTTL, dial: dial, h2: ep.tls}
				t.ConnPool = p
				s.pools = append(s.pools, p)
			}
			row = append(row, t)
		}
		s.tr = append(s.tr, row)
	}
	return s, nil
}

func (s *http2Sender) Do(r *Request, deadline time.Time) (int, time.Duration, error) {
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	body := r.Body
	var zbuf *pool.Buf
	if s.o.Gzip && len(body) >= s.o.GzipThreshold {
		zbuf = pool.Get(len(body)/2 + 64)
		zbuf.B = fasthttp.AppendGzipBytesLevel(zbuf.B, body, gzip.DefaultCompression)
		body = zbuf.B
	}
	var sb *sentBody
	if len(body) > 0 {
		sb = newSentBody(body)
	}
	status, retryAfter, err := s.roundTrip(ctx, r, sb, zbuf != nil)
	cancel()
	if sb != nil && !sb.release() {
		// The transport still holds the bytes: neither buffer is reused.
		r.Retained, zbuf = true, nil
	}
	if zbuf != nil {
		pool.Put(zbuf)
	}
	return status, retryAfter, err
}

// roundTrip sends r with body sb (nil: none) and reads the response.
func (s *http2Sender) roundTrip(ctx context.Context, r *Request, sb *sentBody, gzipped bool) (int, time.Duration, error) {
	k := s.rr.next(len(s.eps) * s.o.MaxConnsPerEndpoint)
	i, j := s.health.pick(k%len(s.eps)), k/len(s.eps)
	method := s.o.Method
	if r.Method != "" {
		method = r.Method
	}
	var rd io.Reader = http.NoBody
	var n int64
	if sb != nil {
		rd, n = sb.reader(), int64(len(sb.b))
	}
	target := s.eps[i].target(r)
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return 0, 0, err
	}
	if sb != nil {
		req.GetBody = sb.getBody // x/net's retries on another connection read from the start
	}
	req.ContentLength = n
	if r.ContentType != "" {
		req.Header.Set("Content-Type", r.ContentType)
	}
	req.Header.Set("User-Agent", s.o.UserAgent) // "" sends none
	if gzipped {
		req.Header.Set("Content-Encoding", "gzip")
	}
	for _, h := range s.o.Headers {
		req.Header.Set(h[0], h[1])
	}
	for _, h := range r.Headers {
		req.Header.Set(h.Name, string(h.Value))
	}
	if len(r.IdempotencyKey) > 0 {
		req.Header.Set("Idempotency-Key", string(r.IdempotencyKey))
	} else {
		req.Header.Set(recordsHeader, strconv.Itoa(r.Records))
	}
	var body []byte
	if sb != nil {
		body = sb.b
	}
	if err := authorize(s.o.Auth, r, method, target, body, stdHeader(req.Header)); err != nil {
		return 0, 0, err
	}
	resp, err := s.tr[i][j].RoundTrip(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
			return 0, 0, ErrTimeout
		}
		return 0, 0, err
	}
	defer resp.Body.Close()
	status := resp.StatusCode
	if r.checks(status) {
		buf := pool.Get(64 << 10)
		body, err := readBody(buf, resp.Body)
		status, err = r.checked(status, body, err)
		pool.Put(buf)
		if err != nil {
			return 0, 0, err
		}
	} else {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	}
	return status, parseRetryAfter([]byte(resp.Header.Get("Retry-After")), time.Now()), nil
}

// HTTPOptions returns the options the sender runs with.
func (s *http2Sender) HTTPOptions() HTTPOptions { return s.o }

func (s *http2Sender) Close() {
	for _, row := range s.tr {
		for _, t := range row {
			t.CloseIdleConnections()
		}
	}
	for _, p := range s.pools {
		p.closeIdle()
	}
	if s.o.Auth != nil {
		s.o.Auth.Close()
	}
}

// readBody reads a response body into buf, growing it up to
// maxCheckedBody.
func readBody(buf *pool.Buf, body io.Reader) ([]byte, error) {
	for len(buf.B) <= maxCheckedBody {
		if len(buf.B) == cap(buf.B) {
			buf.Grow(cap(buf.B))
		}
		n, err := body.Read(buf.B[len(buf.B):cap(buf.B)])
		buf.B = buf.B[:len(buf.B)+n]
		if err == io.EOF {
			return buf.B, nil
		}
		if err != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("response over %d MiB", maxCheckedBody>>20)
}
