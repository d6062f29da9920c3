package deploy

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/xdrhook/xdrhook/config"
)

const k8sDir = "kubernetes"

// manifests are the decoded objects of deploy/kubernetes, by kind.
type manifests struct {
	statefulSets []*appsv1.StatefulSet
	services     []*corev1.Service
	configMaps   []*corev1.ConfigMap
	secrets      []*corev1.Secret
	pdbs         []*policyv1.PodDisruptionBudget
	files        []string // the manifest files, kustomization.yaml excluded
}

// kustomization is the part of kustomize's Kustomization used here.
type kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Resources  []string `json:"resources"`
}

// splitDocs splits a YAML stream on "---" lines, dropping empty documents.
func splitDocs(data []byte) [][]byte {
	var docs [][]byte
	for _, d := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(data), -1) {
		empty := true
		for _, l := range strings.Split(d, "\n") {
			if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "#") {
				empty = false
			}
		}
		if !empty {
			docs = append(docs, []byte(d))
		}
	}
	return docs
}

// decodeManifest decodes one document strictly (unknown or duplicate
// fields are errors) into the official type of its kind.
func decodeManifest(doc []byte, m *manifests) error {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		return err
	}
	var obj any
	want := ""
	switch tm.Kind {
	case "StatefulSet":
		o := &appsv1.StatefulSet{}
		obj, want = o, "apps/v1"
		m.statefulSets = append(m.statefulSets, o)
	case "Service":
		o := &corev1.Service{}
		obj, want = o, "v1"
		m.services = append(m.services, o)
	case "ConfigMap":
		o := &corev1.ConfigMap{}
		obj, want = o, "v1"
		m.configMaps = append(m.configMaps, o)
	case "Secret":
		o := &corev1.Secret{}
		obj, want = o, "v1"
		m.secrets = append(m.secrets, o)
	case "PodDisruptionBudget":
		o := &policyv1.PodDisruptionBudget{}
		obj, want = o, "policy/v1"
		m.pdbs = append(m.pdbs, o)
	default:
		return fmt.Errorf("kind %q: not one this test knows", tm.Kind)
	}
	if tm.APIVersion != want {
		return fmt.Errorf("%s: apiVersion %q, want %q", tm.Kind, tm.APIVersion, want)
	}
	return unmarshalStrict(doc, obj)
}

// unmarshalStrict decodes YAML as the API server decodes a manifest in
// strict mode: YAML → JSON (a duplicate key is an error), then JSON with
// case-sensitive field names where an unknown or duplicate field is an
// error. (encoding/json, under sigs.k8s.io/yaml.UnmarshalStrict, matches
// field names case-insensitively: readOnlyRootFileSystem would pass.)
func unmarshalStrict(doc []byte, obj any) error {
	j, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return err
	}
	strictErrs, err := kjson.UnmarshalStrict(j, obj, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
	if err != nil {
		return err
	}
	if len(strictErrs) > 0 {
		return errors.Join(strictErrs...)
	}
	return nil
}

func loadManifests(t *testing.T) *manifests {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(k8sDir, "*.yaml"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no manifests in %s: %v", k8sDir, err)
	}
	if yml, _ := filepath.Glob(filepath.Join(k8sDir, "*.yml")); len(yml) > 0 {
		t.Fatalf("%v: name manifests *.yaml", yml)
	}
	m := &manifests{}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if filepath.Base(p) == "kustomization.yaml" {
			var k kustomization
			if err := unmarshalStrict(data, &k); err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			if k.APIVersion != "kustomize.config.k8s.io/v1beta1" || k.Kind != "Kustomization" {
				t.Errorf("%s: %s %s", p, k.APIVersion, k.Kind)
			}
			defer func() {
				got := slices.Clone(k.Resources)
				sort.Strings(got)
				if !slices.Equal(got, m.files) {
					t.Errorf("kustomization.yaml resources %v, manifests %v", got, m.files)
				}
			}()
			continue
		}
		m.files = append(m.files, filepath.Base(p))
		docs := splitDocs(data)
		if len(docs) == 0 {
			t.Errorf("%s: no document", p)
		}
		for i, d := range docs {
			if err := decodeManifest(d, m); err != nil {
				t.Errorf("%s (document %d): %v", p, i+1, err)
			}
		}
	}
	sort.Strings(m.files)
	if t.Failed() {
		t.FailNow()
	}
	return m
}

// TestManifestDecoderIsStrict: the decoder used above rejects an unknown
// field and a misspelt one deep inside (so a typo in a manifest cannot
// pass unnoticed).
func TestManifestDecoderIsStrict(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(k8sDir, "statefulset.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	good := string(data)
	for _, bad := range []string{
		strings.Replace(good, "  replicas: 3", "  replicas: 3\n  replica: 3", 1),
		strings.Replace(good, "readOnlyRootFilesystem: true", "readOnlyRootFileSystem: true", 1),
		strings.Replace(good, "memory: 256Mi", "memory: 256 megs", 1),
		strings.Replace(good, "  replicas: 3", "  replicas: 3\n  replicas: 4", 1),
	} {
		if bad == good {
			t.Fatal("the mutation did not apply: update this test")
		}
		err := decodeManifest([]byte(bad), &manifests{})
		if err == nil {
			t.Errorf("a broken StatefulSet decoded without error:\n%s", bad)
		}
		t.Logf("rejected: %v", err)
	}
	if err := decodeManifest(data, &manifests{}); err != nil {
		t.Fatal(err)
	}
}

func portByName(c *corev1.Container, name string) (int32, bool) {
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort, true
		}
	}
	return 0, false
}

// resolvePort turns a probe's or Service's port (a name or a number) into
// the container port number.
func resolvePort(t *testing.T, c *corev1.Container, p intstr.IntOrString) int32 {
	t.Helper()
	if p.Type == intstr.Int {
		return p.IntVal
	}
	n, ok := portByName(c, p.StrVal)
	if !ok {
		t.Errorf("port %q: no container port of that name", p.StrVal)
	}
	return n
}

func selects(t *testing.T, what string, sel *metav1.LabelSelector, podLabels map[string]string) {
	t.Helper()
	if sel == nil {
		t.Errorf("%s: no selector", what)
		return
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		t.Errorf("%s: %v", what, err)
		return
	}
	if s.Empty() || !s.Matches(labels.Set(podLabels)) {
		t.Errorf("%s: selector %v does not select the pods (labels %v)", what, sel.MatchLabels, podLabels)
	}
}

// TestKubernetesManifests decodes every manifest strictly into the
// official types and checks what refers to what: selectors and labels,
// the headless Service and the StatefulSet's serviceName, ports and probes
// against the config in the ConfigMap, the config loading with its ${VAR}
// values from the Secret, the security context against the image's user,
// the grace period against the reply deadline.
func TestKubernetesManifests(t *testing.T) {
	m := loadManifests(t)
	if len(m.statefulSets) != 1 || len(m.services) != 1 || len(m.configMaps) != 1 || len(m.secrets) != 1 || len(m.pdbs) != 1 {
		t.Fatalf("want one each of StatefulSet, Service, ConfigMap, Secret, PodDisruptionBudget; got %d %d %d %d %d",
			len(m.statefulSets), len(m.services), len(m.configMaps), len(m.secrets), len(m.pdbs))
	}
	sts, svc, cm, sec, pdb := m.statefulSets[0], m.services[0], m.configMaps[0], m.secrets[0], m.pdbs[0]
	spec := &sts.Spec.Template.Spec
	podLabels := sts.Spec.Template.Labels

	// Names and selectors.
	selects(t, "StatefulSet", sts.Spec.Selector, podLabels)
	selects(t, "PodDisruptionBudget", pdb.Spec.Selector, podLabels)
	if len(svc.Spec.Selector) == 0 || !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(podLabels)) {
		t.Errorf("Service selector %v does not select the pods (labels %v)", svc.Spec.Selector, podLabels)
	}
	if sts.Spec.ServiceName != svc.Name {
		t.Errorf("StatefulSet serviceName %q, Service %q", sts.Spec.ServiceName, svc.Name)
	}
	if svc.Spec.ClusterIP != corev1.ClusterIPNone {
		t.Errorf("Service clusterIP %q: want None (headless: a stable address per pod for node-address-port)", svc.Spec.ClusterIP)
	}
	if r := sts.Spec.Replicas; r == nil || *r < 2 {
		t.Errorf("replicas %v: want ≥ 2", r)
	}
	if u := pdb.Spec.MaxUnavailable; u != nil {
		if u.Type != intstr.Int || u.IntVal != 1 {
			t.Errorf("PodDisruptionBudget maxUnavailable %v: want 1", u)
		}
	} else if pdb.Spec.MinAvailable == nil {
		t.Error("PodDisruptionBudget: neither maxUnavailable nor minAvailable")
	}
	if len(sts.Spec.VolumeClaimTemplates) != 0 {
		t.Error("volumeClaimTemplates: xdrhook keeps no state")
	}

	if len(spec.Containers) != 1 {
		t.Fatalf("%d containers: want 1", len(spec.Containers))
	}
	c := &spec.Containers[0]

	// The config: --config FILE is the ConfigMap's key under a mount.
	if len(c.Args) != 3 || c.Args[0] != "run" || c.Args[1] != "--config" {
		t.Fatalf("args %v: want run --config FILE", c.Args)
	}
	cfgFile := c.Args[2]
	mounted := false
	for _, vm := range c.VolumeMounts {
		if filepath.Dir(cfgFile) != filepath.Clean(vm.MountPath) {
			continue
		}
		for _, v := range spec.Volumes {
			if v.Name == vm.Name && v.ConfigMap != nil && v.ConfigMap.Name == cm.Name {
				mounted = true
				if !vm.ReadOnly {
					t.Errorf("volume mount %s: want readOnly", vm.MountPath)
				}
			}
		}
	}
	if !mounted {
		t.Fatalf("%s is not in a mount of ConfigMap %s", cfgFile, cm.Name)
	}
	text, ok := cm.Data[filepath.Base(cfgFile)]
	if !ok {
		t.Fatalf("ConfigMap %s has no key %s", cm.Name, filepath.Base(cfgFile))
	}

	// ${VAR} values: from the Secret, through envFrom.
	fromSecret := false
	for _, e := range c.EnvFrom {
		if e.SecretRef != nil && e.SecretRef.Name == sec.Name {
			fromSecret = true
		}
	}
	if !fromSecret {
		t.Errorf("the container does not take envFrom Secret %s", sec.Name)
	}
	env := map[string]string{}
	for k, v := range sec.Data {
		env[k] = string(v)
	}
	for k, v := range sec.StringData {
		env[k] = v
	}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	for k := range env {
		if !strings.Contains(text, "${"+k+"}") {
			t.Errorf("Secret key %s is used nowhere in the config", k)
		}
	}
	cfg, err := config.Parse(cfgFile, []byte(text), config.Options{
		LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		SkipFiles: true,
	})
	if err != nil {
		t.Fatalf("the ConfigMap's config does not load:\n%v", err)
	}
	for _, w := range cfg.Warnings {
		if !strings.Contains(w.Error(), "service.manage.address") {
			t.Errorf("config warning: %v", w)
		}
	}

	// Ports: the container's, the config's, the Service's, the probes'.
	xdrPort, okX := portByName(c, "xdr")
	managePort, okM := portByName(c, "manage")
	if !okX || !okM {
		t.Fatalf("container ports %v: want ones named xdr and manage", c.Ports)
	}
	if len(cfg.Service.Ports) != 1 || int32(cfg.Service.Ports[0]) != xdrPort {
		t.Errorf("config service.port %v, container port xdr %d", cfg.Service.Ports, xdrPort)
	}
	if int32(cfg.Service.Manage.Port) != managePort {
		t.Errorf("config service.manage.port %d, container port manage %d", cfg.Service.Manage.Port, managePort)
	}
	if cfg.Service.Address != "0.0.0.0" || cfg.Service.Manage.Address != "0.0.0.0" {
		t.Errorf("config addresses %s and manage %s: want 0.0.0.0 (the kubelet's probes and XDR reach the pod IP)",
			cfg.Service.Address, cfg.Service.Manage.Address)
	}
	svcPorts := map[int32]bool{}
	for _, p := range svc.Spec.Ports {
		target := p.TargetPort
		if target.Type == intstr.Int && target.IntVal == 0 {
			target = intstr.FromInt32(p.Port)
		}
		n := resolvePort(t, c, target)
		svcPorts[n] = true
		if p.Port != n {
			t.Errorf("Service port %s: %d → %d; keep them equal (node-address-port names the pod's port)", p.Name, p.Port, n)
		}
	}
	if !svcPorts[xdrPort] || !svcPorts[managePort] {
		t.Errorf("Service ports %v: want the xdr and manage ports", svc.Spec.Ports)
	}
	probe := func(name string, p *corev1.Probe, path string) {
		t.Helper()
		if p == nil || p.HTTPGet == nil {
			t.Errorf("%s: want an httpGet probe", name)
			return
		}
		if p.HTTPGet.Path != path || resolvePort(t, c, p.HTTPGet.Port) != managePort {
			t.Errorf("%s: GET %s on port %v: want %s on the manage port %d", name, p.HTTPGet.Path, p.HTTPGet.Port.String(), path, managePort)
		}
	}
	probe("livenessProbe", c.LivenessProbe, "/healthz")
	probe("readinessProbe", c.ReadinessProbe, "/readyz")
	ann := sts.Spec.Template.Annotations
	if ann["prometheus.io/port"] != fmt.Sprint(managePort) || ann["prometheus.io/path"] != "/metrics" {
		t.Errorf("prometheus annotations %v: want port %d path /metrics", ann, managePort)
	}

	// Stopping: SIGTERM answers what is in flight within the reply
	// deadline, plus up to 5 s to close the listeners.
	grace := spec.TerminationGracePeriodSeconds
	if grace == nil || *grace < 15 || time.Duration(*grace)*time.Second < cfg.Service.ReplyDeadline+5*time.Second {
		t.Errorf("terminationGracePeriodSeconds %v: want ≥ 15 and ≥ reply-deadline %v + 5 s", grace, cfg.Service.ReplyDeadline)
	}

	// Security: non-root (the image's user), read-only root, no
	// capabilities, no privilege escalation.
	uid, gid := imageUser(t)
	psc := spec.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
		t.Error("pod securityContext.runAsNonRoot: want true")
	}
	if psc != nil && (psc.RunAsUser == nil || *psc.RunAsUser != uid || psc.RunAsGroup == nil || *psc.RunAsGroup != gid) {
		t.Errorf("pod securityContext runAsUser/runAsGroup: want the image's USER %d:%d", uid, gid)
	}
	if psc == nil || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Error("pod securityContext.seccompProfile: want RuntimeDefault")
	}
	sc := c.SecurityContext
	if sc == nil {
		t.Fatal("container securityContext missing")
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Error("readOnlyRootFilesystem: want true")
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Error("allowPrivilegeEscalation: want false")
	}
	if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) != 0 {
		t.Errorf("capabilities %v: want drop ALL, add none", sc.Capabilities)
	}
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		t.Error("automountServiceAccountToken: want false (xdrhook never calls the API server)")
	}

	// Resources: requests for both, a memory limit, no CPU limit.
	r := c.Resources
	if r.Requests.Cpu().IsZero() || r.Requests.Memory().IsZero() {
		t.Errorf("resource requests %v: want cpu and memory", r.Requests)
	}
	if r.Limits.Memory().IsZero() || r.Limits.Memory().Cmp(*r.Requests.Memory()) < 0 {
		t.Errorf("memory limit %v: want one, ≥ the request", r.Limits.Memory())
	}
	if !r.Limits.Cpu().IsZero() {
		t.Error("a CPU limit: throttling delays replies toward XDR's timeout")
	}
	if c.Image == "" {
		t.Error("no image")
	}
	t.Logf("%d replicas of %s: XDR %d, manage %d, grace %ds, requests %v/%v, limit %v, destinations %v",
		*sts.Spec.Replicas, c.Image, xdrPort, managePort, *grace, r.Requests.Cpu(), r.Requests.Memory(), r.Limits.Memory(), cfg.DestinationNames)
}
