package translate

import (
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/mount"
	corev1 "k8s.io/api/core/v1"
)

// EmptyDirVolumeName is the Docker volume backing an emptyDir: one per pod uid and volume, so it
// outlives container restarts and a re-created pod with the same name starts empty. The uid keeps
// the name short enough for a directory name (pod names can be 253 bytes long).
func EmptyDirVolumeName(pod *corev1.Pod, volume string) string {
	return "k2d-" + string(pod.UID) + "-" + volume
}

// EmptyDirVolumeLabels are the labels of that Docker volume; the controller removes a pod's
// volumes by LabelPodUID once the pod is gone.
func EmptyDirVolumeLabels(pod *corev1.Pod, volume string) map[string]string {
	return map[string]string{
		LabelManaged:      "true",
		LabelNamespace:    pod.Namespace,
		LabelPodName:      pod.Name,
		LabelPodNamespace: pod.Namespace,
		LabelPodUID:       string(pod.UID),
		LabelVolumeName:   volume,
	}
}

// HostPath is a hostPath volume the controller checks or prepares before creating containers
// (the kubelet's type checks: DirectoryOrCreate makes the directory, Socket must be a socket...).
type HostPath struct {
	Volume string
	Path   string
	Type   corev1.HostPathType
}

// HostPaths lists the pod's hostPath volumes. Bind mounts fail when their source is missing, so
// the controller also creates (as the kubelet does) the directory a subPath names inside a volume.
func HostPaths(pod *corev1.Pod) []HostPath {
	var out []HostPath
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		if v.HostPath == nil {
			continue
		}
		t := corev1.HostPathUnset
		if v.HostPath.Type != nil {
			t = *v.HostPath.Type
		}
		out = append(out, HostPath{Volume: v.Name, Path: v.HostPath.Path, Type: t})
	}
	return out
}

// emptyDirMount mounts an emptyDir's Docker volume. Docker creates the volume with these labels
// on first use. A memory-backed one is a local-driver tmpfs volume, which every container of the
// pod shares (a per-container tmpfs mount would not be shared, and would not survive restarts).
func emptyDirMount(pod *corev1.Pod, v *corev1.Volume, target string, readOnly bool) mount.Mount {
	opts := &mount.VolumeOptions{
		// An emptyDir starts empty: do not copy the image's files at the mount point into it.
		NoCopy: true,
		Labels: EmptyDirVolumeLabels(pod, v.Name),
	}
	if v.EmptyDir.Medium == corev1.StorageMediumMemory {
		o := map[string]string{"type": "tmpfs", "device": "tmpfs"}
		if sl := v.EmptyDir.SizeLimit; sl != nil && sl.Value() > 0 {
			o["o"] = "size=" + strconv.FormatInt(sl.Value(), 10)
		}
		opts.DriverConfig = &mount.Driver{Name: "local", Options: o}
	}
	return mount.Mount{
		Type:          mount.TypeVolume,
		Source:        EmptyDirVolumeName(pod, v.Name),
		Target:        target,
		ReadOnly:      readOnly,
		VolumeOptions: opts,
	}
}

// containerMounts translates volumeMounts (and the termination message file) into Docker mounts.
func containerMounts(pod *corev1.Pod, c *corev1.Container, vars map[string]string, ec *EnvContext) ([]mount.Mount, error) {
	var mounts []mount.Mount
	for i := range c.VolumeMounts {
		vm := &c.VolumeMounts[i]
		v := findVolume(pod, vm.Name)
		if v == nil {
			return nil, fmt.Errorf("cannot mount volume %q: no such volume: %w", vm.Name, ErrInvalidSpec)
		}
		sub := vm.SubPath
		if vm.SubPathExpr != "" {
			// Only the container's env takes part, as in the kubelet.
			sub = Expand(vm.SubPathExpr, mapLookup(vars))
		}
		if sub != "" && !validSubPath(sub) {
			return nil, fmt.Errorf("cannot mount volume %q at %q: subPath %q: %w", vm.Name, vm.MountPath, sub, ErrInvalidSubPath)
		}
		m, err := volumeMount(pod, v, vm, sub, ec)
		if err != nil {
			return nil, err
		}
		mounts = append(mounts, m)
	}
	if ec.TerminationMessageFile != "" {
		target := c.TerminationMessagePath
		if target == "" {
			target = corev1.TerminationMessagePathDefault
		}
		mounts = append(mounts, mount.Mount{Type: mount.TypeBind, Source: ec.TerminationMessageFile, Target: target})
	}
	return mounts, nil
}

func volumeMount(pod *corev1.Pod, v *corev1.Volume, vm *corev1.VolumeMount, sub string, ec *EnvContext) (mount.Mount, error) {
	src, given := ec.Volumes[v.Name]
	readOnly := vm.ReadOnly || src.ReadOnly
	switch {
	case v.ConfigMap != nil, v.Secret != nil, v.DownwardAPI != nil, v.Projected != nil:
		readOnly = true // the kubelet mounts these read-only whatever the volumeMount says
	case v.PersistentVolumeClaim != nil:
		readOnly = readOnly || v.PersistentVolumeClaim.ReadOnly
	}

	if !given {
		switch {
		case v.HostPath != nil:
			src = VolumeSource{Type: mount.TypeBind, Source: v.HostPath.Path}
		case v.EmptyDir != nil:
			if sub != "" {
				return mount.Mount{}, fmt.Errorf("cannot mount emptyDir %q with subPath %q without a host path in EnvContext.Volumes: %w", v.Name, sub, ErrInvalidSubPath)
			}
			return emptyDirMount(pod, v, vm.MountPath, readOnly), nil
		default:
			return mount.Mount{}, fmt.Errorf("cannot mount volume %q: %w", v.Name, ErrNoVolumeSource)
		}
	}

	m := mount.Mount{Type: src.Type, Source: src.Source, Target: vm.MountPath, ReadOnly: readOnly}
	switch src.Type {
	case mount.TypeBind:
		if sub != "" {
			m.Source = path.Join(src.Source, sub)
		}
		if p := propagation(vm.MountPropagation); p != "" {
			m.BindOptions = &mount.BindOptions{Propagation: p}
		}
	case mount.TypeVolume:
		if sub != "" {
			// VolumeOptions.Subpath needs API 1.45; Docker 20.10 speaks 1.41.
			return mount.Mount{}, fmt.Errorf("cannot mount volume %q with subPath %q on a Docker volume: %w", v.Name, sub, ErrInvalidSubPath)
		}
		// Kubernetes volumes start without the image's files; Docker would copy them in.
		m.VolumeOptions = &mount.VolumeOptions{NoCopy: true}
	default:
		return mount.Mount{}, fmt.Errorf("cannot mount volume %q: source type %q: %w", v.Name, src.Type, ErrNoVolumeSource)
	}
	return m, nil
}

// propagation maps mountPropagation to a bind propagation; "" keeps Docker's rprivate default.
func propagation(p *corev1.MountPropagationMode) mount.Propagation {
	if p == nil {
		return ""
	}
	switch *p {
	case corev1.MountPropagationHostToContainer:
		return mount.PropagationRSlave
	case corev1.MountPropagationBidirectional:
		return mount.PropagationRShared
	}
	return ""
}

// validSubPath refuses what the kubelet refuses: absolute paths and any ".." element.
func validSubPath(p string) bool {
	if strings.HasPrefix(p, "/") {
		return false
	}
	for _, el := range strings.Split(p, "/") {
		if el == ".." {
			return false
		}
	}
	return true
}

func findVolume(pod *corev1.Pod, name string) *corev1.Volume {
	for i := range pod.Spec.Volumes {
		if pod.Spec.Volumes[i].Name == name {
			return &pod.Spec.Volumes[i]
		}
	}
	return nil
}
