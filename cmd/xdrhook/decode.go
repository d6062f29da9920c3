package main

import (
	"bufio"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/xdrhook/xdrhook/connector"
	"github.com/xdrhook/xdrhook/encode"
	"github.com/xdrhook/xdrhook/pool"
	"github.com/xdrhook/xdrhook/wire"
)

// runDecode is the operator's debugging tool: it prints every field of every
// frame it reads. It is not on the data path, so it favours clarity over
// allocation-free code.
func runDecode(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("decode", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: xdrhook decode [flags] < FRAMES\n\nReads XDR frames on stdin (one hex frame per line, or --raw bytes) and prints each as JSON.\n\nFlags:")
		fs.PrintDefaults()
	}
	raw := fs.Bool("raw", false, "stdin is a raw byte stream of frames (default: one hex frame per line)")
	maxBody := fs.Int("max-frame-bytes", wire.DefaultMaxBody, "bound on a frame body")
	now := fs.Int64("now", 0, "receipt time in Unix seconds for exp (default: the current time)")
	cfgFile := fs.String("config", "", "a config file: a dry run, printing per frame the profile that applies, the filter's result, the destinations and the message as it would be sent")
	format := fs.String("format", "dump", "dump (every decoded field) | json | flat-json | message-pack | avro: the message the connector would send (binary formats as hex)")
	if rc, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return rc
	}
	var enc encode.Encoder
	switch *format {
	case "dump":
	case "json":
		enc = &encode.JSON{}
	case "flat-json":
		enc = &encode.FlatJSON{}
	case "message-pack":
		enc = &encode.MsgPack{}
	case "avro":
		enc = encode.NewAvro(nil)
	default:
		fmt.Fprintf(stderr, "xdrhook decode: unknown --format %q\n", *format)
		return 2
	}
	if *now == 0 {
		*now = time.Now().Unix()
	}
	d := &decoder{maxBody: *maxBody, now: *now, out: json.NewEncoder(stdout), w: stdout, enc: enc, inflated: pool.Get(0)}
	if *cfgFile != "" {
		dry, err := loadDryRun(*cfgFile)
		if err != nil {
			fmt.Fprintln(stderr, "xdrhook decode:", err)
			return 1
		}
		d.dry = dry
	}
	defer pool.Put(d.inflated)
	var err error
	if *raw {
		err = d.stream(stdin)
	} else {
		err = d.hexLines(stdin)
	}
	if err != nil {
		fmt.Fprintln(stderr, "xdrhook decode:", err)
		return 1
	}
	if d.bad > 0 {
		return 1
	}
	return 0
}

type decoder struct {
	maxBody  int
	now      int64
	out      *json.Encoder
	inf      wire.Inflater
	inflated *pool.Buf
	msg      wire.Message
	n, bad   int
	w        io.Writer
	enc      encode.Encoder // nil: dump every field
	dry      *connector.DryRun
}

func (d *decoder) hexLines(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 2*(d.maxBody+wire.HeaderSize)+16)
	line := 0
	for sc.Scan() {
		line++
		s := strings.Join(strings.Fields(sc.Text()), "")
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		b, err := hex.DecodeString(s)
		if err != nil {
			return fmt.Errorf("line %d: not hex: %v", line, err)
		}
		if err := d.stream(strings.NewReader(string(b))); err != nil {
			return fmt.Errorf("line %d: %v", line, err)
		}
	}
	return sc.Err()
}

// stream decodes every frame of a byte stream, as a connection would.
func (d *decoder) stream(r io.Reader) error {
	br := bufio.NewReader(r)
	hdr := make([]byte, wire.HeaderSize)
	for {
		if _, err := io.ReadFull(br, hdr); err != nil {
			if err == io.EOF {
				return nil
			}
			return fmt.Errorf("frame %d: truncated header", d.n+1)
		}
		typ, n, err := wire.ParseHeader(hdr, d.maxBody)
		if err != nil {
			return fmt.Errorf("frame %d: %v", d.n+1, err)
		}
		frame := make([]byte, wire.HeaderSize+n)
		copy(frame, hdr)
		if _, err := io.ReadFull(br, frame[wire.HeaderSize:]); err != nil {
			return fmt.Errorf("frame %d: body truncated (%d bytes stated)", d.n+1, n)
		}
		d.n++
		if d.dry != nil {
			d.dryRun(frame, typ)
			continue
		}
		if d.enc != nil {
			d.message(frame, typ)
			continue
		}
		d.out.Encode(d.frame(frame, typ))
	}
}

func (d *decoder) frame(frame []byte, typ byte) map[string]any {
	o := map[string]any{"frame": d.n, "type": typ}
	if typ == wire.TypeInfo {
		o["info"] = string(frame[wire.HeaderSize:])
		return o
	}
	if typ == wire.TypeCompressed {
		inner, err := d.inf.Inflate(frame, d.maxBody, d.inflated)
		if err != nil {
			d.bad++
			o["error"] = err.Error()
			return o
		}
		o["compressedBytes"] = len(frame)
		frame = inner
	}
	m := &d.msg
	if err := m.Decode(frame[wire.HeaderSize:]); err != nil {
		d.bad++
		o["error"] = err.Error()
		return o
	}
	o["kind"] = m.Kind.String()
	if m.Kind == wire.KindDelete {
		o["durable"] = m.Durable
	} else {
		o["partial"] = m.Partial
		o["metadataOnly"] = m.MetadataOnly
		o["ttl"] = m.TTL
		o["exp"] = m.Expiry(d.now)
	}
	o["info"] = []int{int(m.Info1), int(m.Info2), int(m.Info3), int(m.Info4)}
	o["generation"] = m.Generation
	o["namespace"] = string(m.Namespace)
	if m.HasSet {
		o["set"] = string(m.Set)
	}
	if m.Key.Type != 0 {
		o["userKey"] = map[string]any{"type": m.Key.Type, "value": keyValue(&m.Key)}
	}
	o["digest"] = hex.EncodeToString(m.Digest)
	var dg wire.Digester
	o["digestVerified"] = dg.Verify(m)
	if m.HasLUT {
		o["lut"] = m.LUTUnixMs()
		o["lutSource"] = m.LUTSource()
		o["lutTime"] = time.UnixMilli(m.LUTUnixMs()).UTC().Format(time.RFC3339Nano)
	}
	if m.Kind == wire.KindWrite {
		bins := make([]any, 0, len(m.Bins))
		for i := range m.Bins {
			b := &m.Bins[i]
			bo := map[string]any{"name": string(b.Name), "type": b.Type}
			v, err := binValue(b)
			if err != nil {
				bo["error"] = err.Error()
				d.bad++
			}
			bo["value"] = v
			if b.HasLUT {
				bo["lut"] = int64(b.LUT&0xFFFFFFFFFF) + wire.CitrusleafEpochMs
			}
			bins = append(bins, bo)
		}
		o["bins"] = bins
	}
	return o
}

// fail counts a frame that is no record and prints why, as a JSON object.
func (d *decoder) fail(err error) {
	d.bad++
	d.out.Encode(map[string]any{"frame": d.n, "error": err.Error()})
}

// decodeRecord decodes the record of a frame into d.msg (inflated first
// when compressed); false when it is no record, printed by fail.
func (d *decoder) decodeRecord(frame []byte, typ byte) bool {
	if typ == wire.TypeInfo {
		d.fail(fmt.Errorf("an info frame, not a record"))
		return false
	}
	if typ == wire.TypeCompressed {
		inner, err := d.inf.Inflate(frame, d.maxBody, d.inflated)
		if err != nil {
			d.fail(err)
			return false
		}
		frame = inner
	}
	if err := d.msg.Decode(frame[wire.HeaderSize:]); err != nil {
		d.fail(err)
		return false
	}
	return true
}

// message prints what the connector would send for one frame: a JSON line,
// or the hex of a binary message; an error is printed as a JSON object.
func (d *decoder) message(frame []byte, typ byte) {
	if !d.decodeRecord(frame, typ) {
		return
	}
	out, err := d.enc.Append(nil, &d.msg, d.now)
	if err != nil {
		d.fail(err)
		return
	}
	if ct := d.enc.ContentType(); ct == encode.ContentTypeJSON {
		fmt.Fprintf(d.w, "%s\n", out)
	} else {
		fmt.Fprintf(d.w, "%x\n", out)
	}
}

func keyValue(k *wire.UserKey) any {
	switch k.Type {
	case wire.ParticleInteger:
		return k.Int
	case wire.ParticleFloat:
		return floatValue(k.Float)
	case wire.ParticleString:
		return string(k.Bytes)
	}
	return base64.StdEncoding.EncodeToString(k.Bytes)
}

func floatValue(f float64) any {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	return f
}

func binValue(b *wire.Bin) (any, error) {
	switch b.Type {
	case wire.ParticleNull:
		return nil, nil
	case wire.ParticleInteger:
		v, _ := wire.Int(b.Value)
		return v, nil
	case wire.ParticleFloat:
		v, _ := wire.Float(b.Value)
		return floatValue(v), nil
	case wire.ParticleString:
		return string(b.Value), nil
	case wire.ParticleBool:
		v, _ := wire.Bool(b.Value)
		return v, nil
	case wire.ParticleGeoJSON:
		txt, err := wire.GeoJSONText(b.Value)
		return string(txt), err
	case wire.ParticleList, wire.ParticleMap:
		var r wire.CDTReader
		r.Reset(b.Value)
		return cdtValue(&r)
	}
	return base64.StdEncoding.EncodeToString(b.Value), nil
}

// cdtValue builds a generic value of the next CDT token (and its children).
// Order flags are kept as an "@order" entry so nothing is hidden.
func cdtValue(r *wire.CDTReader) (any, error) {
	var t wire.CDTToken
	if err := r.Next(&t); err != nil {
		return nil, err
	}
	switch t.Kind {
	case wire.CDTNil:
		return nil, nil
	case wire.CDTBool:
		return t.Bool, nil
	case wire.CDTInt:
		return t.Int, nil
	case wire.CDTUint:
		return t.Uint, nil
	case wire.CDTFloat:
		return floatValue(t.Float), nil
	case wire.CDTString:
		return string(t.Bytes), nil
	case wire.CDTBytes:
		return base64.StdEncoding.EncodeToString(t.Bytes), nil
	case wire.CDTTyped:
		return map[string]any{"particle": t.Sub, "data": base64.StdEncoding.EncodeToString(t.Bytes)}, nil
	case wire.CDTExt:
		return map[string]any{"ext": t.Sub, "data": base64.StdEncoding.EncodeToString(t.Bytes)}, nil
	case wire.CDTList:
		l := make([]any, 0, t.N)
		if t.Flags != 0 {
			l = append(l, map[string]any{"@order": t.Flags})
		}
		for i := 0; i < t.N; i++ {
			v, err := cdtValue(r)
			if err != nil {
				return l, err
			}
			l = append(l, v)
		}
		return l, r.Next(&t) // the end token
	case wire.CDTMap:
		m := make(map[string]any, t.N)
		if t.Flags != 0 {
			m["@order"] = t.Flags
		}
		for i := 0; i < t.N; i++ {
			k, err := cdtValue(r)
			if err != nil {
				return m, err
			}
			v, err := cdtValue(r)
			if err != nil {
				return m, err
			}
			ks, ok := k.(string)
			if !ok {
				b, _ := json.Marshal(k)
				ks = string(b)
			}
			m[ks] = v
		}
		return m, r.Next(&t)
	}
	return nil, fmt.Errorf("unexpected %v", t.Kind)
}
