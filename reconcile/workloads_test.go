package reconcile

import (
	"context"
	"fmt"
	"math/rand"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/k2d-project/k2d/cache"
	"github.com/k2d-project/k2d/codec"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// wtest drives the workload controllers over a cache, playing the kubelet itself: pods
// become ready when the test says so, and terminating pods leave when it says so. Every sync
// runs in the test's goroutine, so each step of a rollout can be checked.
type wtest struct {
	*utest
	check func(step string) // called after every sync, when set
	rnd   *rand.Rand
}

func newWTest(t *testing.T) *wtest {
	return &wtest{utest: newUTest(t)}
}

func deployment(name string, replicas int32, image string) *appsv1.Deployment {
	lbl := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: lbl},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: lbl},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "app", Image: image, ImagePullPolicy: corev1.PullNever,
					TerminationMessagePath: "/dev/termination-log", TerminationMessagePolicy: corev1.TerminationMessageReadFile,
				}}},
			},
		},
	}
}

func rollingStrategy(surge, unavailable intstr.IntOrString) appsv1.DeploymentStrategy {
	return appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType,
		RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: &surge, MaxUnavailable: &unavailable}}
}

func (w *wtest) createDeploy(d *appsv1.Deployment) {
	w.t.Helper()
	if _, err := w.c.Create(kindDeploy, d); err != nil {
		w.t.Fatal(err)
	}
}

// editDeploy changes a Deployment as an API update does: generation goes up with the spec.
func (w *wtest) editDeploy(name string, fn func(d *appsv1.Deployment)) {
	w.t.Helper()
	_, err := w.c.Mutate(kindDeploy, "default", name, func(obj runtime.Object) (bool, error) {
		d := obj.(*appsv1.Deployment)
		fn(d)
		d.Generation++
		return true, nil
	})
	if err != nil {
		w.t.Fatal(err)
	}
}

func (w *wtest) deploy(name string) *appsv1.Deployment {
	e, ok := w.c.Get(resDeploy, "default", name)
	if !ok {
		w.t.Fatalf("deployment %s is gone", name)
	}
	return e.Obj.(*appsv1.Deployment)
}

// rss returns the ReplicaSets of the namespace, oldest first.
func (w *wtest) rss() []*appsv1.ReplicaSet {
	list, _ := w.c.List(resRS, "default")
	var out []*appsv1.ReplicaSet
	for _, e := range list {
		out = append(out, e.Obj.(*appsv1.ReplicaSet))
	}
	sort.SliceStable(out, func(i, j int) bool { return revisionOf(out[i]) < revisionOf(out[j]) })
	return out
}

func (w *wtest) allPods() []*corev1.Pod {
	list, _ := w.c.List(resPods, "default")
	var out []*corev1.Pod
	for _, e := range list {
		out = append(out, e.Obj.(*corev1.Pod))
	}
	return out
}

// podsOf returns the live (not terminating) pods a ReplicaSet controls.
func (w *wtest) podsOf(rs *appsv1.ReplicaSet) []*corev1.Pod {
	var out []*corev1.Pod
	for _, p := range w.allPods() {
		if ref := metav1.GetControllerOf(p); ref != nil && ref.UID == rs.UID && p.DeletionTimestamp == nil {
			out = append(out, p)
		}
	}
	return out
}

// settle runs every ReplicaSet and Deployment sync until nothing changes any more. The
// order of the syncs in each round is shuffled (seeded, so a failure repeats): the
// controllers run concurrently in k2d, and what they promise must not depend on who goes first.
func (w *wtest) settle() {
	w.t.Helper()
	ctx := context.Background()
	if w.rnd == nil {
		w.rnd = rand.New(rand.NewSource(int64(len(w.t.Name()))))
	}
	for i := 0; i < 200; i++ {
		rv := w.stateRV()
		var steps []string
		for _, rs := range w.rss() {
			steps = append(steps, "replicaset "+rs.Name)
		}
		ds, _ := w.c.List(resDeploy, "default")
		for _, e := range ds {
			steps = append(steps, "deployment "+e.Meta().GetName())
		}
		w.rnd.Shuffle(len(steps), func(i, j int) { steps[i], steps[j] = steps[j], steps[i] })
		for _, step := range steps {
			kind, name, _ := strings.Cut(step, " ")
			if kind == "replicaset" {
				w.ctl.syncReplicaSet(ctx, "default/"+name)
			} else {
				w.ctl.syncDeployment(ctx, "default/"+name)
			}
			if w.check != nil {
				w.check("sync " + step)
			}
		}
		if w.stateRV() == rv {
			return
		}
	}
	w.t.Fatal("the controllers do not settle: they keep writing")
}

// stateRV is the newest resourceVersion of the objects the controllers manage (Events,
// whose repeats only count up, left out).
func (w *wtest) stateRV() uint64 {
	var rv uint64
	for _, res := range []string{resPods, resRS, resDeploy} {
		list, _ := w.c.List(res, "")
		for _, e := range list {
			rv = max(rv, e.RV)
		}
	}
	return rv
}

// setReady plays the kubelet: the pod runs, and is ready or not.
func (w *wtest) setReady(p *corev1.Pod, ready bool) {
	w.t.Helper()
	now := metav1.NewTime(w.clock.Now())
	_, err := w.c.Mutate(kindPod, p.Namespace, p.Name, func(obj runtime.Object) (bool, error) {
		p := obj.(*corev1.Pod)
		p.Spec.NodeName = "node1"
		p.Status.Phase = corev1.PodRunning
		st := corev1.ConditionFalse
		if ready {
			st = corev1.ConditionTrue
		}
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: st, LastTransitionTime: now}}
		return true, nil
	})
	if err != nil {
		w.t.Fatal(err)
	}
}

// readyOne makes one pod that is not ready yet ready; false when there is none.
func (w *wtest) readyOne() bool {
	for _, p := range w.allPods() {
		if p.DeletionTimestamp == nil && !replicaReady(p) {
			w.setReady(p, true)
			return true
		}
	}
	return false
}

func (w *wtest) readyAll() {
	for w.readyOne() {
	}
}

// finishTerminating plays the kubelet's end of graceful deletion: terminating pods leave.
func (w *wtest) finishTerminating() int {
	n := 0
	for _, p := range w.allPods() {
		if p.DeletionTimestamp != nil {
			if _, err := w.c.Delete(kindPod, p.Namespace, p.Name, "", ""); err != nil {
				w.t.Fatal(err)
			}
			n++
		}
	}
	return n
}

// eventMessages returns the messages of the Events about an object, oldest first.
func (w *wtest) eventMessages(kind, name string) []string {
	list, _ := w.c.List(resEvents, "")
	var evs []*corev1.Event
	for _, e := range list {
		if ev := e.Obj.(*corev1.Event); ev.InvolvedObject.Kind == kind && ev.InvolvedObject.Name == name {
			evs = append(evs, ev)
		}
	}
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].Name < evs[j].Name })
	var out []string
	for _, ev := range evs {
		out = append(out, ev.Reason+": "+ev.Message)
	}
	return out
}

func hasWlEvent(list []string, want string) bool {
	for _, s := range list {
		if s == want {
			return true
		}
	}
	return false
}

func cond(st appsv1.DeploymentStatus, t appsv1.DeploymentConditionType) appsv1.DeploymentCondition {
	if c := getDeployCond(&st, t); c != nil {
		return *c
	}
	return appsv1.DeploymentCondition{}
}

func TestDeploymentCreatesReplicaSetAndPods(t *testing.T) {
	w := newWTest(t)
	d := deployment("web", 3, testImage)
	d.Annotations = map[string]string{"kubernetes.io/change-cause": "first", annLastApplied: "{}"}
	w.createDeploy(d)
	w.ctl.syncDeployment(context.Background(), "default/web")
	if c := cond(w.deploy("web").Status, appsv1.DeploymentProgressing); c.Status != corev1.ConditionTrue || c.Reason != ReasonNewRSCreated ||
		c.Message != `Created new replica set "`+w.rss()[0].Name+`"` {
		t.Errorf("progressing condition after the first sync %+v", c)
	}
	w.settle()

	rss := w.rss()
	if len(rss) != 1 {
		t.Fatalf("%d replicasets", len(rss))
	}
	rs := rss[0]
	hash := rs.Labels[LabelPodTemplateHash]
	if hash == "" || rs.Name != "web-"+hash || rs.Spec.Template.Labels[LabelPodTemplateHash] != hash || rs.Spec.Selector.MatchLabels[LabelPodTemplateHash] != hash {
		t.Fatalf("replicaset %s: labels %v, selector %v", rs.Name, rs.Labels, rs.Spec.Selector)
	}
	if ref := metav1.GetControllerOf(rs); ref == nil || ref.Kind != "Deployment" || ref.Name != "web" || !*ref.BlockOwnerDeletion {
		t.Errorf("replicaset owner = %+v", ref)
	}
	wantAnn := map[string]string{AnnRevision: "1", AnnDesiredReplicas: "3", AnnMaxReplicas: "4", "kubernetes.io/change-cause": "first"}
	for k, v := range wantAnn {
		if rs.Annotations[k] != v {
			t.Errorf("replicaset annotation %s = %q, want %q", k, rs.Annotations[k], v)
		}
	}
	if _, ok := rs.Annotations[annLastApplied]; ok {
		t.Error("last-applied-configuration must not be copied")
	}
	pods := w.podsOf(rs)
	if len(pods) != 3 {
		t.Fatalf("%d pods: %s", len(pods), fmtPods(pods))
	}
	for _, p := range pods {
		if !strings.HasPrefix(p.Name, rs.Name+"-") || len(p.Name) != len(rs.Name)+6 || p.GenerateName != rs.Name+"-" {
			t.Errorf("pod name %q (generateName %q)", p.Name, p.GenerateName)
		}
		ref := metav1.GetControllerOf(p)
		if ref == nil || ref.Kind != "ReplicaSet" || ref.APIVersion != "apps/v1" || ref.UID != rs.UID || ref.BlockOwnerDeletion == nil || !*ref.BlockOwnerDeletion {
			t.Errorf("pod owner = %+v", ref)
		}
		if p.Labels["app"] != "web" || p.Labels[LabelPodTemplateHash] != hash {
			t.Errorf("pod labels %v", p.Labels)
		}
		if p.Status.Phase != corev1.PodPending || p.Status.QOSClass != corev1.PodQOSBestEffort || p.Spec.ServiceAccountName != "default" ||
			p.Spec.RestartPolicy != corev1.RestartPolicyAlways || p.Spec.TerminationGracePeriodSeconds == nil || p.Namespace != "default" {
			t.Errorf("pod %s not created as the API server would: phase %q qos %q sa %q restart %q", p.Name, p.Status.Phase, p.Status.QOSClass, p.Spec.ServiceAccountName, p.Spec.RestartPolicy)
		}
	}
	if evs := w.eventMessages("Deployment", "web"); !hasWlEvent(evs, "ScalingReplicaSet: Scaled up replica set "+rs.Name+" from 0 to 3") {
		t.Errorf("deployment events %q", evs)
	}
	evs := w.eventMessages("ReplicaSet", rs.Name)
	for _, p := range pods {
		if !hasWlEvent(evs, "SuccessfulCreate: Created pod: "+p.Name) {
			t.Errorf("replicaset events %q lack the creation of %s", evs, p.Name)
		}
	}
	list, _ := w.c.List(resEvents, "")
	for _, e := range list {
		if ev := e.Obj.(*corev1.Event); ev.InvolvedObject.Kind == "ReplicaSet" && (ev.Source.Component != componentRS || ev.Source.Host != "") {
			t.Errorf("replicaset event source %+v", ev.Source)
		}
	}

	st := w.deploy("web").Status
	if st.Replicas != 3 || st.UpdatedReplicas != 3 || st.AvailableReplicas != 0 || st.UnavailableReplicas != 3 || st.ObservedGeneration != 1 {
		t.Errorf("status before ready: %+v", st)
	}
	if c := cond(st, appsv1.DeploymentAvailable); c.Status != corev1.ConditionFalse || c.Reason != ReasonMinUnavailable || c.Message != "Deployment does not have minimum availability." {
		t.Errorf("available condition %+v", c)
	}
	if c := cond(st, appsv1.DeploymentProgressing); c.Status != corev1.ConditionTrue || c.Reason != ReasonRSUpdated || c.Message != `ReplicaSet "`+rs.Name+`" is progressing.` {
		t.Errorf("progressing condition %+v", c)
	}
	if w.deploy("web").Annotations[AnnRevision] != "1" {
		t.Errorf("deployment revision %q", w.deploy("web").Annotations[AnnRevision])
	}

	w.readyAll()
	w.settle()
	st = w.deploy("web").Status
	if st.Replicas != 3 || st.UpdatedReplicas != 3 || st.ReadyReplicas != 3 || st.AvailableReplicas != 3 || st.UnavailableReplicas != 0 {
		t.Errorf("status when ready: %+v", st)
	}
	if c := cond(st, appsv1.DeploymentAvailable); c.Status != corev1.ConditionTrue || c.Reason != ReasonMinAvailable || c.Message != "Deployment has minimum availability." {
		t.Errorf("available condition %+v", c)
	}
	if c := cond(st, appsv1.DeploymentProgressing); c.Reason != ReasonNewRSAvailable || c.Message != `ReplicaSet "`+rs.Name+`" has successfully progressed.` {
		t.Errorf("progressing condition %+v", c)
	}
	rs = w.rss()[0]
	if rs.Status.Replicas != 3 || rs.Status.ReadyReplicas != 3 || rs.Status.AvailableReplicas != 3 || rs.Status.FullyLabeledReplicas != 3 || rs.Status.ObservedGeneration != rs.Generation {
		t.Errorf("replicaset status %+v", rs.Status)
	}
	if _, ok := progressCheckIn(w.deploy("web"), &st, w.clock.Now()); ok {
		t.Error("a complete rollout must not arm a timer")
	}

	// Self-healing: a deleted pod is replaced.
	if _, err := w.c.Delete(kindPod, "default", pods[0].Name, "", ""); err != nil {
		t.Fatal(err)
	}
	w.settle()
	if n := len(w.podsOf(rs)); n != 3 {
		t.Errorf("%d pods after one was deleted", n)
	}
}

// rolloutInvariants checks, after every sync, what a rolling update promises: never more
// pods than replicas+maxSurge, never fewer available than replicas-maxUnavailable.
func (w *wtest) rolloutInvariants(replicas, surge, unavailable int32) func(string) {
	return func(step string) {
		var live, ready int32
		for _, p := range w.allPods() {
			if p.DeletionTimestamp != nil {
				continue
			}
			live++
			if replicaReady(p) {
				ready++
			}
		}
		if live > replicas+surge {
			w.t.Errorf("after %s: %d pods, more than %d+%d: %s", step, live, replicas, surge, fmtPods(w.allPods()))
		}
		if ready < replicas-unavailable {
			w.t.Errorf("after %s: %d ready pods, fewer than %d-%d", step, ready, replicas, unavailable)
		}
		var sum int32
		for _, rs := range w.rss() {
			sum += rsReplicas(rs)
		}
		if sum > replicas+surge {
			w.t.Errorf("after %s: replicasets ask for %d pods", step, sum)
		}
	}
}

func TestDeploymentRollingUpdateHonoursSurgeAndUnavailable(t *testing.T) {
	for _, tc := range []struct {
		name               string
		replicas           int32
		surge, unavailable intstr.IntOrString
		wantSurge, wantUn  int32
	}{
		{"surge 1 unavailable 0", 3, intstr.FromInt32(1), intstr.FromInt32(0), 1, 0},
		{"surge 0 unavailable 1", 3, intstr.FromInt32(0), intstr.FromInt32(1), 0, 1},
		{"defaults 25%", 4, intstr.FromString("25%"), intstr.FromString("25%"), 1, 1},
		{"surge 2 unavailable 2 of 5", 5, intstr.FromInt32(2), intstr.FromInt32(2), 2, 2},
	} {
		for seed := int64(1); seed <= 4; seed++ {
			t.Run(fmt.Sprintf("%s/seed%d", tc.name, seed), func(t *testing.T) {
				w := newWTest(t)
				w.rnd = rand.New(rand.NewSource(seed))
				d := deployment("web", tc.replicas, testImage)
				d.Spec.Strategy = rollingStrategy(tc.surge, tc.unavailable)
				w.createDeploy(d)
				w.settle()
				w.readyAll()
				w.settle()
				oldRS := w.rss()[0]

				w.check = w.rolloutInvariants(tc.replicas, tc.wantSurge, tc.wantUn)
				w.editDeploy("web", func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "k2d-test/busybox:2" })
				for i := 0; i < 50; i++ {
					w.settle()
					dep := w.deploy("web")
					if deploymentComplete(deploymentDefaults(dep), &dep.Status) && len(w.podsOf(oldRS)) == 0 {
						break
					}
					w.finishTerminating()
					w.readyOne() // one pod at a time: every intermediate state is checked
				}
				w.check = nil
				w.finishTerminating()
				w.settle()

				rss := w.rss()
				if len(rss) != 2 {
					t.Fatalf("%d replicasets", len(rss))
				}
				oldRS, newRS := rss[0], rss[1]
				if rsReplicas(oldRS) != 0 || rsReplicas(newRS) != tc.replicas || len(w.podsOf(newRS)) != int(tc.replicas) {
					t.Errorf("old %d, new %d replicas", rsReplicas(oldRS), rsReplicas(newRS))
				}
				if revisionOf(oldRS) != 1 || revisionOf(newRS) != 2 || w.deploy("web").Annotations[AnnRevision] != "2" {
					t.Errorf("revisions old %d new %d deployment %q", revisionOf(oldRS), revisionOf(newRS), w.deploy("web").Annotations[AnnRevision])
				}
				st := w.deploy("web").Status
				if st.UpdatedReplicas != tc.replicas || st.AvailableReplicas != tc.replicas || st.Replicas != tc.replicas || st.ObservedGeneration != 2 {
					t.Errorf("status %+v", st)
				}
				if c := cond(st, appsv1.DeploymentProgressing); c.Reason != ReasonNewRSAvailable {
					t.Errorf("progressing %+v", c)
				}
				evs := w.eventMessages("Deployment", "web")
				down := false
				for _, e := range evs {
					if strings.HasPrefix(e, "ScalingReplicaSet: Scaled down replica set "+oldRS.Name+" from ") && strings.HasSuffix(e, " to 0") {
						down = true
					}
				}
				if !down {
					t.Errorf("no scale-down of the old replica set to 0 in %q", evs)
				}
			})
		}
	}
}

func TestDeploymentRecreate(t *testing.T) {
	w := newWTest(t)
	d := deployment("db", 2, testImage)
	d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}
	w.createDeploy(d)
	w.settle()
	w.readyAll()
	w.settle()
	oldRS := w.rss()[0]
	if oldRS.Annotations[AnnMaxReplicas] != "2" {
		t.Errorf("max-replicas %q: Recreate has no surge", oldRS.Annotations[AnnMaxReplicas])
	}

	w.editDeploy("db", func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "k2d-test/busybox:2" })
	w.settle()
	if len(w.rss()) != 1 {
		t.Fatal("the new replica set must wait until the old pods are gone")
	}
	if rsReplicas(w.rss()[0]) != 0 {
		t.Error("old replica set not scaled to 0")
	}
	terminating := 0
	for _, p := range w.allPods() {
		if p.DeletionTimestamp != nil {
			terminating++
		}
	}
	if terminating != 2 {
		t.Fatalf("%d terminating pods", terminating)
	}
	w.settle()
	if len(w.rss()) != 1 {
		t.Fatal("the new replica set must wait until the old pods are gone")
	}
	w.finishTerminating()
	w.settle()
	rss := w.rss()
	if len(rss) != 2 || rsReplicas(rss[1]) != 2 || len(w.podsOf(rss[1])) != 2 {
		t.Fatalf("after the old pods left: %d replicasets", len(rss))
	}
	evs := w.eventMessages("Deployment", "db")
	want := []string{
		"ScalingReplicaSet: Scaled up replica set " + oldRS.Name + " from 0 to 2",
		"ScalingReplicaSet: Scaled down replica set " + oldRS.Name + " from 2 to 0",
		"ScalingReplicaSet: Scaled up replica set " + rss[1].Name + " from 0 to 2",
	}
	if strings.Join(evs, "\n") != strings.Join(want, "\n") {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(evs, "\n"), strings.Join(want, "\n"))
	}
}

// complete rolls the Deployment out to the end.
func (w *wtest) complete(name string) {
	w.t.Helper()
	for i := 0; i < 50; i++ {
		w.settle()
		w.finishTerminating()
		w.readyAll()
		w.settle()
		d := w.deploy(name)
		if deploymentComplete(deploymentDefaults(d), &d.Status) && cond(d.Status, appsv1.DeploymentProgressing).Reason == ReasonNewRSAvailable {
			return
		}
	}
	w.t.Fatalf("deployment %s does not complete: %+v", name, w.deploy(name).Status)
}

func TestDeploymentRollbackReusesReplicaSet(t *testing.T) {
	w := newWTest(t)
	d := deployment("web", 2, testImage)
	d.Annotations = map[string]string{"kubernetes.io/change-cause": "v1"}
	w.createDeploy(d)
	w.complete("web")
	w.editDeploy("web", func(d *appsv1.Deployment) {
		d.Spec.Template.Spec.Containers[0].Image = "k2d-test/busybox:2"
		d.Annotations["kubernetes.io/change-cause"] = "v2"
	})
	w.complete("web")
	rss := w.rss()
	if len(rss) != 2 || rss[1].Annotations["kubernetes.io/change-cause"] != "v2" || rss[0].Annotations["kubernetes.io/change-cause"] != "v1" {
		t.Fatalf("change-cause not carried to the replica sets")
	}
	first := rss[0]

	// kubectl rollout undo: the template of revision 1 without the hash label, and its
	// annotations on the Deployment.
	w.editDeploy("web", func(d *appsv1.Deployment) {
		tmpl := first.Spec.Template.DeepCopy()
		delete(tmpl.Labels, LabelPodTemplateHash)
		d.Spec.Template = *tmpl
		d.Annotations["kubernetes.io/change-cause"] = "v1"
	})
	w.complete("web")
	rss = w.rss()
	if len(rss) != 2 {
		t.Fatalf("rollback created a replica set: %d", len(rss))
	}
	var reused *appsv1.ReplicaSet
	for _, rs := range rss {
		if rs.UID == first.UID {
			reused = rs
		}
	}
	if reused == nil || reused.Annotations[AnnRevision] != "3" || reused.Annotations[AnnRevisionHistory] != "1" || rsReplicas(reused) != 2 {
		t.Fatalf("reused replica set: %+v", reused.ObjectMeta)
	}
	if w.deploy("web").Annotations[AnnRevision] != "3" {
		t.Errorf("deployment revision %q", w.deploy("web").Annotations[AnnRevision])
	}

	// And forward again: revision 2's set becomes 4 with history 2.
	w.editDeploy("web", func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "k2d-test/busybox:2" })
	w.complete("web")
	for _, rs := range w.rss() {
		if rs.UID != first.UID && (rs.Annotations[AnnRevision] != "4" || rs.Annotations[AnnRevisionHistory] != "2") {
			t.Errorf("second set: revision %q history %q", rs.Annotations[AnnRevision], rs.Annotations[AnnRevisionHistory])
		}
	}
}

func TestDeploymentPaused(t *testing.T) {
	w := newWTest(t)
	w.createDeploy(deployment("web", 2, testImage))
	w.complete("web")
	w.editDeploy("web", func(d *appsv1.Deployment) { d.Spec.Paused = true })
	w.settle()
	c := cond(w.deploy("web").Status, appsv1.DeploymentProgressing)
	if c.Status != corev1.ConditionUnknown || c.Reason != ReasonPaused || c.Message != "Deployment is paused" {
		t.Errorf("paused condition %+v", c)
	}
	w.editDeploy("web", func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "k2d-test/busybox:2" })
	w.settle()
	if len(w.rss()) != 1 {
		t.Fatal("a paused deployment rolled out")
	}
	// Scaling still applies while paused.
	w.editDeploy("web", func(d *appsv1.Deployment) { d.Spec.Replicas = wlInt32(4) })
	w.settle()
	if rs := w.rss()[0]; rsReplicas(rs) != 4 || len(w.podsOf(rs)) != 4 || rs.Annotations[AnnDesiredReplicas] != "4" {
		t.Fatalf("paused deployment not scaled: %d", rsReplicas(rs))
	}
	if st := w.deploy("web").Status; st.UpdatedReplicas != 0 || st.Replicas != 4 {
		t.Errorf("paused status %+v", st)
	}
	if _, ok := progressCheckIn(deploymentDefaults(w.deploy("web")), &w.deploy("web").Status, w.clock.Now()); ok {
		t.Error("a paused deployment must not arm the progress timer")
	}
	w.editDeploy("web", func(d *appsv1.Deployment) { d.Spec.Paused = false })
	w.settle()
	if len(w.rss()) != 2 {
		t.Fatal("resume did not roll out")
	}
	w.complete("web")
	var resumed bool
	for _, e := range w.rss() {
		if revisionOf(e) == 2 && rsReplicas(e) == 4 {
			resumed = true
		}
	}
	if !resumed {
		t.Error("the rollout after resume did not reach 4 replicas")
	}
}

func TestDeploymentResumeCondition(t *testing.T) {
	w := newWTest(t)
	d := deployment("web", 1, testImage)
	d.Spec.Paused = true
	w.createDeploy(d)
	w.settle()
	if len(w.rss()) != 0 {
		t.Fatal("a deployment created paused must not roll out")
	}
	w.editDeploy("web", func(d *appsv1.Deployment) { d.Spec.Paused = false })
	w.ctl.syncDeployment(context.Background(), "default/web")
	if c := cond(w.deploy("web").Status, appsv1.DeploymentProgressing); c.Reason != ReasonNewRSCreated {
		// DeploymentResumed is set first, then replaced by the new ReplicaSet in the same sync.
		t.Errorf("progressing after resume %+v", c)
	}
}

func TestDeploymentProgressDeadline(t *testing.T) {
	w := newWTest(t)
	d := deployment("web", 2, testImage)
	d.Spec.ProgressDeadlineSeconds = wlInt32(30)
	w.createDeploy(d)
	w.settle()
	st := w.deploy("web").Status
	after, ok := progressCheckIn(deploymentDefaults(w.deploy("web")), &st, w.clock.Now())
	if !ok || after != 31*time.Second {
		t.Fatalf("progress check in %v %v, want 31s", after, ok)
	}
	w.clock.Advance(31 * time.Second)
	w.settle()
	rs := w.rss()[0]
	c := cond(w.deploy("web").Status, appsv1.DeploymentProgressing)
	if c.Status != corev1.ConditionFalse || c.Reason != ReasonTimedOut || c.Message != `ReplicaSet "`+rs.Name+`" has timed out progressing.` {
		t.Fatalf("condition %+v", c)
	}
	st = w.deploy("web").Status
	if _, ok := progressCheckIn(deploymentDefaults(w.deploy("web")), &st, w.clock.Now()); ok {
		t.Error("a timed-out rollout must not arm the timer again")
	}
	// Progress after the deadline does not undo the verdict until a new rollout; completion does.
	w.readyAll()
	w.settle()
	if c := cond(w.deploy("web").Status, appsv1.DeploymentProgressing); c.Reason != ReasonNewRSAvailable {
		t.Errorf("after completion %+v", c)
	}
}

func TestDeploymentRevisionHistoryLimit(t *testing.T) {
	w := newWTest(t)
	d := deployment("web", 1, testImage)
	d.Spec.RevisionHistoryLimit = wlInt32(1)
	w.createDeploy(d)
	w.complete("web")
	for i := 2; i <= 4; i++ {
		w.editDeploy("web", func(d *appsv1.Deployment) {
			d.Spec.Template.Spec.Containers[0].Image = fmt.Sprintf("k2d-test/busybox:%d", i)
		})
		w.complete("web")
	}
	w.settle()
	var revs []string
	for _, rs := range w.rss() {
		revs = append(revs, rs.Annotations[AnnRevision])
	}
	if strings.Join(revs, ",") != "3,4" {
		t.Errorf("revisions kept %v, want 3,4 (the current and one old)", revs)
	}
}

func TestDeploymentNilFieldsTakeDefaults(t *testing.T) {
	w := newWTest(t)
	d := deployment("web", 1, testImage)
	d.Spec.Replicas = nil
	d.Spec.Strategy = appsv1.DeploymentStrategy{}
	d.Spec.RevisionHistoryLimit = nil
	d.Spec.ProgressDeadlineSeconds = nil
	w.createDeploy(d)
	w.settle()
	rs := w.rss()[0]
	if rsReplicas(rs) != 1 || rs.Annotations[AnnDesiredReplicas] != "1" || rs.Annotations[AnnMaxReplicas] != "2" {
		t.Errorf("replicas %d, annotations %v", rsReplicas(rs), rs.Annotations)
	}
	if w.deploy("web").Spec.Replicas != nil {
		t.Error("the controller must not write defaults into the spec")
	}
	if c := cond(w.deploy("web").Status, appsv1.DeploymentProgressing); c.Reason != ReasonRSUpdated {
		t.Errorf("progressDeadlineSeconds nil is 600, so Progressing is kept: %+v", c)
	}
	// A ReplicaSet without replicas runs one pod.
	orphan := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "solo", Namespace: "default"},
		Spec: appsv1.ReplicaSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "solo"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "solo"}}, Spec: d.Spec.Template.Spec},
		},
	}
	e, err := w.c.Create(kindRS, orphan)
	if err != nil {
		t.Fatal(err)
	}
	w.settle()
	if n := len(w.podsOf(e.Obj.(*appsv1.ReplicaSet))); n != 1 {
		t.Errorf("%d pods for a replica set without replicas", n)
	}
}

func TestDeploymentScaleMidRolloutIsProportional(t *testing.T) {
	w := newWTest(t)
	d := deployment("web", 10, testImage)
	d.Spec.Strategy = rollingStrategy(intstr.FromInt32(3), intstr.FromInt32(2))
	w.createDeploy(d)
	w.complete("web")
	w.editDeploy("web", func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "k2d-test/busybox:2" })
	w.settle() // new pods never get ready: the rollout is stuck half way
	rss := w.rss()
	oldSize, newSize := rsReplicas(rss[0]), rsReplicas(rss[1])
	if oldSize+newSize != 13 {
		t.Fatalf("mid-rollout sizes %d+%d", oldSize, newSize)
	}
	w.editDeploy("web", func(d *appsv1.Deployment) { d.Spec.Replicas = wlInt32(20) })
	w.settle()
	rss = w.rss()
	if got := rsReplicas(rss[0]) + rsReplicas(rss[1]); got != 23 {
		t.Errorf("after scaling to 20 the sets ask for %d, want 23 (20 + surge 3)", got)
	}
	if rsReplicas(rss[0]) <= oldSize || rsReplicas(rss[1]) <= newSize {
		t.Errorf("both sets grow in proportion: old %d->%d new %d->%d", oldSize, rsReplicas(rss[0]), newSize, rsReplicas(rss[1]))
	}
}

func TestDeploymentHashCollision(t *testing.T) {
	w := newWTest(t)
	d := deployment("web", 1, testImage)
	hash := podTemplateHash(&d.Spec.Template, nil)
	// Someone else's ReplicaSet holds the name the template hashes to.
	squatter := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web-" + hash, Namespace: "default", Labels: map[string]string{"app": "other"}},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: wlInt32(0),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "other"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "other"}}, Spec: d.Spec.Template.Spec},
		},
	}
	if _, err := w.c.Create(kindRS, squatter); err != nil {
		t.Fatal(err)
	}
	w.createDeploy(d)
	w.settle()
	dep := w.deploy("web")
	if dep.Status.CollisionCount == nil || *dep.Status.CollisionCount != 1 {
		t.Fatalf("collisionCount %v", dep.Status.CollisionCount)
	}
	var mine *appsv1.ReplicaSet
	for _, rs := range w.rss() {
		if ref := metav1.GetControllerOf(rs); ref != nil && ref.UID == dep.UID {
			mine = rs
		}
	}
	if mine == nil || mine.Name != "web-"+podTemplateHash(&d.Spec.Template, wlInt32(1)) {
		t.Fatalf("no replica set under the next name: %v", mine)
	}
}

func TestDeploymentAdoptsAndReleasesReplicaSets(t *testing.T) {
	w := newWTest(t)
	d := deployment("web", 1, testImage)
	tmpl := d.Spec.Template.DeepCopy()
	tmpl.Labels = labelsWith(tmpl.Labels, LabelPodTemplateHash, "abc")
	orphan := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web-abc", Namespace: "default", Labels: tmpl.Labels, Annotations: map[string]string{AnnRevision: "1"}},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: wlInt32(1),
			Selector: &metav1.LabelSelector{MatchLabels: tmpl.Labels},
			Template: *tmpl,
		},
	}
	if _, err := w.c.Create(kindRS, orphan); err != nil {
		t.Fatal(err)
	}
	w.createDeploy(d)
	w.settle()
	rss := w.rss()
	if len(rss) != 1 || metav1.GetControllerOf(rss[0]) == nil || metav1.GetControllerOf(rss[0]).Name != "web" {
		t.Fatalf("orphan not adopted as the new replica set: %d sets", len(rss))
	}
	// Its labels no longer match: released, and a new one takes over.
	if _, err := w.c.Mutate(kindRS, "default", "web-abc", func(obj runtime.Object) (bool, error) {
		obj.(*appsv1.ReplicaSet).Labels = map[string]string{"app": "gone"}
		return true, nil
	}); err != nil {
		t.Fatal(err)
	}
	w.settle()
	e, _ := w.c.Get(resRS, "default", "web-abc")
	if metav1.GetControllerOf(e.Meta()) != nil {
		t.Error("replica set not released")
	}
	if len(w.rss()) != 2 {
		t.Errorf("%d replica sets: a new one should take over", len(w.rss()))
	}
}

func TestDeploymentSelectingAll(t *testing.T) {
	w := newWTest(t)
	d := deployment("web", 1, testImage)
	d.Spec.Selector = &metav1.LabelSelector{}
	w.createDeploy(d)
	w.settle()
	if len(w.rss()) != 0 {
		t.Fatal("a deployment selecting everything must do nothing")
	}
	if evs := w.eventMessages("Deployment", "web"); !hasWlEvent(evs, "SelectingAll: This deployment is selecting all pods. A non-empty selector is required.") {
		t.Errorf("events %q", evs)
	}
	if w.deploy("web").Status.ObservedGeneration != 1 {
		t.Error("observedGeneration not written")
	}
}

func TestReplicaSetAdoptsReleasesAndScalesDown(t *testing.T) {
	w := newWTest(t)
	lbl := map[string]string{"app": "rs"}
	orphan := w.create(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "hand-made", Labels: lbl},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: testImage}}}})
	other := w.create(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "unrelated", Labels: map[string]string{"app": "x"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: testImage}}}})
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "rs", Namespace: "default"},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: wlInt32(3),
			Selector: &metav1.LabelSelector{MatchLabels: lbl},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: lbl},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: testImage}}}},
		},
	}
	e, err := w.c.Create(kindRS, rs)
	if err != nil {
		t.Fatal(err)
	}
	rs = e.Obj.(*appsv1.ReplicaSet)
	w.settle()
	pods := w.podsOf(rs)
	if len(pods) != 3 {
		t.Fatalf("%d pods: %s", len(pods), fmtPods(pods))
	}
	if p := w.get(orphan.Name); metav1.GetControllerOf(p) == nil || metav1.GetControllerOf(p).UID != rs.UID {
		t.Error("matching orphan not adopted")
	}
	if p := w.get(other.Name); len(p.OwnerReferences) != 0 {
		t.Error("unrelated pod adopted")
	}

	// A pod relabelled out of the selector is released and replaced.
	if _, err := w.c.Mutate(kindPod, "default", orphan.Name, func(obj runtime.Object) (bool, error) {
		obj.(*corev1.Pod).Labels = map[string]string{"app": "debug"}
		return true, nil
	}); err != nil {
		t.Fatal(err)
	}
	w.settle()
	if p := w.get(orphan.Name); len(p.OwnerReferences) != 0 || p.DeletionTimestamp != nil {
		t.Errorf("relabelled pod: owners %v, deleting %v", p.OwnerReferences, p.DeletionTimestamp != nil)
	}
	pods = w.podsOf(rs)
	if len(pods) != 3 {
		t.Fatalf("%d pods after the release", len(pods))
	}

	// Scale down to 1: the two that are not ready go, gracefully.
	w.setReady(pods[1], true)
	w.clock.Advance(time.Minute)
	if _, err := w.c.Mutate(kindRS, "default", "rs", func(obj runtime.Object) (bool, error) {
		r := obj.(*appsv1.ReplicaSet)
		r.Spec.Replicas = wlInt32(1)
		r.Generation++
		return true, nil
	}); err != nil {
		t.Fatal(err)
	}
	w.settle()
	left := w.podsOf(rs)
	if len(left) != 1 || left[0].Name != pods[1].Name {
		t.Fatalf("kept %s, want the ready %s", fmtPods(left), pods[1].Name)
	}
	for _, p := range []*corev1.Pod{pods[0], pods[2]} {
		cur := w.get(p.Name)
		if cur.DeletionTimestamp == nil || cur.DeletionGracePeriodSeconds == nil || *cur.DeletionGracePeriodSeconds != 30 ||
			!cur.DeletionTimestamp.Time.Equal(w.clock.Now().Add(30*time.Second)) {
			t.Errorf("pod %s not deleted gracefully: %v %v", p.Name, cur.DeletionTimestamp, cur.DeletionGracePeriodSeconds)
		}
		if !hasWlEvent(w.eventMessages("ReplicaSet", "rs"), "SuccessfulDelete: Deleted pod: "+p.Name) {
			t.Errorf("no SuccessfulDelete for %s", p.Name)
		}
	}
	st := w.rss()[0].Status
	if st.Replicas != 1 || st.ReadyReplicas != 1 || st.TerminatingReplicas == nil || *st.TerminatingReplicas != 2 {
		t.Errorf("status %+v", st)
	}
}

func TestReplicaSetMinReadySeconds(t *testing.T) {
	w := newWTest(t)
	d := deployment("web", 1, testImage)
	d.Spec.MinReadySeconds = 10
	w.createDeploy(d)
	w.settle()
	w.readyAll()
	w.settle()
	rs := w.rss()[0]
	if rs.Spec.MinReadySeconds != 10 || rs.Status.ReadyReplicas != 1 || rs.Status.AvailableReplicas != 0 {
		t.Fatalf("status %+v", rs.Status)
	}
	if d, ok := nextAvailable(w.podsOf(rs), 10, w.clock.Now()); !ok || d != 10*time.Second {
		t.Errorf("timer %v %v", d, ok)
	}
	w.clock.Advance(11 * time.Second)
	w.settle()
	if rs := w.rss()[0]; rs.Status.AvailableReplicas != 1 {
		t.Fatalf("not available after minReadySeconds: %+v", rs.Status)
	}
	if st := w.deploy("web").Status; st.AvailableReplicas != 1 || cond(st, appsv1.DeploymentProgressing).Reason != ReasonNewRSAvailable {
		t.Errorf("deployment %+v", st)
	}
}

func TestReplicaSetCreateFailureIsReported(t *testing.T) {
	w := newWTest(t)
	d := deployment("web", 1, "")
	w.createDeploy(d)
	w.settle()
	rs := w.rss()[0]
	if len(w.podsOf(rs)) != 0 {
		t.Fatal("an invalid pod was created")
	}
	if len(rs.Status.Conditions) != 1 || rs.Status.Conditions[0].Reason != ReasonFailedCreate ||
		!strings.Contains(rs.Status.Conditions[0].Message, "spec.containers[0].image: Required value") {
		t.Fatalf("conditions %+v", rs.Status.Conditions)
	}
	evs := w.eventMessages("ReplicaSet", rs.Name)
	if len(evs) == 0 || !strings.HasPrefix(evs[0], "FailedCreate: Error creating: Pod \""+rs.Name+"-") {
		t.Errorf("events %q", evs)
	}
	if c := cond(w.deploy("web").Status, appsv1.DeploymentReplicaFailure); c.Reason != ReasonFailedCreate || c.Status != corev1.ConditionTrue {
		t.Errorf("deployment ReplicaFailure %+v", c)
	}

	// A missing service account is refused as the admission plugin does.
	w.editDeploy("web", func(d *appsv1.Deployment) {
		d.Spec.Template.Spec.Containers[0].Image = testImage
		d.Spec.Template.Spec.ServiceAccountName = "robot"
	})
	w.settle()
	var newRS *appsv1.ReplicaSet
	for _, r := range w.rss() {
		if r.UID != rs.UID {
			newRS = r
		}
	}
	if newRS == nil || len(newRS.Status.Conditions) != 1 ||
		newRS.Status.Conditions[0].Message != `pods "`+newRS.Name+`-" is forbidden: error looking up service account default/robot: serviceaccount "robot" not found` {
		t.Fatalf("new replica set %+v", newRS)
	}
	if _, err := w.c.Create(codec.KindFor("", "v1", "serviceaccounts"), &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "robot", Namespace: "default"}}); err != nil {
		t.Fatal(err)
	}
	w.settle()
	e, _ := w.c.Get(resRS, "default", newRS.Name)
	newRS = e.Obj.(*appsv1.ReplicaSet)
	if newRS.Status.Conditions != nil || len(w.podsOf(newRS)) != 1 {
		t.Errorf("failure not cleared after the service account appeared: %+v", newRS.Status)
	}
	// The broken old set keeps its failure until the new pod is available and it is scaled
	// down (unhealthy replicas go first).
	if c := getDeployCond(&w.deploy("web").Status, appsv1.DeploymentReplicaFailure); c == nil {
		t.Error("the old set's failure is not reported while it still wants a pod")
	}
	w.readyAll()
	w.settle()
	if rs := w.rss()[0]; rsReplicas(rs) != 0 || rs.Status.Conditions != nil {
		t.Errorf("old set: %d replicas, conditions %+v", rsReplicas(rs), rs.Status.Conditions)
	}
	if c := getDeployCond(&w.deploy("web").Status, appsv1.DeploymentReplicaFailure); c != nil {
		t.Errorf("deployment keeps %+v", c)
	}
}

func TestReplicaSetNoPodsInTerminatingNamespace(t *testing.T) {
	w := newWTest(t)
	if _, err := w.c.Mutate(kindNS, "", "default", func(obj runtime.Object) (bool, error) {
		obj.(*corev1.Namespace).Status.Phase = corev1.NamespaceTerminating
		return true, nil
	}); err != nil {
		t.Fatal(err)
	}
	w.createDeploy(deployment("web", 2, testImage))
	w.settle()
	if n := len(w.allPods()); n != 0 {
		t.Errorf("%d pods created in a terminating namespace", n)
	}
}

// TestWorkloadsAfterRestart: status is not persisted; after a restart the controllers find
// the ReplicaSets and pods with empty status and must neither duplicate pods nor roll out.
func TestWorkloadsAfterRestart(t *testing.T) {
	w := newWTest(t)
	w.createDeploy(deployment("web", 3, testImage))
	w.complete("web")
	before := w.allPods()
	for _, e := range w.rss() {
		w.c.Mutate(kindRS, "default", e.Name, func(obj runtime.Object) (bool, error) {
			obj.(*appsv1.ReplicaSet).Status = appsv1.ReplicaSetStatus{}
			return true, nil
		})
	}
	w.c.Mutate(kindDeploy, "default", "web", func(obj runtime.Object) (bool, error) {
		obj.(*appsv1.Deployment).Status = appsv1.DeploymentStatus{}
		return true, nil
	})
	for _, p := range before {
		w.c.Mutate(kindPod, "default", p.Name, func(obj runtime.Object) (bool, error) {
			obj.(*corev1.Pod).Status = corev1.PodStatus{}
			return true, nil
		})
	}
	w.settle()
	if after := w.allPods(); len(after) != 3 || len(w.rss()) != 1 {
		t.Fatalf("after restart: %d pods (%s), %d replica sets", len(after), fmtPods(after), len(w.rss()))
	}
	for _, p := range w.allPods() {
		if p.DeletionTimestamp != nil {
			t.Errorf("pod %s deleted after restart", p.Name)
		}
	}
	w.readyAll()
	w.settle()
	if st := w.deploy("web").Status; st.AvailableReplicas != 3 || cond(st, appsv1.DeploymentProgressing).Status != corev1.ConditionTrue {
		t.Errorf("status after restart %+v", st)
	}
}

// TestOnWorkloadChangeRouting checks which queue each cache change reaches.
func TestOnWorkloadChangeRouting(t *testing.T) {
	u := newUTest(t)
	var mu sync.Mutex
	got := map[string][]string{}
	rec := func(name string) func(context.Context, string) {
		return func(_ context.Context, key string) {
			mu.Lock()
			got[name] = append(got[name], key)
			mu.Unlock()
		}
	}
	w := &u.ctl.workloads
	w.once.Do(func() {
		w.deploys = newQueue(context.Background(), "d", 1, u.ctl.log, rec("deploy"))
		w.rss = newQueue(context.Background(), "r", 1, u.ctl.log, rec("rs"))
		w.orphans = newQueue(context.Background(), "o", 1, u.ctl.log, rec("orphan"))
	})
	defer func() { w.deploys.Close(); w.rss.Close(); w.orphans.Close() }()

	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "d1", Generation: 1}}
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "web-abc", Namespace: "ns", UID: "r1", Generation: 1,
		OwnerReferences: []metav1.OwnerReference{ownerRefTo(dep, "Deployment")}}}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-abc-xyz12", Namespace: "ns", UID: "p1",
		OwnerReferences: []metav1.OwnerReference{ownerRefTo(rs, "ReplicaSet")}}}
	orphanPod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "lone", Namespace: "ns", UID: "p2", Labels: map[string]string{"a": "b"}}}
	entry := func(o runtime.Object) *cache.Entry { return &cache.Entry{Obj: o} }
	rsStatusOnly := rs.DeepCopy()
	rsStatusOnly.Status.Replicas = 3
	podStatusOnly := pod.DeepCopy()
	podStatusOnly.Status.PodIP = "10.1.2.3"
	podReadyNow := pod.DeepCopy()
	podReadyNow.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
	depStatusOnly := dep.DeepCopy()
	depStatusOnly.Status.Replicas = 2

	steps := []struct {
		name string
		ev   cache.Event
		want map[string][]string
	}{
		{"before start: ignored", cache.Event{Type: cache.Added, Resource: resDeploy, Entry: entry(dep)}, map[string][]string{}},
	}
	run := func(name string, ev cache.Event, want map[string][]string) {
		t.Helper()
		mu.Lock()
		got = map[string][]string{}
		mu.Unlock()
		u.ctl.onWorkloadChange(ev)
		time.Sleep(30 * time.Millisecond)
		mu.Lock()
		defer mu.Unlock()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: enqueued %v, want %v", name, got, want)
		}
	}
	for _, s := range steps {
		run(s.name, s.ev, s.want)
	}
	w.started.Store(true)
	run("deployment added", cache.Event{Type: cache.Added, Resource: resDeploy, Entry: entry(dep)}, map[string][]string{"deploy": {"ns/web"}})
	run("deployment status write", cache.Event{Type: cache.Modified, Resource: resDeploy, Entry: entry(depStatusOnly), Old: entry(dep)}, map[string][]string{})
	run("replicaset added", cache.Event{Type: cache.Added, Resource: resRS, Entry: entry(rs)}, map[string][]string{"deploy": {"ns/web"}, "rs": {"ns/web-abc"}})
	run("replicaset status write", cache.Event{Type: cache.Modified, Resource: resRS, Entry: entry(rsStatusOnly), Old: entry(rs)}, map[string][]string{"deploy": {"ns/web"}})
	run("pod added", cache.Event{Type: cache.Added, Resource: resPods, Entry: entry(pod)}, map[string][]string{"rs": {"ns/web-abc"}})
	run("pod IP only", cache.Event{Type: cache.Modified, Resource: resPods, Entry: entry(podStatusOnly), Old: entry(pod)}, map[string][]string{})
	run("pod ready", cache.Event{Type: cache.Modified, Resource: resPods, Entry: entry(podReadyNow), Old: entry(pod)}, map[string][]string{"rs": {"ns/web-abc"}})
	run("pod deleted", cache.Event{Type: cache.Deleted, Resource: resPods, Entry: entry(pod), Old: entry(pod)}, map[string][]string{"rs": {"ns/web-abc"}})
	run("orphan pod added", cache.Event{Type: cache.Added, Resource: resPods, Entry: entry(orphanPod)}, map[string][]string{"orphan": {"pods/ns/lone"}})
	docker := orphanPod.DeepCopy()
	docker.Annotations = map[string]string{AnnotationSource: SourceDocker}
	run("docker's pod", cache.Event{Type: cache.Added, Resource: resPods, Entry: entry(docker)}, map[string][]string{})
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "robot", Namespace: "ns"}}
	run("service account added", cache.Event{Type: cache.Added, Resource: resSA, Entry: entry(sa)}, map[string][]string{"orphan": {"serviceaccounts/ns/robot"}})
	run("service account changed", cache.Event{Type: cache.Modified, Resource: resSA, Entry: entry(sa), Old: entry(sa)}, map[string][]string{})
}

// TestSyncOrphan checks who is asked to adopt an orphan, and who retries for a new ServiceAccount.
func TestSyncOrphan(t *testing.T) {
	u := newUTest(t)
	var mu sync.Mutex
	var got []string
	rec := func(name string) func(context.Context, string) {
		return func(_ context.Context, key string) {
			mu.Lock()
			got = append(got, name+" "+key)
			mu.Unlock()
		}
	}
	w := &u.ctl.workloads
	w.once.Do(func() {
		w.deploys = newQueue(context.Background(), "d", 1, u.ctl.log, rec("deploy"))
		w.rss = newQueue(context.Background(), "r", 1, u.ctl.log, rec("rs"))
		w.orphans = newQueue(context.Background(), "o", 1, u.ctl.log, rec("orphan"))
	})
	defer func() { w.deploys.Close(); w.rss.Close(); w.orphans.Close() }()
	mkRS := func(name string, sel map[string]string, failing bool) {
		rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Labels: sel},
			Spec: appsv1.ReplicaSetSpec{Selector: &metav1.LabelSelector{MatchLabels: sel}}}
		if failing {
			rs.Status.Conditions = []appsv1.ReplicaSetCondition{{Type: appsv1.ReplicaSetReplicaFailure, Status: corev1.ConditionTrue}}
		}
		if _, err := u.c.Create(kindRS, rs); err != nil {
			t.Fatal(err)
		}
	}
	mkRS("match", map[string]string{"app": "a"}, false)
	mkRS("other", map[string]string{"app": "b"}, true)
	mkRS("empty", map[string]string{}, false) // selects nothing, adopts nothing
	d := deployment("web", 1, testImage)
	d.Spec.Selector.MatchLabels = map[string]string{"app": "b"}
	if _, err := u.c.Create(kindDeploy, d); err != nil {
		t.Fatal(err)
	}
	u.create(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "lone", Labels: map[string]string{"app": "a", "x": "y"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: testImage}}}})
	check := func(key string, want ...string) {
		t.Helper()
		mu.Lock()
		got = nil
		mu.Unlock()
		u.ctl.syncOrphan(context.Background(), key)
		time.Sleep(30 * time.Millisecond)
		mu.Lock()
		defer mu.Unlock()
		sort.Strings(got)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s: enqueued %v, want %v", key, got, want)
		}
	}
	check("pods/default/lone", "rs default/match")
	check("pods/default/gone")
	check("replicasets/default/other", "deploy default/web")
	check("replicasets/default/match")
	check("serviceaccounts/default/robot", "rs default/other")
}

// TestReplicaSetRefusesTemplateOutsideSelector: pods the selector would not count must not be
// created at all (they would be created without end), and an empty selector does nothing.
func TestReplicaSetRefusesTemplateOutsideSelector(t *testing.T) {
	w := newWTest(t)
	spec := corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: testImage}}}
	for _, rs := range []*appsv1.ReplicaSet{
		{ObjectMeta: metav1.ObjectMeta{Name: "mismatch", Namespace: "default"}, Spec: appsv1.ReplicaSetSpec{
			Replicas: wlInt32(2), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "a"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "b"}}, Spec: spec}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "everything", Namespace: "default"}, Spec: appsv1.ReplicaSetSpec{
			Replicas: wlInt32(2), Selector: &metav1.LabelSelector{},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "b"}}, Spec: spec}}},
	} {
		if _, err := w.c.Create(kindRS, rs); err != nil {
			t.Fatal(err)
		}
	}
	w.settle()
	w.settle()
	if n := len(w.allPods()); n != 0 {
		t.Fatalf("%d pods created", n)
	}
	e, _ := w.c.Get(resRS, "default", "mismatch")
	st := e.Obj.(*appsv1.ReplicaSet).Status
	want := `ReplicaSet.apps "mismatch" is invalid: spec.template.metadata.labels: Invalid value: map[string]string{"app":"b"}: ` + "`selector` does not match template `labels`"
	if len(st.Conditions) != 1 || st.Conditions[0].Message != want {
		t.Errorf("conditions %+v", st.Conditions)
	}
}
