package config

import (
	"strconv"
	"strings"
)

// Problem is one error or warning about a config file: where it is and what
// is wrong. Error() reads
//
//	config.yml:12: destinations.search.max-in-flight: want an integer, got "lots"
//	config.yml:12: unknown key "max-inflight" in destinations.search (did you mean "max-in-flight"?)
//
// Line is 0 when the problem has no place in the file (a default value, a
// missing section); Path is "" when the message names the place itself.
type Problem struct {
	File string
	Line int
	// Col is the column within the line (1-based), when known: where an
	// expression fails to compile.
	Col  int
	Path string // dotted key path, e.g. destinations.search.urls[0]
	Msg  string
}

func (p *Problem) Error() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(p.Line))
		if p.Col > 0 {
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(p.Col))
		}
	}
	b.WriteString(": ")
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Errors is every problem found in a config file, in file order. Load and
// Parse return it (as an error) when the config is not valid.
type Errors []*Problem

func (e Errors) Error() string {
	s := make([]string, len(e))
	for i, p := range e {
		s[i] = p.Error()
	}
	return strings.Join(s, "\n")
}
