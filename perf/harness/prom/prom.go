// Package prom reads Prometheus text, as xdrhook's, the baseline
// connector's and any manage endpoint serve it, with
// github.com/prometheus/common/expfmt: scrape a URL, then look a series up
// or sum series by name and labels.
//
// It is apart from perf/harness because the perf suite runs inside the
// xdrhook binary (`xdrhook bench suite`), which must not link expfmt and
// protobuf: the connector processes the suite measures are that binary.
package prom

import (
	"bytes"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/xdrhook/xdrhook/perf/harness"
)

// Metrics is one scrape of Prometheus text (parsed by
// github.com/prometheus/common/expfmt): every sample, histograms' and
// summaries' included, by its series.
type Metrics struct {
	samples model.Vector
	byKey   map[string]float64 // by model.Metric.String(): labels sorted
}

// Scrape fetches Prometheus text from url (a status other than 200 is an
// error) and parses it.
func Scrape(url string) (*Metrics, error) {
	code, body, err := harness.HTTPGet(url)
	if err != nil {
		return nil, err
	}
	if code != 200 {
		return nil, fmt.Errorf("GET %s: status %d", url, code)
	}
	return Parse(bytes.NewReader(body))
}

// Parse parses Prometheus text.
func Parse(r io.Reader) (*Metrics, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(r)
	if err != nil {
		return nil, err
	}
	list := make([]string, 0, len(fams))
	for name := range fams {
		list = append(list, name)
	}
	sort.Strings(list)
	m := &Metrics{byKey: map[string]float64{}}
	for _, name := range list {
		vec, err := expfmt.ExtractSamples(&expfmt.DecodeOptions{}, fams[name])
		if err != nil {
			return nil, err
		}
		for _, s := range vec {
			m.byKey[s.Metric.String()] = float64(s.Value)
		}
		m.samples = append(m.samples, vec...)
	}
	return m, nil
}

// Series scrapes url and returns one series (name with every label, in
// any order), or -1 when it is absent or the scrape failed.
func Series(url, series string) float64 {
	m, err := Scrape(url)
	if err != nil {
		return -1
	}
	v, ok := m.Value(series)
	if !ok {
		return -1
	}
	return v
}

// selector parses a series as written in Prometheus text, `name` or
// `name{label="value",…}`, into its labels (the name as __name__).
func selector(series string) (model.Metric, error) {
	m, err := Parse(strings.NewReader(series + " 0\n"))
	if err != nil {
		return nil, fmt.Errorf("series %q: %w", series, err)
	}
	if len(m.samples) != 1 {
		return nil, fmt.Errorf("series %q: not one series", series)
	}
	return m.samples[0].Metric, nil
}

// Value returns one series (name with every label, in any order); ok is
// false when it is absent.
func (m *Metrics) Value(series string) (v float64, ok bool) {
	sel, err := selector(series)
	if err != nil {
		return 0, false
	}
	v, ok = m.byKey[sel.String()]
	return v, ok
}

// Sum adds every series that has the name and the labels of sel (`name` or
// `name{label="value",…}`; other labels may differ).
func (m *Metrics) Sum(sel string) float64 {
	want, err := selector(sel)
	if err != nil {
		return 0
	}
	var sum float64
	for _, s := range m.samples {
		match := true
		for k, v := range want {
			if s.Metric[k] != v {
				match = false
				break
			}
		}
		if match {
			sum += float64(s.Value)
		}
	}
	return sum
}

// Names returns the sample names, sorted (a histogram's as
// name_bucket, name_sum, name_count).
func (m *Metrics) Names() []string {
	seen := map[string]bool{}
	for _, s := range m.samples {
		seen[string(s.Metric[model.MetricNameLabel])] = true
	}
	return sortedKeys(seen)
}

// Families returns the metric names, sorted, with a histogram's
// name_bucket, name_sum and name_count as name, and a summary's name_sum
// and name_count as name.
func (m *Metrics) Families() []string {
	names := map[string]bool{}
	for _, n := range m.Names() {
		names[n] = true
	}
	fams := map[string]bool{}
	for n := range names {
		f := n
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if base, ok := strings.CutSuffix(n, suffix); ok && (names[base+"_bucket"] || names[base]) {
				f = base
			}
		}
		fams[f] = true
	}
	return sortedKeys(fams)
}

func sortedKeys(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
