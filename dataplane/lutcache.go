package dataplane

import (
	"sync"

	"github.com/xdrhook/xdrhook/wire"
)

// lutCache implements record-ordering: a record whose LUT is older than
// the LUT of the same record (namespace + digest) already accepted within
// the last TTL is stale — a newer state went out before it — and is
// answered 0 without being sent. The cache is per node: with several
// connector nodes, XDR may send two versions of a record to different nodes.
type lutCache struct {
	ttlMs  int64
	shards [64]lutShard
}

// lutShard is padded to a cache line: shards are locked per record by
// whichever loop holds a record of theirs, and unpadded four shared a line.
type lutShard struct {
	mu sync.Mutex
	m  map[lutKey]lutEntry
	_  [64 - 16]byte
}

type lutKey struct {
	ns     [32]byte
	digest [wire.DigestSize]byte
}

type lutEntry struct {
	lut    int64 // Unix ms
	seenMs int64
}

func newLUTCache(ttlMs int64) *lutCache {
	c := &lutCache{ttlMs: ttlMs}
	for i := range c.shards {
		c.shards[i].m = make(map[lutKey]lutEntry)
	}
	return c
}

// stale reports whether m is older than what was already accepted, and
// remembers m's LUT otherwise. Records without a LUT are never stale.
func (c *lutCache) stale(m *wire.Message, nowMs int64) bool {
	if !m.HasLUT {
		return false
	}
	var k lutKey
	copy(k.ns[:], m.Namespace)
	copy(k.digest[:], m.Digest)
	lut := m.LUTUnixMs()
	sh := &c.shards[k.digest[0]&63]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if old, ok := sh.m[k]; ok && nowMs-old.seenMs <= c.ttlMs && old.lut > lut {
		return true
	}
	sh.m[k] = lutEntry{lut: lut, seenMs: nowMs}
	return false
}

// sweep forgets entries older than the TTL.
func (c *lutCache) sweep(nowMs int64) {
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		for k, v := range sh.m {
			if nowMs-v.seenMs > c.ttlMs {
				delete(sh.m, k)
			}
		}
		sh.mu.Unlock()
	}
}
