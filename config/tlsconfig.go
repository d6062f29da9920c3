package config

// Resolving service.tls and destinations.*.tls: PEM files (cert-file,
// key-file, ca-file) or ESP's Java stores (key-store, trust-store), plus
// ESP's protocols, cipher-suites and allowed-peer-names.

func (l *loader) resolveServerTLS(r *rawServerTLS, tp string) *ServerTLS {
	before := len(l.errs)
	t := &ServerTLS{
		CertFile:         l.fileName(&r.CertFile),
		KeyFile:          l.fileName(&r.KeyFile),
		ClientCAFile:     l.fileName(&r.ClientCAFile),
		KeyStore:         l.resolveStore(r.KeyStore, tp+".key-store"),
		TrustStore:       l.resolveStore(r.TrustStore, tp+".trust-store"),
		AllowedPeerNames: r.AllowedPeerNames.items,
		Protocols:        r.Protocols.items,
		CipherSuites:     r.CipherSuites.items,
	}
	switch {
	case t.KeyStore != nil && (t.CertFile != "" || t.KeyFile != ""):
		l.errorf(tp+".key-store", "replaces cert-file and key-file: set one or the other")
	case t.KeyStore == nil && (t.CertFile == "" || t.KeyFile == ""):
		l.errorf(tp, "the XDR listener needs both cert-file and key-file (PEM), or a key-store")
	}
	if t.TrustStore != nil && t.ClientCAFile != "" {
		l.errorf(tp+".trust-store", "replaces client-ca-file: set one or the other")
	}
	if len(t.AllowedPeerNames) > 0 && t.TrustStore == nil && t.ClientCAFile == "" {
		l.errorf(tp+".allowed-peer-names", "checks the names of verified client certificates, so it needs a trust-store (or client-ca-file) to verify them with")
	}
	for i, n := range t.AllowedPeerNames {
		if !validPeerName(n) {
			l.errorf(index(tp+".allowed-peer-names", i), "%q cannot be a certificate name", n)
		}
	}
	l.tlsVersions(tp, t.Protocols, t.CipherSuites)
	if len(l.errs) == before && !l.opt.SkipFiles {
		if _, err := t.build(l.opt.ReadFile); err != nil {
			l.errorf(tp, "cannot load the certificate: %v", err)
		}
	}
	return t
}

// resolveClientTLS fills d.TLS from destinations.*.tls.
func (l *loader) resolveClientTLS(r *rawClientTLS, d *Destination, p string, hasHTTPS bool) {
	tp := p + ".tls"
	before := len(l.errs)
	d.TLS = ClientTLS{
		CAFile:             l.fileName(&r.CAFile),
		CertFile:           l.fileName(&r.CertFile),
		KeyFile:            l.fileName(&r.KeyFile),
		ServerName:         l.str(&r.ServerName, ""),
		InsecureSkipVerify: l.boolean(&r.InsecureSkipVerify, false),
		KeyStore:           l.resolveStore(r.KeyStore, tp+".key-store"),
		TrustStore:         l.resolveStore(r.TrustStore, tp+".trust-store"),
		Protocols:          r.Protocols.items,
		CipherSuites:       r.CipherSuites.items,
	}
	t := d.TLS
	switch {
	case t.KeyStore != nil && (t.CertFile != "" || t.KeyFile != ""):
		l.errorf(tp+".key-store", "replaces cert-file and key-file: set one or the other")
	case (t.CertFile == "") != (t.KeyFile == ""):
		l.errorf(tp, "a client certificate needs both cert-file and key-file")
	}
	if t.TrustStore != nil && t.CAFile != "" {
		l.errorf(tp+".trust-store", "replaces ca-file: set one or the other")
	}
	l.tlsVersions(tp, t.Protocols, t.CipherSuites)
	switch {
	case len(l.errs) > before:
	case !t.IsZero() && !hasHTTPS && len(d.URLs) > 0:
		l.errorf(tp, "is set but no URL is https")
	case !l.opt.SkipFiles && !t.IsZero():
		if _, err := t.build(l.opt.ReadFile); err != nil {
			l.errorf(tp, "cannot load: %v", err)
		}
	}
	switch {
	case t.InsecureSkipVerify && !d.AllowInsecure:
		l.errorf(tp+".insecure-skip-verify", "true turns off certificate checks (anyone on the path can read and change the records); set %s.allow-insecure: true to accept that", p)
	case t.InsecureSkipVerify:
		l.warnf(tp+".insecure-skip-verify", "certificate checks are off (allow-insecure: true)")
	}
}

// resolveStore reads a key-store or trust-store section. The files are
// opened when the TLS config is built.
func (l *loader) resolveStore(r *rawStore, p string) *KeyStore {
	if r == nil {
		return nil
	}
	s := &KeyStore{File: l.fileName(&r.StoreFile)}
	if r.StorePasswordFile != nil {
		s.PasswordFile = l.fileName(&r.StorePasswordFile)
	}
	if r.KeyPasswordFile != nil {
		s.KeyPasswordFile = l.fileName(&r.KeyPasswordFile)
	}
	if r.StorePassword != nil {
		s.Password = *r.StorePassword
		// A password written in the file is a secret like one from the
		// environment: check prints it redacted, messages never show it.
		if _, fromEnv := l.secretPaths[p+".store-password"]; !fromEnv {
			l.secretPaths[p+".store-password"] = "store-password"
		}
		if s.Password != "" {
			l.secretVals[s.Password] = l.secretPaths[p+".store-password"]
		}
	}
	if r.StoreType != nil {
		s.Type = l.enum(&r.StoreType, p+".store-type", "", StoreJKS, StorePKCS12)
	}
	switch {
	case s.File == "":
		l.errorf(p+".store-file", "is needed: the store's file")
	case s.Password == "" && s.PasswordFile == "":
		l.errorf(p, "needs store-password-file (or store-password): a Java store is opened with its password")
	case s.Password != "" && s.PasswordFile != "":
		l.errorf(p+".store-password", "set store-password-file or store-password, not both")
	}
	return s
}

// tlsVersions checks protocols and cipher-suites, warning where Go does
// something else than asked.
func (l *loader) tlsVersions(tp string, protocols, suites []string) {
	if _, _, warns, err := tlsProtocols(protocols); err != nil {
		l.errorf(tp+".protocols", "%v", err)
	} else {
		for _, w := range warns {
			l.warnf(tp+".protocols", "%s", w)
		}
	}
	if _, warns, err := tlsCipherSuites(suites); err != nil {
		l.errorf(tp+".cipher-suites", "%v", err)
	} else {
		for _, w := range warns {
			l.warnf(tp+".cipher-suites", "%s", w)
		}
	}
}

// mapTLSPort maps ESP's service.tls.port (the port of ESP's TLS listener)
// onto service.port: xdrhook's listeners all speak TLS when service.tls is
// set, so a config with both ports would ask for a plain and a TLS
// listener at once, which xdrhook does not serve.
func (l *loader) mapTLSPort(r *rawService) {
	if r.TLS == nil || r.TLS.Port == nil {
		return
	}
	if r.Port.set {
		l.errorf("service.tls.port", "xdrhook's listeners on service.port all speak TLS when service.tls is set; a separate plain-text port is not served: remove service.port or service.tls.port")
		return
	}
	r.Port = portList{ports: []int{*r.TLS.Port}, set: true}
	r.TLS.Port = nil
}
