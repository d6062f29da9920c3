package main

import (
	"runtime"
	"sync"
	"testing"
)

func TestSpareProcs(t *testing.T) {
	for _, c := range []struct {
		cpus, io int
		env      string
		tls      bool
		want     int
	}{
		{2, 0, "", false, 3},    // one P for the goroutines that are not loops
		{16, 0, "", false, 17},  // a dedicated node
		{2, 8, "", false, 9},    // more loops than CPUs: a P each, and the spare
		{8, 2, "", false, 9},    // fewer loops than CPUs: the CPUs count
		{2, 0, "4", false, 0},   // GOMAXPROCS set by the operator stands
		{2, 0, "0", false, 3},   // ... unless the runtime ignored it
		{2, 0, "two", false, 3}, // (not a positive integer)
		{2, 0, "", true, 0},     // a TLS listener has no event loops
	} {
		if got := spareProcs(c.cpus, c.io, c.env, c.tls); got != c.want {
			t.Errorf("spareProcs(%d, %d, %q, %v) = %d, want %d", c.cpus, c.io, c.env, c.tls, got, c.want)
		}
	}
}

// TestSetProcs applies the rule to the runtime, once per process, and
// leaves an operator's GOMAXPROCS alone.
func TestSetProcs(t *testing.T) {
	prev := runtime.GOMAXPROCS(0)
	t.Cleanup(func() { procsOnce = sync.Once{}; runtime.GOMAXPROCS(prev) })
	t.Setenv("GOMAXPROCS", "")
	runtime.SetDefaultGOMAXPROCS() // what an unset GOMAXPROCS gives
	def := runtime.GOMAXPROCS(0)

	procsOnce = sync.Once{}
	if cpus, set := setProcs(0, false); cpus != def || set != def+1 || runtime.GOMAXPROCS(0) != def+1 {
		t.Fatalf("setProcs: cpus %d, set %d, GOMAXPROCS %d; want %d, %d, %d", cpus, set, runtime.GOMAXPROCS(0), def, def+1, def+1)
	}
	if cpus, set := setProcs(0, false); cpus != def || set != def+1 || runtime.GOMAXPROCS(0) != def+1 {
		t.Fatalf("second setProcs: cpus %d, set %d, GOMAXPROCS %d; want the first call's (once per process)", cpus, set, runtime.GOMAXPROCS(0))
	}

	runtime.SetDefaultGOMAXPROCS()
	t.Setenv("GOMAXPROCS", "1")
	procsOnce = sync.Once{}
	if _, set := setProcs(0, false); set != 0 || runtime.GOMAXPROCS(0) != def {
		t.Fatalf("with GOMAXPROCS=1 in the environment: set %d, GOMAXPROCS %d; want 0 and %d", set, runtime.GOMAXPROCS(0), def)
	}
}
