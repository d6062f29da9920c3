package sink

import (
	"errors"
	"fmt"
	"math"

	"github.com/tinylib/msgp/msgp"
)

// mpPair is a map entry (keys need not be strings).
type mpPair struct{ k, v any }

// mpExt is an ext value.
type mpExt struct {
	typ  int8
	data []byte
}

// readMP decodes one MessagePack value with msgp's readers: maps become
// pair lists (Aerospike map keys are integers, strings or bytes).
func readMP(b []byte, depth int) (any, []byte, error) {
	if depth > 128 {
		return nil, b, errors.New("msgpack nested too deep")
	}
	switch msgp.NextType(b) {
	case msgp.NilType:
		b, err := msgp.ReadNilBytes(b)
		return nil, b, err
	case msgp.BoolType:
		return msgp.ReadBoolBytes(b)
	case msgp.IntType:
		return msgp.ReadInt64Bytes(b)
	case msgp.UintType:
		return msgp.ReadUint64Bytes(b)
	case msgp.Float32Type:
		return msgp.ReadFloat32Bytes(b)
	case msgp.Float64Type:
		return msgp.ReadFloat64Bytes(b)
	case msgp.StrType:
		return msgp.ReadStringBytes(b)
	case msgp.BinType:
		return msgp.ReadBytesBytes(b, nil)
	case msgp.ArrayType:
		n, rest, err := msgp.ReadArrayHeaderBytes(b)
		if err != nil {
			return nil, b, err
		}
		if uint64(n) > uint64(len(rest)) {
			return nil, b, msgp.ErrShortBytes
		}
		a := make([]any, n)
		for i := range a {
			if a[i], rest, err = readMP(rest, depth+1); err != nil {
				return nil, b, err
			}
		}
		return a, rest, nil
	case msgp.MapType:
		n, rest, err := msgp.ReadMapHeaderBytes(b)
		if err != nil {
			return nil, b, err
		}
		if uint64(n)*2 > uint64(len(rest)) {
			return nil, b, msgp.ErrShortBytes
		}
		m := make([]mpPair, n)
		for i := range m {
			if m[i].k, rest, err = readMP(rest, depth+1); err != nil {
				return nil, b, err
			}
			if m[i].v, rest, err = readMP(rest, depth+1); err != nil {
				return nil, b, err
			}
		}
		return m, rest, nil
	case msgp.ExtensionType:
		var raw msgp.RawExtension
		raw.Type = extType(b) // msgp checks the type it is given
		rest, err := msgp.ReadExtensionBytes(b, &raw)
		if err != nil {
			return nil, b, err
		}
		return mpExt{typ: raw.Type, data: raw.Data}, rest, nil
	}
	return nil, b, fmt.Errorf("msgpack: unsupported byte 0x%02x", firstByte(b))
}

// extType is the type byte of the ext value at the start of b.
func extType(b []byte) int8 {
	at := map[byte]int{0xd4: 1, 0xd5: 1, 0xd6: 1, 0xd7: 1, 0xd8: 1, 0xc7: 2, 0xc8: 3, 0xc9: 5}[firstByte(b)]
	if at == 0 || len(b) <= at {
		return 0
	}
	return int8(b[at])
}

func firstByte(b []byte) byte {
	if len(b) == 0 {
		return 0
	}
	return b[0]
}

func mpInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x), true
		}
	}
	return 0, false
}

func (ps *parser) parseMsgpack(p *parsed, body []byte, batch bool) error {
	if !batch {
		v, rest, err := readMP(body, 0)
		if err != nil {
			return bad("msgpack: %v", err)
		}
		if len(rest) != 0 {
			return bad("msgpack: %d bytes after the message", len(rest))
		}
		return ps.mpMessage(p, 1, v, body)
	}
	n, rest, err := msgp.ReadArrayHeaderBytes(body)
	if err != nil {
		return bad("msgpack-array: %v", err)
	}
	for i := 0; i < int(n); i++ {
		v, r2, err := readMP(rest, 0)
		if err != nil {
			return bad("msgpack-array message %d: %v", i+1, err)
		}
		if err := ps.mpMessage(p, i+1, v, rest[:len(rest)-len(r2)]); err != nil {
			return err
		}
		rest = r2
	}
	if len(rest) != 0 {
		return bad("msgpack-array: %d bytes after the array", len(rest))
	}
	return nil
}

// mpMessage checks [1, kind, body]: write body [key, gen, exp, lut, bins,
// partial], delete body [key, flags, gen, lut]; key [ns, set, digest, userKey].
func (ps *parser) mpMessage(p *parsed, n int, v any, raw []byte) error {
	fail := func(f string, args ...any) error { return bad("msgpack message %d: "+f, append([]any{n}, args...)...) }
	m, ok := v.([]any)
	if !ok || len(m) != 3 {
		return fail("not [version, kind, body]")
	}
	if ver, ok := mpInt(m[0]); !ok || ver != 1 {
		return fail("version %v, want 1", m[0])
	}
	kind, _ := mpInt(m[1])
	body, ok := m[2].([]any)
	if !ok {
		return fail("body is not an array")
	}
	var id ID
	switch kind {
	case 1:
		id.Kind = KindWrite
		if len(body) < 5 {
			return fail("write body of %d elements, want [key, gen, exp, lut, bins, partial]", len(body))
		}
		for i, what := range []string{"gen", "exp"} {
			if _, ok := mpInt(body[1+i]); !ok {
				return fail("%s %v is not an integer", what, body[1+i])
			}
		}
		bins, ok := body[4].([]any)
		if !ok {
			return fail("bins is not an array")
		}
		for i, b := range bins {
			bin, ok := b.([]any)
			if !ok || len(bin) != 4 {
				return fail("bins[%d] is not [name, type, flags, value]", i)
			}
			if _, ok := bin[0].(string); !ok {
				return fail("bins[%d] name is not a string", i)
			}
			if t, ok := mpInt(bin[1]); !ok || t < 0 || t > 255 {
				return fail("bins[%d] type %v", i, bin[1])
			}
			if _, ok := mpInt(bin[2]); !ok {
				return fail("bins[%d] flags %v", i, bin[2])
			}
		}
		if len(body) > 5 {
			if _, ok := body[5].(bool); !ok {
				return fail("partial is not a boolean")
			}
		}
	case 2:
		id.Kind = KindDelete
		if len(body) < 4 {
			return fail("delete body of %d elements, want [key, flags, gen, lut]", len(body))
		}
		for i, what := range []string{"flags", "gen"} {
			if _, ok := mpInt(body[1+i]); !ok {
				return fail("%s %v is not an integer", what, body[1+i])
			}
		}
	default:
		return fail("kind %v is neither 1 (write) nor 2 (delete)", m[1])
	}
	key, ok := body[0].([]any)
	if !ok || len(key) != 4 {
		return fail("key is not [namespace, set, digest, userKey]")
	}
	ns, ok := key[0].(string)
	if !ok || ns == "" {
		return fail("namespace is not a string")
	}
	id.Namespace = ns
	if _, ok := key[1].(string); !ok && key[1] != nil {
		return fail("set is neither a string nor nil")
	}
	d, ok := key[2].([]byte)
	if !ok || len(d) != 20 {
		return fail("digest is not 20 bytes (bin)")
	}
	copy(id.Digest[:], d)
	if id.LUT, ok = mpInt(body[3]); !ok {
		return fail("lut %v is not an integer", body[3])
	}
	p.add(id, raw, "message-pack", ps.keepRaw)
	return nil
}
