package wire

import (
	"encoding/binary"
	"hash"
	"math"

	"golang.org/x/crypto/ripemd160" //nolint:staticcheck // Aerospike's digest is RIPEMD-160 by definition.
)

// Digester computes record digests: RIPEMD-160(set ‖ key type ‖ key bytes).
// Reuse one per goroutine; the zero value is ready.
type Digester struct {
	h   hash.Hash
	buf [DigestSize]byte
}

// Digest returns the digest of a record key. The result is valid until the
// next call. key holds the key bytes as on the wire: 8 big-endian bytes for
// an integer or a double, the raw bytes for a string or a blob.
func (d *Digester) Digest(set []byte, keyType uint8, key []byte) [DigestSize]byte {
	if d.h == nil {
		d.h = ripemd160.New()
	}
	d.h.Reset()
	d.h.Write(set)
	d.buf[0] = keyType
	d.h.Write(d.buf[:1])
	d.h.Write(key)
	var out [DigestSize]byte
	d.h.Sum(d.buf[:0])
	copy(out[:], d.buf[:])
	return out
}

// IntKey returns the wire bytes of an integer user key.
func IntKey(v int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(v)) }

// FloatKey returns the wire bytes of a double user key.
func FloatKey(v float64) []byte { return binary.BigEndian.AppendUint64(nil, math.Float64bits(v)) }

// Verify reports whether m's digest matches its set and user key. It is
// true for a message without a user key (nothing to check against).
func (d *Digester) Verify(m *Message) bool {
	if m.Key.Type == 0 {
		return true
	}
	got := d.Digest(m.Set, m.Key.Type, m.Key.Bytes)
	return string(got[:]) == string(m.Digest)
}
