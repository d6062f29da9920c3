// Package dataplane is the connector itself: it accepts XDR connections,
// decodes change notifications, routes and batches them per destination,
// POSTs the bodies and answers XDR in request order once every destination
// has settled each record. See DESIGN.md for the path of a record and the
// rules that keep it bounded.
package dataplane

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/panjf2000/gnet/v2"
	"github.com/xdrhook/xdrhook/wire"
)

// Options configure an Engine. The values a configuration file sets come
// resolved from package config (its defaults are the only ones): New
// rejects a zero where there is no working zero. The knobs without a config
// key (WindowSize, MaxInboundStall, MaxOutbound) take the default their
// comment gives when zero.
type Options struct {
	// Listen are the XDR listener addresses, host:port.
	Listen []string
	// ClusterName, if set, labels every metric cluster="NAME"
	// (service.cluster-name).
	ClusterName string
	// SocketRecvBuffer, if > 0, sets SO_RCVBUF of the XDR sockets
	// (service.socket-receive-buffer-bytes); 0 leaves the kernel's size.
	SocketRecvBuffer int
	// TLS, if set, makes the XDR listeners speak TLS (set ClientAuth and
	// ClientCAs to require client certificates).
	TLS *tls.Config

	// MaxConcurrentRecords bounds the records accepted and not yet
	// answered, all connections together (service.max-concurrent-records).
	MaxConcurrentRecords int
	// MaxFrameBytes bounds a frame body, inflated or not
	// (service.max-frame-bytes).
	MaxFrameBytes int
	// ReplyDeadline: a record not settled by then is answered 11
	// (service.reply-deadline).
	ReplyDeadline time.Duration
	// ReplyHold is the longest a settled record's reply waits for others
	// of its connection to share its write (replyhold.go;
	// service.reply-hold); 0 (or less) writes every batch of replies at
	// once.
	ReplyHold time.Duration
	// WindowSize bounds the unanswered requests of one connection (slots
	// are allocated 1024 at a time as the connection pipelines deeper); when
	// full, the connection's further frames wait in its inbound buffer.
	// Default 262144: far deeper than XDR pipelines, so frames are always
	// read and answered (11 at once when over max-concurrent-records).
	WindowSize int
	// MaxInboundStall closes a connection whose unread bytes exceed it while
	// its window is full. Default 2 × MaxFrameBytes + 1 MiB.
	MaxInboundStall int
	// MaxOutbound closes a connection that does not read its replies
	// (bytes of replies buffered). Default 4 MiB.
	MaxOutbound int
	// Loops is the number of event loops (service.io-threads; 0: one per
	// CPU the runtime may use, the GOMAXPROCS when New is called).
	Loops int
	// MaxConnections bounds the XDR connections open at once; more are
	// closed at once (counted; service.max-connections).
	MaxConnections int

	Profiles     []*Profile
	Destinations []*Destination
	Router       Router

	// LUTCacheTTL > 0 enables record-ordering.
	LUTCacheTTL time.Duration

	Logger *slog.Logger
}

// Engine is one running connector.
type Engine struct {
	opts     Options
	router   Router
	clock    clock
	draining atomic.Bool

	// Per-loop state (loop.go). loops is copied on write under loopMu.
	loopMu   sync.Mutex
	loops    []*loop
	loopByEL map[gnet.EventLoop]*loop
	tlsLoops []*loop
	tlsNext  atomic.Uint32
	numLoops int // event loops (gnet's, or TLS's states): opts.Loops, or GOMAXPROCS
	// credit is the part of max-concurrent-records no loop holds; loops
	// take it chunk records at a time.
	credit atomic.Int64
	chunk  int64

	order *lutCache
	m     *engineMetrics
	x     *exprMetrics
	log   *slog.Logger

	// portRouter is router when it routes by listener port too.
	portRouter PortRouter

	sessMu   sync.Mutex
	sessions map[*session]struct{}

	stopping chan struct{}
	tickDone chan struct{}
	gnetEng  gnet.Engine
	booted   chan struct{}
	served   chan error
	tlsLns   []*tlsListener
	up       atomic.Bool

	limits   logLimits
	stopOnce sync.Once
	stopErr  error
}

// New checks the options and builds an engine; Start runs it.
func New(o Options) (*Engine, error) {
	switch {
	case o.MaxConcurrentRecords <= 0:
		return nil, fmt.Errorf("dataplane: max-concurrent-records %d: want at least 1", o.MaxConcurrentRecords)
	case o.MaxFrameBytes <= 0:
		return nil, fmt.Errorf("dataplane: max-frame-bytes %d: want at least 1", o.MaxFrameBytes)
	case o.ReplyDeadline <= 0:
		return nil, fmt.Errorf("dataplane: reply-deadline %v: want more than 0", o.ReplyDeadline)
	case o.MaxConnections <= 0:
		return nil, fmt.Errorf("dataplane: max-connections %d: want at least 1", o.MaxConnections)
	case o.Loops < 0:
		return nil, fmt.Errorf("dataplane: %d event loops", o.Loops)
	}
	loops := o.Loops
	if loops == 0 {
		// The CPUs the runtime may use, a container's CPU limit included
		// (gnet's own default, runtime.NumCPU, ignores it).
		loops = runtime.GOMAXPROCS(0)
	}
	if o.WindowSize <= 0 {
		o.WindowSize = 1 << 18
	}
	if o.MaxInboundStall <= 0 {
		o.MaxInboundStall = 2*o.MaxFrameBytes + 1<<20
	}
	if o.MaxOutbound <= 0 {
		o.MaxOutbound = 4 << 20
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Router == nil {
		return nil, errors.New("dataplane: no router")
	}
	if len(o.Listen) == 0 {
		return nil, errors.New("dataplane: no listen address")
	}
	e := &Engine{
		opts: o, router: o.Router, m: newEngineMetrics(), log: o.Logger,
		sessions: make(map[*session]struct{}), loopByEL: make(map[gnet.EventLoop]*loop),
		chunk: creditChunk(o.MaxConcurrentRecords, loops), numLoops: loops,
		stopping: make(chan struct{}), tickDone: make(chan struct{}),
		booted: make(chan struct{}), served: make(chan error, 1+len(o.Listen)),
	}
	e.x = newExprMetrics(e.m.set)
	e.clock.set(time.Now())
	e.portRouter, _ = o.Router.(PortRouter)
	e.credit.Store(int64(o.MaxConcurrentRecords))
	if o.LUTCacheTTL > 0 {
		e.order = newLUTCache(o.LUTCacheTTL.Milliseconds())
	}
	for i, d := range o.Destinations {
		if err := d.opts.check(); err != nil {
			return nil, fmt.Errorf("dataplane: destination %q: %w", d.opts.Name, err)
		}
		d.index, d.e = i, e
		d.queueDefaults(&o)
		d.m = newDestMetrics(e.m.set, d)
		if err := d.initHealth(); err != nil {
			return nil, fmt.Errorf("dataplane: destination %q: %w", d.opts.Name, err)
		}
	}
	for i, p := range o.Profiles {
		if p.ID != i {
			return nil, fmt.Errorf("dataplane: profile %d has ID %d", i, p.ID)
		}
		if p.Batching && (p.MaxRecords <= 0 || p.MaxBytes <= 0 || p.Interval <= 0) {
			return nil, fmt.Errorf("dataplane: profile %d: batching needs max-records, max-bytes and batch-interval", i)
		}
	}
	e.m.set.NewGauge("xdrhook_records_in_flight", func() float64 { return float64(e.inFlight()) })
	// Counted by the loops under their own lock and summed when scraped:
	// xdrhook_replies_total ÷ this is how many replies a write carries.
	e.m.set.NewGauge("xdrhook_reply_writes_total", func() float64 { w, _ := e.replyWrites(); return float64(w) })
	return e, nil
}

// Metrics returns the engine's metric set (Prometheus text via WritePrometheus).
func (e *Engine) Metrics() *metrics.Set { return e.m.set }

// Options returns the options the engine runs with.
func (e *Engine) Options() Options { return e.opts }

// InFlight returns the records accepted and not yet answered.
func (e *Engine) InFlight() int64 { return e.inFlight() }

// Start opens the listeners and starts the workers. It returns once the
// listeners accept connections, or with the reason they could not.
func (e *Engine) Start() error {
	for _, d := range e.opts.Destinations {
		d.start()
	}
	go e.tick()
	if e.opts.TLS != nil {
		if err := e.startTLS(); err != nil {
			e.abort()
			return err
		}
		e.up.Store(true)
		return nil
	}
	go func() { e.served <- e.serveGnet() }()
	select {
	case <-e.booted:
		e.up.Store(true)
		return nil
	case err := <-e.served:
		e.abort()
		return fmt.Errorf("dataplane: listen %v: %w", e.opts.Listen, err)
	}
}

func (e *Engine) abort() {
	close(e.stopping)
	<-e.tickDone
	for _, d := range e.opts.Destinations {
		d.stop()
	}
}

// Ready reports whether the connector can take traffic: listeners up and at
// least one destination answering (or none tried yet).
func (e *Engine) Ready() error {
	if !e.up.Load() {
		return errors.New("listeners not up")
	}
	if e.draining.Load() {
		return errors.New("shutting down")
	}
	if len(e.opts.Destinations) == 0 {
		return nil
	}
	for _, d := range e.opts.Destinations {
		if d.ready() {
			return nil
		}
	}
	return errors.New("no destination reachable (or, with health-check, no endpoint healthy)")
}

// Stop shuts down gracefully: new records are answered 11 (XDR retries
// them), open bodies are sealed and sent, and every accepted record is
// settled or answered before the connections close. ctx bounds the wait;
// the reply deadline bounds it anyway.
func (e *Engine) Stop(ctx context.Context) error {
	e.stopOnce.Do(func() { e.stopErr = e.stop(ctx) })
	return e.stopErr
}

func (e *Engine) stop(ctx context.Context) error {
	e.draining.Store(true)
	e.sealAll(true)
	wait := time.NewTicker(5 * time.Millisecond)
	defer wait.Stop()
	var err error
drain:
	for e.inFlight() > 0 {
		select {
		case <-ctx.Done():
			err = fmt.Errorf("dataplane: %d records unanswered at shutdown: %w", e.inFlight(), ctx.Err())
			break drain
		case <-wait.C:
			e.sealAll(true)
		}
	}
	e.stopListeners()
	close(e.stopping)
	<-e.tickDone
	for _, d := range e.opts.Destinations {
		d.stop()
	}
	return err
}

// sleep waits d unless the engine stops first (then it returns false).
func (e *Engine) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-e.stopping:
		return false
	}
}

const tickEvery = 5 * time.Millisecond

// tick advances the coarse clock, seals bodies whose interval elapsed,
// wakes connections whose held replies are due, answers records past the
// reply deadline and sweeps the LUT cache.
func (e *Engine) tick() {
	defer close(e.tickDone)
	t := time.NewTicker(tickEvery)
	defer t.Stop()
	var sess, due []*session
	var n int
	for {
		select {
		case <-e.stopping:
			return
		case now := <-t.C:
			e.clock.set(now)
			nowMs := now.UnixMilli()
			e.sealAll(false)
			due = e.wakeHeld(due)
			n++
			if n%4 == 0 {
				sess = e.snapshot(sess[:0])
				cutoff := nowMs - e.opts.ReplyDeadline.Milliseconds()
				for _, s := range sess {
					if o := s.w.oldest(); o >= 0 && o <= cutoff {
						if k := s.w.expire(cutoff, wire.RCRetry); k > 0 {
							e.m.deadlineAnswered(k)
							s.notify()
						}
					}
				}
				clear(sess)
			}
			if n%int(drainSampleEvery/tickEvery) == 0 {
				for _, d := range e.opts.Destinations {
					d.sampleDrain(nowMs)
				}
			}
			if n%200 == 0 {
				if e.order != nil {
					e.order.sweep(nowMs)
				}
				e.fold()
			}
		}
	}
}

// sealAll seals each loop's bodies whose batch-interval elapsed (all of
// them if force is set) and takes back the credit of idle loops. It takes
// each loop's lock in turn: the only contention a loop's lock sees in
// steady state, once a tick.
func (e *Engine) sealAll(force bool) {
	nowMs := e.clock.nowMs()
	for _, lp := range e.allLoops() {
		lp.mu.Lock()
		for _, row := range lp.batchers {
			for _, bt := range row {
				bt.sealIfDue(nowMs, force)
			}
		}
		if !force {
			e.idle(lp)
		}
		lp.mu.Unlock()
	}
}

// connOpened counts a new connection. Its session is tracked (for the
// deadline ticker) from its first frame on: see session.consume.
func (e *Engine) connOpened() {
	e.m.connAccepted.Inc()
	e.m.connActive.Inc()
}

// track makes the deadline ticker see s (its window exists by then).
func (e *Engine) track(s *session) {
	e.sessMu.Lock()
	e.sessions[s] = struct{}{}
	e.sessMu.Unlock()
}

// connClosed counts a closed connection and stops tracking its session.
func (e *Engine) connClosed(s *session) {
	if s.w != nil {
		e.sessMu.Lock()
		delete(e.sessions, s)
		e.sessMu.Unlock()
	}
	e.m.connClosed.Inc()
	e.m.connActive.Dec()
	if s.frames == 0 {
		e.m.connHealthChecks.Inc()
	}
}

func (e *Engine) snapshot(dst []*session) []*session {
	e.sessMu.Lock()
	for s := range e.sessions {
		dst = append(dst, s)
	}
	e.sessMu.Unlock()
	return dst
}
