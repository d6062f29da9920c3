package config

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
)

// Build loads the certificate files into a tls.Config for the XDR
// listener: TLS 1.2 at least, and client certificates required and verified
// against ClientCAFile when it is set.
func (t *ServerTLS) Build() (*tls.Config, error) { return t.build(os.ReadFile) }

func (t *ServerTLS) build(read func(string) ([]byte, error)) (*tls.Config, error) {
	cert, err := loadPair(read, t.CertFile, t.KeyFile)
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if t.ClientCAFile != "" {
		pool, err := loadPool(read, t.ClientCAFile)
		if err != nil {
			return nil, err
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// Build loads the files into a tls.Config for https URLs: TLS 1.2 at least,
// CAFile (else the system roots), the client certificate if any,
// ServerName, InsecureSkipVerify. The caller sets NextProtos (h2 for
// HTTP_2).
func (t *ClientTLS) Build() (*tls.Config, error) { return t.build(os.ReadFile) }

func (t *ClientTLS) build(read func(string) ([]byte, error)) (*tls.Config, error) {
	cfg := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         t.ServerName,
		InsecureSkipVerify: t.InsecureSkipVerify,
	}
	if t.CAFile != "" {
		pool, err := loadPool(read, t.CAFile)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = pool
	}
	if t.CertFile != "" {
		cert, err := loadPair(read, t.CertFile, t.KeyFile)
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{cert}
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
