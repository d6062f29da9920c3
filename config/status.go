package config

import (
	"fmt"
	"strconv"
	"strings"
)

// StatusSet is a set of HTTP status codes (100-599) as a bitmap: Contains
// is two loads, no allocation, safe for concurrent use.
type StatusSet struct {
	bits [10]uint64 // codes 0..639
}

// Contains reports whether code is in the set.
func (s *StatusSet) Contains(code int) bool {
	if uint(code) >= 640 {
		return false
	}
	return s.bits[code>>6]&(1<<(uint(code)&63)) != 0
}

// Add adds the codes lo..hi (inclusive).
func (s *StatusSet) Add(lo, hi int) {
	for c := max(lo, 0); c <= hi && c < 640; c++ {
		s.bits[c>>6] |= 1 << (uint(c) & 63)
	}
}

// Empty reports whether the set holds no code.
func (s *StatusSet) Empty() bool { return s.bits == [10]uint64{} }

// String lists the set as ranges: "200-299,404".
func (s StatusSet) String() string {
	var b strings.Builder
	for c := 0; c < 640; c++ {
		if !s.Contains(c) {
			continue
		}
		e := c
		for e+1 < 640 && s.Contains(e+1) {
			e++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(c))
		if e > c {
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(e))
		}
		c = e
	}
	return b.String()
}

// parseStatus parses one item: a code ("404", 404) or a range ("200-299").
func parseStatus(s string) (lo, hi int, err error) {
	s = strings.TrimSpace(s)
	a, b, isRange := strings.Cut(s, "-")
	lo, err1 := strconv.Atoi(strings.TrimSpace(a))
	hi = lo
	var err2 error
	if isRange {
		hi, err2 = strconv.Atoi(strings.TrimSpace(b))
	}
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("want a status code (404) or a range (200-299)")
	}
	if lo < 100 || hi > 599 {
		return 0, 0, fmt.Errorf("status codes are 100 to 599")
	}
	if hi < lo {
		return 0, 0, fmt.Errorf("a range goes from low to high")
	}
	return lo, hi, nil
}
