package xdrsim

import (
	"compress/zlib"
	"encoding/binary"
	"errors"
	"math"
	"math/bits"
	"strconv"
	"sync/atomic"

	"github.com/xdrhook/xdrhook/wire"
)

// The generator is deterministic: everything about record number seq (its
// key slot, kind, bins and values, whether it is compressed) is a function
// of (seed, seq), so any connection can build any record and a run is
// reproducible whatever the scheduling. Only generation and LUT come from
// run-time state: per key slot, the generation rises by one per record and
// the LUT is max(now, previous LUT + 1) ms, as on a real source.
type generator struct {
	w    Workload
	rnd  []byte // random bytes: blobs, HLLs and fillers are slices of it
	txt  []byte // printable ASCII: strings are slices of it
	setB [][]byte
	gens []atomic.Uint32
	luts []atomic.Int64 // Unix ms of the slot's last LUT

	// Digests are computed once per slot (RIPEMD-160 is half the cost of a
	// small record): dstate 0 = not yet, 1 = being computed, 2 = in digests.
	dstate  []atomic.Uint32
	digests [][wire.DigestSize]byte
}

// maxDigestCache bounds the key space whose digests are cached (24 bytes a key).
const maxDigestCache = 1 << 24

const poolSize = 1 << 20

func newGenerator(w Workload) *generator {
	g := &generator{
		w:    w,
		rnd:  make([]byte, poolSize),
		txt:  make([]byte, poolSize),
		gens: make([]atomic.Uint32, w.Keys),
		luts: make([]atomic.Int64, w.Keys),
	}
	if w.Keys <= maxDigestCache {
		g.dstate = make([]atomic.Uint32, w.Keys)
		g.digests = make([][wire.DigestSize]byte, w.Keys)
	}
	for _, s := range w.Sets {
		g.setB = append(g.setB, []byte(s))
	}
	const alpha = "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789 .,-_"
	s := w.Seed ^ 0x5eed
	for i := 0; i < poolSize; i += 8 {
		s = mix(s + i64(i))
		binary.LittleEndian.PutUint64(g.rnd[i:], s)
		for j := 0; j < 8; j++ {
			g.txt[i+j] = alpha[int(s>>(j*8)&0xff)%len(alpha)]
		}
	}
	return g
}

func i64(i int) uint64 { return uint64(i) }

// mix is splitmix64's finalizer: a cheap, well-spread hash of x.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// frac maps h to [0, 1).
func frac(h uint64) float64 { return float64(h>>11) / (1 << 53) }

// plan is what record seq is.
type plan struct {
	h        uint64
	slot     uint32
	kind     wire.Kind
	durable  bool
	partial  bool
	meta     bool
	compress bool
}

func (g *generator) plan(seq uint64) plan {
	h := mix(g.w.Seed*0x2545f4914f6cdd1d ^ seq)
	h2 := mix(h)
	p := plan{h: h, slot: uint32(h2 % uint64(g.w.Keys)), kind: wire.KindWrite}
	u := frac(mix(h2))
	w := &g.w
	switch {
	case u < w.DeleteRatio:
		p.kind = wire.KindDelete
		p.durable = frac(mix(h^1)) < w.DurableRatio
	case u < w.DeleteRatio+w.MetaRatio:
		p.meta = true
	case u < w.DeleteRatio+w.MetaRatio+w.PartialRatio:
		p.partial = true
	}
	p.compress = w.Compress > 0 && frac(mix(h^2)) < w.Compress
	return p
}

// slotInfo is what a key slot is: stable for the whole run (the digest
// depends on it).
type slotInfo struct {
	hs      uint64
	set     string
	setB    []byte // set as bytes (the digest input)
	keyType uint8  // the key hashed into the digest
	shipKey bool   // false: the user key is not stored (not sent)
}

func (g *generator) slotInfo(slot uint32) slotInfo {
	hs := mix(g.w.Seed ^ 0xa5a5a5a5_00000000 ^ uint64(slot))
	si := slotInfo{hs: hs, shipKey: frac(mix(hs^3)) >= g.w.NoKeyRatio}
	if frac(mix(hs^4)) >= g.w.NoSetRatio && len(g.w.Sets) > 0 {
		i := int(hs >> 8 % uint64(len(g.w.Sets)))
		si.set, si.setB = g.w.Sets[i], g.setB[i]
	}
	switch hs >> 20 % 10 {
	case 0, 1, 2, 3, 4, 5:
		si.keyType = wire.ParticleInteger
	case 6, 7, 8:
		si.keyType = wire.ParticleString
	default:
		si.keyType = wire.ParticleBlob
	}
	return si
}

// appendKey appends the wire bytes of the slot's user key.
func appendKey(dst []byte, slot uint32, keyType uint8) []byte {
	switch keyType {
	case wire.ParticleInteger:
		return binary.BigEndian.AppendUint64(dst, uint64(slot))
	case wire.ParticleString:
		dst = append(dst, "key-"...)
		return strconv.AppendUint(dst, uint64(slot), 10)
	}
	dst = append(dst, 0xb1, 0x0b)
	return binary.BigEndian.AppendUint64(dst, uint64(slot))
}

// stamp gives a record of slot its generation and LUT (Unix ms): the
// generation rises by one (a 16-bit value, never 0) unless keepGen, and the
// LUT is max(now, last + 1).
func (g *generator) stamp(slot uint32, nowMs int64, keepGen bool) (gen uint32, lutMs int64) {
	if keepGen {
		gen = g.gens[slot].Load() & 0xffff
	} else {
		gen = g.gens[slot].Add(1) & 0xffff
		if gen == 0 {
			gen = g.gens[slot].Add(1) & 0xffff
		}
	}
	l := &g.luts[slot]
	for {
		last := l.Load()
		ms := nowMs
		if ms <= last {
			ms = last + 1
		}
		if l.CompareAndSwap(last, ms) {
			return gen, ms
		}
	}
}

// Bin kinds the generator cycles through: every particle type XDR ships.
const (
	bkInt = iota
	bkString
	bkFloat
	bkBool
	bkList
	bkMap
	bkBlob
	bkGeo
	bkHLL
	bkLangBlob
	bkOrderedList
	bkUTF8
	bkVector
	bkNestedMap
	numBinKinds
)

var binNames = [...]string{"name", "age", "score", "active", "tags", "attrs", "photo", "loc",
	"visitors", "blob", "ranks", "bio", "embed", "profile", "n14", "n15"}

var utf8Text = []byte("héllo wörld — 日本語 ✓ 🚀")

const maxBins = 32

// builder turns items into frames. One per connection: not safe for
// concurrent use; it reuses every buffer, so steady state allocates nothing.
type builder struct {
	g       *generator
	rec     wire.Record
	bins    [maxBins]wire.BinSpec
	offs    [maxBins][2]int32 // value = scratch[offs[0]:offs[1]] when offs[1] > 0
	scratch []byte
	key     []byte
	dg      wire.Digester
	tmp     []byte // plain frame before compression
	aw      appendWriter
	zw      *zlib.Writer
}

type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) { w.b = append(w.b, p...); return len(p), nil }

func newBuilder(g *generator) *builder {
	return &builder{g: g, scratch: make([]byte, 0, 4096), key: make([]byte, 0, 32)}
}

// appendItem appends the frame of it to dst. A fresh item (or one to
// re-ship after a "retry" reply) gets its generation and LUT now; an item
// resent after a dropped connection is rebuilt byte for byte.
func (b *builder) appendItem(dst []byte, it *item, nowMs int64) []byte {
	g := b.g
	p := g.plan(it.seq)
	si := g.slotInfo(p.slot)
	if !it.built || it.refresh {
		gen, ms := g.stamp(p.slot, nowMs, it.built)
		if it.built && gen < it.gen {
			gen = it.gen
		}
		it.gen, it.lutMs, it.built, it.refresh = gen, ms, true, false
	}
	r := &b.rec
	*r = wire.Record{
		Kind:       p.kind,
		Durable:    p.durable,
		Partial:    p.partial,
		Generation: it.gen,
		Namespace:  g.w.Namespace,
		Set:        si.set,
		LUT:        wire.MakeLUT(g.w.Source, it.lutMs),
	}
	b.key = appendKey(b.key[:0], p.slot, si.keyType)
	it.digest = b.digest(p.slot, &si)
	r.Digest = it.digest
	if si.shipKey {
		r.KeyType, r.Key = si.keyType, b.key
	}
	if p.kind == wire.KindWrite {
		r.TTL = wire.TTLNever
		if si.hs&3 != 0 {
			r.TTL = uint32(3600 * (1 + si.hs>>32%720))
		}
		if !p.meta {
			r.Bins = b.makeBins(&p, &si, frameBase(r))
		}
	}
	if !p.compress {
		return wire.AppendFrame(dst, r)
	}
	b.tmp = wire.AppendFrame(b.tmp[:0], r)
	return b.appendCompressed(dst, b.tmp)
}

// digest returns the slot's digest, from the cache when it is there.
func (b *builder) digest(slot uint32, si *slotInfo) [wire.DigestSize]byte {
	g := b.g
	if g.dstate == nil {
		return b.dg.Digest(si.setB, si.keyType, b.key)
	}
	st := &g.dstate[slot]
	switch st.Load() {
	case 2:
		return g.digests[slot]
	case 0:
		if st.CompareAndSwap(0, 1) {
			d := b.dg.Digest(si.setB, si.keyType, b.key)
			g.digests[slot] = d
			st.Store(2)
			return d
		}
	}
	return b.dg.Digest(si.setB, si.keyType, b.key) // another builder is on it
}

// frameBase is the size of r's frame without bins.
func frameBase(r *wire.Record) int {
	n := wire.HeaderSize + wire.MsgHeaderSize + 5 + len(r.Namespace) + 5 + wire.DigestSize + 13
	if r.Set != "" {
		n += 5 + len(r.Set)
	}
	if r.KeyType != 0 {
		n += 6 + len(r.Key)
	}
	return n
}

// appendCompressed appends frame as a type-4 frame. It is what
// wire.AppendCompressed produces (tested), with a zlib writer that is reset
// rather than allocated per frame.
func (b *builder) appendCompressed(dst, frame []byte) []byte {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
	b.aw.b = dst
	if b.zw == nil {
		zw, err := zlib.NewWriterLevel(&b.aw, b.g.w.CompressLevel)
		if err != nil {
			zw = zlib.NewWriter(&b.aw)
		}
		b.zw = zw
	} else {
		b.zw.Reset(&b.aw)
	}
	b.zw.Write(frame)
	b.zw.Close()
	dst, b.aw.b = b.aw.b, nil
	wire.PutHeader(dst[start:], wire.TypeCompressed, len(dst)-start-wire.HeaderSize)
	binary.BigEndian.PutUint64(dst[start+wire.HeaderSize:], uint64(len(frame)))
	return dst
}

// makeBins fills b.bins for a write and returns them. A full write has
// kinds cycling per bin index (stable per key slot) and ends with filler
// bins that bring the frame to the size target; a partial write has a
// subset of the bins, some of them deleted (particle type 0).
func (b *builder) makeBins(p *plan, si *slotInfo, base int) []wire.BinSpec {
	target := b.g.w.Size
	n := (target - 100) / 80
	n = max(2, min(n, 14))
	b.scratch = b.scratch[:0]
	size := base
	k := 0
	var mask uint64 = math.MaxUint64
	if p.partial {
		mask = mix(p.h^5) | 1<<(p.h%uint64(n))
	}
	for i := 0; i < n; i++ {
		if mask>>i&1 == 0 {
			continue
		}
		bs := &b.bins[k]
		*bs = wire.BinSpec{Name: binNames[i]}
		b.offs[k] = [2]int32{}
		if p.partial && mix(p.h^uint64(i+9))&3 == 0 {
			bs.Type = wire.ParticleNull // deleted bin
		} else {
			b.value(k, int((si.hs+uint64(i))%numBinKinds), mix(p.h+uint64(i)))
		}
		size += 8 + len(bs.Name) + b.valueLen(k)
		k++
	}
	if !p.partial {
		// Fillers: a string or a blob, sliced from the pools, up to the target.
		rem := target - size
		for f := 0; k < maxBins; f++ {
			name := "payload"
			if f > 0 {
				name = fillerNames[min(f, len(fillerNames)-1)]
			}
			ln := rem - 8 - len(name)
			ln = max(1, min(ln, poolSize-64))
			off := int(mix(p.h^uint64(77+f)) % uint64(poolSize-ln))
			bs := &b.bins[k]
			*bs = wire.BinSpec{Name: name}
			b.offs[k] = [2]int32{}
			if si.hs>>40&1 == 0 {
				bs.Type, bs.Value = wire.ParticleString, b.g.txt[off:off+ln]
			} else {
				bs.Type, bs.Value = wire.ParticleBlob, b.g.rnd[off:off+ln]
			}
			k++
			rem -= 8 + len(name) + ln
			if rem <= 8+len(name) {
				break
			}
		}
	}
	for i := 0; i < k; i++ {
		if o := b.offs[i]; o[1] > 0 {
			b.bins[i].Value = b.scratch[o[0]:o[1]]
		}
	}
	return b.bins[:k]
}

var fillerNames = [...]string{"payload", "payload1", "payload2", "payload3", "payload4", "payload5", "payload6", "payload7", "payloadN"}

func (b *builder) valueLen(k int) int {
	if o := b.offs[k]; o[1] > 0 {
		return int(o[1] - o[0])
	}
	return len(b.bins[k].Value)
}

// value sets bin k to a value of the given kind derived from v. Values
// built in scratch are recorded as offsets (scratch may move while later
// bins are appended); values sliced from the pools are set directly.
func (b *builder) value(k, kind int, v uint64) {
	bs := &b.bins[k]
	g := b.g
	start := len(b.scratch)
	s := b.scratch
	switch kind {
	case bkInt:
		bs.Type = wire.ParticleInteger
		s = binary.BigEndian.AppendUint64(s, uint64(intOf(v)))
	case bkFloat:
		bs.Type = wire.ParticleFloat
		s = binary.BigEndian.AppendUint64(s, math.Float64bits(floatOf(v)))
	case bkBool:
		bs.Type = wire.ParticleBool
		s = append(s, byte(v>>7&1))
	case bkString:
		bs.Type = wire.ParticleString
		bs.Value = g.textSlice(v, 4+int(v>>50%36))
	case bkUTF8:
		bs.Type = wire.ParticleString
		bs.Value = utf8Text
	case bkBlob:
		bs.Type = wire.ParticleBlob
		bs.Value = g.rndSlice(v, 8+int(v>>48%120))
	case bkHLL:
		bs.Type = wire.ParticleHLL
		bs.Value = g.rndSlice(v, 48)
	case bkLangBlob:
		bs.Type = uint8(wire.ParticleJava + v>>40%6) // 7..12: Java, C#, Python, Ruby, PHP, Erlang
		bs.Value = g.rndSlice(v, 16+int(v>>44%48))
	case bkVector:
		bs.Type = wire.ParticleVector
		bs.Value = g.rndSlice(v, 32)
	case bkGeo:
		bs.Type = wire.ParticleGeoJSON
		s = append(s, 0, 0, 1)
		s = binary.BigEndian.AppendUint64(s, v|1)
		s = appendGeoText(s, v)
	case bkList:
		bs.Type = wire.ParticleList
		s = g.appendList(s, v, 0, false)
	case bkOrderedList:
		bs.Type = wire.ParticleList
		s = g.appendList(s, v, 0, true)
	case bkMap:
		bs.Type = wire.ParticleMap
		s = g.appendMap(s, v, 0, 0)
	case bkNestedMap:
		bs.Type = wire.ParticleMap
		s = g.appendMap(s, v, 0, 1+2*uint8(v>>61&1)) // key-ordered or key-value-ordered
	}
	b.scratch = s
	if len(s) > start {
		b.offs[k] = [2]int32{int32(start), int32(len(s))}
	}
}

func (g *generator) textSlice(v uint64, n int) []byte {
	off := int(v % uint64(poolSize-n))
	return g.txt[off : off+n]
}

func (g *generator) rndSlice(v uint64, n int) []byte {
	off := int(v % uint64(poolSize-n))
	return g.rnd[off : off+n]
}

// intOf spreads integers over every MessagePack width and sign.
func intOf(v uint64) int64 {
	switch v >> 60 {
	case 0, 1, 2, 3:
		return int64(v >> 57) // small positive
	case 4, 5:
		return -int64(v >> 40 % 100000)
	case 6:
		return math.MinInt64 + int64(v>>62)
	case 7:
		return math.MaxInt64 - int64(v>>62)
	}
	return int64(v>>20) - 1<<42
}

// floatOf gives mostly ordinary numbers, and now and then -0, ±Inf and NaN.
func floatOf(v uint64) float64 {
	switch v % 211 {
	case 0:
		return math.Copysign(0, -1)
	case 1:
		return math.Inf(1)
	case 2:
		return math.Inf(-1)
	case 3:
		return math.NaN()
	case 4:
		return math.SmallestNonzeroFloat64
	case 5:
		return math.MaxFloat64
	}
	return float64(int64(v>>20%2000000)-1000000) / 1024
}

func appendGeoText(dst []byte, v uint64) []byte {
	dst = append(dst, `{"type":"Point","coordinates":[`...)
	dst = strconv.AppendFloat(dst, float64(int64(v>>8%360000)-180000)/1000, 'f', -1, 64)
	dst = append(dst, ',')
	dst = strconv.AppendFloat(dst, float64(int64(v>>30%180000)-90000)/1000, 'f', -1, 64)
	return append(dst, "]}"...)
}

// appendList appends a list value: an ordered list of rising integers, or
// an unordered list of mixed elements with nested containers (depth < 2).
func (g *generator) appendList(dst []byte, v uint64, depth int, ordered bool) []byte {
	n := 3 + int(v>>3%4)
	if ordered {
		dst = wire.AppendCDTList(dst, n+1)
		dst = wire.AppendCDTListOrder(dst, 1)
		x := int64(v>>16%1000) - 500
		for i := 0; i < n; i++ {
			dst = wire.AppendCDTInt(dst, x)
			x += int64(v>>(i*4)&15) + 1
		}
		return dst
	}
	dst = wire.AppendCDTList(dst, n)
	for i := 0; i < n; i++ {
		dst = g.appendElem(dst, mix(v+uint64(i)), depth)
	}
	return dst
}

// appendMap appends a map value; flags 0 = unordered (mixed key types),
// 1 = key-ordered, 3 = key-value-ordered (string keys in order).
func (g *generator) appendMap(dst []byte, v uint64, depth int, flags uint8) []byte {
	n := 2 + int(v>>5%4)
	if flags != 0 {
		dst = wire.AppendCDTMap(dst, n+1)
		dst = wire.AppendCDTMapOrder(dst, flags)
		for i := 0; i < n; i++ {
			dst = wire.AppendCDTTyped(dst, wire.ParticleString, []byte(orderedKeys[i:i+1]))
			dst = g.appendElem(dst, mix(v^uint64(i+1)), depth)
		}
		return dst
	}
	dst = wire.AppendCDTMap(dst, n)
	for i := 0; i < n; i++ {
		kv := mix(v + uint64(i))
		switch kv % 3 {
		case 0: // string key, unique by index
			dst = wire.AppendCDTTyped(dst, wire.ParticleString, []byte(orderedKeys[i:i+1]))
		case 1: // integer key
			dst = wire.AppendCDTInt(dst, int64(i)*1000-int64(kv>>40%1000))
		default: // bytes key
			dst = wire.AppendCDTTyped(dst, wire.ParticleBlob, []byte{byte(i), byte(kv >> 8)})
		}
		dst = g.appendElem(dst, mix(kv), depth)
	}
	return dst
}

const orderedKeys = "abcdefghijklmnop"

// appendElem appends one list element or map value.
func (g *generator) appendElem(dst []byte, v uint64, depth int) []byte {
	kind := v % 13
	if depth >= 2 && kind >= 10 {
		kind = v % 10
	}
	switch kind {
	case 0:
		return wire.AppendCDTInt(dst, intOf(v))
	case 1:
		return wire.AppendCDTTyped(dst, wire.ParticleString, g.textSlice(v>>8, 1+int(v>>40%20)))
	case 2:
		return wire.AppendCDTFloat(dst, floatOf(v>>3))
	case 3:
		return wire.AppendCDTBool(dst, v>>9&1 == 1)
	case 4:
		return wire.AppendCDTNil(dst)
	case 5:
		return wire.AppendCDTTyped(dst, wire.ParticleBlob, g.rndSlice(v>>8, 1+int(v>>40%24)))
	case 6: // GeoJSON text inside a CDT
		var buf [80]byte
		return wire.AppendCDTTyped(dst, wire.ParticleGeoJSON, appendGeoText(buf[:0], v))
	case 7: // an HLL or a language blob inside a CDT
		pt := uint8(wire.ParticleHLL)
		if v>>20&1 == 1 {
			pt = uint8(wire.ParticleJava + v>>21%6)
		}
		return wire.AppendCDTTyped(dst, pt, g.rndSlice(v>>8, 8))
	case 8: // an integer above 2^63-1
		return wire.AppendCDTUint(dst, 1<<63+v>>32)
	case 9:
		return wire.AppendCDTTyped(dst, wire.ParticleString, utf8Text)
	case 10:
		return g.appendList(dst, mix(v), depth+1, false)
	case 11:
		return g.appendList(dst, mix(v), depth+1, true)
	}
	return g.appendMap(dst, mix(v), depth+1, uint8(bits.OnesCount64(v)%2)) // unordered or key-ordered
}

// Frames returns the frames of records 0..n-1 of workload w (defaults
// filled in as Run fills them), as the emulator would first send them, with
// LUTs from nowMs. Benchmarks outside this package use it to measure the
// connector's stages on the records the perf suite sends.
func Frames(w Workload, n int, nowMs int64) ([][]byte, error) {
	if n < 0 {
		return nil, errors.New("xdrsim: a negative number of frames")
	}
	cfg := Config{Target: "frames", Workload: w}
	if err := cfg.normalize(); err != nil {
		return nil, err
	}
	bl := newBuilder(newGenerator(cfg.Workload))
	out := make([][]byte, n)
	for i := range out {
		out[i] = bl.appendItem(nil, &item{seq: uint64(i)}, nowMs)
	}
	return out, nil
}
