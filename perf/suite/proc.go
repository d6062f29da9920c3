package suite

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// proc is one process of a scenario (sink, connector, emulator). Its stderr
// goes to a log file; its stdout is kept (the emulator's and the sink's
// JSON summaries).
type proc struct {
	name   string
	cmd    *exec.Cmd
	stdout bytes.Buffer
	logf   *os.File
	done   chan struct{}
	err    error // from Wait, once done is closed
}

// startProc starts bin with args; stderr is appended to logPath.
func startProc(name, bin string, args []string, logPath string, env []string) (*proc, error) {
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(f, "$ %s %s\n", bin, strings.Join(args, " "))
	p := &proc{name: name, logf: f, done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stdout = &p.stdout
	p.cmd.Stderr = f
	p.cmd.Env = append(os.Environ(), env...)
	if err := p.cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		f.Close()
		close(p.done)
	}()
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// exitCode is the exit status once the process is done (-1: killed by a
// signal).
func (p *proc) exitCode() int { return p.cmd.ProcessState.ExitCode() }

// wait waits up to timeout for the process to exit by itself.
func (p *proc) wait(timeout time.Duration) bool {
	select {
	case <-p.done:
		return true
	case <-time.After(timeout):
		return false
	}
}

// stop sends SIGTERM, waits up to timeout, then kills. It returns the exit
// code, or -1 when the process had to be killed.
func (p *proc) stop(timeout time.Duration) int {
	if p.exited() {
		return p.exitCode()
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	if p.wait(timeout) {
		return p.exitCode()
	}
	p.kill()
	return -1
}

func (p *proc) kill() {
	if p.exited() {
		return
	}
	p.cmd.Process.Kill()
	<-p.done
}

// cpu is the user+system CPU time the process used so far (/proc/PID/stat).
func (p *proc) cpu() time.Duration { return procCPU(p.pid()) }

// peakRSS is the peak resident set size in bytes (VmHWM).
func (p *proc) peakRSS() int64 { return procStatusKB(p.pid(), "VmHWM:") * 1024 }

// runWait is how long the process's threads were runnable but waiting for
// a CPU (the run queue), summed over /proc/PID/task/*/schedstat: high on a
// machine whose other work takes the cores.
func (p *proc) runWait() time.Duration {
	tasks, err := os.ReadDir("/proc/" + strconv.Itoa(p.pid()) + "/task")
	if err != nil {
		return 0
	}
	var sum int64
	for _, t := range tasks {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(p.pid()) + "/task/" + t.Name() + "/schedstat")
		if err != nil {
			continue
		}
		f := strings.Fields(string(b))
		if len(f) >= 2 {
			v, _ := strconv.ParseInt(f[1], 10, 64)
			sum += v
		}
	}
	return time.Duration(sum)
}

func procCPU(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The fields after the command name (which may hold spaces) start after ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 > len(s) {
		return 0
	}
	f := strings.Fields(s[i+2:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	const hz = 100 // USER_HZ on Linux
	return time.Duration(ut+st) * time.Second / hz
}

func procStatusKB(pid int, key string) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, key); ok {
			f := strings.Fields(v)
			if len(f) > 0 {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				return n
			}
		}
	}
	return 0
}

// freePorts returns n TCP ports free on 127.0.0.1 at the time of the call.
func freePorts(n int) ([]int, error) {
	var lns []net.Listener
	defer func() {
		for _, l := range lns {
			l.Close()
		}
	}()
	ports := make([]int, n)
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns, l)
		ports[i] = l.Addr().(*net.TCPAddr).Port
	}
	return ports, nil
}

var httpc = &http.Client{Timeout: 5 * time.Second}

func httpGet(url string) (int, []byte, error) {
	r, err := httpc.Get(url)
	if err != nil {
		return 0, nil, err
	}
	defer r.Body.Close()
	b, err := io.ReadAll(r.Body)
	return r.StatusCode, b, err
}

// waitUp polls url until it answers 200 and, if dial is set, that address
// accepts a connection; it fails early when p exits.
func waitUp(ctx context.Context, p *proc, url, dial string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if code, _, err := httpGet(url); err == nil && code == 200 {
			if dial == "" {
				return nil
			}
			if c, err := net.DialTimeout("tcp", dial, time.Second); err == nil {
				c.Close()
				return nil
			}
		}
		if p.exited() {
			return fmt.Errorf("%s exited before it was up (status %d): see its log", p.name, p.exitCode())
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not up after %v", p.name, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// metricValue finds one series (name with labels, exactly as exported) in
// Prometheus text; ok is false when it is absent.
func metricValue(text []byte, series string) (float64, bool) {
	for len(text) > 0 {
		line := text
		if i := bytes.IndexByte(text, '\n'); i >= 0 {
			line, text = text[:i], text[i+1:]
		} else {
			text = nil
		}
		if rest, ok := bytes.CutPrefix(line, []byte(series+" ")); ok {
			v, err := strconv.ParseFloat(string(bytes.TrimSpace(rest)), 64)
			return v, err == nil
		}
	}
	return 0, false
}

// sumMetric adds every series of a metric whose labels contain match.
func sumMetric(text []byte, name, match string) float64 {
	var sum float64
	for _, line := range strings.Split(string(text), "\n") {
		if !strings.HasPrefix(line, name) || !strings.Contains(line, match) {
			continue
		}
		rest := line[len(name):]
		if rest == "" || (rest[0] != '{' && rest[0] != ' ') {
			continue
		}
		sp := strings.LastIndexByte(line, ' ')
		if v, err := strconv.ParseFloat(line[sp+1:], 64); err == nil {
			sum += v
		}
	}
	return sum
}

// sinkStats is the part of the sink's GET /stats the suite reads.
type sinkStats struct {
	Requests int64            `json:"requests"`
	Accepted int64            `json:"accepted"`
	Records  int64            `json:"records"`
	Bytes    int64            `json:"bytes"`
	Invalid  int64            `json:"invalid"`
	ByProto  map[string]int64 `json:"byProto"`
	Last     string           `json:"lastInvalid"`
}

func getSinkStats(base string) (sinkStats, error) {
	var st sinkStats
	code, b, err := httpGet(base + "/stats")
	if err != nil {
		return st, err
	}
	if code != 200 {
		return st, fmt.Errorf("sink /stats: status %d", code)
	}
	err = json.Unmarshal(b, &st)
	return st, err
}
