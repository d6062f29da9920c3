package fuzz

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xdrhook/xdrhook/pool"
	"github.com/xdrhook/xdrhook/wire"
)

// fuzzMaxBody is the frame bound under fuzzing: small, so that the bound is
// exercised and an input can never make the decoder hold much memory.
const fuzzMaxBody = 1 << 20

// conn plays one connection's inbound side: bytes arrive in chunks, every
// complete frame is handled, the first error closes the connection. It
// returns a transcript of what happened, to compare whole and split feeds.
type conn struct {
	buf    []byte
	inf    wire.Inflater
	out    *pool.Buf
	msg    wire.Message
	cdt    wire.CDTReader
	log    strings.Builder
	closed bool
}

func (c *conn) feed(t *testing.T, chunk []byte) {
	if c.closed {
		return
	}
	c.buf = append(c.buf, chunk...)
	for {
		frame, typ, err := wire.Split(c.buf, fuzzMaxBody)
		if err != nil {
			fmt.Fprintf(&c.log, "close: %v\n", err)
			c.closed = true
			return
		}
		if frame == nil {
			return
		}
		c.handle(t, frame, typ)
		c.buf = c.buf[len(frame):]
	}
}

func (c *conn) handle(t *testing.T, frame []byte, typ byte) {
	switch typ {
	case wire.TypeInfo:
		c.log.WriteString("info\n")
		return
	case wire.TypeCompressed:
		inner, err := c.inf.Inflate(frame, fuzzMaxBody, c.out)
		if cap(c.out.B) > 2*(fuzzMaxBody+wire.HeaderSize) {
			t.Fatalf("inflate buffer grew to %d bytes, bound %d", cap(c.out.B), fuzzMaxBody)
		}
		if err != nil {
			fmt.Fprintf(&c.log, "rc4: %v\n", err)
			return
		}
		frame = inner
	}
	if err := c.msg.Decode(frame[wire.HeaderSize:]); err != nil {
		fmt.Fprintf(&c.log, "rc4: %v\n", err)
		return
	}
	m := &c.msg
	if len(m.Bins) > len(frame)/8 {
		t.Fatalf("%d bins from a %d-byte frame", len(m.Bins), len(frame))
	}
	fmt.Fprintf(&c.log, "%v ns=%q set=%q key=%d digest=%x lut=%d bins=%d\n",
		m.Kind, m.Namespace, m.Set, m.Key.Type, m.Digest, m.LUTUnixMs(), len(m.Bins))
	for i := range m.Bins {
		b := &m.Bins[i]
		switch b.Type {
		case wire.ParticleList, wire.ParticleMap:
			walk(t, &c.cdt, b.Value)
		case wire.ParticleGeoJSON:
			wire.GeoJSONText(b.Value)
		}
	}
}

// walk walks a CDT value and checks the walker's own invariants.
func walk(t *testing.T, r *wire.CDTReader, v []byte) error {
	r.Reset(v)
	var tok wire.CDTToken
	for n := 0; ; n++ {
		err := r.Next(&tok)
		if err == wire.ErrCDTEnd {
			return nil
		}
		if err != nil {
			return err
		}
		if n > len(v)*2+2 {
			t.Fatalf("%d tokens from %d bytes", n, len(v))
		}
		if r.Depth() > wire.MaxCDTDepth {
			t.Fatalf("depth %d", r.Depth())
		}
		if tok.N > len(v) {
			t.Fatalf("container of %d from %d bytes", tok.N, len(v))
		}
	}
}

func run(t *testing.T, chunks ...[]byte) string {
	c := &conn{out: pool.Get(0)}
	defer pool.Put(c.out)
	for _, ch := range chunks {
		c.feed(t, ch)
	}
	return c.log.String()
}

// FuzzFrames feeds a connection's byte stream whole and split in two at
// every place the input chooses: both must give the same transcript.
func FuzzFrames(f *testing.F) {
	for _, s := range seedFrames(f) {
		f.Add(s, uint16(len(s)/2))
	}
	f.Fuzz(func(t *testing.T, data []byte, cut uint16) {
		whole := run(t, data)
		k := int(cut) % (len(data) + 1)
		if split := run(t, data[:k], data[k:]); split != whole {
			t.Fatalf("split at %d:\n%s\nwhole:\n%s", k, split, whole)
		}
	})
}

// FuzzCDT walks arbitrary list/map values.
func FuzzCDT(f *testing.F) {
	for _, h := range []string{
		"82a2036101a2036202", "9501a20361cb4004000000000000c3c0", "94c70001010203",
		"82c70001c0a2036101", "83c70003c0019290c70001a2037802a104",
		"dd7fffffff01", "df000000020101", "91919191919191919101",
	} {
		b, _ := hex.DecodeString(h)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, v []byte) {
		var r wire.CDTReader
		walk(t, &r, v)
	})
}

// FuzzInflate inflates arbitrary type-4 frames under a small bound.
func FuzzInflate(f *testing.F) {
	for _, s := range seedFrames(f) {
		f.Add(wire.AppendCompressed(nil, s, 6))
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		var inf wire.Inflater
		out := pool.Get(0)
		defer pool.Put(out)
		const bound = 64 << 10
		inner, err := inf.Inflate(frame, bound, out)
		if cap(out.B) > 2*(bound+wire.HeaderSize) {
			t.Fatalf("inflate buffer grew to %d bytes", cap(out.B))
		}
		if err == nil {
			if _, typ, err := wire.Split(inner, bound); err != nil || typ != wire.TypeMsg {
				t.Fatalf("inflated frame of type %d: %v", typ, err)
			}
		}
	})
}

// seedFrames are the captured frames plus frames of every shape the
// encoder makes: they start the fuzzers from real traffic.
func seedFrames(tb testing.TB) [][]byte {
	var seeds [][]byte
	files, _ := filepath.Glob("../testdata/xdr-frames/*.hex")
	var stream []byte
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		fr, err := hex.DecodeString(strings.TrimSpace(string(b)))
		if err != nil {
			tb.Fatal(err)
		}
		seeds = append(seeds, fr)
		stream = append(stream, fr...)
	}
	if len(seeds) == 0 {
		tb.Fatal("no captured frames in ../testdata/xdr-frames")
	}
	var d wire.Digester
	list := wire.AppendCDTList(nil, 3)
	list = wire.AppendCDTListOrder(list, 1)
	list = wire.AppendCDTInt(list, -5)
	list = wire.AppendCDTTyped(list, wire.ParticleGeoJSON, []byte(`{"type":"Point","coordinates":[0,0]}`))
	for _, r := range []wire.Record{
		{Kind: wire.KindDelete, Durable: true, Namespace: "ns", Generation: 9},
		{Kind: wire.KindWrite, Namespace: "ns", Set: "s", KeyType: wire.ParticleString, Key: []byte("k"), TTL: 60},
		{Kind: wire.KindWrite, Partial: true, Namespace: "ns", Bins: []wire.BinSpec{
			{Name: "gone", Type: wire.ParticleNull},
			{Name: "l", Type: wire.ParticleList, Value: list, HasLUT: true, LUT: 5},
			{Name: "g", Type: wire.ParticleGeoJSON, Value: wire.GeoJSONValue(`{"type":"Point","coordinates":[1,2]}`, 7)},
			{Name: "f", Type: wire.ParticleFloat, Value: wire.FloatValue(1.5)},
		}},
	} {
		r.SetDigest(&d)
		fr := wire.AppendFrame(nil, &r)
		seeds = append(seeds, fr, wire.AppendCompressed(nil, fr, 1))
		stream = append(stream, fr...)
	}
	return append(seeds, stream, append(bytes.Clone(stream), 2, 1, 0, 0, 0, 0, 0, 0))
}

// TestSeedTranscripts pins what the seed stream decodes to, so that the
// fuzz harness itself is known to see frames (a harness that closes every
// connection at once would fuzz nothing).
func TestSeedTranscripts(t *testing.T) {
	seeds := seedFrames(t)
	got := run(t, seeds[len(seeds)-1])
	want := []string{
		"delete ns=\"test\" set=\"myset\" key=1 digest=5fe3b7c0f4669a77c8456c1bf4f1f68c55ac1002 lut=1734388731220 bins=0",
		"write ns=\"test\" set=\"myset\" key=1 digest=5fe3b7c0f4669a77c8456c1bf4f1f68c55ac1002 lut=1734388704784 bins=3",
		"delete ns=\"ns\" set=\"\" key=0",
		"write ns=\"ns\" set=\"s\" key=3",
		"write ns=\"ns\" set=\"\" key=0",
		"info",
	}
	lines := strings.Split(strings.TrimSpace(got), "\n")
	if len(lines) != len(want) {
		t.Fatalf("transcript:\n%s", got)
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("line %d: %s, want prefix %s", i, lines[i], w)
		}
	}
}
