package dataplane

import (
	"encoding/hex"
	"strconv"
	"sync"

	"github.com/xdrhook/xdrhook/encode"
	"github.com/xdrhook/xdrhook/pool"
	"github.com/xdrhook/xdrhook/shape"
	"github.com/xdrhook/xdrhook/wire"
)

// batch is one HTTP body in the making, then in flight: its bytes and the
// records (reply slots) it carries.
type batch struct {
	buf         *pool.Buf
	refs        []ref
	bornMs      int64 // accept time of its oldest record: the retry budget ends at bornMs + reply-deadline
	contentType string
	idem        []byte         // Idempotency-Key of a single-message body
	path        []byte         // per-record path (destination path template), or empty
	shaped      shape.Rendered // per-record request (destination request), if Method is set
	framer      encode.Framer
	check       encode.ResponseChecker // the framer's, if it has one
	queuedBytes int64                  // its footprint while queued (queue.go)
	queuedMs    int64                  // when it was queued (queue.go: the head's wait)
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
	b.path = b.path[:0]
	b.shaped.Reset()
	b.contentType = ""
	b.framer = nil
	b.check = nil
	batchPool.Put(b)
}

// batcher fills one event loop's bodies of one (profile, destination)
// pair (see loop): it is guarded by its loop's mu, which the loop holds
// while it adds records and the engine's ticker takes to seal a body whose
// batch-interval has elapsed. When the destination's path depends on the
// record (a {namespace} or {set} template), records of different paths
// cannot share a body: one body is open per namespace and set.
type batcher struct {
	lp      *loop // whose mu guards it
	p       *Profile
	d       *Destination
	enc     encode.Encoder  // batching off (nil with Profile.FrameOne)
	one     encode.Framer   // batching off, Profile.FrameOne
	framers []encode.Framer // batching on: framers of no open body
	omit    encode.Omitter  // the framing's, if it leaves records out
	cur     *batch          // the open body (static path)
	byPath  map[string]map[string]*batch
	// sizeHint is the capacity the next body starts with: the size of the
	// last one, so that steady state takes buffers of the right pool class
	// instead of growing (and reallocating) each body.
	sizeHint int
	// scratch is where a one-record body is encoded (batching off) before
	// it is copied into a pooled buffer of its size class: encoded into a
	// buffer sized by the last body, a larger record made the encoder grow
	// it (an allocation; the pool then kept it a class up), 1.0–2.8
	// allocations per record on the emulator's mixed records. Grown to the
	// largest body, dropped past maxScratch.
	scratch []byte
}

// maxScratch is the largest scratch a batcher keeps between records: a
// body larger than that (a record of megabytes) allocates its scratch.
const maxScratch = 1 << 20

func newBatcher(lp *loop, p *Profile, d *Destination) *batcher {
	bt := &batcher{lp: lp, p: p, d: d, sizeHint: 4096}
	switch {
	case p.Batching:
		bt.framers = append(bt.framers, bt.newFramer())
		bt.omit, _ = bt.framers[0].(encode.Omitter)
	case p.FrameOne:
		bt.one = bt.newFramer()
		bt.omit, _ = bt.one.(encode.Omitter)
	default:
		bt.enc = p.NewEncoder()
	}
	if d.opts.Path != nil || d.opts.Key != nil && d.opts.KeySplits {
		bt.byPath = make(map[string]map[string]*batch)
	}
	return bt
}

// open returns the body that m goes into, starting one if needed.
func (bt *batcher) open(e *Engine, m *wire.Message, nowMs int64) *batch {
	if bt.byPath == nil {
		if bt.cur == nil {
			bt.cur = bt.start(e, m, nowMs)
		}
		return bt.cur
	}
	sets := bt.byPath[string(m.Namespace)]
	if sets == nil {
		sets = make(map[string]*batch)
		bt.byPath[string(m.Namespace)] = sets
	}
	b := sets[string(m.Set)]
	if b == nil {
		b = bt.start(e, m, nowMs)
		sets[string(m.Set)] = b
	}
	return b
}

func (bt *batcher) start(e *Engine, m *wire.Message, nowMs int64) *batch {
	b := bt.newBatch(e, nowMs)
	if bt.d.opts.Path != nil {
		b.path = bt.d.opts.Path(b.path, m)
	} else if bt.d.opts.Key != nil {
		b.path = bt.d.opts.Key(b.path, m, bt.p.Ext)
	}
	if n := len(bt.framers); n > 0 {
		b.framer = bt.framers[n-1]
		bt.framers = bt.framers[:n-1]
	} else {
		b.framer = bt.newFramer()
	}
	b.buf.B = b.framer.Begin(b.buf.B)
	return b
}

// newFramer builds a framer of the profile, counting into the
// destination's metrics what the framer counts while encoding.
func (bt *batcher) newFramer() encode.Framer {
	f := bt.p.NewFramer()
	if es, ok := f.(*encode.ESBulk); ok {
		es.DocIDFallbacks, es.UnversionedUpdates = bt.d.m.esDocIDFallback, bt.d.m.esUnversioned
	}
	return f
}

// rcTaken is what add returns for a record in a body: the destination
// settles its slot. It is no reply code.
const rcTaken byte = 0xff

// add encodes m into its body. It returns rcTaken when the record is taken,
// or the result code to settle it with now: 0 when the framing leaves it
// out (no request carries it, so none would answer it), 11 when the
// destination is backed up, 4 when the record cannot be encoded.
func (bt *batcher) add(e *Engine, m *wire.Message, r ref, nowMs, nowUnix int64) byte {
	if bt.omit != nil && bt.omit.Omits(m) {
		bt.d.m.skipped.Inc()
		return wire.RCOK
	}
	if bt.d.unhealthy() {
		bt.d.m.refusedUnhealthy.Inc()
		return wire.RCRetry
	}
	if bt.d.backedUp(nowMs) {
		bt.d.m.refused.Inc()
		return wire.RCRetry
	}
	if !bt.p.Batching {
		return bt.addOne(e, m, r, nowMs, nowUnix)
	}
	b := bt.open(e, m, nowMs)
	mark := len(b.buf.B)
	var err error
	// On error the framers leave the body as it was before this message.
	b.buf.B, err = b.framer.Append(b.buf.B, m, nowUnix)
	if err != nil {
		b.buf.B = b.buf.B[:mark]
		bt.d.m.encodeErrors.Inc()
		e.logEncodeError(bt.d, err)
		return wire.RCParameter
	}
	b.refs = append(b.refs, r)
	if len(b.refs) >= bt.p.MaxRecords || len(b.buf.B) >= bt.p.MaxBytes {
		bt.seal(b, m.Namespace, m.Set)
	}
	return rcTaken
}

// addOne makes a body of m alone (batching off): m is encoded into the
// batcher's scratch and copied into a pooled buffer of its size class.
func (bt *batcher) addOne(e *Engine, m *wire.Message, r ref, nowMs, nowUnix int64) byte {
	b := bt.newBatch(e, nowMs)
	if q := bt.d.opts.Request; q != nil {
		if o := q.Render(&b.shaped, m); o != shape.OK {
			e.releaseBatch(b)
			return bt.d.m.unshaped(o)
		}
		if !b.shaped.Body {
			// No body (Content-Length 0): nothing to encode.
			b.idem = appendIdempotencyKey(b.idem, m)
			b.refs = append(b.refs, r)
			t0 := sharedStart()
			bt.d.enqueue(b)
			bt.lp.sharedEnd(t0)
			return rcTaken
		}
	}
	var err error
	body := bt.scratch[:0]
	if bt.enc != nil {
		body, err = bt.enc.Append(body, m, nowUnix)
		b.contentType = bt.enc.ContentType()
	} else {
		body, err = bt.appendOne(body, m, nowUnix)
		b.contentType = bt.one.ContentType()
		b.check, _ = bt.one.(encode.ResponseChecker)
	}
	if cap(body) <= maxScratch {
		bt.scratch = body[:0]
	} else {
		bt.scratch = nil
	}
	if err != nil {
		e.releaseBatch(b)
		bt.d.m.encodeErrors.Inc()
		e.logEncodeError(bt.d, err)
		return wire.RCParameter
	}
	if cap(b.buf.B) < len(body) {
		// Larger than the last body's class: a buffer of its own.
		t0 := sharedStart()
		pool.Put(b.buf)
		b.buf = pool.Get(len(body))
		bt.lp.sharedEnd(t0)
	}
	b.buf.B = append(b.buf.B, body...)
	bt.sizeHint = len(body)
	b.idem = appendIdempotencyKey(b.idem, m)
	if bt.d.opts.Path != nil && bt.d.opts.Request == nil {
		b.path = bt.d.opts.Path(b.path, m)
	}
	b.refs = append(b.refs, r)
	t0 := sharedStart()
	bt.d.enqueue(b)
	bt.lp.sharedEnd(t0)
	return rcTaken
}

// appendOne appends a body of bt.one's framing holding m alone. On error
// dst is returned unchanged.
func (bt *batcher) appendOne(dst []byte, m *wire.Message, nowUnix int64) ([]byte, error) {
	start := len(dst)
	dst, err := bt.one.Append(bt.one.Begin(dst), m, nowUnix)
	if err != nil {
		return dst[:start], err
	}
	return bt.one.End(dst), nil
}

// seal finishes body b and queues it for sending (the loop: a section on
// the destination's queue, timed; the ticker's sealIfDue is not).
func (bt *batcher) seal(b *batch, ns, set []byte) {
	if bt.byPath == nil {
		bt.cur = nil
	} else {
		delete(bt.byPath[string(ns)], string(set))
	}
	t0 := sharedStart()
	bt.finish(b)
	bt.lp.sharedEnd(t0)
}

func (bt *batcher) finish(b *batch) {
	b.buf.B = b.framer.End(b.buf.B)
	b.contentType = b.framer.ContentType()
	b.check, _ = b.framer.(encode.ResponseChecker)
	bt.framers = append(bt.framers, b.framer)
	b.framer = nil
	bt.sizeHint = len(b.buf.B) + len(b.buf.B)/4
	if len(b.refs) == 0 {
		// Every record of it failed to encode: nothing to send.
		bt.d.e.releaseBatch(b)
		return
	}
	bt.d.enqueue(b)
}

// sealIfDue seals the open bodies older than the batch interval (or every
// open body if force is set: shutdown).
func (bt *batcher) sealIfDue(nowMs int64, force bool) {
	if !bt.p.Batching {
		return
	}
	due := func(b *batch) bool { return force || nowMs-b.bornMs >= bt.p.Interval.Milliseconds() }
	if bt.cur != nil && due(bt.cur) {
		bt.finish(bt.cur)
		bt.cur = nil
	}
	for _, sets := range bt.byPath {
		for set, b := range sets {
			if due(b) {
				delete(sets, set)
				bt.finish(b)
			}
		}
	}
}

// newBatch takes a body's batch and buffer from their pools: per body,
// one of the record path's sections on state other loops also use (see
// sharedTiming). The loop only.
func (bt *batcher) newBatch(e *Engine, nowMs int64) *batch {
	t0 := sharedStart()
	b := e.newBatch(bt.sizeHint, nowMs)
	bt.lp.sharedEnd(t0)
	return b
}

// appendIdempotencyKey appends "<hex digest>-<lut Unix ms>-<gen>".
func appendIdempotencyKey(dst []byte, m *wire.Message) []byte {
	dst = hex.AppendEncode(dst, m.Digest)
	dst = append(dst, '-')
	dst = strconv.AppendInt(dst, m.LUTUnixMs(), 10)
	dst = append(dst, '-')
	return strconv.AppendUint(dst, uint64(m.Generation), 10)
}
