package dataplane

import (
	"bytes"
	"testing"
	"time"

	"github.com/xdrhook/xdrhook/wire"
)

// A record that decodes but cannot be encoded (here a map bin nested
// 10,000 deep, past the CDT walker's bound) is answered 4 and counted as
// settled with outcome "encode-error" for its destination, batched or not.
func TestEncodeErrorCounted(t *testing.T) {
	deep := append(bytes.Repeat([]byte{0x81, 0x01}, 10000), 0x01)
	for _, batching := range []bool{true, false} {
		c := newCapture(t)
		e := startEngine(t, Options{}, c.srv.URL, batching, DestinationOptions{})
		r := record(1)
		r.Bins = []wire.BinSpec{{Name: "m", Type: wire.ParticleMap, Value: deep}}
		x := dialXDR(t, e.addr)
		x.c.Write(append(wire.AppendFrame(nil, r), frames(1)...))
		if rcs := x.replies(t, 2, 5*time.Second); rcs[0] != wire.RCParameter || rcs[1] != wire.RCOK {
			t.Fatalf("batching %v: replies %v, want [4 0]", batching, rcs)
		}
		if n := e.dest.m.encodeErrors.Get(); n != 1 {
			t.Fatalf("batching %v: encode errors counted %d, want 1", batching, n)
		}
	}
}
