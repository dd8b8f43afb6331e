package reconcile

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/system"
	"github.com/k2d-project/k2d/cache"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// maxPods is the kubelet's default pod capacity.
const maxPods = 110

// Node condition reasons and messages, as the kubelet reports them.
const (
	msgReady       = "kubelet is posting ready status"
	msgRuntimeDown = "container runtime is down"
)

// goArch maps the machine name `docker info` reports (uname -m) to the GOARCH names
// Kubernetes uses in kubernetes.io/arch and nodeInfo.architecture.
func goArch(machine string) string {
	switch m := strings.ToLower(machine); {
	case m == "x86_64" || m == "amd64":
		return "amd64"
	case m == "aarch64" || m == "arm64" || m == "armv8l":
		return "arm64"
	case strings.HasPrefix(m, "arm"):
		return "arm"
	case m == "i386" || m == "i486" || m == "i586" || m == "i686" || m == "x86":
		return "386"
	case m == "ppc64le" || m == "s390x" || m == "riscv64" || m == "mips64le":
		return m
	case m == "":
		return "unknown"
	default:
		return m
	}
}

// buildNode returns the Node for the engine described by info and ver; ready says whether
// the engine answers. The result is pure data: writing it is writeNode's job.
func buildNode(name string, info system.Info, ver types.Version, o Options, ready bool, now time.Time) *corev1.Node {
	arch := goArch(info.Architecture)
	osType := info.OSType
	if osType == "" {
		osType = "linux"
	}
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:    *resource.NewQuantity(int64(info.NCPU), resource.DecimalSI),
		corev1.ResourceMemory: *resource.NewQuantity(info.MemTotal, resource.BinarySI),
		corev1.ResourcePods:   *resource.NewQuantity(maxPods, resource.DecimalSI),
	}
	if size := diskSize(info.DockerRootDir); size > 0 {
		capacity[corev1.ResourceEphemeralStorage] = *resource.NewQuantity(size, resource.BinarySI)
	}
	hostname := info.Name
	if hostname == "" {
		hostname = name
	}
	var addrs []corev1.NodeAddress
	if o.HostIP != "" {
		addrs = append(addrs, corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: o.HostIP})
	}
	addrs = append(addrs, corev1.NodeAddress{Type: corev1.NodeHostName, Address: hostname})
	runtimeVersion := info.ServerVersion
	if runtimeVersion == "" {
		runtimeVersion = ver.Version
	}
	t := metav1.NewTime(now.Truncate(time.Second))
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name: name,
			Labels: map[string]string{
				"kubernetes.io/hostname":                hostname,
				"kubernetes.io/os":                      osType,
				"kubernetes.io/arch":                    arch,
				"beta.kubernetes.io/os":                 osType,
				"beta.kubernetes.io/arch":               arch,
				"node-role.kubernetes.io/control-plane": "",
			},
			Annotations: map[string]string{
				"node.alpha.kubernetes.io/ttl": "0",
			},
		},
		Status: corev1.NodeStatus{
			Capacity:    capacity,
			Allocatable: capacity.DeepCopy(),
			Phase:       "",
			Addresses:   addrs,
			Conditions:  nodeConditions(ready, t, t),
			NodeInfo: corev1.NodeSystemInfo{
				MachineID:               info.ID,
				SystemUUID:              info.ID,
				BootID:                  bootID(),
				KernelVersion:           info.KernelVersion,
				OSImage:                 info.OperatingSystem,
				ContainerRuntimeVersion: "docker://" + runtimeVersion,
				KubeletVersion:          o.KubeletVersion,
				KubeProxyVersion:        "",
				OperatingSystem:         osType,
				Architecture:            arch,
			},
			DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: 0}},
		},
	}
	return n
}

func nodeConditions(ready bool, heartbeat, transition metav1.Time) []corev1.NodeCondition {
	rc := corev1.NodeCondition{
		Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", Message: msgReady,
	}
	if !ready {
		rc = corev1.NodeCondition{
			Type: corev1.NodeReady, Status: corev1.ConditionFalse, Reason: "KubeletNotReady", Message: msgRuntimeDown,
		}
	}
	conds := []corev1.NodeCondition{
		{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasSufficientMemory", Message: "kubelet has sufficient memory available"},
		{Type: corev1.NodeDiskPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasNoDiskPressure", Message: "kubelet has no disk pressure"},
		{Type: corev1.NodePIDPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasSufficientPID", Message: "kubelet has sufficient PID available"},
		rc,
	}
	for i := range conds {
		conds[i].LastHeartbeatTime = heartbeat
		conds[i].LastTransitionTime = transition
	}
	return conds
}

// writeNode stores the Node built from `docker info`: at start and after every reconnect,
// never periodically (there is no lease to renew and no heartbeat to post).
func (c *Controller) writeNode(ctx context.Context) error {
	info, err := c.d.Info(ctx)
	if err != nil {
		return err
	}
	ver, err := c.d.Version(ctx)
	if err != nil {
		return err
	}
	name := c.nodeName(info)
	now := c.now()
	n := buildNode(name, info, ver, c.o, true, now)
	old, ok := c.c.Get(resNodes, "", name)
	if !ok {
		if _, err := c.c.Create(kindNode, n); err != nil {
			var exists *cache.AlreadyExistsError
			if !errors.As(err, &exists) {
				return err
			}
		} else {
			c.rec.Event(nodeRef(name), corev1.EventTypeNormal, ReasonStarting, "Starting kubelet.")
			c.rec.Eventf(nodeRef(name), corev1.EventTypeNormal, ReasonNodeReady, "Node %s status is now: NodeReady", name)
			return nil
		}
	}
	wasReady := ok && nodeReady(old.Obj.(*corev1.Node))
	_, err = c.c.Mutate(kindNode, "", name, func(obj runtime.Object) (bool, error) {
		cur := obj.(*corev1.Node)
		keepTransitions(cur.Status.Conditions, n.Status.Conditions)
		cur.Labels = mergeMap(cur.Labels, n.Labels)
		cur.Annotations = mergeMap(cur.Annotations, n.Annotations)
		cur.Status = n.Status
		return true, nil
	})
	if err != nil {
		return err
	}
	if !wasReady {
		c.rec.Eventf(nodeRef(name), corev1.EventTypeNormal, ReasonNodeReady, "Node %s status is now: NodeReady", name)
	}
	return nil
}

// markNodeNotReady reports a lost engine on the Node's Ready condition.
func (c *Controller) markNodeNotReady() {
	name := c.node.Load()
	if name == nil {
		return
	}
	t := metav1.NewTime(c.now().Truncate(time.Second))
	e, err := c.c.Mutate(kindNode, "", *name, func(obj runtime.Object) (bool, error) {
		n := obj.(*corev1.Node)
		if !nodeReady(n) {
			return false, nil
		}
		for i := range n.Status.Conditions {
			cd := &n.Status.Conditions[i]
			if cd.Type == corev1.NodeReady {
				cd.Status = corev1.ConditionFalse
				cd.Reason = "KubeletNotReady"
				cd.Message = msgRuntimeDown
				cd.LastHeartbeatTime = t
				cd.LastTransitionTime = t
			}
		}
		return true, nil
	})
	if err == nil && e != nil {
		c.rec.Eventf(nodeRef(*name), corev1.EventTypeNormal, ReasonNodeNotReady, "Node %s status is now: NodeNotReady", *name)
	}
}

func nodeReady(n *corev1.Node) bool {
	for _, cd := range n.Status.Conditions {
		if cd.Type == corev1.NodeReady {
			return cd.Status == corev1.ConditionTrue
		}
	}
	return false
}

// keepTransitions carries lastTransitionTime over for conditions whose status did not change.
func keepTransitions(old, cur []corev1.NodeCondition) {
	for i := range cur {
		for _, o := range old {
			if o.Type == cur[i].Type && o.Status == cur[i].Status {
				cur[i].LastTransitionTime = o.LastTransitionTime
			}
		}
	}
}

func mergeMap(dst, src map[string]string) map[string]string {
	if dst == nil {
		dst = map[string]string{}
	}
	for k, v := range src {
		dst[k] = v
	}
	return dst
}

// nodeName is Options.NodeName, else the engine's host name.
func (c *Controller) nodeName(info system.Info) string {
	if p := c.node.Load(); p != nil {
		return *p
	}
	name := c.o.NodeName
	if name == "" {
		name = strings.ToLower(info.Name)
	}
	if name == "" {
		name = "k2d"
	}
	c.node.Store(&name)
	return name
}
