package connector

import (
	"testing"

	"github.com/xdrhook/xdrhook/dataplane"
)

// ESP's max-request-queued-per-endpoint reaches the destination's queue
// bound (× URLs); without it the bound is 0, the engine's default
// (dataplane.Destination.queueDefaults: max-concurrent-records).
func TestESPMaxQueuedWired(t *testing.T) {
	_, o := buildOptions(t, `
destinations:
  d:
    urls: ["http://127.0.0.1:9/", "http://127.0.0.1:10/"]
    max-request-queued-per-endpoint: 50
  e: {urls: ["http://127.0.0.1:9/"]}
routing: {mode: static-multi-destination, destinations: [d, e]}
`)
	if d, e := o.Destinations[0].Options().MaxQueued, o.Destinations[1].Options().MaxQueued; d != 100 || e != 0 {
		t.Fatalf("MaxQueued %d and %d, want 100 and 0 (the engine's default)", d, e)
	}
}

// service.cluster-name and socket-receive-buffer-bytes reach the engine.
func TestESPServiceKeysWired(t *testing.T) {
	_, o := buildOptions(t, `
service: {cluster-name: east, socket-receive-buffer-bytes: 262144}
destinations: {d: {urls: ["http://127.0.0.1:9/"]}}
routing: {mode: static, destination: d}
`)
	if o.ClusterName != "east" || o.SocketRecvBuffer != 262144 {
		t.Fatalf("cluster %q, SO_RCVBUF %d", o.ClusterName, o.SocketRecvBuffer)
	}
}

// service.io-threads sets the engine's loops; unset, the caller's count
// stands (xdrhook run passes the CPUs the runtime may use).
func TestIOThreadsOrCallersLoops(t *testing.T) {
	const dest = "destinations: {d: {urls: [\"http://127.0.0.1:9/\"]}}\nrouting: {mode: static, destination: d}\n"
	for _, c := range []struct {
		yml          string
		given, loops int
	}{
		{"service: {io-threads: 3}\n" + dest, 0, 3},
		{"service: {io-threads: 3}\n" + dest, 5, 3},
		{dest, 5, 5},
		{dest, 0, 0},
	} {
		o, err := options(parseConfig(t, c.yml), dataplane.Options{Loops: c.given}, "test")
		if err != nil {
			t.Fatal(err)
		}
		if o.Loops != c.loops {
			t.Errorf("%q with Loops %d: engine loops %d, want %d", c.yml, c.given, o.Loops, c.loops)
		}
	}
}
