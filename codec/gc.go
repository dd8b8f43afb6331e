package codec

import (
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Garbage-collection finalizers a DELETE puts on an object: the garbage collector removes
// them once it has deleted the blocking dependents (foreground) or removed the ownerReferences
// pointing at the object (orphan).
const (
	FinalizerOrphan     = metav1.FinalizerOrphanDependents // "orphan"
	FinalizerForeground = metav1.FinalizerDeleteDependents // "foregroundDeletion"
)

// gcDefault is what a DELETE without propagationPolicy does to dependents, by group-resource,
// when it is not Background: the v1 APIs of Jobs and ReplicationControllers orphan them for
// backward compatibility, and Events take no part in garbage collection at all.
var gcDefault = map[string]string{
	"jobs.batch":             "orphan",
	"replicationcontrollers": "orphan",
	"events":                 "unsupported",
	"events.events.k8s.io":   "unsupported",
}

// DeletionFinalizers returns the finalizers an object has once deleted with opts, as the API
// server's generic store computes them (deletionFinalizersForGarbageCollection): the orphan
// or foregroundDeletion finalizer the propagation policy asks for replaces any it had. An
// explicit policy (propagationPolicy, or the deprecated orphanDependents) wins over a
// finalizer already present, which wins over the kind's default. changed reports whether the
// set differs from the current one.
func DeletionFinalizers(k *Kind, m metav1.Object, opts *metav1.DeleteOptions) (changed bool, finalizers []string) {
	cur := m.GetFinalizers()
	def := gcDefault[k.GroupResource()]
	if def == "unsupported" {
		return false, cur
	}
	orphan, foreground := false, false
	switch {
	case opts != nil && opts.OrphanDependents != nil: //nolint:staticcheck // the deprecated field is still honoured
		orphan = *opts.OrphanDependents //nolint:staticcheck
	case opts != nil && opts.PropagationPolicy != nil:
		orphan = *opts.PropagationPolicy == metav1.DeletePropagationOrphan
		foreground = *opts.PropagationPolicy == metav1.DeletePropagationForeground
	case slices.Contains(cur, FinalizerOrphan):
		orphan = true
	case slices.Contains(cur, FinalizerForeground):
		foreground = true
	default:
		orphan = def == "orphan"
	}
	out := make([]string, 0, len(cur)+1)
	for _, f := range cur {
		if f != FinalizerOrphan && f != FinalizerForeground {
			out = append(out, f)
		}
	}
	if orphan {
		out = append(out, FinalizerOrphan)
	}
	if foreground {
		out = append(out, FinalizerForeground)
	}
	if gcSameSet(cur, out) {
		return false, cur
	}
	return true, out
}

func gcSameSet(a, b []string) bool {
	for _, s := range a {
		if !slices.Contains(b, s) {
			return false
		}
	}
	for _, s := range b {
		if !slices.Contains(a, s) {
			return false
		}
	}
	return true
}
