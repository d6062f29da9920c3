package encode

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xdrhook/xdrhook/wire"
)

var jtUpdate = flag.Bool("update-json-golden", false, "rewrite encode/testdata/json/*.golden")

// jtBody builds one body of f from msgs.
func jtBody(t testing.TB, f Framer, msgs ...*wire.Message) []byte {
	t.Helper()
	b := f.Begin([]byte("prefix"))
	for _, m := range msgs {
		var err error
		if b, err = f.Append(b, m, jtNow); err != nil {
			t.Fatal(err)
		}
	}
	b = f.End(b)
	if !bytes.HasPrefix(b, []byte("prefix")) {
		t.Fatalf("prefix lost: %q", b)
	}
	return b[len("prefix"):]
}

// jtGolden compares got with testdata/json/name (or rewrites it).
func jtGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "json", name)
	if *jtUpdate {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s:\ngot\n%s\nwant\n%s", name, got, want)
	}
}

// jtLines checks that every line of an ndjson-like body is one JSON text
// (the body ends with a newline when final is set).
func jtLines(t *testing.T, b []byte, final bool) [][]byte {
	t.Helper()
	if final != bytes.HasSuffix(b, []byte("\n")) {
		t.Errorf("final newline: %q", b)
	}
	lines := bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n"))
	for _, l := range lines {
		jtCheckJSON(t, l)
	}
	return lines
}

func TestJSONFramingsGolden(t *testing.T) {
	w := jtCaptured(t, "write-3bins-key10.hex")
	d := jtCaptured(t, "delete-key10.hex")
	for _, tc := range []struct {
		golden string
		f      Framer
		ct     string
	}{
		{"ndjson-json.golden", &NDJSON{Enc: new(JSON)}, "application/x-ndjson"},
		{"ndjson-flat-json.golden", &NDJSON{Enc: new(FlatJSON)}, "application/x-ndjson"},
		{"json-array-json.golden", &JSONArray{Enc: new(JSON)}, "application/json"},
		{"json-array-flat-json.golden", &JSONArray{Enc: new(FlatJSON)}, "application/json"},
		{"es-bulk.golden", new(ESBulk), "application/x-ndjson"},
		{"es-bulk-omit-deletes.golden", &ESBulk{OmitDeletes: true}, "application/x-ndjson"},
		{"splunk-hec.golden", new(SplunkHEC), "application/json"},
		{"splunk-hec-options.golden", &SplunkHEC{Source: "xdr", SourceType: "_json", Index: "main"}, "application/json"},
	} {
		body := jtBody(t, tc.f, w, d, w)
		jtGolden(t, tc.golden, body)
		if ct := tc.f.ContentType(); ct != tc.ct {
			t.Errorf("%s: content type %q", tc.golden, ct)
		}
		// A second body from the same framer is built afresh.
		if again := jtBody(t, tc.f, w, d, w); !bytes.Equal(again, body) {
			t.Errorf("%s: second body differs:\n%s", tc.golden, again)
		}
	}
}

// TestJSONFramings checks the framings against the single messages (the
// goldens of TestJSONCaptured), so the goldens above are checked too.
func TestJSONFramings(t *testing.T) {
	w := jtCaptured(t, "write-3bins-key10.hex")
	d := jtCaptured(t, "delete-key10.hex")

	body := jtBody(t, &NDJSON{Enc: new(JSON)}, w, d)
	if want := jtCapturedWriteJSON + "\n" + jtCapturedDeleteJSON + "\n"; string(body) != want {
		t.Errorf("ndjson:\n%s", body)
	}
	jtLines(t, body, true)

	body = jtBody(t, &JSONArray{Enc: new(FlatJSON)}, w, d)
	if want := "[" + jtCapturedWriteFlat + "," + jtCapturedDeleteFlat + "]"; string(body) != want {
		t.Errorf("json-array:\n%s", body)
	}
	jtCheckJSON(t, body)
	if body := jtBody(t, &JSONArray{Enc: new(JSON)}); string(body) != "[]" {
		t.Errorf("empty json-array: %q", body)
	}
	if body := jtBody(t, &JSONArray{Enc: new(JSON)}, d); string(body) != "["+jtCapturedDeleteJSON+"]" {
		t.Errorf("json-array of one: %q", body)
	}

	body = jtBody(t, new(ESBulk), w, d)
	want := `{"index":{"_index":"myset","_id":"5fe3b7c0f4669a77c8456c1bf4f1f68c55ac1002"}}` + "\n" + jtCapturedWriteFlat + "\n" +
		`{"delete":{"_index":"myset","_id":"5fe3b7c0f4669a77c8456c1bf4f1f68c55ac1002"}}` + "\n"
	if string(body) != want {
		t.Errorf("es-bulk:\n%s\nwant\n%s", body, want)
	}
	jtLines(t, body, true)

	body = jtBody(t, new(SplunkHEC), w, d)
	want = `{"time":1734388704.784,"event":` + jtCapturedWriteFlat + "}\n" + `{"time":1734388731.220,"event":` + jtCapturedDeleteFlat + "}"
	if string(body) != want {
		t.Errorf("splunk-hec:\n%s\nwant\n%s", body, want)
	}
	jtLines(t, body, false)
	body = jtBody(t, &SplunkHEC{Source: "a\"b", Index: "main"}, d)
	want = `{"time":1734388731.220,"event":` + jtCapturedDeleteFlat + `,"source":"a\"b","index":"main"}`
	if string(body) != want {
		t.Errorf("splunk-hec options:\n%s\nwant\n%s", body, want)
	}
}

func TestESBulkIndex(t *testing.T) {
	r := jtRecord(wire.BinSpec{Name: "s", Type: wire.ParticleString, Value: []byte("v")})
	withSet := jtMessage(t, r)
	r.Set = ""
	noSet := jtMessage(t, r)
	r.Set, r.Namespace = "Se\"t", "ns\\x"
	odd := jtMessage(t, r)
	for _, tc := range []struct {
		tpl  string
		m    *wire.Message
		want string
	}{
		{"", withSet, "myset"},
		{"", noSet, "test"},
		{"{set}", noSet, "test"},
		{"{namespace}", withSet, "test"},
		{"xdr-{namespace}-{set}-v1", withSet, "xdr-test-myset-v1"},
		{"xdr-{namespace}-{set}", noSet, "xdr-test-test"},
		{"{set}{set}", withSet, "mysetmyset"},
		{"{unknown}-{se}{", withSet, "{unknown}-{se}{"},
		{"fixed", withSet, "fixed"},
		{"{namespace}.{set}", odd, `ns\\x.Se\"t`},
	} {
		body := string(jtBody(t, &ESBulk{Index: tc.tpl}, tc.m))
		want := `{"index":{"_index":"` + tc.want + `","_id":"5fe3b7c0f4669a77c8456c1bf4f1f68c55ac1002"}}` + "\n"
		if !strings.HasPrefix(body, want) {
			t.Errorf("template %q: got %s\nwant %s", tc.tpl, body, want)
		}
		jtLines(t, []byte(body), true)
	}
	// A partial write with a deleted bin is indexed with its metadata
	// (write-operation index), or merged into the document (auto).
	r = jtRecord(wire.BinSpec{Name: "gone", Type: wire.ParticleNull})
	r.Partial = true
	const doc = `"_xdr":{"namespace":"test","set":"myset","userKey":10,"digest":"X+O3wPRmmnfIRWwb9PH2jFWsEAI=","msg":"write","gen":1,"lut":1734388704784,"exp":0,"partial":true},"gone":null}`
	body := string(jtBody(t, &ESBulk{WriteOp: ESWriteIndex, Doc: FlatJSON{MetadataKey: "_xdr"}}, jtMessage(t, r)))
	if want := doc + "\n"; !strings.HasSuffix(body, want) || !strings.HasPrefix(body, `{"index":`) {
		t.Errorf("partial: %s", body)
	}
	body = string(jtBody(t, &ESBulk{Doc: FlatJSON{MetadataKey: "_xdr"}}, jtMessage(t, r)))
	if want := doc + `,"doc_as_upsert":true}` + "\n"; !strings.HasSuffix(body, want) || !strings.HasPrefix(body, `{"update":`) {
		t.Errorf("partial, auto: %s", body)
	}
}

func TestSplunkHECTime(t *testing.T) {
	for _, tc := range []struct {
		ms   int64
		want string
	}{
		{1734388704784, `"time":1734388704.784,`},
		{1734388704000, `"time":1734388704.000,`},
		{1734388704005, `"time":1734388704.005,`},
		{1734388704050, `"time":1734388704.050,`},
	} {
		r := jtRecord()
		r.LUT = wire.MakeLUT(3, tc.ms)
		body := string(jtBody(t, new(SplunkHEC), jtMessage(t, r)))
		if !strings.HasPrefix(body, "{"+tc.want+`"event":{"metadata":`) {
			t.Errorf("%d: %s", tc.ms, body)
		}
		jtCheckJSON(t, []byte(body))
	}
	r := jtRecord()
	r.NoLUT = true
	if body := string(jtBody(t, new(SplunkHEC), jtMessage(t, r))); !strings.HasPrefix(body, `{"event":{"metadata":`) {
		t.Errorf("no LUT: %s", body)
	}
}

// TestJSONFramingErrors: a message that fails leaves the body as it was, and
// the body stays valid.
func TestJSONFramingErrors(t *testing.T) {
	w := jtCaptured(t, "write-3bins-key10.hex")
	bad := jtMessage(t, jtRecord(wire.BinSpec{Name: "l", Type: wire.ParticleList, Value: []byte{0x92, 1}}))
	for _, f := range []Framer{
		&NDJSON{Enc: new(JSON)},
		&JSONArray{Enc: new(JSON)},
		&JSONArray{Enc: new(FlatJSON)},
		new(ESBulk),
		new(SplunkHEC),
	} {
		b := f.Begin(nil)
		var err error
		for _, m := range []*wire.Message{bad, w, bad, w, bad} {
			before := len(b)
			nb, e := f.Append(b, m, jtNow)
			if m == bad {
				if e == nil || len(nb) != before {
					t.Errorf("%T: bad message: err %v, %d bytes appended", f, e, len(nb)-before)
				}
				continue
			}
			if b, err = nb, e; err != nil {
				t.Fatal(err)
			}
		}
		b = f.End(b)
		switch f.(type) {
		case *JSONArray:
			jtCheckJSON(t, b)
			if n := len(jtParse(t, b).([]any)); n != 2 {
				t.Errorf("%T: %d messages", f, n)
			}
		case *SplunkHEC:
			if n := len(jtLines(t, b, false)); n != 2 {
				t.Errorf("%T: %d lines", f, n)
			}
		case *ESBulk:
			if n := len(jtLines(t, b, true)); n != 4 {
				t.Errorf("%T: %d lines", f, n)
			}
		default:
			if n := len(jtLines(t, b, true)); n != 2 {
				t.Errorf("%T: %d lines", f, n)
			}
		}
	}
}

func TestAppendIdempotencyKey(t *testing.T) {
	w := jtCaptured(t, "write-3bins-key10.hex")
	if got := string(AppendIdempotencyKey([]byte("k="), w)); got != "k=5fe3b7c0f4669a77c8456c1bf4f1f68c55ac1002-1734388704784-1" {
		t.Errorf("got %s", got)
	}
	d := jtCaptured(t, "delete-key10.hex")
	if got := string(AppendIdempotencyKey(nil, d)); got != "5fe3b7c0f4669a77c8456c1bf4f1f68c55ac1002-1734388731220-2" {
		t.Errorf("got %s", got)
	}
}

// TestJSONGeoJSONNewlines: a GeoJSON text with newlines keeps line-based
// framings one line per message.
func TestJSONGeoJSONNewlines(t *testing.T) {
	r := jtRecord(
		wire.BinSpec{Name: "g", Type: wire.ParticleGeoJSON, Value: wire.GeoJSONValue("{\n\"type\": \"Point\",\n\"coordinates\": [1, 2]\n}\n")},
		wire.BinSpec{Name: "bad", Type: wire.ParticleGeoJSON, Value: wire.GeoJSONValue("{\n\"type\"\n")},
	)
	m := jtMessage(t, r)
	for _, f := range []Framer{&NDJSON{Enc: new(JSON)}, &NDJSON{Enc: new(FlatJSON)}, new(ESBulk), new(SplunkHEC)} {
		body := jtBody(t, f, m, m)
		lines := bytes.Count(body, []byte("\n"))
		want := 2
		switch f.(type) {
		case *ESBulk:
			want = 4
		case *SplunkHEC:
			want = 1
		}
		if lines != want {
			t.Errorf("%T: %d newlines in\n%s", f, lines, body)
		}
		if !bytes.Contains(body, []byte(`{"type":"Point","coordinates":[1,2]}`)) || !bytes.Contains(body, []byte(`"{\n\"type\"\n"`)) {
			t.Errorf("%T: %s", f, body)
		}
	}
}
