package codec

import (
	"encoding/json"
	"fmt"
	"math"
	"path"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	pathvalidation "k8s.io/apimachinery/pkg/api/validation/path"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Cause is one field error of an Invalid (422) Status, as metav1.StatusCause carries it.
// Type is a metav1.CauseType ("FieldValueInvalid", "FieldValueRequired", ...), Field the
// JSON path ("spec.containers[0].name") and Message the text after the path.
type Cause struct{ Type, Field, Message string }

// Validate checks an object about to be created, after Default and after the handler has
// set the namespace from the URL and generated a name from generateName. It returns the
// field errors the API server would return, in the server's order; nil means valid.
//
// As in rest.BeforeCreate, the kind's own checks run first and the generic metadata checks
// (path-segment names, labels, annotations) only when those pass.
func Validate(k *Kind, obj runtime.Object) []Cause {
	var errs field.ErrorList
	if v := vldKinds[k.GroupResource()]; v.create != nil {
		errs = v.create(obj)
	}
	// Reviews are answered by their own REST handlers, which skip rest.BeforeCreate.
	if len(errs) == 0 && !k.Review {
		if m, ok := obj.(metav1.Object); ok {
			errs = vldObjectMeta(m, k.Namespaced, pathvalidation.ValidatePathSegmentName, field.NewPath("metadata"))
		}
	}
	return vldCauses(errs)
}

// ValidateUpdate checks obj replacing old (PUT, PATCH), after Default. It adds immutability
// checks: metadata.name, namespace and uid, and for pods everything in spec but container
// images, activeDeadlineSeconds, added tolerations and terminationGracePeriodSeconds.
//
// Like rest.BeforeUpdate, an empty uid and the server-owned timestamps are taken from old.
// metadata.resourceVersion must be set: for an unconditional update the handler copies it
// from old first, as the storage layer does.
func ValidateUpdate(k *Kind, obj, old runtime.Object) []Cause {
	var errs field.ErrorList
	m, ok1 := obj.(metav1.Object)
	om, ok2 := old.(metav1.Object)
	if ok1 && ok2 && !k.Review {
		errs = vldObjectMeta(m, k.Namespaced, pathvalidation.ValidatePathSegmentName, field.NewPath("metadata"))
		errs = append(errs, vldObjectMetaUpdate(m, om, field.NewPath("metadata"))...)
	}
	if v := vldKinds[k.GroupResource()]; v.update != nil {
		errs = append(errs, v.update(obj, old)...)
	}
	return vldCauses(errs)
}

// InvalidMessage returns the message of the API server's Invalid Status, for instance
// `Pod "Web" is invalid: metadata.name: Invalid value: "Web": a lowercase RFC 1123 ...`.
// kind is the qualified kind QualifiedKind returns. Like field.ErrorList.ToAggregate,
// repeated errors print once and several errors are joined inside brackets.
func InvalidMessage(kind, name string, causes []Cause) string {
	head := kind + " " + strconv.Quote(name) + " is invalid"
	if len(causes) == 0 {
		return head
	}
	msgs := make([]string, 0, len(causes))
	for _, c := range causes {
		m := c.Field + ": " + c.Message
		if !slices.Contains(msgs, m) {
			msgs = append(msgs, m)
		}
	}
	if len(msgs) == 1 {
		return head + ": " + msgs[0]
	}
	return head + ": [" + strings.Join(msgs, ", ") + "]"
}

// QualifiedKind returns the kind as the API server names it in messages: "Pod",
// "Event.events.k8s.io" (schema.GroupKind.String).
func QualifiedKind(k *Kind) string {
	return schema.GroupKind{Group: k.Group, Kind: k.Kind}.String()
}

func vldCauses(errs field.ErrorList) []Cause {
	if len(errs) == 0 {
		return nil
	}
	out := make([]Cause, len(errs))
	for i, e := range errs {
		out[i] = Cause{Type: string(e.Type), Field: e.Field, Message: e.ErrorBody()}
	}
	return out
}

// vldKind holds the registry strategy checks of one kind. A kind without an entry gets only
// the generic metadata checks, which is what the API server does for kinds whose strategy
// validates nothing else.
type vldKind struct {
	create func(obj runtime.Object) field.ErrorList
	update func(obj, old runtime.Object) field.ErrorList
}

var vldKinds = map[string]vldKind{
	"pods":                 vldTyped(vldPodCreate, vldPodUpdate),
	"namespaces":           vldTyped(vldNamespaceCreate, vldNamespaceUpdate),
	"nodes":                vldTyped(vldNodeCreate, vldNodeUpdate),
	"events":               {create: vldEventCreate(false), update: vldEventUpdate(false)},
	"events.events.k8s.io": {create: vldEventCreate(true), update: vldEventUpdate(true)},

	"selfsubjectaccessreviews.authorization.k8s.io": vldTyped(vldSelfSubjectAccessReview, vldNoUpdate[*authorizationv1.SelfSubjectAccessReview]),
	"selfsubjectrulesreviews.authorization.k8s.io": vldTyped(func(*authorizationv1.SelfSubjectRulesReview) field.ErrorList { return nil },
		vldNoUpdate[*authorizationv1.SelfSubjectRulesReview]),
}

func vldNoUpdate[T runtime.Object](T, T) field.ErrorList { return nil }

// vldTyped adapts typed rules; an object of another type is an internal error, not a panic.
func vldTyped[T runtime.Object](create func(T) field.ErrorList, update func(T, T) field.ErrorList) vldKind {
	wrong := func(obj runtime.Object) field.ErrorList {
		return field.ErrorList{field.InternalError(field.NewPath(""), fmt.Errorf("unexpected object type %T", obj))}
	}
	return vldKind{
		create: func(obj runtime.Object) field.ErrorList {
			o, ok := obj.(T)
			if !ok {
				return wrong(obj)
			}
			return create(o)
		},
		update: func(obj, old runtime.Object) field.ErrorList {
			o, ok1 := obj.(T)
			oo, ok2 := old.(T)
			if !ok1 || !ok2 {
				return wrong(obj)
			}
			return update(o, oo)
		},
	}
}

const (
	vldImmutable      = "field is immutable"
	vldNegative       = "must be greater than or equal to 0"
	vldFileModeMsg    = "must be a number between 0 and 0777 (octal), both inclusive"
	vldMultipleVolume = "may not specify more than 1 volume type"
	vldMultipleHandle = "may not specify more than 1 handler type"
	vldNotInitAlways  = "may not be set for init containers without restartPolicy=Always"
	vldAnnotationsMax = 256 * (1 << 10)
)

// Name checkers with the apimachinery (name, prefix) signature. A generateName prefix may end
// in '-': it is masked before the check.
func vldDNSSubdomainName(name string, prefix bool) []string {
	return validation.IsDNS1123Subdomain(vldMaskTrailingDash(name, prefix))
}

func vldDNSLabelName(name string, prefix bool) []string {
	return validation.IsDNS1123Label(vldMaskTrailingDash(name, prefix))
}

func vldMaskTrailingDash(name string, prefix bool) string {
	if prefix && len(name) > 1 && strings.HasSuffix(name, "-") {
		return name[:len(name)-2] + "a"
	}
	return name
}

func vldSortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// ---- metadata (k8s.io/apimachinery/pkg/api/validation and pkg/apis/core/validation) ----

// vldObjectMeta is ValidateObjectMetaAccessor. Map keys are visited in sorted order so that
// errors come out in a stable order; the server's order is random.
func vldObjectMeta(m metav1.Object, namespaced bool, nameFn func(string, bool) []string, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	if g := m.GetGenerateName(); g != "" {
		for _, msg := range nameFn(g, true) {
			errs = append(errs, field.Invalid(fld.Child("generateName"), g, msg))
		}
	}
	switch name := m.GetName(); {
	case name != "":
		for _, msg := range nameFn(name, false) {
			errs = append(errs, field.Invalid(fld.Child("name"), name, msg))
		}
	case m.GetGenerateName() == "":
		// With generateName the handler generates the name before validating.
		errs = append(errs, field.Required(fld.Child("name"), "name or generateName is required"))
	}
	if namespaced {
		if ns := m.GetNamespace(); ns == "" {
			errs = append(errs, field.Required(fld.Child("namespace"), ""))
		} else {
			for _, msg := range vldDNSLabelName(ns, false) {
				errs = append(errs, field.Invalid(fld.Child("namespace"), ns, msg))
			}
		}
	} else if m.GetNamespace() != "" {
		errs = append(errs, field.Forbidden(fld.Child("namespace"), "not allowed on this type"))
	}
	errs = append(errs, vldNonNegative(m.GetGeneration(), fld.Child("generation"))...)
	errs = append(errs, vldLabels(m.GetLabels(), fld.Child("labels"))...)
	errs = append(errs, vldAnnotations(m.GetAnnotations(), fld.Child("annotations"))...)
	errs = append(errs, vldOwnerReferences(m.GetOwnerReferences(), fld.Child("ownerReferences"))...)
	errs = append(errs, vldFinalizers(m.GetFinalizers(), fld.Child("finalizers"))...)
	errs = append(errs, vldManagedFields(m.GetManagedFields(), fld.Child("managedFields"))...)
	return errs
}

// vldKubeObjectMeta is pkg/apis/core/validation.ValidateObjectMeta: the generic checks plus
// the rule that a finalizer without '/' must be one of the standard names.
func vldKubeObjectMeta(m metav1.Object, namespaced bool, nameFn func(string, bool) []string, fld *field.Path) field.ErrorList {
	errs := vldObjectMeta(m, namespaced, nameFn, fld)
	for i, f := range m.GetFinalizers() {
		errs = append(errs, vldKubeFinalizerName(f, fld.Child("finalizers").Index(i))...)
	}
	return errs
}

// vldObjectMetaUpdate is ValidateObjectMetaAccessorUpdate on the object rest.BeforeUpdate
// prepared: uid, creation and deletion timestamps and generation come from old when the
// server would have copied them.
func vldObjectMetaUpdate(m, old metav1.Object, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	if old.GetDeletionTimestamp() != nil {
		var extra []string
		for _, f := range m.GetFinalizers() {
			if !slices.Contains(old.GetFinalizers(), f) && !slices.Contains(extra, f) {
				extra = append(extra, f)
			}
		}
		if len(extra) > 0 {
			slices.Sort(extra)
			errs = append(errs, field.Forbidden(fld.Child("finalizers"), fmt.Sprintf("no new finalizers can be added if the object is being deleted, found new finalizers %#v", extra)))
		}
	}
	if m.GetResourceVersion() == "" {
		errs = append(errs, field.Invalid(fld.Child("resourceVersion"), m.GetResourceVersion(), "must be specified for an update"))
	}
	errs = append(errs, vldNonNegative(m.GetGeneration(), fld.Child("generation"))...)
	if m.GetName() != old.GetName() {
		errs = append(errs, field.Invalid(fld.Child("name"), m.GetName(), vldImmutable))
	}
	if m.GetNamespace() != old.GetNamespace() {
		errs = append(errs, field.Invalid(fld.Child("namespace"), m.GetNamespace(), vldImmutable))
	}
	if uid := m.GetUID(); uid != "" && uid != old.GetUID() {
		errs = append(errs, field.Invalid(fld.Child("uid"), uid, vldImmutable))
	}
	if ct, oct := m.GetCreationTimestamp(), old.GetCreationTimestamp(); oct.IsZero() && !ct.Equal(&oct) {
		errs = append(errs, field.Invalid(fld.Child("creationTimestamp"), ct, vldImmutable))
	}
	if dt, odt := m.GetDeletionTimestamp(), old.GetDeletionTimestamp(); odt == nil && dt != nil {
		errs = append(errs, field.Invalid(fld.Child("deletionTimestamp"), dt, vldImmutable))
	}
	if g, og := m.GetDeletionGracePeriodSeconds(), old.GetDeletionGracePeriodSeconds(); g != nil && (og == nil || *g != *og) {
		errs = append(errs, field.Invalid(fld.Child("deletionGracePeriodSeconds"), g, vldImmutable))
	}
	errs = append(errs, vldLabels(m.GetLabels(), fld.Child("labels"))...)
	errs = append(errs, vldAnnotations(m.GetAnnotations(), fld.Child("annotations"))...)
	errs = append(errs, vldOwnerReferences(m.GetOwnerReferences(), fld.Child("ownerReferences"))...)
	errs = append(errs, vldManagedFields(m.GetManagedFields(), fld.Child("managedFields"))...)
	return errs
}

func vldKubeObjectMetaUpdate(m, old metav1.Object, fld *field.Path) field.ErrorList {
	errs := vldObjectMetaUpdate(m, old, fld)
	for i, f := range m.GetFinalizers() {
		errs = append(errs, vldKubeFinalizerName(f, fld.Child("finalizers").Index(i))...)
	}
	return errs
}

func vldNonNegative(v int64, fld *field.Path) field.ErrorList {
	if v < 0 {
		return field.ErrorList{field.Invalid(fld, v, vldNegative)}
	}
	return nil
}

func vldLabels(labels map[string]string, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, k := range vldSortedKeys(labels) {
		errs = append(errs, vldLabelName(k, fld)...)
		for _, msg := range validation.IsValidLabelValue(labels[k]) {
			errs = append(errs, field.Invalid(fld, labels[k], msg))
		}
	}
	return errs
}

func vldLabelName(k string, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsQualifiedName(k) {
		errs = append(errs, field.Invalid(fld, k, msg))
	}
	return errs
}

func vldQualifiedName(v string, fld *field.Path) field.ErrorList {
	return vldLabelName(v, fld)
}

func vldAnnotations(annotations map[string]string, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	var size int64
	for _, k := range vldSortedKeys(annotations) {
		for _, msg := range validation.IsQualifiedName(strings.ToLower(k)) {
			errs = append(errs, field.Invalid(fld, k, msg))
		}
		size += int64(len(k)) + int64(len(annotations[k]))
	}
	if size > vldAnnotationsMax {
		errs = append(errs, field.TooLong(fld, "", vldAnnotationsMax))
	}
	return errs
}

func vldOwnerReferences(refs []metav1.OwnerReference, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	controller := ""
	for i, ref := range refs {
		p := fld.Index(i)
		gv, err := schema.ParseGroupVersion(ref.APIVersion)
		if ref.APIVersion == "" {
			errs = append(errs, field.Required(p.Child("apiVersion"), "must not be empty"))
		} else if err != nil || gv.Version == "" {
			errs = append(errs, field.Invalid(p.Child("apiVersion"), ref.APIVersion, "must be <group>/<version> or <version>"))
		}
		if ref.Kind == "" {
			errs = append(errs, field.Required(p.Child("kind"), "must not be empty"))
		}
		if ref.Name == "" {
			errs = append(errs, field.Required(p.Child("name"), "must not be empty"))
		}
		if ref.UID == "" {
			errs = append(errs, field.Required(p.Child("uid"), "must not be empty"))
		}
		if gvk := gv.WithKind(ref.Kind); gvk == (schema.GroupVersionKind{Version: "v1", Kind: "Event"}) {
			errs = append(errs, field.Invalid(p, ref, fmt.Sprintf("%s is disallowed from being an owner", gvk)))
		}
		if ref.Controller != nil && *ref.Controller {
			cur := ref.Kind + "/" + ref.Name
			if controller != "" {
				errs = append(errs, field.Invalid(fld, refs, fmt.Sprintf("Only one reference can have Controller set to true. Found \"true\" in references for %v and %v", controller, cur)))
			} else {
				controller = cur
			}
		}
	}
	return errs
}

func vldFinalizers(finalizers []string, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	orphan, foreground := false, false
	for _, f := range finalizers {
		for _, msg := range validation.IsQualifiedName(f) {
			errs = append(errs, field.Invalid(fld, f, msg))
		}
		orphan = orphan || f == metav1.FinalizerOrphanDependents
		foreground = foreground || f == metav1.FinalizerDeleteDependents
	}
	if orphan && foreground {
		errs = append(errs, field.Invalid(fld, finalizers, fmt.Sprintf("finalizer %s and %s cannot be both set", metav1.FinalizerOrphanDependents, metav1.FinalizerDeleteDependents)))
	}
	return errs
}

func vldKubeFinalizerName(f string, fld *field.Path) field.ErrorList {
	if !strings.Contains(f, "/") && f != string(corev1.FinalizerKubernetes) && f != metav1.FinalizerOrphanDependents && f != metav1.FinalizerDeleteDependents {
		return field.ErrorList{field.Invalid(fld, f, "name is neither a standard finalizer name nor is it fully qualified")}
	}
	return nil
}

func vldManagedFields(entries []metav1.ManagedFieldsEntry, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, e := range entries {
		p := fld.Index(i)
		switch e.Operation {
		case "":
			errs = append(errs, field.Required(p.Child("operation"), "must not be empty"))
		case metav1.ManagedFieldsOperationApply, metav1.ManagedFieldsOperationUpdate:
		default:
			errs = append(errs, field.NotSupported(p.Child("operation"), e.Operation, []metav1.ManagedFieldsOperationType{metav1.ManagedFieldsOperationApply, metav1.ManagedFieldsOperationUpdate}))
		}
		if e.FieldsType != "" && e.FieldsType != "FieldsV1" {
			errs = append(errs, field.Invalid(p.Child("fieldsType"), e.FieldsType, "must be `FieldsV1`"))
		}
		if len(e.Manager) > 128 {
			errs = append(errs, field.TooLong(p.Child("manager"), "", 128))
		}
		if len(e.Subresource) > 256 {
			errs = append(errs, field.TooLong(p.Child("subresource"), "", 256))
		}
	}
	return errs
}

// ---- namespaces and nodes ----

func vldNamespaceCreate(ns *corev1.Namespace) field.ErrorList {
	errs := vldKubeObjectMeta(&ns.ObjectMeta, false, vldDNSLabelName, field.NewPath("metadata"))
	for _, f := range ns.Spec.Finalizers {
		p := field.NewPath("spec", "finalizers")
		for _, msg := range validation.IsQualifiedName(string(f)) {
			errs = append(errs, field.Invalid(p, string(f), msg))
		}
		errs = append(errs, vldKubeFinalizerName(string(f), p)...)
	}
	return errs
}

func vldNamespaceUpdate(ns, old *corev1.Namespace) field.ErrorList {
	errs := vldNamespaceCreate(ns)
	return append(errs, vldKubeObjectMetaUpdate(&ns.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))...)
}

func vldNodeCreate(n *corev1.Node) field.ErrorList {
	return vldKubeObjectMeta(&n.ObjectMeta, false, vldDNSSubdomainName, field.NewPath("metadata"))
}

func vldNodeUpdate(n, old *corev1.Node) field.ErrorList {
	errs := vldKubeObjectMetaUpdate(&n.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	return append(errs, vldNodeCreate(n)...)
}

// ---- events (pkg/apis/core/validation/events.go) ----

// Both event APIs are validated on the internal event, so the field paths are the core/v1
// ones (involvedObject, firstTimestamp, ...) even for events.k8s.io requests. Only requests
// to events.k8s.io/v1 get the strict checks.
func vldEventCreate(strict bool) func(runtime.Object) field.ErrorList {
	return func(obj runtime.Object) field.ErrorList {
		e := coreEventOf(obj)
		if e == nil {
			return field.ErrorList{field.InternalError(field.NewPath(""), fmt.Errorf("unexpected object type %T", obj))}
		}
		errs := vldLegacyEvent(e)
		if !strict {
			return errs
		}
		errs = append(errs, vldKubeObjectMeta(&e.ObjectMeta, true, vldDNSSubdomainName, field.NewPath("metadata"))...)
		errs = append(errs, vldEventSeries(e)...)
		if e.EventTime.IsZero() {
			errs = append(errs, field.Required(field.NewPath("eventTime"), ""))
		}
		if e.Type != corev1.EventTypeNormal && e.Type != corev1.EventTypeWarning {
			errs = append(errs, field.Invalid(field.NewPath("type"), "", fmt.Sprintf("has invalid value: %v", e.Type)))
		}
		if !e.FirstTimestamp.IsZero() {
			errs = append(errs, field.Invalid(field.NewPath("firstTimestamp"), "", "needs to be unset"))
		}
		if !e.LastTimestamp.IsZero() {
			errs = append(errs, field.Invalid(field.NewPath("lastTimestamp"), "", "needs to be unset"))
		}
		if e.Count != 0 {
			errs = append(errs, field.Invalid(field.NewPath("count"), "", "needs to be unset"))
		}
		if e.Source.Component != "" || e.Source.Host != "" {
			errs = append(errs, field.Invalid(field.NewPath("source"), "", "needs to be unset"))
		}
		return errs
	}
}

func vldEventUpdate(strict bool) func(runtime.Object, runtime.Object) field.ErrorList {
	return func(obj, old runtime.Object) field.ErrorList {
		e, o := coreEventOf(obj), coreEventOf(old)
		if e == nil || o == nil {
			return field.ErrorList{field.InternalError(field.NewPath(""), fmt.Errorf("unexpected object type %T", obj))}
		}
		errs := vldLegacyEvent(e)
		if !strict {
			return errs
		}
		errs = append(errs, vldKubeObjectMetaUpdate(&e.ObjectMeta, &o.ObjectMeta, field.NewPath("metadata"))...)
		if !reflect.DeepEqual(e.Series, o.Series) {
			errs = append(errs, vldEventSeries(e)...)
		}
		imm := func(name string, nv, ov any) {
			if !vldSemanticEqual(nv, ov) {
				errs = append(errs, field.Invalid(field.NewPath(name), nv, vldImmutable))
			}
		}
		imm("involvedObject", e.InvolvedObject, o.InvolvedObject)
		imm("reason", e.Reason, o.Reason)
		imm("message", e.Message, o.Message)
		imm("source", e.Source, o.Source)
		imm("firstTimestamp", e.FirstTimestamp, o.FirstTimestamp)
		imm("lastTimestamp", e.LastTimestamp, o.LastTimestamp)
		imm("count", e.Count, o.Count)
		imm("reason", e.Reason, o.Reason)
		imm("type", e.Type, o.Type)
		imm("eventTime", e.EventTime, o.EventTime)
		imm("action", e.Action, o.Action)
		imm("related", e.Related, o.Related)
		imm("reportingController", e.ReportingController, o.ReportingController)
		imm("reportingInstance", e.ReportingInstance, o.ReportingInstance)
		return errs
	}
}

func vldEventSeries(e *corev1.Event) field.ErrorList {
	var errs field.ErrorList
	if e.Series != nil {
		if e.Series.Count < 2 {
			errs = append(errs, field.Invalid(field.NewPath("series.count"), "", "should be at least 2"))
		}
		if e.Series.LastObservedTime.IsZero() {
			errs = append(errs, field.Required(field.NewPath("series.lastObservedTime"), ""))
		}
	}
	return errs
}

func vldLegacyEvent(e *corev1.Event) field.ErrorList {
	var errs field.ErrorList
	mismatch := func() {
		errs = append(errs, field.Invalid(field.NewPath("involvedObject", "namespace"), e.InvolvedObject.Namespace, "does not match event.namespace"))
	}
	if e.EventTime.IsZero() {
		if e.InvolvedObject.Namespace == "" {
			// Old clients post events about cluster objects to "default".
			if e.Namespace != "" && e.Namespace != metav1.NamespaceDefault {
				mismatch()
			}
		} else if e.Namespace != e.InvolvedObject.Namespace {
			mismatch()
		}
	} else {
		if e.InvolvedObject.Namespace == "" && e.Namespace != metav1.NamespaceDefault && e.Namespace != metav1.NamespaceSystem {
			mismatch()
		}
		if e.ReportingController == "" {
			errs = append(errs, field.Required(field.NewPath("reportingController"), ""))
		}
		for _, msg := range validation.IsQualifiedName(e.ReportingController) {
			errs = append(errs, field.Invalid(field.NewPath("reportingController"), e.ReportingController, msg))
		}
		tooLong := func(name, v string, limit int) {
			if v == "" {
				errs = append(errs, field.Required(field.NewPath(name), ""))
			}
			if len(v) > limit {
				errs = append(errs, field.Invalid(field.NewPath(name), "", fmt.Sprintf("can have at most %v characters", limit)))
			}
		}
		tooLong("reportingInstance", e.ReportingInstance, 128)
		tooLong("action", e.Action, 128)
		tooLong("reason", e.Reason, 128)
		if len(e.Message) > 1024 {
			errs = append(errs, field.Invalid(field.NewPath("message"), "", fmt.Sprintf("can have at most %v characters", 1024)))
		}
	}
	for _, msg := range validation.IsDNS1123Subdomain(e.Namespace) {
		errs = append(errs, field.Invalid(field.NewPath("namespace"), e.Namespace, msg))
	}
	return errs
}

// vldSemanticEqual compares as apiequality.Semantic does for the values validated here:
// quantities and times by value, nil and empty collections alike. JSON gives all three.
func vldSemanticEqual(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(ja) == string(jb)
}

// ---- access reviews (pkg/apis/authorization/validation) ----

func vldSelfSubjectAccessReview(r *authorizationv1.SelfSubjectAccessReview) field.ErrorList {
	var errs field.ErrorList
	spec := field.NewPath("spec")
	if r.Spec.ResourceAttributes != nil && r.Spec.NonResourceAttributes != nil {
		errs = append(errs, field.Invalid(spec.Child("nonResourceAttributes"), r.Spec.NonResourceAttributes, "cannot be specified in combination with resourceAttributes"))
	}
	if r.Spec.ResourceAttributes == nil && r.Spec.NonResourceAttributes == nil {
		errs = append(errs, field.Invalid(spec.Child("resourceAttributes"), r.Spec.NonResourceAttributes, "exactly one of nonResourceAttributes or resourceAttributes must be specified"))
	}
	meta := r.ObjectMeta
	meta.ManagedFields = nil
	if !vldSemanticEqual(meta, metav1.ObjectMeta{}) {
		errs = append(errs, field.Invalid(field.NewPath("metadata"), r.ObjectMeta, "must be empty"))
	}
	return errs
}

// ---- pods (pkg/apis/core/validation/validation.go) ----

func vldPodCreate(pod *corev1.Pod) field.ErrorList {
	errs := vldPodMetadataAndSpec(pod)
	spec := field.NewPath("spec")
	if len(pod.Spec.EphemeralContainers) > 0 {
		errs = append(errs, field.Forbidden(spec.Child("ephemeralContainers"), "cannot be set on create"))
	}
	if pod.Spec.NodeName != "" && len(pod.Spec.SchedulingGates) != 0 {
		errs = append(errs, field.Forbidden(spec.Child("nodeName"), "cannot be set until all schedulingGates have been cleared"))
	}
	return errs
}

func vldPodMetadataAndSpec(pod *corev1.Pod) field.ErrorList {
	meta, spec := field.NewPath("metadata"), field.NewPath("spec")
	errs := vldKubeObjectMeta(&pod.ObjectMeta, true, vldDNSSubdomainName, meta)
	errs = append(errs, vldPodAnnotations(pod.Annotations, &pod.Spec, meta.Child("annotations"))...)
	errs = append(errs, vldPodSpec(&pod.Spec, &pod.ObjectMeta, spec)...)
	if pod.Spec.ServiceAccountName == "" {
		for vi, v := range pod.Spec.Volumes {
			if v.Projected == nil {
				continue
			}
			for si, s := range v.Projected.Sources {
				if s.ServiceAccountToken != nil {
					p := spec.Child("volumes").Index(vi).Child("projected", "sources").Index(si).Child("serviceAccountToken")
					errs = append(errs, field.Forbidden(p, "must not be specified when serviceAccountName is not set"))
				}
			}
		}
	}
	for _, list := range []struct {
		name string
		cs   []corev1.Container
	}{{"containers", pod.Spec.Containers}, {"initContainers", pod.Spec.InitContainers}} {
		for i, c := range list.cs {
			if len(c.Image) != len(strings.TrimSpace(c.Image)) {
				errs = append(errs, field.Invalid(spec.Child(list.name).Index(i).Child("image"), c.Image, "must not have leading or trailing whitespace"))
			}
		}
	}
	return errs
}

func vldPodAnnotations(annotations map[string]string, spec *corev1.PodSpec, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	if v, ok := annotations[corev1.MirrorPodAnnotationKey]; ok && spec.NodeName == "" {
		errs = append(errs, field.Invalid(fld.Key(corev1.MirrorPodAnnotationKey), v, "must set spec.nodeName if mirror pod annotation is set"))
	}
	if v, ok := annotations[corev1.PodDeletionCost]; ok && !vldIsInt32(v) {
		errs = append(errs, field.Invalid(fld.Key(corev1.PodDeletionCost), v, "must be a 32bit integer"))
	}
	return errs
}

// vldIsInt32 accepts what GetDeletionCostFromPodAnnotations accepts: no '+', no leading zeros.
func vldIsInt32(s string) bool {
	if s == "" || !(s[0] == '-' || s == "0" || (s[0] >= '1' && s[0] <= '9')) {
		return false
	}
	_, err := strconv.ParseInt(s, 10, 32)
	return err == nil
}

func vldPodSpec(spec *corev1.PodSpec, meta *metav1.ObjectMeta, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	if spec.TerminationGracePeriodSeconds == nil {
		errs = append(errs, field.Required(fld.Child("terminationGracePeriodSeconds"), ""))
	}
	grace := spec.TerminationGracePeriodSeconds
	hostUsers := spec.HostUsers == nil || *spec.HostUsers

	vols, verrs := vldVolumes(spec.Volumes, meta, fld.Child("volumes"))
	errs = append(errs, verrs...)
	claims := map[string]bool{}
	for _, c := range spec.ResourceClaims {
		if c.Name != "" {
			claims[c.Name] = true
		}
	}
	errs = append(errs, vldContainers(spec.Containers, vols, grace, fld.Child("containers"), spec.RestartPolicy, hostUsers)...)
	errs = append(errs, vldInitContainers(spec.InitContainers, spec.Containers, vols, grace, fld.Child("initContainers"), spec.RestartPolicy, hostUsers)...)
	errs = append(errs, vldEphemeralContainers(spec, vols, fld.Child("ephemeralContainers"), hostUsers)...)

	if spec.HostNetwork {
		for i, c := range spec.Containers {
			for j, p := range c.Ports {
				if p.HostPort != p.ContainerPort {
					errs = append(errs, field.Invalid(fld.Child("containers").Index(i).Child("ports").Index(j).Child("hostPort"), p.HostPort, "must match `containerPort` when `hostNetwork` is true"))
				}
			}
		}
	}
	errs = append(errs, vldEnum(fld.Child("restartPolicy"), string(spec.RestartPolicy), "Always", "OnFailure", "Never")...)
	errs = append(errs, vldEnum(fld.Child("dnsPolicy"), string(spec.DNSPolicy), "ClusterFirstWithHostNet", "ClusterFirst", "Default", "None")...)
	errs = append(errs, vldLabels(spec.NodeSelector, fld.Child("nodeSelector"))...)
	errs = append(errs, vldPodSecurityContext(spec, fld.Child("securityContext"))...)
	for i, s := range spec.ImagePullSecrets {
		if s != (corev1.LocalObjectReference{Name: s.Name}) {
			errs = append(errs, field.Invalid(fld.Child("imagePullSecrets").Index(i), s, "only name may be set"))
		}
	}
	errs = append(errs, vldDNSConfig(spec.DNSConfig, spec.DNSPolicy, fld.Child("dnsConfig"))...)
	for i, g := range spec.ReadinessGates {
		errs = append(errs, vldQualifiedName(string(g.ConditionType), fld.Child("readinessGates").Index(i).Child("conditionType"))...)
	}
	seenGates := map[string]bool{}
	for i, g := range spec.SchedulingGates {
		p := fld.Child("schedulingGates").Index(i)
		errs = append(errs, vldQualifiedName(g.Name, p)...)
		if seenGates[g.Name] {
			errs = append(errs, field.Duplicate(p, g.Name))
		}
		seenGates[g.Name] = true
	}
	if !hostUsers {
		if spec.HostNetwork {
			errs = append(errs, field.Forbidden(fld.Child("hostNetwork"), "when `pod.Spec.HostUsers` is false"))
		}
		if spec.HostPID {
			errs = append(errs, field.Forbidden(fld.Child("HostPID"), "when `pod.Spec.HostUsers` is false"))
		}
		if spec.HostIPC {
			errs = append(errs, field.Forbidden(fld.Child("HostIPC"), "when `pod.Spec.HostUsers` is false"))
		}
	}
	errs = append(errs, vldNameIn(spec.ServiceAccountName, vldDNSSubdomainName, fld.Child("serviceAccountName"))...)
	errs = append(errs, vldNameIn(spec.NodeName, vldDNSSubdomainName, fld.Child("nodeName"))...)
	if d := spec.ActiveDeadlineSeconds; d != nil && (*d < 1 || *d > math.MaxInt32) {
		errs = append(errs, field.Invalid(fld.Child("activeDeadlineSeconds"), *d, validation.InclusiveRangeError(1, math.MaxInt32)))
	}
	errs = append(errs, vldNameIn(spec.Hostname, vldDNSLabelName, fld.Child("hostname"))...)
	errs = append(errs, vldNameIn(spec.Subdomain, vldDNSLabelName, fld.Child("subdomain"))...)
	errs = append(errs, vldTolerations(spec.Tolerations, fld.Child("tolerations"))...)
	for i, a := range spec.HostAliases {
		p := fld.Child("hostAliases").Index(i)
		errs = append(errs, validation.IsValidIP(p.Child("ip"), a.IP)...)
		for j, h := range a.Hostnames {
			errs = append(errs, vldNameIn(h, vldDNSSubdomainName, p.Child("hostnames").Index(j))...)
		}
	}
	errs = append(errs, vldNameIn(spec.PriorityClassName, vldDNSSubdomainName, fld.Child("priorityClassName"))...)
	if spec.RuntimeClassName != nil {
		for _, msg := range vldDNSSubdomainName(*spec.RuntimeClassName, false) {
			errs = append(errs, field.Invalid(fld.Child("runtimeClassName"), *spec.RuntimeClassName, msg))
		}
	}
	if spec.PreemptionPolicy != nil {
		errs = append(errs, vldEnum(fld.Child("preemptionPolicy"), string(*spec.PreemptionPolicy), "PreemptLowerPriority", "Never")...)
	}
	if spec.Overhead != nil {
		errs = append(errs, vldResources(&corev1.ResourceRequirements{Limits: spec.Overhead}, fld.Child("overhead"))...)
	}
	if spec.OS != nil {
		switch spec.OS.Name {
		case "":
			errs = append(errs, field.Required(fld.Child("os", "name"), "cannot be empty"))
		case corev1.Linux:
			if sc := spec.SecurityContext; sc != nil && sc.WindowsOptions != nil {
				errs = append(errs, field.Forbidden(fld.Child("securityContext", "windowsOptions"), "windows options cannot be set for a linux pod"))
			}
			vldVisitContainers(spec, fld, func(c *corev1.Container, p *field.Path) {
				if c.SecurityContext != nil && c.SecurityContext.WindowsOptions != nil {
					errs = append(errs, field.Forbidden(p.Child("securityContext", "windowsOptions"), "windows options cannot be set for a linux pod"))
				}
			})
		case corev1.Windows:
		default:
			errs = append(errs, field.NotSupported(fld.Child("os"), spec.OS.Name, []corev1.OSName{corev1.Linux, corev1.Windows}))
		}
	}
	return errs
}

func vldVisitContainers(spec *corev1.PodSpec, fld *field.Path, fn func(*corev1.Container, *field.Path)) {
	for i := range spec.InitContainers {
		fn(&spec.InitContainers[i], fld.Child("initContainers").Index(i))
	}
	for i := range spec.Containers {
		fn(&spec.Containers[i], fld.Child("containers").Index(i))
	}
	for i := range spec.EphemeralContainers {
		fn((*corev1.Container)(&spec.EphemeralContainers[i].EphemeralContainerCommon), fld.Child("ephemeralContainers").Index(i))
	}
}

// vldEnum reports "" as Required and anything else outside valid as NotSupported, listing
// the valid values in the order the server lists them.
func vldEnum(fld *field.Path, v string, valid ...string) field.ErrorList {
	if v == "" {
		return field.ErrorList{field.Required(fld, "")}
	}
	if !slices.Contains(valid, v) {
		return field.ErrorList{field.NotSupported(fld, v, valid)}
	}
	return nil
}

// vldNameIn checks an optional name field.
func vldNameIn(v string, nameFn func(string, bool) []string, fld *field.Path) field.ErrorList {
	if v == "" {
		return nil
	}
	var errs field.ErrorList
	for _, msg := range nameFn(v, false) {
		errs = append(errs, field.Invalid(fld, v, msg))
	}
	return errs
}

func vldDNSConfig(cfg *corev1.PodDNSConfig, policy corev1.DNSPolicy, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	if policy == corev1.DNSNone {
		if cfg == nil {
			return field.ErrorList{field.Required(fld, "must provide `dnsConfig` when `dnsPolicy` is None")}
		}
		if len(cfg.Nameservers) == 0 {
			return field.ErrorList{field.Required(fld.Child("nameservers"), "must provide at least one DNS nameserver when `dnsPolicy` is None")}
		}
	}
	if cfg == nil {
		return nil
	}
	if len(cfg.Nameservers) > 3 {
		errs = append(errs, field.Invalid(fld.Child("nameservers"), cfg.Nameservers, "must not have more than 3 nameservers"))
	}
	for i, ns := range cfg.Nameservers {
		errs = append(errs, validation.IsValidIP(fld.Child("nameservers").Index(i), ns)...)
	}
	if len(cfg.Searches) > 32 {
		errs = append(errs, field.Invalid(fld.Child("searches"), cfg.Searches, "must not have more than 32 search paths"))
	}
	if len(strings.Join(cfg.Searches, " ")) > 2048 {
		errs = append(errs, field.Invalid(fld.Child("searches"), cfg.Searches, "must not have more than 2048 characters (including spaces) in the search list"))
	}
	for i, s := range cfg.Searches {
		if s == "." {
			continue
		}
		s = strings.TrimSuffix(s, ".")
		for _, msg := range validation.IsDNS1123SubdomainWithUnderscore(s) {
			errs = append(errs, field.Invalid(fld.Child("searches").Index(i), s, msg))
		}
	}
	for i, o := range cfg.Options {
		if o.Name == "" {
			errs = append(errs, field.Required(fld.Child("options").Index(i), "must not be empty"))
		}
	}
	return errs
}

func vldTolerations(ts []corev1.Toleration, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, t := range ts {
		p := fld.Index(i)
		if t.Key != "" {
			errs = append(errs, vldLabelName(t.Key, p.Child("key"))...)
		}
		if t.Key == "" && t.Operator != corev1.TolerationOpExists {
			errs = append(errs, field.Invalid(p.Child("operator"), t.Operator, "operator must be Exists when `key` is empty, which means \"match all values and all keys\""))
		}
		if t.TolerationSeconds != nil && t.Effect != corev1.TaintEffectNoExecute {
			errs = append(errs, field.Invalid(p.Child("effect"), t.Effect, "effect must be 'NoExecute' when `tolerationSeconds` is set"))
		}
		switch t.Operator {
		case corev1.TolerationOpEqual, "":
			if msgs := validation.IsValidLabelValue(t.Value); len(msgs) != 0 {
				errs = append(errs, field.Invalid(p.Child("operator"), t.Value, strings.Join(msgs, ";")))
			}
		case corev1.TolerationOpExists:
			if t.Value != "" {
				errs = append(errs, field.Invalid(p.Child("operator"), t.Value, "value must be empty when `operator` is 'Exists'"))
			}
		default:
			errs = append(errs, field.NotSupported(p.Child("operator"), t.Operator, []corev1.TolerationOperator{corev1.TolerationOpEqual, corev1.TolerationOpExists}))
		}
		switch t.Effect {
		case "", corev1.TaintEffectNoSchedule, corev1.TaintEffectPreferNoSchedule, corev1.TaintEffectNoExecute:
		default:
			errs = append(errs, field.NotSupported(p.Child("effect"), t.Effect, []corev1.TaintEffect{corev1.TaintEffectNoSchedule, corev1.TaintEffectPreferNoSchedule, corev1.TaintEffectNoExecute}))
		}
	}
	return errs
}

func vldPodSecurityContext(spec *corev1.PodSpec, fld *field.Path) field.ErrorList {
	sc := spec.SecurityContext
	if sc == nil {
		return nil
	}
	var errs field.ErrorList
	if sc.FSGroup != nil {
		for _, msg := range validation.IsValidGroupID(*sc.FSGroup) {
			errs = append(errs, field.Invalid(fld.Child("fsGroup"), *sc.FSGroup, msg))
		}
	}
	errs = append(errs, vldUserGroup(sc.RunAsUser, sc.RunAsGroup, fld)...)
	for i, gid := range sc.SupplementalGroups {
		for _, msg := range validation.IsValidGroupID(gid) {
			errs = append(errs, field.Invalid(fld.Child("supplementalGroups").Index(i), gid, msg))
		}
	}
	if spec.ShareProcessNamespace != nil && spec.HostPID && *spec.ShareProcessNamespace {
		errs = append(errs, field.Invalid(fld.Child("shareProcessNamespace"), *spec.ShareProcessNamespace, "ShareProcessNamespace and HostPID cannot both be enabled"))
	}
	seen := map[string]bool{}
	for i, s := range sc.Sysctls {
		p := fld.Child("sysctls").Index(i).Child("name")
		switch {
		case s.Name == "":
			errs = append(errs, field.Required(p, ""))
		case !vldSysctlRegexp.MatchString(s.Name) || len(s.Name) > 253:
			errs = append(errs, field.Invalid(p, s.Name, "must have at most 253 characters and match regex "+vldSysctlRegexp.String()))
		case seen[s.Name]:
			errs = append(errs, field.Duplicate(p, s.Name))
		}
		n := strings.ReplaceAll(s.Name, "/", ".")
		switch {
		case spec.HostNetwork && strings.HasPrefix(n, "net."):
			errs = append(errs, field.Invalid(p, s.Name, "may not be specified when 'hostNetwork' is true"))
		case spec.HostIPC && (strings.HasPrefix(n, "kernel.shm") || strings.HasPrefix(n, "kernel.msg") || n == "kernel.sem" || strings.HasPrefix(n, "fs.mqueue.")):
			errs = append(errs, field.Invalid(p, s.Name, "may not be specified when 'hostIPC' is true"))
		}
		seen[s.Name] = true
	}
	if sc.FSGroupChangePolicy != nil && *sc.FSGroupChangePolicy != corev1.FSGroupChangeAlways && *sc.FSGroupChangePolicy != corev1.FSGroupChangeOnRootMismatch {
		errs = append(errs, field.NotSupported(fld.Child("fsGroupChangePolicy"), sc.FSGroupChangePolicy, []string{"Always", "OnRootMismatch"}))
	}
	errs = append(errs, vldSeccomp(sc.SeccompProfile, fld.Child("seccompProfile"))...)
	errs = append(errs, vldAppArmor(sc.AppArmorProfile, fld.Child("appArmorProfile"))...)
	if p := sc.SupplementalGroupsPolicy; p != nil && *p != corev1.SupplementalGroupsPolicyMerge && *p != corev1.SupplementalGroupsPolicyStrict {
		errs = append(errs, field.NotSupported(fld.Child("supplementalGroupsPolicy"), p, []string{"Merge", "Strict"}))
	}
	if p := sc.SELinuxChangePolicy; p != nil && *p != corev1.SELinuxChangePolicyRecursive && *p != corev1.SELinuxChangePolicyMountOption {
		errs = append(errs, field.NotSupported(fld.Child("seLinuxChangePolicy"), *p, []string{"MountOption", "Recursive"}))
	}
	return errs
}

var vldSysctlRegexp = func() *regexp.Regexp {
	const seg = "[a-z0-9]([-_a-z0-9]*[a-z0-9])?"
	return regexp.MustCompile("^(" + seg + "[\\./])*" + seg + "$")
}()

func vldUserGroup(user, group *int64, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	if user != nil {
		for _, msg := range validation.IsValidUserID(*user) {
			errs = append(errs, field.Invalid(fld.Child("runAsUser"), *user, msg))
		}
	}
	if group != nil {
		for _, msg := range validation.IsValidGroupID(*group) {
			errs = append(errs, field.Invalid(fld.Child("runAsGroup"), *group, msg))
		}
	}
	return errs
}

func vldSeccomp(sp *corev1.SeccompProfile, fld *field.Path) field.ErrorList {
	if sp == nil {
		return nil
	}
	var errs field.ErrorList
	switch sp.Type {
	case corev1.SeccompProfileTypeLocalhost, corev1.SeccompProfileTypeRuntimeDefault, corev1.SeccompProfileTypeUnconfined:
	case "":
		errs = append(errs, field.Required(fld.Child("type"), "type is required when seccompProfile is set"))
	default:
		errs = append(errs, field.NotSupported(fld.Child("type"), sp.Type, []corev1.SeccompProfileType{corev1.SeccompProfileTypeLocalhost, corev1.SeccompProfileTypeRuntimeDefault, corev1.SeccompProfileTypeUnconfined}))
	}
	if sp.Type == corev1.SeccompProfileTypeLocalhost {
		if sp.LocalhostProfile == nil {
			errs = append(errs, field.Required(fld.Child("localhostProfile"), "must be set when seccomp type is Localhost"))
		} else {
			errs = append(errs, vldLocalDescendingPath(*sp.LocalhostProfile, fld.Child("localhostProfile"))...)
		}
	} else if sp.LocalhostProfile != nil {
		errs = append(errs, field.Invalid(fld.Child("localhostProfile"), sp, "can only be set when seccomp type is Localhost"))
	}
	return errs
}

func vldAppArmor(p *corev1.AppArmorProfile, fld *field.Path) field.ErrorList {
	if p == nil {
		return nil
	}
	var errs field.ErrorList
	switch p.Type {
	case corev1.AppArmorProfileTypeLocalhost:
		if p.LocalhostProfile == nil {
			errs = append(errs, field.Required(fld.Child("localhostProfile"), "must be set when AppArmor type is Localhost"))
			break
		}
		lp := strings.TrimSpace(*p.LocalhostProfile)
		if lp != *p.LocalhostProfile {
			errs = append(errs, field.Invalid(fld.Child("localhostProfile"), *p.LocalhostProfile, "must not be padded with whitespace"))
		} else if lp == "" {
			errs = append(errs, field.Required(fld.Child("localhostProfile"), "must be set when AppArmor type is Localhost"))
		}
		if len(*p.LocalhostProfile) > 4095 {
			errs = append(errs, field.TooLong(fld.Child("localhostProfile"), "", 4095))
		}
	case corev1.AppArmorProfileTypeRuntimeDefault, corev1.AppArmorProfileTypeUnconfined:
		if p.LocalhostProfile != nil {
			errs = append(errs, field.Invalid(fld.Child("localhostProfile"), p.LocalhostProfile, "can only be set when AppArmor type is Localhost"))
		}
	case "":
		errs = append(errs, field.Required(fld.Child("type"), "type is required when appArmorProfile is set"))
	default:
		errs = append(errs, field.NotSupported(fld.Child("type"), p.Type, []corev1.AppArmorProfileType{corev1.AppArmorProfileTypeLocalhost, corev1.AppArmorProfileTypeRuntimeDefault, corev1.AppArmorProfileTypeUnconfined}))
	}
	return errs
}

// ---- volumes ----

// vldVolumes returns the valid volumes by name, which volume mounts must refer to.
func vldVolumes(vols []corev1.Volume, meta *metav1.ObjectMeta, fld *field.Path) (map[string]*corev1.VolumeSource, field.ErrorList) {
	var errs field.ErrorList
	valid := map[string]*corev1.VolumeSource{}
	created := map[string]bool{}
	if meta != nil && meta.Name != "" {
		for _, v := range vols {
			if v.Ephemeral != nil {
				created[meta.Name+"-"+v.Name] = true
			}
		}
	}
	for i := range vols {
		v := &vols[i]
		p := fld.Index(i)
		el := vldVolumeSource(&v.VolumeSource, p, v.Name, meta)
		if v.Name == "" {
			el = append(el, field.Required(p.Child("name"), ""))
		} else {
			for _, msg := range validation.IsDNS1123Label(v.Name) {
				el = append(el, field.Invalid(p.Child("name"), v.Name, msg))
			}
		}
		if _, dup := valid[v.Name]; dup {
			el = append(el, field.Duplicate(p.Child("name"), v.Name))
		}
		if len(el) == 0 {
			valid[v.Name] = &v.VolumeSource
		} else {
			errs = append(errs, el...)
		}
		if v.PersistentVolumeClaim != nil && created[v.PersistentVolumeClaim.ClaimName] {
			errs = append(errs, field.Invalid(p.Child("persistentVolumeClaim", "claimName"), v.PersistentVolumeClaim.ClaimName, "must not reference a PVC that gets created for an ephemeral volume"))
		}
	}
	return valid, errs
}

func vldVolumeSource(src *corev1.VolumeSource, fld *field.Path, name string, meta *metav1.ObjectMeta) field.ErrorList {
	var errs field.ErrorList
	n := 0
	// Sources in the server's order, under the path names it uses (typos included).
	one := func(set bool, child string, check func() field.ErrorList) {
		if !set {
			return
		}
		if n > 0 {
			errs = append(errs, field.Forbidden(fld.Child(child), vldMultipleVolume))
			return
		}
		n++
		if check != nil {
			errs = append(errs, check()...)
		}
	}
	one(src.EmptyDir != nil, "emptyDir", func() field.ErrorList {
		if l := src.EmptyDir.SizeLimit; l != nil && l.Sign() < 0 {
			return field.ErrorList{field.Forbidden(fld.Child("emptyDir", "sizeLimit"), "SizeLimit field must be a valid resource quantity")}
		}
		return nil
	})
	one(src.HostPath != nil, "hostPath", func() field.ErrorList { return vldHostPath(src.HostPath, fld.Child("hostPath")) })
	one(src.GitRepo != nil, "gitRepo", func() field.ErrorList {
		var e field.ErrorList
		if src.GitRepo.Repository == "" {
			e = append(e, field.Required(fld.Child("gitRepo", "repository"), ""))
		}
		return append(e, vldLocalDescendingPath(src.GitRepo.Directory, fld.Child("gitRepo", "directory"))...)
	})
	one(src.GCEPersistentDisk != nil, "gcePersistentDisk", nil)
	one(src.AWSElasticBlockStore != nil, "awsElasticBlockStore", nil)
	one(src.Secret != nil, "secret", func() field.ErrorList {
		p := fld.Child("secret")
		var e field.ErrorList
		if src.Secret.SecretName == "" {
			e = append(e, field.Required(p.Child("secretName"), ""))
		}
		e = append(e, vldFileMode(src.Secret.DefaultMode, p.Child("defaultMode"))...)
		for i := range src.Secret.Items {
			e = append(e, vldKeyToPath(&src.Secret.Items[i], p.Child("items").Index(i))...)
		}
		return e
	})
	one(src.NFS != nil, "nfs", func() field.ErrorList {
		p := fld.Child("nfs")
		var e field.ErrorList
		if src.NFS.Server == "" {
			e = append(e, field.Required(p.Child("server"), ""))
		}
		if src.NFS.Path == "" {
			e = append(e, field.Required(p.Child("path"), ""))
		}
		if !path.IsAbs(src.NFS.Path) {
			e = append(e, field.Invalid(p.Child("path"), src.NFS.Path, "must be an absolute path"))
		}
		return e
	})
	one(src.ISCSI != nil, "iscsi", nil)
	one(src.Glusterfs != nil, "glusterfs", nil)
	one(src.Flocker != nil, "flocker", nil)
	one(src.PersistentVolumeClaim != nil, "persistentVolumeClaim", func() field.ErrorList {
		if src.PersistentVolumeClaim.ClaimName == "" {
			return field.ErrorList{field.Required(fld.Child("persistentVolumeClaim", "claimName"), "")}
		}
		return nil
	})
	one(src.RBD != nil, "rbd", nil)
	one(src.Cinder != nil, "cinder", nil)
	one(src.CephFS != nil, "cephFS", nil)
	one(src.Quobyte != nil, "quobyte", nil)
	one(src.DownwardAPI != nil, "downwarAPI", func() field.ErrorList {
		p := fld.Child("downwardAPI")
		e := vldFileMode(src.DownwardAPI.DefaultMode, p.Child("defaultMode"))
		for i := range src.DownwardAPI.Items {
			e = append(e, vldDownwardAPIFile(&src.DownwardAPI.Items[i], p)...)
		}
		return e
	})
	one(src.FC != nil, "fc", nil)
	one(src.FlexVolume != nil, "flexVolume", nil)
	one(src.ConfigMap != nil, "configMap", func() field.ErrorList {
		p := fld.Child("configMap")
		var e field.ErrorList
		if src.ConfigMap.Name == "" {
			e = append(e, field.Required(p.Child("name"), ""))
		}
		e = append(e, vldFileMode(src.ConfigMap.DefaultMode, p.Child("defaultMode"))...)
		for i := range src.ConfigMap.Items {
			e = append(e, vldKeyToPath(&src.ConfigMap.Items[i], p.Child("items").Index(i))...)
		}
		return e
	})
	one(src.AzureFile != nil, "azureFile", nil)
	one(src.VsphereVolume != nil, "vsphereVolume", nil)
	one(src.PhotonPersistentDisk != nil, "photonPersistentDisk", nil)
	one(src.PortworxVolume != nil, "portworxVolume", nil)
	one(src.AzureDisk != nil, "azureDisk", nil)
	one(src.StorageOS != nil, "storageos", nil)
	one(src.Projected != nil, "projected", func() field.ErrorList { return vldProjected(src.Projected, fld.Child("projected")) })
	one(src.ScaleIO != nil, "scaleIO", nil)
	one(src.CSI != nil, "csi", func() field.ErrorList {
		if src.CSI.Driver == "" {
			return field.ErrorList{field.Required(fld.Child("csi", "driver"), "")}
		}
		return nil
	})
	one(src.Ephemeral != nil, "ephemeral", func() field.ErrorList {
		if meta == nil || meta.Name == "" || name == "" {
			return nil
		}
		var e field.ErrorList
		pvc := meta.Name + "-" + name
		for _, msg := range validation.IsDNS1123Subdomain(pvc) {
			e = append(e, field.Invalid(fld.Child("name"), name, fmt.Sprintf("PVC name %q: %v", pvc, msg)))
		}
		return e
	})
	one(src.Image != nil, "image", func() field.ErrorList {
		var e field.ErrorList
		if src.Image.Reference == "" {
			e = append(e, field.Required(fld.Child("image", "reference"), ""))
		}
		return append(e, vldEnum(fld.Child("image", "pullPolicy"), string(src.Image.PullPolicy), "Always", "IfNotPresent", "Never")...)
	})
	if n == 0 {
		errs = append(errs, field.Required(fld, "must specify a volume type"))
	}
	return errs
}

var vldHostPathTypes = []string{"", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", "File", "FileOrCreate", "Socket"}

func vldHostPath(hp *corev1.HostPathVolumeSource, fld *field.Path) field.ErrorList {
	if hp.Path == "" {
		return field.ErrorList{field.Required(fld.Child("path"), "")}
	}
	errs := vldNoBacksteps(hp.Path, fld.Child("path"))
	if hp.Type != nil && !slices.Contains(vldHostPathTypes, string(*hp.Type)) {
		errs = append(errs, field.NotSupported(fld.Child("type"), hp.Type, vldHostPathTypes))
	}
	return errs
}

func vldFileMode(mode *int32, fld *field.Path) field.ErrorList {
	if mode != nil && (*mode > 0777 || *mode < 0) {
		return field.ErrorList{field.Invalid(fld, *mode, vldFileModeMsg)}
	}
	return nil
}

func vldKeyToPath(kp *corev1.KeyToPath, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	if kp.Key == "" {
		errs = append(errs, field.Required(fld.Child("key"), ""))
	}
	if kp.Path == "" {
		errs = append(errs, field.Required(fld.Child("path"), ""))
	}
	errs = append(errs, vldLocalNonReservedPath(kp.Path, fld.Child("path"))...)
	return append(errs, vldFileMode(kp.Mode, fld.Child("mode"))...)
}

var (
	vldVolumeFieldPaths = []string{"metadata.annotations", "metadata.labels", "metadata.name", "metadata.namespace", "metadata.uid"}
	vldEnvFieldPaths    = []string{"metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName", "spec.serviceAccountName", "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs"}
	vldResourceFields   = []string{"limits.cpu", "limits.ephemeral-storage", "limits.memory", "requests.cpu", "requests.ephemeral-storage", "requests.memory"}
)

func vldDownwardAPIFile(f *corev1.DownwardAPIVolumeFile, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	if f.Path == "" {
		errs = append(errs, field.Required(fld.Child("path"), ""))
	}
	errs = append(errs, vldLocalNonReservedPath(f.Path, fld.Child("path"))...)
	switch {
	case f.FieldRef != nil:
		errs = append(errs, vldFieldSelector(f.FieldRef, vldVolumeFieldPaths, fld.Child("fieldRef"))...)
		if f.ResourceFieldRef != nil {
			errs = append(errs, field.Invalid(fld, "resource", "fieldRef and resourceFieldRef can not be specified simultaneously"))
		}
	case f.ResourceFieldRef != nil:
		errs = append(errs, vldResourceFieldSelector(f.ResourceFieldRef, fld.Child("resourceFieldRef"), true)...)
	default:
		errs = append(errs, field.Required(fld, "one of fieldRef and resourceFieldRef is required"))
	}
	return append(errs, vldFileMode(f.Mode, fld.Child("mode"))...)
}

func vldProjected(pv *corev1.ProjectedVolumeSource, fld *field.Path) field.ErrorList {
	errs := vldFileMode(pv.DefaultMode, fld.Child("defaultMode"))
	paths := map[string]bool{}
	dup := func(p string, bad any) {
		if p == "" {
			return
		}
		if paths[p] {
			errs = append(errs, field.Invalid(fld, bad, "conflicting duplicate paths"))
		}
		paths[p] = true
	}
	for i, s := range pv.Sources {
		n := 0
		sp := fld.Child("sources").Index(i)
		if s.Secret != nil {
			n++
			if s.Secret.Name == "" {
				errs = append(errs, field.Required(sp.Child("secret", "name"), ""))
			}
			for j := range s.Secret.Items {
				errs = append(errs, vldKeyToPath(&s.Secret.Items[j], sp.Child("secret", "items").Index(j))...)
				dup(s.Secret.Items[j].Path, s.Secret.Name)
			}
		}
		if s.ConfigMap != nil {
			n++
			if s.ConfigMap.Name == "" {
				errs = append(errs, field.Required(sp.Child("configMap", "name"), ""))
			}
			for j := range s.ConfigMap.Items {
				errs = append(errs, vldKeyToPath(&s.ConfigMap.Items[j], sp.Child("configMap", "items").Index(j))...)
				dup(s.ConfigMap.Items[j].Path, s.ConfigMap.Name)
			}
		}
		if s.DownwardAPI != nil {
			n++
			for j := range s.DownwardAPI.Items {
				errs = append(errs, vldDownwardAPIFile(&s.DownwardAPI.Items[j], sp.Child("downwardAPI"))...)
				dup(s.DownwardAPI.Items[j].Path, s.DownwardAPI.Items[j].Path)
			}
		}
		if t := s.ServiceAccountToken; t != nil {
			n++
			exp := int64(0)
			if t.ExpirationSeconds != nil {
				exp = *t.ExpirationSeconds
			}
			if exp < 10*60 {
				errs = append(errs, field.Invalid(sp.Child("serviceAccountToken", "expirationSeconds"), exp, "may not specify a duration less than 10 minutes"))
			}
			if exp > 1<<32 {
				errs = append(errs, field.Invalid(sp.Child("serviceAccountToken", "expirationSeconds"), exp, "may not specify a duration larger than 2^32 seconds"))
			}
			if t.Path == "" {
				errs = append(errs, field.Required(fld.Child("path"), ""))
			} else {
				errs = append(errs, vldLocalNonReservedPath(t.Path, fld.Child("path"))...)
			}
		}
		if s.ClusterTrustBundle != nil {
			n++
		}
		if s.PodCertificate != nil {
			n++
		}
		if n > 1 {
			errs = append(errs, field.Forbidden(sp, "may not specify more than 1 volume type per source"))
		}
	}
	return errs
}

func vldLocalDescendingPath(p string, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	if path.IsAbs(p) {
		errs = append(errs, field.Invalid(fld, p, "must be a relative path"))
	}
	return append(errs, vldNoBacksteps(p, fld)...)
}

func vldNoBacksteps(p string, fld *field.Path) field.ErrorList {
	if slices.Contains(strings.Split(p, "/"), "..") {
		return field.ErrorList{field.Invalid(fld, p, "must not contain '..'")}
	}
	return nil
}

func vldLocalNonReservedPath(p string, fld *field.Path) field.ErrorList {
	errs := vldLocalDescendingPath(p, fld)
	if strings.HasPrefix(p, "..") && !strings.HasPrefix(p, "../") {
		errs = append(errs, field.Invalid(fld, p, "must not start with '..'"))
	}
	return errs
}

// ---- containers ----

func vldContainers(cs []corev1.Container, vols map[string]*corev1.VolumeSource, grace *int64, fld *field.Path, rp corev1.RestartPolicy, hostUsers bool) field.ErrorList {
	if len(cs) == 0 {
		return field.ErrorList{field.Required(fld, "")}
	}
	var errs field.ErrorList
	names := map[string]bool{}
	for i := range cs {
		c := &cs[i]
		p := fld.Index(i)
		errs = append(errs, vldContainerCommon(c, vols, p, rp, hostUsers)...)
		if names[c.Name] {
			errs = append(errs, field.Duplicate(p.Child("name"), c.Name))
		}
		names[c.Name] = true
		if c.Lifecycle != nil {
			errs = append(errs, vldLifecycle(c.Lifecycle, grace, p.Child("lifecycle"))...)
		}
		errs = append(errs, vldProbes(c, grace, p)...)
		if c.RestartPolicy != nil {
			errs = append(errs, field.Forbidden(p.Child("restartPolicy"), "may not be set for non-init containers"))
		}
	}
	return append(errs, vldHostPortConflicts(cs, fld)...)
}

func vldInitContainers(cs, regular []corev1.Container, vols map[string]*corev1.VolumeSource, grace *int64, fld *field.Path, rp corev1.RestartPolicy, hostUsers bool) field.ErrorList {
	var errs field.ErrorList
	names := map[string]bool{}
	for _, c := range regular {
		names[c.Name] = true
	}
	for i := range cs {
		c := &cs[i]
		p := fld.Index(i)
		errs = append(errs, vldContainerCommon(c, vols, p, rp, hostUsers)...)
		always := false
		if c.RestartPolicy != nil {
			if *c.RestartPolicy != corev1.ContainerRestartPolicyAlways {
				errs = append(errs, field.NotSupported(p.Child("restartPolicy"), *c.RestartPolicy, []corev1.ContainerRestartPolicy{corev1.ContainerRestartPolicyAlways}))
			}
			always = *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
		}
		if names[c.Name] {
			errs = append(errs, field.Duplicate(p.Child("name"), c.Name))
		} else if c.Name != "" {
			names[c.Name] = true
		}
		// Init containers run one at a time: only ports within one can collide, and the
		// server reports them at index 0 of the list it builds.
		errs = append(errs, vldHostPortConflicts([]corev1.Container{*c}, fld)...)
		if always {
			if c.Lifecycle != nil {
				errs = append(errs, vldLifecycle(c.Lifecycle, grace, p.Child("lifecycle"))...)
			}
			errs = append(errs, vldProbes(c, grace, p)...)
			continue
		}
		if c.Lifecycle != nil {
			errs = append(errs, field.Forbidden(p.Child("lifecycle"), vldNotInitAlways))
		}
		if c.LivenessProbe != nil {
			errs = append(errs, field.Forbidden(p.Child("livenessProbe"), vldNotInitAlways))
		}
		if c.ReadinessProbe != nil {
			errs = append(errs, field.Forbidden(p.Child("readinessProbe"), vldNotInitAlways))
		}
		if c.StartupProbe != nil {
			errs = append(errs, field.Forbidden(p.Child("startupProbe"), vldNotInitAlways))
		}
	}
	return errs
}

func vldEphemeralContainers(spec *corev1.PodSpec, vols map[string]*corev1.VolumeSource, fld *field.Path, hostUsers bool) field.ErrorList {
	var errs field.ErrorList
	others, all := map[string]bool{}, map[string]bool{}
	for _, c := range spec.Containers {
		others[c.Name], all[c.Name] = true, true
	}
	for _, c := range spec.InitContainers {
		others[c.Name], all[c.Name] = true, true
	}
	for i := range spec.EphemeralContainers {
		ec := &spec.EphemeralContainers[i]
		p := fld.Index(i)
		c := (*corev1.Container)(&ec.EphemeralContainerCommon)
		errs = append(errs, vldContainerCommon(c, vols, p, spec.RestartPolicy, hostUsers)...)
		if len(c.Image) != len(strings.TrimSpace(c.Image)) {
			errs = append(errs, field.Invalid(p.Child("image"), c.Image, "must not have leading or trailing whitespace"))
		}
		if all[ec.Name] {
			errs = append(errs, field.Duplicate(p.Child("name"), ec.Name))
		} else {
			all[ec.Name] = true
		}
		if ec.TargetContainerName != "" && !others[ec.TargetContainerName] {
			errs = append(errs, field.NotFound(p.Child("targetContainerName"), ec.TargetContainerName))
		}
	}
	return errs
}

func vldContainerCommon(c *corev1.Container, vols map[string]*corev1.VolumeSource, fld *field.Path, rp corev1.RestartPolicy, hostUsers bool) field.ErrorList {
	var errs field.ErrorList
	if c.Name == "" {
		errs = append(errs, field.Required(fld.Child("name"), ""))
	} else {
		for _, msg := range validation.IsDNS1123Label(c.Name) {
			errs = append(errs, field.Invalid(fld.Child("name"), c.Name, msg))
		}
	}
	if c.Image == "" {
		errs = append(errs, field.Required(fld.Child("image"), ""))
	}
	errs = append(errs, vldEnum(fld.Child("terminationMessagePolicy"), string(c.TerminationMessagePolicy), "File", "FallbackToLogsOnError")...)
	errs = append(errs, vldPorts(c.Ports, fld.Child("ports"))...)
	errs = append(errs, vldEnv(c.Env, fld.Child("env"))...)
	errs = append(errs, vldEnvFrom(c.EnvFrom, fld.Child("envFrom"))...)
	errs = append(errs, vldVolumeMounts(c, vols, fld.Child("volumeMounts"))...)
	errs = append(errs, vldVolumeDevices(c, vols, fld.Child("volumeDevices"))...)
	errs = append(errs, vldEnum(fld.Child("imagePullPolicy"), string(c.ImagePullPolicy), "Always", "IfNotPresent", "Never")...)
	errs = append(errs, vldResources(&c.Resources, fld.Child("resources"))...)
	errs = append(errs, vldResizePolicy(c.ResizePolicy, fld.Child("resizePolicy"), rp)...)
	return append(errs, vldSecurityContext(c.SecurityContext, fld.Child("securityContext"), hostUsers)...)
}

func vldPorts(ports []corev1.ContainerPort, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	names := map[string]bool{}
	for i, p := range ports {
		ip := fld.Index(i)
		if p.Name != "" {
			if msgs := validation.IsValidPortName(p.Name); len(msgs) != 0 {
				for _, msg := range msgs {
					errs = append(errs, field.Invalid(ip.Child("name"), p.Name, msg))
				}
			} else if names[p.Name] {
				errs = append(errs, field.Duplicate(ip.Child("name"), p.Name))
			} else {
				names[p.Name] = true
			}
		}
		if p.ContainerPort == 0 {
			errs = append(errs, field.Required(ip.Child("containerPort"), ""))
		} else {
			for _, msg := range validation.IsValidPortNum(int(p.ContainerPort)) {
				errs = append(errs, field.Invalid(ip.Child("containerPort"), p.ContainerPort, msg))
			}
		}
		if p.HostPort != 0 {
			for _, msg := range validation.IsValidPortNum(int(p.HostPort)) {
				errs = append(errs, field.Invalid(ip.Child("hostPort"), p.HostPort, msg))
			}
		}
		if p.Protocol == "" {
			errs = append(errs, field.Required(ip.Child("protocol"), ""))
		} else if p.Protocol != corev1.ProtocolTCP && p.Protocol != corev1.ProtocolUDP && p.Protocol != corev1.ProtocolSCTP {
			errs = append(errs, field.NotSupported(ip.Child("protocol"), p.Protocol, []corev1.Protocol{corev1.ProtocolSCTP, corev1.ProtocolTCP, corev1.ProtocolUDP}))
		}
	}
	return errs
}

func vldHostPortConflicts(cs []corev1.Container, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := map[string]bool{}
	for ci, c := range cs {
		for pi, p := range c.Ports {
			if p.HostPort == 0 {
				continue
			}
			key := fmt.Sprintf("%s/%s/%d", p.Protocol, p.HostIP, p.HostPort)
			if seen[key] {
				errs = append(errs, field.Duplicate(fld.Index(ci).Child("ports").Index(pi).Child("hostPort"), key))
			}
			seen[key] = true
		}
	}
	return errs
}

// vldEnv uses the relaxed name rule (any printable ASCII but '='), GA since Kubernetes 1.34.
func vldEnv(env []corev1.EnvVar, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, ev := range env {
		p := fld.Index(i)
		if ev.Name == "" {
			errs = append(errs, field.Required(p.Child("name"), ""))
		} else {
			for _, msg := range validation.IsRelaxedEnvVarName(ev.Name) {
				errs = append(errs, field.Invalid(p.Child("name"), ev.Name, msg))
			}
		}
		errs = append(errs, vldEnvValueFrom(&ev, p.Child("valueFrom"))...)
	}
	return errs
}

func vldEnvValueFrom(ev *corev1.EnvVar, fld *field.Path) field.ErrorList {
	vf := ev.ValueFrom
	if vf == nil {
		return nil
	}
	var errs field.ErrorList
	n := 0
	if vf.FieldRef != nil {
		n++
		errs = append(errs, vldFieldSelector(vf.FieldRef, vldEnvFieldPaths, fld.Child("fieldRef"))...)
	}
	if vf.ResourceFieldRef != nil {
		n++
		errs = append(errs, vldResourceFieldSelector(vf.ResourceFieldRef, fld.Child("resourceFieldRef"), false)...)
	}
	if vf.ConfigMapKeyRef != nil {
		n++
		errs = append(errs, vldKeySelector(vf.ConfigMapKeyRef.Name, vf.ConfigMapKeyRef.Key, fld.Child("configMapKeyRef"))...)
	}
	if vf.SecretKeyRef != nil {
		n++
		errs = append(errs, vldKeySelector(vf.SecretKeyRef.Name, vf.SecretKeyRef.Key, fld.Child("secretKeyRef"))...)
	}
	if vf.FileKeyRef != nil {
		n++
	}
	switch {
	case n == 0:
		errs = append(errs, field.Invalid(fld, "", "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"))
	case ev.Value != "":
		errs = append(errs, field.Invalid(fld, "", "may not be specified when `value` is not empty"))
	case n > 1:
		errs = append(errs, field.Invalid(fld, "", "may not have more than one field specified at a time"))
	}
	return errs
}

func vldKeySelector(name, key string, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsDNS1123Subdomain(name) {
		errs = append(errs, field.Invalid(fld.Child("name"), name, msg))
	}
	if key == "" {
		errs = append(errs, field.Required(fld.Child("key"), ""))
	} else {
		for _, msg := range validation.IsConfigMapKey(key) {
			errs = append(errs, field.Invalid(fld.Child("key"), key, msg))
		}
	}
	return errs
}

func vldFieldSelector(fs *corev1.ObjectFieldSelector, valid []string, fld *field.Path) field.ErrorList {
	if fs.APIVersion == "" {
		return field.ErrorList{field.Required(fld.Child("apiVersion"), "")}
	}
	if fs.FieldPath == "" {
		return field.ErrorList{field.Required(fld.Child("fieldPath"), "")}
	}
	p, subscript, ok := vldSplitSubscript(fs.FieldPath)
	// pods.ConvertDownwardAPIFieldLabel
	var convErr string
	switch {
	case fs.APIVersion != "v1":
		convErr = "unsupported pod version: " + fs.APIVersion
	case ok && p != "metadata.annotations" && p != "metadata.labels":
		convErr = "field label does not support subscript: " + fs.FieldPath
	case !ok && !slices.Contains([]string{"metadata.annotations", "metadata.labels", "metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName", "spec.restartPolicy", "spec.serviceAccountName", "spec.schedulerName", "status.phase", "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs", "spec.host"}, fs.FieldPath):
		convErr = "field label not supported: " + fs.FieldPath
	}
	if convErr != "" {
		return field.ErrorList{field.Invalid(fld.Child("fieldPath"), fs.FieldPath, "error converting fieldPath: "+convErr)}
	}
	if ok {
		if p == "metadata.annotations" {
			subscript = strings.ToLower(subscript)
		}
		return vldQualifiedName(subscript, fld)
	}
	if p == "spec.host" {
		p = "spec.nodeName"
	}
	if !slices.Contains(valid, p) {
		return field.ErrorList{field.NotSupported(fld.Child("fieldPath"), p, valid)}
	}
	return nil
}

// vldSplitSubscript is fieldpath.SplitMaybeSubscriptedPath: "metadata.labels['x']".
func vldSplitSubscript(fp string) (string, string, bool) {
	if !strings.HasSuffix(fp, "']") {
		return fp, "", false
	}
	parts := strings.SplitN(strings.TrimSuffix(fp, "']"), "['", 2)
	if len(parts) < 2 || parts[0] == "" {
		return fp, "", false
	}
	return parts[0], parts[1], true
}

func vldResourceFieldSelector(fs *corev1.ResourceFieldSelector, fld *field.Path, volume bool) field.ErrorList {
	var errs field.ErrorList
	switch {
	case volume && fs.ContainerName == "":
		errs = append(errs, field.Required(fld.Child("containerName"), ""))
	case fs.Resource == "":
		errs = append(errs, field.Required(fld.Child("resource"), ""))
	case !slices.Contains(vldResourceFields, fs.Resource) && !strings.HasPrefix(fs.Resource, "limits.hugepages-") && !strings.HasPrefix(fs.Resource, "requests.hugepages-"):
		errs = append(errs, field.NotSupported(fld.Child("resource"), fs.Resource, vldResourceFields))
	}
	if fs.Divisor.IsZero() {
		return errs
	}
	d := fs.Divisor.String()
	bytesOK := slices.Contains([]string{"1", "1k", "1M", "1G", "1T", "1P", "1E", "1Ki", "1Mi", "1Gi", "1Ti", "1Pi", "1Ei"}, d)
	const bytesList = "1, 1k, 1M, 1G, 1T, 1P, 1E, 1Ki, 1Mi, 1Gi, 1Ti, 1Pi, 1Ei"
	switch fs.Resource {
	case "limits.cpu", "requests.cpu":
		if d != "1m" && d != "1" {
			errs = append(errs, field.Invalid(fld.Child("divisor"), fs.Resource, "only divisor's values 1m and 1 are supported with the cpu resource"))
		}
	case "limits.memory", "requests.memory":
		if !bytesOK {
			errs = append(errs, field.Invalid(fld.Child("divisor"), fs.Resource, "only divisor's values "+bytesList+" are supported with the memory resource"))
		}
	case "limits.ephemeral-storage", "requests.ephemeral-storage":
		if !bytesOK {
			errs = append(errs, field.Invalid(fld.Child("divisor"), fs.Resource, "only divisor's values "+bytesList+" are supported with the local ephemeral storage resource"))
		}
	}
	if (strings.HasPrefix(fs.Resource, "requests.hugepages-") || strings.HasPrefix(fs.Resource, "limits.hugepages-")) && !bytesOK {
		errs = append(errs, field.Invalid(fld.Child("divisor"), fs.Resource, "only divisor's values "+bytesList+" are supported with the hugepages resource"))
	}
	return errs
}

func vldEnvFrom(sources []corev1.EnvFromSource, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, s := range sources {
		p := fld.Index(i)
		if s.Prefix != "" {
			for _, msg := range validation.IsRelaxedEnvVarName(s.Prefix) {
				errs = append(errs, field.Invalid(p.Child("prefix"), s.Prefix, msg))
			}
		}
		n := 0
		ref := func(child, name string) {
			n++
			if name == "" {
				errs = append(errs, field.Required(p.Child(child, "name"), ""))
				return
			}
			for _, msg := range vldDNSSubdomainName(name, true) {
				errs = append(errs, field.Invalid(p.Child(child, "name"), name, msg))
			}
		}
		if s.ConfigMapRef != nil {
			ref("configMapRef", s.ConfigMapRef.Name)
		}
		if s.SecretRef != nil {
			ref("secretRef", s.SecretRef.Name)
		}
		if n == 0 {
			errs = append(errs, field.Invalid(fld, "", "must specify one of: `configMapRef` or `secretRef`"))
		} else if n > 1 {
			errs = append(errs, field.Invalid(fld, "", "may not have more than one field specified at a time"))
		}
	}
	return errs
}

func vldVolumeMounts(c *corev1.Container, vols map[string]*corev1.VolumeSource, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	devices := map[string]string{}
	for _, d := range c.VolumeDevices {
		devices[d.Name] = d.DevicePath
	}
	mountpoints := map[string]bool{}
	privileged := c.SecurityContext != nil && c.SecurityContext.Privileged != nil && *c.SecurityContext.Privileged
	for i, m := range c.VolumeMounts {
		p := fld.Index(i)
		if m.Name == "" {
			errs = append(errs, field.Required(p.Child("name"), ""))
		}
		src, found := vols[m.Name]
		if !found {
			errs = append(errs, field.NotFound(p.Child("name"), m.Name))
		}
		if m.MountPath == "" {
			errs = append(errs, field.Required(p.Child("mountPath"), ""))
		}
		if mountpoints[m.MountPath] {
			errs = append(errs, field.Invalid(p.Child("mountPath"), m.MountPath, "must be unique"))
		}
		mountpoints[m.MountPath] = true
		if _, ok := devices[m.Name]; ok {
			errs = append(errs, field.Invalid(p.Child("name"), m.Name, "must not already exist in volumeDevices"))
		}
		for _, dp := range devices {
			if dp == m.MountPath {
				errs = append(errs, field.Invalid(p.Child("mountPath"), m.MountPath, "must not already exist as a path in volumeDevices"))
				break
			}
		}
		if found && src.Image != nil {
			if m.SubPath != "" {
				errs = append(errs, field.Invalid(p.Child("subPath"), m.SubPath, "not allowed in image volume sources"))
			}
			if m.SubPathExpr != "" {
				errs = append(errs, field.Invalid(p.Child("subPathExpr"), m.SubPathExpr, "not allowed in image volume sources"))
			}
		}
		// The server reports subPath problems under the list's path, not the item's.
		if m.SubPath != "" {
			errs = append(errs, vldLocalDescendingPath(m.SubPath, fld.Child("subPath"))...)
		}
		if m.SubPathExpr != "" {
			if m.SubPath != "" {
				errs = append(errs, field.Invalid(p.Child("subPathExpr"), m.SubPathExpr, "subPathExpr and subPath are mutually exclusive"))
			}
			errs = append(errs, vldLocalDescendingPath(m.SubPathExpr, fld.Child("subPathExpr"))...)
		}
		if mp := m.MountPropagation; mp != nil {
			pp := fld.Child("mountPropagation")
			switch *mp {
			case corev1.MountPropagationBidirectional, corev1.MountPropagationHostToContainer, corev1.MountPropagationNone:
			default:
				errs = append(errs, field.NotSupported(pp, *mp, []string{"Bidirectional", "HostToContainer", "None"}))
			}
			if *mp == corev1.MountPropagationBidirectional && !privileged {
				errs = append(errs, field.Forbidden(pp, "Bidirectional mount propagation is available only to privileged containers"))
			}
		}
		if r := m.RecursiveReadOnly; r != nil {
			rp := fld.Child("recursiveReadOnly")
			switch *r {
			case corev1.RecursiveReadOnlyDisabled:
			case corev1.RecursiveReadOnlyEnabled, corev1.RecursiveReadOnlyIfPossible:
				if !m.ReadOnly {
					errs = append(errs, field.Forbidden(rp, "may only be specified when readOnly is true"))
				}
				if m.MountPropagation != nil && *m.MountPropagation != corev1.MountPropagationNone {
					errs = append(errs, field.Forbidden(rp, "may only be specified when mountPropagation is None or not specified"))
				}
			default:
				errs = append(errs, field.NotSupported(rp, *r, []string{"Disabled", "Enabled", "IfPossible"}))
			}
		}
	}
	return errs
}

func vldVolumeDevices(c *corev1.Container, vols map[string]*corev1.VolumeSource, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	mounts := map[string]string{}
	for _, m := range c.VolumeMounts {
		mounts[m.Name] = m.MountPath
	}
	paths, names := map[string]bool{}, map[string]bool{}
	for i, d := range c.VolumeDevices {
		p := fld.Index(i)
		src, found := vols[d.Name]
		if d.Name == "" {
			errs = append(errs, field.Required(p.Child("name"), ""))
		}
		if names[d.Name] {
			errs = append(errs, field.Invalid(p.Child("name"), d.Name, "must be unique"))
		}
		if found && src.PersistentVolumeClaim == nil && src.Ephemeral == nil {
			errs = append(errs, field.Invalid(p.Child("name"), d.Name, "can only use volume source type of PersistentVolumeClaim or Ephemeral for block mode"))
		}
		if !found {
			errs = append(errs, field.NotFound(p.Child("name"), d.Name))
		}
		if d.DevicePath == "" {
			errs = append(errs, field.Required(p.Child("devicePath"), ""))
		}
		if paths[d.DevicePath] {
			errs = append(errs, field.Invalid(p.Child("devicePath"), d.DevicePath, "must be unique"))
		}
		if d.DevicePath != "" && len(vldNoBacksteps(d.DevicePath, p)) > 0 {
			errs = append(errs, field.Invalid(p.Child("devicePath"), d.DevicePath, "can not contain backsteps ('..')"))
		} else {
			paths[d.DevicePath] = true
		}
		if _, ok := mounts[d.Name]; ok {
			errs = append(errs, field.Invalid(p.Child("name"), d.Name, "must not already exist in volumeMounts"))
		}
		for _, mp := range mounts {
			if mp == d.DevicePath {
				errs = append(errs, field.Invalid(p.Child("devicePath"), d.DevicePath, "must not already exist as a path in volumeMounts"))
				break
			}
		}
		if d.Name != "" {
			names[d.Name] = true
		}
	}
	return errs
}

func vldProbes(c *corev1.Container, grace *int64, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, pr := range []struct {
		name  string
		probe *corev1.Probe
	}{{"livenessProbe", c.LivenessProbe}, {"readinessProbe", c.ReadinessProbe}, {"startupProbe", c.StartupProbe}} {
		if pr.probe == nil {
			continue
		}
		p := fld.Child(pr.name)
		errs = append(errs, vldProbe(pr.probe, grace, p)...)
		if pr.name == "readinessProbe" {
			if pr.probe.TerminationGracePeriodSeconds != nil {
				errs = append(errs, field.Invalid(p.Child("terminationGracePeriodSeconds"), pr.probe.TerminationGracePeriodSeconds, "must not be set for readinessProbes"))
			}
		} else if pr.probe.SuccessThreshold != 1 {
			errs = append(errs, field.Invalid(p.Child("successThreshold"), pr.probe.SuccessThreshold, "must be 1"))
		}
	}
	return errs
}

func vldProbe(pr *corev1.Probe, grace *int64, fld *field.Path) field.ErrorList {
	h := &pr.ProbeHandler
	errs := vldHandler(h.Exec, h.HTTPGet, h.TCPSocket, h.GRPC, nil, grace, fld)
	errs = append(errs, vldNonNegative(int64(pr.InitialDelaySeconds), fld.Child("initialDelaySeconds"))...)
	errs = append(errs, vldNonNegative(int64(pr.TimeoutSeconds), fld.Child("timeoutSeconds"))...)
	errs = append(errs, vldNonNegative(int64(pr.PeriodSeconds), fld.Child("periodSeconds"))...)
	errs = append(errs, vldNonNegative(int64(pr.SuccessThreshold), fld.Child("successThreshold"))...)
	errs = append(errs, vldNonNegative(int64(pr.FailureThreshold), fld.Child("failureThreshold"))...)
	if t := pr.TerminationGracePeriodSeconds; t != nil && *t <= 0 {
		errs = append(errs, field.Invalid(fld.Child("terminationGracePeriodSeconds"), *t, "must be greater than 0"))
	}
	return errs
}

func vldLifecycle(l *corev1.Lifecycle, grace *int64, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	if h := l.PostStart; h != nil {
		errs = append(errs, vldHandler(h.Exec, h.HTTPGet, h.TCPSocket, nil, h.Sleep, grace, fld.Child("postStart"))...)
	}
	if h := l.PreStop; h != nil {
		errs = append(errs, vldHandler(h.Exec, h.HTTPGet, h.TCPSocket, nil, h.Sleep, grace, fld.Child("preStop"))...)
	}
	return errs
}

// vldHandler requires exactly one handler of a probe or lifecycle hook.
func vldHandler(exec *corev1.ExecAction, http *corev1.HTTPGetAction, tcp *corev1.TCPSocketAction, grpc *corev1.GRPCAction, sleep *corev1.SleepAction, grace *int64, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	n := 0
	one := func(set bool, child string, check func(*field.Path) field.ErrorList) {
		if !set {
			return
		}
		if n > 0 {
			errs = append(errs, field.Forbidden(fld.Child(child), vldMultipleHandle))
			return
		}
		n++
		errs = append(errs, check(fld.Child(child))...)
	}
	one(exec != nil, "exec", func(p *field.Path) field.ErrorList {
		if len(exec.Command) == 0 {
			return field.ErrorList{field.Required(p.Child("command"), "")}
		}
		return nil
	})
	one(http != nil, "httpGet", func(p *field.Path) field.ErrorList {
		var e field.ErrorList
		if http.Path == "" {
			e = append(e, field.Required(p.Child("path"), ""))
		}
		e = append(e, vldPortNumOrName(http.Port.IntValue(), http.Port.StrVal, http.Port.Type == intstr.String, p.Child("port"))...)
		if http.Scheme != corev1.URISchemeHTTP && http.Scheme != corev1.URISchemeHTTPS {
			e = append(e, field.NotSupported(p.Child("scheme"), http.Scheme, []corev1.URIScheme{corev1.URISchemeHTTP, corev1.URISchemeHTTPS}))
		}
		for _, hdr := range http.HTTPHeaders {
			for _, msg := range validation.IsHTTPHeaderName(hdr.Name) {
				e = append(e, field.Invalid(p.Child("httpHeaders"), hdr.Name, msg))
			}
		}
		return e
	})
	one(tcp != nil, "tcpSocket", func(p *field.Path) field.ErrorList {
		return vldPortNumOrName(tcp.Port.IntValue(), tcp.Port.StrVal, tcp.Port.Type == intstr.String, p.Child("port"))
	})
	one(grpc != nil, "grpc", func(p *field.Path) field.ErrorList {
		return vldPortNumOrName(int(grpc.Port), "", false, p.Child("port"))
	})
	one(sleep != nil, "sleep", func(p *field.Path) field.ErrorList {
		if grace != nil && (sleep.Seconds < 0 || sleep.Seconds > *grace) {
			return field.ErrorList{field.Invalid(p, sleep.Seconds, fmt.Sprintf("must be non-negative and less than terminationGracePeriodSeconds (%d)", *grace))}
		}
		return nil
	})
	if n == 0 {
		errs = append(errs, field.Required(fld, "must specify a handler type"))
	}
	return errs
}

func vldPortNumOrName(num int, name string, isName bool, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	if isName {
		for _, msg := range validation.IsValidPortName(name) {
			errs = append(errs, field.Invalid(fld, name, msg))
		}
		return errs
	}
	for _, msg := range validation.IsValidPortNum(num) {
		errs = append(errs, field.Invalid(fld, num, msg))
	}
	return errs
}

func vldResizePolicy(policies []corev1.ContainerResizePolicy, fld *field.Path, rp corev1.RestartPolicy) field.ErrorList {
	var errs field.ErrorList
	seen := map[corev1.ResourceName]bool{}
	for i, p := range policies {
		if seen[p.ResourceName] {
			errs = append(errs, field.Duplicate(fld.Index(i), p.ResourceName))
		}
		seen[p.ResourceName] = true
		switch p.ResourceName {
		case corev1.ResourceCPU, corev1.ResourceMemory:
		case "":
			errs = append(errs, field.Required(fld, ""))
		default:
			errs = append(errs, field.NotSupported(fld, p.ResourceName, []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory}))
		}
		switch p.RestartPolicy {
		case corev1.NotRequired, corev1.RestartContainer:
		case "":
			errs = append(errs, field.Required(fld, ""))
		default:
			errs = append(errs, field.NotSupported(fld, p.RestartPolicy, []corev1.ResourceResizeRestartPolicy{corev1.NotRequired, corev1.RestartContainer}))
		}
		if rp == corev1.RestartPolicyNever && p.RestartPolicy != corev1.NotRequired {
			errs = append(errs, field.Invalid(fld, p.RestartPolicy, "must be 'NotRequired' when `restartPolicy` is 'Never'"))
		}
	}
	return errs
}

// vldSecurityContext allows privileged containers, as kubeadm and k3s clusters do
// (kube-apiserver --allow-privileged=true).
func vldSecurityContext(sc *corev1.SecurityContext, fld *field.Path, hostUsers bool) field.ErrorList {
	if sc == nil {
		return nil
	}
	errs := vldUserGroup(sc.RunAsUser, sc.RunAsGroup, fld)
	if pm := sc.ProcMount; pm != nil {
		if *pm != corev1.DefaultProcMount && *pm != corev1.UnmaskedProcMount {
			errs = append(errs, field.NotSupported(fld.Child("procMount"), *pm, []corev1.ProcMountType{corev1.DefaultProcMount, corev1.UnmaskedProcMount}))
		}
		if hostUsers && *pm == corev1.UnmaskedProcMount {
			errs = append(errs, field.Invalid(fld.Child("procMount"), pm, "`hostUsers` must be false to use `Unmasked`"))
		}
	}
	errs = append(errs, vldSeccomp(sc.SeccompProfile, fld.Child("seccompProfile"))...)
	if sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation {
		if sc.Privileged != nil && *sc.Privileged {
			errs = append(errs, field.Invalid(fld, sc, "cannot set `allowPrivilegeEscalation` to false and `privileged` to true"))
		}
		if sc.Capabilities != nil && slices.Contains(sc.Capabilities.Add, "CAP_SYS_ADMIN") {
			errs = append(errs, field.Invalid(fld, sc, "cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN"))
		}
	}
	return append(errs, vldAppArmor(sc.AppArmorProfile, fld.Child("appArmorProfile"))...)
}

// ---- resources ----

var (
	vldStandardResources = []string{"cpu", "memory", "ephemeral-storage", "requests.cpu", "requests.memory", "requests.ephemeral-storage", "limits.cpu", "limits.memory", "limits.ephemeral-storage", "pods", "resourcequotas", "services", "replicationcontrollers", "secrets", "configmaps", "persistentvolumeclaims", "storage", "requests.storage", "services.nodeports", "services.loadbalancers"}
	vldIntegerResources  = []string{"pods", "services", "replicationcontrollers", "resourcequotas", "secrets", "configmaps", "persistentvolumeclaims", "services.nodeports", "services.loadbalancers"}
)

func vldIsNative(n string) bool {
	return !strings.Contains(n, "/") || strings.Contains(n, "kubernetes.io/")
}

func vldIsHugePages(n string) bool { return strings.HasPrefix(n, "hugepages-") }

func vldIsExtended(n string) bool {
	if vldIsNative(n) || strings.HasPrefix(n, "requests.") {
		return false
	}
	return len(validation.IsQualifiedName("requests."+n)) == 0
}

func vldOvercommitAllowed(n string) bool { return vldIsNative(n) && !vldIsHugePages(n) }

func vldContainerResourceName(n string, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsQualifiedName(n) {
		errs = append(errs, field.Invalid(fld, n, msg))
	}
	if len(errs) == 0 && !strings.Contains(n, "/") && !slices.Contains(vldStandardResources, n) && !vldIsHugePages(n) && !strings.HasPrefix(n, "requests.hugepages-") {
		errs = append(errs, field.Invalid(fld, n, "must be a standard resource type or fully qualified"))
	}
	if !strings.Contains(n, "/") {
		if n != "cpu" && n != "memory" && n != "ephemeral-storage" && !vldIsHugePages(n) {
			errs = append(errs, field.Invalid(fld, n, "must be a standard resource for containers"))
		}
	} else if !vldIsNative(n) && !vldIsExtended(n) {
		errs = append(errs, field.Invalid(fld, n, "doesn't follow extended resource name standard"))
	}
	return errs
}

func vldQuantity(n string, q resource.Quantity, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	if q.Sign() < 0 {
		errs = append(errs, field.Invalid(fld, q.String(), vldNegative))
	}
	if (slices.Contains(vldIntegerResources, n) || vldIsExtended(n)) && q.MilliValue()%1000 != 0 {
		errs = append(errs, field.Invalid(fld, q, "must be an integer"))
	}
	return errs
}

func vldHugePageValue(n string, q resource.Quantity) error {
	size, err := resource.ParseQuantity(strings.TrimPrefix(n, "hugepages-"))
	if err != nil || size.Sign() <= 0 || size.MilliValue()%1000 != 0 || q.Value()%size.Value() != 0 {
		return fmt.Errorf("%s is not positive integer multiple of %s", q.String(), n)
	}
	return nil
}

func vldResources(r *corev1.ResourceRequirements, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	limPath, reqPath := fld.Child("limits"), fld.Child("requests")
	limQoS, reqQoS, limHuge, reqHuge := false, false, false, false
	for _, name := range vldSortedResourceNames(r.Limits) {
		q := r.Limits[name]
		p := limPath.Key(string(name))
		errs = append(errs, vldContainerResourceName(string(name), p)...)
		errs = append(errs, vldQuantity(string(name), q, p)...)
		if vldIsHugePages(string(name)) {
			limHuge = true
			if err := vldHugePageValue(string(name), q); err != nil {
				errs = append(errs, field.Invalid(p, q.String(), err.Error()))
			}
		}
		limQoS = limQoS || name == corev1.ResourceCPU || name == corev1.ResourceMemory
	}
	for _, name := range vldSortedResourceNames(r.Requests) {
		q := r.Requests[name]
		p := reqPath.Key(string(name))
		errs = append(errs, vldContainerResourceName(string(name), p)...)
		errs = append(errs, vldQuantity(string(name), q, p)...)
		if lim, ok := r.Limits[name]; ok {
			if q.Cmp(lim) != 0 && !vldOvercommitAllowed(string(name)) {
				errs = append(errs, field.Invalid(reqPath, q.String(), fmt.Sprintf("must be equal to %s limit of %s", name, lim.String())))
			} else if q.Cmp(lim) > 0 {
				errs = append(errs, field.Invalid(reqPath, q.String(), fmt.Sprintf("must be less than or equal to %s limit of %s", name, lim.String())))
			}
		} else if !vldOvercommitAllowed(string(name)) {
			errs = append(errs, field.Required(limPath, "Limit must be set for non overcommitable resources"))
		}
		if vldIsHugePages(string(name)) {
			reqHuge = true
			if err := vldHugePageValue(string(name), q); err != nil {
				errs = append(errs, field.Invalid(p, q.String(), err.Error()))
			}
		}
		reqQoS = reqQoS || name == corev1.ResourceCPU || name == corev1.ResourceMemory
	}
	if !limQoS && !reqQoS && (reqHuge || limHuge) {
		errs = append(errs, field.Forbidden(fld, "HugePages require cpu or memory"))
	}
	return errs
}

func vldSortedResourceNames(rl corev1.ResourceList) []corev1.ResourceName {
	names := make([]corev1.ResourceName, 0, len(rl))
	for n := range rl {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// ---- pod updates ----

var vldUpdatablePodFields = strings.Join([]string{
	"`spec.containers[*].image`",
	"`spec.initContainers[*].image`",
	"`spec.activeDeadlineSeconds`",
	"`spec.tolerations` (only additions to existing tolerations)",
	"`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
}, ",")

func vldPodUpdate(pod, old *corev1.Pod) field.ErrorList {
	meta, spec := field.NewPath("metadata"), field.NewPath("spec")
	errs := vldKubeObjectMetaUpdate(&pod.ObjectMeta, &old.ObjectMeta, meta)
	errs = append(errs, vldPodMetadataAndSpec(pod)...)
	errs = append(errs, vldPodAnnotationUpdates(pod.Annotations, old.Annotations, meta.Child("annotations"))...)

	for _, list := range []struct {
		name     string
		cur, old []corev1.Container
	}{{"containers", pod.Spec.Containers, old.Spec.Containers}, {"initContainers", pod.Spec.InitContainers, old.Spec.InitContainers}} {
		p := spec.Child(list.name)
		if len(list.cur) != len(list.old) {
			return append(errs, field.Forbidden(p, "pod updates may not add or remove containers"))
		}
		for i, c := range list.cur {
			if c.Image == "" {
				errs = append(errs, field.Required(p.Index(i).Child("image"), ""))
			}
			if len(strings.TrimSpace(c.Image)) != len(c.Image) {
				errs = append(errs, field.Invalid(p.Index(i).Child("image"), c.Image, "must not have leading or trailing whitespace"))
			}
		}
	}

	adsPath := spec.Child("activeDeadlineSeconds")
	if d := pod.Spec.ActiveDeadlineSeconds; d != nil {
		if *d < 0 || *d > math.MaxInt32 {
			return append(errs, field.Invalid(adsPath, *d, validation.InclusiveRangeError(0, math.MaxInt32)))
		}
		if od := old.Spec.ActiveDeadlineSeconds; od != nil && *od < *d {
			return append(errs, field.Invalid(adsPath, *d, "must be less than or equal to previous value"))
		}
	} else if old.Spec.ActiveDeadlineSeconds != nil {
		errs = append(errs, field.Invalid(adsPath, pod.Spec.ActiveDeadlineSeconds, "must not update from a positive integer to nil value"))
	}

	errs = append(errs, vldOnlyAddedTolerations(pod.Spec.Tolerations, old.Spec.Tolerations, spec.Child("tolerations"))...)
	errs = append(errs, vldOnlyDeletedGates(pod.Spec.SchedulingGates, old.Spec.SchedulingGates, spec.Child("schedulingGates"))...)

	if vldSemanticEqual(pod.Spec, old.Spec) {
		return errs
	}
	munged := pod.Spec.DeepCopy()
	for i := range munged.Containers {
		munged.Containers[i].Image = old.Spec.Containers[i].Image
	}
	for i := range munged.InitContainers {
		munged.InitContainers[i].Image = old.Spec.InitContainers[i].Image
	}
	munged.ActiveDeadlineSeconds = old.Spec.ActiveDeadlineSeconds
	munged.SchedulingGates = old.Spec.SchedulingGates
	munged.Tolerations = old.Spec.Tolerations
	// The deprecated field only exists in v1; the server compares the internal spec.
	munged.DeprecatedServiceAccount = old.Spec.DeprecatedServiceAccount
	if og, ng := old.Spec.TerminationGracePeriodSeconds, munged.TerminationGracePeriodSeconds; og != nil && *og < 0 && ng != nil && *ng == 1 {
		munged.TerminationGracePeriodSeconds = og
	}
	if len(old.Spec.SchedulingGates) > 0 && !vldSemanticEqual(munged.NodeSelector, old.Spec.NodeSelector) {
		for k, v := range old.Spec.NodeSelector {
			if nv, ok := munged.NodeSelector[k]; !ok || nv != v {
				errs = append(errs, field.Invalid(spec.Child("nodeSelector"), munged.NodeSelector, "only additions to spec.nodeSelector are allowed (no mutations or deletions)"))
				break
			}
		}
		munged.NodeSelector = old.Spec.NodeSelector
	}
	if !vldSemanticEqual(*munged, old.Spec) {
		errs = append(errs, field.Forbidden(spec, fmt.Sprintf("pod updates may not change fields other than %s\n%v", vldUpdatablePodFields, vldSpecDiff(&old.Spec, munged))))
	}
	return errs
}

func vldPodAnnotationUpdates(cur, old map[string]string, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, k := range vldSortedKeys(old) {
		if nv, ok := cur[k]; ok && nv == old[k] {
			continue
		}
		if strings.HasPrefix(k, corev1.DeprecatedAppArmorBetaContainerAnnotationKeyPrefix) {
			errs = append(errs, field.Forbidden(fld.Key(k), "may not remove or update AppArmor annotations"))
		}
		if k == corev1.MirrorPodAnnotationKey {
			errs = append(errs, field.Forbidden(fld.Key(k), "may not remove or update mirror pod annotation"))
		}
	}
	for _, k := range vldSortedKeys(cur) {
		if _, ok := old[k]; ok {
			continue
		}
		if strings.HasPrefix(k, corev1.DeprecatedAppArmorBetaContainerAnnotationKeyPrefix) {
			errs = append(errs, field.Forbidden(fld.Key(k), "may not add AppArmor annotations"))
		}
		if k == corev1.MirrorPodAnnotationKey {
			errs = append(errs, field.Forbidden(fld.Key(k), "may not add mirror pod annotation"))
		}
	}
	return errs
}

func vldOnlyAddedTolerations(cur, old []corev1.Toleration, fld *field.Path) field.ErrorList {
	for _, o := range old {
		found := false
		for _, n := range cur {
			// tolerationSeconds may change.
			o.TolerationSeconds = n.TolerationSeconds
			if reflect.DeepEqual(o, n) {
				found = true
				break
			}
		}
		if !found {
			return field.ErrorList{field.Forbidden(fld, "existing toleration can not be modified except its tolerationSeconds")}
		}
	}
	return vldTolerations(cur, fld)
}

func vldOnlyDeletedGates(cur, old []corev1.PodSchedulingGate, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, g := range cur {
		if !slices.ContainsFunc(old, func(o corev1.PodSchedulingGate) bool { return o.Name == g.Name }) {
			errs = append(errs, field.Forbidden(fld.Index(i).Child("name"), fmt.Sprintf("only deletion is allowed, but found new scheduling gate '%s'", g.Name)))
		}
	}
	return errs
}

// vldSpecDiff lists the changed top-level fields. The server prints a go-cmp diff there,
// whose format is deliberately unstable; no client parses it.
func vldSpecDiff(old, cur *corev1.PodSpec) string {
	var b strings.Builder
	b.WriteString("  core.PodSpec{\n")
	ov, cv := reflect.ValueOf(old).Elem(), reflect.ValueOf(cur).Elem()
	same := 0
	for i := 0; i < ov.NumField(); i++ {
		a, c := ov.Field(i).Interface(), cv.Field(i).Interface()
		if vldSemanticEqual(a, c) {
			same++
			continue
		}
		name := ov.Type().Field(i).Name
		ja, _ := json.Marshal(a)
		jc, _ := json.Marshal(c)
		fmt.Fprintf(&b, "- \t%s: %s,\n+ \t%s: %s,\n", name, ja, name, jc)
	}
	fmt.Fprintf(&b, "  \t... // %d identical fields\n  }\n", same)
	return b.String()
}

// coreEventOf returns obj as a core/v1 Event, or nil for other types: events.k8s.io/v1
// events are converted the way the API server converts them to its internal event.
func coreEventOf(obj runtime.Object) *corev1.Event {
	switch e := obj.(type) {
	case *corev1.Event:
		return e
	case *eventsv1.Event:
		out := &corev1.Event{
			ObjectMeta:          e.ObjectMeta,
			InvolvedObject:      e.Regarding,
			Reason:              e.Reason,
			Message:             e.Note,
			Source:              e.DeprecatedSource,
			FirstTimestamp:      e.DeprecatedFirstTimestamp,
			LastTimestamp:       e.DeprecatedLastTimestamp,
			Count:               e.DeprecatedCount,
			Type:                e.Type,
			EventTime:           e.EventTime,
			Action:              e.Action,
			Related:             e.Related,
			ReportingController: e.ReportingController,
			ReportingInstance:   e.ReportingInstance,
		}
		if e.Series != nil {
			out.Series = &corev1.EventSeries{Count: e.Series.Count, LastObservedTime: e.Series.LastObservedTime}
		}
		return out
	}
	return nil
}
