package harness

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/pavlo-v-chernykh/keystore-go/v4"
	"software.sslmate.com/src/go-pkcs12"
)

// PKI is a test certificate authority with a server certificate (for
// 127.0.0.1 and localhost) and client certificates, written as PEM files
// in Dir, and Java stores of them made by Go (keystore-go, go-pkcs12), by
// keytool or by openssl, as the ESP key tests need.
type PKI struct {
	Dir      string
	CA       *x509.Certificate
	caKey    *ecdsa.PrivateKey
	CAFile   string
	Password string // of every store made here
}

// Pair is a certificate and its key, with their PEM files.
type Pair struct {
	Cert              *x509.Certificate
	Key               *ecdsa.PrivateKey
	CertFile, KeyFile string
}

// TLS returns the pair as a tls.Certificate.
func (p *Pair) TLS() tls.Certificate {
	return tls.Certificate{Certificate: [][]byte{p.Cert.Raw}, PrivateKey: p.Key, Leaf: p.Cert}
}

// NewPKI makes a CA in a temporary directory; store password "changeit"
// (keytool's customary one), also written to Dir/password.
func NewPKI(t testing.TB) *PKI {
	t.Helper()
	p := &PKI{Dir: t.TempDir(), Password: "changeit"}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "xdrhook test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	p.CA, _ = x509.ParseCertificate(der)
	p.caKey = key
	p.CAFile = p.writePEM(t, "ca.pem", "CERTIFICATE", der)
	if err := os.WriteFile(filepath.Join(p.Dir, "password"), []byte(p.Password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// Pool is the CA as a pool.
func (p *PKI) Pool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(p.CA)
	return pool
}

// Issue makes a certificate signed by the CA, for server and client use,
// named cn with the given DNS names, plus 127.0.0.1 when server is set.
func (p *PKI) Issue(t testing.TB, cn string, server bool, dns ...string) *Pair {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: cn}, DNSNames: dns,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	if server {
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
		tmpl.DNSNames = append(tmpl.DNSNames, "localhost")
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.CA, &key.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return &Pair{Cert: c, Key: key,
		CertFile: p.writePEM(t, cn+".pem", "CERTIFICATE", der),
		KeyFile:  p.writePEM(t, cn+".key", "PRIVATE KEY", kder)}
}

func (p *PKI) writePEM(t testing.TB, name, typ string, der []byte) string {
	t.Helper()
	f := filepath.Join(p.Dir, name)
	if err := os.WriteFile(f, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

func (p *PKI) write(t testing.TB, name string, b []byte) string {
	t.Helper()
	f := filepath.Join(p.Dir, name)
	if err := os.WriteFile(f, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// GoJKS writes a JKS key store holding pair under alias (chain: pair, CA)
// made with keystore-go; keyPassword "" means the store's password.
func (p *PKI) GoJKS(t testing.TB, name, alias string, pair *Pair, keyPassword string) string {
	t.Helper()
	if keyPassword == "" {
		keyPassword = p.Password
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(pair.Key)
	ks := keystore.New()
	err := ks.SetPrivateKeyEntry(alias, keystore.PrivateKeyEntry{
		CreationTime: time.Now(), PrivateKey: kder,
		CertificateChain: []keystore.Certificate{{Type: "X509", Content: pair.Cert.Raw}, {Type: "X509", Content: p.CA.Raw}},
	}, []byte(keyPassword))
	if err != nil {
		t.Fatal(err)
	}
	return p.storeJKS(t, name, ks)
}

// GoTrustJKS writes a JKS trust store holding the CA.
func (p *PKI) GoTrustJKS(t testing.TB, name string) string {
	t.Helper()
	ks := keystore.New()
	if err := ks.SetTrustedCertificateEntry("ca", keystore.TrustedCertificateEntry{
		CreationTime: time.Now(), Certificate: keystore.Certificate{Type: "X509", Content: p.CA.Raw},
	}); err != nil {
		t.Fatal(err)
	}
	return p.storeJKS(t, name, ks)
}

func (p *PKI) storeJKS(t testing.TB, name string, ks keystore.KeyStore) string {
	t.Helper()
	f, err := os.Create(filepath.Join(p.Dir, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := ks.Store(f, []byte(p.Password)); err != nil {
		t.Fatal(err)
	}
	return f.Name()
}

// GoPKCS12 writes a PKCS#12 key store of pair (chain: pair, CA) made with
// go-pkcs12.
func (p *PKI) GoPKCS12(t testing.TB, name string, pair *Pair) string {
	t.Helper()
	b, err := pkcs12.Modern.Encode(pair.Key, pair.Cert, []*x509.Certificate{p.CA}, p.Password)
	if err != nil {
		t.Fatal(err)
	}
	return p.write(t, name, b)
}

// GoTrustPKCS12 writes a Java-style PKCS#12 trust store of the CA.
func (p *PKI) GoTrustPKCS12(t testing.TB, name string) string {
	t.Helper()
	b, err := pkcs12.Modern.EncodeTrustStore([]*x509.Certificate{p.CA}, p.Password)
	if err != nil {
		t.Fatal(err)
	}
	return p.write(t, name, b)
}

// Tool runs an external program (keytool, openssl) in Dir, skipping the
// test when it is not installed.
func (p *PKI) Tool(t testing.TB, name string, args ...string) {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s is not installed (Debian: openjdk-17-jre-headless for keytool, openssl)", name)
	}
	cmd := exec.Command(path, args...)
	cmd.Dir = p.Dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %q: %v\n%s", name, args, err, out)
	}
}

// OpensslPKCS12 writes a PKCS#12 key store of pair (with the CA) made by
// openssl pkcs12 -export.
func (p *PKI) OpensslPKCS12(t testing.TB, name string, pair *Pair) string {
	t.Helper()
	p.Tool(t, "openssl", "pkcs12", "-export", "-in", pair.CertFile, "-inkey", pair.KeyFile,
		"-certfile", p.CAFile, "-name", "xdrhook", "-passout", "pass:"+p.Password, "-out", name)
	return filepath.Join(p.Dir, name)
}

// OpensslTrustPKCS12 writes a certificate-only PKCS#12 of the CA made by
// openssl (no Java trust attribute on it).
func (p *PKI) OpensslTrustPKCS12(t testing.TB, name string) string {
	t.Helper()
	p.Tool(t, "openssl", "pkcs12", "-export", "-nokeys", "-in", p.CAFile, "-passout", "pass:"+p.Password, "-out", name)
	return filepath.Join(p.Dir, name)
}

// KeytoolKeyStore writes a key store of type storeType (JKS or PKCS12)
// made by keytool from pair (imported from an openssl PKCS#12).
func (p *PKI) KeytoolKeyStore(t testing.TB, name, storeType string, pair *Pair) string {
	t.Helper()
	if _, err := exec.LookPath("keytool"); err != nil {
		t.Skip("keytool is not installed (Debian: openjdk-17-jre-headless)")
	}
	src := p.OpensslPKCS12(t, name+".src.p12", pair)
	p.Tool(t, "keytool", "-importkeystore", "-noprompt",
		"-srckeystore", src, "-srcstoretype", "PKCS12", "-srcstorepass", p.Password,
		"-destkeystore", name, "-deststoretype", storeType, "-deststorepass", p.Password, "-destkeypass", p.Password)
	return filepath.Join(p.Dir, name)
}

// KeytoolTrustStore writes a trust store of type storeType made by keytool
// -importcert of the CA.
func (p *PKI) KeytoolTrustStore(t testing.TB, name, storeType string) string {
	t.Helper()
	p.Tool(t, "keytool", "-importcert", "-noprompt", "-alias", "ca", "-file", p.CAFile,
		"-keystore", name, "-storetype", storeType, "-storepass", p.Password)
	return filepath.Join(p.Dir, name)
}
