package main

import (
	"os"
	"runtime"
	"strconv"
	"sync"
)

// The event loops (gnet) wait for I/O in epoll_wait, a system call, and the
// Go runtime leaves a goroutine's P with it for the call. With one P per
// loop there is no idle P: a goroutine a loop wakes (a sender, a
// completion) waits on the P its loop keeps until sysmon takes it back, one
// to two of sysmon's periods later (20 µs to 10 ms each). One P more than
// the loops gives the rest of the process one of its own: DESIGN.md,
// "GOMAXPROCS: one more than the CPUs".

// spareProcs is the GOMAXPROCS the daemon runs with: the runtime's default
// cpus (the CPUs it may use, a container's CPU limit included) or the event
// loops configured (service.io-threads), whichever is more, plus one. 0 when
// it is left alone: the GOMAXPROCS environment variable set it (a value
// the runtime took: a positive integer), or the listener is TLS, which
// serves its connections on goroutines, not event loops.
func spareProcs(cpus, ioThreads int, env string, tls bool) int {
	if n, err := strconv.Atoi(env); err == nil && n > 0 || tls {
		return 0
	}
	return max(cpus, ioThreads) + 1
}

var (
	procsOnce sync.Once
	procsCPUs int // runtime.GOMAXPROCS before setProcs changed it
	procsSet  int // what setProcs set it to, or 0
)

// setProcs applies spareProcs once per process (in-process tests start
// several daemons) and returns the runtime's default GOMAXPROCS as it was
// before (the CPUs: the event loops' default count) and what it set, or 0.
func setProcs(ioThreads int, tls bool) (cpus, set int) {
	procsOnce.Do(func() {
		procsCPUs = runtime.GOMAXPROCS(0)
		if procsSet = spareProcs(procsCPUs, ioThreads, os.Getenv("GOMAXPROCS"), tls); procsSet > 0 {
			runtime.GOMAXPROCS(procsSet)
		}
	})
	return procsCPUs, procsSet
}
