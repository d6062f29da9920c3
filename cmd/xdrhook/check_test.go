package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.yml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func runCLI(args ...string) (rc int, stdout, stderr string) {
	var out, errb bytes.Buffer
	rc = dispatch(args, strings.NewReader(""), &out, &errb)
	return rc, out.String(), errb.String()
}

const checkConfig = `
destinations:
  search:
    urls: [http://127.0.0.1:9200/_bulk]
    headers: {Authorization: "Bearer ${SEARCH_TOKEN}"}
routing: {mode: static, destination: search}
format: {mode: flat-json, framing: es-bulk}
batching: {max-records: 1000}
`

func TestCheckValidRedacts(t *testing.T) {
	const token = "tkn-8c1e0f5b"
	t.Setenv("SEARCH_TOKEN", token)
	p := writeConfig(t, checkConfig)
	for _, format := range []string{"yaml", "json"} {
		rc, out, errs := runCLI("check", "--config", p, "--output", format)
		if rc != 0 || errs != "" {
			t.Fatalf("%s: rc %d, stderr:\n%s", format, rc, errs)
		}
		if strings.Contains(out, token) {
			t.Fatalf("%s: the token is printed:\n%s", format, out)
		}
		if !strings.Contains(out, "<redacted: from Bearer ${SEARCH_TOKEN}>") {
			t.Errorf("%s: no redaction placeholder:\n%s", format, out)
		}
		if format == "json" {
			var v map[string]any
			if err := json.Unmarshal([]byte(out), &v); err != nil {
				t.Errorf("json: %v\n%s", err, out)
			}
		} else if !strings.Contains(out, "  max-records: 1000\n") || !strings.Contains(out, "  framing: es-bulk\n") {
			t.Errorf("yaml:\n%s", out)
		}
	}
	// The file name alone works too.
	if rc, _, errs := runCLI("check", p); rc != 0 {
		t.Errorf("positional: rc %d %s", rc, errs)
	}
}

func TestCheckWarnings(t *testing.T) {
	p := writeConfig(t, "destinations:\n  a: {urls: [\"http://127.0.0.1/\"]}\nrouting: {mode: set}\nservice: {manage: {address: 0.0.0.0}}\n")
	rc, out, errs := runCLI("check", "--config", p)
	if rc != 0 || out == "" {
		t.Fatalf("rc %d\n%s", rc, errs)
	}
	want := "warning: " + p + `:3: routing.mode: no destination is named "default": records whose set names no destination are skipped (answered 0, counted)` + "\n" +
		"warning: " + p + `:4: service.manage.address: "0.0.0.0" is not a loopback address: /metrics and /healthz are reachable from the network (read-only; fine for a Prometheus on another host)` + "\n" +
		// Every key is one ESP has too: the config may be ESP's.
		"note: " + p + `:2: destinations.a.protocol: not set: xdrhook sends HTTP/1.1 (HTTP_1_1), where ESP defaults to HTTP/2; write protocol: HTTP_2 to keep ESP's behaviour (DESIGN.md: Default protocol)` + "\n" +
		"note: " + p + `: format: not set: xdrhook writes json where no namespace or set names a format, where ESP writes its XDR Proxy wire format (not public, not spoken here); write the format the destination expects, e.g. format: {mode: json} (DESIGN.md: Default protocol)` + "\n"
	if errs != want {
		t.Errorf("stderr:\n%s\nwant:\n%s", errs, want)
	}
}

func TestCheckErrors(t *testing.T) {
	t.Setenv("SEARCH_TOKEN", "x")
	p := writeConfig(t, strings.Replace(checkConfig, "headers:", "max-inflight: 3\n    headers:", 1)+"logging: {level: loud}\n")
	rc, out, errs := runCLI("check", "--config", p)
	want := p + `:5: unknown key "max-inflight" in destinations.search (did you mean "max-in-flight"?)` + "\n" +
		"xdrhook check: " + p + " is not valid (1 problem(s))\n"
	if rc != 2 || out != "" || errs != want {
		t.Errorf("rc %d\nstdout:\n%s\nstderr:\n%s\nwant:\n%s", rc, out, errs, want)
	}

	p = writeConfig(t, strings.Replace(checkConfig, "max-records: 1000", "max-records: 0", 1)+"logging: {level: loud}\n")
	rc, _, errs = runCLI("check", "--config", p)
	want = p + `:8: batching.max-records: 0 is out of range (1 to 1048576)` + "\n" +
		p + `:9: logging.level: "loud" is not one of debug, info, warn, error` + "\n" +
		"xdrhook check: " + p + " is not valid (2 problem(s))\n"
	if rc != 2 || errs != want {
		t.Errorf("rc %d\nstderr:\n%s\nwant:\n%s", rc, errs, want)
	}
}

func TestCheckMissingVariable(t *testing.T) {
	t.Setenv("SEARCH_TOKEN", "") // restored after the test
	os.Unsetenv("SEARCH_TOKEN")
	p := writeConfig(t, checkConfig)
	rc, out, errs := runCLI("check", "--config", p)
	want := p + ":5: destinations.search.headers.Authorization: environment variable SEARCH_TOKEN is not set\n" +
		"xdrhook check: " + p + " is not valid (1 problem(s))\n"
	if rc != 2 || out != "" || errs != want {
		t.Errorf("rc %d\nstderr:\n%s\nwant:\n%s", rc, errs, want)
	}
}

func TestCheckUsage(t *testing.T) {
	if rc, _, errs := runCLI("check"); rc != 2 || !strings.Contains(errs, "--config FILE is required") {
		t.Errorf("no --config: rc %d %s", rc, errs)
	}
	if rc, _, errs := runCLI("check", "--config", filepath.Join(t.TempDir(), "none.yml")); rc != 2 || !strings.Contains(errs, "no such file") {
		t.Errorf("missing file: rc %d %s", rc, errs)
	}
	if rc, _, _ := runCLI("check", "--output", "xml", "--config", "x.yml"); rc != 2 {
		t.Errorf("bad --output: rc %d", rc)
	}
	if rc, _, _ := runCLI("check", "--bogus"); rc != 2 {
		t.Errorf("bad flag: rc %d", rc)
	}
	if rc, out, _ := runCLI("check", "-h"); rc != 0 || !strings.Contains(out, "Usage: xdrhook check") {
		t.Errorf("-h: rc %d %s", rc, out)
	}
	if rc, out, _ := runCLI("help"); rc != 0 || !strings.Contains(out, "check    validate a config file") {
		t.Errorf("help lists check: %s", out)
	}
}

// TestCheckExample: the example of config.md passes check (its certificate
// files are elsewhere: --skip-files).
func TestCheckExample(t *testing.T) {
	t.Setenv("SEARCH_TOKEN", "tok-example")
	rc, out, errs := runCLI("check", "--skip-files", "--config", "../../config/testdata/example.yml")
	if rc != 0 || errs != "" || strings.Contains(out, "tok-example") {
		t.Errorf("rc %d\n%s\n%s", rc, errs, out)
	}
	rc, _, errs = runCLI("check", "--config", "../../config/testdata/example.yml")
	if rc != 2 || !strings.Contains(errs, "service.tls: cannot load the certificate: open /etc/xdrhook/server.pem") {
		t.Errorf("without --skip-files: rc %d\n%s", rc, errs)
	}
}

// check validates an auth block and, with --probe, fetches one token from
// the token endpoint and says whether it worked, printing neither the
// token nor the client secret.
func TestCheckProbeAuth(t *testing.T) {
	const secret, token = "cl1ent-s3cret", "acc3ss-t0ken"
	tokSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, s, _ := r.BasicAuth(); s != secret {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(401)
			io.WriteString(w, `{"error":"invalid_client","error_description":"echo `+s+`"}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"access_token":"`+token+`","token_type":"Bearer","expires_in":60}`)
	}))
	defer tokSrv.Close()
	cfg := `
destinations:
  api:
    urls: [http://127.0.0.1:9/]
    auth: {type: oauth2-client-credentials, token-url: "` + tokSrv.URL + `", client-id: xdrhook, client-secret: "${CLIENT_SECRET}", scopes: [events.write]}
routing: {mode: static, destination: api}
`
	for _, tc := range []struct {
		secret string
		rc     int
		want   string
	}{
		{secret, 0, "probe: destination api: auth oauth2-client-credentials: ok (credentials fetched, not shown)\n"},
		{"wrong-s3cret", 1, "probe: destination api: auth oauth2-client-credentials: FAILED: token endpoint answered 401 Unauthorized error=invalid_client\n"},
	} {
		t.Setenv("CLIENT_SECRET", tc.secret)
		rc, out, errs := runCLI("check", "--probe", writeConfig(t, cfg))
		if rc != tc.rc || errs != tc.want {
			t.Fatalf("rc %d (want %d), stderr:\n%s\nwant:\n%s", rc, tc.rc, errs, tc.want)
		}
		for _, s := range []string{secret, token, "wrong-s3cret"} {
			if strings.Contains(out+errs, s) {
				t.Fatalf("%q printed:\n%s\n%s", s, out, errs)
			}
		}
		if !strings.Contains(out, "client-secret: \"<redacted: from ${CLIENT_SECRET}>\"") {
			t.Fatalf("client-secret not redacted:\n%s", out)
		}
	}
}
