package deploy

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xdrhook/xdrhook/config"
)

const unitPath = "systemd/xdrhook.service"

// unit is a parsed unit file: section → key → values (a key may repeat).
type unit map[string]map[string][]string

func (u unit) get(section, key string) (string, bool) {
	v, ok := u[section][key]
	if !ok || len(v) == 0 {
		return "", false
	}
	return v[len(v)-1], true
}

func parseUnit(t *testing.T, data []byte) unit {
	t.Helper()
	u := unit{}
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if strings.HasSuffix(line, "\\") {
			t.Fatalf("%s:%d: line continuations are not used here", unitPath, n)
		}
		if line[0] == '[' {
			if !strings.HasSuffix(line, "]") {
				t.Fatalf("%s:%d: bad section header %q", unitPath, n, line)
			}
			section = line[1 : len(line)-1]
			if _, dup := u[section]; dup {
				t.Fatalf("%s:%d: section [%s] twice", unitPath, n, section)
			}
			u[section] = map[string][]string{}
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || section == "" {
			t.Fatalf("%s:%d: not key=value inside a section: %q", unitPath, n, line)
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		u[section][k] = append(u[section][k], v)
	}
	return u
}

// seconds parses a systemd time span made of plain seconds or s/min units.
func seconds(t *testing.T, v string) time.Duration {
	t.Helper()
	var total time.Duration
	for _, f := range strings.Fields(v) {
		unit := time.Second
		switch {
		case strings.HasSuffix(f, "min"):
			unit, f = time.Minute, strings.TrimSuffix(f, "min")
		case strings.HasSuffix(f, "s"):
			f = strings.TrimSuffix(f, "s")
		}
		n, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("time span %q: %v", v, err)
		}
		total += time.Duration(n) * unit
	}
	return total
}

// TestSystemdUnit checks the unit's keys: how it runs xdrhook, how it stops
// it, and the hardening.
func TestSystemdUnit(t *testing.T) {
	data, err := os.ReadFile(unitPath)
	if err != nil {
		t.Fatal(err)
	}
	u := parseUnit(t, data)
	for _, s := range []string{"Unit", "Service", "Install"} {
		if u[s] == nil {
			t.Fatalf("no [%s] section", s)
		}
	}
	want := func(section, key string, ok func(string) bool, why string) {
		t.Helper()
		v, present := u.get(section, key)
		if !present || !ok(v) {
			t.Errorf("[%s] %s=%q: want %s", section, key, v, why)
		}
	}
	is := func(vals ...string) func(string) bool {
		return func(v string) bool {
			for _, w := range vals {
				if strings.EqualFold(v, w) {
					return true
				}
			}
			return false
		}
	}
	yes := is("yes", "true", "on", "1")
	empty := func(v string) bool { return v == "" }

	want("Unit", "Description", func(v string) bool { return v != "" }, "a description")
	want("Unit", "After", func(v string) bool { return strings.Contains(v, "network-online.target") }, "after network-online.target")
	want("Unit", "Wants", func(v string) bool { return strings.Contains(v, "network-online.target") }, "network-online.target")

	// How xdrhook runs: `xdrhook run --config FILE`, an absolute path.
	execStart, _ := u.get("Service", "ExecStart")
	args := strings.Fields(execStart)
	if len(args) != 4 || !filepath.IsAbs(args[0]) || filepath.Base(args[0]) != "xdrhook" || args[1] != "run" || args[2] != "--config" || !filepath.IsAbs(args[3]) {
		t.Fatalf("ExecStart=%q: want /path/xdrhook run --config /path/file", execStart)
	}
	configDir := filepath.Dir(args[3])
	want("Service", "Type", is("exec", "simple"), "exec (xdrhook does not notify or fork)")
	if _, ok := u["Service"]["ExecReload"]; ok {
		t.Error("ExecReload: xdrhook has no reload; a config change is a restart")
	}

	// Stopping: SIGTERM settles everything in flight within the reply
	// deadline, then up to 5 s for the listeners (cmd/xdrhook serve).
	want("Service", "KillSignal", is("SIGTERM", "TERM", "15"), "SIGTERM")
	stop, _ := u.get("Service", "TimeoutStopSec")
	if d := seconds(t, stop); d < config.MaxReplyDeadline+5*time.Second+2*time.Second {
		t.Errorf("TimeoutStopSec=%s (%v): want ≥ reply-deadline %v + 5 s shutdown + margin", stop, d, config.MaxReplyDeadline)
	}
	want("Service", "Restart", is("on-failure", "always", "on-abnormal"), "a restart policy")
	want("Service", "RestartPreventExitStatus", func(v string) bool {
		return strings.Contains(" "+v+" ", " 2 ")
	}, "2 (a config error is not fixed by restarting)")
	nofile, _ := u.get("Service", "LimitNOFILE")
	if n, err := strconv.Atoi(strings.Split(nofile, ":")[0]); err != nil || n < 8192 {
		t.Errorf("LimitNOFILE=%q: want ≥ 8192 (hundreds of XDR connections, destination connections)", nofile)
	}

	// Hardening.
	dynamic, _ := u.get("Service", "DynamicUser")
	user, _ := u.get("Service", "User")
	if !yes(dynamic) && (user == "" || user == "root" || user == "0") {
		t.Error("want DynamicUser=yes or a dedicated User=")
	}
	want("Service", "NoNewPrivileges", yes, "yes")
	want("Service", "ProtectSystem", is("strict"), "strict")
	want("Service", "PrivateTmp", yes, "yes")
	want("Service", "ProtectHome", is("yes", "true", "read-only", "tmpfs"), "yes")
	want("Service", "AmbientCapabilities", empty, "none (ports above 1024)")
	want("Service", "CapabilityBoundingSet", empty, "none")
	want("Service", "ReadOnlyPaths", func(v string) bool {
		return strings.Contains(" "+v+" ", " "+configDir+" ") || strings.Contains(" "+v+" ", " -"+configDir+" ")
	}, "the config directory "+configDir)
	for _, k := range []string{"PrivateDevices", "ProtectKernelTunables", "ProtectKernelModules", "ProtectControlGroups", "RestrictSUIDSGID", "LockPersonality", "MemoryDenyWriteExecute", "RestrictRealtime"} {
		want("Service", k, yes, "yes")
	}
	want("Service", "RestrictAddressFamilies", func(v string) bool {
		return strings.Contains(v, "AF_INET") && !strings.Contains(v, "AF_PACKET") && !strings.Contains(v, "AF_NETLINK")
	}, "the internet families only")
	if f := u["Service"]["SystemCallFilter"]; len(f) == 0 || !strings.Contains(strings.Join(f, " "), "@system-service") {
		t.Errorf("SystemCallFilter=%q: want @system-service", f)
	}
	want("Install", "WantedBy", is("multi-user.target"), "multi-user.target")
}

// systemdUnitCopy writes the unit to a temporary directory with ExecStart
// pointing at an executable there: systemd-analyze checks that the program
// exists.
func systemdUnitCopy(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(unitPath)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "xdrhook")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	u := parseUnit(t, data)
	execStart, _ := u.get("Service", "ExecStart")
	orig := strings.Fields(execStart)[0]
	out := filepath.Join(dir, "xdrhook.service")
	if err := os.WriteFile(out, bytes.ReplaceAll(data, []byte(orig+" "), []byte(bin+" ")), 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSystemdAnalyzeVerify runs `systemd-analyze verify` on the unit: any
// message about it (unknown key, bad value, missing program) fails.
func TestSystemdAnalyzeVerify(t *testing.T) {
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed (apt-get install systemd): only the unit parser checked it")
	}
	path := systemdUnitCopy(t)
	cmd := exec.Command(sa, "verify", "--man=no", path)
	out, err := cmd.CombinedOutput()
	text := strings.TrimSpace(string(out))
	if strings.Contains(text, filepath.Base(path)) {
		t.Fatalf("systemd-analyze verify:\n%s", text)
	}
	if err != nil {
		// Not about the unit: the container cannot run the analyzer.
		t.Skipf("systemd-analyze verify cannot run here (%v): %s", err, text)
	}
	if text != "" {
		t.Logf("systemd-analyze verify said (not about the unit):\n%s", text)
	}
}

// TestSystemdAnalyzeSecurity: systemd's own exposure score of the unit
// (0 = locked down, 10 = unprotected) must stay at most 2.0 ("OK").
func TestSystemdAnalyzeSecurity(t *testing.T) {
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed")
	}
	path := systemdUnitCopy(t)
	help, _ := exec.Command(sa, "security", "--help").CombinedOutput()
	if !bytes.Contains(help, []byte("--offline")) || !bytes.Contains(help, []byte("--threshold")) {
		t.Skip("systemd-analyze security lacks --offline/--threshold (systemd < 250)")
	}
	out, err := exec.Command(sa, "security", "--offline=yes", "--threshold=20", "--no-pager", path).CombinedOutput()
	score := ""
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, "Overall exposure level") {
			score = strings.TrimSpace(l)
		}
	}
	if score == "" {
		t.Skipf("systemd-analyze security cannot run here (%v): %s", err, out)
	}
	t.Log(score)
	if err != nil {
		t.Errorf("exposure above 2.0 (%v):\n%s", err, out)
	}
}
