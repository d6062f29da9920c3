package dataplane

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// Connection TTL (destinations.*.connection-ttl): a connection older than
// HTTPOptions.ConnTTL takes no new request; it is closed once its in-flight
// requests are done and the next request dials anew, so that a load
// balancer in front spreads the load onto backends added since.
//
//   - HTTP/1.1: fasthttp's HostClient.MaxConnDuration does exactly that
//     (the last request on an aged connection says Connection: close).
//   - Pipelined HTTP/1.1: fasthttp's PipelineClient has no such knob, so
//     the client of an endpoint is replaced whole (rotatingPipe); the old
//     one takes no new request and its connections close when idle.
//   - HTTP/2: h2client.Options.ConnTTL: an aged connection takes no new
//     stream, sends GOAWAY and closes once its streams are done; the next
//     request dials. With a TTL the requests go round robin over every
//     connection slot (h2client.Options.Spread), so that the re-dials
//     reach the new backends quickly; without one, a connection is added
//     only when the open ones have no free stream.

// rotatingPipe is one endpoint's pipelined client, replaced when older
// than ttl.
type rotatingPipe struct {
	ttl  time.Duration
	mk   func() *fasthttp.PipelineClient
	cur  atomic.Pointer[pipeGen]
	mu   sync.Mutex // one replacement at a time
	gens atomic.Int64
}

type pipeGen struct {
	pc   *fasthttp.PipelineClient
	born time.Time
}

func newRotatingPipe(ttl time.Duration, mk func() *fasthttp.PipelineClient) *rotatingPipe {
	r := &rotatingPipe{ttl: ttl, mk: mk}
	r.cur.Store(&pipeGen{pc: mk(), born: time.Now()})
	return r
}

// client returns the endpoint's current pipelined client, replacing it
// first when it is past the TTL (ttl 0: never).
func (r *rotatingPipe) client() *fasthttp.PipelineClient {
	g := r.cur.Load()
	if r.ttl <= 0 {
		return g.pc
	}
	now := time.Now()
	if now.Sub(g.born) < r.ttl {
		return g.pc
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if g = r.cur.Load(); now.Sub(g.born) < r.ttl {
		return g.pc
	}
	// The old client's connections finish what they carry and close after
	// MaxIdleConnDuration without requests.
	g = &pipeGen{pc: r.mk(), born: now}
	r.cur.Store(g)
	r.gens.Add(1)
	return g.pc
}
