package encode

import "encoding/binary"

// copyShort copies s (at most 16 bytes) to d[:len(s)]; d has 16 bytes of
// room. Two overlapping words (or halves, or three bytes) instead of a call
// to memmove: names and strings of a record are nearly all this short, and
// a call makes the caller spill its registers.
func copyShort(d, s []byte) {
	d = d[:16]
	switch {
	case len(s) >= 8:
		lo := binary.LittleEndian.Uint64(s)
		hi := binary.LittleEndian.Uint64(s[len(s)-8:])
		binary.LittleEndian.PutUint64(d, lo)
		binary.LittleEndian.PutUint64(d[len(s)-8:], hi)
	case len(s) >= 4:
		lo := binary.LittleEndian.Uint32(s)
		hi := binary.LittleEndian.Uint32(s[len(s)-4:])
		binary.LittleEndian.PutUint32(d, lo)
		binary.LittleEndian.PutUint32(d[len(s)-4:], hi)
	case len(s) > 0:
		d[0], d[len(s)>>1], d[len(s)-1] = s[0], s[len(s)>>1], s[len(s)-1]
	}
}

// copyWords copies s to d[:len(s)] (d has room for max(len(s), 16)):
// copyShort, or words and a last overlapping word. For values that are
// short but may pass 16 bytes (emails, small blobs) a loop of word stores
// is cheaper than memmove, whose size dispatch dominates at these sizes.
func copyWords(d, s []byte) {
	m := len(s)
	if m <= 16 {
		copyShort(d, s)
		return
	}
	d = d[:m]
	for i := 0; i < m-8; i += 8 {
		binary.LittleEndian.PutUint64(d[i:], binary.LittleEndian.Uint64(s[i:]))
	}
	binary.LittleEndian.PutUint64(d[m-8:], binary.LittleEndian.Uint64(s[m-8:]))
}
