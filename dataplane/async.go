package dataplane

import (
	"sync"
	"time"
)

// An asynchronous Destination (a Sender that is an asyncSender: HTTP/2)
// has no worker goroutine per request in flight: one dispatcher takes the
// bodies and starts their first attempt with Go while fewer than
// MaxInFlight are in flight, and the completion, run by the transport
// (h2client's connection reader), answers the records of a delivered body
// itself. Anything else (a transport error, a status not a success, a
// refusal) continues on a goroutine with the synchronous attempts, from
// the second on: retries, deadlines and answers are those of a worker.

// asyncSender is a Sender that can start a request without waiting for it.
type asyncSender interface {
	// Go sends r like Do, and calls f.requestDone once with what Do would
	// have returned: maybe before Go returns, maybe on the transport's
	// goroutine (requestDone must not block).
	Go(r *Request, deadline time.Time, f requestDone)
	// goes reports whether Go is worth it: the one dispatcher builds every
	// request, so work per request that can take a core (gzip of a batch)
	// keeps the workers, which compress in parallel.
	goes() bool
}

// requestDone receives the outcome of a request started by Go.
type requestDone interface {
	requestDone(status int, retryAfter time.Duration, err error)
}

// asyncSend turns the asynchronous path on for senders that have it
// (tests run both).
var asyncSend = true

// flight is a body in flight on the asynchronous path, pooled.
type flight struct {
	d    *Destination
	b    *batch
	req  Request
	t    tries
	wake []*session
}

// asyncState is a Destination's asynchronous path.
type asyncState struct {
	slots   chan struct{} // one token per body in flight: MaxInFlight
	flights sync.Pool
}

// startAsync starts the dispatcher if the sender is asynchronous.
func (d *Destination) startAsync() bool {
	as, ok := d.opts.Sender.(asyncSender)
	if !ok || !asyncSend || !as.goes() {
		return false
	}
	d.async.slots = make(chan struct{}, d.opts.MaxInFlight)
	d.async.flights.New = func() any { return &flight{d: d} }
	d.wg.Add(1)
	go d.dispatch(as)
	return true
}

// dispatch takes the queued bodies and starts them while fewer than
// MaxInFlight are in flight; at stop, once the queue is empty, it returns
// (stop waits for the flights: each holds a count of wg).
func (d *Destination) dispatch(as asyncSender) {
	defer d.wg.Done()
	for {
		d.async.slots <- struct{}{}
		b := d.take()
		if b == nil {
			<-d.async.slots
			return
		}
		f := d.async.flights.Get().(*flight)
		f.b, f.req, f.t = b, b.request(), d.newTries(b.bornMs)
		d.wg.Add(1)
		callDeadline, ok := d.next(&f.t, &f.req)
		if !ok {
			f.land()
			continue
		}
		as.Go(&f.req, callDeadline, f) // f is the completion's from here
	}
}

// requestDone is the completion of the first attempt.
func (f *flight) requestDone(status int, retryAfter time.Duration, err error) {
	if f.d.result(&f.t, &f.req, status, retryAfter, err) {
		f.land()
		return
	}
	go f.retry()
}

// retry waits for the backoff and makes the attempts left synchronously.
func (f *flight) retry() {
	if f.d.e.sleep(f.t.wait) {
		f.d.runTries(&f.t, &f.req)
	}
	f.land()
}

// land answers the body's records, frees its slot and puts f back.
func (f *flight) land() {
	d := f.d
	d.drained(&f.t)
	f.wake = d.land(f.b, &f.req, f.t.rc, f.wake)
	f.b, f.req = nil, Request{}
	d.async.flights.Put(f)
	<-d.async.slots
	d.wg.Done()
}
