package encode

import (
	"encoding/base64"
	"fmt"
	"math"
	"strconv"

	"github.com/hamba/avro/v2"
	"github.com/xdrhook/xdrhook/wire"
)

// RecordError is a record an encoder cannot write as configured: a value
// that does not fit its user-schema field, or a field that has no value, no
// default and no null. It is a permanent failure of that record alone (the
// dataplane counts it and answers 4); other records are not affected.
type RecordError struct {
	Field  string // the schema field (a.b for a field of the metadata record)
	Reason string
}

func (e *RecordError) Error() string {
	return "encode: field " + strconv.Quote(e.Field) + ": " + e.Reason
}

// User schemas (format.schema-file), in the style Aerospike documents for
// its connectors: a record whose fields are named after metadata and bins.
//
//   - Metadata fields: msg (string or enum with symbols write and delete),
//     namespace, set (string or bytes), userKey (any of long, int, double,
//     float, string, bytes, as the key's type allows), digest (bytes,
//     fixed 20, or string = base64), gen or generation, lut (long, Unix ms;
//     µs under logicalType timestamp-micros), exp or expiration (Unix s,
//     0 = never), durable, partial (boolean). They sit at the top level, or
//     in a field named "metadata" whose type is a record (or a nullable
//     record) of them; with such a record every top-level field is a bin.
//   - Every other field is a bin, matched by its name after bin-transforms;
//     bins the schema does not name are left out.
//   - Conversions: int → long, int (range checked), double, float;
//     float → double, float; string → string, enum (a symbol), bytes;
//     blob and typed bytes → bytes, fixed (length checked); GeoJSON → string
//     (its JSON text), bytes; bool → boolean; list → array (items converted
//     one by one); map → map (string keys as is, integer keys in decimal,
//     values converted). A union takes the first branch that can hold the
//     value's kind, in the order above (an int prefers long).
//   - A value that is missing (bin absent or deleted, set or user key
//     absent, exp on a delete, durable on a write) takes the field's
//     default, else null if the field is nullable, else (exp, durable, lut)
//     0 or false, else the record fails with a *RecordError.
//   - Not supported (error at construction): a top-level schema that is
//     not a record, record-typed bin fields, decimal logical types.

type avroSrc uint8

const (
	srcBin avroSrc = iota
	srcMsg
	srcNamespace
	srcSet
	srcUserKey
	srcDigest
	srcGen
	srcLUT
	srcExp
	srcDurable
	srcPartial
	srcGroup // the metadata record
)

// avroMetaNames maps metadata field names (Aerospike's, and a few long
// forms) to their source.
var avroMetaNames = map[string]avroSrc{
	"msg":        srcMsg,
	"namespace":  srcNamespace,
	"set":        srcSet,
	"userKey":    srcUserKey,
	"digest":     srcDigest,
	"gen":        srcGen,
	"generation": srcGen,
	"lut":        srcLUT,
	"exp":        srcExp,
	"expiration": srcExp,
	"durable":    srcDurable,
	"partial":    srcPartial,
}

// avroMetadataField is the name of the field that may hold the metadata as
// a record.
const avroMetadataField = "metadata"

// Classes of source values, for union branch choice and conversions.
const (
	clsNil = iota
	clsBool
	clsInt
	clsUint
	clsFloat
	clsString
	clsBytes
	clsTyped
	clsGeo
	clsExt
	clsList
	clsMap
	numClasses
)

var clsNames = [numClasses]string{"null", "bool", "integer", "unsigned integer", "float", "string", "blob", "typed bytes", "GeoJSON", "ext", "list", "map"}

// clsTargets lists, per class, the Avro types that can hold it, preferred
// first.
var clsTargets = [numClasses][]avro.Type{
	clsNil:    {avro.Null},
	clsBool:   {avro.Boolean},
	clsInt:    {avro.Long, avro.Int, avro.Double, avro.Float},
	clsUint:   {avro.Double, avro.Float},
	clsFloat:  {avro.Double, avro.Float},
	clsString: {avro.String, avro.Enum, avro.Bytes},
	clsBytes:  {avro.Bytes, avro.Fixed},
	clsTyped:  {avro.Bytes, avro.Fixed},
	clsGeo:    {avro.String, avro.Bytes},
	clsExt:    {avro.Bytes, avro.Fixed},
	clsList:   {avro.Array},
	clsMap:    {avro.Map},
}

func tokenClass(t *wire.CDTToken) int {
	switch t.Kind {
	case wire.CDTNil:
		return clsNil
	case wire.CDTBool:
		return clsBool
	case wire.CDTInt:
		return clsInt
	case wire.CDTUint:
		return clsUint
	case wire.CDTFloat:
		return clsFloat
	case wire.CDTString:
		return clsString
	case wire.CDTBytes:
		return clsBytes
	case wire.CDTTyped:
		if t.Sub == wire.ParticleGeoJSON {
			return clsGeo
		}
		return clsTyped
	case wire.CDTExt:
		return clsExt
	case wire.CDTList:
		return clsList
	}
	return clsMap
}

// avroNode is one compiled schema type.
type avroNode struct {
	kind     avro.Type // never Ref or Union's branch Union
	micros   bool      // long with logicalType timestamp-micros
	size     int       // fixed
	symbols  []string  // enum
	elem     *avroNode // array items, map values
	branches []*avroNode
	pick     [numClasses]int8 // union: the branch for each class, -1 none
	fields   []avroField      // the metadata record
}

// accepts reports whether n (a union: one of its branches) can hold cls.
func (n *avroNode) accepts(cls int) bool {
	if n.kind == avro.Union {
		return n.pick[cls] >= 0
	}
	for _, k := range clsTargets[cls] {
		if k == n.kind {
			return true
		}
	}
	return false
}

// branchFor returns the node that holds cls (n itself, or n's branch), or
// nil if none can.
func (n *avroNode) branchFor(cls int) *avroNode {
	switch {
	case n.kind == avro.Union && n.pick[cls] >= 0:
		return n.branches[n.pick[cls]]
	case n.kind != avro.Union && n.accepts(cls):
		return n
	}
	return nil
}

type avroField struct {
	name   string // as written in errors: metadata.gen for a nested field
	src    avroSrc
	node   *avroNode
	def    []byte // the default, encoded
	hasDef bool

	digestBase64 bool  // digest into a string: base64
	lutScale     int64 // lut: 1 (ms) or 1000 (µs)
}

type avroPlan struct {
	fields   []avroField
	binField map[string]int // bin name → index in fields
}

// avroUserScratch is the per-encoder state of the user writer.
type avroUserScratch struct {
	cur      wire.CDTReader
	tok      wire.CDTToken
	binAt    []int32 // per field: the index of its bin in the message, -1 none
	slots    []binSlot
	slotsFor *Transform // the transform the slots were found with
	b64      [28]byte
	num      [24]byte
}

// binSlot caches the field of the bin seen at one position.
type binSlot struct {
	name  []byte
	field int32 // -1: no field
	ok    bool
}

var (
	avroMsgWrite  = []byte("write")
	avroMsgDelete = []byte("delete")
)

// NewAvroWithSchema returns an encoder for a user schema (JSON text). It
// parses and compiles the schema on every call: to make several encoders of
// one schema, compile it once with CompileAvroSchema.
func NewAvroWithSchema(schema []byte, t *Transform) (*Avro, error) {
	c, err := CompileAvroSchema(schema)
	if err != nil {
		return nil, err
	}
	return c.NewEncoder(t), nil
}

// CompiledAvroSchema is a schema parsed and checked once, from which any
// number of encoders are made. It is read-only, so safe for concurrent use;
// each encoder has its own scratch.
type CompiledAvroSchema struct {
	sch  *avroSchema
	plan *avroPlan // nil: the built-in schema
}

// CompileAvroSchema parses a user schema (JSON text) and compiles the
// writer of its fields; the error says why a schema cannot be written.
func CompileAvroSchema(schema []byte) (*CompiledAvroSchema, error) {
	sch, err := parseAvroSchema(schema)
	if err != nil {
		return nil, err
	}
	plan, err := compileAvroPlan(sch.schema)
	if err != nil {
		return nil, err
	}
	return &CompiledAvroSchema{sch: sch, plan: plan}, nil
}

// BuiltinAvroSchema is the built-in schema
// (schema/change_notification.avsc), compiled.
func BuiltinAvroSchema() *CompiledAvroSchema { return &CompiledAvroSchema{sch: builtinAvro()} }

// NewEncoder returns an encoder for the schema, applying t to the bins.
func (c *CompiledAvroSchema) NewEncoder(t *Transform) *Avro {
	a := &Avro{Transform: t, sch: c.sch, plan: c.plan}
	if c.plan != nil {
		a.user.binAt = make([]int32, len(c.plan.fields))
	}
	return a
}

func compileAvroPlan(s avro.Schema) (*avroPlan, error) {
	rec, ok := deref(s).(*avro.RecordSchema)
	if !ok {
		return nil, fmt.Errorf("avro schema: the top level is %s, want a record of metadata and bin fields", s.Type())
	}
	p := &avroPlan{binField: map[string]int{}}
	group := -1
	for i, f := range rec.Fields() {
		if f.Name() == avroMetadataField && isRecordType(f.Type()) {
			group = i
		}
	}
	for i, f := range rec.Fields() {
		af := avroField{name: f.Name(), src: srcBin}
		if i == group {
			af.src = srcGroup
		} else if src, ok := avroMetaNames[f.Name()]; ok && group < 0 {
			af.src = src
		}
		if err := compileField(&af, f); err != nil {
			return nil, err
		}
		if af.src == srcBin {
			p.binField[af.name] = len(p.fields)
		}
		p.fields = append(p.fields, af)
	}
	return p, nil
}

func deref(s avro.Schema) avro.Schema {
	if r, ok := s.(*avro.RefSchema); ok {
		return r.Schema()
	}
	return s
}

// isRecordType reports whether s is a record or a union of null and a record.
func isRecordType(s avro.Schema) bool {
	switch s := deref(s).(type) {
	case *avro.RecordSchema:
		return true
	case *avro.UnionSchema:
		for _, t := range s.Types() {
			if _, ok := deref(t).(*avro.RecordSchema); ok {
				return true
			}
		}
	}
	return false
}

func compileField(af *avroField, f *avro.Field) error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("avro schema: field %q: %s", af.name, fmt.Sprintf(format, args...))
	}
	n, err := compileNode(f.Type(), af.src == srcGroup)
	if err != nil {
		return fail("%v", err)
	}
	af.node = n
	if f.HasDefault() {
		def, err := avro.Marshal(f.Type(), f.Default())
		if err != nil {
			return fail("cannot encode its default: %v", err)
		}
		af.def, af.hasDef = def, true
	}
	switch af.src {
	case srcGroup:
		rec := n
		if n.kind == avro.Union {
			for _, b := range n.branches {
				if b.kind == avro.Record {
					rec = b
				}
			}
		}
		for _, sf := range rec.fields {
			if _, ok := avroMetaNames[sf.name]; !ok {
				return fail("%q is not a metadata name (msg, namespace, set, userKey, digest, gen, lut, exp, durable, partial)", sf.name)
			}
		}
		for i := range rec.fields {
			rec.fields[i].name = af.name + "." + rec.fields[i].name
		}
	case srcMsg:
		b := n.branchFor(clsString)
		if b == nil {
			return fail("type %s cannot hold the message kind (use string or an enum of write and delete)", f.Type().Type())
		}
		if b.kind == avro.Enum && (symbolIndex(b.symbols, avroMsgWrite) < 0 || symbolIndex(b.symbols, avroMsgDelete) < 0) {
			return fail("enum needs the symbols write and delete")
		}
	case srcNamespace, srcSet:
		if !n.accepts(clsString) {
			return fail("type %s cannot hold a name (use string or bytes)", f.Type().Type())
		}
	case srcUserKey:
		if !n.accepts(clsInt) && !n.accepts(clsFloat) && !n.accepts(clsString) && !n.accepts(clsBytes) {
			return fail("type %s cannot hold a user key", f.Type().Type())
		}
	case srcDigest:
		if b := n.branchFor(clsBytes); b != nil {
			if b.kind == avro.Fixed && b.size != wire.DigestSize {
				return fail("fixed of %d bytes cannot hold a digest (20)", b.size)
			}
		} else if n.accepts(clsString) {
			af.digestBase64 = true
		} else {
			return fail("type %s cannot hold a digest (use bytes, fixed 20 or string)", f.Type().Type())
		}
	case srcGen, srcExp, srcLUT:
		b := n.branchFor(clsInt)
		if b == nil {
			return fail("type %s cannot hold a number (use long)", f.Type().Type())
		}
		if af.src == srcLUT {
			if b.kind == avro.Int || b.kind == avro.Float {
				return fail("type %s is too small for a time in ms (use long)", b.kind)
			}
			af.lutScale = 1
			if b.micros {
				af.lutScale = 1000
			}
		}
	case srcDurable, srcPartial:
		if !n.accepts(clsBool) {
			return fail("type %s cannot hold a flag (use boolean)", f.Type().Type())
		}
	}
	return nil
}

func compileNode(s avro.Schema, group bool) (*avroNode, error) {
	s = deref(s)
	n := &avroNode{kind: s.Type()}
	if ls, ok := s.(avro.LogicalTypeSchema); ok && ls.Logical() != nil {
		switch ls.Logical().Type() {
		case avro.Decimal:
			return nil, fmt.Errorf("logical type decimal is not supported")
		case avro.TimestampMicros, avro.LocalTimestampMicros:
			n.micros = true
		}
	}
	switch s := s.(type) {
	case *avro.PrimitiveSchema, *avro.NullSchema:
	case *avro.FixedSchema:
		n.size = s.Size()
	case *avro.EnumSchema:
		n.symbols = s.Symbols()
	case *avro.ArraySchema:
		e, err := compileNode(s.Items(), false)
		if err != nil {
			return nil, err
		}
		n.elem = e
	case *avro.MapSchema:
		e, err := compileNode(s.Values(), false)
		if err != nil {
			return nil, err
		}
		n.elem = e
	case *avro.UnionSchema:
		for i := range n.pick {
			n.pick[i] = -1
		}
		for _, t := range s.Types() {
			b, err := compileNode(t, group)
			if err != nil {
				return nil, err
			}
			n.branches = append(n.branches, b)
		}
		for cls, kinds := range clsTargets {
		choose:
			for _, k := range kinds {
				for i, b := range n.branches {
					if b.kind == k {
						n.pick[cls] = int8(i)
						break choose
					}
				}
			}
		}
	case *avro.RecordSchema:
		if !group {
			return nil, fmt.Errorf("record %s: record-typed bin fields are not supported", s.FullName())
		}
		for _, f := range s.Fields() {
			af := avroField{name: f.Name(), src: avroMetaNames[f.Name()]}
			if err := compileField(&af, f); err != nil {
				return nil, err
			}
			n.fields = append(n.fields, af)
		}
	default:
		return nil, fmt.Errorf("type %s is not supported", s.Type())
	}
	return n, nil
}

func symbolIndex(symbols []string, s []byte) int {
	for i, sym := range symbols {
		if sym == string(s) {
			return i
		}
	}
	return -1
}

// appendUser writes a datum of the user schema.
func (a *Avro) appendUser(dst []byte, m *wire.Message, nowUnix int64) ([]byte, error) {
	if m.Kind != wire.KindWrite && m.Kind != wire.KindDelete {
		return dst, errUnknownKind
	}
	p := a.plan
	binAt := a.user.binAt
	for i := range binAt {
		binAt[i] = -1
	}
	if m.Kind == wire.KindWrite && len(p.binField) > 0 {
		// Records of a set mostly list the same bins in the same order: a
		// bin whose name is the one seen last time at its position takes
		// the field found then, without the transform's and the plan's
		// map lookups.
		slots := a.user.slots
		if a.user.slotsFor != a.Transform {
			slots, a.user.slotsFor = slots[:0], a.Transform
		}
		for i := range m.Bins {
			name := m.Bins[i].Name
			if i == len(slots) {
				slots = append(slots, binSlot{})
			}
			sl := &slots[i]
			if !sl.ok || string(sl.name) != string(name) {
				sl.name = append(sl.name[:0], name...)
				sl.ok, sl.field = true, -1
				if out, keep := a.Transform.Bin(name); keep {
					if fi, found := p.binField[string(out)]; found {
						sl.field = int32(fi)
					}
				}
			}
			if sl.field >= 0 {
				binAt[sl.field] = int32(i)
			}
		}
		a.user.slots = slots
	}
	return a.appendUserFields(dst, p.fields, m, nowUnix)
}

func (a *Avro) appendUserFields(dst []byte, fields []avroField, m *wire.Message, nowUnix int64) ([]byte, error) {
	var err error
	for i := range fields {
		if dst, err = a.appendUserField(dst, i, &fields[i], m, nowUnix); err != nil {
			return dst, err
		}
	}
	return dst, nil
}

// appendUserField writes field f (index i of its record).
func (a *Avro) appendUserField(dst []byte, i int, f *avroField, m *wire.Message, nowUnix int64) ([]byte, error) {
	t := &a.user.tok // only the fields of t.Kind are read
	switch f.src {
	case srcBin:
		bi := a.user.binAt[i]
		if bi < 0 {
			return a.appendMissing(dst, f, nil)
		}
		b := &m.Bins[bi]
		if b.Type == wire.ParticleList || b.Type == wire.ParticleMap {
			r := &a.user.cur
			r.Reset(b.Value)
			if err := r.Next(t); err != nil {
				return dst, err
			}
			dst, err := a.appendUserValue(dst, f, f.node, t)
			if err != nil {
				return dst, err
			}
			if t.Kind == wire.CDTList || t.Kind == wire.CDTMap {
				return dst, nil // the walk checked the value's end
			}
			if err := r.Next(t); err != wire.ErrCDTEnd {
				return dst, err
			}
			return dst, nil
		}
		binToken(b, t)
		if t.Kind == wire.CDTNil && !f.node.accepts(clsNil) {
			return a.appendMissing(dst, f, nil) // deleted bin: default
		}
	case srcGroup:
		n := f.node
		if n.kind == avro.Union {
			for bi, b := range n.branches {
				if b.kind == avro.Record {
					dst = appendAvroLong(dst, int64(bi))
					n = b
				}
			}
		}
		return a.appendUserFields(dst, n.fields, m, nowUnix)
	case srcMsg:
		t.Kind, t.Bytes = wire.CDTString, avroMsgWrite
		if m.Kind == wire.KindDelete {
			t.Bytes = avroMsgDelete
		}
	case srcNamespace:
		t.Kind, t.Bytes = wire.CDTString, m.Namespace
	case srcSet:
		if !m.HasSet {
			return a.appendMissing(dst, f, nil)
		}
		t.Kind, t.Bytes = wire.CDTString, m.Set
	case srcUserKey:
		switch m.Key.Type {
		case 0:
			return a.appendMissing(dst, f, nil)
		case wire.ParticleInteger:
			t.Kind, t.Int = wire.CDTInt, m.Key.Int
		case wire.ParticleFloat:
			t.Kind, t.Float = wire.CDTFloat, m.Key.Float
		case wire.ParticleString:
			t.Kind, t.Bytes = wire.CDTString, m.Key.Bytes
		case wire.ParticleBlob:
			t.Kind, t.Bytes = wire.CDTBytes, m.Key.Bytes
		default:
			t.Kind, t.Sub, t.Bytes = wire.CDTTyped, m.Key.Type, m.Key.Bytes
		}
	case srcDigest:
		if len(m.Digest) != wire.DigestSize {
			return dst, &RecordError{Field: f.name, Reason: "digest of " + strconv.Itoa(len(m.Digest)) + " bytes, want 20"}
		}
		if f.digestBase64 {
			base64.StdEncoding.Encode(a.user.b64[:], m.Digest)
			t.Kind, t.Bytes = wire.CDTString, a.user.b64[:]
		} else {
			t.Kind, t.Bytes = wire.CDTBytes, m.Digest
		}
	case srcGen:
		t.Kind, t.Int = wire.CDTInt, int64(m.Generation)
	case srcLUT:
		t.Kind, t.Int = wire.CDTInt, m.LUTUnixMs()*f.lutScale
		if !m.HasLUT {
			return a.appendMissing(dst, f, t)
		}
	case srcExp:
		t.Kind, t.Int = wire.CDTInt, m.Expiry(nowUnix)
		if m.Kind != wire.KindWrite {
			return a.appendMissing(dst, f, t)
		}
	case srcDurable:
		t.Kind, t.Bool = wire.CDTBool, m.Durable
		if m.Kind != wire.KindDelete {
			return a.appendMissing(dst, f, t)
		}
	case srcPartial:
		t.Kind, t.Bool = wire.CDTBool, m.Partial
	}
	return a.appendUserValue(dst, f, f.node, t)
}

// binToken sets t to the scalar value of a top-level bin.
func binToken(b *wire.Bin, t *wire.CDTToken) {
	v := b.Value
	switch b.Type {
	case wire.ParticleNull:
		t.Kind = wire.CDTNil
	case wire.ParticleInteger:
		t.Kind = wire.CDTInt
		t.Int, _ = wire.Int(v)
	case wire.ParticleFloat:
		t.Kind = wire.CDTFloat
		t.Float, _ = wire.Float(v)
	case wire.ParticleString:
		t.Kind, t.Bytes = wire.CDTString, v
	case wire.ParticleBool:
		t.Kind, t.Bool = wire.CDTBool, len(v) == 1 && v[0] != 0
	case wire.ParticleBlob:
		t.Kind, t.Bytes = wire.CDTBytes, v
	case wire.ParticleGeoJSON:
		if text, err := wire.GeoJSONText(v); err == nil {
			t.Kind, t.Sub, t.Bytes = wire.CDTTyped, wire.ParticleGeoJSON, text
		} else {
			t.Kind, t.Bytes = wire.CDTBytes, v
		}
	default:
		t.Kind, t.Sub, t.Bytes = wire.CDTTyped, b.Type, v
	}
}

// appendMissing writes a field that has no value: its default, else null,
// else the natural value (exp 0, durable false, lut 0), else an error.
func (a *Avro) appendMissing(dst []byte, f *avroField, natural *wire.CDTToken) ([]byte, error) {
	if f.hasDef {
		return append(dst, f.def...), nil
	}
	if f.node.accepts(clsNil) {
		if f.node.kind == avro.Union {
			dst = appendAvroLong(dst, int64(f.node.pick[clsNil]))
		}
		return dst, nil
	}
	if natural != nil {
		natural.Int, natural.Bool = 0, false
		return a.appendUserValue(dst, f, f.node, natural)
	}
	return dst, &RecordError{Field: f.name, Reason: "no value, and the field has no default and is not nullable"}
}

// appendUserValue writes the value t (a scalar, or the head of a list or map
// whose elements a.cur yields) as node n of field f.
func (a *Avro) appendUserValue(dst []byte, f *avroField, n *avroNode, t *wire.CDTToken) ([]byte, error) {
	cls := tokenClass(t)
	if n.kind == avro.Union {
		i := n.pick[cls]
		if i < 0 {
			return dst, convError(f, cls, n)
		}
		dst = appendAvroLong(dst, int64(i))
		n = n.branches[i]
	}
	switch n.kind {
	case avro.Null:
		if cls == clsNil {
			return dst, nil
		}
	case avro.Boolean:
		if cls == clsBool {
			return appendAvroBool(dst, t.Bool), nil
		}
	case avro.Long:
		if cls == clsInt {
			return appendAvroLong(dst, t.Int), nil
		}
	case avro.Int:
		if cls == clsInt {
			if t.Int < math.MinInt32 || t.Int > math.MaxInt32 {
				return dst, &RecordError{Field: f.name, Reason: strconv.FormatInt(t.Int, 10) + " does not fit an int"}
			}
			return appendAvroLong(dst, t.Int), nil
		}
	case avro.Double, avro.Float:
		var x float64
		switch cls {
		case clsInt:
			x = float64(t.Int)
		case clsUint:
			x = float64(t.Uint)
		case clsFloat:
			x = t.Float
		default:
			return dst, convError(f, cls, n)
		}
		if n.kind == avro.Float {
			return appendAvroFloat(dst, float32(x)), nil
		}
		return appendAvroDouble(dst, x), nil
	case avro.String:
		if cls == clsString || cls == clsGeo {
			return appendAvroBytes(dst, t.Bytes), nil
		}
	case avro.Bytes:
		switch cls {
		case clsString, clsBytes, clsTyped, clsGeo, clsExt:
			return appendAvroBytes(dst, t.Bytes), nil
		}
	case avro.Fixed:
		switch cls {
		case clsBytes, clsTyped, clsExt:
			if len(t.Bytes) != n.size {
				return dst, &RecordError{Field: f.name, Reason: strconv.Itoa(len(t.Bytes)) + " bytes for a fixed of " + strconv.Itoa(n.size)}
			}
			return append(dst, t.Bytes...), nil
		}
	case avro.Enum:
		if cls == clsString {
			i := symbolIndex(n.symbols, t.Bytes)
			if i < 0 {
				return dst, &RecordError{Field: f.name, Reason: strconv.Quote(string(t.Bytes)) + " is not a symbol of the enum"}
			}
			return appendAvroLong(dst, int64(i)), nil
		}
	case avro.Array:
		if cls == clsList {
			return a.appendUserArray(dst, f, n, t)
		}
	case avro.Map:
		if cls == clsMap {
			return a.appendUserMap(dst, f, n, t)
		}
	}
	return dst, convError(f, cls, n)
}

func (a *Avro) appendUserArray(dst []byte, f *avroField, n *avroNode, t *wire.CDTToken) ([]byte, error) {
	count := t.N
	if count > 0 {
		dst = appendAvroLong(dst, int64(count))
	}
	r := &a.user.cur
	var err error
	for range count {
		if err = r.Next(t); err != nil {
			return dst, err
		}
		if dst, err = a.appendUserValue(dst, f, n.elem, t); err != nil {
			return dst, err
		}
	}
	if err = r.Next(t); err != nil { // the list's end (and, at the top, the value's end)
		return dst, err
	}
	return append(dst, 0), nil
}

func (a *Avro) appendUserMap(dst []byte, f *avroField, n *avroNode, t *wire.CDTToken) ([]byte, error) {
	count := t.N
	if count > 0 {
		dst = appendAvroLong(dst, int64(count))
	}
	r := &a.user.cur
	var err error
	for range count {
		if err = r.Next(t); err != nil {
			return dst, err
		}
		switch t.Kind {
		case wire.CDTString:
			dst = appendAvroBytes(dst, t.Bytes)
		case wire.CDTInt:
			dst = appendAvroBytes(dst, strconv.AppendInt(a.user.num[:0], t.Int, 10))
		case wire.CDTUint:
			dst = appendAvroBytes(dst, strconv.AppendUint(a.user.num[:0], t.Uint, 10))
		default:
			return dst, &RecordError{Field: f.name, Reason: "a map key of kind " + clsNames[tokenClass(t)] + " cannot be an Avro map key (string or integer keys only)"}
		}
		if err = r.Next(t); err != nil {
			return dst, err
		}
		if dst, err = a.appendUserValue(dst, f, n.elem, t); err != nil {
			return dst, err
		}
	}
	if err = r.Next(t); err != nil {
		return dst, err
	}
	return append(dst, 0), nil
}

func convError(f *avroField, cls int, n *avroNode) error {
	return &RecordError{Field: f.name, Reason: "a " + clsNames[cls] + " value cannot be written as " + describeNode(n)}
}

func describeNode(n *avroNode) string {
	if n.kind != avro.Union {
		return string(n.kind)
	}
	s := "["
	for i, b := range n.branches {
		if i > 0 {
			s += ","
		}
		s += string(b.kind)
	}
	return s + "]"
}
