package wire

import (
	"encoding/hex"
	"os"
	"strings"
	"testing"
)

func readHexFrame(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("../testdata/xdr-frames/" + name)
	if err != nil {
		t.Fatal(err)
	}
	f, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func decodeFrame(t testing.TB, f []byte) *Message {
	t.Helper()
	frame, typ, err := Split(f, DefaultMaxBody)
	if err != nil || frame == nil || typ != TypeMsg || len(frame) != len(f) {
		t.Fatalf("Split: frame %d of %d bytes, type %d, err %v", len(frame), len(f), typ, err)
	}
	var m Message
	if err := m.Decode(frame[HeaderSize:]); err != nil {
		t.Fatal(err)
	}
	return &m
}

const capturedDigest = "5fe3b7c0f4669a77c8456c1bf4f1f68c55ac1002"

func TestCapturedWrite(t *testing.T) {
	m := decodeFrame(t, readHexFrame(t, "write-3bins-key10.hex"))
	if m.Kind != KindWrite || m.Durable || m.Partial || m.MetadataOnly {
		t.Errorf("kind %v durable %v partial %v metadata-only %v, want full write", m.Kind, m.Durable, m.Partial, m.MetadataOnly)
	}
	if m.Generation != 1 || m.TTL != TTLNever || m.Expiry(1700000000) != 0 {
		t.Errorf("gen %d ttl %#x expiry %d", m.Generation, m.TTL, m.Expiry(1700000000))
	}
	checkCapturedKey(t, m)
	if m.LUTSource() != 1 || m.LUTUnixMs() != 1734388704784 {
		t.Errorf("LUT source %d ms %d", m.LUTSource(), m.LUTUnixMs())
	}
	if len(m.Bins) != 3 {
		t.Fatalf("%d bins, want 3", len(m.Bins))
	}
	b := m.Bins
	if string(b[0].Name) != "name" || b[0].Type != ParticleString || string(b[0].Value) != "colton" || b[0].HasLUT {
		t.Errorf("bin 0: %q type %d %q", b[0].Name, b[0].Type, b[0].Value)
	}
	if v, ok := Int(b[1].Value); string(b[1].Name) != "age" || b[1].Type != ParticleInteger || !ok || v != 27 {
		t.Errorf("bin 1: %q type %d %d", b[1].Name, b[1].Type, v)
	}
	if string(b[2].Name) != "mapTest" || b[2].Type != ParticleMap {
		t.Errorf("bin 2: %q type %d", b[2].Name, b[2].Type)
	}
	if got := dumpCDT(t, b[2].Value); got != `{"a":1,"b":2}` {
		t.Errorf("mapTest = %s", got)
	}
}

func TestCapturedDelete(t *testing.T) {
	m := decodeFrame(t, readHexFrame(t, "delete-key10.hex"))
	if m.Kind != KindDelete || m.Durable || len(m.Bins) != 0 {
		t.Errorf("kind %v durable %v bins %d, want non-durable delete", m.Kind, m.Durable, len(m.Bins))
	}
	if m.Generation != 2 || m.TTL != 0 {
		t.Errorf("gen %d ttl %d", m.Generation, m.TTL)
	}
	checkCapturedKey(t, m)
	if m.LUTSource() != 1 || m.LUTUnixMs() != 1734388731220 {
		t.Errorf("LUT source %d ms %d", m.LUTSource(), m.LUTUnixMs())
	}
}

func checkCapturedKey(t *testing.T, m *Message) {
	t.Helper()
	if string(m.Namespace) != "test" || !m.HasSet || string(m.Set) != "myset" {
		t.Errorf("namespace %q set %q", m.Namespace, m.Set)
	}
	if m.Key.Type != ParticleInteger || m.Key.Int != 10 {
		t.Errorf("user key type %d int %d", m.Key.Type, m.Key.Int)
	}
	if hex.EncodeToString(m.Digest) != capturedDigest {
		t.Errorf("digest %x", m.Digest)
	}
	var d Digester
	if got := d.Digest([]byte("myset"), ParticleInteger, IntKey(10)); hex.EncodeToString(got[:]) != capturedDigest {
		t.Errorf("computed digest %x", got)
	}
	if !d.Verify(m) {
		t.Error("Verify: digest does not match set and key")
	}
}
