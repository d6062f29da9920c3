package reliability

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xdrhook/xdrhook/perf/harness"
	"github.com/xdrhook/xdrhook/perf/sink"
	"github.com/xdrhook/xdrhook/perf/xdrsim"
)

// TestSecurity: TLS verification toward destinations is on by default, a
// custom CA works, ${VAR} secrets never show, the manage port stays on
// loopback by default, and the XDR TLS listener with client-ca-file
// refuses clients without a valid certificate.
func TestSecurity(t *testing.T) {
	systemTier(t)
	t.Run("destination-tls-verified-by-default", testTLSVerifiedByDefault)
	t.Run("destination-custom-ca", testCustomCA)
	t.Run("secret-never-shown", testSecretNeverShown)
	t.Run("manage-on-loopback", testManageLoopback)
	t.Run("xdr-tls-client-certificates", testXDRClientCerts)
}

// ---- certificates ----

type certKey struct {
	cert     *x509.Certificate
	key      *ecdsa.PrivateKey
	tls      tls.Certificate
	certFile string
	keyFile  string
}

// newCert makes a certificate for 127.0.0.1 signed by parent (nil:
// self-signed, usable as its own CA) and writes it and its key as PEM.
func newCert(t *testing.T, dir, name string, parent *certKey, isCA bool) *certKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true, IsCA: isCA || parent == nil,
	}
	signer, signKey := tmpl, key
	if parent != nil {
		signer, signKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signKey)
	if err != nil {
		t.Fatal(err)
	}
	ck := &certKey{key: key}
	ck.cert, _ = x509.ParseCertificate(der)
	ck.tls = tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: ck.cert}
	kb, _ := x509.MarshalECPrivateKey(key)
	ck.certFile = filepath.Join(dir, name+".pem")
	ck.keyFile = filepath.Join(dir, name+".key")
	os.WriteFile(ck.certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(ck.keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return ck
}

// tlsFront is a TLS-terminating proxy with a self-signed certificate in
// front of a plain sink.
func tlsFront(t *testing.T, sk *sink.Sink) (*proxy, *certKey) {
	cert := newCert(t, t.TempDir(), "destination", nil, false)
	cfg := &tls.Config{Certificates: []tls.Certificate{cert.tls}}
	return newProxy(t, sk.Addr(), func(c net.Conn) net.Conn { return tls.Server(c, cfg) }), cert
}

func testTLSVerifiedByDefault(t *testing.T) {
	sk := startSink(t, sink.Config{})
	px, _ := tlsFront(t, sk)
	p := harness.Connector{Config: conf{URL: "https://" + px.addr + "/in"}.yaml()}.Start(t)
	w := watch(p, 100*time.Millisecond, false)
	cfg := simConfig(p.XDRAddr)
	cfg.Count, cfg.Rate, cfg.DrainTimeout = 300, 0, 3*time.Second
	sm, err := xdrsim.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	errs := metric(t, p, `xdrhook_requests_total{destination="sink",status="error"}`)
	st := sk.Stats()
	if sm.Codes[0] != 0 || sm.Settled != 0 || st.Records != 0 {
		t.Errorf("records delivered over unverified TLS: codes %v, sink records %d", sm.Codes, st.Records)
	}
	if sm.Codes[11]+sm.Codes[9] == 0 || errs <= 0 {
		t.Errorf("want replies 11/9 and transport errors: codes %v, errors %v", sm.Codes, errs)
	}
	report(t, figures{Sent: sm.Generated, Frames: sm.Sent, Retries: sm.Retries, MaxRSS: w.Stop(), Recovery: -1,
		Extra: fmt.Sprintf("self-signed destination, no ca-file: codes %v (never 0), transport errors %.0f, sink received %d", sm.Codes, errs, st.Records)})
}

func testCustomCA(t *testing.T) {
	sk := startSink(t, sink.Config{})
	px, cert := tlsFront(t, sk)
	c := conf{URL: "https://" + px.addr + "/in", Dest: []string{fmt.Sprintf("tls: {ca-file: %q}", cert.certFile)}}
	p := harness.Connector{Config: c.yaml()}.Start(t)
	w := watch(p, 100*time.Millisecond, false)
	cfg := simConfig(p.XDRAddr)
	cfg.Duration = 3 * time.Second
	sm, err := xdrsim.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	f := verify(t, &sm, sk.IDs())
	f.MaxRSS = w.Stop()
	f.Extra = "https destination verified with tls.ca-file"
	report(t, f)
}

// testSecretNeverShown: a header from ${VAR} must reach the destination and
// appear nowhere else: not in the log (debug level, while the destination
// fails and echoes the header back in its error bodies), not in /metrics,
// the JSON metrics or /readyz, not in `xdrhook check`.
func testSecretNeverShown(t *testing.T) {
	b := make([]byte, 12)
	rand.Read(b)
	secret := "tok-" + hex.EncodeToString(b)
	env := []string{"XDRHOOK_REL_TOKEN=" + secret}
	sk := startSink(t, sink.Config{FailRate: 0.2, HangupRate: 0.05})
	fr := newFront(t, sk.URL(), "")
	c := conf{URL: fr.URL() + "/in", LogLevel: "debug",
		Dest: []string{`headers: {Authorization: "Bearer ${XDRHOOK_REL_TOKEN}", X-Trace: "static"}`}}
	p := harness.Connector{Config: c.yaml(), Env: env}.Start(t)
	w := watch(p, 100*time.Millisecond, false)
	cfg := simConfig(p.XDRAddr)
	cfg.Duration = 4 * time.Second
	s := startSim(t, cfg)
	time.Sleep(time.Second)
	fr.storm.Store(401) // a destination refusing the token (and echoing nothing)
	time.Sleep(500 * time.Millisecond)
	fr.storm.Store(0)
	sm := s.Wait()
	f := verify(t, &sm, sk.IDs())

	if n := fr.authorizations()["Bearer "+secret]; n == 0 {
		t.Fatalf("the destination never received the token: %v", keys(fr.authorizations()))
	}
	var leaks []string
	look := func(where, text string) {
		if strings.Contains(text, secret) {
			leaks = append(leaks, where)
		}
	}
	for _, path := range []string{"/metrics", "/manage/rest/v1/metrics", "/manage/rest/v1/prometheus", "/readyz", "/healthz"} {
		_, body, err := p.Get(path)
		if err != nil {
			t.Fatal(err)
		}
		look(path, body)
	}
	cmd := exec.Command(harness.Binary(t), "check", "--config", p.ConfigPath)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("xdrhook check: %v\n%s", err, out)
	}
	look("xdrhook check", string(out))
	if !strings.Contains(string(out), "redacted") {
		t.Errorf("xdrhook check does not say the header is redacted:\n%s", out)
	}
	// Config errors about a value from the variable must not print it: a
	// type error (an integer wanted) and a bad URL.
	for i, edit := range []string{"    max-in-flight: ${XDRHOOK_REL_TOKEN}\n", "    urls: [\"http://${XDRHOOK_REL_TOKEN}:x/\"]\n"} {
		var lines []string
		for _, l := range strings.SplitAfter(readFile(t, p.ConfigPath), "\n") {
			switch {
			case i == 0 && strings.HasPrefix(l, "    retry:"):
				l = edit + l
			case i == 1 && strings.HasPrefix(l, "    urls:"):
				l = edit
			}
			lines = append(lines, l)
		}
		y := strings.Join(lines, "")
		badPath := filepath.Join(t.TempDir(), "bad.yml")
		os.WriteFile(badPath, []byte(y), 0o600)
		cmd = exec.Command(harness.Binary(t), "check", "--config", badPath)
		cmd.Env = append(os.Environ(), env...)
		badOut, err := cmd.CombinedOutput()
		if err == nil {
			t.Errorf("xdrhook check accepted %q", edit)
		}
		t.Logf("check with %q: %s", strings.TrimSpace(edit), strings.TrimSpace(string(badOut)))
		look(fmt.Sprintf("xdrhook check (config error %d)", i+1), string(badOut))
	}
	code := p.Term(15 * time.Second)
	look("log (debug level)", p.Log())
	if len(leaks) > 0 {
		t.Errorf("the secret leaked into: %v", leaks)
	}
	if code != 0 {
		t.Errorf("exit code %d", code)
	}
	f.MaxRSS = w.Stop()
	f.Extra = fmt.Sprintf("token sent %d times; searched the debug log (%d lines), 5 manage endpoints, xdrhook check (ok and error): leaks %v",
		fr.authorizations()["Bearer "+secret], strings.Count(p.Log(), "\n"), leaks)
	report(t, f)
}

func readFile(t *testing.T, path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func keys(m map[string]int) []string {
	var ks []string
	for k := range m {
		if len(k) > 12 {
			k = k[:12] + "…"
		}
		ks = append(ks, k)
	}
	return ks
}

// testManageLoopback: with service.manage giving only a port, the manage
// listener binds 127.0.0.1 (the XDR listener, by default, all addresses).
func testManageLoopback(t *testing.T) {
	sk := startSink(t, sink.Config{})
	y := strings.Replace(conf{URL: sk.URL() + "/in"}.yaml(), "  address: 127.0.0.1\n", "", 1)
	p := harness.Connector{Config: y}.Start(t)
	_, mport, _ := net.SplitHostPort(p.ManageAddr)
	_, xport, _ := net.SplitHostPort(p.XDRAddr)
	manage := listeners(t, mport)
	xdr := listeners(t, xport)
	if len(manage) == 0 {
		t.Fatalf("no listener found for the manage port %s", mport)
	}
	for _, a := range manage {
		if a != "127.0.0.1" && a != "::1" {
			t.Errorf("the manage port listens on %s", a)
		}
	}
	// Reachable on loopback, and not on another address of the host.
	if st, _, err := p.Get("/healthz"); err != nil || st != http.StatusOK {
		t.Errorf("/healthz on loopback: %d %v", st, err)
	}
	if ip := otherAddr(); ip != "" {
		if c, err := net.DialTimeout("tcp", net.JoinHostPort(ip, mport), time.Second); err == nil {
			c.Close()
			t.Errorf("the manage port answers on %s", ip)
		}
	}
	report(t, figures{Recovery: -1, Extra: fmt.Sprintf("manage listens on %v; XDR on %v (service.address default)", manage, xdr)})
}

// listeners returns the local addresses of the TCP sockets listening on
// port, from /proc/net/tcp and tcp6.
func listeners(t *testing.T, port string) []string {
	p, _ := strconv.Atoi(port)
	want := fmt.Sprintf("%04X", p)
	var out []string
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(b), "\n")[1:] {
			fs := strings.Fields(l)
			if len(fs) < 4 || fs[3] != "0A" { // LISTEN
				continue
			}
			hexIP, hexPort, _ := strings.Cut(fs[1], ":")
			if hexPort != want {
				continue
			}
			out = append(out, procIP(hexIP))
		}
	}
	if out == nil {
		t.Skip("/proc/net/tcp unavailable or port not found")
	}
	return out
}

// procIP decodes /proc/net/tcp's little-endian hex addresses.
func procIP(h string) string {
	b, err := hex.DecodeString(h)
	if err != nil {
		return h
	}
	for i := 0; i+4 <= len(b); i += 4 {
		b[i], b[i+1], b[i+2], b[i+3] = b[i+3], b[i+2], b[i+1], b[i]
	}
	return net.IP(b).String()
}

// otherAddr is a non-loopback address of this host, or "".
func otherAddr() string {
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			return n.IP.String()
		}
	}
	return ""
}

// testXDRClientCerts: the XDR listener speaks TLS and requires client
// certificates from its client-ca-file. Plain TCP, TLS without a
// certificate and a certificate from another CA are refused and counted;
// the emulator with a good certificate delivers everything.
func testXDRClientCerts(t *testing.T) {
	dir := t.TempDir()
	ca := newCert(t, dir, "xdr-ca", nil, true)
	srv := newCert(t, dir, "xdrhook", ca, false)
	cli := newCert(t, dir, "xdr-source", ca, false)
	stranger := newCert(t, dir, "stranger", newCert(t, dir, "other-ca", nil, true), false)
	roots := x509.NewCertPool()
	roots.AddCert(ca.cert)

	sk := startSink(t, sink.Config{})
	c := conf{URL: sk.URL() + "/in", Service: []string{fmt.Sprintf("tls: {cert-file: %q, key-file: %q, client-ca-file: %q}", srv.certFile, srv.keyFile, ca.certFile)}}
	p := harness.Connector{Config: c.yaml()}.Start(t)
	w := watch(p, 100*time.Millisecond, false)

	refused := 0
	// Plain TCP, speaking XDR.
	raw := dialRaw(t, p.XDRAddr)
	raw.Write(goodFrames("test", 2))
	if rcs, closed := raw.replies(1, 5*time.Second); len(rcs) != 0 || !closed {
		t.Errorf("plain TCP client: replies %v, closed %v", rcs, closed)
	}
	refused++
	for _, tc := range []struct {
		name  string
		certs []tls.Certificate
	}{{"no certificate", nil}, {"certificate from another CA", []tls.Certificate{stranger.tls}}} {
		conn, err := tls.Dial("tcp", p.XDRAddr, &tls.Config{RootCAs: roots, Certificates: tc.certs})
		refused++
		if err != nil {
			continue // refused during the handshake
		}
		conn.Write(goodFrames("test", 2))
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		if n, err := conn.Read(make([]byte, 64)); err == nil || n > 0 {
			t.Errorf("%s: served (%d bytes read)", tc.name, n)
		}
		conn.Close()
	}
	var counted float64
	if !waitFor(5*time.Second, func() bool {
		counted = metricOf(p, "xdrhook_connections_tls_handshake_errors_total")
		return counted >= float64(refused)
	}) {
		t.Errorf("%d refused clients, %v handshake errors counted", refused, counted)
	}

	cfg := simConfig(p.XDRAddr)
	cfg.Duration = 3 * time.Second
	d := &tls.Dialer{Config: &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{cli.tls}}}
	cfg.Dial = d.DialContext
	sm, err := xdrsim.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	f := verify(t, &sm, sk.IDs())
	f.MaxRSS = w.Stop()
	f.Extra = fmt.Sprintf("XDR over TLS with client certificates; refused %d (plain TCP, no certificate, other CA), counted %v", refused, counted)
	report(t, f)
}
