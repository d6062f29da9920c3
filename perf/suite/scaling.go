package suite

import (
	"fmt"
	"strings"
)

// The scaling of the record path (issue 13), from the microbenchmarks:
// dataplane.EngineRecordPath at -cpu 1 and 2 (records/s ratio, serial
// fraction) and its control, dataplane.RecordPathControl — the same
// decoding and encoding in goroutines that share nothing — whose ratio is
// what the machine gives two copies of that work.
const (
	scalingGoal = 1.8 // records/s at -cpu 2 ÷ -cpu 1
	serialGoal  = 2.0 // % of the record path's CPU
)

// recordPathRatio is records/s of dataplane benchmark name at -cpu 2 ÷ at
// -cpu 1, and the two runs (nil, nil when either is missing).
func recordPathRatio(ms []Micro, name string) (float64, *Micro, *Micro) {
	one, two := findMicroProcs(ms, "dataplane", name, 1), findMicroProcs(ms, "dataplane", name, 2)
	if one == nil || two == nil || one.Metrics["records/s"] <= 0 {
		return 0, nil, nil
	}
	return two.Metrics["records/s"] / one.Metrics["records/s"], one, two
}

// scalingTargets are the targets table's rows fed by the record-path
// benchmarks: the -cpu 2 ÷ -cpu 1 ratio and the serial fraction (at the
// most loops it ran with).
func scalingTargets(ms []Micro) []Target {
	ratio := Target{Name: "BenchmarkEngineRecordPath records/s, -cpu 2 ÷ -cpu 1", Want: fmt.Sprintf("≥ %.1f", scalingGoal), Goal: scalingGoal, Status: "n/a", Got: "not run"}
	if r, one, two := recordPathRatio(ms, "EngineRecordPath"); one != nil {
		ratio.Value = r
		ratio.Got = fmt.Sprintf("%.2f (%s → %s records/s, %.2f → %.2f cores", r, human(one.Metrics["records/s"]), human(two.Metrics["records/s"]), one.Metrics["cores"], two.Metrics["cores"])
		if c1, c2 := one.Metrics["cpu-ns/record"], two.Metrics["cpu-ns/record"]; c1 > 0 && c2 > 0 {
			ratio.Got += fmt.Sprintf("; CPU per record ×%.2f: %.2f with two cores to itself", c2/c1, 2*c1/c2)
		}
		ratio.Got += ")"
		ratio.Status = "met"
		if r < scalingGoal {
			ratio.Status = "missed"
			ratio.Gap = fmt.Sprintf("%.0f%% under", 100*(1-r/scalingGoal))
			if c, _, _ := recordPathRatio(ms, "RecordPathControl"); c > 0 {
				ratio.Gap += fmt.Sprintf("; the control, which shares nothing, made %.2f in the same runs (the machine's ceiling)", c)
			}
		}
	}
	serial := Target{Name: "serial fraction of the record path (BenchmarkEngineRecordPath)", Want: fmt.Sprintf("≤ %.0f%%", serialGoal), Goal: serialGoal, Status: "n/a", Got: "not run"}
	if m := mostLoops(ms, "EngineRecordPath"); m != nil {
		if s, ok := m.Metrics["serial-%"]; ok {
			serial.Value = s
			serial.Got = fmt.Sprintf("%.2f%% at %d loops (Amdahl: %.1f× at 16 cores, %.1f× at 32)", s, m.Procs, amdahl(s/100, 16), amdahl(s/100, 32))
			serial.Status = "met"
			if s > serialGoal {
				serial.Status = "missed"
				serial.Gap = fmt.Sprintf("%.1f points over", s-serialGoal)
			}
		}
	}
	return []Target{ratio, serial}
}

// mostLoops returns dataplane benchmark name at the largest -cpu it ran
// with, or nil.
func mostLoops(ms []Micro, name string) *Micro {
	var best *Micro
	for i := range ms {
		if ms[i].Pkg == "dataplane" && ms[i].Name == name && (best == nil || ms[i].Procs > best.Procs) {
			best = &ms[i]
		}
	}
	return best
}

// amdahl is the speedup n cores give when a fraction s of the work is
// serial.
func amdahl(s float64, n int) float64 { return 1 / (s + (1-s)/float64(n)) }

// writeScaling writes the record path's scaling section.
func (rep *Report) writeScaling(b *strings.Builder) {
	p := func(format string, a ...any) { fmt.Fprintf(b, format, a...) }
	var rows []*Micro
	for _, name := range []string{"EngineRecordPath", "EngineRecordPathOrdered", "RecordPathControl"} {
		for _, procs := range []int{1, 2} {
			if m := findMicroProcs(rep.Micro, "dataplane", name, procs); m != nil && m.Metrics["records/s"] > 0 {
				rows = append(rows, m)
			}
		}
	}
	if len(rows) == 0 {
		return
	}
	p("## Scaling of the record path\n\n")
	p("`go test -run '^$' -bench 'EngineRecordPath|RecordPathControl' -cpu 1,2 ./dataplane` (in the microbenchmark passes; medians). BenchmarkEngineRecordPath runs one event loop per P on the perf suite's records (decode, route, encode, batch, hand the body over, settle, answer) with a sender that accepts every body; BenchmarkRecordPathControl decodes and encodes the same records in goroutines that share nothing, so its ratio is what this machine gives two copies of the bulk of that work. *cores* is the CPU the process got ÷ wall time: on a shared machine, how much of -cpu N the run had. *serial* is the CPU time the loops spent on state other loops also use (the destination's queue and the body pools per body, the max-concurrent-records budget per chunk of credit, with record-ordering the LUT cache per record) plus the time they were blocked, ÷ CPU per record; Amdahl's bound 1 / (s + (1−s)/N) follows from it. Check a machine of yours: `go test -run '^$' -bench EngineRecordPath -cpu 1,2,4,8 ./dataplane`.\n\n")
	p("| benchmark | -cpu | records/s | ratio to -cpu 1 | cores | CPU ns / record | serial | Amdahl 16 / 32 cores |\n|---|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, m := range rows {
		ratio := ""
		if m.Procs > 1 {
			if one := findMicroProcs(rep.Micro, "dataplane", m.Name, 1); one != nil && one.Metrics["records/s"] > 0 {
				ratio = fmt.Sprintf("%.2f", m.Metrics["records/s"]/one.Metrics["records/s"])
			}
		}
		serial, bound := "—", "—"
		if s, ok := m.Metrics["serial-%"]; ok {
			serial = fmt.Sprintf("%.2f%%", s)
			bound = fmt.Sprintf("%.1f× / %.1f×", amdahl(s/100, 16), amdahl(s/100, 32))
		}
		p("| %s | %d | %s | %s | %.2f | %.0f | %s | %s |\n", m.Name, m.Procs, human(m.Metrics["records/s"]), ratio, m.Metrics["cores"], m.Metrics["cpu-ns/record"], serial, bound)
	}
	p("\n")
	if r, _, _ := recordPathRatio(rep.Micro, "EngineRecordPath"); r > 0 {
		if c, cone, ctwo := recordPathRatio(rep.Micro, "RecordPathControl"); c > 0 {
			p("The engine made %.2f× at two loops, the control %.2f×; the control's CPU per record went from %.0f to %.0f ns (%+.0f%%) with nothing shared. ",
				r, c, cone.Metrics["cpu-ns/record"], ctwo.Metrics["cpu-ns/record"], 100*(ctwo.Metrics["cpu-ns/record"]/cone.Metrics["cpu-ns/record"]-1))
			if c < scalingGoal {
				p("Work that shares nothing does not reach %.1f× here either: the machine (its share of two vCPUs, their caches and the host's other load) is the ceiling of this run, and the engine's ratio is to be read against the control's (%.0f%% of it).\n\n", scalingGoal, 100*r/c)
			} else {
				p("The machine gave the control %.1f× or more: what the engine lacks is its own.\n\n", scalingGoal)
			}
		}
	}
}
