package wire

import (
	"bytes"
	"compress/flate"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"hash"
	"hash/adler32"
	"io"
	"strconv"

	"github.com/xdrhook/xdrhook/pool"
)

// Inflater expands compressed (type 4) frames. It keeps its zlib state
// between frames, so one Inflater per connection (or per event loop)
// inflates without allocating. Not safe for concurrent use.
type Inflater struct {
	src bytes.Reader
	fr  io.ReadCloser
	sum hash.Hash32
	one [4]byte
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

	// The zlib wrapper (RFC 1950) is read here rather than by compress/zlib,
	// whose Reset allocates a checksum per stream.
	zs := f[HeaderSize+8:]
	if len(zs) < 2+4 {
		return nil, derr(16, "zlib stream shorter than its header and checksum")
	}
	cmf, flg := zs[0], zs[1]
	if cmf&0x0f != 8 || cmf>>4 > 7 || (uint16(cmf)<<8|uint16(flg))%31 != 0 {
		return nil, derr(16, "not a zlib stream (bad header)")
	}
	if flg&0x20 != 0 {
		return nil, derr(17, "zlib stream wants a preset dictionary")
	}
	z.src.Reset(zs[2:])
	if z.fr == nil {
		z.fr = flate.NewReader(&z.src)
		z.sum = adler32.New()
	} else if err := z.fr.(flate.Resetter).Reset(&z.src, nil); err != nil {
		return nil, derr(18, "zlib: "+err.Error())
	}
	if _, err := io.ReadFull(z.fr, dst); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, derr(18, "zlib stream inflates to fewer bytes than the stated "+strconv.Itoa(n))
		}
		return nil, derr(18, "zlib: "+err.Error())
	}
	// One more read must hit the end of the deflate stream.
	if k, err := z.fr.Read(z.one[:1]); k != 0 || err != io.EOF {
		if k != 0 || err == nil {
			return nil, derr(18, "zlib stream inflates to more bytes than the stated "+strconv.Itoa(n))
		}
		return nil, derr(18, "zlib: "+err.Error())
	}
	// flate reads byte by byte from an io.ByteReader, so the adler32
	// trailer is exactly what is left.
	z.sum.Reset()
	z.sum.Write(dst)
	if z.src.Len() != 4 {
		return nil, derr(len(f)-z.src.Len(), "zlib stream not followed by exactly its 4-byte checksum")
	}
	z.src.Read(z.one[:4])
	if binary.BigEndian.Uint32(z.one[:4]) != z.sum.Sum32() {
		return nil, derr(len(f)-4, "zlib checksum mismatch")
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
