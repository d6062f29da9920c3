// Package netdial opens the connections of the HTTP clients (h1client,
// h2client): TCP, or a test's dial, then, with a TLS config, the handshake
// offering one ALPN protocol.
package netdial

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"time"
)

// ErrDeadline is returned when the request's deadline passed while
// dialling; each client answers it with its own ErrTimeout.
var ErrDeadline = errors.New("netdial: the request's deadline passed while dialling")

// Dial connects to addr within connectTimeout and before deadline, with
// dial if set (tests) or TCP; if cfg is set, a TLS handshake follows (a
// clone of cfg offering alpn, ServerName from addr if unset) and the
// connection returned is a *tls.Conn. A handshake error is returned as
// is.
func Dial(addr string, cfg *tls.Config, alpn string, dial func(context.Context) (net.Conn, error),
	connectTimeout time.Duration, deadline time.Time) (net.Conn, error) {
	dl := time.Now().Add(connectTimeout)
	if deadline.Before(dl) {
		dl = deadline
	}
	ctx, cancel := context.WithDeadline(context.Background(), dl)
	defer cancel()
	var nc net.Conn
	var err error
	if dial != nil {
		nc, err = dial(ctx)
	} else {
		nc, err = (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		if ctx.Err() != nil && !time.Now().Before(deadline) {
			return nil, ErrDeadline
		}
		return nil, err
	}
	if cfg == nil {
		return nc, nil
	}
	cfg = cfg.Clone()
	cfg.NextProtos = []string{alpn}
	if cfg.ServerName == "" {
		if h, _, e := net.SplitHostPort(addr); e == nil {
			cfg.ServerName = h
		}
	}
	tc := tls.Client(nc, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		nc.Close()
		return nil, err
	}
	return tc, nil
}
