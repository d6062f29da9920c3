package encode

import (
	"encoding/binary"
	"math"
	"strconv"
	"sync"

	"github.com/hamba/avro/v2"
	"github.com/xdrhook/xdrhook/wire"
)

// ContentTypeAvro is the content type of an avro body: one message in
// single-object encoding, or an object container file.
const ContentTypeAvro = "avro/binary"

// Avro encodes the avro format (output-formats.md). By default (NewAvro) it
// writes the built-in schema io.xdrhook.ChangeNotification
// (schema/change_notification.avsc); NewAvroWithSchema takes a user schema
// instead. Append writes one message in Avro single-object encoding: C3 01,
// the schema's CRC-64-AVRO fingerprint (little-endian, over its Parsing
// Canonical Form), then the datum. The datum is written by a hand-made
// binary writer, not by hamba/avro's codecs: the built-in schema is
// recursive (lists and maps of values), which hamba's struct codec does not
// support, and a direct walk of the frame allocates nothing. hamba/avro
// parses the schemas, and decodes in the tests.
//
// Built-in schema values: integer → long, float → double, string → string
// (bytes as sent), bool → boolean, deleted bin → null, blob and every other
// typed byte value → bytes (the bin's type says which), GeoJSON → GeoJSON
// {json} (bytes if the particle is malformed), list → List {ordered, items},
// map → Map {order, entries}. Inside lists and maps, additionally: typed
// bytes → Typed {type, data}, GeoJSON text → GeoJSON, a MessagePack ext →
// Ext {type, data}, an unsigned integer above MaxInt64 → UInt64 (fixed 9,
// decimal(20,0)), a float32 → double (exact). Order flags are kept at every
// depth.
//
// An Avro is not safe for concurrent use.
type Avro struct {
	Transform *Transform

	sch  *avroSchema
	plan *avroPlan // user schema; nil for the built-in one

	walk cdtWalk
	kept []keptBin
	user avroUserScratch
}

var builtinAvro = sync.OnceValue(func() *avroSchema {
	s, err := parseAvroSchema(changeNotificationAvsc)
	if err != nil {
		panic("encode: built-in avro schema: " + err.Error())
	}
	return s
})

// NewAvro returns an encoder for the built-in schema.
func NewAvro(t *Transform) *Avro {
	return &Avro{Transform: t, sch: builtinAvro()}
}

// ContentType implements Encoder.
func (a *Avro) ContentType() string { return ContentTypeAvro }

// Schema returns the parsed schema.
func (a *Avro) Schema() avro.Schema { return a.sch.schema }

// SchemaText returns the schema as JSON (compacted), as a container file's
// header carries it.
func (a *Avro) SchemaText() string { return string(a.sch.text) }

// CanonicalForm returns the schema's Parsing Canonical Form, the text the
// fingerprint is computed from.
func (a *Avro) CanonicalForm() string { return a.sch.canonical }

// Fingerprint returns the schema's CRC-64-AVRO fingerprint, as the
// single-object header carries it (little-endian).
func (a *Avro) Fingerprint() uint64 { return binary.LittleEndian.Uint64(a.sch.soe[2:]) }

// Append implements Encoder: one message in single-object encoding. On error
// dst is returned unchanged.
func (a *Avro) Append(dst []byte, m *wire.Message, nowUnix int64) ([]byte, error) {
	start := len(dst)
	dst = append(dst, a.sch.soe[:]...)
	dst, err := a.AppendDatum(dst, m, nowUnix)
	if err != nil {
		return dst[:start], err
	}
	return dst, nil
}

// AppendDatum appends the datum of one message alone (Avro binary
// encoding, no header). On error dst is returned unchanged.
func (a *Avro) AppendDatum(dst []byte, m *wire.Message, nowUnix int64) ([]byte, error) {
	start := len(dst)
	var err error
	if a.plan != nil {
		dst, err = a.appendUser(dst, m, nowUnix)
	} else {
		dst, err = a.appendBuiltin(dst, m, nowUnix)
	}
	if err != nil {
		return dst[:start], err
	}
	return dst, nil
}

func (a *Avro) appendBuiltin(dst []byte, m *wire.Message, nowUnix int64) ([]byte, error) {
	switch m.Kind {
	case wire.KindWrite:
		dst = append(dst, 0) // msg: enum index 0 = write
	case wire.KindDelete:
		dst = append(dst, 2) // 1 = delete
	default:
		return dst, errUnknownKind
	}
	dst = appendAvroBytes(dst, m.Namespace)
	if m.HasSet {
		dst = appendAvroBytes(append(dst, 2), m.Set) // branch 1: string
	} else {
		dst = append(dst, 0)
	}
	switch m.Key.Type {
	case 0:
		dst = append(dst, 0) // null
	case wire.ParticleInteger:
		dst = appendAvroLong(append(dst, 2), m.Key.Int) // long
	case wire.ParticleFloat:
		dst = appendAvroDouble(append(dst, 4), m.Key.Float) // double
	case wire.ParticleString:
		dst = appendAvroBytes(append(dst, 6), m.Key.Bytes) // string
	default:
		dst = appendAvroBytes(append(dst, 8), m.Key.Bytes) // bytes
	}
	if len(m.Digest) != wire.DigestSize {
		return dst, &RecordError{Field: "digest", Reason: "not 20 bytes"}
	}
	dst = append(dst, m.Digest...)
	dst = appendAvroLong(dst, int64(m.Generation))
	dst = appendAvroLong(dst, m.LUTUnixMs())
	dst = appendAvroLong(dst, m.Expiry(nowUnix))
	dst = appendAvroBool(dst, m.Durable)
	dst = appendAvroBool(dst, m.Partial)
	if m.Kind == wire.KindWrite {
		var err error
		if a.Transform == nil {
			if n := len(m.Bins); n > 0 {
				dst = appendAvroLong(dst, int64(n))
				for i := range m.Bins {
					b := &m.Bins[i]
					if dst, err = a.appendBin(dst, b.Name, b); err != nil {
						return dst, err
					}
				}
			}
		} else {
			a.keep(m)
			if n := len(a.kept); n > 0 {
				dst = appendAvroLong(dst, int64(n))
				for i := range a.kept {
					k := &a.kept[i]
					if dst, err = a.appendBin(dst, k.name, k.bin); err != nil {
						return dst, err
					}
				}
			}
		}
	}
	return append(dst, 0), nil // end of the bins array
}

// keep fills a.kept with the bins the transform keeps.
func (a *Avro) keep(m *wire.Message) {
	a.kept = a.kept[:0]
	for i := range m.Bins {
		b := &m.Bins[i]
		if name, ok := a.Transform.Bin(b.Name); ok {
			a.kept = append(a.kept, keptBin{name: name, bin: b})
		}
	}
}

// appendBin appends a Bin record: name, type, value.
func (a *Avro) appendBin(dst, name []byte, b *wire.Bin) ([]byte, error) {
	dst = appendAvroBytes(dst, name)
	dst = appendAvroLong(dst, int64(b.Type))
	v := b.Value
	switch b.Type {
	case wire.ParticleNull:
		return append(dst, 2*avValNull), nil
	case wire.ParticleInteger:
		i, _ := wire.Int(v)
		return appendAvroLong(append(dst, 2*avValLong), i), nil
	case wire.ParticleFloat:
		f, _ := wire.Float(v)
		return appendAvroDouble(append(dst, 2*avValDouble), f), nil
	case wire.ParticleString:
		return appendAvroBytes(append(dst, 2*avValString), v), nil
	case wire.ParticleBool:
		return appendAvroBool(append(dst, 2*avValBoolean), len(v) == 1 && v[0] != 0), nil
	case wire.ParticleGeoJSON:
		if text, err := wire.GeoJSONText(v); err == nil {
			return appendAvroBytes(append(dst, 2*avValGeoJSON), text), nil
		}
	case wire.ParticleList, wire.ParticleMap:
		return appendAvroCDT(dst, &a.walk, v)
	}
	return appendAvroBytes(append(dst, 2*avValBytes), v), nil
}

// appendAvroCDT transcodes a list or map value into Value unions, in one
// pass with the element parser of msgpack_cdt.go (same rules as
// wire.CDTReader).
func appendAvroCDT(dst []byte, w *cdtWalk, v []byte) ([]byte, error) {
	var e mpElem
	w.depth = 0
	off, left := 0, 0
	for {
		if w.depth > 0 {
			left--
			// Fast paths: a small integer, a short string.
			if off < len(v) {
				c := v[off]
				if c < 0x40 {
					dst = append(dst, 2*avValLong, c<<1)
					off++
					goto next
				}
				if n := int(c & 0x1f); c >= 0xa1 && c <= 0xbf && n < len(v)-off && v[off+1] == wire.ParticleString {
					dst = append(dst, 2*avValString, byte(n-1)<<1)
					dst = append(dst, v[off+2:off+1+n]...)
					off += 1 + n
					goto next
				}
			}
		}
		if fault := mpParse(v, off, &e); fault != cdtOK {
			return dst, cdtFault(off, fault)
		}
		switch e.kind {
		case mkList, mkMap:
			nxt, n, flags, err := w.open(v, off, &e)
			if err != nil {
				return dst, err
			}
			if e.kind == mkList {
				dst = appendAvroBool(append(dst, 2*avValList), flags&0x01 != 0)
			} else {
				dst = append(dst, 2*avValMap, (flags&0x03)<<1)
			}
			if n > 0 {
				dst = appendAvroLong(dst, int64(n))
			}
			left = w.push(left, n, e.kind == mkMap)
			off = nxt
		case mkBytes:
			p := v[off+e.hdr : off+e.hdr+e.n]
			switch {
			case len(p) == 0:
				dst = append(dst, 2*avValBytes, 0)
			case p[0] == wire.ParticleString:
				dst = appendAvroBytes(append(dst, 2*avValString), p[1:])
			case p[0] == wire.ParticleBlob:
				dst = appendAvroBytes(append(dst, 2*avValBytes), p[1:])
			case p[0] == wire.ParticleGeoJSON:
				dst = appendAvroBytes(append(dst, 2*avValGeoJSON), p[1:])
			default:
				dst = appendAvroLong(append(dst, 2*avValTyped), int64(p[0]))
				dst = appendAvroBytes(dst, p[1:])
			}
			off += e.hdr + e.n
		case mkExt:
			dst = appendAvroLong(append(dst, 2*avValExt), int64(int8(e.sub)))
			dst = appendAvroBytes(dst, v[off+e.hdr:off+e.hdr+e.n])
			off += e.hdr + e.n
		default:
			switch e.kind {
			case mkNil:
				dst = append(dst, 2*avValNull)
			case mkBool:
				dst = append(dst, 2*avValBoolean, byte(e.x))
			case mkInt:
				dst = appendAvroLong(append(dst, 2*avValLong), int64(e.x))
			case mkUint:
				// decimal(20,0) in fixed 9: big-endian two's complement,
				// so a leading zero byte keeps it positive.
				dst = append(dst, 2*avValUInt64, 0)
				dst = binary.BigEndian.AppendUint64(dst, e.x)
			case mkFloat32:
				dst = appendAvroDouble(append(dst, 2*avValDouble), float64(math.Float32frombits(uint32(e.x))))
			case mkFloat64:
				dst = binary.LittleEndian.AppendUint64(append(dst, 2*avValDouble), e.x)
			}
			off += e.hdr
		}
	next:
		for w.depth > 0 && left == 0 {
			left = w.pop()
			dst = append(dst, 0) // the zero count that ends items or entries
		}
		if w.depth == 0 {
			break
		}
	}
	if off != len(v) {
		return dst, &wire.CDTError{Offset: off, What: strconv.Itoa(len(v)-off) + " trailing bytes after the value"}
	}
	return dst, nil
}
