package sink

import (
	"bytes"
	"fmt"
	"unicode/utf8"

	"github.com/linkedin/goavro/v2"
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
	noID        int // valid messages without an id (an avro user schema without the fields, an es-bulk delete by user key)
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
