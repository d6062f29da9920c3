package sink

import (
	"strings"
	"testing"
	"time"
)

func TestFaultFailFirstAndRetryAfter(t *testing.T) {
	for _, p := range []proto{h1, h2c} {
		t.Run(string(p), func(t *testing.T) { testFailFirst(t, p) })
	}
}

func testFailFirst(t *testing.T, p proto) {
	s := startSink(t, Config{FailFirst: 2, FailStatus: 429, RetryAfter: "1"})
	c := client(p)
	for i := 0; i < 4; i++ {
		r, err := post(t, c, s.URL(), "application/json", []byte(jsonWrite("test", i)))
		if err != nil {
			t.Fatal(err)
		}
		want := 200
		if i < 2 {
			want = 429
			if r.header.Get("Retry-After") != "1" {
				t.Errorf("request %d: Retry-After %q", i, r.header.Get("Retry-After"))
			}
		}
		if r.status != want {
			t.Errorf("request %d: status %d, want %d", i, r.status, want)
		}
	}
	st := s.Stats()
	if st.Faults["fail-first"] != 2 || st.Records != 2 || st.ByStatus[429] != 2 || st.DistinctIDs != 2 {
		t.Errorf("stats %+v", st)
	}
}

func TestFaultFailRateDeterministic(t *testing.T) {
	for _, p := range []proto{h1, h2c} {
		t.Run(string(p), func(t *testing.T) { testFailRate(t, p) })
	}
}

func testFailRate(t *testing.T, p proto) {
	seq := func() string {
		s := startSink(t, Config{FailRate: 0.5, Seed: 42})
		defer s.Close()
		c := client(p)
		var b strings.Builder
		for i := 0; i < 40; i++ {
			r, err := post(t, c, s.URL(), "application/json", []byte(jsonWrite("test", i)))
			if err != nil {
				t.Fatal(err)
			}
			b.WriteString(map[int]string{200: ".", 503: "x"}[r.status])
		}
		st := s.Stats()
		if st.Faults["fail-rate"]+st.Accepted != 40 {
			t.Errorf("faults %d accepted %d", st.Faults["fail-rate"], st.Accepted)
		}
		return b.String()
	}
	a, b := seq(), seq()
	if a != b {
		t.Errorf("same seed, different faults:\n%s\n%s", a, b)
	}
	n := strings.Count(a, "x")
	if n < 8 || n > 32 {
		t.Errorf("%d of 40 failed at rate 0.5: %s", n, a)
	}
}

func TestFaultLatency(t *testing.T) {
	for _, p := range []proto{h1, h2c} {
		t.Run(string(p), func(t *testing.T) { testLatency(t, p) })
	}
}

func testLatency(t *testing.T, p proto) {
	for _, rnd := range []bool{false, true} {
		s := startSink(t, Config{Latency: 80 * time.Millisecond, LatencyRand: rnd, Seed: 1})
		c := client(p)
		var maxd, mind time.Duration = 0, time.Hour
		for i := 0; i < 4; i++ {
			start := time.Now()
			r, err := post(t, c, s.URL(), "application/json", []byte(jsonWrite("test", i)))
			if err != nil || r.status != 200 {
				t.Fatal(err, r.status)
			}
			d := time.Since(start)
			maxd, mind = max(maxd, d), min(mind, d)
		}
		if !rnd && mind < 80*time.Millisecond {
			t.Errorf("fixed latency: a request took %v", mind)
		}
		if rnd && (mind >= 80*time.Millisecond || maxd > 2*time.Second) {
			t.Errorf("random latency: %v..%v", mind, maxd)
		}
		if s.Stats().Faults["latency"] == 0 {
			t.Error("latency not counted")
		}
	}
}

func TestFaultHangup(t *testing.T) {
	for _, p := range []proto{h1, h2c} {
		t.Run(string(p), func(t *testing.T) {
			s := startSink(t, Config{HangupRate: 1})
			_, err := post(t, client(p), s.URL(), "application/json", []byte(jsonWrite("test", 1)))
			if err == nil {
				t.Fatal("a request on a connection closed mid-request succeeded")
			}
			st := s.Stats()
			if st.Faults["hangup"] != 1 || st.Records != 0 {
				t.Errorf("faults %v records %d", st.Faults, st.Records)
			}
		})
	}
	// A fraction: some requests fail, the rest go through (new connections).
	for _, p := range []proto{h1, h2c} {
		t.Run(string(p)+"-fraction", func(t *testing.T) { testHangupFraction(t, p) })
	}
}

func testHangupFraction(t *testing.T, p proto) {
	s := startSink(t, Config{HangupRate: 0.3, Seed: 7})
	c := client(p)
	ok, failed := 0, 0
	for i := 0; i < 30; i++ {
		if r, err := post(t, c, s.URL(), "application/json", []byte(jsonWrite("test", i))); err == nil && r.status == 200 {
			ok++
		} else {
			failed++
		}
	}
	if ok == 0 || failed == 0 || s.Stats().Faults["hangup"] != int64(failed) {
		t.Errorf("ok %d failed %d faults %v", ok, failed, s.Stats().Faults)
	}
}

func TestFaultDown(t *testing.T) {
	for _, p := range []proto{h1, h2c} {
		t.Run(string(p), func(t *testing.T) { testDown(t, p) })
	}
}

func testDown(t *testing.T, p proto) {
	s := startSink(t, Config{DownAfter: 150 * time.Millisecond, DownFor: 400 * time.Millisecond})
	c := client(p)
	if r, err := post(t, c, s.URL(), "application/json", []byte(jsonWrite("test", 1))); err != nil || r.status != 200 {
		t.Fatalf("before the outage: %v", err)
	}
	time.Sleep(250 * time.Millisecond)
	if _, err := post(t, c, s.URL(), "application/json", []byte(jsonWrite("test", 2))); err == nil {
		t.Error("a request during the outage succeeded")
	}
	deadline := time.Now().Add(3 * time.Second)
	for {
		r, err := post(t, c, s.URL(), "application/json", []byte(jsonWrite("test", 3)))
		if err == nil && r.status == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not back up: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if st := s.Stats(); st.Faults["down"] != 1 || st.Records != 2 {
		t.Errorf("faults %v records %d", st.Faults, st.Records)
	}
}
