package translate

import (
	"reflect"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/go-connections/nat"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func sandboxPod(mutate func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-0", Namespace: "shop", UID: "u-1"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "i"}}},
	}
	if mutate != nil {
		mutate(p)
	}
	return p
}

func TestSandboxBasics(t *testing.T) {
	pod := sandboxPod(func(p *corev1.Pod) {
		p.Spec.HostAliases = []corev1.HostAlias{{IP: "10.0.0.1", Hostnames: []string{"a.local", "b.local"}}, {IP: "fd00::1", Hostnames: []string{"v6.local"}}}
		p.Spec.SecurityContext = &corev1.PodSecurityContext{Sysctls: []corev1.Sysctl{{Name: "net.ipv4.ip_unprivileged_port_start", Value: "0"}}}
	})
	cmd := []string{"/k2d", "pause"}
	sb := Sandbox(pod, "k2d/pause:1", cmd, 3)
	cmd[0] = "mutated" // the spec must not share the caller's slice
	if sb.Name != "k8s_POD_web-0_shop_u-1_3" {
		t.Errorf("name %q", sb.Name)
	}
	cfg, host := sb.Config, sb.Host
	if cfg.Image != "k2d/pause:1" || !reflect.DeepEqual([]string(cfg.Entrypoint), []string{"/k2d", "pause"}) || cfg.Cmd != nil {
		t.Errorf("image %q entrypoint %q cmd %q", cfg.Image, cfg.Entrypoint, cfg.Cmd)
	}
	wantLabels := map[string]string{
		LabelManaged: "true", LabelPodName: "web-0", LabelPodNamespace: "shop", LabelPodUID: "u-1",
		LabelDockerType: DockerTypeSandbox, LabelContainerKind: KindSandbox, LabelAttempt: "3",
	}
	if !reflect.DeepEqual(cfg.Labels, wantLabels) {
		t.Errorf("labels %v", cfg.Labels)
	}
	if cfg.Hostname != "web-0" || cfg.Domainname != "" {
		t.Errorf("hostname %q domain %q", cfg.Hostname, cfg.Domainname)
	}
	if host.NetworkMode != "k2d-shop" || host.IpcMode != "shareable" || host.RestartPolicy.Name != container.RestartPolicyDisabled {
		t.Errorf("net %q ipc %q restart %q", host.NetworkMode, host.IpcMode, host.RestartPolicy.Name)
	}
	ep := sb.Net.EndpointsConfig["k2d-shop"]
	if ep == nil || !reflect.DeepEqual(ep.Aliases, []string{"web-0"}) || len(sb.Net.EndpointsConfig) != 1 {
		t.Errorf("endpoints %s", toJSON(sb.Net))
	}
	if !reflect.DeepEqual(host.ExtraHosts, []string{"a.local:10.0.0.1", "b.local:10.0.0.1", "v6.local:fd00::1"}) {
		t.Errorf("ExtraHosts %q", host.ExtraHosts)
	}
	if host.Sysctls["net.ipv4.ip_unprivileged_port_start"] != "0" {
		t.Errorf("sysctls %v", host.Sysctls)
	}
	if req := sb.CreateRequest(); req.Config != cfg || req.HostConfig != host || req.NetworkingConfig != sb.Net {
		t.Errorf("CreateRequest %+v", req)
	}
	if !host.ReadonlyRootfs || !reflect.DeepEqual([]string(host.CapDrop), []string{"ALL"}) || host.OomScoreAdj < 0 {
		t.Errorf("sandbox hardening: %s", toJSON(host))
	}
}

func TestSandboxHostname(t *testing.T) {
	long := strings.Repeat("a", 60) + "-b.c" + strings.Repeat("d", 10)
	cases := []struct {
		name         string
		mutate       func(*corev1.Pod)
		host, domain string
		extraAliases []string
	}{
		{"pod name", nil, "web-0", "", nil},
		{"spec.hostname", func(p *corev1.Pod) { p.Spec.Hostname = "db" }, "db", "", nil},
		{"subdomain", func(p *corev1.Pod) { p.Spec.Subdomain = "web" }, "web-0", "web.shop.svc.cluster.local",
			[]string{"web-0.web", "web-0.web.shop.svc.cluster.local"}},
		{"hostname and subdomain", func(p *corev1.Pod) { p.Spec.Hostname = "db-1"; p.Spec.Subdomain = "db" }, "db-1", "db.shop.svc.cluster.local",
			[]string{"db-1.db", "db-1.db.shop.svc.cluster.local"}},
		{"FQDN", func(p *corev1.Pod) { p.Spec.Subdomain = "web"; p.Spec.SetHostnameAsFQDN = ptr(true) }, "web-0.web.shop.svc.cluster.local", "",
			[]string{"web-0.web", "web-0.web.shop.svc.cluster.local"}},
		{"FQDN without subdomain", func(p *corev1.Pod) { p.Spec.SetHostnameAsFQDN = ptr(true) }, "web-0", "", nil},
		{"long name truncated", func(p *corev1.Pod) { p.Name = long }, strings.Repeat("a", 60) + "-b", "", nil},
		{"hostnameOverride", func(p *corev1.Pod) { p.Spec.HostnameOverride = ptr("custom.host"); p.Spec.Subdomain = "web" }, "custom.host", "",
			[]string{"custom.web", "custom.web.shop.svc.cluster.local"}},
	}
	for _, c := range cases {
		pod := sandboxPod(c.mutate)
		sb := Sandbox(pod, "p", nil, 0)
		if sb.Config.Hostname != c.host || sb.Config.Domainname != c.domain {
			t.Errorf("%s: hostname %q domain %q, want %q %q", c.name, sb.Config.Hostname, sb.Config.Domainname, c.host, c.domain)
		}
		if len(sb.Config.Hostname) > 64 {
			t.Errorf("%s: hostname longer than the kernel allows", c.name)
		}
		aliases := sb.Net.EndpointsConfig[NetworkName("shop")].Aliases
		if want := append([]string{pod.Name}, c.extraAliases...); !reflect.DeepEqual(aliases, want) {
			t.Errorf("%s: aliases %q, want %q", c.name, aliases, want)
		}
	}
}

func TestSandboxDNS(t *testing.T) {
	cluster := []string{"shop.svc.cluster.local", "svc.cluster.local", "cluster.local"}
	cases := []struct {
		name                     string
		mutate                   func(*corev1.Pod)
		servers, search, options []string
	}{
		{"default policy is ClusterFirst", nil, nil, cluster, []string{"ndots:5"}},
		{"ClusterFirst", func(p *corev1.Pod) { p.Spec.DNSPolicy = corev1.DNSClusterFirst }, nil, cluster, []string{"ndots:5"}},
		{"ClusterFirstWithHostNet on a pod network", func(p *corev1.Pod) { p.Spec.DNSPolicy = corev1.DNSClusterFirstWithHostNet }, nil, cluster, []string{"ndots:5"}},
		{"Default", func(p *corev1.Pod) { p.Spec.DNSPolicy = corev1.DNSDefault }, nil, nil, nil},
		{"hostNetwork falls back to Default", func(p *corev1.Pod) { p.Spec.HostNetwork = true }, nil, nil, nil},
		{"hostNetwork ClusterFirstWithHostNet", func(p *corev1.Pod) {
			p.Spec.HostNetwork = true
			p.Spec.DNSPolicy = corev1.DNSClusterFirstWithHostNet
		}, nil, nil, nil},
		{"None with dnsConfig", func(p *corev1.Pod) {
			p.Spec.DNSPolicy = corev1.DNSNone
			p.Spec.DNSConfig = &corev1.PodDNSConfig{Nameservers: []string{"1.1.1.1"}, Searches: []string{"corp.example"},
				Options: []corev1.PodDNSConfigOption{{Name: "ndots", Value: ptr("2")}, {Name: "edns0"}}}
		}, []string{"1.1.1.1"}, []string{"corp.example"}, []string{"ndots:2", "edns0"}},
		{"ClusterFirst merged with dnsConfig", func(p *corev1.Pod) {
			p.Spec.DNSConfig = &corev1.PodDNSConfig{Nameservers: []string{"9.9.9.9"}, Searches: []string{"corp.example", "cluster.local"},
				Options: []corev1.PodDNSConfigOption{{Name: "ndots", Value: ptr("1")}, {Name: "timeout", Value: ptr("2")}}}
		}, []string{"9.9.9.9"}, append(append([]string{}, cluster...), "corp.example"), []string{"ndots:1", "timeout:2"}},
	}
	for _, c := range cases {
		sb := Sandbox(sandboxPod(c.mutate), "p", nil, 0)
		h := sb.Host
		if !reflect.DeepEqual(h.DNS, c.servers) || !reflect.DeepEqual(h.DNSSearch, c.search) || !reflect.DeepEqual(h.DNSOptions, c.options) {
			t.Errorf("%s: dns %q search %q options %q", c.name, h.DNS, h.DNSSearch, h.DNSOptions)
		}
	}

	many := make([]string, 40)
	for i := range many {
		many[i] = "s" + strings.Repeat("x", i)
	}
	sb := Sandbox(sandboxPod(func(p *corev1.Pod) { p.Spec.DNSConfig = &corev1.PodDNSConfig{Searches: many} }), "p", nil, 0)
	if len(sb.Host.DNSSearch) != 32 {
		t.Errorf("search list not capped: %d", len(sb.Host.DNSSearch))
	}
}

// With a cluster DNS server, ClusterFirst pods ask it first (through Docker's embedded DNS on
// their network); hostNetwork pods get it only with ClusterFirstWithHostNet.
func TestSandboxClusterDNS(t *testing.T) {
	dns := ClusterDNS{Server: "10.96.0.10", Domain: "k2d.internal"}
	cluster := []string{"shop.svc.k2d.internal", "svc.k2d.internal", "k2d.internal"}
	cases := []struct {
		name                     string
		mutate                   func(*corev1.Pod)
		servers, search, options []string
	}{
		{"default policy", nil, []string{"10.96.0.10"}, cluster, []string{"ndots:5"}},
		{"ClusterFirstWithHostNet on a pod network", func(p *corev1.Pod) { p.Spec.DNSPolicy = corev1.DNSClusterFirstWithHostNet },
			[]string{"10.96.0.10"}, cluster, []string{"ndots:5"}},
		{"Default", func(p *corev1.Pod) { p.Spec.DNSPolicy = corev1.DNSDefault }, nil, nil, nil},
		{"hostNetwork ClusterFirst is Default", func(p *corev1.Pod) { p.Spec.HostNetwork = true }, nil, nil, nil},
		{"hostNetwork ClusterFirstWithHostNet", func(p *corev1.Pod) {
			p.Spec.HostNetwork = true
			p.Spec.DNSPolicy = corev1.DNSClusterFirstWithHostNet
		}, []string{"10.96.0.10"}, cluster, []string{"ndots:5"}},
		{"None ignores the cluster", func(p *corev1.Pod) {
			p.Spec.DNSPolicy = corev1.DNSNone
			p.Spec.DNSConfig = &corev1.PodDNSConfig{Nameservers: []string{"1.1.1.1"}}
		}, []string{"1.1.1.1"}, nil, nil},
		{"dnsConfig merged, servers capped at 3", func(p *corev1.Pod) {
			p.Spec.DNSConfig = &corev1.PodDNSConfig{Nameservers: []string{"10.96.0.10", "9.9.9.9", "8.8.8.8", "1.1.1.1"},
				Options: []corev1.PodDNSConfigOption{{Name: "ndots", Value: ptr("2")}}}
		}, []string{"10.96.0.10", "9.9.9.9", "8.8.8.8"}, cluster, []string{"ndots:2"}},
	}
	for _, c := range cases {
		sb := SandboxWithDNS(sandboxPod(c.mutate), "p", nil, 0, dns)
		h := sb.Host
		if !reflect.DeepEqual(h.DNS, c.servers) || !reflect.DeepEqual(h.DNSSearch, c.search) || !reflect.DeepEqual(h.DNSOptions, c.options) {
			t.Errorf("%s: dns %q search %q options %q", c.name, h.DNS, h.DNSSearch, h.DNSOptions)
		}
	}
	// The cluster domain also names the pod's subdomain and aliases.
	sb := SandboxWithDNS(sandboxPod(func(p *corev1.Pod) { p.Spec.Subdomain = "web" }), "p", nil, 0, dns)
	if sb.Config.Domainname != "web.shop.svc.k2d.internal" {
		t.Errorf("domain %q", sb.Config.Domainname)
	}
	if a := sb.Net.EndpointsConfig[NetworkName("shop")].Aliases; !reflect.DeepEqual(a, []string{"web-0", "web-0.web", "web-0.web.shop.svc.k2d.internal"}) {
		t.Errorf("aliases %q", a)
	}
}

func TestSandboxPorts(t *testing.T) {
	pod := sandboxPod(func(p *corev1.Pod) {
		p.Spec.InitContainers = []corev1.Container{{Name: "i", Ports: []corev1.ContainerPort{{ContainerPort: 9000}}}}
		p.Spec.Containers = []corev1.Container{
			{Name: "web", Ports: []corev1.ContainerPort{
				{Name: "http", ContainerPort: 80, HostPort: 8080},
				{Name: "dns", ContainerPort: 53, Protocol: corev1.ProtocolUDP, HostPort: 53, HostIP: "127.0.0.1"},
				{Name: "metrics", ContainerPort: 9100},
			}},
			{Name: "side", Ports: []corev1.ContainerPort{
				{ContainerPort: 80, HostPort: 8080}, // same binding twice: once
				{ContainerPort: 80, HostPort: 8081},
				{ContainerPort: 5000, Protocol: corev1.ProtocolSCTP},
			}},
		}
	})
	sb := Sandbox(pod, "p", nil, 0)
	wantExposed := nat.PortSet{"80/tcp": {}, "53/udp": {}, "9100/tcp": {}, "9000/tcp": {}, "5000/sctp": {}}
	if !reflect.DeepEqual(sb.Config.ExposedPorts, wantExposed) {
		t.Errorf("exposed %v", sb.Config.ExposedPorts)
	}
	wantBound := nat.PortMap{
		"80/tcp": {{HostPort: "8080"}, {HostPort: "8081"}},
		"53/udp": {{HostIP: "127.0.0.1", HostPort: "53"}},
	}
	if !reflect.DeepEqual(sb.Host.PortBindings, wantBound) {
		t.Errorf("bound %v", sb.Host.PortBindings)
	}

	none := Sandbox(sandboxPod(nil), "p", nil, 0)
	if none.Config.ExposedPorts != nil || none.Host.PortBindings != nil {
		t.Errorf("no ports: %v %v", none.Config.ExposedPorts, none.Host.PortBindings)
	}
}

func TestSandboxHostNetwork(t *testing.T) {
	pod := sandboxPod(func(p *corev1.Pod) {
		p.Spec.HostNetwork, p.Spec.HostPID, p.Spec.HostIPC = true, true, true
		p.Spec.Hostname, p.Spec.Subdomain = "h", "s"
		p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80, HostPort: 80}}
		p.Spec.HostAliases = []corev1.HostAlias{{IP: "10.0.0.1", Hostnames: []string{"x"}}}
	})
	sb := Sandbox(pod, "p", nil, 0)
	h := sb.Host
	// Docker refuses a hostname with UTS host; the node's hostname is what Kubernetes gives.
	if h.NetworkMode != "host" || h.UTSMode != "host" || h.PidMode != "host" || h.IpcMode != "host" ||
		sb.Config.Hostname != "" || sb.Config.Domainname != "" || sb.Net != nil || h.PortBindings != nil {
		t.Errorf("host network sandbox: %s", toJSON(sb))
	}
	if !reflect.DeepEqual(h.ExtraHosts, []string{"x:10.0.0.1"}) {
		t.Errorf("ExtraHosts %q", h.ExtraHosts)
	}
}

func TestSandboxHoldsMemoryVolumes(t *testing.T) {
	pod := sandboxPod(func(p *corev1.Pod) {
		p.Spec.Volumes = []corev1.Volume{
			{Name: "disk", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
			{Name: "ram", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory}}},
			{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/x"}}},
		}
	})
	sb := Sandbox(pod, "p", nil, 0)
	if len(sb.Host.Mounts) != 1 {
		t.Fatalf("mounts %s", toJSON(sb.Host.Mounts))
	}
	m := sb.Host.Mounts[0]
	if m.Type != mount.TypeVolume || m.Source != "k2d-u-1-ram" || m.Target != "/k2d/volumes/ram" ||
		m.VolumeOptions.DriverConfig == nil || m.VolumeOptions.DriverConfig.Options["type"] != "tmpfs" || m.VolumeOptions.DriverConfig.Options["o"] != "" {
		t.Errorf("mount %s", toJSON(m))
	}
}
