package dataplane

import (
	"context"
	"net"
	"syscall"
)

// listenTCP listens on addr with SO_RCVBUF set to Options.SocketRecvBuffer
// (when > 0) before the listen, so accepted sockets inherit it (the TLS
// listeners; gnet sets it with WithSocketRecvBuffer).
func (e *Engine) listenTCP(addr string) (net.Listener, error) {
	lc := net.ListenConfig{}
	if n := e.opts.SocketRecvBuffer; n > 0 {
		lc.Control = func(_, _ string, c syscall.RawConn) error {
			var serr error
			if err := c.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, n)
			}); err != nil {
				return err
			}
			return serr
		}
	}
	return lc.Listen(context.Background(), "tcp", addr)
}
