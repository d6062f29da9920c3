package wire

import (
	"encoding/binary"
	"strconv"
)

// DecodeError is a malformed request: the frame itself was well delimited, so
// the connection can go on, and the request is answered RCParameter.
type DecodeError struct {
	Offset int    // byte offset in the AS_MSG (after the 8-byte frame header)
	What   string // what was wrong
}

func (e *DecodeError) Error() string {
	return "xdr message: at offset " + strconv.Itoa(e.Offset) + ": " + e.What
}

func derr(off int, what string) error { return &DecodeError{Offset: off, What: what} }

// Limits a field may have (xdr-wire.md §4).
const (
	maxNamespaceLen = 31
	maxSetLen       = 63
	opHeaderSize    = 8 // size(4) op(1) particle(1) flags(1) name_len(1)
)

// Decode decodes an AS_MSG body (the bytes after the frame header of a type-3
// frame) into m. m's slices point into body. On error m holds what was
// decoded up to the fault and must not be used.
func (m *Message) Decode(body []byte) error {
	bins := m.Bins[:0]
	*m = Message{Bins: bins}
	if len(body) < MsgHeaderSize {
		return derr(0, "message shorter than its 22-byte header")
	}
	if body[0] != MsgHeaderSize {
		return derr(0, "header_sz "+strconv.Itoa(int(body[0]))+", want 22")
	}
	m.Info1, m.Info2, m.Info3, m.Info4 = body[1], body[2], body[3], body[4]
	m.Generation = binary.BigEndian.Uint32(body[6:10])
	m.TTL = binary.BigEndian.Uint32(body[10:14])
	nFields := int(binary.BigEndian.Uint16(body[18:20]))
	nOps := int(binary.BigEndian.Uint16(body[20:22]))

	switch {
	case m.Info2&Info2Delete != 0:
		m.Kind = KindDelete
		m.Durable = m.Info2&Info2DurableDelete != 0
	case m.Info2&Info2Write != 0:
		m.Kind = KindWrite
		m.MetadataOnly = nOps == 0
		m.Partial = m.MetadataOnly || m.Info3&Info3CreateOrReplace == 0
	default:
		return derr(2, "info2 has neither WRITE nor DELETE")
	}

	off := MsgHeaderSize
	// Each field takes at least 5 bytes, each op 8: reject counts the body
	// cannot hold before looping over them.
	if nFields*5+nOps*opHeaderSize > len(body)-off {
		return derr(18, "field and op counts run past the message")
	}
	var haveNS bool
	for i := 0; i < nFields; i++ {
		if len(body)-off < 5 {
			return derr(off, "field header runs past the message")
		}
		sz := binary.BigEndian.Uint32(body[off:])
		if sz == 0 {
			return derr(off, "field size 0")
		}
		if uint64(sz) > uint64(len(body)-off-4) {
			return derr(off, "field size "+strconv.FormatUint(uint64(sz), 10)+" runs past the message")
		}
		f := body[off : off+4+int(sz) : off+4+int(sz)]
		typ, data := f[4], f[5:]
		switch typ {
		case FieldNamespace:
			if len(data) == 0 || len(data) > maxNamespaceLen {
				return derr(off, "namespace of "+strconv.Itoa(len(data))+" bytes (1..31)")
			}
			m.Namespace = data
			haveNS = true
		case FieldSet:
			if len(data) > maxSetLen {
				return derr(off, "set of "+strconv.Itoa(len(data))+" bytes (max 63)")
			}
			m.Set = data
			m.HasSet = true
		case FieldUserKey:
			// A string or blob key (the commonest) needs no call.
			if len(data) == 0 || data[0] == ParticleInteger || data[0] == ParticleFloat {
				if err := m.decodeKey(data, off); err != nil {
					return err
				}
			} else {
				m.Key = UserKey{Type: data[0], Bytes: data[1:]}
			}
		case FieldDigest:
			if len(data) != DigestSize {
				return derr(off, "digest of "+strconv.Itoa(len(data))+" bytes, want 20")
			}
			m.Digest = data
		case FieldLUT:
			if len(data) != 8 {
				return derr(off, "LUT of "+strconv.Itoa(len(data))+" bytes, want 8")
			}
			m.LUT = binary.BigEndian.Uint64(data)
			m.HasLUT = true
		}
		off += 4 + int(sz)
	}
	if !haveNS {
		return derr(off, "no namespace field")
	}
	if m.Digest == nil {
		return derr(off, "no digest field")
	}
	if m.Kind == KindDelete && nOps != 0 {
		return derr(20, "delete carries "+strconv.Itoa(nOps)+" ops")
	}

	if cap(bins) < nOps {
		bins = make([]Bin, 0, nOps)
	}
	bins = bins[:nOps]
	// One 8-byte load per op header (size, op, particle, flags, name
	// length), and the scalar sizes checked by table (scalarLens): the
	// loop makes no call unless something is wrong.
	for i := range bins {
		if len(body)-off < opHeaderSize {
			return derr(off, "op header runs past the message")
		}
		h := binary.BigEndian.Uint64(body[off:])
		sz := h >> 32
		if sz > uint64(len(body)-off-4) {
			return derr(off, "op size "+strconv.FormatUint(sz, 10)+" runs past the message")
		}
		if op := byte(h >> 24); op != OpWrite {
			return derr(off+4, "op "+strconv.Itoa(int(op))+", XDR sends only WRITE (2)")
		}
		pt, hasLUT, nameLen := byte(h>>16), h&0x100 != 0, int(byte(h))
		fixed := 4 + nameLen
		if hasLUT {
			fixed += 8
		}
		if int(sz) < fixed {
			return derr(off, "op size "+strconv.FormatUint(sz, 10)+" smaller than its name and LUT")
		}
		end := off + 4 + int(sz)
		op := body[off:end:end]
		b := &bins[i]
		b.Name = op[opHeaderSize : opHeaderSize+nameLen : opHeaderSize+nameLen]
		var lut uint64
		if hasLUT {
			lut = binary.BigEndian.Uint64(op[opHeaderSize+nameLen:])
		}
		v := op[fixed+4:]
		b.Type, b.HasLUT, b.LUT, b.Value = pt, hasLUT, lut, v
		if l := scalarLens[pt]; l != 0 && (len(v) > 8 || l&(1<<len(v)) == 0) {
			bins = bins[:i+1]
			m.Bins = bins
			return checkScalar(b, off+fixed+4)
		}
		off = end
	}
	m.Bins = bins
	if off != len(body) {
		return derr(off, strconv.Itoa(len(body)-off)+" trailing bytes after the last op")
	}
	return nil
}

func (m *Message) decodeKey(data []byte, off int) error {
	if len(data) < 1 {
		return derr(off, "empty user key")
	}
	k := UserKey{Type: data[0], Bytes: data[1:]}
	switch k.Type {
	case ParticleInteger:
		if len(k.Bytes) != 8 {
			return derr(off, "integer user key of "+strconv.Itoa(len(k.Bytes))+" bytes, want 8")
		}
		k.Int = int64(binary.BigEndian.Uint64(k.Bytes))
	case ParticleFloat:
		if len(k.Bytes) != 8 {
			return derr(off, "double user key of "+strconv.Itoa(len(k.Bytes))+" bytes, want 8")
		}
		k.Float, _ = Float(k.Bytes)
	}
	m.Key = k
	return nil
}

// scalarLens holds, by particle type, the value sizes checkScalar accepts
// as a bit mask of sizes 0..8 (bit n: n bytes); 0 for the types of any
// size.
var scalarLens = [256]uint16{
	ParticleNull:    1 << 0,
	ParticleInteger: 0x1fe, // 1..8
	ParticleFloat:   1 << 8,
	ParticleBool:    1 << 1,
}

// checkScalar validates the fixed-size particle types so that encoders can
// trust them; lists, maps and GeoJSON are checked when walked.
func checkScalar(b *Bin, off int) error {
	switch b.Type {
	case ParticleNull:
		if len(b.Value) != 0 {
			return derr(off, "null bin with a value")
		}
	case ParticleInteger:
		if len(b.Value) < 1 || len(b.Value) > 8 {
			return derr(off, "integer of "+strconv.Itoa(len(b.Value))+" bytes (1..8)")
		}
	case ParticleFloat:
		if len(b.Value) != 8 {
			return derr(off, "float of "+strconv.Itoa(len(b.Value))+" bytes, want 8")
		}
	case ParticleBool:
		if len(b.Value) != 1 {
			return derr(off, "bool of "+strconv.Itoa(len(b.Value))+" bytes, want 1")
		}
	}
	return nil
}
