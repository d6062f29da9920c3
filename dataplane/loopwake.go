package dataplane

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"sync"
	"sync/atomic"

	"github.com/panjf2000/gnet/v2"
	gerrors "github.com/panjf2000/gnet/v2/pkg/errors"
)

// A loopWaker wakes a gnet event loop for the sessions whose records
// settled on other goroutines (a destination's worker, an HTTP/2 reader),
// without allocating. gnet's Conn.Wake allocates a closure and a queue
// node per call: with one record per request that was ~0.25 allocations
// per record, the data plane's last ones.
//
// The waker is one end of a Unix socket pair, enrolled in the loop as a
// connection of its own (gnet's EventLoop.Enroll); the other end, out, is
// written one byte when a session is listed and no byte is on its way
// (armed). On that byte the loop runs every listed session as gnet would
// on a wake: replies flushed, stalled frames resumed. A byte costs what
// gnet's eventfd write does (one syscall, which gnet too spares while a
// wake is pending), and one byte wakes the loop for all its sessions.
type loopWaker struct {
	out   *net.UnixConn // the end settles write to; gnet reads the other
	armed atomic.Uint32 // 1 from a byte written until the loop takes the list
	// busy is 1 while the loop handles a connection: it runs the listed
	// sessions before it waits again (settled), so no byte is needed.
	busy   atomic.Uint32
	listed atomic.Int32 // len(pending), read without mu

	mu      sync.Mutex
	pending []*session // listed, each once per flush (window.wakePending)
	dead    bool       // closed: wake refuses, the caller falls back to Conn.Wake
	spare   []*session // the loop's: the list it last ran, for reuse
	one     [1]byte
}

// wake lists s for its loop and makes sure a byte is on its way. False
// means the waker is closed (the engine stops): the caller wakes s itself.
func (w *loopWaker) wake(s *session) bool {
	w.mu.Lock()
	if w.dead {
		w.mu.Unlock()
		return false
	}
	w.pending = append(w.pending, s)
	w.listed.Add(1)
	w.mu.Unlock()
	// listed is raised before busy is read, and settled clears busy
	// before it reads listed: one of the two sees the other.
	if w.busy.Load() == 0 && w.armed.CompareAndSwap(0, 1) {
		// An error means the waker is being closed: close wakes the
		// listed sessions the other way.
		_, _ = w.out.Write(w.one[:])
	}
	return true
}

// take returns the listed sessions, on the loop, after it read the byte:
// armed is cleared first, so a session listed after the list was taken
// writes a byte again.
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
	w.dead = true
	list := w.pending
	w.pending = nil
	w.mu.Unlock()
	_ = w.out.Close()
	for _, s := range list {
		if s.gc != nil && !s.closed.Load() {
			_ = s.gc.Wake(nil)
		}
	}
}

// startWaker makes lp's waker and enrolls it in gnet loop el, in the
// background: until it is running, the loop's sessions use Conn.Wake. A
// waker that cannot be made is logged once; the loop goes on without one.
func (e *Engine) startWaker(lp *loop, el gnet.EventLoop) {
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
			case <-e.stopping:
				// A loop that stops before it registers the waker never
				// answers; one that did closes it (OnClose).
				err = gerrors.ErrEngineInShutdown
			}
		}
		if err != nil {
			_ = w.out.Close()
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
// abstract namespace (Linux: no file, gone with the listener): gnet
// enrolls a net.Conn by its remote address, which a socketpair's ends
// have none of.
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
	if err != nil {
		_ = in.Close()
		return nil, nil, err
	}
	return &loopWaker{out: out}, in, nil
}
