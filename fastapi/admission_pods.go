package fastapi

// This file: the ServiceAccount admission of pods created through the API.

import (
	"fmt"

	"github.com/k2d-project/k2d/codec"
	"github.com/valyala/fasthttp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

func init() {
	admissions["pods"] = append(admissions["pods"], admitPodServiceAccount)
}

// admitPodServiceAccount is the ServiceAccount admission plugin on pod creation: a pod whose
// service account does not exist is refused with the plugin's 403; otherwise the pod gets the
// kube-api-access volume unless the pod or its service account turns automounting off.
func admitPodServiceAccount(s *Server, ctx *fasthttp.RequestCtx, k *codec.Kind, obj, old runtime.Object, dryRun bool) *apiError {
	pod, ok := obj.(*corev1.Pod)
	if !ok || old != nil {
		return nil
	}
	name := pod.Spec.ServiceAccountName
	if name == "" {
		name = codec.DefaultServiceAccountName
	}
	sa, ok := s.serviceAccountOf(pod.Namespace, name, dryRun)
	if !ok {
		msg := fmt.Sprintf("error looking up service account %s/%s: serviceaccount %q not found", pod.Namespace, name, name)
		if pod.Name == "" {
			return withDetails(newStatus(403, metav1.StatusReasonForbidden, "pods is forbidden: "+msg), "", "pods", "")
		}
		return errForbidden(k, pod.Name, msg)
	}
	codec.AdmitPodServiceAccount(pod, sa)
	return nil
}
