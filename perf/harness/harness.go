// Package harness runs xdrhook's processes for end-to-end, fault,
// reliability, deployment and perf tests and for the perf suite: it builds
// the binary once, picks free ports, writes a connector's config, starts
// `xdrhook run` (or any command: sink, sim, bench baseline), waits until it
// is ready, stops it, reads its resident memory, CPU time and run-queue
// wait from /proc; and starts an in-process sink. Prometheus text is read
// by perf/harness/prom.
package harness

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/xdrhook/xdrhook/perf/sink"
)

// TB is the part of testing.TB the harness uses: a *testing.T or
// *testing.B. The harness does not import testing: the perf suite uses it
// from inside the xdrhook binary.
type TB interface {
	Helper()
	Fatal(args ...any)
	Cleanup(func())
	TempDir() string
}

// builtOnce is a binary built at most once per test process, or the
// prebuilt one an environment variable names.
type builtOnce struct {
	env   string
	build func(root string) (string, error) // root: the module's directory
	once  sync.Once
	path  string
	err   error
}

func (b *builtOnce) get(tb TB) string {
	tb.Helper()
	if p := os.Getenv(b.env); p != "" {
		return p
	}
	b.once.Do(func() {
		root, err := ModuleRoot()
		if err == nil {
			b.path, err = b.build(root)
		}
		b.err = err
	})
	if b.err != nil {
		tb.Fatal(b.err)
	}
	return b.path
}

var xdrhookBin = builtOnce{env: "XDRHOOK_BIN", build: func(root string) (string, error) {
	dir, err := os.MkdirTemp("", "xdrhook-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "xdrhook")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/xdrhook")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
}}

// Binary builds ./cmd/xdrhook once per test process and returns its path.
// XDRHOOK_BIN overrides it with a prebuilt binary.
func Binary(tb TB) string {
	tb.Helper()
	return xdrhookBin.get(tb)
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
func FreePort(tb TB) int {
	tb.Helper()
	ports, err := FreePorts(1)
	if err != nil {
		tb.Fatal(err)
	}
	return ports[0]
}

// FreePorts returns n distinct TCP ports free on 127.0.0.1 at the time of
// the call.
func FreePorts(n int) ([]int, error) {
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

// Start starts the connector and waits until /healthz answers 200 and the
// XDR port accepts a connection (destinations may be down); the process is
// killed when the test ends.
func (c Connector) Start(tb TB) *Proc {
	tb.Helper()
	p, err := c.start(tb)
	// A port picked free can be taken before the process binds it (another
	// package's test, a connection's local port: CI saw the manage port
	// go): with both ports picked here, pick again.
	for try := 1; err != nil && try < 3 && c.XDRPort == 0 && c.ManagePort == 0 &&
		strings.Contains(err.Error(), "address already in use"); try++ {
		p, err = c.start(tb)
	}
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { p.Kill() })
	return p
}

func (c Connector) start(tb TB) (*Proc, error) {
	if c.XDRPort == 0 || c.ManagePort == 0 {
		ports, err := FreePorts(2)
		if err != nil {
			return nil, err
		}
		if c.XDRPort == 0 {
			c.XDRPort = ports[0]
		}
		if c.ManagePort == 0 {
			c.ManagePort = ports[1]
		}
	}
	cfg := strings.ReplaceAll(c.Config, "{{XDR_PORT}}", strconv.Itoa(c.XDRPort))
	cfg = strings.ReplaceAll(cfg, "{{MANAGE_PORT}}", strconv.Itoa(c.ManagePort))
	path := filepath.Join(tb.TempDir(), "xdrhook.yml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	p, err := Command{Name: "xdrhook", Bin: Binary(tb), Args: append([]string{"run", "--config", path}, c.Args...), Env: c.Env}.Start()
	if err != nil {
		return nil, err
	}
	p.XDRAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(c.XDRPort))
	p.ManageAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(c.ManagePort))
	p.ConfigPath = path
	if err := p.WaitUp(context.Background(), "http://"+p.ManageAddr+"/healthz", p.XDRAddr, 15*time.Second); err != nil {
		p.Kill()
		return nil, fmt.Errorf("%v:\n%s", err, p.Log())
	}
	return p, nil
}

// StartSink starts an in-process sink (perf/sink) on a free port; it is
// closed when the test ends.
func StartSink(tb TB, cfg sink.Config) *sink.Sink {
	tb.Helper()
	s, err := sink.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	if err := s.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}
