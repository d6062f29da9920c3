package writebuf

import "testing"

// Up to 1 MiB always kept; a larger buffer while rounds carry half of it
// lately, and dropped some rounds after a burst.
func TestKeepDecays(t *testing.T) {
	var p Peak
	if !p.Keep(100, 1<<20) {
		t.Fatal("a 1 MiB buffer dropped")
	}
	if p.Keep(100, 2<<20) {
		t.Fatal("a 2 MiB buffer kept with no round needing it")
	}
	if !p.Keep(3<<20, 4<<20) || !p.Keep(100, 4<<20) {
		t.Fatal("a buffer of a busy connection dropped")
	}
	rounds := 0
	for p.Keep(100, 4<<20) {
		rounds++
	}
	// 3 MiB decaying by 1/64 a round falls under 2 MiB after 26 rounds.
	if rounds < 20 || rounds > 30 {
		t.Fatalf("a 4 MiB buffer kept %d rounds after a 3 MiB burst, want about 26", rounds)
	}
}
