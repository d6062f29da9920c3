package expression

import (
	"encoding/binary"
	"fmt"
	"math"
	"reflect"
	"sort"

	"github.com/xdrhook/xdrhook/wire"
)

// maxValueDepth bounds the nesting of a computed list or map, as
// wire.MaxCDTDepth bounds the ones XDR sends.
const maxValueDepth = wire.MaxCDTDepth

// appendParticle appends the wire value of v as a bin particle and returns
// its particle type: the same bytes XDR sends for such a bin, so computed
// bins go through the encoders as shipped ones do. nil has no particle
// (ok false: no bin).
func appendParticle(dst []byte, v any) (typ uint8, out []byte, ok bool, err error) {
	switch x := v.(type) {
	case nil:
		return 0, dst, false, nil
	case int:
		return wire.ParticleInteger, binary.BigEndian.AppendUint64(dst, uint64(x)), true, nil
	case int64:
		return wire.ParticleInteger, binary.BigEndian.AppendUint64(dst, uint64(x)), true, nil
	case float64:
		return wire.ParticleFloat, binary.BigEndian.AppendUint64(dst, math.Float64bits(x)), true, nil
	case string:
		return wire.ParticleString, append(dst, x...), true, nil
	case []byte:
		return wire.ParticleBlob, append(dst, x...), true, nil
	case bool:
		b := byte(0)
		if x {
			b = 1
		}
		return wire.ParticleBool, append(dst, b), true, nil
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return wire.ParticleInteger, binary.BigEndian.AppendUint64(dst, uint64(rv.Int())), true, nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		u := rv.Uint()
		if u > math.MaxInt64 {
			return 0, dst, false, fmt.Errorf("integer %d is over the largest Aerospike integer", u)
		}
		return wire.ParticleInteger, binary.BigEndian.AppendUint64(dst, u), true, nil
	case reflect.Float32:
		return wire.ParticleFloat, binary.BigEndian.AppendUint64(dst, math.Float64bits(rv.Float())), true, nil
	case reflect.Slice, reflect.Array:
		out, err := appendCDT(dst, rv, 0)
		return wire.ParticleList, out, err == nil, err
	case reflect.Map:
		out, err := appendCDT(dst, rv, 0)
		return wire.ParticleMap, out, err == nil, err
	}
	return 0, dst, false, fmt.Errorf("a bin cannot hold a %T", v)
}

// appendCDT appends v as a list or map element in Aerospike's MessagePack
// conventions (wire.AppendCDT*). Map keys are sorted, so the bytes of a map
// do not depend on Go's map order.
func appendCDT(dst []byte, v reflect.Value, depth int) ([]byte, error) {
	if depth > maxValueDepth {
		return dst, fmt.Errorf("a list or map nested over %d levels", maxValueDepth)
	}
	for v.Kind() == reflect.Interface || v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return wire.AppendCDTNil(dst), nil
		}
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.Invalid:
		return wire.AppendCDTNil(dst), nil
	case reflect.Bool:
		return wire.AppendCDTBool(dst, v.Bool()), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return wire.AppendCDTInt(dst, v.Int()), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return wire.AppendCDTUint(dst, v.Uint()), nil
	case reflect.Float32, reflect.Float64:
		return wire.AppendCDTFloat(dst, v.Float()), nil
	case reflect.String:
		return wire.AppendCDTString(dst, v.String()), nil
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return wire.AppendCDTBlob(dst, v.Bytes()), nil
		}
		dst = wire.AppendCDTList(dst, v.Len())
		var err error
		for i := 0; i < v.Len(); i++ {
			if dst, err = appendCDT(dst, v.Index(i), depth+1); err != nil {
				return dst, err
			}
		}
		return dst, nil
	case reflect.Map:
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return keyLess(keys[i], keys[j]) })
		dst = wire.AppendCDTMap(dst, len(keys))
		var err error
		for _, k := range keys {
			if dst, err = appendCDT(dst, k, depth+1); err != nil {
				return dst, err
			}
			if dst, err = appendCDT(dst, v.MapIndex(k), depth+1); err != nil {
				return dst, err
			}
		}
		return dst, nil
	}
	return dst, fmt.Errorf("a list or map cannot hold a %s", v.Type())
}

// keyLess orders map keys: numbers before strings, each in natural order.
func keyLess(a, b reflect.Value) bool {
	for a.Kind() == reflect.Interface {
		a = a.Elem()
	}
	for b.Kind() == reflect.Interface {
		b = b.Elem()
	}
	ra, rb := keyRank(a), keyRank(b)
	if ra != rb {
		return ra < rb
	}
	switch ra {
	case 0:
		return numOf(a) < numOf(b)
	case 1:
		return a.String() < b.String()
	}
	return fmt.Sprint(a) < fmt.Sprint(b)
}

func keyRank(v reflect.Value) int {
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return 0
	case reflect.String:
		return 1
	}
	return 2
}

func numOf(v reflect.Value) float64 {
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(v.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return float64(v.Uint())
	}
	return v.Float()
}
