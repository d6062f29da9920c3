package harness

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// NginxTB is what StartNginx needs of a test: TB, and skipping when nginx
// cannot be had.
type NginxTB interface {
	TB
	Skip(args ...any)
}

// Nginx is Debian's nginx run for one test, as one process (master_process
// off: no worker is left behind when it is killed, and it never switches to
// another user, so files it writes belong to whoever runs the test).
type Nginx struct {
	Dir  string // its prefix: config, logs, temp paths; files for the server go here too
	Addr string // 127.0.0.1:port it listens on
}

// NewNginx makes the prefix directory and picks the address, so that a
// test can write what its server block names (certificates, a document
// root) before Start. It skips the test when nginx is not installed (CI
// installs it: there it fails) or lacks one of the configure flags in
// needs, e.g. "--with-http_dav_module".
func NewNginx(tb NginxTB, needs ...string) *Nginx {
	tb.Helper()
	bin, err := exec.LookPath("nginx")
	if err != nil {
		if os.Getenv("CI") != "" {
			tb.Fatal("nginx is not installed: .ci/run installs nginx-light")
		}
		tb.Skip("nginx not installed (apt-get install nginx-light)")
	}
	if len(needs) > 0 {
		v, _ := exec.Command(bin, "-V").CombinedOutput()
		for _, n := range needs {
			if !strings.Contains(string(v), n) {
				tb.Skip(fmt.Sprintf("this nginx lacks %s (nginx -V):\n%s", n, v))
			}
		}
	}
	return &Nginx{Dir: tb.TempDir(), Addr: fmt.Sprintf("127.0.0.1:%d", FreePort(tb))}
}

// Start runs nginx with server as the body of its one server block after
// the listen directive (listenParams: e.g. "ssl http2"), until the test
// ends; it returns when the port accepts connections.
func (n *Nginx) Start(tb TB, listenParams, server string) {
	tb.Helper()
	conf := fmt.Sprintf(`daemon off;
master_process off;
error_log %[1]s/error.log warn;
pid %[1]s/nginx.pid;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path %[1]s/body;
  proxy_temp_path %[1]s/proxy;
  fastcgi_temp_path %[1]s/fastcgi;
  uwsgi_temp_path %[1]s/uwsgi;
  scgi_temp_path %[1]s/scgi;
  server {
    listen %[2]s %[3]s;
%[4]s
  }
}
`, n.Dir, n.Addr, listenParams, server)
	conf = strings.Replace(conf, " ;\n", ";\n", 1) // no listen parameters
	path := filepath.Join(n.Dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		tb.Fatal(err)
	}
	startServer(tb, n.Addr, filepath.Join(n.Dir, "error.log"), "nginx", "-p", n.Dir, "-c", path)
}
