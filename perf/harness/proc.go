package harness

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Command describes a process to start: any command of the xdrhook binary
// (run, sink, sim, bench baseline) or another program.
type Command struct {
	Name string   // in messages ("sink", "connector", "sim"); "": the binary's base name
	Bin  string   // the program (Binary builds xdrhook)
	Args []string // its arguments
	Env  []string // extra KEY=VALUE on top of this process's environment
	Dir  string   // working directory; "": this process's
	// LogFile: "" keeps stderr and stdout together in memory (Log); else
	// stderr is appended to this file after a "$ bin args" line, and stdout
	// is kept apart in memory (Stdout: e.g. a JSON summary).
	LogFile string
}

// Proc is a running process. XDRAddr, ManageAddr and ConfigPath are set
// for a connector started by Connector.Start.
type Proc struct {
	Name       string
	Cmd        *exec.Cmd
	XDRAddr    string // host:port of the XDR listener
	ManageAddr string // host:port of the manage endpoints
	ConfigPath string

	logFile string
	log     safeBuffer // stderr (and stdout unless logFile is set)
	stdout  safeBuffer // stdout when logFile is set
	done    chan struct{}
	waitErr error // from Wait, once done is closed
}

// Start starts c. The process runs until it exits or Kill/Term.
func (c Command) Start() (*Proc, error) {
	if c.Name == "" {
		c.Name = filepath.Base(c.Bin)
	}
	p := &Proc{Name: c.Name, logFile: c.LogFile, done: make(chan struct{})}
	p.Cmd = exec.Command(c.Bin, c.Args...)
	p.Cmd.Dir = c.Dir
	p.Cmd.Env = append(os.Environ(), c.Env...)
	var f *os.File
	if c.LogFile == "" {
		p.Cmd.Stderr = &p.log
		p.Cmd.Stdout = &p.log
	} else {
		var err error
		f, err = os.OpenFile(c.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(f, "$ %s %s\n", c.Bin, strings.Join(c.Args, " "))
		p.Cmd.Stderr = f
		p.Cmd.Stdout = &p.stdout
	}
	if err := p.Cmd.Start(); err != nil {
		if f != nil {
			f.Close()
		}
		return nil, fmt.Errorf("%s: %w", c.Name, err)
	}
	go func() {
		p.waitErr = p.Cmd.Wait()
		if f != nil {
			f.Close()
		}
		close(p.done)
	}()
	return p, nil
}

// safeBuffer collects a process's output.
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

// Log returns what the process wrote so far: stderr and stdout, or, with a
// LogFile, that file.
func (p *Proc) Log() string {
	if p.logFile != "" {
		b, _ := os.ReadFile(p.logFile)
		return string(b)
	}
	return p.log.String()
}

// Stdout returns what the process wrote to stdout, when it was started with
// a LogFile (otherwise stdout is in Log).
func (p *Proc) Stdout() []byte { return []byte(p.stdout.String()) }

// Pid returns the process id.
func (p *Proc) Pid() int { return p.Cmd.Process.Pid }

// Done is closed when the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Exited reports whether the process has exited.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// ExitCode is the exit status once the process is done (-1: killed by a
// signal).
func (p *Proc) ExitCode() int { return p.Cmd.ProcessState.ExitCode() }

// Wait waits up to timeout for the process to exit by itself.
func (p *Proc) Wait(timeout time.Duration) bool {
	select {
	case <-p.done:
		return true
	case <-time.After(timeout):
		return false
	}
}

// Signal sends sig to the process.
func (p *Proc) Signal(sig os.Signal) error { return p.Cmd.Process.Signal(sig) }

// Kill sends SIGKILL and waits for the process.
func (p *Proc) Kill() {
	if p.Exited() {
		return
	}
	p.Cmd.Process.Kill()
	<-p.done
}

// Term sends SIGTERM and waits up to timeout, then kills; it returns the
// exit code, or -1 when the process had to be killed.
func (p *Proc) Term(timeout time.Duration) int {
	if p.Exited() {
		return p.ExitCode()
	}
	p.Cmd.Process.Signal(syscall.SIGTERM)
	if p.Wait(timeout) {
		return p.ExitCode()
	}
	p.Kill()
	return -1
}

// WaitUp polls url until it answers 200 and, if dial is set, that address
// accepts a connection; it fails early when the process exits.
func (p *Proc) WaitUp(ctx context.Context, url, dial string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if code, _, err := HTTPGet(url); err == nil && code == 200 {
			if dial == "" {
				return nil
			}
			if c, err := net.DialTimeout("tcp", dial, time.Second); err == nil {
				c.Close()
				return nil
			}
		}
		if p.Exited() {
			return fmt.Errorf("%s exited before it was up (status %d, %v)", p.Name, p.ExitCode(), p.waitErr)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not up after %v", p.Name, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// httpc reads the processes a harness started, on loopback: a sink with
// --tls serves a certificate made at its start, which it is not asked to
// prove, over HTTP/1.1 (the lean sink answers GET /stats only there).
var httpc = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
	TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
	TLSNextProto:    map[string]func(string, *tls.Conn) http.RoundTripper{},
}}

// HTTPGet fetches url and returns its status and body.
func HTTPGet(url string) (int, []byte, error) {
	r, err := httpc.Get(url)
	if err != nil {
		return 0, nil, err
	}
	defer r.Body.Close()
	b, err := io.ReadAll(r.Body)
	return r.StatusCode, b, err
}

// Get fetches a manage endpoint of a connector and returns its body.
func (p *Proc) Get(path string) (int, string, error) {
	code, b, err := HTTPGet("http://" + p.ManageAddr + path)
	return code, string(b), err
}

// MetricsURL is the URL of a connector's Prometheus text (read it with
// perf/harness/prom).
func (p *Proc) MetricsURL() string { return "http://" + p.ManageAddr + "/metrics" }

// RSS returns the resident set size in bytes (VmRSS).
func (p *Proc) RSS() int64 { return StatusKB(p.procFile("status"), "VmRSS:") * 1024 }

// PeakRSS returns the peak resident set size in bytes (VmHWM).
func (p *Proc) PeakRSS() int64 { return StatusKB(p.procFile("status"), "VmHWM:") * 1024 }

func (p *Proc) procFile(name string) string { return "/proc/" + strconv.Itoa(p.Pid()) + "/" + name }

// CPU returns the user+system CPU time the process has used
// (/proc/PID/stat).
func (p *Proc) CPU() time.Duration {
	b, err := os.ReadFile(p.procFile("stat"))
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

// RunWait is how long the process's threads were runnable but waiting for
// a CPU (the run queue), summed over /proc/PID/task/*/schedstat: high on a
// machine whose other work takes the cores.
func (p *Proc) RunWait() time.Duration {
	tasks, err := os.ReadDir(p.procFile("task"))
	if err != nil {
		return 0
	}
	var sum int64
	for _, t := range tasks {
		b, err := os.ReadFile(p.procFile("task/" + t.Name() + "/schedstat"))
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

// StatusKB reads a "Key: N kB" line of a /proc file (/proc/PID/status,
// /proc/meminfo); 0 when absent.
func StatusKB(file, key string) int64 {
	b, err := os.ReadFile(file)
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
