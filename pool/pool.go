// Package pool holds the byte buffers of the data path: frames, inflated
// frames, batch bodies and reply scratch. Buffers come in power-of-two size
// classes; a buffer larger than the largest class is allocated on demand and
// dropped on release, so one huge record cannot pin memory for ever.
//
// A *Buf has exactly one owner at a time and goes back exactly once. Builds
// with the race detector or the `invariants` tag check this: a double
// release panics, and a released buffer's bytes are overwritten with
// PoisonByte, so a use after release reads poison instead of plausible data
// (a test comparing bytes fails) rather than going unnoticed.
package pool

import (
	"math/bits"
	"sync"
)

const (
	minClassShift = 8  // 256 B: smaller requests share this class
	maxClassShift = 25 // 32 MiB: a 16 MiB frame inflated, with room
	numClasses    = maxClassShift - minClassShift + 1

	// MaxPooled is the largest capacity kept in a pool.
	MaxPooled = 1 << maxClassShift
)

// PoisonByte fills a released buffer when ownership checks are compiled in
// (Invariants).
const PoisonByte = 0xdb

// Buf is a pooled byte buffer. Append to B; the pool keeps its capacity.
type Buf struct {
	B     []byte
	class int8 // -1: oversized, not pooled
	state uint32
}

var classes [numClasses]sync.Pool

// Get returns an empty buffer (len 0) with capacity of at least n bytes.
func Get(n int) *Buf {
	c := classOf(n)
	if c < 0 {
		b := &Buf{B: make([]byte, 0, n), class: -1}
		acquired(b)
		return b
	}
	if v := classes[c].Get(); v != nil {
		b := v.(*Buf)
		b.B = b.B[:0]
		acquired(b)
		return b
	}
	b := &Buf{B: make([]byte, 0, 1<<(c+minClassShift)), class: int8(c)}
	acquired(b)
	return b
}

// Put returns b to its pool. The caller must not touch b or b.B afterwards.
func Put(b *Buf) {
	if b == nil {
		return
	}
	released(b)
	if b.class < 0 {
		b.B = nil
		return
	}
	// A buffer that grew past its class by append moves to the class its
	// capacity now fills, or is dropped if it outgrew every class.
	c := cap(b.B)
	if c != 1<<(int(b.class)+minClassShift) {
		nc := floorClass(c)
		if nc < 0 {
			b.B = nil
			return
		}
		b.class = int8(nc)
		b.B = b.B[: 0 : 1<<(nc+minClassShift)]
	}
	classes[b.class].Put(b)
}

// Grow makes room for n more bytes in b.B, moving to a larger pooled buffer
// if needed (the old one goes back to its pool). It keeps b's identity so
// the owner's reference stays valid.
func (b *Buf) Grow(n int) {
	need := len(b.B) + n
	if need <= cap(b.B) {
		return
	}
	nb := Get(need)
	nb.B = append(nb.B, b.B...)
	// Swap storage: b keeps its identity, nb carries the old storage home.
	b.B, nb.B = nb.B, b.B
	b.class, nb.class = nb.class, b.class
	Put(nb)
}

// classOf returns the smallest class with capacity >= n, or -1 when n is
// larger than MaxPooled.
func classOf(n int) int {
	if n <= 1<<minClassShift {
		return 0
	}
	if n > MaxPooled {
		return -1
	}
	return bits.Len(uint(n-1)) - minClassShift
}

// floorClass returns the largest class whose capacity is <= c, or -1 when c
// is below the smallest class or above MaxPooled (dropped, not kept).
func floorClass(c int) int {
	if c < 1<<minClassShift || c > MaxPooled {
		return -1
	}
	s := bits.Len(uint(c)) - 1
	return s - minClassShift
}
