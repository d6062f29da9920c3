package config

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/pavlo-v-chernykh/keystore-go/v4"
	"software.sslmate.com/src/go-pkcs12"
)

// KeyStore is an ESP tls.key-store or tls.trust-store: a Java key store
// file (JKS or PKCS#12), converted to Go's tls types at load.
type KeyStore struct {
	// File is store-file, resolved against the config file's directory.
	File string
	// Type is JKS or PKCS12; "" detects it from the file's first bytes
	// (JKS starts with FEEDFEED, PKCS#12 is a DER sequence).
	Type string
	// PasswordFile holds the store password on its first line (the rest is
	// ignored, trailing spaces are not, as in ESP); Password is the password
	// written in the config (never printed). One of them is needed.
	PasswordFile, Password string
	// KeyPasswordFile holds the private keys' password when it differs from
	// the store's (JKS only: PKCS#12 has one password).
	KeyPasswordFile string
}

// Store types.
const (
	StoreJKS    = "JKS"
	StorePKCS12 = "PKCS12"
)

// jksMagic opens every JKS file; JCEKS (Sun's extension) opens with CECECECE.
const (
	jksMagic   = 0xFEEDFEED
	jceksMagic = 0xCECECECE
)

// storeType returns the type of the store's bytes, checked against the
// declared one when there is one.
func (s *KeyStore) storeType(data []byte) (string, error) {
	found := ""
	switch {
	case len(data) >= 4 && binary.BigEndian.Uint32(data) == jksMagic:
		found = StoreJKS
	case len(data) >= 4 && binary.BigEndian.Uint32(data) == jceksMagic:
		return "", fmt.Errorf("%s is a JCEKS store, which xdrhook does not read; convert it: keytool -importkeystore -srckeystore %s -srcstoretype JCEKS -destkeystore store.p12 -deststoretype PKCS12", s.File, s.File)
	case len(data) >= 2 && data[0] == 0x30:
		found = StorePKCS12
	default:
		return "", fmt.Errorf("%s is neither a JKS nor a PKCS#12 store", s.File)
	}
	if s.Type != "" && s.Type != found {
		return "", fmt.Errorf("store-type is %s but %s is a %s store", s.Type, s.File, found)
	}
	return found, nil
}

// passwords returns the store password and the key password (the store's
// unless key-password-file is set).
func (s *KeyStore) passwords(read func(string) ([]byte, error)) (store, key string, err error) {
	switch {
	case s.Password != "":
		store = s.Password
	case s.PasswordFile != "":
		if store, err = readPasswordFile(read, s.PasswordFile); err != nil {
			return "", "", err
		}
	default:
		return "", "", fmt.Errorf("%s: store-password-file (or store-password) is needed to open it", s.File)
	}
	key = store
	if s.KeyPasswordFile != "" {
		if key, err = readPasswordFile(read, s.KeyPasswordFile); err != nil {
			return "", "", err
		}
	}
	return store, key, nil
}

// readPasswordFile returns the first line of the file, as ESP reads its
// password files (a CR before the newline is dropped too).
func readPasswordFile(read func(string) ([]byte, error), name string) (string, error) {
	b, err := read(name)
	if err != nil {
		return "", err
	}
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i]
	}
	b = bytes.TrimSuffix(b, []byte{'\r'})
	if len(b) == 0 {
		return "", fmt.Errorf("%s: the password file is empty (the password is its first line)", name)
	}
	return string(b), nil
}

// Certificates returns every private key entry of a key store as a
// certificate with its chain: a server picks among them by SNI, a client
// by the server's CertificateRequest.
func (s *KeyStore) Certificates(read func(string) ([]byte, error)) ([]tls.Certificate, error) {
	data, err := read(s.File)
	if err != nil {
		return nil, err
	}
	typ, err := s.storeType(data)
	if err != nil {
		return nil, err
	}
	storePW, keyPW, err := s.passwords(read)
	if err != nil {
		return nil, err
	}
	if typ == StorePKCS12 {
		if keyPW != storePW {
			return nil, fmt.Errorf("%s: a PKCS#12 store has one password; key-password-file differs from the store password", s.File)
		}
		key, cert, cas, err := pkcs12.DecodeChain(data, storePW)
		if err != nil {
			return nil, s.pkcs12Error(err)
		}
		c := tls.Certificate{PrivateKey: key, Leaf: cert, Certificate: [][]byte{cert.Raw}}
		for _, ca := range cas {
			c.Certificate = append(c.Certificate, ca.Raw)
		}
		return []tls.Certificate{c}, nil
	}
	ks, err := s.loadJKS(data, storePW)
	if err != nil {
		return nil, err
	}
	var out []tls.Certificate
	var trusted []string
	for _, alias := range ks.Aliases() {
		if !ks.IsPrivateKeyEntry(alias) {
			trusted = append(trusted, alias)
			continue
		}
		e, err := ks.GetPrivateKeyEntry(alias, []byte(keyPW))
		if err != nil {
			return nil, fmt.Errorf("%s: alias %q: cannot decrypt the private key (wrong key password? set key-password-file if it differs from the store password): %v", s.File, alias, err)
		}
		key, err := x509.ParsePKCS8PrivateKey(e.PrivateKey)
		if err != nil {
			return nil, fmt.Errorf("%s: alias %q: private key: %v", s.File, alias, err)
		}
		c := tls.Certificate{PrivateKey: key}
		for _, cc := range e.CertificateChain {
			c.Certificate = append(c.Certificate, cc.Content)
		}
		if len(c.Certificate) == 0 {
			return nil, fmt.Errorf("%s: alias %q: a private key without a certificate", s.File, alias)
		}
		if c.Leaf, err = x509.ParseCertificate(c.Certificate[0]); err != nil {
			return nil, fmt.Errorf("%s: alias %q: certificate: %v", s.File, alias, err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no private key entry (alias) in it, only trusted certificates %q: is it a trust store?", s.File, trusted)
	}
	return out, nil
}

// Pool returns the certificates of a trust store: its trusted certificate
// entries, and the certificates of its private key entries, as Java's
// trust managers take them.
func (s *KeyStore) Pool(read func(string) ([]byte, error)) (*x509.CertPool, error) {
	data, err := read(s.File)
	if err != nil {
		return nil, err
	}
	typ, err := s.storeType(data)
	if err != nil {
		return nil, err
	}
	storePW, _, err := s.passwords(read)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	n := 0
	if typ == StorePKCS12 {
		certs, err := pkcs12.DecodeTrustStore(data, storePW)
		if err != nil {
			// A key store used as a trust store (Java trusts the
			// certificates of its key entries): the chain of its key.
			_, cert, cas, err2 := pkcs12.DecodeChain(data, storePW)
			switch {
			case errors.Is(err, pkcs12.ErrIncorrectPassword) || errors.Is(err2, pkcs12.ErrIncorrectPassword):
				return nil, s.pkcs12Error(pkcs12.ErrIncorrectPassword)
			case err2 != nil:
				return nil, fmt.Errorf("%s: not a PKCS#12 trust store (%v): its certificates must be marked trusted, as keytool -importcert marks them (openssl pkcs12 -export -nokeys does not)", s.File, err)
			}
			certs = append([]*x509.Certificate{cert}, cas...)
		}
		for _, c := range certs {
			pool.AddCert(c)
			n++
		}
	} else {
		ks, err := s.loadJKS(data, storePW)
		if err != nil {
			return nil, err
		}
		for _, alias := range ks.Aliases() {
			var raw []byte
			if ks.IsTrustedCertificateEntry(alias) {
				e, err := ks.GetTrustedCertificateEntry(alias)
				if err != nil {
					return nil, fmt.Errorf("%s: alias %q: %v", s.File, alias, err)
				}
				raw = e.Certificate.Content
			} else if chain, err := ks.GetPrivateKeyEntryCertificateChain(alias); err == nil && len(chain) > 0 {
				raw = chain[0].Content
			}
			if raw == nil {
				continue
			}
			c, err := x509.ParseCertificate(raw)
			if err != nil {
				return nil, fmt.Errorf("%s: alias %q: %v", s.File, alias, err)
			}
			pool.AddCert(c)
			n++
		}
	}
	if n == 0 {
		return nil, fmt.Errorf("%s: no certificate in the trust store", s.File)
	}
	return pool, nil
}

func (s *KeyStore) loadJKS(data []byte, password string) (keystore.KeyStore, error) {
	ks := keystore.New(keystore.WithOrderedAliases())
	if err := ks.Load(bytes.NewReader(data), []byte(password)); err != nil {
		if strings.Contains(err.Error(), "invalid digest") {
			return ks, fmt.Errorf("%s: wrong store password (the store's integrity check failed)", s.File)
		}
		return ks, fmt.Errorf("%s: not a readable JKS store: %v", s.File, err)
	}
	return ks, nil
}

func (s *KeyStore) pkcs12Error(err error) error {
	if errors.Is(err, pkcs12.ErrIncorrectPassword) {
		return fmt.Errorf("%s: wrong store password", s.File)
	}
	return fmt.Errorf("%s: not a readable PKCS#12 key store: %v", s.File, err)
}
