// Package wire speaks the protocol Aerospike XDR uses toward a connector: the
// 8-byte frame header, compressed frames, the AS_MSG write and delete
// requests, the MessagePack conventions of list and map values, and the
// 30-byte replies. Decoding never copies: a Message is a view whose slices
// point into the frame it was decoded from.
package wire

import (
	"encoding/binary"
	"fmt"
)

// Frame header constants.
const (
	HeaderSize = 8
	Version    = 2

	TypeInfo       = 1
	TypeSecurity   = 2
	TypeMsg        = 3
	TypeCompressed = 4

	// DefaultMaxBody is the default bound on a frame body (config
	// max-frame-bytes): records are at most 8 MiB, so 16 MiB leaves room.
	DefaultMaxBody = 16 << 20

	maxUint48 = 1<<48 - 1
)

// FrameError is an error in the frame layer: the stream cannot be trusted
// past it, so the connection must be closed.
type FrameError struct {
	What string
}

func (e *FrameError) Error() string { return "xdr frame: " + e.What }

// ParseHeader reads an 8-byte frame header and returns the frame type and the
// body size. It checks the version, the type and that the body is at most
// maxBody bytes, before anyone allocates for it.
func ParseHeader(h []byte, maxBody int) (typ byte, bodyLen int, err error) {
	if len(h) < HeaderSize {
		return 0, 0, &FrameError{What: "short header"}
	}
	if h[0] != Version {
		return 0, 0, &FrameError{What: fmt.Sprintf("version %d, want 2", h[0])}
	}
	typ = h[1]
	n := uint64(h[2])<<40 | uint64(h[3])<<32 | uint64(binary.BigEndian.Uint32(h[4:8]))
	switch typ {
	case TypeMsg, TypeCompressed, TypeInfo:
	default:
		return typ, 0, &FrameError{What: fmt.Sprintf("frame type %d is not served (only 3, 4; 1 is answered)", typ)}
	}
	if n > uint64(maxBody) {
		return typ, 0, &FrameError{What: fmt.Sprintf("body of %d bytes exceeds the limit of %d (max-frame-bytes)", n, maxBody)}
	}
	return typ, int(n), nil
}

// Split finds the first complete frame at the start of b. It returns the
// frame (header and body, a sub-slice of b: no copy) or nil when b does not
// hold a whole frame yet. The header is validated as soon as its 8 bytes are
// there, so an oversized frame fails before its body arrives.
func Split(b []byte, maxBody int) (frame []byte, typ byte, err error) {
	if len(b) < HeaderSize {
		return nil, 0, nil
	}
	typ, n, err := ParseHeader(b, maxBody)
	if err != nil {
		return nil, typ, err
	}
	if len(b) < HeaderSize+n {
		return nil, typ, nil
	}
	return b[:HeaderSize+n], typ, nil
}

// PutHeader writes a frame header for a body of n bytes into h[:8].
func PutHeader(h []byte, typ byte, n int) {
	v := uint64(n) & maxUint48
	h[0] = Version
	h[1] = typ
	h[2] = byte(v >> 40)
	h[3] = byte(v >> 32)
	binary.BigEndian.PutUint32(h[4:8], uint32(v))
}

// AppendHeader appends a frame header for a body of n bytes.
func AppendHeader(dst []byte, typ byte, n int) []byte {
	var h [HeaderSize]byte
	PutHeader(h[:], typ, n)
	return append(dst, h[:]...)
}
