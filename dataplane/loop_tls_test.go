package dataplane

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/xdrhook/xdrhook/encode"
	"github.com/xdrhook/xdrhook/wire"
)

// TLS connections share loop states (here one, io-threads 1), but a
// connection whose peer does not read its replies blocks in its own write,
// not holding the state's lock: another connection of the same state is
// still served.
func TestTLSSlowReaderDoesNotStallItsLoopState(t *testing.T) {
	srvCert, srvLeaf := selfSigned(t, "xdrhook")
	roots := x509.NewCertPool()
	roots.AddCert(srvLeaf)
	d := newTestDestination(DestinationOptions{Name: "mem", Sender: &memSender{}})
	p := &Profile{
		NewFramer: func() encode.Framer { return &encode.NDJSON{Enc: &encode.JSON{}} },
		Batching:  true, MaxRecords: 100, MaxBytes: 1 << 20, Interval: 5 * time.Millisecond,
	}
	addr := freeAddr(t)
	e, err := newTestEngine(Options{
		Listen: []string{addr}, Loops: 1, MaxConcurrentRecords: 1 << 20,
		TLS:      &tls.Config{Certificates: []tls.Certificate{srvCert}, MinVersion: tls.VersionTLS12},
		Profiles: []*Profile{p}, Destinations: []*Destination{d},
		Router: &StaticRouter{Profile: p, Dests: []*Destination{d}},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var raws []net.Conn
	closeAll := func() {
		mu.Lock()
		for _, c := range raws {
			c.Close()
		}
		mu.Unlock()
	}
	defer func() {
		// The slow reader goes first: Stop waits for every record to be
		// answered, and its replies cannot be written.
		closeAll()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := e.Stop(ctx); err != nil {
			t.Error(err)
		}
	}()
	dial := func() (*tls.Conn, error) {
		// A small receive buffer, set before connecting (it bounds the
		// window), makes the server's writes block soon.
		dl := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
			return rc.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		}}
		raw, err := dl.Dial("tcp", addr)
		if err != nil {
			return nil, err
		}
		mu.Lock()
		raws = append(raws, raw)
		mu.Unlock()
		return tls.Client(raw, &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"}), nil
	}
	// The checks run on a goroutine under a watchdog: with the lock held by
	// a blocked write, they would block too (fold and InFlight take it).
	done := make(chan struct{})
	go func() {
		defer close(done)
		slowReaderChecks(t, e, dial)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		closeAll() // unblocks the writes
		<-done
		t.Fatal("stalled: the slow reader's blocked write holds up its loop state")
	}
}

func slowReaderChecks(t *testing.T, e *Engine, dial func() (*tls.Conn, error)) {
	// The slow reader: 200,000 records, 6 MB of replies it never reads,
	// more than the kernel buffers (4 MB at most for the server's send
	// buffer): its writes block, and with them the reading of its frames.
	const n = 200000
	slow, err := dial()
	if err != nil {
		t.Error(err)
		return
	}
	go slow.Write(frames(n))
	var last uint64
	still := 0
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		e.fold()
		got := e.m.frames.Get()
		if got == n {
			t.Error("every frame of the slow reader was read: its writes never blocked, the test proves nothing")
			return
		}
		if still++; got != last {
			still = 0
		}
		if got > 0 && still == 5 {
			break // stuck for half a second
		}
		last = got
		if time.Now().After(deadline) {
			t.Errorf("%d frames read", got)
			return
		}
	}
	fast, err := dial()
	if err != nil {
		t.Error(err)
		return
	}
	x := &xdrConn{c: fast, r: bufio.NewReader(fast)}
	fast.Write(frames(20))
	if rcs := repliesOrErr(t, x, 20, 5*time.Second); !allRC(rcs, 0) {
		t.Errorf("replies %v", rcs)
	}
	if e.fold(); e.m.frames.Get() >= n {
		t.Errorf("the slow reader's %d frames were all read", n)
	}
}

// repliesOrErr is xdrConn.replies for a goroutine other than the test's:
// it reports with Errorf.
func repliesOrErr(t *testing.T, x *xdrConn, n int, timeout time.Duration) []byte {
	x.c.SetReadDeadline(time.Now().Add(timeout))
	rcs := make([]byte, 0, n)
	buf := make([]byte, wire.ReplySize)
	for len(rcs) < n {
		if _, err := io.ReadFull(x.r, buf); err != nil {
			t.Errorf("after %d of %d replies: %v", len(rcs), n, err)
			return append(rcs, 0xff)
		}
		rcs = append(rcs, buf[13])
	}
	return rcs
}
