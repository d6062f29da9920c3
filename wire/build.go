package wire

import (
	"encoding/binary"
	"math"

	"github.com/tinylib/msgp/msgp"
)

// Record describes a change notification to encode as XDR would send it.
// The frame encoder serves tests, the fuzz corpus, the emulator and the perf
// suite; the connector itself never sends records.
type Record struct {
	Kind    Kind
	Durable bool // delete: durable delete
	Partial bool // write: only the listed bins (no CREATE_OR_REPLACE)

	Generation uint32
	TTL        uint32 // writes: seconds to expiry, or TTLNever

	Namespace string
	Set       string // "" = no set
	KeyType   uint8  // 0 = no user key; else ParticleInteger, ParticleFloat, ParticleString, ParticleBlob
	Key       []byte // the key's wire bytes (IntKey, FloatKey, or raw)
	Digest    [DigestSize]byte
	NoLUT     bool
	LUT       uint64 // raw LUT (see MakeLUT)

	Bins []BinSpec // a write with no bins is metadata-only
}

// BinSpec is one bin of a Record.
type BinSpec struct {
	Name   string
	Type   uint8
	Value  []byte // the value's wire bytes (see IntValue, FloatValue, …)
	HasLUT bool
	LUT    uint64
}

// MakeLUT builds a raw LUT from a source id and a Unix time in ms.
func MakeLUT(source uint8, unixMs int64) uint64 {
	return uint64(source)<<40 | uint64(unixMs-CitrusleafEpochMs)&0xFFFFFFFFFF
}

// SetDigest computes r.Digest from the set and the user key.
func (r *Record) SetDigest(d *Digester) {
	r.Digest = d.Digest([]byte(r.Set), r.KeyType, r.Key)
}

// AppendMessage appends the AS_MSG body of r (without the frame header).
func AppendMessage(dst []byte, r *Record) []byte {
	var info2, info3 uint8
	nOps := 0
	switch r.Kind {
	case KindDelete:
		info2 = Info2Write | Info2Delete
		if r.Durable {
			info2 |= Info2DurableDelete
		}
	default:
		info2 = Info2Write
		if !r.Partial && len(r.Bins) > 0 {
			info3 = Info3CreateOrReplace
		}
		nOps = len(r.Bins)
	}
	nFields := 2
	if r.Set != "" {
		nFields++
	}
	if r.KeyType != 0 {
		nFields++
	}
	if !r.NoLUT {
		nFields++
	}
	ttl := r.TTL
	if r.Kind == KindDelete {
		ttl = 0
	}
	dst = append(dst, MsgHeaderSize, Info1XDR, info2, info3, 0, 0)
	dst = binary.BigEndian.AppendUint32(dst, r.Generation)
	dst = binary.BigEndian.AppendUint32(dst, ttl)
	dst = binary.BigEndian.AppendUint32(dst, 0)
	dst = binary.BigEndian.AppendUint16(dst, uint16(nFields))
	dst = binary.BigEndian.AppendUint16(dst, uint16(nOps))

	// XDR's order: namespace, digest, set, key, LUT.
	dst = appendField(dst, FieldNamespace, r.Namespace, nil)
	dst = appendField(dst, FieldDigest, "", r.Digest[:])
	if r.Set != "" {
		dst = appendField(dst, FieldSet, r.Set, nil)
	}
	if r.KeyType != 0 {
		dst = binary.BigEndian.AppendUint32(dst, uint32(2+len(r.Key)))
		dst = append(dst, FieldUserKey, r.KeyType)
		dst = append(dst, r.Key...)
	}
	if !r.NoLUT {
		dst = binary.BigEndian.AppendUint32(dst, 9)
		dst = append(dst, FieldLUT)
		dst = binary.BigEndian.AppendUint64(dst, r.LUT)
	}
	for i := 0; i < nOps; i++ {
		b := &r.Bins[i]
		sz := 4 + len(b.Name) + len(b.Value)
		var flags uint8
		if b.HasLUT {
			sz += 8
			flags = 1
		}
		dst = binary.BigEndian.AppendUint32(dst, uint32(sz))
		dst = append(dst, OpWrite, b.Type, flags, uint8(len(b.Name)))
		dst = append(dst, b.Name...)
		if b.HasLUT {
			dst = binary.BigEndian.AppendUint64(dst, b.LUT)
		}
		dst = append(dst, b.Value...)
	}
	return dst
}

func appendField(dst []byte, typ uint8, s string, b []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(1+len(s)+len(b)))
	dst = append(dst, typ)
	dst = append(dst, s...)
	return append(dst, b...)
}

// AppendFrame appends r as a complete type-3 frame.
func AppendFrame(dst []byte, r *Record) []byte {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0, 0, 0, 0, 0)
	dst = AppendMessage(dst, r)
	PutHeader(dst[start:], TypeMsg, len(dst)-start-HeaderSize)
	return dst
}

// Values of scalar particles, as AppendMessage expects them.

// IntValue is the 8-byte value of an integer bin.
func IntValue(v int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(v)) }

// FloatValue is the value of a float bin.
func FloatValue(v float64) []byte { return binary.BigEndian.AppendUint64(nil, math.Float64bits(v)) }

// BoolValue is the value of a bool bin.
func BoolValue(v bool) []byte {
	if v {
		return []byte{1}
	}
	return []byte{0}
}

// GeoJSONValue is the value of a GeoJSON bin: flags, cell ids, then the text.
func GeoJSONValue(text string, cells ...uint64) []byte {
	b := []byte{0}
	b = binary.BigEndian.AppendUint16(b, uint16(len(cells)))
	for _, c := range cells {
		b = binary.BigEndian.AppendUint64(b, c)
	}
	return append(b, text...)
}

// Appenders for list and map values in Aerospike's MessagePack conventions.

// AppendCDTList appends a list header for n elements (count the order flags
// element if one follows).
func AppendCDTList(dst []byte, n int) []byte { return msgp.AppendArrayHeader(dst, uint32(n)) }

// AppendCDTMap appends a map header for n pairs (count the order flags pair
// if one follows).
func AppendCDTMap(dst []byte, n int) []byte { return msgp.AppendMapHeader(dst, uint32(n)) }

// AppendCDTListOrder appends the order-flags element of a list.
func AppendCDTListOrder(dst []byte, flags uint8) []byte { return append(dst, 0xc7, 0, flags) }

// AppendCDTMapOrder appends the order-flags pair of a map (ext key, nil value).
func AppendCDTMapOrder(dst []byte, flags uint8) []byte { return append(dst, 0xc7, 0, flags, 0xc0) }

// AppendCDTInt appends an integer in its smallest MessagePack form.
func AppendCDTInt(dst []byte, v int64) []byte { return msgp.AppendInt64(dst, v) }

// AppendCDTUint appends an unsigned integer.
func AppendCDTUint(dst []byte, v uint64) []byte { return msgp.AppendUint64(dst, v) }

// AppendCDTFloat appends a float64.
func AppendCDTFloat(dst []byte, v float64) []byte { return msgp.AppendFloat64(dst, v) }

// AppendCDTBool appends a bool.
func AppendCDTBool(dst []byte, v bool) []byte { return msgp.AppendBool(dst, v) }

// AppendCDTNil appends nil.
func AppendCDTNil(dst []byte) []byte { return msgp.AppendNil(dst) }

// AppendCDTString appends a string (str header, prefix 3).
func AppendCDTString(dst []byte, s string) []byte {
	return AppendCDTTyped(dst, ParticleString, []byte(s))
}

// AppendCDTBlob appends a blob (str header, prefix 4), as Aerospike does.
func AppendCDTBlob(dst []byte, b []byte) []byte { return AppendCDTTyped(dst, ParticleBlob, b) }

// AppendCDTTyped appends typed bytes with particle type pt as the prefix,
// under a str header as Aerospike writes them.
func AppendCDTTyped(dst []byte, pt uint8, b []byte) []byte {
	n := uint32(len(b) + 1)
	switch {
	case n < 32:
		dst = append(dst, 0xa0|byte(n))
	case n <= math.MaxUint8:
		dst = append(dst, 0xd9, byte(n))
	case n <= math.MaxUint16:
		dst = append(dst, 0xda, byte(n>>8), byte(n))
	default:
		dst = append(dst, 0xdb)
		dst = binary.BigEndian.AppendUint32(dst, n)
	}
	dst = append(dst, pt)
	return append(dst, b...)
}
