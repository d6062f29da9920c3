package xdrsim

import (
	"context"
	"net"
	"sync/atomic"
	"time"
)

// endpoint is one connector address of Config.Targets, as XDR sees a
// node-address-port of a connector DC: Conns connections to it, a health
// state, and the new records assigned to it by the round robin and not yet
// written (its backlog).
//
// How records spread over several endpoints (xdr-wire.md §1):
//   - New records go round-robin, one record at a time, over the endpoints
//     that are up. Strict rotation: an endpoint whose backlog is full (its
//     connections do not take records as fast as the others) holds the
//     rotation up, as a slow node holds up XDR.
//   - Records answered "retry" and records in flight on a connection that
//     failed go to a shared queue that any connection of an endpoint that is
//     up takes from: what was in flight on a dead node is re-sent to the
//     others.
//   - An endpoint is down from a failed connect (a health check, or one of
//     its connections reconnecting) until a connect to it succeeds again.
//     While down it is skipped: no new records, no resends or retries, and
//     its backlog moves to the shared queue. Connections to it that are
//     still open finish what they have in flight.
type endpoint struct {
	idx     int
	addr    string
	up      atomic.Bool
	workers []*worker

	backlog  deque        // guarded by Sim.srcMu
	nBacklog atomic.Int64 // backlog.len(), read without the lock

	c epCounters
}

type epCounters struct {
	sent, settled, abandoned, retries, resent, reassigned atomic.Int64
	connects, connectErrors, drops, timeouts, proto       atomic.Int64
	healthChecks, healthErrors, downs                     atomic.Int64
	active                                                atomic.Int64
}

// initEndpoints makes one endpoint per target, all up.
func (s *Sim) initEndpoints() {
	s.eps = make([]*endpoint, len(s.cfg.Targets))
	for i, a := range s.cfg.Targets {
		ep := &endpoint{idx: i, addr: a}
		ep.up.Store(true)
		s.eps[i] = ep
	}
	s.backlogCap = max(1, s.cfg.Conns*s.cfg.Window)
}

// wake nudges every connection of ep to look for work.
func (ep *endpoint) wake() {
	for _, w := range ep.workers {
		select {
		case w.space <- struct{}{}:
		default:
		}
	}
}

// markDown takes ep out of the rotation after a failed connect. Its backlog
// goes to the shared queue, for the endpoints that are up.
func (s *Sim) markDown(ep *endpoint) {
	if !ep.up.Load() {
		return
	}
	s.srcMu.Lock()
	if !ep.up.Swap(false) {
		s.srcMu.Unlock()
		return
	}
	ep.c.downs.Add(1)
	moved := make([]item, 0, ep.backlog.len())
	for ep.backlog.len() > 0 {
		moved = append(moved, ep.backlog.pop())
	}
	ep.nBacklog.Store(0)
	// Pushed under srcMu so that the records are always in one queue or
	// the other (lock order: srcMu, then q.mu).
	s.q.pushResend(moved)
	s.srcMu.Unlock()
	if n := int64(len(moved)); n > 0 {
		ep.c.reassigned.Add(n)
		s.c.reassigned.Add(n)
		for _, o := range s.eps {
			if o != ep {
				o.wake()
			}
		}
	}
}

// markUp puts ep back in the rotation after a successful connect.
func (s *Sim) markUp(ep *endpoint) {
	if ep.up.Load() {
		return
	}
	s.srcMu.Lock()
	was := ep.up.Swap(true)
	s.srcMu.Unlock()
	if was {
		return
	}
	for _, w := range ep.workers { // reconnect without waiting out the backoff
		select {
		case w.revive <- struct{}{}:
		default:
		}
	}
	ep.wake()
}

// nextUp returns the endpoint whose turn it is, skipping those that are
// down; nil if none is up. Called with srcMu held.
func (s *Sim) nextUp() *endpoint {
	n := len(s.eps)
	for j := 0; j < n; j++ {
		ep := s.eps[(s.rr+j)%n]
		if ep.up.Load() {
			s.rr = (s.rr + j) % n
			return ep
		}
	}
	return nil
}

// claim appends to dst up to k records for a connection of ep: first from
// ep's backlog, then new records, as the count and the rate allow. New
// records are dealt round-robin over the endpoints that are up: those that
// fall to another endpoint go to its backlog. When the rate allows none it
// says how long to wait.
func (s *Sim) claim(ep *endpoint, dst []item, k int, now int64) ([]item, time.Duration) {
	if k <= 0 {
		return dst, 0
	}
	if s.exhausted.Load() && ep.nBacklog.Load() == 0 {
		return dst, 0
	}
	base := len(dst)
	s.srcMu.Lock()
	for len(dst)-base < k && ep.backlog.len() > 0 {
		dst = append(dst, ep.backlog.pop())
	}
	ep.nBacklog.Store(int64(ep.backlog.len()))
	want := k - (len(dst) - base)
	if want == 0 || s.exhausted.Load() {
		s.srcMu.Unlock()
		return dst, 0
	}
	if s.cfg.Duration > 0 && now >= int64(s.cfg.Duration) {
		s.srcMu.Unlock()
		s.exhaust()
		return dst, 0
	}
	multi := len(s.eps) > 1
	n := want
	if multi {
		n = want * len(s.eps) // a round's worth for every endpoint
	}
	if c := s.cfg.Count; c > 0 {
		n = int(min(int64(n), c-int64(s.issued)))
	}
	var wait time.Duration
	if r := s.cfg.Rate; r > 0 {
		// Token bucket holding at most 50 ms of records (at least one).
		s.tokens += r * float64(now-s.tokensAt) / 1e9
		s.tokensAt = now
		s.tokens = min(s.tokens, max(1, r/20))
		if s.tokens < 1 {
			wait = time.Duration((1 - s.tokens) / r * 1e9)
			s.srcMu.Unlock()
			return dst, wait
		}
		n = min(n, int(s.tokens))
	}
	issued := 0
	var fed uint64 // endpoints whose backlog grew (bit per index, first 64)
	if !multi {
		for ; issued < n; issued++ {
			dst = append(dst, item{seq: s.issued + uint64(issued)})
		}
	} else {
		for issued < n && len(dst)-base < k {
			t := s.nextUp()
			if t == nil || (t != ep && t.backlog.len() >= s.backlogCap) {
				break
			}
			it := item{seq: s.issued + uint64(issued)}
			issued++
			if t == ep {
				dst = append(dst, it)
			} else {
				t.backlog.push(&it)
				t.nBacklog.Store(int64(t.backlog.len()))
				fed |= 1 << (t.idx % 64)
			}
			s.rr = (t.idx + 1) % len(s.eps)
		}
	}
	if s.cfg.Rate > 0 {
		s.tokens -= float64(issued)
	}
	if issued > 0 {
		s.issued += uint64(issued)
		s.pending.Add(int64(issued))
		s.c.generated.Add(int64(issued))
	}
	dry := s.cfg.Count > 0 && int64(s.issued) >= s.cfg.Count
	s.srcMu.Unlock()
	if fed != 0 {
		for _, o := range s.eps {
			if fed&(1<<(o.idx%64)) != 0 {
				o.wake()
			}
		}
	}
	if dry {
		s.exhaust()
	}
	return dst, 0
}

// dial opens a connection to ep. A failed connect takes ep out of the
// rotation; a successful one puts it back.
func (s *Sim) dial(ep *endpoint) (conn net.Conn, err error) {
	dctx, cancel := context.WithTimeout(s.ctx, s.cfg.DialTimeout)
	conn, err = s.cfg.Dial(dctx, "tcp", ep.addr)
	cancel()
	if err != nil {
		select {
		case <-s.stop: // the end of the run cancelled it
			return nil, err
		default:
		}
		s.markDown(ep)
		return nil, err
	}
	s.markUp(ep)
	return conn, nil
}

// healthChecks connects to ep and closes without a byte, every
// HealthInterval, as XDR checks a node.
func (s *Sim) healthChecks(ep *endpoint) {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.HealthInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-s.stop:
			return
		}
		c, err := s.dial(ep)
		if err != nil {
			select {
			case <-s.stop:
				return
			default:
			}
			s.c.healthChecks.Add(1)
			s.c.healthErrors.Add(1)
			ep.c.healthChecks.Add(1)
			ep.c.healthErrors.Add(1)
			continue
		}
		s.c.healthChecks.Add(1)
		ep.c.healthChecks.Add(1)
		c.Close()
	}
}
