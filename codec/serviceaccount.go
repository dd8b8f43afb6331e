package codec

import (
	"crypto/rand"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Names of the ServiceAccount admission plugin (plugin/pkg/admission/serviceaccount).
const (
	// DefaultServiceAccountName is the service account of a pod that names none.
	DefaultServiceAccountName = "default"
	// ServiceAccountVolumePrefix starts the name of the projected token volume.
	ServiceAccountVolumePrefix = "kube-api-access-"
	// ServiceAccountMountPath is where containers find token, ca.crt and namespace.
	ServiceAccountMountPath = "/var/run/secrets/kubernetes.io/serviceaccount"
	// RootCAConfigMap is the ConfigMap every namespace holds with the API server's CA (ca.crt).
	RootCAConfigMap = "kube-root-ca.crt"
	// ServiceAccountTokenSeconds is the lifetime the plugin asks for the mounted token: just
	// over an hour, which the API server recognises as the plugin's own request.
	ServiceAccountTokenSeconds = 3607
	// MirrorPodAnnotation marks a static pod's mirror; the plugin leaves it alone.
	MirrorPodAnnotation = "kubernetes.io/config.mirror"
)

// AdmitServiceAccount does what the ServiceAccount admission plugin does to a new pod when
// the service account object is not at hand: AdmitPodServiceAccount with sa nil. Controllers
// that create pods call it.
func AdmitServiceAccount(pod *corev1.Pod) { AdmitPodServiceAccount(pod, nil) }

// AdmitPodServiceAccount does what the ServiceAccount admission plugin does to a new pod: it
// defaults spec.serviceAccountName and, unless automountServiceAccountToken is false (the
// pod's setting wins over the service account's), adds the projected kube-api-access volume
// (token, ca.crt, namespace) and mounts it read-only at ServiceAccountMountPath in every init
// and app container that does not mount something there already. A pod without
// imagePullSecrets gets the service account's. sa may be nil when it is not known. Checking
// that the service account exists is the caller's business (fastapi refuses the pod).
func AdmitPodServiceAccount(pod *corev1.Pod, sa *corev1.ServiceAccount) {
	if pod.Spec.ServiceAccountName == "" {
		pod.Spec.ServiceAccountName = pod.Spec.DeprecatedServiceAccount
	}
	if pod.Spec.ServiceAccountName == "" {
		pod.Spec.ServiceAccountName = DefaultServiceAccountName
	}
	pod.Spec.DeprecatedServiceAccount = pod.Spec.ServiceAccountName
	if _, mirror := pod.Annotations[MirrorPodAnnotation]; mirror {
		return
	}
	if shouldAutomount(sa, pod) {
		mountServiceAccountToken(pod)
	}
	if sa != nil && len(pod.Spec.ImagePullSecrets) == 0 && len(sa.ImagePullSecrets) > 0 {
		pod.Spec.ImagePullSecrets = append([]corev1.LocalObjectReference(nil), sa.ImagePullSecrets...)
	}
}

func shouldAutomount(sa *corev1.ServiceAccount, pod *corev1.Pod) bool {
	if pod.Spec.AutomountServiceAccountToken != nil {
		return *pod.Spec.AutomountServiceAccountToken
	}
	if sa != nil && sa.AutomountServiceAccountToken != nil {
		return *sa.AutomountServiceAccountToken
	}
	return true
}

func mountServiceAccountToken(pod *corev1.Pod) {
	name := ""
	for _, v := range pod.Spec.Volumes {
		if strings.HasPrefix(v.Name, ServiceAccountVolumePrefix) {
			name = v.Name // a pod that carries one already (re-created from a dump) keeps it
			break
		}
	}
	has := name != ""
	if !has {
		name = ServiceAccountVolumePrefix + randomSuffix()
	}
	needs := false
	add := func(list []corev1.Container) {
		for i := range list {
			mounted := false
			for _, m := range list[i].VolumeMounts {
				if m.MountPath == ServiceAccountMountPath {
					mounted = true
					break
				}
			}
			if !mounted {
				list[i].VolumeMounts = append(list[i].VolumeMounts, corev1.VolumeMount{Name: name, ReadOnly: true, MountPath: ServiceAccountMountPath})
				needs = true
			}
		}
	}
	add(pod.Spec.InitContainers)
	add(pod.Spec.Containers)
	if !has && needs {
		pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{Projected: TokenVolumeSource()}})
	}
}

// TokenVolumeSource is the projected source of a kube-api-access volume, with the defaults
// the API server fills in.
func TokenVolumeSource() *corev1.ProjectedVolumeSource {
	mode := corev1.ProjectedVolumeSourceDefaultMode
	exp := int64(ServiceAccountTokenSeconds)
	return &corev1.ProjectedVolumeSource{
		DefaultMode: &mode,
		Sources: []corev1.VolumeProjection{
			{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: &exp}},
			{ConfigMap: &corev1.ConfigMapProjection{
				LocalObjectReference: corev1.LocalObjectReference{Name: RootCAConfigMap},
				Items:                []corev1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}},
			}},
			{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{{
				Path:     "namespace",
				FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.namespace"},
			}}}},
		},
	}
}

// randomSuffix returns 5 characters of the alphabet the API server's name generator uses
// (no vowels, no look-alike digits).
func randomSuffix() string {
	const alphabet = "bcdfghjklmnpqrstvwxz2456789"
	var b [5]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b[:])
}
