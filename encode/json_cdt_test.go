package encode

import (
	"bytes"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/xdrhook/xdrhook/wire"
)

// The fast path of json_cdt.go is held to appendCDT, the token walk: on
// every value, well formed or not, it either gives up cleanly or writes
// the same text and the same top token.

// jtCompareCDTFast checks one value; it reports whether the fast path
// rendered it.
func jtCompareCDTFast(t *testing.T, v []byte) bool {
	t.Helper()
	var slow, fast jsonWriter
	var ts, tf wire.CDTToken
	want, errSlow := slow.appendCDT([]byte("x"), v, &ts)
	got, ok := fast.appendCDTFast([]byte("x"), v, &tf)
	if len(fast.keys.keys) != 0 || len(fast.keys.tab) != 0 || fast.keys.renamed != 0 || fast.keys.dropped != 0 {
		t.Fatalf("%x: fast path left %d keys, %d slots, %d renamed, %d dropped", v, len(fast.keys.keys), len(fast.keys.tab), fast.keys.renamed, fast.keys.dropped)
	}
	if !ok {
		if string(got) != "x" {
			t.Fatalf("%x: fast path gave up after writing %q", v, got)
		}
		return false
	}
	if errSlow != nil {
		t.Fatalf("%x: fast path rendered %s, appendCDT failed: %v", v, got, errSlow)
	}
	if slow.keys.renamed != 0 || slow.keys.dropped != 0 {
		t.Fatalf("%x: fast path rendered a value with renamed keys: %s", v, got)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%x:\nfast %s\nslow %s", v, got, want)
	}
	if tf.Kind != ts.Kind || tf.Key != ts.Key || tf.N != ts.N || tf.Flags != ts.Flags {
		t.Fatalf("%x: top token %+v, appendCDT %+v", v, tf, ts)
	}
	return true
}

// jtFastSamples are list and map values for the JSON fast path: the
// transcoder samples of cdt_scan_test.go and map keys of every kind.
func jtFastSamples(t testing.TB) [][]byte {
	out := cdtSamples()
	long := jvStr("a string longer than 31 bytes, with \"quotes\" and \\ and é and \u2028")
	for _, v := range []jv{
		jvList(1, jvStr("red"), jvStr("green"), jvInt(42)),
		jvMap(1, jvStr("lang"), jvStr("en"), jvStr("visits"), jvInt(1234)),
		jvMap(3, jvInt(1), jvStr("one"), jvInt(-2), jvStr("minus two"), jvUint(math.MaxUint64), jvNil()),
		jvMap(-1, jvBlob([]byte{1, 2, 3}), jvInt(1), jvTyped(wire.ParticleHLL, []byte{0xff}), jvInt(2), jv{b: []byte{0xd4, 9, 1}}, jvInt(3)),
		jvMap(-1, jvStr("k"), jvInt(1), jvStr("k"), jvInt(2)), // duplicate
		jvMap(-1, jvInt(1), jvInt(1), jvStr("1"), jvInt(2)),   // duplicate after spelling
		jvMap(-1, jvFloat(1.5), jvInt(1)),
		jvMap(-1, jvBool(true), jvInt(1)),
		jvMap(-1, jvNil(), jvInt(1)),
		jvMap(-1, jvGeo(t, `{"type":"Point"}`), jvInt(1)),
		jvMap(-1, jvList(-1, jvInt(1)), jvInt(1)),
		jvList(-1, jvGeo(t, `{ "type" : "Point", "coordinates": [1.5, 2] }`), jvGeo(t, `{"type"`), jvGeo(t, `{"a":1,"a":2}`)),
		jvList(-1, jvFloat(1234.56), jvFloat(-0.1), jvFloat(math.Copysign(0, -1)), jvFloat(math.NaN()), jvFloat(math.Inf(-1)), jvFloat(1e300), jvFloat32(0.1)),
		jvList(-1, jvBool(false), jvNil(), jvBlob(nil), jvBlob([]byte("blob")), jvTyped(wire.ParticleJava, []byte{1}), jvStr(""), long),
		jvList(0, jvMap(-1, jvStr("x"), jvList(-1, jvMap(-1, jvStr("x"), jvInt(1)))), jvMap(-1, jvStr("x"), jvInt(2))),
		jvMap(-1, jvStr("a\x01b"), jvInt(1), jvStr("invalid \xff utf-8"), jvInt(2), long, long),
	} {
		out = append(out, v.b)
	}
	// A map of more than linearKeys names (table mode).
	var kv []jv
	for i := range 40 {
		kv = append(kv, jvInt(int64(i)), jvStr("v"))
	}
	out = append(out, jvMap(-1, kv...).b, jvMap(-1, append(kv, jvStr("7"), jvInt(0))...).b)
	return out
}

func TestJSONCDTFast(t *testing.T) {
	rendered := 0
	samples := jtFastSamples(t)
	for _, v := range samples {
		if jtCompareCDTFast(t, v) {
			rendered++
		}
	}
	t.Logf("fast path rendered %d of %d samples", rendered, len(samples))
	// Most well-formed samples must take the fast path, or the test says
	// little.
	if rendered < len(samples)/3 {
		t.Errorf("fast path rendered %d of %d samples", rendered, len(samples))
	}
	typical := jvMap(1, jvStr("lang"), jvStr("en"), jvStr("visits"), jvInt(1234))
	if !jtCompareCDTFast(t, typical.b) {
		t.Error("the typical map does not take the fast path")
	}
}

// TestJSONCDTFastRandom mutates the samples: every prefix, and random
// byte changes.
func TestJSONCDTFastRandom(t *testing.T) {
	mutateSamples(t, jtFastSamples(t), 300, 20000, 5, func(v []byte) { jtCompareCDTFast(t, v) })
}

func FuzzJSONCDTFast(f *testing.F) {
	for _, v := range jtFastSamples(f) {
		if len(v) < 1024 {
			f.Add(v)
		}
	}
	f.Fuzz(func(t *testing.T, v []byte) {
		jtCompareCDTFast(t, v)
	})
}

// TestJSONTypeMember: the spelled-out members are those of jsonTypeNames.
func TestJSONTypeMember(t *testing.T) {
	for pt := 0; pt < 256; pt++ {
		want := `,"type":"type-` + strconv.Itoa(pt) + `","value":`
		if pt < len(jsonTypeNames) && jsonTypeNames[pt] != "" {
			want = `,"type":"` + jsonTypeNames[pt] + `","value":`
		}
		if got := string(jsonAppendTypeMember([]byte("x"), uint8(pt))); got != "x"+want {
			t.Errorf("type %d: %s, want %s", pt, got, want)
		}
	}
}

// TestJSONBinHead: the in-place bin head writes what the appends write, for
// every type, names of every length from 0 to 20 (safe, needing an escape,
// non-ASCII) and with and without room in dst.
func TestJSONBinHead(t *testing.T) {
	names := []string{""}
	for n := 1; n <= 20; n++ {
		names = append(names, "abcdefghijklmnopqrst"[:n])
		names = append(names, strings.Repeat("x", n-1)+`"`, `\`+strings.Repeat("y", n-1), "é"+strings.Repeat("z", n))
	}
	for pt := 0; pt < 256; pt++ {
		for _, name := range names {
			want := string(jsonAppendTypeMember(appendJSONString([]byte(`,{"name":`), []byte(name)), uint8(pt)))
			for _, room := range []int{0, 8, 57, 200} {
				dst := append(make([]byte, 0, 2+room), ',')
				if got := string(jsonAppendBinHead(dst, []byte(name), uint8(pt))); got != want {
					t.Fatalf("type %d, name %q, room %d: %s, want %s", pt, name, room, got, want)
				}
			}
		}
	}
}
