package dataplane

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/panjf2000/gnet/v2"
	gerrors "github.com/panjf2000/gnet/v2/pkg/errors"
	"golang.org/x/sys/unix"
)

// A loopWaker wakes a gnet event loop for the sessions whose records
// settled on other goroutines (a destination's worker, an HTTP/2 reader),
// without allocating. gnet's Conn.Wake allocates a closure and a queue
// node per call: with one record per request that was ~0.25 allocations
// per record, the data plane's last ones.
//
// The waker is one end of a Unix socket pair, enrolled in the loop as a
// connection of its own (gnet's EventLoop.Enroll); the other end, out, is
// written one byte when a session is listed, the loop is not busy and no
// byte is on its way (armed). On that byte the loop runs every listed
// session as gnet would on a wake: replies flushed, stalled frames
// resumed. A loop that is busy (handling a connection) runs the listed
// sessions before it polls again (gnetHandler.settled), so no byte is
// needed. A byte through a socket costs a little more than gnet's eventfd
// (DESIGN.md, "Event loops woken without allocating").
type loopWaker struct {
	out   *net.UnixConn // the end written to; gnet reads the other
	fd    int           // out's descriptor: written under mu while !dead
	armed atomic.Uint32 // 1 from a byte written until the loop takes the list
	// busy is 1 while the loop handles a connection. listed is raised
	// before busy is read (wake), and busy cleared before listed is read
	// (settled): one of the two sees the other.
	busy   atomic.Uint32
	listed atomic.Int32 // len(pending), read without mu
	opened atomic.Bool  // OnOpen saw it: it is in the loop's poller

	mu      sync.Mutex
	pending []*session // listed, each once per flush (window.wakePending)
	dead    bool       // closed or unwritable: wake refuses, callers use Conn.Wake
	spare   []*session // the loop's: the list it last ran, for reuse
	one     [1]byte
}

// wake lists s for its loop and makes sure the loop will run it. False
// means the waker is dead (the engine stops): the caller wakes s itself.
func (w *loopWaker) wake(s *session) bool {
	w.mu.Lock()
	if w.dead {
		w.mu.Unlock()
		return false
	}
	w.pending = append(w.pending, s)
	w.listed.Add(1)
	if w.busy.Load() == 0 && w.armed.CompareAndSwap(0, 1) && !w.write() {
		list := w.die()
		w.mu.Unlock()
		wakeEach(list)
		return true
	}
	w.mu.Unlock()
	return true
}

// poke makes sure a byte is on its way: the loop, which left sessions
// listed (settled), comes back to them after it polled.
func (w *loopWaker) poke() {
	w.mu.Lock()
	if w.dead || !w.armed.CompareAndSwap(0, 1) || w.write() {
		w.mu.Unlock()
		return
	}
	list := w.die()
	w.mu.Unlock()
	wakeEach(list)
}

// write writes the wake-up byte, under mu. A full socket holds bytes the
// loop has not read yet: it will wake. Any other error means the loop
// cannot be woken this way any more.
func (w *loopWaker) write() bool {
	_, err := unix.Write(w.fd, w.one[:])
	return err == nil || err == unix.EAGAIN
}

// die marks w dead and returns the sessions it had listed, under mu.
func (w *loopWaker) die() []*session {
	w.dead = true
	list := w.pending
	w.pending = nil
	w.listed.Store(0)
	_ = w.out.Close()
	return list
}

// wakeEach wakes sessions with gnet's Conn.Wake.
func wakeEach(list []*session) {
	for _, s := range list {
		if s.gc != nil && !s.closed.Load() {
			_ = s.gc.Wake(nil)
		}
	}
}

// take returns the listed sessions, on the loop: armed is cleared first,
// so a session listed after the list was taken writes a byte again.
func (w *loopWaker) take() []*session {
	w.armed.Store(0)
	w.mu.Lock()
	list := w.pending
	w.pending = w.spare[:0]
	w.listed.Store(0)
	w.mu.Unlock()
	return list
}

// done gives back the list take returned, cleared.
func (w *loopWaker) done(list []*session) {
	clear(list)
	w.spare = list[:0]
}

// close stops the waker (gnet closed its connection: the engine stops)
// and wakes the sessions still listed with Conn.Wake.
func (w *loopWaker) close() {
	w.mu.Lock()
	var list []*session
	if !w.dead {
		list = w.die()
	}
	w.mu.Unlock()
	wakeEach(list)
}

// startWaker makes lp's waker and enrolls it in gnet loop el, in the
// background: until it is running, the loop's sessions use Conn.Wake. A
// waker that cannot be made is logged once; the loop goes on without one.
func (e *Engine) startWaker(lp *loop, el gnet.EventLoop) {
	if runtime.GOOS != "linux" {
		return // the pair is named in Linux's abstract namespace
	}
	w, in, err := newWakerPair()
	if err == nil {
		var res <-chan gnet.RegisteredResult
		// Enroll registers a dup of in's socket and closes in.
		if res, err = el.Enroll(gnet.NewContext(context.Background(), w), in); err != nil {
			_ = in.Close()
		} else {
			select {
			case r := <-res:
				err = r.Err
				if err == nil && !w.opened.Load() {
					// gnet reports success when it failed to poll it.
					err = errors.New("gnet did not open the waker's connection")
				}
			case <-e.stopping:
				// A loop that stops before it registers the waker never
				// answers (gnet's enrolling goroutine and a descriptor
				// stay until the process ends); one that did closes it.
				err = gerrors.ErrEngineInShutdown
			}
		}
		if err != nil {
			w.close()
		}
	}
	switch {
	case err == nil:
		lp.waker.Store(w)
	case !errors.Is(err, gerrors.ErrEngineInShutdown):
		e.log.Warn("event loop: no waker; replies wait for gnet's wake-ups (an allocation each)", "error", err)
	}
}

// newWakerPair connects two Unix sockets through a listener in the
// abstract namespace (no file, gone with the listener): gnet enrolls a
// net.Conn by its remote address, which a socketpair's ends have none of.
func newWakerPair() (*loopWaker, *net.UnixConn, error) {
	var id [8]byte
	_, _ = rand.Read(id[:])
	name := "@xdrhook-wake-" + hex.EncodeToString(id[:])
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: name, Net: "unix"})
	if err != nil {
		return nil, nil, err
	}
	defer ln.Close()
	// Bound to a name of its own: gnet renames the enrolled end's local
	// address, which must then be one.
	in, err := net.DialUnix("unix", &net.UnixAddr{Name: name + "-loop", Net: "unix"}, ln.Addr().(*net.UnixAddr))
	if err != nil {
		return nil, nil, err
	}
	out, err := ln.AcceptUnix()
	if err == nil && out.RemoteAddr().String() != name+"-loop" {
		// Another process connected first: the name is visible to all.
		_ = out.Close()
		err = fmt.Errorf("waker socket: peer %q, want %q", out.RemoteAddr(), name+"-loop")
	}
	if err != nil {
		_ = in.Close()
		return nil, nil, err
	}
	w := &loopWaker{out: out}
	rc, err := out.SyscallConn()
	if err == nil {
		err = rc.Control(func(fd uintptr) { w.fd = int(fd) })
	}
	if err != nil {
		_ = in.Close()
		_ = out.Close()
		return nil, nil, err
	}
	return w, in, nil
}
