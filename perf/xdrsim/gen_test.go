package xdrsim

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/xdrhook/xdrhook/pool"
	"github.com/xdrhook/xdrhook/wire"
)

func mixWorkload() Workload {
	w := DefaultWorkload()
	w.Keys = 500
	w.DeleteRatio = 0.1
	w.MetaRatio = 0.05
	w.PartialRatio = 0.15
	w.Compress = 0.2
	return w
}

func newTestGen(t testing.TB, w Workload) *generator {
	t.Helper()
	cfg := Config{Target: "x", Workload: w}
	if err := cfg.normalize(); err != nil {
		t.Fatal(err)
	}
	return newGenerator(cfg.Workload)
}

// decodeFrame decodes a generated frame (inflating type 4).
func decodeFrame(t *testing.T, f []byte, m *wire.Message, inf *wire.Inflater, out *pool.Buf) (compressed bool) {
	t.Helper()
	typ, n, err := wire.ParseHeader(f, wire.DefaultMaxBody)
	if err != nil || n != len(f)-wire.HeaderSize {
		t.Fatalf("frame header: %v (%d vs %d)", err, n, len(f)-wire.HeaderSize)
	}
	if typ == wire.TypeCompressed {
		if f, err = inf.Inflate(f, wire.DefaultMaxBody, out); err != nil {
			t.Fatalf("inflate: %v", err)
		}
		compressed = true
	}
	if err := m.Decode(f[wire.HeaderSize:]); err != nil {
		t.Fatalf("decode: %v", err)
	}
	return compressed
}

func TestGeneratedRecords(t *testing.T) {
	g := newTestGen(t, mixWorkload())
	b := newBuilder(g)
	var m wire.Message
	var inf wire.Inflater
	out := pool.Get(0)
	defer pool.Put(out)
	var dg wire.Digester
	types := map[uint8]int{}
	kinds := map[string]int{}
	keyTypes := map[uint8]int{}
	lastGen := map[string]uint32{}
	lastLUT := map[string]int64{}
	slotDigest := map[uint32]string{}
	orderedNested, geoInCDT := 0, 0
	nowMs := time.Now().UnixMilli()
	for seq := uint64(0); seq < 3000; seq++ {
		it := item{seq: seq}
		f := b.appendItem(nil, &it, nowMs)
		if decodeFrame(t, f, &m, &inf, out) {
			kinds["compressed"]++
		}
		p := g.plan(seq)
		si := g.slotInfo(p.slot)
		if string(m.Namespace) != "test" || string(m.Set) != si.set || m.HasSet != (si.set != "") {
			t.Fatalf("namespace %q set %q (%v), want set %q", m.Namespace, m.Set, m.HasSet, si.set)
		}
		d := string(m.Digest)
		if !bytes.Equal(m.Digest, it.digest[:]) {
			t.Fatal("item digest differs from the frame's")
		}
		if m.Key.Type != 0 {
			keyTypes[m.Key.Type]++
			if !dg.Verify(&m) {
				t.Fatalf("digest does not match set and key (seq %d)", seq)
			}
		} else {
			keyTypes[0]++
		}
		if prev, ok := slotDigest[p.slot]; ok && prev != d {
			t.Fatal("a key slot changed digest")
		}
		slotDigest[p.slot] = d
		// Rising generation and LUT per key.
		if m.Generation <= lastGen[d] && lastGen[d] != 0xffff {
			t.Fatalf("generation %d after %d", m.Generation, lastGen[d])
		}
		if m.LUTUnixMs() <= lastLUT[d] || m.LUTUnixMs() != it.lutMs {
			t.Fatalf("LUT %d after %d (item %d)", m.LUTUnixMs(), lastLUT[d], it.lutMs)
		}
		lastGen[d], lastLUT[d] = m.Generation, m.LUTUnixMs()
		switch {
		case m.Kind == wire.KindDelete && m.Durable:
			kinds["durable-delete"]++
		case m.Kind == wire.KindDelete:
			kinds["delete"]++
		case m.MetadataOnly:
			kinds["meta"]++
		case m.Partial:
			kinds["partial"]++
		default:
			kinds["write"]++
		}
		if p.kind != m.Kind || p.meta != m.MetadataOnly || (p.partial || p.meta) != (m.Partial && m.Kind == wire.KindWrite) {
			t.Fatalf("plan %+v, message kind %v partial %v meta %v", p, m.Kind, m.Partial, m.MetadataOnly)
		}
		for i := range m.Bins {
			bn := &m.Bins[i]
			types[bn.Type]++
			switch bn.Type {
			case wire.ParticleList, wire.ParticleMap:
				var r wire.CDTReader
				if err := r.Validate(bn.Value); err != nil {
					t.Fatalf("bin %s: %v", bn.Name, err)
				}
				r.Reset(bn.Value)
				var tok wire.CDTToken
				for {
					err := r.Next(&tok)
					if errors.Is(err, wire.ErrCDTEnd) {
						break
					}
					if err != nil {
						t.Fatal(err)
					}
					if (tok.Kind == wire.CDTList || tok.Kind == wire.CDTMap) && tok.Flags != 0 && r.Depth() > 1 {
						orderedNested++
					}
					if tok.Kind == wire.CDTTyped && tok.Sub == wire.ParticleGeoJSON {
						if !json.Valid(tok.Bytes) {
							t.Fatalf("GeoJSON in a CDT: %q", tok.Bytes)
						}
						geoInCDT++
					}
				}
			case wire.ParticleGeoJSON:
				txt, err := wire.GeoJSONText(bn.Value)
				if err != nil || !json.Valid(txt) {
					t.Fatalf("GeoJSON %q: %v", txt, err)
				}
			}
		}
	}
	for _, pt := range []uint8{0, 1, 2, 3, 4, 7, 8, 9, 10, 11, 12, 16, 17, 18, 19, 20, 23} {
		if types[pt] == 0 {
			t.Errorf("no bin of particle type %d", pt)
		}
	}
	for _, k := range []string{"write", "partial", "meta", "delete", "durable-delete", "compressed"} {
		if kinds[k] == 0 {
			t.Errorf("no %s record", k)
		}
	}
	for _, kt := range []uint8{0, wire.ParticleInteger, wire.ParticleString, wire.ParticleBlob} {
		if keyTypes[kt] == 0 {
			t.Errorf("no record with key type %d", kt)
		}
	}
	if orderedNested == 0 || geoInCDT == 0 {
		t.Errorf("nested ordered containers %d, GeoJSON in CDTs %d", orderedNested, geoInCDT)
	}
	t.Logf("kinds %v, types %v, keys %v", kinds, types, keyTypes)
}

func TestKeylessDigestStable(t *testing.T) {
	w := mixWorkload()
	w.NoKeyRatio = 1
	w.NoSetRatio = 0.5
	g := newTestGen(t, w)
	b := newBuilder(g)
	seen := map[string]uint32{}
	var m wire.Message
	for seq := uint64(0); seq < 2000; seq++ {
		it := item{seq: seq}
		f := b.tmp[:0]
		p := g.plan(seq)
		if p.compress {
			continue
		}
		f = b.appendItem(nil, &it, 1)
		if err := m.Decode(f[wire.HeaderSize:]); err != nil {
			t.Fatal(err)
		}
		if m.Key.Type != 0 {
			t.Fatal("a key was shipped")
		}
		if s, ok := seen[string(m.Digest)]; ok && s != p.slot {
			t.Fatalf("slots %d and %d share a digest", s, p.slot)
		}
		seen[string(m.Digest)] = p.slot
	}
	if len(seen) < 400 {
		t.Errorf("only %d distinct digests over 500 keys", len(seen))
	}
}

func TestFrameSizes(t *testing.T) {
	for _, size := range []int{SizeSmall, SizeTypical, SizeLarge, 3 << 20} {
		w := DefaultWorkload()
		w.Size = size
		g := newTestGen(t, w)
		b := newBuilder(g)
		total, n := 0, 0
		for seq := uint64(0); seq < uint64(200*SizeTypical/max(size, SizeTypical))+20; seq++ {
			p := g.plan(seq)
			if p.kind != wire.KindWrite || p.partial || p.meta {
				continue
			}
			it := item{seq: seq}
			f := b.appendItem(nil, &it, 1)
			total += len(f)
			n++
		}
		avg := total / n
		lo, hi := size*85/100, size*115/100
		if size == SizeSmall {
			lo, hi = 100, 260 // a floor of 2 bins and the fields
		}
		if avg < lo || avg > hi {
			t.Errorf("size %d: average full write %d bytes", size, avg)
		}
	}
}

func TestCompressedMatchesWire(t *testing.T) {
	w := mixWorkload()
	w.Compress = 1
	for _, level := range []int{1, 6, 9} {
		w.CompressLevel = level
		g := newTestGen(t, w)
		b := newBuilder(g)
		for seq := uint64(0); seq < 20; seq++ {
			it := item{seq: seq}
			got := b.appendItem([]byte("prefix"), &it, 1)
			want := wire.AppendCompressed([]byte("prefix"), b.tmp, level)
			if !bytes.Equal(got, want) {
				t.Fatalf("level %d seq %d: compressed frame differs from wire.AppendCompressed", level, seq)
			}
		}
	}
}

func TestDeterministic(t *testing.T) {
	frames := func(seed uint64) []byte {
		w := mixWorkload()
		w.Seed = seed
		g := newTestGen(t, w)
		b := newBuilder(g)
		var all []byte
		for seq := uint64(0); seq < 300; seq++ {
			it := item{seq: seq}
			all = b.appendItem(all, &it, 1000)
		}
		return all
	}
	a, b, c := frames(7), frames(7), frames(8)
	if !bytes.Equal(a, b) {
		t.Error("same seed, different records")
	}
	if bytes.Equal(a, c) {
		t.Error("different seeds, same records")
	}
}

func TestRetryStamp(t *testing.T) {
	g := newTestGen(t, mixWorkload())
	b := newBuilder(g)
	it := item{seq: 3}
	f1 := b.appendItem(nil, &it, 5000)
	// A resend after a drop: the same bytes.
	f2 := b.appendItem(nil, &it, 9000)
	if !bytes.Equal(f1, f2) {
		t.Error("a resend changed the frame")
	}
	// A retry: a new LUT, same generation.
	gen, lut := it.gen, it.lutMs
	it.refresh = true
	b.appendItem(nil, &it, 5000)
	if it.lutMs <= lut || it.gen != gen {
		t.Errorf("retry: lut %d -> %d, gen %d -> %d", lut, it.lutMs, gen, it.gen)
	}
}

func TestBuildZeroAllocs(t *testing.T) {
	for _, comp := range []float64{0, 1} {
		w := DefaultWorkload()
		w.Compress = comp
		g := newTestGen(t, w)
		b := newBuilder(g)
		buf := make([]byte, 0, 1<<20)
		seq := uint64(0)
		for ; seq < 100; seq++ { // warm up: buffers reach their size
			it := item{seq: seq}
			buf = b.appendItem(buf[:0], &it, 1)
		}
		allocs := testing.AllocsPerRun(500, func() {
			it := item{seq: seq}
			seq++
			buf = b.appendItem(buf[:0], &it, 1)
		})
		if allocs != 0 {
			t.Errorf("compress %v: %.2f allocations per record", comp, allocs)
		}
	}
}

func TestHistogram(t *testing.T) {
	var h Histogram
	for i := 1; i <= 1000; i++ {
		h.Record(time.Duration(i) * time.Microsecond)
	}
	var s HistSnapshot
	h.Snapshot(&s)
	check := func(q float64, want time.Duration) {
		got := s.Quantile(q)
		if math.Abs(float64(got-want)) > float64(want)*0.07 {
			t.Errorf("q%.3f = %v, want ~%v", q, got, want)
		}
	}
	check(0.5, 500*time.Microsecond)
	check(0.99, 990*time.Microsecond)
	check(1, 1000*time.Microsecond)
	if s.Count() != 1000 || s.Max() < time.Millisecond {
		t.Errorf("count %d max %v", s.Count(), s.Max())
	}
	if m := s.Mean(); m < 480*time.Microsecond || m > 520*time.Microsecond {
		t.Errorf("mean %v", m)
	}
	for v := uint64(0); v < 1<<20; v += 7 {
		i := histIndex(v)
		if histUpper(i) < v || (i > 0 && histUpper(i-1) >= v) {
			t.Fatalf("value %d in bucket %d [.., %d]", v, i, histUpper(i))
		}
	}
	if histIndex(math.MaxUint64) != histBuckets-1 {
		t.Error("top bucket")
	}
	var prev HistSnapshot
	h.Snapshot(&prev)
	h.Record(time.Second)
	var cur HistSnapshot
	h.Snapshot(&cur)
	cur.Sub(&prev)
	if cur.Count() != 1 || cur.Quantile(0.5) < time.Second {
		t.Errorf("interval snapshot: %d %v", cur.Count(), cur.Quantile(0.5))
	}
}

// TestFrames checks the exported frames against the builder's own.
func TestFrames(t *testing.T) {
	w := DefaultWorkload()
	fs, err := Frames(w, 50, 1_700_000_000_000)
	if err != nil {
		t.Fatal(err)
	}
	bl := newBuilder(newTestGen(t, w))
	for i, f := range fs {
		want := bl.appendItem(nil, &item{seq: uint64(i)}, 1_700_000_000_000)
		if !bytes.Equal(f, want) {
			t.Fatalf("frame %d differs from the builder's", i)
		}
	}
	if _, err := Frames(Workload{Size: MaxSize + 1}, 1, 0); err == nil {
		t.Error("an oversized workload was accepted")
	}
	if _, err := Frames(w, -1, 0); err == nil {
		t.Error("a negative count was accepted")
	}
}
