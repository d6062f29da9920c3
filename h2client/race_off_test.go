//go:build !race

package h2client

const raceEnabled = false
