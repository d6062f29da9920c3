package sink

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/hamba/avro/v2/ocf"
	"github.com/tinylib/msgp/msgp"
	"golang.org/x/net/http2"
)

// Bodies are built by hand here, following output-formats.md, so the sink
// is tested independently of the encoders in encode/.

func dig(i int) [20]byte {
	var d [20]byte
	for j := range d {
		d[j] = byte(i*31 + j)
	}
	return d
}

func b64(d [20]byte) string { return base64.StdEncoding.EncodeToString(d[:]) }

const lut0 = 1734388704784

// jsonWrite is a json (typed) write message.
func jsonWrite(ns string, i int) string {
	return fmt.Sprintf(`{"msg":"write","key":[%q,"myset",%q,%d],"gen":1,"exp":0,"lut":%d,`+
		`"bins":[{"name":"name","type":"str","value":"colton"},{"name":"age","type":"int","value":27},`+
		`{"name":"f","type":"float","value":"NaN"},{"name":"b","type":"blob","value":"AAE="},`+
		`{"name":"l","type":"list","value":[1,"a",2.5,true,null],"ordered":false},`+
		`{"name":"mapTest","type":"map","value":{"a":1,"b":2},"order":"unordered"},`+
		`{"name":"g","type":"geojson","value":{"type":"Point","coordinates":[1,2]}},{"name":"gone","type":"null","value":null}]}`,
		ns, b64(dig(i)), i, lut0+int64(i))
}

// jsonDelete is a json (typed) delete message.
func jsonDelete(ns string, i int) string {
	return fmt.Sprintf(`{"msg":"delete","key":[%q,null,%q,null],"durable":true,"gen":2,"lut":%d}`, ns, b64(dig(i)), lut0+int64(i))
}

// flatWrite is a flat-json write message with metadata under key mk.
func flatWrite(mk, ns string, i int) string {
	return fmt.Sprintf(`{%q:{"namespace":%q,"set":"myset","userKey":%d,"digest":%q,"msg":"write","gen":1,"lut":%d,"exp":0},"name":"colton","age":27,"mapTest":{"a":1}}`,
		mk, ns, i, b64(dig(i)), lut0+int64(i))
}

func flatDelete(ns string, i int) string {
	return fmt.Sprintf(`{"metadata":{"namespace":%q,"digest":%q,"msg":"delete","gen":2,"lut":%d,"durable":false}}`, ns, b64(dig(i)), lut0+int64(i))
}

func esBulk(ns string, writes, deletes []int) string {
	var b strings.Builder
	for _, i := range writes {
		d := dig(i)
		fmt.Fprintf(&b, "{\"index\":{\"_index\":\"myset\",\"_id\":\"%x\"}}\n%s\n", d[:], flatWrite("metadata", ns, i))
	}
	for _, i := range deletes {
		d := dig(i)
		fmt.Fprintf(&b, "{\"delete\":{\"_index\":\"myset\",\"_id\":\"%x\"}}\n", d[:])
	}
	return b.String()
}

func splunk(ns string, is ...int) string {
	var parts []string
	for _, i := range is {
		parts = append(parts, fmt.Sprintf(`{"time":%d.%03d,"event":%s,"sourcetype":"xdrhook"}`, (lut0+i)/1000, (lut0+i)%1000, flatWrite("metadata", ns, i)))
	}
	return strings.Join(parts, "\n")
}

// mpWrite is [1, 1, [key, gen, exp, lut, bins, partial]].
func mpWrite(b []byte, ns string, i int) []byte {
	d := dig(i)
	b = msgp.AppendArrayHeader(b, 3)
	b = msgp.AppendInt(b, 1)
	b = msgp.AppendInt(b, 1)
	b = msgp.AppendArrayHeader(b, 6)
	b = mpKey(b, ns, d, i)
	b = msgp.AppendInt(b, 1) // gen
	b = msgp.AppendInt(b, 0) // exp
	b = msgp.AppendInt64(b, lut0+int64(i))
	b = msgp.AppendArrayHeader(b, 3) // bins
	b = msgp.AppendArrayHeader(b, 4)
	b = msgp.AppendString(b, "name")
	b = msgp.AppendInt(b, 3)
	b = msgp.AppendInt(b, 0)
	b = msgp.AppendString(b, "colton")
	b = msgp.AppendArrayHeader(b, 4) // a map with integer keys and an ext value
	b = msgp.AppendString(b, "m")
	b = msgp.AppendInt(b, 19)
	b = msgp.AppendInt(b, 1)
	b = msgp.AppendMapHeader(b, 2)
	b = msgp.AppendInt(b, 7)
	b, _ = msgp.AppendExtension(b, &msgp.RawExtension{Type: 23, Data: []byte(`{"type":"Point","coordinates":[1,2]}`)})
	b = msgp.AppendInt(b, -1)
	b = msgp.AppendBytes(b, []byte{1, 2})
	b = msgp.AppendArrayHeader(b, 4)
	b = msgp.AppendString(b, "f")
	b = msgp.AppendInt(b, 2)
	b = msgp.AppendInt(b, 0)
	b = msgp.AppendFloat64(b, 2.5)
	return msgp.AppendBool(b, false) // partial
}

// mpDelete is [1, 2, [key, flags, gen, lut]].
func mpDelete(b []byte, ns string, i int) []byte {
	b = msgp.AppendArrayHeader(b, 3)
	b = msgp.AppendInt(b, 1)
	b = msgp.AppendInt(b, 2)
	b = msgp.AppendArrayHeader(b, 4)
	b = mpKey(b, ns, dig(i), -1)
	b = msgp.AppendInt(b, 1) // durable
	b = msgp.AppendInt(b, 2)
	return msgp.AppendInt64(b, lut0+int64(i))
}

func mpKey(b []byte, ns string, d [20]byte, userKey int) []byte {
	b = msgp.AppendArrayHeader(b, 4)
	b = msgp.AppendString(b, ns)
	if userKey < 0 {
		b = msgp.AppendNil(b)
		b = msgp.AppendBytes(b, d[:])
		return msgp.AppendNil(b)
	}
	b = msgp.AppendString(b, "myset")
	b = msgp.AppendBytes(b, d[:])
	return msgp.AppendInt(b, userKey)
}

func schemaText(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile("../../encode/schema/change_notification.avsc")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func avroValue(ns string, i int, kind string) map[string]any {
	v := map[string]any{"msg": kind, "namespace": ns, "set": map[string]any{"string": "myset"},
		"userKey": map[string]any{"long": int64(i)}, "digest": dig(i), "gen": int64(1),
		"lut": time.UnixMilli(lut0 + int64(i)), "exp": int64(0), "durable": false, "partial": false, "bins": []any{}}
	if kind == "write" {
		v["bins"] = []any{
			map[string]any{"name": "a", "type": 1, "value": map[string]any{"long": int64(5)}},
			map[string]any{"name": "l", "type": 20, "value": map[string]any{"io.xdrhook.List": map[string]any{"ordered": true,
				"items": []any{map[string]any{"long": int64(1)}, map[string]any{"string": "x"}}}}},
		}
	}
	return v
}

// avroSingle is C3 01, the fingerprint (little-endian), the datum.
func avroSingle(t testing.TB, schema string, fp []byte, ns string, i int) []byte {
	t.Helper()
	s, err := avro.ParseWithCache(schema, "", &avro.SchemaCache{})
	if err != nil {
		t.Fatal(err)
	}
	datum, err := avro.Marshal(s, avroValue(ns, i, "write"))
	if err != nil {
		t.Fatal(err)
	}
	if fp == nil {
		fp, _ = s.FingerprintUsing(avro.CRC64AvroLE)
	}
	return append(append([]byte{0xc3, 0x01}, fp...), datum...)
}

func avroOCF(t testing.TB, schema string, codec ocf.CodecName, ns string, is ...int) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc, err := ocf.NewEncoder(schema, &buf, ocf.WithCodec(codec), ocf.WithEncoderSchemaCache(&avro.SchemaCache{}))
	if err != nil {
		t.Fatal(err)
	}
	for k, i := range is {
		kind := "write"
		if k%2 == 1 {
			kind = "delete"
		}
		if err := enc.Encode(avroValue(ns, i, kind)); err != nil {
			t.Fatal(err)
		}
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func le64(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }

func hexID(i int) string { d := dig(i); return hex.EncodeToString(d[:]) }

// Clients.

type proto string

const (
	h1  proto = "h1"
	h2c proto = "h2c"
	h2  proto = "h2" // over TLS
	// h1TLS is HTTP/1.1 over TLS.
	h1TLS proto = "h1-tls"
)

func client(p proto) *http.Client {
	switch p {
	case h2c:
		return &http.Client{Timeout: 5 * time.Second, Transport: &http2.Transport{
			AllowHTTP: true,
			DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, network, addr)
			},
		}}
	case h2:
		return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
			TLSClientConfig:   &tls.Config{InsecureSkipVerify: true},
			ForceAttemptHTTP2: true,
		}}
	}
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{}}
}

func startSink(t *testing.T, cfg Config) *Sink {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

type resp struct {
	status int
	proto  string
	header http.Header
	body   string
}

func post(t *testing.T, c *http.Client, url, ctype string, body []byte, hdr ...string) (resp, error) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ctype)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	r, err := c.Do(req)
	if err != nil {
		return resp{}, err
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	return resp{r.StatusCode, r.Proto, r.Header, string(b)}, nil
}
