package dataplane

import (
	"sync/atomic"
	"time"
)

// logLimit lets one line of a kind through per interval and counts the
// rest, so that a flood of bad frames cannot flood the log.
type logLimit struct {
	last       atomic.Int64 // Unix ns of the last line let through
	suppressed atomic.Int64
}

const logEvery = 5 * time.Second

// allow reports whether to log now, and how many lines were held back since.
func (l *logLimit) allow() (bool, int64) {
	now := time.Now().UnixNano()
	last := l.last.Load()
	if now-last < int64(logEvery) || !l.last.CompareAndSwap(last, now) {
		l.suppressed.Add(1)
		return false, 0
	}
	return true, l.suppressed.Swap(0)
}

type logLimits struct {
	parse, info, encode, frame, slow logLimit
	expr                             logLimit
}

func (e *Engine) logParseError(err error) {
	if ok, n := e.limits.parse.allow(); ok {
		e.log.Warn("undecodable record answered 4 (parameter error)", "err", err, "suppressed", n)
	}
}

func (e *Engine) logInfoFrame() {
	if ok, n := e.limits.info.allow(); ok {
		e.log.Error("an info request arrived on the XDR port: the source DC is not configured as a connector; add `connector true` to its xdr dc stanza (or an operator ran asinfo against this port); connection closed", "suppressed", n)
	}
}

func (e *Engine) logEncodeError(d *Destination, err error) {
	if ok, n := e.limits.encode.allow(); ok {
		e.log.Warn("record could not be encoded for destination; answered 4 (dropped)", "destination", d.opts.Name, "err", err, "suppressed", n)
	}
}

func (e *Engine) logFrameError(remote string, err error) {
	if ok, n := e.limits.frame.allow(); ok {
		e.log.Warn("protocol error: closing XDR connection (XDR resends what was in flight)", "remote", remote, "err", err, "suppressed", n)
	}
}

func (e *Engine) logSlow(remote, why string) {
	if ok, n := e.limits.slow.allow(); ok {
		e.log.Warn("closing XDR connection", "remote", remote, "why", why, "suppressed", n)
	}
}
