package harness

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// Apache is Debian's apache2 (the event MPM, one process: -X) run for one
// test with a configuration of its own: none of /etc/apache2 is read.
type Apache struct {
	Dir  string // config, pid, logs
	Addr string // 127.0.0.1:port it listens on
}

// apacheModules is where Debian's apache2 keeps its modules.
const apacheModules = "/usr/lib/apache2/modules"

// NewApache picks the address; it skips the test when apache2 is not
// installed (CI installs it: there it fails).
func NewApache(tb NginxTB) *Apache {
	tb.Helper()
	if _, err := exec.LookPath("apache2"); err != nil {
		if os.Getenv("CI") != "" {
			tb.Fatal("apache2 is not installed: .ci/run installs it")
		}
		tb.Skip("apache2 not installed (apt-get install apache2)")
	}
	return &Apache{Dir: tb.TempDir(), Addr: fmt.Sprintf("127.0.0.1:%d", FreePort(tb))}
}

// Start runs apache2 with the event MPM, authz_core and the modules named
// (e.g. "proxy", "proxy_http"), then conf (directives of the main server),
// until the test ends; it returns when the port accepts connections.
func (a *Apache) Start(tb TB, modules []string, conf string) {
	tb.Helper()
	c := fmt.Sprintf("ServerRoot %[1]s\nListen %[2]s\nServerName localhost\nPidFile %[1]s/httpd.pid\nDefaultRuntimeDir %[1]s\nErrorLog %[1]s/error.log\nLogLevel warn\n", a.Dir, a.Addr)
	for _, m := range append([]string{"mpm_event", "authz_core"}, modules...) {
		c += fmt.Sprintf("LoadModule %s_module %s/mod_%s.so\n", m, apacheModules, m)
	}
	if os.Geteuid() == 0 {
		c += "User nobody\nGroup nogroup\n"
	}
	c += conf + "\n"
	path := filepath.Join(a.Dir, "httpd.conf")
	if err := os.WriteFile(path, []byte(c), 0o644); err != nil {
		tb.Fatal(err)
	}
	// -X: one process, no children left behind when it is killed.
	startServer(tb, a.Addr, filepath.Join(a.Dir, "error.log"), "apache2", "-f", path, "-X")
}
