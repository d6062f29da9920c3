package encode

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/hamba/avro/v2"
	"github.com/hamba/avro/v2/pkg/crc64"
)

// changeNotificationAvsc is the built-in Avro schema, io.xdrhook.ChangeNotification.
//
//go:embed schema/change_notification.avsc
var changeNotificationAvsc []byte

// ChangeNotificationSchema returns the text of the built-in Avro schema
// (encode/schema/change_notification.avsc).
func ChangeNotificationSchema() string { return string(changeNotificationAvsc) }

// Union branches of the built-in schema's Value (order of the .avsc).
const (
	avValNull    = 0
	avValBoolean = 1
	avValLong    = 2
	avValDouble  = 3
	avValString  = 4
	avValBytes   = 5
	avValGeoJSON = 6
	avValTyped   = 7
	avValExt     = 8
	avValUInt64  = 9
	avValList    = 10
	avValMap     = 11
)

// avroSchema is a parsed schema with what the encoders need of it.
type avroSchema struct {
	schema    avro.Schema
	text      []byte   // compact JSON, for the avro.schema entry of a container file
	canonical string   // Parsing Canonical Form
	soe       [10]byte // single-object header: C3 01 and the CRC-64-AVRO fingerprint, little-endian
}

// parseAvroSchema parses a schema with hamba/avro, in a cache of its own so
// that names never clash with another schema of the process.
func parseAvroSchema(text []byte) (*avroSchema, error) {
	s, err := avro.ParseBytesWithCache(text, "", &avro.SchemaCache{})
	if err != nil {
		return nil, fmt.Errorf("avro schema: %w", err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, text); err != nil {
		return nil, fmt.Errorf("avro schema: %w", err)
	}
	as := &avroSchema{schema: s, text: compact.Bytes()}
	as.canonical = string(appendCanonical(nil, s, map[string]bool{}))
	fp := crc64.SumWithByteOrder([]byte(as.canonical), crc64.LittleEndian)
	as.soe[0], as.soe[1] = 0xc3, 0x01
	copy(as.soe[2:], fp[:])
	return as, nil
}

// appendCanonical appends the Parsing Canonical Form of s (Avro
// specification): full names, only the attributes that matter to parsing,
// in the order name, type, fields, symbols, items, values, size, and a named
// type spelled out at its first appearance only.
//
// It exists because hamba/avro's String() keeps logicalType (and decimal
// precision/scale), which the specification strips ([STRIP]; the Java, C and
// Python implementations strip it), so hamba's Fingerprint of a schema with
// logical types is not the one other consumers compute. For a schema without
// logical types the two agree (tested).
func appendCanonical(dst []byte, s avro.Schema, seen map[string]bool) []byte {
	named := func(full string) bool {
		if seen[full] {
			dst = strconv.AppendQuote(dst, full)
			return true
		}
		seen[full] = true
		dst = append(dst, `{"name":`...)
		dst = strconv.AppendQuote(dst, full)
		return false
	}
	switch s := s.(type) {
	case *avro.RefSchema:
		return appendCanonical(dst, s.Schema(), seen)
	case *avro.RecordSchema:
		if named(s.FullName()) {
			return dst
		}
		if s.IsError() {
			dst = append(dst, `,"type":"error","fields":[`...)
		} else {
			dst = append(dst, `,"type":"record","fields":[`...)
		}
		for i, f := range s.Fields() {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"name":`...)
			dst = strconv.AppendQuote(dst, f.Name())
			dst = append(dst, `,"type":`...)
			dst = appendCanonical(dst, f.Type(), seen)
			dst = append(dst, '}')
		}
		return append(dst, "]}"...)
	case *avro.EnumSchema:
		if named(s.FullName()) {
			return dst
		}
		dst = append(dst, `,"type":"enum","symbols":[`...)
		for i, sym := range s.Symbols() {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = strconv.AppendQuote(dst, sym)
		}
		return append(dst, "]}"...)
	case *avro.FixedSchema:
		if named(s.FullName()) {
			return dst
		}
		dst = append(dst, `,"type":"fixed","size":`...)
		dst = strconv.AppendInt(dst, int64(s.Size()), 10)
		return append(dst, '}')
	case *avro.ArraySchema:
		dst = append(dst, `{"type":"array","items":`...)
		dst = appendCanonical(dst, s.Items(), seen)
		return append(dst, '}')
	case *avro.MapSchema:
		dst = append(dst, `{"type":"map","values":`...)
		dst = appendCanonical(dst, s.Values(), seen)
		return append(dst, '}')
	case *avro.UnionSchema:
		dst = append(dst, '[')
		for i, t := range s.Types() {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendCanonical(dst, t, seen)
		}
		return append(dst, ']')
	}
	// Primitives (and null): the bare type name.
	return strconv.AppendQuote(dst, string(s.Type()))
}
