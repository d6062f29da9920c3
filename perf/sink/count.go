package sink

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"

	"github.com/tinylib/msgp/msgp"
)

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
