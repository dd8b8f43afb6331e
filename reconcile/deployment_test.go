package reconcile

import (
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func ios(s string) *intstr.IntOrString {
	v := intstr.Parse(s)
	return &v
}

func TestResolveFenceposts(t *testing.T) {
	tests := []struct {
		surge, unavailable string
		desired            int32
		wantS, wantU       int32
		err                bool
	}{
		{"25%", "25%", 4, 1, 1, false},
		{"25%", "25%", 10, 3, 2, false}, // surge rounds up, unavailable down
		{"25%", "25%", 1, 1, 0, false},
		{"1", "0", 3, 1, 0, false},
		{"0", "0", 3, 0, 1, false}, // both zero: one may be unavailable
		{"0%", "10%", 3, 0, 1, false},
		{"50%", "50%", 3, 2, 1, false},
		{"100%", "0", 0, 0, 1, false},
		{"x%", "1", 3, 0, 0, true},
	}
	for _, tt := range tests {
		s, u, err := resolveFenceposts(ios(tt.surge), ios(tt.unavailable), tt.desired)
		if (err != nil) != tt.err || (!tt.err && (s != tt.wantS || u != tt.wantU)) {
			t.Errorf("fenceposts(%s, %s, %d) = %d, %d, %v; want %d, %d", tt.surge, tt.unavailable, tt.desired, s, u, err, tt.wantS, tt.wantU)
		}
	}
	// nil strategy fields mean 25%/25%; maxUnavailable never exceeds replicas; Recreate has neither.
	d := deploymentDefaults(&appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: wlInt32(4)}})
	if maxSurge(d) != 1 || maxUnavailable(d) != 1 {
		t.Errorf("defaults: surge %d unavailable %d", maxSurge(d), maxUnavailable(d))
	}
	d.Spec.Strategy.RollingUpdate.MaxUnavailable = ios("10")
	if maxUnavailable(d) != 4 {
		t.Errorf("maxUnavailable above replicas: %d", maxUnavailable(d))
	}
	d.Spec.Replicas = wlInt32(0)
	if maxUnavailable(d) != 0 {
		t.Error("maxUnavailable of 0 replicas")
	}
	r := deploymentDefaults(&appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: wlInt32(4), Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}}})
	if maxSurge(r) != 0 || maxUnavailable(r) != 0 || r.Spec.Strategy.RollingUpdate != nil {
		t.Error("Recreate has no surge")
	}
}

// rsOf makes a ReplicaSet of spec size with avail available pods, created at minute age.
func rsOf(name string, size, avail int32, age int) *appsv1.ReplicaSet {
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID(name), CreationTimestamp: metav1.NewTime(t0.Add(time.Duration(age) * time.Minute))},
		Spec:       appsv1.ReplicaSetSpec{Replicas: wlInt32(size)},
		Status:     appsv1.ReplicaSetStatus{Replicas: size, AvailableReplicas: avail, ReadyReplicas: avail},
	}
}

func rolling(replicas int32, surge, unavailable string) *appsv1.Deployment {
	d := &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: wlInt32(replicas), Strategy: appsv1.DeploymentStrategy{
		Type: appsv1.RollingUpdateDeploymentStrategyType, RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: ios(surge), MaxUnavailable: ios(unavailable)}}}}
	return deploymentDefaults(d)
}

func TestNewRSReplicas(t *testing.T) {
	tests := []struct {
		name         string
		d            *appsv1.Deployment
		old, newSize int32
		want         int32
	}{
		{"fresh deployment takes all", rolling(3, "1", "0"), 0, 0, 3},
		{"surge 1 over 3 old", rolling(3, "1", "0"), 3, 0, 1},
		{"no room left", rolling(3, "1", "0"), 3, 1, 1},
		{"room after old shrank", rolling(3, "1", "0"), 2, 1, 2},
		{"never above replicas", rolling(3, "5", "0"), 0, 2, 3},
		{"surge 0: waits for scale-down", rolling(3, "0", "1"), 3, 0, 0},
		{"surge 0 after scale-down", rolling(3, "0", "1"), 2, 0, 1},
		{"25% of 10", rolling(10, "25%", "25%"), 10, 0, 3},
		{"recreate takes all", deploymentDefaults(&appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: wlInt32(3), Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}}}), 0, 0, 3},
	}
	for _, tt := range tests {
		oldRS, newRS := rsOf("old", tt.old, tt.old, 0), rsOf("new", tt.newSize, 0, 1)
		if got := newRSReplicas(tt.d, []*appsv1.ReplicaSet{oldRS, newRS}, newRS); got != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, got, tt.want)
		}
	}
	// An old set scaled 3 -> 2 whose pod is not gone yet still counts 3: no surge beyond 4 pods.
	d := rolling(3, "1", "0")
	oldRS, newRS := rsOf("old", 2, 3, 0), rsOf("new", 1, 1, 1)
	oldRS.Status.Replicas = 3
	if got := newRSReplicas(d, []*appsv1.ReplicaSet{oldRS, newRS}, newRS); got != 1 {
		t.Errorf("scale-up before the old pod left: %d, want 1", got)
	}
	oldRS.Status.Replicas = 2
	if got := newRSReplicas(d, []*appsv1.ReplicaSet{oldRS, newRS}, newRS); got != 2 {
		t.Errorf("scale-up once the old pod left: %d, want 2", got)
	}
}

func TestScaleDown(t *testing.T) {
	tests := []struct {
		name      string
		d         *appsv1.Deployment
		olds      []*appsv1.ReplicaSet
		newRS     *appsv1.ReplicaSet
		wantLimit int32
		unhealthy string // sizes after the unhealthy pass, oldest first
		healthy   string // sizes after the second pass
	}{
		{"surge 1 unavailable 0: new pod not ready", rolling(3, "1", "0"),
			[]*appsv1.ReplicaSet{rsOf("a", 3, 3, 0)}, rsOf("n", 1, 0, 5), 0, "3", "3"},
		{"surge 1 unavailable 0: new pod available", rolling(3, "1", "0"),
			[]*appsv1.ReplicaSet{rsOf("a", 3, 3, 0)}, rsOf("n", 1, 1, 5), 1, "3", "2"},
		{"unavailable 1: one may go at once", rolling(3, "0", "1"),
			[]*appsv1.ReplicaSet{rsOf("a", 3, 3, 0)}, rsOf("n", 0, 0, 5), 1, "3", "2"},
		{"unhealthy old pods go first", rolling(4, "1", "1"),
			[]*appsv1.ReplicaSet{rsOf("a", 2, 2, 0), rsOf("b", 2, 0, 1)}, rsOf("n", 1, 1, 5), 2, "2,0", "2,0"},
		{"oldest first", rolling(4, "0", "2"),
			[]*appsv1.ReplicaSet{rsOf("b", 2, 2, 1), rsOf("a", 2, 2, 0)}, rsOf("n", 0, 0, 5), 2, "2,2", "2,0"},
	}
	for _, tt := range tests {
		all := append(append([]*appsv1.ReplicaSet(nil), tt.olds...), tt.newRS)
		limit := maxScaledDown(tt.d, all, tt.newRS)
		if limit != tt.wantLimit {
			t.Errorf("%s: limit %d, want %d", tt.name, limit, tt.wantLimit)
		}
		sizes := func(plan map[*appsv1.ReplicaSet]int32) string {
			var out []string
			for _, rs := range tt.olds {
				if n, ok := plan[rs]; ok {
					out = append(out, fmt.Sprint(n))
				} else {
					out = append(out, fmt.Sprint(rsReplicas(rs)))
				}
			}
			return strings.Join(out, ",")
		}
		if limit <= 0 {
			continue
		}
		plan := scaleDownPlan(tt.olds, limit, true)
		if got := sizes(plan); got != tt.unhealthy {
			t.Errorf("%s: unhealthy pass %s, want %s", tt.name, got, tt.unhealthy)
		}
		// The second pass starts from the first's result, like the controller.
		var after []*appsv1.ReplicaSet
		for _, rs := range tt.olds {
			c := rs.DeepCopy()
			if n, ok := plan[rs]; ok {
				c.Spec.Replicas = wlInt32(n)
				c.Generation++
			}
			after = append(after, c)
		}
		avail := availableReplicas(append(append([]*appsv1.ReplicaSet(nil), after...), tt.newRS))
		minAvail := *tt.d.Spec.Replicas - maxUnavailable(tt.d)
		plan2 := map[*appsv1.ReplicaSet]int32{}
		if avail > minAvail {
			plan2 = scaleDownPlan(after, avail-minAvail, false)
		}
		var out []string
		for _, rs := range after {
			if n, ok := plan2[rs]; ok {
				out = append(out, fmt.Sprint(n))
			} else {
				out = append(out, fmt.Sprint(rsReplicas(rs)))
			}
		}
		if got := strings.Join(out, ","); got != tt.healthy {
			t.Errorf("%s: second pass %s, want %s", tt.name, got, tt.healthy)
		}
	}
}

func TestAvailableCountsPendingScaleDown(t *testing.T) {
	rs := rsOf("a", 2, 3, 0) // scaled 3 -> 2, its controller has not caught up
	rs.Generation = 2
	rs.Status.ObservedGeneration = 1
	if n := availableReplicas([]*appsv1.ReplicaSet{rs}); n != 2 {
		t.Errorf("available %d: pods about to be deleted must not count", n)
	}
	rs.Status.ObservedGeneration = 2
	if n := availableReplicas([]*appsv1.ReplicaSet{rs}); n != 3 {
		t.Errorf("available %d once observed", n)
	}
}

func TestPodTemplateHash(t *testing.T) {
	tmpl := &corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web", "tier": "a"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx:1"}}},
	}
	h := podTemplateHash(tmpl, nil)
	if h == "" || strings.Trim(h, "bcdfghjklmnpqrstvwxz2456789") != "" {
		t.Fatalf("hash %q uses characters outside the safe alphabet", h)
	}
	// Stable: the same template always names the same ReplicaSet, across restarts and releases.
	if h != "6d4c85988c" {
		t.Errorf("hash changed: %q", h)
	}
	same := tmpl.DeepCopy()
	same.Labels = map[string]string{"tier": "a", "app": "web"}
	if podTemplateHash(same, nil) != h {
		t.Error("map order changes the hash")
	}
	other := tmpl.DeepCopy()
	other.Spec.Containers[0].Image = "nginx:2"
	if podTemplateHash(other, nil) == h {
		t.Error("a different template has the same hash")
	}
	if podTemplateHash(tmpl, wlInt32(0)) == h || podTemplateHash(tmpl, wlInt32(1)) == podTemplateHash(tmpl, wlInt32(0)) {
		t.Error("the collision count does not change the hash")
	}
}

func TestEqualIgnoreHash(t *testing.T) {
	a := &corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "x", LabelPodTemplateHash: "abc"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "i"}}}}
	b := a.DeepCopy()
	delete(b.Labels, LabelPodTemplateHash)
	b.Spec.Containers[0].Env = []corev1.EnvVar{} // empty and nil are the same to the API
	if !equalIgnoreHash(a, b) {
		t.Error("templates differing in the hash label only are not equal")
	}
	if a.Labels[LabelPodTemplateHash] != "abc" {
		t.Error("equalIgnoreHash changed its argument")
	}
	b.Spec.Containers[0].Image = "j"
	if equalIgnoreHash(a, b) {
		t.Error("different images are equal")
	}
}

func TestSetNewRSAnnotations(t *testing.T) {
	d := rolling(3, "1", "0")
	d.Annotations = map[string]string{"kubernetes.io/change-cause": "kubectl set image", annLastApplied: "{}", AnnRevision: "9", "team": "a"}
	tests := []struct {
		name     string
		ann      map[string]string
		revision string
		exists   bool
		want     map[string]string
		changed  bool
	}{
		{"new replica set", nil, "1", false, map[string]string{
			AnnRevision: "1", AnnDesiredReplicas: "3", AnnMaxReplicas: "4", "kubernetes.io/change-cause": "kubectl set image", "team": "a"}, true},
		{"reused: revision moves on, history remembers", map[string]string{AnnRevision: "1", "kubernetes.io/change-cause": "kubectl set image", "team": "a"}, "3", true,
			map[string]string{AnnRevision: "3", AnnRevisionHistory: "1", "kubernetes.io/change-cause": "kubectl set image", "team": "a"}, true},
		{"history appends", map[string]string{AnnRevision: "3", AnnRevisionHistory: "1", "kubernetes.io/change-cause": "kubectl set image", "team": "a"}, "5", true,
			map[string]string{AnnRevision: "5", AnnRevisionHistory: "1,3", "kubernetes.io/change-cause": "kubectl set image", "team": "a"}, true},
		{"already current", map[string]string{AnnRevision: "2", "kubernetes.io/change-cause": "kubectl set image", "team": "a"}, "2", true,
			map[string]string{AnnRevision: "2", "kubernetes.io/change-cause": "kubectl set image", "team": "a"}, false},
		{"newer than asked", map[string]string{AnnRevision: "7", "kubernetes.io/change-cause": "kubectl set image", "team": "a"}, "2", true,
			map[string]string{AnnRevision: "7", "kubernetes.io/change-cause": "kubectl set image", "team": "a"}, false},
		{"invalid revision is left alone", map[string]string{AnnRevision: "x", "kubernetes.io/change-cause": "kubectl set image", "team": "a"}, "2", true,
			map[string]string{AnnRevision: "x", "kubernetes.io/change-cause": "kubectl set image", "team": "a"}, false},
		{"stale change-cause is replaced", map[string]string{AnnRevision: "2", "kubernetes.io/change-cause": "old", "team": "a"}, "2", true,
			map[string]string{AnnRevision: "2", "kubernetes.io/change-cause": "kubectl set image", "team": "a"}, true},
	}
	for _, tt := range tests {
		rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Annotations: tt.ann}}
		changed := setNewRSAnnotations(d, rs, tt.revision, tt.exists)
		if changed != tt.changed || fmt.Sprint(rs.Annotations) != fmt.Sprint(tt.want) {
			t.Errorf("%s: %v changed=%v, want %v changed=%v", tt.name, rs.Annotations, changed, tt.want, tt.changed)
		}
	}
	// The history is bounded: the oldest revisions give way.
	long := strings.Repeat("1234567,", 250)
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{AnnRevision: "9999", AnnRevisionHistory: long[:len(long)-1]}}}
	setNewRSAnnotations(d, rs, "10000", true)
	if h := rs.Annotations[AnnRevisionHistory]; len(h) > maxRevHistoryChars || !strings.HasSuffix(h, ",9999") {
		t.Errorf("history of %d characters ends %q", len(h), h[len(h)-10:])
	}
}

func TestMaxRevisionAndScalingEvent(t *testing.T) {
	a, b := rsOf("a", 2, 2, 0), rsOf("b", 1, 1, 1)
	a.Annotations = map[string]string{AnnRevision: "3", AnnDesiredReplicas: "3"}
	b.Annotations = map[string]string{AnnRevision: "12", AnnDesiredReplicas: "3"}
	if m := maxRevision([]*appsv1.ReplicaSet{a, b}); m != 12 {
		t.Errorf("max revision %d", m)
	}
	d := rolling(3, "1", "0")
	if isScalingEvent(d, []*appsv1.ReplicaSet{a, b}) {
		t.Error("no replicas change")
	}
	d.Spec.Replicas = wlInt32(5)
	if !isScalingEvent(d, []*appsv1.ReplicaSet{a, b, nil}) {
		t.Error("replicas change not seen")
	}
	b.Spec.Replicas = wlInt32(0)
	a.Annotations[AnnDesiredReplicas] = "5"
	if isScalingEvent(d, []*appsv1.ReplicaSet{a, b}) {
		t.Error("inactive sets do not count")
	}
}

func TestProportionalSizes(t *testing.T) {
	mk := func(name string, size int32, maxReplicas string, age int) *appsv1.ReplicaSet {
		rs := rsOf(name, size, 0, age)
		rs.Annotations = map[string]string{AnnMaxReplicas: maxReplicas}
		return rs
	}
	tests := []struct {
		name string
		d    *appsv1.Deployment
		rss  []*appsv1.ReplicaSet
		want string // sizes in the order given
		op   string
	}{
		// 10 replicas, surge 3: old 8 + new 5 = 13; to 20 (max 23): +10 spread 8:5.
		{"scale up mid-rollout", rolling(20, "3", "2"), []*appsv1.ReplicaSet{mk("old", 8, "13", 0), mk("new", 5, "13", 1)}, "14,9", "up"},
		{"scale down mid-rollout", rolling(5, "3", "2"), []*appsv1.ReplicaSet{mk("old", 8, "13", 0), mk("new", 5, "13", 1)}, "5,3", "down"},
		{"to zero", rolling(0, "3", "2"), []*appsv1.ReplicaSet{mk("old", 8, "13", 0), mk("new", 5, "13", 1)}, "0,0", "down"},
		{"nothing to add", rolling(10, "3", "2"), []*appsv1.ReplicaSet{mk("old", 8, "13", 0), mk("new", 5, "13", 1)}, "8,5", ""},
	}
	for _, tt := range tests {
		_, sizes, op := proportionalSizes(tt.d, tt.rss)
		var got []string
		for _, rs := range tt.rss {
			got = append(got, fmt.Sprint(sizes[rs]))
		}
		if strings.Join(got, ",") != tt.want || op != tt.op {
			t.Errorf("%s: sizes %v op %q, want %s %q", tt.name, got, op, tt.want, tt.op)
		}
		var sum int32
		for _, n := range sizes {
			sum += n
		}
		if want := max(*tt.d.Spec.Replicas+maxSurge(tt.d), 0); *tt.d.Spec.Replicas == 0 && sum != 0 || *tt.d.Spec.Replicas > 0 && sum != want {
			t.Errorf("%s: total %d, want %d", tt.name, sum, want)
		}
	}
}

func TestFindActiveOrLatestAndSaturated(t *testing.T) {
	oldest, old, newRS := rsOf("a", 0, 0, 0), rsOf("b", 0, 0, 1), rsOf("n", 0, 0, 2)
	if rs := findActiveOrLatest(nil, []*appsv1.ReplicaSet{oldest, old}); rs != old {
		t.Errorf("no active and no new: the newest old one, got %v", rs.Name)
	}
	if rs := findActiveOrLatest(newRS, []*appsv1.ReplicaSet{oldest}); rs != newRS {
		t.Error("no active: the new one")
	}
	old.Spec.Replicas = wlInt32(2)
	if rs := findActiveOrLatest(newRS, []*appsv1.ReplicaSet{oldest, old}); rs != old {
		t.Error("the only active one")
	}
	newRS.Spec.Replicas = wlInt32(1)
	if rs := findActiveOrLatest(newRS, []*appsv1.ReplicaSet{oldest, old}); rs != nil {
		t.Error("two active: none")
	}
	d := rolling(3, "1", "0")
	sat := rsOf("s", 3, 3, 0)
	sat.Annotations = map[string]string{AnnDesiredReplicas: "3"}
	if !isSaturated(d, sat) {
		t.Error("saturated set not recognised")
	}
	sat.Status.AvailableReplicas = 2
	if isSaturated(d, sat) || isSaturated(d, nil) {
		t.Error("not all available: not saturated")
	}
}

func TestCleanupVictims(t *testing.T) {
	mk := func(name, rev string, size, pods int32) *appsv1.ReplicaSet {
		rs := rsOf(name, size, 0, 0)
		rs.Status.Replicas = pods
		rs.Annotations = map[string]string{AnnRevision: rev}
		return rs
	}
	d := rolling(1, "1", "0")
	d.Spec.RevisionHistoryLimit = wlInt32(2)
	busy := mk("busy", "2", 1, 1)
	terminating := mk("term", "3", 0, 0)
	terminating.Status.TerminatingReplicas = wlInt32(1)
	unobserved := mk("unobs", "4", 0, 0)
	unobserved.Generation = 3
	unobserved.Status.ObservedGeneration = 2
	olds := []*appsv1.ReplicaSet{mk("r5", "5", 0, 0), mk("r1", "1", 0, 0), busy, terminating, unobserved, mk("r6", "6", 0, 0)}
	var got []string
	for _, rs := range cleanupVictims(d, olds) {
		got = append(got, rs.Name)
	}
	if strings.Join(got, ",") != "r1" {
		t.Errorf("victims %v, want r1 (lowest revisions beyond 2, skipping those with pods or not observed)", got)
	}
	d.Spec.RevisionHistoryLimit = wlInt32(0)
	got = nil
	for _, rs := range cleanupVictims(d, olds) {
		got = append(got, rs.Name)
	}
	if strings.Join(got, ",") != "r1,r5,r6" {
		t.Errorf("limit 0: %v", got)
	}
}

func TestRolloutStatusConditions(t *testing.T) {
	now := t0
	d := rolling(2, "1", "0")
	d.Name, d.Generation = "web", 2
	d.Spec.ProgressDeadlineSeconds = wlInt32(60)
	newRS := rsOf("web-new", 2, 0, 1)
	oldRS := rsOf("web-old", 1, 1, 0)
	started := newDeployCond(appsv1.DeploymentProgressing, corev1.ConditionTrue, ReasonNewRSCreated, `Created new replica set "web-new"`, now)
	d.Status = appsv1.DeploymentStatus{Replicas: 3, UpdatedReplicas: 2, ReadyReplicas: 1, AvailableReplicas: 1, Conditions: []appsv1.DeploymentCondition{started}}

	// No progress within the deadline: unchanged, and checked at the deadline.
	st := rolloutStatus(d, []*appsv1.ReplicaSet{oldRS, newRS}, newRS, now.Add(10*time.Second))
	if c := cond(st, appsv1.DeploymentProgressing); c.Reason != ReasonNewRSCreated {
		t.Errorf("no progress: %+v", c)
	}
	if in, ok := progressCheckIn(d, &st, now.Add(10*time.Second)); !ok || in != 51*time.Second {
		t.Errorf("check in %v", in)
	}
	if c := cond(st, appsv1.DeploymentAvailable); c.Status != corev1.ConditionFalse || c.Reason != ReasonMinUnavailable {
		t.Errorf("available %+v (1 of 2 available, maxUnavailable 0)", c)
	}
	if st.UnavailableReplicas != 2 || st.ObservedGeneration != 2 {
		t.Errorf("counts %+v", st)
	}

	// Progress: ReplicaSetUpdated, keeping the transition time.
	newRS.Status.AvailableReplicas, newRS.Status.ReadyReplicas = 1, 1
	later := now.Add(20 * time.Second)
	st = rolloutStatus(d, []*appsv1.ReplicaSet{oldRS, newRS}, newRS, later)
	c := cond(st, appsv1.DeploymentProgressing)
	if c.Reason != ReasonRSUpdated || c.Message != `ReplicaSet "web-new" is progressing.` || !c.LastTransitionTime.Time.Equal(now) || !c.LastUpdateTime.Time.Equal(later) {
		t.Errorf("progressing %+v", c)
	}

	// Deadline passed without progress.
	d.Status = st
	st = rolloutStatus(d, []*appsv1.ReplicaSet{oldRS, newRS}, newRS, later.Add(61*time.Second))
	if c := cond(st, appsv1.DeploymentProgressing); c.Status != corev1.ConditionFalse || c.Reason != ReasonTimedOut ||
		c.Message != `ReplicaSet "web-new" has timed out progressing.` {
		t.Errorf("timed out %+v", c)
	}

	// Complete.
	newRS.Status.AvailableReplicas, newRS.Status.ReadyReplicas = 2, 2
	oldRS.Spec.Replicas, oldRS.Status = wlInt32(0), appsv1.ReplicaSetStatus{}
	d.Status = appsv1.DeploymentStatus{Conditions: []appsv1.DeploymentCondition{started}}
	st = rolloutStatus(d, []*appsv1.ReplicaSet{oldRS, newRS}, newRS, later)
	if c := cond(st, appsv1.DeploymentProgressing); c.Reason != ReasonNewRSAvailable || c.Message != `ReplicaSet "web-new" has successfully progressed.` {
		t.Errorf("complete %+v", c)
	}
	if c := cond(st, appsv1.DeploymentAvailable); c.Status != corev1.ConditionTrue || c.Reason != ReasonMinAvailable {
		t.Errorf("available %+v", c)
	}
	if _, ok := progressCheckIn(d, &st, later); ok {
		t.Error("complete: no timer")
	}

	// Without a deadline there is no Progressing condition at all.
	d.Spec.ProgressDeadlineSeconds = wlInt32(2147483647)
	st = rolloutStatus(d, []*appsv1.ReplicaSet{oldRS, newRS}, newRS, later)
	if getDeployCond(&st, appsv1.DeploymentProgressing) != nil {
		t.Error("Progressing without a deadline")
	}
}

func TestSetDeployCond(t *testing.T) {
	st := &appsv1.DeploymentStatus{}
	setDeployCond(st, newDeployCond(appsv1.DeploymentAvailable, corev1.ConditionTrue, "A", "m", t0))
	setDeployCond(st, newDeployCond(appsv1.DeploymentProgressing, corev1.ConditionTrue, "P", "m", t0))
	setDeployCond(st, newDeployCond(appsv1.DeploymentAvailable, corev1.ConditionTrue, "A", "other", t0.Add(time.Hour)))
	if c := getDeployCond(st, appsv1.DeploymentAvailable); c.Message != "m" {
		t.Error("same status and reason: no update")
	}
	setDeployCond(st, newDeployCond(appsv1.DeploymentAvailable, corev1.ConditionTrue, "B", "n", t0.Add(time.Hour)))
	c := st.Conditions[1]
	if c.Type != appsv1.DeploymentAvailable || c.Reason != "B" || !c.LastTransitionTime.Time.Equal(t0) || !c.LastUpdateTime.Time.Equal(t0.Add(time.Hour)) {
		t.Errorf("reason change keeps the transition time and moves last: %+v", st.Conditions)
	}
	setDeployCond(st, newDeployCond(appsv1.DeploymentAvailable, corev1.ConditionFalse, "C", "x", t0.Add(2*time.Hour)))
	if c := getDeployCond(st, appsv1.DeploymentAvailable); !c.LastTransitionTime.Time.Equal(t0.Add(2 * time.Hour)) {
		t.Error("status change moves the transition time")
	}
}
