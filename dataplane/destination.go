package dataplane

import (
	"errors"
	"fmt"
	"github.com/xdrhook/xdrhook/auth"
	"sync"
	"sync/atomic"
	"time"

	"github.com/xdrhook/xdrhook/encode"
	"github.com/xdrhook/xdrhook/shape"
	"github.com/xdrhook/xdrhook/wire"
)

// Request is one HTTP body ready to go.
type Request struct {
	Body        []byte
	ContentType string
	Records     int
	// IdempotencyKey is set on single-message bodies (batching off).
	IdempotencyKey []byte
	// Path, when set, replaces the destination's static path (with a
	// query: "?..." alone follows the URL's own path).
	Path []byte
	// Method, when set, replaces the sender's (destinations.*.request).
	Method string
	// Headers are sent after the sender's (destinations.*.request).
	Headers []shape.Header
	// Check, when set, reads the body of a 2xx response (an Elasticsearch
	// _bulk response, which reports failed actions inside a 200): a
	// Sender gives its status in place of the response's and puts the
	// reason in Refusal.
	Check encode.ResponseChecker
	// Refusal is set by Do when Check found records refused.
	Refusal string
	// Superseded is set by Do to the records Check found taken as already
	// held by the destination (delivered, counted).
	Superseded int

	authReq auth.Request // what the sender's Authorizer signs (auth.go)

	// endpoint is the URL index the last attempt went to (HTTP senders);
	// failedOn is endpoint+1 after an attempt that failed without a
	// response: the next attempt avoids it (endpointHealth.pickFor).
	endpoint, failedOn int
}

// checks reports whether a response of this status has a body to check.
func (r *Request) checks(status int) bool { return r.Check != nil && status >= 200 && status < 300 }

// checked is the status a Sender reports for a 2xx response whose body r.Check
// has to judge: the response's own when every record was taken, else
// Check's, with the reason in r.Refusal. A body that could not be read
// cannot vouch for the records: the read error is the request's error
// (retried, as a transport error is), not a made-up status that a
// permanent-failure list might match.
func (r *Request) checked(status int, body []byte, readErr error) (int, error) {
	if readErr != nil {
		return 0, fmt.Errorf("reading the response to check it: %w", readErr)
	}
	st, sup, why := r.Check.CheckResponse(body)
	if st != 0 {
		status, r.Refusal = st, why
	}
	r.Superseded = sup
	return status, nil
}

// maxCheckedBody bounds the response body read for r.Check: a bulk
// response runs to a few hundred bytes per action.
const maxCheckedBody = 64 << 20

// Sender performs HTTP requests for one destination. Do is called from
// several worker goroutines at once.
type Sender interface {
	// Do sends r and returns the response status, the server's Retry-After
	// (0 if none) or a transport error. It must give up by deadline.
	Do(r *Request, deadline time.Time) (status int, retryAfter time.Duration, err error)
	Close()
}

// ErrTimeout is what a Sender returns when the deadline passed.
var ErrTimeout = errors.New("request timed out")

// StatusSet tells whether an HTTP status belongs to a configured set.
type StatusSet interface {
	Contains(status int) bool
}

// StatusRange is the StatusSet [Lo, Hi].
type StatusRange struct{ Lo, Hi int }

// Contains implements StatusSet.
func (r StatusRange) Contains(s int) bool { return s >= r.Lo && s <= r.Hi }

// RetryPolicy bounds retries of one body; every attempt stays inside the
// reply deadline of the oldest record in it.
type RetryPolicy struct {
	// MaxAttempts counts the first try: at least 1.
	MaxAttempts int
	// InitialBackoff is the wait before the second attempt (0: at once),
	// doubled per attempt up to MaxBackoff (at least InitialBackoff). A
	// server's Retry-After, if longer, is waited instead.
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
}

// DestinationOptions configure a Destination.
type DestinationOptions struct {
	Name string
	// MaxInFlight is the number of requests outstanding at once: the
	// window. It is also the number of worker goroutines.
	MaxInFlight int
	// MaxQueued, MaxQueuedBytes and MaxQueueWait bound the finished bodies
	// waiting for a worker. Past any of them the destination is backed up:
	// new records for it are answered 11 at once, so memory stays bounded
	// and answers stay prompt while it is slower than the records come or
	// down (queue.go). MaxQueued is ESP's max-request-queued-per-endpoint ×
	// the URLs; the others have no config key. Zero means the engine's
	// max-concurrent-records bodies (at least 1024), 64 MiB (buffers and
	// bookkeeping), and half of the reply deadline.
	MaxQueued      int
	MaxQueuedBytes int
	MaxQueueWait   time.Duration
	Retry          RetryPolicy
	// CallTimeout bounds one attempt (config call-timeout); every attempt
	// also ends by the reply deadline.
	CallTimeout time.Duration
	Success     StatusSet // statuses that deliver the records (required)
	Permanent   StatusSet // statuses that drop the record (reply 4); nil: none
	Sender      Sender
	// Path, if set, appends the per-record path (config `path` with
	// {namespace} or {set}) of a record to dst; bodies are then batched per
	// namespace and set. A static path belongs in HTTPOptions.Path.
	Path func(dst []byte, m *wire.Message) []byte
	// Key, if set (and Path is not), appends a batch body's own path to dst
	// from its first record and its profile's Ext, once when the body
	// opens (type s3: "/bucket/key", a key unique per batch). Bodies are
	// batched per namespace and set only if KeySplits. Batching on only.
	Key       func(dst []byte, m *wire.Message, ext string) []byte
	KeySplits bool
	// Request, if set, shapes each single-record request (config
	// destinations.*.request; batching off): method, path and query,
	// headers and whether a body goes, per record. Path is then unused.
	Request *shape.Request
	// HealthCheck, if set, checks the sender's endpoints actively
	// (config destinations.*.health-check; healthcheck.go).
	HealthCheck *HealthCheckOptions
	// EndpointLabels name the sender's endpoints in metrics and logs, in
	// order (config: URLs from the environment redacted); nil: the URLs
	// without credentials or query.
	EndpointLabels []string
	// AuthRefreshErrors counts the failed credential fetches of the
	// sender's Authorizer (auth.Options.RefreshError); nil: no auth.
	AuthRefreshErrors *atomic.Uint64
}

// Destination is one configured HTTP destination: a queue of finished
// bodies and MaxInFlight workers sending them.
type Destination struct {
	opts  DestinationOptions
	index int
	e     *Engine

	mu          sync.Mutex
	cond        sync.Cond
	queue       []*batch // queue[qhead:] wait for a worker; the array is reused
	qhead       int
	closed      bool
	queued      atomic.Int32
	queuedBytes atomic.Int64
	q           queueGauge // what backedUp reads besides the counts (queue.go)
	wg          sync.WaitGroup
	// reachable is false after a transport error, true after any response
	// (readiness).
	reachable atomic.Bool

	async asyncState // the asynchronous path (async.go)

	hc      *healthChecker // nil without health-check
	m       *destMetrics
	failLog logLimit // failed attempts, one line per logEvery
}

// NewDestination builds a destination; the engine checks its options
// (New) and starts its workers.
func NewDestination(o DestinationOptions) *Destination {
	if o.MaxQueuedBytes <= 0 {
		o.MaxQueuedBytes = DefaultMaxQueuedBytes
	}
	d := &Destination{opts: o}
	d.cond.L = &d.mu
	d.reachable.Store(true)
	return d
}

// check rejects the options a destination cannot work with.
func (o *DestinationOptions) check() error {
	switch {
	case o.Sender == nil:
		return errors.New("no sender")
	case o.MaxInFlight <= 0:
		return fmt.Errorf("max-in-flight %d: want at least 1", o.MaxInFlight)
	case o.CallTimeout <= 0:
		return fmt.Errorf("call-timeout %v: want more than 0", o.CallTimeout)
	case o.Retry.MaxAttempts <= 0:
		return fmt.Errorf("retry max-attempts %d: want at least 1", o.Retry.MaxAttempts)
	case o.Retry.InitialBackoff < 0 || o.Retry.MaxBackoff < o.Retry.InitialBackoff:
		return fmt.Errorf("retry backoff %v to %v: want 0 ≤ initial ≤ max", o.Retry.InitialBackoff, o.Retry.MaxBackoff)
	case o.Success == nil:
		return errors.New("no success statuses")
	}
	return nil
}

// Name returns the destination's configured name.
func (d *Destination) Name() string { return d.opts.Name }

// Options returns the options the destination runs with.
func (d *Destination) Options() DestinationOptions { return d.opts }

func (d *Destination) start() {
	if d.startAsync() {
		d.startHealthChecks()
		return
	}
	for i := 0; i < d.opts.MaxInFlight; i++ {
		d.wg.Add(1)
		go d.worker()
	}
	d.startHealthChecks()
}

// stop lets the workers finish what is queued, then return.
func (d *Destination) stop() {
	d.stopHealthChecks()
	d.mu.Lock()
	d.closed = true
	d.mu.Unlock()
	d.cond.Broadcast()
	d.wg.Wait()
	d.opts.Sender.Close()
}

func (d *Destination) worker() {
	defer d.wg.Done()
	var req Request
	var wake []*session // sessions whose records the body completed: woken once each, after all are settled
	for {
		b := d.take()
		if b == nil {
			return
		}
		req = b.request()
		rc := d.deliver(&req, b.bornMs)
		wake = d.land(b, &req, rc, wake)
	}
}

// land answers the records of b, whose request r ended with rc, and
// releases b; wake is a scratch slice, returned for reuse.
func (d *Destination) land(b *batch, r *Request, rc byte, wake []*session) []*session {
	d.m.settled(rc, len(b.refs))
	// Settle every record of the body before waking a connection, so
	// that the replies of records settled together go out in one write.
	for _, ref := range b.refs {
		if ref.s.w.settle(ref.seq, rc) && (len(wake) == 0 || wake[len(wake)-1] != ref.s) {
			wake = append(wake, ref.s)
		}
	}
	for i, s := range wake {
		s.notify() // once per flush whatever the duplicates (wakePending)
		wake[i] = nil
	}
	d.e.releaseBatch(b)
	return wake[:0]
}

// request is the Request of b's body.
func (b *batch) request() Request {
	r := Request{Body: b.buf.B, ContentType: b.contentType, Records: len(b.refs), IdempotencyKey: b.idem, Path: b.path, Check: b.check}
	if b.shaped.Method != "" {
		r.Path, r.Method, r.Headers = b.shaped.Target, b.shaped.Method, b.shaped.Headers
	}
	return r
}

// goneAlready reports a DELETE answered 404 or 410: the resource is gone,
// which is what the delete asked for (a delete re-sent by XDR, or of a
// record the destination never had), not a failure to retry.
func goneAlready(method string, status int) bool {
	return method == "DELETE" && (status == 404 || status == 410)
}

// deliver sends one body with retries inside the reply deadline of its
// oldest record and returns the result code for all of its records.
func (d *Destination) deliver(r *Request, bornMs int64) byte {
	t := d.newTries(bornMs)
	d.runTries(&t, r)
	d.drained(&t)
	return t.rc
}

// drained counts a body whose attempts ended toward the destination's
// drain rate if it was sent: a body that aged out unsent says nothing of
// the destination's speed (queue.go).
func (d *Destination) drained(t *tries) {
	if t.sent {
		d.q.drained.Add(1)
	}
}

// tries is the state of one body's attempts.
type tries struct {
	deadline time.Time // the reply deadline of its oldest record
	backoff  time.Duration
	attempt  int       // attempts made
	rc       byte      // the result code so far
	sent     bool      // an attempt was made
	start    time.Time // of the attempt in flight
	wait     time.Duration
}

func (d *Destination) newTries(bornMs int64) tries {
	return tries{deadline: time.UnixMilli(bornMs).Add(d.e.opts.ReplyDeadline), backoff: d.opts.Retry.InitialBackoff, rc: wire.RCRetry}
}

// runTries makes the attempts left (Sender.Do), from t on, until one
// ends the body (t.rc).
func (d *Destination) runTries(t *tries, r *Request) {
	for {
		callDeadline, ok := d.next(t, r)
		if !ok {
			return
		}
		status, retryAfter, err := d.opts.Sender.Do(r, callDeadline)
		if d.result(t, r, status, retryAfter, err) || !d.e.sleep(t.wait) {
			return // delivered, failed for good, out of time, or shutting down
		}
	}
}

// next starts an attempt and returns its deadline; ok is false when none is
// to be made (the reply deadline passed, no endpoint is up), t.rc then
// being the body's result.
func (d *Destination) next(t *tries, r *Request) (callDeadline time.Time, ok bool) {
	now := time.Now()
	if !now.Before(t.deadline) {
		d.m.deadline.Inc()
		return time.Time{}, false
	}
	if d.unhealthy() {
		d.m.refusedUnhealthy.Add(r.Records)
		t.rc = wire.RCRetry // no endpoint is up: XDR retries, no wait for the deadline
		return time.Time{}, false
	}
	callDeadline = t.deadline
	if ct := d.opts.CallTimeout; now.Add(ct).Before(t.deadline) {
		callDeadline = now.Add(ct)
	}
	r.Refusal, r.Superseded = "", 0
	t.attempt++
	t.sent, t.start = true, now
	return callDeadline, true
}

// result takes the outcome of the attempt next started: done reports that
// the body ends (t.rc); otherwise t.wait is the backoff before the next.
func (d *Destination) result(t *tries, r *Request, status int, retryAfter time.Duration, err error) (done bool) {
	d.m.request(status, err, time.Since(t.start), len(r.Body))
	d.reachable.Store(err == nil)
	if r.Refusal != "" {
		d.m.refusals.Inc()
	}
	ok := err == nil && (d.opts.Success.Contains(status) || goneAlready(r.Method, status))
	if !ok {
		d.logFailure(r, t.attempt, status, err)
	}
	switch {
	case err != nil:
		r.failedOn = r.endpoint + 1
		t.rc = wire.RCRetry
		if errors.Is(err, ErrTimeout) {
			t.rc = wire.RCTimeout
		}
	case ok:
		if r.Superseded > 0 {
			d.m.superseded.Add(r.Superseded)
		}
		t.rc = wire.RCOK
		return true
	case d.opts.Permanent != nil && d.opts.Permanent.Contains(status):
		t.rc = wire.RCParameter
		return true
	default:
		t.rc = wire.RCRetry
	}
	if t.attempt >= d.opts.Retry.MaxAttempts {
		return true
	}
	wait := t.backoff
	if retryAfter > wait {
		wait = retryAfter
	}
	if time.Now().Add(wait).After(t.deadline) {
		return true // the deadline would pass while waiting: XDR retries
	}
	d.m.retries.Inc()
	t.wait = wait
	t.backoff *= 2
	if t.backoff > d.opts.Retry.MaxBackoff {
		t.backoff = d.opts.Retry.MaxBackoff
	}
	return false
}

// logFailure logs a failed attempt, at most one line per logEvery for the
// destination (the rest are counted in the line after): an operator
// watching the log learns that a destination fails and why, without a
// line per batch. The metrics count every attempt.
func (d *Destination) logFailure(r *Request, attempt, status int, err error) {
	ok, n := d.failLog.allow()
	if !ok {
		return
	}
	args := []any{"destination", d.opts.Name, "records", r.Records, "attempt", attempt, "suppressed", n}
	switch {
	case err != nil:
		args = append(args, "err", err)
	case r.Refusal != "":
		args = append(args, "status", status, "refused", r.Refusal)
	default:
		args = append(args, "status", status)
	}
	d.e.log.Warn("request to destination failed; retried while the reply deadline allows, else the records are answered for XDR to resend (or dropped if the status is a configured permanent failure)", args...)
}
