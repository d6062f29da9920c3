package encode

import (
	"bytes"
	"testing"
	"time"

	"github.com/hamba/avro/v2"
)

// BenchmarkAvro encodes the typical record (10 bins, ~300 bytes of frame)
// with the built-in schema, single-object encoding. SetBytes is the size of
// the message written.
func BenchmarkAvro(b *testing.B) {
	e := NewAvro(nil)
	m := typicalMessage(b)
	buf, _ := e.Append(nil, m, testNow)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = e.Append(buf[:0], m, testNow)
	}
}

// BenchmarkAvroOCF is the per-record cost inside a container file of 500.
func BenchmarkAvroOCF(b *testing.B) {
	e := NewAvro(nil)
	f := NewAvroOCF(e)
	m := typicalMessage(b)
	one, _ := e.AppendDatum(nil, m, testNow)
	buf := make([]byte, 0, 600*len(one))
	b.SetBytes(int64(len(one)))
	b.ReportAllocs()
	n := 0
	buf = f.Begin(buf)
	for b.Loop() {
		buf, _ = f.Append(buf, m, testNow)
		if n++; n == 500 {
			buf = f.Begin(f.End(buf)[:0])
			n = 0
		}
	}
}

// BenchmarkAvroUser encodes the typical record with a user schema
// (personSchema: metadata and bins as fields).
func BenchmarkAvroUser(b *testing.B) {
	e := mustAvroUser(b, personSchema, nil)
	m := typicalMessage(b)
	buf, err := e.Append(nil, m, testNow)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = e.Append(buf[:0], m, testNow)
	}
}

// personRecord is personSchema as a Go struct, for hamba's own encoder.
type personRecord struct {
	Msg       string         `avro:"msg"`
	Namespace string         `avro:"namespace"`
	Set       *string        `avro:"set"`
	UserKey   any            `avro:"userKey"`
	Digest    []byte         `avro:"digest"`
	Gen       int32          `avro:"gen"`
	Lut       time.Time      `avro:"lut"`
	Exp       *int64         `avro:"exp"`
	Durable   *bool          `avro:"durable"`
	Partial   bool           `avro:"partial"`
	ID        int64          `avro:"id"`
	Name      *string        `avro:"name"`
	Email     string         `avro:"email"`
	Age       int32          `avro:"age"`
	Score     float64        `avro:"score"`
	Active    bool           `avro:"active"`
	Avatar    []byte         `avro:"avatar"`
	Visits    int64          `avro:"visits"`
	Tags      map[string]any `avro:"tags"`
	Prefs     map[string]any `avro:"prefs"`
	Missing   *string        `avro:"missing"`
	Status    string         `avro:"status"`
}

func typicalPerson() *personRecord {
	r := testRecords()[0]
	set, name, exp := r.set, "Colton Aerospike", int64(testNow+3600)
	d := r.digest()
	return &personRecord{
		Msg: "write", Namespace: r.ns, Set: &set, UserKey: r.keyRaw, Digest: d[:], Gen: 7,
		Lut: time.UnixMilli(r.lutMs), Exp: &exp, ID: 1234567, Name: &name, Email: "colton@example.com", Age: 27,
		Score: 98.25, Active: true, Avatar: []byte("\x89PNG\r\n\x1a\n0123456789abcdef0123456789"), Visits: 1 << 40,
		Tags:   map[string]any{"array": []any{"alpha", "beta", "gamma", int64(3)}},
		Prefs:  map[string]any{"theme": "dark", "lang": "en", "size": int64(12)},
		Status: "B",
	}
}

// BenchmarkAvroHambaMarshal is, for comparison, hamba's avro.Marshal of the
// same record as a Go struct (personSchema).
func BenchmarkAvroHambaMarshal(b *testing.B) {
	s := mustAvroUser(b, personSchema, nil).Schema()
	v := typicalPerson()
	out, err := avro.Marshal(s, v)
	if err != nil {
		b.Fatal(err)
	}
	// The same datum as ours (not the same bytes: hamba writes array
	// blocks with their byte size).
	ours, _ := mustAvroUser(b, personSchema, nil).AppendDatum(nil, typicalMessage(b), testNow)
	var dh, do map[string]any
	if err := avro.Unmarshal(s, out, &dh); err != nil {
		b.Fatal(err)
	}
	if err := avro.Unmarshal(s, ours, &do); err != nil {
		b.Fatal(err)
	}
	if err := modelEqual("person", do, dh); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(out)))
	b.ReportAllocs()
	for b.Loop() {
		out, _ = avro.Marshal(s, v)
	}
}

// BenchmarkAvroHambaEncoder reuses one hamba encoder and buffer.
func BenchmarkAvroHambaEncoder(b *testing.B) {
	s := mustAvroUser(b, personSchema, nil).Schema()
	v := typicalPerson()
	var buf bytes.Buffer
	enc := avro.NewEncoderForSchema(s, &buf)
	if err := enc.Encode(v); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(buf.Len()))
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		_ = enc.Encode(v)
	}
}

// BenchmarkAvroHambaMarshalMap marshals the record as a map[string]any.
func BenchmarkAvroHambaMarshalMap(b *testing.B) {
	s := mustAvroUser(b, personSchema, nil).Schema()
	p := typicalPerson()
	v := map[string]any{
		"msg": p.Msg, "namespace": p.Namespace, "set": *p.Set, "userKey": p.UserKey, "digest": p.Digest, "gen": int(p.Gen),
		"lut": p.Lut, "exp": *p.Exp, "durable": nil, "partial": p.Partial, "id": p.ID, "name": *p.Name, "email": p.Email,
		"age": int(p.Age), "score": p.Score, "active": p.Active, "avatar": p.Avatar, "visits": p.Visits, "tags": p.Tags,
		"prefs": p.Prefs, "missing": nil, "status": p.Status,
	}
	out, err := avro.Marshal(s, v)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(out)))
	b.ReportAllocs()
	for b.Loop() {
		out, _ = avro.Marshal(s, v)
	}
}
