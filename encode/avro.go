package encode

import (
	"encoding/binary"
	"math"
	"slices"
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
	dst = avroGrow(dst, m)
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
	// A fixed-size copy: stores, not a call to memmove.
	dst = slices.Grow(dst, wire.DigestSize)
	n := len(dst)
	*(*[wire.DigestSize]byte)(dst[n : n+wire.DigestSize]) = [wire.DigestSize]byte(m.Digest)
	dst = dst[:n+wire.DigestSize]
	dst = appendAvroLong(dst, int64(m.Generation))
	dst = appendAvroLongWide(dst, m.LUTUnixMs())
	dst = appendAvroLongWide(dst, m.Expiry(nowUnix))
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

// avroGrow grows dst once, by an estimate of the datum's size, so that the
// in-place fast paths of appendBin and appendAvroCDT find room rather than
// growing it piecemeal. It costs one compare when dst has the room already
// (a batch buffer).
func avroGrow(dst []byte, m *wire.Message) []byte {
	if cap(dst)-len(dst) >= avroReserve {
		return dst
	}
	est := 64 + avBinRoom + len(m.Namespace) + len(m.Set) + len(m.Key.Bytes)
	for i := range m.Bins {
		est += 16 + len(m.Bins[i].Name) + 2*len(m.Bins[i].Value)
	}
	return slices.Grow(dst, est)
}

// avroReserve is the room avroGrow takes as enough without counting: it
// holds a typical record.
const avroReserve = 1024

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
	v := b.Value
	n := len(dst)
	if len(name) > 16 || cap(dst)-n < avBinRoom {
		return a.appendBinSlow(dst, name, b)
	}
	// The usual bin: a short name, and room for it and a scalar or a
	// short string or blob (avroGrow grew dst for the whole message).
	// It is written in place with index stores into d, of known length:
	// no appends, each with its capacity check, and no call to memmove.
	d := dst[n : n+avBinRoom]
	d[0] = byte(len(name)) << 1 // a long below 64: one byte, zigzag
	// copyShort(d[1:], name), by hand: a call costs more than the copy.
	switch m := len(name); {
	case m >= 8:
		lo := binary.LittleEndian.Uint64(name)
		hi := binary.LittleEndian.Uint64(name[m-8:])
		binary.LittleEndian.PutUint64(d[1:], lo)
		binary.LittleEndian.PutUint64(d[m-7:], hi)
	case m >= 4:
		lo := binary.LittleEndian.Uint32(name)
		hi := binary.LittleEndian.Uint32(name[m-4:])
		binary.LittleEndian.PutUint32(d[1:], lo)
		binary.LittleEndian.PutUint32(d[m-3:], hi)
	case m > 0:
		d[1], d[1+m>>1], d[m] = name[0], name[m>>1], name[m-1]
	}
	k := 1 + len(name)
	if b.Type < 64 { // the particle type as a long
		d[k] = b.Type << 1
		k++
	} else {
		d[k], d[k+1] = b.Type<<1|0x80, b.Type>>6
		k += 2
	}
	switch b.Type {
	case wire.ParticleNull:
		d[k] = 2 * avValNull
		return dst[:n+k+1], nil
	case wire.ParticleInteger:
		d[k] = 2 * avValLong
		if len(v) == 8 {
			return appendAvroLongWide(dst[:n+k+1], int64(binary.BigEndian.Uint64(v))), nil
		}
		i, _ := wire.Int(v)
		return appendAvroLongWide(dst[:n+k+1], i), nil
	case wire.ParticleFloat:
		d[k] = 2 * avValDouble
		var bits uint64
		if len(v) == 8 {
			bits = binary.BigEndian.Uint64(v)
		}
		binary.LittleEndian.PutUint64(d[k+1:], bits)
		return dst[:n+k+9], nil
	case wire.ParticleString:
		if len(v) <= avShortValue {
			d[k], d[k+1] = 2*avValString, byte(len(v))<<1
			copyWords(d[k+2:], v)
			return dst[:n+k+2+len(v)], nil
		}
		return appendAvroBytes(append(dst[:n+k], 2*avValString), v), nil
	case wire.ParticleBool:
		d[k], d[k+1] = 2*avValBoolean, 0
		if len(v) == 1 && v[0] != 0 {
			d[k+1] = 1
		}
		return dst[:n+k+2], nil
	case wire.ParticleGeoJSON:
		if text, err := wire.GeoJSONText(v); err == nil {
			return appendAvroBytes(append(dst[:n+k], 2*avValGeoJSON), text), nil
		}
	case wire.ParticleList, wire.ParticleMap:
		return appendAvroCDT(dst[:n+k], &a.walk, v)
	}
	if len(v) <= avShortValue {
		d[k], d[k+1] = 2*avValBytes, byte(len(v))<<1
		copyWords(d[k+2:], v)
		return dst[:n+k+2+len(v)], nil
	}
	return appendAvroBytes(append(dst[:n+k], 2*avValBytes), v), nil
}

// avBinRoom is the room the fast path of appendBin writes in: a name of
// 16 bytes and a particle type (19), and a union branch and a string or
// bytes of up to avShortValue bytes (a one-byte length).
const (
	avShortValue = 40
	avBinRoom    = 64
)

// appendBinSlow is appendBin for a long name or a full dst.
func (a *Avro) appendBinSlow(dst, name []byte, b *wire.Bin) ([]byte, error) {
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
// pass with the element parser of cdt_scan.go (same rules as
// wire.CDTReader).
func appendAvroCDT(dst []byte, w *cdtWalk, v []byte) ([]byte, error) {
	var e mpElem
	w.depth = 0
	off, left := 0, 0
	for {
		if w.depth > 0 {
			// Fast path: runs of the commonest elements, small integers,
			// nil, bools, doubles, and strings and blobs of up to 16 bytes
			// (a fixstr with its type byte), in the innermost container,
			// written in place (avroGrow grew dst) with word stores, no
			// append and no call to memmove.
		fast:
			for left > 0 && off < len(v) && cap(dst)-len(dst) >= 19 {
				c := v[off]
				l := len(dst)
				d := dst[l : l+19]
				if c < 0x40 {
					d[0], d[1] = 2*avValLong, c<<1
					dst = dst[:l+2]
					off++
					left--
					continue
				}
				if n := int(c & 0x1f); c >= 0xa1 && c <= 0xb1 && n < len(v)-off {
					// The type byte and the payload.
					switch v[off+1] {
					case wire.ParticleString:
						d[0] = 2 * avValString
					case wire.ParticleBlob:
						d[0] = 2 * avValBytes
					default:
						break fast
					}
					// copyShort(d[2:], p), by hand: a call here would make
					// the loop spill its registers.
					p := v[off+2 : off+1+n]
					m := len(p)
					d[1] = byte(m) << 1
					switch {
					case m >= 8:
						lo := binary.LittleEndian.Uint64(p)
						hi := binary.LittleEndian.Uint64(p[m-8:])
						binary.LittleEndian.PutUint64(d[2:], lo)
						binary.LittleEndian.PutUint64(d[m-6:], hi)
					case m >= 4:
						lo := binary.LittleEndian.Uint32(p)
						hi := binary.LittleEndian.Uint32(p[m-4:])
						binary.LittleEndian.PutUint32(d[2:], lo)
						binary.LittleEndian.PutUint32(d[m-2:], hi)
					case m > 0:
						d[2], d[2+m>>1], d[1+m] = p[0], p[m>>1], p[m-1]
					}
					dst = dst[:l+2+m]
					off += 1 + n
					left--
					continue
				}
				switch {
				case c == 0xcb && len(v)-off >= 9: // float64: big-endian bits
					d[0] = 2 * avValDouble
					binary.LittleEndian.PutUint64(d[1:], binary.BigEndian.Uint64(v[off+1:]))
					dst = dst[:l+9]
					off += 9
				case c == 0xc0:
					d[0] = 2 * avValNull
					dst = dst[:l+1]
					off++
				case c == 0xc2 || c == 0xc3:
					d[0], d[1] = 2*avValBoolean, c&1
					dst = dst[:l+2]
					off++
				default:
					break fast
				}
				left--
			}
			if left == 0 {
				goto next
			}
			left--
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
