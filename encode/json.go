package encode

import (
	"encoding/binary"
	"errors"
	"slices"
	"strconv"

	"github.com/xdrhook/xdrhook/wire"
)

// Content types of the JSON family.
const (
	ContentTypeJSON   = "application/json"
	ContentTypeNDJSON = "application/x-ndjson"
)

// JSON is the typed json format (output-formats.md, "json"), the default:
//
//	{"msg":"write","key":[ns,set|null,digest,userKey|null],"gen":G,"exp":E,"lut":L,"bins":[…]}
//	{"msg":"write",…,"lut":L,"partial":true,"bins":[…]}
//	{"msg":"delete","key":[…],"durable":false,"gen":G,"lut":L}
//
// Output is compact (no whitespace, no newline) and members come in exactly
// this order. "partial":true, when the write carries only some bins, sits
// between "lut" and "bins"; it is left out of full writes. Each bin is
// {"name":N,"type":T,"value":V}, plus "ordered":bool after the value of a
// list bin and "order":"unordered"|"key"|"key-value" after the value of a map
// bin. Value rendering is described on jsonWriter.
//
// A JSON is not safe for concurrent use; it holds the scratch that makes
// Append allocation-free (a CDT walker and the duplicate-key stacks). Use it
// through a pointer.
type JSON struct {
	// Transform selects and renames bins; nil keeps all.
	Transform *Transform

	w jsonWriter
}

// ContentType is the content type of a body holding one message alone.
func (*JSON) ContentType() string { return ContentTypeJSON }

// KeyStats reports how many object names were renamed to stay unique, and
// how many members were dropped after too many renames (see keyTable.uniq),
// since the encoder was made.
func (e *JSON) KeyStats() (renamed, dropped uint64) { return e.w.keys.renamed, e.w.keys.dropped }

// Append appends the message for m. On error dst is returned at its
// original length, so a batch buffer stays well formed.
func (e *JSON) Append(dst []byte, m *wire.Message, nowUnix int64) ([]byte, error) {
	dst = jsonGrow(dst, m)
	start := len(dst)
	w := &e.w
	w.reset()
	switch m.Kind {
	case wire.KindDelete:
		dst = append(dst, `{"msg":"delete",`...)
		dst = append(dst, `"key":`...)
		dst = jsonAppendKeyArray(dst, m)
		dst = append(dst, `,"durable":`...)
		dst = appendBool(dst, m.Durable)
		dst = append(dst, `,"gen":`...)
		dst = appendUint(dst, uint64(m.Generation))
		dst = append(dst, `,"lut":`...)
		dst = appendInt(dst, m.LUTUnixMs())
		return append(dst, '}'), nil
	case wire.KindWrite:
	default:
		return dst, errJSONKind
	}
	// Fragments of at most 16 bytes compile to stores of immediates, longer
	// ones to a call to memmove.
	dst = append(dst, `{"msg":"write",`...)
	dst = append(dst, `"key":`...)
	dst = jsonAppendKeyArray(dst, m)
	dst = append(dst, `,"gen":`...)
	dst = appendUint(dst, uint64(m.Generation))
	dst = append(dst, `,"exp":`...)
	dst = appendInt(dst, m.Expiry(nowUnix))
	dst = append(dst, `,"lut":`...)
	dst = appendInt(dst, m.LUTUnixMs())
	if m.Partial {
		dst = append(dst, `,"partial":true`...)
	}
	dst = append(dst, `,"bins":[`...)
	first := true
	var top wire.CDTToken
	for i := range m.Bins {
		b := &m.Bins[i]
		name, keep := e.Transform.Bin(b.Name)
		if !keep {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = jsonAppendBinHead(dst, name, b.Type)
		// Strings and 8-byte integers, the commonest bins, without the
		// call to appendBinValue (which writes them the same way).
		switch {
		case b.Type == wire.ParticleString:
			dst = appendJSONString(dst, b.Value)
		case b.Type == wire.ParticleInteger && len(b.Value) == 8:
			dst = appendInt(dst, int64(binary.BigEndian.Uint64(b.Value)))
		default:
			var err error
			if dst, err = w.appendBinValue(dst, b, &top); err != nil {
				return dst[:start], jsonBinError(b, err)
			}
		}
		switch b.Type {
		case wire.ParticleList:
			dst = append(dst, `,"ordered":`...)
			dst = appendBool(dst, top.Kind == wire.CDTList && top.Flags&1 != 0)
		case wire.ParticleMap:
			dst = append(dst, `,"order":`...)
			dst = jsonAppendMapOrder(dst, &top)
		}
		dst = append(dst, '}')
	}
	return append(dst, ']', '}'), nil
}

var errJSONKind = errors.New("encode json: message is neither a write nor a delete")

// JSONError is a bin whose value could not be encoded (a malformed list, map,
// GeoJSON or scalar value): the record cannot be delivered as sent.
type JSONError struct {
	Bin  string
	Type uint8
	Err  error
}

func (e *JSONError) Error() string {
	return "encode json: bin " + strconv.Quote(e.Bin) + " (particle type " + strconv.Itoa(int(e.Type)) + "): " + e.Err.Error()
}

func (e *JSONError) Unwrap() error { return e.Err }

func jsonBinError(b *wire.Bin, err error) error {
	return &JSONError{Bin: string(b.Name), Type: b.Type, Err: err}
}

// jsonAppendMapOrder appends the order of a map from its flags: "key" for
// 1 (key-ordered), "key-value" for 3, "unordered" for anything else (flags
// 0, or a value that is not a map). Flag bits above 0x03 (such as a
// persisted index) are ignored. (Constant appends of up to 16 bytes compile
// to stores of immediates; a string chosen at run time costs a memmove.)
func jsonAppendMapOrder(dst []byte, top *wire.CDTToken) []byte {
	if top.Kind == wire.CDTMap {
		switch top.Flags & 3 {
		case 1:
			return append(dst, `"key"`...)
		case 3:
			return append(dst, `"key-value"`...)
		}
	}
	return append(dst, `"unordered"`...)
}

// jsonTypeNames are the bin type names of the typed format, by particle
// type; a type not listed is "type-N".
var jsonTypeNames = [...]string{
	wire.ParticleNull:    "null",
	wire.ParticleInteger: "int",
	wire.ParticleFloat:   "float",
	wire.ParticleString:  "str",
	wire.ParticleBlob:    "blob",
	wire.ParticleJava:    "java-blob",
	wire.ParticleCSharp:  "csharp-blob",
	wire.ParticlePython:  "python-blob",
	wire.ParticleRuby:    "ruby-blob",
	wire.ParticlePHP:     "php-blob",
	wire.ParticleErlang:  "erlang-blob",
	wire.ParticleVector:  "vector",
	wire.ParticleBool:    "bool",
	wire.ParticleHLL:     "hll",
	wire.ParticleMap:     "map",
	wire.ParticleList:    "list",
	wire.ParticleGeoJSON: "geojson",
}

// jsonAppendTypeMember appends `,"type":"T","value":`, the text between a
// bin's name and its value, T from jsonTypeNames or type-N. It builds
// jsonBinTails, which the encoder writes from.
func jsonAppendTypeMember(dst []byte, pt uint8) []byte {
	dst = append(dst, `,"type":"`...)
	if int(pt) < len(jsonTypeNames) && jsonTypeNames[pt] != "" {
		dst = append(dst, jsonTypeNames[pt]...)
	} else {
		dst = append(dst, "type-"...)
		dst = appendUint(dst, uint64(pt))
	}
	return append(dst, `","value":`...)
}

// jsonBinTails holds, per particle type, the text from the closing quote of
// a bin's name to its value, `","type":"T","value":` (T from jsonTypeNames
// or type-N), in a fixed 32-byte block: the longest, for csharp-blob, is 31.
var jsonBinTails = func() (t [256]struct {
	b [32]byte
	n int
}) {
	for pt := range t {
		m := jsonAppendTypeMember([]byte{'"'}, uint8(pt))
		t[pt].n = copy(t[pt].b[:], m)
		if t[pt].n != len(m) {
			panic("encode: a bin type member longer than 32 bytes")
		}
	}
	return
}()

// jsonAppendBinHead appends `{"name":N,"type":"T","value":`, everything
// of a bin before its value. For a name of up to 16 bytes of plain ASCII
// with room in dst (nearly every bin), all of it is written in place after
// one capacity check: the prefix as a word, the name as overlapping words
// checked as appendJSONString checks them, the tail as one 32-byte block
// from jsonBinTails, then the length set to what was meant. Other names go
// through appendJSONString.
//
// The name's words repeat appendJSONString's short path on purpose: a
// helper shared by the two does not inline, and the call undid most of the
// in-place head's gain (DESIGN.md, Performance notes). TestJSONBinHead
// holds both to the same bytes.
func jsonAppendBinHead(dst, name []byte, pt uint8) []byte {
	n := len(dst)
	m := len(name)
	if m > 16 || cap(dst)-n < 9+16+32 {
		return jsonAppendBinHeadSlow(dst, name, pt)
	}
	d := dst[n : n+9+16+32]
	switch {
	case m >= 8:
		lo := binary.LittleEndian.Uint64(name)
		hi := binary.LittleEndian.Uint64(name[m-8:])
		if !safe8(lo) || !safe8(hi) {
			return jsonAppendBinHeadSlow(dst, name, pt)
		}
		binary.LittleEndian.PutUint64(d[9:], lo)
		binary.LittleEndian.PutUint64(d[1+m:], hi)
	case m >= 4:
		lo := binary.LittleEndian.Uint32(name)
		hi := binary.LittleEndian.Uint32(name[m-4:])
		if !safe8(uint64(lo) | uint64(hi)<<32) {
			return jsonAppendBinHeadSlow(dst, name, pt)
		}
		binary.LittleEndian.PutUint32(d[9:], lo)
		binary.LittleEndian.PutUint32(d[5+m:], hi)
	case m > 0:
		a, b, c := name[0], name[m>>1], name[m-1]
		if !safe8(uint64(a) | uint64(b)<<8 | uint64(c)<<16 | 0x2020202020<<24) {
			return jsonAppendBinHeadSlow(dst, name, pt)
		}
		d[9], d[9+m>>1], d[8+m] = a, b, c
	}
	binary.LittleEndian.PutUint64(d, jsonBinPrefix)
	d[8] = '"'
	t := &jsonBinTails[pt]
	*(*[32]byte)(d[9+m:]) = t.b
	return dst[:n+9+m+t.n]
}

// jsonBinPrefix is `{"name":` as a little-endian word.
var jsonBinPrefix = binary.LittleEndian.Uint64([]byte(`{"name":`))

func jsonAppendBinHeadSlow(dst, name []byte, pt uint8) []byte {
	dst = append(dst, `{"name":`...)
	dst = appendJSONString(dst, name)
	t := &jsonBinTails[pt]
	return append(dst[:len(dst)-1], t.b[:t.n]...) // the tail starts with the closing quote
}

// jsonAppendKeyArray appends [namespace, set|null, digest, userKey|null].
func jsonAppendKeyArray(dst []byte, m *wire.Message) []byte {
	dst = append(dst, '[')
	dst = appendJSONString(dst, m.Namespace)
	dst = append(dst, ',')
	if m.HasSet {
		dst = appendJSONString(dst, m.Set)
	} else {
		dst = append(dst, "null"...)
	}
	dst = append(dst, ',')
	dst = appendQuotedBase64(dst, m.Digest)
	dst = append(dst, ',')
	dst = jsonAppendUserKey(dst, &m.Key)
	return append(dst, ']')
}

// jsonAppendUserKey appends the user key: int and double as numbers, string
// as a string, bytes (and any other key type) as base64; null when the
// source did not store the key.
func jsonAppendUserKey(dst []byte, k *wire.UserKey) []byte {
	switch k.Type {
	case 0:
		return append(dst, "null"...)
	case wire.ParticleInteger:
		return appendInt(dst, k.Int)
	case wire.ParticleFloat:
		return appendJSONFloat(dst, k.Float, 64)
	case wire.ParticleString:
		return appendJSONString(dst, k.Bytes)
	}
	return appendQuotedBase64(dst, k.Bytes)
}

// jsonWriter renders bin values; both JSON formats use it. Values follow the
// common rules of output-formats.md:
//   - int: integer literal (int64 or uint64, exact); float: appendJSONFloat;
//     string: appendJSONString; bool; null (a deleted bin, a nil element).
//   - blob, the language blobs, HLL, vector, unknown particle types, typed
//     bytes and MessagePack ext values inside lists and maps: base64 string.
//   - GeoJSON (bin type 23, or typed bytes 23 in a list or map): the JSON text
//     itself, compacted, when it is one valid JSON value of any kind (see
//     keyTable.appendCompact); otherwise the text as a string.
//   - list: array. map: object whose names are strings: string keys as they
//     are, integer keys in decimal, float/bool/nil keys as their JSON text
//     ("1.5", "NaN", "true", "null"), bytes, typed bytes and ext keys in
//     base64, a GeoJSON key as its compacted text, and a list or map key
//     (which MessagePack allows, Aerospike does not) as its JSON text in a
//     string: [1,"a"] → "[1,\"a\"]"; inside that text a list or map key is
//     left unquoted ({[1]:2} as a key → "{[1]:2}"), so that nesting keys
//     cannot make the output grow exponentially.
//   - names stay unique in every object: a key whose name equals one
//     written before in the same map (int 1 and string "1", say) gets '_'
//     put in front until it is unique ("1", then "_1"); see keyTable.uniq.
//
// appendCDT is the reference walk of lists and maps; the common values go
// through appendCDTFast (json_cdt.go), which writes the same text faster.
type jsonWriter struct {
	r     wire.CDTReader
	keys  keyTable
	inKey int // > 0 while the text of a list or map key is written
}

// reset readies w for a message (an error may have left it mid-value).
func (w *jsonWriter) reset() {
	w.keys.reset()
	w.inKey = 0
}

// appendBinValue appends the value of a top-level bin. For a list or map
// bin top receives the container token (kind and order flags).
func (w *jsonWriter) appendBinValue(dst []byte, b *wire.Bin, top *wire.CDTToken) ([]byte, error) {
	switch b.Type {
	case wire.ParticleNull:
		return append(dst, "null"...), nil
	case wire.ParticleInteger:
		v, ok := wire.Int(b.Value)
		if !ok {
			return dst, errJSONScalar
		}
		return appendInt(dst, v), nil
	case wire.ParticleFloat:
		v, ok := wire.Float(b.Value)
		if !ok {
			return dst, errJSONScalar
		}
		return appendJSONFloat(dst, v, 64), nil
	case wire.ParticleString:
		return appendJSONString(dst, b.Value), nil
	case wire.ParticleBool:
		v, ok := wire.Bool(b.Value)
		if !ok {
			return dst, errJSONScalar
		}
		return appendBool(dst, v), nil
	case wire.ParticleGeoJSON:
		text, err := wire.GeoJSONText(b.Value)
		if err != nil {
			return dst, err
		}
		return w.appendGeoJSON(dst, text), nil
	case wire.ParticleList, wire.ParticleMap:
		if d, ok := w.appendCDTFast(dst, b.Value, top); ok {
			return d, nil
		}
		return w.appendCDT(dst, b.Value, top)
	}
	return appendQuotedBase64(dst, b.Value), nil
}

var errJSONScalar = errors.New("value has the wrong size for its type")

func (w *jsonWriter) appendGeoJSON(dst, text []byte) []byte {
	if d, ok := w.keys.appendCompact(dst, text); ok {
		return d
	}
	return appendJSONString(dst, text)
}

// appendCDT renders a whole list or map value; top receives its first token.
func (w *jsonWriter) appendCDT(dst, v []byte, top *wire.CDTToken) ([]byte, error) {
	w.r.Reset(v)
	if err := w.r.Next(top); err != nil {
		return dst, err
	}
	return w.appendValue(dst, top)
}

// appendValue renders the value that starts with token t; for a list or map
// it reads the elements and the closing token from w.r.
func (w *jsonWriter) appendValue(dst []byte, t *wire.CDTToken) ([]byte, error) {
	switch t.Kind {
	case wire.CDTNil:
		return append(dst, "null"...), nil
	case wire.CDTBool:
		return appendBool(dst, t.Bool), nil
	case wire.CDTInt:
		return appendInt(dst, t.Int), nil
	case wire.CDTUint:
		return appendUint(dst, t.Uint), nil
	case wire.CDTFloat:
		if t.Float32 {
			return appendJSONFloat(dst, t.Float, 32), nil
		}
		return appendJSONFloat(dst, t.Float, 64), nil
	case wire.CDTString:
		return appendJSONString(dst, t.Bytes), nil
	case wire.CDTTyped:
		if t.Sub == wire.ParticleGeoJSON {
			return w.appendGeoJSON(dst, t.Bytes), nil
		}
		return appendQuotedBase64(dst, t.Bytes), nil
	case wire.CDTBytes, wire.CDTExt:
		return appendQuotedBase64(dst, t.Bytes), nil
	case wire.CDTList:
		return w.appendList(dst, t.N)
	case wire.CDTMap:
		return w.appendMap(dst, t.N)
	}
	return dst, errJSONToken
}

var errJSONToken = errors.New("unexpected token in list or map")

func (w *jsonWriter) appendList(dst []byte, n int) ([]byte, error) {
	dst = append(dst, '[')
	var t wire.CDTToken
	var err error
	for i := 0; i < n; i++ {
		if i > 0 {
			dst = append(dst, ',')
		}
		if err = w.r.Next(&t); err != nil {
			return dst, err
		}
		if dst, err = w.appendValue(dst, &t); err != nil {
			return dst, err
		}
	}
	if err = w.closeContainer(&t); err != nil {
		return dst, err
	}
	return append(dst, ']'), nil
}

func (w *jsonWriter) appendMap(dst []byte, n int) ([]byte, error) {
	dst = append(dst, '{')
	o := w.keys.open()
	var t wire.CDTToken
	var err error
	first := true
	for i := 0; i < n; i++ {
		mark := len(dst)
		if !first {
			dst = append(dst, ',')
		}
		if err = w.r.Next(&t); err != nil {
			return dst, err
		}
		ks := len(dst)
		if dst, err = w.appendName(dst, &t); err != nil {
			return dst, err
		}
		keep := true
		dst, keep = w.keys.uniq(&o, dst, ks)
		if !keep {
			dst = dst[:mark]
		} else {
			dst = append(dst, ':')
		}
		if err = w.r.Next(&t); err != nil {
			return dst, err
		}
		vs := len(dst)
		if dst, err = w.appendValue(dst, &t); err != nil {
			return dst, err
		}
		if !keep {
			dst = dst[:vs] // the value of a dropped member
			continue
		}
		first = false
	}
	w.keys.close(&o)
	if err = w.closeContainer(&t); err != nil {
		return dst, err
	}
	return append(dst, '}'), nil
}

// closeContainer reads the end token of the list or map just rendered.
func (w *jsonWriter) closeContainer(t *wire.CDTToken) error {
	if err := w.r.Next(t); err != nil {
		return err
	}
	if t.Kind != wire.CDTEnd {
		return errJSONToken
	}
	return nil
}

// appendName appends a map key as an object name (a JSON string).
func (w *jsonWriter) appendName(dst []byte, t *wire.CDTToken) ([]byte, error) {
	switch t.Kind {
	case wire.CDTString, wire.CDTBytes, wire.CDTExt:
		return w.appendValue(dst, t) // already a string
	case wire.CDTTyped:
		if t.Sub != wire.ParticleGeoJSON {
			return w.appendValue(dst, t)
		}
	case wire.CDTInt:
		dst = append(dst, '"')
		dst = appendInt(dst, t.Int)
		return append(dst, '"'), nil
	case wire.CDTUint:
		dst = append(dst, '"')
		dst = appendUint(dst, t.Uint)
		return append(dst, '"'), nil
	}
	// nil, bool, float, GeoJSON, list, map: the JSON text, as a string. A
	// text that is a string already ("NaN", a GeoJSON that was not valid)
	// is kept; others are quoted in place: rendered at p, escaped after
	// themselves, then moved back to p. The source of the escape aliases dst
	// but lies below the bytes being appended, so it is never overwritten.
	//
	// Inside the text of a list or map key, a list, map or GeoJSON key is
	// left bare (its text, not quoted): quoting at every level would escape
	// the innermost strings once per level, and the output would grow
	// exponentially with the nesting. So a string is re-escaped at most
	// once and the output stays linear in the input.
	container := t.Kind == wire.CDTList || t.Kind == wire.CDTMap || t.Kind == wire.CDTTyped
	if container && w.inKey > 0 {
		return w.appendValue(dst, t)
	}
	p := len(dst)
	if container {
		w.inKey++
	}
	dst, err := w.appendValue(dst, t)
	if container {
		w.inKey--
	}
	if err != nil || dst[p] == '"' {
		return dst, err
	}
	q := len(dst)
	dst = appendJSONString(dst, dst[p:q])
	n := copy(dst[p:], dst[q:])
	return dst[:p+n], nil
}

// jsonReserve is the room Append makes sure dst has before a message:
// enough for a typical record. Less room left than that, it grows dst once
// by an estimate of the whole message (jsonGrow).
const jsonReserve = 1024

// jsonGrow readies dst for the message of m: one growth by an estimate of
// its size (twice its names and values, plus the members around them)
// rather than one per append as the buffer fills, and room for the fast
// paths, which write straight into dst when it has room. When dst has
// jsonReserve bytes of room, the usual case for a batch buffer, it costs one
// compare.
func jsonGrow(dst []byte, m *wire.Message) []byte {
	if cap(dst)-len(dst) >= jsonReserve {
		return dst
	}
	est := 256 + 2*(len(m.Namespace)+len(m.Set)+len(m.Key.Bytes))
	for i := range m.Bins {
		est += 64 + 2*(len(m.Bins[i].Name)+len(m.Bins[i].Value))
	}
	return slices.Grow(dst, est)
}
