package auth

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The refresher replaces a value before it expires; when fetching fails it
// keeps the old value until its expiry, then get fails; a later success
// brings it back. Every failure is counted.
func TestRefresherLifecycle(t *testing.T) {
	const life = 400 * time.Millisecond
	var fail atomic.Bool
	var n, errs atomic.Int32
	r := newRefresher("test", Options{RefreshError: func() { errs.Add(1) }}.filled(), 0, func(context.Context) (int32, time.Time, error) {
		if fail.Load() {
			return 0, time.Time{}, errors.New("endpoint down")
		}
		return n.Add(1), time.Now().Add(life), nil
	})
	defer r.close()
	if err := r.wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Refreshed at about 3/4 of the life, before expiry: get never fails.
	for end := time.Now().Add(3 * life); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if _, err := r.get(time.Now()); err != nil {
			t.Fatalf("get failed while the endpoint is up: %v", err)
		}
	}
	if got := n.Load(); got < 3 || got > 6 {
		t.Fatalf("%d fetches over 3 lifetimes, want 3..6 (one per ~3/4 life)", got)
	}
	fail.Store(true)
	c, _ := r.get(time.Now())
	exp := time.Unix(0, c.expires)
	for time.Now().Before(exp.Add(-20 * time.Millisecond)) {
		if got, err := r.get(time.Now()); err != nil || got.v != c.v {
			t.Fatalf("before expiry: %v %v, want the old value %d", got, err, c.v)
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(40 * time.Millisecond)
	if _, err := r.get(time.Now()); !errors.Is(err, ErrNoCredentials) {
		t.Fatalf("after expiry: %v, want ErrNoCredentials", err)
	}
	if errs.Load() == 0 {
		t.Fatal("failures not counted")
	}
	fail.Store(false)
	for end := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if got, err := r.get(time.Now()); err == nil && got.v > c.v {
			break
		}
		if time.Now().After(end) {
			t.Fatal("no recovery")
		}
	}
}

// wait reports the first fetch's error, without hanging.
func TestRefresherWaitError(t *testing.T) {
	r := newRefresher("test", Options{}.filled(), 0, func(context.Context) (int, time.Time, error) {
		return 0, time.Time{}, errors.New("token endpoint answered 401 Unauthorized")
	})
	defer r.close()
	if err := r.wait(context.Background()); err == nil || err.Error() != "token endpoint answered 401 Unauthorized" {
		t.Fatalf("wait: %v", err)
	}
}

// The refresh time is 3/4 of the life less a jitter in [0, life/10): within
// those bounds, and not the same every time (processes started together
// must not refresh together).
func TestRefreshAfterJitter(t *testing.T) {
	for _, life := range []time.Duration{time.Hour, 15 * time.Minute, 10 * time.Second, 400 * time.Millisecond} {
		lo, hi := life*3/4-life/10, life*3/4
		seen := map[time.Duration]bool{}
		least, most := hi, lo
		for range 1000 {
			got := refreshAfter(life)
			if got <= lo || got > hi {
				t.Fatalf("life %v: refresh after %v, want in (%v, %v]", life, got, lo, hi)
			}
			seen[got] = true
			least, most = min(least, got), max(most, got)
		}
		// 1000 uniform draws over a tenth of the life: distinct, and
		// spread over most of the range.
		if len(seen) < 990 || most-least < life/10*9/10 {
			t.Errorf("life %v: %d distinct values in 1000, spread %v of %v", life, len(seen), most-least, life/10)
		}
	}
	// Too short a life for a jitter: exactly 3/4.
	if got := refreshAfter(5); got != 3 {
		t.Errorf("life 5ns: %v", got)
	}
}

// Refresh failures log at most one line per LogEvery; the next line says
// how many it did not log. Every failure still counts (TestRefresherLifecycle).
func TestRefreshFailureLogRateLimit(t *testing.T) {
	var buf bytes.Buffer
	r := &refresher[int]{kind: "oauth2-client-credentials",
		o: Options{Destination: "api", Log: slog.New(slog.NewTextHandler(&buf, nil))}.filled()}
	for range 50 {
		r.logFailure(errors.New("token endpoint: 503"))
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], "suppressed=0") || !strings.Contains(lines[0], "destination=api") ||
		!strings.Contains(lines[0], "no credentials yet") || !strings.Contains(lines[0], `err="token endpoint: 503"`) {
		t.Fatalf("50 failures at once logged:\n%s", buf.String())
	}
	// Still within the 5 s: nothing more.
	r.lastLog.Add(-int64(LogEvery - time.Second))
	r.logFailure(errors.New("token endpoint: 503"))
	if n := strings.Count(buf.String(), "\n"); n != 1 {
		t.Fatalf("%d lines 4 s after the first", n)
	}
	// 5 s after the first line: the next failure logs, with the count it skipped.
	r.lastLog.Add(-int64(time.Second))
	r.logFailure(errors.New("token endpoint: 503"))
	lines = strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[1], "suppressed=50") {
		t.Fatalf("after 5 s:\n%s", buf.String())
	}
	if LogEvery != 5*time.Second {
		t.Errorf("LogEvery %v, the documented 5 s", LogEvery)
	}
}
