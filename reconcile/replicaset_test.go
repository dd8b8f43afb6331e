package reconcile

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// rpod builds a pod for the ranking and status tables.
type rpod struct {
	name     string
	node     string
	phase    corev1.PodPhase
	ready    bool
	readyAgo time.Duration
	age      time.Duration
	restarts int32
	cost     string
	labels   map[string]string
}

func (r rpod) pod(now time.Time) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: r.name, UID: types.UID("uid-" + r.name), Labels: r.labels}}
	if r.age > 0 {
		p.CreationTimestamp = metav1.NewTime(now.Add(-r.age))
	}
	if r.cost != "" {
		p.Annotations = map[string]string{annPodDeletionCost: r.cost}
	}
	p.Spec.NodeName = r.node
	p.Status.Phase = r.phase
	st := corev1.ConditionFalse
	if r.ready {
		st = corev1.ConditionTrue
	}
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: st, LastTransitionTime: metav1.NewTime(now.Add(-r.readyAgo))}}
	p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", RestartCount: r.restarts}}
	return p
}

func TestPodsToDelete(t *testing.T) {
	run := rpod{node: "n", phase: corev1.PodRunning, ready: true, readyAgo: time.Hour, age: 2 * time.Hour}
	with := func(name string, f func(*rpod)) rpod { r := run; r.name = name; f(&r); return r }
	tests := []struct {
		name string
		pods []rpod
		n    int
		want string // names deleted, in order
	}{
		{"unscheduled first", []rpod{with("a", func(*rpod) {}), with("b", func(r *rpod) { r.node = ""; r.phase = corev1.PodPending; r.ready = false })}, 1, "b"},
		{"pending before running", []rpod{with("a", func(*rpod) {}), with("b", func(r *rpod) { r.phase = corev1.PodPending; r.ready = false })}, 1, "b"},
		{"unknown between pending and running", []rpod{
			with("run", func(*rpod) {}),
			with("unk", func(r *rpod) { r.phase = corev1.PodUnknown }),
			with("pend", func(r *rpod) { r.phase = corev1.PodPending }),
		}, 3, "pend,unk,run"},
		{"not ready before ready", []rpod{with("a", func(*rpod) {}), with("b", func(r *rpod) { r.ready = false })}, 1, "b"},
		{"lower deletion cost first", []rpod{with("a", func(r *rpod) { r.cost = "10" }), with("b", func(r *rpod) { r.cost = "-5" })}, 1, "b"},
		{"invalid cost is zero", []rpod{with("a", func(r *rpod) { r.cost = "1" }), with("b", func(r *rpod) { r.cost = "x" })}, 1, "b"},
		{"ready more recently first", []rpod{with("a", func(*rpod) {}), with("b", func(r *rpod) { r.readyAgo = time.Minute })}, 1, "b"},
		{"more restarts first", []rpod{with("a", func(*rpod) {}), with("b", func(r *rpod) { r.restarts = 3 })}, 1, "b"},
		{"newer first", []rpod{with("a", func(*rpod) {}), with("b", func(r *rpod) { r.age = time.Minute })}, 1, "b"},
		{"same log bucket: uid decides", []rpod{
			with("b", func(r *rpod) { r.age = 100 * time.Second }),
			with("a", func(r *rpod) { r.age = 101 * time.Second }),
		}, 1, "a"},
		{"readiness beats restarts", []rpod{with("a", func(r *rpod) { r.restarts = 9 }), with("b", func(r *rpod) { r.ready = false })}, 1, "b"},
		{"n above len", []rpod{with("a", func(*rpod) {})}, 3, "a"},
		{"n zero", []rpod{with("a", func(*rpod) {})}, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var pods []*corev1.Pod
			for _, r := range tt.pods {
				pods = append(pods, r.pod(t0))
			}
			var got []string
			for _, p := range podsToDelete(pods, tt.n, t0) {
				got = append(got, p.Name)
			}
			if g := strings.Join(got, ","); g != tt.want {
				t.Errorf("deleted %q, want %q", g, tt.want)
			}
		})
	}
}

func TestRSStatus(t *testing.T) {
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "rs", Generation: 4}}
	rs.Spec.Replicas = wlInt32(4)
	rs.Spec.MinReadySeconds = 10
	rs.Spec.Template.Labels = map[string]string{"app": "x", "tier": "web"}
	full := map[string]string{"app": "x", "tier": "web", "extra": "1"}
	pods := []*corev1.Pod{
		rpod{name: "a", phase: corev1.PodRunning, ready: true, readyAgo: time.Minute, labels: full}.pod(t0),
		rpod{name: "b", phase: corev1.PodRunning, ready: true, readyAgo: 5 * time.Second, labels: full}.pod(t0),
		rpod{name: "c", phase: corev1.PodPending, labels: map[string]string{"app": "x"}}.pod(t0),
	}
	st := rsStatus(rs, pods, 2, nil, t0)
	if st.Replicas != 3 || st.FullyLabeledReplicas != 2 || st.ReadyReplicas != 2 || st.AvailableReplicas != 1 ||
		st.ObservedGeneration != 4 || st.TerminatingReplicas == nil || *st.TerminatingReplicas != 2 || st.Conditions != nil {
		t.Fatalf("status = %+v", st)
	}

	// A failed create adds ReplicaFailure with the reason and the error; success removes it.
	st = rsStatus(rs, pods, 0, errors.New(`pods "rs-" is forbidden: nope`), t0)
	if len(st.Conditions) != 1 || st.Conditions[0].Reason != ReasonFailedCreate || st.Conditions[0].Message != `pods "rs-" is forbidden: nope` ||
		st.Conditions[0].Status != corev1.ConditionTrue || st.Conditions[0].Type != appsv1.ReplicaSetReplicaFailure {
		t.Fatalf("conditions = %+v", st.Conditions)
	}
	rs.Status = st
	again := rsStatus(rs, pods, 0, errors.New("other"), t0.Add(time.Minute))
	if again.Conditions[0].Message != `pods "rs-" is forbidden: nope` {
		t.Errorf("an existing failure condition is kept as is, got %+v", again.Conditions)
	}
	if st := rsStatus(rs, pods, 0, nil, t0); st.Conditions != nil {
		t.Errorf("failure not cleared: %+v", st.Conditions)
	}
	rs.Spec.Replicas = wlInt32(1)
	rs.Status.Conditions = nil
	if st := rsStatus(rs, pods, 0, errors.New("x"), t0); st.Conditions[0].Reason != ReasonFailedDelete {
		t.Errorf("surplus failure reason = %q", st.Conditions[0].Reason)
	}
}

func TestNextAvailable(t *testing.T) {
	pods := []*corev1.Pod{
		rpod{name: "old", phase: corev1.PodRunning, ready: true, readyAgo: time.Minute}.pod(t0),
		rpod{name: "new", phase: corev1.PodRunning, ready: true, readyAgo: 3 * time.Second}.pod(t0),
		rpod{name: "newer", phase: corev1.PodRunning, ready: true, readyAgo: time.Second}.pod(t0),
		rpod{name: "unready", phase: corev1.PodRunning}.pod(t0),
	}
	if d, ok := nextAvailable(pods, 10, t0); !ok || d != 7*time.Second {
		t.Errorf("next = %v %v, want 7s", d, ok)
	}
	if _, ok := nextAvailable(pods, 0, t0); ok {
		t.Error("no timer without minReadySeconds")
	}
	if _, ok := nextAvailable(pods[:1], 10, t0); ok {
		t.Error("no timer when every ready pod is available")
	}
	if _, ok := nextAvailable(pods[3:], 10, t0); ok {
		t.Error("no timer for pods that are not ready")
	}
}

func TestClaimDecision(t *testing.T) {
	owner := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "rs", Namespace: "ns", UID: "me"}}
	deleting := owner.DeepCopy()
	deleting.DeletionTimestamp = &metav1.Time{Time: t0}
	mine := []metav1.OwnerReference{ownerRefTo(owner, "ReplicaSet")}
	theirs := []metav1.OwnerReference{ownerRefTo(&appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "other", UID: "you"}}, "ReplicaSet")}
	pod := func(refs []metav1.OwnerReference, ns string, dying bool) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: ns, OwnerReferences: refs}}
		if dying {
			p.DeletionTimestamp = &metav1.Time{Time: t0}
		}
		return p
	}
	tests := []struct {
		name    string
		owner   *appsv1.ReplicaSet
		obj     *corev1.Pod
		matched bool
		want    claimAction
	}{
		{"ours and matching", owner, pod(mine, "ns", false), true, claimOwned},
		{"ours, no longer matching", owner, pod(mine, "ns", false), false, claimRelease},
		{"ours, owner being deleted", deleting, pod(mine, "ns", false), false, claimIgnore},
		{"someone else's", owner, pod(theirs, "ns", false), true, claimIgnore},
		{"orphan matching", owner, pod(nil, "ns", false), true, claimAdopt},
		{"orphan not matching", owner, pod(nil, "ns", false), false, claimIgnore},
		{"orphan being deleted", owner, pod(nil, "ns", true), true, claimIgnore},
		{"orphan in another namespace", owner, pod(nil, "other", false), true, claimIgnore},
		{"orphan, owner being deleted", deleting, pod(nil, "ns", false), true, claimIgnore},
	}
	for _, tt := range tests {
		if got := claimDecision(tt.owner, tt.obj, tt.matched); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestPodMattersToReplicaSet(t *testing.T) {
	base := rpod{name: "a", phase: corev1.PodRunning, ready: true, readyAgo: time.Minute, labels: map[string]string{"app": "x"}}.pod(t0)
	tests := []struct {
		name string
		mod  func(p *corev1.Pod)
		want bool
	}{
		{"restart count only", func(p *corev1.Pod) { p.Status.ContainerStatuses[0].RestartCount++ }, false},
		{"pod IP only", func(p *corev1.Pod) { p.Status.PodIP = "10.0.0.9" }, false},
		{"phase", func(p *corev1.Pod) { p.Status.Phase = corev1.PodFailed }, true},
		{"readiness", func(p *corev1.Pod) { p.Status.Conditions[0].Status = corev1.ConditionFalse }, true},
		{"ready since", func(p *corev1.Pod) { p.Status.Conditions[0].LastTransitionTime = metav1.NewTime(t0) }, true},
		{"labels", func(p *corev1.Pod) { p.Labels = map[string]string{"app": "y"} }, true},
		{"owner", func(p *corev1.Pod) { p.OwnerReferences = []metav1.OwnerReference{{UID: "x"}} }, true},
		{"deletion", func(p *corev1.Pod) { p.DeletionTimestamp = &metav1.Time{Time: t0} }, true},
	}
	for _, tt := range tests {
		cur := base.DeepCopy()
		tt.mod(cur)
		if got := podMattersToReplicaSet(base, cur); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestReplicaName(t *testing.T) {
	n := replicaName("web-5d9c8b7f6d-")
	if !strings.HasPrefix(n, "web-5d9c8b7f6d-") || len(n) != len("web-5d9c8b7f6d-")+5 {
		t.Errorf("name %q", n)
	}
	for _, r := range n[len("web-5d9c8b7f6d-"):] {
		if !strings.ContainsRune("bcdfghjklmnpqrstvwxz2456789", r) {
			t.Errorf("suffix of %q has %q", n, r)
		}
	}
	long := replicaName(strings.Repeat("x", 80) + "-")
	if len(long) != 63 {
		t.Errorf("long name has %d characters: %q", len(long), long)
	}
}

// fmtPods lists pod names, for messages.
func fmtPods(pods []*corev1.Pod) string {
	var s []string
	for _, p := range pods {
		s = append(s, fmt.Sprintf("%s(del=%v)", p.Name, p.DeletionTimestamp != nil))
	}
	return strings.Join(s, " ")
}
