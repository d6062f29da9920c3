package encode

import (
	"github.com/xdrhook/xdrhook/wire"
)

// DefaultMetadataKey is the name of the metadata object of flat-json.
const DefaultMetadataKey = "metadata"

// FlatJSON is the flat-json format (output-formats.md, "flat-json"): bins
// are top-level members without type information, metadata sits under
// MetadataKey:
//
//	{"metadata":{"namespace":N,"set":S,"userKey":K,"digest":D,"msg":"write","gen":G,"lut":L,"exp":E},"bin1":V1,…}
//	{"metadata":{…,"exp":E,"partial":true},…}
//	{"metadata":{"namespace":N,"set":S,"userKey":K,"digest":D,"msg":"delete","gen":G,"lut":L,"durable":false}}
//
// "set" and "userKey" are left out when the record has none; "partial":true
// ends the metadata of a partial write and is left out otherwise. Values are
// rendered as in JSON (see jsonWriter); a deleted bin of a partial write is
// null.
//
// Names stay unique: a bin whose name (after Transform) equals the metadata
// key, or a bin named like one written before it (a hostile frame, or a
// rename onto an existing name), is written with '_' in front of its name,
// again until the name is unique: a bin "metadata" becomes "_metadata". The
// metadata object itself is never renamed. See FlatJSON.KeyStats for the counts.
//
// A FlatJSON is not safe for concurrent use; use it through a pointer.
type FlatJSON struct {
	// MetadataKey is the name of the metadata object; "" means "metadata".
	MetadataKey string
	// Transform selects and renames bins; nil keeps all.
	Transform *Transform

	w jsonWriter
	// name is the metadata key as a JSON string, built when MetadataKey
	// changes.
	name    []byte
	nameFor string
	nameSet bool
}

// ContentType is the content type of a body holding one message alone.
func (*FlatJSON) ContentType() string { return ContentTypeJSON }

// KeyStats reports how many names were renamed to stay unique and how many
// members were dropped after too many renames, since the encoder was made.
func (e *FlatJSON) KeyStats() (renamed, dropped uint64) {
	return e.w.keys.renamed, e.w.keys.dropped
}

// Append appends the message for m. On error dst is returned at its
// original length.
func (e *FlatJSON) Append(dst []byte, m *wire.Message, nowUnix int64) ([]byte, error) {
	if m.Kind != wire.KindWrite && m.Kind != wire.KindDelete {
		return dst, errJSONKind
	}
	dst = jsonGrow(dst, m)
	start := len(dst)
	w := &e.w
	w.reset()
	if !e.nameSet || e.nameFor != e.MetadataKey {
		key := e.MetadataKey
		if key == "" {
			key = DefaultMetadataKey
		}
		e.name = appendJSONStringStr(e.name[:0], key)
		e.nameFor, e.nameSet = e.MetadataKey, true
	}
	o := w.keys.open()
	dst = append(dst, '{')
	ks := len(dst)
	dst = append(dst, e.name...)
	if !w.keys.addNew(&o, dst, ks) { // the first name of o: new
		h, _ := w.keys.find(&o, dst, ks)
		w.keys.insert(&o, dst, ks, h)
	}
	dst = append(dst, `:{"namespace":`...)
	dst = appendJSONString(dst, m.Namespace)
	if m.HasSet {
		dst = append(dst, `,"set":`...)
		dst = appendJSONString(dst, m.Set)
	}
	if m.Key.Type != 0 {
		dst = append(dst, `,"userKey":`...)
		dst = jsonAppendUserKey(dst, &m.Key)
	}
	dst = append(dst, `,"digest":`...)
	dst = appendQuotedBase64(dst, m.Digest)
	if m.Kind == wire.KindDelete {
		dst = append(dst, `,"msg":"delete",`...)
		dst = append(dst, `"gen":`...)
		dst = appendUint(dst, uint64(m.Generation))
		dst = append(dst, `,"lut":`...)
		dst = appendInt(dst, m.LUTUnixMs())
		dst = append(dst, `,"durable":`...)
		dst = appendBool(dst, m.Durable)
		return append(dst, '}', '}'), nil
	}
	// Fragments of at most 16 bytes compile to stores of immediates, longer
	// ones to a call to memmove.
	dst = append(dst, `,"msg":"write",`...)
	dst = append(dst, `"gen":`...)
	dst = appendUint(dst, uint64(m.Generation))
	dst = append(dst, `,"lut":`...)
	dst = appendInt(dst, m.LUTUnixMs())
	dst = append(dst, `,"exp":`...)
	dst = appendInt(dst, m.Expiry(nowUnix))
	if m.Partial {
		dst = append(dst, `,"partial":true`...)
	}
	dst = append(dst, '}')
	var top wire.CDTToken
	for i := range m.Bins {
		b := &m.Bins[i]
		name, keep := e.Transform.Bin(b.Name)
		if !keep {
			continue
		}
		mark := len(dst)
		dst = append(dst, ',')
		ks := len(dst)
		dst = appendJSONString(dst, name)
		if !w.keys.addNew(&o, dst, ks) { // a new name (the rule), in one call
			if dst, keep = w.keys.uniq(&o, dst, ks); !keep {
				dst = dst[:mark]
				continue
			}
		}
		dst = append(dst, ':')
		var err error
		if dst, err = w.appendBinValue(dst, b, &top); err != nil {
			return dst[:start], jsonBinError(b, err)
		}
	}
	return append(dst, '}'), nil
}
