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
