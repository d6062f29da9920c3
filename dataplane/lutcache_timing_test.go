package dataplane

import (
	"sync/atomic"
	"testing"

	"github.com/xdrhook/xdrhook/wire"
)

// BenchmarkLUTCacheStale is record-ordering's per-record section on state
// the loops share: one lookup and update of the LUT cache, the perf
// suite's 4096 records cycling, one goroutine per P (-cpu 1,2: what a
// second loop costs the first).
func BenchmarkLUTCacheStale(b *testing.B) {
	frames, _ := simFrames(b, 4096)
	msgs := make([]wire.Message, len(frames))
	for i, f := range frames {
		if err := msgs[i].Decode(f[wire.HeaderSize:]); err != nil {
			b.Fatal(err)
		}
	}
	c := newLUTCache(60_000)
	var seed atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := int(seed.Add(1)-1) * 1031
		for pb.Next() {
			c.stale(&msgs[i%len(msgs)], 1)
			i++
		}
	})
}
