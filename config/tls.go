package config

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
)

// Build loads the certificate files (PEM) or the key store into a
// tls.Config for the XDR listener: TLS 1.2 at least (or tls.protocols),
// client certificates required and verified against ClientCAFile or the
// trust store when one is set, and their names checked against
// AllowedPeerNames when that is set.
func (t *ServerTLS) Build() (*tls.Config, error) { return t.build(os.ReadFile) }

func (t *ServerTLS) build(read func(string) ([]byte, error)) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if t.KeyStore != nil {
		certs, err := t.KeyStore.Certificates(read)
		if err != nil {
			return nil, err
		}
		cfg.Certificates = certs
	} else {
		cert, err := loadPair(read, t.CertFile, t.KeyFile)
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	var pool *x509.CertPool
	var err error
	switch {
	case t.TrustStore != nil:
		pool, err = t.TrustStore.Pool(read)
	case t.ClientCAFile != "":
		pool, err = loadPool(read, t.ClientCAFile)
	}
	if err != nil {
		return nil, err
	}
	if pool != nil {
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	if len(t.AllowedPeerNames) > 0 {
		cfg.VerifyConnection = peerNameVerifier(t.AllowedPeerNames)
	}
	if err := applyVersions(cfg, t.Protocols, t.CipherSuites); err != nil {
		return nil, err
	}
	return cfg, nil
}

// Build loads the files into a tls.Config for https URLs: TLS 1.2 at least
// (or tls.protocols, tls.cipher-suites), CAFile or the trust store (else the
// system roots), the client certificate (PEM or key store) if any,
// ServerName, InsecureSkipVerify. The caller sets NextProtos (h2 for
// HTTP_2).
func (t *ClientTLS) Build() (*tls.Config, error) { return t.build(os.ReadFile) }

func (t *ClientTLS) build(read func(string) ([]byte, error)) (*tls.Config, error) {
	cfg := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         t.ServerName,
		InsecureSkipVerify: t.InsecureSkipVerify,
	}
	switch {
	case t.TrustStore != nil:
		pool, err := t.TrustStore.Pool(read)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = pool
	case t.CAFile != "":
		pool, err := loadPool(read, t.CAFile)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = pool
	}
	switch {
	case t.KeyStore != nil:
		certs, err := t.KeyStore.Certificates(read)
		if err != nil {
			return nil, err
		}
		cfg.Certificates = certs
	case t.CertFile != "":
		cert, err := loadPair(read, t.CertFile, t.KeyFile)
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	if err := applyVersions(cfg, t.Protocols, t.CipherSuites); err != nil {
		return nil, err
	}
	return cfg, nil
}

func loadPair(read func(string) ([]byte, error), certFile, keyFile string) (tls.Certificate, error) {
	certPEM, err := read(certFile)
	if err != nil {
		return tls.Certificate{}, err
	}
	keyPEM, err := read(keyFile)
	if err != nil {
		return tls.Certificate{}, err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("%s and %s: %v", certFile, keyFile, err)
	}
	return cert, nil
}

func loadPool(read func(string) ([]byte, error), file string) (*x509.CertPool, error) {
	b, err := read(file)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%s: no PEM certificate in it", file)
	}
	return pool, nil
}
