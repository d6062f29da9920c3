package dataplane

import (
	"crypto/tls"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/net/http2"

	"github.com/xdrhook/xdrhook/perf/harness"
)

// HAProxy from Debian with an h2 frontend — over TLS (ALPN h2) and h2c
// prior knowledge — in front of an h2c Go backend: the records arrive
// whole, over HTTP/2 on both hops.
func TestHTTP2ThroughHAProxy(t *testing.T) {
	if testing.Short() {
		t.Skip("system tier: runs haproxy; run by make test-system")
	}
	for _, tlsOn := range []bool{true, false} {
		t.Run(fmt.Sprintf("tls=%v", tlsOn), func(t *testing.T) {
			rec := &h2Recorder{}
			addr := serveH2C(t, rec, &http2.Server{})
			hp := harness.NewHAProxy(t)
			o := HTTPOptions{URLs: []string{"http://" + hp.Addr + "/bulk"}, MaxConnsPerEndpoint: 2}
			if tlsOn {
				pki := harness.NewPKI(t)
				pair := pki.Issue(t, "haproxy", true)
				cert, _ := os.ReadFile(pair.CertFile)
				key, _ := os.ReadFile(pair.KeyFile)
				combined := filepath.Join(hp.Dir, "combined.pem")
				os.WriteFile(combined, append(cert, key...), 0o600)
				hp.Bind = "ssl crt " + combined + " alpn h2"
				o.URLs[0] = "https://" + hp.Addr + "/bulk"
				o.TLS = &tls.Config{RootCAs: pki.Pool()}
			} else {
				hp.Bind = "proto h2"
			}
			hp.Start(t, "http", "  server s1 "+addr+" proto h2\n")
			snd, err := newTestHTTP2(o)
			if err != nil {
				t.Fatal(err)
			}
			deliverOverHTTP2(t, snd, rec, 1000)
		})
	}
}
