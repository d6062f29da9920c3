// Package auth adds per-request authentication to destination requests:
// AWS Signature V4 (aws-sigv4), OAuth2 client-credentials tokens
// (oauth2-client-credentials), Google ID tokens (google-id-token) and a
// bearer token read from a file that rotates on disk (bearer-file).
//
// The dataplane calls Authorizer.Apply once per attempt, on the hot path,
// with the final request bytes (after compression). Apply only reads
// credentials that a background goroutine fetched and refreshes before
// they expire (see refresher): one atomic pointer load, no I/O, no lock.
// When the refresh keeps failing, the last good credentials are used until
// they expire; after that Apply returns an error that the dataplane treats
// like a transport error (the records are retried, then answered 11).
//
// Secrets (keys, client secrets, tokens) never appear in an error, a log
// line or a metric from this package.
package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
	"unsafe"
)

// Authorizer authenticates the requests of one destination. It is safe for
// concurrent use.
type Authorizer interface {
	// Apply sets the authentication headers of one request attempt. An
	// error means there are no valid credentials now: the attempt is not
	// sent and counts as failed (retryable).
	Apply(r *Request, h HeaderSetter) error
	// Wait blocks until the first credentials were fetched (nil) or the
	// first fetch failed (its error, with no secret in it) or ctx ended.
	Wait(ctx context.Context) error
	// Close stops the background refresh.
	Close()
}

// Request is what an Authorizer sees of one request attempt.
type Request struct {
	Method string
	// URL is the full target as sent: scheme://host[:port]/path[?query],
	// the path and query already escaped. The host part must be what the
	// sender sends as Host (HTTP/1.1) or :authority (HTTP/2).
	URL string
	// Body is the final body as sent (after compression), nil if none.
	Body []byte
}

// HeaderSetter receives the headers Apply adds. value is only valid during
// the call: SetHeader copies it.
type HeaderSetter interface {
	SetHeader(name string, value []byte)
}

// Spec is an auth block of a destination, resolved (config
// destinations.*.auth).
type Spec struct {
	Type string // TypeAWSSigV4, TypeOAuth2, TypeGoogleID, TypeBearerFile

	// aws-sigv4
	Service string // lambda, execute-api, es, aoss, s3, ...
	Region  string // "": from the AWS config chain
	Profile string // shared config profile; "": the default chain's
	RoleARN string // assume this role with STS; "": use the chain's credentials
	// SignedHeaders are static request headers (name, value) that are
	// part of the signature, e.g. x-amz-* headers that S3 requires signed.
	SignedHeaders [][2]string

	// oauth2-client-credentials
	TokenURL     string
	ClientID     string
	ClientSecret string
	Scopes       []string

	// google-id-token
	Audience        string
	CredentialsFile string // "": Application Default Credentials

	// bearer-file
	File string
}

// The auth types.
const (
	TypeAWSSigV4   = "aws-sigv4"
	TypeOAuth2     = "oauth2-client-credentials"
	TypeGoogleID   = "google-id-token"
	TypeBearerFile = "bearer-file"
)

// Types lists the auth types in the order the docs give them.
var Types = []string{TypeAWSSigV4, TypeOAuth2, TypeGoogleID, TypeBearerFile}

// Options are what the process gives every Authorizer.
type Options struct {
	// Destination names the destination in log lines.
	Destination string
	// Log receives refresh failures, at most one line per LogEvery.
	Log *slog.Logger
	// RefreshError is called once per failed fetch or refresh (the
	// xdrhook_auth_refresh_errors_total counter).
	RefreshError func()
	// HTTPClient fetches tokens (nil: a client with a 30 s timeout).
	HTTPClient *http.Client
	// BearerPoll is how often bearer-file re-reads the file (0: 250 ms).
	BearerPoll time.Duration
}

// filled sets the defaults of the zero fields.
func (o Options) filled() Options {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.RefreshError == nil {
		o.RefreshError = func() {}
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: fetchTimeout}
	}
	return o
}

// unsafeBytes views s as bytes, for HeaderSetter (which copies).
func unsafeBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// LogEvery bounds refresh failure log lines per destination.
const LogEvery = 5 * time.Second

// ErrNoCredentials is returned by Apply before the first fetch succeeded
// or after the last good credentials expired.
var ErrNoCredentials = errors.New("auth: no valid credentials (fetch or refresh failing)")

// New builds the Authorizer of spec and starts its background refresh.
func New(spec Spec, o Options) (Authorizer, error) {
	o = o.filled()
	switch spec.Type {
	case TypeAWSSigV4:
		return NewSigV4(spec, o)
	case TypeOAuth2:
		return newOAuth2(spec, o)
	case TypeGoogleID:
		return newGoogleID(spec, o)
	case TypeBearerFile:
		return newBearerFile(spec, o)
	}
	return nil, fmt.Errorf("auth: unknown type %q (want one of %s)", spec.Type, strings.Join(Types, ", "))
}

// Probe builds spec's Authorizer, waits up to timeout for its first
// credentials and closes it: nil means a token (or AWS credentials) could
// be had. The error never holds a secret.
func Probe(spec Spec, timeout time.Duration) error {
	a, err := New(spec, Options{})
	if err != nil {
		return err
	}
	defer a.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return a.Wait(ctx)
}
