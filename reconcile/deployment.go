package reconcile

// This file: the Deployment controller. Each Deployment owns ReplicaSets, one per pod
// template it has had (named <deployment>-<pod-template-hash>); the one matching the current
// template is the new ReplicaSet, the others are old. A rollout scales the new one up and the
// old ones down: RollingUpdate within maxSurge above and maxUnavailable below replicas, old
// pods going only as new ones become available; Recreate scales every old one to 0, waits
// until their pods are gone, then creates the new one at full size. A paused Deployment only
// scales. `kubectl rollout undo` puts an old template back: the matching ReplicaSet becomes
// the new one again, with the next revision. Old ReplicaSets beyond revisionHistoryLimit are
// deleted once empty. The decisions are in deployment_policy.go.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/k2d-project/k2d/cache"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
)

// deploySync is one sync of one Deployment: d is the defaulted copy the decisions read, kept
// up to date with what the sync writes.
type deploySync struct {
	c   *Controller
	d   *appsv1.Deployment
	now time.Time
}

// errStale reports a ReplicaSet whose spec changed since it was read: the change enqueued
// the Deployment again, and that sync decides with the new state.
var errStale = errors.New("replicaset changed meanwhile")

// syncDeployment is the Deployment worker.
func (c *Controller) syncDeployment(_ context.Context, key string) {
	ns, name := splitKey(key)
	e, ok := c.c.Get(resDeploy, ns, name)
	if !ok {
		return
	}
	stored := e.Obj.(*appsv1.Deployment)
	s := &deploySync{c: c, d: deploymentDefaults(stored), now: c.now()}
	err := s.sync()
	if err != nil && !errors.Is(err, errStale) && !errors.Is(err, errWorkloadGone) {
		c.retryWorkload(c.wl().deploys, "deployment", key, err)
		return
	}
	c.workloadOK("deployment", key)
}

func (s *deploySync) sync() error {
	d := s.d
	if sel := d.Spec.Selector; sel == nil || (len(sel.MatchLabels) == 0 && len(sel.MatchExpressions) == 0) {
		if d.Status.ObservedGeneration < d.Generation { // once per generation, not at every sync
			s.c.rec.record(workloadRef("Deployment", d), componentDeploy, corev1.EventTypeWarning, ReasonSelectingAll,
				"This deployment is selecting all pods. A non-empty selector is required.")
			st := *d.Status.DeepCopy()
			st.ObservedGeneration = d.Generation
			return s.writeStatus(st)
		}
		return nil
	}
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		s.c.log.Warn("deployment has an invalid selector", "deployment", d.Namespace+"/"+d.Name, "err", err)
		return nil
	}
	if isRollingUpdate(d) {
		ru := d.Spec.Strategy.RollingUpdate
		if _, _, err := resolveFenceposts(ru.MaxSurge, ru.MaxUnavailable, *d.Spec.Replicas); err != nil {
			s.c.log.Warn("deployment has an invalid rolling update strategy", "deployment", d.Namespace+"/"+d.Name, "err", err)
			return nil
		}
	}
	rsList, err := s.claimReplicaSets(sel)
	if err != nil {
		return err
	}
	if d.DeletionTimestamp != nil {
		return s.syncStatusOnly(rsList)
	}
	if err := s.checkPaused(); err != nil {
		return err
	}
	newRS, olds, err := s.newAndOld(rsList, false)
	if err != nil {
		return err
	}
	rsList = replaceRS(rsList, newRS) // its annotations may have just been updated
	if d.Spec.Paused || isScalingEvent(d, append(olds, newRS)) {
		return s.scaleOnly(rsList)
	}
	switch d.Spec.Strategy.Type {
	case appsv1.RecreateDeploymentStrategyType:
		return s.rolloutRecreate(rsList)
	case appsv1.RollingUpdateDeploymentStrategyType:
		return s.rolloutRolling(rsList)
	}
	return nil // validation refuses other strategies
}

// claimReplicaSets returns the ReplicaSets the Deployment owns, adopting orphans its selector
// matches and releasing those it no longer matches.
func (s *deploySync) claimReplicaSets(sel labels.Selector) ([]*appsv1.ReplicaSet, error) {
	d := s.d
	list, _ := s.c.c.List(resRS, d.Namespace)
	var out []*appsv1.ReplicaSet
	for _, e := range list {
		rs := e.Obj.(*appsv1.ReplicaSet)
		switch claimDecision(d, rs, sel.Matches(labels.Set(rs.Labels))) {
		case claimOwned:
			out = append(out, rs)
		case claimAdopt:
			obj, err := s.c.setOwner(kindRS, rs, d, "Deployment", true)
			if errors.Is(err, errWorkloadGone) {
				continue
			}
			if err != nil {
				return nil, err
			}
			out = append(out, obj.(*appsv1.ReplicaSet))
		case claimRelease:
			if _, err := s.c.setOwner(kindRS, rs, d, "Deployment", false); err != nil && !errors.Is(err, errWorkloadGone) {
				return nil, err
			}
		}
	}
	return out, nil
}

// checkPaused sets the Progressing condition when the Deployment was paused or resumed
// (unless its rollout already timed out).
func (s *deploySync) checkPaused() error {
	d := s.d
	if !hasProgressDeadline(d) {
		return nil
	}
	cur := getDeployCond(&d.Status, appsv1.DeploymentProgressing)
	if cur != nil && cur.Reason == ReasonTimedOut {
		return nil
	}
	pausedCond := cur != nil && cur.Reason == ReasonPaused
	var c appsv1.DeploymentCondition
	switch {
	case d.Spec.Paused && !pausedCond:
		c = newDeployCond(appsv1.DeploymentProgressing, corev1.ConditionUnknown, ReasonPaused, "Deployment is paused", s.now)
	case !d.Spec.Paused && pausedCond:
		c = newDeployCond(appsv1.DeploymentProgressing, corev1.ConditionUnknown, ReasonResumed, "Deployment is resumed", s.now)
	default:
		return nil
	}
	st := *d.Status.DeepCopy()
	setDeployCond(&st, c)
	return s.writeStatus(st)
}

// newAndOld returns the new ReplicaSet (creating it when create is set and it does not exist
// yet; nil otherwise) and all the old ones, bringing the revision annotations in line.
func (s *deploySync) newAndOld(rsList []*appsv1.ReplicaSet, create bool) (*appsv1.ReplicaSet, []*appsv1.ReplicaSet, error) {
	_, olds := findOldRSs(rsList, findNewRS(s.d, rsList))
	newRS, err := s.getNewRS(rsList, olds, create)
	if err != nil {
		return nil, nil, err
	}
	return newRS, olds, nil
}

// getNewRS finds or creates the ReplicaSet of the current template (getNewReplicaSet).
func (s *deploySync) getNewRS(rsList, olds []*appsv1.ReplicaSet, create bool) (*appsv1.ReplicaSet, error) {
	d := s.d
	existing := findNewRS(d, rsList)
	newRevision := fmt.Sprint(maxRevision(olds) + 1)
	if existing != nil {
		rs := existing
		probe := existing.DeepCopy()
		annChanged := setNewRSAnnotations(d, probe, newRevision, true)
		if annChanged || probe.Spec.MinReadySeconds != d.Spec.MinReadySeconds {
			var err error
			rs, err = s.updateRS(existing, func(cur *appsv1.ReplicaSet) {
				setNewRSAnnotations(d, cur, newRevision, true)
				cur.Spec.MinReadySeconds = d.Spec.MinReadySeconds
			})
			if err != nil {
				return nil, err
			}
		}
		st := *d.Status.DeepCopy()
		changed := s.setRevision(rs.Annotations[AnnRevision])
		if getDeployCond(&st, appsv1.DeploymentProgressing) == nil {
			setDeployCond(&st, newDeployCond(appsv1.DeploymentProgressing, corev1.ConditionTrue, ReasonFoundNewRS,
				fmt.Sprintf("Found new replica set %q", rs.Name), s.now))
			changed = true
		}
		if changed {
			if err := s.writeStatus(st); err != nil {
				return nil, err
			}
		}
		return rs, nil
	}
	if !create {
		return nil, nil
	}
	if s.c.namespaceTerminating(d.Namespace) {
		return nil, errWorkloadGone // the API server would refuse it; the namespace is being emptied
	}

	hash := podTemplateHash(&d.Spec.Template, d.Status.CollisionCount)
	tmpl := *d.Spec.Template.DeepCopy()
	tmpl.Labels = labelsWith(d.Spec.Template.Labels, LabelPodTemplateHash, hash)
	selector := d.Spec.Selector.DeepCopy()
	selector.MatchLabels = labelsWith(selector.MatchLabels, LabelPodTemplateHash, hash)
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{
			Name:            d.Name + "-" + hash,
			Namespace:       d.Namespace,
			OwnerReferences: []metav1.OwnerReference{ownerRefTo(d, "Deployment")},
			Labels:          tmpl.Labels,
		},
		Spec: appsv1.ReplicaSetSpec{
			Replicas:        wlInt32(0),
			MinReadySeconds: d.Spec.MinReadySeconds,
			Selector:        selector,
			Template:        tmpl,
		},
	}
	size := newRSReplicas(d, append(append([]*appsv1.ReplicaSet(nil), olds...), rs), rs)
	rs.Spec.Replicas = wlInt32(size)
	setNewRSAnnotations(d, rs, newRevision, false)

	created, alreadyExists := rs, false
	e, err := s.c.c.Create(kindRS, rs)
	var exists *cache.AlreadyExistsError
	switch {
	case err == nil:
		created = e.Obj.(*appsv1.ReplicaSet)
	case errors.As(err, &exists):
		cur, ok := s.c.c.Get(resRS, rs.Namespace, rs.Name)
		if !ok {
			return nil, errStale
		}
		other := cur.Obj.(*appsv1.ReplicaSet)
		if ref := metav1.GetControllerOfNoCopy(other); ref != nil && ref.UID == d.UID && equalIgnoreHash(&d.Spec.Template, &other.Spec.Template) {
			created, alreadyExists = other, true
			break
		}
		// A different ReplicaSet has the name: the hash collided. The next name comes from
		// a bumped collisionCount.
		st := *d.Status.DeepCopy()
		st.CollisionCount = wlInt32(1)
		if d.Status.CollisionCount != nil {
			st.CollisionCount = wlInt32(*d.Status.CollisionCount + 1)
		}
		if err := s.writeStatus(st); err != nil {
			return nil, err
		}
		s.c.wl().deploys.Add(d.Namespace + "/" + d.Name)
		return nil, errStale
	default:
		msg := fmt.Sprintf("Failed to create new replica set %q: %v", rs.Name, err)
		if hasProgressDeadline(d) {
			st := *d.Status.DeepCopy()
			setDeployCond(&st, newDeployCond(appsv1.DeploymentProgressing, corev1.ConditionFalse, ReasonFailedRSCreate, msg, s.now))
			_ = s.writeStatus(st)
		}
		s.c.rec.record(workloadRef("Deployment", d), componentDeploy, corev1.EventTypeWarning, ReasonFailedRSCreate, msg)
		return nil, err
	}
	if !alreadyExists && size > 0 {
		s.c.rec.record(workloadRef("Deployment", d), componentDeploy, corev1.EventTypeNormal, ReasonScalingReplicaSet,
			fmt.Sprintf("Scaled up replica set %s from 0 to %d", created.Name, size))
	}
	st := *d.Status.DeepCopy()
	changed := s.setRevision(newRevision)
	if !alreadyExists && hasProgressDeadline(d) {
		setDeployCond(&st, newDeployCond(appsv1.DeploymentProgressing, corev1.ConditionTrue, ReasonNewRSCreated,
			fmt.Sprintf("Created new replica set %q", created.Name), s.now))
		changed = true
	}
	if changed {
		if err := s.writeStatus(st); err != nil {
			return nil, err
		}
	}
	return created, nil
}

// setRevision sets the Deployment's revision annotation in s.d (written with the next
// status write); it reports a change.
func (s *deploySync) setRevision(rev string) bool {
	if rev == "" || s.d.Annotations[AnnRevision] == rev {
		return false
	}
	if s.d.Annotations == nil {
		s.d.Annotations = map[string]string{}
	}
	s.d.Annotations[AnnRevision] = rev
	return true
}

// rolloutRolling runs one step of a rolling update.
func (s *deploySync) rolloutRolling(rsList []*appsv1.ReplicaSet) error {
	newRS, olds, err := s.newAndOld(rsList, true)
	if err != nil {
		return err
	}
	all := append(append([]*appsv1.ReplicaSet(nil), olds...), newRS)
	scaledUp, newRS, err := s.reconcileNewRS(all, newRS)
	if err != nil {
		return err
	}
	all = append(append([]*appsv1.ReplicaSet(nil), olds...), newRS)
	if scaledUp {
		return s.syncRolloutStatus(all, newRS)
	}
	scaledDown, olds, err := s.reconcileOldRSs(all, olds, newRS)
	if err != nil {
		return err
	}
	all = append(append([]*appsv1.ReplicaSet(nil), olds...), newRS)
	if scaledDown {
		return s.syncRolloutStatus(all, newRS)
	}
	if deploymentComplete(s.d, &s.d.Status) {
		if err := s.cleanup(olds); err != nil {
			return err
		}
	}
	return s.syncRolloutStatus(all, newRS)
}

// reconcileNewRS scales the new ReplicaSet up within maxSurge (or down to replicas).
func (s *deploySync) reconcileNewRS(all []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet) (bool, *appsv1.ReplicaSet, error) {
	want := *s.d.Spec.Replicas
	switch cur := rsReplicas(newRS); {
	case cur == want:
		return false, newRS, nil
	case cur > want:
		return s.scaleRS(newRS, want)
	}
	return s.scaleRS(newRS, newRSReplicas(s.d, all, newRS))
}

// reconcileOldRSs scales old ReplicaSets down as far as maxUnavailable allows: first the pods
// that are not available anyway, then available ones while the new pods make up for them.
func (s *deploySync) reconcileOldRSs(all, olds []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet) (bool, []*appsv1.ReplicaSet, error) {
	if specReplicas(olds) == 0 {
		return false, olds, nil
	}
	limit := maxScaledDown(s.d, all, newRS)
	if limit <= 0 {
		return false, olds, nil
	}
	olds = append([]*appsv1.ReplicaSet(nil), olds...)
	var total int32
	apply := func(plan map[*appsv1.ReplicaSet]int32) error {
		for i, rs := range olds {
			size, ok := plan[rs]
			if !ok {
				continue
			}
			total += rsReplicas(rs) - size
			_, updated, err := s.scaleRS(rs, size)
			if err != nil {
				return err
			}
			olds[i] = updated
		}
		return nil
	}
	// Unhealthy replicas first: they would otherwise block the rollout.
	if err := apply(scaleDownPlan(olds, limit, true)); err != nil {
		return false, olds, err
	}
	all = append(append([]*appsv1.ReplicaSet(nil), olds...), newRS)
	minAvailable := *s.d.Spec.Replicas - maxUnavailable(s.d)
	if avail := availableReplicas(all); avail > minAvailable {
		if err := apply(scaleDownPlan(olds, avail-minAvailable, false)); err != nil {
			return false, olds, err
		}
	}
	return total > 0, olds, nil
}

// rolloutRecreate runs one step of a Recreate rollout.
func (s *deploySync) rolloutRecreate(rsList []*appsv1.ReplicaSet) error {
	newRS, olds, err := s.newAndOld(rsList, false)
	if err != nil {
		return err
	}
	all := append(append([]*appsv1.ReplicaSet(nil), olds...), newRS)
	scaledDown := false
	for i, rs := range olds {
		if rsReplicas(rs) == 0 {
			continue
		}
		scaled, updated, err := s.scaleRS(rs, 0)
		if err != nil {
			return err
		}
		olds[i] = updated
		scaledDown = scaledDown || scaled
	}
	if scaledDown {
		all = append(append([]*appsv1.ReplicaSet(nil), olds...), newRS)
		return s.syncRolloutStatus(all, newRS)
	}
	if s.oldPodsRunning(newRS, olds) {
		return s.syncRolloutStatus(all, newRS)
	}
	if newRS == nil {
		if newRS, olds, err = s.newAndOld(rsList, true); err != nil {
			return err
		}
	}
	if _, newRS, err = s.scaleRS(newRS, *s.d.Spec.Replicas); err != nil {
		return err
	}
	all = append(append([]*appsv1.ReplicaSet(nil), olds...), newRS)
	if deploymentComplete(s.d, &s.d.Status) {
		if err := s.cleanup(olds); err != nil {
			return err
		}
	}
	return s.syncRolloutStatus(all, newRS)
}

// oldPodsRunning reports pods of old ReplicaSets that still exist and have not finished,
// terminating ones included: Recreate starts new pods only once they are gone.
func (s *deploySync) oldPodsRunning(newRS *appsv1.ReplicaSet, olds []*appsv1.ReplicaSet) bool {
	if statusReplicas(olds) > 0 {
		return true
	}
	oldUIDs := map[types.UID]bool{}
	for _, rs := range olds {
		oldUIDs[rs.UID] = true
	}
	if newRS != nil {
		delete(oldUIDs, newRS.UID)
	}
	pods, _ := s.c.c.List(resPods, s.d.Namespace)
	for _, e := range pods {
		p := e.Obj.(*corev1.Pod)
		if ref := metav1.GetControllerOfNoCopy(p); ref != nil && oldUIDs[ref.UID] && !replicaFinished(p) {
			return true
		}
	}
	return false
}

// scaleOnly is the sync of a paused Deployment or of a replicas change: it resizes the
// ReplicaSets without rolling out.
func (s *deploySync) scaleOnly(rsList []*appsv1.ReplicaSet) error {
	newRS, olds, err := s.newAndOld(rsList, false)
	if err != nil {
		return err
	}
	if err := s.scale(newRS, olds); err != nil {
		return err
	}
	// scale wrote the ReplicaSets: read them back for the status.
	rsList, err = s.reread(rsList)
	if err != nil {
		return err
	}
	newRS = findNewRS(s.d, rsList)
	_, olds = findOldRSs(rsList, newRS)
	if s.d.Spec.Paused {
		if err := s.cleanup(olds); err != nil {
			return err
		}
	}
	return s.syncStatus(append(olds, newRS), newRS)
}

// scale resizes the ReplicaSets to the Deployment's replicas: the only active one (or the
// newest) takes all; a saturated new one leaves the old ones none; otherwise a rolling
// update spreads the change in proportion.
func (s *deploySync) scale(newRS *appsv1.ReplicaSet, olds []*appsv1.ReplicaSet) error {
	d := s.d
	if rs := findActiveOrLatest(newRS, olds); rs != nil {
		if rsReplicas(rs) == *d.Spec.Replicas {
			return nil
		}
		_, _, err := s.scaleRS(rs, *d.Spec.Replicas)
		return err
	}
	if isSaturated(d, newRS) {
		for _, rs := range activeRSs(olds) {
			if _, _, err := s.scaleRS(rs, 0); err != nil {
				return err
			}
		}
		return nil
	}
	if !isRollingUpdate(d) {
		return nil
	}
	order, sizes, op := proportionalSizes(d, activeRSs(append(append([]*appsv1.ReplicaSet(nil), olds...), newRS)))
	for _, rs := range order {
		if _, _, err := s.scaleRSOp(rs, sizes[rs], op); err != nil {
			return err
		}
	}
	return nil
}

// reread returns the stored state of the ReplicaSets.
func (s *deploySync) reread(rsList []*appsv1.ReplicaSet) ([]*appsv1.ReplicaSet, error) {
	out := make([]*appsv1.ReplicaSet, 0, len(rsList))
	for _, rs := range rsList {
		e, ok := s.c.c.Get(resRS, rs.Namespace, rs.Name)
		if !ok || e.Meta().GetUID() != rs.UID {
			continue
		}
		out = append(out, e.Obj.(*appsv1.ReplicaSet))
	}
	return out, nil
}

// syncStatusOnly writes the status of a Deployment being deleted.
func (s *deploySync) syncStatusOnly(rsList []*appsv1.ReplicaSet) error {
	newRS, olds, err := s.newAndOld(rsList, false)
	if err != nil {
		return err
	}
	return s.syncStatus(append(olds, newRS), newRS)
}

// syncStatus writes the counts and the Available condition.
func (s *deploySync) syncStatus(all []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet) error {
	return s.writeStatus(deploymentStatus(s.d, all, newRS, s.now))
}

// syncRolloutStatus writes the status of a rollout and arms the progress-deadline check.
func (s *deploySync) syncRolloutStatus(all []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet) error {
	st := rolloutStatus(s.d, all, newRS, s.now)
	if err := s.writeStatus(st); err != nil {
		return err
	}
	key := s.d.Namespace + "/" + s.d.Name
	if after, ok := progressCheckIn(s.d, &st, s.now); ok {
		s.c.wl().deploys.AddAfter(key, after)
	} else {
		s.c.wl().deploys.Forget(key) // complete, timed out or paused: nothing to wake up for
	}
	return nil
}

// cleanup deletes old ReplicaSets beyond revisionHistoryLimit.
func (s *deploySync) cleanup(olds []*appsv1.ReplicaSet) error {
	for _, rs := range cleanupVictims(s.d, olds) {
		if _, err := s.c.c.Delete(kindRS, rs.Namespace, rs.Name, "", string(rs.UID)); err != nil {
			var nf *cache.NotFoundError
			var conflict *cache.ConflictError
			if !errors.As(err, &nf) && !errors.As(err, &conflict) {
				return err
			}
		}
	}
	return nil
}

// scaleRS resizes a ReplicaSet (and records the Deployment size in its annotations).
func (s *deploySync) scaleRS(rs *appsv1.ReplicaSet, size int32) (bool, *appsv1.ReplicaSet, error) {
	if rsReplicas(rs) == size {
		return false, rs, nil
	}
	op := "up"
	if rsReplicas(rs) > size {
		op = "down"
	}
	return s.scaleRSOp(rs, size, op)
}

func (s *deploySync) scaleRSOp(rs *appsv1.ReplicaSet, size int32, op string) (bool, *appsv1.ReplicaSet, error) {
	d := s.d
	desired, maxReplicas := *d.Spec.Replicas, *d.Spec.Replicas+maxSurge(d)
	sizeChange := rsReplicas(rs) != size
	if !sizeChange && !replicasAnnotationsNeedUpdate(rs, desired, maxReplicas) {
		return false, rs, nil
	}
	from := rsReplicas(rs)
	updated, err := s.updateRS(rs, func(cur *appsv1.ReplicaSet) {
		cur.Spec.Replicas = wlInt32(size)
		setReplicasAnnotations(cur, desired, maxReplicas)
	})
	if err != nil {
		return false, rs, err
	}
	if sizeChange {
		if op == "" {
			op = "up"
			if from > size {
				op = "down"
			}
		}
		s.c.rec.record(workloadRef("Deployment", d), componentDeploy, corev1.EventTypeNormal, ReasonScalingReplicaSet,
			fmt.Sprintf("Scaled %s replica set %s from %d to %d", op, rs.Name, from, size))
	}
	return sizeChange, updated, nil
}

// updateRS applies fn to the stored ReplicaSet, provided its spec did not change since rs
// was read; a spec change bumps its generation, as the API server does.
func (s *deploySync) updateRS(rs *appsv1.ReplicaSet, fn func(*appsv1.ReplicaSet)) (*appsv1.ReplicaSet, error) {
	e, err := s.c.c.Mutate(kindRS, rs.Namespace, rs.Name, func(obj runtime.Object) (bool, error) {
		cur := obj.(*appsv1.ReplicaSet)
		if cur.UID != rs.UID {
			return false, errWorkloadGone
		}
		if cur.Generation != rs.Generation {
			return false, errStale
		}
		before := cur.DeepCopy()
		fn(cur)
		if equality.Semantic.DeepEqual(before.Spec, cur.Spec) && equality.Semantic.DeepEqual(before.ObjectMeta, cur.ObjectMeta) {
			return false, nil
		}
		if !equality.Semantic.DeepEqual(before.Spec, cur.Spec) {
			cur.Generation++
		}
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
		return rs, nil
	}
	return e.Obj.(*appsv1.ReplicaSet), nil
}

// writeStatus stores st (and the revision annotation) on the Deployment when they changed,
// and keeps s.d in step.
func (s *deploySync) writeStatus(st appsv1.DeploymentStatus) error {
	d := s.d
	rev := d.Annotations[AnnRevision]
	_, err := s.c.c.Mutate(kindDeploy, d.Namespace, d.Name, func(obj runtime.Object) (bool, error) {
		cur := obj.(*appsv1.Deployment)
		if cur.UID != d.UID {
			return false, errWorkloadGone
		}
		changed := false
		if rev != "" && cur.Annotations[AnnRevision] != rev {
			if cur.Annotations == nil {
				cur.Annotations = map[string]string{}
			}
			cur.Annotations[AnnRevision] = rev
			changed = true
		}
		if !equality.Semantic.DeepEqual(cur.Status, st) {
			cur.Status = st
			changed = true
		}
		return changed, nil
	})
	if err != nil {
		var nf *cache.NotFoundError
		if errors.As(err, &nf) {
			return errWorkloadGone
		}
		return err
	}
	d.Status = st
	return nil
}

// replaceRS returns rsList with rs in place of the entry of the same uid.
func replaceRS(rsList []*appsv1.ReplicaSet, rs *appsv1.ReplicaSet) []*appsv1.ReplicaSet {
	if rs == nil {
		return rsList
	}
	out := append([]*appsv1.ReplicaSet(nil), rsList...)
	for i := range out {
		if out[i].UID == rs.UID {
			out[i] = rs
		}
	}
	return out
}

// labelsWith returns a copy of m with k=v.
func labelsWith(m map[string]string, k, v string) map[string]string {
	out := make(map[string]string, len(m)+1)
	for key, val := range m {
		out[key] = val
	}
	out[k] = v
	return out
}
