package connector

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/linkedin/goavro/v2"
	"github.com/vmihailenco/msgpack/v5"
	"github.com/xdrhook/xdrhook/dataplane"
	"github.com/xdrhook/xdrhook/wire"
)

// s3Store is a Go net/http server that stores PUT bodies by path: the
// object naming and contents of type s3, without the signature (which the
// system tier proves against SeaweedFS).
type s3Store struct {
	// creds, if set, makes the store check each PUT's SigV4 signature (as
	// S3 does: service s3, path not escaped again) and answer 403 when it
	// does not verify.
	creds   *aws.Credentials
	denied  int
	mu      sync.Mutex
	objects map[string][]byte
	types   map[string]string
	methods []string
	hold    chan struct{} // if set, a PUT waits for it to close
	srv     *httptest.Server
}

func newS3Store(t *testing.T) *s3Store {
	s := &s3Store{objects: map[string][]byte{}, types: map[string]string{}}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			w.WriteHeader(500)
			return
		}
		s.mu.Lock()
		hold := s.hold
		s.methods = append(s.methods, r.Method)
		s.mu.Unlock()
		if s.creds != nil {
			if err := verifyS3Signature(r, b, *s.creds); err != nil {
				s.mu.Lock()
				s.denied++
				s.mu.Unlock()
				w.WriteHeader(403)
				return
			}
		}
		if hold != nil {
			<-hold
		}
		s.mu.Lock()
		if _, dup := s.objects[r.URL.EscapedPath()]; dup {
			s.objects[r.URL.EscapedPath()+" (overwritten)"] = nil
		}
		s.objects[r.URL.EscapedPath()] = b
		s.types[r.URL.EscapedPath()] = r.Header.Get("Content-Type")
		s.mu.Unlock()
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// startS3Engine runs the engine of yml (%[1]s: the store's URL, %[2]s: the
// XDR port) and returns a connection to it.
func startS3Engine(t *testing.T, yml string, store *s3Store) net.Conn {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(l.Addr().String())
	l.Close()
	cfg := parseConfig(t, fmt.Sprintf(yml, store.srv.URL, port))
	e, err := New(cfg, dataplane.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, "test")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if store.hold != nil {
			close(store.hold)
			store.hold = nil
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		e.Stop(ctx)
	})
	c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", port))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

const s3TestConfig = `service: {address: 127.0.0.1, port: %[2]s, io-threads: 1}
destinations:
  archive:
    type: s3
    urls: ["%[1]s"]
    bucket: xdr-archive
    node: node-1
    max-in-flight: 4
routing: {mode: static, destination: archive}
format: %[3]s
batching: {max-records: 40, batch-interval: 200}
`

// s3Records are n writes with rising LUTs one minute apart (so batches
// span hours), in sets s1, s2 and no set.
func s3Records(n int, lut0 int64) []*wire.Record {
	var dg wire.Digester
	out := make([]*wire.Record, n)
	for i := range out {
		r := &wire.Record{Kind: wire.KindWrite, Generation: 1, TTL: wire.TTLNever, Namespace: "test",
			Set: []string{"s1", "s2", ""}[i%3], KeyType: wire.ParticleString, Key: []byte("k" + strconv.Itoa(i)),
			LUT:  wire.MakeLUT(1, lut0+int64(i)*60_000),
			Bins: []wire.BinSpec{{Name: "i", Type: wire.ParticleInteger, Value: wire.IntValue(int64(i))}}}
		r.SetDigest(&dg)
		out[i] = r
	}
	return out
}

func sendAll(t *testing.T, c net.Conn, recs []*wire.Record) {
	t.Helper()
	var b []byte
	for _, r := range recs {
		b = wire.AppendFrame(b, r)
	}
	if _, err := c.Write(b); err != nil {
		t.Fatal(err)
	}
}

// readReplies reads n replies and returns their result codes.
func readReplies(t *testing.T, r *bufio.Reader, c net.Conn, n int, timeout time.Duration) []byte {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(timeout))
	rcs := make([]byte, 0, n)
	buf := make([]byte, wire.ReplySize)
	for len(rcs) < n {
		if _, err := io.ReadFull(r, buf); err != nil {
			t.Fatalf("after %d of %d replies: %v", len(rcs), n, err)
		}
		rcs = append(rcs, buf[13])
	}
	return rcs
}

var s3KeyRE = regexp.MustCompile(`^/xdr-archive/test/(s1|s2|-)/(\d{4})/(\d\d)/(\d\d)/(\d\d)/(\d+)-node-1-(\d{13})-(\d{8})\.(ndjson|avro|json|msgpack)$`)

// Every record lands once, in an object of its set named after the
// object's first record; keys are unique; every record is answered 0.
func TestS3ObjectsNDJSON(t *testing.T) {
	store := newS3Store(t)
	c := startS3Engine(t, fmt.Sprintf(s3TestConfig, "%[1]s", "%[2]s", "{mode: flat-json}"), store)
	lut0 := time.Date(2026, 12, 7, 1, 30, 0, 0, time.UTC).UnixMilli()
	recs := s3Records(300, lut0)
	sendAll(t, c, recs)
	rcs := readReplies(t, bufio.NewReader(c), c, len(recs), 10*time.Second)
	if !bytes.Equal(rcs, make([]byte, len(recs))) {
		t.Fatalf("result codes %v, want all 0", rcs)
	}
	store.mu.Lock()
	defer store.mu.Unlock()
	seen := map[string]int{}
	start := ""
	for key, body := range store.objects {
		m := s3KeyRE.FindStringSubmatch(key)
		if m == nil {
			t.Errorf("key %q does not match %s", key, s3KeyRE)
			continue
		}
		if start == "" {
			start = m[7]
		} else if m[7] != start {
			t.Errorf("key %q: start %s, other keys %s", key, m[7], start)
		}
		if ct := store.types[key]; ct != "application/x-ndjson" {
			t.Errorf("%s: content type %q", key, ct)
		}
		lines := bytes.Split(bytes.TrimSuffix(body, []byte("\n")), []byte("\n"))
		for i, line := range lines {
			var doc struct {
				Metadata struct {
					Set     string `json:"set"`
					LUT     int64  `json:"lut"`
					UserKey string `json:"userKey"`
				} `json:"metadata"`
			}
			if err := json.Unmarshal(line, &doc); err != nil {
				t.Fatalf("%s line %d: %v: %s", key, i, err, line)
			}
			set := doc.Metadata.Set
			if set == "" {
				set = "-"
			}
			if set != m[1] {
				t.Errorf("%s: a record of set %q", key, doc.Metadata.Set)
			}
			if i == 0 {
				first := time.UnixMilli(doc.Metadata.LUT).UTC()
				if want := fmt.Sprintf("%d-%04d/%02d/%02d/%02d", doc.Metadata.LUT, first.Year(), first.Month(), first.Day(), first.Hour()); want != m[6]+"-"+m[2]+"/"+m[3]+"/"+m[4]+"/"+m[5] {
					t.Errorf("%s: first record's LUT %d, key says %s", key, doc.Metadata.LUT, m[6])
				}
			}
			seen[doc.Metadata.UserKey]++
		}
	}
	for i := range recs {
		if k := "k" + strconv.Itoa(i); seen[k] != 1 {
			t.Errorf("record %s stored %d times", k, seen[k])
		}
	}
	if len(store.objects) < 300/40 {
		t.Errorf("%d objects for 300 records of 3 sets at 40 a batch", len(store.objects))
	}
	for _, m := range store.methods {
		if m != "PUT" {
			t.Errorf("method %s", m)
		}
	}
}

// avro-ocf: each object is a whole Object Container File that an
// independent reader (goavro) opens and reads to the end.
func TestS3ObjectsAvroOCF(t *testing.T) {
	store := newS3Store(t)
	c := startS3Engine(t, fmt.Sprintf(s3TestConfig, "%[1]s", "%[2]s", "{mode: avro}"), store)
	recs := s3Records(100, time.Date(2026, 12, 7, 1, 30, 0, 0, time.UTC).UnixMilli())
	sendAll(t, c, recs)
	if rcs := readReplies(t, bufio.NewReader(c), c, len(recs), 10*time.Second); !bytes.Equal(rcs, make([]byte, len(recs))) {
		t.Fatalf("result codes %v", rcs)
	}
	store.mu.Lock()
	defer store.mu.Unlock()
	n := 0
	for key, body := range store.objects {
		if m := s3KeyRE.FindStringSubmatch(key); m == nil || m[9] != "avro" {
			t.Errorf("key %q", key)
		}
		ocf, err := goavro.NewOCFReader(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		for ocf.Scan() {
			if _, err := ocf.Read(); err != nil {
				t.Fatalf("%s: %v", key, err)
			}
			n++
		}
		if err := ocf.Err(); err != nil {
			t.Fatalf("%s: %v", key, err)
		}
	}
	if n != len(recs) {
		t.Errorf("%d records in the OCF objects, sent %d", n, len(recs))
	}
}

// A record is answered only after its object's PUT returned: while the
// store holds the PUT, no reply comes.
// s3Rec is what the object tests read back of a record: enough to tell
// which record it is and that it sits in the right object.
type s3Rec struct {
	set, userKey string
	lut          int64
}

// checkS3Objects decodes every stored object with decode and checks what
// TestS3ObjectsNDJSON checks: the key's extension and the content type,
// every record in an object of its set named after its first record's LUT,
// every record exactly once.
func checkS3Objects(t *testing.T, store *s3Store, n int, ext, contentType string, decode func(key string, body []byte) []s3Rec) {
	t.Helper()
	store.mu.Lock()
	defer store.mu.Unlock()
	seen := map[string]int{}
	for key, body := range store.objects {
		m := s3KeyRE.FindStringSubmatch(key)
		if m == nil || m[9] != ext {
			t.Errorf("key %q: want a key ending .%s matching %s", key, ext, s3KeyRE)
			continue
		}
		if ct := store.types[key]; ct != contentType {
			t.Errorf("%s: content type %q, want %q", key, ct, contentType)
		}
		recs := decode(key, body)
		if len(recs) == 0 {
			t.Errorf("%s: no record", key)
		}
		for i, r := range recs {
			if r.set != m[1] {
				t.Errorf("%s: a record of set %q", key, r.set)
			}
			if i == 0 && strconv.FormatInt(r.lut, 10) != m[6] {
				t.Errorf("%s: first record's LUT %d, key says %s", key, r.lut, m[6])
			}
			seen[r.userKey]++
		}
	}
	for i := range n {
		if k := "k" + strconv.Itoa(i); seen[k] != 1 {
			t.Errorf("record %s stored %d times", k, seen[k])
		}
	}
	if len(seen) != n {
		t.Errorf("%d distinct records stored, sent %d", len(seen), n)
	}
}

func runS3Objects(t *testing.T, format string, n int) *s3Store {
	t.Helper()
	store := newS3Store(t)
	c := startS3Engine(t, fmt.Sprintf(s3TestConfig, "%[1]s", "%[2]s", format), store)
	recs := s3Records(n, time.Date(2026, 12, 7, 1, 30, 0, 0, time.UTC).UnixMilli())
	sendAll(t, c, recs)
	if rcs := readReplies(t, bufio.NewReader(c), c, len(recs), 10*time.Second); !bytes.Equal(rcs, make([]byte, len(recs))) {
		t.Fatalf("result codes %v, want all 0", rcs)
	}
	return store
}

// json with framing json-array: each object is one JSON array of typed
// json messages, .json, application/json; read with encoding/json.
func TestS3ObjectsJSONArray(t *testing.T) {
	store := runS3Objects(t, "{mode: json, framing: json-array}", 150)
	checkS3Objects(t, store, 150, "json", "application/json", func(key string, body []byte) []s3Rec {
		var msgs []struct {
			Msg  string `json:"msg"`
			Key  []any  `json:"key"`
			LUT  int64  `json:"lut"`
			Bins []struct {
				Name  string `json:"name"`
				Type  string `json:"type"`
				Value int64  `json:"value"`
			} `json:"bins"`
		}
		if err := json.Unmarshal(body, &msgs); err != nil {
			t.Fatalf("%s: not a JSON array of messages: %v: %.200s", key, err, body)
		}
		var out []s3Rec
		for _, m := range msgs {
			if m.Msg != "write" || len(m.Key) != 4 || m.Key[0] != "test" || len(m.Bins) != 1 || m.Bins[0].Name != "i" || m.Bins[0].Type != "int" {
				t.Fatalf("%s: message %+v", key, m)
			}
			set, _ := m.Key[1].(string)
			if set == "" {
				set = "-"
			}
			uk, _ := m.Key[3].(string)
			if want := "k" + strconv.FormatInt(m.Bins[0].Value, 10); uk != want {
				t.Errorf("%s: user key %q with bin i %d", key, uk, m.Bins[0].Value)
			}
			out = append(out, s3Rec{set: set, userKey: uk, lut: m.LUT})
		}
		return out
	})
}

// message-pack: each object is one MessagePack array of messages
// (msgpack-array), .msgpack, application/x-msgpack; read with
// vmihailenco/msgpack, not our encoder's reader.
func TestS3ObjectsMsgPackArray(t *testing.T) {
	store := runS3Objects(t, "{mode: message-pack}", 150)
	checkS3Objects(t, store, 150, "msgpack", "application/x-msgpack", func(key string, body []byte) []s3Rec {
		var msgs []any
		if err := msgpack.Unmarshal(body, &msgs); err != nil {
			t.Fatalf("%s: not a MessagePack array: %v", key, err)
		}
		var out []s3Rec
		for _, v := range msgs {
			// write: [1, 1, [key, gen, exp, lut, bins, partial]], key: [ns, set|nil, digest, userKey|nil]
			m, _ := v.([]any)
			if len(m) != 3 || mpInt(m[0]) != 1 || mpInt(m[1]) != 1 {
				t.Fatalf("%s: message %v", key, v)
			}
			w, _ := m[2].([]any)
			if len(w) < 5 {
				t.Fatalf("%s: write %v", key, m[2])
			}
			k, _ := w[0].([]any)
			bins, _ := w[4].([]any)
			if len(k) != 4 || k[0] != "test" || len(bins) != 1 {
				t.Fatalf("%s: key %v bins %v", key, w[0], w[4])
			}
			bin, _ := bins[0].([]any)
			if len(bin) != 4 || bin[0] != "i" {
				t.Fatalf("%s: bin %v", key, bins[0])
			}
			set, _ := k[1].(string)
			if set == "" {
				set = "-"
			}
			uk, _ := k[3].(string)
			if want := "k" + strconv.FormatInt(mpInt(bin[3]), 10); uk != want {
				t.Errorf("%s: user key %q with bin i %v", key, uk, bin[3])
			}
			out = append(out, s3Rec{set: set, userKey: uk, lut: mpInt(w[3])})
		}
		return out
	})
}

// mpInt is a MessagePack integer as the generic decoder returns it (the
// smallest Go type of its encoding); -1<<63 for anything else.
func mpInt(v any) int64 {
	switch x := v.(type) {
	case int8:
		return int64(x)
	case int16:
		return int64(x)
	case int32:
		return int64(x)
	case int64:
		return x
	case uint8:
		return int64(x)
	case uint16:
		return int64(x)
	case uint32:
		return int64(x)
	case uint64:
		return int64(x)
	}
	return -1 << 63
}

func TestS3AnswerAfterPut(t *testing.T) {
	store := newS3Store(t)
	store.hold = make(chan struct{})
	c := startS3Engine(t, fmt.Sprintf(s3TestConfig, "%[1]s", "%[2]s", "{mode: json}"), store)
	recs := s3Records(10, time.Now().UnixMilli())
	sendAll(t, c, recs)
	c.SetReadDeadline(time.Now().Add(time.Second)) // well past the 200 ms batch interval
	if n, err := c.Read(make([]byte, 1)); n != 0 || err == nil {
		t.Fatalf("a reply came while the PUT was held (%d bytes, %v)", n, err)
	}
	store.mu.Lock()
	held := len(store.methods)
	close(store.hold)
	store.hold = nil
	store.mu.Unlock()
	if held == 0 {
		t.Fatal("no PUT was under way")
	}
	if rcs := readReplies(t, bufio.NewReader(c), c, len(recs), 10*time.Second); !bytes.Equal(rcs, make([]byte, len(recs))) {
		t.Fatalf("result codes %v", rcs)
	}
}

// s3KeyFixture is the key function of an s3 destination (default
// template, gzip on) and a batch's first record.
func s3KeyFixture(t testing.TB) (*s3Objects, *wire.Message) {
	cfg := parseConfig(t, `destinations:
  a: {type: s3, urls: ["http://127.0.0.1:1"], bucket: xdr-archive, node: node-1, compression: gzip}
routing: {mode: static, destination: a}
batching: {batch-interval: 2000}
`)
	m := &wire.Message{Namespace: []byte("test"), Set: []byte("users"), HasLUT: true, LUT: uint64(1_000_000_000)}
	return newS3Objects(cfg.Destinations["a"]), m
}

// One key per batch, rendered into the batch's reused buffer: no
// allocation, and each key differs from the last by its {seq}.
func TestS3KeyNoAlloc(t *testing.T) {
	o, m := s3KeyFixture(t)
	buf := o.key(nil, m, "ndjson")
	want := fmt.Sprintf("/xdr-archive/test/users/2010/01/12/13/1263304000000-node-1-%d-00000001.ndjson.gz", o.start)
	if string(buf) != want {
		t.Errorf("key %s, want %s", buf, want)
	}
	if n := testing.AllocsPerRun(1000, func() { buf = o.key(buf[:0], m, "ndjson") }); n != 0 {
		t.Errorf("%v allocations per key", n)
	}
	if !bytes.HasSuffix(buf, []byte("-00001002.ndjson.gz")) {
		t.Errorf("key %s after 1002 keys", buf)
	}
}

func BenchmarkS3Key(b *testing.B) {
	o, m := s3KeyFixture(b)
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf = o.key(buf[:0], m, "ndjson")
	}
}

// verifyS3Signature re-derives a received PUT's signature with the AWS
// SDK's signer in S3 mode (service s3, the path as received, not escaped a
// second time) from the headers the Authorization header names and the
// body's SHA-256.
func verifyS3Signature(r *http.Request, body []byte, creds aws.Credentials) error {
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
	req, err := http.NewRequest(r.Method, "http://"+r.Host+r.RequestURI, nil)
	if err != nil {
		return err
	}
	for _, n := range names {
		if n != "host" && n != "x-amz-date" {
			req.Header[http.CanonicalHeaderKey(n)] = r.Header.Values(n)
		}
	}
	err = v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }).
		SignHTTP(context.Background(), creds, req, payload, "s3", "eu-west-1", at)
	if err != nil {
		return err
	}
	if want := req.Header.Get("Authorization"); want != authz {
		return fmt.Errorf("signature mismatch:\n got %s\nwant %s", authz, want)
	}
	return nil
}

const s3SignedConfig = `service: {address: 127.0.0.1, port: %[2]s, io-threads: 1, reply-deadline: 1500}
destinations:
  archive:
    type: s3
    urls: ["%[1]s"]
    bucket: xdr-archive
    node: "node 1"
    key-template: "node={node}/{namespace}/{set}/{first-lut}-{seq}.{ext}"
    auth: {type: aws-sigv4, service: s3, region: eu-west-1}
    retry: {max-attempts: 3, initial-backoff: 50, max-backoff: 200}
routing: {mode: static, destination: archive}
format: {mode: flat-json}
batching: {max-records: 40, batch-interval: 200}
`

// s3Env gives the AWS SDK's default chain static keys, and nothing else to
// find (no config files, no instance metadata, no CA bundle).
func s3Env(t *testing.T, secret string) {
	for k, v := range map[string]string{"AWS_ACCESS_KEY_ID": "AKIDS3TEST", "AWS_SECRET_ACCESS_KEY": secret,
		"AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_CA_BUNDLE": "", "AWS_SESSION_TOKEN": "", "AWS_PROFILE": ""} {
		t.Setenv(k, v)
	}
}

// Signed PUTs, checked by the SDK's own signer the way S3 checks them,
// with keys that need escaping ('=' and ' '): every object verifies and
// every record is answered 0. With a wrong secret every PUT is refused
// 403: retried, answered 11, never 0, nothing stored.
func TestS3SignedPUT(t *testing.T) {
	creds := aws.Credentials{AccessKeyID: "AKIDS3TEST", SecretAccessKey: "s3-test-secret"}
	t.Run("right secret", func(t *testing.T) {
		s3Env(t, creds.SecretAccessKey)
		store := newS3Store(t)
		store.creds = &creds
		c := startS3Engine(t, fmt.Sprintf(s3SignedConfig, "%[1]s", "%[2]s"), store)
		recs := s3Records(100, time.Now().UnixMilli()-100*60_000)
		sendAll(t, c, recs)
		if rcs := readReplies(t, bufio.NewReader(c), c, len(recs), 10*time.Second); !bytes.Equal(rcs, make([]byte, len(recs))) {
			t.Fatalf("result codes %v", rcs)
		}
		store.mu.Lock()
		defer store.mu.Unlock()
		if store.denied != 0 || len(store.objects) == 0 {
			t.Fatalf("%d PUTs denied, %d objects", store.denied, len(store.objects))
		}
		for key := range store.objects {
			if !strings.HasPrefix(key, "/xdr-archive/node%3Dnode%201/test/") {
				t.Errorf("key %q", key)
			}
		}
	})
	t.Run("wrong secret", func(t *testing.T) {
		s3Env(t, "not-the-secret")
		store := newS3Store(t)
		store.creds = &creds
		c := startS3Engine(t, fmt.Sprintf(s3SignedConfig, "%[1]s", "%[2]s"), store)
		recs := s3Records(20, time.Now().UnixMilli())
		sendAll(t, c, recs)
		rcs := readReplies(t, bufio.NewReader(c), c, len(recs), 10*time.Second)
		store.mu.Lock()
		defer store.mu.Unlock()
		for i, rc := range rcs {
			if rc != wire.RCRetry && rc != wire.RCTimeout {
				t.Errorf("record %d answered %d, want 11 (retry)", i, rc)
			}
		}
		if len(store.objects) != 0 || store.denied < 2 {
			t.Errorf("%d objects stored, %d PUTs denied (want the first try and its retries)", len(store.objects), store.denied)
		}
	})
}

// Virtual-hosted addressing (the default on AWS): the bucket goes in the
// host name and the path is the key alone; path-style puts it in the path.
func TestS3Addressing(t *testing.T) {
	for _, c := range []struct{ url, extra, wantURL, wantPrefix string }{
		{"https://s3.eu-west-1.amazonaws.com", "", "https://xdr-archive.s3.eu-west-1.amazonaws.com", "/test/"},
		{"https://s3.eu-west-1.amazonaws.com", ", path-style: true", "https://s3.eu-west-1.amazonaws.com", "/xdr-archive/test/"},
		{"http://minio.internal:9000/prefix", "", "http://minio.internal:9000/prefix", "/xdr-archive/test/"},
	} {
		cfg := parseConfig(t, `destinations:
  a: {type: s3, urls: ["`+c.url+`"], bucket: xdr-archive, node: n`+c.extra+`}
routing: {mode: static, destination: a}
batching: {batch-interval: 2000}
`)
		cd := cfg.Destinations["a"]
		o := newS3Objects(cd)
		if got := o.urls(cd); len(got) != 1 || got[0] != c.wantURL {
			t.Errorf("%s%s: urls %v, want %s", c.url, c.extra, got, c.wantURL)
		}
		m := &wire.Message{Namespace: []byte("test"), Set: []byte("s"), HasLUT: true, LUT: 1}
		if key := string(o.key(nil, m, "avro")); !strings.HasPrefix(key, c.wantPrefix) || !strings.HasSuffix(key, ".avro") {
			t.Errorf("%s%s: key %s, want %s...", c.url, c.extra, key, c.wantPrefix)
		}
	}
}
