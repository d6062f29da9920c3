// Package writebuf decides which write buffers a connection's writer keeps.
//
// The HTTP clients (h1client, h2client) swap two buffers: callers append to
// one while the writer writes the other. A buffer is kept for the next round
// while rounds need its size, so a busy connection does not grow a buffer
// again from nothing for every write. A buffer over 1 MiB goes once twice the
// peak falls below its capacity, the peak losing 1/64 a round (half in 44
// rounds). Rounds decide, not time: a connection gone quiet after a burst
// keeps its two buffers (up to ~2.5 times the burst) until it has written
// that many more rounds or is closed idle.
package writebuf

// alwaysKept is the capacity kept whatever the rounds carry.
const alwaysKept = 1 << 20

// Peak is the most a round carried lately: it decays by 1/64 a round.
// The zero value is ready; guarded by the connection's lock.
type Peak struct{ n int }

// Keep records that a round wrote n bytes from a buffer of the given
// capacity and tells whether to keep the buffer: always up to 1 MiB, above
// that up to twice the peak. A batched destination's bodies of hundreds of
// KB keep their buffers; with a flat 1 MiB bound one was grown again from
// nothing for nearly every write (3.9 MB allocated and copied per 700 KB
// body, DESIGN "DATA and the write buffers").
func (p *Peak) Keep(n, capacity int) bool {
	p.n = max(p.n-p.n/64, n)
	return capacity <= max(alwaysKept, 2*p.n)
}
