package config

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"strings"
)

// ESP's TLS options (tls.protocols, tls.cipher-suites, service.tls.
// allowed-peer-names) in Go's terms. Java names are those of JSSE
// (TLSv1.2, TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, SSL_RSA_WITH_...).

// tlsVersions maps JSSE protocol names to Go versions; 0 means a name Java
// knows and Go does not offer (said in a warning).
var tlsVersions = map[string]uint16{
	"TLSv1.3":    tls.VersionTLS13,
	"TLSv1.2":    tls.VersionTLS12,
	"TLSv1.1":    0,
	"TLSv1":      0,
	"SSLv3":      0,
	"SSLv2Hello": 0,
}

// tlsProtocols turns tls.protocols into MinVersion and MaxVersion. Names Go
// does not offer here (TLS 1.1 and older: xdrhook's floor is TLS 1.2, RFC
// 8996) are dropped with a warning; nothing left, or an unknown name, is an
// error. Both 0 means the list was empty (Go's defaults: 1.2 to 1.3).
func tlsProtocols(names []string) (min, max uint16, warns []string, err error) {
	for _, n := range names {
		v, ok := lookupFold(tlsVersions, n)
		switch {
		case !ok:
			return 0, 0, nil, fmt.Errorf("unknown protocol %q (want TLSv1.2 or TLSv1.3)", n)
		case v == 0:
			warns = append(warns, fmt.Sprintf("%s is not offered: xdrhook speaks TLS 1.2 and 1.3 only (older versions are deprecated, RFC 8996)", n))
			continue
		}
		if min == 0 || v < min {
			min = v
		}
		if v > max {
			max = v
		}
	}
	if len(names) > 0 && min == 0 {
		return 0, 0, nil, fmt.Errorf("%q leaves no protocol xdrhook speaks: list TLSv1.2 and/or TLSv1.3", names)
	}
	return min, max, warns, nil
}

// tls13Suites cannot be chosen in Go: a TLS 1.3 connection offers all of
// them (AES-GCM first when the CPU has AES instructions).
var tls13Suites = map[string]bool{
	"TLS_AES_128_GCM_SHA256":       true,
	"TLS_AES_256_GCM_SHA384":       true,
	"TLS_CHACHA20_POLY1305_SHA256": true,
}

// tlsCipherSuites turns tls.cipher-suites into Go's TLS 1.2 suite IDs.
// JSSE's SSL_ prefix reads as TLS_; TLS 1.3 suites and suites Go rates
// insecure are accepted with a warning saying what Go does instead; an
// unknown name is an error. A nil result leaves Go's defaults.
func tlsCipherSuites(names []string) (ids []uint16, warns []string, err error) {
	secure := map[string]uint16{}
	for _, s := range tls.CipherSuites() {
		secure[s.Name] = s.ID
	}
	insecure := map[string]bool{}
	for _, s := range tls.InsecureCipherSuites() {
		insecure[s.Name] = true
	}
	var tls13 []string
	for _, n := range names {
		name := strings.ToUpper(n)
		if strings.HasPrefix(name, "SSL_") {
			name = "TLS_" + name[4:]
		}
		switch {
		case tls13Suites[name]:
			tls13 = append(tls13, n)
		case secure[name] != 0:
			ids = append(ids, secure[name])
		case insecure[name]:
			warns = append(warns, fmt.Sprintf("%s is left out: Go rates it insecure and does not offer it here", n))
		default:
			return nil, nil, fmt.Errorf("unknown cipher suite %q (Go's TLS 1.2 suites: %s)", n, strings.Join(suiteNames(), ", "))
		}
	}
	if len(tls13) > 0 {
		warns = append(warns, fmt.Sprintf("%s: TLS 1.3 suites cannot be configured in Go; a TLS 1.3 connection offers all three (AES-GCM first where the CPU has AES instructions, else ChaCha20-Poly1305)", strings.Join(tls13, ", ")))
	}
	if len(ids) == 0 && len(names) > 0 && len(tls13) == 0 {
		return nil, nil, fmt.Errorf("%q leaves no cipher suite Go offers", names)
	}
	return ids, warns, nil
}

func suiteNames() []string {
	var out []string
	for _, s := range tls.CipherSuites() {
		if !tls13Suites[s.Name] {
			out = append(out, s.Name)
		}
	}
	return out
}

func lookupFold[V any](m map[string]V, k string) (V, bool) {
	for name, v := range m {
		if strings.EqualFold(name, k) {
			return v, true
		}
	}
	var zero V
	return zero, false
}

// applyVersions sets the protocol range and the suites (errors were
// reported at load; here they cannot happen).
func applyVersions(cfg *tls.Config, protocols, suites []string) error {
	min, max, _, err := tlsProtocols(protocols)
	if err != nil {
		return err
	}
	if min != 0 {
		cfg.MinVersion, cfg.MaxVersion = min, max
	}
	ids, _, err := tlsCipherSuites(suites)
	if err != nil {
		return err
	}
	cfg.CipherSuites = ids
	return nil
}

// peerNameVerifier returns a VerifyConnection that accepts a client whose
// verified certificate names one of names: its subject common name, a DNS
// name or an IP address of its SANs (case-insensitive), as ESP's
// allowed-peer-names. It runs after chain verification.
func peerNameVerifier(names []string) func(tls.ConnectionState) error {
	allowed := map[string]bool{}
	for _, n := range names {
		allowed[strings.ToLower(n)] = true
	}
	return func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return fmt.Errorf("no client certificate, and allowed-peer-names needs one")
		}
		for _, n := range certNames(cs.PeerCertificates[0]) {
			if allowed[strings.ToLower(n)] {
				return nil
			}
		}
		return fmt.Errorf("client certificate names %q, none of them in allowed-peer-names", certNames(cs.PeerCertificates[0]))
	}
}

func certNames(c *x509.Certificate) []string {
	var out []string
	if c.Subject.CommonName != "" {
		out = append(out, c.Subject.CommonName)
	}
	out = append(out, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		out = append(out, ip.String())
	}
	return out
}

// validPeerName reports whether n can match a certificate name.
func validPeerName(n string) bool {
	return n != "" && !strings.ContainsAny(n, " \t\r\n")
}
