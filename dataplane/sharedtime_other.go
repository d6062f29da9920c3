//go:build !linux

package dataplane

import "time"

// threadCPU falls back to the monotonic clock where there is no per-thread
// CPU clock: a descheduled thread's wait counts.
func threadCPU() int64 { return int64(time.Since(monoEpoch)) }
