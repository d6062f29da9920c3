package wire

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"io"
	"strconv"

	"github.com/xdrhook/xdrhook/pool"
)

// Inflater expands compressed (type 4) frames. It keeps its zlib state
// between frames, so one Inflater per connection (or per event loop)
// inflates without allocating. Not safe for concurrent use.
type Inflater struct {
	src bytes.Reader
	zr  io.ReadCloser
	one [1]byte
}

// Inflate expands the compressed frame f (header included) into out, which
// it grows as needed, and returns the inner type-3 frame (a slice of out.B).
// The stated original size must be at most maxBody+8 and must be exactly what
// the stream inflates to; the inner frame must be a version-2 AS_MSG whose
// header agrees with that size. Errors are *DecodeError: the outer frame was
// well delimited, so the connection may go on.
func (z *Inflater) Inflate(f []byte, maxBody int, out *pool.Buf) ([]byte, error) {
	if len(f) < HeaderSize+8 {
		return nil, derr(0, "compressed frame without its 8-byte original size")
	}
	orig := binary.BigEndian.Uint64(f[HeaderSize:])
	if orig < HeaderSize+MsgHeaderSize {
		return nil, derr(0, "compressed frame states an original size of "+strconv.FormatUint(orig, 10)+" bytes, less than a message header")
	}
	if orig-HeaderSize > uint64(maxBody) {
		return nil, derr(0, "compressed frame inflates to "+strconv.FormatUint(orig, 10)+" bytes, over the limit of "+strconv.Itoa(maxBody)+" (max-frame-bytes)")
	}
	n := int(orig)
	out.B = out.B[:0]
	out.Grow(n)
	dst := out.B[:n]

	z.src.Reset(f[HeaderSize+8:])
	if z.zr == nil {
		zr, err := zlib.NewReader(&z.src)
		if err != nil {
			return nil, derr(8, "zlib: "+err.Error())
		}
		z.zr = zr
	} else if err := z.zr.(zlib.Resetter).Reset(&z.src, nil); err != nil {
		return nil, derr(8, "zlib: "+err.Error())
	}
	if _, err := io.ReadFull(z.zr, dst); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, derr(8, "zlib stream inflates to fewer bytes than the stated "+strconv.Itoa(n))
		}
		return nil, derr(8, "zlib: "+err.Error())
	}
	// One more read must hit the end of the stream (and checks the adler32).
	if k, err := z.zr.Read(z.one[:]); k != 0 || err != io.EOF {
		if k != 0 || err == nil {
			return nil, derr(8, "zlib stream inflates to more bytes than the stated "+strconv.Itoa(n))
		}
		return nil, derr(8, "zlib: "+err.Error())
	}
	out.B = dst
	typ, body, err := ParseHeader(dst, maxBody)
	if err != nil {
		return nil, derr(16, "inner frame: "+err.Error())
	}
	if typ != TypeMsg {
		return nil, derr(16, "inner frame of type "+strconv.Itoa(int(typ))+", want 3")
	}
	if body != n-HeaderSize {
		return nil, derr(16, "inner frame header states "+strconv.Itoa(body)+" body bytes, the stream holds "+strconv.Itoa(n-HeaderSize))
	}
	return dst, nil
}

// AppendCompressed appends the type-4 frame that carries frame (a complete
// type-3 frame) compressed with zlib at the given level. For encoders and
// tests, not for the hot path.
func AppendCompressed(dst []byte, frame []byte, level int) []byte {
	var zb bytes.Buffer
	zw, err := zlib.NewWriterLevel(&zb, level)
	if err != nil {
		zw = zlib.NewWriter(&zb)
	}
	zw.Write(frame)
	zw.Close()
	dst = AppendHeader(dst, TypeCompressed, 8+zb.Len())
	dst = binary.BigEndian.AppendUint64(dst, uint64(len(frame)))
	return append(dst, zb.Bytes()...)
}
