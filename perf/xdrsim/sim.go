package xdrsim

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/xdrhook/xdrhook/pool"
	"github.com/xdrhook/xdrhook/wire"
)

// Sim is a running emulator. Start it, then Wait (or Stop, then Wait).
type Sim struct {
	cfg    Config
	gen    *generator
	frames [][]byte    // prebuilt or replayed frames (nil: generate)
	fids   []SettledID // the id of each frame
	ns     []string    // namespace table of SettledID.NS

	start   time.Time
	ctx     context.Context
	cancel  context.CancelFunc
	stop    chan struct{} // closed when the run ends: writers and readers leave
	done    chan struct{} // closed when every record made is settled or abandoned
	drained chan struct{} // closed DrainTimeout after the source ran dry
	srcDone chan struct{} // closed when no new records will be made
	once    struct{ stop, done, src sync.Once }
	result  chan struct{}
	summary Summary

	// source of new records, and the round robin over the endpoints
	srcMu      sync.Mutex
	issued     uint64
	tokens     float64
	tokensAt   int64
	exhausted  atomic.Bool
	eps        []*endpoint
	rr         int // the endpoint whose turn it is
	backlogCap int // records assigned to an endpoint and not yet written

	q       queues
	pending atomic.Int64 // made and not yet settled or abandoned
	estSize int          // typical frame size, to size batches

	workers []*worker
	wg      sync.WaitGroup

	c     counters
	codes [256]atomic.Int64
	kept  atomic.Int64
}

type counters struct {
	generated, sent, bytes, compressed              atomic.Int64
	settled, abandoned, retries, resent, reassigned atomic.Int64
	connects, connectErrors, drops, timeouts, proto atomic.Int64
	healthChecks, healthErrors                      atomic.Int64
	active                                          atomic.Int64
	idsTruncated                                    atomic.Bool
}

// SettledID identifies a record settled with code 0, as a sink sees it.
type SettledID struct {
	NS     uint16 // index into Summary.Namespaces; noNS when unknown
	Digest [wire.DigestSize]byte
	LUT    int64 // Unix ms; 0 when the frame carried none
}

const noNS = 0xffff

// Run starts the emulator and waits for the end of the run: Count records
// made, Duration elapsed, or ctx done; then the outstanding records settle
// (or DrainTimeout passes). The error is only about the configuration.
func Run(ctx context.Context, cfg Config) (Summary, error) {
	s, err := Start(ctx, cfg)
	if err != nil {
		return Summary{}, err
	}
	return s.Wait(), nil
}

// Start checks cfg and starts the connections.
func Start(ctx context.Context, cfg Config) (*Sim, error) {
	if err := cfg.normalize(); err != nil {
		return nil, err
	}
	s := &Sim{
		cfg:     cfg,
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
		drained: make(chan struct{}),
		srcDone: make(chan struct{}),
		result:  make(chan struct{}),
		ns:      []string{cfg.Workload.Namespace},
	}
	s.q.retry = make([]deque, retryLevels(cfg.RetryBackoff, cfg.MaxRetryBackoff))
	if len(cfg.Frames) > 0 {
		if err := s.loadFrames(cfg.Frames); err != nil {
			return nil, err
		}
	} else {
		s.gen = newGenerator(cfg.Workload)
		if cfg.Prebuilt > 0 {
			s.prebuild(cfg.Prebuilt)
		}
	}
	s.estSize = cfg.Workload.Size
	if s.frames != nil {
		total := 0
		for _, f := range s.frames {
			total += len(f)
		}
		s.estSize = max(1, total/len(s.frames))
	}
	s.ctx, s.cancel = context.WithCancel(ctx)
	s.start = time.Now()
	s.tokensAt = 0
	s.tokens = 1
	if cfg.Dial == nil {
		d := &net.Dialer{Timeout: cfg.DialTimeout}
		s.cfg.Dial = d.DialContext
	}
	s.initEndpoints()
	for _, ep := range s.eps {
		for i := 0; i < cfg.Conns; i++ {
			w := newWorker(s, ep, len(s.workers))
			ep.workers = append(ep.workers, w)
			s.workers = append(s.workers, w)
		}
	}
	for _, w := range s.workers {
		s.wg.Add(1)
		go w.run()
	}
	if cfg.HealthInterval > 0 {
		for _, ep := range s.eps {
			s.wg.Add(1)
			go s.healthChecks(ep)
		}
	}
	if cfg.Progress != nil {
		s.wg.Add(1)
		go s.progress()
	}
	if cfg.Duration > 0 {
		time.AfterFunc(cfg.Duration, s.exhaust)
	}
	go s.main()
	return s, nil
}

func retryLevels(base, maxd time.Duration) int {
	n := 1
	for d := base; d < maxd && n < 16; d *= 2 {
		n++
	}
	return n
}

// backoff is the delay before re-shipping a record after its attempt-th
// "retry" reply.
func (s *Sim) backoff(attempt uint8) (time.Duration, int) {
	level := int(attempt) - 1
	d := s.cfg.RetryBackoff << min(level, 30)
	if d > s.cfg.MaxRetryBackoff || d <= 0 {
		d = s.cfg.MaxRetryBackoff
	}
	return d, level
}

func (s *Sim) main() {
	select {
	case <-s.done:
	case <-s.ctx.Done():
	case <-s.drained:
	}
	s.once.stop.Do(func() { close(s.stop) })
	s.cancel()
	s.wg.Wait()
	s.summary = s.snapshot(true)
	close(s.result)
}

// Wait waits for the end of the run and returns its summary.
func (s *Sim) Wait() Summary {
	<-s.result
	return s.summary
}

// Stop ends the run now; records in flight count as Unsettled.
func (s *Sim) Stop() { s.cancel() }

// Addr-independent clock: ns since the start of the run (monotonic).
func (s *Sim) now() int64 { return int64(time.Since(s.start)) }

// exhaust marks the end of new records.
func (s *Sim) exhaust() {
	s.exhausted.Store(true)
	s.once.src.Do(func() {
		close(s.srcDone)
		go func() {
			t := time.NewTimer(s.cfg.DrainTimeout)
			defer t.Stop()
			select {
			case <-t.C:
				close(s.drained)
			case <-s.stop:
			}
		}()
	})
	s.maybeDone()
}

func (s *Sim) maybeDone() {
	if s.exhausted.Load() && s.pending.Load() == 0 {
		s.once.done.Do(func() { close(s.done) })
	}
}

// worker is one connection slot: it connects, runs a session until the
// connection fails, resends what was in flight, and reconnects.
type worker struct {
	s     *Sim
	ep    *endpoint
	id    int
	b     *builder
	hist  Histogram
	ids   []SettledID
	timer *time.Timer

	mu     sync.Mutex // guards ring and the read deadline
	ring   ring
	space  chan struct{}
	revive chan struct{} // the endpoint came back: reconnect now
	wbuf   *pool.Buf
	batch  []item
	popped []item
	rbuf   []byte
}

func newWorker(s *Sim, ep *endpoint, id int) *worker {
	w := &worker{
		s:      s,
		ep:     ep,
		id:     id,
		ring:   newRing(s.cfg.Window),
		space:  make(chan struct{}, 1),
		revive: make(chan struct{}, 1),
		batch:  make([]item, 0, s.cfg.Window),
		popped: make([]item, 0, s.cfg.Window),
		rbuf:   make([]byte, 64<<10),
		timer:  time.NewTimer(time.Hour),
	}
	w.timer.Stop()
	if s.gen != nil {
		w.b = newBuilder(s.gen)
	}
	return w
}

func (w *worker) run() {
	defer w.s.wg.Done()
	s := w.s
	w.wbuf = pool.Get(min(s.cfg.MaxBatchBytes, s.cfg.Window*s.estSize) + 64<<10)
	defer pool.Put(w.wbuf)
	backoff := s.cfg.ReconnectBackoff
	for {
		select {
		case <-s.stop:
			return
		default:
		}
		conn, err := s.dial(w.ep)
		if err != nil {
			s.c.connectErrors.Add(1)
			w.ep.c.connectErrors.Add(1)
			if !w.sleep(backoff) {
				return
			}
			backoff = min(backoff*2, s.cfg.MaxReconnectBackoff)
			continue
		}
		s.c.connects.Add(1)
		w.ep.c.connects.Add(1)
		select { // our own connect put the endpoint back: no need to hurry
		case <-w.revive:
		default:
		}
		if w.session(conn) {
			backoff = s.cfg.ReconnectBackoff
		}
		if !w.sleep(backoff) {
			return
		}
		backoff = min(backoff*2, s.cfg.MaxReconnectBackoff)
	}
}

// sleep waits d, or less if the endpoint came back up; false if the run
// ended meanwhile.
func (w *worker) sleep(d time.Duration) bool {
	w.timer.Reset(d)
	defer w.timer.Stop()
	select {
	case <-w.timer.C:
		return true
	case <-w.revive:
		return true
	case <-w.s.stop:
		return false
	}
}

var (
	errTimeout  = errors.New("no reply within the reply timeout")
	errProtocol = errors.New("malformed reply")
)

// session runs one connection: this goroutine writes, another reads. When
// either fails the connection is closed and every record in flight on it
// goes to the resend queue. It reports whether any reply came back.
func (w *worker) session(conn net.Conn) (progressed bool) {
	s := w.s
	w.mu.Lock()
	w.ring.head, w.ring.n = 0, 0
	w.mu.Unlock()
	select { // a stale "space" from the last session
	case <-w.space:
	default:
	}
	ep := w.ep
	s.c.active.Add(1)
	ep.c.active.Add(1)
	defer s.c.active.Add(-1)
	defer ep.c.active.Add(-1)
	dead := make(chan struct{})
	var readErr error
	var replies atomic.Int64
	go func() {
		readErr = w.readLoop(conn, &replies)
		conn.Close()
		close(dead)
	}()
	go func() { // the end of the run unblocks a Write or a Read
		select {
		case <-s.stop:
			conn.Close()
		case <-dead:
		}
	}()
	writeErr := w.writeLoop(conn, dead)
	conn.Close()
	<-dead

	stopping := false
	select {
	case <-s.stop:
		stopping = true
	default:
	}
	if !stopping {
		switch {
		case errors.Is(readErr, errTimeout):
			s.c.timeouts.Add(1)
			ep.c.timeouts.Add(1)
		case errors.Is(readErr, errProtocol):
			s.c.proto.Add(1)
			ep.c.proto.Add(1)
		case readErr != nil || writeErr != nil:
			s.c.drops.Add(1)
			ep.c.drops.Add(1)
		}
	}
	w.mu.Lock()
	w.popped = w.ring.popInto(w.popped[:0], w.ring.n)
	w.mu.Unlock()
	if !stopping && len(w.popped) > 0 {
		s.c.resent.Add(int64(len(w.popped)))
		ep.c.resent.Add(int64(len(w.popped)))
		s.q.pushResend(w.popped)
		for _, o := range s.eps { // whoever is up takes them
			if o.up.Load() {
				o.wake()
			}
		}
	}
	return replies.Load() > 0
}

// writeLoop fills the window: it builds a batch of frames into one buffer
// and writes it with one call, as long as the window has room.
func (w *worker) writeLoop(conn net.Conn, dead chan struct{}) error {
	s := w.s
	for {
		select {
		case <-dead:
			return nil
		case <-s.stop:
			return nil
		default:
		}
		w.mu.Lock()
		free := s.cfg.Window - w.ring.n
		w.mu.Unlock()
		if free <= 0 {
			select {
			case <-w.space:
			case <-dead:
				return nil
			case <-s.stop:
				return nil
			}
			continue
		}
		now := s.now()
		wait := w.fill(free, now)
		if len(w.batch) == 0 {
			if due, ok := s.q.nextDue(); ok {
				wait = min(wait, time.Duration(due-now))
			}
			if wait <= 0 || wait > 20*time.Millisecond {
				wait = 20 * time.Millisecond
			}
			w.timer.Reset(max(wait, 100*time.Microsecond))
			select {
			case <-w.timer.C:
			case <-w.space:
			case <-dead:
				w.timer.Stop()
				return nil
			case <-s.stop:
				w.timer.Stop()
				return nil
			}
			w.timer.Stop()
			continue
		}
		w.mu.Lock()
		if w.ring.n == 0 {
			conn.SetReadDeadline(s.start.Add(time.Duration(now) + s.cfg.ReplyTimeout))
		}
		for i := range w.batch {
			w.ring.push(&w.batch[i])
		}
		w.mu.Unlock()
		if _, err := conn.Write(w.wbuf.B); err != nil {
			return err
		}
		s.c.sent.Add(int64(len(w.batch)))
		w.ep.c.sent.Add(int64(len(w.batch)))
		s.c.bytes.Add(int64(len(w.wbuf.B)))
	}
}

// fill builds up to free frames into w.wbuf (resends first, then due
// retries, then the endpoint's backlog and new records) and lists them in
// w.batch. A connection to an endpoint that is down takes nothing.
func (w *worker) fill(free int, now int64) (wait time.Duration) {
	s := w.s
	w.batch = w.batch[:0]
	if !w.ep.up.Load() {
		w.wbuf.B = w.wbuf.B[:0]
		return 0
	}
	n := min(free, max(1, s.cfg.MaxBatchBytes/s.estSize))
	w.batch = s.q.take(w.batch, n, now)
	if k := n - len(w.batch); k > 0 {
		w.batch, wait = s.claim(w.ep, w.batch, k, now)
	}
	w.wbuf.B = w.buildBatch(w.wbuf.B[:0], w.batch, now)
	return wait
}

// buildBatch appends the frames of items to dst and stamps them sent at now.
func (w *worker) buildBatch(dst []byte, items []item, now int64) []byte {
	s := w.s
	nowMs := time.Now().UnixMilli()
	var compressed int64
	for i := range items {
		it := &items[i]
		it.sentAt = now
		if s.frames != nil {
			dst = append(dst, s.frames[it.seq%uint64(len(s.frames))]...)
			continue
		}
		if s.gen.plan(it.seq).compress {
			compressed++
		}
		dst = w.b.appendItem(dst, it, nowMs)
	}
	if compressed > 0 {
		s.c.compressed.Add(compressed)
	}
	return dst
}

// readLoop reads replies and settles the window's oldest records with them.
func (w *worker) readLoop(conn net.Conn, replies *atomic.Int64) error {
	s := w.s
	buf := w.rbuf
	have := 0
	for {
		n, err := conn.Read(buf[have:])
		have += n
		if k := have / wire.ReplySize; k > 0 {
			if perr := w.settle(conn, buf[:k*wire.ReplySize], replies); perr != nil {
				return perr
			}
			have = copy(buf, buf[k*wire.ReplySize:have])
		}
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				w.mu.Lock()
				late := w.ring.n > 0 && s.now()-w.ring.front().sentAt >= int64(s.cfg.ReplyTimeout)
				if !late {
					w.setDeadline(conn)
				}
				w.mu.Unlock()
				if late {
					return errTimeout
				}
				continue
			}
			if have > 0 {
				return errProtocol // a partial reply, then the end
			}
			return err
		}
	}
}

// setDeadline sets the read deadline from the oldest record in flight (none
// when the window is empty). Called with w.mu held.
func (w *worker) setDeadline(conn net.Conn) {
	if w.ring.n == 0 {
		conn.SetReadDeadline(time.Time{})
		return
	}
	conn.SetReadDeadline(w.s.start.Add(time.Duration(w.ring.front().sentAt) + w.s.cfg.ReplyTimeout))
}

// validReply checks the shape of a reply: 02 03, body 22, header_sz 22,
// no fields, no ops.
func validReply(r []byte) bool {
	return r[0] == wire.Version && r[1] == wire.TypeMsg &&
		r[2]|r[3]|r[4]|r[5]|r[6] == 0 && r[7] == wire.MsgHeaderSize &&
		r[8] == wire.MsgHeaderSize && r[26]|r[27]|r[28]|r[29] == 0
}

// settle applies the replies in b (whole 30-byte replies) to the oldest
// records in flight. A malformed reply, or a reply with no request, is a
// protocol error: the replies before it count, the rest is resent.
func (w *worker) settle(conn net.Conn, b []byte, replies *atomic.Int64) error {
	s := w.s
	k := len(b) / wire.ReplySize
	m := k
	for i := 0; i < k; i++ {
		if !validReply(b[i*wire.ReplySize:]) {
			m = i
			break
		}
	}
	w.mu.Lock()
	extra := m > w.ring.n
	if extra {
		m = w.ring.n
	}
	w.popped = w.ring.popInto(w.popped[:0], m)
	w.setDeadline(conn)
	w.mu.Unlock()
	if replies != nil {
		replies.Add(int64(m))
	}
	select {
	case w.space <- struct{}{}:
	default:
	}
	now := s.now()
	var settled, abandoned, retries int64
	for i := range w.popped {
		it := &w.popped[i]
		rc := b[i*wire.ReplySize+13]
		w.hist.Record(time.Duration(now - it.sentAt))
		s.codes[rc].Add(1)
		switch {
		case wire.Done(rc):
			settled++
			if rc == wire.RCOK && s.cfg.KeepSettled > 0 {
				w.keep(it)
			}
		case wire.Retried(rc):
			retries++
			it.attempt++
			it.refresh = true
			d, level := s.backoff(it.attempt)
			it.due = now + int64(d)
			s.q.pushRetry(it, level)
		default:
			abandoned++
		}
	}
	if settled+abandoned > 0 {
		s.c.settled.Add(settled)
		s.c.abandoned.Add(abandoned)
		w.ep.c.settled.Add(settled)
		w.ep.c.abandoned.Add(abandoned)
		s.pending.Add(-(settled + abandoned))
		s.maybeDone()
	}
	if retries > 0 {
		s.c.retries.Add(retries)
		w.ep.c.retries.Add(retries)
	}
	if m < k || extra {
		return errProtocol
	}
	return nil
}

func (w *worker) keep(it *item) {
	s := w.s
	if s.kept.Add(1) > int64(s.cfg.KeepSettled) {
		s.c.idsTruncated.Store(true)
		return
	}
	if s.frames != nil {
		id := s.fids[it.seq%uint64(len(s.fids))]
		if id.NS != noNS {
			w.ids = append(w.ids, id)
		}
		return
	}
	w.ids = append(w.ids, SettledID{NS: 0, Digest: it.digest, LUT: it.lutMs})
}

// progress prints one line per interval: rates over the interval, latency
// quantiles over the interval.
func (s *Sim) progress() {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.ProgressInterval)
	defer t.Stop()
	var prev Summary
	var prevH HistSnapshot
	prevAt := time.Now()
	for {
		select {
		case <-t.C:
		case <-s.stop:
			return
		}
		cur := s.snapshot(false)
		var h HistSnapshot
		for _, w := range s.workers {
			w.hist.Snapshot(&h)
		}
		dh := h
		dh.Sub(&prevH)
		now := time.Now()
		dt := now.Sub(prevAt).Seconds()
		targets := ""
		if len(cur.Targets) > 1 {
			up := 0
			for _, t := range cur.Targets {
				if t.Up {
					up++
				}
			}
			targets = fmt.Sprintf("  targets up %d/%d", up, len(cur.Targets))
		}
		fmt.Fprintf(s.cfg.Progress, "xdrsim %6.1fs  sent %s/s  settled %s/s  retried %s/s  abandoned %d  in-flight %d  queued %d  p50 %v  p99 %v  conns %d/%d%s\n",
			cur.ElapsedSeconds,
			human(float64(cur.Sent-prev.Sent)/dt), human(float64(cur.Settled-prev.Settled)/dt),
			human(float64(cur.Retries-prev.Retries)/dt), cur.Abandoned, cur.InFlight, cur.Queued,
			roundDur(dh.Quantile(0.5)), roundDur(dh.Quantile(0.99)),
			cur.Connections, len(s.workers), targets)
		prev, prevH, prevAt = cur, h, now
	}
}

func human(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

func roundDur(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(100 * time.Nanosecond)
}
