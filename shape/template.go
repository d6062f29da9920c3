// Package shape renders per-record HTTP requests (config
// destinations.*.request, batching off): a Template is parsed once at load
// and appends its text for one record into a reused buffer, allocating
// nothing in steady state.
package shape

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/xdrhook/xdrhook/wire"
)

// Place is where a template's text goes; it decides the escaping.
type Place uint8

const (
	// PlacePath: a URL path; values are escaped as path segments.
	PlacePath Place = iota
	// PlaceQuery: a URL query string; values are escaped as query values.
	PlaceQuery
	// PlaceHeader: a header value; values go as they are, but one holding
	// CR, LF or NUL fails the record (Render gives BadHeader).
	PlaceHeader
)

// Missing is what a record without a placeholder's value (no stored user
// key, no such string or integer bin) gets.
type Missing uint8

const (
	// MissingFail fails the record: answered 4, counted.
	MissingFail Missing = iota
	// MissingDigest puts the record's hex digest in place of the value.
	MissingDigest
	// MissingSkip leaves the record out: answered 0, counted.
	MissingSkip
)

// ParseMissing reads a missing policy by its config name.
func ParseMissing(s string) (Missing, bool) {
	switch s {
	case "fail":
		return MissingFail, true
	case "digest":
		return MissingDigest, true
	case "skip":
		return MissingSkip, true
	}
	return 0, false
}

// Outcome is the result of rendering one record.
type Outcome uint8

const (
	OK Outcome = iota
	// Failed: a value was missing and the policy is fail.
	Failed
	// Skipped: a value was missing and the policy is skip.
	Skipped
	// BadHeader: a header value would hold CR, LF or NUL.
	BadHeader
)

const (
	argLit byte = iota
	argNamespace
	argSet
	argDigest
	argDigestB64
	argUserKey
	argGen
	argLUT
	argBin
)

var argNames = map[string]byte{
	"namespace":     argNamespace,
	"set":           argSet,
	"digest":        argDigest,
	"digest-b64url": argDigestB64,
	"user-key":      argUserKey,
	"gen":           argGen,
	"lut":           argLUT,
}

// Placeholders lists the placeholders for messages and docs.
const Placeholders = "{namespace} {set} {digest} {digest-b64url} {user-key} {gen} {lut} {bin:NAME}"

// Template is a parsed template: literal text and placeholders.
type Template struct {
	text  string
	place Place
	parts []part
}

type part struct {
	lit string // the literal (argLit) or the bin name (argBin)
	arg byte
}

// Parse parses s for place. The literal text is checked for its place: a
// path starts with / and holds no space, ?, # or control character; a
// query holds no space, # or control character; a header value no CR, LF
// or NUL.
func Parse(s string, place Place) (*Template, error) {
	t := &Template{text: s, place: place}
	switch place {
	case PlacePath:
		if s != "" && s[0] != '/' {
			return nil, fmt.Errorf("a path starts with /")
		}
		if strings.ContainsAny(s, "?# \t\r\n\x00") {
			return nil, fmt.Errorf("a path may not contain spaces, ? or # (the query has its own key)")
		}
	case PlaceQuery:
		if strings.ContainsAny(s, "# \t\r\n\x00") {
			return nil, fmt.Errorf("a query may not contain spaces or #")
		}
	case PlaceHeader:
		if strings.ContainsAny(s, "\r\n\x00") {
			return nil, fmt.Errorf("a header value cannot contain CR, LF or NUL")
		}
	}
	for s != "" {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			t.parts = append(t.parts, part{lit: s})
			break
		}
		if i > 0 {
			t.parts = append(t.parts, part{lit: s[:i]})
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			return nil, fmt.Errorf("%q has no closing }", s[i:])
		}
		name := s[i+1 : i+j]
		if a, ok := argNames[name]; ok {
			t.parts = append(t.parts, part{arg: a})
		} else if bin, ok := strings.CutPrefix(name, "bin:"); ok && bin != "" {
			t.parts = append(t.parts, part{arg: argBin, lit: bin})
		} else {
			return nil, fmt.Errorf("unknown placeholder {%s}: the placeholders are %s", name, Placeholders)
		}
		s = s[i+j+1:]
	}
	return t, nil
}

// String returns the template as written.
func (t *Template) String() string { return t.text }

// PerRecord reports whether the template holds a placeholder of the record's
// values beyond {namespace} and {set}.
func (t *Template) PerRecord() bool {
	for _, p := range t.parts {
		if p.arg != argLit && p.arg != argNamespace && p.arg != argSet {
			return true
		}
	}
	return false
}

// Append appends the template rendered for m to dst. A value that is
// missing is handled per missing; on an Outcome other than OK, dst holds
// a partial rendering the caller discards. It allocates only if dst must
// grow.
func (t *Template) Append(dst []byte, m *wire.Message, missing Missing) ([]byte, Outcome) {
	for i := range t.parts {
		p := &t.parts[i]
		start := len(dst)
		switch p.arg {
		case argLit:
			dst = append(dst, p.lit...)
			continue
		case argNamespace:
			dst = t.escape(dst, m.Namespace)
		case argSet:
			dst = t.escape(dst, m.Set)
		case argDigest:
			dst = hex.AppendEncode(dst, m.Digest)
		case argDigestB64:
			dst = base64.RawURLEncoding.AppendEncode(dst, m.Digest)
		case argGen:
			dst = strconv.AppendUint(dst, uint64(m.Generation), 10)
		case argLUT:
			dst = strconv.AppendInt(dst, m.LUTUnixMs(), 10)
		case argUserKey:
			switch m.Key.Type {
			case 0:
				goto miss
			case wire.ParticleString:
				dst = t.escape(dst, m.Key.Bytes)
			case wire.ParticleInteger:
				dst = strconv.AppendInt(dst, m.Key.Int, 10)
			default:
				dst = hex.AppendEncode(dst, m.Key.Bytes)
			}
		case argBin:
			b := findBin(m, p.lit)
			if b == nil {
				goto miss
			}
			switch b.Type {
			case wire.ParticleString:
				dst = t.escape(dst, b.Value)
			case wire.ParticleInteger:
				v, ok := wire.Int(b.Value)
				if !ok {
					goto miss
				}
				dst = strconv.AppendInt(dst, v, 10)
			default:
				goto miss
			}
		}
		if t.place == PlaceHeader && badHeaderValue(dst[start:]) {
			return dst, BadHeader
		}
		continue
	miss:
		switch missing {
		case MissingDigest:
			dst = hex.AppendEncode(dst, m.Digest)
		case MissingSkip:
			return dst, Skipped
		default:
			return dst, Failed
		}
	}
	return dst, OK
}

func findBin(m *wire.Message, name string) *wire.Bin {
	for i := range m.Bins {
		if string(m.Bins[i].Name) == name {
			return &m.Bins[i]
		}
	}
	return nil
}

func badHeaderValue(v []byte) bool {
	for _, c := range v {
		if c == '\r' || c == '\n' || c == 0 {
			return true
		}
	}
	return false
}

// escape appends v escaped for the template's place: in a path and a query
// only RFC 3986 unreserved characters stay, every other byte is %XX (so a
// value is one path segment, or one query value, whatever it holds); in a
// header the value goes as it is (Append checks it for CR, LF and NUL).
func (t *Template) escape(dst, v []byte) []byte {
	if t.place == PlaceHeader {
		return append(dst, v...)
	}
	for len(v) > 0 {
		i := 0
		for i < len(v) && unreserved[v[i]] {
			i++
		}
		dst = append(dst, v[:i]...)
		if i == len(v) {
			break
		}
		c := v[i]
		dst = append(dst, '%', hexDigits[c>>4], hexDigits[c&15])
		v = v[i+1:]
	}
	return dst
}

const hexDigits = "0123456789ABCDEF"

// unreserved are RFC 3986's unreserved characters.
var unreserved = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
	}
	return t
}()
