package dataplane

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/xdrhook/xdrhook/encode"
	"github.com/xdrhook/xdrhook/perf/xdrsim"
	"github.com/xdrhook/xdrhook/wire"
)

// okSender answers 200 at once: it isolates the connector's own work.
type okSender struct{}

func (okSender) Do(*Request, time.Time) (int, time.Duration, error) { return 200, 0, nil }
func (okSender) Close()                                             {}

// pipeline builds an engine without listeners and one session on it, so
// the steady-state path — decode, route, encode into the batch, send,
// settle, reply — can be measured record by record.
func pipeline(tb testing.TB, batching bool) (*Engine, *session) {
	return pipelineOf(tb, "json", batching)
}

// pipelineOf is pipeline with the format's encoder and framer (json,
// message-pack or avro), as the connector builds them.
func pipelineOf(tb testing.TB, format string, batching bool) (*Engine, *session) {
	d := newTestDestination(DestinationOptions{Name: "ok", Sender: okSender{}, MaxInFlight: 2})
	p := &Profile{Batching: batching, MaxRecords: 500, MaxBytes: 1 << 20, Interval: time.Hour}
	switch format {
	case "json":
		p.NewFramer = func() encode.Framer { return &encode.NDJSON{Enc: &encode.JSON{}} }
		p.NewEncoder = func() encode.Encoder { return &encode.JSON{} }
	case "message-pack":
		p.NewFramer = func() encode.Framer { return encode.NewMsgPackArray(nil) }
		p.NewEncoder = func() encode.Encoder { return &encode.MsgPack{} }
	case "avro":
		sch := encode.BuiltinAvroSchema()
		p.NewFramer = func() encode.Framer { return encode.NewAvroOCF(sch.NewEncoder(nil)) }
		p.NewEncoder = func() encode.Encoder { return sch.NewEncoder(nil) }
	default:
		tb.Fatalf("format %q", format)
	}
	e, err := newTestEngine(Options{
		Listen: []string{"unused"}, Profiles: []*Profile{p}, Destinations: []*Destination{d},
		Router: &StaticRouter{Profile: p, Dests: []*Destination{d}},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		tb.Fatal(err)
	}
	d.start()
	tb.Cleanup(func() { d.stop() })
	s := e.newSession(e.newLoop())
	s.wake = func() {}
	e.connOpened()
	return e, s
}

// typicalFrame is the 10-bin record of the performance budget.
func typicalFrame() []byte {
	var d wire.Digester
	list := wire.AppendCDTList(nil, 3)
	list = wire.AppendCDTInt(list, 1)
	list = wire.AppendCDTString(list, "two")
	list = wire.AppendCDTFloat(list, 3.5)
	mp := wire.AppendCDTMap(nil, 2)
	mp = wire.AppendCDTString(mp, "city")
	mp = wire.AppendCDTString(mp, "Lisbon")
	mp = wire.AppendCDTString(mp, "zip")
	mp = wire.AppendCDTInt(mp, 1100)
	r := &wire.Record{
		Kind: wire.KindWrite, Generation: 12, TTL: 86400,
		Namespace: "test", Set: "users", KeyType: wire.ParticleString, Key: []byte("user-000042"),
		LUT: wire.MakeLUT(1, 1734388704784),
		Bins: []wire.BinSpec{
			{Name: "id", Type: wire.ParticleInteger, Value: wire.IntValue(42)},
			{Name: "name", Type: wire.ParticleString, Value: []byte("Ada Lovelace")},
			{Name: "email", Type: wire.ParticleString, Value: []byte("ada@example.com")},
			{Name: "age", Type: wire.ParticleInteger, Value: wire.IntValue(36)},
			{Name: "score", Type: wire.ParticleFloat, Value: wire.FloatValue(98.25)},
			{Name: "active", Type: wire.ParticleBool, Value: wire.BoolValue(true)},
			{Name: "avatar", Type: wire.ParticleBlob, Value: make([]byte, 32)},
			{Name: "tags", Type: wire.ParticleList, Value: list},
			{Name: "address", Type: wire.ParticleMap, Value: mp},
			{Name: "bio", Type: wire.ParticleString, Value: []byte("First programmer; wrote the notes on the Analytical Engine.")},
		},
	}
	r.SetDigest(&d)
	return wire.AppendFrame(nil, r)
}

// stepDepth is the bodies step lets queue before it waits: the sender
// keeps a bounded number of records in flight (the perf suite's 8 × 64), so
// the pools see a steady state. Without it a burst queues as deep as the
// queue bounds allow and every body past the pools' depth is a new one.
const stepDepth = 512

// step pushes one record through and writes out whatever has settled; a
// full window waits for the workers, as the event loop would, and so does
// a queue deeper than stepDepth, as a sender with a bounded window would.
func step(s *session, frame []byte) {
	for _, d := range s.e.opts.Destinations {
		for d.queued.Load() >= stepDepth {
			ownerFlush(s)
			time.Sleep(50 * time.Microsecond)
		}
	}
	for !consumed(s, frame) {
		s.e.sealAll(true)
		ownerFlush(s)
		time.Sleep(50 * time.Microsecond)
	}
	ownerFlush(s)
}

// consumed feeds one frame as the owner of the session's loop does.
func consumed(s *session, frame []byte) bool {
	s.lp.mu.Lock()
	defer s.lp.mu.Unlock()
	return s.consume(frame, wire.TypeMsg) != frameStall
}

// ownerFlush flushes as the owner of the session's loop does.
func ownerFlush(s *session) {
	s.lp.mu.Lock()
	s.flush()
	s.lp.mu.Unlock()
}

// drainAll waits until every record has been answered.
func drainAll(e *Engine, s *session) {
	e.sealAll(true)
	for s.w.unanswered() > 0 {
		time.Sleep(100 * time.Microsecond)
		ownerFlush(s)
	}
}

func TestSteadyStateAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	// xdrsim's records, of the small (~150 B) and the typical workload,
	// vary in size and kind (deletes): one per request, a body buffer
	// sized by the last body was too small for the next whenever a small
	// body came first, and the encoder grew it, and the pool lost it, per
	// record (1.34 allocs per record in the h2c bench of small json).
	sim := func(size int) [][]byte {
		w := xdrsim.DefaultWorkload()
		w.Size, w.Compress = size, 0
		frames, err := xdrsim.Frames(w, 64, time.Now().UnixMilli())
		if err != nil {
			t.Fatal(err)
		}
		return frames
	}
	sets := []struct {
		name   string
		frames [][]byte
	}{{"10-bin", [][]byte{typicalFrame()}}, {"xdrsim small", sim(xdrsim.SizeSmall)}, {"xdrsim typical", sim(xdrsim.SizeTypical)}}
	for _, format := range []string{"json", "message-pack", "avro"} {
		for _, set := range sets {
			for _, batching := range []bool{true, false} {
				frames := set.frames
				e, s := pipelineOf(t, format, batching)
				for i := 0; i < 5000; i++ { // warm pools and buffers
					step(s, frames[i%len(frames)])
				}
				drainAll(e, s)
				const per = 2000
				allocs := testing.AllocsPerRun(5, func() {
					for i := 0; i < per; i++ {
						step(s, frames[i%len(frames)])
					}
					drainAll(e, s)
				}) / per
				// Batched: nothing per record. One per request: the HTTP
				// request machinery is per body, here a no-op sender;
				// still nothing.
				if allocs > 0.01 {
					t.Errorf("%s, %s records, batching=%v: %.3f allocs per record", format, set.name, batching, allocs)
				}
			}
		}
	}
}

func BenchmarkPipelineBatched(b *testing.B) { benchPipeline(b, true) }
func BenchmarkPipelineSingle(b *testing.B)  { benchPipeline(b, false) }

func benchPipeline(b *testing.B, batching bool) {
	e, s := pipeline(b, batching)
	frame := typicalFrame()
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	n := 0
	for b.Loop() {
		step(s, frame)
		if n++; n%1024 == 0 {
			for s.w.unanswered() > 2048 {
				ownerFlush(s)
			}
		}
	}
	drainAll(e, s)
}
