package encode_test

import (
	"testing"

	"github.com/xdrhook/xdrhook/encode"
)

// TestSimRecordsAllocs: every encoder writes the perf suite's records
// (perf/xdrsim's default workload: GeoJSON points, long binary fractions,
// UTF-8 text, nested lists and maps) without allocating, once its scratch
// has grown: the fast paths those records take (compact points, short
// decimals, plain runes, Avro's CDT loop) included.
func TestSimRecordsAllocs(t *testing.T) {
	ms := simMessages(t)
	for _, tc := range []struct {
		name string
		enc  encode.Encoder
	}{
		{"json", new(encode.JSON)},
		{"flat-json", new(encode.FlatJSON)},
		{"message-pack", new(encode.MsgPack)},
		{"avro", encode.NewAvro(nil)},
	} {
		buf := make([]byte, 0, 64<<10)
		for _, m := range ms { // grow the scratch
			if _, err := tc.enc.Append(buf[:0], m, 1_734_388_704); err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
		}
		allocs := testing.AllocsPerRun(3, func() {
			for _, m := range ms {
				if _, err := tc.enc.Append(buf[:0], m, 1_734_388_704); err != nil {
					t.Fatal(err)
				}
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per %d records", tc.name, allocs, len(ms))
		}
	}
}
