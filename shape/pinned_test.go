package shape

import (
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/xdrhook/xdrhook/wire"
)

// pinnedRequest uses every placeholder in every place.
func pinnedRequest(t testing.TB, missing Missing) *Request {
	p := func(s string, pl Place) *Template {
		tpl, err := Parse(s, pl)
		if err != nil {
			t.Fatal(err)
		}
		return tpl
	}
	return &Request{
		Write:  Op{Method: "PUT", Path: p("/{namespace}/{set}/{user-key}/{digest}/{digest-b64url}/{bin:name}/{bin:age}.json", PlacePath), Body: true},
		Delete: Op{Method: "DELETE", Path: p("/{set}/{user-key}", PlacePath)},
		Query:  p("g={gen}&l={lut}&k={user-key}&b={bin:name}&n={bin:age}&ns={namespace}", PlaceQuery),
		Headers: []HeaderTemplate{
			{Name: "X-A", Value: p("{lut}-{gen}", PlaceHeader)},
			{Name: "X-B", Value: p("{user-key};{set};{namespace}", PlaceHeader)},
			{Name: "X-C", Value: p("{bin:name}/{bin:age}", PlaceHeader)},
			{Name: "X-D", Value: p("{digest} {digest-b64url}", PlaceHeader)},
			{Name: "X-E", Value: p("static", PlaceHeader)},
		},
		Missing: missing,
	}
}

func dumpRendered(o Outcome, r *Rendered) string {
	if o != OK {
		return "outcome " + strconv.Itoa(int(o))
	}
	var b strings.Builder
	b.WriteString(r.Method)
	if r.Body {
		b.WriteString(" +body")
	}
	b.WriteString(" " + string(r.Target) + "\n")
	for _, h := range r.Headers {
		b.WriteString(h.Name + ": " + string(h.Value) + "\n")
	}
	return b.String()
}

// pinnedCases are representative records; each mutates testMessage.
var pinnedCases = []struct {
	name    string
	missing Missing
	mod     func(m *wire.Message)
}{
	{"typical", MissingFail, func(m *wire.Message) {
		m.Set = []byte("users")
		m.Key.Bytes = []byte("user-000123456")
	}},
	{"escapes", MissingFail, func(m *wire.Message) {}},
	{"every byte", MissingFail, func(m *wire.Message) {
		v := make([]byte, 0, 256)
		for c := 0; c < 256; c++ {
			if c != '\r' && c != '\n' && c != 0 {
				v = append(v, byte(c))
			}
		}
		m.Key.Bytes = v
		m.Set = []byte("-._~azAZ09!*'()")
	}},
	{"int key, no LUT, big gen", MissingFail, func(m *wire.Message) {
		m.Key = wire.UserKey{Type: wire.ParticleInteger, Int: math.MinInt64, Bytes: intBytes(math.MinInt64)}
		m.HasLUT, m.LUT = false, 0
		m.Generation = math.MaxUint32
	}},
	{"int key max, max LUT", MissingFail, func(m *wire.Message) {
		m.Key = wire.UserKey{Type: wire.ParticleInteger, Int: math.MaxInt64, Bytes: intBytes(math.MaxInt64)}
		m.LUT = math.MaxUint64
		m.Generation = 0
		m.Bins[1].Value = intBytes(math.MinInt64)
	}},
	{"blob key, short int bin", MissingFail, func(m *wire.Message) {
		m.Key = wire.UserKey{Type: wire.ParticleBlob, Bytes: []byte{0xca, 0xfe, 0x00, 0x0a}}
		m.Bins[1].Value = []byte{0xff, 0x7f}
		m.Generation = 10
		m.LUT = 99
	}},
	{"empty values", MissingFail, func(m *wire.Message) {
		m.Key.Bytes = nil
		m.Set, m.HasSet = nil, false
		m.Bins[0].Value = nil
		m.Bins[1].Value = intBytes(0)
		m.Generation = 100
	}},
	{"delete", MissingFail, func(m *wire.Message) {
		m.Kind = wire.KindDelete
		m.Set = []byte("users")
	}},
	{"missing key digest", MissingDigest, func(m *wire.Message) { m.Key = wire.UserKey{} }},
	{"missing bin digest", MissingDigest, func(m *wire.Message) { m.Bins = m.Bins[2:] }},
	{"missing key fail", MissingFail, func(m *wire.Message) { m.Key = wire.UserKey{} }},
	{"missing key skip", MissingSkip, func(m *wire.Message) { m.Key = wire.UserKey{} }},
	{"float bin skip", MissingSkip, func(m *wire.Message) { m.Bins[1].Type = wire.ParticleFloat }},
	{"bad int bin digest", MissingDigest, func(m *wire.Message) { m.Bins[1].Value = make([]byte, 9) }},
	{"CRLF in key", MissingFail, func(m *wire.Message) { m.Key.Bytes = []byte("a\r\nX-Evil: 1") }},
	{"NUL in set", MissingFail, func(m *wire.Message) { m.Set = []byte("s\x00") }},
	{"LF in bin", MissingFail, func(m *wire.Message) { m.Bins[0].Value = []byte("12345678\n") }},
	{"CR in namespace", MissingFail, func(m *wire.Message) { m.Namespace = []byte("abcdefghijklmnop\r") }},
}

// TestRenderPinned pins the exact bytes rendered for representative
// records, so an optimization of Render cannot change them.
func TestRenderPinned(t *testing.T) {
	var r Rendered
	for _, c := range pinnedCases {
		m := testMessage()
		c.mod(m)
		q := pinnedRequest(t, c.missing)
		got := dumpRendered(q.Render(&r, m), &r)
		if want := pinnedWant[c.name]; got != want {
			t.Errorf("%s:\n got %q\nwant %q", c.name, got, want)
		}
	}
}

// pinnedWant was rendered by the implementation before the fast paths.
var pinnedWant = map[string]string{
	"typical":                  "PUT +body /test/users/user-000123456/f0f1f2f3f4f5f6f7f8f9fafbfcfdfefff0f1f2f3/8PHy8_T19vf4-fr7_P3-__Dx8vM/Ann%20Lee/-42.json?g=7&l=1262304001000&k=user-000123456&b=Ann%20Lee&n=-42&ns=test\nX-A: 1262304001000-7\nX-B: user-000123456;users;test\nX-C: Ann Lee/-42\nX-D: f0f1f2f3f4f5f6f7f8f9fafbfcfdfefff0f1f2f3 8PHy8_T19vf4-fr7_P3-__Dx8vM\nX-E: static\n",
	"escapes":                  "PUT +body /test/us%20ers%2F1/a%2Fb%3Fc%26d%3De%23f%20g%25%2B%C3%A9/f0f1f2f3f4f5f6f7f8f9fafbfcfdfefff0f1f2f3/8PHy8_T19vf4-fr7_P3-__Dx8vM/Ann%20Lee/-42.json?g=7&l=1262304001000&k=a%2Fb%3Fc%26d%3De%23f%20g%25%2B%C3%A9&b=Ann%20Lee&n=-42&ns=test\nX-A: 1262304001000-7\nX-B: a/b?c&d=e#f g%+é;us ers/1;test\nX-C: Ann Lee/-42\nX-D: f0f1f2f3f4f5f6f7f8f9fafbfcfdfefff0f1f2f3 8PHy8_T19vf4-fr7_P3-__Dx8vM\nX-E: static\n",
	"every byte":               "PUT +body /test/-._~azAZ09%21%2A%27%28%29/%01%02%03%04%05%06%07%08%09%0B%0C%0E%0F%10%11%12%13%14%15%16%17%18%19%1A%1B%1C%1D%1E%1F%20%21%22%23%24%25%26%27%28%29%2A%2B%2C-.%2F0123456789%3A%3B%3C%3D%3E%3F%40ABCDEFGHIJKLMNOPQRSTUVWXYZ%5B%5C%5D%5E_%60abcdefghijklmnopqrstuvwxyz%7B%7C%7D~%7F%80%81%82%83%84%85%86%87%88%89%8A%8B%8C%8D%8E%8F%90%91%92%93%94%95%96%97%98%99%9A%9B%9C%9D%9E%9F%A0%A1%A2%A3%A4%A5%A6%A7%A8%A9%AA%AB%AC%AD%AE%AF%B0%B1%B2%B3%B4%B5%B6%B7%B8%B9%BA%BB%BC%BD%BE%BF%C0%C1%C2%C3%C4%C5%C6%C7%C8%C9%CA%CB%CC%CD%CE%CF%D0%D1%D2%D3%D4%D5%D6%D7%D8%D9%DA%DB%DC%DD%DE%DF%E0%E1%E2%E3%E4%E5%E6%E7%E8%E9%EA%EB%EC%ED%EE%EF%F0%F1%F2%F3%F4%F5%F6%F7%F8%F9%FA%FB%FC%FD%FE%FF/f0f1f2f3f4f5f6f7f8f9fafbfcfdfefff0f1f2f3/8PHy8_T19vf4-fr7_P3-__Dx8vM/Ann%20Lee/-42.json?g=7&l=1262304001000&k=%01%02%03%04%05%06%07%08%09%0B%0C%0E%0F%10%11%12%13%14%15%16%17%18%19%1A%1B%1C%1D%1E%1F%20%21%22%23%24%25%26%27%28%29%2A%2B%2C-.%2F0123456789%3A%3B%3C%3D%3E%3F%40ABCDEFGHIJKLMNOPQRSTUVWXYZ%5B%5C%5D%5E_%60abcdefghijklmnopqrstuvwxyz%7B%7C%7D~%7F%80%81%82%83%84%85%86%87%88%89%8A%8B%8C%8D%8E%8F%90%91%92%93%94%95%96%97%98%99%9A%9B%9C%9D%9E%9F%A0%A1%A2%A3%A4%A5%A6%A7%A8%A9%AA%AB%AC%AD%AE%AF%B0%B1%B2%B3%B4%B5%B6%B7%B8%B9%BA%BB%BC%BD%BE%BF%C0%C1%C2%C3%C4%C5%C6%C7%C8%C9%CA%CB%CC%CD%CE%CF%D0%D1%D2%D3%D4%D5%D6%D7%D8%D9%DA%DB%DC%DD%DE%DF%E0%E1%E2%E3%E4%E5%E6%E7%E8%E9%EA%EB%EC%ED%EE%EF%F0%F1%F2%F3%F4%F5%F6%F7%F8%F9%FA%FB%FC%FD%FE%FF&b=Ann%20Lee&n=-42&ns=test\nX-A: 1262304001000-7\nX-B: \x01\x02\x03\x04\x05\x06\a\b\t\v\f\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~\x7f\x80\x81\x82\x83\x84\x85\x86\x87\x88\x89\x8a\x8b\x8c\x8d\x8e\x8f\x90\x91\x92\x93\x94\x95\x96\x97\x98\x99\x9a\x9b\x9c\x9d\x9e\x9f\xa0\xa1\xa2\xa3\xa4\xa5\xa6\xa7\xa8\xa9\xaa\xab\xac\xad\xae\xaf\xb0\xb1\xb2\xb3\xb4\xb5\xb6\xb7\xb8\xb9\xba\xbb\xbc\xbd\xbe\xbf\xc0\xc1\xc2\xc3\xc4\xc5\xc6\xc7\xc8\xc9\xca\xcb\xcc\xcd\xce\xcf\xd0\xd1\xd2\xd3\xd4\xd5\xd6\xd7\xd8\xd9\xda\xdb\xdc\xdd\xde\xdf\xe0\xe1\xe2\xe3\xe4\xe5\xe6\xe7\xe8\xe9\xea\xeb\xec\xed\xee\xef\xf0\xf1\xf2\xf3\xf4\xf5\xf6\xf7\xf8\xf9\xfa\xfb\xfc\xfd\xfe\xff;-._~azAZ09!*'();test\nX-C: Ann Lee/-42\nX-D: f0f1f2f3f4f5f6f7f8f9fafbfcfdfefff0f1f2f3 8PHy8_T19vf4-fr7_P3-__Dx8vM\nX-E: static\n",
	"int key, no LUT, big gen": "PUT +body /test/us%20ers%2F1/-9223372036854775808/f0f1f2f3f4f5f6f7f8f9fafbfcfdfefff0f1f2f3/8PHy8_T19vf4-fr7_P3-__Dx8vM/Ann%20Lee/-42.json?g=4294967295&l=0&k=-9223372036854775808&b=Ann%20Lee&n=-42&ns=test\nX-A: 0-4294967295\nX-B: -9223372036854775808;us ers/1;test\nX-C: Ann Lee/-42\nX-D: f0f1f2f3f4f5f6f7f8f9fafbfcfdfefff0f1f2f3 8PHy8_T19vf4-fr7_P3-__Dx8vM\nX-E: static\n",
	"int key max, max LUT":     "PUT +body /test/us%20ers%2F1/9223372036854775807/f0f1f2f3f4f5f6f7f8f9fafbfcfdfefff0f1f2f3/8PHy8_T19vf4-fr7_P3-__Dx8vM/Ann%20Lee/-9223372036854775808.json?g=0&l=2361815627775&k=9223372036854775807&b=Ann%20Lee&n=-9223372036854775808&ns=test\nX-A: 2361815627775-0\nX-B: 9223372036854775807;us ers/1;test\nX-C: Ann Lee/-9223372036854775808\nX-D: f0f1f2f3f4f5f6f7f8f9fafbfcfdfefff0f1f2f3 8PHy8_T19vf4-fr7_P3-__Dx8vM\nX-E: static\n",
	"blob key, short int bin":  "PUT +body /test/us%20ers%2F1/cafe000a/f0f1f2f3f4f5f6f7f8f9fafbfcfdfefff0f1f2f3/8PHy8_T19vf4-fr7_P3-__Dx8vM/Ann%20Lee/-129.json?g=10&l=1262304000099&k=cafe000a&b=Ann%20Lee&n=-129&ns=test\nX-A: 1262304000099-10\nX-B: cafe000a;us ers/1;test\nX-C: Ann Lee/-129\nX-D: f0f1f2f3f4f5f6f7f8f9fafbfcfdfefff0f1f2f3 8PHy8_T19vf4-fr7_P3-__Dx8vM\nX-E: static\n",
	"empty values":             "PUT +body /test///f0f1f2f3f4f5f6f7f8f9fafbfcfdfefff0f1f2f3/8PHy8_T19vf4-fr7_P3-__Dx8vM//0.json?g=100&l=1262304001000&k=&b=&n=0&ns=test\nX-A: 1262304001000-100\nX-B: ;;test\nX-C: /0\nX-D: f0f1f2f3f4f5f6f7f8f9fafbfcfdfefff0f1f2f3 8PHy8_T19vf4-fr7_P3-__Dx8vM\nX-E: static\n",
	"delete":                   "DELETE /users/a%2Fb%3Fc%26d%3De%23f%20g%25%2B%C3%A9?g=7&l=1262304001000&k=a%2Fb%3Fc%26d%3De%23f%20g%25%2B%C3%A9&b=Ann%20Lee&n=-42&ns=test\nX-A: 1262304001000-7\nX-B: a/b?c&d=e#f g%+é;users;test\nX-C: Ann Lee/-42\nX-D: f0f1f2f3f4f5f6f7f8f9fafbfcfdfefff0f1f2f3 8PHy8_T19vf4-fr7_P3-__Dx8vM\nX-E: static\n",
	"missing key digest":       "PUT +body /test/us%20ers%2F1/f0f1f2f3f4f5f6f7f8f9fafbfcfdfefff0f1f2f3/f0f1f2f3f4f5f6f7f8f9fafbfcfdfefff0f1f2f3/8PHy8_T19vf4-fr7_P3-__Dx8vM/Ann%20Lee/-42.json?g=7&l=1262304001000&k=f0f1f2f3f4f5f6f7f8f9fafbfcfdfefff0f1f2f3&b=Ann%20Lee&n=-42&ns=test\nX-A: 1262304001000-7\nX-B: f0f1f2f3f4f5f6f7f8f9fafbfcfdfefff0f1f2f3;us ers/1;test\nX-C: Ann Lee/-42\nX-D: f0f1f2f3f4f5f6f7f8f9fafbfcfdfefff0f1f2f3 8PHy8_T19vf4-fr7_P3-__Dx8vM\nX-E: static\n",
	"missing bin digest":       "PUT +body /test/us%20ers%2F1/a%2Fb%3Fc%26d%3De%23f%20g%25%2B%C3%A9/f0f1f2f3f4f5f6f7f8f9fafbfcfdfefff0f1f2f3/8PHy8_T19vf4-fr7_P3-__Dx8vM/f0f1f2f3f4f5f6f7f8f9fafbfcfdfefff0f1f2f3/f0f1f2f3f4f5f6f7f8f9fafbfcfdfefff0f1f2f3.json?g=7&l=1262304001000&k=a%2Fb%3Fc%26d%3De%23f%20g%25%2B%C3%A9&b=f0f1f2f3f4f5f6f7f8f9fafbfcfdfefff0f1f2f3&n=f0f1f2f3f4f5f6f7f8f9fafbfcfdfefff0f1f2f3&ns=test\nX-A: 1262304001000-7\nX-B: a/b?c&d=e#f g%+é;us ers/1;test\nX-C: f0f1f2f3f4f5f6f7f8f9fafbfcfdfefff0f1f2f3/f0f1f2f3f4f5f6f7f8f9fafbfcfdfefff0f1f2f3\nX-D: f0f1f2f3f4f5f6f7f8f9fafbfcfdfefff0f1f2f3 8PHy8_T19vf4-fr7_P3-__Dx8vM\nX-E: static\n",
	"missing key fail":         "outcome 1",
	"missing key skip":         "outcome 2",
	"float bin skip":           "outcome 2",
	"bad int bin digest":       "PUT +body /test/us%20ers%2F1/a%2Fb%3Fc%26d%3De%23f%20g%25%2B%C3%A9/f0f1f2f3f4f5f6f7f8f9fafbfcfdfefff0f1f2f3/8PHy8_T19vf4-fr7_P3-__Dx8vM/Ann%20Lee/f0f1f2f3f4f5f6f7f8f9fafbfcfdfefff0f1f2f3.json?g=7&l=1262304001000&k=a%2Fb%3Fc%26d%3De%23f%20g%25%2B%C3%A9&b=Ann%20Lee&n=f0f1f2f3f4f5f6f7f8f9fafbfcfdfefff0f1f2f3&ns=test\nX-A: 1262304001000-7\nX-B: a/b?c&d=e#f g%+é;us ers/1;test\nX-C: Ann Lee/f0f1f2f3f4f5f6f7f8f9fafbfcfdfefff0f1f2f3\nX-D: f0f1f2f3f4f5f6f7f8f9fafbfcfdfefff0f1f2f3 8PHy8_T19vf4-fr7_P3-__Dx8vM\nX-E: static\n",
	"CRLF in key":              "outcome 3",
	"NUL in set":               "outcome 3",
	"LF in bin":                "outcome 3",
	"CR in namespace":          "outcome 3",
}
