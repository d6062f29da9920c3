package config

import (
	"net/url"
	"os"
	"strings"
)

// rawAuth is destinations.*.auth.
type rawAuth struct {
	Type            *string    `yaml:"type,omitempty"`
	Service         *string    `yaml:"service,omitempty"`
	Region          *string    `yaml:"region,omitempty"`
	Profile         *string    `yaml:"profile,omitempty"`
	RoleARN         *string    `yaml:"role-arn,omitempty"`
	TokenURL        *string    `yaml:"token-url,omitempty"`
	ClientID        *string    `yaml:"client-id,omitempty"`
	ClientSecret    *string    `yaml:"client-secret,omitempty"`
	Scopes          stringList `yaml:"scopes,omitempty"`
	Audience        *string    `yaml:"audience,omitempty"`
	CredentialsFile *string    `yaml:"credentials-file,omitempty"`
	File            *string    `yaml:"file,omitempty"`
}

// Auth is a destination's authentication (destinations.*.auth): package
// auth does the work, the connector maps this onto auth.Spec.
type Auth struct {
	Type AuthType

	// aws-sigv4
	Service string
	Region  string // "": the AWS config chain's
	Profile string
	RoleARN string

	// oauth2-client-credentials
	TokenURL     string
	ClientID     string
	ClientSecret string // a secret: never printed
	Scopes       []string

	// google-id-token
	Audience        string
	CredentialsFile string // "": Application Default Credentials

	// bearer-file
	File string
}

// AuthType is destinations.*.auth.type.
type AuthType string

// The auth types.
const (
	AuthAWSSigV4   AuthType = "aws-sigv4"
	AuthOAuth2     AuthType = "oauth2-client-credentials"
	AuthGoogleID   AuthType = "google-id-token"
	AuthBearerFile AuthType = "bearer-file"
)

// authKeys are the keys each type takes besides type.
var authKeys = map[AuthType][]string{
	AuthAWSSigV4:   {"service", "region", "profile", "role-arn"},
	AuthOAuth2:     {"token-url", "client-id", "client-secret", "scopes"},
	AuthGoogleID:   {"audience", "credentials-file"},
	AuthBearerFile: {"file"},
}

// authHeaders are the request headers an auth type sets itself.
var authHeaders = map[AuthType][]string{
	AuthAWSSigV4:   {"authorization", "x-amz-date", "x-amz-content-sha256", "x-amz-security-token"},
	AuthOAuth2:     {"authorization"},
	AuthGoogleID:   {"authorization"},
	AuthBearerFile: {"authorization"},
}

// resolveAuth checks destinations.*.auth (p) of d; nil when absent.
// plainRemote: some URL is plain http to a host that is not loopback.
func (l *loader) resolveAuth(r *rawAuth, p string, d *Destination, plainRemote, allowInsecure bool) *Auth {
	if r == nil {
		return nil
	}
	if r.Type == nil || *r.Type == "" {
		l.errorf(p, "auth needs a type: %s, %s, %s or %s", AuthAWSSigV4, AuthOAuth2, AuthGoogleID, AuthBearerFile)
		return nil
	}
	a := &Auth{Type: AuthType(l.enum(&r.Type, p+".type", "", string(AuthAWSSigV4), string(AuthOAuth2), string(AuthGoogleID), string(AuthBearerFile)))}
	if a.Type == "" {
		return nil
	}
	// Keys of another type are mistakes, not options.
	set := map[string]bool{
		"service": r.Service != nil, "region": r.Region != nil, "profile": r.Profile != nil, "role-arn": r.RoleARN != nil,
		"token-url": r.TokenURL != nil, "client-id": r.ClientID != nil, "client-secret": r.ClientSecret != nil, "scopes": r.Scopes.set,
		"audience": r.Audience != nil, "credentials-file": r.CredentialsFile != nil, "file": r.File != nil,
	}
	own := map[string]bool{}
	for _, k := range authKeys[a.Type] {
		own[k] = true
	}
	for t, keys := range authKeys {
		for _, k := range keys {
			if set[k] && !own[k] {
				l.errorf(p+"."+k, "is a key of auth type %s, not %s", t, a.Type)
			}
		}
	}
	switch a.Type {
	case AuthAWSSigV4:
		a.Service = l.str(&r.Service, "")
		a.Region = l.str(&r.Region, "")
		a.Profile = l.str(&r.Profile, "")
		a.RoleARN = l.str(&r.RoleARN, "")
		switch {
		case a.Service == "":
			l.errorf(p, "aws-sigv4 needs service: lambda (function URLs), execute-api (API Gateway), es (OpenSearch Service), aoss (OpenSearch Serverless), s3, ...")
		case strings.ToLower(a.Service) != a.Service || strings.ContainsAny(a.Service, " /"):
			l.errorf(p+".service", "%q: an AWS signing name is lower case without spaces or slashes (lambda, execute-api, es, ...)", a.Service)
		}
		if a.Region != "" && !isAWSRegion(a.Region) {
			l.errorf(p+".region", "%q is not an AWS region such as eu-west-1", a.Region)
		}
		if a.RoleARN != "" && !strings.HasPrefix(a.RoleARN, "arn:") {
			l.errorf(p+".role-arn", "%q is not an ARN such as arn:aws:iam::123456789012:role/xdrhook", a.RoleARN)
		}
	case AuthOAuth2:
		a.TokenURL = l.str(&r.TokenURL, "")
		a.ClientID = l.str(&r.ClientID, "")
		a.ClientSecret = l.str(&r.ClientSecret, "")
		a.Scopes = r.Scopes.items
		if a.ClientSecret != "" {
			if _, fromEnv := l.secretPaths[p+".client-secret"]; !fromEnv {
				l.secretPaths[p+".client-secret"] = "the file: write it as ${VAR}"
				l.warnf(p+".client-secret", "the client secret is written in the config file; prefer ${VAR} from the environment")
			}
		}
		switch u, err := url.Parse(a.TokenURL); {
		case a.TokenURL == "":
			l.errorf(p, "oauth2-client-credentials needs token-url")
		case err != nil || u.Host == "" || u.Scheme != "https" && u.Scheme != "http":
			l.errorf(p+".token-url", "%q is not an http(s) URL", a.TokenURL)
		case u.Scheme == "http" && !isLoopback(u.Hostname()) && !allowInsecure:
			l.errorf(p+".token-url", "the client secret would go over plain http to a host that is not loopback; use https, or set %s.allow-insecure: true to accept that", strings.TrimSuffix(p, ".auth"))
		}
		if a.ClientID == "" {
			l.errorf(p, "oauth2-client-credentials needs client-id")
		}
	case AuthGoogleID:
		a.Audience = l.str(&r.Audience, "")
		a.CredentialsFile = l.fileName(&r.CredentialsFile)
		if a.Audience == "" {
			l.errorf(p, "google-id-token needs audience: the URL of the Cloud Function or Cloud Run service")
		}
		l.checkReadable(p+".credentials-file", a.CredentialsFile)
	case AuthBearerFile:
		a.File = l.fileName(&r.File)
		if a.File == "" {
			l.errorf(p, "bearer-file needs file: the token file (e.g. a projected service-account token)")
		}
		l.checkReadable(p+".file", a.File)
	}
	if a.Type != AuthAWSSigV4 && plainRemote && !allowInsecure {
		l.errorf(p, "a bearer token would go over plain http to a host that is not loopback; use https, or set %s.allow-insecure: true to accept that", strings.TrimSuffix(p, ".auth"))
	}
	for _, h := range d.Headers {
		for _, n := range authHeaders[a.Type] {
			if strings.EqualFold(h.Name, n) {
				l.errorf(strings.TrimSuffix(p, ".auth")+".headers."+h.Name, "%s is set by auth (%s)", h.Name, a.Type)
			}
		}
	}
	return a
}

// checkReadable reports a file that cannot be read (not with
// check --skip-files).
func (l *loader) checkReadable(path, name string) {
	if name == "" || l.opt.SkipFiles {
		return
	}
	read := l.opt.ReadFile
	if read == nil {
		read = os.ReadFile
	}
	if _, err := read(name); err != nil {
		l.errorf(path, "cannot read: %v", err)
	}
}

// isAWSRegion accepts region names such as eu-west-1, us-gov-west-1,
// cn-north-1: lower-case words and a number, dash-separated.
func isAWSRegion(s string) bool {
	parts := strings.Split(s, "-")
	if len(parts) < 3 {
		return false
	}
	for _, p := range parts {
		if p == "" {
			return false
		}
		for i := 0; i < len(p); i++ {
			if c := p[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
				return false
			}
		}
	}
	return true
}
