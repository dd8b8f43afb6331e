package translate

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/mount"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// EnvContext holds what only the caller knows when it creates a container: addresses, node
// facts, the resolved content of ConfigMaps and Secrets, and where volumes live on the host.
// translate never does I/O; everything it cannot compute from the Pod comes in here.
type EnvContext struct {
	// PodIP is the sandbox's IP (status.podIP); PodIPs, if set, all of them (status.podIPs).
	PodIP  string
	PodIPs []string
	// HostIP is the node's address (status.hostIP); HostIPs, if set, all of them.
	HostIP  string
	HostIPs []string
	// NodeName answers spec.nodeName when the pod has none yet.
	NodeName string
	// NodeAllocatable answers resourceFieldRef for a limit the container does not set: the
	// kubelet reports the node's allocatable amount then. Without it such values are "0".
	NodeAllocatable corev1.ResourceList
	// ServiceEnv holds the Service variables the kubelet adds (see ServiceEnv): env and
	// envFrom win over them, $(VAR) references in env values may name them, and they come
	// after the container's own variables.
	ServiceEnv map[string]string

	// Resolve returns the value of a configMapKeyRef or secretKeyRef. found is false when the
	// object or the key does not exist; translate then skips the variable if the reference is
	// optional and fails with ErrNotFound otherwise. err is for real failures.
	Resolve func(ref *corev1.EnvVarSource) (value string, found bool, err error)
	// ResolveFrom returns all keys of the ConfigMap or Secret an envFrom entry names, found
	// false when the object does not exist (the same optional rule applies).
	ResolveFrom func(src *corev1.EnvFromSource) (data map[string]string, found bool, err error)

	// ImageUser is the image's configured user (image inspect Config.User; "" is root, as in
	// Docker). It is needed only when runAsGroup is set without runAsUser: Docker takes "user:group"
	// as a whole, so translate must name the user to add the group.
	ImageUser string

	// Volumes gives the host side of pod volumes, by volume name. It is required for the volume
	// types k2d materialises itself (configMap, secret, projected, downwardAPI,
	// persistentVolumeClaim) and overrides the default for emptyDir and hostPath; e.g. a caller
	// that needs subPath on an emptyDir passes the Docker volume's Mountpoint as a bind source.
	Volumes map[string]VolumeSource

	// TerminationMessageFile is a host file bind-mounted at the container's
	// terminationMessagePath, read by the controller after the container exits. It must exist
	// (an empty file) before the container is created. Empty: no termination message.
	TerminationMessageFile string
}

// VolumeSource is the host side of one pod volume.
type VolumeSource struct {
	// Type is mount.TypeBind (Source is a host path) or mount.TypeVolume (Source is a Docker
	// volume name, created on first use if absent).
	Type   mount.Type
	Source string
	// ReadOnly forces every mount of the volume read-only.
	ReadOnly bool
}

// containerEnv computes the container's environment as the kubelet does: envFrom first, then env
// in order, each value expanded against the variables defined before it. It returns the Docker
// "K=V" list (in order of first definition, last value wins) and the final map, which also
// expands command, args and subPathExpr.
func containerEnv(pod *corev1.Pod, c *corev1.Container, ec *EnvContext) ([]string, map[string]string, error) {
	vars := make(map[string]string, len(c.Env))
	var order []string
	set := func(k, v string) {
		if _, seen := vars[k]; !seen {
			order = append(order, k)
		}
		vars[k] = v
	}

	for i := range c.EnvFrom {
		src := &c.EnvFrom[i]
		data, err := resolveEnvFrom(src, ec)
		if err != nil {
			return nil, nil, err
		}
		keys := make([]string, 0, len(data))
		for k := range data {
			keys = append(keys, k)
		}
		sort.Strings(keys) // map order is random; a stable list keeps containers comparable
		for _, k := range keys {
			name := src.Prefix + k
			if !validEnvName(name) {
				continue // the kubelet skips invalid keys (and records an event)
			}
			set(name, data[k])
		}
	}

	for i := range c.Env {
		e := &c.Env[i]
		if e.ValueFrom == nil {
			set(e.Name, Expand(e.Value, serviceLookup(vars, ec.ServiceEnv)))
			continue
		}
		v, ok, err := envValueFrom(pod, c, e, ec)
		if err != nil {
			return nil, nil, err
		}
		if ok {
			set(e.Name, v)
		}
	}

	order = appendServiceEnv(vars, order, ec.ServiceEnv) // serviceenv.go

	list := make([]string, 0, len(order))
	for _, k := range order {
		list = append(list, k+"="+vars[k])
	}
	return list, vars, nil
}

// validEnvName accepts what the API server accepts with relaxed env var validation: printable
// ASCII without '='. Docker cannot represent a name holding '='.
func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' || s[i] == '=' {
			return false
		}
	}
	return true
}

func resolveEnvFrom(src *corev1.EnvFromSource, ec *EnvContext) (map[string]string, error) {
	var kind, name string
	optional := false
	switch {
	case src.ConfigMapRef != nil:
		kind, name = "configmap", src.ConfigMapRef.Name
		optional = src.ConfigMapRef.Optional != nil && *src.ConfigMapRef.Optional
	case src.SecretRef != nil:
		kind, name = "secret", src.SecretRef.Name
		optional = src.SecretRef.Optional != nil && *src.SecretRef.Optional
	default:
		return nil, nil
	}
	if ec.ResolveFrom == nil {
		if optional {
			return nil, nil
		}
		return nil, fmt.Errorf("cannot read %s %q for envFrom: %w", kind, name, ErrNotFound)
	}
	data, found, err := ec.ResolveFrom(src)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s %q for envFrom: %w", kind, name, err)
	}
	if !found {
		if optional {
			return nil, nil
		}
		return nil, fmt.Errorf("cannot read %s %q for envFrom: %w", kind, name, ErrNotFound)
	}
	return data, nil
}

func envValueFrom(pod *corev1.Pod, c *corev1.Container, e *corev1.EnvVar, ec *EnvContext) (string, bool, error) {
	src := e.ValueFrom
	switch {
	case src.FieldRef != nil:
		v, err := podFieldValue(pod, src.FieldRef.FieldPath, ec)
		if err != nil {
			return "", false, fmt.Errorf("cannot set env %q: %w", e.Name, err)
		}
		return v, true, nil
	case src.ResourceFieldRef != nil:
		v, err := resourceFieldValue(pod, c, src.ResourceFieldRef, ec)
		if err != nil {
			return "", false, fmt.Errorf("cannot set env %q: %w", e.Name, err)
		}
		return v, true, nil
	case src.ConfigMapKeyRef != nil, src.SecretKeyRef != nil:
		kind, name, key, optional := "configmap", "", "", false
		if r := src.ConfigMapKeyRef; r != nil {
			name, key, optional = r.Name, r.Key, r.Optional != nil && *r.Optional
		} else {
			r := src.SecretKeyRef
			kind, name, key, optional = "secret", r.Name, r.Key, r.Optional != nil && *r.Optional
		}
		if ec.Resolve == nil {
			if optional {
				return "", false, nil
			}
			return "", false, fmt.Errorf("cannot set env %q from %s %q key %q: %w", e.Name, kind, name, key, ErrNotFound)
		}
		v, found, err := ec.Resolve(src)
		if err != nil {
			return "", false, fmt.Errorf("cannot set env %q from %s %q key %q: %w", e.Name, kind, name, key, err)
		}
		if !found {
			if optional {
				return "", false, nil
			}
			return "", false, fmt.Errorf("cannot set env %q from %s %q key %q: %w", e.Name, kind, name, key, ErrNotFound)
		}
		return v, true, nil
	default:
		// fileKeyRef and whatever comes next: Unsupported lists it; refusing beats starting the
		// container without a variable it expects.
		return "", false, fmt.Errorf("cannot set env %q: unsupported valueFrom: %w", e.Name, ErrInvalidSpec)
	}
}

// podFieldValue answers the downward API field paths env can use.
func podFieldValue(pod *corev1.Pod, path string, ec *EnvContext) (string, error) {
	switch path {
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return string(pod.UID), nil
	case "spec.nodeName":
		if pod.Spec.NodeName != "" {
			return pod.Spec.NodeName, nil
		}
		return ec.NodeName, nil
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, nil
	case "status.podIP":
		return ec.PodIP, nil
	case "status.podIPs":
		if len(ec.PodIPs) > 0 {
			return strings.Join(ec.PodIPs, ","), nil
		}
		return ec.PodIP, nil
	case "status.hostIP":
		return ec.HostIP, nil
	case "status.hostIPs":
		if len(ec.HostIPs) > 0 {
			return strings.Join(ec.HostIPs, ","), nil
		}
		return ec.HostIP, nil
	}
	if k, ok := subscript(path, "metadata.labels"); ok {
		return pod.Labels[k], nil
	}
	if k, ok := subscript(path, "metadata.annotations"); ok {
		return pod.Annotations[k], nil
	}
	return "", fmt.Errorf("field path %q: %w", path, ErrInvalidSpec)
}

// subscript parses prefix['key'] (the only form the API server admits in env).
func subscript(path, prefix string) (string, bool) {
	rest, ok := strings.CutPrefix(path, prefix)
	if !ok || !strings.HasPrefix(rest, "['") || !strings.HasSuffix(rest, "']") || len(rest) < 4 {
		return "", false
	}
	return rest[2 : len(rest)-2], true
}

// resourceFieldValue answers resourceFieldRef as the kubelet does: the value divided by the
// divisor (default 1) rounded up; a limit the container leaves unset is the node's allocatable.
func resourceFieldValue(pod *corev1.Pod, c *corev1.Container, ref *corev1.ResourceFieldSelector, ec *EnvContext) (string, error) {
	target := c
	if ref.ContainerName != "" && ref.ContainerName != c.Name {
		target = findContainer(pod, ref.ContainerName)
		if target == nil {
			return "", fmt.Errorf("resourceFieldRef container %q: %w", ref.ContainerName, ErrInvalidSpec)
		}
	}
	kind, name, ok := strings.Cut(ref.Resource, ".")
	if !ok || (kind != "limits" && kind != "requests") {
		return "", fmt.Errorf("resourceFieldRef %q: %w", ref.Resource, ErrInvalidSpec)
	}
	rn := corev1.ResourceName(name)
	var q resource.Quantity
	if kind == "limits" {
		var set bool
		q, set = target.Resources.Limits[rn]
		if !set {
			q = ec.NodeAllocatable[rn]
		}
	} else {
		q = target.Resources.Requests[rn]
	}
	divisor := ref.Divisor
	if divisor.IsZero() {
		divisor = *resource.NewQuantity(1, resource.DecimalSI)
	}
	if rn == corev1.ResourceCPU {
		return strconv.FormatInt(int64(math.Ceil(float64(q.MilliValue())/float64(divisor.MilliValue()))), 10), nil
	}
	return strconv.FormatInt(int64(math.Ceil(float64(q.Value())/float64(divisor.Value()))), 10), nil
}

func findContainer(pod *corev1.Pod, name string) *corev1.Container {
	for i := range pod.Spec.Containers {
		if pod.Spec.Containers[i].Name == name {
			return &pod.Spec.Containers[i]
		}
	}
	for i := range pod.Spec.InitContainers {
		if pod.Spec.InitContainers[i].Name == name {
			return &pod.Spec.InitContainers[i]
		}
	}
	return nil
}
