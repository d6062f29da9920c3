package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// SeaweedFSVersion is the SeaweedFS module version build-seaweedfs.sh
// builds (Apache-2.0; its S3 gateway verifies AWS Signature V4).
const SeaweedFSVersion = "v0.0.0-20261109003541-7506e5f91cd6"

var weedBin = builtOnce{env: "XDRHOOK_SEAWEEDFS_BIN", build: func(root string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(root, "perf", "harness", "build-seaweedfs.sh"))
	cmd.Env = append(os.Environ(), "SEAWEEDFS_VERSION="+SeaweedFSVersion)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("build-seaweedfs.sh: %v\n%s", err, tailLines(stderr.String(), 30))
	}
	return strings.TrimSpace(string(out)), nil
}}

// SeaweedFSBinary returns the path of a `weed` binary: XDRHOOK_SEAWEEDFS_BIN,
// or the one perf/harness/build-seaweedfs.sh caches under
// ~/.cache/xdrhook-peers/seaweedfs-VERSION, building it first if absent
// (10-20 minutes on 2 cores, once per machine). Give the test binary a
// -timeout that allows it (make test-system does).
func SeaweedFSBinary(tb TB) string {
	tb.Helper()
	return weedBin.get(tb)
}

// SeaweedFS is a running `weed server` with its S3 gateway.
type SeaweedFS struct {
	Proc *Proc
	// S3 is the gateway's address, host:port.
	S3 string
	// Dir holds its data and s3.json.
	Dir string
}

// S3Identity is one S3 identity of the gateway: its access key and
// secret, allowed every action.
type S3Identity struct{ AccessKey, SecretKey string }

// StartSeaweedFS runs weed server (master, volume, filer and S3 gateway,
// every listener on 127.0.0.1 and a free port) with the given identities
// until the test ends, and waits until the gateway accepts connections.
// The gateway answers a request without a valid signature 403.
func StartSeaweedFS(tb TB, bin string, ids ...S3Identity) *SeaweedFS {
	tb.Helper()
	dir := tb.TempDir()
	type cred struct {
		AccessKey string `json:"accessKey"`
		SecretKey string `json:"secretKey"`
	}
	type ident struct {
		Name        string   `json:"name"`
		Credentials []cred   `json:"credentials"`
		Actions     []string `json:"actions"`
	}
	var conf struct {
		Identities []ident `json:"identities"`
	}
	for i, id := range ids {
		conf.Identities = append(conf.Identities, ident{Name: "id" + strconv.Itoa(i),
			Credentials: []cred{{id.AccessKey, id.SecretKey}}, Actions: []string{"Admin", "Read", "Write", "List"}})
	}
	b, _ := json.Marshal(conf)
	s3conf := filepath.Join(dir, "s3.json")
	if err := os.WriteFile(s3conf, b, 0o600); err != nil {
		tb.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o755); err != nil {
		tb.Fatal(err)
	}
	ports, err := FreePorts(8)
	if err != nil {
		tb.Fatal(err)
	}
	p := func(i int) string { return strconv.Itoa(ports[i]) }
	args := []string{"server", "-dir=" + data, "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
		"-master.port=" + p(0), "-master.port.grpc=" + p(1), "-master.volumeSizeLimitMB=64",
		"-volume.port=" + p(2), "-volume.port.grpc=" + p(3), "-volume.max=16",
		"-filer", "-filer.port=" + p(4), "-filer.port.grpc=" + p(5),
		"-s3", "-s3.port=" + p(6), "-s3.port.grpc=" + p(7), "-s3.port.iceberg=0", "-s3.port.lance=0",
		"-s3.config=" + s3conf}
	pr, err := Command{Name: "weed", Bin: bin, Args: args, Dir: dir, LogFile: filepath.Join(dir, "weed.log")}.Start()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(pr.Kill)
	s := &SeaweedFS{Proc: pr, S3: "127.0.0.1:" + p(6), Dir: dir}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if c, err := net.DialTimeout("tcp", s.S3, time.Second); err == nil {
			c.Close()
			return s
		}
		if pr.Exited() || time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "weed.log"))
			tb.Fatal(fmt.Sprintf("SeaweedFS S3 gateway not up on %s (exited %t):\n%s", s.S3, pr.Exited(), tailLines(string(log), 40)))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Log returns the end of weed's log.
func (s *SeaweedFS) Log() string {
	b, _ := os.ReadFile(filepath.Join(s.Dir, "weed.log"))
	return tailLines(string(b), 40)
}

func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
