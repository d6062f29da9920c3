package shape

import (
	"encoding/binary"
	"strconv"
	"strings"
	"testing"

	"github.com/xdrhook/xdrhook/wire"
)

func intBytes(v int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(v)) }

func testMessage() *wire.Message {
	d := make([]byte, 20)
	for i := range d {
		d[i] = byte(0xf0 + i%16)
	}
	return &wire.Message{
		Kind: wire.KindWrite, Generation: 7, HasLUT: true, LUT: 1000,
		Namespace: []byte("test"), Set: []byte("us ers/1"), HasSet: true,
		Key:    wire.UserKey{Type: wire.ParticleString, Bytes: []byte("a/b?c&d=e#f g%+é")},
		Digest: d,
		Bins: []wire.Bin{
			{Name: []byte("name"), Type: wire.ParticleString, Value: []byte("Ann Lee")},
			{Name: []byte("age"), Type: wire.ParticleInteger, Value: intBytes(-42)},
			{Name: []byte("f"), Type: wire.ParticleFloat, Value: intBytes(1)},
		},
	}
}

const digestHex = "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff f0f1f2f3"

func render(t *testing.T, s string, place Place, m *wire.Message, miss Missing) (string, Outcome) {
	t.Helper()
	tpl, err := Parse(s, place)
	if err != nil {
		t.Fatalf("Parse(%q): %v", s, err)
	}
	out, o := tpl.Append(nil, m, miss)
	return string(out), o
}

func TestEveryPlaceholder(t *testing.T) {
	m := testMessage()
	dhex := strings.ReplaceAll(digestHex, " ", "")
	lut := int64(wire.CitrusleafEpochMs + 1000)
	for _, c := range []struct{ tpl, want string }{
		{"{namespace}", "test"},
		{"{set}", "us%20ers%2F1"},
		{"{digest}", dhex},
		{"{digest-b64url}", "8PHy8_T19vf4-fr7_P3-__Dx8vM"},
		{"{user-key}", "a%2Fb%3Fc%26d%3De%23f%20g%25%2B%C3%A9"},
		{"{gen}", "7"},
		{"{lut}", itoa(lut)},
		{"{bin:name}", "Ann%20Lee"},
		{"{bin:age}", "-42"},
		{"x-{gen}-{lut}-y", "x-7-" + itoa(lut) + "-y"},
	} {
		got, o := render(t, c.tpl, PlaceQuery, m, MissingFail)
		if o != OK || got != c.want {
			t.Errorf("%s: got %q (%d), want %q", c.tpl, got, o, c.want)
		}
	}
	m.Key = wire.UserKey{Type: wire.ParticleInteger, Int: -5, Bytes: intBytes(-5)}
	if got, _ := render(t, "/{user-key}", PlacePath, m, MissingFail); got != "/-5" {
		t.Errorf("integer key: %q", got)
	}
	m.Key = wire.UserKey{Type: wire.ParticleBlob, Bytes: []byte{0xca, 0xfe}}
	if got, _ := render(t, "/{user-key}", PlacePath, m, MissingFail); got != "/cafe" {
		t.Errorf("bytes key: %q", got)
	}
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

func TestEscapingPerPlace(t *testing.T) {
	m := testMessage()
	path, _ := render(t, "/{set}/{user-key}.json", PlacePath, m, MissingFail)
	if path != "/us%20ers%2F1/a%2Fb%3Fc%26d%3De%23f%20g%25%2B%C3%A9.json" {
		t.Errorf("path: %q", path)
	}
	q, _ := render(t, "k={user-key}&s=aerospike", PlaceQuery, m, MissingFail)
	if q != "k=a%2Fb%3Fc%26d%3De%23f%20g%25%2B%C3%A9&s=aerospike" {
		t.Errorf("query: %q", q)
	}
	h, o := render(t, "{user-key};{set}", PlaceHeader, m, MissingFail)
	if o != OK || h != "a/b?c&d=e#f g%+é;us ers/1" {
		t.Errorf("header: %q %d", h, o)
	}
}

func TestMissingPolicies(t *testing.T) {
	m := testMessage()
	m.Key = wire.UserKey{}
	dhex := strings.ReplaceAll(digestHex, " ", "")
	for _, tpl := range []string{"/{user-key}", "/{bin:nope}", "/{bin:f}"} {
		if _, o := render(t, tpl, PlacePath, m, MissingFail); o != Failed {
			t.Errorf("%s fail: %d", tpl, o)
		}
		if _, o := render(t, tpl, PlacePath, m, MissingSkip); o != Skipped {
			t.Errorf("%s skip: %d", tpl, o)
		}
		if got, o := render(t, tpl, PlacePath, m, MissingDigest); o != OK || got != "/"+dhex {
			t.Errorf("%s digest: %q %d", tpl, got, o)
		}
	}
}

func TestHeaderCRLFRejected(t *testing.T) {
	m := testMessage()
	for _, v := range []string{"a\r\nX-Evil: 1", "a\nb", "a\x00"} {
		m.Key = wire.UserKey{Type: wire.ParticleString, Bytes: []byte(v)}
		if _, o := render(t, "k={user-key}", PlaceHeader, m, MissingFail); o != BadHeader {
			t.Errorf("%q: %d, want BadHeader", v, o)
		}
		// Escaped in a path, the same value is harmless.
		if got, o := render(t, "/{user-key}", PlacePath, m, MissingFail); o != OK || strings.ContainsAny(got, "\r\n\x00") {
			t.Errorf("%q in a path: %q %d", v, got, o)
		}
	}
	m.Bins[0].Value = []byte("x\ry")
	if _, o := render(t, "{bin:name}", PlaceHeader, m, MissingFail); o != BadHeader {
		t.Errorf("bin: %d", o)
	}
}

func TestParseErrors(t *testing.T) {
	for _, c := range []struct {
		s     string
		place Place
		want  string
	}{
		{"x/{set}", PlacePath, "starts with /"},
		{"/a?b", PlacePath, "may not contain"},
		{"/{nope}", PlacePath, "unknown placeholder {nope}"},
		{"/{bin:}", PlacePath, "unknown placeholder {bin:}"},
		{"/{set", PlacePath, "no closing }"},
		{"a=b#c", PlaceQuery, "may not contain"},
		{"a\r\nb", PlaceHeader, "CR, LF"},
	} {
		_, err := Parse(c.s, c.place)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Parse(%q): %v, want %q", c.s, err, c.want)
		}
	}
}

func typical(t testing.TB) *Request {
	p := func(s string, pl Place) *Template {
		tpl, err := Parse(s, pl)
		if err != nil {
			t.Fatal(err)
		}
		return tpl
	}
	return &Request{
		Write:   Op{Method: "PUT", Path: p("/{set}/{user-key}", PlacePath), Body: true},
		Delete:  Op{Method: "DELETE", Path: p("/{set}/{user-key}", PlacePath)},
		Query:   p("source=aerospike&ns={namespace}", PlaceQuery),
		Headers: []HeaderTemplate{{Name: "X-Record-Version", Value: p("{lut}-{gen}", PlaceHeader)}},
	}
}

func TestRender(t *testing.T) {
	q := typical(t)
	m := testMessage()
	m.Set = []byte("users")
	m.Key.Bytes = []byte("u1")
	var r Rendered
	if o := q.Render(&r, m); o != OK {
		t.Fatal(o)
	}
	lut := itoa(int64(wire.CitrusleafEpochMs + 1000))
	if r.Method != "PUT" || !r.Body || string(r.Target) != "/users/u1?source=aerospike&ns=test" ||
		len(r.Headers) != 1 || r.Headers[0].Name != "X-Record-Version" || string(r.Headers[0].Value) != lut+"-7" {
		t.Fatalf("%+v %q", r, r.Headers)
	}
	m.Kind = wire.KindDelete
	if o := q.Render(&r, m); o != OK || r.Method != "DELETE" || r.Body || string(r.Target) != "/users/u1?source=aerospike&ns=test" {
		t.Fatalf("delete: %d %+v", o, r)
	}
}

func TestRenderAllocatesNothing(t *testing.T) {
	q := typical(t)
	m := testMessage()
	var r Rendered
	q.Render(&r, m)
	if n := testing.AllocsPerRun(1000, func() { q.Render(&r, m) }); n != 0 {
		t.Fatalf("%v allocs per record", n)
	}
}

// BenchmarkRenderTypical renders path + query + one header;
// BenchmarkRenderPlainPath the plain "/{namespace}/{set}" path, the cost
// per record without request shaping.
func BenchmarkRenderTypical(b *testing.B) {
	q := typical(b)
	m := testMessage()
	m.Set = []byte("users")
	m.Key.Bytes = []byte("user-000123456")
	var r Rendered
	b.ReportAllocs()
	for b.Loop() {
		q.Render(&r, m)
	}
}

func BenchmarkRenderPlainPath(b *testing.B) {
	tpl, _ := Parse("/{namespace}/{set}", PlacePath)
	m := testMessage()
	m.Set = []byte("users")
	var dst []byte
	b.ReportAllocs()
	for b.Loop() {
		dst, _ = tpl.Append(dst[:0], m, MissingFail)
	}
}
