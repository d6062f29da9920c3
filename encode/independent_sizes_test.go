package encode_test

import (
	"strconv"
	"testing"

	cc "github.com/xdrhook/xdrhook/encode/crosscheck"
	"github.com/xdrhook/xdrhook/wire"
)

// Size sweeps: every particle type at the top level and inside lists and
// maps, bin names, namespaces, sets and user keys, at every length from 0
// to 300 bytes and at 8 KiB, 64 KiB and 1 MiB, through the four encoders
// alone and through every batch framer, checked by the independent
// decoders. Lengths cross every fast-path limit of the encoders (short
// names and values of 16/31/40 bytes, the 64-byte bin room, one- and
// two-byte varints at 64 and 8192, msgpack fixstr/str8/str16/str32 and
// bin8/16/32, fixarray/array16). -short keeps the boundary lengths and
// leaves out 1 MiB.

func sweepLengths(t *testing.T, max int) []int {
	var ls []int
	if testing.Short() {
		for _, l := range []int{0, 1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 18, 24, 30, 31, 32, 33, 39, 40, 41, 42, 43,
			47, 48, 55, 56, 62, 63, 64, 65, 66, 100, 127, 128, 129, 200, 253, 254, 255, 256, 257, 300} {
			if l <= max {
				ls = append(ls, l)
			}
		}
	} else {
		for l := 0; l <= min(300, max); l++ {
			ls = append(ls, l)
		}
	}
	for _, l := range []int{8191, 8192, 8193, 65535, 65536, 65537, 1 << 20} {
		// -short: 8192 and 65536 still cross the 3-byte varint and str32/bin32
		if l <= max && (!testing.Short() || l == 8192 || l == 65536) {
			ls = append(ls, l)
		}
	}
	return ls
}

func sweepRecord(bins ...cc.Bin) *cc.Record {
	return &cc.Record{Gen: 2, TTL: 100, Namespace: "test", Set: "s", KeyType: wire.ParticleString,
		KeyBytes: []byte("key"), LUTMs: 1734388704784, Bins: bins}
}

// geoOf is a valid JSON text of n bytes (a string literal; a number below
// 2 bytes; empty for 0, which is not JSON and so goes out as a string).
func geoOf(n int) []byte {
	switch n {
	case 0:
		return nil
	case 1:
		return []byte("7")
	}
	b := cc.ASCII(n, 0)
	b[0], b[n-1] = '"', '"'
	return b
}

func checkSweep(t *testing.T, what string, l int, r *cc.Record) {
	t.Helper()
	ok := t.Run(what+"/"+strconv.Itoa(l), func(t *testing.T) {
		checkSingle(t, r)
		if l <= 65536 && !(what == "counts" && l > 8193) && !(testing.Short() && l > 8192) { // 64 Ki elements cost the decoders ~0.1 s a pass
			checkBatch(t, []*cc.Record{r, deleteRecord(), r})
		}
	})
	if !ok {
		t.FailNow()
	}
}

func TestIndependentSizesTopLevel(t *testing.T) {
	for _, l := range sweepLengths(t, 1<<20) {
		seed := l
		checkSweep(t, "values", l, sweepRecord(
			cc.Bin{Name: "str", V: cc.Value{K: cc.Str, B: cc.Text(l, seed)}},
			cc.Bin{Name: "ascii", V: cc.Value{K: cc.Str, B: cc.ASCII(l, seed)}},
			cc.Bin{Name: "raw", V: cc.Value{K: cc.Str, B: cc.Bytes(l, seed)}},
			cc.Bin{Name: "blob", V: cc.Value{K: cc.Blob, B: cc.Bytes(l, seed+1)}},
			cc.Bin{Name: "java", V: cc.Value{K: cc.Typed, T: wire.ParticleJava, B: cc.Bytes(l, seed+2)}},
			cc.Bin{Name: "hll", V: cc.Value{K: cc.Typed, T: wire.ParticleHLL, B: cc.Bytes(l, seed+3)}},
			cc.Bin{Name: "vector", V: cc.Value{K: cc.Typed, T: wire.ParticleVector, B: cc.Bytes(l, seed+4)}},
			cc.Bin{Name: "t200", V: cc.Value{K: cc.Typed, T: 200, B: cc.Bytes(l, seed+5)}},
			cc.Bin{Name: "geo", V: cc.Value{K: cc.Geo, B: geoOf(l)}},
		))
		// One bin alone: the fast paths depend on where in the buffer a
		// value lands, so each type also goes first and last.
		for _, v := range []cc.Value{{K: cc.Str, B: cc.ASCII(l, seed)}, {K: cc.Blob, B: cc.Bytes(l, seed)}} {
			checkSweep(t, "alone-"+strconv.Itoa(int(v.K)), l, sweepRecord(cc.Bin{Name: "v", V: v}))
		}
	}
}

func TestIndependentSizesInCDT(t *testing.T) {
	for _, l := range sweepLengths(t, 1<<20) {
		seed := l
		items := []cc.Value{
			{K: cc.Str, B: cc.Text(l, seed)}, {K: cc.Str, B: cc.ASCII(l, seed)}, {K: cc.Str, B: cc.Bytes(l, seed)},
			{K: cc.Blob, B: cc.Bytes(l, seed+1)}, {K: cc.Typed, T: wire.ParticleJava, B: cc.Bytes(l, seed+2)},
			{K: cc.Geo, B: geoOf(l)}, {K: cc.Ext, T: 9, B: cc.Bytes(l, seed+3)}, {K: cc.Int, I: int64(l)},
		}
		list := cc.Value{K: cc.List, Items: items}
		ordered := cc.Value{K: cc.List, Flags: 1, Items: items}
		m := cc.Value{K: cc.Map, Flags: 1, Entries: []cc.Entry{
			{Key: cc.Value{K: cc.Str, B: cc.ASCII(l, seed)}, Val: cc.Value{K: cc.Str, B: cc.Text(l, seed)}},
			{Key: cc.Value{K: cc.Int, I: -1}, Val: cc.Value{K: cc.Blob, B: cc.Bytes(l, seed)}},
			{Key: cc.Value{K: cc.Blob, B: cc.Bytes(l+1, seed+7)}, Val: cc.Value{K: cc.Typed, T: wire.ParticleHLL, B: cc.Bytes(l, seed)}},
			{Key: cc.Value{K: cc.Int, I: -2}, Val: list},
		}}
		checkSweep(t, "cdt", l, sweepRecord(
			cc.Bin{Name: "list", V: list}, cc.Bin{Name: "ordered", V: ordered}, cc.Bin{Name: "map", V: m},
			cc.Bin{Name: "nested", V: cc.Value{K: cc.List, Items: []cc.Value{m, ordered}}},
		))
		for _, v := range items {
			// (an ext in first position would be taken for order flags)
			one := cc.Value{K: cc.List, Items: []cc.Value{v}}
			if v.K == cc.Ext {
				one.Items = []cc.Value{{K: cc.Nil}, v}
			}
			checkSweep(t, "alone-"+strconv.Itoa(int(v.K)), l, sweepRecord(cc.Bin{Name: "l", V: one}))
		}
	}
}

// Element counts: fixarray/fixmap 15/16, array16 at 65536, Avro block
// counts at 64 and 8192, the fast loops over small ints and short strings.
func TestIndependentSizesCounts(t *testing.T) {
	max := 65537
	if testing.Short() {
		max = 8193 // each of 64 Ki elements costs the decoders ~0.1 s
	}
	for _, n := range sweepLengths(t, max) {
		items := make([]cc.Value, n)
		entries := make([]cc.Entry, n)
		for i := range items {
			if i%3 == 2 {
				items[i] = cc.Value{K: cc.Str, B: cc.ASCII(i%18, i)}
			} else {
				items[i] = cc.Value{K: cc.Int, I: int64(i % 70)}
			}
			entries[i] = cc.Entry{Key: cc.Value{K: cc.Str, B: []byte("k" + strconv.Itoa(i))}, Val: items[i]}
		}
		checkSweep(t, "counts", n, sweepRecord(
			cc.Bin{Name: "list", V: cc.Value{K: cc.List, Items: items}},
			cc.Bin{Name: "map", V: cc.Value{K: cc.Map, Entries: entries}},
		))
	}
}

func TestIndependentSizesNames(t *testing.T) {
	for _, l := range sweepLengths(t, 255) { // a bin name's length is one byte on the wire
		name := string(cc.Text(l, l))
		if name == "metadata" {
			continue
		}
		r := sweepRecord(cc.Bin{Name: name, V: cc.Value{K: cc.Str, B: cc.ASCII(l, 1)}})
		if l > 0 { // distinct names of the same length
			r.Bins = append(r.Bins,
				cc.Bin{Name: "#" + string(cc.ASCII(l-1, 3)), V: cc.Value{K: cc.Int, I: 1}},
				cc.Bin{Name: "$" + string(cc.ASCII(l-1, 4)), V: cc.Value{K: cc.Float, F: 0.5}},
				cc.Bin{Name: "%" + string(cc.Bytes(l-1, 5)), V: cc.Value{K: cc.Blob, B: []byte{1}}})
		}
		checkSweep(t, "bin-name", l, r)
	}
	for _, l := range sweepLengths(t, 31) {
		if l == 0 {
			continue // the namespace field is required and not empty
		}
		r := sweepRecord(cc.Bin{Name: "b", V: cc.Value{K: cc.Int, I: 1}})
		r.Namespace = string(cc.Text(l, l))
		checkSweep(t, "namespace", l, r)
	}
	for _, l := range sweepLengths(t, 63) {
		r := sweepRecord(cc.Bin{Name: "b", V: cc.Value{K: cc.Int, I: 1}})
		r.Set = string(cc.Text(l, l)) // "" = no set
		checkSweep(t, "set", l, r)
	}
	for _, l := range sweepLengths(t, 1<<20) {
		for _, kt := range []uint8{wire.ParticleString, wire.ParticleBlob} {
			r := sweepRecord(cc.Bin{Name: "b", V: cc.Value{K: cc.Int, I: 1}})
			r.KeyType, r.KeyBytes = kt, cc.Text(l, l)
			if kt == wire.ParticleBlob {
				r.KeyBytes = cc.Bytes(l, l)
			}
			checkSweep(t, "user-key-"+strconv.Itoa(int(kt)), l, r)
		}
	}
}
