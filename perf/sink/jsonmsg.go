package sink

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// jsonID checks a json (typed) or flat-json message and returns its id.
func (ps *parser) jsonID(obj map[string]any) (ID, string, error) {
	if _, ok := obj["msg"]; ok {
		if _, ok := obj["key"]; ok {
			id, err := typedJSONID(obj)
			return id, "json", err
		}
	}
	if md, ok := obj[ps.metaKey].(map[string]any); ok {
		id, err := flatJSONID(md)
		return id, "flat-json", err
	}
	return ID{}, "", fmt.Errorf("neither a json message (msg, key) nor a flat-json one (%q)", ps.metaKey)
}

func typedJSONID(o map[string]any) (ID, error) {
	var id ID
	id.Kind = kindOf(str(o["msg"]))
	if id.Kind == KindUnknown {
		return id, fmt.Errorf("msg %v is neither write nor delete", o["msg"])
	}
	key, ok := o["key"].([]any)
	if !ok || len(key) != 4 {
		return id, errors.New("key is not [namespace, set, digest, userKey]")
	}
	ns, ok := key[0].(string)
	if !ok || ns == "" || len(ns) > 31 {
		return id, errors.New("key[0] (namespace) is not a string of 1..31 bytes")
	}
	id.Namespace = ns
	if key[1] != nil {
		if s, ok := key[1].(string); !ok || len(s) > 63 {
			return id, errors.New("key[1] (set) is not null or a string")
		}
	}
	if err := digest64(key[2], &id.Digest); err != nil {
		return id, fmt.Errorf("key[2]: %v", err)
	}
	if err := userKey(key[3]); err != nil {
		return id, fmt.Errorf("key[3]: %v", err)
	}
	var err error
	if id.LUT, err = integer(o["lut"], "lut"); err != nil {
		return id, err
	}
	if g, err := integer(o["gen"], "gen"); err != nil || g < 0 || g > math.MaxUint32 {
		return id, fmt.Errorf("gen: %v", o["gen"])
	}
	if id.Kind == KindDelete {
		if _, ok := o["durable"].(bool); !ok {
			return id, errors.New("delete without a boolean durable")
		}
		if _, ok := o["bins"]; ok {
			return id, errors.New("delete with bins")
		}
		return id, nil
	}
	if e, err := integer(o["exp"], "exp"); err != nil || e < 0 {
		return id, fmt.Errorf("exp: %v", o["exp"])
	}
	if v, ok := o["partial"]; ok {
		if _, ok := v.(bool); !ok {
			return id, errors.New("partial is not a boolean")
		}
	}
	bins, ok := o["bins"].([]any)
	if !ok {
		return id, errors.New("write without a bins array")
	}
	names := map[string]bool{}
	for i, b := range bins {
		bo, ok := b.(map[string]any)
		if !ok {
			return id, fmt.Errorf("bins[%d] is not an object", i)
		}
		name, ok := bo["name"].(string)
		if !ok || len(name) > 15 {
			return id, fmt.Errorf("bins[%d].name is not a string of 0..15 bytes", i)
		}
		if names[name] {
			return id, fmt.Errorf("bin %q twice", name)
		}
		names[name] = true
		typ, ok := bo["type"].(string)
		if !ok || !binTypes[typ] && !strings.HasPrefix(typ, "type-") {
			return id, fmt.Errorf("bins[%d].type %v is not a known type", i, bo["type"])
		}
		if _, ok := bo["value"]; !ok {
			return id, fmt.Errorf("bins[%d] without a value", i)
		}
		if err := checkTypedValue(typ, bo); err != nil {
			return id, fmt.Errorf("bin %q: %v", name, err)
		}
	}
	if len(bins) == 0 && o["partial"] != true {
		return id, errors.New("a write without bins must be partial (metadata-only)")
	}
	return id, nil
}

var binTypes = map[string]bool{"str": true, "int": true, "float": true, "bool": true, "blob": true,
	"list": true, "map": true, "geojson": true, "hll": true, "java-blob": true, "csharp-blob": true,
	"python-blob": true, "ruby-blob": true, "php-blob": true, "erlang-blob": true, "vector": true, "null": true}

// checkTypedValue checks a bin's value against its json type.
func checkTypedValue(typ string, bo map[string]any) error {
	v := bo["value"]
	switch typ {
	case "str":
		if _, ok := v.(string); !ok {
			return errors.New("str value is not a string")
		}
	case "int":
		if _, err := integer(v, "value"); err != nil {
			if _, err2 := unsigned(v); err2 != nil {
				return err
			}
		}
	case "float":
		switch x := v.(type) {
		case json.Number:
			if _, err := x.Float64(); err != nil {
				return err
			}
		case string:
			if x != "NaN" && x != "Infinity" && x != "-Infinity" {
				return fmt.Errorf("float value %q", x)
			}
		default:
			return errors.New("float value is not a number")
		}
	case "bool":
		if _, ok := v.(bool); !ok {
			return errors.New("bool value is not a boolean")
		}
	case "null":
		if v != nil {
			return errors.New("null bin with a value")
		}
	case "list":
		if _, ok := v.([]any); !ok {
			return errors.New("list value is not an array")
		}
		if o, ok := bo["ordered"]; ok {
			if _, ok := o.(bool); !ok {
				return errors.New("ordered is not a boolean")
			}
		}
	case "map":
		if _, ok := v.(map[string]any); !ok {
			return errors.New("map value is not an object")
		}
		if o, ok := bo["order"]; ok && o != "unordered" && o != "key" && o != "key-value" {
			return fmt.Errorf("order %v", o)
		}
	case "geojson":
		// The object itself, or a string when the text was not JSON.
	default: // blobs and typed bytes: base64
		s, ok := v.(string)
		if !ok {
			return errors.New("bytes value is not a base64 string")
		}
		if _, err := base64.StdEncoding.DecodeString(s); err != nil {
			return fmt.Errorf("bytes value: %v", err)
		}
	}
	return nil
}

func flatJSONID(md map[string]any) (ID, error) {
	var id ID
	ns, ok := md["namespace"].(string)
	if !ok || ns == "" || len(ns) > 31 {
		return id, errors.New("metadata.namespace is not a string of 1..31 bytes")
	}
	id.Namespace = ns
	if v, ok := md["set"]; ok {
		if s, ok := v.(string); !ok || s == "" || len(s) > 63 {
			return id, errors.New("metadata.set is not a string (left out when none)")
		}
	}
	if v, ok := md["userKey"]; ok {
		if v == nil {
			return id, errors.New("metadata.userKey is null (left out when none)")
		}
		if err := userKey(v); err != nil {
			return id, fmt.Errorf("metadata.userKey: %v", err)
		}
	}
	if err := digest64(md["digest"], &id.Digest); err != nil {
		return id, fmt.Errorf("metadata.digest: %v", err)
	}
	id.Kind = kindOf(str(md["msg"]))
	if id.Kind == KindUnknown {
		return id, fmt.Errorf("metadata.msg %v is neither write nor delete", md["msg"])
	}
	var err error
	if id.LUT, err = integer(md["lut"], "metadata.lut"); err != nil {
		return id, err
	}
	if g, err := integer(md["gen"], "metadata.gen"); err != nil || g < 0 || g > math.MaxUint32 {
		return id, fmt.Errorf("metadata.gen: %v", md["gen"])
	}
	if id.Kind == KindDelete {
		if _, ok := md["durable"].(bool); !ok {
			return id, errors.New("delete without a boolean metadata.durable")
		}
	} else if e, err := integer(md["exp"], "metadata.exp"); err != nil || e < 0 {
		return id, fmt.Errorf("metadata.exp: %v", md["exp"])
	}
	if v, ok := md["partial"]; ok {
		if _, ok := v.(bool); !ok {
			return id, errors.New("metadata.partial is not a boolean")
		}
	}
	return id, nil
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func integer(v any, what string) (int64, error) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, fmt.Errorf("%s is not a number: %v", what, v)
	}
	i, err := strconv.ParseInt(string(n), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s is not an integer literal: %s", what, n)
	}
	return i, nil
}

func unsigned(v any) (uint64, error) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, errors.New("not a number")
	}
	return strconv.ParseUint(string(n), 10, 64)
}

func userKey(v any) error {
	switch x := v.(type) {
	case nil, string:
		return nil
	case json.Number:
		_, err := x.Float64()
		return err
	}
	return fmt.Errorf("user key %v is not null, a number or a string", v)
}

// digest64 decodes a base64 digest (standard, padded: 28 characters).
func digest64(v any, d *[20]byte) error {
	s, ok := v.(string)
	if !ok || len(s) != 28 {
		return fmt.Errorf("digest %v is not 28 base64 characters", v)
	}
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil || len(b) != 20 {
		return fmt.Errorf("digest %q is not base64 of 20 bytes", s)
	}
	copy(d[:], b)
	return nil
}
