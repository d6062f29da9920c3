package encode

import (
	"crypto/rand"

	"github.com/xdrhook/xdrhook/wire"
)

// AvroOCF is the avro-ocf framing: an Avro object container file holding
// the batch in one data block. Begin writes the header (magic "Obj\x01",
// metadata avro.schema = the schema's JSON and avro.codec = "null", the
// 16-byte sync marker); Append writes each datum straight into the body;
// End puts the block's record count and byte size in front of the data
// (shifting it by those few bytes, in place) and appends the sync marker.
// A batch of none is a header alone, a valid empty file.
type AvroOCF struct {
	Enc *Avro

	header []byte
	sync   [16]byte
	start  int   // offset of the block's data in the body
	n      int64 // records in the block
}

// NewAvroOCF returns an avro-ocf framer writing enc's schema. The sync
// marker is random, one per framer.
func NewAvroOCF(enc *Avro) *AvroOCF {
	f := &AvroOCF{Enc: enc}
	_, _ = rand.Read(f.sync[:]) // never fails (crypto/rand)
	h := append([]byte(nil), 'O', 'b', 'j', 1)
	h = appendAvroLong(h, 2) // metadata map: one block of two entries
	h = appendAvroString(h, "avro.schema")
	h = appendAvroBytes(h, enc.sch.text)
	h = appendAvroString(h, "avro.codec")
	h = appendAvroString(h, "null")
	h = append(h, 0)
	f.header = append(h, f.sync[:]...)
	return f
}

// Begin implements Framer.
func (f *AvroOCF) Begin(dst []byte) []byte {
	dst = append(dst, f.header...)
	f.start, f.n = len(dst), 0
	return dst
}

// Append implements Framer.
func (f *AvroOCF) Append(dst []byte, m *wire.Message, nowUnix int64) ([]byte, error) {
	dst, err := f.Enc.AppendDatum(dst, m, nowUnix)
	if err == nil {
		f.n++
	}
	return dst, err
}

// End implements Framer.
func (f *AvroOCF) End(dst []byte) []byte {
	if f.n == 0 {
		return dst[:f.start]
	}
	size := len(dst) - f.start
	k := avroLongSize(f.n) + avroLongSize(int64(size))
	var pad [20]byte
	dst = append(dst, pad[:k]...)
	copy(dst[f.start+k:], dst[f.start:f.start+size])
	h := appendAvroLong(dst[f.start:f.start], f.n)
	appendAvroLong(h, int64(size)) // writes in place: dst has the room
	return append(dst, f.sync[:]...)
}

// ContentType implements Framer.
func (f *AvroOCF) ContentType() string { return ContentTypeAvro }
