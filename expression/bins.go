package expression

import (
	"encoding/json"
	"fmt"

	"github.com/xdrhook/xdrhook/wire"
)

// slot holds the reusable boxes of one referenced bin: a scalar bin's value
// is set into the box of its type, so reading it costs no allocation.
// Lists, maps and GeoJSON are decoded to fresh Go values.
type slot struct {
	i   *box[int]
	f   *box[float64]
	s   *box[string]
	b   *box[[]byte]
	rdr *wire.CDTReader
}

func (s *slot) int(v int) any {
	if s.i == nil {
		s.i = newBox[int]()
	}
	return s.i.set(v)
}

func (s *slot) float(v float64) any {
	if s.f == nil {
		s.f = newBox[float64]()
	}
	return s.f.set(v)
}

func (s *slot) str(v string) any {
	if s.s == nil {
		s.s = newBox[string]()
	}
	return s.s.set(v)
}

func (s *slot) bytes(v []byte) any {
	if s.b == nil {
		s.b = newBox[[]byte]()
	}
	return s.b.set(v)
}

// binValue decodes one bin to the Go value expressions see. Strings and
// blobs are views of the frame (valid while the record is evaluated).
func (s *slot) binValue(b *wire.Bin) (any, error) {
	switch b.Type {
	case wire.ParticleNull:
		return nil, nil // deleted (partial updates): as if absent
	case wire.ParticleInteger:
		v, ok := wire.Int(b.Value)
		if !ok {
			return nil, fmt.Errorf("bin %q: integer of %d bytes", b.Name, len(b.Value))
		}
		return s.int(int(v)), nil
	case wire.ParticleFloat:
		v, ok := wire.Float(b.Value)
		if !ok {
			return nil, fmt.Errorf("bin %q: float of %d bytes", b.Name, len(b.Value))
		}
		return s.float(v), nil
	case wire.ParticleString:
		return s.str(view(b.Value)), nil
	case wire.ParticleBool:
		v, ok := wire.Bool(b.Value)
		if !ok {
			return nil, fmt.Errorf("bin %q: bool of %d bytes", b.Name, len(b.Value))
		}
		return v, nil
	case wire.ParticleGeoJSON:
		text, err := wire.GeoJSONText(b.Value)
		if err != nil {
			return nil, fmt.Errorf("bin %q: %w", b.Name, err)
		}
		var v any
		if err := json.Unmarshal(text, &v); err != nil {
			return nil, fmt.Errorf("bin %q: GeoJSON: %w", b.Name, err)
		}
		return v, nil
	case wire.ParticleList, wire.ParticleMap:
		if s.rdr == nil {
			s.rdr = new(wire.CDTReader)
		}
		s.rdr.Reset(b.Value)
		var t wire.CDTToken
		if err := s.rdr.Next(&t); err != nil {
			return nil, fmt.Errorf("bin %q: %w", b.Name, err)
		}
		v, err := cdtValue(s.rdr, &t)
		if err != nil {
			return nil, fmt.Errorf("bin %q: %w", b.Name, err)
		}
		if err := s.rdr.Next(&t); err != wire.ErrCDTEnd {
			return nil, fmt.Errorf("bin %q: trailing bytes after the value", b.Name)
		}
		return v, nil
	}
	// Blobs, language blobs, HLL, vectors: their bytes.
	return s.bytes(b.Value), nil
}

// cdtValue builds the Go value of the token t (and, for a container, the
// tokens that follow it up to its end).
func cdtValue(r *wire.CDTReader, t *wire.CDTToken) (any, error) {
	switch t.Kind {
	case wire.CDTNil:
		return nil, nil
	case wire.CDTBool:
		return t.Bool, nil
	case wire.CDTInt:
		return int(t.Int), nil
	case wire.CDTUint:
		return t.Uint, nil
	case wire.CDTFloat:
		return t.Float, nil
	case wire.CDTString:
		return string(t.Bytes), nil
	case wire.CDTBytes, wire.CDTExt:
		return append([]byte(nil), t.Bytes...), nil
	case wire.CDTTyped:
		if t.Sub == wire.ParticleGeoJSON {
			var v any
			if err := json.Unmarshal(t.Bytes, &v); err != nil {
				return nil, fmt.Errorf("GeoJSON: %w", err)
			}
			return v, nil
		}
		return append([]byte(nil), t.Bytes...), nil
	case wire.CDTList:
		out := make([]any, 0, t.N)
		for {
			if err := r.Next(t); err != nil {
				return nil, err
			}
			if t.Kind == wire.CDTEnd {
				return out, nil
			}
			v, err := cdtValue(r, t)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
	case wire.CDTMap:
		n := t.N
		var keys, vals []any
		strKeys := true
		for {
			if err := r.Next(t); err != nil {
				return nil, err
			}
			if t.Kind == wire.CDTEnd {
				break
			}
			k, err := cdtValue(r, t)
			if err != nil {
				return nil, err
			}
			if err := r.Next(t); err != nil {
				return nil, err
			}
			v, err := cdtValue(r, t)
			if err != nil {
				return nil, err
			}
			switch k.(type) {
			case string:
			case []any, map[string]any, map[any]any, []byte:
				// Not comparable (or not a useful key): its text.
				k = fmt.Sprint(k)
			default:
				strKeys = false
			}
			keys, vals = append(keys, k), append(vals, v)
		}
		if strKeys {
			m := make(map[string]any, n)
			for i, k := range keys {
				m[k.(string)] = vals[i]
			}
			return m, nil
		}
		m := make(map[any]any, n)
		for i, k := range keys {
			m[k] = vals[i]
		}
		return m, nil
	}
	return nil, fmt.Errorf("unexpected %s in a list or map", t.Kind)
}
