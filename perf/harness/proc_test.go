package harness

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestCommandOutput(t *testing.T) {
	script := "echo out; echo err >&2; exit 3"
	p, err := Command{Bin: "/bin/sh", Args: []string{"-c", script}}.Start()
	if err != nil {
		t.Fatal(err)
	}
	if !p.Wait(10 * time.Second) {
		t.Fatal("not done")
	}
	if p.Name != "sh" || !p.Exited() || p.ExitCode() != 3 || p.Term(time.Second) != 3 {
		t.Errorf("name %q exited %v code %d", p.Name, p.Exited(), p.ExitCode())
	}
	if l := p.Log(); !strings.Contains(l, "out\n") || !strings.Contains(l, "err\n") {
		t.Errorf("log %q", l)
	}

	// With a log file: stderr there after the command line, stdout apart.
	logFile := filepath.Join(t.TempDir(), "sh.log")
	p, err = Command{Name: "shell", Bin: "/bin/sh", Args: []string{"-c", script}, LogFile: logFile}.Start()
	if err != nil {
		t.Fatal(err)
	}
	p.Wait(10 * time.Second)
	if got := string(p.Stdout()); got != "out\n" {
		t.Errorf("stdout %q", got)
	}
	if got := p.Log(); got != "$ /bin/sh -c "+script+"\nerr\n" {
		t.Errorf("log file %q", got)
	}
}

func TestProcStatsAndTerm(t *testing.T) {
	p, err := Command{Bin: "/bin/sh", Args: []string{"-c", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; exec sleep 30"}}.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Kill()
	time.Sleep(300 * time.Millisecond)
	if p.RSS() <= 0 || p.PeakRSS() < p.RSS()/2 || p.RunWait() < 0 {
		t.Errorf("rss %d peak %d run wait %v", p.RSS(), p.PeakRSS(), p.RunWait())
	}
	if !waitFor(10*time.Second, func() bool { return p.CPU() > 0 }) {
		t.Errorf("cpu %v", p.CPU())
	}
	if p.Exited() {
		t.Fatal("exited early")
	}
	if code := p.Term(5 * time.Second); code != -1 || !p.Exited() { // killed by SIGTERM: no exit status
		t.Errorf("term: %d", code)
	}
	if kb := StatusKB("/proc/meminfo", "MemTotal:"); kb <= 0 {
		t.Errorf("MemTotal %d", kb)
	}
}

func TestWaitUp(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	p, err := Command{Name: "sleeper", Bin: "/bin/sh", Args: []string{"-c", "exec sleep 30"}}.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Kill()
	if err := p.WaitUp(context.Background(), srv.URL, srv.Listener.Addr().String(), 5*time.Second); err != nil {
		t.Error(err)
	}
	if err := p.WaitUp(context.Background(), srv.URL+"/x", "127.0.0.1:1", 100*time.Millisecond); err == nil || !strings.Contains(err.Error(), "sleeper not up") {
		t.Errorf("a dial that fails: %v", err)
	}
	q, err := Command{Name: "quitter", Bin: "/bin/sh", Args: []string{"-c", "exit 1"}}.Start()
	if err != nil {
		t.Fatal(err)
	}
	if err := q.WaitUp(context.Background(), "http://127.0.0.1:1/", "", 10*time.Second); err == nil || !strings.Contains(err.Error(), "quitter exited before it was up (status 1") {
		t.Errorf("an exit: %v", err)
	}
}

func TestFreePorts(t *testing.T) {
	ports, err := FreePorts(4)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if p <= 0 || seen[p] {
			t.Errorf("ports %v", ports)
		}
		seen[p] = true
	}
}

func waitFor(timeout time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return false
}
