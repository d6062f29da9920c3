package dataplane

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/valyala/fasthttp"
	"github.com/xdrhook/xdrhook/auth"
	"github.com/xdrhook/xdrhook/encode"
	"github.com/xdrhook/xdrhook/wire"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/h2c"
)

// startAuthEngine starts an engine with one batching ndjson profile and
// one destination sending with ho (HTTP/2 if h2).
func startAuthEngine(t *testing.T, o Options, ho HTTPOptions, h2 bool, dopts DestinationOptions, log *slog.Logger) *testEngine {
	t.Helper()
	p := &Profile{
		NewFramer:  func() encode.Framer { return &encode.NDJSON{Enc: &encode.JSON{}} },
		NewEncoder: func() encode.Encoder { return &encode.JSON{} },
		Batching:   true, MaxRecords: 20, MaxBytes: 1 << 20, Interval: 5 * time.Millisecond,
	}
	var snd Sender
	var err error
	if h2 {
		snd, err = newTestHTTP2(ho)
	} else {
		snd, err = newTestHTTP1(ho)
	}
	if err != nil {
		t.Fatal(err)
	}
	dopts.Name = "test"
	dopts.Sender = snd
	o.Logger = log
	return startEngineOn(t, o, p, newTestDestination(dopts))
}

// framesFrom encodes records from..to-1.
func framesFrom(from, to int) []byte {
	var b []byte
	for i := from; i < to; i++ {
		b = wire.AppendFrame(b, record(i))
	}
	return b
}

// recordIDs reads the bin values of an ndjson body (gzipped or not).
func recordIDs(body []byte, gz bool) ([]int, error) {
	if gz {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		if body, err = io.ReadAll(zr); err != nil {
			return nil, err
		}
	}
	var ids []int
	for _, l := range strings.Split(strings.TrimSpace(string(body)), "\n") {
		var m struct {
			Bins []struct {
				Value int `json:"value"`
			} `json:"bins"`
		}
		if err := json.Unmarshal([]byte(l), &m); err != nil || len(m.Bins) != 1 {
			return nil, fmt.Errorf("line %q: %v", l, err)
		}
		ids = append(ids, m.Bins[0].Value)
	}
	return ids, nil
}

// verifySigV4 re-derives the signature of a received request with the AWS
// SDK's own signer, from what arrived: the signed headers named in the
// Authorization header, the host, path and query as received, the time in
// X-Amz-Date, and the body's SHA-256.
func verifySigV4(r *http.Request, body []byte, creds aws.Credentials, service, region string) error {
	sum := sha256.Sum256(body)
	payload := hex.EncodeToString(sum[:])
	if got := r.Header.Get("X-Amz-Content-Sha256"); got != payload {
		return fmt.Errorf("X-Amz-Content-Sha256 %q is not the body's %q", got, payload)
	}
	authz := r.Header.Get("Authorization")
	i := strings.Index(authz, "SignedHeaders=")
	if i < 0 {
		return fmt.Errorf("Authorization %q", authz)
	}
	rest := authz[i+len("SignedHeaders="):]
	names := strings.Split(rest[:strings.IndexByte(rest, ',')], ";")
	at, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return err
	}
	if d := time.Since(at); d > 5*time.Second || d < -time.Second {
		return fmt.Errorf("X-Amz-Date %v is %v old", at, d)
	}
	req, err := http.NewRequest(r.Method, "http://"+r.Host+r.RequestURI, nil)
	if err != nil {
		return err
	}
	for _, n := range names {
		switch n {
		case "host", "x-amz-date", "x-amz-security-token": // the signer sets these
		default:
			req.Header[http.CanonicalHeaderKey(n)] = r.Header.Values(n)
		}
	}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, payload, service, region, at); err != nil {
		return err
	}
	if want := req.Header.Get("Authorization"); want != authz {
		return fmt.Errorf("signature mismatch:\n got %s\nwant %s", authz, want)
	}
	if r.Header.Get("X-Amz-Security-Token") != creds.SessionToken {
		return errors.New("X-Amz-Security-Token differs")
	}
	return nil
}

// sigv4Sink answers 403 to a request whose signature does not verify, and
// 503 to the first attempt of the first body (to see its retry signed
// afresh); it records the ids of the verified bodies.
type sigv4Sink struct {
	creds            aws.Credentials
	mu               sync.Mutex
	ids              map[int]bool
	bad              []string
	firstDate        string
	firstBody        string
	retryDate        string
	failedFirst      atomic.Bool
	gzipped, verifed atomic.Int64
}

func (s *sigv4Sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if err := verifySigV4(r, body, s.creds, "lambda", "eu-west-1"); err != nil {
		s.mu.Lock()
		s.bad = append(s.bad, err.Error())
		s.mu.Unlock()
		w.WriteHeader(403)
		return
	}
	s.verifed.Add(1)
	if s.failedFirst.CompareAndSwap(false, true) {
		s.mu.Lock()
		s.firstDate = r.Header.Get("X-Amz-Date") + " " + r.Header.Get("Authorization")
		s.firstBody = string(body)
		s.mu.Unlock()
		w.WriteHeader(503)
		return
	}
	gz := r.Header.Get("Content-Encoding") == "gzip"
	if gz {
		s.gzipped.Add(1)
	}
	ids, err := recordIDs(body, gz)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.retryDate == "" && string(body) == s.firstBody {
		s.retryDate = r.Header.Get("X-Amz-Date") + " " + r.Header.Get("Authorization")
	}
	if err != nil {
		s.bad = append(s.bad, err.Error())
		w.WriteHeader(400)
		return
	}
	for _, id := range ids {
		s.ids[id] = true
	}
}

// Every request the engine sends over HTTP/1.1 and HTTP/2, gzipped or not,
// carries a SigV4 signature that the AWS SDK's signer re-derives from what
// the server received; a retried attempt is signed again with a new
// X-Amz-Date.
func TestAuthSigV4ThroughEngine(t *testing.T) {
	if raceEnabled && testing.Short() {
		t.Skip("its -race run is left out of make test (6 s); it runs without -race there and in make test-system")
	}
	for _, h2 := range []bool{false, true} {
		for _, gz := range []bool{false, true} {
			t.Run(fmt.Sprintf("h2=%v,gzip=%v", h2, gz), func(t *testing.T) {
				creds := aws.Credentials{AccessKeyID: "AKIDTEST", SecretAccessKey: "s3cr3t/KEY+x", SessionToken: "session/token="}
				sink := &sigv4Sink{creds: creds, ids: map[int]bool{}}
				var h http.Handler = sink
				if h2 {
					h = h2c.NewHandler(sink, &http2.Server{})
				}
				srv := httptest.NewServer(h)
				defer srv.Close()
				a := auth.NewSigV4WithCredentials(auth.Spec{Type: auth.TypeAWSSigV4, Service: "lambda"}, "eu-west-1",
					credentials.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken), auth.Options{})
				if err := a.Wait(context.Background()); err != nil {
					t.Fatal(err)
				}
				ho := HTTPOptions{URLs: []string{srv.URL}, Path: "/fn/a%20b~x", Auth: a, Gzip: gz, GzipThreshold: 1}
				e := startAuthEngine(t, Options{ReplyDeadline: 5 * time.Second}, ho, h2, DestinationOptions{MaxInFlight: 2,
					Retry: RetryPolicy{MaxAttempts: 3, InitialBackoff: 1100 * time.Millisecond, MaxBackoff: 1100 * time.Millisecond}},
					slog.New(slog.DiscardHandler))
				x := dialXDR(t, e.addr)
				const n = 200
				x.c.Write(framesFrom(0, n))
				rcs := x.replies(t, n, 10*time.Second)
				sink.mu.Lock()
				defer sink.mu.Unlock()
				if len(sink.bad) > 0 {
					t.Fatalf("%d requests failed verification, first: %s", len(sink.bad), sink.bad[0])
				}
				if !allRC(rcs, 0) {
					t.Fatalf("replies %v", rcs)
				}
				if len(sink.ids) != n {
					t.Fatalf("%d distinct records delivered, want %d", len(sink.ids), n)
				}
				if gz && sink.gzipped.Load() == 0 {
					t.Fatal("no gzipped body arrived")
				}
				first, retry := strings.SplitN(sink.firstDate, " ", 2), strings.SplitN(sink.retryDate, " ", 2)
				if first[0] == retry[0] || first[1] == retry[1] {
					t.Fatalf("the retried attempt was not signed afresh: %q then %q", sink.firstDate, sink.retryDate)
				}
			})
		}
	}
}

// The verifier is not a rubber stamp: a request signed with another secret
// is refused (403), and the attempt is a failure.
func TestAuthSigV4WrongSecretRefused(t *testing.T) {
	sink := &sigv4Sink{creds: aws.Credentials{AccessKeyID: "AKIDTEST", SecretAccessKey: "right"}, ids: map[int]bool{}}
	sink.failedFirst.Store(true)
	srv := httptest.NewServer(sink)
	defer srv.Close()
	for _, secret := range []string{"wrong", "right"} {
		a := auth.NewSigV4WithCredentials(auth.Spec{Type: auth.TypeAWSSigV4, Service: "lambda"}, "eu-west-1",
			credentials.NewStaticCredentialsProvider("AKIDTEST", secret, ""), auth.Options{})
		if err := a.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		snd, err := newTestHTTP1(HTTPOptions{URLs: []string{srv.URL}, Auth: a})
		if err != nil {
			t.Fatal(err)
		}
		body := []byte(`{"bins":[{"value":7}]}` + "\n")
		status, _, err := snd.Do(&Request{Body: body, ContentType: "application/x-ndjson", Records: 1}, time.Now().Add(5*time.Second))
		snd.Close()
		want := 200
		if secret == "wrong" {
			want = 403
		}
		if err != nil || status != want {
			t.Fatalf("secret %s: status %d, %v; want %d", secret, status, err, want)
		}
	}
	if len(sink.bad) != 1 || !strings.Contains(sink.bad[0], "signature mismatch") || !sink.ids[7] {
		t.Fatalf("bad %q, ids %v", sink.bad, sink.ids)
	}
}

// tokenServer is an OAuth2 token endpoint (client-credentials grant) that
// issues short-lived tokens, and can be taken down.
type tokenServer struct {
	mu     sync.Mutex
	issued map[string]time.Time // token → expiry
	n      int
	down   atomic.Bool
	life   time.Duration
}

func (ts *tokenServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id, secret, ok := r.BasicAuth()
	if r.ParseForm() != nil || r.Form.Get("grant_type") != "client_credentials" || !ok || id != "xdrhook" || secret != "s3cret-client" {
		w.WriteHeader(401)
		io.WriteString(w, `{"error":"invalid_client"}`)
		return
	}
	if ts.down.Load() {
		w.WriteHeader(503)
		return
	}
	ts.mu.Lock()
	ts.n++
	tok := fmt.Sprintf("tok-%d", ts.n)
	ts.issued[tok] = time.Now().Add(ts.life)
	ts.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"access_token":%q,"token_type":"Bearer","expires_in":%d,"scope":%q}`, tok, int(ts.life/time.Second), r.Form.Get("scope"))
}

// valid reports whether the Authorization header holds a token that has
// not expired.
func (ts *tokenServer) valid(h string) (string, bool) {
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		return "", false
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	exp, ok := ts.issued[tok]
	return tok, ok && time.Now().Before(exp)
}

// OAuth2 client credentials through the engine: tokens that live 2 s are
// refreshed in the background, so requests carry a valid token across
// expiries; with the token endpoint down the old token is used until it
// expires, then records are answered 11 (counted, logged without
// secrets); when the endpoint is back, delivery resumes; every record ends
// up delivered.
func TestAuthOAuth2ThroughEngine(t *testing.T) {
	if testing.Short() {
		t.Skip("system tier (make test-system): 2 s tokens through several expiries and an outage take ~13 s")
	}
	ts := &tokenServer{issued: map[string]time.Time{}, life: 2 * time.Second}
	tokSrv := httptest.NewServer(ts)
	defer tokSrv.Close()

	var mu sync.Mutex
	delivered := map[int]bool{}
	used := map[string]bool{}
	var invalid atomic.Int64
	dst := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		tok, ok := ts.valid(r.Header.Get("Authorization"))
		if !ok {
			invalid.Add(1)
			w.WriteHeader(401)
			return
		}
		ids, err := recordIDs(body, false)
		if err != nil {
			w.WriteHeader(400)
			return
		}
		mu.Lock()
		used[tok] = true
		for _, id := range ids {
			delivered[id] = true
		}
		mu.Unlock()
	}))
	defer dst.Close()

	var logs bytes.Buffer
	var logMu sync.Mutex
	log := slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &logMu}, nil))
	var refreshErrs atomic.Uint64
	a, err := auth.New(auth.Spec{Type: auth.TypeOAuth2, TokenURL: tokSrv.URL, ClientID: "xdrhook", ClientSecret: "s3cret-client", Scopes: []string{"events.write"}},
		auth.Options{Destination: "test", Log: log, RefreshError: func() { refreshErrs.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	e := startAuthEngine(t, Options{ReplyDeadline: 600 * time.Millisecond}, HTTPOptions{URLs: []string{dst.URL}, Auth: a}, false,
		DestinationOptions{MaxInFlight: 2, AuthRefreshErrors: &refreshErrs,
			Retry: RetryPolicy{MaxAttempts: 3, InitialBackoff: 50 * time.Millisecond, MaxBackoff: 100 * time.Millisecond}}, log)
	x := dialXDR(t, e.addr)

	next := 0
	var pending []int // answered 11: XDR would resend them
	round := func() (ok, retry int) {
		ids := append(pending, next, next+1, next+2, next+3, next+4)
		next += 5
		pending = nil
		var b []byte
		for _, id := range ids {
			b = wire.AppendFrame(b, record(id))
		}
		x.c.Write(b)
		// Replies come in order of completion, not of ids: count them.
		for _, rc := range x.replies(t, len(ids), 5*time.Second) {
			if rc == 0 {
				ok++
			} else {
				retry++
			}
		}
		if retry > 0 {
			pending = ids // resend the whole round: duplicates are fine
		}
		return
	}

	// 1. Across token expiries: every round delivered.
	for start := time.Now(); time.Since(start) < 3*time.Second; time.Sleep(100 * time.Millisecond) {
		if ok, retry := round(); retry > 0 {
			t.Fatalf("token endpoint up: %d records answered 11 (%d 0)", retry, ok)
		}
	}
	mu.Lock()
	nTokens := len(used)
	mu.Unlock()
	if nTokens < 2 || invalid.Load() != 0 {
		t.Fatalf("over 3 s of 2 s tokens: %d tokens used, %d requests with an invalid token", nTokens, invalid.Load())
	}

	// 2. The endpoint goes down: the current token keeps working until it
	// expires, then records are answered 11.
	ts.down.Store(true)
	downAt := time.Now()
	sawOK, saw11 := false, false
	for time.Since(downAt) < 3*time.Second {
		ok, retry := round()
		if time.Since(downAt) < 300*time.Millisecond && retry > 0 {
			t.Fatalf("just after the endpoint went down, the old token should still work: %d answered 11", retry)
		}
		sawOK = sawOK || ok > 0
		saw11 = saw11 || retry > 0
		time.Sleep(100 * time.Millisecond)
	}
	if !sawOK || !saw11 {
		t.Fatalf("endpoint down: records delivered %v, answered 11 %v; want both (old token, then expired)", sawOK, saw11)
	}
	if refreshErrs.Load() == 0 {
		t.Fatal("no refresh error counted")
	}
	if invalid.Load() != 0 {
		t.Fatalf("%d requests went out with an expired token; they should have failed before sending", invalid.Load())
	}

	// 3. The endpoint is back: delivery resumes, and the records answered
	// 11 are delivered on their resend.
	ts.down.Store(false)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if _, retry := round(); retry == 0 && len(pending) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no recovery within 20 s of the token endpoint coming back")
		}
	}
	mu.Lock()
	for id := 0; id < next; id++ {
		if !delivered[id] {
			t.Errorf("record %d lost", id)
		}
	}
	mu.Unlock()

	var prom bytes.Buffer
	e.WritePrometheus(&prom)
	if want := fmt.Sprintf(`xdrhook_auth_refresh_errors_total{destination="test"} %d`, refreshErrs.Load()); !strings.Contains(prom.String(), want) {
		t.Errorf("metrics lack %s", want)
	}
	logMu.Lock()
	out := logs.String()
	logMu.Unlock()
	if !strings.Contains(out, "auth: fetching credentials failed") {
		t.Errorf("no refresh failure logged:\n%s", out)
	}
	for _, secret := range []string{"s3cret-client", "tok-"} {
		if strings.Contains(out, secret) || strings.Contains(prom.String(), secret) {
			t.Errorf("%q appears in logs or metrics", secret)
		}
	}
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// SigV4 adds no allocation to an HTTP/1.1 request: the sender's
// allocations per request are the same with and without auth (a fasthttp
// server on loopback, itself allocation-free, answers).
func TestAuthSigV4HTTP1NoExtraAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {}}
	go srv.Serve(ln)
	defer srv.Shutdown()
	a := auth.NewSigV4WithCredentials(auth.Spec{Type: auth.TypeAWSSigV4, Service: "lambda"}, "eu-west-1",
		credentials.NewStaticCredentialsProvider("AKID", "SECRET", "TOKEN"), auth.Options{})
	defer a.Close()
	if err := a.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	body := bytes.Repeat([]byte("x"), 1024)
	per := func(ho HTTPOptions) float64 {
		snd, err := newTestHTTP1(ho)
		if err != nil {
			t.Fatal(err)
		}
		r := &Request{Body: body, ContentType: "application/x-ndjson", Records: 1}
		do := func() {
			if st, _, err := snd.Do(r, time.Now().Add(5*time.Second)); err != nil || st != 200 {
				t.Fatalf("status %d, %v", st, err)
			}
		}
		for i := 0; i < 200; i++ {
			do()
		}
		return testing.AllocsPerRun(500, do)
	}
	plain := per(HTTPOptions{URLs: []string{"http://" + ln.Addr().String()}})
	signed := per(HTTPOptions{URLs: []string{"http://" + ln.Addr().String()}, Auth: a})
	t.Logf("allocs per request: %.2f without auth, %.2f with SigV4", plain, signed)
	if signed-plain >= 1 {
		t.Fatalf("SigV4 adds %.2f allocs per request", signed-plain)
	}
}

// A URL's host in capitals is sent, and signed, in lower case by both
// senders (fasthttp lowercases it; net/http would not).
func TestAuthSigV4UpperCaseHost(t *testing.T) {
	for _, h2 := range []bool{false, true} {
		creds := aws.Credentials{AccessKeyID: "AKIDTEST", SecretAccessKey: "s"}
		sink := &sigv4Sink{creds: creds, ids: map[int]bool{}}
		sink.failedFirst.Store(true)
		var host atomic.Value
		var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			host.Store(r.Host)
			sink.ServeHTTP(w, r)
		})
		if h2 {
			h = h2c.NewHandler(h, &http2.Server{})
		}
		srv := httptest.NewServer(h)
		a := auth.NewSigV4WithCredentials(auth.Spec{Type: auth.TypeAWSSigV4, Service: "lambda"}, "eu-west-1",
			credentials.NewStaticCredentialsProvider("AKIDTEST", "s", ""), auth.Options{})
		a.Wait(context.Background())
		url := strings.Replace(srv.URL, "127.0.0.1", "LocalHost", 1)
		var snd Sender
		var err error
		if h2 {
			snd, err = newTestHTTP2(HTTPOptions{URLs: []string{url}, Auth: a})
		} else {
			snd, err = newTestHTTP1(HTTPOptions{URLs: []string{url}, Auth: a})
		}
		if err != nil {
			t.Fatal(err)
		}
		st, _, err := snd.Do(&Request{Body: []byte(`{"bins":[{"value":1}]}` + "\n"), Records: 1}, time.Now().Add(5*time.Second))
		snd.Close()
		srv.Close()
		if err != nil || st != 200 || !strings.HasPrefix(host.Load().(string), "localhost:") {
			t.Fatalf("h2=%v: status %d, %v, Host %v, verification %q", h2, st, err, host.Load(), sink.bad)
		}
	}
}
