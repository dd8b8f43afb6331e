package translate

import (
	"sort"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/go-connections/nat"
	corev1 "k8s.io/api/core/v1"
)

// ContainerSpec is everything a Docker create call needs: POST /containers/create?name=Name
// with Config, Host and Net as the body (container.CreateRequest).
//
// Encode it as is: nil and empty slices mean different things to Docker. Entrypoint null keeps
// the image ENTRYPOINT while [] clears it, and Cmd null or [] with a null Entrypoint takes the
// image CMD. Once Entrypoint is non-empty, Docker never inherits the image CMD.
type ContainerSpec struct {
	Name   string
	Config *container.Config
	Host   *container.HostConfig
	Net    *network.NetworkingConfig
}

// CreateRequest is the body of the create call.
func (s ContainerSpec) CreateRequest() container.CreateRequest {
	return container.CreateRequest{Config: s.Config, HostConfig: s.Host, NetworkingConfig: s.Net}
}

// sandboxVolumeDir is where a sandbox mounts the pod's memory-backed emptyDirs. A sandbox holds
// them so that their tmpfs lives as long as the pod, not only while some container runs.
const sandboxVolumeDir = "/k2d/volumes/"

// ClusterDNS is the cluster DNS Service as pods use it.
type ClusterDNS struct {
	// Server is the cluster DNS Service's ClusterIP; "" while none serves: pods then resolve
	// through Docker's embedded DNS and the node's nameservers only.
	Server string
	// Domain is the cluster domain (kubelet --cluster-domain); "" is ClusterDomain.
	Domain string
}

func (d ClusterDNS) domain() string {
	if d.Domain == "" {
		return ClusterDomain
	}
	return d.Domain
}

// Sandbox translates a pod into its sandbox container: it owns the pod's network namespace
// (IP, DNS name, hostPorts, /etc/hosts and /etc/resolv.conf), its IPC namespace, and, with
// shareProcessNamespace, PID 1 of the shared PID namespace. image is k2d's locally built pause
// image and cmd its command (e.g. ["/k2d", "pause"]); attempt counts sandboxes created before for
// this pod uid. The pod's DNS uses no cluster DNS server: see SandboxWithDNS.
func Sandbox(pod *corev1.Pod, image string, cmd []string, attempt int) ContainerSpec {
	return SandboxWithDNS(pod, image, cmd, attempt, ClusterDNS{})
}

// SandboxWithDNS is Sandbox for a cluster whose DNS Service is dns: pods of dnsPolicy
// ClusterFirst (and hostNetwork pods of ClusterFirstWithHostNet) ask it first.
func SandboxWithDNS(pod *corev1.Pod, image string, cmd []string, attempt int, dns ClusterDNS) ContainerSpec {
	labels := podLabels(pod.Name, pod.Namespace, string(pod.UID), DockerTypeSandbox, KindSandbox, attempt)
	cfg := &container.Config{
		Image:      image,
		Entrypoint: append([]string(nil), cmd...),
		Labels:     labels,
	}
	host := &container.HostConfig{
		RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyDisabled},
		// The pause process needs no privilege; joined containers get their own capabilities.
		CapDrop:        []string{"ALL"},
		SecurityOpt:    []string{"no-new-privileges"},
		ReadonlyRootfs: true,
		IpcMode:        container.IpcMode("shareable"),
		Sysctls:        sysctls(pod),
	}
	if pod.Spec.HostIPC {
		host.IpcMode = "host"
	}
	if pod.Spec.HostPID {
		host.PidMode = "host"
	}
	for _, a := range pod.Spec.HostAliases {
		for _, h := range a.Hostnames {
			host.ExtraHosts = append(host.ExtraHosts, h+":"+a.IP)
		}
	}

	var net *network.NetworkingConfig
	if pod.Spec.HostNetwork {
		// The node's network, hostname and DNS; hostPorts are the node's ports already.
		host.NetworkMode = "host"
		host.UTSMode = "host"
	} else {
		hostname, domain := podHostname(pod, dns.domain())
		cfg.Hostname, cfg.Domainname = hostname, domain
		host.NetworkMode = container.NetworkMode(NetworkName(pod.Namespace))
		cfg.ExposedPorts, host.PortBindings = podPorts(pod)
		net = &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{
			NetworkName(pod.Namespace): {Aliases: podAliases(pod, hostname, dns.domain())},
		}}
	}
	host.DNS, host.DNSSearch, host.DNSOptions = podDNS(pod, dns)

	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		if v.EmptyDir != nil && v.EmptyDir.Medium == corev1.StorageMediumMemory {
			host.Mounts = append(host.Mounts, emptyDirMount(pod, v, sandboxVolumeDir+v.Name, false))
		}
	}

	return ContainerSpec{
		Name:   ContainerName(SandboxContainerName, pod.Name, pod.Namespace, string(pod.UID), attempt),
		Config: cfg,
		Host:   host,
		Net:    net,
	}
}

// podHostname returns the hostname and domain name the kubelet gives a pod: spec.hostname (or
// hostnameOverride) else the pod name, cut to 63 bytes; with spec.subdomain the domain is
// <subdomain>.<namespace>.svc.<cluster domain>. With setHostnameAsFQDN the hostname is the FQDN.
func podHostname(pod *corev1.Pod, clusterDomain string) (hostname, domain string) {
	hostname = pod.Name
	if pod.Spec.Hostname != "" {
		hostname = pod.Spec.Hostname
	}
	if pod.Spec.HostnameOverride != nil && *pod.Spec.HostnameOverride != "" {
		return truncateHostname(*pod.Spec.HostnameOverride), ""
	}
	hostname = truncateHostname(hostname)
	if pod.Spec.Subdomain != "" {
		domain = pod.Spec.Subdomain + "." + pod.Namespace + ".svc." + clusterDomain
	}
	if pod.Spec.SetHostnameAsFQDN != nil && *pod.Spec.SetHostnameAsFQDN && domain != "" {
		// The kernel holds 64 bytes; the kubelet refuses longer FQDNs, k2d keeps the short name.
		if fqdn := hostname + "." + domain; len(fqdn) <= 64 {
			return fqdn, ""
		}
	}
	return hostname, domain
}

func truncateHostname(h string) string {
	if len(h) <= 63 {
		return h
	}
	return strings.TrimRight(h[:63], "-.")
}

// podAliases are the DNS names the pod answers to on its namespace network: its name, and with
// a subdomain the names a headless Service would give it (<hostname>.<subdomain> and the FQDN),
// so StatefulSet pods resolve by their stable names from any pod of the namespace.
func podAliases(pod *corev1.Pod, hostname, clusterDomain string) []string {
	aliases := []string{pod.Name}
	if sub := pod.Spec.Subdomain; sub != "" {
		host, _, _ := strings.Cut(hostname, ".") // hostname is the FQDN with setHostnameAsFQDN
		aliases = append(aliases,
			host+"."+sub,
			host+"."+sub+"."+pod.Namespace+".svc."+clusterDomain)
	}
	return aliases
}

// podDNS returns Docker's Dns, DnsSearch and DnsOptions for the pod's dnsPolicy, as the
// kubelet writes resolv.conf:
//   - ClusterFirst: the cluster DNS server, the search path <ns>.svc.<domain> svc.<domain>
//     <domain>, ndots:5. On a user network Docker keeps its embedded server (127.0.0.11, which
//     also resolves the pod's aliases) as the only nameserver in resolv.conf and forwards what
//     it does not know to the Dns entries, from the pod's network namespace: the cluster DNS
//     ClusterIP is reached through the bridge gateway like any Service.
//   - ClusterFirstWithHostNet: the same; for a hostNetwork pod Docker writes the server into
//     resolv.conf itself (the ClusterIP is a local address of the node).
//   - ClusterFirst with hostNetwork, and Default: the node's resolv.conf (Docker's default).
//   - None: only dnsConfig.
//
// dnsConfig nameservers, searches and options are merged in, as the kubelet merges them.
func podDNS(pod *corev1.Pod, dns ClusterDNS) (servers, searches, options []string) {
	policy := pod.Spec.DNSPolicy
	if policy == "" {
		policy = corev1.DNSClusterFirst
	}
	if pod.Spec.HostNetwork && policy == corev1.DNSClusterFirst {
		policy = corev1.DNSDefault
	}
	if pod.Spec.HostNetwork && policy == corev1.DNSClusterFirstWithHostNet && dns.Server == "" {
		// Without a cluster DNS server a hostNetwork pod has only the node's.
		policy = corev1.DNSDefault
	}
	if policy == corev1.DNSClusterFirst || policy == corev1.DNSClusterFirstWithHostNet {
		domain := dns.domain()
		if dns.Server != "" {
			servers = []string{dns.Server}
		}
		searches = []string{pod.Namespace + ".svc." + domain, "svc." + domain, domain}
		options = []string{"ndots:5"}
	}
	if cfg := pod.Spec.DNSConfig; cfg != nil {
		servers = appendUnique(servers, cfg.Nameservers...)
		searches = appendUnique(searches, cfg.Searches...)
		options = mergeDNSOptions(options, cfg.Options)
	}
	const maxServers = 3 // resolv.conf's limit; the kubelet cuts here too
	if len(servers) > maxServers {
		servers = servers[:maxServers]
	}
	const maxSearches = 32 // glibc and musl ignore more; the kubelet cuts here too
	if len(searches) > maxSearches {
		searches = searches[:maxSearches]
	}
	return servers, searches, options
}

func appendUnique(list []string, more ...string) []string {
	for _, s := range more {
		dup := false
		for _, x := range list {
			if x == s {
				dup = true
				break
			}
		}
		if !dup {
			list = append(list, s)
		}
	}
	return list
}

// mergeDNSOptions overlays dnsConfig options on the defaults by option name, as the kubelet does.
func mergeDNSOptions(base []string, opts []corev1.PodDNSConfigOption) []string {
	for _, o := range opts {
		s := o.Name
		if o.Value != nil {
			s += ":" + *o.Value
		}
		replaced := false
		for i, b := range base {
			name, _, _ := strings.Cut(b, ":")
			if name == o.Name {
				base[i] = s
				replaced = true
				break
			}
		}
		if !replaced {
			base = append(base, s)
		}
	}
	return base
}

// podPorts exposes every declared container port on the sandbox and publishes those with a
// hostPort.
func podPorts(pod *corev1.Pod) (nat.PortSet, nat.PortMap) {
	var exposed nat.PortSet
	var bound nat.PortMap
	add := func(cs []corev1.Container) {
		for i := range cs {
			for _, p := range cs[i].Ports {
				if p.ContainerPort <= 0 {
					continue
				}
				port := nat.Port(strconv.Itoa(int(p.ContainerPort)) + "/" + protocol(p.Protocol))
				if exposed == nil {
					exposed = nat.PortSet{}
				}
				exposed[port] = struct{}{}
				if p.HostPort <= 0 {
					continue
				}
				if bound == nil {
					bound = nat.PortMap{}
				}
				b := nat.PortBinding{HostIP: p.HostIP, HostPort: strconv.Itoa(int(p.HostPort))}
				dup := false
				for _, x := range bound[port] {
					if x == b {
						dup = true
					}
				}
				if !dup {
					bound[port] = append(bound[port], b)
				}
			}
		}
	}
	add(pod.Spec.InitContainers)
	add(pod.Spec.Containers)
	return exposed, bound
}

func protocol(p corev1.Protocol) string {
	if p == "" {
		return "tcp"
	}
	return strings.ToLower(string(p))
}

// sysctls go on the sandbox: net.* ones belong to the network namespace it owns, and Docker
// refuses them on containers that join another container's network.
func sysctls(pod *corev1.Pod) map[string]string {
	sc := pod.Spec.SecurityContext
	if sc == nil || len(sc.Sysctls) == 0 {
		return nil
	}
	m := make(map[string]string, len(sc.Sysctls))
	for _, s := range sc.Sysctls {
		m[s.Name] = s.Value
	}
	return m
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
