package reconcile

// This file: the ReplicaSet controller. It keeps spec.replicas pods that match the selector:
// it adopts orphans the selector matches, releases pods that stopped matching, creates pods
// from the template and deletes the surplus gracefully, least valuable first, then writes the
// status (replicas, fullyLabeled, ready, available, terminating, the ReplicaFailure condition).
// The cache answers at once with what was written, so unlike kube-controller-manager it needs
// no expectations: one sync per ReplicaSet at a time always sees its own earlier writes.

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"time"

	"github.com/k2d-project/k2d/cache"
	"github.com/k2d-project/k2d/codec"
	"github.com/k2d-project/k2d/translate"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
)

// Event reasons of the ReplicaSet controller.
const (
	ReasonSuccessfulCreate = "SuccessfulCreate"
	ReasonFailedCreate     = "FailedCreate"
	ReasonSuccessfulDelete = "SuccessfulDelete"
	ReasonFailedDelete     = "FailedDelete"
)

// burstReplicas bounds the pods one sync creates or deletes, as kube-controller-manager's
// --replicaset-burst-replicas does (the next sync continues).
const burstReplicas = 500

// annPodDeletionCost ranks pods for scale-down: lower cost goes first.
const annPodDeletionCost = "controller.kubernetes.io/pod-deletion-cost"

// availableMargin is added to minReadySeconds timers: availability is "ready for longer than".
const availableMargin = 50 * time.Millisecond

// rsReplicas is spec.replicas with the apps/v1 default of 1 for nil.
func rsReplicas(rs *appsv1.ReplicaSet) int32 {
	if rs == nil {
		return 0
	}
	if rs.Spec.Replicas == nil {
		return 1
	}
	return *rs.Spec.Replicas
}

// syncReplicaSet is the ReplicaSet worker.
func (c *Controller) syncReplicaSet(ctx context.Context, key string) {
	ns, name := splitKey(key)
	e, ok := c.c.Get(resRS, ns, name)
	if !ok {
		return
	}
	rs := e.Obj.(*appsv1.ReplicaSet)
	sel, err := workloadSelector(rs.Spec.Selector)
	if err != nil || sel.Empty() {
		// Validation refuses both; a selector that selects everything would adopt every pod.
		c.log.Warn("replicaset has an invalid selector", "replicaset", key, "err", err)
		return
	}
	now := c.now()
	active, terminating, err := c.claimPods(rs, sel)
	if err != nil {
		c.retryWorkload(c.wl().rss, "replicaset", key, err)
		return
	}
	var manageErr error
	if rs.DeletionTimestamp == nil {
		manageErr = c.manageReplicas(ctx, rs, sel, active, now)
	}
	st := rsStatus(rs, active, terminating, manageErr, now)
	if err := c.writeRSStatus(rs, st); err != nil && !errors.Is(err, errWorkloadGone) {
		c.retryWorkload(c.wl().rss, "replicaset", key, err)
		return
	}
	var refused *errCreate
	if errors.As(manageErr, &refused) {
		// Retrying cannot help: a change of the ReplicaSet or a new ServiceAccount brings it back.
		return
	}
	if manageErr != nil {
		c.retryWorkload(c.wl().rss, "replicaset", key, manageErr)
		return
	}
	c.workloadOK("replicaset", key)
	if d, ok := nextAvailable(active, rs.Spec.MinReadySeconds, now); ok {
		c.wl().rss.AddAfter(key, d+availableMargin)
	} else {
		c.wl().rss.Forget(key)
	}
}

// claimPods returns the active pods the ReplicaSet owns, after adopting the orphans its
// selector matches and releasing the pods it no longer matches, and how many of its pods are
// terminating.
func (c *Controller) claimPods(rs *appsv1.ReplicaSet, sel labels.Selector) (active []*corev1.Pod, terminating int32, err error) {
	list, _ := c.c.List(resPods, rs.Namespace)
	for _, e := range list {
		p := e.Obj.(*corev1.Pod)
		if p.Annotations[AnnotationSource] == SourceDocker {
			continue
		}
		matched := !sel.Empty() && sel.Matches(labels.Set(p.Labels))
		if p.DeletionTimestamp != nil {
			if ref := metav1.GetControllerOfNoCopy(p); ref != nil && ref.UID == rs.UID && matched && !replicaFinished(p) {
				terminating++
			}
			continue
		}
		if replicaFinished(p) {
			continue
		}
		switch claimDecision(rs, p, matched) {
		case claimOwned:
			active = append(active, p)
		case claimAdopt:
			obj, err := c.setOwner(kindPod, p, rs, "ReplicaSet", true)
			if errors.Is(err, errWorkloadGone) {
				continue
			}
			if err != nil {
				return nil, 0, err
			}
			active = append(active, obj.(*corev1.Pod))
		case claimRelease:
			if _, err := c.setOwner(kindPod, p, rs, "ReplicaSet", false); err != nil && !errors.Is(err, errWorkloadGone) {
				return nil, 0, err
			}
		}
	}
	return active, terminating, nil
}

// manageReplicas creates or deletes pods until the ReplicaSet has spec.replicas active pods.
func (c *Controller) manageReplicas(_ context.Context, rs *appsv1.ReplicaSet, sel labels.Selector, active []*corev1.Pod, now time.Time) error {
	diff := len(active) - int(rsReplicas(rs))
	ref := workloadRef("ReplicaSet", rs)
	switch {
	case diff < 0:
		if c.namespaceTerminating(rs.Namespace) {
			return nil // the API server would refuse: nothing new in a namespace being deleted
		}
		if err := templateMatches(rs, sel); err != nil {
			// Pods it cannot count would be created without end. Validation refuses this.
			c.rec.record(ref, componentRS, corev1.EventTypeWarning, ReasonFailedCreate, "Error creating: "+err.Error())
			return err
		}
		for range min(-diff, burstReplicas) {
			pod, err := c.createReplica(rs)
			if err != nil {
				c.rec.record(ref, componentRS, corev1.EventTypeWarning, ReasonFailedCreate, "Error creating: "+err.Error())
				return err
			}
			c.rec.record(ref, componentRS, corev1.EventTypeNormal, ReasonSuccessfulCreate, "Created pod: "+pod.Name)
		}
	case diff > 0:
		for _, p := range podsToDelete(active, min(diff, burstReplicas), now) {
			err := c.deletePodGracefully(p, now)
			if errors.Is(err, errWorkloadGone) {
				continue
			}
			if err != nil {
				c.rec.record(ref, componentRS, corev1.EventTypeWarning, ReasonFailedDelete, "Error deleting: "+err.Error())
				return err
			}
			c.rec.record(ref, componentRS, corev1.EventTypeNormal, ReasonSuccessfulDelete, "Deleted pod: "+p.Name)
		}
	}
	return nil
}

// templateMatches checks that the pods of the template are selected by the selector, with
// the API server's message when they are not.
func templateMatches(rs *appsv1.ReplicaSet, sel labels.Selector) error {
	if sel.Matches(labels.Set(rs.Spec.Template.Labels)) {
		return nil
	}
	return &errCreate{msg: codec.InvalidMessage("ReplicaSet.apps", rs.Name, []codec.Cause{{
		Type: "FieldValueInvalid", Field: "spec.template.metadata.labels",
		Message: fmt.Sprintf("Invalid value: %#v: `selector` does not match template `labels`", rs.Spec.Template.Labels),
	}})}
}

// errCreate is a pod creation the API server would have refused, in its words.
type errCreate struct{ msg string }

func (e *errCreate) Error() string { return e.msg }

// newReplica builds the pod a ReplicaSet creates, as the API server would store it: the
// template's metadata and spec, a generated name, the controller reference, then the
// defaulting and service account admission of a pod create.
func newReplica(rs *appsv1.ReplicaSet, sa *corev1.ServiceAccount) *corev1.Pod {
	t := rs.Spec.Template.DeepCopy()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName:    rs.Name + "-",
			Name:            replicaName(rs.Name + "-"),
			Namespace:       rs.Namespace,
			Labels:          t.Labels,
			Annotations:     t.Annotations,
			Finalizers:      t.Finalizers,
			OwnerReferences: []metav1.OwnerReference{ownerRefTo(rs, "ReplicaSet")},
		},
		Spec: t.Spec,
	}
	codec.Default(pod)
	codec.AdmitPodServiceAccount(pod, sa)
	pod.Status = corev1.PodStatus{Phase: corev1.PodPending, QOSClass: translate.QOSClass(pod)}
	return pod
}

// createReplica creates one pod of the ReplicaSet in the cache.
func (c *Controller) createReplica(rs *appsv1.ReplicaSet) (*corev1.Pod, error) {
	var sa *corev1.ServiceAccount
	saName := rs.Spec.Template.Spec.ServiceAccountName
	if saName == "" {
		saName = rs.Spec.Template.Spec.DeprecatedServiceAccount
	}
	if saName == "" {
		saName = codec.DefaultServiceAccountName
	}
	if e, ok := c.c.Get(resSA, rs.Namespace, saName); ok {
		sa = e.Obj.(*corev1.ServiceAccount)
	} else if saName != codec.DefaultServiceAccountName {
		// The ServiceAccount admission plugin refuses pods of a missing service account (the
		// default one is made with the namespace, so it is not waited for).
		return nil, &errCreate{msg: "pods \"" + rs.Name + "-\" is forbidden: error looking up service account " +
			rs.Namespace + "/" + saName + ": serviceaccount \"" + saName + "\" not found"}
	}
	for attempt := 0; ; attempt++ {
		pod := newReplica(rs, sa)
		if causes := codec.Validate(kindPod, pod); len(causes) > 0 {
			return nil, &errCreate{msg: codec.InvalidMessage("Pod", pod.Name, causes)}
		}
		e, err := c.c.Create(kindPod, pod)
		var exists *cache.AlreadyExistsError
		if errors.As(err, &exists) && attempt < 3 {
			continue // the random suffix collided
		}
		if err != nil {
			return nil, err
		}
		return e.Obj.(*corev1.Pod), nil
	}
}

// deletePodGracefully deletes a pod as a DELETE without options does: with its termination
// grace period (the pod worker stops it and removes it), or at once when that is 0.
func (c *Controller) deletePodGracefully(p *corev1.Pod, now time.Time) error {
	grace := int64(corev1.DefaultTerminationGracePeriodSeconds)
	if g := p.Spec.TerminationGracePeriodSeconds; g != nil {
		grace = max(*g, 0)
	}
	var err error
	if grace == 0 && len(p.Finalizers) == 0 {
		_, err = c.c.Delete(kindPod, p.Namespace, p.Name, "", string(p.UID))
	} else {
		_, err = c.c.Mutate(kindPod, p.Namespace, p.Name, func(obj runtime.Object) (bool, error) {
			cur := obj.(*corev1.Pod)
			if cur.UID != p.UID {
				return false, errWorkloadGone
			}
			if cur.DeletionTimestamp != nil {
				return false, nil
			}
			at := metav1.NewTime(now.Add(time.Duration(grace) * time.Second))
			cur.DeletionTimestamp = &at
			cur.DeletionGracePeriodSeconds = &grace
			return true, nil
		})
	}
	var nf *cache.NotFoundError
	var conflict *cache.ConflictError
	if errors.As(err, &nf) || errors.As(err, &conflict) {
		return errWorkloadGone
	}
	return err
}

// writeRSStatus stores st as the ReplicaSet's status when it differs.
func (c *Controller) writeRSStatus(rs *appsv1.ReplicaSet, st appsv1.ReplicaSetStatus) error {
	if equality.Semantic.DeepEqual(rs.Status, st) {
		return nil
	}
	_, err := c.c.Mutate(kindRS, rs.Namespace, rs.Name, func(obj runtime.Object) (bool, error) {
		cur := obj.(*appsv1.ReplicaSet)
		if cur.UID != rs.UID {
			return false, errWorkloadGone
		}
		if equality.Semantic.DeepEqual(cur.Status, st) {
			return false, nil
		}
		cur.Status = st
		return true, nil
	})
	var nf *cache.NotFoundError
	if errors.As(err, &nf) {
		return errWorkloadGone
	}
	return err
}

// rsStatus computes a ReplicaSet's status from its active pods, as calculateStatus does.
func rsStatus(rs *appsv1.ReplicaSet, active []*corev1.Pod, terminating int32, manageErr error, now time.Time) appsv1.ReplicaSetStatus {
	st := rs.Status
	st.Conditions = append([]appsv1.ReplicaSetCondition(nil), rs.Status.Conditions...)
	st.Replicas = int32(len(active))
	st.FullyLabeledReplicas, st.ReadyReplicas, st.AvailableReplicas = 0, 0, 0
	tmpl := labels.Set(rs.Spec.Template.Labels).AsSelectorPreValidated()
	for _, p := range active {
		if tmpl.Matches(labels.Set(p.Labels)) {
			st.FullyLabeledReplicas++
		}
		if replicaReady(p) {
			st.ReadyReplicas++
			if replicaAvailable(p, rs.Spec.MinReadySeconds, now) {
				st.AvailableReplicas++
			}
		}
	}
	st.TerminatingReplicas = wlInt32(terminating)
	st.ObservedGeneration = rs.Generation
	i := condIndex(st.Conditions, appsv1.ReplicaSetReplicaFailure)
	switch {
	case manageErr != nil && i < 0:
		reason := ""
		if diff := len(active) - int(rsReplicas(rs)); diff < 0 {
			reason = ReasonFailedCreate
		} else if diff > 0 {
			reason = ReasonFailedDelete
		}
		st.Conditions = append(st.Conditions, appsv1.ReplicaSetCondition{
			Type: appsv1.ReplicaSetReplicaFailure, Status: corev1.ConditionTrue,
			LastTransitionTime: metav1.NewTime(now), Reason: reason, Message: manageErr.Error(),
		})
	case manageErr == nil && i >= 0:
		st.Conditions = append(st.Conditions[:i], st.Conditions[i+1:]...)
	}
	if len(st.Conditions) == 0 {
		st.Conditions = nil
	}
	return st
}

func condIndex(conds []appsv1.ReplicaSetCondition, t appsv1.ReplicaSetConditionType) int {
	for i := range conds {
		if conds[i].Type == t {
			return i
		}
	}
	return -1
}

// nextAvailable returns how long until the next ready pod has been ready for minReadySeconds,
// false when no pod is waiting for that (no timer is needed).
func nextAvailable(active []*corev1.Pod, minReadySeconds int32, now time.Time) (time.Duration, bool) {
	if minReadySeconds <= 0 {
		return 0, false
	}
	var next time.Duration
	found := false
	for _, p := range active {
		c := replicaReadyCond(p)
		if c == nil || c.Status != corev1.ConditionTrue || replicaAvailable(p, minReadySeconds, now) {
			continue
		}
		d := c.LastTransitionTime.Add(time.Duration(minReadySeconds) * time.Second).Sub(now)
		if d < 0 {
			d = 0
		}
		if !found || d < next {
			next, found = d, true
		}
	}
	return next, found
}

// podsToDelete picks the n pods a scale-down removes, in the ReplicaSet controller's
// preference: unscheduled before scheduled, Pending before Unknown before Running, not ready
// before ready, lower pod-deletion-cost first, ready for less time before longer, more
// container restarts before fewer, newer before older (times compared on a log scale, so
// pods of about the same age are equal and the tie is broken by uid). With one node the
// controller's "doubled up on a node" rank is the same for every pod and left out.
func podsToDelete(pods []*corev1.Pod, n int, now time.Time) []*corev1.Pod {
	if n <= 0 {
		return nil
	}
	sorted := append([]*corev1.Pod(nil), pods...)
	sort.SliceStable(sorted, func(i, j int) bool { return deleteFirst(sorted[i], sorted[j], now) })
	if n > len(sorted) {
		n = len(sorted)
	}
	return sorted[:n]
}

var phaseOrdinal = map[corev1.PodPhase]int{corev1.PodPending: 0, corev1.PodUnknown: 1, corev1.PodRunning: 2}

// deleteFirst reports whether a should be deleted before b.
func deleteFirst(a, b *corev1.Pod, now time.Time) bool {
	if (a.Spec.NodeName == "") != (b.Spec.NodeName == "") {
		return a.Spec.NodeName == ""
	}
	if pa, pb := phaseOrdinal[a.Status.Phase], phaseOrdinal[b.Status.Phase]; pa != pb {
		return pa < pb
	}
	ra, rb := replicaReady(a), replicaReady(b)
	if ra != rb {
		return !ra
	}
	if ca, cb := deletionCost(a), deletionCost(b); ca != cb {
		return ca < cb
	}
	if ra && rb {
		ta, tb := replicaReadyCond(a).LastTransitionTime.Time, replicaReadyCond(b).LastTransitionTime.Time
		if !ta.Equal(tb) {
			return newerFirst(ta, tb, now, a, b)
		}
	}
	if xa, xb := maxRestarts(a, false), maxRestarts(b, false); xa != xb {
		return xa > xb
	}
	if xa, xb := maxRestarts(a, true), maxRestarts(b, true); xa != xb {
		return xa > xb
	}
	if ca, cb := a.CreationTimestamp.Time, b.CreationTimestamp.Time; !ca.Equal(cb) {
		return newerFirst(ca, cb, now, a, b)
	}
	return false
}

// newerFirst orders two different times of pods a and b: a zero time first, then the more
// recent on a log scale; times in the same power of two are a tie, broken by uid.
func newerFirst(ta, tb, now time.Time, a, b *corev1.Pod) bool {
	if ta.IsZero() || tb.IsZero() {
		return ta.IsZero()
	}
	if r := logRankDiff(ta, tb, now); r != 0 {
		return r < 0
	}
	return a.UID < b.UID
}

// logRankDiff compares how long ago t1 and t2 were on a log2 scale: negative when t1 is
// clearly more recent, 0 when both fall in the same power of two.
func logRankDiff(t1, t2, now time.Time) int {
	rank := func(t time.Time) int {
		d := now.Sub(t)
		if d <= 0 {
			return -1
		}
		return int(math.Log2(float64(d)))
	}
	return rank(t1) - rank(t2)
}

// deletionCost reads the pod-deletion-cost annotation; absent or invalid is 0.
func deletionCost(p *corev1.Pod) int32 {
	v, ok := p.Annotations[annPodDeletionCost]
	if !ok {
		return 0
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		return 0
	}
	return int32(n)
}

// maxRestarts is the highest restart count of the app containers, or of the sidecars
// (restartable init containers) when sidecars is set.
func maxRestarts(p *corev1.Pod, sidecars bool) int32 {
	var out int32
	if !sidecars {
		for _, s := range p.Status.ContainerStatuses {
			out = max(out, s.RestartCount)
		}
		return out
	}
	for _, s := range p.Status.InitContainerStatuses {
		for _, ic := range p.Spec.InitContainers {
			if ic.Name == s.Name && ic.RestartPolicy != nil && *ic.RestartPolicy == corev1.ContainerRestartPolicyAlways {
				out = max(out, s.RestartCount)
			}
		}
	}
	return out
}
