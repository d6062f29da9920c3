package encode_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/xdrhook/xdrhook/encode"
	cc "github.com/xdrhook/xdrhook/encode/crosscheck"
	"github.com/xdrhook/xdrhook/wire"
)

// System tier: the reference implementations decode what the encoders
// write. Apache Avro's own Python implementation (Debian's python3-avro)
// reads single-object datums (after the 10-byte header, with the schema)
// and an object container file; python3-msgpack reads message-pack
// messages and a msgpack-array body. Values are compared with what XDR
// shipped.

const refPython = "/usr/bin/python3"

const refScript = `
import sys, json, io, struct, datetime, decimal, os
mode, dir = sys.argv[1], sys.argv[2]
def norm(v):
    if isinstance(v, (bytes, bytearray)):
        return {"$b": bytes(v).hex()}
    if isinstance(v, bool) or v is None or isinstance(v, (int, str)):
        return v
    if isinstance(v, float):
        return {"$f": struct.pack(">d", v).hex()}
    if isinstance(v, decimal.Decimal):
        return {"$dec": str(v)}
    if isinstance(v, datetime.datetime):
        epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
        if v.tzinfo is None:
            v = v.replace(tzinfo=datetime.timezone.utc)
        return (v - epoch) // datetime.timedelta(milliseconds=1)
    if mode == "msgpack":
        import msgpack
        if isinstance(v, msgpack.ExtType):  # a namedtuple: before tuple
            return {"$ext": [v.code, bytes(v.data).hex()]}
    if isinstance(v, (list, tuple)):
        return [norm(x) for x in v]
    if isinstance(v, dict):
        if mode == "msgpack":
            return {"$map": [[norm(k), norm(x)] for k, x in v.items()]}
        return {k: norm(x) for k, x in v.items()}
    raise TypeError(type(v))
out = {}
if mode == "avro":
    import avro.io, avro.datafile, avro.schema
    parse = getattr(avro.schema, "parse", None) or getattr(avro.schema, "Parse")
    schema = parse(open(os.path.join(dir, "schema.avsc")).read())
    singles = []
    for i in range(int(sys.argv[3])):
        b = open(os.path.join(dir, "s%d.avro" % i), "rb").read()
        assert b[:2] == b"\xc3\x01", "no single-object header"
        r = io.BytesIO(b[10:])
        singles.append(norm(avro.io.DatumReader(schema).read(avro.io.BinaryDecoder(r))))
        assert r.read() == b"", "bytes after the datum"
    out["single"] = singles
    with avro.datafile.DataFileReader(open(os.path.join(dir, "batch.avro"), "rb"), avro.io.DatumReader()) as rd:
        out["ocf"] = [norm(x) for x in rd]
else:
    import msgpack
    un = lambda b: msgpack.unpackb(b, raw=False, strict_map_key=False)
    out["single"] = [norm(un(open(os.path.join(dir, "m%d.mp" % i), "rb").read())) for i in range(int(sys.argv[3]))]
    out["batch"] = norm(un(open(os.path.join(dir, "batch.mp"), "rb").read()))
json.dump(out, sys.stdout)
`

func refNeed(t *testing.T, module string) {
	t.Helper()
	if testing.Short() {
		t.Skip("system tier: run by make test-system")
	}
	if _, err := os.Stat(refPython); err != nil {
		t.Skipf("system tier: %s not found (apt-get install python3 python3-avro python3-msgpack)", refPython)
	}
	if out, err := exec.Command(refPython, "-c", "import "+module).CombinedOutput(); err != nil {
		t.Skipf("system tier: %s cannot import %s (apt-get install python3-avro python3-msgpack): %v %s", refPython, module, err, out)
	}
}

// refRecords are valid UTF-8 throughout (the reference decoders reject
// other strings, as the Avro and MessagePack specifications allow).
func refRecords() []*cc.Record {
	rs := []*cc.Record{richRecord(), deleteRecord()}
	for _, l := range []int{0, 1, 15, 16, 17, 31, 32, 33, 40, 41, 42, 63, 64, 65, 255, 256, 300, 8191, 8192, 65536} {
		text := cc.Text(l, l)
		rs = append(rs, sweepRecord(
			cc.Bin{Name: "s", V: cc.Value{K: cc.Str, B: text}},
			cc.Bin{Name: "blob", V: cc.Value{K: cc.Blob, B: cc.Bytes(l, l)}},
			cc.Bin{Name: "l", V: cc.Value{K: cc.List, Flags: 1, Items: []cc.Value{
				{K: cc.Str, B: text}, {K: cc.Blob, B: cc.Bytes(l, 1)}, {K: cc.Typed, T: wire.ParticleHLL, B: cc.Bytes(l, 2)},
				{K: cc.Ext, T: 3, B: cc.Bytes(l, 3)}}}},
			cc.Bin{Name: "m", V: cc.Value{K: cc.Map, Entries: []cc.Entry{{Key: cc.Value{K: cc.Str, B: text}, Val: cc.Value{K: cc.Int, I: int64(l)}}}}},
		))
	}
	return rs
}

func runRef(t *testing.T, mode, dir string, n int) map[string]any {
	t.Helper()
	cmd := exec.Command(refPython, "-c", refScript, mode, dir, strconv.Itoa(n))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python %s decoder: %v\n%s", mode, err, stderr.Bytes())
	}
	d := json.NewDecoder(bytes.NewReader(out))
	d.UseNumber()
	var v map[string]any
	if err := d.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return fromPy(v).(map[string]any)
}

// fromPy turns the script's JSON into crosscheck's decoded values.
func fromPy(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		u, err := strconv.ParseUint(string(x), 10, 64)
		if err != nil {
			panic(err)
		}
		return u
	case []any:
		for i := range x {
			x[i] = fromPy(x[i])
		}
		return x
	case map[string]any:
		if len(x) == 1 {
			for k, e := range x {
				switch k {
				case "$b":
					b, _ := hex.DecodeString(e.(string))
					return b
				case "$f":
					b, _ := hex.DecodeString(e.(string))
					var u uint64
					for _, c := range b {
						u = u<<8 | uint64(c)
					}
					return math.Float64frombits(u)
				case "$dec":
					r, ok := new(big.Rat).SetString(e.(string))
					if !ok {
						panic(e)
					}
					return r
				case "$ext":
					a := e.([]any)
					c, _ := a[0].(json.Number).Int64()
					b, _ := hex.DecodeString(a[1].(string))
					return cc.MPExt{Type: int8(c), Data: b}
				case "$map":
					var m []cc.MPPair
					for _, p := range e.([]any) {
						kv := p.([]any)
						m = append(m, cc.MPPair{Key: fromPy(kv[0]), Val: fromPy(kv[1])})
					}
					if m == nil {
						m = []cc.MPPair{}
					}
					return m
				}
			}
		}
		for k := range x {
			x[k] = fromPy(x[k])
		}
		return x
	}
	return v
}

// widen makes float32 values float64: Python has one float type.
func widen(v any) any {
	switch x := v.(type) {
	case float32:
		return float64(x)
	case []any:
		for i := range x {
			x[i] = widen(x[i])
		}
	case []cc.MPPair:
		for i := range x {
			x[i].Key, x[i].Val = widen(x[i].Key), widen(x[i].Val)
		}
	}
	return v
}

func TestReferenceAvroPython(t *testing.T) {
	refNeed(t, "avro.io, avro.datafile, avro.schema")
	dir := t.TempDir()
	rs := refRecords()
	if err := os.WriteFile(filepath.Join(dir, "schema.avsc"), []byte(encode.ChangeNotificationSchema()), 0o644); err != nil {
		t.Fatal(err)
	}
	a := encode.NewAvro(nil)
	f := encode.NewAvroOCF(a)
	body := f.Begin(nil)
	for i, r := range rs {
		m := message(t, r)
		b, err := a.Append(nil, m, indepNow)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("s%d.avro", i)), b, 0o644); err != nil {
			t.Fatal(err)
		}
		if body, err = f.Append(body, m, indepNow); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "batch.avro"), f.End(body), 0o644); err != nil {
		t.Fatal(err)
	}
	got := runRef(t, "avro", dir, len(rs))
	for _, part := range []string{"single", "ocf"} {
		recs := got[part].([]any)
		if len(recs) != len(rs) {
			t.Fatalf("%s: %d records, want %d", part, len(recs), len(rs))
		}
		for i, r := range rs {
			if err := cc.CompareAvro(recs[i], cc.ExpectAvro(r, indepNow), false); err != nil {
				t.Errorf("Apache Avro (Python), %s record %d: %v", part, i, err)
			}
		}
	}
}

func TestReferenceMsgPackPython(t *testing.T) {
	refNeed(t, "msgpack")
	dir := t.TempDir()
	rs := refRecords()
	enc := &encode.MsgPack{}
	f := encode.NewMsgPackArray(nil)
	body := f.Begin(nil)
	for i, r := range rs {
		m := message(t, r)
		b, err := enc.Append(nil, m, indepNow)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("m%d.mp", i)), b, 0o644); err != nil {
			t.Fatal(err)
		}
		if body, err = f.Append(body, m, indepNow); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "batch.mp"), f.End(body), 0o644); err != nil {
		t.Fatal(err)
	}
	got := runRef(t, "msgpack", dir, len(rs))
	single := got["single"].([]any)
	batch := got["batch"].([]any)
	if len(single) != len(rs) || len(batch) != len(rs) {
		t.Fatalf("%d and %d messages, want %d", len(single), len(batch), len(rs))
	}
	for i, r := range rs {
		want := widen(cc.ExpectMsgPack(r, indepNow))
		if err := cc.CompareMsgPack(single[i], want); err != nil {
			t.Errorf("python3-msgpack, message %d: %v", i, err)
		}
		if err := cc.CompareMsgPack(batch[i], want); err != nil {
			t.Errorf("python3-msgpack, msgpack-array message %d: %v", i, err)
		}
	}
}
