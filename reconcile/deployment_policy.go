package reconcile

// This file: the Deployment controller's decisions, as pure functions over Deployments and
// ReplicaSets (kube-controller-manager's deployment util): surge and unavailability bounds,
// how far to scale, the pod-template hash, revisions and their annotations, status and
// conditions. deployment.go carries them out.

import (
	"encoding/binary"
	"encoding/json"
	"hash/fnv"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Annotations and labels the Deployment controller manages.
const (
	AnnRevision          = "deployment.kubernetes.io/revision"
	AnnRevisionHistory   = "deployment.kubernetes.io/revision-history"
	AnnDesiredReplicas   = "deployment.kubernetes.io/desired-replicas"
	AnnMaxReplicas       = "deployment.kubernetes.io/max-replicas"
	annLastApplied       = "kubectl.kubernetes.io/last-applied-configuration"
	annRollbackTo        = "deprecated.deployment.rollback.to"
	LabelPodTemplateHash = appsv1.DefaultDeploymentUniqueLabelKey // "pod-template-hash"

	// maxRevHistoryChars bounds the revision-history annotation.
	maxRevHistoryChars = 2000
)

// Reasons of the Deployment conditions and Events, as kube-controller-manager words them.
const (
	ReasonNewRSCreated      = "NewReplicaSetCreated"
	ReasonFoundNewRS        = "FoundNewReplicaSet"
	ReasonRSUpdated         = "ReplicaSetUpdated"
	ReasonNewRSAvailable    = "NewReplicaSetAvailable"
	ReasonTimedOut          = "ProgressDeadlineExceeded"
	ReasonPaused            = "DeploymentPaused"
	ReasonResumed           = "DeploymentResumed"
	ReasonFailedRSCreate    = "ReplicaSetCreateError"
	ReasonMinAvailable      = "MinimumReplicasAvailable"
	ReasonMinUnavailable    = "MinimumReplicasUnavailable"
	ReasonScalingReplicaSet = "ScalingReplicaSet"
	ReasonSelectingAll      = "SelectingAll"
)

// deploymentDefaults returns a copy of d with the apps/v1 defaults in the fields the
// controller reads, so that it works the same whether the API server defaulted them or not.
func deploymentDefaults(d *appsv1.Deployment) *appsv1.Deployment {
	d = d.DeepCopy()
	if d.Spec.Replicas == nil {
		d.Spec.Replicas = wlInt32(1)
	}
	st := &d.Spec.Strategy
	if st.Type == "" {
		st.Type = appsv1.RollingUpdateDeploymentStrategyType
	}
	if st.Type == appsv1.RollingUpdateDeploymentStrategyType {
		if st.RollingUpdate == nil {
			st.RollingUpdate = &appsv1.RollingUpdateDeployment{}
		}
		if st.RollingUpdate.MaxUnavailable == nil {
			v := intstr.FromString("25%")
			st.RollingUpdate.MaxUnavailable = &v
		}
		if st.RollingUpdate.MaxSurge == nil {
			v := intstr.FromString("25%")
			st.RollingUpdate.MaxSurge = &v
		}
	}
	if d.Spec.RevisionHistoryLimit == nil {
		d.Spec.RevisionHistoryLimit = wlInt32(10)
	}
	if d.Spec.ProgressDeadlineSeconds == nil {
		d.Spec.ProgressDeadlineSeconds = wlInt32(600)
	}
	return d
}

func isRollingUpdate(d *appsv1.Deployment) bool {
	return d.Spec.Strategy.Type == appsv1.RollingUpdateDeploymentStrategyType && d.Spec.Strategy.RollingUpdate != nil
}

// resolveFenceposts turns maxSurge (rounded up) and maxUnavailable (rounded down) into pod
// counts for desired replicas; when both come to 0, maxUnavailable is 1 so a rollout can move.
func resolveFenceposts(maxSurge, maxUnavailable *intstr.IntOrString, desired int32) (surge, unavailable int32, err error) {
	zero := intstr.FromInt32(0)
	s, err := intstr.GetScaledValueFromIntOrPercent(intstr.ValueOrDefault(maxSurge, zero), int(desired), true)
	if err != nil {
		return 0, 0, err
	}
	u, err := intstr.GetScaledValueFromIntOrPercent(intstr.ValueOrDefault(maxUnavailable, zero), int(desired), false)
	if err != nil {
		return 0, 0, err
	}
	if s == 0 && u == 0 {
		u = 1
	}
	return int32(s), int32(u), nil
}

// maxSurge is how many pods a rolling update may run above replicas (0 for Recreate).
func maxSurge(d *appsv1.Deployment) int32 {
	if !isRollingUpdate(d) {
		return 0
	}
	s, _, _ := resolveFenceposts(d.Spec.Strategy.RollingUpdate.MaxSurge, d.Spec.Strategy.RollingUpdate.MaxUnavailable, *d.Spec.Replicas)
	return s
}

// maxUnavailable is how many of replicas a rolling update may have unavailable.
func maxUnavailable(d *appsv1.Deployment) int32 {
	if !isRollingUpdate(d) || *d.Spec.Replicas == 0 {
		return 0
	}
	_, u, _ := resolveFenceposts(d.Spec.Strategy.RollingUpdate.MaxSurge, d.Spec.Strategy.RollingUpdate.MaxUnavailable, *d.Spec.Replicas)
	return min(u, *d.Spec.Replicas)
}

// specReplicas sums spec.replicas of the ReplicaSets (nil entries skipped).
func specReplicas(rss []*appsv1.ReplicaSet) int32 {
	var n int32
	for _, rs := range rss {
		if rs != nil {
			n += rsReplicas(rs)
		}
	}
	return n
}

// statusReplicas sums status.replicas (the pods that exist).
func statusReplicas(rss []*appsv1.ReplicaSet) int32 {
	var n int32
	for _, rs := range rss {
		if rs != nil {
			n += rs.Status.Replicas
		}
	}
	return n
}

func readyReplicas(rss []*appsv1.ReplicaSet) int32 {
	var n int32
	for _, rs := range rss {
		if rs != nil {
			n += rs.Status.ReadyReplicas
		}
	}
	return n
}

// availableReplicas sums the available pods. A ReplicaSet whose last scale-down its
// controller has not observed yet counts at most spec.replicas: the pods it is about to
// delete are not counted on, so a rollout never scales down twice for the same pods.
func availableReplicas(rss []*appsv1.ReplicaSet) int32 {
	var n int32
	for _, rs := range rss {
		if rs != nil {
			n += rsAvailable(rs)
		}
	}
	return n
}

func rsAvailable(rs *appsv1.ReplicaSet) int32 {
	a := rs.Status.AvailableReplicas
	if rs.Status.ObservedGeneration < rs.Generation {
		a = min(a, rsReplicas(rs))
	}
	return a
}

func terminatingReplicas(rss []*appsv1.ReplicaSet) *int32 {
	var n int32
	for _, rs := range rss {
		if rs != nil && rs.Status.TerminatingReplicas != nil {
			n += *rs.Status.TerminatingReplicas
		}
	}
	return &n
}

func activeRSs(rss []*appsv1.ReplicaSet) []*appsv1.ReplicaSet {
	var out []*appsv1.ReplicaSet
	for _, rs := range rss {
		if rs != nil && rsReplicas(rs) > 0 {
			out = append(out, rs)
		}
	}
	return out
}

// newRSReplicas is the size the new ReplicaSet may grow to now: for a rolling update as far
// as maxSurge allows above replicas in all ReplicaSets together, never above replicas; for
// Recreate at once to replicas.
//
// Unlike kube-controller-manager, which counts spec.replicas only, a ReplicaSet counts here
// with the pods it still has (status.replicas) when that is more: an old ReplicaSet just
// scaled down has not let its pod go yet, and a watch must never see more than
// replicas+maxSurge pods. The new pods wait for the old one's status, milliseconds here.
func newRSReplicas(d *appsv1.Deployment, all []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet) int32 {
	want := *d.Spec.Replicas
	if !isRollingUpdate(d) {
		return want
	}
	var cur int32
	for _, rs := range all {
		if rs != nil {
			cur += max(rsReplicas(rs), rs.Status.Replicas)
		}
	}
	maxTotal := want + maxSurge(d)
	if cur >= maxTotal {
		return rsReplicas(newRS)
	}
	return rsReplicas(newRS) + min(maxTotal-cur, want-rsReplicas(newRS))
}

// maxScaledDown is how many old pods a rolling update may remove now: what stays must keep
// replicas-maxUnavailable available, counting the new ReplicaSet's unavailable pods as lost.
func maxScaledDown(d *appsv1.Deployment, all []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet) int32 {
	minAvailable := *d.Spec.Replicas - maxUnavailable(d)
	newUnavailable := rsReplicas(newRS) - rsAvailable(newRS)
	return specReplicas(all) - minAvailable - newUnavailable
}

// scaleDownPlan returns the new sizes of old ReplicaSets (oldest first) when at most limit
// pods are removed; unhealthy selects the first pass, which removes only pods that are not
// available (spec.replicas - available of each ReplicaSet).
func scaleDownPlan(olds []*appsv1.ReplicaSet, limit int32, unhealthy bool) map[*appsv1.ReplicaSet]int32 {
	out := map[*appsv1.ReplicaSet]int32{}
	sorted := append([]*appsv1.ReplicaSet(nil), olds...)
	sort.SliceStable(sorted, func(i, j int) bool { return olderRS(sorted[i], sorted[j]) })
	var done int32
	for _, rs := range sorted {
		if done >= limit {
			break
		}
		size := rsReplicas(rs)
		if size == 0 {
			continue
		}
		can := size
		if unhealthy {
			can = size - rsAvailable(rs)
			if can <= 0 {
				continue
			}
		}
		n := min(can, limit-done)
		out[rs] = size - n
		done += n
	}
	return out
}

// olderRS orders ReplicaSets by creation time, then name (ReplicaSetsByCreationTimestamp).
func olderRS(a, b *appsv1.ReplicaSet) bool {
	if a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return a.Name < b.Name
	}
	return a.CreationTimestamp.Before(&b.CreationTimestamp)
}

// equalIgnoreHash compares pod templates without the pod-template-hash label. Shallow copies
// with their own label maps do: nothing is written, and the spec is not copied at each sync.
func equalIgnoreHash(a, b *corev1.PodTemplateSpec) bool {
	ac, bc := *a, *b
	ac.Labels, bc.Labels = withoutHash(a.Labels), withoutHash(b.Labels)
	return equality.Semantic.DeepEqual(&ac, &bc)
}

func withoutHash(m map[string]string) map[string]string {
	if _, ok := m[LabelPodTemplateHash]; !ok {
		return m
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		if k != LabelPodTemplateHash {
			out[k] = v
		}
	}
	return out
}

// findNewRS returns the oldest ReplicaSet whose template is the Deployment's.
func findNewRS(d *appsv1.Deployment, rss []*appsv1.ReplicaSet) *appsv1.ReplicaSet {
	sorted := append([]*appsv1.ReplicaSet(nil), rss...)
	sort.SliceStable(sorted, func(i, j int) bool { return olderRS(sorted[i], sorted[j]) })
	for _, rs := range sorted {
		if equalIgnoreHash(&rs.Spec.Template, &d.Spec.Template) {
			return rs
		}
	}
	return nil
}

// findOldRSs returns the ReplicaSets other than newRS: those with replicas, and all.
func findOldRSs(rss []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet) (withReplicas, all []*appsv1.ReplicaSet) {
	for _, rs := range rss {
		if newRS != nil && rs.UID == newRS.UID {
			continue
		}
		all = append(all, rs)
		if rsReplicas(rs) != 0 {
			withReplicas = append(withReplicas, rs)
		}
	}
	return withReplicas, all
}

// podTemplateHash names a template's ReplicaSet: FNV-32a over the template (its JSON form,
// which has sorted keys and omits unset fields, so the hash stays stable as API types grow)
// and the collision count, written with the API server's safe alphabet, as ComputeHash does.
func podTemplateHash(t *corev1.PodTemplateSpec, collisionCount *int32) string {
	h := fnv.New32a()
	b, _ := json.Marshal(t) // a PodTemplateSpec always encodes
	_, _ = h.Write(b)
	if collisionCount != nil {
		var buf [8]byte
		binary.LittleEndian.PutUint32(buf[:], uint32(*collisionCount))
		_, _ = h.Write(buf[:])
	}
	return safeEncode(strconv.FormatUint(uint64(h.Sum32()), 10))
}

// safeEncode maps each byte to a character that cannot form words (apimachinery rand.SafeEncodeString).
func safeEncode(s string) string {
	const alphanums = "bcdfghjklmnpqrstvwxz2456789"
	r := make([]byte, len(s))
	for i := 0; i < len(s); i++ {
		r[i] = alphanums[int(s[i])%len(alphanums)]
	}
	return string(r)
}

// revisionOf reads a ReplicaSet's revision annotation; 0 when absent or invalid.
func revisionOf(m metav1.Object) int64 {
	v, err := strconv.ParseInt(m.GetAnnotations()[AnnRevision], 10, 64)
	if err != nil {
		return 0
	}
	return v
}

func maxRevision(rss []*appsv1.ReplicaSet) int64 {
	var m int64
	for _, rs := range rss {
		m = max(m, revisionOf(rs))
	}
	return m
}

// skipCopyAnnotation lists the Deployment annotations that are not copied to its ReplicaSets.
var skipCopyAnnotation = map[string]bool{
	annLastApplied: true, AnnRevision: true, AnnRevisionHistory: true,
	AnnDesiredReplicas: true, AnnMaxReplicas: true, annRollbackTo: true,
}

// setNewRSAnnotations brings the new ReplicaSet's annotations in line: the Deployment's own
// (kubernetes.io/change-cause among them), the revision (a reused ReplicaSet moves to the
// new revision and remembers its earlier ones in revision-history) and, for a ReplicaSet
// being created, desired- and max-replicas. It reports a change.
func setNewRSAnnotations(d *appsv1.Deployment, rs *appsv1.ReplicaSet, newRevision string, exists bool) bool {
	changed := false
	if rs.Annotations == nil {
		rs.Annotations = map[string]string{}
	}
	for k, v := range d.Annotations {
		if cur, ok := rs.Annotations[k]; skipCopyAnnotation[k] || (ok && cur == v) {
			continue
		}
		rs.Annotations[k] = v
		changed = true
	}
	oldRevision, had := rs.Annotations[AnnRevision]
	oldInt, err := strconv.ParseInt(oldRevision, 10, 64)
	if err != nil {
		if oldRevision != "" {
			return changed // not ours to fix
		}
		oldInt = 0
	}
	newInt, err := strconv.ParseInt(newRevision, 10, 64)
	if err != nil {
		return changed
	}
	if oldInt < newInt {
		rs.Annotations[AnnRevision] = newRevision
		changed = true
	}
	if had && oldInt < newInt {
		hist := rs.Annotations[AnnRevisionHistory]
		if hist == "" {
			rs.Annotations[AnnRevisionHistory] = oldRevision
		} else {
			olds := strings.Split(hist, ",")
			total := len(hist) + len(oldRevision) + 1
			start := 0
			for total > maxRevHistoryChars && start < len(olds) {
				total -= len(olds[start]) + 1
				start++
			}
			if total <= maxRevHistoryChars {
				rs.Annotations[AnnRevisionHistory] = strings.Join(append(olds[start:], oldRevision), ",")
			}
		}
	}
	if !exists && setReplicasAnnotations(rs, *d.Spec.Replicas, *d.Spec.Replicas+maxSurge(d)) {
		changed = true
	}
	return changed
}

// setReplicasAnnotations records the Deployment size (and size with surge) a ReplicaSet was
// last scaled for; proportional scaling reads them.
func setReplicasAnnotations(rs *appsv1.ReplicaSet, desired, maxReplicas int32) bool {
	if !replicasAnnotationsNeedUpdate(rs, desired, maxReplicas) {
		return false
	}
	if rs.Annotations == nil {
		rs.Annotations = map[string]string{}
	}
	rs.Annotations[AnnDesiredReplicas] = strconv.Itoa(int(desired))
	rs.Annotations[AnnMaxReplicas] = strconv.Itoa(int(maxReplicas))
	return true
}

func replicasAnnotationsNeedUpdate(rs *appsv1.ReplicaSet, desired, maxReplicas int32) bool {
	return rs.Annotations[AnnDesiredReplicas] != strconv.Itoa(int(desired)) ||
		rs.Annotations[AnnMaxReplicas] != strconv.Itoa(int(maxReplicas))
}

func intAnnotation(rs *appsv1.ReplicaSet, key string) (int32, bool) {
	v, ok := rs.Annotations[key]
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		return 0, false
	}
	return int32(n), true
}

// isScalingEvent reports a replicas change the active ReplicaSets were not sized for yet.
func isScalingEvent(d *appsv1.Deployment, all []*appsv1.ReplicaSet) bool {
	for _, rs := range activeRSs(all) {
		if desired, ok := intAnnotation(rs, AnnDesiredReplicas); ok && desired != *d.Spec.Replicas {
			return true
		}
	}
	return false
}

// findActiveOrLatest returns the only active ReplicaSet, or the newest when none is active;
// nil when several are.
func findActiveOrLatest(newRS *appsv1.ReplicaSet, olds []*appsv1.ReplicaSet) *appsv1.ReplicaSet {
	if newRS == nil && len(olds) == 0 {
		return nil
	}
	sorted := append([]*appsv1.ReplicaSet(nil), olds...)
	sort.SliceStable(sorted, func(i, j int) bool { return olderRS(sorted[j], sorted[i]) })
	active := activeRSs(append(sorted, newRS))
	switch len(active) {
	case 0:
		if newRS != nil {
			return newRS
		}
		return sorted[0]
	case 1:
		return active[0]
	}
	return nil
}

// isSaturated reports a ReplicaSet sized and available at the Deployment's replicas.
func isSaturated(d *appsv1.Deployment, rs *appsv1.ReplicaSet) bool {
	if rs == nil {
		return false
	}
	desired, ok := intAnnotation(rs, AnnDesiredReplicas)
	return ok && rsReplicas(rs) == *d.Spec.Replicas && desired == *d.Spec.Replicas && rs.Status.AvailableReplicas == *d.Spec.Replicas
}

// proportionalSizes spreads a change of replicas over the active ReplicaSets of a rolling
// update in proportion to their sizes (scaling a Deployment in the middle of a rollout). It
// returns the new size of each, the operation ("up", "down" or "") and the order to apply them.
func proportionalSizes(d *appsv1.Deployment, active []*appsv1.ReplicaSet) ([]*appsv1.ReplicaSet, map[*appsv1.ReplicaSet]int32, string) {
	all := append([]*appsv1.ReplicaSet(nil), active...)
	allowed := int32(0)
	if *d.Spec.Replicas > 0 {
		allowed = *d.Spec.Replicas + maxSurge(d)
	}
	toAdd := allowed - specReplicas(all)
	op := ""
	switch {
	case toAdd > 0:
		sort.SliceStable(all, func(i, j int) bool { // larger first, newer first among equals
			if rsReplicas(all[i]) == rsReplicas(all[j]) {
				return olderRS(all[j], all[i])
			}
			return rsReplicas(all[i]) > rsReplicas(all[j])
		})
		op = "up"
	case toAdd < 0:
		sort.SliceStable(all, func(i, j int) bool { // larger first, older first among equals
			if rsReplicas(all[i]) == rsReplicas(all[j]) {
				return olderRS(all[i], all[j])
			}
			return rsReplicas(all[i]) > rsReplicas(all[j])
		})
		op = "down"
	}
	sizes := map[*appsv1.ReplicaSet]int32{}
	var added int32
	for _, rs := range all {
		if toAdd == 0 {
			sizes[rs] = rsReplicas(rs)
			continue
		}
		p := proportion(d, rs, toAdd, added)
		sizes[rs] = rsReplicas(rs) + p
		added += p
	}
	if len(all) > 0 && toAdd != 0 {
		sizes[all[0]] = max(sizes[all[0]]+toAdd-added, 0) // leftovers go to the largest
	}
	return all, sizes, op
}

// proportion is how many replicas rs gets of toAdd (negative: loses), given added so far.
func proportion(d *appsv1.Deployment, rs *appsv1.ReplicaSet, toAdd, added int32) int32 {
	if rs == nil || rsReplicas(rs) == 0 || toAdd == 0 || toAdd == added {
		return 0
	}
	fraction := rsFraction(d, rs)
	allowed := toAdd - added
	if toAdd > 0 {
		return min(fraction, allowed)
	}
	return max(fraction, allowed)
}

// rsFraction is how much rs would grow or shrink if the Deployment's maximum size changed
// from the one it was last sized for (max-replicas) to the current one.
func rsFraction(d *appsv1.Deployment, rs *appsv1.ReplicaSet) int32 {
	if *d.Spec.Replicas == 0 {
		return -rsReplicas(rs)
	}
	maxNow := *d.Spec.Replicas + maxSurge(d)
	before, ok := intAnnotation(rs, AnnMaxReplicas)
	if !ok || before == 0 {
		before = d.Status.Replicas
	}
	if before == 0 {
		return 0
	}
	size := float64(rsReplicas(rs)*maxNow) / float64(before)
	return roundToInt32(size) - rsReplicas(rs)
}

func roundToInt32(a float64) int32 {
	if a < 0 {
		return int32(a - 0.5)
	}
	return int32(a + 0.5)
}

// cleanupVictims returns the old ReplicaSets beyond revisionHistoryLimit that may be deleted:
// lowest revisions first, only those without pods whose controller has caught up.
func cleanupVictims(d *appsv1.Deployment, olds []*appsv1.ReplicaSet) []*appsv1.ReplicaSet {
	limit := d.Spec.RevisionHistoryLimit
	if limit == nil || *limit == math.MaxInt32 {
		return nil
	}
	var alive []*appsv1.ReplicaSet
	for _, rs := range olds {
		if rs != nil && rs.DeletionTimestamp == nil {
			alive = append(alive, rs)
		}
	}
	diff := int32(len(alive)) - *limit
	if diff <= 0 {
		return nil
	}
	sort.SliceStable(alive, func(i, j int) bool {
		ri, rj := revisionOf(alive[i]), revisionOf(alive[j])
		if ri == rj {
			return olderRS(alive[i], alive[j])
		}
		return ri < rj
	})
	var out []*appsv1.ReplicaSet
	for _, rs := range alive[:diff] {
		if rs.Status.Replicas != 0 || rsReplicas(rs) != 0 || rs.Generation > rs.Status.ObservedGeneration ||
			(rs.Status.TerminatingReplicas != nil && *rs.Status.TerminatingReplicas != 0) {
			continue
		}
		out = append(out, rs)
	}
	return out
}

// Deployment conditions.

func getDeployCond(st *appsv1.DeploymentStatus, t appsv1.DeploymentConditionType) *appsv1.DeploymentCondition {
	for i := range st.Conditions {
		if st.Conditions[i].Type == t {
			return &st.Conditions[i]
		}
	}
	return nil
}

func newDeployCond(t appsv1.DeploymentConditionType, s corev1.ConditionStatus, reason, msg string, now time.Time) appsv1.DeploymentCondition {
	ts := metav1.NewTime(now)
	return appsv1.DeploymentCondition{Type: t, Status: s, LastUpdateTime: ts, LastTransitionTime: ts, Reason: reason, Message: msg}
}

// setDeployCond sets a condition unless one of the same status and reason is there; a
// condition whose status does not change keeps its lastTransitionTime. The set condition
// moves to the end, as the controller's SetDeploymentCondition does.
func setDeployCond(st *appsv1.DeploymentStatus, c appsv1.DeploymentCondition) {
	cur := getDeployCond(st, c.Type)
	if cur != nil && cur.Status == c.Status && cur.Reason == c.Reason {
		return
	}
	if cur != nil && cur.Status == c.Status {
		c.LastTransitionTime = cur.LastTransitionTime
	}
	removeDeployCond(st, c.Type)
	st.Conditions = append(st.Conditions, c)
}

func removeDeployCond(st *appsv1.DeploymentStatus, t appsv1.DeploymentConditionType) {
	var out []appsv1.DeploymentCondition
	for _, c := range st.Conditions {
		if c.Type != t {
			out = append(out, c)
		}
	}
	st.Conditions = out
}

func hasProgressDeadline(d *appsv1.Deployment) bool {
	return d.Spec.ProgressDeadlineSeconds != nil && *d.Spec.ProgressDeadlineSeconds != math.MaxInt32
}

// deploymentComplete reports a Deployment whose every replica is updated and available.
func deploymentComplete(d *appsv1.Deployment, st *appsv1.DeploymentStatus) bool {
	want := *d.Spec.Replicas
	return st.UpdatedReplicas == want && st.Replicas == want && st.AvailableReplicas == want && st.ObservedGeneration >= d.Generation
}

// deploymentProgressing reports progress since the stored status: more updated, ready or
// available pods, or fewer old ones.
func deploymentProgressing(d *appsv1.Deployment, st *appsv1.DeploymentStatus) bool {
	old := d.Status
	return st.UpdatedReplicas > old.UpdatedReplicas ||
		st.Replicas-st.UpdatedReplicas < old.Replicas-old.UpdatedReplicas ||
		st.ReadyReplicas > old.ReadyReplicas ||
		st.AvailableReplicas > old.AvailableReplicas
}

// deploymentTimedOut reports a rollout without progress for progressDeadlineSeconds.
func deploymentTimedOut(d *appsv1.Deployment, st *appsv1.DeploymentStatus, now time.Time) bool {
	if !hasProgressDeadline(d) {
		return false
	}
	c := getDeployCond(st, appsv1.DeploymentProgressing)
	if c == nil || c.Reason == ReasonNewRSAvailable {
		return false
	}
	if c.Reason == ReasonTimedOut {
		return true
	}
	return c.LastUpdateTime.Add(time.Duration(*d.Spec.ProgressDeadlineSeconds) * time.Second).Before(now)
}

// deploymentStatus computes the counts and the Available condition from the ReplicaSets.
func deploymentStatus(d *appsv1.Deployment, all []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet, now time.Time) appsv1.DeploymentStatus {
	available := availableReplicas(all)
	unavailable := max(specReplicas(all)-available, 0)
	st := appsv1.DeploymentStatus{
		ObservedGeneration:  d.Generation,
		Replicas:            statusReplicas(all),
		UpdatedReplicas:     statusReplicas([]*appsv1.ReplicaSet{newRS}),
		ReadyReplicas:       readyReplicas(all),
		AvailableReplicas:   available,
		UnavailableReplicas: unavailable,
		TerminatingReplicas: terminatingReplicas(all),
		CollisionCount:      d.Status.CollisionCount,
		Conditions:          append([]appsv1.DeploymentCondition(nil), d.Status.Conditions...),
	}
	if available >= *d.Spec.Replicas-maxUnavailable(d) {
		setDeployCond(&st, newDeployCond(appsv1.DeploymentAvailable, corev1.ConditionTrue, ReasonMinAvailable, "Deployment has minimum availability.", now))
	} else {
		setDeployCond(&st, newDeployCond(appsv1.DeploymentAvailable, corev1.ConditionFalse, ReasonMinUnavailable, "Deployment does not have minimum availability.", now))
	}
	return st
}

// rolloutStatus is deploymentStatus plus the Progressing condition of a rollout in progress
// and the ReplicaFailure condition of the ReplicaSets.
func rolloutStatus(d *appsv1.Deployment, all []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet, now time.Time) appsv1.DeploymentStatus {
	st := deploymentStatus(d, all, newRS, now)
	if !hasProgressDeadline(d) {
		removeDeployCond(&st, appsv1.DeploymentProgressing)
	}
	cur := getDeployCond(&d.Status, appsv1.DeploymentProgressing)
	complete := st.Replicas == st.UpdatedReplicas && cur != nil && cur.Reason == ReasonNewRSAvailable
	if hasProgressDeadline(d) && !complete {
		subject := "Deployment " + strconvQuote(d.Name)
		if newRS != nil {
			subject = "ReplicaSet " + strconvQuote(newRS.Name)
		}
		switch {
		case deploymentComplete(d, &st):
			setDeployCond(&st, newDeployCond(appsv1.DeploymentProgressing, corev1.ConditionTrue, ReasonNewRSAvailable, subject+" has successfully progressed.", now))
		case deploymentProgressing(d, &st):
			c := newDeployCond(appsv1.DeploymentProgressing, corev1.ConditionTrue, ReasonRSUpdated, subject+" is progressing.", now)
			if cur != nil {
				if cur.Status == corev1.ConditionTrue {
					c.LastTransitionTime = cur.LastTransitionTime
				}
				removeDeployCond(&st, appsv1.DeploymentProgressing)
			}
			setDeployCond(&st, c)
		case deploymentTimedOut(d, &st, now):
			setDeployCond(&st, newDeployCond(appsv1.DeploymentProgressing, corev1.ConditionFalse, ReasonTimedOut, subject+" has timed out progressing.", now))
		}
	}
	if f := replicaFailure(all, newRS); f != nil {
		setDeployCond(&st, *f)
	} else {
		removeDeployCond(&st, appsv1.DeploymentReplicaFailure)
	}
	return st
}

// replicaFailure returns the ReplicaFailure condition of the new ReplicaSet, else of any.
func replicaFailure(all []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet) *appsv1.DeploymentCondition {
	for _, list := range [][]*appsv1.ReplicaSet{{newRS}, all} {
		for _, rs := range list {
			if rs == nil {
				continue
			}
			for _, c := range rs.Status.Conditions {
				if c.Type == appsv1.ReplicaSetReplicaFailure {
					return &appsv1.DeploymentCondition{
						Type: appsv1.DeploymentConditionType(c.Type), Status: c.Status, Reason: c.Reason, Message: c.Message,
						LastUpdateTime: c.LastTransitionTime, LastTransitionTime: c.LastTransitionTime,
					}
				}
			}
		}
	}
	return nil
}

// progressCheckIn returns when a rollout in progress must be checked against its deadline;
// false when no check is due (complete, timed out, paused or without a deadline).
func progressCheckIn(d *appsv1.Deployment, st *appsv1.DeploymentStatus, now time.Time) (time.Duration, bool) {
	c := getDeployCond(st, appsv1.DeploymentProgressing)
	if !hasProgressDeadline(d) || d.Spec.Paused || c == nil || deploymentComplete(d, st) ||
		c.Reason == ReasonTimedOut || c.Reason == ReasonNewRSAvailable {
		return 0, false
	}
	after := c.LastUpdateTime.Add(time.Duration(*d.Spec.ProgressDeadlineSeconds) * time.Second).Sub(now)
	// A second more, as the controller does: the check must find the deadline passed.
	return max(after, 0) + time.Second, true
}

func strconvQuote(s string) string { return strconv.Quote(s) }
