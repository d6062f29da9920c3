package main

import (
	"runtime"
	"sync"
	"testing"
)

func TestSpareProcs(t *testing.T) {
	for _, c := range []struct {
		def, io int
		env     string
		want    int
	}{
		{2, 0, "", 3},   // one P for the goroutines that are not loops
		{16, 0, "", 17}, // a dedicated node
		{2, 8, "", 9},   // more loops than CPUs: a P each, and the spare
		{8, 2, "", 9},   // fewer loops than CPUs: the CPUs count
		{2, 0, "4", 0},  // GOMAXPROCS set by the operator stands
	} {
		if got := spareProcs(c.def, c.io, c.env); got != c.want {
			t.Errorf("spareProcs(%d, %d, %q) = %d, want %d", c.def, c.io, c.env, got, c.want)
		}
	}
}

// TestSetProcs applies the rule to the runtime, once per process, and
// leaves an operator's GOMAXPROCS alone.
func TestSetProcs(t *testing.T) {
	t.Cleanup(func() { procsOnce = sync.Once{}; runtime.SetDefaultGOMAXPROCS() })
	t.Setenv("GOMAXPROCS", "")
	runtime.SetDefaultGOMAXPROCS()
	def := runtime.GOMAXPROCS(0)

	procsOnce = sync.Once{}
	if set := setProcs(0); set != def+1 || runtime.GOMAXPROCS(0) != def+1 {
		t.Fatalf("setProcs: set %d, GOMAXPROCS %d; want %d", set, runtime.GOMAXPROCS(0), def+1)
	}
	if set := setProcs(0); set != 0 || runtime.GOMAXPROCS(0) != def+1 {
		t.Fatalf("second setProcs: set %d, GOMAXPROCS %d; want 0 and %d (once per process)", set, runtime.GOMAXPROCS(0), def+1)
	}

	runtime.SetDefaultGOMAXPROCS()
	t.Setenv("GOMAXPROCS", "1")
	procsOnce = sync.Once{}
	if set := setProcs(0); set != 0 || runtime.GOMAXPROCS(0) != def {
		t.Fatalf("with GOMAXPROCS=1 in the environment: set %d, GOMAXPROCS %d; want 0 and %d", set, runtime.GOMAXPROCS(0), def)
	}
}
