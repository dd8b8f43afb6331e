package translate

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func TestUnsupportedNoneForSupportedPods(t *testing.T) {
	for _, name := range []string{"web-0.json", "hostnet.json"} {
		if got := Unsupported(loadPod(t, name)); len(got) != 0 {
			t.Errorf("%s: %v", name, got)
		}
	}
	// Preferred terms, tolerations, nodeSelector, priority: accepted without a word.
	pod := loadPod(t, "web-0.json")
	pod.Spec.NodeSelector = map[string]string{"kubernetes.io/os": "linux"}
	pod.Spec.Tolerations = []corev1.Toleration{{Operator: corev1.TolerationOpExists}}
	pod.Spec.PriorityClassName = "high"
	pod.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
		PreferredDuringSchedulingIgnoredDuringExecution: []corev1.PreferredSchedulingTerm{{Weight: 1}},
	}}
	pod.Spec.Volumes = append(pod.Spec.Volumes,
		corev1.Volume{Name: "cm", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{}}},
		corev1.Volume{Name: "s", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{}}},
		corev1.Volume{Name: "p", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{}}},
		corev1.Volume{Name: "d", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{}}},
		corev1.Volume{Name: "pvc", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "x"}}},
		corev1.Volume{Name: "h", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/x"}}},
	)
	pod.Spec.Containers[0].VolumeMounts = append(pod.Spec.Containers[0].VolumeMounts,
		corev1.VolumeMount{Name: "h", MountPath: "/h", MountPropagation: ptr(corev1.MountPropagationBidirectional)},
		corev1.VolumeMount{Name: "cm", MountPath: "/cm", MountPropagation: ptr(corev1.MountPropagationNone)})
	pod.Spec.InitContainers[0].RestartPolicy = ptr(corev1.ContainerRestartPolicyAlways) // sidecar
	pod.Spec.SecurityContext.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}
	if got := Unsupported(pod); len(got) != 0 {
		t.Errorf("supported fields reported: %v", got)
	}
}

func TestUnsupported(t *testing.T) {
	pod := loadPod(t, "web-0.json")
	s := &pod.Spec
	s.Affinity = &corev1.Affinity{
		NodeAffinity:    &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{}},
		PodAffinity:     &corev1.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{TopologyKey: "k"}}},
		PodAntiAffinity: &corev1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{TopologyKey: "k"}}},
	}
	s.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{MaxSkew: 1}}
	s.SchedulingGates = []corev1.PodSchedulingGate{{Name: "g"}}
	s.RuntimeClassName = ptr("gvisor")
	s.OS = &corev1.PodOS{Name: corev1.Windows}
	s.HostUsers = ptr(false)
	s.Resources = &corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}}
	s.ResourceClaims = []corev1.PodResourceClaim{{Name: "gpu"}}
	s.EphemeralContainers = []corev1.EphemeralContainer{{}}
	s.SecurityContext.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeLocalhost, LocalhostProfile: ptr("p.json")}
	s.SecurityContext.WindowsOptions = &corev1.WindowsSecurityContextOptions{}
	s.SecurityContext.SupplementalGroupsPolicy = ptr(corev1.SupplementalGroupsPolicyStrict)
	s.Volumes = append(s.Volumes,
		corev1.Volume{Name: "nfs", VolumeSource: corev1.VolumeSource{NFS: &corev1.NFSVolumeSource{Server: "s", Path: "/"}}},
		corev1.Volume{Name: "img", VolumeSource: corev1.VolumeSource{Image: &corev1.ImageVolumeSource{Reference: "x"}}},
		corev1.Volume{Name: "huge", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: "HugePages-2Mi"}}},
		corev1.Volume{Name: "sized", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{SizeLimit: ptr(resource.MustParse("1Gi"))}}},
	)
	c := &s.Containers[0]
	c.Resources.Limits = corev1.ResourceList{"ephemeral-storage": resource.MustParse("1Gi"), "nvidia.com/gpu": resource.MustParse("1")}
	c.VolumeDevices = []corev1.VolumeDevice{{Name: "d", DevicePath: "/dev/x"}}
	c.VolumeMounts = append(c.VolumeMounts,
		corev1.VolumeMount{Name: "data", MountPath: "/rro", ReadOnly: true, RecursiveReadOnly: ptr(corev1.RecursiveReadOnlyEnabled)},
		corev1.VolumeMount{Name: "data", MountPath: "/prop", MountPropagation: ptr(corev1.MountPropagationHostToContainer)})
	c.RestartPolicy = ptr(corev1.ContainerRestartPolicyAlways)
	c.Env = append(c.Env, corev1.EnvVar{Name: "F", ValueFrom: &corev1.EnvVarSource{FileKeyRef: &corev1.FileKeySelector{}}})
	c.SecurityContext = &corev1.SecurityContext{SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeLocalhost}}

	var fields []string
	for _, cause := range Unsupported(pod) {
		fields = append(fields, cause.Field)
		if cause.Message == "" || cause.String() != cause.Field+": "+cause.Message {
			t.Errorf("cause %+v", cause)
		}
	}
	want := []string{
		"spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution",
		"spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution",
		"spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution",
		"spec.topologySpreadConstraints",
		"spec.schedulingGates",
		"spec.runtimeClassName",
		"spec.os.name",
		"spec.hostUsers",
		"spec.resources",
		"spec.resourceClaims",
		"spec.ephemeralContainers",
		"spec.securityContext.seccompProfile",
		"spec.securityContext.windowsOptions",
		"spec.securityContext.supplementalGroupsPolicy",
		"spec.volumes[2]",
		"spec.volumes[3]",
		"spec.volumes[4].emptyDir.medium",
		"spec.volumes[5].emptyDir.sizeLimit",
		"spec.containers[0].restartPolicy",
		"spec.containers[0].resources.limits[ephemeral-storage]",
		"spec.containers[0].resources.limits[nvidia.com/gpu]",
		"spec.containers[0].env[0].valueFrom.fileKeyRef",
		"spec.containers[0].volumeDevices",
		"spec.containers[0].volumeMounts[1].recursiveReadOnly",
		"spec.containers[0].volumeMounts[2].mountPropagation",
		"spec.containers[0].securityContext.seccompProfile",
	}
	if !reflect.DeepEqual(fields, want) {
		t.Errorf("fields\n got %q\nwant %q", fields, want)
	}

	// The cluster DNS ClusterIP is a local address of the node: hostNetwork pods reach it.
	hostNet := loadPod(t, "hostnet.json")
	hostNet.Spec.DNSPolicy = corev1.DNSClusterFirstWithHostNet
	if got := Unsupported(hostNet); len(got) != 0 {
		t.Errorf("host network DNS: %v", got)
	}
}
