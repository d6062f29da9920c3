package encode

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"unicode/utf8"
)

// FuzzJSONGeoJSON: an embedded text is always valid JSON; a text that
// encoding/json accepts (and is valid UTF-8, not too deep, without
// duplicate names) is embedded with the same meaning.
func FuzzJSONGeoJSON(f *testing.F) {
	for _, s := range []string{`{"type":"Point","coordinates":[1.5,-2e3]}`, `[1,{"a":"\u00e9\ud83c\udf89"}]`, `"x"`, `{"a":1,"a":2}`, " {\n\"a\" :\t[ ] } ", `{"a":"\u2028"}`} {
		f.Add([]byte(s))
	}
	w := new(jsonWriter)
	f.Fuzz(func(t *testing.T, text []byte) {
		out, embedded := w.keys.appendCompact(nil, text)
		if !embedded {
			if len(out) != 0 || len(w.keys.keys) != 0 || len(w.keys.tab) != 0 {
				t.Fatalf("rejected text left %q, %d keys, %d slots", out, len(w.keys.keys), len(w.keys.tab))
			}
			out = w.appendGeoJSON(nil, text)
			jtCheckJSON(t, out)
			var s string
			if err := json.Unmarshal(out, &s); err != nil {
				t.Fatalf("rejected text not written as a string: %s", out)
			}
			if json.Valid(text) && utf8.Valid(text) && jtNoDuplicateNames(text) == nil && jtDepth(text) <= maxEmbedDepth {
				t.Fatalf("valid text rejected: %q", text)
			}
			return
		}
		jtCheckJSON(t, out)
		if bytes.ContainsAny(out, "\t\r\n") {
			t.Fatalf("not compact: %q", out)
		}
		if !json.Valid(text) {
			t.Fatalf("embedded a text encoding/json rejects: %q", text)
		}
		if a, b := jtParse(t, text), jtParse(t, out); !reflect.DeepEqual(a, b) {
			t.Fatalf("meaning changed: %q → %s", text, out)
		}
	})
}

// jtDepth is the nesting depth of a JSON text (brackets outside strings).
func jtDepth(b []byte) int {
	depth, max, inStr := 0, 0, false
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case inStr && c == '\\':
			i++
		case c == '"':
			inStr = !inStr
		case inStr:
		case c == '[' || c == '{':
			depth++
			if depth > max {
				max = depth
			}
		case c == ']' || c == '}':
			depth--
		}
	}
	return max
}

// compactGeneral is appendCompact without the point fast path.
func compactGeneral(k *keyTable, s []byte) ([]byte, bool) {
	d, i, ok := k.compactValue(nil, s, skipWS(s, 0), 0)
	k.reset()
	if !ok || skipWS(s, i) != len(s) {
		return nil, false
	}
	return d, true
}

// TestCompactPoint: isCompactPoint accepts exactly the texts of its form
// that the general parser copies unchanged, and rejects near misses.
func TestCompactPoint(t *testing.T) {
	for _, c := range []struct {
		text string
		fast bool
	}{
		{`{"type":"Point","coordinates":[1,2]}`, true},
		{`{"type":"Point","coordinates":[-122.419,37.7749]}`, true},
		{`{"type":"Point","coordinates":[-0.5e-3,1E+9,20]}`, true},
		{`{"type":"Point","coordinates":[0,0.0]}`, true},
		{`{"type":"Point","coordinates":[1]}`, false},
		{`{"type":"Point","coordinates":[1,2,3,4]}`, false},
		{`{"type":"Point","coordinates":[01,2]}`, false},
		{`{"type":"Point","coordinates":[1.,2]}`, false},
		{`{"type":"Point","coordinates":[1,2e]}`, false},
		{`{"type":"Point","coordinates":[1,-]}`, false},
		{`{"type":"Point","coordinates":[1,,2]}`, false},
		{`{"type":"Point","coordinates":[1,2],}`, false},
		{`{"type":"Point","coordinates":[1,2] }`, false},
		{`{"type":"Point","coordinates":[ 1,2]}`, false},
		{`{"type":"Point","coordinates":[1,2]}}`, false},
		{`{"type":"Point","coordinates":[+1,2]}`, false},
		{`{"type":"Point","coordinates":[1,2]`, false},
		{`{"type":"Point","coordinates":[]}`, false},
	} {
		s := []byte(c.text)
		if got := isCompactPoint(s); got != c.fast {
			t.Errorf("isCompactPoint(%s) = %v, want %v", s, got, c.fast)
		}
		var k keyTable
		out, ok := k.appendCompact(nil, s)
		want, wantOK := compactGeneral(&k, s)
		if ok != wantOK || !bytes.Equal(out, want) {
			t.Errorf("%s: appendCompact %q %v, general parser %q %v", s, out, ok, want, wantOK)
		}
		if c.fast && (!wantOK || !bytes.Equal(want, s)) {
			t.Errorf("%s: the general parser does not copy it unchanged: %q", s, want)
		}
	}
}

// FuzzCompactPoint: after the point's head, any tail gives appendCompact
// the general parser's result.
func FuzzCompactPoint(f *testing.F) {
	for _, s := range []string{`1,2]}`, `-1.5e3,2,3]}`, `1,2]} `, `1]}`, `1,2,3,4]}`} {
		f.Add([]byte(s))
	}
	var k keyTable
	f.Fuzz(func(t *testing.T, tail []byte) {
		s := append([]byte(geoPointHead), tail...)
		out, ok := k.appendCompact(nil, s)
		k.reset()
		want, wantOK := compactGeneral(&k, s)
		if ok != wantOK || !bytes.Equal(out, want) {
			t.Fatalf("%q: appendCompact %q %v, general parser %q %v", s, out, ok, want, wantOK)
		}
	})
}
