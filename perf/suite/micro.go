package suite

import (
	"bufio"
	"io"
	"os"
	"path"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/xdrhook/xdrhook/perf/harness"
)

// Micro is one microbenchmark line of `go test -bench -benchmem` output
// (the file itself is benchstat input; this is its summary).
type Micro struct {
	Pkg         string  `json:"pkg"`
	Name        string  `json:"name"` // without the Benchmark prefix and the -GOMAXPROCS suffix
	Iterations  int64   `json:"iterations"`
	NsPerOp     float64 `json:"nsPerOp"`
	MBPerSec    float64 `json:"mbPerSec,omitempty"`
	BytesPerOp  float64 `json:"bytesPerOp"`
	AllocsPerOp float64 `json:"allocsPerOp"`
	Runs        int     `json:"runs,omitempty"` // lines (-count) it sums up
	// Procs is the GOMAXPROCS it ran with (-cpu): the name's -N suffix, 1
	// without one. A benchmark run at several is one Micro per value.
	Procs int `json:"procs,omitempty"`
	// Metrics are the other units it reports (b.ReportMetric: records/s,
	// serial-%, ...), the median of its runs.
	Metrics map[string]float64 `json:"metrics,omitempty"`
}

// ParseMicro reads `go test -bench` output. With -count > 1 a benchmark's
// ns/op, MB/s and other metrics are the median of its runs (a shared
// machine gives outliers, not a spread around a mean), B/op and allocs/op
// their mean. A line without ns/op (a benchmark that reports its own
// units and hides ns/op) is kept too.
func ParseMicro(r io.Reader) ([]Micro, error) {
	var out []Micro
	idx := map[string]int{}
	var ns, mbs [][]float64            // per benchmark, every run
	var metrics []map[string][]float64 // per benchmark, per unit, every run
	pkg := ""
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = strings.TrimSpace(v)
			continue
		}
		if !strings.HasPrefix(line, "Benchmark") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 || len(f)%2 != 0 {
			continue
		}
		if _, err := strconv.ParseInt(f[1], 10, 64); err != nil {
			continue // not a result line ("BenchmarkX" alone under -v, a log line)
		}
		m := Micro{Pkg: path.Base(pkg), Name: strings.TrimPrefix(f[0], "Benchmark"), Runs: 1, Procs: 1}
		if i := strings.LastIndexByte(m.Name, '-'); i > 0 {
			if n, err := strconv.Atoi(m.Name[i+1:]); err == nil {
				m.Name, m.Procs = m.Name[:i], n
			}
		}
		m.Iterations, _ = strconv.ParseInt(f[1], 10, 64)
		other := map[string][]float64{}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			switch f[i+1] {
			case "ns/op":
				m.NsPerOp = v
			case "MB/s":
				m.MBPerSec = v
			case "B/op":
				m.BytesPerOp = v
			case "allocs/op":
				m.AllocsPerOp = v
			default:
				other[f[i+1]] = []float64{v}
			}
		}
		k := m.Pkg + "." + m.Name + "-" + strconv.Itoa(m.Procs)
		j, ok := idx[k]
		if !ok {
			idx[k] = len(out)
			out = append(out, m)
			ns, mbs = append(ns, []float64{m.NsPerOp}), append(mbs, []float64{m.MBPerSec})
			metrics = append(metrics, other)
			continue
		}
		for u, v := range other {
			metrics[j][u] = append(metrics[j][u], v...)
		}
		o := &out[j]
		n := float64(o.Runs)
		o.BytesPerOp = (o.BytesPerOp*n + m.BytesPerOp) / (n + 1)
		o.AllocsPerOp = (o.AllocsPerOp*n + m.AllocsPerOp) / (n + 1)
		o.Iterations += m.Iterations
		o.Runs++
		ns[j], mbs[j] = append(ns[j], m.NsPerOp), append(mbs[j], m.MBPerSec)
	}
	for j := range out {
		out[j].NsPerOp, out[j].MBPerSec = median(ns[j]), median(mbs[j])
		for u, v := range metrics[j] {
			if out[j].Metrics == nil {
				out[j].Metrics = map[string]float64{}
			}
			out[j].Metrics[u] = median(v)
		}
	}
	return out, sc.Err()
}

// median of v (sorted in place); of an even count, the mean of the middle two.
func median(v []float64) float64 {
	slices.Sort(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

// findMicro returns the benchmark pkg.name (the first -cpu it ran at), or
// nil.
func findMicro(ms []Micro, pkg, name string) *Micro {
	for i := range ms {
		if ms[i].Pkg == pkg && ms[i].Name == name {
			return &ms[i]
		}
	}
	return nil
}

// findMicroProcs returns the benchmark pkg.name run at GOMAXPROCS procs,
// or nil.
func findMicroProcs(ms []Micro, pkg, name string, procs int) *Micro {
	for i := range ms {
		if ms[i].Pkg == pkg && ms[i].Name == name && ms[i].Procs == procs {
			return &ms[i]
		}
	}
	return nil
}

// Machine is the report's machine line.
type Machine struct {
	CPU        string    `json:"cpu"`
	Cores      int       `json:"cores"`
	MemGiB     float64   `json:"memGiB"`
	Kernel     string    `json:"kernel"`
	GoVersion  string    `json:"goVersion"`
	GOARCH     string    `json:"goarch"`
	Date       time.Time `json:"date"`
	LoadBefore string    `json:"loadBefore"` // /proc/loadavg when the suite started
	LoadAfter  string    `json:"loadAfter"`
}

// ReadMachine describes this machine.
func ReadMachine() Machine {
	m := Machine{Cores: runtime.NumCPU(), GoVersion: runtime.Version(), GOARCH: runtime.GOARCH, Date: time.Now().UTC()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if m.CPU == "" {
		m.CPU = "unknown CPU"
	}
	if kb := harness.StatusKB("/proc/meminfo", "MemTotal:"); kb > 0 {
		m.MemGiB = float64(kb) / (1 << 20)
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	m.LoadBefore = loadAvg()
	return m
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}
