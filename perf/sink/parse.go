package sink

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/linkedin/goavro/v2"
	"github.com/tinylib/msgp/msgp"
)

// Framings the sink tells apart (output-formats.md), as counted in Stats.
const (
	FormatJSON         = "json"          // one JSON message (json or flat-json), application/json
	FormatNDJSON       = "ndjson"        // application/x-ndjson, one message per line
	FormatJSONArray    = "json-array"    // application/json, [m1,m2,...]
	FormatESBulk       = "es-bulk"       // application/x-ndjson, action line + document line
	FormatSplunkHEC    = "splunk-hec"    // application/json, {"time":..,"event":{..}} per line
	FormatMsgpack      = "msgpack"       // one MessagePack message, application/x-msgpack
	FormatMsgpackArray = "msgpack-array" // a MessagePack array of messages
	FormatAvro         = "avro"          // Avro single-object encoding, avro/binary
	FormatAvroOCF      = "avro-ocf"      // Avro object container file, avro/binary
)

// parsed is what a body held.
type parsed struct {
	format      string
	records     int
	ids         []ID
	raws        [][]byte // each message's bytes, for --store-raw
	modes       map[string]int
	unvalidated int // avro single-object messages not checked (no schema)
	noID        int // valid messages without an id (an avro user schema without the fields)
}

func (p *parsed) add(id ID, raw []byte, mode string, keepRaw bool) {
	p.records++
	p.ids = append(p.ids, id)
	if keepRaw {
		p.raws = append(p.raws, raw)
	}
	if mode != "" {
		if p.modes == nil {
			p.modes = map[string]int{}
		}
		p.modes[mode]++
	}
}

// invalid is a message that fails validation: the request is answered 400.
type invalid struct{ msg string }

func (e *invalid) Error() string { return e.msg }

func bad(format string, args ...any) error { return &invalid{fmt.Sprintf(format, args...)} }

// parser validates bodies. One per sink; safe for concurrent use.
type parser struct {
	metaKey  string
	codec    *goavro.Codec // nil: avro single-object data is not validated
	fps      [][8]byte     // fingerprints of schema accepted in single-object headers
	countAll bool          // Check "count": frame and count only
	keepRaw  bool
}

// detect tells the framing from the content type and the body.
func detect(contentType string, body []byte) string {
	mt, _, _ := mime.ParseMediaType(contentType)
	b := bytes.TrimLeft(body, " \t\r\n")
	switch mt {
	case "application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines":
		if isESAction(firstLine(b)) {
			return FormatESBulk
		}
		return FormatNDJSON
	case "application/json":
		return detectJSON(b)
	case "application/x-msgpack", "application/msgpack", "application/vnd.msgpack":
		return detectMsgpack(b)
	case "avro/binary", "application/avro", "application/vnd.apache.avro+binary", "application/avro-binary":
		if bytes.HasPrefix(body, []byte("Obj\x01")) {
			return FormatAvroOCF
		}
		return FormatAvro
	}
	// Unknown content type: sniff.
	switch {
	case bytes.HasPrefix(body, []byte("Obj\x01")):
		return FormatAvroOCF
	case len(body) >= 2 && body[0] == 0xc3 && body[1] == 0x01:
		return FormatAvro
	case len(b) > 0 && (b[0] == '{' || b[0] == '['):
		if b[0] == '{' && bytes.Contains(b, []byte("\n{")) {
			if isESAction(firstLine(b)) {
				return FormatESBulk
			}
			if detectJSON(b) == FormatSplunkHEC {
				return FormatSplunkHEC
			}
			return FormatNDJSON
		}
		return detectJSON(b)
	}
	return detectMsgpack(body)
}

func firstLine(b []byte) []byte {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return b[:i]
	}
	return b
}

// isESAction: a line that is an object with one key, an es-bulk action.
func isESAction(line []byte) bool {
	var m map[string]json.RawMessage
	if json.Unmarshal(line, &m) != nil || len(m) != 1 {
		return false
	}
	for k, v := range m {
		switch k {
		case "index", "create", "delete", "update":
			return len(v) > 0 && v[0] == '{'
		}
	}
	return false
}

// detectJSON: '[' is a json-array; an object with "event" and "time" is splunk-hec;
// else one message.
func detectJSON(b []byte) string {
	if len(b) > 0 && b[0] == '[' {
		return FormatJSONArray
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	var first map[string]json.RawMessage
	if dec.Decode(&first) == nil {
		_, ev := first["event"]
		_, tm := first["time"]
		if ev && tm {
			return FormatSplunkHEC
		}
	}
	return FormatJSON
}

// detectMsgpack: an array whose first element is an integer is one
// message ([1, kind, body]); an array of arrays is a batch.
func detectMsgpack(b []byte) string {
	n, rest, err := msgp.ReadArrayHeaderBytes(b)
	if err != nil || n == 0 {
		return FormatMsgpackArray
	}
	if t := msgp.NextType(rest); t == msgp.IntType || t == msgp.UintType {
		return FormatMsgpack
	}
	return FormatMsgpackArray
}

// parse validates body in the given framing and extracts the ids.
func (ps *parser) parse(format string, body []byte) (*parsed, error) {
	p := &parsed{format: format}
	if ps.countAll {
		return p, ps.count(p, body)
	}
	switch format {
	case FormatJSON, FormatNDJSON, FormatJSONArray, FormatESBulk, FormatSplunkHEC:
		if !utf8.Valid(body) {
			return nil, bad("%s body is not valid UTF-8", format)
		}
	}
	var err error
	switch format {
	case FormatJSON:
		err = ps.parseJSONSingle(p, body)
	case FormatNDJSON:
		err = ps.eachLine(body, func(n int, line []byte) error { return ps.jsonMessage(p, n, line) })
	case FormatJSONArray:
		err = ps.parseJSONArray(p, body)
	case FormatESBulk:
		err = ps.parseESBulk(p, body)
	case FormatSplunkHEC:
		err = ps.parseSplunk(p, body)
	case FormatMsgpack:
		err = ps.parseMsgpack(p, body, false)
	case FormatMsgpackArray:
		err = ps.parseMsgpack(p, body, true)
	case FormatAvro:
		err = ps.parseAvroSingle(p, body)
	case FormatAvroOCF:
		err = ps.parseOCF(p, body)
	default:
		err = bad("unknown format %q", format)
	}
	if err != nil {
		return nil, err
	}
	return p, nil
}

func (ps *parser) eachLine(body []byte, fn func(n int, line []byte) error) error {
	n := 0
	for len(body) > 0 {
		line := body
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			line, body = body[:i], body[i+1:]
		} else {
			body = nil
		}
		line = bytes.TrimRight(line, "\r")
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		n++
		if err := fn(n, line); err != nil {
			return err
		}
	}
	return nil
}

// ---- JSON ----

// decodeStrict decodes one JSON value with numbers kept as json.Number,
// rejecting duplicate keys and trailing data.
func decodeStrict(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON value")
	}
	if err := checkDupKeys(data); err != nil {
		return nil, err
	}
	return v, nil
}

// checkDupKeys reports an object with a key twice. data must be valid
// JSON (encoding/json has checked it); keys are compared after unescaping.
func checkDupKeys(data []byte) error {
	type level struct {
		obj       bool
		expectKey bool
		keys      []string
	}
	var stack []level
	for i := 0; i < len(data); {
		switch data[i] {
		case '{':
			stack = append(stack, level{obj: true, expectKey: true})
			i++
		case '[':
			stack = append(stack, level{})
			i++
		case '}', ']':
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
			i++
		case ',':
			if n := len(stack); n > 0 && stack[n-1].obj {
				stack[n-1].expectKey = true
			}
			i++
		case '"':
			j, esc := i+1, false
			for ; j < len(data) && data[j] != '"'; j++ {
				if data[j] == '\\' {
					j++
					esc = true
				}
			}
			if n := len(stack); n > 0 && stack[n-1].obj && stack[n-1].expectKey {
				top := &stack[n-1]
				top.expectKey = false
				k := string(data[i+1 : j])
				if esc {
					var u string
					if json.Unmarshal(data[i:j+1], &u) == nil {
						k = u
					}
				}
				for _, o := range top.keys {
					if o == k {
						return fmt.Errorf("duplicate key %q", k)
					}
				}
				top.keys = append(top.keys, k)
			}
			i = j + 1
		default:
			i++
		}
	}
	return nil
}

func (ps *parser) parseJSONSingle(p *parsed, body []byte) error {
	return ps.jsonMessage(p, 1, bytes.TrimSpace(body))
}

func (ps *parser) parseJSONArray(p *parsed, body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('[') {
		return bad("json-array: the body is not an array")
	}
	n := 0
	for dec.More() {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return bad("json-array element %d: %v", n+1, err)
		}
		n++
		if err := ps.jsonMessage(p, n, raw); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return bad("json-array: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return bad("json-array: data after the array")
	}
	return nil
}

// jsonMessage validates one json or flat-json message.
func (ps *parser) jsonMessage(p *parsed, n int, raw []byte) error {
	v, err := decodeStrict(raw)
	if err != nil {
		return bad("message %d: %v", n, err)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return bad("message %d: not a JSON object", n)
	}
	id, mode, err := ps.jsonID(obj)
	if err != nil {
		return bad("message %d (%s): %v", n, mode, err)
	}
	p.add(id, raw, mode, ps.keepRaw)
	return nil
}

// jsonID checks a json (typed) or flat-json message and returns its id.
func (ps *parser) jsonID(obj map[string]any) (ID, string, error) {
	if _, ok := obj["msg"]; ok {
		if _, ok := obj["key"]; ok {
			id, err := typedJSONID(obj)
			return id, "json", err
		}
	}
	if md, ok := obj[ps.metaKey].(map[string]any); ok {
		id, err := flatJSONID(md)
		return id, "flat-json", err
	}
	return ID{}, "", fmt.Errorf("neither a json message (msg, key) nor a flat-json one (%q)", ps.metaKey)
}

func typedJSONID(o map[string]any) (ID, error) {
	var id ID
	id.Kind = kindOf(str(o["msg"]))
	if id.Kind == KindUnknown {
		return id, fmt.Errorf("msg %v is neither write nor delete", o["msg"])
	}
	key, ok := o["key"].([]any)
	if !ok || len(key) != 4 {
		return id, errors.New("key is not [namespace, set, digest, userKey]")
	}
	ns, ok := key[0].(string)
	if !ok || ns == "" || len(ns) > 31 {
		return id, errors.New("key[0] (namespace) is not a string of 1..31 bytes")
	}
	id.Namespace = ns
	if key[1] != nil {
		if s, ok := key[1].(string); !ok || len(s) > 63 {
			return id, errors.New("key[1] (set) is not null or a string")
		}
	}
	if err := digest64(key[2], &id.Digest); err != nil {
		return id, fmt.Errorf("key[2]: %v", err)
	}
	if err := userKey(key[3]); err != nil {
		return id, fmt.Errorf("key[3]: %v", err)
	}
	var err error
	if id.LUT, err = integer(o["lut"], "lut"); err != nil {
		return id, err
	}
	if g, err := integer(o["gen"], "gen"); err != nil || g < 0 || g > math.MaxUint32 {
		return id, fmt.Errorf("gen: %v", o["gen"])
	}
	if id.Kind == KindDelete {
		if _, ok := o["durable"].(bool); !ok {
			return id, errors.New("delete without a boolean durable")
		}
		if _, ok := o["bins"]; ok {
			return id, errors.New("delete with bins")
		}
		return id, nil
	}
	if e, err := integer(o["exp"], "exp"); err != nil || e < 0 {
		return id, fmt.Errorf("exp: %v", o["exp"])
	}
	if v, ok := o["partial"]; ok {
		if _, ok := v.(bool); !ok {
			return id, errors.New("partial is not a boolean")
		}
	}
	bins, ok := o["bins"].([]any)
	if !ok {
		return id, errors.New("write without a bins array")
	}
	names := map[string]bool{}
	for i, b := range bins {
		bo, ok := b.(map[string]any)
		if !ok {
			return id, fmt.Errorf("bins[%d] is not an object", i)
		}
		name, ok := bo["name"].(string)
		if !ok || len(name) > 15 {
			return id, fmt.Errorf("bins[%d].name is not a string of 0..15 bytes", i)
		}
		if names[name] {
			return id, fmt.Errorf("bin %q twice", name)
		}
		names[name] = true
		typ, ok := bo["type"].(string)
		if !ok || !binTypes[typ] && !strings.HasPrefix(typ, "type-") {
			return id, fmt.Errorf("bins[%d].type %v is not a known type", i, bo["type"])
		}
		if _, ok := bo["value"]; !ok {
			return id, fmt.Errorf("bins[%d] without a value", i)
		}
		if err := checkTypedValue(typ, bo); err != nil {
			return id, fmt.Errorf("bin %q: %v", name, err)
		}
	}
	if len(bins) == 0 && o["partial"] != true {
		return id, errors.New("a write without bins must be partial (metadata-only)")
	}
	return id, nil
}

var binTypes = map[string]bool{"str": true, "int": true, "float": true, "bool": true, "blob": true,
	"list": true, "map": true, "geojson": true, "hll": true, "java-blob": true, "csharp-blob": true,
	"python-blob": true, "ruby-blob": true, "php-blob": true, "erlang-blob": true, "vector": true, "null": true}

// checkTypedValue checks a bin's value against its json type.
func checkTypedValue(typ string, bo map[string]any) error {
	v := bo["value"]
	switch typ {
	case "str":
		if _, ok := v.(string); !ok {
			return errors.New("str value is not a string")
		}
	case "int":
		if _, err := integer(v, "value"); err != nil {
			if _, err2 := unsigned(v); err2 != nil {
				return err
			}
		}
	case "float":
		switch x := v.(type) {
		case json.Number:
			if _, err := x.Float64(); err != nil {
				return err
			}
		case string:
			if x != "NaN" && x != "Infinity" && x != "-Infinity" {
				return fmt.Errorf("float value %q", x)
			}
		default:
			return errors.New("float value is not a number")
		}
	case "bool":
		if _, ok := v.(bool); !ok {
			return errors.New("bool value is not a boolean")
		}
	case "null":
		if v != nil {
			return errors.New("null bin with a value")
		}
	case "list":
		if _, ok := v.([]any); !ok {
			return errors.New("list value is not an array")
		}
		if o, ok := bo["ordered"]; ok {
			if _, ok := o.(bool); !ok {
				return errors.New("ordered is not a boolean")
			}
		}
	case "map":
		if _, ok := v.(map[string]any); !ok {
			return errors.New("map value is not an object")
		}
		if o, ok := bo["order"]; ok && o != "unordered" && o != "key" && o != "key-value" {
			return fmt.Errorf("order %v", o)
		}
	case "geojson":
		// The object itself, or a string when the text was not JSON.
	default: // blobs and typed bytes: base64
		s, ok := v.(string)
		if !ok {
			return errors.New("bytes value is not a base64 string")
		}
		if _, err := base64.StdEncoding.DecodeString(s); err != nil {
			return fmt.Errorf("bytes value: %v", err)
		}
	}
	return nil
}

func flatJSONID(md map[string]any) (ID, error) {
	var id ID
	ns, ok := md["namespace"].(string)
	if !ok || ns == "" || len(ns) > 31 {
		return id, errors.New("metadata.namespace is not a string of 1..31 bytes")
	}
	id.Namespace = ns
	if v, ok := md["set"]; ok {
		if s, ok := v.(string); !ok || s == "" || len(s) > 63 {
			return id, errors.New("metadata.set is not a string (left out when none)")
		}
	}
	if v, ok := md["userKey"]; ok {
		if v == nil {
			return id, errors.New("metadata.userKey is null (left out when none)")
		}
		if err := userKey(v); err != nil {
			return id, fmt.Errorf("metadata.userKey: %v", err)
		}
	}
	if err := digest64(md["digest"], &id.Digest); err != nil {
		return id, fmt.Errorf("metadata.digest: %v", err)
	}
	id.Kind = kindOf(str(md["msg"]))
	if id.Kind == KindUnknown {
		return id, fmt.Errorf("metadata.msg %v is neither write nor delete", md["msg"])
	}
	var err error
	if id.LUT, err = integer(md["lut"], "metadata.lut"); err != nil {
		return id, err
	}
	if g, err := integer(md["gen"], "metadata.gen"); err != nil || g < 0 || g > math.MaxUint32 {
		return id, fmt.Errorf("metadata.gen: %v", md["gen"])
	}
	if id.Kind == KindDelete {
		if _, ok := md["durable"].(bool); !ok {
			return id, errors.New("delete without a boolean metadata.durable")
		}
	} else if e, err := integer(md["exp"], "metadata.exp"); err != nil || e < 0 {
		return id, fmt.Errorf("metadata.exp: %v", md["exp"])
	}
	if v, ok := md["partial"]; ok {
		if _, ok := v.(bool); !ok {
			return id, errors.New("metadata.partial is not a boolean")
		}
	}
	return id, nil
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func integer(v any, what string) (int64, error) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, fmt.Errorf("%s is not a number: %v", what, v)
	}
	i, err := strconv.ParseInt(string(n), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s is not an integer literal: %s", what, n)
	}
	return i, nil
}

func unsigned(v any) (uint64, error) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, errors.New("not a number")
	}
	return strconv.ParseUint(string(n), 10, 64)
}

func userKey(v any) error {
	switch x := v.(type) {
	case nil, string:
		return nil
	case json.Number:
		_, err := x.Float64()
		return err
	}
	return fmt.Errorf("user key %v is not null, a number or a string", v)
}

// digest64 decodes a base64 digest (standard, padded: 28 characters).
func digest64(v any, d *[20]byte) error {
	s, ok := v.(string)
	if !ok || len(s) != 28 {
		return fmt.Errorf("digest %v is not 28 base64 characters", v)
	}
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil || len(b) != 20 {
		return fmt.Errorf("digest %q is not base64 of 20 bytes", s)
	}
	copy(d[:], b)
	return nil
}

// ---- es-bulk and splunk-hec ----

func (ps *parser) parseESBulk(p *parsed, body []byte) error {
	var pending map[string]any // the action waiting for its document
	var pendingID [20]byte
	err := ps.eachLine(body, func(n int, line []byte) error {
		v, err := decodeStrict(line)
		if err != nil {
			return bad("es-bulk line %d: %v", n, err)
		}
		obj, ok := v.(map[string]any)
		if !ok {
			return bad("es-bulk line %d: not an object", n)
		}
		if pending != nil { // a document line
			id, mode, err := ps.jsonID(obj)
			if err != nil {
				return bad("es-bulk line %d (%s document): %v", n, mode, err)
			}
			if id.Digest != pendingID {
				return bad("es-bulk line %d: document digest %x differs from the action's _id %x", n, id.Digest, pendingID)
			}
			pending = nil
			p.add(id, line, mode, ps.keepRaw)
			return nil
		}
		if len(obj) != 1 {
			return bad("es-bulk line %d: an action line has one key", n)
		}
		for action, a := range obj {
			meta, ok := a.(map[string]any)
			if !ok {
				return bad("es-bulk line %d: %s is not an object", n, action)
			}
			if _, ok := meta["_index"].(string); !ok {
				return bad("es-bulk line %d: %s without an _index string", n, action)
			}
			hx, _ := meta["_id"].(string)
			d, err := hex.DecodeString(hx)
			if err != nil || len(d) != 20 || strings.ToLower(hx) != hx {
				return bad("es-bulk line %d: _id %v is not a 40-digit lower-case hex digest", n, meta["_id"])
			}
			switch action {
			case "index", "create":
				pending = meta
				copy(pendingID[:], d)
			case "delete":
				id := ID{LUT: LUTUnknown, Kind: KindDelete}
				copy(id.Digest[:], d)
				p.add(id, line, "es-delete", ps.keepRaw)
			default:
				return bad("es-bulk line %d: action %q", n, action)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if pending != nil {
		return bad("es-bulk: the last action has no document line")
	}
	return nil
}

func (ps *parser) parseSplunk(p *parsed, body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	n := 0
	for {
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if err == io.EOF {
			break
		}
		n++
		if err != nil {
			return bad("splunk-hec event %d: %v", n, err)
		}
		v, err := decodeStrict(raw)
		if err != nil {
			return bad("splunk-hec event %d: %v", n, err)
		}
		obj, ok := v.(map[string]any)
		if !ok {
			return bad("splunk-hec event %d: not an object", n)
		}
		if _, ok := obj["time"].(json.Number); !ok {
			return bad("splunk-hec event %d: time is not a number", n)
		}
		ev, ok := obj["event"].(map[string]any)
		if !ok {
			return bad("splunk-hec event %d: event is not an object", n)
		}
		id, mode, err := ps.jsonID(ev)
		if err != nil {
			return bad("splunk-hec event %d (%s): %v", n, mode, err)
		}
		p.add(id, raw, mode, ps.keepRaw)
	}
	if n == 0 {
		return bad("splunk-hec: no event")
	}
	return nil
}

// ---- MessagePack ----

// mpPair is a map entry (keys need not be strings).
type mpPair struct{ k, v any }

// mpExt is an ext value.
type mpExt struct {
	typ  int8
	data []byte
}

// readMP decodes one MessagePack value with msgp's readers: maps become
// pair lists (Aerospike map keys are integers, strings or bytes).
func readMP(b []byte, depth int) (any, []byte, error) {
	if depth > 128 {
		return nil, b, errors.New("msgpack nested too deep")
	}
	switch msgp.NextType(b) {
	case msgp.NilType:
		b, err := msgp.ReadNilBytes(b)
		return nil, b, err
	case msgp.BoolType:
		return msgp.ReadBoolBytes(b)
	case msgp.IntType:
		return msgp.ReadInt64Bytes(b)
	case msgp.UintType:
		return msgp.ReadUint64Bytes(b)
	case msgp.Float32Type:
		return msgp.ReadFloat32Bytes(b)
	case msgp.Float64Type:
		return msgp.ReadFloat64Bytes(b)
	case msgp.StrType:
		return msgp.ReadStringBytes(b)
	case msgp.BinType:
		return msgp.ReadBytesBytes(b, nil)
	case msgp.ArrayType:
		n, rest, err := msgp.ReadArrayHeaderBytes(b)
		if err != nil {
			return nil, b, err
		}
		if uint64(n) > uint64(len(rest)) {
			return nil, b, msgp.ErrShortBytes
		}
		a := make([]any, n)
		for i := range a {
			if a[i], rest, err = readMP(rest, depth+1); err != nil {
				return nil, b, err
			}
		}
		return a, rest, nil
	case msgp.MapType:
		n, rest, err := msgp.ReadMapHeaderBytes(b)
		if err != nil {
			return nil, b, err
		}
		if uint64(n)*2 > uint64(len(rest)) {
			return nil, b, msgp.ErrShortBytes
		}
		m := make([]mpPair, n)
		for i := range m {
			if m[i].k, rest, err = readMP(rest, depth+1); err != nil {
				return nil, b, err
			}
			if m[i].v, rest, err = readMP(rest, depth+1); err != nil {
				return nil, b, err
			}
		}
		return m, rest, nil
	case msgp.ExtensionType:
		var raw msgp.RawExtension
		raw.Type = extType(b) // msgp checks the type it is given
		rest, err := msgp.ReadExtensionBytes(b, &raw)
		if err != nil {
			return nil, b, err
		}
		return mpExt{typ: raw.Type, data: raw.Data}, rest, nil
	}
	return nil, b, fmt.Errorf("msgpack: unsupported byte 0x%02x", firstByte(b))
}

// extType is the type byte of the ext value at the start of b.
func extType(b []byte) int8 {
	at := map[byte]int{0xd4: 1, 0xd5: 1, 0xd6: 1, 0xd7: 1, 0xd8: 1, 0xc7: 2, 0xc8: 3, 0xc9: 5}[firstByte(b)]
	if at == 0 || len(b) <= at {
		return 0
	}
	return int8(b[at])
}

func firstByte(b []byte) byte {
	if len(b) == 0 {
		return 0
	}
	return b[0]
}

func mpInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x), true
		}
	}
	return 0, false
}

func (ps *parser) parseMsgpack(p *parsed, body []byte, batch bool) error {
	if !batch {
		v, rest, err := readMP(body, 0)
		if err != nil {
			return bad("msgpack: %v", err)
		}
		if len(rest) != 0 {
			return bad("msgpack: %d bytes after the message", len(rest))
		}
		return ps.mpMessage(p, 1, v, body)
	}
	n, rest, err := msgp.ReadArrayHeaderBytes(body)
	if err != nil {
		return bad("msgpack-array: %v", err)
	}
	for i := 0; i < int(n); i++ {
		v, r2, err := readMP(rest, 0)
		if err != nil {
			return bad("msgpack-array message %d: %v", i+1, err)
		}
		if err := ps.mpMessage(p, i+1, v, rest[:len(rest)-len(r2)]); err != nil {
			return err
		}
		rest = r2
	}
	if len(rest) != 0 {
		return bad("msgpack-array: %d bytes after the array", len(rest))
	}
	return nil
}

// mpMessage checks [1, kind, body]: write body [key, gen, exp, lut, bins,
// partial], delete body [key, flags, gen, lut]; key [ns, set, digest, userKey].
func (ps *parser) mpMessage(p *parsed, n int, v any, raw []byte) error {
	fail := func(f string, args ...any) error { return bad("msgpack message %d: "+f, append([]any{n}, args...)...) }
	m, ok := v.([]any)
	if !ok || len(m) != 3 {
		return fail("not [version, kind, body]")
	}
	if ver, ok := mpInt(m[0]); !ok || ver != 1 {
		return fail("version %v, want 1", m[0])
	}
	kind, _ := mpInt(m[1])
	body, ok := m[2].([]any)
	if !ok {
		return fail("body is not an array")
	}
	var id ID
	switch kind {
	case 1:
		id.Kind = KindWrite
		if len(body) < 5 {
			return fail("write body of %d elements, want [key, gen, exp, lut, bins, partial]", len(body))
		}
		for i, what := range []string{"gen", "exp"} {
			if _, ok := mpInt(body[1+i]); !ok {
				return fail("%s %v is not an integer", what, body[1+i])
			}
		}
		bins, ok := body[4].([]any)
		if !ok {
			return fail("bins is not an array")
		}
		for i, b := range bins {
			bin, ok := b.([]any)
			if !ok || len(bin) != 4 {
				return fail("bins[%d] is not [name, type, flags, value]", i)
			}
			if _, ok := bin[0].(string); !ok {
				return fail("bins[%d] name is not a string", i)
			}
			if t, ok := mpInt(bin[1]); !ok || t < 0 || t > 255 {
				return fail("bins[%d] type %v", i, bin[1])
			}
			if _, ok := mpInt(bin[2]); !ok {
				return fail("bins[%d] flags %v", i, bin[2])
			}
		}
		if len(body) > 5 {
			if _, ok := body[5].(bool); !ok {
				return fail("partial is not a boolean")
			}
		}
	case 2:
		id.Kind = KindDelete
		if len(body) < 4 {
			return fail("delete body of %d elements, want [key, flags, gen, lut]", len(body))
		}
		for i, what := range []string{"flags", "gen"} {
			if _, ok := mpInt(body[1+i]); !ok {
				return fail("%s %v is not an integer", what, body[1+i])
			}
		}
	default:
		return fail("kind %v is neither 1 (write) nor 2 (delete)", m[1])
	}
	key, ok := body[0].([]any)
	if !ok || len(key) != 4 {
		return fail("key is not [namespace, set, digest, userKey]")
	}
	ns, ok := key[0].(string)
	if !ok || ns == "" {
		return fail("namespace is not a string")
	}
	id.Namespace = ns
	if _, ok := key[1].(string); !ok && key[1] != nil {
		return fail("set is neither a string nor nil")
	}
	d, ok := key[2].([]byte)
	if !ok || len(d) != 20 {
		return fail("digest is not 20 bytes (bin)")
	}
	copy(id.Digest[:], d)
	if id.LUT, ok = mpInt(body[3]); !ok {
		return fail("lut %v is not an integer", body[3])
	}
	p.add(id, raw, "message-pack", ps.keepRaw)
	return nil
}

// ---- Avro ----

// avroFingerprints are the CRC-64-AVRO fingerprints (little-endian, as in a
// single-object header) a schema may be announced with, from hamba's
// canonical form c: over c, and over the specification's Parsing Canonical
// Form, which also strips logicalType, precision and scale (and writes a
// primitive left as {"type":"long"} as its name).
func avroFingerprints(c string) [][8]byte {
	var out [][8]byte
	add := func(canon string) {
		var f [8]byte
		binary.LittleEndian.PutUint64(f[:], crc64Avro([]byte(canon)))
		for _, o := range out {
			if o == f {
				return
			}
		}
		out = append(out, f)
	}
	add(c)
	c = logicalPrim.ReplaceAllString(c, `"$1"`)
	c = logicalAttr.ReplaceAllString(c, "")
	c = barePrim.ReplaceAllString(c, `"$1"`)
	add(c)
	return out
}

var (
	logicalPrim = regexp.MustCompile(`\{"type":"(\w+)","logicalType":"[^"]*"\}`)
	logicalAttr = regexp.MustCompile(`,"(logicalType|precision|scale)":("[^"]*"|\d+)`)
	barePrim    = regexp.MustCompile(`\{"type":"(null|boolean|int|long|float|double|bytes|string)"\}`)
)

// crc64Avro is the Rabin fingerprint of the Avro specification.
func crc64Avro(b []byte) uint64 {
	const empty = 0xc15d213aa4d7a795
	fp := uint64(empty)
	for _, c := range b {
		fp = fp>>8 ^ crcTable[byte(fp)^c]
	}
	return fp
}

var crcTable = func() (t [256]uint64) {
	const empty = 0xc15d213aa4d7a795
	for i := range t {
		fp := uint64(i)
		for j := 0; j < 8; j++ {
			fp = fp>>1 ^ (empty & -(fp & 1))
		}
		t[i] = fp
	}
	return t
}()

func (ps *parser) parseAvroSingle(p *parsed, body []byte) error {
	if len(body) < 10 || body[0] != 0xc3 || body[1] != 0x01 {
		return bad("avro: not single-object encoding (C3 01 + fingerprint)")
	}
	if ps.codec == nil {
		p.records++
		p.unvalidated++
		if ps.keepRaw {
			p.raws = append(p.raws, body)
		}
		return nil
	}
	var fp [8]byte
	copy(fp[:], body[2:10])
	known := false
	for _, f := range ps.fps {
		known = known || f == fp
	}
	if !known {
		return bad("avro: schema fingerprint %x is not the sink's schema", fp)
	}
	// goavro: an Avro implementation independent of encode/ (and of the
	// hamba/avro the encoder parses schemas with).
	v, rest, err := ps.codec.NativeFromBinary(body[10:])
	if err != nil {
		return bad("avro datum: %v", err)
	}
	if len(rest) != 0 {
		return bad("avro: bytes after the datum")
	}
	return ps.avroRecord(p, 1, v, body)
}

func (ps *parser) parseOCF(p *parsed, body []byte) error {
	dec, err := goavro.NewOCFReader(bytes.NewReader(body))
	if err != nil {
		return bad("avro-ocf: %v", err)
	}
	n := 0
	for dec.Scan() {
		v, err := dec.Read()
		if err != nil {
			return bad("avro-ocf record %d: %v", n+1, err)
		}
		n++
		if err := ps.avroRecord(p, n, v, nil); err != nil {
			return err
		}
	}
	if err := dec.Err(); err != nil {
		return bad("avro-ocf: %v", err)
	}
	return nil
}

// avroRecord extracts the id from a decoded record: namespace, digest, lut
// (and msg). A user schema without these fields is valid but has no id.
func (ps *parser) avroRecord(p *parsed, n int, v any, raw []byte) error {
	m, ok := v.(map[string]any)
	if !ok {
		return bad("avro record %d is not a record", n)
	}
	ns, okNS := m["namespace"].(string)
	var id ID
	id.Namespace = ns
	okD := false
	switch d := m["digest"].(type) {
	case [20]byte:
		id.Digest, okD = d, true
	case []byte:
		if len(d) == 20 {
			copy(id.Digest[:], d)
			okD = true
		}
	case string: // a user schema may carry it as base64 or hex text
		if b, err := base64.StdEncoding.DecodeString(d); err == nil && len(b) == 20 {
			copy(id.Digest[:], b)
			okD = true
		} else if b, err := hex.DecodeString(d); err == nil && len(b) == 20 {
			copy(id.Digest[:], b)
			okD = true
		}
	}
	okL := true
	switch l := m["lut"].(type) {
	case time.Time:
		id.LUT = l.UnixMilli()
	case int64:
		id.LUT = l
	case int32:
		id.LUT = int64(l)
	default:
		okL = false
	}
	switch k := m["msg"].(type) {
	case string:
		id.Kind = kindOf(k)
	}
	if !okNS || !okD || !okL {
		p.records++
		p.noID++
		return nil
	}
	p.add(id, raw, "avro", ps.keepRaw && raw != nil)
	return nil
}

// ---- count mode ----

// count frames and counts the records of a body without decoding them.
func (ps *parser) count(p *parsed, body []byte) error {
	switch p.format {
	case FormatJSON, FormatMsgpack, FormatAvro:
		p.records = 1
	case FormatNDJSON, FormatSplunkHEC:
		return ps.eachLine(body, func(int, []byte) error { p.records++; return nil })
	case FormatESBulk:
		expectDoc := false
		return ps.eachLine(body, func(n int, line []byte) error {
			if expectDoc {
				expectDoc = false
				return nil
			}
			p.records++
			expectDoc = !bytes.HasPrefix(bytes.TrimLeft(line, " {"), []byte(`"delete"`))
			return nil
		})
	case FormatJSONArray:
		dec := json.NewDecoder(bytes.NewReader(body))
		if t, err := dec.Token(); err != nil || t != json.Delim('[') {
			return bad("json-array: not an array")
		}
		for dec.More() {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return bad("json-array: %v", err)
			}
			p.records++
		}
	case FormatMsgpackArray:
		n, _, err := msgp.ReadArrayHeaderBytes(body)
		if err != nil {
			return bad("msgpack-array: %v", err)
		}
		p.records = int(n)
	case FormatAvroOCF:
		n, err := countOCF(body)
		if err != nil {
			return bad("avro-ocf: %v", err)
		}
		p.records = n
	}
	return nil
}

// countOCF walks an object container file's blocks and sums their counts.
func countOCF(b []byte) (int, error) {
	r := bufio.NewReader(bytes.NewReader(b))
	magic := make([]byte, 4)
	if _, err := io.ReadFull(r, magic); err != nil || string(magic) != "Obj\x01" {
		return 0, errors.New("no magic")
	}
	for { // metadata map blocks
		n, err := binary.ReadVarint(r)
		if err != nil {
			return 0, err
		}
		if n == 0 {
			break
		}
		if n < 0 {
			n = -n
			if _, err := binary.ReadVarint(r); err != nil {
				return 0, err
			}
		}
		for i := int64(0); i < 2*n; i++ { // key and value: both length-prefixed
			l, err := binary.ReadVarint(r)
			if err != nil || l < 0 {
				return 0, errors.New("bad metadata")
			}
			if _, err := r.Discard(int(l)); err != nil {
				return 0, err
			}
		}
	}
	if _, err := r.Discard(16); err != nil {
		return 0, err
	}
	total := 0
	for {
		n, err := binary.ReadVarint(r)
		if err == io.EOF {
			return total, nil
		}
		if err != nil || n < 0 {
			return 0, errors.New("bad block count")
		}
		size, err := binary.ReadVarint(r)
		if err != nil || size < 0 {
			return 0, errors.New("bad block size")
		}
		if _, err := r.Discard(int(size) + 16); err != nil {
			return 0, errors.New("truncated block")
		}
		total += int(n)
	}
}
