package dataplane

import (
	"net/http"

	"github.com/valyala/fasthttp"
	"github.com/xdrhook/xdrhook/auth"
)

// Authentication (destinations.*.auth) is applied by the senders to every
// attempt, after compression, so that a signature covers the bytes sent
// and a retried attempt is signed afresh (a new X-Amz-Date).

// fastHeader lets an auth.Authorizer set fasthttp request headers.
type fastHeader fasthttp.RequestHeader

func (h *fastHeader) SetHeader(name string, v []byte) {
	(*fasthttp.RequestHeader)(h).SetBytesV(name, v)
}

// stdHeader lets an auth.Authorizer set net/http request headers.
type stdHeader http.Header

func (h stdHeader) SetHeader(name string, v []byte) { http.Header(h).Set(name, string(v)) }

// authorize applies a (nil: none) to the attempt of r going to url with
// the final body. Its error (no valid credentials) fails the attempt like
// a transport error: retried, then answered 11.
func authorize(a auth.Authorizer, r *Request, method, url string, body []byte, h auth.HeaderSetter) error {
	if a == nil {
		return nil
	}
	// r.authReq keeps the per-attempt description off the heap.
	r.authReq = auth.Request{Method: method, URL: url, Body: body}
	err := a.Apply(&r.authReq, h)
	r.authReq = auth.Request{}
	return err
}
