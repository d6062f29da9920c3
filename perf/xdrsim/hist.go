package xdrsim

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// Histogram is a fixed-bucket, log-linear latency histogram (16 sub-buckets
// per power of two: about 6% resolution) over nanoseconds. Recording is one
// atomic add: no allocation, safe from any goroutine.
type Histogram struct {
	b [histBuckets]atomic.Uint64
}

const (
	histSub     = 4 // log2 of sub-buckets per power of two
	histBuckets = (64-histSub)<<histSub + 1<<histSub
)

func histIndex(v uint64) int {
	if v < 1<<histSub {
		return int(v)
	}
	e := bits.Len64(v) - 1 // >= histSub
	m := int(v>>(e-histSub)) & (1<<histSub - 1)
	return (e-histSub+1)<<histSub + m
}

// histUpper is the largest value of bucket i.
func histUpper(i int) uint64 {
	if i < 1<<histSub {
		return uint64(i)
	}
	e := i>>histSub + histSub - 1
	m := uint64(i&(1<<histSub-1)) | 1<<histSub
	lo := m << (e - histSub)
	return lo + 1<<(e-histSub) - 1
}

// Record adds one observation.
func (h *Histogram) Record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.b[histIndex(uint64(d))].Add(1)
}

// HistSnapshot is a copy of a Histogram's counts.
type HistSnapshot struct {
	b [histBuckets]uint64
	n uint64
}

// Snapshot adds h's counts to s (s may merge several histograms).
func (h *Histogram) Snapshot(s *HistSnapshot) {
	for i := range h.b {
		v := h.b[i].Load()
		s.b[i] += v
		s.n += v
	}
}

// Sub leaves in s what was recorded since prev.
func (s *HistSnapshot) Sub(prev *HistSnapshot) {
	for i := range s.b {
		s.b[i] -= prev.b[i]
	}
	s.n -= prev.n
}

// Count is the number of observations.
func (s *HistSnapshot) Count() uint64 { return s.n }

// Quantile returns the upper bound of the bucket holding quantile q (0..1).
func (s *HistSnapshot) Quantile(q float64) time.Duration {
	if s.n == 0 {
		return 0
	}
	rank := uint64(q*float64(s.n) + 0.5)
	rank = max(rank, 1)
	var c uint64
	for i, v := range s.b {
		c += v
		if c >= rank {
			return time.Duration(histUpper(i))
		}
	}
	return time.Duration(histUpper(histBuckets - 1))
}

// Max returns the upper bound of the highest non-empty bucket.
func (s *HistSnapshot) Max() time.Duration {
	for i := histBuckets - 1; i >= 0; i-- {
		if s.b[i] != 0 {
			return time.Duration(histUpper(i))
		}
	}
	return 0
}

// Mean is an estimate from bucket midpoints.
func (s *HistSnapshot) Mean() time.Duration {
	if s.n == 0 {
		return 0
	}
	var sum float64
	for i, v := range s.b {
		if v != 0 {
			lo := uint64(0)
			if i > 0 {
				lo = histUpper(i-1) + 1
			}
			sum += float64(v) * (float64(lo) + float64(histUpper(i))) / 2
		}
	}
	return time.Duration(sum / float64(s.n))
}
