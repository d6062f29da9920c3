package config

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xdrhook/xdrhook/perf/harness"
)

// storeConfig is a destination and a TLS listener that use Java stores.
func storeConfig(keyStore, trustStore, extra string) string {
	return `service:
  tls:
    key-store: {store-file: ` + keyStore + `, store-password-file: password}
    trust-store: {store-file: ` + trustStore + `, store-password-file: password}
` + extra + `
destinations:
  d:
    urls: [https://127.0.0.1:9443]
    tls:
      key-store: {store-file: ` + keyStore + `, store-password-file: password}
      trust-store: {store-file: ` + trustStore + `, store-password-file: password}
routing: {mode: static, destination: d}
`
}

func parseIn(t *testing.T, dir, yml string) (*Config, error) {
	t.Helper()
	return Parse(filepath.Join(dir, "esp.yml"), []byte(yml), Options{})
}

// checkStores asserts that the loaded TLS configs hold pair's certificate
// (chain pair, CA) and trust the CA.
func checkStores(t *testing.T, c *Config, pki *harness.PKI, pair *harness.Pair) {
	t.Helper()
	srv, err := c.Service.TLS.Build()
	if err != nil {
		t.Fatal(err)
	}
	cli, err := c.Destinations["d"].TLS.Build()
	if err != nil {
		t.Fatal(err)
	}
	for _, cfg := range []*tls.Config{srv, cli} {
		if len(cfg.Certificates) != 1 {
			t.Fatalf("%d certificates, want 1", len(cfg.Certificates))
		}
		chain := cfg.Certificates[0].Certificate
		if len(chain) != 2 || string(chain[0]) != string(pair.Cert.Raw) || string(chain[1]) != string(pki.CA.Raw) {
			t.Fatalf("chain of %d certificates is not (leaf, CA)", len(chain))
		}
	}
	if srv.ClientAuth != tls.RequireAndVerifyClientCert {
		t.Fatalf("listener: client auth %v", srv.ClientAuth)
	}
	// The pools verify a certificate the CA issued, and not one it did not.
	other := harness.NewPKI(t).Issue(t, "stranger", false)
	for _, pool := range []*x509.CertPool{srv.ClientCAs, cli.RootCAs} {
		opts := x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}
		if _, err := pair.Cert.Verify(opts); err != nil {
			t.Fatalf("the trust store does not verify the CA's certificate: %v", err)
		}
		if _, err := other.Cert.Verify(opts); err == nil {
			t.Fatal("the trust store verifies a certificate of another CA")
		}
	}
}

// Stores written by Go's libraries, in both formats, and the type read
// from the file's magic or stated.
func TestJavaStoresGo(t *testing.T) {
	pki := harness.NewPKI(t)
	pair := pki.Issue(t, "xdrhook", true)
	pki.GoJKS(t, "key.jks", "xdrhook", pair, "")
	pki.GoTrustJKS(t, "trust.jks")
	pki.GoPKCS12(t, "key.p12", pair)
	pki.GoTrustPKCS12(t, "trust.p12")
	for _, tc := range []struct{ name, key, trust string }{
		{"jks", "key.jks", "trust.jks"},
		{"pkcs12", "key.p12", "trust.p12"},
		{"mixed", "key.p12", "trust.jks"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parseIn(t, pki.Dir, storeConfig(tc.key, tc.trust, ""))
			if err != nil {
				t.Fatal(err)
			}
			checkStores(t, c, pki, pair)
		})
	}

	// A key password that differs from the store's (JKS).
	pki.GoJKS(t, "keypw.jks", "xdrhook", pair, "other-secret")
	os.WriteFile(filepath.Join(pki.Dir, "keypw"), []byte("other-secret\nignored line\n"), 0o600)
	yml := `destinations:
  d:
    urls: [https://127.0.0.1:9443]
    tls:
      key-store: {store-file: keypw.jks, store-password-file: password, key-password-file: keypw, store-type: jks}
routing: {mode: static, destination: d}
`
	c, err := parseIn(t, pki.Dir, yml)
	if err != nil {
		t.Fatal(err)
	}
	cli, err := c.Destinations["d"].TLS.Build()
	if err != nil || len(cli.Certificates) != 1 {
		t.Fatalf("key-password-file: %v", err)
	}
	if c.Destinations["d"].TLS.KeyStore.Type != StoreJKS {
		t.Fatalf("store-type jks resolved to %q", c.Destinations["d"].TLS.KeyStore.Type)
	}
}

// Bad passwords, wrong types, stores without the entries asked for: load
// errors naming the key and saying what is wrong; the password never shows.
func TestJavaStoreErrors(t *testing.T) {
	pki := harness.NewPKI(t)
	pair := pki.Issue(t, "xdrhook", true)
	pki.GoJKS(t, "key.jks", "xdrhook", pair, "")
	pki.GoTrustJKS(t, "trust.jks")
	pki.GoPKCS12(t, "key.p12", pair)
	os.WriteFile(filepath.Join(pki.Dir, "wrong"), []byte("not-it\n"), 0o600)
	os.WriteFile(filepath.Join(pki.Dir, "empty"), []byte("\nchangeit\n"), 0o600)
	os.WriteFile(filepath.Join(pki.Dir, "text.jks"), []byte("hello"), 0o600)
	os.WriteFile(filepath.Join(pki.Dir, "jceks"), []byte{0xCE, 0xCE, 0xCE, 0xCE, 0, 0, 0, 2}, 0o600)
	dest := func(tlsBody string) string {
		return "destinations:\n  d:\n    urls: [https://127.0.0.1:9443]\n    tls:\n" + tlsBody + "routing: {mode: static, destination: d}\n"
	}
	for _, tc := range []struct{ name, yml, want string }{
		{"wrong password JKS", dest("      trust-store: {store-file: trust.jks, store-password-file: wrong}\n"),
			"esp.yml:4: destinations.d.tls: cannot load: " + pki.Dir + "/trust.jks: wrong store password (the store's integrity check failed)"},
		{"wrong password PKCS12", dest("      key-store: {store-file: key.p12, store-password: not-it}\n"),
			"esp.yml:4: destinations.d.tls: cannot load: " + pki.Dir + "/key.p12: wrong store password"},
		{"wrong type", dest("      key-store: {store-file: key.jks, store-password-file: password, store-type: PKCS12}\n"),
			"esp.yml:4: destinations.d.tls: cannot load: store-type is PKCS12 but " + pki.Dir + "/key.jks is a JKS store"},
		{"unknown type", dest("      key-store: {store-file: key.jks, store-password-file: password, store-type: PEM}\n"),
			`destinations.d.tls.key-store.store-type: "PEM" is not one of JKS, PKCS12`},
		{"trust store as key store", dest("      key-store: {store-file: trust.jks, store-password-file: password}\n"),
			`/trust.jks: no private key entry (alias) in it, only trusted certificates ["ca"]: is it a trust store?`},
		{"not a store", dest("      trust-store: {store-file: text.jks, store-password-file: password}\n"),
			"/text.jks is neither a JKS nor a PKCS#12 store"},
		{"JCEKS", dest("      trust-store: {store-file: jceks, store-password-file: password}\n"),
			"/jceks is a JCEKS store, which xdrhook does not read; convert it: keytool -importkeystore"},
		{"no password", dest("      trust-store: {store-file: trust.jks}\n"),
			"esp.yml:5: destinations.d.tls.trust-store: needs store-password-file (or store-password)"},
		{"two passwords", dest("      trust-store: {store-file: trust.jks, store-password: changeit, store-password-file: password}\n"),
			"destinations.d.tls.trust-store.store-password: set store-password-file or store-password, not both"},
		{"empty password file", dest("      trust-store: {store-file: trust.jks, store-password-file: empty}\n"),
			"/empty: the password file is empty (the password is its first line)"},
		{"missing store file", dest("      trust-store: {store-password-file: password}\n"),
			"destinations.d.tls.trust-store.store-file: is needed: the store's file"},
		{"store and PEM", dest("      cert-file: a.pem\n      key-file: a.key\n      key-store: {store-file: key.jks, store-password-file: password}\n"),
			"destinations.d.tls.key-store: replaces cert-file and key-file: set one or the other"},
		{"wrong key password", dest("      key-store: {store-file: key.jks, store-password-file: password, key-password-file: wrong}\n"),
			`/key.jks: alias "xdrhook": cannot decrypt the private key (wrong key password? set key-password-file if it differs from the store password)`},
		{"PKCS12 key password", dest("      key-store: {store-file: key.p12, store-password-file: password, key-password-file: wrong}\n"),
			"/key.p12: a PKCS#12 store has one password; key-password-file differs from the store password"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseIn(t, pki.Dir, tc.yml)
			if err == nil {
				t.Fatal("loaded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error\n%v\nwant it to contain\n%s", err, tc.want)
			}
			if strings.Contains(err.Error(), "not-it") {
				t.Fatalf("the password shows in %v", err)
			}
		})
	}
}

// A store-password written in the file is printed redacted by check.
func TestStorePasswordRedacted(t *testing.T) {
	pki := harness.NewPKI(t)
	pki.GoTrustJKS(t, "trust.jks")
	c, err := parseIn(t, pki.Dir, `destinations:
  d:
    urls: [https://127.0.0.1:9443]
    tls:
      trust-store: {store-file: trust.jks, store-password: changeit}
routing: {mode: static, destination: d}
`)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := c.WriteYAML(&b); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "changeit") || !strings.Contains(b.String(), `store-password: "<redacted: from store-password>"`) {
		t.Fatalf("check output:\n%s", b.String())
	}
}

// Stores made by keytool (JKS and PKCS12) and by openssl pkcs12 load to
// the same certificates (system tier: external programs).
func TestJavaStoresKeytoolOpenssl(t *testing.T) {
	if testing.Short() {
		t.Skip("system tier: run by make test-system")
	}
	pki := harness.NewPKI(t)
	pair := pki.Issue(t, "xdrhook", true)
	pki.OpensslPKCS12(t, "openssl.p12", pair)
	pki.OpensslTrustPKCS12(t, "openssl-trust.p12")
	if _, err := parseIn(t, pki.Dir, storeConfig("openssl.p12", "openssl-trust.p12", "")); err == nil ||
		!strings.Contains(err.Error(), "/openssl-trust.p12: not a PKCS#12 trust store (pkcs12: trust store contains a certificate that is not marked as trusted): its certificates must be marked trusted, as keytool -importcert marks them") {
		t.Fatalf("openssl certificate-only PKCS#12 as a trust store: %v", err)
	}
	pki.KeytoolKeyStore(t, "keytool.jks", "JKS", pair)
	pki.KeytoolKeyStore(t, "keytool.p12", "PKCS12", pair)
	pki.KeytoolTrustStore(t, "keytool-trust.jks", "JKS")
	pki.KeytoolTrustStore(t, "keytool-trust.p12", "PKCS12")
	for _, tc := range []struct{ key, trust string }{
		{"openssl.p12", "openssl.p12"}, // Java trusts a key entry's chain
		{"keytool.jks", "keytool-trust.jks"},
		{"keytool.p12", "keytool-trust.p12"},
	} {
		t.Run(tc.key, func(t *testing.T) {
			c, err := parseIn(t, pki.Dir, storeConfig(tc.key, tc.trust, ""))
			if err != nil {
				t.Fatal(err)
			}
			checkStores(t, c, pki, pair)
		})
	}
}

// tls.protocols and tls.cipher-suites: what Go honours is set, what it
// cannot is a warning saying what it does instead, unknown names are errors.
func TestTLSProtocolsAndSuites(t *testing.T) {
	yml := func(tlsBody string) string {
		return "destinations:\n  d:\n    urls: [https://127.0.0.1:9443]\n    tls:\n" + tlsBody + "routing: {mode: static, destination: d}\n"
	}
	c, err := Parse("esp.yml", []byte(yml(`      protocols: [TLSv1.1, TLSv1.2]
      cipher-suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, SSL_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, TLS_AES_128_GCM_SHA256, TLS_RSA_WITH_RC4_128_SHA]
`)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := c.Destinations["d"].TLS.Build()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MinVersion != tls.VersionTLS12 || cfg.MaxVersion != tls.VersionTLS12 {
		t.Fatalf("versions %x..%x, want TLS 1.2 only", cfg.MinVersion, cfg.MaxVersion)
	}
	want := []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384}
	if fmt.Sprint(cfg.CipherSuites) != fmt.Sprint(want) {
		t.Fatalf("suites %v, want %v", cfg.CipherSuites, want)
	}
	got := fmt.Sprint(c.Warnings)
	for _, w := range []string{
		"esp.yml:5: destinations.d.tls.protocols: TLSv1.1 is not offered: xdrhook speaks TLS 1.2 and 1.3 only (older versions are deprecated, RFC 8996)",
		"esp.yml:6: destinations.d.tls.cipher-suites: TLS_RSA_WITH_RC4_128_SHA is left out: Go rates it insecure and does not offer it here",
		"esp.yml:6: destinations.d.tls.cipher-suites: TLS_AES_128_GCM_SHA256: TLS 1.3 suites cannot be configured in Go; a TLS 1.3 connection offers all three",
	} {
		if !strings.Contains(got, w) {
			t.Errorf("warnings %s\nlack %s", got, w)
		}
	}
	c, err = Parse("esp.yml", []byte(yml("      protocols: [tlsv1.3]\n")), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg, _ = c.Destinations["d"].TLS.Build(); cfg.MinVersion != tls.VersionTLS13 || cfg.MaxVersion != tls.VersionTLS13 || cfg.CipherSuites != nil {
		t.Fatalf("TLSv1.3: versions %x..%x suites %v", cfg.MinVersion, cfg.MaxVersion, cfg.CipherSuites)
	}
	for _, tc := range []struct{ body, want string }{
		{"      protocols: [TLSv1.4]\n", `esp.yml:5: destinations.d.tls.protocols: unknown protocol "TLSv1.4" (want TLSv1.2 or TLSv1.3)`},
		{"      protocols: [TLSv1, SSLv3]\n", `destinations.d.tls.protocols: ["TLSv1" "SSLv3"] leaves no protocol xdrhook speaks: list TLSv1.2 and/or TLSv1.3`},
		{"      cipher-suites: [TLS_FOO]\n", `esp.yml:5: destinations.d.tls.cipher-suites: unknown cipher suite "TLS_FOO" (Go's TLS 1.2 suites: TLS_`},
		{"      cipher-suites: [TLS_RSA_WITH_RC4_128_SHA]\n", `["TLS_RSA_WITH_RC4_128_SHA"] leaves no cipher suite Go offers`},
	} {
		_, err := Parse("esp.yml", []byte(yml(tc.body)), Options{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v\nwant %s", tc.body, err, tc.want)
		}
	}
	// allowed-peer-names without a trust store to verify the certificates.
	_, err = Parse("esp.yml", []byte(`service:
  tls: {cert-file: a.pem, key-file: a.key, allowed-peer-names: [xdr-1]}
destinations: {d: {urls: [http://127.0.0.1:9200]}}
routing: {mode: static, destination: d}
`), Options{SkipFiles: true})
	if err == nil || !strings.Contains(err.Error(), "esp.yml:2: service.tls.allowed-peer-names: checks the names of verified client certificates, so it needs a trust-store (or client-ca-file) to verify them with") {
		t.Fatalf("allowed-peer-names without a trust store: %v", err)
	}
}
