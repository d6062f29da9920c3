package connector

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xdrhook/xdrhook/config"
	"github.com/xdrhook/xdrhook/dataplane"
	"github.com/xdrhook/xdrhook/perf/harness"
	"github.com/xdrhook/xdrhook/wire"
)

// mTLSSink is a Go TLS server that requires a client certificate of the
// PKI's CA and records the bodies it is sent.
type mTLSSink struct {
	URL    string
	mu     sync.Mutex
	bodies []string
	peers  []string
}

func newMTLSSink(t *testing.T, pki *harness.PKI) *mTLSSink {
	t.Helper()
	s := &mTLSSink{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.bodies = append(s.bodies, string(b))
		s.peers = append(s.peers, r.TLS.PeerCertificates[0].Subject.CommonName)
		s.mu.Unlock()
	}))
	srv.TLS = newMTLSConfig(t, pki)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// newMTLSConfig is a server config that requires a client certificate of
// the PKI's CA.
func newMTLSConfig(t *testing.T, pki *harness.PKI) *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{pki.Issue(t, "sink", true).TLS()},
		ClientAuth:   tls.RequireAndVerifyClientCert, ClientCAs: pki.Pool(),
	}
}

func (s *mTLSSink) got() ([]string, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.bodies...), append([]string(nil), s.peers...)
}

// startYAML loads yml (file names relative to dir) and runs the engine.
func startYAML(t *testing.T, dir, yml string) *dataplane.Engine {
	t.Helper()
	cfg, err := config.Parse(dir+"/xdrhook.yml", []byte(yml), config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(cfg, dataplane.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, "test")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		e.Stop(ctx)
	})
	return e
}

// freeTCPPort is freePort (ports_test.go) as config text.
func freeTCPPort(t *testing.T) string { return strconv.Itoa(freePort(t)) }

// sendRecord sends one write on c and returns the reply's result code.
func sendRecord(t *testing.T, c net.Conn, key string) (byte, error) {
	t.Helper()
	r := &wire.Record{Kind: wire.KindWrite, Generation: 1, Namespace: "test", Set: "users", TTL: wire.TTLNever,
		KeyType: wire.ParticleString, Key: []byte(key), LUT: wire.MakeLUT(1, 1734388704784),
		Bins: []wire.BinSpec{{Name: "name", Type: wire.ParticleString, Value: []byte("user " + key)}}}
	var dg wire.Digester
	r.SetDigest(&dg)
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(wire.AppendFrame(nil, r)); err != nil {
		return 0, err
	}
	buf := make([]byte, wire.ReplySize)
	if _, err := io.ReadFull(bufio.NewReader(c), buf); err != nil {
		return 0, err
	}
	return buf[13], nil
}

const storeYAML = `service:
  address: 127.0.0.1
  port: %[1]s
  io-threads: 1
  tls:
    key-store: {store-file: listener.jks, store-password-file: password}
    trust-store: {store-file: trust.jks, store-password-file: password}
    allowed-peer-names: [xdr-node-1, xdr-node-2.example]
destinations:
  sink:
    urls: ["%[2]s/records"]
    tls:
      key-store: {store-file: %[3]s, store-password-file: password}
      trust-store: {store-file: %[4]s, store-password-file: password}
routing: {mode: static, destination: sink}
format: {mode: flat-json}
`

// xdrTLS dials the listener as an XDR node with pair's certificate.
func xdrTLS(port string, pki *harness.PKI, pair *harness.Pair) (*tls.Conn, error) {
	return tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", "127.0.0.1:"+port, &tls.Config{
		RootCAs: pki.Pool(), ServerName: "localhost", Certificates: []tls.Certificate{pair.TLS()},
	})
}

// The XDR listener with a JKS key store and trust store accepts an XDR
// node named in allowed-peer-names; the destination's client certificate,
// from each kind of store, is accepted by a Go server that requires one.
func TestJavaStoresEndToEnd(t *testing.T) {
	pki := harness.NewPKI(t)
	pki.GoJKS(t, "listener.jks", "listener", pki.Issue(t, "listener", true), "")
	pki.GoTrustJKS(t, "trust.jks")
	client := pki.Issue(t, "xdrhook-client", false)
	node1 := pki.Issue(t, "xdr-node-1", false)
	stores := []struct{ name, key, trust string }{
		{"go-jks", "", "trust.jks"},
		{"go-pkcs12", "", "trust.p12"},
		{"keytool-jks", "JKS", "keytool-trust.jks"},
		{"keytool-pkcs12", "PKCS12", "keytool-trust.p12"},
		{"openssl-pkcs12", "openssl", "trust.jks"},
	}
	pki.GoTrustPKCS12(t, "trust.p12")
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			var keyFile string
			switch st.name {
			case "go-jks":
				keyFile = pki.GoJKS(t, "client.jks", "client", client, "")
			case "go-pkcs12":
				keyFile = pki.GoPKCS12(t, "client.p12", client)
			default:
				if testing.Short() {
					t.Skip("system tier (keytool, openssl): run by make test-system")
				}
				if st.key == "openssl" {
					keyFile = pki.OpensslPKCS12(t, "client-openssl.p12", client)
				} else {
					keyFile = pki.KeytoolKeyStore(t, "client-keytool."+strings.ToLower(st.key), st.key, client)
					pki.KeytoolTrustStore(t, st.trust, st.key)
				}
			}
			sink := newMTLSSink(t, pki)
			port := freeTCPPort(t)
			startYAML(t, pki.Dir, fmt.Sprintf(storeYAML, port, sink.URL, keyFile, st.trust))
			c, err := xdrTLS(port, pki, node1)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			rc, err := sendRecord(t, c, "k1")
			if err != nil || rc != 0 {
				t.Fatalf("reply rc %d, %v", rc, err)
			}
			bodies, peers := sink.got()
			if len(bodies) != 1 || !strings.Contains(bodies[0], `"name":"user k1"`) || peers[0] != "xdrhook-client" {
				t.Fatalf("sink got %q from %q", bodies, peers)
			}
		})
	}
}

// allowed-peer-names: a client certificate of the right CA that names
// none of them is refused at the handshake; one whose DNS SAN is listed
// is accepted.
func TestAllowedPeerNames(t *testing.T) {
	pki := harness.NewPKI(t)
	pki.GoJKS(t, "listener.jks", "listener", pki.Issue(t, "listener", true), "")
	pki.GoTrustJKS(t, "trust.jks")
	client := pki.GoJKS(t, "client.jks", "client", pki.Issue(t, "xdrhook-client", false), "")
	sink := newMTLSSink(t, pki)
	port := freeTCPPort(t)
	startYAML(t, pki.Dir, fmt.Sprintf(storeYAML, port, sink.URL, client, "trust.jks"))

	bySAN := pki.Issue(t, "node-2", false, "xdr-node-2.example")
	c, err := xdrTLS(port, pki, bySAN)
	if err != nil {
		t.Fatal(err)
	}
	if rc, err := sendRecord(t, c, "k2"); err != nil || rc != 0 {
		t.Fatalf("a DNS SAN in allowed-peer-names: rc %d, %v", rc, err)
	}
	c.Close()

	intruder := pki.Issue(t, "intruder", false, "intruder.example")
	c, err = xdrTLS(port, pki, intruder)
	if err == nil {
		// TLS 1.3: the client learns of the refusal at its first read.
		_, err = sendRecord(t, c, "k3")
		c.Close()
	}
	if err == nil {
		t.Fatal("a certificate naming none of allowed-peer-names was accepted")
	}
	if bodies, _ := sink.got(); len(bodies) != 1 {
		t.Fatalf("sink got %d bodies, want 1", len(bodies))
	}
}
