package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/xdrhook/xdrhook/config"
	"github.com/xdrhook/xdrhook/connector"
)

// runCheck validates a config file and prints it resolved (defaults filled
// in, values from the environment redacted). Exit 0 when valid (warnings go
// to stderr), 2 with every problem on stderr when not.
func runCheck(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	file := fs.String("config", "", "the config file (required; a single argument works too)")
	output := fs.String("output", "yaml", "print the resolved config as yaml or json")
	skipFiles := fs.Bool("skip-files", false, "do not open the files the config names (TLS certificates, format.schema-file): for checking a config on another machine")
	explain := fs.Bool("explain", false, "list every ESP key of the file with what xdrhook does with it (implemented, mapped, warned, refused), before the usual output")
	espKeys := fs.Bool("esp-keys", false, "print the table of every ESP key (docs/migrating-from-esp.md) and exit")
	probe := fs.Bool("probe", false, "also fetch one token or set of AWS credentials for every destination with auth, and say whether it worked (never printing it); exit 1 if one failed")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: xdrhook check --config FILE [--output yaml|json] [--skip-files] [--explain] [--probe]\n       xdrhook check --esp-keys")
		fs.PrintDefaults()
	}
	if rc, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return rc
	}
	if *espKeys {
		fmt.Fprint(stdout, config.ESPKeysMarkdown())
		return 0
	}
	if *file == "" && fs.NArg() == 1 {
		*file = fs.Arg(0)
	} else if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "xdrhook check: unexpected arguments %q\n", fs.Args())
		fs.Usage()
		return 2
	}
	if *file == "" {
		fmt.Fprintln(stderr, "xdrhook check: --config FILE is required")
		fs.Usage()
		return 2
	}
	if *output != "yaml" && *output != "json" {
		fmt.Fprintf(stderr, "xdrhook check: --output %q: want yaml or json\n", *output)
		return 2
	}
	if *explain && !explainESP(*file, stderr) {
		return 2
	}
	c, err := config.Load(*file, config.Options{SkipFiles: *skipFiles})
	if err != nil {
		var problems config.Errors
		if errors.As(err, &problems) {
			for _, p := range problems {
				fmt.Fprintln(stderr, p)
			}
			fmt.Fprintf(stderr, "xdrhook check: %s is not valid (%d problem(s))\n", *file, len(problems))
		} else {
			fmt.Fprintln(stderr, "xdrhook check:", err)
		}
		return 2
	}
	for _, w := range c.Warnings {
		fmt.Fprintln(stderr, "warning:", w)
	}
	for _, n := range c.Notes {
		fmt.Fprintln(stderr, "note:", n)
	}
	if *output == "json" {
		err = c.WriteJSON(stdout)
	} else {
		err = c.WriteYAML(stdout)
	}
	if err != nil {
		fmt.Fprintln(stderr, "xdrhook check:", err)
		return 1
	}
	if *probe && !probeAuth(c, stderr) {
		return 1
	}
	return 0
}

// explainESP prints, on w, each ESP key of the file with what xdrhook does
// with it. It reports false when the file cannot be read.
func explainESP(file string, w io.Writer) bool {
	data, err := os.ReadFile(file)
	if err != nil {
		fmt.Fprintln(w, "xdrhook check:", err)
		return false
	}
	uses, err := config.ExplainESP(data)
	if err != nil {
		// The load that follows reports the syntax error with its line.
		return true
	}
	fmt.Fprintf(w, "%s, key by key (ESP keys and unknown ones; docs/migrating-from-esp.md has the whole table):\n", file)
	for _, u := range uses {
		fmt.Fprintf(w, "  line %d: %s: %s", u.Line, u.Path, u.Status)
		if u.Note != "" {
			fmt.Fprintf(w, " (%s)", u.Note)
		}
		fmt.Fprintln(w)
	}
	if len(uses) == 0 {
		fmt.Fprintln(w, "  no ESP key")
	}
	return true
}

// probeTimeout bounds one destination's probe.
const probeTimeout = 20 * time.Second

// probeAuth fetches credentials for every destination with auth and
// reports each on w: "ok" or the reason, never the token.
func probeAuth(c *config.Config, w io.Writer) bool {
	ok := true
	for _, cd := range c.DestinationList() {
		if cd.Auth == nil {
			continue
		}
		if err := connector.ProbeAuth(cd, probeTimeout); err != nil {
			ok = false
			fmt.Fprintf(w, "probe: destination %s: auth %s: FAILED: %v\n", cd.Name, cd.Auth.Type, err)
			continue
		}
		fmt.Fprintf(w, "probe: destination %s: auth %s: ok (credentials fetched, not shown)\n", cd.Name, cd.Auth.Type)
	}
	return ok
}
