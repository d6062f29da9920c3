package auth

import (
	"context"
	"errors"
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
