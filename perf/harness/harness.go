// Package harness runs xdrhook as a separate process for end-to-end, fault,
// reliability and perf tests: it builds the binary once, writes a config,
// starts `xdrhook run`, waits until it is ready, and reads the process's
// resident memory and CPU time from /proc.
package harness

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// Binary builds ./cmd/xdrhook once per test process and returns its path.
// XDRHOOK_BIN overrides it with a prebuilt binary.
func Binary(tb testing.TB) string {
	tb.Helper()
	if p := os.Getenv("XDRHOOK_BIN"); p != "" {
		return p
	}
	buildOnce.Do(func() {
		root, err := ModuleRoot()
		if err != nil {
			buildErr = err
			return
		}
		dir, err := os.MkdirTemp("", "xdrhook-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "xdrhook")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/xdrhook")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		tb.Fatal(buildErr)
	}
	return binPath
}

// ModuleRoot finds the directory of go.mod above the working directory.
func ModuleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", err
	}
	p := strings.TrimSpace(string(out))
	if p == "" || p == os.DevNull {
		return "", errors.New("not inside the xdrhook module")
	}
	return filepath.Dir(p), nil
}

// FreePort returns a TCP port free on 127.0.0.1 at the time of the call.
func FreePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// safeBuffer collects a process's stderr.
type safeBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *safeBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *safeBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Proc is a running xdrhook process.
type Proc struct {
	Cmd        *exec.Cmd
	XDRAddr    string // host:port of the XDR listener
	ManageAddr string // host:port of the manage endpoints
	ConfigPath string
	log        safeBuffer
	done       chan struct{}
	waitErr    error
}

// Connector describes an `xdrhook run` to start. Config is the YAML with
// two placeholders filled in: {{XDR_PORT}} and {{MANAGE_PORT}} (picked free
// unless XDRPort / ManagePort are set, e.g. to restart on the same port).
type Connector struct {
	Config     string
	XDRPort    int
	ManagePort int
	Env        []string // extra KEY=VALUE
	Args       []string // extra arguments after `run --config FILE`
}

// Start starts the connector and waits until /readyz answers 200 (or
// /healthz, if the destinations are meant to be down: set WaitHealthyOnly).
func (c Connector) Start(tb testing.TB) *Proc {
	tb.Helper()
	p, err := c.start(tb)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { p.Kill() })
	return p
}

func (c Connector) start(tb testing.TB) (*Proc, error) {
	if c.XDRPort == 0 {
		c.XDRPort = FreePort(tb)
	}
	if c.ManagePort == 0 {
		c.ManagePort = FreePort(tb)
	}
	cfg := strings.ReplaceAll(c.Config, "{{XDR_PORT}}", strconv.Itoa(c.XDRPort))
	cfg = strings.ReplaceAll(cfg, "{{MANAGE_PORT}}", strconv.Itoa(c.ManagePort))
	dir := tb.TempDir()
	path := filepath.Join(dir, "xdrhook.yml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	p := &Proc{
		XDRAddr:    net.JoinHostPort("127.0.0.1", strconv.Itoa(c.XDRPort)),
		ManageAddr: net.JoinHostPort("127.0.0.1", strconv.Itoa(c.ManagePort)),
		ConfigPath: path, done: make(chan struct{}),
	}
	p.Cmd = exec.Command(Binary(tb), append([]string{"run", "--config", path}, c.Args...)...)
	p.Cmd.Env = append(os.Environ(), c.Env...)
	p.Cmd.Stderr = &p.log
	p.Cmd.Stdout = &p.log
	if err := p.Cmd.Start(); err != nil {
		return nil, err
	}
	go func() { p.waitErr = p.Cmd.Wait(); close(p.done) }()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if p.get("/healthz") == 200 {
			if conn, err := net.DialTimeout("tcp", p.XDRAddr, time.Second); err == nil {
				conn.Close()
				return p, nil
			}
		}
		select {
		case <-p.done:
			return nil, fmt.Errorf("xdrhook exited before it was up: %v\n%s", p.waitErr, p.Log())
		default:
		}
		if time.Now().After(deadline) {
			p.Kill()
			return nil, fmt.Errorf("xdrhook not up after 15 s:\n%s", p.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (p *Proc) get(path string) int {
	c := http.Client{Timeout: time.Second}
	r, err := c.Get("http://" + p.ManageAddr + path)
	if err != nil {
		return 0
	}
	r.Body.Close()
	return r.StatusCode
}

// Get fetches a manage endpoint and returns its body.
func (p *Proc) Get(path string) (int, string, error) {
	c := http.Client{Timeout: 5 * time.Second}
	r, err := c.Get("http://" + p.ManageAddr + path)
	if err != nil {
		return 0, "", err
	}
	defer r.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(r.Body)
	return r.StatusCode, b.String(), nil
}

// Metric returns the value of one Prometheus series (name with labels,
// exactly as exported), or -1 if absent.
func (p *Proc) Metric(series string) float64 {
	_, body, err := p.Get("/metrics")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, series+" ") {
			v, _ := strconv.ParseFloat(strings.TrimSpace(line[len(series):]), 64)
			return v
		}
	}
	return -1
}

// Log returns what the process wrote to stderr and stdout so far.
func (p *Proc) Log() string { return p.log.String() }

// Pid returns the process id.
func (p *Proc) Pid() int { return p.Cmd.Process.Pid }

// Kill sends SIGKILL and waits for the process.
func (p *Proc) Kill() {
	select {
	case <-p.done:
		return
	default:
	}
	p.Cmd.Process.Kill()
	<-p.done
}

// Term sends SIGTERM and waits up to timeout; it returns the exit code (-1
// if the process had to be killed).
func (p *Proc) Term(timeout time.Duration) int {
	p.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(timeout):
		p.Kill()
		return -1
	}
	return p.Cmd.ProcessState.ExitCode()
}

// Done is closed when the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// RSS returns the resident set size in bytes (VmRSS).
func (p *Proc) RSS() int64 { return procStatusKB(p.Pid(), "VmRSS:") * 1024 }

// PeakRSS returns the peak resident set size in bytes (VmHWM).
func (p *Proc) PeakRSS() int64 { return procStatusKB(p.Pid(), "VmHWM:") * 1024 }

// CPU returns the user+system CPU time the process has used.
func (p *Proc) CPU() time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(p.Pid()) + "/stat")
	if err != nil {
		return 0
	}
	// Fields after the command name (which may hold spaces) start after ')'.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
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
		if strings.HasPrefix(line, key) {
			f := strings.Fields(line[len(key):])
			if len(f) > 0 {
				v, _ := strconv.ParseInt(f[0], 10, 64)
				return v
			}
		}
	}
	return 0
}
