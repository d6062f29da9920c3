package encode_test

import (
	"testing"

	"github.com/xdrhook/xdrhook/encode"
	"github.com/xdrhook/xdrhook/perf/xdrsim"
	"github.com/xdrhook/xdrhook/wire"
)

// Benchmarks on the records the perf suite sends: perf/xdrsim's default
// workload, ~1 KB records of 11 bins of every kind (nested lists and maps,
// blobs, GeoJSON) with deletes, partial and metadata-only writes mixed in.
// One op encodes one record (1000 of them in turn), so ns/op is the
// per-record encode cost behind `xdrhook bench`; the typical-record
// benchmarks (10 bins, ~300 B) are the budgets'.

const simRecords = 1000

// simMessages decodes the first simRecords records of the default workload.
func simMessages(b testing.TB) []*wire.Message {
	return simMessagesOf(b, xdrsim.DefaultWorkload(), simRecords)
}

// simMessagesOf decodes the first n records of workload w.
func simMessagesOf(b testing.TB, w xdrsim.Workload, n int) []*wire.Message {
	b.Helper()
	frames, err := xdrsim.Frames(w, n, 1_734_388_704_784)
	if err != nil {
		b.Fatal(err)
	}
	ms := make([]*wire.Message, len(frames))
	for i, f := range frames {
		frame, typ, err := wire.Split(f, wire.DefaultMaxBody)
		if err != nil || typ != wire.TypeMsg {
			b.Fatalf("record %d: frame type %d (want an uncompressed message), %v", i, typ, err)
		}
		ms[i] = new(wire.Message)
		if err := ms[i].Decode(frame[wire.HeaderSize:]); err != nil {
			b.Fatalf("record %d: %v", i, err)
		}
	}
	return ms
}

func benchSim(b *testing.B, e encode.Encoder) { benchSimOf(b, e, simMessages(b)) }

func benchSimOf(b *testing.B, e encode.Encoder, ms []*wire.Message) {
	var buf []byte
	var total int
	for _, m := range ms {
		out, err := e.Append(buf[:0], m, 1_734_388_704)
		if err != nil {
			b.Fatal(err)
		}
		total += len(out)
		buf = out
	}
	b.SetBytes(int64(total / len(ms)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		buf, _ = e.Append(buf[:0], ms[i], 1_734_388_704)
		if i++; i == len(ms) {
			i = 0
		}
	}
}

func BenchmarkSimJSON(b *testing.B) { benchSim(b, new(encode.JSON)) }

// BenchmarkSimJSONLarge: the perf suite's large records (~64 KB: a text or
// blob filler of most of it), 50 of them in turn.
func BenchmarkSimJSONLarge(b *testing.B) {
	w := xdrsim.DefaultWorkload()
	w.Size = xdrsim.SizeLarge
	benchSimOf(b, new(encode.JSON), simMessagesOf(b, w, 50))
}
func BenchmarkSimFlatJSON(b *testing.B) { benchSim(b, new(encode.FlatJSON)) }
func BenchmarkSimMsgPack(b *testing.B)  { benchSim(b, new(encode.MsgPack)) }
func BenchmarkSimAvro(b *testing.B)     { benchSim(b, encode.NewAvro(nil)) }
