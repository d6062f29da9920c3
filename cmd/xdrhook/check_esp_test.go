package main

import (
	"strings"
	"testing"

	"github.com/xdrhook/xdrhook/config"
)

// An ESP config: check --explain lists its ESP keys, warns the ones with no
// effect, and notes the protocol ESP would have used.
func TestCheckExplainESP(t *testing.T) {
	p := writeConfig(t, `service:
  port: 8901
  worker-threads: 8
destinations:
  esp:
    urls: [http://127.0.0.1:8080/]
routing: {mode: static, destination: esp}
logging: {enable-console-logging: true}
`)
	rc, stdout, stderr := runCLI("check", "--explain", p)
	if rc != 0 || !strings.Contains(stdout, "destinations:") {
		t.Fatalf("rc %d\n%s", rc, stderr)
	}
	for _, want := range []string{
		"  line 2: service.port: implemented (an int or a list)\n",
		"  line 3: service.worker-threads: warned (no effect: encoding runs on the event loops (io-threads) and sending on goroutines)\n",
		"  line 6: destinations.esp.urls: implemented\n",
		"  line 7: routing.mode: implemented (",
		"  line 8: logging.enable-console-logging: warned (no effect: xdrhook logs to stderr, always)\n",
		"warning: " + p + ":3: service.worker-threads: an ESP key with no effect",
		"note: " + p + ":5: destinations.esp.protocol: not set: xdrhook sends HTTP/1.1 (HTTP_1_1), where ESP defaults to HTTP/2; write protocol: HTTP_2 to keep ESP's behaviour (DESIGN.md: Default protocol)\n",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	// A refused key: the explanation still comes, then the error.
	p = writeConfig(t, "destinations: {esp: {urls: [http://127.0.0.1:8080/]}}\nrouting: {mode: static, destination: esp}\ncustom-transformer: {class: com.example.T}\n")
	rc, _, stderr = runCLI("check", "--explain", p)
	if rc != 2 || !strings.Contains(stderr, "  line 3: custom-transformer: refused (custom code") ||
		!strings.Contains(stderr, p+":3: custom-transformer: an ESP key xdrhook does not honour: custom code") {
		t.Fatalf("rc %d\n%s", rc, stderr)
	}
	rc, stdout, _ = runCLI("check", "--esp-keys")
	if rc != 0 || stdout != config.ESPKeysMarkdown() {
		t.Fatalf("--esp-keys: rc %d\n%s", rc, stdout)
	}
}

// A plain ESP config, with no key only ESP has: check (with or without
// --explain) notes the protocol of each destination that omits it, and
// exits 0.
func TestCheckPlainESPProtocolNote(t *testing.T) {
	p := writeConfig(t, `service:
  port: 8901
  manage: {address: 127.0.0.1, port: 8902}
destinations:
  hub: {urls: [http://127.0.0.1:8080/]}
  archive:
    urls: [http://127.0.0.1:8081/]
    protocol: HTTP_2
routing: {mode: static-multi-destination, destinations: [hub, archive]}
format: {mode: flat-json, metadata-key: metadata}
`)
	want := "note: " + p + ":5: destinations.hub.protocol: not set: xdrhook sends HTTP/1.1 (HTTP_1_1), where ESP defaults to HTTP/2; write protocol: HTTP_2 to keep ESP's behaviour (DESIGN.md: Default protocol)\n"
	for _, args := range [][]string{{"check", p}, {"check", "--explain", p}} {
		rc, stdout, stderr := runCLI(args...)
		if rc != 0 || !strings.Contains(stdout, "destinations:") {
			t.Fatalf("%v: rc %d\n%s", args, rc, stderr)
		}
		if !strings.HasSuffix(stderr, want) || strings.Count(stderr, "note:") != 1 || strings.Contains(stderr, "warning:") {
			t.Errorf("%v: stderr:\n%s\nwant it to end with:\n%s", args, stderr, want)
		}
	}
}
