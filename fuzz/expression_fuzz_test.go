package fuzz

import (
	"errors"
	"fmt"
	"testing"

	"github.com/xdrhook/xdrhook/encode"
	"github.com/xdrhook/xdrhook/expression"
	"github.com/xdrhook/xdrhook/wire"
)

// fuzzPrograms are filters, routes and computed bins that read every kind
// of value: metadata, scalar bins, lists, maps, GeoJSON, missing bins,
// dynamic access. On random records most of them fail at some point (nil
// compared, a string added to an int...): that must be an error, counted,
// never a panic or a hang.
var fuzzPrograms = struct {
	filters, routes []string
	set             []expression.SetBin
}{
	filters: []string{
		`gen > 1 && set != "tmp"`,
		`msg == "delete" || bins.age > 30`,
		`len(bins.tags) > 1 && bins.tags[0] == "a"`,
		`any(keys(bins), {# startsWith "n"})`,
		`bins.loc.type == "Point" || bins["attrs"]?.k == 1`,
		`userKey != nil && digest matches "^[0-9a-f]{40}$" && lut >= 0 && exp >= 0 && !partial && !durable`,
	},
	routes: []string{
		`bins.name == "x" ? ["a", "b"] : ["a"]`,
		`[string(bins.age ?? "none")]`,
		`bins.tags`,
		`namespace`,
	},
}

func fuzzSet() []expression.SetBin {
	var set []expression.SetBin
	for name, src := range map[string]string{
		"full":  `bins.first + " " + bins.last`,
		"n":     `bins.age * 2 + len(bins.tags)`,
		"copy":  `bins.attrs`,
		"list":  `map(bins.tags ?? [], {#})`,
		"stamp": `now() - lut`,
		"geo":   `bins.loc`,
		"all":   `bins`,
	} {
		p, err := expression.Compile(expression.Value, src)
		if err != nil {
			panic(err)
		}
		set = append(set, expression.SetBin{Name: name, Program: p})
	}
	return set
}

// FuzzExpressions: random frames × a set of programs. Every program either
// answers or fails with an error (the dataplane counts those in
// xdrhook_expression_errors_total), the same way twice; a transform's
// message never holds a removed bin and encodes, or fails with the
// encoders' own errors, in every format.
func FuzzExpressions(f *testing.F) {
	for _, s := range seedFrames(f) {
		f.Add(s)
	}
	// Values the wire decoder passes through and the encoders reject: a
	// GeoJSON particle shorter than its flags and cell count, an integer of
	// three bytes (CI's fuzzing found the first, 2b814f69fbb13d35).
	f.Add(wire.AppendFrame(nil, &wire.Record{Kind: wire.KindWrite, Namespace: "ns", Bins: []wire.BinSpec{
		{Name: "loc", Type: wire.ParticleGeoJSON, Value: []byte{0, 0}},
		{Name: "age", Type: wire.ParticleInteger, Value: []byte{1, 2, 3}},
	}}))
	var filters, routes []*expression.Program
	for _, src := range fuzzPrograms.filters {
		p, err := expression.Compile(expression.Filter, src)
		if err != nil {
			f.Fatal(src, err)
		}
		filters = append(filters, p)
	}
	for _, src := range fuzzPrograms.routes {
		p, err := expression.Compile(expression.Route, src)
		if err != nil {
			f.Fatal(src, err)
		}
		routes = append(routes, p)
	}
	tr := expression.NewTransform(fuzzSet(), []string{"ssn", "full", "l"})
	encs := []encode.Encoder{&encode.JSON{}, &encode.FlatJSON{}, &encode.MsgPack{}, encode.NewAvro(nil)}
	r := expression.NewRunner()
	f.Fuzz(func(t *testing.T, frame []byte) {
		var m wire.Message
		body, typ, err := wire.Split(frame, fuzzMaxBody)
		if err != nil || typ != wire.TypeMsg || len(body) == 0 {
			return
		}
		if m.Decode(body[wire.HeaderSize:]) != nil {
			return
		}
		// Each program twice: the same record gives the same outcome (the
		// Runner's reused boxes and buffers carry nothing over).
		r.Reset(&m, 1700000000)
		for _, p := range filters {
			ok1, err1 := r.Filter(p)
			ok2, err2 := r.Filter(p)
			if ok1 != ok2 || fmt.Sprint(err1) != fmt.Sprint(err2) {
				t.Fatalf("%s: %v %v, then %v %v", p.Source, ok1, err1, ok2, err2)
			}
		}
		for _, p := range routes {
			n1, err1 := r.Route(p, nil)
			n2, err2 := r.Route(p, nil)
			if fmt.Sprint(n1) != fmt.Sprint(n2) || fmt.Sprint(err1) != fmt.Sprint(err2) {
				t.Fatalf("%s: %q %v, then %q %v", p.Source, n1, err1, n2, err2)
			}
		}
		out, err := r.Transform(tr, false)
		if err != nil {
			if out, err = r.Transform(tr, true); err != nil {
				t.Fatalf("remove alone failed: %v", err)
			}
		}
		if m.Kind == wire.KindDelete && out != &m {
			t.Fatal("a delete was transformed")
		}
		for _, b := range out.Bins {
			switch string(b.Name) {
			case "ssn", "full", "l":
				t.Fatalf("removed bin %s is in the message", b.Name)
			}
		}
		for _, e := range encs {
			if _, err := e.Append(nil, out, 1700000000); err != nil {
				// The typed errors of a value that cannot be encoded as
				// sent: the dataplane answers those records 4 and counts
				// them as outcome="encode-error".
				var ce *wire.CDTError
				var re *encode.RecordError
				var je *encode.JSONError
				if !errors.As(err, &ce) && !errors.As(err, &re) && !errors.As(err, &je) {
					t.Fatalf("%T: %v", e, err)
				}
			}
		}
	})
}
