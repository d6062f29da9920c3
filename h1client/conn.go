package h1client

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/xdrhook/xdrhook/internal/writebuf"
)

// conn is one pipelined connection. Its queue, write buffer and state are
// guarded by mu; the writer goroutine writes what enqueue appended to
// wbuf; the reader goroutine parses the responses, in order, for the calls
// at the queue's front.
type conn struct {
	cl   *Client
	nc   net.Conn
	born time.Time
	br   *bufio.Reader
	rr   respReader // the reader goroutine's
	rdst []*call    // the reader's scratch for complete

	pending atomic.Int32 // calls queued and not finished: the choice of a connection
	dead    atomic.Bool  // takes no new call

	mu     sync.Mutex
	wcond  sync.Cond     // the writer waits on it for bytes to write
	wbuf   []byte        // requests not yet handed to the writer
	wspare []byte        // the other buffer, while the writer writes one
	wpeak  writebuf.Peak // the most a write carried lately
	wwait  bool          // the writer is waiting on wcond
	// q holds the requests not answered, in the order sent: q[qh] is the
	// next response's, unless the reader took it already (cur).
	q  []slot
	qh int
	// cur is the call whose response the reader is parsing (nil: none,
	// or one abandoned at its deadline): the reader alone finishes it.
	// inResp: the reader is inside a response, due by curAt.
	cur    *call
	inResp bool
	curAt  time.Time
	// drop receives the responses of abandoned calls (the reader's).
	drop Response
	// seq numbers the calls queued; handed is the seq of the first call
	// whose bytes the writer has not taken: a call from there on never
	// left this process.
	seq, handed uint64
	closing     bool  // no new call; closed once the queue is answered
	closed      bool  // failed or closed: calls are finished, the socket closed
	failErr     error // why it closed: the call the reader parses ends with it too
	idleSince   time.Time
	timer       *time.Timer // deadlines, idleness and age: one timer
	timerAt     time.Time

	// fin holds the calls finished under mu whose completions have not
	// run yet; nfin counts them for a look without mu.
	fin  []*call
	nfin atomic.Int32
}

// slot is a request sent or queued and not answered: its call, nil once
// the call ended at its deadline while others were ahead of it (its
// response, when it comes, is read and dropped); deadline is the call's.
type slot struct {
	k        *call
	deadline time.Time
}

// readBuffer is a connection's read buffer: a response head must fit.
const readBuffer = 64 << 10

// writeChunk bounds one write: WriteTimeout is renewed per chunk, so a
// large buffer written at a steady pace does not time out.
const writeChunk = 256 << 10

func newConn(cl *Client, nc net.Conn) *conn {
	now := time.Now()
	c := &conn{cl: cl, nc: nc, born: now, idleSince: now}
	c.wcond.L = &c.mu
	c.br = bufio.NewReaderSize(readThrough{c}, readBuffer)
	c.rr.br = c.br
	return c
}

// run starts the reader, the writer and the timer.
func (c *conn) run() {
	go c.writeLoop()
	go c.readLoop()
	c.mu.Lock()
	c.timerAt = time.Now().Add(c.period())
	// Calls may be queued already (c was in the Client's connections
	// before run): their deadlines count from now.
	for _, e := range c.q[c.qh:] {
		if e.deadline.Before(c.timerAt) {
			c.timerAt = e.deadline
		}
	}
	c.timer = time.AfterFunc(time.Until(c.timerAt), c.tick)
	c.mu.Unlock()
}

// enqueue queues k on c and appends its bytes for the writer, unless c
// takes no new call.
func (c *conn) enqueue(k *call, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.closing || int(c.pending.Load()) >= c.cl.o.MaxPending {
		return false
	}
	if ttl := c.cl.o.ConnTTL; ttl > 0 && now.Sub(c.born) >= ttl {
		c.retire()
		return false
	}
	k.seq = c.seq
	c.seq++
	c.q = append(c.q, slot{k, k.deadline})
	c.pending.Add(1)
	c.wbuf = append(c.wbuf, k.req.Head...)
	c.wbuf = append(c.wbuf, k.req.Body...)
	if c.timer != nil && k.deadline.Before(c.timerAt) {
		c.timerAt = k.deadline
		c.timer.Reset(time.Until(k.deadline))
	}
	if c.wwait {
		c.wcond.Signal()
	}
	return true
}

// retire takes c out of service: no new call, closed once its calls are
// answered. Under mu.
func (c *conn) retire() {
	c.closing = true
	c.dead.Store(true)
	if !c.inResp && c.qh == len(c.q) {
		go c.fail(errRetired)
	}
}

var errRetired = errors.New("h1client: connection closed by us (idle or connection-ttl)")

// writeLoop writes what enqueue appends to wbuf: while it writes one
// buffer the callers fill the other, so one write carries every request
// queued meanwhile.
func (c *conn) writeLoop() {
	c.mu.Lock()
	for {
		for len(c.wbuf) == 0 && !c.closed {
			c.wwait = true
			c.wcond.Wait()
			c.wwait = false
		}
		if c.closed {
			break
		}
		// Let the callers that are runnable queue their requests first:
		// one write then carries them all.
		c.mu.Unlock()
		runtime.Gosched()
		c.mu.Lock()
		if c.closed {
			break
		}
		buf := c.wbuf
		c.handed = c.seq
		c.wbuf = c.wspare[:0]
		c.wspare = nil
		c.mu.Unlock()
		var err error
		for out := buf; len(out) > 0 && err == nil; {
			n := min(len(out), writeChunk)
			c.nc.SetWriteDeadline(time.Now().Add(c.cl.o.WriteTimeout))
			_, err = c.nc.Write(out[:n])
			out = out[n:]
		}
		c.mu.Lock()
		if c.wpeak.Keep(len(buf), cap(buf)) {
			c.wspare = buf[:0]
		}
		if err != nil {
			c.mu.Unlock()
			c.fail(fmt.Errorf("h1client: write: %w", err))
			return
		}
	}
	c.mu.Unlock()
}

// readThrough is what the reader's bufio.Reader reads: the completions of
// the responses parsed so far run before each read from the socket (one
// batch per read), so none waits for the rest of a response that came in
// part behind it.
type readThrough struct{ c *conn }

func (r readThrough) Read(p []byte) (int, error) {
	r.c.rdst = r.c.complete(r.c.rdst)
	return r.c.nc.Read(p)
}

// readLoop parses the responses and finishes their calls; readThrough runs
// their completions.
func (c *conn) readLoop() {
	for {
		err := c.readOne()
		if err != nil {
			c.fail(err)
			c.mu.Lock()
			if k := c.cur; k != nil {
				// Failed by another (Close, a deadline): that is the
				// cause, not the read error the socket's close gave us.
				c.cur = nil
				c.finish(k, c.lostErr(k, c.failErr, time.Now()))
			}
			c.inResp = false
			c.mu.Unlock()
			c.complete(c.rdst)
			return
		}
	}
}

// readOne reads one response (informational ones skipped) into the call
// at the queue's front and finishes it.
func (c *conn) readOne() error {
	h, err := c.rr.readHead()
	if err != nil {
		return err
	}
	c.mu.Lock()
	if c.qh == len(c.q) {
		c.mu.Unlock()
		return fmt.Errorf("h1client: a response (status %d) to no request", h.status)
	}
	e := c.q[c.qh]
	c.q[c.qh] = slot{}
	c.qh++
	if c.qh == len(c.q) {
		c.q, c.qh = c.q[:0], 0
	} else if c.qh >= 64 && c.qh*2 >= len(c.q) {
		n := copy(c.q, c.q[c.qh:])
		clear(c.q[n:])
		c.q, c.qh = c.q[:n], 0
	}
	k := e.k
	c.cur, c.inResp, c.curAt = k, true, e.deadline
	c.mu.Unlock()

	resp, keep := &c.drop, false
	if k != nil {
		resp = k.resp
		keep = k.req.KeepBody && h.status >= 200 && h.status < 300
	}
	resp.Status = h.status
	resp.RetryAfter = append(resp.RetryAfter[:0], h.retryAfter...)
	resp.Gzip = h.gzip
	resp.Body = resp.Body[:0]
	resp.BodyTooLarge = false
	if err := c.rr.readBody(&h, resp, keep, c.cl.o.MaxBody); err != nil {
		return err
	}

	c.mu.Lock()
	c.cur, c.inResp = nil, false
	if k != nil {
		c.finish(k, nil)
	}
	if h.distrust {
		// Framed two ways: what comes next on this connection cannot be
		// told apart; the requests behind end as on a lost connection.
		c.dead.Store(true)
		c.mu.Unlock()
		return errDistrust
	}
	if h.close {
		// The server closes after this response: what we queued behind
		// it was not processed.
		c.closing = true
		c.dead.Store(true)
		c.mu.Unlock()
		return errServerClose
	}
	if c.closing && c.qh == len(c.q) {
		c.mu.Unlock()
		return errRetired
	}
	c.mu.Unlock()
	return nil
}

// errAheadTimedOut ends the calls sent behind one that timed out: the
// connection is closed, as a pipelined response cannot be skipped.
var errAheadTimedOut = errors.New("h1client: connection closed: a request sent before this one timed out")

var errDistrust = errors.New("h1client: a response framed two ways (Transfer-Encoding with Content-Length, or chunked in HTTP/1.0): the connection is closed")

var errServerClose = errors.New("h1client: the server closed the connection (Connection: close)")

// finish ends k with err (nil: its response is in k.resp) and queues its
// completion. Under mu.
func (c *conn) finish(k *call, err error) {
	k.err = err
	c.fin = append(c.fin, k)
	c.nfin.Add(1)
	if c.pending.Add(-1) == 0 {
		c.idleSince = time.Now()
	}
}

// lostErr is what a call of c, not answered when c failed with err, ends
// with: ErrTimeout past its deadline; errUnprocessed if its bytes never
// left or the server said it would close; else the failure. Under mu.
func (c *conn) lostErr(k *call, err error, now time.Time) error {
	switch {
	case err == ErrClosed:
		return ErrClosed
	case !now.Before(k.deadline):
		return ErrTimeout
	case k.seq >= c.handed || err == errServerClose || err == errRetired || err == io.EOF:
		// io.EOF: the server closed the connection cleanly where a
		// response would start (an idle close crossing our request, a
		// restart): it processed none of those behind the last answer.
		return errUnprocessed
	case err == ErrTimeout:
		return errAheadTimedOut
	}
	return fmt.Errorf("h1client: connection lost with the request in flight: %w", err)
}

// fail closes c: every call still queued ends (lostErr), the socket is
// closed, the Client forgets c. The reader finishes the call it parses.
func (c *conn) fail(err error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.failErr = err
	c.dead.Store(true)
	now := time.Now()
	for i := c.qh; i < len(c.q); i++ {
		if k := c.q[i].k; k != nil {
			c.finish(k, c.lostErr(k, err, now))
		}
		c.q[i] = slot{}
	}
	c.q, c.qh = c.q[:0], 0
	if c.timer != nil {
		c.timer.Stop()
	}
	c.wcond.Broadcast()
	c.mu.Unlock()
	c.complete(nil)
	c.nc.Close()
	c.cl.forget(c)
}

// period is the timer's period when no deadline comes sooner: a fraction
// of the idle timeout and the connection's age limit.
func (c *conn) period() time.Duration {
	o := &c.cl.o
	t := o.IdleTimeout
	if o.ConnTTL > 0 && o.ConnTTL < t {
		t = o.ConnTTL
	}
	return min(max(t/4, 5*time.Millisecond), time.Second)
}

// tick is c's timer. The call at the front past its deadline fails the
// connection: its response cannot be skipped, the ones behind come after
// it. A call further back past its deadline ends at once with ErrTimeout
// and leaves its slot, whose response will be dropped: the ones ahead of
// it, maybe processed already, are not cut off. An idle or aged
// connection is retired.
func (c *conn) tick() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	now := time.Now()
	next := now.Add(c.period())
	expired := false
	front := c.qh // the slot at the front, unless the reader is in a response
	if c.inResp {
		expired = !now.Before(c.curAt)
		next = earlier(next, c.curAt)
		front = -1
	}
	for i := c.qh; i < len(c.q); i++ {
		e := &c.q[i]
		switch {
		case now.Before(e.deadline):
			next = earlier(next, e.deadline)
		case i == front:
			expired = true
		case e.k != nil:
			c.finish(e.k, ErrTimeout)
			e.k = nil
		}
	}
	if !expired {
		o := &c.cl.o
		idle := !c.inResp && c.qh == len(c.q)
		if idle && now.Sub(c.idleSince) >= o.IdleTimeout || o.ConnTTL > 0 && now.Sub(c.born) >= o.ConnTTL {
			c.retire()
		}
	}
	if !c.closed {
		c.timerAt = next
		c.timer.Reset(next.Sub(now))
	}
	c.mu.Unlock()
	if expired {
		c.fail(ErrTimeout)
	} else {
		c.complete(nil)
	}
}

func earlier(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
