package dataplane

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/xdrhook/xdrhook/h1client"
	"github.com/xdrhook/xdrhook/pool"
)

// Pipelined HTTP/1.1 (http1-pipelining: true) goes through package
// h1client: a request's head is built here with fasthttp's RequestHeader
// (the same fields and bytes as the keep-alive path) into a pooled h1call,
// and the request is started with Go like an HTTP/2 one: no goroutine
// waits for it, its completion runs on the connection's reader.

// h1call is the per-request state of a pipelined request, pooled.
type h1call struct {
	hdr  fasthttp.RequestHeader
	head []byte
	a    arena // the request-target and signed URL when the record has a path
	req  h1client.Request
	resp h1client.Response
	zbuf *pool.Buf // the gzipped body, if any

	// A request of Go: its sender, request and completion; onDone is
	// complete, bound once per h1call.
	s      *http1Sender
	r      *Request
	f      requestDone
	onDone func(error)
}

func (s *http1Sender) doPipelined(r *Request, deadline time.Time) (int, time.Duration, error) {
	c, i, err := s.preparePipelined(r)
	defer s.putCall(c)
	if err != nil {
		return 0, 0, err
	}
	err = s.pipes[i].Do(&c.req, &c.resp, deadline)
	return s.pipelinedResult(c, r, err)
}

// Go is Do without a goroutine waiting for the response (asyncSender),
// pipelined only: f gets what Do would have returned.
func (s *http1Sender) Go(r *Request, deadline time.Time, f requestDone) {
	c, i, err := s.preparePipelined(r)
	if err == nil {
		c.s, c.r, c.f = s, r, f
		if err = s.pipes[i].Go(&c.req, &c.resp, deadline, c.onDone); err == nil {
			return // c belongs to the request until complete
		}
		c.s, c.r, c.f = nil, nil, nil
	}
	status, ra, err := s.pipelinedResult(c, r, err)
	s.putCall(c)
	f.requestDone(status, ra, err)
}

// goes: pipelined only (keep-alive connections carry one request at a
// time: workers), and not with gzip, whose compression of a batch would
// hold the one dispatcher (the workers compress side by side).
func (s *http1Sender) goes() bool { return s.pipes != nil && !s.o.Gzip }

// complete is the h1client completion of a request of Go. A response body
// to check (an Elasticsearch _bulk answer) is read on a goroutine of its
// own: the connection's reader, which runs this, goes on meanwhile.
func (c *h1call) complete(err error) {
	if err == nil && c.r.checks(c.resp.Status) {
		go c.land(nil)
		return
	}
	c.land(err)
}

// land judges the response of a request of Go, puts c back and hands the
// outcome on.
func (c *h1call) land(err error) {
	s, r, f := c.s, c.r, c.f
	status, ra, err := s.pipelinedResult(c, r, err)
	c.s, c.r, c.f = nil, nil, nil
	s.putCall(c)
	f.requestDone(status, ra, err)
}

// preparePipelined builds r's request in a pooled h1call (head, gzip,
// auth) for the endpoint i it picks; c goes back with putCall, even after
// an error.
func (s *http1Sender) preparePipelined(r *Request) (c *h1call, i int, err error) {
	i = s.health.pickFor(r, s.rr.next(len(s.eps)), len(s.eps))
	c = s.calls.Get().(*h1call)
	ep := &s.eps[i]
	method := s.o.Method
	if r.Method != "" {
		method = r.Method
	}
	body := r.Body
	h := &c.hdr
	h.Reset()
	if s.o.Gzip && len(body) >= s.o.GzipThreshold {
		c.zbuf = pool.Get(len(body)/2 + 64)
		c.zbuf.B = fasthttp.AppendGzipBytesLevel(c.zbuf.B, body, gzip.DefaultCompression)
		body = c.zbuf.B // back to the pool in putCall: h1client keeps no reference then
		h.Set("Content-Encoding", "gzip")
	}
	if c.zbuf == nil && s.headFast(r) {
		if pre := s.headPrefix(i, r.ContentType); pre != nil {
			c.head = appendHeadTail(append(c.head[:0], pre...), r, len(body))
			c.req = h1client.Request{Head: c.head, Body: body, KeepBody: r.Check != nil}
			return c, i, nil
		}
	}
	target, path := ep.url, urlPath(ep.url)
	if len(r.Path) > 0 {
		pre := path
		if r.Path[0] != '?' {
			pre = urlPath(ep.base)
			if pre == "/" {
				pre = ""
			}
		}
		path = c.a.concat(pre, r.Path)
		target = c.a.join(ep.origin, path)
	}
	h.SetMethod(method)
	h.SetRequestURI(path)
	h.SetHost(s.auth[i])
	if r.ContentType != "" {
		h.SetContentType(r.ContentType)
	}
	h.SetUserAgent(s.o.UserAgent)
	for _, kv := range s.o.Headers {
		h.Set(kv[0], kv[1])
	}
	for _, kv := range r.Headers {
		h.SetBytesV(kv.Name, kv.Value)
	}
	if len(r.IdempotencyKey) > 0 {
		h.SetBytesV("Idempotency-Key", r.IdempotencyKey)
	} else if r.Records >= 0 && r.Records < len(smallInts) {
		h.Set(recordsHeader, smallInts[r.Records])
	} else {
		h.SetBytesV(recordsHeader, fasthttp.AppendUint(c.head[:0], r.Records))
	}
	h.SetContentLength(len(body))
	if err := authorize(s.o.Auth, r, method, target, body, (*fastHeader)(h)); err != nil {
		return c, i, err
	}
	c.head = h.AppendBytes(c.head[:0])
	c.req = h1client.Request{Head: c.head, Body: body, KeepBody: r.Check != nil}
	return c, i, nil
}

// headFast reports whether r's head is an endpoint's prefix and the
// per-request tail (appendHeadTail): nothing of r's own but its content
// type, length and records, no auth to sign it.
func (s *http1Sender) headFast(r *Request) bool {
	return s.prefixes != nil && s.o.Auth == nil && len(r.Headers) == 0 && r.Method == "" && len(r.Path) == 0 && r.ContentType != ""
}

// headPrefix is endpoint i's request head for content type ct up to the
// per-request fields: the request line, User-Agent, Host, Content-Type and
// the destination's headers, as fasthttp writes them, without the final
// CRLF. It is built on a content type's first request and kept (one per
// endpoint: a destination's bodies have one content type).
func (s *http1Sender) headPrefix(i int, ct string) []byte {
	if p := s.prefixes[i].Load(); p != nil && p.contentType == ct {
		return p.b
	}
	var h fasthttp.RequestHeader
	ep := &s.eps[i]
	h.SetMethod(s.o.Method)
	h.SetRequestURI(urlPath(ep.url))
	h.SetHost(s.auth[i])
	h.SetContentType(ct)
	h.SetUserAgent(s.o.UserAgent)
	for _, kv := range s.o.Headers {
		h.Set(kv[0], kv[1])
	}
	b := h.AppendBytes(nil)
	p := &headPrefix{contentType: ct, b: b[:len(b)-2]}
	s.prefixes[i].Store(p)
	return p.b
}

// headPrefix is an endpoint's head prefix for one content type.
type headPrefix struct {
	contentType string
	b           []byte
}

// appendHeadTail appends the fields that change per request and the end
// of the head: Content-Length, then Idempotency-Key or Xdrhook-Records.
func appendHeadTail(dst []byte, r *Request, n int) []byte {
	dst = append(dst, "Content-Length: "...)
	dst = strconv.AppendInt(dst, int64(n), 10)
	if len(r.IdempotencyKey) > 0 {
		// The key is ours (batcher.go's appendIdempotencyKey: digits,
		// hex and a dash), never record data: no CR or LF to strip.
		dst = append(dst, "\r\nIdempotency-Key: "...)
		dst = append(dst, r.IdempotencyKey...)
	} else {
		dst = append(dst, "\r\n"+recordsHeader+": "...)
		dst = strconv.AppendInt(dst, int64(r.Records), 10)
	}
	return append(dst, "\r\n\r\n"...)
}

// fastHeadable reports whether the destination's own headers leave the
// per-request fields to appendHeadTail and are written alike both ways:
// none of them sets a per-request field, names one as a trailer (fasthttp
// then leaves it out of the head), or empties Content-Type (fasthttp then
// writes its default).
func fastHeadable(headers [][2]string) bool {
	for _, kv := range headers {
		switch strings.ToLower(kv[0]) {
		case "content-length", "transfer-encoding", "idempotency-key", strings.ToLower(recordsHeader), "trailer":
			return false
		case "content-type":
			if kv[1] == "" {
				return false
			}
		}
	}
	return true
}

// pipelinedResult is what Do returns for the h1client outcome err of c.
func (s *http1Sender) pipelinedResult(c *h1call, r *Request, err error) (int, time.Duration, error) {
	if err != nil {
		if errors.Is(err, h1client.ErrTimeout) {
			return 0, 0, ErrTimeout
		}
		return 0, 0, err
	}
	status := c.resp.Status
	if r.checks(status) {
		body := c.resp.Body
		var rerr error
		switch {
		case c.resp.BodyTooLarge:
			rerr = fmt.Errorf("response over %d MiB", maxCheckedBody>>20)
		case c.resp.Gzip:
			// A user header may have asked for a compressed response.
			body, rerr = gunzipAtMost(body, maxCheckedBody)
		}
		if status, err = r.checked(status, body, rerr); err != nil {
			return 0, 0, err
		}
	}
	var ra time.Duration
	if len(c.resp.RetryAfter) > 0 {
		ra = parseRetryAfter(c.resp.RetryAfter, time.Now())
	}
	return status, ra, nil
}

// gunzipAtMost is the gzip body b decompressed, an error past max bytes.
func gunzipAtMost(b []byte, max int) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	out, err := io.ReadAll(io.LimitReader(zr, int64(max)+1))
	if err == nil && len(out) > max {
		err = fmt.Errorf("response over %d MiB", max>>20)
	}
	return out, err
}

func (s *http1Sender) putCall(c *h1call) {
	c.req = h1client.Request{}
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
