package translate

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/strslice"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var golden = flag.Bool("golden", false, "rewrite testdata/golden from the current output")

const sandboxID = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func onePod(c corev1.Container) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "u-1"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{c}},
	}
}

func mustContainer(t *testing.T, pod *corev1.Pod, ec EnvContext) ContainerSpec {
	t.Helper()
	spec, err := Container(pod, &pod.Spec.Containers[0], KindApp, 0, sandboxID, 0, ec)
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

// TestGoldenWeb0 pins the whole translation of the fixture pod; the end-to-end test runs the
// same pod on Docker. Rewrite with: go test ./translate/ -run Golden -golden
func TestGoldenWeb0(t *testing.T) {
	pod := loadPod(t, "web-0.json")
	ec := EnvContext{PodIP: "172.23.0.2", HostIP: "192.0.2.1", NodeName: "node"}
	out := map[string]ContainerSpec{"sandbox": Sandbox(pod, "k2d/pause:dev", []string{"/k2d", "pause"}, 0)}
	spec, err := Container(pod, &pod.Spec.InitContainers[0], KindInit, 0, sandboxID, 0, ec)
	if err != nil {
		t.Fatal(err)
	}
	out["init/setup"] = spec
	for i := range pod.Spec.Containers {
		spec, err := Container(pod, &pod.Spec.Containers[i], KindApp, i, sandboxID, 0, ec)
		if err != nil {
			t.Fatal(err)
		}
		out["app/"+pod.Spec.Containers[i].Name] = spec
	}
	got, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "golden", "web-0.json")
	if *golden {
		if err := os.WriteFile(path, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != string(got)+"\n" {
		t.Errorf("translation of web-0 changed; review and rerun with -golden:\n%s", got)
	}
}

func TestCommandArgs(t *testing.T) {
	env := []corev1.EnvVar{{Name: "WHO", Value: "world"}}
	cases := []struct {
		name           string
		command, args  []string
		wantEntrypoint strslice.StrSlice
		wantCmd        strslice.StrSlice
	}{
		// Neither: nil and nil, so Docker keeps the image's ENTRYPOINT and CMD.
		{"image defaults", nil, nil, nil, nil},
		// args only: Entrypoint nil keeps the image ENTRYPOINT, Cmd replaces CMD.
		{"args only", nil, []string{"--port", "80"}, nil, strslice.StrSlice{"--port", "80"}},
		// command only: Entrypoint set; Docker then never inherits the image CMD (Cmd stays nil).
		{"command only", []string{"/bin/app"}, nil, strslice.StrSlice{"/bin/app"}, nil},
		{"both", []string{"/bin/sh", "-c"}, []string{"echo hi"}, strslice.StrSlice{"/bin/sh", "-c"}, strslice.StrSlice{"echo hi"}},
		{"empty lists are unset", []string{}, []string{}, nil, nil},
		{"expanded", []string{"echo", "$(WHO)"}, []string{"$$(WHO)", "$(NOPE)", "$WHO"},
			strslice.StrSlice{"echo", "world"}, strslice.StrSlice{"$(WHO)", "$(NOPE)", "$WHO"}},
	}
	for _, c := range cases {
		pod := onePod(corev1.Container{Name: "c", Image: "img", Command: c.command, Args: c.args, Env: env})
		spec := mustContainer(t, pod, EnvContext{})
		if !reflect.DeepEqual(spec.Config.Entrypoint, c.wantEntrypoint) || !reflect.DeepEqual(spec.Config.Cmd, c.wantCmd) {
			t.Errorf("%s: Entrypoint %#v Cmd %#v, want %#v %#v", c.name, spec.Config.Entrypoint, spec.Config.Cmd, c.wantEntrypoint, c.wantCmd)
		}
		// nil must stay null on the wire: [] would clear the image's ENTRYPOINT.
		b, _ := json.Marshal(spec.Config)
		var raw map[string]json.RawMessage
		_ = json.Unmarshal(b, &raw)
		if c.wantEntrypoint == nil && string(raw["Entrypoint"]) != "null" {
			t.Errorf("%s: Entrypoint encodes as %s, want null", c.name, raw["Entrypoint"])
		}
	}
}

func TestContainerBasics(t *testing.T) {
	pod := onePod(corev1.Container{
		Name: "app", Image: "nginx:1.27", WorkingDir: "/srv", TTY: true, Stdin: true, StdinOnce: true,
		Env:       []corev1.EnvVar{{Name: "B", Value: "2"}, {Name: "A", Value: "1"}},
		Lifecycle: &corev1.Lifecycle{StopSignal: ptr(corev1.SIGQUIT)},
	})
	pod.Spec.TerminationGracePeriodSeconds = ptr(int64(45))
	spec, err := Container(pod, &pod.Spec.Containers[0], KindApp, 3, sandboxID, 2, EnvContext{})
	if err != nil {
		t.Fatal(err)
	}
	if spec.Name != "k8s_app_p_ns_u-1_2" {
		t.Errorf("name %q", spec.Name)
	}
	cfg, host := spec.Config, spec.Host
	if cfg.Image != "nginx:1.27" || cfg.WorkingDir != "/srv" || !cfg.Tty || !cfg.OpenStdin || !cfg.StdinOnce {
		t.Errorf("config %+v", cfg)
	}
	if !reflect.DeepEqual(cfg.Env, []string{"B=2", "A=1"}) {
		t.Errorf("env %q", cfg.Env)
	}
	if cfg.StopTimeout == nil || *cfg.StopTimeout != 45 || cfg.StopSignal != "SIGQUIT" {
		t.Errorf("stop %v %q", cfg.StopTimeout, cfg.StopSignal)
	}
	wantLabels := map[string]string{
		LabelManaged: "true", LabelPodName: "p", LabelPodNamespace: "ns", LabelPodUID: "u-1",
		LabelContainerName: "app", LabelDockerType: DockerTypeContainer, LabelContainerKind: KindApp,
		LabelContainerIndex: "3", LabelAttempt: "2",
	}
	if !reflect.DeepEqual(cfg.Labels, wantLabels) {
		t.Errorf("labels %v", cfg.Labels)
	}
	if host.NetworkMode != "container:"+sandboxID || host.IpcMode != "container:"+sandboxID || host.PidMode != "" {
		t.Errorf("namespaces: net %q ipc %q pid %q", host.NetworkMode, host.IpcMode, host.PidMode)
	}
	if host.RestartPolicy.Name != container.RestartPolicyDisabled {
		t.Errorf("restart policy %q: the controller restarts, not Docker", host.RestartPolicy.Name)
	}
	// Joined containers must not set what Docker refuses with network_mode container:.
	if cfg.Hostname != "" || cfg.Domainname != "" || len(cfg.ExposedPorts) > 0 || len(host.PortBindings) > 0 ||
		len(host.DNS)+len(host.DNSSearch)+len(host.DNSOptions)+len(host.ExtraHosts) > 0 || spec.Net != nil {
		t.Errorf("joined container sets network fields: %s", toJSON(spec))
	}

	if _, err := Container(pod, &pod.Spec.Containers[0], "sidecar", 0, sandboxID, 0, EnvContext{}); !errors.Is(err, ErrInvalidSpec) {
		t.Errorf("unknown kind: %v", err)
	}
	init, err := Container(pod, &pod.Spec.Containers[0], KindInit, 0, sandboxID, 0, EnvContext{})
	if err != nil || init.Config.Labels[LabelContainerKind] != KindInit {
		t.Errorf("init kind label: %v %v", err, init.Config.Labels)
	}
}

func TestNamespaceModes(t *testing.T) {
	cases := []struct {
		name     string
		mutate   func(*corev1.PodSpec)
		ipc, pid container.IpcMode
	}{
		{"default", func(*corev1.PodSpec) {}, "container:" + sandboxID, ""},
		{"shareProcessNamespace", func(s *corev1.PodSpec) { s.ShareProcessNamespace = ptr(true) }, "container:" + sandboxID, "container:" + sandboxID},
		{"shareProcessNamespace false", func(s *corev1.PodSpec) { s.ShareProcessNamespace = ptr(false) }, "container:" + sandboxID, ""},
		{"hostIPC", func(s *corev1.PodSpec) { s.HostIPC = true }, "host", ""},
		{"hostPID", func(s *corev1.PodSpec) { s.HostPID = true; s.ShareProcessNamespace = ptr(true) }, "container:" + sandboxID, "host"},
	}
	for _, c := range cases {
		pod := onePod(corev1.Container{Name: "c", Image: "i"})
		c.mutate(&pod.Spec)
		spec := mustContainer(t, pod, EnvContext{})
		if spec.Host.IpcMode != c.ipc || string(spec.Host.PidMode) != string(c.pid) {
			t.Errorf("%s: ipc %q pid %q", c.name, spec.Host.IpcMode, spec.Host.PidMode)
		}
		sb := Sandbox(pod, "pause", nil, 0)
		wantIPC := container.IpcMode("shareable")
		if pod.Spec.HostIPC {
			wantIPC = "host"
		}
		if sb.Host.IpcMode != wantIPC || (pod.Spec.HostPID && sb.Host.PidMode != "host") {
			t.Errorf("%s: sandbox ipc %q pid %q", c.name, sb.Host.IpcMode, sb.Host.PidMode)
		}
	}
}

func TestResources(t *testing.T) {
	rl := func(kv ...string) corev1.ResourceList {
		l := corev1.ResourceList{}
		for i := 0; i < len(kv); i += 2 {
			l[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
		}
		return l
	}
	cases := []struct {
		name                  string
		req, lim              corev1.ResourceList
		memory, quota, shares int64
		period                int64
		oomAdj                int
		allocatable           corev1.ResourceList
	}{
		{"best effort", nil, nil, 0, 0, 2, 0, 1000, nil},
		{"guaranteed", rl("cpu", "500m", "memory", "128Mi"), rl("cpu", "500m", "memory", "128Mi"), 128 << 20, 50000, 512, 100000, 0, nil},
		// limits above the host's CPU count must work (NanoCpus would be refused by Docker).
		{"cpu limit above host cpus", nil, rl("cpu", "16"), 0, 1600000, 16384, 100000, 999, nil},
		{"tiny cpu limit has the minimum quota", rl("cpu", "1m"), rl("cpu", "5m"), 0, 1000, 2, 100000, 999, nil},
		{"requests only", rl("cpu", "100m", "memory", "256Mi"), nil, 0, 0, 102, 0, 750, rl("memory", "1Gi")},
		{"huge request", rl("cpu", "1000"), nil, 0, 0, 262144, 0, 999, nil},
		{"burstable tiny memory share", rl("memory", "1Mi"), nil, 0, 0, 2, 0, 999, rl("memory", "1Gi")},
		{"burstable most of the node", rl("memory", "1Gi"), nil, 0, 0, 2, 0, 2, rl("memory", "1Gi")},
		{"ephemeral storage ignored", rl("ephemeral-storage", "1Gi"), nil, 0, 0, 2, 0, 1000, nil},
	}
	for _, c := range cases {
		pod := onePod(corev1.Container{Name: "c", Image: "i", Resources: corev1.ResourceRequirements{Requests: c.req, Limits: c.lim}})
		spec := mustContainer(t, pod, EnvContext{NodeAllocatable: c.allocatable})
		r := spec.Host.Resources
		if r.Memory != c.memory || r.CPUQuota != c.quota || r.CPUPeriod != c.period || r.CPUShares != c.shares || r.NanoCPUs != 0 {
			t.Errorf("%s: memory %d quota %d period %d shares %d nano %d", c.name, r.Memory, r.CPUQuota, r.CPUPeriod, r.CPUShares, r.NanoCPUs)
		}
		if r.Memory > 0 && r.MemorySwap != r.Memory {
			t.Errorf("%s: MemorySwap %d, want %d (no swap)", c.name, r.MemorySwap, r.Memory)
		}
		if spec.Host.OomScoreAdj != c.oomAdj {
			t.Errorf("%s: OomScoreAdj %d, want %d", c.name, spec.Host.OomScoreAdj, c.oomAdj)
		}
		if spec.Host.OomScoreAdj < 0 {
			t.Errorf("%s: negative OomScoreAdj fails without CAP_SYS_RESOURCE", c.name)
		}
	}
}

func TestQOSClass(t *testing.T) {
	rl := func(cpu, mem string) corev1.ResourceList {
		l := corev1.ResourceList{}
		if cpu != "" {
			l[corev1.ResourceCPU] = resource.MustParse(cpu)
		}
		if mem != "" {
			l[corev1.ResourceMemory] = resource.MustParse(mem)
		}
		return l
	}
	res := func(req, lim corev1.ResourceList) corev1.ResourceRequirements {
		return corev1.ResourceRequirements{Requests: req, Limits: lim}
	}
	cases := []struct {
		name       string
		init, apps []corev1.ResourceRequirements
		want       corev1.PodQOSClass
	}{
		{"nothing", nil, []corev1.ResourceRequirements{{}}, corev1.PodQOSBestEffort},
		{"zero requests", nil, []corev1.ResourceRequirements{res(rl("0", "0"), nil)}, corev1.PodQOSBestEffort},
		{"equal", nil, []corev1.ResourceRequirements{res(rl("1", "1Gi"), rl("1", "1Gi"))}, corev1.PodQOSGuaranteed},
		{"equal in other units", nil, []corev1.ResourceRequirements{res(rl("1000m", "1024Mi"), rl("1", "1Gi"))}, corev1.PodQOSGuaranteed},
		{"limits only (not defaulted)", nil, []corev1.ResourceRequirements{res(nil, rl("1", "1Gi"))}, corev1.PodQOSBurstable},
		{"cpu only", nil, []corev1.ResourceRequirements{res(rl("1", ""), rl("1", ""))}, corev1.PodQOSBurstable},
		{"request below limit", nil, []corev1.ResourceRequirements{res(rl("500m", "1Gi"), rl("1", "1Gi"))}, corev1.PodQOSBurstable},
		{"one container without", nil, []corev1.ResourceRequirements{res(rl("1", "1Gi"), rl("1", "1Gi")), {}}, corev1.PodQOSBurstable},
		{"init container counts", []corev1.ResourceRequirements{{}}, []corev1.ResourceRequirements{res(rl("1", "1Gi"), rl("1", "1Gi"))}, corev1.PodQOSBurstable},
		{"two guaranteed", nil, []corev1.ResourceRequirements{res(rl("1", "1Gi"), rl("1", "1Gi")), res(rl("2", "1Mi"), rl("2", "1Mi"))}, corev1.PodQOSGuaranteed},
	}
	for _, c := range cases {
		pod := &corev1.Pod{}
		for _, r := range c.init {
			pod.Spec.InitContainers = append(pod.Spec.InitContainers, corev1.Container{Resources: r})
		}
		for _, r := range c.apps {
			pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{Resources: r})
		}
		if got := QOSClass(pod); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}

func TestSecurityContext(t *testing.T) {
	cases := []struct {
		name      string
		pod       *corev1.PodSecurityContext
		ctr       *corev1.SecurityContext
		ann       map[string]string
		imageUser string
		check     func(t *testing.T, cfg *container.Config, host *container.HostConfig)
	}{
		{name: "nothing", check: func(t *testing.T, cfg *container.Config, host *container.HostConfig) {
			if cfg.User != "" || host.Privileged || host.ReadonlyRootfs || len(host.SecurityOpt)+len(host.CapAdd)+len(host.CapDrop)+len(host.GroupAdd) > 0 ||
				host.MaskedPaths != nil || host.ReadonlyPaths != nil {
				t.Errorf("unexpected: user %q host %s", cfg.User, toJSON(host))
			}
		}},
		{name: "user and group from pod", pod: &corev1.PodSecurityContext{RunAsUser: ptr(int64(1000)), RunAsGroup: ptr(int64(3000))},
			check: wantUser("1000:3000")},
		{name: "container overrides user", pod: &corev1.PodSecurityContext{RunAsUser: ptr(int64(1000)), RunAsGroup: ptr(int64(3000))},
			ctr: &corev1.SecurityContext{RunAsUser: ptr(int64(0))}, check: wantUser("0:3000")},
		{name: "user only", ctr: &corev1.SecurityContext{RunAsUser: ptr(int64(65534))}, check: wantUser("65534")},
		{name: "group only keeps image user", ctr: &corev1.SecurityContext{RunAsGroup: ptr(int64(10))}, imageUser: "nginx:nginx", check: wantUser("nginx:10")},
		{name: "group only, image runs as root", ctr: &corev1.SecurityContext{RunAsGroup: ptr(int64(10))}, check: wantUser("0:10")},
		{name: "fsGroup and supplemental groups", pod: &corev1.PodSecurityContext{FSGroup: ptr(int64(2000)), SupplementalGroups: []int64{4000, 2000, 5000}},
			check: func(t *testing.T, _ *container.Config, host *container.HostConfig) {
				if !reflect.DeepEqual(host.GroupAdd, []string{"2000", "4000", "5000"}) {
					t.Errorf("GroupAdd %q", host.GroupAdd)
				}
			}},
		{name: "privileges", ctr: &corev1.SecurityContext{
			Privileged: ptr(true), ReadOnlyRootFilesystem: ptr(true),
			Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"NET_ADMIN", "SYS_TIME"}, Drop: []corev1.Capability{"ALL"}},
		}, check: func(t *testing.T, _ *container.Config, host *container.HostConfig) {
			if !host.Privileged || !host.ReadonlyRootfs || !reflect.DeepEqual([]string(host.CapAdd), []string{"NET_ADMIN", "SYS_TIME"}) ||
				!reflect.DeepEqual([]string(host.CapDrop), []string{"ALL"}) {
				t.Errorf("host %s", toJSON(host))
			}
		}},
		{name: "no privilege escalation", ctr: &corev1.SecurityContext{AllowPrivilegeEscalation: ptr(false)}, check: wantOpts("no-new-privileges")},
		{name: "privilege escalation allowed", ctr: &corev1.SecurityContext{AllowPrivilegeEscalation: ptr(true)}, check: wantOpts()},
		{name: "seccomp unconfined from pod", pod: &corev1.PodSecurityContext{SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined}},
			check: wantOpts("seccomp=unconfined")},
		{name: "seccomp runtime default in container wins", pod: &corev1.PodSecurityContext{SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined}},
			ctr: &corev1.SecurityContext{SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}}, check: wantOpts()},
		{name: "seccomp localhost is not applied", ctr: &corev1.SecurityContext{SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeLocalhost, LocalhostProfile: ptr("x.json")}},
			check: wantOpts()},
		{name: "apparmor field", ctr: &corev1.SecurityContext{AppArmorProfile: &corev1.AppArmorProfile{Type: corev1.AppArmorProfileTypeUnconfined}},
			check: wantOpts("apparmor=unconfined")},
		{name: "apparmor localhost", pod: &corev1.PodSecurityContext{AppArmorProfile: &corev1.AppArmorProfile{Type: corev1.AppArmorProfileTypeLocalhost, LocalhostProfile: ptr("k2d-strict")}},
			check: wantOpts("apparmor=k2d-strict")},
		{name: "apparmor annotation", ann: map[string]string{appArmorAnnotationPrefix + "c": "localhost/custom"}, check: wantOpts("apparmor=custom")},
		{name: "apparmor annotation for another container", ann: map[string]string{appArmorAnnotationPrefix + "other": "unconfined"}, check: wantOpts()},
		{name: "apparmor field beats annotation", ann: map[string]string{appArmorAnnotationPrefix + "c": "unconfined"},
			ctr: &corev1.SecurityContext{AppArmorProfile: &corev1.AppArmorProfile{Type: corev1.AppArmorProfileTypeRuntimeDefault}}, check: wantOpts()},
		{name: "selinux", pod: &corev1.PodSecurityContext{SELinuxOptions: &corev1.SELinuxOptions{User: "system_u", Level: "s0:c1,c2"}},
			ctr:   &corev1.SecurityContext{SELinuxOptions: &corev1.SELinuxOptions{Type: "spc_t"}},
			check: wantOpts("label=type:spc_t")},
		{name: "selinux from pod", pod: &corev1.PodSecurityContext{SELinuxOptions: &corev1.SELinuxOptions{User: "system_u", Role: "r", Level: "s0:c1,c2"}},
			check: wantOpts("label=user:system_u", "label=role:r", "label=level:s0:c1,c2")},
		{name: "unmasked proc", ctr: &corev1.SecurityContext{ProcMount: ptr(corev1.UnmaskedProcMount)},
			check: func(t *testing.T, _ *container.Config, host *container.HostConfig) {
				if host.MaskedPaths == nil || len(host.MaskedPaths) != 0 || host.ReadonlyPaths == nil || len(host.ReadonlyPaths) != 0 {
					t.Errorf("want empty, non-nil MaskedPaths/ReadonlyPaths: %#v %#v", host.MaskedPaths, host.ReadonlyPaths)
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pod := onePod(corev1.Container{Name: "c", Image: "i", SecurityContext: c.ctr})
			pod.Spec.SecurityContext = c.pod
			pod.Annotations = c.ann
			spec := mustContainer(t, pod, EnvContext{ImageUser: c.imageUser})
			c.check(t, spec.Config, spec.Host)
		})
	}
}

func wantUser(u string) func(*testing.T, *container.Config, *container.HostConfig) {
	return func(t *testing.T, cfg *container.Config, _ *container.HostConfig) {
		if cfg.User != u {
			t.Errorf("User %q, want %q", cfg.User, u)
		}
	}
}

func wantOpts(opts ...string) func(*testing.T, *container.Config, *container.HostConfig) {
	return func(t *testing.T, _ *container.Config, host *container.HostConfig) {
		if len(opts) == 0 && len(host.SecurityOpt) == 0 {
			return
		}
		if !reflect.DeepEqual(host.SecurityOpt, opts) {
			t.Errorf("SecurityOpt %q, want %q", host.SecurityOpt, opts)
		}
	}
}

func TestVerifyRunAsNonRoot(t *testing.T) {
	cases := []struct {
		name      string
		pod       *corev1.PodSecurityContext
		ctr       *corev1.SecurityContext
		imageUser string
		fails     bool
	}{
		{"not asked", nil, nil, "", false},
		{"asked false", nil, &corev1.SecurityContext{RunAsNonRoot: ptr(false)}, "", false},
		{"image root", nil, &corev1.SecurityContext{RunAsNonRoot: ptr(true)}, "", true},
		{"image uid 0 with group", &corev1.PodSecurityContext{RunAsNonRoot: ptr(true)}, nil, "0:0", true},
		{"image numeric user", &corev1.PodSecurityContext{RunAsNonRoot: ptr(true)}, nil, "1000:1000", false},
		{"image named user", &corev1.PodSecurityContext{RunAsNonRoot: ptr(true)}, nil, "nginx", true},
		{"runAsUser non-root wins over image", &corev1.PodSecurityContext{RunAsNonRoot: ptr(true), RunAsUser: ptr(int64(101))}, nil, "", false},
		{"runAsUser 0", &corev1.PodSecurityContext{RunAsNonRoot: ptr(true)}, &corev1.SecurityContext{RunAsUser: ptr(int64(0))}, "1000", true},
		{"container turns it off", &corev1.PodSecurityContext{RunAsNonRoot: ptr(true)}, &corev1.SecurityContext{RunAsNonRoot: ptr(false)}, "", false},
	}
	for _, c := range cases {
		pod := onePod(corev1.Container{Name: "c", SecurityContext: c.ctr})
		pod.Spec.SecurityContext = c.pod
		err := VerifyRunAsNonRoot(pod, &pod.Spec.Containers[0], c.imageUser)
		if c.fails != (err != nil) || (err != nil && !errors.Is(err, ErrRunAsRoot)) {
			t.Errorf("%s: err %v, fails %v", c.name, err, c.fails)
		}
	}
}

func TestVolumeMounts(t *testing.T) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "u-1"},
		Spec: corev1.PodSpec{Volumes: []corev1.Volume{
			{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
			{Name: "mem", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory, SizeLimit: ptr(resource.MustParse("64Mi"))}}},
			{Name: "logs", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/log", Type: ptr(corev1.HostPathDirectory)}}},
			{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}}},
			{Name: "claim", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data", ReadOnly: true}}},
			{Name: "rw-claim", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data2"}}},
		}},
	}
	ec := EnvContext{
		Volumes: map[string]VolumeSource{
			"cfg":      {Type: mount.TypeBind, Source: "/run/k2d/cm/ns/cfg"},
			"claim":    {Type: mount.TypeVolume, Source: "k2d-pvc-data"},
			"rw-claim": {Type: mount.TypeVolume, Source: "k2d-pvc-data2"},
		},
		TerminationMessageFile: "/run/k2d/term/u-1/app",
	}
	volLabels := func(name string) map[string]string {
		return map[string]string{LabelManaged: "true", LabelNamespace: "ns", LabelPodName: "p", LabelPodNamespace: "ns", LabelPodUID: "u-1", LabelVolumeName: name}
	}
	cases := []struct {
		name    string
		mounts  []corev1.VolumeMount
		env     []corev1.EnvVar
		ec      EnvContext
		termMsg string
		want    []mount.Mount
		err     error
	}{
		{name: "emptyDir", mounts: []corev1.VolumeMount{{Name: "scratch", MountPath: "/tmp/s"}}, want: []mount.Mount{{
			Type: mount.TypeVolume, Source: "k2d-u-1-scratch", Target: "/tmp/s",
			VolumeOptions: &mount.VolumeOptions{NoCopy: true, Labels: volLabels("scratch")},
		}}},
		{name: "memory emptyDir", mounts: []corev1.VolumeMount{{Name: "mem", MountPath: "/cache", ReadOnly: true}}, want: []mount.Mount{{
			Type: mount.TypeVolume, Source: "k2d-u-1-mem", Target: "/cache", ReadOnly: true,
			VolumeOptions: &mount.VolumeOptions{NoCopy: true, Labels: volLabels("mem"), DriverConfig: &mount.Driver{
				Name: "local", Options: map[string]string{"type": "tmpfs", "device": "tmpfs", "o": "size=67108864"}}},
		}}},
		{name: "hostPath with subPath and propagation", mounts: []corev1.VolumeMount{
			{Name: "logs", MountPath: "/logs", SubPath: "nginx/./access", MountPropagation: ptr(corev1.MountPropagationHostToContainer)},
			{Name: "logs", MountPath: "/all", ReadOnly: true, MountPropagation: ptr(corev1.MountPropagationBidirectional)},
			{Name: "logs", MountPath: "/none", MountPropagation: ptr(corev1.MountPropagationNone)},
		}, want: []mount.Mount{
			{Type: mount.TypeBind, Source: "/var/log/nginx/access", Target: "/logs", BindOptions: &mount.BindOptions{Propagation: mount.PropagationRSlave}},
			{Type: mount.TypeBind, Source: "/var/log", Target: "/all", ReadOnly: true, BindOptions: &mount.BindOptions{Propagation: mount.PropagationRShared}},
			{Type: mount.TypeBind, Source: "/var/log", Target: "/none"},
		}},
		{name: "subPathExpr", env: []corev1.EnvVar{{Name: "POD", Value: "p-1"}},
			mounts: []corev1.VolumeMount{{Name: "logs", MountPath: "/logs", SubPathExpr: "pods/$(POD)"}},
			want:   []mount.Mount{{Type: mount.TypeBind, Source: "/var/log/pods/p-1", Target: "/logs"}}},
		{name: "subPath escapes", mounts: []corev1.VolumeMount{{Name: "logs", MountPath: "/x", SubPath: "../etc"}}, err: ErrInvalidSubPath},
		{name: "subPath absolute", mounts: []corev1.VolumeMount{{Name: "logs", MountPath: "/x", SubPath: "/etc"}}, err: ErrInvalidSubPath},
		{name: "subPathExpr escapes", env: []corev1.EnvVar{{Name: "D", Value: ".."}},
			mounts: []corev1.VolumeMount{{Name: "logs", MountPath: "/x", SubPathExpr: "a/$(D)/$(D)"}}, err: ErrInvalidSubPath},
		{name: "subPath on emptyDir needs a host path", mounts: []corev1.VolumeMount{{Name: "scratch", MountPath: "/x", SubPath: "a"}}, err: ErrInvalidSubPath},
		{name: "subPath on emptyDir with its mountpoint",
			mounts: []corev1.VolumeMount{{Name: "scratch", MountPath: "/x", SubPath: "a"}},
			ec:     EnvContext{Volumes: map[string]VolumeSource{"scratch": {Type: mount.TypeBind, Source: "/var/lib/docker/volumes/k2d-u-1-scratch/_data"}}},
			want:   []mount.Mount{{Type: mount.TypeBind, Source: "/var/lib/docker/volumes/k2d-u-1-scratch/_data/a", Target: "/x"}}},
		{name: "configMap is read-only with subPath", mounts: []corev1.VolumeMount{{Name: "cfg", MountPath: "/etc/nginx/nginx.conf", SubPath: "nginx.conf"}},
			want: []mount.Mount{{Type: mount.TypeBind, Source: "/run/k2d/cm/ns/cfg/nginx.conf", Target: "/etc/nginx/nginx.conf", ReadOnly: true}}},
		{name: "configMap without source", mounts: []corev1.VolumeMount{{Name: "cfg", MountPath: "/c"}}, ec: EnvContext{}, err: ErrNoVolumeSource},
		{name: "pvc", mounts: []corev1.VolumeMount{{Name: "claim", MountPath: "/data"}, {Name: "rw-claim", MountPath: "/data2"}}, want: []mount.Mount{
			{Type: mount.TypeVolume, Source: "k2d-pvc-data", Target: "/data", ReadOnly: true, VolumeOptions: &mount.VolumeOptions{NoCopy: true}},
			{Type: mount.TypeVolume, Source: "k2d-pvc-data2", Target: "/data2", VolumeOptions: &mount.VolumeOptions{NoCopy: true}},
		}},
		{name: "pvc subPath on a Docker volume", mounts: []corev1.VolumeMount{{Name: "rw-claim", MountPath: "/d", SubPath: "x"}}, err: ErrInvalidSubPath},
		{name: "unknown volume", mounts: []corev1.VolumeMount{{Name: "nope", MountPath: "/x"}}, err: ErrInvalidSpec},
		{name: "termination message", termMsg: "/var/run/msg",
			ec:   EnvContext{TerminationMessageFile: "/run/k2d/term/u-1/app"},
			want: []mount.Mount{{Type: mount.TypeBind, Source: "/run/k2d/term/u-1/app", Target: "/var/run/msg"}}},
		{name: "termination message default path",
			ec:   EnvContext{TerminationMessageFile: "/run/k2d/term/u-1/app"},
			want: []mount.Mount{{Type: mount.TypeBind, Source: "/run/k2d/term/u-1/app", Target: "/dev/termination-log"}}},
	}
	for _, c := range cases {
		p := pod.DeepCopy()
		p.Spec.Containers = []corev1.Container{{Name: "app", Image: "i", VolumeMounts: c.mounts, Env: c.env, TerminationMessagePath: c.termMsg}}
		e := ec
		if c.ec.Volumes != nil || c.ec.TerminationMessageFile != "" || c.name == "configMap without source" {
			e = c.ec
		} else {
			e.TerminationMessageFile = ""
		}
		spec, err := Container(p, &p.Spec.Containers[0], KindApp, 0, sandboxID, 0, e)
		if c.err != nil {
			if !errors.Is(err, c.err) {
				t.Errorf("%s: err %v, want %v", c.name, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if !reflect.DeepEqual(spec.Host.Mounts, c.want) {
			t.Errorf("%s:\n got %s\nwant %s", c.name, toJSON(spec.Host.Mounts), toJSON(c.want))
		}
	}

	hp := HostPaths(pod)
	if len(hp) != 1 || hp[0] != (HostPath{Volume: "logs", Path: "/var/log", Type: corev1.HostPathDirectory}) {
		t.Errorf("HostPaths %+v", hp)
	}
}
