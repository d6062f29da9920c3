package dataplane

import (
	"runtime"
	"testing"
)

// TestSharedSectionsTimed: with sharedTiming on, a loop times each of its
// sections on shared state — per body the pools (newBatch) and the handoff
// (seal), per chunk of credit the budget's CAS, with record-ordering the
// LUT cache per record — and with it off, none.
func TestSharedSectionsTimed(t *testing.T) {
	frames, types := simFrames(t, 1000)
	for _, tc := range []struct {
		name    string
		ordered bool
		on      bool
	}{{"off", false, false}, {"on", false, true}, {"ordered", true, true}} {
		t.Run(tc.name, func(t *testing.T) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			e := benchEngine(t, tc.ordered)
			sharedTiming.Store(tc.on)
			defer sharedTiming.Store(false)
			s := e.newSession(e.newLoop())
			s.wake = func() {}
			s.lp.mu.Lock()
			for i, f := range frames {
				if s.consume(f, types[i]) != frameDone {
					t.Fatalf("frame %d not consumed", i)
				}
			}
			s.lp.mu.Unlock()
			got := e.sharedTime()
			if !tc.on {
				if got != (sharedTotals{}) {
					t.Fatalf("timing off: %+v", got)
				}
				return
			}
			// 1000 records: two 500-record bodies (newBatch and seal each)
			// and the chunks of credit they took (nothing answered yet, so
			// none given back).
			chunks := (1000 + e.chunk - 1) / e.chunk
			if want := uint64(2+2) + uint64(chunks); got.cpuTimed != want {
				t.Errorf("sections timed by CPU: %d, want %d (chunk %d)", got.cpuTimed, want, e.chunk)
			}
			wantLUT := uint64(0)
			if tc.ordered {
				wantLUT = 1000
			}
			if got.wallTimed != wantLUT {
				t.Errorf("LUT sections: %d, want %d", got.wallTimed, wantLUT)
			}
			if got.nanos == 0 || (tc.ordered && got.lutNanos == 0) || (!tc.ordered && got.lutNanos != 0) {
				t.Errorf("shared time: %+v", got)
			}
		})
	}
}
