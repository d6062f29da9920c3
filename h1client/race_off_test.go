//go:build !race

package h1client

const raceEnabled = false
