package translate

import (
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/go-connections/nat"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// PodFromContainer shows a container k2d did not create (plain `docker run`, compose...) as a
// one-container Pod, so kubectl can list, describe, log, exec and delete it. Call it only for
// containers that are not IsManaged.
//
//   - Namespace: the container's io.k2d.namespace label, else "default".
//   - Name: the Docker name when it is a valid DNS-1123 subdomain. Otherwise it is sanitised
//     (lower case, runs of other characters become '-', cut to fit) and suffixed with '-' and the
//     first 5 hex digits of the container ID, so "My_App" becomes "my-app-1a2b3". Valid Docker names are
//     unique, and sanitised names carry the ID suffix, so names collide only if two sanitised
//     names and their ID prefixes all match (about one in a million) or a container is literally
//     named like another's sanitised form with the same suffix; the caller keeps the older one.
//   - UID: the first 32 hex digits of the container ID in UUID form, stable across restarts of
//     k2d and of Docker.
//   - Labels: the container's labels that are valid Kubernetes labels (Services can select them).
//   - Spec: image, entrypoint as command, cmd as args, env, working dir, ports (exposed and
//     published), tty/stdin, memory and CPU limits, privileges and mounts (as hostPath or
//     memory emptyDir volumes); restartPolicy from Docker's restart policy.
//   - Status: as PodStatus computes it with the container as its own sandbox, restartCount from
//     Docker's RestartCount. The caller sets spec.nodeName and status.hostIP(s).
func PodFromContainer(c *container.InspectResponse) *corev1.Pod {
	cfg := c.Config
	if cfg == nil {
		cfg = &container.Config{}
	}
	host := c.HostConfig
	if host == nil {
		host = &container.HostConfig{}
	}
	ns := cfg.Labels[LabelNamespace]
	if ns == "" {
		ns = "default"
	}
	name := PodNameFromContainer(c.Name, c.ID)
	pod := &corev1.Pod{
		TypeMeta: metav1.TypeMeta{Kind: "Pod", APIVersion: "v1"},
		ObjectMeta: metav1.ObjectMeta{
			Name:              name,
			Namespace:         ns,
			UID:               uidFromID(c.ID),
			CreationTimestamp: parseTime(c.Created),
			Labels:            validLabels(cfg.Labels),
		},
	}

	grace := int64(10) // Docker's default stop timeout
	if cfg.StopTimeout != nil {
		grace = int64(*cfg.StopTimeout)
	}
	spec := &pod.Spec
	spec.RestartPolicy = restartPolicyFromDocker(host.RestartPolicy.Name)
	spec.DNSPolicy = corev1.DNSDefault
	spec.SchedulerName = corev1.DefaultSchedulerName
	spec.TerminationGracePeriodSeconds = &grace
	spec.SecurityContext = &corev1.PodSecurityContext{}
	spec.HostNetwork = host.NetworkMode.IsHost()
	spec.HostIPC = host.IpcMode.IsHost()
	spec.HostPID = host.PidMode.IsHost()

	ctr := corev1.Container{
		Name:                     containerNameFor(name),
		Image:                    cfg.Image,
		Command:                  append([]string(nil), cfg.Entrypoint...),
		Args:                     append([]string(nil), cfg.Cmd...),
		WorkingDir:               cfg.WorkingDir,
		TTY:                      cfg.Tty,
		Stdin:                    cfg.OpenStdin,
		StdinOnce:                cfg.StdinOnce,
		TerminationMessagePath:   corev1.TerminationMessagePathDefault,
		TerminationMessagePolicy: corev1.TerminationMessageReadFile,
		ImagePullPolicy:          corev1.PullIfNotPresent,
		Ports:                    portsFromDocker(cfg, host),
		Resources:                resourcesFromDocker(host),
	}
	for _, kv := range cfg.Env {
		k, v, _ := strings.Cut(kv, "=")
		ctr.Env = append(ctr.Env, corev1.EnvVar{Name: k, Value: v})
	}
	if host.Privileged || host.ReadonlyRootfs || len(host.CapAdd) > 0 || len(host.CapDrop) > 0 {
		sc := &corev1.SecurityContext{}
		if host.Privileged {
			sc.Privileged = &host.Privileged
		}
		if host.ReadonlyRootfs {
			sc.ReadOnlyRootFilesystem = &host.ReadonlyRootfs
		}
		if len(host.CapAdd) > 0 || len(host.CapDrop) > 0 {
			sc.Capabilities = &corev1.Capabilities{}
			// Docker reports "CAP_NET_ADMIN"; Kubernetes names capabilities without the prefix.
			for _, a := range host.CapAdd {
				sc.Capabilities.Add = append(sc.Capabilities.Add, corev1.Capability(strings.TrimPrefix(a, "CAP_")))
			}
			for _, d := range host.CapDrop {
				sc.Capabilities.Drop = append(sc.Capabilities.Drop, corev1.Capability(strings.TrimPrefix(d, "CAP_")))
			}
		}
		ctr.SecurityContext = sc
	}
	for i, m := range c.Mounts {
		vname := "volume-" + strconv.Itoa(i)
		var src corev1.VolumeSource
		switch m.Type {
		case mount.TypeBind, mount.TypeVolume:
			// A named volume shows where its data lives on the host.
			src.HostPath = &corev1.HostPathVolumeSource{Path: m.Source}
		case mount.TypeTmpfs:
			src.EmptyDir = &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory}
		default:
			continue
		}
		spec.Volumes = append(spec.Volumes, corev1.Volume{Name: vname, VolumeSource: src})
		ctr.VolumeMounts = append(ctr.VolumeMounts, corev1.VolumeMount{Name: vname, MountPath: m.Destination, ReadOnly: !m.RW})
	}
	spec.Containers = []corev1.Container{ctr}

	byName := map[string][]instance{ctr.Name: {{c: c, attempt: c.RestartCount}}}
	var ips []string
	if !spec.HostNetwork {
		ips = sandboxIPs(c, "bridge")
	}
	// The last state change stands for "now", so the same container always gives the same
	// status: a clock here would make every resync look like a change to watchers.
	now := lastChange(c)
	pod.Status = buildStatus(pod, c, ips, byName, now, &Observed{})
	if st := c.State; st != nil {
		if t := parseTime(st.StartedAt); !t.IsZero() {
			pod.Status.StartTime = &t
		}
	}
	return pod
}

func lastChange(c *container.InspectResponse) time.Time {
	t := parseTime(c.Created).Time
	if st := c.State; st != nil {
		for _, s := range [...]string{st.StartedAt, st.FinishedAt} {
			if u := parseTime(s).Time; u.After(t) {
				t = u
			}
		}
	}
	return t
}

// PodNameFromContainer is the pod name PodFromContainer gives a Docker container name.
func PodNameFromContainer(dockerName, id string) string {
	name := strings.TrimPrefix(dockerName, "/")
	if isDNS1123Subdomain(name) {
		return name
	}
	var b strings.Builder
	dash := false
	for i := 0; i < len(name); i++ {
		ch := name[i]
		switch {
		case ch >= 'A' && ch <= 'Z':
			ch += 'a' - 'A'
		case ch >= 'a' && ch <= 'z', ch >= '0' && ch <= '9', ch == '.':
		default:
			ch = '-'
		}
		if ch == '-' || ch == '.' {
			if b.Len() == 0 || dash {
				continue
			}
			dash = true
		} else {
			dash = false
		}
		b.WriteByte(ch)
	}
	suffix := id
	if len(suffix) > 5 {
		suffix = suffix[:5]
	}
	base := strings.Trim(b.String(), "-.")
	if max := 253 - 1 - len(suffix); len(base) > max {
		base = strings.Trim(base[:max], "-.")
	}
	if base == "" {
		return "container-" + suffix
	}
	return base + "-" + suffix
}

// containerNameFor makes a container name (a DNS-1123 label) from a pod name (a subdomain).
func containerNameFor(pod string) string {
	n := strings.ReplaceAll(pod, ".", "-")
	if len(n) > 63 {
		n = strings.Trim(n[:63], "-")
	}
	return n
}

func isDNS1123Subdomain(s string) bool {
	if len(s) == 0 || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if !isDNS1123Label(label) {
			return false
		}
	}
	return true
}

func isDNS1123Label(s string) bool {
	if len(s) == 0 || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		alnum := ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9'
		if !alnum && (ch != '-' || i == 0 || i == len(s)-1) {
			return false
		}
	}
	return true
}

// uidFromID formats the first 32 hex digits of a container ID as a UUID.
func uidFromID(id string) types.UID {
	if len(id) < 32 {
		id += strings.Repeat("0", 32-len(id))
	}
	return types.UID(id[0:8] + "-" + id[8:12] + "-" + id[12:16] + "-" + id[16:20] + "-" + id[20:32])
}

func restartPolicyFromDocker(name container.RestartPolicyMode) corev1.RestartPolicy {
	switch name {
	case container.RestartPolicyAlways, container.RestartPolicyUnlessStopped:
		return corev1.RestartPolicyAlways
	case container.RestartPolicyOnFailure:
		return corev1.RestartPolicyOnFailure
	}
	return corev1.RestartPolicyNever
}

// portsFromDocker lists exposed and published ports, sorted by port and protocol.
func portsFromDocker(cfg *container.Config, host *container.HostConfig) []corev1.ContainerPort {
	seen := map[string]bool{}
	var keys []string
	for p := range cfg.ExposedPorts {
		if !seen[string(p)] {
			seen[string(p)] = true
			keys = append(keys, string(p))
		}
	}
	for p := range host.PortBindings {
		if !seen[string(p)] {
			seen[string(p)] = true
			keys = append(keys, string(p))
		}
	}
	var out []corev1.ContainerPort
	for _, k := range keys {
		num, proto, _ := strings.Cut(k, "/")
		n, err := strconv.Atoi(num)
		if err != nil || n <= 0 || n > 65535 {
			continue // ranges ("8000-8010/tcp") have no Kubernetes form
		}
		if proto == "" {
			proto = "tcp"
		}
		cp := corev1.ContainerPort{ContainerPort: int32(n), Protocol: corev1.Protocol(strings.ToUpper(proto))}
		for _, b := range host.PortBindings[nat.Port(k)] {
			if hp, err := strconv.Atoi(b.HostPort); err == nil && hp > 0 {
				cp.HostPort, cp.HostIP = int32(hp), b.HostIP
				break
			}
		}
		out = append(out, cp)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].ContainerPort != out[j].ContainerPort {
			return out[i].ContainerPort < out[j].ContainerPort
		}
		return out[i].Protocol < out[j].Protocol
	})
	return out
}

// resourcesFromDocker reports Docker's memory and CPU limits as limits, and as requests, as the
// API server would default them.
func resourcesFromDocker(host *container.HostConfig) corev1.ResourceRequirements {
	list := corev1.ResourceList{}
	if host.Memory > 0 {
		list[corev1.ResourceMemory] = *resource.NewQuantity(host.Memory, resource.BinarySI)
	}
	switch {
	case host.NanoCPUs > 0:
		list[corev1.ResourceCPU] = *resource.NewMilliQuantity(host.NanoCPUs/1e6, resource.DecimalSI)
	case host.CPUQuota > 0:
		period := host.CPUPeriod
		if period == 0 {
			period = cfsPeriod
		}
		list[corev1.ResourceCPU] = *resource.NewMilliQuantity(host.CPUQuota*milliCPUToCPU/period, resource.DecimalSI)
	}
	if len(list) == 0 {
		return corev1.ResourceRequirements{}
	}
	return corev1.ResourceRequirements{Limits: list, Requests: list.DeepCopy()}
}

// validLabels keeps the labels Kubernetes would accept.
func validLabels(in map[string]string) map[string]string {
	var out map[string]string
	for k, v := range in {
		if !isQualifiedName(k) || !isLabelValue(v) {
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		out[k] = v
	}
	return out
}

// isQualifiedName: an optional DNS-1123 subdomain prefix and '/', then a name of at most 63
// alphanumerics, '-', '_' or '.', starting and ending alphanumeric.
func isQualifiedName(s string) bool {
	name := s
	if prefix, rest, ok := strings.Cut(s, "/"); ok {
		if !isDNS1123Subdomain(prefix) {
			return false
		}
		name = rest
	}
	return name != "" && isLabelValue(name)
}

// isLabelValue: empty, or at most 63 alphanumerics, '-', '_' or '.', starting and ending
// alphanumeric.
func isLabelValue(s string) bool {
	if len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		alnum := ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9'
		if alnum {
			continue
		}
		if (ch != '-' && ch != '_' && ch != '.') || i == 0 || i == len(s)-1 {
			return false
		}
	}
	return true
}
