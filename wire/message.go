package wire

import (
	"encoding/binary"
	"math"
)

// AS_MSG header layout and flag bits (xdr-wire.md §3).
const (
	MsgHeaderSize = 22

	Info1XDR = 0x10

	Info2Write         = 0x01
	Info2Delete        = 0x02
	Info2DurableDelete = 0x10

	Info3CreateOrReplace = 0x10

	// TTLNever is the record_ttl of a record that never expires.
	TTLNever = 0xFFFFFFFF

	// CitrusleafEpochMs is 2010-01-01T00:00:00Z in Unix ms, the zero of LUTs.
	CitrusleafEpochMs = 1262304000000
)

// Field types (xdr-wire.md §4).
const (
	FieldNamespace = 0
	FieldSet       = 1
	FieldUserKey   = 2
	FieldDigest    = 4
	FieldLUT       = 14
)

// Particle types (xdr-wire.md §6).
const (
	ParticleNull    = 0
	ParticleInteger = 1
	ParticleFloat   = 2
	ParticleString  = 3
	ParticleBlob    = 4
	ParticleJava    = 7
	ParticleCSharp  = 8
	ParticlePython  = 9
	ParticleRuby    = 10
	ParticlePHP     = 11
	ParticleErlang  = 12
	ParticleVector  = 16
	ParticleBool    = 17
	ParticleHLL     = 18
	ParticleMap     = 19
	ParticleList    = 20
	ParticleGeoJSON = 23
)

// OpWrite is the only op XDR sends.
const OpWrite = 2

// Kind is what a change notification is.
type Kind uint8

const (
	KindWrite  Kind = 1
	KindDelete Kind = 2
)

func (k Kind) String() string {
	switch k {
	case KindWrite:
		return "write"
	case KindDelete:
		return "delete"
	}
	return "unknown"
}

// DigestSize is the size of a record digest (RIPEMD-160).
const DigestSize = 20

// UserKey is the record's stored key. Type is 0 when the source did not store
// it; otherwise a particle type: ParticleInteger, ParticleFloat,
// ParticleString or ParticleBlob (or another number, kept as Bytes).
type UserKey struct {
	Type  uint8
	Int   int64   // ParticleInteger
	Float float64 // ParticleFloat
	Bytes []byte  // the raw key bytes, for every type (digest input)
}

// Bin is one bin of a write: its name, particle type and raw value. The
// value is a view into the frame: interpret it with the helpers of this
// package (Int, Float, Bool, GeoJSONText, NewCDTReader).
type Bin struct {
	Name   []byte
	Type   uint8
	Value  []byte
	HasLUT bool
	LUT    uint64 // raw bin LUT, when HasLUT
}

// Deleted reports whether the bin was removed (sent in partial updates).
func (b *Bin) Deleted() bool { return b.Type == ParticleNull }

// Message is one decoded change notification: a view into the frame it came
// from, valid as long as that frame's bytes are. Reuse one Message per
// connection: Decode keeps the capacity of Bins, so steady-state decoding
// allocates nothing.
type Message struct {
	Kind    Kind
	Durable bool // delete: durable delete
	// Partial: the write carries only some bins (no CREATE_OR_REPLACE), or
	// none (MetadataOnly). The consumer must merge, not replace.
	Partial      bool
	MetadataOnly bool

	Info1, Info2, Info3, Info4 uint8
	Generation                 uint32
	TTL                        uint32 // record_ttl as sent: seconds from now, TTLNever, 0 on deletes

	Namespace []byte
	Set       []byte
	HasSet    bool
	Key       UserKey
	Digest    []byte // 20 bytes
	HasLUT    bool
	LUT       uint64 // raw: source id in bits 47..40, ms since 2010 in bits 39..0

	Bins []Bin
}

// LUTUnixMs returns the last-update time in Unix milliseconds (0 if absent).
func (m *Message) LUTUnixMs() int64 {
	if !m.HasLUT {
		return 0
	}
	return int64(m.LUT&0xFFFFFFFFFF) + CitrusleafEpochMs
}

// LUTSource returns the id of the source that made the change.
func (m *Message) LUTSource() uint8 { return uint8(m.LUT >> 40) }

// Expiry returns the Unix second at which the record expires, counted from
// nowUnix (the time of receipt), or 0 when it never expires. Deletes and a
// record_ttl of 0 (no expiry sent) also give 0.
func (m *Message) Expiry(nowUnix int64) int64 {
	if m.Kind != KindWrite || m.TTL == TTLNever || m.TTL == 0 {
		return 0
	}
	return nowUnix + int64(m.TTL)
}

// Int interprets an integer value: 1..8 bytes, big-endian, sign-extended.
func Int(v []byte) (int64, bool) {
	if len(v) == 0 || len(v) > 8 {
		return 0, false
	}
	if len(v) == 8 {
		return int64(binary.BigEndian.Uint64(v)), true
	}
	x := int64(int8(v[0]))
	for _, c := range v[1:] {
		x = x<<8 | int64(c)
	}
	return x, true
}

// Float interprets a float value (IEEE-754 float64 bits).
func Float(v []byte) (float64, bool) {
	if len(v) != 8 {
		return 0, false
	}
	return math.Float64frombits(binary.BigEndian.Uint64(v)), true
}

// Bool interprets a bool value (one byte, 0 = false).
func Bool(v []byte) (bool, bool) {
	if len(v) != 1 {
		return false, false
	}
	return v[0] != 0, true
}
