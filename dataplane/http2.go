package dataplane

import (
	"compress/gzip"
	"crypto/tls"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/valyala/fasthttp"
	"github.com/xdrhook/xdrhook/h2client"
	"github.com/xdrhook/xdrhook/pool"
	"golang.org/x/net/http2/hpack"
)

// http2Sender sends over HTTP/2 with package h2client: h2 over TLS (ALPN)
// for https:// URLs, h2c with prior knowledge for http:// URLs. One
// h2client.Client per URL holds its connections (up to
// MaxConnsPerEndpoint), each carrying many streams whose frames go out
// together. A request's header list is built in a pooled h2call: the
// values that change per request live in its arena and are sent as HPACK
// "never indexed" literals, the fixed ones (method, scheme, authority,
// content type, user agent, the destination's headers) are indexed once
// per connection and cost a byte each after that.
type http2Sender struct {
	o      HTTPOptions
	eps    []endpoint
	cls    []*h2client.Client
	auth   []string // :authority per endpoint
	origin []string // scheme://authority per endpoint: the signed URL's prefix
	path   []string // :path of the configured URL per endpoint
	scheme []string
	static []hpack.HeaderField // the destination's headers, names in lower case
	ua     string
	rr     roundRobin
	// health, with health-check, steers the round robin off endpoints
	// that are down.
	health *endpointHealth
	calls  sync.Pool
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
	s := &http2Sender{o: o, eps: eps, ua: o.UserAgent}
	s.calls.New = func() any {
		c := new(h2call)
		c.onDone = c.complete
		return c
	}
	for _, h := range o.Headers {
		name := strings.ToLower(h[0])
		switch name {
		case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "host":
			continue // HTTP/1.1 connection headers have no place in HTTP/2 (RFC 9113 8.2.2)
		}
		s.static = append(s.static, hpack.HeaderField{Name: name, Value: h[1]})
	}
	for i := range eps {
		ep := &eps[i]
		authority := ep.origin[len(ep.scheme)+3:]
		authority = strings.ToLower(authority)
		s.auth = append(s.auth, authority)
		s.origin = append(s.origin, ep.scheme+"://"+authority)
		s.scheme = append(s.scheme, ep.scheme)
		s.path = append(s.path, urlPath(ep.url))
		ho := h2client.Options{
			Addr: ep.host, ConnectTimeout: o.ConnectTimeout, MaxConns: o.MaxConnsPerEndpoint,
			MaxStreams: uint32(o.H2MaxStreams),
			// Without connection-ttl a connection is added only when
			// the open ones have no free stream: fewer connections, more
			// requests per write (64 in flight: 6 CPU-µs per request on
			// one connection, 12-24 round robin over 8). connection-ttl
			// is there to spread load over the backends behind a
			// balancer: with it every connection slot is used.
			Spread:      o.ConnTTL > 0,
			IdleTimeout: o.IdleConnTimeout, ReadIdleTimeout: o.H2ReadIdleTimeout, PingTimeout: o.H2PingTimeout,
			ConnTTL: o.ConnTTL, MaxBody: maxCheckedBody,
		}
		if ep.tls {
			ho.TLS = o.TLS
			if ho.TLS == nil {
				ho.TLS = &tls.Config{} // system roots, verification on
			}
		}
		s.cls = append(s.cls, h2client.New(ho))
	}
	return s, nil
}

// urlPath is the :path of a URL: what follows scheme://[userinfo@]host,
// "/" if nothing does.
func urlPath(u string) string {
	rest := u
	if i := strings.Index(u, "://"); i >= 0 {
		rest = u[i+3:]
	}
	j := strings.IndexAny(rest, "/?")
	if j < 0 {
		return "/"
	}
	if rest[j] == '?' {
		return "/" + rest[j:]
	}
	return rest[j:]
}

// h2call is the per-request state of the sender, pooled.
type h2call struct {
	hdr  []hpack.HeaderField
	a    arena
	req  h2client.Request
	resp h2client.Response
	zbuf *pool.Buf // the gzipped body, if any

	// A request of Go: its sender, request and completion; onDone is
	// complete, bound once per h2call (no allocation per request).
	s      *http2Sender
	r      *Request
	f      requestDone
	onDone func(error)
}

// arena holds the bytes of a request's changing header values; strings
// handed out alias it, so it never grows in place: a full chunk is kept
// (until reset) and a new one started.
type arena struct {
	cur  []byte
	full [][]byte
}

func (a *arena) bytes(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if cap(a.cur)-len(a.cur) < len(b) {
		if cap(a.cur) > 0 {
			a.full = append(a.full, a.cur)
		}
		a.cur = make([]byte, 0, max(2*cap(a.cur), len(b), 512))
	}
	start := len(a.cur)
	a.cur = append(a.cur, b...)
	return unsafe.String(&a.cur[start], len(b))
}

// lower is s in lower case, copied into the arena only if it has capitals.
func (a *arena) lower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			if cap(a.cur)-len(a.cur) < len(s) {
				a.bytes(make([]byte, len(s))) // start a chunk with room
				a.cur = a.cur[:len(a.cur)-len(s)]
			}
			start := len(a.cur)
			for j := 0; j < len(s); j++ {
				c := s[j]
				if c >= 'A' && c <= 'Z' {
					c += 'a' - 'A'
				}
				a.cur = append(a.cur, c)
			}
			return unsafe.String(&a.cur[start], len(s))
		}
	}
	return s
}

func (a *arena) reset() {
	if len(a.full) > 0 {
		n := cap(a.cur)
		for i, b := range a.full {
			n += cap(b)
			a.full[i] = nil
		}
		a.full = a.full[:0]
		a.cur = make([]byte, 0, n)
	}
	a.cur = a.cur[:0]
}

// set adds a header, replacing one of the same name (as net/http's
// Header.Set does: a later setting wins).
func (c *h2call) set(name, value string, volatile bool) {
	f := hpack.HeaderField{Name: name, Value: value, Sensitive: volatile}
	for i := range c.hdr {
		if c.hdr[i].Name == name {
			c.hdr[i] = f
			return
		}
	}
	c.hdr = append(c.hdr, f)
}

// SetHeader lets an auth.Authorizer set a header (auth.HeaderSetter).
func (c *h2call) SetHeader(name string, v []byte) {
	c.set(c.a.lower(name), c.a.bytes(v), true)
}

// smallInts are the Xdrhook-Records values of most requests as stable
// strings, so that they are indexed.
var smallInts = func() (s [1024]string) {
	for i := range s {
		s[i] = strconv.Itoa(i)
	}
	return
}()

func (s *http2Sender) Do(r *Request, deadline time.Time) (int, time.Duration, error) {
	c, i, err := s.prepare(r)
	defer s.putCall(c)
	if err != nil {
		return 0, 0, err
	}
	err = s.cls[i].Do(&c.req, &c.resp, deadline)
	return s.result(c, r, err)
}

// Go is Do without a goroutine waiting for the response (asyncSender): f
// gets what Do would have returned, from the goroutine that ended the
// request (the connection's reader mostly; this one if it could not start).
func (s *http2Sender) Go(r *Request, deadline time.Time, f requestDone) {
	c, i, err := s.prepare(r)
	if err == nil {
		c.s, c.r, c.f = s, r, f
		if err = s.cls[i].Go(&c.req, &c.resp, deadline, c.onDone); err == nil {
			return // c belongs to the request until complete
		}
		c.s, c.r, c.f = nil, nil, nil
	}
	status, ra, err := s.result(c, r, err)
	s.putCall(c)
	f.requestDone(status, ra, err)
}

// goes: not with gzip, whose compression of a batch would hold the one
// dispatcher for milliseconds (the workers compress side by side).
func (s *http2Sender) goes() bool { return !s.o.Gzip }

// complete is the h2client completion of a request of Go. A response
// body to check (an Elasticsearch _bulk answer) is read on a goroutine of
// its own: the connection's reader, which runs this, goes on meanwhile.
func (c *h2call) complete(err error) {
	if err == nil && c.r.checks(c.resp.Status) {
		go c.land(nil)
		return
	}
	c.land(err)
}

// land judges the response of a request of Go, puts c back and hands the
// outcome on.
func (c *h2call) land(err error) {
	s, r, f := c.s, c.r, c.f
	status, ra, err := s.result(c, r, err)
	c.s, c.r, c.f = nil, nil, nil
	s.putCall(c)
	f.requestDone(status, ra, err)
}

// prepare builds r's HTTP/2 request in a pooled h2call (headers, gzip,
// auth) for the endpoint i it picks; c goes back with putCall, even after
// an error.
func (s *http2Sender) prepare(r *Request) (c *h2call, i int, err error) {
	i = s.health.pickFor(r, s.rr.next(len(s.eps)), len(s.eps))
	c = s.calls.Get().(*h2call)
	method := s.o.Method
	if r.Method != "" {
		method = r.Method
	}
	body := r.Body
	if s.o.Gzip && len(body) >= s.o.GzipThreshold {
		c.zbuf = pool.Get(len(body)/2 + 64)
		c.zbuf.B = fasthttp.AppendGzipBytesLevel(c.zbuf.B, body, gzip.DefaultCompression)
		body = c.zbuf.B // back to the pool in putCall: h2client keeps no reference then
	}
	path := s.path[i]
	if len(r.Path) > 0 {
		ep := &s.eps[i]
		pre := s.path[i]
		if r.Path[0] != '?' {
			pre = urlPath(ep.base)
			if pre == "/" {
				pre = ""
			}
		}
		path = c.a.concat(pre, r.Path)
	}
	c.set(":method", method, false)
	c.set(":scheme", s.scheme[i], false)
	c.set(":authority", s.auth[i], false)
	c.set(":path", path, len(r.Path) > 0)
	if r.ContentType != "" {
		c.set("content-type", r.ContentType, false)
	}
	if len(body) > 0 || method == "POST" || method == "PUT" || method == "PATCH" {
		var nb [20]byte
		c.set("content-length", c.a.bytes(strconv.AppendInt(nb[:0], int64(len(body)), 10)), true)
	}
	if s.ua != "" {
		c.set("user-agent", s.ua, false)
	}
	if c.zbuf != nil {
		c.set("content-encoding", "gzip", false)
	}
	for _, h := range s.static {
		c.set(h.Name, h.Value, false)
	}
	for _, h := range r.Headers {
		c.set(c.a.lower(h.Name), c.a.bytes(h.Value), true)
	}
	if len(r.IdempotencyKey) > 0 {
		c.set("idempotency-key", c.a.bytes(r.IdempotencyKey), true)
	} else if r.Records >= 0 && r.Records < len(smallInts) {
		c.set("xdrhook-records", smallInts[r.Records], false)
	} else {
		c.set("xdrhook-records", strconv.Itoa(r.Records), true)
	}
	if s.o.Auth != nil {
		target := c.a.join(s.origin[i], path) // in the arena: a concatenation would allocate per request
		if err := authorize(s.o.Auth, r, method, target, body, c); err != nil {
			return c, i, err
		}
	}
	c.req = h2client.Request{Header: c.hdr, Body: body, KeepBody: r.Check != nil}
	return c, i, nil
}

// result is what Do returns for the h2client outcome err of c.
func (s *http2Sender) result(c *h2call, r *Request, err error) (int, time.Duration, error) {
	if err != nil {
		if errors.Is(err, h2client.ErrTimeout) {
			return 0, 0, ErrTimeout
		}
		return 0, 0, err
	}
	status := c.resp.Status
	if r.checks(status) {
		var rerr error
		if c.resp.BodyTooLarge {
			rerr = fmt.Errorf("response over %d MiB", maxCheckedBody>>20)
		}
		if status, err = r.checked(status, c.resp.Body, rerr); err != nil {
			return 0, 0, err
		}
	}
	var ra time.Duration
	if len(c.resp.RetryAfter) > 0 {
		ra = parseRetryAfter(c.resp.RetryAfter, time.Now())
	}
	return status, ra, nil
}

// join is x followed by y, in the arena.
func (a *arena) join(x, y string) string {
	return a.concat(x, unsafe.Slice(unsafe.StringData(y), len(y)))
}

// concat is pre followed by b, in the arena.
func (a *arena) concat(pre string, b []byte) string {
	n := len(pre) + len(b)
	if cap(a.cur)-len(a.cur) < n {
		a.bytes(make([]byte, n))
		a.cur = a.cur[:len(a.cur)-n]
	}
	start := len(a.cur)
	a.cur = append(a.cur, pre...)
	a.cur = append(a.cur, b...)
	return unsafe.String(&a.cur[start], n)
}

func (s *http2Sender) putCall(c *h2call) {
	clear(c.hdr)
	c.hdr = c.hdr[:0]
	c.req = h2client.Request{}
	if c.zbuf != nil {
		pool.Put(c.zbuf)
		c.zbuf = nil
	}
	c.a.reset()
	if cap(c.resp.Body) > 1<<20 {
		c.resp.Body = nil
	}
	s.calls.Put(c)
}

// HTTPOptions returns the options the sender runs with.
func (s *http2Sender) HTTPOptions() HTTPOptions { return s.o }

func (s *http2Sender) Close() {
	for _, c := range s.cls {
		c.Close()
	}
	if s.o.Auth != nil {
		s.o.Auth.Close()
	}
}
