package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// headers is a HeaderSetter that keeps what was set.
type headers map[string]string

func (h headers) SetHeader(name string, value []byte) { h[name] = string(value) }

// testSigner returns a SigV4 over static credentials at a fixed time, with
// its first credentials in place.
func testSigner(t testing.TB, spec Spec, akid, secret, token string, at time.Time) *SigV4 {
	t.Helper()
	s := NewSigV4WithCredentials(spec, spec.Region, credentials.NewStaticCredentialsProvider(akid, secret, token), Options{})
	t.Cleanup(s.Close)
	if err := s.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	s.now = func() time.Time { return at }
	return s
}

// AWS's documented S3 examples (Signature Calculations for the
// Authorization Header: Transferring Payload in a Single Chunk).
func TestSigV4AWSDocumentedVectors(t *testing.T) {
	at := time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name, method, url, body string
		signed                  [][2]string
		want                    string
	}{
		{"GET object", "GET", "https://examplebucket.s3.amazonaws.com/test.txt", "", [][2]string{{"Range", "bytes=0-9"}},
			"AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"},
		{"PUT object", "PUT", "https://examplebucket.s3.amazonaws.com/test%24file.text", "Welcome to Amazon S3.",
			[][2]string{{"Date", "Fri, 24 May 2013 00:00:00 GMT"}, {"x-amz-storage-class", "REDUCED_REDUNDANCY"}},
			"AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class, Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := testSigner(t, Spec{Type: TypeAWSSigV4, Service: "s3", Region: "us-east-1", SignedHeaders: tc.signed},
				"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "", at)
			h := headers{}
			var body []byte
			if tc.body != "" {
				body = []byte(tc.body)
			}
			if err := s.Apply(&Request{Method: tc.method, URL: tc.url, Body: body}, h); err != nil {
				t.Fatal(err)
			}
			if h["Authorization"] != tc.want {
				t.Errorf("Authorization\n got %s\nwant %s", h["Authorization"], tc.want)
			}
			if h["X-Amz-Date"] != "20130524T000000Z" {
				t.Errorf("X-Amz-Date %q", h["X-Amz-Date"])
			}
			sum := sha256.Sum256(body)
			if h["X-Amz-Content-Sha256"] != hex.EncodeToString(sum[:]) {
				t.Errorf("X-Amz-Content-Sha256 %q", h["X-Amz-Content-Sha256"])
			}
		})
	}
}

// AWS's documented signing-key derivation example (IAM, 20120215).
func TestSigV4DerivedKeyVector(t *testing.T) {
	s := &SigV4{service: "iam", region: "us-east-1"}
	k := s.deriveKey(&aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}, "20120215")
	if got, want := hex.EncodeToString(k.key), "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"; got != want {
		t.Fatalf("signing key %s, want %s", got, want)
	}
}

// sdkSign signs the request our signer described (the headers it signed,
// nothing else) with the AWS SDK's v4 signer and returns its Authorization.
func sdkSign(t testing.TB, method, url string, signed map[string]string, payload, akid, secret, token, service, region string, at time.Time) string {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range signed {
		req.Header.Set(k, v)
	}
	err = v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: akid, SecretAccessKey: secret, SessionToken: token},
		req, payload, service, region, at, func(o *v4.SignerOptions) { o.DisableURIPathEscaping = service == "s3" })
	if err != nil {
		t.Fatal(err)
	}
	return req.Header.Get("Authorization")
}

// Our signature equals the SDK signer's for the same request, across
// services (S3 and the double-escaping rest), paths that need escaping,
// queries, session tokens, bodies and days.
func TestSigV4MatchesSDKSigner(t *testing.T) {
	type tc struct {
		service, method, url, body, token string
		signed                            [][2]string
		at                                time.Time
	}
	at := time.Date(2026, 12, 7, 23, 59, 59, 0, time.UTC)
	cases := []tc{
		{service: "lambda", method: "POST", url: "https://abc.lambda-url.eu-west-1.on.aws/", body: `{"a":1}`},
		{service: "lambda", method: "POST", url: "https://abc.lambda-url.eu-west-1.on.aws", body: `{"a":1}`, token: "FwoGZXIvYXdzE//token+/="},
		{service: "execute-api", method: "PUT", url: "https://x.execute-api.eu-west-1.amazonaws.com/prod/items/ns%2Fa/b%20c", body: "x"},
		{service: "es", method: "POST", url: "https://search-d.eu-west-1.es.amazonaws.com/_bulk?refresh=wait_for&pipeline=a%20b&a=z&a=b", body: "{}\n{}\n"},
		{service: "aoss", method: "POST", url: "http://127.0.0.1:9200/idx/_doc/1?", body: ""},
		{service: "s3", method: "PUT", url: "http://127.0.0.1:8333/bucket/ns/set/2026/12/07/a%2Bb-node-1.ndjson", body: "1\n2\n", token: "tok",
			signed: [][2]string{{"X-Amz-Storage-Class", "STANDARD"}, {"Content-Type", " application/x-ndjson "}}},
		{service: "s3", method: "PUT", url: "https://s3.eu-west-1.amazonaws.com/b/k~._-", body: strings.Repeat("z", 5000)},
		{service: "lambda", method: "DELETE", url: "https://h.example:8443/a/b/c", at: at.Add(time.Second)},
	}
	for i, c := range cases {
		t.Run(fmt.Sprintf("%d-%s", i, c.service), func(t *testing.T) {
			when := at
			if !c.at.IsZero() {
				when = c.at
			}
			s := testSigner(t, Spec{Type: TypeAWSSigV4, Service: c.service, Region: "eu-west-1", SignedHeaders: c.signed},
				"AKIDEXAMPLE", "secret/key+example", c.token, when)
			var body []byte
			if c.body != "" {
				body = []byte(c.body)
			}
			h := headers{}
			if err := s.Apply(&Request{Method: c.method, URL: c.url, Body: body}, h); err != nil {
				t.Fatal(err)
			}
			signed := map[string]string{"X-Amz-Content-Sha256": h["X-Amz-Content-Sha256"]}
			for _, sh := range c.signed {
				signed[sh[0]] = sh[1]
			}
			want := sdkSign(t, c.method, c.url, signed, h["X-Amz-Content-Sha256"], "AKIDEXAMPLE", "secret/key+example", c.token, c.service, "eu-west-1", when)
			if h["Authorization"] != want {
				t.Errorf("Authorization\n got %s\nwant %s", h["Authorization"], want)
			}
			if c.token != "" && h["X-Amz-Security-Token"] != c.token {
				t.Errorf("X-Amz-Security-Token %q", h["X-Amz-Security-Token"])
			}
			if c.token == "" && h["X-Amz-Security-Token"] != "" {
				t.Errorf("X-Amz-Security-Token %q without a session token", h["X-Amz-Security-Token"])
			}
		})
	}
}

// A new day derives a new key: the signature still matches the SDK's.
func TestSigV4DayRollover(t *testing.T) {
	day1 := time.Date(2026, 12, 7, 23, 59, 59, 0, time.UTC)
	s := testSigner(t, Spec{Type: TypeAWSSigV4, Service: "lambda", Region: "eu-west-1"}, "AKID", "SECRET", "", day1)
	for _, at := range []time.Time{day1, day1.Add(time.Second), day1.Add(25 * time.Hour)} {
		s.now = func() time.Time { return at }
		h := headers{}
		if err := s.Apply(&Request{Method: "POST", URL: "https://h/", Body: []byte("b")}, h); err != nil {
			t.Fatal(err)
		}
		want := sdkSign(t, "POST", "https://h/", map[string]string{"X-Amz-Content-Sha256": h["X-Amz-Content-Sha256"]}, h["X-Amz-Content-Sha256"], "AKID", "SECRET", "", "lambda", "eu-west-1", at)
		if h["Authorization"] != want {
			t.Errorf("%v: got %s\nwant %s", at, h["Authorization"], want)
		}
	}
}

func TestSplitURL(t *testing.T) {
	for _, c := range []struct{ in, host, path, query string }{
		{"https://h:1/a/b?x=1", "h:1", "/a/b", "x=1"},
		{"http://h", "h", "", ""},
		{"http://h?q", "h", "", "q"},
		{"http://h/", "h", "/", ""},
	} {
		h, p, q := splitURL(c.in)
		if h != c.host || p != c.path || q != c.query {
			t.Errorf("%s: %q %q %q", c.in, h, p, q)
		}
	}
}

// discard is a HeaderSetter that copies nothing (the benchmarks measure
// signing, not the transport's header copy).
type discard struct{}

func (discard) SetHeader(string, []byte) {}

// Signing a 1 KiB body: steady state allocates nothing.
func TestSigV4ApplyAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items")
	}
	s := testSigner(t, Spec{Type: TypeAWSSigV4, Service: "lambda", Region: "eu-west-1"}, "AKID", "SECRET", "TOKEN", time.Now())
	s.now = time.Now
	r := &Request{Method: "POST", URL: "https://abc.lambda-url.eu-west-1.on.aws/", Body: make([]byte, 1024)}
	if err := s.Apply(r, discard{}); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(200, func() { s.Apply(r, discard{}) }); n > 0 {
		t.Fatalf("%v allocs per signature, want 0", n)
	}
}

func BenchmarkSigV4Apply1KiB(b *testing.B) {
	s := testSigner(b, Spec{Type: TypeAWSSigV4, Service: "lambda", Region: "eu-west-1"}, "AKID", "SECRET", "", time.Now())
	s.now = time.Now
	r := &Request{Method: "POST", URL: "https://abc.lambda-url.eu-west-1.on.aws/", Body: make([]byte, 1024)}
	b.ReportAllocs()
	b.SetBytes(1024)
	cpu0 := processCPU()
	for b.Loop() {
		if err := s.Apply(r, discard{}); err != nil {
			b.Fatal(err)
		}
	}
	// On a shared machine wall time per op counts the time the process
	// waited for a core; CPU time per op is the cost.
	b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
}

// processCPU is the user+system CPU time of the process so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// The AWS SDK's signer on the same request, for comparison: it needs an
// *http.Request and hashes the body separately.
func BenchmarkSigV4SDK1KiB(b *testing.B) {
	signer := v4.NewSigner()
	creds := aws.Credentials{AccessKeyID: "AKID", SecretAccessKey: "SECRET"}
	body := make([]byte, 1024)
	b.ReportAllocs()
	b.SetBytes(1024)
	cpu0 := processCPU()
	defer func() { b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op") }()
	for b.Loop() {
		req, _ := http.NewRequest("POST", "https://abc.lambda-url.eu-west-1.on.aws/", nil)
		sum := sha256.Sum256(body)
		p := hex.EncodeToString(sum[:])
		req.Header.Set("X-Amz-Content-Sha256", p)
		if err := signer.SignHTTP(context.Background(), creds, req, p, "lambda", "eu-west-1", time.Now()); err != nil {
			b.Fatal(err)
		}
	}
}

// The per-KiB part of the cost: SHA-256 of the body.
func BenchmarkSigV4Apply64KiB(b *testing.B) {
	s := testSigner(b, Spec{Type: TypeAWSSigV4, Service: "s3", Region: "eu-west-1"}, "AKID", "SECRET", "", time.Now())
	s.now = time.Now
	r := &Request{Method: "PUT", URL: "https://s3.eu-west-1.amazonaws.com/bucket/ns/set/2026/12/07/02/1-node-1.ndjson", Body: make([]byte, 64<<10)}
	b.ReportAllocs()
	b.SetBytes(64 << 10)
	cpu0 := processCPU()
	for b.Loop() {
		if err := s.Apply(r, discard{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
}

// A bearer token (oauth2, google-id-token, bearer-file): one atomic load.
func BenchmarkBearerApply(b *testing.B) {
	t := newTokenAuth("test", Options{}.filled(), 0, func(context.Context) ([]byte, time.Time, error) {
		return bearer("eyJhbGciOiJSUzI1NiJ9.payload.signature"), time.Now().Add(time.Hour), nil
	})
	defer t.Close()
	if err := t.Wait(context.Background()); err != nil {
		b.Fatal(err)
	}
	r := &Request{Method: "POST", URL: "https://h/"}
	b.ReportAllocs()
	for b.Loop() {
		if err := t.Apply(r, discard{}); err != nil {
			b.Fatal(err)
		}
	}
}
