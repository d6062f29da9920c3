package dataplane

import (
	"encoding/hex"
	"strconv"
	"sync"

	"github.com/xdrhook/xdrhook/encode"
	"github.com/xdrhook/xdrhook/pool"
	"github.com/xdrhook/xdrhook/wire"
)

// batch is one HTTP body in the making, then in flight: its bytes and the
// records (reply slots) it carries.
type batch struct {
	buf         *pool.Buf
	refs        []ref
	bornMs      int64 // accept time of its oldest record: the retry budget ends at bornMs + reply-deadline
	contentType string
	idem        []byte // Idempotency-Key of a single-message body
}

// ref names one record's reply slot.
type ref struct {
	s   *session
	seq uint64
}

var batchPool = sync.Pool{New: func() any { return new(batch) }}

func (e *Engine) newBatch(size int, bornMs int64) *batch {
	b := batchPool.Get().(*batch)
	b.buf = pool.Get(size)
	b.bornMs = bornMs
	return b
}

func (e *Engine) releaseBatch(b *batch) {
	pool.Put(b.buf)
	b.buf = nil
	for i := range b.refs {
		b.refs[i] = ref{} // do not keep sessions alive
	}
	b.refs = b.refs[:0]
	b.idem = b.idem[:0]
	b.contentType = ""
	batchPool.Put(b)
}

// batcher fills the bodies of one (profile, destination) pair. Event loops
// add records under its lock; the engine's ticker seals a body whose
// batch-interval has elapsed.
type batcher struct {
	mu     sync.Mutex
	p      *Profile
	d      *Destination
	framer encode.Framer  // batching on
	enc    encode.Encoder // batching off
	cur    *batch
	// sizeHint is the capacity the next body starts with: the size of the
	// last one, so that steady state takes buffers of the right pool class
	// instead of growing (and reallocating) each body.
	sizeHint int
}

func newBatcher(p *Profile, d *Destination) *batcher {
	bt := &batcher{p: p, d: d, sizeHint: 4096}
	if p.Batching {
		bt.framer = p.NewFramer()
	} else {
		bt.enc = p.NewEncoder()
	}
	return bt
}

// add encodes m into the current body. It returns 0 when the record is
// taken (its slot will be settled by the destination), or the result code
// to settle it with now: 11 when the destination is backed up, 4 when the
// record cannot be encoded.
func (bt *batcher) add(e *Engine, m *wire.Message, r ref, nowMs, nowUnix int64) byte {
	if bt.d.backedUp() {
		bt.d.m.refused.Inc()
		return wire.RCRetry
	}
	bt.mu.Lock()
	defer bt.mu.Unlock()
	if !bt.p.Batching {
		b := e.newBatch(bt.sizeHint, nowMs)
		var err error
		b.buf.B, err = bt.enc.Append(b.buf.B, m, nowUnix)
		if err != nil {
			e.releaseBatch(b)
			e.logEncodeError(bt.d, err)
			return wire.RCParameter
		}
		bt.sizeHint = len(b.buf.B)
		b.contentType = bt.enc.ContentType()
		b.idem = appendIdempotencyKey(b.idem, m)
		b.refs = append(b.refs, r)
		bt.d.enqueue(b)
		return wire.RCOK
	}
	if bt.cur == nil {
		bt.cur = e.newBatch(bt.sizeHint, nowMs)
		bt.cur.buf.B = bt.framer.Begin(bt.cur.buf.B)
	}
	b := bt.cur
	mark := len(b.buf.B)
	var err error
	b.buf.B, err = bt.framer.Append(b.buf.B, m, nowUnix)
	if err != nil {
		b.buf.B = b.buf.B[:mark]
		if len(b.refs) == 0 {
			// Nothing else in it: start over so that the framer's state
			// matches the body.
			e.releaseBatch(b)
			bt.cur = nil
		}
		e.logEncodeError(bt.d, err)
		return wire.RCParameter
	}
	b.refs = append(b.refs, r)
	if len(b.refs) >= bt.p.MaxRecords || len(b.buf.B) >= bt.p.MaxBytes {
		bt.sealLocked()
	}
	return wire.RCOK
}

// sealLocked finishes the current body and queues it for sending.
func (bt *batcher) sealLocked() {
	b := bt.cur
	bt.cur = nil
	b.buf.B = bt.framer.End(b.buf.B)
	b.contentType = bt.framer.ContentType()
	bt.sizeHint = len(b.buf.B) + len(b.buf.B)/4
	bt.d.enqueue(b)
}

// sealIfDue seals the current body if it is older than the batch interval
// (or if force is set: shutdown).
func (bt *batcher) sealIfDue(nowMs int64, force bool) {
	if !bt.p.Batching {
		return
	}
	bt.mu.Lock()
	if bt.cur != nil && (force || nowMs-bt.cur.bornMs >= bt.p.Interval.Milliseconds()) {
		bt.sealLocked()
	}
	bt.mu.Unlock()
}

// appendIdempotencyKey appends "<hex digest>-<lut Unix ms>-<gen>".
func appendIdempotencyKey(dst []byte, m *wire.Message) []byte {
	dst = hex.AppendEncode(dst, m.Digest)
	dst = append(dst, '-')
	dst = strconv.AppendInt(dst, m.LUTUnixMs(), 10)
	dst = append(dst, '-')
	return strconv.AppendUint(dst, uint64(m.Generation), 10)
}
