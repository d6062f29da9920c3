package dataplane

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
	"golang.org/x/net/http2"
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
//   - HTTP/2: ttlConnPool, a ClientConnPool that stops giving out an aged
//     ClientConn, shuts it down gracefully (GOAWAY after its streams end)
//     and dials a new one.

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

// ttlConnPool is the http2.ClientConnPool of one transport (one connection
// slot of an endpoint) when a connection TTL is set.
type ttlConnPool struct {
	t    *http2.Transport
	ttl  time.Duration
	dial func(ctx context.Context) (net.Conn, error)
	h2   bool // TLS: ALPN must have chosen h2

	mu      sync.Mutex
	conns   []ttlConn
	retired atomic.Int64 // connections shut down for age
}

type ttlConn struct {
	cc   *http2.ClientConn
	born time.Time
}

// GetClientConn implements http2.ClientConnPool: a live connection younger
// than the TTL with a free stream, else a new one.
func (p *ttlConnPool) GetClientConn(req *http.Request, _ string) (*http2.ClientConn, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	keep := p.conns[:0]
	var pick *http2.ClientConn
	for _, c := range p.conns {
		if st := c.cc.State(); st.Closed || st.Closing {
			continue
		}
		if now.Sub(c.born) >= p.ttl {
			p.retired.Add(1)
			go shutdownGracefully(c.cc)
			continue
		}
		keep = append(keep, c)
		if pick == nil && c.cc.ReserveNewRequest() {
			pick = c.cc
		}
	}
	for i := len(keep); i < len(p.conns); i++ {
		p.conns[i] = ttlConn{}
	}
	p.conns = keep
	if pick != nil {
		return pick, nil
	}
	conn, err := p.dial(req.Context())
	if err != nil {
		return nil, err
	}
	if tc, ok := conn.(*tls.Conn); ok && p.h2 {
		if proto := tc.ConnectionState().NegotiatedProtocol; proto != http2.NextProtoTLS {
			conn.Close()
			return nil, fmt.Errorf("http2: the server chose protocol %q, not h2", proto)
		}
	}
	cc, err := p.t.NewClientConn(conn)
	if err != nil {
		conn.Close()
		return nil, err
	}
	if !cc.ReserveNewRequest() {
		cc.Close()
		return nil, fmt.Errorf("http2: a new connection takes no request")
	}
	p.conns = append(p.conns, ttlConn{cc: cc, born: now})
	return cc, nil
}

// MarkDead implements http2.ClientConnPool.
func (p *ttlConnPool) MarkDead(cc *http2.ClientConn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, c := range p.conns {
		if c.cc == cc {
			last := len(p.conns) - 1
			copy(p.conns[i:], p.conns[i+1:])
			p.conns[last] = ttlConn{}
			p.conns = p.conns[:last]
			return
		}
	}
}

// closeIdle closes the connections that carry no stream (Close of the
// sender).
func (p *ttlConnPool) closeIdle() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		if c.cc.State().StreamsActive == 0 {
			c.cc.Close()
		}
	}
}

// shutdownGracefully sends GOAWAY and closes cc once its streams are done;
// streams still running after the longest reply deadline are cut.
func shutdownGracefully(cc *http2.ClientConn) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if cc.Shutdown(ctx) != nil {
		cc.Close()
	}
}
