package auth

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// cred is one fetched credential and when it stops being valid.
type cred[T any] struct {
	v       T
	expires int64 // Unix ns; 0: never
}

// fetchFunc fetches fresh credentials. expires zero: they do not expire.
// The error must not contain a secret.
type fetchFunc[T any] func(ctx context.Context) (v T, expires time.Time, err error)

// refresher keeps the current credentials of one Authorizer behind an
// atomic pointer and replaces them from a background goroutine: at about
// three quarters of their lifetime (less a random jitter, so that several
// processes started together do not hit the token endpoint together), and
// after a failure with a backoff of 1 s doubling to 30 s, keeping the old
// value until it expires.
type refresher[T any] struct {
	cur   atomic.Pointer[cred[T]]
	fetch fetchFunc[T]
	o     Options
	kind  string

	first     chan struct{} // closed after the first fetch ended
	firstOnce sync.Once
	firstErr  error
	lastErr   atomic.Pointer[string]

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	// kick asks for a fetch now.
	kick chan struct{}
	// every, if set, bounds the time between fetches (bearer-file polls).
	every time.Duration

	lastLog atomic.Int64
	nlog    atomic.Int64
}

// Bounds of the refresh schedule.
const (
	minRefresh   = 100 * time.Millisecond
	retryInitial = time.Second
	retryMax     = 30 * time.Second
	fetchTimeout = 30 * time.Second
)

func newRefresher[T any](kind string, o Options, every time.Duration, fetch fetchFunc[T]) *refresher[T] {
	ctx, cancel := context.WithCancel(context.Background())
	r := &refresher[T]{fetch: fetch, o: o, kind: kind, every: every, first: make(chan struct{}),
		ctx: ctx, cancel: cancel, done: make(chan struct{}), kick: make(chan struct{}, 1)}
	go r.run()
	return r
}

// get returns the current credentials if they are still valid at now.
func (r *refresher[T]) get(now time.Time) (*cred[T], error) {
	c := r.cur.Load()
	if c == nil || c.expires != 0 && now.UnixNano() >= c.expires {
		return nil, ErrNoCredentials
	}
	return c, nil
}

func (r *refresher[T]) run() {
	defer close(r.done)
	backoff := retryInitial
	for {
		next, ok := r.once()
		if ok {
			backoff = retryInitial
			if r.every > 0 && r.every < next {
				next = r.every
			}
		} else {
			next = backoff
			backoff = min(2*backoff, retryMax)
			// A failure while the old value is still good retries sooner
			// than its expiry, never later.
			if c := r.cur.Load(); c != nil && c.expires != 0 {
				if left := time.Until(time.Unix(0, c.expires)); left > minRefresh && left/2 < next {
					next = left / 2
				}
			}
			if r.every > 0 && r.every < next {
				next = r.every
			}
		}
		t := time.NewTimer(max(next, minRefresh))
		select {
		case <-r.ctx.Done():
			t.Stop()
			return
		case <-r.kick:
			t.Stop()
		case <-t.C:
		}
	}
}

// once fetches and stores; it returns when to refresh next (0: only when
// kicked) and whether it worked.
func (r *refresher[T]) once() (time.Duration, bool) {
	ctx, cancel := context.WithTimeout(r.ctx, fetchTimeout)
	v, exp, err := r.fetch(ctx)
	cancel()
	if r.ctx.Err() != nil {
		return 0, false
	}
	if err != nil {
		s := err.Error()
		r.lastErr.Store(&s)
		r.o.RefreshError()
		r.logFailure(err)
		r.firstOnce.Do(func() { r.firstErr = err; close(r.first) })
		return 0, false
	}
	c := &cred[T]{v: v}
	next := time.Duration(1<<63 - 1)
	if !exp.IsZero() {
		c.expires = exp.UnixNano()
		next = refreshAfter(time.Until(exp))
	}
	r.cur.Store(c)
	r.firstOnce.Do(func() { close(r.first) })
	return next, true
}

// refreshAfter is when to refresh credentials valid for life: at three
// quarters of it, less a random jitter of up to a tenth of it.
func refreshAfter(life time.Duration) time.Duration {
	next := life * 3 / 4
	if j := int64(life / 10); j > 0 {
		next -= time.Duration(rand.Int64N(j))
	}
	return next
}

func (r *refresher[T]) logFailure(err error) {
	now := time.Now().UnixNano()
	last := r.lastLog.Load()
	if now-last < int64(LogEvery) || !r.lastLog.CompareAndSwap(last, now) {
		r.nlog.Add(1)
		return
	}
	state := "no credentials yet: requests fail and are retried"
	if c := r.cur.Load(); c != nil {
		if c.expires == 0 || now < c.expires {
			state = "the last credentials are used until they expire"
			if c.expires != 0 {
				state += " at " + time.Unix(0, c.expires).UTC().Format(time.RFC3339)
			}
		} else {
			state = "the last credentials expired: requests fail and are retried"
		}
	}
	r.o.Log.Warn("auth: fetching credentials failed; "+state, "destination", r.o.Destination,
		"auth", r.kind, "err", err, "suppressed", r.nlog.Swap(0))
}

// wait blocks until the first fetch ended.
func (r *refresher[T]) wait(ctx context.Context) error {
	select {
	case <-r.first:
		return r.firstErr
	case <-ctx.Done():
		if s := r.lastErr.Load(); s != nil {
			return &waitError{msg: *s}
		}
		return ctx.Err()
	}
}

type waitError struct{ msg string }

func (e *waitError) Error() string { return e.msg }

// refreshNow asks the goroutine to fetch at once.
func (r *refresher[T]) refreshNow() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

func (r *refresher[T]) close() {
	r.cancel()
	<-r.done
}
