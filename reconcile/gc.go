package reconcile

// This file: garbage collection by ownerReferences, honouring propagationPolicy, as the
// kube-controller-manager's garbage collector does it.
//
//   - An object whose owners are all gone (no object of that kind, name and uid exists: an
//     owner re-created under the same name is another owner) is deleted, pods gracefully.
//   - An owner deleted with propagationPolicy=Foreground carries the "foregroundDeletion"
//     finalizer: its dependents are deleted, and the finalizer goes (and with it the owner)
//     once no dependent that blocks owner deletion is left.
//   - An owner deleted with propagationPolicy=Orphan carries the "orphan" finalizer: the
//     ownerReferences pointing at it are removed from its dependents, then the finalizer.
//
// It is event driven: every cache change updates an index owner uid -> dependents and enqueues
// the objects to look at; at start every object is looked at once. The index holds only
// objects with ownerReferences; owners are read from the cache.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/k2d-project/k2d/cache"
	"github.com/k2d-project/k2d/codec"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

const (
	componentGC = "garbage-collector-controller"
	// gcRetry is the wait before a garbage collection step that failed (a disk error) runs again.
	gcRetry = 5 * time.Second
)

// gcKey locates an object in the cache.
type gcKey struct{ res, ns, name string }

// gcNode is an object with ownerReferences.
type gcNode struct {
	key    gcKey
	rv     uint64
	owners []metav1.OwnerReference
}

// gcState is the garbage collector's index; its zero value is ready (onGCChange may run
// before startGC). Its lock is never held while calling the cache.
type gcState struct {
	mu       sync.Mutex
	q        *queue                               // nil until startGC
	deps     map[types.UID]*gcNode                // objects with ownerReferences
	children map[types.UID]map[types.UID]struct{} // owner uid -> dependent uids
	deleting map[types.UID]gcKey                  // objects being deleted with a GC finalizer
}

func (g *gcState) init() {
	if g.deps == nil {
		g.deps = map[types.UID]*gcNode{}
		g.children = map[types.UID]map[types.UID]struct{}{}
		g.deleting = map[types.UID]gcKey{}
	}
}

// Queue keys: "d" checks a dependent's owners, "o" processes an owner's GC finalizers.
func gcDepKey(k gcKey) string   { return "d\x00" + k.res + "\x00" + k.ns + "\x00" + k.name }
func gcOwnerKey(k gcKey) string { return "o\x00" + k.res + "\x00" + k.ns + "\x00" + k.name }

func gcParseKey(s string) (op byte, k gcKey, ok bool) {
	parts := strings.Split(s, "\x00")
	if len(parts) != 4 || len(parts[0]) != 1 {
		return 0, k, false
	}
	return parts[0][0], gcKey{parts[1], parts[2], parts[3]}, true
}

// startGC starts the worker and looks at every object once: what changed while k2d was down
// (an owner deleted, a finalizer left behind) is handled as if it had just happened.
func (c *Controller) startGC() {
	g := &c.gc
	g.mu.Lock()
	g.init()
	g.q = newQueue(c.ctx, "gc", 2, c.log, c.syncGC)
	g.mu.Unlock()
	var work []string
	for _, k := range codec.Kinds {
		if k.NewList == nil {
			continue // answered, never stored
		}
		list, _ := c.c.List(k.GroupResource(), "")
		g.mu.Lock()
		for _, e := range list {
			work = g.index(e, gcKey{k.GroupResource(), e.Meta().GetNamespace(), e.Meta().GetName()}, work, true)
		}
		g.mu.Unlock()
	}
	for _, w := range work {
		g.q.Add(w)
	}
}

// stopGC waits for the step in progress; Stop has cancelled the context, so nothing new starts.
func (c *Controller) stopGC() {
	c.gc.mu.Lock()
	q := c.gc.q
	c.gc.mu.Unlock()
	if q != nil {
		q.Close()
	}
}

// onGCChange keeps the index and enqueues; it runs with the cache lock held.
func (c *Controller) onGCChange(ev cache.Event) {
	g := &c.gc
	m := ev.Entry.Meta()
	key := gcKey{ev.Resource, m.GetNamespace(), m.GetName()}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.init()
	var work []string
	if ev.Type == cache.Deleted {
		work = g.remove(m.GetUID(), work)
	} else {
		work = g.index(ev.Entry, key, work, ev.Type == cache.Added)
	}
	if g.q == nil {
		return // startGC looks at everything
	}
	for _, w := range work {
		g.q.Add(w)
	}
}

// index records e's owners and deletion state and returns the work they call for; g.mu is held.
func (g *gcState) index(e *cache.Entry, key gcKey, work []string, added bool) []string {
	m := e.Meta()
	uid := m.GetUID()
	refs := m.GetOwnerReferences()
	old := g.deps[uid]
	if old != nil && old.rv > e.RV {
		return work // a stale read at start: the index already has a newer state
	}
	if old == nil || !gcSameOwners(old.owners, refs) {
		if old != nil {
			for _, r := range old.owners {
				g.unlink(r.UID, uid)
				if ok := g.isDeleting(r.UID); ok {
					work = append(work, gcOwnerKey(g.deleting[r.UID]))
				}
			}
		}
		if len(refs) == 0 {
			delete(g.deps, uid)
		} else {
			g.deps[uid] = &gcNode{key: key, rv: e.RV, owners: slices.Clone(refs)}
			for _, r := range refs {
				set := g.children[r.UID]
				if set == nil {
					set = map[types.UID]struct{}{}
					g.children[r.UID] = set
				}
				set[uid] = struct{}{}
				if g.isDeleting(r.UID) {
					work = append(work, gcOwnerKey(g.deleting[r.UID]))
				}
			}
			work = append(work, gcDepKey(key))
		}
	} else {
		old.rv = e.RV
		if added {
			work = append(work, gcDepKey(key))
		}
	}
	if m.GetDeletionTimestamp() != nil && gcHasFinalizer(m) {
		g.deleting[uid] = key
		work = append(work, gcOwnerKey(key))
	} else {
		delete(g.deleting, uid)
	}
	return work
}

// remove forgets a deleted object: its dependents are looked at (their owner is gone) and its
// owners that wait for their dependents are told; g.mu is held.
func (g *gcState) remove(uid types.UID, work []string) []string {
	if n := g.deps[uid]; n != nil {
		for _, r := range n.owners {
			g.unlink(r.UID, uid)
			if g.isDeleting(r.UID) {
				work = append(work, gcOwnerKey(g.deleting[r.UID]))
			}
		}
		delete(g.deps, uid)
	}
	delete(g.deleting, uid)
	for dep := range g.children[uid] {
		if n := g.deps[dep]; n != nil {
			work = append(work, gcDepKey(n.key))
		}
	}
	return work
}

func (g *gcState) unlink(owner, dep types.UID) {
	if set := g.children[owner]; set != nil {
		delete(set, dep)
		if len(set) == 0 {
			delete(g.children, owner)
		}
	}
}

// forgetDeleting drops what the index says is being deleted at key, but keep.
func (g *gcState) forgetDeleting(key gcKey, keep types.UID) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for uid, k := range g.deleting {
		if k == key && uid != keep {
			delete(g.deleting, uid)
		}
	}
}

func (g *gcState) isDeleting(uid types.UID) bool {
	_, ok := g.deleting[uid]
	return ok
}

// dependentKeys returns where the dependents of owner are.
func (g *gcState) dependentKeys(owner types.UID) []gcKey {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []gcKey
	for dep := range g.children[owner] {
		if n := g.deps[dep]; n != nil {
			out = append(out, n.key)
		}
	}
	return out
}

func gcSameOwners(a, b []metav1.OwnerReference) bool {
	return slices.EqualFunc(a, b, func(x, y metav1.OwnerReference) bool {
		return x.UID == y.UID && x.Name == y.Name && x.Kind == y.Kind && x.APIVersion == y.APIVersion &&
			gcBlocks(x) == gcBlocks(y)
	})
}

func gcBlocks(r metav1.OwnerReference) bool {
	return r.BlockOwnerDeletion != nil && *r.BlockOwnerDeletion
}

func gcHasFinalizer(m metav1.Object) bool {
	f := m.GetFinalizers()
	return slices.Contains(f, codec.FinalizerForeground) || slices.Contains(f, codec.FinalizerOrphan)
}

// syncGC runs one queued step.
func (c *Controller) syncGC(_ context.Context, s string) {
	op, key, ok := gcParseKey(s)
	if !ok {
		return
	}
	k := gcKindOf(key.res)
	if k == nil {
		return
	}
	var err error
	switch op {
	case 'd':
		err = c.gcCheckDependent(k, key)
	case 'o':
		err = c.gcProcessOwner(k, key)
	}
	if err != nil && c.ctx.Err() == nil {
		c.log.Warn("garbage collection failed", "object", key.res+"/"+key.ns+"/"+key.name, "err", err)
		c.gc.q.AddAfter(s, gcRetry)
	}
}

func gcKindOf(res string) *codec.Kind {
	for _, k := range codec.Kinds {
		if k.GroupResource() == res {
			return k
		}
	}
	return nil
}

// gcOwnerState is what the garbage collector knows of one ownerReference.
type gcOwnerState int

const (
	gcSolid      gcOwnerState = iota // the owner exists and is not waiting for its dependents
	gcDangling                       // no such owner: deleted, or re-created with another uid
	gcWaiting                        // the owner is being deleted in the foreground
	gcUnresolved                     // a kind k2d does not serve, or an invalid reference
)

// gcAction is what to do with a dependent.
type gcAction struct {
	drop    []types.UID // ownerReferences to remove (keep the object)
	del     bool        // delete the object with policy
	policy  metav1.DeletionPropagation
	unblock bool // first make its ownerReferences non-blocking (breaks foreground cycles)
}

// gcDecide is attemptToDeleteItem's decision for a dependent that is not being deleted:
// refs and states are its ownerReferences and what became of each owner, hasDependents
// whether it owns objects itself, and depDeletingDependents whether one of those is itself
// being deleted in the foreground.
func gcDecide(refs []metav1.OwnerReference, states []gcOwnerState, finalizers []string, hasDependents, depDeletingDependents bool) gcAction {
	var solid, dangling, waiting []types.UID
	for i, st := range states {
		switch st {
		case gcUnresolved:
			return gcAction{} // retried when something changes; never delete on a guess
		case gcSolid:
			solid = append(solid, refs[i].UID)
		case gcDangling:
			dangling = append(dangling, refs[i].UID)
		case gcWaiting:
			waiting = append(waiting, refs[i].UID)
		}
	}
	switch {
	case len(solid) > 0:
		// An owner remains: only drop the references to owners that are gone, or that wait
		// for their dependents (else they would wait for this one forever).
		return gcAction{drop: append(dangling, waiting...)}
	case len(waiting) > 0 && hasDependents:
		// An owner waits for its dependents and this one has dependents of its own: delete it
		// in the foreground too, so that the owner waits for the whole tree.
		return gcAction{del: true, policy: metav1.DeletePropagationForeground, unblock: depDeletingDependents}
	default:
		policy := metav1.DeletePropagationBackground
		switch {
		case slices.Contains(finalizers, codec.FinalizerOrphan):
			policy = metav1.DeletePropagationOrphan
		case slices.Contains(finalizers, codec.FinalizerForeground):
			policy = metav1.DeletePropagationForeground
		}
		return gcAction{del: true, policy: policy}
	}
}

// gcCheckDependent looks at an object's owners and deletes it, or drops references, when the
// owners are gone or deleting in the foreground.
func (c *Controller) gcCheckDependent(k *codec.Kind, key gcKey) error {
	e, ok := c.c.Get(key.res, key.ns, key.name)
	if !ok {
		return nil
	}
	m := e.Meta()
	if m.GetDeletionTimestamp() != nil {
		// Being deleted is a one-way trip; only a foreground deletion needs more from us.
		if slices.Contains(m.GetFinalizers(), codec.FinalizerForeground) {
			return c.gcProcessOwner(k, key)
		}
		return nil
	}
	refs := m.GetOwnerReferences()
	if len(refs) == 0 {
		return nil
	}
	states := make([]gcOwnerState, len(refs))
	for i, r := range refs {
		states[i] = c.gcOwner(k, e, r)
	}
	// Its own dependents matter only when an owner waits for the whole tree.
	var deps []gcDep
	depDeleting := false
	if slices.Contains(states, gcWaiting) {
		deps = c.gcDependents(m.GetUID())
		for _, d := range deps {
			dm := d.e.Meta()
			depDeleting = depDeleting || (dm.GetDeletionTimestamp() != nil && slices.Contains(dm.GetFinalizers(), codec.FinalizerForeground))
		}
	}
	act := gcDecide(refs, states, m.GetFinalizers(), len(deps) > 0, depDeleting)
	uid := m.GetUID()
	switch {
	case len(act.drop) > 0:
		return c.gcDropOwners(k, key, uid, act.drop)
	case act.del:
		if act.unblock {
			if err := c.gcUnblock(k, key, uid); err != nil {
				return err
			}
			if e, ok = c.c.Get(key.res, key.ns, key.name); !ok {
				return nil
			}
		}
		return c.gcDelete(k, e, act.policy)
	}
	return nil
}

// gcOwner classifies one ownerReference of dep. A namespaced owner is looked for in dep's
// namespace; a cluster-scoped dependent cannot have a namespaced owner.
func (c *Controller) gcOwner(depKind *codec.Kind, dep *cache.Entry, r metav1.OwnerReference) gcOwnerState {
	gv, err := schema.ParseGroupVersion(r.APIVersion)
	if err != nil {
		return gcUnresolved
	}
	k := codec.KindByName(gv.Group, r.Kind)
	if k == nil {
		return gcUnresolved
	}
	ns := ""
	if k.Namespaced {
		ns = dep.Meta().GetNamespace()
		if ns == "" {
			c.gcInvalidNamespace(depKind, dep, r)
			return gcUnresolved
		}
	}
	o, ok := c.c.Get(k.GroupResource(), ns, r.Name)
	if !ok || o.Meta().GetUID() != r.UID {
		return gcDangling
	}
	if om := o.Meta(); om.GetDeletionTimestamp() != nil && slices.Contains(om.GetFinalizers(), codec.FinalizerForeground) {
		return gcWaiting
	}
	return gcSolid
}

// gcInvalidNamespace reports, as the garbage collector does, a cluster-scoped object that
// names a namespaced owner.
func (c *Controller) gcInvalidNamespace(k *codec.Kind, dep *cache.Entry, r metav1.OwnerReference) {
	m := dep.Meta()
	ref := corev1.ObjectReference{Kind: k.Kind, APIVersion: k.APIVersion(), Name: m.GetName(), UID: m.GetUID(), ResourceVersion: m.GetResourceVersion()}
	c.rec.record(ref, componentGC, corev1.EventTypeWarning, "OwnerRefInvalidNamespace",
		fmt.Sprintf("ownerRef [%s/%s, namespace: , name: %s, uid: %s] does not exist in namespace %q", r.APIVersion, r.Kind, r.Name, r.UID, ""))
}

// gcDep is a dependent found through the index.
type gcDep struct {
	key gcKey
	e   *cache.Entry
}

// gcDependents returns the objects that still name owner as an owner, dropping from the index
// what it remembered wrongly (an object read before it was deleted, at start).
func (c *Controller) gcDependents(owner types.UID) []gcDep {
	var out []gcDep
	for _, key := range c.gc.dependentKeys(owner) {
		e, ok := c.c.Get(key.res, key.ns, key.name)
		if ok && slices.ContainsFunc(e.Meta().GetOwnerReferences(), func(r metav1.OwnerReference) bool { return r.UID == owner }) {
			out = append(out, gcDep{key, e})
			continue
		}
		c.gc.mu.Lock()
		for dep, n := range c.gc.deps {
			if n.key == key && (!ok || e.Meta().GetUID() != dep) {
				for _, r := range n.owners {
					c.gc.unlink(r.UID, dep)
				}
				delete(c.gc.deps, dep)
			}
		}
		c.gc.mu.Unlock()
	}
	return out
}

// gcProcessOwner handles an object being deleted with a GC finalizer.
func (c *Controller) gcProcessOwner(k *codec.Kind, key gcKey) error {
	e, ok := c.c.Get(key.res, key.ns, key.name)
	if !ok || e.Meta().GetDeletionTimestamp() == nil || !gcHasFinalizer(e.Meta()) {
		c.gc.forgetDeleting(key, "") // remembered from a stale read at start
		return nil
	}
	m := e.Meta()
	uid := m.GetUID()
	c.gc.forgetDeleting(key, uid)
	fins := m.GetFinalizers()
	switch {
	case slices.Contains(fins, codec.FinalizerOrphan):
		for _, d := range c.gcDependents(uid) {
			dk := gcKindOf(d.key.res)
			if dk == nil {
				continue
			}
			if err := c.gcDropOwners(dk, d.key, d.e.Meta().GetUID(), []types.UID{uid}); err != nil {
				return err
			}
		}
		return c.gcRemoveFinalizer(k, key, uid, codec.FinalizerOrphan)
	case slices.Contains(fins, codec.FinalizerForeground):
		blocking := 0
		for _, d := range c.gcDependents(uid) {
			dm := d.e.Meta()
			for _, r := range dm.GetOwnerReferences() {
				if r.UID == uid && gcBlocks(r) {
					blocking++
				}
			}
			if dm.GetDeletionTimestamp() == nil {
				c.gc.q.Add(gcDepKey(d.key)) // each is deleted, or its reference dropped
			}
		}
		if blocking == 0 {
			return c.gcRemoveFinalizer(k, key, uid, codec.FinalizerForeground)
		}
	}
	return nil
}

// gcDropOwners removes the ownerReferences to owners from an object.
func (c *Controller) gcDropOwners(k *codec.Kind, key gcKey, uid types.UID, owners []types.UID) error {
	_, err := c.c.Mutate(k, key.ns, key.name, func(obj runtime.Object) (bool, error) {
		m := obj.(metav1.Object)
		if m.GetUID() != uid {
			return false, nil
		}
		refs := m.GetOwnerReferences()
		kept := slices.DeleteFunc(slices.Clone(refs), func(r metav1.OwnerReference) bool { return slices.Contains(owners, r.UID) })
		if len(kept) == len(refs) {
			return false, nil
		}
		if len(kept) == 0 {
			kept = nil
		}
		m.SetOwnerReferences(kept)
		return true, nil
	})
	return gcIgnoreGone(err)
}

// gcUnblock makes an object's ownerReferences non-blocking.
func (c *Controller) gcUnblock(k *codec.Kind, key gcKey, uid types.UID) error {
	_, err := c.c.Mutate(k, key.ns, key.name, func(obj runtime.Object) (bool, error) {
		m := obj.(metav1.Object)
		if m.GetUID() != uid {
			return false, nil
		}
		refs := slices.Clone(m.GetOwnerReferences())
		changed := false
		for i := range refs {
			if gcBlocks(refs[i]) {
				f := false
				refs[i].BlockOwnerDeletion = &f
				changed = true
			}
		}
		m.SetOwnerReferences(refs)
		return changed, nil
	})
	return gcIgnoreGone(err)
}

// gcRemoveFinalizer removes a GC finalizer; an object being deleted that has no finalizer left
// goes, unless a controller finishes its deletion (pods stop their containers first,
// namespaces empty themselves).
func (c *Controller) gcRemoveFinalizer(k *codec.Kind, key gcKey, uid types.UID, fin string) error {
	e, err := c.c.Mutate(k, key.ns, key.name, func(obj runtime.Object) (bool, error) {
		m := obj.(metav1.Object)
		if m.GetUID() != uid || !slices.Contains(m.GetFinalizers(), fin) {
			return false, nil
		}
		m.SetFinalizers(slices.DeleteFunc(slices.Clone(m.GetFinalizers()), func(f string) bool { return f == fin }))
		return true, nil
	})
	if err != nil || e == nil {
		return gcIgnoreGone(err)
	}
	if m := e.Meta(); m.GetDeletionTimestamp() != nil && len(m.GetFinalizers()) == 0 && !gcOwnDeletion(k) {
		_, err = c.c.Delete(k, key.ns, key.name, "", string(uid))
	}
	return gcIgnoreGone(err)
}

func gcOwnDeletion(k *codec.Kind) bool {
	return k.Group == "" && (k.Resource == "pods" || k.Resource == "namespaces")
}

// gcProtected are the namespaces the API server refuses to delete.
var gcProtected = map[string]bool{"default": true, "kube-system": true, "kube-public": true}

// gcDelete deletes an object as a DELETE with the given propagation policy and the object's
// uid as precondition would: the policy's finalizer is set; a pod gets its grace period (the pod
// worker stops its containers, then removes it); an object left with finalizers is marked
// deleting; anything else goes at once.
func (c *Controller) gcDelete(k *codec.Kind, e *cache.Entry, policy metav1.DeletionPropagation) error {
	m := e.Meta()
	ns, name, uid := m.GetNamespace(), m.GetName(), m.GetUID()
	if k == kindNS && gcProtected[name] {
		return nil
	}
	opts := &metav1.DeleteOptions{PropagationPolicy: &policy}
	graceful, grace := gcGrace(k, e)
	if _, fins := codec.DeletionFinalizers(k, m, opts); !graceful && len(fins) == 0 {
		_, err := c.c.Delete(k, ns, name, "", string(uid))
		return gcIgnoreGone(err)
	}
	now := c.now()
	_, err := c.c.Mutate(k, ns, name, func(obj runtime.Object) (bool, error) {
		m := obj.(metav1.Object)
		if m.GetUID() != uid || m.GetDeletionTimestamp() != nil {
			return false, nil
		}
		_, fins := codec.DeletionFinalizers(k, m, opts)
		m.SetFinalizers(fins)
		t := metav1.NewTime(now.Add(time.Duration(grace) * time.Second))
		m.SetDeletionTimestamp(&t)
		m.SetDeletionGracePeriodSeconds(&grace)
		if n, ok := obj.(*corev1.Namespace); ok {
			n.Status.Phase = corev1.NamespaceTerminating
		}
		if g := m.GetGeneration(); !gcOwnDeletion(k) && g > 0 {
			m.SetGeneration(g + 1)
		}
		return true, nil
	})
	return gcIgnoreGone(err)
}

// gcGrace: pods end gracefully with their own grace period, namespaces through their
// controller; other kinds only wait for finalizers.
func gcGrace(k *codec.Kind, e *cache.Entry) (bool, int64) {
	switch {
	case k == kindPod:
		grace := int64(corev1.DefaultTerminationGracePeriodSeconds)
		if p := e.Obj.(*corev1.Pod); p.Spec.TerminationGracePeriodSeconds != nil {
			grace = *p.Spec.TerminationGracePeriodSeconds
		}
		if grace < 0 {
			grace = 0
		}
		return grace > 0, grace
	case k == kindNS:
		return true, 0
	}
	return false, 0
}

// gcIgnoreGone: an object deleted or re-created meanwhile needs nothing more.
func gcIgnoreGone(err error) error {
	var nf *cache.NotFoundError
	var cf *cache.ConflictError
	if err == nil || errors.As(err, &nf) || errors.As(err, &cf) {
		return nil
	}
	return err
}
