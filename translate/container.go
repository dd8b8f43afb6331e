package translate

import (
	"fmt"
	"strconv"

	"github.com/docker/docker/api/types/container"
	corev1 "k8s.io/api/core/v1"
)

// Container translates one init or app container of pod. kind is KindInit or KindApp, index
// its position in spec.initContainers or spec.containers, sandboxID the ID of the running
// sandbox it joins, and attempt its restart count (0 for the first run), which ends its name.
//
// The error wraps ErrNotFound, ErrNoVolumeSource, ErrInvalidSubPath or ErrInvalidSpec; the
// kubelet reports each of them as CreateContainerConfigError.
func Container(pod *corev1.Pod, c *corev1.Container, kind string, index int, sandboxID string, attempt int, env EnvContext) (ContainerSpec, error) {
	if kind != KindInit && kind != KindApp {
		return ContainerSpec{}, fmt.Errorf("cannot translate container %q: kind %q: %w", c.Name, kind, ErrInvalidSpec)
	}
	envList, vars, err := containerEnv(pod, c, &env)
	if err != nil {
		return ContainerSpec{}, err
	}
	mounts, err := containerMounts(pod, c, vars, &env)
	if err != nil {
		return ContainerSpec{}, err
	}

	labels := podLabels(pod.Name, pod.Namespace, string(pod.UID), DockerTypeContainer, kind, attempt)
	labels[LabelContainerName] = c.Name
	labels[LabelContainerIndex] = strconv.Itoa(index)

	cfg := &container.Config{
		Image:      c.Image,
		Env:        envList,
		WorkingDir: c.WorkingDir,
		Tty:        c.TTY,
		OpenStdin:  c.Stdin,
		StdinOnce:  c.StdinOnce,
		Labels:     labels,
	}
	// command replaces ENTRYPOINT and args replace CMD. With command set Docker never inherits
	// the image CMD, so args may stay nil; without command, a nil Entrypoint keeps the image's.
	lookup := mapLookup(vars)
	if len(c.Command) > 0 {
		cfg.Entrypoint = expandAll(c.Command, lookup)
	}
	if len(c.Args) > 0 {
		cfg.Cmd = expandAll(c.Args, lookup)
	}
	if g := pod.Spec.TerminationGracePeriodSeconds; g != nil {
		// For `docker stop` by hand; the controller passes the grace period itself.
		t := int(*g)
		cfg.StopTimeout = &t
	}
	if l := c.Lifecycle; l != nil && l.StopSignal != nil {
		cfg.StopSignal = string(*l.StopSignal)
	}

	sandbox := "container:" + sandboxID
	host := &container.HostConfig{
		NetworkMode:   container.NetworkMode(sandbox),
		IpcMode:       container.IpcMode(sandbox), // containers of a pod always share IPC
		RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyDisabled},
		Mounts:        mounts,
		Resources:     resources(c),
		OomScoreAdj:   oomScoreAdj(pod, c, env.NodeAllocatable),
	}
	if pod.Spec.HostIPC {
		host.IpcMode = "host"
	}
	switch {
	case pod.Spec.HostPID:
		host.PidMode = "host"
	case pod.Spec.ShareProcessNamespace != nil && *pod.Spec.ShareProcessNamespace:
		host.PidMode = container.PidMode(sandbox)
	}
	applySecurity(pod, c, &env, cfg, host)

	return ContainerSpec{
		Name:   ContainerName(c.Name, pod.Name, pod.Namespace, string(pod.UID), attempt),
		Config: cfg,
		Host:   host,
	}, nil
}

func expandAll(in []string, lookup func(string) (string, bool)) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = Expand(s, lookup)
	}
	return out
}

// Kubelet constants for CPU: shares per CPU, share bounds, CFS period and minimum quota.
const (
	sharesPerCPU  = 1024
	minShares     = 2
	maxShares     = 262144
	cfsPeriod     = 100000 // µs
	minCFSQuota   = 1000   // µs
	milliCPUToCPU = 1000
)

// resources maps requests and limits the way the kubelet writes cgroups:
//   - limits.memory -> Memory, and MemorySwap equal to it so the limit is not stretched by swap
//     (nodes run without swap for Kubernetes; SD-card devices often have some);
//   - limits.cpu -> a CFS quota over a 100ms period, not NanoCpus: Docker refuses NanoCpus above
//     the host's CPU count, which would make `limits.cpu: 4` fail on a 2-core board although a
//     kubelet runs it;
//   - requests.cpu (or limits.cpu when requests are not defaulted yet) -> CPUShares,
//     1024 per CPU, at least 2: BestEffort containers get 2 shares, as under a kubelet.
func resources(c *corev1.Container) container.Resources {
	var r container.Resources
	if q, ok := c.Resources.Limits[corev1.ResourceMemory]; ok && q.Value() > 0 {
		r.Memory = q.Value()
		r.MemorySwap = r.Memory
	}
	if q, ok := c.Resources.Limits[corev1.ResourceCPU]; ok && q.MilliValue() > 0 {
		quota := q.MilliValue() * cfsPeriod / milliCPUToCPU
		if quota < minCFSQuota {
			quota = minCFSQuota
		}
		r.CPUPeriod, r.CPUQuota = cfsPeriod, quota
	}
	var milli int64
	if q, ok := c.Resources.Requests[corev1.ResourceCPU]; ok {
		milli = q.MilliValue()
	} else if q, ok := c.Resources.Limits[corev1.ResourceCPU]; ok {
		milli = q.MilliValue()
	}
	shares := milli * sharesPerCPU / milliCPUToCPU
	if shares < minShares {
		shares = minShares
	}
	if shares > maxShares {
		shares = maxShares
	}
	r.CPUShares = shares
	return r
}

// oomScoreAdj ranks containers for the kernel OOM killer like the kubelet: BestEffort first,
// Burstable by their share of the node's memory, Guaranteed last. On a 512 MB board this decides
// what dies first. Unlike the kubelet (-997 for Guaranteed, -998 for sandboxes) k2d never goes
// below 0: lowering the score needs CAP_SYS_RESOURCE, which rootless or nested Docker lacks, and
// there runc fails every start ("can't get final child's PID from pipe"). Without the node memory
// in allocatable, Burstable gets 999.
func oomScoreAdj(pod *corev1.Pod, c *corev1.Container, allocatable corev1.ResourceList) int {
	switch QOSClass(pod) {
	case corev1.PodQOSGuaranteed:
		return 0
	case corev1.PodQOSBestEffort:
		return 1000
	}
	memCap := allocatable[corev1.ResourceMemory]
	capacity := memCap.Value()
	req := c.Resources.Requests[corev1.ResourceMemory]
	if capacity <= 0 {
		return 999
	}
	adj := 1000 - (1000*req.Value())/capacity
	if adj < 2 {
		adj = 2 // below 2 Burstable would rank with Guaranteed
	}
	if adj >= 1000 {
		adj = 999 // leave 1000 to BestEffort
	}
	return int(adj)
}
