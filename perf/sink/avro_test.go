package sink

import (
	"bytes"
	"testing"

	"github.com/hamba/avro/v2"
)

func TestAvroWithoutSchema(t *testing.T) {
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	s.ps.codec, s.ps.fps = nil, nil // as when the built-in schema is not found
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	body := append([]byte{0xc3, 0x01}, le64(99)...)
	body = append(body, 1, 2, 3)
	r, err := post(t, client(h1), s.URL(), "avro/binary", body)
	if err != nil || r.status != 200 {
		t.Fatalf("%v %+v", err, r)
	}
	if st := s.Stats(); st.Unvalidated != 1 || st.Records != 1 {
		t.Errorf("unvalidated %d records %d", st.Unvalidated, st.Records)
	}
}

// The Avro fingerprint: our CRC-64-AVRO agrees with hamba's; a schema with
// logical types is accepted under both canonical forms.
func TestAvroFingerprints(t *testing.T) {
	s, err := avro.ParseWithCache(`{"type":"record","name":"R","fields":[{"name":"a","type":"long"}]}`, "", &avro.SchemaCache{})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := s.FingerprintUsing(avro.CRC64AvroLE)
	fps := avroFingerprints(s.String())
	if len(fps) != 1 || !bytes.Equal(fps[0][:], want) {
		t.Errorf("fingerprints %x, hamba %x", fps, want)
	}
	s2, err := avro.ParseWithCache(`{"type":"record","name":"R","fields":[{"name":"t","type":{"type":"long","logicalType":"timestamp-millis"}},`+
		`{"name":"d","type":{"type":"fixed","name":"D","size":9,"logicalType":"decimal","precision":20,"scale":0}}]}`, "", &avro.SchemaCache{})
	if err != nil {
		t.Fatal(err)
	}
	fps = avroFingerprints(s2.String())
	strict := `{"name":"R","type":"record","fields":[{"name":"t","type":"long"},{"name":"d","type":{"name":"D","type":"fixed","size":9}}]}`
	var sf [8]byte
	copy(sf[:], le64(crc64Avro([]byte(strict))))
	if len(fps) != 2 || fps[1] != sf {
		t.Errorf("stripped form: %s; fingerprints %x, want %x", logicalAttr.ReplaceAllString(logicalPrim.ReplaceAllString(s2.String(), `"$1"`), ""), fps, sf)
	}
}
