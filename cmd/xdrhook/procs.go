package main

import (
	"os"
	"runtime"
	"sync"
)

// The event loops (gnet) wait for I/O in epoll_wait, a system call, and the
// Go runtime leaves a goroutine's P with it for the call's length (until
// sysmon takes it back, 20 µs to 10 ms later); busy, they keep theirs until
// preempted. With as many Ps as loops, the other goroutines (the senders,
// HTTP/2 readers, completions, timers) wait for a loop to let one go. One P
// more than the runtime's default gives them one of their own: DESIGN.md,
// "GOMAXPROCS: one more than the CPUs".

// spareProcs is the GOMAXPROCS the daemon runs with: the runtime's default
// (the CPUs it may use, a container's CPU limit included) or the event
// loops configured (service.io-threads), whichever is more, plus one. 0
// when the GOMAXPROCS environment variable set it: that choice stands.
func spareProcs(defaultProcs, ioThreads int, env string) int {
	if env != "" {
		return 0
	}
	return max(defaultProcs, ioThreads) + 1
}

var procsOnce sync.Once

// setProcs applies spareProcs once per process (in-process tests start
// several daemons) and returns the GOMAXPROCS it set, or 0.
func setProcs(ioThreads int) (set int) {
	procsOnce.Do(func() {
		if set = spareProcs(runtime.GOMAXPROCS(0), ioThreads, os.Getenv("GOMAXPROCS")); set > 0 {
			runtime.GOMAXPROCS(set)
		}
	})
	return set
}
