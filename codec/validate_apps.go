package codec

import (
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Validation of apps/v1 Deployments and ReplicaSets: pkg/apis/apps/validation and the
// strategies of pkg/registry/apps, which add that spec.selector is immutable in apps/v1.

func init() {
	vldKinds["deployments.apps"] = vldTyped(vldDeploymentCreate, vldDeploymentUpdate)
	vldKinds["replicasets.apps"] = vldTyped(vldReplicaSetCreate, vldReplicaSetUpdate)
	vldStatusKinds["deployments.apps"] = vldStatusTyped(vldDeploymentStatusUpdate)
	vldStatusKinds["replicasets.apps"] = vldStatusTyped(vldReplicaSetStatusUpdate)
}

// vldStatusKinds holds the checks of writes to the status subresource, by group-resource.
var vldStatusKinds = map[string]func(obj, old runtime.Object) field.ErrorList{}

// ValidateStatusUpdate checks obj replacing old through the status subresource, after the
// handler kept everything but status from old. Kinds without status rules return nil.
func ValidateStatusUpdate(k *Kind, obj, old runtime.Object) []Cause {
	if v := vldStatusKinds[k.GroupResource()]; v != nil {
		return vldCauses(v(obj, old))
	}
	return nil
}

func vldStatusTyped[T runtime.Object](fn func(T, T) field.ErrorList) func(obj, old runtime.Object) field.ErrorList {
	return vldTyped(func(T) field.ErrorList { return nil }, fn).update
}

const (
	vldSelectorMismatch = "`selector` does not match template `labels`"
	vldGreaterReplicas  = "cannot be greater than status.replicas"
)

func vldDeploymentCreate(d *appsv1.Deployment) field.ErrorList {
	errs := vldKubeObjectMeta(&d.ObjectMeta, true, vldDNSSubdomainName, field.NewPath("metadata"))
	return append(errs, vldDeploymentSpec(&d.Spec, field.NewPath("spec"))...)
}

func vldDeploymentUpdate(d, old *appsv1.Deployment) field.ErrorList {
	spec := field.NewPath("spec")
	errs := vldKubeObjectMetaUpdate(&d.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	errs = append(errs, vldDeploymentSpec(&d.Spec, spec)...)
	return append(errs, vldImmutableSelector(d.Spec.Selector, old.Spec.Selector, spec.Child("selector"))...)
}

func vldReplicaSetCreate(rs *appsv1.ReplicaSet) field.ErrorList {
	errs := vldKubeObjectMeta(&rs.ObjectMeta, true, vldDNSSubdomainName, field.NewPath("metadata"))
	return append(errs, vldReplicaSetSpec(&rs.Spec, field.NewPath("spec"))...)
}

func vldReplicaSetUpdate(rs, old *appsv1.ReplicaSet) field.ErrorList {
	spec := field.NewPath("spec")
	errs := vldKubeObjectMetaUpdate(&rs.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	errs = append(errs, vldReplicaSetSpec(&rs.Spec, spec)...)
	return append(errs, vldImmutableSelector(rs.Spec.Selector, old.Spec.Selector, spec.Child("selector"))...)
}

func vldImmutableSelector(cur, old *metav1.LabelSelector, fld *field.Path) field.ErrorList {
	if !vldSemanticEqual(cur, old) {
		return field.ErrorList{field.Invalid(fld, cur, vldImmutable)}
	}
	return nil
}

func vldInt32(p *int32) int32 {
	if p == nil {
		return 0
	}
	return *p
}

func vldDeploymentSpec(spec *appsv1.DeploymentSpec, fld *field.Path) field.ErrorList {
	replicas := vldInt32(spec.Replicas)
	errs := vldNonNegative(int64(replicas), fld.Child("replicas"))
	errs = append(errs, vldWorkloadSelector(spec.Selector, &spec.Template, fld)...)
	errs = append(errs, vldDeploymentStrategy(&spec.Strategy, fld.Child("strategy"))...)
	errs = append(errs, vldNonNegative(int64(spec.MinReadySeconds), fld.Child("minReadySeconds"))...)
	if spec.RevisionHistoryLimit != nil {
		// zero is a valid RevisionHistoryLimit
		errs = append(errs, vldNonNegative(int64(*spec.RevisionHistoryLimit), fld.Child("revisionHistoryLimit"))...)
	}
	if p := spec.ProgressDeadlineSeconds; p != nil {
		errs = append(errs, vldNonNegative(int64(*p), fld.Child("progressDeadlineSeconds"))...)
		if *p <= spec.MinReadySeconds {
			errs = append(errs, field.Invalid(fld.Child("progressDeadlineSeconds"), *p, "must be greater than minReadySeconds"))
		}
	}
	return errs
}

func vldReplicaSetSpec(spec *appsv1.ReplicaSetSpec, fld *field.Path) field.ErrorList {
	errs := vldNonNegative(int64(vldInt32(spec.Replicas)), fld.Child("replicas"))
	errs = append(errs, vldNonNegative(int64(spec.MinReadySeconds), fld.Child("minReadySeconds"))...)
	return append(errs, vldWorkloadSelector(spec.Selector, &spec.Template, fld)...)
}

// vldWorkloadSelector checks spec.selector and the pod template it must select, in the order
// ValidateDeploymentSpec and ValidateReplicaSetSpec report them (both say "deployment" in the
// empty-selector message).
func vldWorkloadSelector(sel *metav1.LabelSelector, tpl *corev1.PodTemplateSpec, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	if sel == nil {
		errs = append(errs, field.Required(fld.Child("selector"), ""))
	} else {
		errs = append(errs, vldLabelSelector(sel, fld.Child("selector"))...)
		if len(sel.MatchLabels)+len(sel.MatchExpressions) == 0 {
			errs = append(errs, field.Invalid(fld.Child("selector"), sel, "empty selector is invalid for deployment"))
		}
	}
	selector, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return append(errs, field.Invalid(fld.Child("selector"), sel, "invalid label selector"))
	}
	return append(errs, vldPodTemplateForReplicaSet(tpl, selector, fld.Child("template"))...)
}

// vldLabelSelector is ValidateLabelSelector with invalid label values rejected.
func vldLabelSelector(sel *metav1.LabelSelector, fld *field.Path) field.ErrorList {
	errs := vldLabels(sel.MatchLabels, fld.Child("matchLabels"))
	for i, r := range sel.MatchExpressions {
		p := fld.Child("matchExpressions").Index(i)
		switch r.Operator {
		case metav1.LabelSelectorOpIn, metav1.LabelSelectorOpNotIn:
			if len(r.Values) == 0 {
				errs = append(errs, field.Required(p.Child("values"), "must be specified when `operator` is 'In' or 'NotIn'"))
			}
		case metav1.LabelSelectorOpExists, metav1.LabelSelectorOpDoesNotExist:
			if len(r.Values) > 0 {
				errs = append(errs, field.Forbidden(p.Child("values"), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
			}
		default:
			errs = append(errs, field.Invalid(p.Child("operator"), r.Operator, "not a valid selector operator"))
		}
		errs = append(errs, vldLabelName(r.Key, p.Child("key"))...)
		for j, v := range r.Values {
			for _, msg := range validation.IsValidLabelValue(v) {
				errs = append(errs, field.Invalid(p.Child("values").Index(j), v, msg))
			}
		}
	}
	return errs
}

// vldPodTemplateForReplicaSet is ValidatePodTemplateSpecForReplicaSet: the template must be
// selected, be a valid pod template and restart its containers Always.
func vldPodTemplateForReplicaSet(tpl *corev1.PodTemplateSpec, sel labels.Selector, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	if !sel.Empty() && !sel.Matches(labels.Set(tpl.Labels)) {
		errs = append(errs, field.Invalid(fld.Child("metadata", "labels"), tpl.Labels, vldSelectorMismatch))
	}
	errs = append(errs, vldPodTemplateSpec(tpl, fld)...)
	if tpl.Spec.RestartPolicy != corev1.RestartPolicyAlways {
		errs = append(errs, field.NotSupported(fld.Child("spec", "restartPolicy"), tpl.Spec.RestartPolicy, []string{string(corev1.RestartPolicyAlways)}))
	}
	if tpl.Spec.ActiveDeadlineSeconds != nil {
		errs = append(errs, field.Forbidden(fld.Child("spec", "activeDeadlineSeconds"), "activeDeadlineSeconds in ReplicaSet is not Supported"))
	}
	return errs
}

// vldPodTemplateSpec is ValidatePodTemplateSpec: the pod spec rules without a pod's metadata.
// Note the labels path: "template.labels", not "template.metadata.labels", as on the server.
func vldPodTemplateSpec(tpl *corev1.PodTemplateSpec, fld *field.Path) field.ErrorList {
	errs := vldLabels(tpl.Labels, fld.Child("labels"))
	errs = append(errs, vldAnnotations(tpl.Annotations, fld.Child("annotations"))...)
	errs = append(errs, vldPodAnnotations(tpl.Annotations, &tpl.Spec, fld.Child("annotations"))...)
	errs = append(errs, vldPodSpec(&tpl.Spec, nil, fld.Child("spec"))...)
	if len(tpl.Spec.EphemeralContainers) > 0 {
		errs = append(errs, field.Forbidden(fld.Child("spec", "ephemeralContainers"), "ephemeral containers not allowed in pod template"))
	}
	return errs
}

func vldDeploymentStrategy(st *appsv1.DeploymentStrategy, fld *field.Path) field.ErrorList {
	switch st.Type {
	case appsv1.RecreateDeploymentStrategyType:
		if st.RollingUpdate != nil {
			return field.ErrorList{field.Forbidden(fld.Child("rollingUpdate"), "may not be specified when strategy `type` is 'Recreate'")}
		}
	case appsv1.RollingUpdateDeploymentStrategyType:
		// Defaulting sets it; only a stored object written around the API lacks it.
		if st.RollingUpdate == nil {
			return field.ErrorList{field.Required(fld.Child("rollingUpdate"), "this should be defaulted and never be nil")}
		}
		return vldRollingUpdateDeployment(st.RollingUpdate, fld.Child("rollingUpdate"))
	default:
		return field.ErrorList{field.NotSupported(fld, st, []string{string(appsv1.RecreateDeploymentStrategyType), string(appsv1.RollingUpdateDeploymentStrategyType)})}
	}
	return nil
}

func vldRollingUpdateDeployment(ru *appsv1.RollingUpdateDeployment, fld *field.Path) field.ErrorList {
	unavailable, surge := vldIntOrZero(ru.MaxUnavailable), vldIntOrZero(ru.MaxSurge)
	errs := vldPositiveIntOrPercent(unavailable, fld.Child("maxUnavailable"))
	errs = append(errs, vldPositiveIntOrPercent(surge, fld.Child("maxSurge"))...)
	if vldIntOrPercentValue(unavailable) == 0 && vldIntOrPercentValue(surge) == 0 {
		// Both MaxSurge and MaxUnavailable cannot be zero.
		errs = append(errs, field.Invalid(fld.Child("maxUnavailable"), unavailable, "may not be 0 when `maxSurge` is 0"))
	}
	// Only maxUnavailable is capped: a surge above 100% is allowed.
	if v, ok := vldPercentValue(unavailable); ok && v > 100 {
		errs = append(errs, field.Invalid(fld.Child("maxUnavailable"), unavailable, "must not be greater than 100%"))
	}
	return errs
}

// vldIntOrZero reads an optional IntOrString as the internal API's non-pointer field does.
func vldIntOrZero(p *intstr.IntOrString) intstr.IntOrString {
	if p == nil {
		return intstr.IntOrString{}
	}
	return *p
}

func vldPositiveIntOrPercent(v intstr.IntOrString, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch v.Type {
	case intstr.String:
		for _, msg := range validation.IsValidPercent(v.StrVal) {
			errs = append(errs, field.Invalid(fld, v, msg))
		}
	case intstr.Int:
		errs = append(errs, vldNonNegative(int64(v.IntValue()), fld)...)
	default:
		errs = append(errs, field.Invalid(fld, v, "must be an integer or percentage (e.g '5%%')"))
	}
	return errs
}

func vldPercentValue(v intstr.IntOrString) (int, bool) {
	if v.Type != intstr.String || len(validation.IsValidPercent(v.StrVal)) != 0 {
		return 0, false
	}
	n, _ := strconv.Atoi(v.StrVal[:len(v.StrVal)-1])
	return n, true
}

func vldIntOrPercentValue(v intstr.IntOrString) int {
	if n, ok := vldPercentValue(v); ok {
		return n
	}
	return v.IntValue()
}

// ---- status subresource ----
//
// The handler keeps all metadata from the stored object on a status write, so only the
// status rules of ValidateDeploymentStatusUpdate and ValidateReplicaSetStatusUpdate apply.

func vldDeploymentStatusUpdate(d, old *appsv1.Deployment) field.ErrorList {
	fld := field.NewPath("status")
	st := &d.Status
	errs := vldNonNegative(st.ObservedGeneration, fld.Child("observedGeneration"))
	errs = append(errs, vldNonNegative(int64(st.Replicas), fld.Child("replicas"))...)
	errs = append(errs, vldNonNegative(int64(st.UpdatedReplicas), fld.Child("updatedReplicas"))...)
	errs = append(errs, vldNonNegative(int64(st.ReadyReplicas), fld.Child("readyReplicas"))...)
	errs = append(errs, vldNonNegative(int64(st.AvailableReplicas), fld.Child("availableReplicas"))...)
	errs = append(errs, vldNonNegative(int64(st.UnavailableReplicas), fld.Child("unavailableReplicas"))...)
	if st.CollisionCount != nil {
		errs = append(errs, vldNonNegative(int64(*st.CollisionCount), fld.Child("collisionCount"))...)
	}
	if st.UpdatedReplicas > st.Replicas {
		errs = append(errs, field.Invalid(fld.Child("updatedReplicas"), st.UpdatedReplicas, vldGreaterReplicas))
	}
	if st.ReadyReplicas > st.Replicas {
		errs = append(errs, field.Invalid(fld.Child("readyReplicas"), st.ReadyReplicas, vldGreaterReplicas))
	}
	if st.AvailableReplicas > st.Replicas {
		errs = append(errs, field.Invalid(fld.Child("availableReplicas"), st.AvailableReplicas, vldGreaterReplicas))
	}
	if st.AvailableReplicas > st.ReadyReplicas {
		errs = append(errs, field.Invalid(fld.Child("availableReplicas"), st.AvailableReplicas, "cannot be greater than readyReplicas"))
	}
	return append(errs, vldCollisionCount(st.CollisionCount, old.Status.CollisionCount, fld.Child("collisionCount"))...)
}

func vldReplicaSetStatusUpdate(rs, _ *appsv1.ReplicaSet) field.ErrorList {
	fld := field.NewPath("status")
	st := &rs.Status
	errs := vldNonNegative(int64(st.Replicas), fld.Child("replicas"))
	errs = append(errs, vldNonNegative(int64(st.FullyLabeledReplicas), fld.Child("fullyLabeledReplicas"))...)
	errs = append(errs, vldNonNegative(int64(st.ReadyReplicas), fld.Child("readyReplicas"))...)
	errs = append(errs, vldNonNegative(int64(st.AvailableReplicas), fld.Child("availableReplicas"))...)
	errs = append(errs, vldNonNegative(st.ObservedGeneration, fld.Child("observedGeneration"))...)
	if st.FullyLabeledReplicas > st.Replicas {
		errs = append(errs, field.Invalid(fld.Child("fullyLabeledReplicas"), st.FullyLabeledReplicas, vldGreaterReplicas))
	}
	if st.ReadyReplicas > st.Replicas {
		errs = append(errs, field.Invalid(fld.Child("readyReplicas"), st.ReadyReplicas, vldGreaterReplicas))
	}
	if st.AvailableReplicas > st.Replicas {
		errs = append(errs, field.Invalid(fld.Child("availableReplicas"), st.AvailableReplicas, vldGreaterReplicas))
	}
	if st.AvailableReplicas > st.ReadyReplicas {
		errs = append(errs, field.Invalid(fld.Child("availableReplicas"), st.AvailableReplicas, "cannot be greater than readyReplicas"))
	}
	return errs
}

// vldCollisionCount: a Deployment's collisionCount never goes down.
func vldCollisionCount(cur, old *int32, fld *field.Path) field.ErrorList {
	if old == nil || (cur != nil && *cur >= *old) {
		return nil
	}
	v := int32(0)
	if cur != nil {
		v = *cur
	}
	return field.ErrorList{field.Invalid(fld, v, "cannot be decremented")}
}
