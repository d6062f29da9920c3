package sink

import (
	"bytes"
	"encoding/json"
	"mime"

	"github.com/tinylib/msgp/msgp"
)

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
