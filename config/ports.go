package config

import (
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// rawPortConfig is port-based-config.PORT: the top level of the records
// arriving on that port. It takes every section a namespace may override
// (rawOverride: a section added there is available here too), plus
// record-ordering and its own namespaces overrides.
type rawPortConfig struct {
	rawOverride    `yaml:",inline"`
	RecordOrdering *rawRecordOrdering       `yaml:"record-ordering,omitempty"`
	Namespaces     map[string]*rawNamespace `yaml:"namespaces,omitempty"`
}

// PortConfig is port-based-config.PORT resolved: for records arriving on
// Port, its sections replace the top-level ones (a nil section inherits the
// top level's), and its Namespaces overrides apply on top of them. The
// top-level namespaces overrides do not apply to the port.
type PortConfig struct {
	Port int
	Override
	RecordOrdering *RecordOrdering
	Namespaces     map[string]*NamespaceOverride
}

// portProfiles are the profiles of one port of port-based-config.
type portProfiles struct {
	def  *Profile
	byNS map[string]*nsProfiles
}

// ProfileFor returns the effective profile of a record that arrived on
// listener port port: the port's profiles when port-based-config names the
// port, else Profile(ns, set). It allocates nothing.
func (c *Config) ProfileFor(port int, ns, set []byte) *Profile {
	if pp := c.ports[port]; pp != nil {
		return lookupProfile(pp.byNS, pp.def, ns, set)
	}
	return c.Profile(ns, set)
}

func lookupProfile(byNS map[string]*nsProfiles, def *Profile, ns, set []byte) *Profile {
	if e := byNS[string(ns)]; e != nil {
		if p := e.sets[string(set)]; p != nil {
			return p
		}
		return e.def
	}
	return def
}

// resolvePorts resolves port-based-config; every port must be one of
// service.port.
func (l *loader) resolvePorts(raw *rawConfig, c *Config, used map[string]bool) {
	if len(raw.PortBasedConfig) == 0 {
		return
	}
	listening := map[int]bool{}
	for _, p := range c.Service.Ports {
		listening[p] = true
	}
	c.PortConfigs = map[int]*PortConfig{}
	for _, key := range sortedKeys(raw.PortBasedConfig) {
		p := join("port-based-config", key)
		port, err := strconv.Atoi(key)
		switch {
		case err != nil || port < 0 || port > 65535:
			l.errorf(p, "%q is not a port number: port-based-config maps XDR listener ports (service.port) to their sections", key)
			continue
		case port == 0:
			l.errorf(p, "port 0 asks the OS for a free port; port-based-config needs the fixed ports of service.port")
			continue
		case !listening[port]:
			l.errorf(p, "%d is not an XDR listener port (service.port: %s): records can only arrive on those", port, portsText(c.Service.Ports))
			continue
		case c.PortConfigs[port] != nil:
			l.errorf(p, "port %d is configured twice", port)
			continue
		}
		rp := raw.PortBasedConfig[key]
		if rp == nil {
			rp = &rawPortConfig{}
		}
		pc := &PortConfig{Port: port, Override: l.resolveOverride(&rp.rawOverride, p, c, used)}
		if rp.RecordOrdering != nil {
			pc.RecordOrdering = l.resolveRecordOrdering(rp.RecordOrdering, p+".record-ordering")
		}
		pc.Namespaces = l.resolveNamespaces(rp.Namespaces, p+".namespaces", c, used)
		if len(rp.Namespaces) == 0 && len(raw.Namespaces) > 0 {
			l.warnf(p, "the top-level namespaces overrides do not apply to port %d (its block is its top level); repeat the ones it needs under %s.namespaces", port, p)
		}
		c.PortConfigs[port] = pc
	}
}

// resolveNamespaces resolves a namespaces section (the top level's or a
// port's) at path p.
func (l *loader) resolveNamespaces(raw map[string]*rawNamespace, p string, c *Config, used map[string]bool) map[string]*NamespaceOverride {
	out := map[string]*NamespaceOverride{}
	for _, ns := range sortedKeys(raw) {
		rn := raw[ns]
		np := join(p, ns)
		o := &NamespaceOverride{Override: l.resolveOverride(&rn.rawOverride, np, c, used)}
		if rn.RecordOrdering != nil {
			o.RecordOrdering = l.resolveRecordOrdering(rn.RecordOrdering, np+".record-ordering")
		}
		if len(rn.Sets) > 0 {
			o.Sets = map[string]*Override{}
			for _, set := range sortedKeys(rn.Sets) {
				so := l.resolveOverride(rn.Sets[set], join(np+".sets", set), c, used)
				o.Sets[set] = &so
			}
		}
		out[ns] = o
	}
	return out
}

// buildPortProfiles makes each port's profiles: its top level over the
// file's, then its namespaces and sets over that.
func buildPortProfiles(c *Config) {
	if len(c.PortConfigs) == 0 {
		return
	}
	c.ports = map[int]*portProfiles{}
	ports := make([]int, 0, len(c.PortConfigs))
	for p := range c.PortConfigs {
		ports = append(ports, p)
	}
	sort.Ints(ports)
	for _, port := range ports {
		pc := c.PortConfigs[port]
		def := pickProfile(c, pc.Override, pc.RecordOrdering, c.profiles[0], "", "")
		if def != c.profiles[0] {
			def.Port = port
		}
		n := len(c.profiles)
		byNS := buildNSProfiles(c, pc.Namespaces, def)
		for _, p := range c.profiles[n:] {
			p.Port = port
		}
		c.ports[port] = &portProfiles{def: def, byNS: byNS}
	}
}

func portsText(ports []int) string {
	s := make([]string, len(ports))
	for i, p := range ports {
		s[i] = strconv.Itoa(p)
	}
	return "[" + strings.Join(s, ", ") + "]"
}

// unquotePortKeys prints the ports of port-based-config as the integers
// they are (the raw map has string keys).
func unquotePortKeys(doc *yaml.Node) {
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		doc = doc.Content[0]
	}
	for i := 0; i+1 < len(doc.Content); i += 2 {
		if doc.Content[i].Value != "port-based-config" {
			continue
		}
		m := doc.Content[i+1]
		for j := 0; j+1 < len(m.Content); j += 2 {
			if _, err := strconv.Atoi(m.Content[j].Value); err == nil {
				m.Content[j].Tag, m.Content[j].Style = "!!int", 0
			}
		}
	}
}
