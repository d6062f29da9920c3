package sink

import (
	"bytes"
	"encoding/json"
	"io"
)

// parseSplunk checks a splunk-hec body: {"time":…,"event":{…}} objects,
// one after the other.
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
