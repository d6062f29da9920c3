package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// SigV4 signs requests with AWS Signature Version 4 in the Authorization
// header, over the final body (X-Amz-Content-Sha256 is its SHA-256).
//
// The signature is the one the AWS SDK's aws/signer/v4 computes for the
// same request with the same signed headers (the tests compare them byte
// for byte); it is built here, with crypto/sha256 and crypto/hmac over
// reused buffers, because the SDK signer needs an *http.Request and costs
// tens of allocations per request (see BenchmarkSigV4SDK). The signed
// headers are host, x-amz-content-sha256, x-amz-date,
// x-amz-security-token (temporary credentials) and Spec.SignedHeaders.
// The signing key is derived once per day and credentials.
type SigV4 struct {
	service, region string
	s3              bool // S3 canonical URIs are not escaped a second time
	creds           *refresher[aws.Credentials]
	hdrs            []sigHeader // signed headers, sorted by name
	key             atomic.Pointer[sigKey]
	scratch         sync.Pool
	now             func() time.Time
}

// sigHeader is one signed header: a fixed value, or one of the per-request
// ones (kind).
type sigHeader struct {
	name  string // lower case
	value string
	kind  byte
}

const (
	hdrStatic byte = iota
	hdrHost
	hdrSHA
	hdrDate
	hdrToken
)

// sigKey is the signing key of one day, region, service and credentials,
// with the parts of the Authorization header that do not change with it.
type sigKey struct {
	akid, secret, token string
	day                 string // yyyymmdd
	key                 []byte
	scope               string // day/region/service/aws4_request
	authPrefix          string // "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature="
	signedHeaders       string // without x-amz-security-token when no token
}

// sigScratch holds the per-request buffers; pooled.
type sigScratch struct {
	sha   hash.Hash
	mac   hash.Hash
	macK  *sigKey // the key mac was made with
	b     []byte
	sum   [sha256.Size]byte
	hexed [2 * sha256.Size]byte
	date  [16]byte
}

// NewSigV4 builds an aws-sigv4 Authorizer: credentials from the AWS SDK's
// default chain (environment, shared config and profile, web identity,
// ECS, EC2 IMDS), optionally through sts:AssumeRole of Spec.RoleARN.
func NewSigV4(spec Spec, o Options) (*SigV4, error) {
	if spec.Service == "" {
		return nil, errors.New("aws-sigv4: no service (lambda, execute-api, es, aoss, s3, ...)")
	}
	var opts []func(*awsconfig.LoadOptions) error
	if spec.Profile != "" {
		opts = append(opts, awsconfig.WithSharedConfigProfile(spec.Profile))
	}
	if spec.Region != "" {
		opts = append(opts, awsconfig.WithRegion(spec.Region))
	}
	// The SDK keeps its own HTTP client (ours would lose AWS_CA_BUNDLE).
	o = o.filled()
	ctx, cancel := context.WithTimeout(context.Background(), fetchTimeout)
	defer cancel()
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("aws-sigv4: AWS config: %v", err)
	}
	if cfg.Region == "" {
		return nil, errors.New("aws-sigv4: no region: set auth.region, or AWS_REGION, or region in the AWS config profile")
	}
	p := cfg.Credentials
	if spec.RoleARN != "" {
		p = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg), spec.RoleARN,
			func(a *stscreds.AssumeRoleOptions) { a.RoleSessionName = "xdrhook" }))
	}
	if p == nil {
		return nil, errors.New("aws-sigv4: the AWS config chain has no credentials provider")
	}
	return newSigV4(spec, cfg.Region, p, o), nil
}

// NewSigV4WithCredentials builds an aws-sigv4 Authorizer over the given
// credentials provider (tests, and destinations that hold their own).
func NewSigV4WithCredentials(spec Spec, region string, p aws.CredentialsProvider, o Options) *SigV4 {
	return newSigV4(spec, region, p, o.filled())
}

func newSigV4(spec Spec, region string, p aws.CredentialsProvider, o Options) *SigV4 {
	s := &SigV4{service: spec.Service, region: region, now: time.Now,
		s3: spec.Service == "s3" || spec.Service == "s3-outposts" || spec.Service == "s3express"}
	s.hdrs = []sigHeader{{name: "host", kind: hdrHost}, {name: "x-amz-content-sha256", kind: hdrSHA},
		{name: "x-amz-date", kind: hdrDate}, {name: "x-amz-security-token", kind: hdrToken}}
	for _, h := range spec.SignedHeaders {
		s.hdrs = append(s.hdrs, sigHeader{name: strings.ToLower(h[0]), value: canonicalValue(h[1])})
	}
	slices.SortStableFunc(s.hdrs, func(a, b sigHeader) int { return strings.Compare(a.name, b.name) })
	s.scratch.New = func() any { return &sigScratch{sha: sha256.New(), b: make([]byte, 0, 1024)} }
	s.creds = newRefresher("aws-sigv4", o, 0, func(ctx context.Context) (aws.Credentials, time.Time, error) {
		if c, ok := p.(*aws.CredentialsCache); ok {
			c.Invalidate() // the refresher decides when; fetch fresh ones
		}
		c, err := p.Retrieve(ctx)
		if err != nil {
			return c, time.Time{}, fmt.Errorf("AWS credentials: %w", err)
		}
		var exp time.Time
		if c.CanExpire {
			exp = c.Expires
		}
		return c, exp, nil
	})
	return s
}

// canonicalValue trims a header value and folds inner runs of spaces, as
// SigV4 canonical headers want.
func canonicalValue(v string) string { return strings.Join(strings.Fields(v), " ") }

// Region is the region requests are signed for.
func (s *SigV4) Region() string { return s.region }

// Wait implements Authorizer.
func (s *SigV4) Wait(ctx context.Context) error { return s.creds.wait(ctx) }

// Close implements Authorizer.
func (s *SigV4) Close() { s.creds.close() }

const sigAlgorithm = "AWS4-HMAC-SHA256"

// Apply implements Authorizer: it sets X-Amz-Date, X-Amz-Content-Sha256,
// X-Amz-Security-Token (temporary credentials) and Authorization.
func (s *SigV4) Apply(r *Request, h HeaderSetter) error {
	now := s.now().UTC()
	c, err := s.creds.get(now)
	if err != nil {
		return err
	}
	sc := s.scratch.Get().(*sigScratch)
	defer s.scratch.Put(sc)
	appendAmzDate(sc.date[:0], now)
	k := s.key.Load()
	if k == nil || k.akid != c.v.AccessKeyID || k.secret != c.v.SecretAccessKey || k.token != c.v.SessionToken || k.day != string(sc.date[:8]) {
		k = s.deriveKey(&c.v, string(sc.date[:8]))
		s.key.Store(k)
	}
	host, path, query := splitURL(r.URL)

	// The payload hash.
	sc.sha.Reset()
	sc.sha.Write(r.Body)
	sc.sha.Sum(sc.sum[:0])
	hex.Encode(sc.hexed[:], sc.sum[:])
	payload := sc.hexed[:]

	// The canonical request.
	b := append(sc.b[:0], r.Method...)
	b = append(b, '\n')
	if path == "" {
		path = "/"
	}
	if s.s3 {
		b = append(b, path...)
	} else {
		b = appendEscapedPath(b, path)
	}
	b = append(b, '\n')
	if query != "" {
		b = appendCanonicalQuery(b, query)
	}
	b = append(b, '\n')
	for i := range s.hdrs {
		hd := &s.hdrs[i]
		switch hd.kind {
		case hdrToken:
			if k.token == "" {
				continue
			}
			b = append(b, hd.name...)
			b = append(b, ':')
			b = append(b, k.token...)
		case hdrHost:
			b = append(b, "host:"...)
			b = append(b, host...)
		case hdrSHA:
			b = append(b, hd.name...)
			b = append(b, ':')
			b = append(b, payload...)
		case hdrDate:
			b = append(b, hd.name...)
			b = append(b, ':')
			b = append(b, sc.date[:]...)
		default:
			b = append(b, hd.name...)
			b = append(b, ':')
			b = append(b, hd.value...)
		}
		b = append(b, '\n')
	}
	b = append(b, '\n')
	b = append(b, k.signedHeaders...)
	b = append(b, '\n')
	b = append(b, payload...)
	sc.sha.Reset()
	sc.sha.Write(b)
	sc.sha.Sum(sc.sum[:0])

	// The string to sign, then the signature into the same buffer.
	b = append(b[:0], sigAlgorithm+"\n"...)
	b = append(b, sc.date[:]...)
	b = append(b, '\n')
	b = append(b, k.scope...)
	b = append(b, '\n')
	b = hex.AppendEncode(b, sc.sum[:])
	if sc.macK != k {
		sc.mac, sc.macK = hmac.New(sha256.New, k.key), k
	}
	sc.mac.Reset()
	sc.mac.Write(b)
	sc.mac.Sum(sc.sum[:0])
	b = append(b[:0], k.authPrefix...)
	b = hex.AppendEncode(b, sc.sum[:])
	sc.b = b

	h.SetHeader("X-Amz-Date", sc.date[:])
	h.SetHeader("X-Amz-Content-Sha256", payload)
	if k.token != "" {
		h.SetHeader("X-Amz-Security-Token", unsafeBytes(k.token))
	}
	h.SetHeader("Authorization", b)
	return nil
}

// deriveKey derives the signing key of day (yyyymmdd), once per day and
// credentials.
func (s *SigV4) deriveKey(c *aws.Credentials, day string) *sigKey {
	mac := func(key []byte, data string) []byte {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(data))
		return m.Sum(nil)
	}
	key := mac([]byte("AWS4"+c.SecretAccessKey), day)
	key = mac(key, s.region)
	key = mac(key, s.service)
	key = mac(key, "aws4_request")
	k := &sigKey{akid: c.AccessKeyID, secret: c.SecretAccessKey, token: c.SessionToken, day: day, key: key,
		scope: day + "/" + s.region + "/" + s.service + "/aws4_request"}
	var names []string
	for _, h := range s.hdrs {
		if h.kind != hdrToken || k.token != "" {
			names = append(names, h.name)
		}
	}
	k.signedHeaders = strings.Join(names, ";")
	k.authPrefix = sigAlgorithm + " Credential=" + c.AccessKeyID + "/" + k.scope +
		", SignedHeaders=" + k.signedHeaders + ", Signature="
	return k
}

// appendAmzDate appends t (UTC) as yyyymmddThhmmssZ.
func appendAmzDate(b []byte, t time.Time) []byte {
	y, mo, d := t.Date()
	hh, mm, ss := t.Clock()
	b = appendDigits(b, y, 4)
	b = appendDigits(b, int(mo), 2)
	b = appendDigits(b, d, 2)
	b = append(b, 'T')
	b = appendDigits(b, hh, 2)
	b = appendDigits(b, mm, 2)
	b = appendDigits(b, ss, 2)
	return append(b, 'Z')
}

func appendDigits(b []byte, v, n int) []byte {
	var d [4]byte
	for i := n - 1; i >= 0; i-- {
		d[i] = byte('0' + v%10)
		v /= 10
	}
	return append(b, d[:n]...)
}

// splitURL cuts scheme://host/path?query into its host, path and query.
func splitURL(u string) (host, path, query string) {
	if i := strings.Index(u, "://"); i >= 0 {
		u = u[i+3:]
	}
	if i := strings.IndexAny(u, "/?"); i >= 0 {
		host, u = u[:i], u[i:]
	} else {
		return u, "", ""
	}
	if i := strings.IndexByte(u, '?'); i >= 0 {
		return host, u[:i], u[i+1:]
	}
	return host, u, ""
}

// noEscape marks the bytes SigV4 leaves unescaped (RFC 3986 unreserved).
var noEscape = func() (t [256]bool) {
	for i := range t {
		t[i] = i >= 'A' && i <= 'Z' || i >= 'a' && i <= 'z' || i >= '0' && i <= '9' || i == '-' || i == '.' || i == '_' || i == '~'
	}
	return
}()

const upperHex = "0123456789ABCDEF"

// appendEscapedPath escapes an (already escaped) path once more, keeping
// '/': the canonical URI of every service but S3.
func appendEscapedPath(b []byte, p string) []byte {
	for i := 0; i < len(p); i++ {
		c := p[i]
		if noEscape[c] || c == '/' {
			b = append(b, c)
		} else {
			b = append(b, '%', upperHex[c>>4], upperHex[c&15])
		}
	}
	return b
}

func appendEscaped(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if noEscape[c] {
			b = append(b, c)
		} else {
			b = append(b, '%', upperHex[c>>4], upperHex[c&15])
		}
	}
	return b
}

// appendCanonicalQuery appends the SigV4 canonical form of a raw query:
// names and values decoded, escaped again, sorted after escaping. Only
// shaped requests carry a query, so this path may allocate.
func appendCanonicalQuery(b []byte, raw string) []byte {
	vals, _ := url.ParseQuery(raw)
	type kv struct{ k, v string }
	var ps []kv
	for k, vs := range vals {
		ek := string(appendEscaped(nil, k))
		for _, v := range vs {
			ps = append(ps, kv{ek, string(appendEscaped(nil, v))})
		}
	}
	slices.SortFunc(ps, func(a, b kv) int {
		if c := strings.Compare(a.k, b.k); c != 0 {
			return c
		}
		return strings.Compare(a.v, b.v)
	})
	for i, p := range ps {
		if i > 0 {
			b = append(b, '&')
		}
		b = append(b, p.k...)
		b = append(b, '=')
		b = append(b, p.v...)
	}
	return b
}
