package harness

import (
	"net"
	"os"
	"os/exec"
	"time"
)

// startServer runs one of the Debian servers (nginx, HAProxy, Apache) in
// the foreground — args keep it from daemonizing — kills it at the test's
// cleanup, and waits up to 5 s for addr to accept. A server that does not
// come up fails the test with its output and, if errorLog is set, that
// file.
func startServer(tb TB, addr, errorLog, name string, args ...string) {
	tb.Helper()
	cmd := exec.Command(name, args...)
	var out safeBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for deadline := time.Now().Add(5 * time.Second); ; {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			msg := name + " did not start: " + out.String()
			if errorLog != "" {
				b, _ := os.ReadFile(errorLog)
				msg += string(b)
			}
			tb.Fatal(msg)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
