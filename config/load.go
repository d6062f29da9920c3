package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Options are the loader's seams. The zero value reads the process
// environment and the file system.
type Options struct {
	// LookupEnv resolves ${VAR}; nil means os.LookupEnv.
	LookupEnv func(name string) (string, bool)
	// ReadFile reads the files a config names (format.schema-file, TLS
	// certificates and keys); nil means os.ReadFile. Relative names are taken
	// relative to the config file's directory.
	ReadFile func(name string) ([]byte, error)
	// SkipFiles leaves the named files unopened: for checking a config on
	// another machine than the one that will run it. format.schema-file is
	// then not read (Format.Schema stays empty) and certificates are not
	// checked.
	SkipFiles bool
}

// Load reads, validates and resolves the config file at path.
func Load(path string, opt Options) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data, opt)
}

// Parse validates and resolves a config held in memory; name is the file
// name used in messages and the base of relative file names. The error, if
// any, is an Errors listing every problem found.
func Parse(name string, data []byte, opt Options) (*Config, error) {
	if opt.LookupEnv == nil {
		opt.LookupEnv = os.LookupEnv
	}
	if opt.ReadFile == nil {
		opt.ReadFile = os.ReadFile
	}
	l := &loader{
		opt:         opt,
		file:        name,
		dir:         filepath.Dir(name),
		lines:       map[string]int{},
		order:       map[string][]string{},
		secretPaths: map[string]string{},
		secretVals:  map[string]string{},
		substituted: map[*yaml.Node]string{},
		substFailed: map[*yaml.Node]bool{},
		exprAt:      map[string]exprPlace{},
		data:        data,
	}
	raw := l.parse(data)
	if len(l.errs) > 0 {
		return nil, l.sorted(l.errs)
	}
	c := l.resolve(raw)
	if len(l.errs) > 0 {
		return nil, l.sorted(l.errs)
	}
	c.Warnings = l.sorted(l.warns)
	return c, nil
}

// loader holds the state of one Parse: where each key is, what came from the
// environment, and the problems found so far.
type loader struct {
	opt  Options
	file string
	dir  string

	lines map[string]int      // key path → line
	order map[string][]string // mapping path → keys in declaration order

	secretPaths map[string]string     // key path → template of a value from the environment
	secretVals  map[string]string     // expanded value → template
	substituted map[*yaml.Node]string // scalar → template ("" if nothing substituted)
	substFailed map[*yaml.Node]bool   // scalars whose ${VAR} failed: not type-checked
	exprAt      map[string]exprPlace  // expression path → where its text is
	data        []byte
	visits      int
	tooBig      bool

	errs  Errors
	warns Errors
}

func (l *loader) problem(line int, path, msg string) { l.problemAt(line, 0, path, msg) }

func (l *loader) problemAt(line, col int, path, msg string) {
	for _, p := range l.errs { // a node reached twice (aliases) says it once
		if p.Line == line && p.Col == col && p.Path == path && p.Msg == msg {
			return
		}
	}
	l.errs = append(l.errs, &Problem{File: l.file, Line: line, Col: col, Path: path, Msg: msg})
}

// errorf records an error at a key path; the line is that of the path, or of
// its nearest ancestor written in the file.
func (l *loader) errorf(path, format string, args ...any) {
	l.problem(l.line(path), path, fmt.Sprintf(format, args...))
}

func (l *loader) warnf(path, format string, args ...any) {
	l.warns = append(l.warns, &Problem{File: l.file, Line: l.line(path), Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (l *loader) line(path string) int {
	for path != "" {
		if n, ok := l.lines[path]; ok {
			return n
		}
		path = parent(path)
	}
	return 0
}

// parent strips the last segment of a key path ("a.b[2]" → "a.b" → "a").
func parent(path string) string {
	if strings.HasSuffix(path, "]") {
		if i := strings.LastIndexByte(path, '['); i >= 0 {
			return path[:i]
		}
	}
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[:i]
	}
	return ""
}

// show quotes a value for a message, or names its template if it came from
// the environment: messages must not leak secrets either.
func (l *loader) show(path, v string) string {
	if tpl, ok := l.secretPaths[path]; ok {
		return redacted(tpl)
	}
	if tpl, ok := l.secretVals[v]; ok {
		return redacted(tpl)
	}
	return fmt.Sprintf("%q", v)
}

// parse turns the bytes into the raw tree: YAML syntax, ${VAR}, unknown
// keys, types. It returns nil after recording problems.
func (l *loader) parse(data []byte) *rawConfig {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			l.errorf("", "the file is empty: it needs at least a routing section (and destinations to route to)")
			return nil
		}
		l.yamlError(err)
		return nil
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		l.problem(extra.Line, "", "a second YAML document (after ---): the config is one document")
		return nil
	} else if !errors.Is(err, io.EOF) {
		l.yamlError(err)
		return nil
	}
	root := &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			l.errorf("", "the file is empty: it needs at least a routing section (and destinations to route to)")
			return nil
		}
		root = root.Content[0]
	}
	if r := deref(root); r.Kind == yaml.ScalarNode && r.ShortTag() == "!!null" {
		l.errorf("", "the file is empty: it needs at least a routing section (and destinations to route to)")
		return nil
	}
	l.substitute(root, "")
	// Walk even after ${VAR} errors: unknown keys are worth reporting at
	// once; the scalars that failed are not type-checked.
	l.walk(root, rawType, "", 0)
	if len(l.errs) > 0 {
		return nil
	}
	// Decode strictly (KnownFields) as a safety net behind walk: the tree
	// was checked key by key, so an error here is a bug in walk.
	b, err := yaml.Marshal(root)
	if err != nil {
		l.errorf("", "internal error re-encoding the config: %v", err)
		return nil
	}
	raw := &rawConfig{}
	d := yaml.NewDecoder(bytes.NewReader(b))
	d.KnownFields(true)
	if err := d.Decode(raw); err != nil && !errors.Is(err, io.EOF) {
		l.errorf("", "internal error decoding the checked config (please report): %v", err)
		return nil
	}
	return raw
}

// yamlError turns a YAML syntax error ("yaml: line 3: ...") into a Problem.
func (l *loader) yamlError(err error) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if n, e := fmt.Sscanf(msg, "line %d:", &line); n == 1 && e == nil {
		msg = strings.TrimSpace(msg[strings.IndexByte(msg, ':')+1:])
	}
	l.problem(line, "", "YAML syntax: "+msg)
}

// sorted orders problems by line (those without a line first), keeping
// the order of discovery among equals.
func (l *loader) sorted(e Errors) Errors {
	sort.SliceStable(e, func(i, j int) bool { return e[i].Line < e[j].Line })
	return e
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
