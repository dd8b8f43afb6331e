package translate

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Cause names one field of a Pod that is set but that k2d does not honour.
type Cause struct {
	Field   string // JSON path, e.g. "spec.containers[0].volumeDevices"
	Message string
}

// String formats the cause as a Warning header or event message would show it.
func (c Cause) String() string { return c.Field + ": " + c.Message }

// Unsupported lists the fields of pod that are set but ignored by k2d, so the API layer can
// reject the pod or answer with warnings instead of dropping them silently. The list:
//
// Scheduling (k2d has one node and no scheduler):
//   - spec.affinity.{nodeAffinity,podAffinity,podAntiAffinity}.requiredDuringScheduling…: not
//     evaluated; preferred terms, tolerations and nodeSelector are not listed (nodeSelector on
//     kubernetes.io/os or arch is in most charts; the caller can match it against the Node).
//   - spec.topologySpreadConstraints, spec.schedulingGates, spec.schedulingGroup.
//
// Runtime:
//   - spec.runtimeClassName, spec.os.name other than linux, spec.hostUsers=false (user
//     namespaces), spec.resources (pod-level resources), spec.resourceClaims and
//     containers[].resources.claims (dynamic resource allocation), spec.ephemeralContainers,
//     spec.evictionResponders.
//   - containers[].restartPolicy and restartPolicyRules on app containers (per-container
//     restart rules); sidecar init containers (restartPolicy Always) are supported.
//   - containers[].resources for anything but cpu and memory (ephemeral-storage is not
//     enforced, hugepages and extended resources do not exist on Docker).
//   - containers[].env[].valueFrom.fileKeyRef.
//   - containers[].volumeDevices.
//
// Security:
//   - seccompProfile of type Localhost (pod or container): Docker takes a profile's JSON
//     content, not a path under the kubelet's seccomp directory.
//   - windowsOptions, supplementalGroupsPolicy Strict (Docker always merges /etc/group).
//
// Volumes (supported: emptyDir, hostPath, configMap, secret, projected, downwardAPI,
// persistentVolumeClaim):
//   - any other volume type (nfs, csi, ephemeral, image, iscsi, cloud disks...).
//   - emptyDir.medium HugePages*, emptyDir.sizeLimit on disk (not enforced), emptyDir.mode.
//   - volumeMounts[].recursiveReadOnly Enabled, bindMountOptions, and mountPropagation on a
//     volume that is not hostPath (Docker sets propagation on bind mounts only).
//
// Probes, lifecycle hooks, activeDeadlineSeconds, imagePullPolicy and restartPolicy are the
// controller's, not translate's, and are not listed.
func Unsupported(pod *corev1.Pod) []Cause {
	var out []Cause
	add := func(field, format string, args ...any) {
		out = append(out, Cause{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	spec := &pod.Spec

	if a := spec.Affinity; a != nil {
		if a.NodeAffinity != nil && a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil {
			add("spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution", "not evaluated: k2d runs every pod on its single node")
		}
		if a.PodAffinity != nil && len(a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution) > 0 {
			add("spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution", "not evaluated: k2d runs every pod on its single node")
		}
		if a.PodAntiAffinity != nil && len(a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution) > 0 {
			add("spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution", "not evaluated: pods that exclude each other still run together on the single node")
		}
	}
	if len(spec.TopologySpreadConstraints) > 0 {
		add("spec.topologySpreadConstraints", "not evaluated: k2d has a single node")
	}
	if len(spec.SchedulingGates) > 0 {
		add("spec.schedulingGates", "ignored: the pod starts without waiting for the gates to be removed")
	}
	if spec.SchedulingGroup != nil {
		add("spec.schedulingGroup", "ignored: k2d has no scheduler")
	}
	if spec.RuntimeClassName != nil && *spec.RuntimeClassName != "" {
		add("spec.runtimeClassName", "ignored: containers run with Docker's default runtime")
	}
	if spec.OS != nil && spec.OS.Name != "" && spec.OS.Name != corev1.Linux {
		add("spec.os.name", "k2d runs Linux containers only")
	}
	if spec.HostUsers != nil && !*spec.HostUsers {
		add("spec.hostUsers", "user namespaces are not supported: containers use the host's user namespace")
	}
	if spec.Resources != nil && (len(spec.Resources.Limits) > 0 || len(spec.Resources.Requests) > 0) {
		add("spec.resources", "pod-level resources are not enforced; set them per container")
	}
	if len(spec.ResourceClaims) > 0 {
		add("spec.resourceClaims", "dynamic resource allocation is not supported")
	}
	if len(spec.EphemeralContainers) > 0 {
		add("spec.ephemeralContainers", "ephemeral containers are not supported")
	}
	if len(spec.EvictionResponders) > 0 {
		add("spec.evictionResponders", "ignored: k2d does not evict pods")
	}
	if sc := spec.SecurityContext; sc != nil {
		if localSeccomp(sc.SeccompProfile) {
			add("spec.securityContext.seccompProfile", "Localhost seccomp profiles are not supported; Docker's default profile applies")
		}
		if sc.WindowsOptions != nil {
			add("spec.securityContext.windowsOptions", "ignored: k2d runs Linux containers")
		}
		if sc.SupplementalGroupsPolicy != nil && *sc.SupplementalGroupsPolicy == corev1.SupplementalGroupsPolicyStrict {
			add("spec.securityContext.supplementalGroupsPolicy", "Strict is not supported: Docker merges the groups from the image's /etc/group")
		}
	}

	volumeIsHostPath := map[string]bool{}
	for i := range spec.Volumes {
		v := &spec.Volumes[i]
		field := fmt.Sprintf("spec.volumes[%d]", i)
		volumeIsHostPath[v.Name] = v.HostPath != nil
		switch {
		case v.EmptyDir != nil:
			ed := v.EmptyDir
			if strings.HasPrefix(string(ed.Medium), string(corev1.StorageMediumHugePages)) {
				add(field+".emptyDir.medium", "huge pages are not supported")
			}
			if ed.Medium != corev1.StorageMediumMemory && ed.SizeLimit != nil && !ed.SizeLimit.IsZero() {
				add(field+".emptyDir.sizeLimit", "not enforced for disk-backed emptyDir")
			}
			if ed.Mode != nil {
				add(field+".emptyDir.mode", "ignored: the directory keeps Docker's default mode")
			}
		case v.HostPath != nil, v.ConfigMap != nil, v.Secret != nil, v.Projected != nil,
			v.DownwardAPI != nil, v.PersistentVolumeClaim != nil:
		default:
			add(field, "volume type %s is not supported", volumeType(v))
		}
	}

	containers := func(list []corev1.Container, path string, init bool) {
		for i := range list {
			c := &list[i]
			field := fmt.Sprintf("spec.%s[%d]", path, i)
			if !init && c.RestartPolicy != nil {
				add(field+".restartPolicy", "per-container restart policy is not supported; the pod's restartPolicy applies")
			}
			if len(c.RestartPolicyRules) > 0 {
				add(field+".restartPolicyRules", "container restart rules are not supported")
			}
			for _, kind := range [...]string{"limits", "requests"} {
				list := c.Resources.Limits
				if kind == "requests" {
					list = c.Resources.Requests
				}
				names := make([]string, 0, len(list))
				for name := range list {
					names = append(names, string(name))
				}
				sort.Strings(names)
				for _, name := range names {
					if name != string(corev1.ResourceCPU) && name != string(corev1.ResourceMemory) {
						add(fmt.Sprintf("%s.resources.%s[%s]", field, kind, name), "not enforced: k2d enforces cpu and memory only")
					}
				}
			}
			if len(c.Resources.Claims) > 0 {
				add(field+".resources.claims", "dynamic resource allocation is not supported")
			}
			for j := range c.Env {
				if vf := c.Env[j].ValueFrom; vf != nil && vf.FileKeyRef != nil {
					add(fmt.Sprintf("%s.env[%d].valueFrom.fileKeyRef", field, j), "not supported")
				}
			}
			if len(c.VolumeDevices) > 0 {
				add(field+".volumeDevices", "raw block devices are not supported")
			}
			for j := range c.VolumeMounts {
				vm := &c.VolumeMounts[j]
				mf := fmt.Sprintf("%s.volumeMounts[%d]", field, j)
				if vm.RecursiveReadOnly != nil && *vm.RecursiveReadOnly == corev1.RecursiveReadOnlyEnabled {
					add(mf+".recursiveReadOnly", "Enabled is not supported by Docker API 1.41; submounts stay writable")
				}
				if len(vm.BindMountOptions) > 0 {
					add(mf+".bindMountOptions", "not supported")
				}
				if p := vm.MountPropagation; p != nil && *p != corev1.MountPropagationNone && !volumeIsHostPath[vm.Name] {
					add(mf+".mountPropagation", "only honoured on hostPath volumes")
				}
			}
			if sc := c.SecurityContext; sc != nil {
				if localSeccomp(sc.SeccompProfile) {
					add(field+".securityContext.seccompProfile", "Localhost seccomp profiles are not supported; Docker's default profile applies")
				}
				if sc.WindowsOptions != nil {
					add(field+".securityContext.windowsOptions", "ignored: k2d runs Linux containers")
				}
			}
		}
	}
	containers(spec.InitContainers, "initContainers", true)
	containers(spec.Containers, "containers", false)
	return out
}

func localSeccomp(p *corev1.SeccompProfile) bool {
	return p != nil && p.Type == corev1.SeccompProfileTypeLocalhost
}

// volumeType names the (first) source set in v, as its JSON field.
func volumeType(v *corev1.Volume) string {
	s := &v.VolumeSource
	switch {
	case s.NFS != nil:
		return "nfs"
	case s.CSI != nil:
		return "csi"
	case s.Ephemeral != nil:
		return "ephemeral"
	case s.Image != nil:
		return "image"
	case s.ISCSI != nil:
		return "iscsi"
	case s.GitRepo != nil:
		return "gitRepo"
	case s.CephFS != nil:
		return "cephfs"
	case s.RBD != nil:
		return "rbd"
	case s.Glusterfs != nil:
		return "glusterfs"
	case s.FC != nil:
		return "fc"
	case s.FlexVolume != nil:
		return "flexVolume"
	case s.GCEPersistentDisk != nil:
		return "gcePersistentDisk"
	case s.AWSElasticBlockStore != nil:
		return "awsElasticBlockStore"
	case s.AzureDisk != nil:
		return "azureDisk"
	case s.AzureFile != nil:
		return "azureFile"
	case s.Cinder != nil:
		return "cinder"
	}
	return "unknown"
}
