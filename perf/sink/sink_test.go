package sink

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/hamba/avro/v2/ocf"
	"github.com/tinylib/msgp/msgp"
)

type bodyCase struct {
	name    string
	ctype   string
	body    []byte
	hdr     []string
	format  string
	records int
	ids     []ID // expected among the received ids
}

func wantID(ns string, i int, kind Kind) ID {
	return ID{Namespace: ns, Digest: dig(i), LUT: lut0 + int64(i), Kind: kind}
}

func formatCases(t *testing.T) []bodyCase {
	ns := "test"
	var mpArr []byte
	mpArr = msgp.AppendArrayHeader(mpArr, 3)
	mpArr = mpWrite(mpArr, ns, 40)
	mpArr = mpDelete(mpArr, ns, 41)
	mpArr = mpWrite(mpArr, ns, 42)
	cases := []bodyCase{
		{name: "json write", ctype: "application/json", body: []byte(jsonWrite(ns, 1)), format: FormatJSON, records: 1,
			ids: []ID{wantID(ns, 1, KindWrite)}, hdr: []string{"Idempotency-Key", fmt.Sprintf("%s-%d-1", hexID(1), lut0+1)}},
		{name: "json delete", ctype: "application/json; charset=utf-8", body: []byte(jsonDelete(ns, 2)), format: FormatJSON, records: 1,
			ids: []ID{wantID(ns, 2, KindDelete)}},
		{name: "flat-json write", ctype: "application/json", body: []byte(flatWrite("metadata", ns, 3)), format: FormatJSON, records: 1,
			ids: []ID{wantID(ns, 3, KindWrite)}},
		{name: "flat-json delete", ctype: "application/json", body: []byte(flatDelete(ns, 4)), format: FormatJSON, records: 1,
			ids: []ID{wantID(ns, 4, KindDelete)}},
		{name: "ndjson", ctype: "application/x-ndjson",
			body:   []byte(jsonWrite(ns, 5) + "\n" + jsonDelete(ns, 6) + "\n" + flatWrite("metadata", ns, 7) + "\n"),
			format: FormatNDJSON, records: 3, hdr: []string{"Xdrhook-Records", "3"},
			ids: []ID{wantID(ns, 5, KindWrite), wantID(ns, 6, KindDelete), wantID(ns, 7, KindWrite)}},
		{name: "ndjson gzip", ctype: "application/x-ndjson", hdr: []string{"Content-Encoding", "gzip"},
			body:   gz([]byte(jsonWrite(ns, 8) + "\n" + jsonDelete(ns, 9))),
			format: FormatNDJSON, records: 2, ids: []ID{wantID(ns, 8, KindWrite), wantID(ns, 9, KindDelete)}},
		{name: "json-array", ctype: "application/json",
			body:   []byte("[" + jsonWrite(ns, 10) + "," + flatDelete(ns, 11) + "]"),
			format: FormatJSONArray, records: 2, ids: []ID{wantID(ns, 10, KindWrite), wantID(ns, 11, KindDelete)}},
		{name: "json-array of one", ctype: "application/json", body: []byte("[" + jsonWrite(ns, 12) + "]"),
			format: FormatJSONArray, records: 1, ids: []ID{wantID(ns, 12, KindWrite)}},
		{name: "es-bulk", ctype: "application/x-ndjson", body: []byte(esBulk(ns, []int{13, 14}, []int{15})),
			format: FormatESBulk, records: 3,
			ids: []ID{wantID(ns, 13, KindWrite), wantID(ns, 14, KindWrite), {Digest: dig(15), LUT: LUTUnknown, Kind: KindDelete}}},
		{name: "splunk-hec", ctype: "application/json", body: []byte(splunk(ns, 16, 17)),
			format: FormatSplunkHEC, records: 2, ids: []ID{wantID(ns, 16, KindWrite), wantID(ns, 17, KindWrite)}},
		{name: "splunk-hec of one", ctype: "application/json", body: []byte(splunk(ns, 18)),
			format: FormatSplunkHEC, records: 1, ids: []ID{wantID(ns, 18, KindWrite)}},
		{name: "msgpack write", ctype: "application/x-msgpack", body: mpWrite(nil, ns, 20), format: FormatMsgpack, records: 1,
			ids: []ID{wantID(ns, 20, KindWrite)}},
		{name: "msgpack delete", ctype: "application/x-msgpack", body: mpDelete(nil, ns, 21), format: FormatMsgpack, records: 1,
			ids: []ID{wantID(ns, 21, KindDelete)}},
		{name: "msgpack-array", ctype: "application/x-msgpack", body: mpArr, format: FormatMsgpackArray, records: 3,
			ids: []ID{wantID(ns, 40, KindWrite), wantID(ns, 41, KindDelete), wantID(ns, 42, KindWrite)}},
	}
	schema := schemaText(t)
	cases = append(cases,
		bodyCase{name: "avro single", ctype: "avro/binary", body: avroSingle(t, schema, nil, ns, 30), format: FormatAvro, records: 1,
			ids: []ID{wantID(ns, 30, KindWrite)}},
		bodyCase{name: "avro-ocf", ctype: "avro/binary", body: avroOCF(t, schema, ocf.Null, ns, 31, 32, 33), format: FormatAvroOCF, records: 3,
			ids: []ID{wantID(ns, 31, KindWrite), wantID(ns, 32, KindDelete), wantID(ns, 33, KindWrite)}},
		bodyCase{name: "avro-ocf deflate", ctype: "avro/binary", body: avroOCF(t, schema, ocf.Deflate, ns, 34), format: FormatAvroOCF, records: 1,
			ids: []ID{wantID(ns, 34, KindWrite)}},
	)
	return cases
}

func TestFormats(t *testing.T) {
	for _, p := range []proto{h1, h2c} {
		t.Run(string(p), func(t *testing.T) {
			s := startSink(t, Config{})
			c := client(p)
			total := 0
			for _, bc := range formatCases(t) {
				r, err := post(t, c, s.URL()+"/ingest", bc.ctype, bc.body, bc.hdr...)
				if err != nil {
					t.Fatalf("%s: %v", bc.name, err)
				}
				if r.status != http.StatusOK {
					t.Errorf("%s: status %d: %s", bc.name, r.status, r.body)
					continue
				}
				want := "HTTP/1.1"
				if p == h2c {
					want = "HTTP/2.0"
				}
				if r.proto != want {
					t.Errorf("%s: protocol %s", bc.name, r.proto)
				}
				total += bc.records
				for _, id := range bc.ids {
					if s.IDs().Count(id.Namespace, id.Digest, id.LUT) != 1 {
						t.Errorf("%s: id %v not received", bc.name, id)
					}
				}
			}
			st := s.Stats()
			if st.Records != int64(total) || st.Invalid != 0 {
				t.Errorf("records %d invalid %d (%s), want %d", st.Records, st.Invalid, st.LastInvalid, total)
			}
			for _, bc := range formatCases(t) {
				if st.ByFormat[bc.format] == nil || st.ByFormat[bc.format].Records == 0 {
					t.Errorf("format %s not counted: %+v", bc.format, st.ByFormat)
				}
			}
			if st.ByMode["json"] == 0 || st.ByMode["flat-json"] == 0 || st.ByMode["message-pack"] == 0 {
				t.Errorf("modes %v", st.ByMode)
			}
			if st.ByProto[map[proto]string{h1: "HTTP/1.1", h2c: "HTTP/2.0"}[p]] == 0 {
				t.Errorf("protocols %v", st.ByProto)
			}
		})
	}
}

// Each format detected by its content type and body.
func TestDetect(t *testing.T) {
	for _, bc := range formatCases(t) {
		if got := detect(bc.ctype, bc.body); got != bc.format && bc.hdr == nil {
			t.Errorf("%s: detected %s, want %s", bc.name, got, bc.format)
		}
		// Without a content type, by sniffing alone (gzip bodies aside).
		if bc.name == "ndjson gzip" {
			continue
		}
		if got := detect("", bc.body); got != bc.format {
			t.Errorf("%s: sniffed %s, want %s", bc.name, got, bc.format)
		}
	}
}

func TestInvalid(t *testing.T) {
	ns := "test"
	w := jsonWrite(ns, 1)
	mpw := mpWrite(nil, ns, 1)
	cases := []struct {
		name, ctype string
		body        []byte
		hdr         []string
	}{
		{"not json", "application/json", []byte(`{"msg":`), nil},
		{"duplicate key", "application/json", []byte(strings.Replace(w, `"gen":1`, `"gen":1,"gen":2`, 1)), nil},
		{"short digest", "application/json", []byte(strings.Replace(w, b64(dig(1)), "AAAA", 1)), nil},
		{"no lut", "application/json", []byte(strings.Replace(w, fmt.Sprintf(`,"lut":%d`, lut0+1), "", 1)), nil},
		{"float lut", "application/json", []byte(strings.Replace(w, fmt.Sprintf(`"lut":%d`, lut0+1), `"lut":1.5`, 1)), nil},
		{"bad msg", "application/json", []byte(strings.Replace(w, `"msg":"write"`, `"msg":"update"`, 1)), nil},
		{"bad bin type", "application/json", []byte(strings.Replace(w, `"type":"str"`, `"type":"text"`, 1)), nil},
		{"invalid utf-8", "application/json", []byte(strings.Replace(w, "colton", "col\xfftn", 1)), nil},
		{"neither json nor flat", "application/json", []byte(`{"a":1}`), nil},
		{"flat-json without namespace", "application/json", []byte(strings.Replace(flatDelete(ns, 1), `"namespace":"test",`, "", 1)), nil},
		{"ndjson bad line", "application/x-ndjson", []byte(w + "\n{}\n"), nil},
		{"json-array trailing", "application/json", []byte("[" + w + "] x"), nil},
		{"es-bulk id mismatch", "application/x-ndjson", []byte(strings.Replace(esBulk(ns, []int{1}, nil), hexID(1), hexID(2), 1)), nil},
		{"es-bulk action without doc", "application/x-ndjson", []byte(`{"index":{"_index":"s","_id":"` + hexID(1) + `"}}` + "\n"), nil},
		{"splunk without time", "application/json", []byte(`{"event":` + flatWrite("metadata", ns, 1) + `}`), nil},
		{"msgpack trailing", "application/x-msgpack", append(append([]byte{}, mpw...), 0xc0), nil},
		{"msgpack version 2", "application/x-msgpack", append([]byte{0x93, 0x02}, mpw[2:]...), nil},
		{"msgpack truncated", "application/x-msgpack", mpw[:len(mpw)-3], nil},
		{"msgpack short digest", "application/x-msgpack", msgpShortDigest(), nil},
		{"records header", "application/x-ndjson", []byte(w + "\n" + w), []string{"Xdrhook-Records", "3"}},
		{"idempotency key", "application/json", []byte(w), []string{"Idempotency-Key", hexID(2) + "-1-1"}},
		{"bad gzip", "application/json", []byte(w), []string{"Content-Encoding", "gzip"}},
	}
	schema := schemaText(t)
	single := avroSingle(t, schema, nil, ns, 1)
	cases = append(cases,
		struct {
			name, ctype string
			body        []byte
			hdr         []string
		}{"avro unknown fingerprint", "avro/binary", avroSingle(t, schema, le64(12345), ns, 1), nil},
		struct {
			name, ctype string
			body        []byte
			hdr         []string
		}{"avro truncated datum", "avro/binary", single[:len(single)-4], nil},
		struct {
			name, ctype string
			body        []byte
			hdr         []string
		}{"avro trailing bytes", "avro/binary", append(append([]byte{}, single...), 0, 0), nil},
		struct {
			name, ctype string
			body        []byte
			hdr         []string
		}{"avro-ocf truncated", "avro/binary", func() []byte { b := avroOCF(t, schema, ocf.Null, ns, 1, 2); return b[:len(b)-20] }(), nil},
	)
	for _, p := range []proto{h1, h2c} {
		t.Run(string(p), func(t *testing.T) {
			s := startSink(t, Config{})
			c := client(p)
			for _, tc := range cases {
				r, err := post(t, c, s.URL(), tc.ctype, tc.body, tc.hdr...)
				if err != nil {
					t.Fatalf("%s: %v", tc.name, err)
				}
				if r.status != http.StatusBadRequest {
					t.Errorf("%s: status %d, want 400", tc.name, r.status)
				}
			}
			st := s.Stats()
			if st.Invalid != int64(len(cases)) || st.Records != 0 || st.DistinctIDs != 0 || st.ByStatus[400] != int64(len(cases)) {
				t.Errorf("invalid %d (want %d), records %d, ids %d, statuses %v", st.Invalid, len(cases), st.Records, st.DistinctIDs, st.ByStatus)
			}
		})
	}
}

func msgpShortDigest() []byte {
	b := msgp.AppendArrayHeader(nil, 3)
	b = msgp.AppendInt(b, 1)
	b = msgp.AppendInt(b, 2)
	b = msgp.AppendArrayHeader(b, 4)
	b = msgp.AppendArrayHeader(b, 4)
	b = msgp.AppendString(b, "test")
	b = msgp.AppendNil(b)
	b = msgp.AppendBytes(b, []byte{1, 2, 3})
	b = msgp.AppendNil(b)
	b = msgp.AppendInt(b, 0)
	b = msgp.AppendInt(b, 1)
	return msgp.AppendInt(b, 5)
}

func TestMetadataKeyFlag(t *testing.T) {
	s := startSink(t, Config{MetadataKey: "_meta"})
	r, err := post(t, client(h1), s.URL(), "application/json", []byte(flatWrite("_meta", "test", 1)))
	if err != nil || r.status != 200 {
		t.Fatalf("%v %+v", err, r)
	}
	r, _ = post(t, client(h1), s.URL(), "application/json", []byte(flatWrite("metadata", "test", 2)))
	if r.status != 400 {
		t.Errorf("metadata under the default key accepted with --metadata-key _meta: %d", r.status)
	}
}

func TestAvroWithoutSchema(t *testing.T) {
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	s.ps.codec, s.ps.fps = nil, nil // as when the built-in schema is not found
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	body := append([]byte{0xc3, 0x01}, le64(99)...)
	body = append(body, 1, 2, 3)
	r, err := post(t, client(h1), s.URL(), "avro/binary", body)
	if err != nil || r.status != 200 {
		t.Fatalf("%v %+v", err, r)
	}
	if st := s.Stats(); st.Unvalidated != 1 || st.Records != 1 {
		t.Errorf("unvalidated %d records %d", st.Unvalidated, st.Records)
	}
}

// The Avro fingerprint: our CRC-64-AVRO agrees with hamba's; a schema with
// logical types is accepted under both canonical forms.
func TestAvroFingerprints(t *testing.T) {
	s, err := avro.ParseWithCache(`{"type":"record","name":"R","fields":[{"name":"a","type":"long"}]}`, "", &avro.SchemaCache{})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := s.FingerprintUsing(avro.CRC64AvroLE)
	fps := avroFingerprints(s.String())
	if len(fps) != 1 || !bytes.Equal(fps[0][:], want) {
		t.Errorf("fingerprints %x, hamba %x", fps, want)
	}
	s2, err := avro.ParseWithCache(`{"type":"record","name":"R","fields":[{"name":"t","type":{"type":"long","logicalType":"timestamp-millis"}},`+
		`{"name":"d","type":{"type":"fixed","name":"D","size":9,"logicalType":"decimal","precision":20,"scale":0}}]}`, "", &avro.SchemaCache{})
	if err != nil {
		t.Fatal(err)
	}
	fps = avroFingerprints(s2.String())
	strict := `{"name":"R","type":"record","fields":[{"name":"t","type":"long"},{"name":"d","type":{"name":"D","type":"fixed","size":9}}]}`
	var sf [8]byte
	copy(sf[:], le64(crc64Avro([]byte(strict))))
	if len(fps) != 2 || fps[1] != sf {
		t.Errorf("stripped form: %s; fingerprints %x, want %x", logicalAttr.ReplaceAllString(logicalPrim.ReplaceAllString(s2.String(), `"$1"`), ""), fps, sf)
	}
}

func TestFaultFailFirstAndRetryAfter(t *testing.T) {
	for _, p := range []proto{h1, h2c} {
		t.Run(string(p), func(t *testing.T) { testFailFirst(t, p) })
	}
}

func testFailFirst(t *testing.T, p proto) {
	s := startSink(t, Config{FailFirst: 2, FailStatus: 429, RetryAfter: "1"})
	c := client(p)
	for i := 0; i < 4; i++ {
		r, err := post(t, c, s.URL(), "application/json", []byte(jsonWrite("test", i)))
		if err != nil {
			t.Fatal(err)
		}
		want := 200
		if i < 2 {
			want = 429
			if r.header.Get("Retry-After") != "1" {
				t.Errorf("request %d: Retry-After %q", i, r.header.Get("Retry-After"))
			}
		}
		if r.status != want {
			t.Errorf("request %d: status %d, want %d", i, r.status, want)
		}
	}
	st := s.Stats()
	if st.Faults["fail-first"] != 2 || st.Records != 2 || st.ByStatus[429] != 2 || st.DistinctIDs != 2 {
		t.Errorf("stats %+v", st)
	}
}

func TestFaultFailRateDeterministic(t *testing.T) {
	for _, p := range []proto{h1, h2c} {
		t.Run(string(p), func(t *testing.T) { testFailRate(t, p) })
	}
}

func testFailRate(t *testing.T, p proto) {
	seq := func() string {
		s := startSink(t, Config{FailRate: 0.5, Seed: 42})
		defer s.Close()
		c := client(p)
		var b strings.Builder
		for i := 0; i < 40; i++ {
			r, err := post(t, c, s.URL(), "application/json", []byte(jsonWrite("test", i)))
			if err != nil {
				t.Fatal(err)
			}
			b.WriteString(map[int]string{200: ".", 503: "x"}[r.status])
		}
		st := s.Stats()
		if st.Faults["fail-rate"]+st.Accepted != 40 {
			t.Errorf("faults %d accepted %d", st.Faults["fail-rate"], st.Accepted)
		}
		return b.String()
	}
	a, b := seq(), seq()
	if a != b {
		t.Errorf("same seed, different faults:\n%s\n%s", a, b)
	}
	n := strings.Count(a, "x")
	if n < 8 || n > 32 {
		t.Errorf("%d of 40 failed at rate 0.5: %s", n, a)
	}
}

func TestFaultLatency(t *testing.T) {
	for _, p := range []proto{h1, h2c} {
		t.Run(string(p), func(t *testing.T) { testLatency(t, p) })
	}
}

func testLatency(t *testing.T, p proto) {
	for _, rnd := range []bool{false, true} {
		s := startSink(t, Config{Latency: 80 * time.Millisecond, LatencyRand: rnd, Seed: 1})
		c := client(p)
		var maxd, mind time.Duration = 0, time.Hour
		for i := 0; i < 4; i++ {
			start := time.Now()
			r, err := post(t, c, s.URL(), "application/json", []byte(jsonWrite("test", i)))
			if err != nil || r.status != 200 {
				t.Fatal(err, r.status)
			}
			d := time.Since(start)
			maxd, mind = max(maxd, d), min(mind, d)
		}
		if !rnd && mind < 80*time.Millisecond {
			t.Errorf("fixed latency: a request took %v", mind)
		}
		if rnd && (mind >= 80*time.Millisecond || maxd > 2*time.Second) {
			t.Errorf("random latency: %v..%v", mind, maxd)
		}
		if s.Stats().Faults["latency"] == 0 {
			t.Error("latency not counted")
		}
	}
}

func TestFaultHangup(t *testing.T) {
	for _, p := range []proto{h1, h2c} {
		t.Run(string(p), func(t *testing.T) {
			s := startSink(t, Config{HangupRate: 1})
			_, err := post(t, client(p), s.URL(), "application/json", []byte(jsonWrite("test", 1)))
			if err == nil {
				t.Fatal("a request on a connection closed mid-request succeeded")
			}
			st := s.Stats()
			if st.Faults["hangup"] != 1 || st.Records != 0 {
				t.Errorf("faults %v records %d", st.Faults, st.Records)
			}
		})
	}
	// A fraction: some requests fail, the rest go through (new connections).
	for _, p := range []proto{h1, h2c} {
		t.Run(string(p)+"-fraction", func(t *testing.T) { testHangupFraction(t, p) })
	}
}

func testHangupFraction(t *testing.T, p proto) {
	s := startSink(t, Config{HangupRate: 0.3, Seed: 7})
	c := client(p)
	ok, failed := 0, 0
	for i := 0; i < 30; i++ {
		if r, err := post(t, c, s.URL(), "application/json", []byte(jsonWrite("test", i))); err == nil && r.status == 200 {
			ok++
		} else {
			failed++
		}
	}
	if ok == 0 || failed == 0 || s.Stats().Faults["hangup"] != int64(failed) {
		t.Errorf("ok %d failed %d faults %v", ok, failed, s.Stats().Faults)
	}
}

func TestFaultDown(t *testing.T) {
	for _, p := range []proto{h1, h2c} {
		t.Run(string(p), func(t *testing.T) { testDown(t, p) })
	}
}

func testDown(t *testing.T, p proto) {
	s := startSink(t, Config{DownAfter: 150 * time.Millisecond, DownFor: 400 * time.Millisecond})
	c := client(p)
	if r, err := post(t, c, s.URL(), "application/json", []byte(jsonWrite("test", 1))); err != nil || r.status != 200 {
		t.Fatalf("before the outage: %v", err)
	}
	time.Sleep(250 * time.Millisecond)
	if _, err := post(t, c, s.URL(), "application/json", []byte(jsonWrite("test", 2))); err == nil {
		t.Error("a request during the outage succeeded")
	}
	deadline := time.Now().Add(3 * time.Second)
	for {
		r, err := post(t, c, s.URL(), "application/json", []byte(jsonWrite("test", 3)))
		if err == nil && r.status == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not back up: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if st := s.Stats(); st.Faults["down"] != 1 || st.Records != 2 {
		t.Errorf("faults %v records %d", st.Faults, st.Records)
	}
}

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

func TestCountMode(t *testing.T) {
	s := startSink(t, Config{Check: "count", NoIDs: true})
	c := client(h2c)
	want := 0
	for _, bc := range formatCases(t) {
		r, err := post(t, c, s.URL(), bc.ctype, bc.body, bc.hdr...)
		if err != nil || r.status != 200 {
			t.Fatalf("%s: %v %+v", bc.name, err, r)
		}
		want += bc.records
	}
	if st := s.Stats(); st.Records != int64(want) || st.DistinctIDs != 0 {
		t.Errorf("records %d, want %d; ids %d", st.Records, want, st.DistinctIDs)
	}
}

func TestIDSetBinaryRoundTrip(t *testing.T) {
	a := NewIDSet(0)
	for i := 0; i < 100; i++ {
		a.Add(ID{Namespace: fmt.Sprint("ns", i%3), Digest: dig(i), LUT: int64(i) - 1, Kind: Kind(i % 3)})
	}
	a.Add(ID{Namespace: "ns0", Digest: dig(0), LUT: -1})
	var buf bytes.Buffer
	if err := a.WriteBinary(&buf); err != nil {
		t.Fatal(err)
	}
	b, err := ReadIDs(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if b.Len() != 100 || b.Count("ns0", dig(0), -1) != 2 || b.Duplicates() != 1 {
		t.Errorf("len %d count %d dups %d", b.Len(), b.Count("ns0", dig(0), -1), b.Duplicates())
	}
	if _, err := ReadIDs(bytes.NewReader(buf.Bytes()[:20])); err == nil {
		t.Error("truncated set accepted")
	}
	bounded := NewIDSet(10)
	for i := 0; i < 20; i++ {
		bounded.Add(ID{Digest: dig(i)})
	}
	if bounded.Len() != 10 || !bounded.Truncated() {
		t.Error("bound")
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
