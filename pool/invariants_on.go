//go:build race || invariants

package pool

import "sync/atomic"

// Invariants reports whether ownership checks are compiled in.
const Invariants = true

const (
	stateFree = 0
	stateLive = 1
)

func acquired(b *Buf) {
	if !atomic.CompareAndSwapUint32(&b.state, stateFree, stateLive) {
		panic("pool: buffer handed out while still live")
	}
}

func released(b *Buf) {
	if !atomic.CompareAndSwapUint32(&b.state, stateLive, stateFree) {
		panic("pool: buffer released twice")
	}
	for i := range b.B {
		b.B[i] = PoisonByte
	}
}
