package translate

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// QOSClass computes the pod's QoS class as the API server does, from the cpu and memory
// requests and limits of all its containers (init included):
//   - BestEffort: no container requests or limits cpu or memory;
//   - Guaranteed: every container limits both, and the pod's summed requests equal its limits;
//   - Burstable: anything else.
//
// Requests are read as written: the API server copies limits into unset requests first, so
// pass a defaulted pod.
func QOSClass(pod *corev1.Pod) corev1.PodQOSClass {
	requests := map[corev1.ResourceName]*resource.Quantity{}
	limits := map[corev1.ResourceName]*resource.Quantity{}
	guaranteed := true
	sum := func(into map[corev1.ResourceName]*resource.Quantity, list corev1.ResourceList) (cpu, mem bool) {
		for _, name := range [...]corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			q, ok := list[name]
			if !ok || q.Sign() <= 0 {
				continue
			}
			if into[name] == nil {
				c := q.DeepCopy()
				into[name] = &c
			} else {
				into[name].Add(q)
			}
			if name == corev1.ResourceCPU {
				cpu = true
			} else {
				mem = true
			}
		}
		return cpu, mem
	}
	each := func(cs []corev1.Container) {
		for i := range cs {
			sum(requests, cs[i].Resources.Requests)
			cpu, mem := sum(limits, cs[i].Resources.Limits)
			if !cpu || !mem {
				guaranteed = false
			}
		}
	}
	each(pod.Spec.InitContainers)
	each(pod.Spec.Containers)

	if len(requests) == 0 && len(limits) == 0 {
		return corev1.PodQOSBestEffort
	}
	if guaranteed && len(requests) == len(limits) {
		for name, req := range requests {
			if lim := limits[name]; lim == nil || lim.Cmp(*req) != 0 {
				guaranteed = false
				break
			}
		}
		if guaranteed {
			return corev1.PodQOSGuaranteed
		}
	}
	return corev1.PodQOSBurstable
}
