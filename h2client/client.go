// Package h2client is an HTTP/2 client for many small requests to one
// origin: a few connections, each carrying up to the server's
// SETTINGS_MAX_CONCURRENT_STREAMS streams, whose HEADERS and DATA frames
// are appended to one write buffer and written by one writer goroutine per
// connection (many requests per write syscall), and whose responses one
// reader goroutine per connection hands to the waiting callers. Frames are
// written with golang.org/x/net/http2's Framer and header blocks coded with
// its hpack package; responses are parsed by the reader itself (reader.go:
// the Framer allocates a frame per HEADERS). A request in steady state
// allocates nothing: stream objects, their channels and timers are reused.
//
// One concern per file: client.go (options, Do, connection choice),
// conn.go (a connection's state and its writer), stream.go (a request's
// stream), flow.go (flow control both ways), reader.go (the frame reader).
package h2client

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2/hpack"

	"github.com/xdrhook/xdrhook/internal/netdial"
)

// Options configure a Client of one origin.
type Options struct {
	// Addr is the host:port dialed.
	Addr string
	// TLS, if set, makes connections h2 over TLS; ALPN must choose "h2".
	// nil: h2c with prior knowledge.
	TLS            *tls.Config
	ConnectTimeout time.Duration
	// MaxConns bounds the connections (at least 1).
	MaxConns int
	// MaxStreams caps the streams of one connection below the server's
	// SETTINGS_MAX_CONCURRENT_STREAMS (0: the server's alone).
	MaxStreams uint32
	// Spread sends requests round robin over MaxConns connections; without
	// it a connection is dialled only when the open ones have no free
	// stream (fewer connections, more requests per write).
	Spread bool
	// IdleTimeout closes a connection without streams for that long.
	IdleTimeout time.Duration
	// ReadIdleTimeout: a connection silent that long is pinged, and closed
	// if nothing arrives within PingTimeout.
	ReadIdleTimeout, PingTimeout time.Duration
	// ConnTTL, if more than 0: a connection that old takes no new stream
	// and closes once its streams are done.
	ConnTTL time.Duration
	// WriteTimeout fails a connection whose write makes no progress for
	// that long (0: 10 s).
	WriteTimeout time.Duration
	// MaxBody bounds a response body kept (Request.KeepBody; 0: 64 MiB).
	MaxBody int
	// Dial, if set, replaces the TCP dial (tests); TLS still applies.
	Dial func(ctx context.Context) (net.Conn, error)
}

// Request is one request. Header holds the pseudo-headers (:method,
// :scheme, :authority, :path) first, then the regular fields, names in
// lower case. A Sensitive field is never put in the HPACK dynamic table,
// so its strings may alias memory the caller reuses once Do returned;
// the others must stay valid for the Client's life (they are indexed).
type Request struct {
	Header []hpack.HeaderField
	Body   []byte
	// KeepBody keeps the body of a 2xx response in Response.Body; other
	// bodies are read and dropped.
	KeepBody bool
}

// Response is what Do filled in. Its slices are reused by the next Do with
// the same Response.
type Response struct {
	Status     int
	RetryAfter []byte
	Body       []byte
	// BodyTooLarge: the kept body passed Options.MaxBody and was cut.
	BodyTooLarge bool
}

var (
	// ErrTimeout is returned when the deadline passed.
	ErrTimeout = errors.New("h2client: request timed out")
	// ErrNotProcessed: the server did not process the request (GOAWAY,
	// REFUSED_STREAM) on maxUnprocessed+1 streams in a row.
	ErrNotProcessed = errors.New("h2client: the server did not process the request (GOAWAY or REFUSED_STREAM), 5 times in a row")
	// ErrClosed is returned by Do after Close.
	ErrClosed = errors.New("h2client: client closed")
	// errUnprocessed is a stream the server did not process (above a
	// GOAWAY's last stream id, REFUSED_STREAM, a connection that closed
	// before the stream was started): Do sends it again.
	errUnprocessed = errors.New("h2client: stream not processed by the server")
)

// Client sends requests over HTTP/2 connections to one origin.
type Client struct {
	o     Options
	slots []slot
	rr    atomic.Uint32

	mu      sync.Mutex
	conns   map[*conn]struct{} // every open connection, retired ones included
	closed  bool
	waitCh  chan struct{} // closed when a stream or connection frees up; nil: no waiter
	waiters atomic.Int32

	streams sync.Pool
	dialed  atomic.Int64
}

type slot struct {
	cc      atomic.Pointer[conn]
	dialing atomic.Bool
}

// New returns a Client; it dials on the first request.
func New(o Options) *Client {
	if o.MaxConns < 1 {
		o.MaxConns = 1
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 10 * time.Second
	}
	if o.MaxBody <= 0 {
		o.MaxBody = 64 << 20
	}
	for _, d := range []*time.Duration{&o.IdleTimeout, &o.ReadIdleTimeout, &o.PingTimeout, &o.ConnectTimeout} {
		if *d <= 0 {
			*d = 10 * time.Second
		}
	}
	c := &Client{o: o, slots: make([]slot, o.MaxConns), conns: map[*conn]struct{}{}}
	c.streams.New = func() any { return newStream() }
	return c
}

// Dialed returns the number of connections dialled so far.
func (c *Client) Dialed() int64 { return c.dialed.Load() }

// Do sends req and fills resp. A stream the server did not process
// (GOAWAY above it, REFUSED_STREAM) is sent again on another connection
// until the deadline; any other failure is returned. At the deadline the
// stream is reset (RST_STREAM CANCEL) and ErrTimeout returned. Do keeps no
// reference to req.Body or the Sensitive header strings after it returns:
// the frames are copied into the connection's write buffer, and DATA still
// waiting for flow-control window is dropped with the stream.
func (c *Client) Do(req *Request, resp *Response, deadline time.Time) error {
	return c.do(req, resp, deadline, 1)
}

// do is Do's loop; sent is the stream the request goes out on first (2 and
// more: a request of Go that the server did not process).
func (c *Client) do(req *Request, resp *Response, deadline time.Time, sent int) error {
	st := c.streams.Get().(*stream)
	st.armed = false
	defer func() {
		st.timer.Stop()
		c.streams.Put(st)
	}()
	for ; ; sent++ {
		cc, err := c.start(st, req, resp, deadline)
		if err != nil {
			return err
		}
		err = st.wait(cc, deadline)
		if err != errUnprocessed {
			return err
		}
		if !time.Now().Before(deadline) {
			return ErrTimeout
		}
		if sent > maxUnprocessed {
			// A server refusing every stream: the caller's retry policy
			// (with its backoff) takes over.
			return ErrNotProcessed
		}
	}
}

// maxUnprocessed bounds the re-sends inside one Do of a stream the server
// did not process.
const maxUnprocessed = 4

// start opens st for req on a connection with a free stream, dialling one
// when allowed, or waits for one until the deadline.
func (c *Client) start(st *stream, req *Request, resp *Response, deadline time.Time) (*conn, error) {
	n := uint32(len(c.slots))
	first := uint32(0)
	if c.o.Spread {
		first = c.rr.Add(1)
	}
	registered := false
	defer func() {
		if registered {
			c.waiters.Add(-1)
		}
	}()
	var wait chan struct{}
	for {
		now := time.Now()
		if !now.Before(deadline) {
			return nil, ErrTimeout
		}
		dialOn := -1
		waitDial := false
		for k := uint32(0); k < n; k++ {
			i := (first + k) % n
			s := &c.slots[i]
			if cc := s.cc.Load(); cc != nil {
				ok, dead := cc.tryStart(st, req, resp, now)
				if ok {
					return cc, nil
				}
				if dead {
					s.cc.CompareAndSwap(cc, nil)
				} else {
					continue // full
				}
			}
			if s.dialing.Load() {
				if !c.o.Spread {
					waitDial = true // its streams will likely do
					break
				}
				continue
			}
			dialOn = int(i)
			break
		}
		if dialOn >= 0 && !waitDial {
			s := &c.slots[dialOn]
			if s.dialing.CompareAndSwap(false, true) {
				if s.cc.Load() != nil {
					// Another caller dialled this slot between our look
					// and the CAS: use its connection, don't dial a second.
					s.dialing.Store(false)
					continue
				}
				cc, err := c.dial(deadline)
				if err == nil {
					s.cc.Store(cc)
				}
				s.dialing.Store(false)
				c.wake()
				if err != nil {
					return nil, err
				}
			}
			continue
		}
		// Every connection is full (or being dialled): wait for a stream
		// to end or a dial to finish.
		if !registered {
			registered = true
			c.waiters.Add(1)
		}
		if wait == nil {
			c.mu.Lock()
			if c.closed {
				c.mu.Unlock()
				return nil, ErrClosed
			}
			if c.waitCh == nil {
				c.waitCh = make(chan struct{})
			}
			wait = c.waitCh
			c.mu.Unlock()
			continue // look once more: a stream may have ended meanwhile
		}
		st.arm(deadline)
		select {
		case <-wait:
		case <-st.timer.C:
			st.armed = false
		}
		wait = nil
	}
}

// wake tells the requests waiting for a stream that one may be free.
func (c *Client) wake() {
	if c.waiters.Load() == 0 {
		return
	}
	c.mu.Lock()
	if c.waitCh != nil {
		close(c.waitCh)
		c.waitCh = nil
	}
	c.mu.Unlock()
}

// dial opens a connection: TCP (+TLS with ALPN h2), the preface, our
// SETTINGS.
func (c *Client) dial(deadline time.Time) (*conn, error) {
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	nc, err := netdial.Dial(c.o.Addr, c.o.TLS, "h2", c.o.Dial, c.o.ConnectTimeout, deadline)
	switch {
	case err == netdial.ErrDeadline:
		return nil, ErrTimeout
	case err != nil && c.o.TLS != nil && strings.Contains(err.Error(), "no application protocol"):
		// The server refused ALPN h2 outright (Go's servers do).
		return nil, fmt.Errorf("h2client: %s did not negotiate HTTP/2 over TLS (%v): use HTTP/1.1 for it", c.o.Addr, err)
	case err != nil:
		return nil, err
	}
	if tc, ok := nc.(*tls.Conn); ok {
		if p := tc.ConnectionState().NegotiatedProtocol; p != "h2" {
			tc.Close()
			return nil, fmt.Errorf("h2client: %s did not negotiate HTTP/2 over TLS (ALPN chose %q): use HTTP/1.1 for it", c.o.Addr, p)
		}
	}
	cc := newConn(c, nc)
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		cc.fail(ErrClosed)
		return nil, ErrClosed
	}
	c.conns[cc] = struct{}{}
	c.mu.Unlock()
	c.dialed.Add(1)
	cc.run()
	return cc, nil
}

func (c *Client) forget(cc *conn) {
	c.mu.Lock()
	delete(c.conns, cc)
	c.mu.Unlock()
	for i := range c.slots {
		c.slots[i].cc.CompareAndSwap(cc, nil)
	}
	c.wake()
}

// Close closes every connection; requests in flight fail with ErrClosed.
func (c *Client) Close() {
	c.mu.Lock()
	c.closed = true
	conns := make([]*conn, 0, len(c.conns))
	for cc := range c.conns {
		conns = append(conns, cc)
	}
	if c.waitCh != nil {
		close(c.waitCh)
		c.waitCh = nil
	}
	c.mu.Unlock()
	for _, cc := range conns {
		cc.fail(ErrClosed)
	}
}

// Conns returns the number of open connections (tests, metrics).
func (c *Client) Conns() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.conns)
}
