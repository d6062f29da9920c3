package config

import "strings"

// suggest returns the candidate closest to s, if it is close enough to be a
// likely typo: keys are compared lower-cased and without "-" and "_"
// (max_in_flight, maxInFlight → max-in-flight), then by edit distance.
func suggest(s string, candidates []string) string {
	ns := normKey(s)
	if len(ns) >= 3 { // a prefix: "warning" → "warn", "msgpack" → "message-pack" is not one
		for _, c := range candidates {
			if nc := normKey(c); len(nc) >= 3 && (strings.HasPrefix(ns, nc) || strings.HasPrefix(nc, ns)) {
				return c
			}
		}
	}
	best, bestD := "", 1<<30
	for _, c := range candidates {
		d := editDistance(ns, normKey(c))
		if d < bestD {
			best, bestD = c, d
		}
	}
	limit := 2
	if len(ns) >= 12 {
		limit = 3
	}
	if best == "" || bestD > limit || bestD >= len(ns) {
		return ""
	}
	return best
}

func normKey(s string) string {
	s = strings.ToLower(s)
	return strings.NewReplacer("-", "", "_", "", " ", "").Replace(s)
}

// editDistance is the Levenshtein distance between a and b (bytes).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
