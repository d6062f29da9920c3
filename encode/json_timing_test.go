package encode

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/xdrhook/xdrhook/wire"
)

// Benchmarks of the JSON formats on the typical record (10 bins, ~300 B of
// frame). SetBytes is the frame size, so MB/s is input consumed; B/msg is
// the size of the output.

func jtBenchEncoder(b *testing.B, enc Encoder) {
	f := wire.AppendFrame(nil, jtTypicalRecord())
	m := jtDecode(b, f)
	buf, err := enc.Append(nil, m, jtNow)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(f)))
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = enc.Append(buf[:0], m, jtNow)
	}
	b.ReportMetric(float64(len(buf)), "B/msg")
}

func BenchmarkJSON(b *testing.B) { jtBenchEncoder(b, new(JSON)) }

func BenchmarkFlatJSON(b *testing.B) { jtBenchEncoder(b, new(FlatJSON)) }

// jtTypicalMap is the typical record as a naive connector holds it: a
// map[string]any shaped like flat-json.
func jtTypicalMap(m *wire.Message, now int64) map[string]any {
	md := map[string]any{
		"namespace": string(m.Namespace),
		"set":       string(m.Set),
		"userKey":   m.Key.Int,
		"digest":    base64.StdEncoding.EncodeToString(m.Digest),
		"msg":       "write",
		"gen":       m.Generation,
		"lut":       m.LUTUnixMs(),
		"exp":       m.Expiry(now),
	}
	out := map[string]any{"metadata": md}
	var r wire.CDTReader
	for _, b := range m.Bins {
		var v any
		switch b.Type {
		case wire.ParticleInteger:
			v, _ = wire.Int(b.Value)
		case wire.ParticleFloat:
			v, _ = wire.Float(b.Value)
		case wire.ParticleString:
			v = string(b.Value)
		case wire.ParticleBool:
			v, _ = wire.Bool(b.Value)
		case wire.ParticleBlob:
			v = b.Value // []byte: base64 by encoding/json
		case wire.ParticleList, wire.ParticleMap:
			r.Reset(b.Value)
			v = jtCDTAny(&r)
		}
		out[string(b.Name)] = v
	}
	return out
}

// jtCDTAny builds Go values from a list or map (strings, ints and nested
// containers are all the typical record holds).
func jtCDTAny(r *wire.CDTReader) any {
	var t wire.CDTToken
	if err := r.Next(&t); err != nil {
		return nil
	}
	var build func(t *wire.CDTToken) any
	build = func(t *wire.CDTToken) any {
		switch t.Kind {
		case wire.CDTInt:
			return t.Int
		case wire.CDTString:
			return string(t.Bytes)
		case wire.CDTList:
			l := make([]any, 0, t.N)
			for i := 0; i < t.N; i++ {
				var c wire.CDTToken
				r.Next(&c)
				l = append(l, build(&c))
			}
			r.Next(new(wire.CDTToken))
			return l
		case wire.CDTMap:
			mp := make(map[string]any, t.N)
			for i := 0; i < t.N; i++ {
				var k, v wire.CDTToken
				r.Next(&k)
				r.Next(&v)
				mp[string(k.Bytes)] = build(&v)
			}
			r.Next(new(wire.CDTToken))
			return mp
		}
		return nil
	}
	return build(&t)
}

// BenchmarkEncodingJSONMap marshals the typical record, already held as a
// map[string]any, with encoding/json: the baseline of the ratio to report.
func BenchmarkEncodingJSONMap(b *testing.B) {
	f := wire.AppendFrame(nil, jtTypicalRecord())
	m := jtDecode(b, f)
	v := jtTypicalMap(m, jtNow)
	out, _ := json.Marshal(v)
	b.SetBytes(int64(len(f)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(v); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(out)), "B/msg")
}

// BenchmarkEncodingJSONMapBuild also builds the map from the message per
// record, as a naive connector does.
func BenchmarkEncodingJSONMapBuild(b *testing.B) {
	f := wire.AppendFrame(nil, jtTypicalRecord())
	m := jtDecode(b, f)
	b.SetBytes(int64(len(f)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(jtTypicalMap(m, jtNow)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkJSONFramings: one body of 500 typical records per framing; the
// figure is per record.
func BenchmarkJSONFramings(b *testing.B) {
	f := wire.AppendFrame(nil, jtTypicalRecord())
	m := jtDecode(b, f)
	for _, tc := range []struct {
		name string
		f    Framer
	}{
		{"ndjson", &NDJSON{Enc: new(JSON)}},
		{"json-array", &JSONArray{Enc: new(JSON)}},
		{"es-bulk", new(ESBulk)},
		{"splunk-hec", new(SplunkHEC)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			const n = 500
			buf := make([]byte, 0, 1<<20)
			b.SetBytes(int64(len(f)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i += n {
				buf = tc.f.Begin(buf[:0])
				for j := 0; j < n; j++ {
					buf, _ = tc.f.Append(buf, m, jtNow)
				}
				buf = tc.f.End(buf)
			}
		})
	}
}

// BenchmarkJSONString: the escaping fast path on plain text, and text that
// needs escapes.
func BenchmarkJSONString(b *testing.B) {
	for _, tc := range []struct{ name, s string }{
		{"ascii", "colton.smith@example.com, Mountain View, CA 94043"},
		{"utf8", "Zoë Ångström — 東京都 🎉 naïve café"},
		{"escapes", "line\none\t\"quoted\" \\ back\x01"},
		{"ascii-1KB", strings.Repeat("Mountain View, CA 94043 ", 43)[:1024]},
		{"ascii-64KB", strings.Repeat("Mountain View, CA 94043 ", 2731)[:65536]},
		{"ascii-4KB", strings.Repeat("Mountain View, CA 94043 ", 171)[:4096]},
		{"ascii-4KB-quote-last", strings.Repeat("Mountain View, CA 94043 ", 171)[:4095] + `"`},
	} {
		b.Run(tc.name, func(b *testing.B) {
			s := []byte(tc.s)
			buf := make([]byte, 0, 2*len(s)+16)
			b.SetBytes(int64(len(s)))
			b.ReportAllocs()
			for b.Loop() {
				buf = appendJSONString(buf[:0], s)
			}
		})
	}
}
