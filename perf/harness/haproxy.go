package harness

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// HAProxy is Debian's haproxy run in the foreground for one test, with an
// admin socket for the runtime API (enable server, set weight, ...).
type HAProxy struct {
	Dir  string // config, admin socket
	Addr string // 127.0.0.1:port of its one frontend
	// Bind is added to the frontend's bind line (e.g. "proto h2", or
	// "ssl crt FILE alpn h2"); set it before Start.
	Bind string
}

// NewHAProxy picks the frontend address; it skips the test when haproxy is
// not installed (CI installs it: there it fails).
func NewHAProxy(tb NginxTB) *HAProxy {
	tb.Helper()
	if _, err := exec.LookPath("haproxy"); err != nil {
		if os.Getenv("CI") != "" {
			tb.Fatal("haproxy is not installed: .ci/run installs it")
		}
		tb.Skip("haproxy not installed (apt-get install haproxy)")
	}
	return &HAProxy{Dir: tb.TempDir(), Addr: fmt.Sprintf("127.0.0.1:%d", FreePort(tb))}
}

// Start runs haproxy with a frontend on Addr in mode (tcp or http) whose
// default backend "be" is backend (its server lines, balance, ...), until
// the test ends; it returns when the frontend accepts connections.
func (h *HAProxy) Start(tb TB, mode, backend string) {
	tb.Helper()
	conf := fmt.Sprintf(`global
  stats socket %[1]s/admin.sock mode 600 level admin
defaults
  mode %[3]s
  timeout connect 1s
  timeout client 60s
  timeout server 60s
frontend fe
  bind %[2]s %[5]s
  default_backend be
backend be
%[4]s
`, h.Dir, h.Addr, mode, backend, h.Bind)
	path := filepath.Join(h.Dir, "haproxy.cfg")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		tb.Fatal(err)
	}
	startServer(tb, h.Addr, "", "haproxy", "-db", "-f", path)
}

// Command sends one runtime API command ("enable server be/s3") on the
// admin socket and returns the answer.
func (h *HAProxy) Command(tb TB, cmd string) string {
	tb.Helper()
	c, err := net.Dial("unix", filepath.Join(h.Dir, "admin.sock"))
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "%s\n", cmd)
	var b strings.Builder
	sc := bufio.NewScanner(c)
	for sc.Scan() {
		b.WriteString(sc.Text() + "\n")
	}
	return strings.TrimSpace(b.String())
}
