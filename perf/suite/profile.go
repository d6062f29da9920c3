package suite

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// ProfileInfo is the CPU and allocation profile of xdrhook in one scenario.
type ProfileInfo struct {
	Scenario   string     `json:"scenario"`
	Result     Result     `json:"result"` // the profiled run's figures (the profiler costs a little CPU)
	CPUFile    string     `json:"cpuFile"`
	AllocsFile string     `json:"allocsFile"`
	CPUTotal   string     `json:"cpuTotal"` // pprof's "Duration: …, Total samples = …" line
	CPUTop     []ProfLine `json:"cpuTop"`   // by flat CPU time
	AllocTop   []ProfLine `json:"allocTop"` // by allocated objects
	// AllocsWindow: AllocTop covers the measurement window only (allocs.pprof
	// minus allocs.pprof.base); otherwise the whole run, start-up included.
	AllocsWindow bool    `json:"allocsWindow"`
	Shares       []Share `json:"shares"` // flat CPU by area
	Error        string  `json:"error,omitempty"`
}

// ProfLine is one line of `go tool pprof -top`.
type ProfLine struct {
	Flat     string  `json:"flat"`
	FlatPct  float64 `json:"flatPct"`
	Cum      string  `json:"cum"`
	CumPct   float64 `json:"cumPct"`
	Function string  `json:"function"`
}

// Share is the flat CPU of one area of the code.
type Share struct {
	Area string  `json:"area"`
	Pct  float64 `json:"pct"`
}

func readProfile(dir string, r Result) *ProfileInfo {
	p := &ProfileInfo{Scenario: r.Name, Result: r,
		CPUFile: filepath.Join(dir, "cpu.pprof"), AllocsFile: filepath.Join(dir, "allocs.pprof")}
	if !r.OK {
		p.Error = "the profiled run failed: " + r.Error
		return p
	}
	for _, f := range []string{p.CPUFile, p.AllocsFile} {
		if _, err := os.Stat(f); err != nil {
			p.Error = err.Error()
			return p
		}
	}
	out, err := pprofTop(p.CPUFile, "", 100000, "")
	if err != nil {
		p.Error = err.Error()
		return p
	}
	var all []ProfLine
	p.CPUTotal, all = parsePprofTop(out)
	p.Shares = shares(all)
	p.CPUTop = all[:min(len(all), 25)]
	base := p.AllocsFile + ".base"
	if _, err := os.Stat(base); err != nil {
		base = ""
	}
	p.AllocsWindow = base != ""
	out, err = pprofTop(p.AllocsFile, "alloc_objects", 15, base)
	if err != nil {
		p.Error = err.Error()
		return p
	}
	_, p.AllocTop = parsePprofTop(out)
	return p
}

func pprofTop(file, sampleIndex string, n int, base string) (string, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("go tool pprof: %w", err)
	}
	args := []string{"tool", "pprof", "-top", "-nodecount=" + strconv.Itoa(n)}
	if sampleIndex != "" {
		args = append(args, "-sample_index="+sampleIndex)
	}
	if base != "" {
		args = append(args, "-base", base)
	}
	args = append(args, file)
	out, err := exec.Command(goBin, args...).Output()
	if err != nil {
		return "", fmt.Errorf("go tool pprof %s: %w", file, err)
	}
	return string(out), nil
}

// parsePprofTop reads `pprof -top` text: the header line with the totals,
// then "flat flat% sum% cum cum% function" rows.
func parsePprofTop(out string) (total string, lines []ProfLine) {
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	rows := false
	for sc.Scan() {
		t := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(t, "Duration:") || strings.HasPrefix(t, "Showing nodes") && total == "" {
			if strings.HasPrefix(t, "Duration:") {
				total = t
			}
			continue
		}
		if strings.HasPrefix(t, "flat") {
			rows = true
			continue
		}
		if !rows {
			continue
		}
		f := strings.Fields(t)
		if len(f) < 6 {
			continue
		}
		fp, _ := strconv.ParseFloat(strings.TrimSuffix(f[1], "%"), 64)
		cp, _ := strconv.ParseFloat(strings.TrimSuffix(f[4], "%"), 64)
		lines = append(lines, ProfLine{Flat: f[0], FlatPct: fp, Cum: f[3], CumPct: cp, Function: strings.Join(f[5:], " ")})
	}
	return total, lines
}

// area sorts a function into a part of the system, for "where the time goes".
func area(fn string) string {
	has := func(p ...string) bool {
		for _, s := range p {
			if strings.HasPrefix(fn, s) {
				return true
			}
		}
		return false
	}
	switch {
	case has("syscall.", "internal/runtime/syscall", "runtime/internal/syscall", "golang.org/x/sys/unix.",
		"runtime.futex", "runtime.epollwait", "runtime.netpoll", "runtime.usleep", "runtime.nanotime", "runtime.write", "runtime.read"):
		return "system calls (network I/O, polling, wake-ups)"
	case has("runtime.mallocgc", "runtime.gc", "runtime.scanobject", "runtime.greyobject", "runtime.markBits",
		"runtime.findObject", "runtime.sweep", "runtime.(*mspan)", "runtime.(*mheap)", "runtime.(*mcache)",
		"runtime.bgsweep", "runtime.bgscavenge", "runtime.wbBuf", "runtime.heapBits", "runtime.spanOf", "runtime.(*gcWork)", "runtime.scanblock", "runtime.nextFreeFast", "runtime.memclrNoHeapPointers"):
		return "allocation and GC"
	case has("runtime.memmove"):
		return "memory copies (runtime.memmove)"
	case has("runtime."):
		return "Go scheduler and other runtime"
	case has("github.com/xdrhook/xdrhook/encode", "encoding/base64", "unicode/utf8", "strconv.", "internal/strconv", "math."):
		return "encode (json / msgpack / avro; base64, strconv)"
	case has("github.com/xdrhook/xdrhook/h2client", "golang.org/x/net/http2", "github.com/xdrhook/xdrhook/dataplane.(*http2Sender)", "github.com/xdrhook/xdrhook/dataplane.(*h2call)", "github.com/xdrhook/xdrhook/dataplane.(*arena)"):
		return "HTTP/2 client (h2client: x/net/http2 Framer, hpack)"
	case has("github.com/xdrhook/xdrhook/wire"):
		return "wire (frame decode, CDT walk)"
	case has("github.com/xdrhook/xdrhook/dataplane"):
		return "dataplane (sessions, batching, replies)"
	case has("github.com/xdrhook/xdrhook/pool"):
		return "pool"
	case has("github.com/valyala/fasthttp", "bufio."):
		return "HTTP/1.1 client (fasthttp)"
	case has("net/http"):
		return "net/http"
	case has("github.com/panjf2000/gnet"):
		return "XDR listener event loops (gnet)"
	case has("net.", "internal/poll", "os."):
		return "net and poller (stdlib)"
	case has("sync.", "internal/sync", "sync/atomic"):
		return "locks and atomics"
	case has("compress/", "hash/", "github.com/klauspost"):
		return "compression"
	case has("github.com/VictoriaMetrics"):
		return "metrics"
	}
	return "other"
}

func shares(lines []ProfLine) []Share {
	m := map[string]float64{}
	for _, l := range lines {
		m[area(l.Function)] += l.FlatPct
	}
	var out []Share
	for a, p := range m {
		out = append(out, Share{Area: a, Pct: p})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Pct > out[j].Pct })
	return out
}

func (p *ProfileInfo) share(prefix string) float64 {
	var s float64
	for _, sh := range p.Shares {
		if strings.HasPrefix(sh.Area, prefix) {
			s += sh.Pct
		}
	}
	return s
}
