package encode

import (
	"encoding/hex"
	"strconv"
	"strings"

	"github.com/xdrhook/xdrhook/wire"
)

// Framings of the JSON family (output-formats.md, "Framing of a batch").
// Each builds one body at a time: Begin, Append per message, End. None is
// safe for concurrent use. On an Append error the body is left as it was
// before that message, so the batch can go on without it.

// NDJSON frames messages one per line: each message is followed by '\n'. Enc
// must write single-line messages: JSON and FlatJSON do (even a GeoJSON text
// with newlines is compacted).
type NDJSON struct {
	Enc Encoder
}

// Begin starts a body.
func (f *NDJSON) Begin(dst []byte) []byte { return dst }

// Append appends one message and its newline.
func (f *NDJSON) Append(dst []byte, m *wire.Message, nowUnix int64) ([]byte, error) {
	dst, err := f.Enc.Append(dst, m, nowUnix)
	if err != nil {
		return dst, err
	}
	return append(dst, '\n'), nil
}

// End ends a body.
func (f *NDJSON) End(dst []byte) []byte { return dst }

// ContentType is application/x-ndjson.
func (f *NDJSON) ContentType() string { return ContentTypeNDJSON }

// JSONArray frames messages as one JSON array: [m1,m2,…]; an empty body is
// [].
type JSONArray struct {
	Enc Encoder
	n   int
}

// Begin starts a body with '['.
func (f *JSONArray) Begin(dst []byte) []byte {
	f.n = 0
	return append(dst, '[')
}

// Append appends one message, after a comma unless it is the first.
func (f *JSONArray) Append(dst []byte, m *wire.Message, nowUnix int64) ([]byte, error) {
	start := len(dst)
	if f.n > 0 {
		dst = append(dst, ',')
	}
	dst, err := f.Enc.Append(dst, m, nowUnix)
	if err != nil {
		return dst[:start], err
	}
	f.n++
	return dst, nil
}

// End closes the array.
func (f *JSONArray) End(dst []byte) []byte { return append(dst, ']') }

// ContentType is application/json.
func (f *JSONArray) ContentType() string { return ContentTypeJSON }

// DefaultESIndex is the default index template of ESBulk.
const DefaultESIndex = "{set}"

// ESDocID is where the _id of an ESBulk action comes from.
type ESDocID uint8

const (
	// ESDocIDDigest: the record digest in lowercase hex (40 characters).
	ESDocIDDigest ESDocID = iota
	// ESDocIDUserKey: the user key; a string as it is, an integer in
	// decimal, bytes in lowercase hex.
	ESDocIDUserKey
	// ESDocIDBin: the value of the bin ESBulk.DocIDBin, a string as it is
	// or an integer in decimal.
	ESDocIDBin
)

// ESWriteOp is the action of an ESBulk write.
type ESWriteOp uint8

const (
	// ESWriteAuto: index for a full write, update with doc_as_upsert for a
	// partial or metadata-only one (bins not shipped stay).
	ESWriteAuto ESWriteOp = iota
	// ESWriteIndex: index (replace the document) for every write.
	ESWriteIndex
	// ESWriteCreate: create; an existing _id answers 409, which is taken
	// as delivered.
	ESWriteCreate
	// ESWriteUpdate: update with doc_as_upsert for every write.
	ESWriteUpdate
)

// Counter counts an event; Inc must be safe for concurrent use (a
// metrics counter).
type Counter interface{ Inc() }

// ESBulk frames messages as an Elasticsearch/OpenSearch _bulk body
// (application/x-ndjson, every line ends with '\n'):
//
//	{"index":{"_index":I,"_id":D}}    then the flat-json document
//	{"create":{"_index":I,"_id":D}}   then the flat-json document
//	{"update":{"_index":I,"_id":D}}   then {"doc":<flat-json>,"doc_as_upsert":true}
//	{"delete":{"_index":I,"_id":D}}   per delete (unless OmitDeletes)
//
// The action of a write is WriteOp's: with ESWriteAuto (the zero value)
// index for a full write and update for a partial or metadata-only one,
// so that the bins a partial write does not carry stay in the document.
// With VersionLUT, index and delete actions also carry
// "version":<LUT Unix ms>,"version_type":"external_gte" (a record without
// a LUT is sent unversioned); Elasticsearch takes no external version on
// update or create, so those are unversioned (UnversionedUpdates counts
// the updates).
//
// D comes from DocID: by default the record digest in lowercase hex (40
// characters); a record without the user key or the bin DocID asks for
// (or whose value is empty or of another type) gets the digest, counted
// in DocIDFallbacks. I comes from the Index template, where {set} is the
// set name, or the namespace when the record has no set (or an empty
// one), and {namespace} is the namespace; other text is kept as it is.
// The default template is "{set}".
type ESBulk struct {
	// Index is the index template; "" means DefaultESIndex.
	Index string
	// OmitDeletes leaves delete actions out of the body (some ES-compatible
	// stores reject them); the deletes are then skipped, not failed.
	OmitDeletes bool
	// DocID picks the _id; DocIDBin names the bin of ESDocIDBin (the
	// bin's name as sent, before bin-transforms).
	DocID    ESDocID
	DocIDBin string
	// WriteOp is the action of writes.
	WriteOp ESWriteOp
	// VersionLUT versions index and delete actions by the record's LUT.
	VersionLUT bool
	// DocIDFallbacks counts records given the digest for want of their
	// DocID; UnversionedUpdates the update actions sent unversioned under
	// VersionLUT. Nil: not counted.
	DocIDFallbacks, UnversionedUpdates Counter
	// Doc writes the documents (its MetadataKey and Transform apply).
	Doc FlatJSON
}

// Omits implements Omitter: deletes, with OmitDeletes.
func (f *ESBulk) Omits(m *wire.Message) bool { return f.OmitDeletes && m.Kind == wire.KindDelete }

// Begin starts a body.
func (f *ESBulk) Begin(dst []byte) []byte { return dst }

// Append appends the action line (and the document line of a write).
func (f *ESBulk) Append(dst []byte, m *wire.Message, nowUnix int64) ([]byte, error) {
	start := len(dst)
	versioned := false
	update := false
	switch m.Kind {
	case wire.KindWrite:
		switch f.WriteOp {
		case ESWriteIndex:
		case ESWriteCreate:
			dst = append(dst, `{"create":{"_index":`...)
		case ESWriteUpdate:
			update = true
		default:
			update = m.Partial || m.MetadataOnly
		}
		switch {
		case update:
			dst = append(dst, `{"update":{"_index":`...)
		case f.WriteOp != ESWriteCreate:
			dst = append(dst, `{"index":{"_index":`...)
			versioned = f.VersionLUT
		}
	case wire.KindDelete:
		if f.OmitDeletes {
			return dst, nil
		}
		dst = append(dst, `{"delete":{"_index":`...)
		versioned = f.VersionLUT
	default:
		return dst, errJSONKind
	}
	dst = f.appendIndex(dst, m)
	dst = append(dst, `,"_id":"`...)
	dst = f.appendID(dst, m)
	if versioned && m.HasLUT {
		dst = append(dst, `","version":`...)
		dst = strconv.AppendInt(dst, m.LUTUnixMs(), 10)
		dst = append(dst, ",\"version_type\":\"external_gte\"}}\n"...)
	} else {
		dst = append(dst, "\"}}\n"...)
	}
	if m.Kind == wire.KindDelete {
		return dst, nil
	}
	if update {
		dst = append(dst, `{"doc":`...)
	}
	dst, err := f.Doc.Append(dst, m, nowUnix)
	if err != nil {
		return dst[:start], err
	}
	if update {
		dst = append(dst, `,"doc_as_upsert":true}`...)
		if f.VersionLUT && f.UnversionedUpdates != nil {
			f.UnversionedUpdates.Inc()
		}
	}
	return append(dst, '\n'), nil
}

// appendID appends the inside of the _id string of m.
func (f *ESBulk) appendID(dst []byte, m *wire.Message) []byte {
	switch f.DocID {
	case ESDocIDUserKey:
		switch k := &m.Key; k.Type {
		case wire.ParticleInteger:
			return strconv.AppendInt(dst, k.Int, 10)
		case wire.ParticleString:
			if len(k.Bytes) > 0 {
				return appendEscaped(dst, k.Bytes)
			}
		case wire.ParticleBlob:
			if len(k.Bytes) > 0 {
				return hex.AppendEncode(dst, k.Bytes)
			}
		}
	case ESDocIDBin:
		for i := range m.Bins {
			b := &m.Bins[i]
			if string(b.Name) != f.DocIDBin {
				continue
			}
			switch b.Type {
			case wire.ParticleInteger:
				if v, ok := wire.Int(b.Value); ok {
					return strconv.AppendInt(dst, v, 10)
				}
			case wire.ParticleString:
				if len(b.Value) > 0 {
					return appendEscaped(dst, b.Value)
				}
			}
			break
		}
	default:
		return hex.AppendEncode(dst, m.Digest)
	}
	if f.DocIDFallbacks != nil {
		f.DocIDFallbacks.Inc()
	}
	return hex.AppendEncode(dst, m.Digest)
}

// appendIndex appends the index name of m as a JSON string.
func (f *ESBulk) appendIndex(dst []byte, m *wire.Message) []byte {
	tpl := f.Index
	if tpl == "" {
		tpl = DefaultESIndex
	}
	dst = append(dst, '"')
	for len(tpl) > 0 {
		i := strings.IndexByte(tpl, '{')
		if i < 0 {
			dst = appendEscaped(dst, strBytes(tpl))
			break
		}
		dst = appendEscaped(dst, strBytes(tpl[:i]))
		tpl = tpl[i:]
		switch {
		case strings.HasPrefix(tpl, "{set}"):
			if len(m.Set) > 0 {
				dst = appendEscaped(dst, m.Set)
			} else {
				dst = appendEscaped(dst, m.Namespace)
			}
			tpl = tpl[len("{set}"):]
		case strings.HasPrefix(tpl, "{namespace}"):
			dst = appendEscaped(dst, m.Namespace)
			tpl = tpl[len("{namespace}"):]
		default:
			dst = append(dst, '{')
			tpl = tpl[1:]
		}
	}
	return append(dst, '"')
}

// End ends a body.
func (f *ESBulk) End(dst []byte) []byte { return dst }

// ContentType is application/x-ndjson.
func (f *ESBulk) ContentType() string { return ContentTypeNDJSON }

// SplunkHEC frames messages for a Splunk HTTP Event Collector
// (/services/collector/event), one event object per message, joined by
// newlines (no newline after the last):
//
//	{"time":1734388704.784,"event":<flat-json>,"source":S,"sourcetype":T,"index":I}
//
// time is the LUT in Unix seconds with a millisecond fraction (always three
// digits); it is left out when the record carries no LUT, so Splunk uses
// the receipt time. source, sourcetype and index are written only when set.
type SplunkHEC struct {
	Source, SourceType, Index string
	// Doc writes the events (its MetadataKey and Transform apply).
	Doc FlatJSON

	n       int
	tail    []byte // the optional members and the closing brace
	tailFor [3]string
	tailSet bool
}

// Begin starts a body.
func (f *SplunkHEC) Begin(dst []byte) []byte {
	f.n = 0
	return dst
}

// Append appends one event object, after a newline unless it is the first.
func (f *SplunkHEC) Append(dst []byte, m *wire.Message, nowUnix int64) ([]byte, error) {
	if !f.tailSet || f.tailFor != [3]string{f.Source, f.SourceType, f.Index} {
		f.buildTail()
	}
	start := len(dst)
	if f.n > 0 {
		dst = append(dst, '\n')
	}
	dst = append(dst, '{')
	if m.HasLUT {
		ms := m.LUTUnixMs()
		dst = append(dst, `"time":`...)
		dst = strconv.AppendInt(dst, ms/1000, 10)
		frac := ms % 1000
		dst = append(dst, '.', byte('0'+frac/100), byte('0'+frac/10%10), byte('0'+frac%10), ',')
	}
	dst = append(dst, `"event":`...)
	dst, err := f.Doc.Append(dst, m, nowUnix)
	if err != nil {
		return dst[:start], err
	}
	f.n++
	return append(dst, f.tail...), nil
}

func (f *SplunkHEC) buildTail() {
	cfg := [3]string{f.Source, f.SourceType, f.Index}
	names := [3]string{`,"source":`, `,"sourcetype":`, `,"index":`}
	f.tail = f.tail[:0]
	for i, v := range cfg {
		if v != "" {
			f.tail = append(f.tail, names[i]...)
			f.tail = appendJSONStringStr(f.tail, v)
		}
	}
	f.tail = append(f.tail, '}')
	f.tailFor, f.tailSet = cfg, true
}

// End ends a body.
func (f *SplunkHEC) End(dst []byte) []byte { return dst }

// ContentType is application/json.
func (f *SplunkHEC) ContentType() string { return ContentTypeJSON }

// AppendIdempotencyKey appends the Idempotency-Key header value of a single
// message: <hex digest>-<LUT Unix ms>-<generation>, e.g.
// 5fe3b7c0f4669a77c8456c1bf4f1f68c55ac1002-1734388704784-1.
func AppendIdempotencyKey(dst []byte, m *wire.Message) []byte {
	dst = hex.AppendEncode(dst, m.Digest)
	dst = append(dst, '-')
	dst = strconv.AppendInt(dst, m.LUTUnixMs(), 10)
	dst = append(dst, '-')
	return strconv.AppendUint(dst, uint64(m.Generation), 10)
}
