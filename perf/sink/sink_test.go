package sink

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestTLS(t *testing.T) {
	s := startSink(t, Config{TLS: true})
	if !strings.HasPrefix(s.URL(), "https://") {
		t.Fatal(s.URL())
	}
	for _, p := range []proto{h2, h1} {
		c := client(h2)
		if p == h1 { // HTTP/1.1 over TLS: no h2 in ALPN
			c.Transport = &http.Transport{
				TLSClientConfig: &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}},
				TLSNextProto:    map[string]func(string, *tls.Conn) http.RoundTripper{},
			}
		}
		r, err := post(t, c, s.URL(), "application/x-ndjson", []byte(jsonWrite("test", 1)+"\n"))
		if err != nil || r.status != 200 {
			t.Fatalf("%s: %v %+v", p, err, r)
		}
		want := map[proto]string{h2: "HTTP/2.0", h1: "HTTP/1.1"}[p]
		if r.proto != want {
			t.Errorf("%s: protocol %s", p, r.proto)
		}
	}
}

func TestStatsAndIDsEndpoints(t *testing.T) {
	s := startSink(t, Config{})
	c := client(h1)
	body := jsonWrite("test", 1) + "\n" + jsonWrite("test", 1) + "\n" + jsonDelete("other", 2) + "\n"
	if r, err := post(t, c, s.URL(), "application/x-ndjson", []byte(body)); err != nil || r.status != 200 {
		t.Fatal(err, r)
	}
	if r, err := post(t, c, s.URL(), "application/x-ndjson", []byte(esBulk("test", nil, []int{3}))); err != nil || r.status != 200 {
		t.Fatal(err, r)
	}
	get := func(path string) []byte {
		r, err := c.Get(s.URL() + path)
		if err != nil || r.StatusCode != 200 {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer r.Body.Close()
		var buf bytes.Buffer
		buf.ReadFrom(r.Body)
		return buf.Bytes()
	}
	var st Stats
	if err := json.Unmarshal(get("/stats"), &st); err != nil {
		t.Fatal(err)
	}
	if st.Records != 4 || st.Requests != 2 || st.DistinctIDs != 3 || st.Duplicates != 1 || st.ByFormat["es-bulk"].Records != 1 {
		t.Errorf("stats %+v", st)
	}
	for _, q := range []string{"/ids", "/ids?format=ndjson"} {
		set, err := ReadIDs(bytes.NewReader(get(q)))
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if set.Len() != 3 || set.Count("test", dig(1), lut0+1) != 2 || set.Count("other", dig(2), lut0+2) != 1 {
			t.Errorf("%s: %d ids", q, set.Len())
		}
		// The es-bulk delete has only a digest: it matches any namespace and LUT.
		if set.Count("test", dig(3), 12345) != 1 || set.Count("test", dig(4), 1) != 0 {
			t.Errorf("%s: digest-only id", q)
		}
	}
}

func TestStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ids.ndjson")
	s := startSink(t, Config{Store: path, StoreRaw: true})
	c := client(h1)
	post(t, c, s.URL(), "application/x-ndjson", []byte(jsonWrite("test", 1)+"\n"+jsonDelete("test", 2)))
	post(t, c, s.URL(), "application/x-msgpack", mpWrite(nil, "test", 3))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], `"raw":{"msg":"write"`) || !strings.Contains(lines[2], `"rawBase64"`) {
		t.Errorf("store:\n%s", b)
	}
	f, _ := os.Open(path)
	defer f.Close()
	set, err := ReadIDs(f)
	if err != nil || set.Len() != 3 || set.Count("test", dig(3), lut0+3) != 1 {
		t.Errorf("%v %d", err, set.Len())
	}
}

func TestConcurrentRequests(t *testing.T) {
	s := startSink(t, Config{})
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			c := client([]proto{h1, h2c}[g%2])
			for i := 0; i < 25; i++ {
				n := g*100 + i
				if r, err := post(t, c, s.URL(), "application/x-ndjson", []byte(jsonWrite("test", n)+"\n"+flatDelete("test", n+5000))); err != nil || r.status != 200 {
					t.Error(err, r.status)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	if st := s.Stats(); st.Records != 400 || st.DistinctIDs != 400 {
		t.Errorf("records %d ids %d", st.Records, st.DistinctIDs)
	}
}
