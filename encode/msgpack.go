package encode

import (
	"encoding/binary"
	"errors"
	"math"

	"github.com/tinylib/msgp/msgp"
	"github.com/xdrhook/xdrhook/wire"
)

// ContentTypeMsgPack is the content type of a message-pack body, one message
// or a msgpack-array batch.
const ContentTypeMsgPack = "application/x-msgpack"

// MsgPack encodes the message-pack format (output-formats.md), positional as
// Aerospike's own MessagePack format, with trailing additions:
//
//	write:  [1, 1, [key, gen, exp, lut, bins, partial]]
//	delete: [1, 2, [key, flags, gen, lut]]        flags 0x01 = durable
//	key:    [namespace, set|nil, digest (bin 20), userKey|nil]
//	bin:    [name, particle type, flags, value]   flags: list 1 = ordered;
//	                                              map 1 = key-ordered, 3 = key-value-ordered
//
// Top-level values: integer → int, float → float64 (NaN and ±Inf as such),
// string → str, bool → bool, deleted bin → nil, blob and every other typed
// byte value (language blobs, vector, HLL, unknown types) → bin, GeoJSON →
// str holding its JSON text (bin of the raw particle if malformed), list →
// array, map → map with native keys.
// Inside lists and maps: integers, floats, nil and bools are copied as they
// are on the wire (so an unsigned value above MaxInt64 stays uint64 and a
// float32 stays float32), a string is str, a blob (and an empty payload) is
// bin, typed bytes (GeoJSON text, Java blob, HLL…) are an ext whose type
// byte is the particle type, an ext is passed through; the order-flags
// elements are dropped (the top container's flags are the bin's flags;
// nested containers' flags are not kept: use avro to keep them).
//
// The zero value (Transform nil: every bin under its own name) is ready to
// use. A MsgPack is not safe for concurrent use.
type MsgPack struct {
	Transform *Transform

	kept []keptBin
	walk cdtWalk
	wr   mpWrite
	del  mpDelete
}

// keptBin is a bin that passed the transform, with its output name.
type keptBin struct {
	name []byte
	bin  *wire.Bin
}

var errUnknownKind = errors.New("encode: message is neither a write nor a delete")

// ContentType implements Encoder.
func (e *MsgPack) ContentType() string { return ContentTypeMsgPack }

// Append implements Encoder. On error dst is returned unchanged (its length
// as it was), so a batch buffer stays well formed.
func (e *MsgPack) Append(dst []byte, m *wire.Message, nowUnix int64) ([]byte, error) {
	start := len(dst)
	var err error
	switch m.Kind {
	case wire.KindWrite:
		w := &e.wr
		w.Version, w.Kind = 1, 1
		b := &w.Body
		b.Key.set(m)
		b.Gen = m.Generation
		b.Exp = m.Expiry(nowUnix)
		b.LUT = m.LUTUnixMs()
		b.Bins = mpBins{e: e, m: m, size: e.keep(m)}
		b.Partial = m.Partial
		dst, err = w.MarshalMsg(dst)
		b.Bins = mpBins{}
		b.Key = mpKey{} // drop the views into the frame
	case wire.KindDelete:
		d := &e.del
		d.Version, d.Kind = 1, 2
		b := &d.Body
		b.Key.set(m)
		b.Flags = 0
		if m.Durable {
			b.Flags = 1
		}
		b.Gen = m.Generation
		b.LUT = m.LUTUnixMs()
		dst, err = d.MarshalMsg(dst)
		b.Key = mpKey{}
	default:
		err = errUnknownKind
	}
	if err != nil {
		return dst[:start], err
	}
	return dst, nil
}

// keep fills e.kept with the bins the transform keeps (none when there is
// no transform: every bin is kept) and returns an estimate of their encoded
// size, plus room for the fast path of the last bin (msgp.Require grows
// dst by the Msgsize of the whole message, once, before the fast paths of
// appendBinArray and appendMPCDT write in it).
func (e *MsgPack) keep(m *wire.Message) int {
	e.kept = e.kept[:0]
	size := 5 + mpBinRoom
	if e.Transform == nil {
		for i := range m.Bins {
			size += 16 + len(m.Bins[i].Name) + len(m.Bins[i].Value)
		}
		return size
	}
	for i := range m.Bins {
		b := &m.Bins[i]
		name, ok := e.Transform.Bin(b.Name)
		if !ok {
			continue
		}
		e.kept = append(e.kept, keptBin{name: name, bin: b})
		size += 16 + len(name) + len(b.Value)
	}
	return size
}

func (k *mpKey) set(m *wire.Message) {
	k.Namespace = m.Namespace
	k.Set = mpOptStr{s: m.Set, ok: m.HasSet}
	k.Digest = m.Digest
	k.UserKey = mpUserKey(m.Key)
}

// mpStr is a string held as bytes: a MessagePack str.
type mpStr []byte

func (s mpStr) MarshalMsg(b []byte) ([]byte, error) { return appendMPStr(b, s), nil }
func (s mpStr) Msgsize() int                        { return msgp.StringPrefixSize + len(s) }

// mpOptStr is a str, or nil when absent.
type mpOptStr struct {
	s  []byte
	ok bool
}

func (s *mpOptStr) MarshalMsg(b []byte) ([]byte, error) {
	if !s.ok {
		return msgp.AppendNil(b), nil
	}
	return appendMPStr(b, s.s), nil
}
func (s *mpOptStr) Msgsize() int { return msgp.StringPrefixSize + len(s.s) }

// mpDigest is the digest, a bin (of 20 bytes, from Decode).
type mpDigest []byte

func (d mpDigest) MarshalMsg(b []byte) ([]byte, error) {
	n := len(b)
	if len(d) != wire.DigestSize || cap(b)-n < 2+wire.DigestSize {
		return msgp.AppendBytes(b, d), nil
	}
	// In place, a fixed-size copy: stores, not a call to memmove.
	o := b[n : n+2+wire.DigestSize]
	o[0], o[1] = 0xc4, wire.DigestSize
	*(*[wire.DigestSize]byte)(o[2:]) = [wire.DigestSize]byte(d)
	return b[:n+2+wire.DigestSize], nil
}
func (d mpDigest) Msgsize() int { return msgp.BytesPrefixSize + len(d) }

// mpUserKey is the user key: int, float64, str, bin (blob or another key
// type), or nil when the key was not stored.
type mpUserKey wire.UserKey

func (k *mpUserKey) MarshalMsg(b []byte) ([]byte, error) {
	switch k.Type {
	case 0:
		return msgp.AppendNil(b), nil
	case wire.ParticleInteger:
		return appendMPInt(b, k.Int), nil
	case wire.ParticleFloat:
		return msgp.AppendFloat64(b, k.Float), nil
	case wire.ParticleString:
		return appendMPStr(b, k.Bytes), nil
	}
	return msgp.AppendBytes(b, k.Bytes), nil
}
func (k *mpUserKey) Msgsize() int { return 9 + len(k.Bytes) }

// mpBins is the bins array of a write: m's bins, or e.kept when there is a
// transform, walked by hand.
type mpBins struct {
	e    *MsgPack
	m    *wire.Message
	size int
}

func (bs *mpBins) MarshalMsg(b []byte) ([]byte, error) {
	return bs.e.appendBinArray(b, bs.m.Bins, bs.e.Transform == nil)
}
func (bs *mpBins) Msgsize() int { return bs.size }

// appendBinArray appends the bins array: every bin of bins under its own
// name (all: no transform), or the bins e.kept holds. Each is [name,
// particle type, flags, value]. The usual bin is written by the loop itself
// (a call per bin measured slower: DESIGN.md, Performance notes). all is
// passed, not read from e.Transform here, for the same reason.
func (e *MsgPack) appendBinArray(dst []byte, bins []wire.Bin, all bool) ([]byte, error) {
	count := len(e.kept)
	if all {
		count = len(bins)
	}
	dst = appendMPArrayHeader(dst, count)
	for i := 0; i < count; i++ {
		var name []byte
		var b *wire.Bin
		if all {
			b = &bins[i]
			name = b.Name
		} else {
			name, b = e.kept[i].name, e.kept[i].bin
		}
		v := b.Value
		n := len(dst)
		if len(name) > 16 || cap(dst)-n < mpBinRoom {
			var err error
			if dst, err = e.appendBinSlow(dst, name, b); err != nil {
				return dst, err
			}
			continue
		}
		// The usual bin: a short name, and room for the header and a
		// scalar (Append grew dst for the whole message). It is written
		// in place with index stores into d, of known length: no
		// appends, each with its capacity check, and no call to memmove.
		d := dst[n : n+mpBinRoom]
		d[0] = 0x94
		d[1] = 0xa0 | byte(len(name))
		// copyShort(d[2:], name), by hand: a call here would make the loop
		// spill its registers.
		switch m := len(name); {
		case m >= 8:
			lo := binary.LittleEndian.Uint64(name)
			hi := binary.LittleEndian.Uint64(name[m-8:])
			binary.LittleEndian.PutUint64(d[2:], lo)
			binary.LittleEndian.PutUint64(d[m-6:], hi)
		case m >= 4:
			lo := binary.LittleEndian.Uint32(name)
			hi := binary.LittleEndian.Uint32(name[m-4:])
			binary.LittleEndian.PutUint32(d[2:], lo)
			binary.LittleEndian.PutUint32(d[m-2:], hi)
		case m > 0:
			d[2], d[2+m>>1], d[1+m] = name[0], name[m>>1], name[m-1]
		}
		k := 2 + len(name)
		if b.Type < 0x80 {
			d[k] = b.Type // positive fixint
			k++
		} else {
			d[k], d[k+1] = 0xcc, b.Type
			k += 2
		}
		d[k] = 0 // flags, but for a list or map (appendMPCDT writes them)
		k++
		switch b.Type {
		case wire.ParticleNull:
			d[k] = 0xc0
			dst = dst[:n+k+1]
		case wire.ParticleInteger:
			if len(v) == 8 {
				dst = appendMPInt(dst[:n+k], int64(binary.BigEndian.Uint64(v)))
			} else {
				x, _ := wire.Int(v) // sizes checked by Decode
				dst = appendMPInt(dst[:n+k], x)
			}
		case wire.ParticleFloat:
			d[k] = 0xcb
			if len(v) == 8 { // float64: the wire bytes are its big-endian bits
				binary.LittleEndian.PutUint64(d[k+1:], binary.LittleEndian.Uint64(v))
			} else {
				binary.LittleEndian.PutUint64(d[k+1:], 0)
			}
			dst = dst[:n+k+9]
		case wire.ParticleString:
			if len(v) <= mpShortValue {
				d[k] = 0xa0 | byte(len(v))
				copyWords(d[k+1:], v)
				dst = dst[:n+k+1+len(v)]
			} else {
				dst = appendMPStr(dst[:n+k], v)
			}
		case wire.ParticleBlob:
			if len(v) <= mpShortBlob {
				d[k], d[k+1] = 0xc4, byte(len(v))
				copyWords(d[k+2:], v)
				dst = dst[:n+k+2+len(v)]
			} else {
				dst = appendMPBin(dst[:n+k], v)
			}
		case wire.ParticleBool:
			d[k] = 0xc2
			if len(v) == 1 && v[0] != 0 {
				d[k] = 0xc3
			}
			dst = dst[:n+k+1]
		case wire.ParticleList, wire.ParticleMap:
			var err error
			if dst, err = appendMPCDT(dst[:n+k-1], &e.walk, b.Type, v); err != nil {
				return dst, err
			}
		default:
			dst = e.appendValue(dst[:n+k], b)
		}
	}
	return dst, nil
}

// mpBinRoom is the room the fast path of appendBinArray writes in: the header
// with a name of 16 bytes (21) and a str of up to mpShortValue bytes or a
// bin of up to mpShortBlob.
const (
	mpShortValue = 31 // a fixstr
	mpShortBlob  = 40
	mpBinRoom    = 64
)

// appendBinSlow writes a bin for a long name or a full dst.
func (e *MsgPack) appendBinSlow(dst, name []byte, b *wire.Bin) ([]byte, error) {
	dst = append(dst, 0x94)
	dst = appendMPStr(dst, name)
	if b.Type < 0x80 {
		dst = append(dst, b.Type) // positive fixint
	} else {
		dst = append(dst, 0xcc, b.Type)
	}
	v := b.Value
	switch b.Type {
	case wire.ParticleNull:
		return append(dst, 0, 0xc0), nil
	case wire.ParticleInteger:
		i, _ := wire.Int(v) // sizes checked by Decode
		return appendMPInt(append(dst, 0), i), nil
	case wire.ParticleFloat:
		if len(v) == 8 {
			dst = append(dst, 0, 0xcb) // float64: the wire bytes are its big-endian bits
			return append(dst, v...), nil
		}
		return msgp.AppendFloat64(append(dst, 0), 0), nil
	case wire.ParticleString:
		return appendMPStr(append(dst, 0), v), nil
	case wire.ParticleBool:
		if len(v) == 1 && v[0] != 0 {
			return append(dst, 0, 0xc3), nil
		}
		return append(dst, 0, 0xc2), nil
	case wire.ParticleList, wire.ParticleMap:
		return appendMPCDT(dst, &e.walk, b.Type, v)
	}
	return e.appendValue(append(dst, 0), b), nil
}

// appendValue appends the value of a bin of bytes: GeoJSON as str holding
// its text (bin of the raw particle if malformed), every other type as bin.
func (e *MsgPack) appendValue(dst []byte, b *wire.Bin) []byte {
	if b.Type == wire.ParticleGeoJSON {
		if text, err := wire.GeoJSONText(b.Value); err == nil {
			return appendMPStr(dst, text)
		}
	}
	return appendMPBin(dst, b.Value)
}

// appendExt appends a MessagePack ext of type typ (its byte as is), in the
// smallest form, as msgp.AppendExtension does (which needs an Extension
// value; this takes the bytes).
func appendExt(dst []byte, typ uint8, data []byte) []byte {
	n := len(data)
	switch n {
	case 1:
		dst = append(dst, 0xd4, typ)
	case 2:
		dst = append(dst, 0xd5, typ)
	case 4:
		dst = append(dst, 0xd6, typ)
	case 8:
		dst = append(dst, 0xd7, typ)
	case 16:
		dst = append(dst, 0xd8, typ)
	default:
		switch {
		case n <= math.MaxUint8:
			dst = append(dst, 0xc7, byte(n), typ)
		case n <= math.MaxUint16:
			dst = append(dst, 0xc8, byte(n>>8), byte(n), typ)
		default:
			dst = append(dst, 0xc9)
			dst = binary.BigEndian.AppendUint32(dst, uint32(n))
			dst = append(dst, typ)
		}
	}
	return append(dst, data...)
}

// MsgPackArray is the msgpack-array framing: one MessagePack array of
// messages. Begin writes a fixed-width array32 header (0xdd + 4 bytes) and
// End patches the count, so messages are appended straight into the body.
type MsgPackArray struct {
	Enc MsgPack

	start int // offset of the header in the body
	n     uint32
}

// NewMsgPackArray returns a msgpack-array framer.
func NewMsgPackArray(t *Transform) *MsgPackArray { return &MsgPackArray{Enc: MsgPack{Transform: t}} }

// Begin implements Framer.
func (f *MsgPackArray) Begin(dst []byte) []byte {
	f.start, f.n = len(dst), 0
	return append(dst, 0xdd, 0, 0, 0, 0)
}

// Append implements Framer.
func (f *MsgPackArray) Append(dst []byte, m *wire.Message, nowUnix int64) ([]byte, error) {
	dst, err := f.Enc.Append(dst, m, nowUnix)
	if err == nil {
		f.n++
	}
	return dst, err
}

// End implements Framer.
func (f *MsgPackArray) End(dst []byte) []byte {
	binary.BigEndian.PutUint32(dst[f.start+1:], f.n)
	return dst
}

// ContentType implements Framer.
func (f *MsgPackArray) ContentType() string { return ContentTypeMsgPack }
