package dataplane

import (
	"bytes"
	"io"
	"strconv"
)

// withClusterLabel writes Prometheus text with the constant label
// cluster="NAME" added to every series (service.cluster-name, as ESP
// labels its metrics for grouping instances). It runs per scrape, not per
// record, so it may copy.
func withClusterLabel(w io.Writer, cluster string, write func(io.Writer)) {
	var in bytes.Buffer
	write(&in)
	label := []byte(`cluster=` + strconv.Quote(cluster))
	out := make([]byte, 0, in.Len()+in.Len()/4)
	for _, line := range bytes.SplitAfter(in.Bytes(), []byte{'\n'}) {
		if len(line) == 0 || line[0] == '#' {
			out = append(out, line...)
			continue
		}
		sp := bytes.IndexAny(line, "{ ")
		switch {
		case sp < 0:
			out = append(out, line...)
		case line[sp] == '{' && bytes.HasPrefix(line[sp:], []byte("{}")):
			out = append(append(append(append(out, line[:sp+1]...), label...), '}'), line[sp+2:]...)
		case line[sp] == '{':
			out = append(append(append(append(out, line[:sp+1]...), label...), ','), line[sp+1:]...)
		default:
			out = append(append(append(append(out, line[:sp]...), '{'), label...), '}')
			out = append(out, line[sp:]...)
		}
	}
	w.Write(out)
}
