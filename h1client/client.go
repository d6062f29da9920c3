// Package h1client is a pipelined HTTP/1.1 client for many small requests
// to one origin: a few connections, each carrying up to MaxPending
// requests not yet answered, whose bytes are appended to one write buffer
// and written by one writer goroutine per connection (many requests per
// write syscall), and whose responses, which come in order, one reader
// goroutine per connection parses and hands to the callers' completions.
// No goroutine waits per request (Go), and a request in steady state
// allocates nothing: calls are pooled, a connection's deadlines are one
// timer.
//
// The caller builds each request's head (request line, header fields,
// Content-Length, the blank line); the client frames nothing but adds
// nothing either.
//
// One concern per file: client.go (options, Do, Go, the choice of a
// connection, dialling), conn.go (a connection's queue, writer, timer and
// failure), response.go (the response parser), call.go (a request's
// pooled state and its completion).
package h1client

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/xdrhook/xdrhook/internal/netdial"
)

// Options configure a Client of one origin.
type Options struct {
	// Addr is the host:port dialed.
	Addr string
	// TLS, if set, makes connections HTTPS (ALPN offers http/1.1 only).
	TLS            *tls.Config
	ConnectTimeout time.Duration
	// MaxConns bounds the connections (at least 1). A new one is dialled
	// while every open one has a request unanswered: servers answer a
	// pipelined connection one request at a time.
	MaxConns int
	// MaxPending bounds the requests sent or queued and not answered on
	// one connection (0: 128).
	MaxPending int
	// IdleTimeout closes a connection without requests for that long.
	IdleTimeout time.Duration
	// ConnTTL, if more than 0: a connection that old takes no new request
	// and closes once its requests are answered.
	ConnTTL time.Duration
	// WriteTimeout fails a connection whose write makes no progress for
	// that long (0: 10 s).
	WriteTimeout time.Duration
	// MaxBody bounds a response body kept (Request.KeepBody; 0: 64 MiB).
	MaxBody int
	// Dial, if set, replaces the TCP dial (tests); TLS still applies.
	Dial func(ctx context.Context) (net.Conn, error)
}

// Request is one request: Head is its head as sent (request line, fields,
// Content-Length for the body, the empty line), Body its body. Both must
// stay untouched until the request's completion: a request the server did
// not process is sent again from them. A HEAD request is not supported:
// its response would be read as having the body its fields announce.
type Request struct {
	Head []byte
	Body []byte
	// KeepBody keeps the body of a 2xx response in Response.Body; other
	// bodies are read and dropped.
	KeepBody bool
}

// Response is what a request got. Its slices are reused by the next
// request with the same Response.
type Response struct {
	Status     int
	RetryAfter []byte
	Body       []byte
	// BodyTooLarge: the kept body passed Options.MaxBody and was cut.
	BodyTooLarge bool
	// Gzip: the response had Content-Encoding: gzip (Body is as sent).
	Gzip bool
}

var (
	// ErrTimeout is returned when the deadline passed.
	ErrTimeout = errors.New("h1client: request timed out")
	// ErrNotProcessed: the server closed the connection before
	// processing the request, maxUnprocessed+1 times in a row.
	ErrNotProcessed = errors.New("h1client: the server closed the connection before processing the request, 5 times in a row")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("h1client: client closed")
	// errUnprocessed is a request the server did not process: still in
	// our write buffer when the connection failed, or queued behind a
	// response that closed the connection (Connection: close). It is sent
	// again.
	errUnprocessed = errors.New("h1client: request not processed by the server")
)

// maxUnprocessed bounds the re-sends of a request the server did not
// process.
const maxUnprocessed = 4

// Client sends requests over pipelined HTTP/1.1 connections to one origin.
type Client struct {
	o Options
	// conns are the connections open, an immutable slice replaced under
	// mu: a request picks one without a lock.
	conns atomic.Pointer[[]*conn]

	mu      sync.Mutex
	dialing int
	// closed is set by Close, under mu (dialed1 looks under mu).
	closed atomic.Bool
	// dialFailed is when a dial last failed: for dialBackoff after it,
	// requests use the open connections rather than each pay a dial.
	dialFailed time.Time
	waitCh     chan struct{} // closed when a request was answered; nil: no waiter
	waiters    atomic.Int32

	calls  sync.Pool
	syncs  sync.Pool // Do's waits
	dialed atomic.Int64
	resent atomic.Int64
}

// New returns a Client; it dials on the first request.
func New(o Options) *Client {
	if o.MaxConns < 1 {
		o.MaxConns = 1
	}
	if o.MaxPending < 1 {
		o.MaxPending = 128
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 10 * time.Second
	}
	if o.MaxBody <= 0 {
		o.MaxBody = 64 << 20
	}
	for _, d := range []*time.Duration{&o.IdleTimeout, &o.ConnectTimeout} {
		if *d <= 0 {
			*d = 10 * time.Second
		}
	}
	c := &Client{o: o}
	c.conns.Store(new([]*conn))
	c.calls.New = func() any { return new(call) }
	c.syncs.New = func() any {
		w := &syncWait{ch: make(chan error, 1)}
		w.done = func(err error) { w.ch <- err }
		return w
	}
	return c
}

// syncWait is what Do waits on, pooled: its done is bound once.
type syncWait struct {
	ch   chan error
	done func(error)
}

// Dialed returns the number of connections dialled so far.
func (c *Client) Dialed() int64 { return c.dialed.Load() }

// Resent returns the number of requests sent again because the server
// had not processed them (a Connection: close ahead of them, a connection
// lost before they were written).
func (c *Client) Resent() int64 { return c.resent.Load() }

// Conns returns the number of open connections (tests, metrics).
func (c *Client) Conns() int { return len(*c.conns.Load()) }

// Pending returns the requests queued and not answered (tests, metrics).
func (c *Client) Pending() int {
	n := 0
	for _, cc := range *c.conns.Load() {
		n += int(cc.pending.Load())
	}
	return n
}

// Do sends req and fills resp: Go, waiting for the completion.
func (c *Client) Do(req *Request, resp *Response, deadline time.Time) error {
	w := c.syncs.Get().(*syncWait)
	defer c.syncs.Put(w)
	if err := c.Go(req, resp, deadline, w.done); err != nil {
		return err
	}
	return <-w.ch
}

// Go starts req and returns without waiting for the response: done is
// called once with the outcome (nil: resp holds a response, whatever its
// status), by the goroutine that ended the request (the connection's
// reader mostly; the connection's timer at the deadline; the one that
// failed or closed the connection; a goroutine re-sending a request the
// server did not process), maybe before Go returns, never under a lock of
// the Client's. done must not block nor call Go or Do (it may run on a
// connection's reader, which the responses of other requests wait for,
// and Go may dial). Go itself waits only for a dial or,
// when every connection has MaxPending requests, for an answer; if that
// fails it returns the error and done is not called.
func (c *Client) Go(req *Request, resp *Response, deadline time.Time, done func(error)) error {
	k := c.calls.Get().(*call)
	k.req, k.resp, k.deadline, k.done, k.sent = req, resp, deadline, done, 1
	if err := c.start(k); err != nil {
		k.reset()
		c.calls.Put(k)
		return err
	}
	return nil // k is the connection's: not a look at it here
}

// start queues k on the connection with the fewest requests unanswered,
// dialling one while every open one has some and MaxConns allows, or
// waits until one has room or the deadline.
func (c *Client) start(k *call) error {
	registered := false
	defer func() {
		if registered {
			c.waiters.Add(-1)
		}
	}()
	var wait chan struct{}
	for {
		if c.closed.Load() {
			return ErrClosed
		}
		now := time.Now()
		if !now.Before(k.deadline) {
			return ErrTimeout
		}
		var best *conn
		bestN := int32(1 << 30)
		for _, cc := range *c.conns.Load() {
			if cc.dead.Load() {
				continue
			}
			if n := cc.pending.Load(); n < bestN {
				best, bestN = cc, n
			}
		}
		room := best != nil && bestN < int32(c.o.MaxPending)
		switch {
		case room && bestN > 0:
			// A connection more for the requests to come; this one
			// does not wait for its dial.
			c.dialBehind()
		case !room:
			cc, err, tried := c.maybeDial(k.deadline)
			switch {
			case cc != nil:
				best, bestN = cc, 0
			case tried && err != nil:
				return err
			}
		}
		if best != nil && bestN < int32(c.o.MaxPending) {
			if best.enqueue(k, now) {
				return nil
			}
			continue // it closed meanwhile
		}
		if best == nil && c.dialingNow() == 0 {
			continue
		}
		// Every connection is full (or the only one is being dialled):
		// wait for an answer or a dial.
		if !registered {
			registered = true
			c.waiters.Add(1)
		}
		if wait == nil {
			c.mu.Lock()
			if c.waitCh == nil {
				c.waitCh = make(chan struct{})
			}
			wait = c.waitCh
			c.mu.Unlock()
			continue // look once more: one may have been answered meanwhile
		}
		t := time.NewTimer(time.Until(k.deadline))
		select {
		case <-wait:
		case <-t.C:
		}
		t.Stop()
		wait = nil
	}
}

func (c *Client) dialingNow() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dialing
}

// dialBackoff is how long after a failed dial a request that finds the
// open connections busy queues on one of them instead of dialling.
const dialBackoff = time.Second

// maybeDial dials a connection if reserveDial allows; tried reports
// whether it dialled.
func (c *Client) maybeDial(deadline time.Time) (cc *conn, err error, tried bool) {
	if !c.reserveDial() {
		return nil, nil, false
	}
	cc, err = c.dialed1(c.dial(deadline))
	return cc, err, true
}

// dialBehind dials a connection on a goroutine of its own if reserveDial
// allows.
func (c *Client) dialBehind() {
	if c.reserveDial() {
		go func() { c.dialed1(c.dial(time.Now().Add(c.o.ConnectTimeout))) }()
	}
}

// reserveDial counts a dial about to start if fewer than MaxConns
// connections are open (taking requests) or being dialled, and no dial
// failed within dialBackoff while one is open. The open ones are counted
// here, under mu: a count taken before another's dial ended would let a
// connection more than MaxConns be dialled.
func (c *Client) reserveDial() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	live := 0
	for _, x := range *c.conns.Load() {
		if !x.dead.Load() {
			live++
		}
	}
	if c.closed.Load() || live+c.dialing >= c.o.MaxConns ||
		live > 0 && time.Since(c.dialFailed) < dialBackoff {
		return false
	}
	c.dialing++
	return true
}

// dialed1 ends a dial reserveDial counted: the new connection joins the
// Client's and runs.
func (c *Client) dialed1(cc *conn, err error) (*conn, error) {
	c.mu.Lock()
	c.dialing--
	if err != nil {
		c.dialFailed = time.Now()
	} else if c.closed.Load() {
		err = ErrClosed
	} else {
		old := *c.conns.Load()
		next := make([]*conn, len(old), len(old)+1)
		copy(next, old)
		next = append(next, cc)
		c.conns.Store(&next)
	}
	c.mu.Unlock()
	c.wake()
	if err != nil {
		if cc != nil {
			cc.fail(ErrClosed)
		}
		return nil, err
	}
	c.dialed.Add(1)
	cc.run()
	return cc, nil
}

// dial opens a connection: TCP, and TLS if configured.
func (c *Client) dial(deadline time.Time) (*conn, error) {
	nc, err := netdial.Dial(c.o.Addr, c.o.TLS, "http/1.1", c.o.Dial, c.o.ConnectTimeout, deadline)
	if err == netdial.ErrDeadline {
		return nil, ErrTimeout
	}
	if err != nil {
		return nil, err
	}
	return newConn(c, nc), nil
}

// forget drops cc, closed, from the connections.
func (c *Client) forget(cc *conn) {
	c.mu.Lock()
	old := *c.conns.Load()
	next := make([]*conn, 0, len(old))
	for _, x := range old {
		if x != cc {
			next = append(next, x)
		}
	}
	c.conns.Store(&next)
	c.mu.Unlock()
	c.wake()
}

// wake tells the requests waiting for room that there may be some.
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

// Close closes every connection; requests in flight fail with ErrClosed.
func (c *Client) Close() {
	c.mu.Lock()
	c.closed.Store(true)
	if c.waitCh != nil {
		close(c.waitCh)
		c.waitCh = nil
	}
	c.mu.Unlock()
	for _, cc := range *c.conns.Load() {
		cc.fail(ErrClosed)
	}
}
