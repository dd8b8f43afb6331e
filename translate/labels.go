package translate

import (
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/network"
)

// Labels k2d puts on Docker objects. The io.kubernetes.* keys are the ones the kubelet's dockershim
// used, so tools that know Kubernetes-on-Docker (and people who ran it) can read `docker ps`.
const (
	// LabelManaged marks every container, network and volume k2d creates; `k2d reset` removes
	// exactly the objects that carry it with value "true".
	LabelManaged = "io.k2d.managed"

	LabelPodName      = "io.kubernetes.pod.name"
	LabelPodNamespace = "io.kubernetes.pod.namespace"
	LabelPodUID       = "io.kubernetes.pod.uid"
	// LabelContainerName is the Kubernetes container name, on init and app containers only.
	LabelContainerName = "io.kubernetes.container.name"
	// LabelDockerType is "podsandbox" on sandboxes and "container" on init and app containers.
	LabelDockerType = "io.kubernetes.docker.type"

	// LabelContainerKind is "sandbox", "init" or "app".
	LabelContainerKind = "io.k2d.container.kind"
	// LabelContainerIndex is the container's index in spec.initContainers or spec.containers.
	LabelContainerIndex = "io.k2d.container.index"
	// LabelAttempt is the attempt number that also ends the container name: for a sandbox, how
	// many sandboxes the pod had before; for init and app containers, the restart count.
	LabelAttempt = "io.k2d.pod.attempt"

	// LabelNamespace is the namespace of a network or volume k2d created. On a container started
	// with plain `docker run`, it chooses the namespace the container appears in as a Pod.
	LabelNamespace = "io.k2d.namespace"
	// LabelVolumeName is the pod volume name on a Docker volume backing an emptyDir.
	LabelVolumeName = "io.k2d.volume.name"
)

// Values of LabelDockerType and LabelContainerKind.
const (
	DockerTypeSandbox   = "podsandbox"
	DockerTypeContainer = "container"

	KindSandbox = "sandbox"
	KindInit    = "init"
	KindApp     = "app"
)

// ClusterDomain is the DNS domain of services and pods (kubelet --cluster-domain).
const ClusterDomain = "cluster.local"

// SandboxContainerName is the container name the dockershim convention uses for the sandbox.
const SandboxContainerName = "POD"

// IsManaged reports whether a Docker object carries LabelManaged=true, that is whether k2d
// created it. Containers that are not managed are the ones PodFromContainer shows as Pods.
func IsManaged(labels map[string]string) bool { return labels[LabelManaged] == "true" }

// NetworkName is the Docker bridge network of a namespace.
func NetworkName(ns string) string { return "k2d-" + ns }

// Network is the create request for the network of namespace ns. No bridge interface name is
// set: Linux caps it at 15 characters and Docker picks a unique one.
func Network(ns string) network.CreateRequest {
	// CheckDuplicate matters on API < 1.44 (Docker 20.10 speaks 1.41): without it two concurrent
	// creates make two networks with the same name. Newer engines ignore it and always check.
	check := true
	return network.CreateRequest{
		Name:           NetworkName(ns),
		CheckDuplicate: &check,
		CreateOptions: network.CreateOptions{
			Driver: "bridge",
			Labels: map[string]string{LabelManaged: "true", LabelNamespace: ns},
		},
	}
}

// ContainerName builds a dockershim name: k8s_<container>_<pod>_<namespace>_<uid>_<attempt>,
// with container "POD" for the sandbox. None of the parts can hold '_' (Kubernetes names are
// DNS labels or subdomains and uids are UUIDs), so the name parses back unambiguously.
func ContainerName(container, pod, ns, uid string, attempt int) string {
	var b strings.Builder
	b.Grow(len("k8s_____") + len(container) + len(pod) + len(ns) + len(uid) + 4)
	b.WriteString("k8s_")
	b.WriteString(container)
	b.WriteByte('_')
	b.WriteString(pod)
	b.WriteByte('_')
	b.WriteString(ns)
	b.WriteByte('_')
	b.WriteString(uid)
	b.WriteByte('_')
	b.WriteString(strconv.Itoa(attempt))
	return b.String()
}

// ParseContainerName splits a name built by ContainerName. A leading "/" (as Docker's inspect and
// list report names) is ignored. ok is false for any other name, e.g. a plain `docker run` one.
func ParseContainerName(name string) (container, pod, ns, uid string, attempt int, ok bool) {
	name = strings.TrimPrefix(name, "/")
	parts := strings.Split(name, "_")
	if len(parts) != 6 || parts[0] != "k8s" {
		return "", "", "", "", 0, false
	}
	for _, p := range parts[1:] {
		if p == "" {
			return "", "", "", "", 0, false
		}
	}
	n, err := strconv.Atoi(parts[5])
	if err != nil || n < 0 || strconv.Itoa(n) != parts[5] {
		return "", "", "", "", 0, false
	}
	return parts[1], parts[2], parts[3], parts[4], n, true
}

// podLabels are the labels shared by every container of a pod.
func podLabels(podName, ns, uid, dockerType, kind string, attempt int) map[string]string {
	return map[string]string{
		LabelManaged:       "true",
		LabelPodName:       podName,
		LabelPodNamespace:  ns,
		LabelPodUID:        uid,
		LabelDockerType:    dockerType,
		LabelContainerKind: kind,
		LabelAttempt:       strconv.Itoa(attempt),
	}
}
