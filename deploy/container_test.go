package deploy

import (
	"bufio"
	"bytes"
	"debug/elf"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/xdrhook/xdrhook/config"
)

const dockerfilePath = "container/Dockerfile"

// instr is one Dockerfile instruction, continuation lines joined.
type instr struct {
	line int
	cmd  string // upper case
	args string
}

type stage struct {
	image, name string
	instrs      []instr
}

func (s *stage) all(cmd string) []instr {
	var out []instr
	for _, in := range s.instrs {
		if in.cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

func parseDockerfile(t *testing.T) []*stage {
	t.Helper()
	data, err := os.ReadFile(dockerfilePath)
	if err != nil {
		t.Fatal(err)
	}
	var stages []*stage
	sc := bufio.NewScanner(bytes.NewReader(data))
	n, start := 0, 0
	var cur strings.Builder
	flush := func() {
		text := strings.TrimSpace(cur.String())
		cur.Reset()
		if text == "" {
			return
		}
		cmd, args, _ := strings.Cut(text, " ")
		in := instr{line: start, cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args)}
		if in.cmd == "FROM" {
			f := strings.Fields(in.args)
			s := &stage{image: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				s.name = f[2]
			} else if len(f) != 1 {
				t.Fatalf("%s:%d: FROM %s", dockerfilePath, in.line, in.args)
			}
			stages = append(stages, s)
			return
		}
		if len(stages) == 0 {
			if in.cmd != "ARG" {
				t.Fatalf("%s:%d: %s before FROM", dockerfilePath, in.line, in.cmd)
			}
			return
		}
		s := stages[len(stages)-1]
		s.instrs = append(s.instrs, in)
	}
	for sc.Scan() {
		n++
		line := sc.Text()
		trim := strings.TrimSpace(line)
		if strings.HasPrefix(trim, "#") {
			continue // comments (and the syntax directive)
		}
		if cur.Len() == 0 {
			if trim == "" {
				continue
			}
			start = n
		}
		if strings.HasSuffix(trim, "\\") {
			cur.WriteString(strings.TrimSuffix(trim, "\\") + " ")
			continue
		}
		cur.WriteString(trim)
		flush()
	}
	flush()
	return stages
}

// execForm decodes a JSON-array instruction argument (ENTRYPOINT, CMD).
func execForm(t *testing.T, in instr) []string {
	t.Helper()
	var v []string
	if err := json.Unmarshal([]byte(in.args), &v); err != nil {
		t.Fatalf("%s:%d: %s %s: want the exec form [\"...\"]: %v", dockerfilePath, in.line, in.cmd, in.args, err)
	}
	return v
}

// imageUser returns the final stage's USER as uid, gid.
func imageUser(t *testing.T) (uid, gid int64) {
	t.Helper()
	st := parseDockerfile(t)
	users := st[len(st)-1].all("USER")
	if len(users) == 0 {
		t.Fatal("Dockerfile: the final stage sets no USER")
	}
	u, g, _ := strings.Cut(users[len(users)-1].args, ":")
	uid, err := strconv.ParseInt(u, 10, 64)
	if err != nil {
		t.Fatalf("Dockerfile: USER %q: want a numeric uid (Kubernetes runAsNonRoot checks a number)", users[len(users)-1].args)
	}
	gid = uid
	if g != "" {
		if gid, err = strconv.ParseInt(g, 10, 64); err != nil {
			t.Fatalf("Dockerfile: USER group %q: want numeric", g)
		}
	}
	return uid, gid
}

func goVersion(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(data)
	if m == nil {
		t.Fatal("go.mod: no go directive")
	}
	return string(m[1])
}

// TestDockerfile checks the image's structure: a Go builder stage of the
// module's Go version building a static binary, a distroless (or scratch)
// final stage running it as a non-root user, the ports, no remote ADD.
func TestDockerfile(t *testing.T) {
	st := parseDockerfile(t)
	if len(st) < 2 {
		t.Fatalf("%d stages: want a builder and a final stage", len(st))
	}
	build, final := st[0], st[len(st)-1]
	if want := "golang:" + goVersion(t); build.image != want && !strings.HasPrefix(build.image, want+"-") && !strings.HasPrefix(build.image, want+"@") {
		t.Errorf("builder FROM %s: want %s (go.mod's version)", build.image, want)
	}
	if build.name == "" {
		t.Error("the builder stage has no name (FROM ... AS build)")
	}
	for _, s := range st {
		for _, in := range s.all("ADD") {
			if strings.Contains(in.args, "://") {
				t.Errorf("%s:%d: ADD of a URL (unpinned, unverified download)", dockerfilePath, in.line)
			} else {
				t.Errorf("%s:%d: ADD: use COPY", dockerfilePath, in.line)
			}
		}
	}

	// The build: CGO_ENABLED=0 (ENV or inline), go build ./cmd/xdrhook -o OUT.
	cgoOff := false
	for _, in := range build.all("ENV") {
		if regexp.MustCompile(`(^|\s)CGO_ENABLED=0(\s|$)`).MatchString(in.args) {
			cgoOff = true
		}
	}
	var goBuild string
	for _, in := range build.all("RUN") {
		if strings.Contains(in.args, "go build") {
			goBuild = in.args
			if strings.Contains(in.args, "CGO_ENABLED=0") {
				cgoOff = true
			}
		}
	}
	if !cgoOff {
		t.Error("the builder does not set CGO_ENABLED=0: the binary would need libc, which distroless/static and scratch lack")
	}
	if !strings.Contains(goBuild, "./cmd/xdrhook") {
		t.Fatalf("no `go build ... ./cmd/xdrhook` in the builder: %q", goBuild)
	}
	m := regexp.MustCompile(`-o\s+(\S+)`).FindStringSubmatch(goBuild)
	if m == nil {
		t.Fatalf("go build without -o: %q", goBuild)
	}
	out := m[1]
	for _, in := range build.all("COPY") {
		f := strings.Fields(in.args)
		for _, src := range f[:len(f)-1] {
			if strings.HasPrefix(src, "--") {
				continue
			}
			if _, err := os.Stat(filepath.Join("..", src)); err != nil {
				t.Errorf("%s:%d: COPY %s: not in the build context (the repository root): %v", dockerfilePath, in.line, src, err)
			}
		}
	}

	// The final stage.
	if !strings.HasPrefix(final.image, "gcr.io/distroless/static") && final.image != "scratch" {
		t.Errorf("final FROM %s: want gcr.io/distroless/static* or scratch", final.image)
	}
	if strings.Contains(final.image, "distroless") && !strings.Contains(final.image, "nonroot") {
		t.Errorf("final FROM %s: want the :nonroot variant", final.image)
	}
	dest := ""
	for _, in := range final.all("COPY") {
		f := strings.Fields(in.args)
		if len(f) == 3 && f[0] == "--from="+build.name && f[1] == out {
			dest = f[2]
		}
	}
	if dest == "" {
		t.Fatalf("the final stage does not COPY --from=%s %s", build.name, out)
	}
	if len(final.all("RUN")) > 0 {
		t.Error("RUN in the final stage: it has no shell")
	}
	if uid, _ := imageUser(t); uid == 0 {
		t.Error("USER 0: want a non-root user")
	}
	ports := map[string]bool{}
	for _, in := range final.all("EXPOSE") {
		for _, p := range strings.Fields(in.args) {
			ports[strings.TrimSuffix(p, "/tcp")] = true
		}
	}
	for _, p := range []int{config.DefaultPort, config.DefaultManagePort} {
		if !ports[strconv.Itoa(p)] {
			t.Errorf("EXPOSE lacks %d (config default)", p)
		}
	}
	if hc := final.all("HEALTHCHECK"); len(hc) != 1 {
		t.Error("want one HEALTHCHECK (NONE, with the reason, or a command the image can run)")
	} else if strings.HasPrefix(strings.ToUpper(hc[0].args), "CMD") && regexp.MustCompile(`\b(curl|wget|sh)\b`).MatchString(hc[0].args) {
		t.Errorf("HEALTHCHECK %s: the final image has no curl, wget or shell", hc[0].args)
	}
	eps := final.all("ENTRYPOINT")
	if len(eps) != 1 {
		t.Fatal("want one ENTRYPOINT")
	}
	if ep := execForm(t, eps[0]); len(ep) != 1 || ep[0] != dest {
		t.Errorf("ENTRYPOINT %v: want [%q]", ep, dest)
	}
	cmds := final.all("CMD")
	if len(cmds) != 1 {
		t.Fatal("want one CMD")
	}
	if c := execForm(t, cmds[0]); len(c) != 3 || c[0] != "run" || c[1] != "--config" || !filepath.IsAbs(c[2]) {
		t.Errorf("CMD %v: want [\"run\", \"--config\", \"/abs/path\"]", c)
	}
	if s := final.all("STOPSIGNAL"); len(s) > 0 && s[0].args != "SIGTERM" {
		t.Errorf("STOPSIGNAL %s: xdrhook drains on SIGTERM", s[0].args)
	}

	// The ignore file keeps what the build needs.
	ign, err := os.ReadFile(dockerfilePath + ".dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(ign), "\n") {
		p := strings.TrimSpace(line)
		if p == "" || p[0] == '#' || p[0] == '!' {
			continue
		}
		for _, need := range []string{"go.mod", "go.sum", "cmd", "cmd/xdrhook", "cmd/xdrhook/main.go", "encode/schema/change_notification.avsc", "wire", "dataplane", "config"} {
			if ok, _ := filepath.Match(strings.TrimPrefix(p, "/"), need); ok {
				t.Errorf(".dockerignore pattern %q excludes %s, which the build needs", p, need)
			}
		}
	}
}

// TestDockerfileBuildIsStatic runs the Dockerfile's go build line (without
// Docker: none runs here) with its environment, and checks that the
// result is a static executable that runs.
func TestDockerfileBuildIsStatic(t *testing.T) {
	if testing.Short() {
		t.Skip("system tier: builds the binary; run by make test-system")
	}
	st := parseDockerfile(t)
	build := st[0]
	env := os.Environ()
	for _, in := range build.all("ENV") {
		env = append(env, strings.Fields(in.args)...)
	}
	var line string
	for _, in := range build.all("RUN") {
		if strings.Contains(in.args, "go build") {
			line = in.args
		}
	}
	line, _, _ = strings.Cut(line, "&&")
	line = strings.ReplaceAll(line, "${VERSION}", "test")
	out := filepath.Join(t.TempDir(), "xdrhook")
	line = regexp.MustCompile(`-o\s+\S+`).ReplaceAllString(line, "-o "+out)
	args, err := shellFields(line)
	if err != nil {
		t.Fatal(err)
	}
	for len(args) > 0 && strings.Contains(args[0], "=") { // inline VAR=value
		env = append(env, args[0])
		args = args[1:]
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = ".."
	cmd.Env = env
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", line, err, b)
	}
	f, err := elf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("the binary is dynamically linked (%v)", p.Type)
		}
	}
	v, err := exec.Command(out, "version").CombinedOutput()
	if err != nil || !strings.Contains(string(v), "xdrhook test") {
		t.Errorf("xdrhook version: %q %v", v, err)
	}
}

// shellFields splits a simple shell command line: words, "double" and
// 'single' quotes, no expansions.
func shellFields(s string) ([]string, error) {
	var out []string
	var cur strings.Builder
	in, quote := false, byte(0)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0:
			cur.WriteByte(c)
		case c == '"' || c == '\'':
			quote, in = c, true
		case c == ' ' || c == '\t':
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteByte(c)
			in = true
		}
	}
	if quote != 0 {
		return nil, strconv.ErrSyntax
	}
	if in {
		out = append(out, cur.String())
	}
	return out, nil
}
