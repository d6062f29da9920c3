package sink

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

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
