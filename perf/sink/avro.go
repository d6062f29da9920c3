package sink

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"regexp"
	"time"

	"github.com/linkedin/goavro/v2"
)

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
