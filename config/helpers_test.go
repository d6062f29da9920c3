package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io/fs"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"
)

func mapEnv(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	}
}

// files is an in-memory file system for Options.ReadFile.
type files map[string][]byte

func (f files) read(name string) ([]byte, error) {
	if b, ok := f[name]; ok {
		return b, nil
	}
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}

func parse(t *testing.T, yml string, env map[string]string, fsys files) (*Config, error) {
	t.Helper()
	return Parse("config.yml", []byte(yml), Options{LookupEnv: mapEnv(env), ReadFile: fsys.read})
}

func mustParse(t *testing.T, yml string, env map[string]string) *Config {
	t.Helper()
	c, err := parse(t, yml, env, nil)
	if err != nil {
		t.Fatalf("unexpected error:\n%v\nconfig:\n%s", err, yml)
	}
	return c
}

// wantErrs asserts the exact list of problems.
func wantErrs(t *testing.T, yml string, env map[string]string, want ...string) {
	t.Helper()
	_, err := parse(t, yml, env, nil)
	if err == nil {
		t.Fatalf("no error, want:\n%s\nconfig:\n%s", strings.Join(want, "\n"), yml)
	}
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("error %T %v is not Errors", err, err)
	}
	if got := err.Error(); got != strings.Join(want, "\n") {
		t.Errorf("errors:\n got: %s\nwant: %s\nconfig:\n%s", strings.ReplaceAll(got, "\n", "\n      "), strings.Join(want, "\n      "), yml)
	}
}

// wantErrContains asserts that one problem contains sub.
func wantErrContains(t *testing.T, yml string, env map[string]string, sub string) {
	t.Helper()
	_, err := parse(t, yml, env, nil)
	if err == nil {
		t.Fatalf("no error, want one containing %q; config:\n%s", sub, yml)
	}
	if !strings.Contains(err.Error(), sub) {
		t.Errorf("errors:\n%v\nwant one containing %q", err, sub)
	}
}

// minimal is the smallest valid config; tests append sections to it.
const minimal = `
destinations:
  d: {urls: ["http://127.0.0.1:9200/"]}
routing: {mode: static, destination: d}
`

var testPKI = sync.OnceValue(func() (p struct{ cert, key, ca []byte }) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	tpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "xdrhook-test"},
		DNSNames:              []string{"localhost"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		panic(err)
	}
	p.cert = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	p.key = pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
	p.ca = p.cert
	return p
})

// exampleFiles holds the files example.yml names.
func exampleFiles() files {
	pki := testPKI()
	return files{
		"/etc/xdrhook/server.pem": pki.cert,
		"/etc/xdrhook/server.key": pki.key,
		"/etc/xdrhook/xdr-ca.pem": pki.ca,
	}
}
