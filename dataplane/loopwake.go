package dataplane

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
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
// connection of its own (gnet's EventLoop.Enroll); the other end, fd, is
// written one byte when a session is listed, the loop is not busy and no
// byte is on its way (armed). On that byte the loop runs every listed
// session as gnet would on a wake: replies flushed, stalled frames
// resumed. A loop that is busy (handling a connection) runs the listed
// sessions before it polls again (gnetHandler.settled), so no byte is
// needed. DESIGN.md, "Event loops woken without allocating", has the
// measurements.
type loopWaker struct {
	// fd is the end written to (gnet reads the other): a raw descriptor,
	// not a net.Conn, so that Go's poller is not woken when gnet reads;
	// written and closed under mu.
	fd    int
	log   *slog.Logger
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
	var orphans []*session
	var err error
	if w.busy.Load() == 0 {
		orphans, err = w.arm()
	}
	w.mu.Unlock()
	if err != nil {
		w.died(err, orphans)
	}
	return true
}

// poke makes sure a byte is on its way: the loop, which left sessions
// listed (settled), comes back to them after it polled.
func (w *loopWaker) poke() {
	w.mu.Lock()
	if w.dead {
		w.mu.Unlock()
		return
	}
	orphans, err := w.arm()
	w.mu.Unlock()
	if err != nil {
		w.died(err, orphans)
	}
}

// arm writes a byte unless one is on its way, under mu. If the write
// fails, w dies and returns the sessions it had listed, for died.
func (w *loopWaker) arm() ([]*session, error) {
	if !w.armed.CompareAndSwap(0, 1) {
		return nil, nil
	}
	if err := w.write(); err != nil {
		return w.die(), err
	}
	return nil, nil
}

// write writes the wake-up byte, under mu. A full socket holds bytes the
// loop has not read yet: it will wake. Any other error means the loop
// cannot be woken this way any more.
func (w *loopWaker) write() error {
	for {
		_, err := unix.Write(w.fd, w.one[:])
		switch err {
		case nil, unix.EAGAIN:
			return nil
		case unix.EINTR:
			continue
		}
		return err
	}
}

// die marks w dead, closes its end and returns the sessions it had
// listed, under mu.
func (w *loopWaker) die() []*session {
	w.dead = true
	list := w.pending
	w.pending = nil
	w.listed.Store(0)
	_ = unix.Close(w.fd)
	return list
}

// died hands the sessions listed to Conn.Wake after a write failed, and
// says so once: the loop's wake-ups allocate from then on.
func (w *loopWaker) died(err error, list []*session) {
	w.log.Warn("event loop: its waker failed; replies wait for gnet's wake-ups (an allocation each)", "error", err)
	wakeEach(list)
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
	w, in, err := newWakerPair(e.log)
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
// The end written to is bound to a name of its own, which the accepted
// end, handed to gnet, has for its peer.
func newWakerPair(log *slog.Logger) (*loopWaker, *net.UnixConn, error) {
	var id [8]byte
	_, _ = rand.Read(id[:])
	name := "@xdrhook-wake-" + hex.EncodeToString(id[:])
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: name, Net: "unix"})
	if err != nil {
		return nil, nil, err
	}
	defer ln.Close()
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("waker socket: %w", err)
	}
	// Linux's abstract names start with a NUL, which x/sys/unix writes
	// for a leading '@'.
	if err = unix.Bind(fd, &unix.SockaddrUnix{Name: name + "-wake"}); err == nil {
		// A listener's backlog takes a connection at once.
		err = unix.Connect(fd, &unix.SockaddrUnix{Name: name})
	}
	if err != nil {
		_ = unix.Close(fd)
		return nil, nil, fmt.Errorf("waker socket: %w", err)
	}
	in, err := ln.AcceptUnix()
	if err == nil && in.RemoteAddr().String() != name+"-wake" {
		// Another process connected first: the name is visible to all.
		_ = in.Close()
		err = fmt.Errorf("waker socket: peer %q, want %q", in.RemoteAddr(), name+"-wake")
	}
	if err != nil {
		_ = unix.Close(fd)
		return nil, nil, err
	}
	return &loopWaker{fd: fd, log: log}, in, nil
}
