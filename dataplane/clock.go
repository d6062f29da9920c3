package dataplane

import (
	"sync/atomic"
	"time"
)

// clock is the coarse "now" of the hot paths: one atomic load instead of a
// time.Now per record. The engine's ticker advances it.
type clock struct {
	ms atomic.Int64
}

func (c *clock) set(t time.Time) { c.ms.Store(t.UnixMilli()) }
func (c *clock) nowMs() int64    { return c.ms.Load() }
func (c *clock) nowUnix() int64  { return c.ms.Load() / 1000 }
