package dataplane

import (
	"net"
	"runtime"
	"syscall"
	"testing"

	"github.com/panjf2000/gnet/v2"
)

// service.socket-receive-buffer-bytes: the TLS listeners' accepted sockets
// have SO_RCVBUF set (Linux reports twice the size asked for), and gnet is
// given the same size for the plain ones.
func TestSocketRecvBuffer(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("SO_RCVBUF doubling is Linux's")
	}
	const n = 32 << 10
	rcvbuf := func(o Options) int {
		e := &Engine{opts: o}
		ln, err := e.listenTCP("127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		s, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		raw, _ := s.(*net.TCPConn).SyscallConn()
		var size int
		raw.Control(func(fd uintptr) { size, _ = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF) })
		return size
	}
	if got, def := rcvbuf(Options{SocketRecvBuffer: n}), rcvbuf(Options{}); got != 2*n || def == got {
		t.Fatalf("SO_RCVBUF %d with the option (want %d), %d without", got, 2*n, def)
	}
	var o gnet.Options
	for _, f := range (&Engine{opts: Options{SocketRecvBuffer: n}}).gnetOptions() {
		f(&o)
	}
	if o.SocketRecvBuffer != n {
		t.Fatalf("gnet SocketRecvBuffer %d, want %d", o.SocketRecvBuffer, n)
	}
}
