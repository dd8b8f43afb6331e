package codec

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// ScaleKind is the autoscaling/v1 Scale the scale subresource of Deployments and ReplicaSets
// reads and writes. It is not served as a resource of its own (it is not in Kinds); handlers use
// it to decode, encode and print Scales.
var ScaleKind = &Kind{
	Group: "autoscaling", Version: "v1", Resource: "scale", Singular: "scale", Kind: "Scale",
	New: func() runtime.Object { return &autoscalingv1.Scale{} },
}

// ScaleOf returns the Scale of a Deployment or ReplicaSet, as the API server's scale
// storage builds it: the owner's identity and resourceVersion, spec.replicas, status.replicas
// and the selector as a string.
func ScaleOf(obj runtime.Object) (*autoscalingv1.Scale, error) {
	var (
		m        *metav1.ObjectMeta
		replicas *int32
		current  int32
		sel      *metav1.LabelSelector
	)
	switch o := obj.(type) {
	case *appsv1.Deployment:
		m, replicas, current, sel = &o.ObjectMeta, o.Spec.Replicas, o.Status.Replicas, o.Spec.Selector
	case *appsv1.ReplicaSet:
		m, replicas, current, sel = &o.ObjectMeta, o.Spec.Replicas, o.Status.Replicas, o.Spec.Selector
	default:
		return nil, fmt.Errorf("%T has no scale subresource", obj)
	}
	selector, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return nil, err
	}
	s := &autoscalingv1.Scale{
		ObjectMeta: metav1.ObjectMeta{
			Name: m.Name, Namespace: m.Namespace, UID: m.UID,
			ResourceVersion: m.ResourceVersion, CreationTimestamp: m.CreationTimestamp,
		},
		Status: autoscalingv1.ScaleStatus{Replicas: current, Selector: selector.String()},
	}
	if replicas != nil {
		s.Spec.Replicas = *replicas
	}
	SetTypeMeta(ScaleKind, s)
	return s, nil
}

// SetScaleReplicas sets spec.replicas of a Deployment or ReplicaSet.
func SetScaleReplicas(obj runtime.Object, n int32) error {
	switch o := obj.(type) {
	case *appsv1.Deployment:
		o.Spec.Replicas = &n
	case *appsv1.ReplicaSet:
		o.Spec.Replicas = &n
	default:
		return fmt.Errorf("%T has no scale subresource", obj)
	}
	return nil
}

// ValidateScale checks a Scale written to the scale subresource (ValidateScale of
// pkg/apis/autoscaling/validation). Errors are reported against "Scale.autoscaling".
func ValidateScale(s *autoscalingv1.Scale) []Cause {
	errs := vldKubeObjectMeta(&s.ObjectMeta, true, vldDNSSubdomainName, field.NewPath("metadata"))
	if s.Spec.Replicas < 0 {
		errs = append(errs, field.Invalid(field.NewPath("spec", "replicas"), s.Spec.Replicas, vldNegative))
	}
	return vldCauses(errs)
}
