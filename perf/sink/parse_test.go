package sink

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

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
