//go:build race

package pool

// sync.Pool drops items at random under the race detector.
const raceEnabled = true
