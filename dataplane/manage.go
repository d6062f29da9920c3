package dataplane

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/VictoriaMetrics/metrics"
)

// ManageHandler serves the manage endpoints of config.md: /healthz,
// /readyz, Prometheus text at /metrics and /manage/rest/v1/prometheus, and
// the same figures as JSON at /manage/rest/v1/metrics.
func (e *Engine) ManageHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if err := e.Ready(); err != nil {
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ready\n"))
	})
	prom := func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		e.WritePrometheus(w)
	}
	mux.HandleFunc("GET /metrics", prom)
	mux.HandleFunc("GET /manage/rest/v1/prometheus", prom)
	mux.HandleFunc("GET /manage/rest/v1/metrics", func(w http.ResponseWriter, _ *http.Request) {
		var buf bytes.Buffer
		e.WritePrometheus(&buf)
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(promToJSON(buf.Bytes()))
	})
	return mux
}

// WritePrometheus writes the engine's metrics and the process metrics,
// each series labelled cluster="NAME" when Options.ClusterName is set.
func (e *Engine) WritePrometheus(w io.Writer) {
	if e.opts.ClusterName != "" {
		withClusterLabel(w, e.opts.ClusterName, e.writePrometheus)
		return
	}
	e.writePrometheus(w)
}

func (e *Engine) writePrometheus(w io.Writer) {
	e.fold()
	e.m.set.WritePrometheus(w)
	e.m.replyLatency.write(w)
	metrics.WriteProcessMetrics(w)
}

// promToJSON turns Prometheus text into {"name": value} or, for labelled
// series, {"name": [{"labels": {...}, "value": v}, ...]}.
func promToJSON(text []byte) map[string]any {
	out := map[string]any{}
	sc := bufio.NewScanner(bytes.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		sp := strings.LastIndexByte(line, ' ')
		if sp < 0 {
			continue
		}
		series, val := line[:sp], line[sp+1:]
		v, err := strconv.ParseFloat(val, 64)
		if err != nil {
			continue
		}
		name, labels := series, ""
		if i := strings.IndexByte(series, '{'); i >= 0 {
			name, labels = series[:i], strings.TrimSuffix(series[i+1:], "}")
		}
		if labels == "" {
			out[name] = v
			continue
		}
		lm := map[string]string{}
		for _, kv := range splitLabels(labels) {
			if k, v, ok := strings.Cut(kv, "="); ok {
				lm[k] = strings.Trim(v, `"`)
			}
		}
		list, _ := out[name].([]any)
		out[name] = append(list, map[string]any{"labels": lm, "value": v})
	}
	return out
}

// splitLabels splits a="x",b="y" on the commas outside quotes.
func splitLabels(s string) []string {
	var parts []string
	inQ, start := false, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			if i == 0 || s[i-1] != '\\' {
				inQ = !inQ
			}
		case ',':
			if !inQ {
				parts = append(parts, s[start:i])
				start = i + 1
			}
		}
	}
	return append(parts, s[start:])
}
