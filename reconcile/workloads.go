package reconcile

// This file: Deployment and ReplicaSet controllers, as kube-controller-manager runs them:
// wiring, event routing, and what both share (controller references, claiming, Events).
// The ReplicaSet controller is in replicaset.go, the Deployment controller in deployment.go
// with its decisions in deployment_policy.go.
//
// How it flows: every cache change reaches onWorkloadChange (under the cache lock: it only
// enqueues). A Deployment change enqueues the Deployment; a ReplicaSet change enqueues the
// ReplicaSet when its spec or metadata changed (not for its own status writes) and always
// its owning Deployment, whose rollout reads the ReplicaSets' status; a Pod change that can
// alter a ReplicaSet's counts enqueues the owning ReplicaSet. So a pod that becomes ready
// updates its ReplicaSet's status, which brings the Deployment one step further. Objects
// without a controller go through the orphans queue, which finds the controllers whose
// selector matches and lets them adopt. Timers exist only while work is pending: minReadySeconds
// (a ready pod becoming available) and the progress deadline of a rollout in progress.

import (
	"context"
	"crypto/rand"
	"errors"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/k2d-project/k2d/cache"
	"github.com/k2d-project/k2d/codec"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
)

var (
	kindDeploy = codec.KindFor("apps", "v1", "deployments")
	kindRS     = codec.KindFor("apps", "v1", "replicasets")
	resDeploy  = kindDeploy.GroupResource()
	resRS      = kindRS.GroupResource()
	resSA      = "serviceaccounts"
)

// Components that report the workload controllers' Events, as kube-controller-manager names them.
const (
	componentRS     = "replicaset-controller"
	componentDeploy = "deployment-controller"
)

// workloads holds the queues of the Deployment and ReplicaSet controllers. They are made on
// first use (cache changes may come before startWorkloads) and take keys only once started:
// startWorkloads then enqueues every object, so nothing is missed.
type workloads struct {
	once    sync.Once
	started atomic.Bool
	deploys *queue // "ns/name" of Deployments
	rss     *queue // "ns/name" of ReplicaSets
	orphans *queue // "pods/ns/name" or "replicasets/ns/name" of objects without a controller, "serviceaccounts/ns/name" of new ones
}

func (c *Controller) wl() *workloads {
	w := &c.workloads
	w.once.Do(func() {
		w.deploys = newQueue(c.ctx, "deployments", 2, c.log, c.syncDeployment)
		w.rss = newQueue(c.ctx, "replicasets", 2, c.log, c.syncReplicaSet)
		w.orphans = newQueue(c.ctx, "orphans", 1, c.log, c.syncOrphan)
	})
	return w
}

// startWorkloads syncs every ReplicaSet and Deployment once: after a restart they count the
// pods that exist (and adopt them) before creating any, so no pod is duplicated.
func (c *Controller) startWorkloads() {
	w := c.wl()
	w.started.Store(true)
	rss, _ := c.c.List(resRS, "")
	for _, e := range rss {
		w.rss.Add(e.Meta().GetNamespace() + "/" + e.Meta().GetName())
	}
	ds, _ := c.c.List(resDeploy, "")
	for _, e := range ds {
		w.deploys.Add(e.Meta().GetNamespace() + "/" + e.Meta().GetName())
	}
}

// stopWorkloads cancels pending timers and waits for running syncs; Stop cancels the context first.
func (c *Controller) stopWorkloads() {
	w := c.wl()
	w.deploys.Close()
	w.rss.Close()
	w.orphans.Close()
}

// onWorkloadChange routes a cache change to the workload queues; it runs under the cache lock.
func (c *Controller) onWorkloadChange(ev cache.Event) {
	w := &c.workloads
	if !w.started.Load() {
		return
	}
	m := ev.Entry.Meta()
	key := m.GetNamespace() + "/" + m.GetName()
	switch ev.Resource {
	case resDeploy:
		if ev.Type == cache.Deleted {
			w.deploys.Forget(key)
			return
		}
		if ev.Type == cache.Modified && ev.Old != nil && !objectChangeMatters(ev.Old.Obj, ev.Entry.Obj) {
			return // our own status write
		}
		w.deploys.Add(key)
	case resRS:
		var old metav1.Object
		if ev.Old != nil {
			old = ev.Old.Meta()
		}
		switch {
		case ev.Type == cache.Deleted:
			w.rss.Forget(key)
		case old == nil || objectChangeMatters(ev.Old.Obj, ev.Entry.Obj):
			w.rss.Add(key)
		}
		// The owner reads every ReplicaSet status change: it is how a rollout moves on.
		c.enqueueOwner(w.deploys, m, old, "Deployment")
		if ev.Type != cache.Deleted && orphanChanged(m, old) {
			w.orphans.Add("replicasets/" + key)
		}
	case resPods:
		if m.GetAnnotations()[AnnotationSource] == SourceDocker {
			return // Docker's own containers are nobody's replicas
		}
		if ev.Type == cache.Modified && ev.Old != nil && !podMattersToReplicaSet(ev.Old.Obj.(*corev1.Pod), ev.Entry.Obj.(*corev1.Pod)) {
			return
		}
		var old metav1.Object
		if ev.Old != nil {
			old = ev.Old.Meta()
		}
		c.enqueueOwner(w.rss, m, old, "ReplicaSet")
		if ev.Type != cache.Deleted && orphanChanged(m, old) {
			w.orphans.Add("pods/" + key)
		}
	case resSA:
		if ev.Type == cache.Added {
			w.orphans.Add("serviceaccounts/" + key) // ReplicaSets waiting for it retry now
		}
	}
}

// enqueueOwner adds the controller of cur of the given kind, and that of old when it changed.
func (c *Controller) enqueueOwner(q *queue, cur, old metav1.Object, kind string) {
	ref := metav1.GetControllerOfNoCopy(cur)
	if ref != nil && ref.Kind == kind {
		q.Add(cur.GetNamespace() + "/" + ref.Name)
	}
	if old == nil {
		return
	}
	if oref := metav1.GetControllerOfNoCopy(old); oref != nil && oref.Kind == kind && (ref == nil || oref.UID != ref.UID) {
		q.Add(old.GetNamespace() + "/" + oref.Name)
	}
}

// orphanChanged reports an object without a controller that is new, or whose labels or
// controller changed: someone may want to adopt it now.
func orphanChanged(cur, old metav1.Object) bool {
	if metav1.GetControllerOfNoCopy(cur) != nil || cur.GetDeletionTimestamp() != nil {
		return false
	}
	if old == nil {
		return true
	}
	return !maps.Equal(cur.GetLabels(), old.GetLabels()) || metav1.GetControllerOfNoCopy(old) != nil
}

// objectChangeMatters reports whether a Deployment or ReplicaSet changed in anything but its
// status: a controller's own status write must not wake it again.
func objectChangeMatters(oldObj, curObj runtime.Object) bool {
	o, n := oldObj.(metav1.Object), curObj.(metav1.Object)
	if o.GetUID() != n.GetUID() || o.GetGeneration() != n.GetGeneration() ||
		!equality.Semantic.DeepEqual(o.GetDeletionTimestamp(), n.GetDeletionTimestamp()) ||
		!maps.Equal(o.GetLabels(), n.GetLabels()) || !maps.Equal(o.GetAnnotations(), n.GetAnnotations()) ||
		!equality.Semantic.DeepEqual(o.GetOwnerReferences(), n.GetOwnerReferences()) {
		return true
	}
	switch a := oldObj.(type) {
	case *appsv1.Deployment:
		return !equality.Semantic.DeepEqual(a.Spec, curObj.(*appsv1.Deployment).Spec)
	case *appsv1.ReplicaSet:
		return !equality.Semantic.DeepEqual(a.Spec, curObj.(*appsv1.ReplicaSet).Spec)
	}
	return true
}

// podMattersToReplicaSet reports whether a pod change can alter what its ReplicaSet counts or
// decides: ownership, labels, deletion, phase, readiness (and when it became ready).
func podMattersToReplicaSet(old, cur *corev1.Pod) bool {
	if old.UID != cur.UID || old.Status.Phase != cur.Status.Phase ||
		(old.DeletionTimestamp == nil) != (cur.DeletionTimestamp == nil) ||
		!maps.Equal(old.Labels, cur.Labels) ||
		!equality.Semantic.DeepEqual(old.OwnerReferences, cur.OwnerReferences) {
		return true
	}
	oc, nc := replicaReadyCond(old), replicaReadyCond(cur)
	if (oc == nil) != (nc == nil) {
		return true
	}
	return oc != nil && (oc.Status != nc.Status || !oc.LastTransitionTime.Equal(&nc.LastTransitionTime))
}

// syncOrphan finds the controllers that may adopt an object without one and enqueues them;
// for a new ServiceAccount, the ReplicaSets of its namespace whose pods could not be created.
func (c *Controller) syncOrphan(_ context.Context, key string) {
	w := c.wl()
	res, nsName := splitKey(key)
	ns, name := splitKey(nsName)
	switch res {
	case "pods":
		e, ok := c.c.Get(resPods, ns, name)
		if !ok || metav1.GetControllerOfNoCopy(e.Meta()) != nil || e.Meta().GetDeletionTimestamp() != nil {
			return
		}
		set := labels.Set(e.Meta().GetLabels())
		rss, _ := c.c.List(resRS, ns)
		for _, r := range rss {
			rs := r.Obj.(*appsv1.ReplicaSet)
			if sel, err := workloadSelector(rs.Spec.Selector); err == nil && !sel.Empty() && sel.Matches(set) && rs.DeletionTimestamp == nil {
				w.rss.Add(ns + "/" + rs.Name)
			}
		}
	case "serviceaccounts":
		rss, _ := c.c.List(resRS, ns)
		for _, r := range rss {
			if rs := r.Obj.(*appsv1.ReplicaSet); condIndex(rs.Status.Conditions, appsv1.ReplicaSetReplicaFailure) >= 0 {
				w.rss.Add(ns + "/" + rs.Name)
			}
		}
	case "replicasets":
		e, ok := c.c.Get(resRS, ns, name)
		if !ok || metav1.GetControllerOfNoCopy(e.Meta()) != nil || e.Meta().GetDeletionTimestamp() != nil {
			return
		}
		set := labels.Set(e.Meta().GetLabels())
		ds, _ := c.c.List(resDeploy, ns)
		for _, de := range ds {
			d := de.Obj.(*appsv1.Deployment)
			if sel, err := workloadSelector(d.Spec.Selector); err == nil && !sel.Empty() && sel.Matches(set) && d.DeletionTimestamp == nil {
				w.deploys.Add(ns + "/" + d.Name)
			}
		}
	}
}

// workloadSelector converts a label selector; nil selects nothing.
func workloadSelector(s *metav1.LabelSelector) (labels.Selector, error) {
	if s == nil {
		return labels.Nothing(), nil
	}
	return metav1.LabelSelectorAsSelector(s)
}

// ownerRefTo is the owner reference a controller puts on what it creates or adopts.
func ownerRefTo(owner metav1.Object, kind string) metav1.OwnerReference {
	t := true
	return metav1.OwnerReference{
		APIVersion: "apps/v1", Kind: kind, Name: owner.GetName(), UID: owner.GetUID(),
		Controller: &t, BlockOwnerDeletion: &t,
	}
}

// claimAction is what a controller does with an object its selector may select, as the
// ControllerRefManager decides it.
type claimAction int

const (
	claimIgnore  claimAction = iota // someone else's, or not for us
	claimOwned                      // ours and selected
	claimAdopt                      // an orphan we select: set our controller reference
	claimRelease                    // ours but no longer selected: drop our reference
)

// claimDecision decides about obj for the controller owner whose selector matched is the
// result for obj's labels.
func claimDecision(owner, obj metav1.Object, matched bool) claimAction {
	if ref := metav1.GetControllerOfNoCopy(obj); ref != nil {
		switch {
		case ref.UID != owner.GetUID():
			return claimIgnore
		case matched:
			return claimOwned
		case owner.GetDeletionTimestamp() != nil:
			return claimIgnore // a controller being deleted releases nothing
		default:
			return claimRelease
		}
	}
	if owner.GetDeletionTimestamp() != nil || !matched || obj.GetDeletionTimestamp() != nil ||
		obj.GetNamespace() != owner.GetNamespace() {
		return claimIgnore
	}
	return claimAdopt
}

// errWorkloadGone reports that the object changed identity or disappeared between read and write.
var errWorkloadGone = errors.New("object is gone or was re-created")

// setOwner adopts (adopt true) or releases an object of kind k for owner, on the stored
// object. It returns the stored result, or errWorkloadGone when obj is no longer there.
func (c *Controller) setOwner(k *codec.Kind, obj, owner metav1.Object, ownerKind string, adopt bool) (runtime.Object, error) {
	e, err := c.c.Mutate(k, obj.GetNamespace(), obj.GetName(), func(o runtime.Object) (bool, error) {
		m := o.(metav1.Object)
		if m.GetUID() != obj.GetUID() {
			return false, errWorkloadGone
		}
		refs := m.GetOwnerReferences()
		if adopt {
			if metav1.GetControllerOfNoCopy(m) != nil {
				return false, errWorkloadGone // someone adopted it first
			}
			m.SetOwnerReferences(append(slices.Clone(refs), ownerRefTo(owner, ownerKind)))
			return true, nil
		}
		kept := slices.DeleteFunc(slices.Clone(refs), func(r metav1.OwnerReference) bool { return r.UID == owner.GetUID() })
		if len(kept) == len(refs) {
			return false, nil
		}
		if len(kept) == 0 {
			kept = nil
		}
		m.SetOwnerReferences(kept)
		return true, nil
	})
	if err != nil {
		var nf *cache.NotFoundError
		if errors.As(err, &nf) {
			return nil, errWorkloadGone
		}
		return nil, err
	}
	if e == nil {
		cur, ok := c.c.Get(k.GroupResource(), obj.GetNamespace(), obj.GetName())
		if !ok {
			return nil, errWorkloadGone
		}
		return cur.Obj, nil
	}
	return e.Obj, nil
}

// workloadRef refers to a workload object in Events.
func workloadRef(kind string, m metav1.Object) corev1.ObjectReference {
	return corev1.ObjectReference{
		Kind: kind, APIVersion: "apps/v1", Namespace: m.GetNamespace(), Name: m.GetName(),
		UID: m.GetUID(), ResourceVersion: m.GetResourceVersion(),
	}
}

// namespaceTerminating reports a namespace that is being deleted (or gone): the API server
// refuses new objects in it, and controllers quietly stop creating them.
func (c *Controller) namespaceTerminating(ns string) bool {
	e, ok := c.c.Get(resNS, "", ns)
	if !ok {
		return true
	}
	n := e.Obj.(*corev1.Namespace)
	return n.DeletionTimestamp != nil || n.Status.Phase == corev1.NamespaceTerminating
}

// retryWorkload schedules key on q again after a failure, with the controller back-off.
func (c *Controller) retryWorkload(q *queue, what, key string, err error) {
	if c.ctx.Err() != nil {
		return
	}
	d := c.nextBackoff(what+"/"+key, c.now())
	c.log.Warn("sync failed", "controller", what, "key", key, "err", err, "retry", d)
	q.AddAfter(key, d)
}

// workloadOK forgets the back-off of key after a sync that succeeded.
func (c *Controller) workloadOK(what, key string) {
	c.mu.Lock()
	delete(c.backoff, what+"/"+key)
	c.mu.Unlock()
}

// replicaName returns base followed by 5 random characters from the alphabet the API server
// uses for generateName, base cut to leave room for them in 63 characters.
func replicaName(base string) string {
	const alphabet = "bcdfghjklmnpqrstvwxz2456789"
	const maxBase = 63 - 5
	if len(base) > maxBase {
		base = base[:maxBase]
	}
	var b [5]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return base + string(b[:])
}

// replicaReadyCond returns the pod's Ready condition, nil without one.
func replicaReadyCond(p *corev1.Pod) *corev1.PodCondition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == corev1.PodReady {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}

func replicaReady(p *corev1.Pod) bool {
	c := replicaReadyCond(p)
	return c != nil && c.Status == corev1.ConditionTrue
}

// replicaAvailable reports a pod ready for at least minReadySeconds at now, as IsPodAvailable does.
func replicaAvailable(p *corev1.Pod, minReadySeconds int32, now time.Time) bool {
	c := replicaReadyCond(p)
	if c == nil || c.Status != corev1.ConditionTrue {
		return false
	}
	if minReadySeconds == 0 {
		return true
	}
	return !c.LastTransitionTime.IsZero() && c.LastTransitionTime.Add(time.Duration(minReadySeconds)*time.Second).Before(now)
}

func replicaFinished(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
}

func wlInt32(v int32) *int32 { return &v }
