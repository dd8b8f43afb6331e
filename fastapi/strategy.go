package fastapi

import (
	"reflect"

	"github.com/k2d-project/k2d/codec"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// prepareCreate resets what a client may not set on create, as the API server's strategies do.
func prepareCreate(obj runtime.Object) {
	m := obj.(metav1.Object)
	m.SetUID("")
	m.SetResourceVersion("")
	m.SetGeneration(0)
	m.SetDeletionTimestamp(nil)
	m.SetDeletionGracePeriodSeconds(nil)
	m.SetCreationTimestamp(metav1.Time{})
	switch o := obj.(type) {
	case *corev1.Pod:
		o.Status = corev1.PodStatus{Phase: corev1.PodPending, QOSClass: qosClass(&o.Spec)}
	case *corev1.Namespace:
		o.Status = corev1.NamespaceStatus{Phase: corev1.NamespaceActive}
	case *appsv1.Deployment:
		o.Status = appsv1.DeploymentStatus{}
	case *appsv1.ReplicaSet:
		o.Status = appsv1.ReplicaSetStatus{}
	case *corev1.Service:
		prepareServiceCreate(o) // services.go
	default:
		prepareCoreCreate(obj) // strategy_core.go
	}
}

// prepareUpdate carries status and identity over from old on an update of the main resource,
// and bumps generation when the spec changed.
func prepareUpdate(obj, old runtime.Object) {
	if svc, ok := obj.(*corev1.Service); ok {
		if o, ok := old.(*corev1.Service); ok {
			prepareServiceUpdate(svc, o) // services.go: before the generation check below
		}
	}
	// The server defaults while decoding: compare the defaulted spec, by value (quantities).
	codec.Default(obj)
	setField(obj, "Status", getField(old, "Status"))
	m, om := obj.(metav1.Object), old.(metav1.Object)
	m.SetGeneration(om.GetGeneration())
	if decided := prepareCoreUpdate(obj, old); decided || !codec.TracksGenerationOf(obj) { // strategy_core.go
		// The kind's own rules decided the generation, or it has none.
	} else if spec := getField(obj, "Spec"); spec.IsValid() && !equality.Semantic.DeepEqual(spec.Interface(), getField(old, "Spec").Interface()) {
		m.SetGeneration(om.GetGeneration() + 1)
	} else if _, ok := obj.(*appsv1.Deployment); ok && !equality.Semantic.DeepEqual(m.GetAnnotations(), om.GetAnnotations()) {
		// A Deployment's annotations are copied to its ReplicaSets: a change is a new generation.
		m.SetGeneration(om.GetGeneration() + 1)
	}
	m.SetDeletionTimestamp(om.GetDeletionTimestamp())
	m.SetDeletionGracePeriodSeconds(om.GetDeletionGracePeriodSeconds())
	if ns, ok := obj.(*corev1.Namespace); ok {
		// spec.finalizers changes only through the finalize subresource.
		ns.Spec = old.(*corev1.Namespace).Spec
	}
}

// prepareStatusUpdate keeps everything but status from old: a status write changes status only.
func prepareStatusUpdate(obj, old runtime.Object) runtime.Object {
	out := old.DeepCopyObject()
	setField(out, "Status", getField(obj, "Status"))
	prepareCoreStatusUpdate(out, old) // strategy_core.go
	out.(metav1.Object).SetResourceVersion(obj.(metav1.Object).GetResourceVersion())
	return out
}

func getField(obj runtime.Object, name string) reflect.Value {
	v := reflect.ValueOf(obj)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return reflect.Value{}
	}
	return v.Elem().FieldByName(name)
}

func setField(obj runtime.Object, name string, val reflect.Value) {
	f := getField(obj, name)
	if f.IsValid() && f.CanSet() && val.IsValid() {
		f.Set(val)
	}
}

// qosClass computes the pod's QoS class as the API server does on create.
func qosClass(spec *corev1.PodSpec) corev1.PodQOSClass {
	requests, limits := 0, 0
	guaranteed := true
	all := append(append([]corev1.Container{}, spec.InitContainers...), spec.Containers...)
	for _, c := range all {
		for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			req, hasReq := c.Resources.Requests[r]
			lim, hasLim := c.Resources.Limits[r]
			if hasReq && !req.IsZero() {
				requests++
			}
			if hasLim && !lim.IsZero() {
				limits++
			}
			if !hasLim || (hasReq && req.Cmp(lim) != 0) {
				guaranteed = false
			}
		}
	}
	switch {
	case requests == 0 && limits == 0:
		return corev1.PodQOSBestEffort
	case guaranteed:
		return corev1.PodQOSGuaranteed
	default:
		return corev1.PodQOSBurstable
	}
}
