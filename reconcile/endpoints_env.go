package reconcile

import (
	"github.com/k2d-project/k2d/translate"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// serviceEnv computes the Service variables of a pod's containers from the cache, at
// container start: the Services of the pod's namespace (unless enableServiceLinks is false)
// and the `kubernetes` Service.
func (c *Controller) serviceEnv(pod *corev1.Pod) map[string]string {
	links := pod.Spec.EnableServiceLinks == nil || *pod.Spec.EnableServiceLinks
	var svcs []*corev1.Service
	if links {
		list, _ := c.c.List(epResServices, pod.Namespace)
		for _, e := range list {
			svcs = append(svcs, e.Obj.(*corev1.Service))
		}
	}
	if pod.Namespace != metav1.NamespaceDefault || !links {
		if e, ok := c.c.Get(epResServices, metav1.NamespaceDefault, kubernetesServiceName); ok {
			svcs = append(svcs, e.Obj.(*corev1.Service))
		}
	}
	return translate.ServiceEnv(svcs, pod.Namespace, links)
}
