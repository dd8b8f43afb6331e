package reconcile

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/k2d-project/k2d/cache"
	"github.com/k2d-project/k2d/codec"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
)

func TestGCDecide(t *testing.T) {
	refs := []metav1.OwnerReference{{UID: "a"}, {UID: "b"}}
	cases := []struct {
		name          string
		states        []gcOwnerState
		finalizers    []string
		hasDeps, loop bool
		want          gcAction
	}{
		{"owners exist", []gcOwnerState{gcSolid, gcSolid}, nil, false, false, gcAction{}},
		{"one owner gone: drop its reference", []gcOwnerState{gcSolid, gcDangling}, nil, false, false, gcAction{drop: []types.UID{"b"}}},
		{"one owner waits: drop it so it does not wait for us", []gcOwnerState{gcWaiting, gcSolid}, nil, true, false, gcAction{drop: []types.UID{"a"}}},
		{"all owners gone", []gcOwnerState{gcDangling, gcDangling}, nil, true, false, gcAction{del: true, policy: metav1.DeletePropagationBackground}},
		{"gone owners, own orphan finalizer", []gcOwnerState{gcDangling, gcDangling}, []string{"orphan"}, false, false, gcAction{del: true, policy: metav1.DeletePropagationOrphan}},
		{"gone owners, own foreground finalizer", []gcOwnerState{gcDangling, gcDangling}, []string{"foregroundDeletion"}, false, false, gcAction{del: true, policy: metav1.DeletePropagationForeground}},
		{"owner waits, no dependents of ours", []gcOwnerState{gcWaiting, gcDangling}, nil, false, false, gcAction{del: true, policy: metav1.DeletePropagationBackground}},
		{"owner waits, we have dependents: foreground", []gcOwnerState{gcWaiting, gcDangling}, nil, true, false, gcAction{del: true, policy: metav1.DeletePropagationForeground}},
		{"foreground cycle: unblock first", []gcOwnerState{gcWaiting, gcWaiting}, nil, true, true, gcAction{del: true, policy: metav1.DeletePropagationForeground, unblock: true}},
		{"unknown owner kind: never on a guess", []gcOwnerState{gcDangling, gcUnresolved}, nil, false, false, gcAction{}},
	}
	for _, tc := range cases {
		if got := gcDecide(refs, tc.states, tc.finalizers, tc.hasDeps, tc.loop); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

// gcTest runs the garbage collector on a cache, with live queues but no pod worker: pods
// marked for deletion stay until the test removes them, as the pod worker would.
type gcTest struct {
	t   *testing.T
	c   *cache.Cache
	ctl *Controller
}

var gcKindCM = codec.KindFor("", "v1", "configmaps")

func newGCTest(t *testing.T, start bool) *gcTest {
	t.Helper()
	c, err := cache.New(cache.Options{Persisted: Persisted, Limits: EventLimits})
	if err != nil {
		t.Fatal(err)
	}
	ctl := newController(c, newFake(), Options{NodeName: "node1", Log: testLogger(t)})
	if err := ctl.ensureDefaultNamespaces(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctl.cancel()
		ctl.stopGC()
	})
	g := &gcTest{t: t, c: c, ctl: ctl}
	if start {
		g.start()
	}
	return g
}

func (g *gcTest) start() {
	g.c.Subscribe(g.ctl.onGCChange)
	g.ctl.startGC()
}

func ownerRef(kind, apiVersion string, e *cache.Entry, block bool) metav1.OwnerReference {
	m := e.Meta()
	return metav1.OwnerReference{APIVersion: apiVersion, Kind: kind, Name: m.GetName(), UID: m.GetUID(), BlockOwnerDeletion: &block}
}

func (g *gcTest) cm(name string, refs ...metav1.OwnerReference) *cache.Entry {
	g.t.Helper()
	e, err := g.c.Create(gcKindCM, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", OwnerReferences: refs}})
	if err != nil {
		g.t.Fatal(err)
	}
	return e
}

func (g *gcTest) pod(name string, refs ...metav1.OwnerReference) *cache.Entry {
	g.t.Helper()
	grace := int64(15)
	e, err := g.c.Create(kindPod, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", OwnerReferences: refs},
		Spec: corev1.PodSpec{TerminationGracePeriodSeconds: &grace, Containers: []corev1.Container{{Name: "c", Image: "x"}}}})
	if err != nil {
		g.t.Fatal(err)
	}
	return e
}

func (g *gcTest) rs(name string, refs ...metav1.OwnerReference) *cache.Entry {
	g.t.Helper()
	e, err := g.c.Create(codec.KindFor("apps", "v1", "replicasets"), &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", OwnerReferences: refs}})
	if err != nil {
		g.t.Fatal(err)
	}
	return e
}

func (g *gcTest) get(res, name string) metav1.Object {
	if e, ok := g.c.Get(res, "default", name); ok {
		return e.Meta()
	}
	return nil
}

// deleteAs marks an object deleted with a policy, as a DELETE through the API does.
func (g *gcTest) deleteAs(k *codec.Kind, name string, policy metav1.DeletionPropagation) {
	g.t.Helper()
	_, err := g.c.Mutate(k, "default", name, func(obj runtime.Object) (bool, error) {
		m := obj.(metav1.Object)
		_, fins := codec.DeletionFinalizers(k, m, &metav1.DeleteOptions{PropagationPolicy: &policy})
		m.SetFinalizers(fins)
		now := metav1.Now()
		m.SetDeletionTimestamp(&now)
		return true, nil
	})
	if err != nil {
		g.t.Fatal(err)
	}
}

func (g *gcTest) gone(res, name string) {
	g.t.Helper()
	waitUntil(g.t, 5*time.Second, res+"/"+name+" deleted", func() bool { return g.get(res, name) == nil })
}

func (g *gcTest) podTerminating(name string) {
	g.t.Helper()
	waitUntil(g.t, 5*time.Second, "pod "+name+" terminating", func() bool {
		m := g.get(resPods, name)
		return m != nil && m.GetDeletionTimestamp() != nil && m.GetDeletionGracePeriodSeconds() != nil && *m.GetDeletionGracePeriodSeconds() == 15
	})
}

// stays checks that an object is still there once the collector has had time to act.
func (g *gcTest) stays(res, name string) metav1.Object {
	g.t.Helper()
	time.Sleep(100 * time.Millisecond)
	m := g.get(res, name)
	if m == nil {
		g.t.Fatalf("%s/%s was deleted", res, name)
	}
	return m
}

func TestGCBackground(t *testing.T) {
	g := newGCTest(t, true)
	o := g.cm("owner")
	g.cm("child", ownerRef("ConfigMap", "v1", o, false))
	g.pod("pod", ownerRef("ConfigMap", "v1", o, true))
	other := g.cm("other")
	g.cm("both", ownerRef("ConfigMap", "v1", o, false), ownerRef("ConfigMap", "v1", other, false))
	g.stays("configmaps", "child")

	if _, err := g.c.Delete(gcKindCM, "default", "owner", "", ""); err != nil {
		t.Fatal(err)
	}
	g.gone("configmaps", "child")
	g.podTerminating("pod") // gracefully: the pod worker stops its containers, then removes it
	waitUntil(t, 5*time.Second, "reference to the deleted owner dropped", func() bool {
		m := g.get("configmaps", "both")
		return m != nil && len(m.GetOwnerReferences()) == 1 && m.GetOwnerReferences()[0].UID == other.Meta().GetUID()
	})
}

// An owner re-created under the same name is another object: it does not adopt dependents.
func TestGCOwnerRecreatedIsNotTheOwner(t *testing.T) {
	g := newGCTest(t, true)
	o := g.cm("owner")
	ref := ownerRef("ConfigMap", "v1", o, false)
	if _, err := g.c.Delete(gcKindCM, "default", "owner", "", ""); err != nil {
		t.Fatal(err)
	}
	g.cm("owner")
	g.cm("late", ref) // names the old uid
	g.gone("configmaps", "late")
	g.stays("configmaps", "owner")
}

func TestGCForeground(t *testing.T) {
	g := newGCTest(t, true)
	o := g.cm("owner")
	g.cm("blocking", ownerRef("ConfigMap", "v1", o, true))
	g.cm("loose", ownerRef("ConfigMap", "v1", o, false))
	g.pod("pod", ownerRef("ConfigMap", "v1", o, true))

	g.deleteAs(gcKindCM, "owner", metav1.DeletePropagationForeground)
	g.gone("configmaps", "blocking")
	g.gone("configmaps", "loose")
	g.podTerminating("pod")
	// The owner waits for the blocking pod.
	if m := g.stays("configmaps", "owner"); !slices.Contains(m.GetFinalizers(), codec.FinalizerForeground) {
		t.Fatalf("owner lost its finalizer early: %v", m.GetFinalizers())
	}
	// The pod worker removes the pod once its containers are gone: then the owner goes.
	if _, err := g.c.Delete(kindPod, "default", "pod", "", ""); err != nil {
		t.Fatal(err)
	}
	g.gone("configmaps", "owner")
}

// Deployment -> ReplicaSet -> Pod deleted in the foreground: the ReplicaSet is deleted in the
// foreground too, so the Deployment waits for the whole tree.
func TestGCForegroundTree(t *testing.T) {
	g := newGCTest(t, true)
	deployKind := codec.KindFor("apps", "v1", "deployments")
	d, err := g.c.Create(deployKind, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"}})
	if err != nil {
		t.Fatal(err)
	}
	rs := g.rs("web-1", ownerRef("Deployment", "apps/v1", d, true))
	g.pod("web-1-a", ownerRef("ReplicaSet", "apps/v1", rs, true))

	g.deleteAs(deployKind, "web", metav1.DeletePropagationForeground)
	g.podTerminating("web-1-a")
	waitUntil(t, 5*time.Second, "replicaset deleted in the foreground", func() bool {
		m := g.get("replicasets.apps", "web-1")
		return m != nil && m.GetDeletionTimestamp() != nil && slices.Contains(m.GetFinalizers(), codec.FinalizerForeground)
	})
	g.stays("deployments.apps", "web")
	if _, err := g.c.Delete(kindPod, "default", "web-1-a", "", ""); err != nil {
		t.Fatal(err)
	}
	g.gone("replicasets.apps", "web-1")
	g.gone("deployments.apps", "web")
}

func TestGCOrphan(t *testing.T) {
	g := newGCTest(t, true)
	o := g.cm("owner")
	other := g.cm("other")
	g.cm("child", ownerRef("ConfigMap", "v1", o, true))
	g.cm("both", ownerRef("ConfigMap", "v1", other, false), ownerRef("ConfigMap", "v1", o, false))
	g.pod("pod", ownerRef("ConfigMap", "v1", o, true))

	g.deleteAs(gcKindCM, "owner", metav1.DeletePropagationOrphan)
	g.gone("configmaps", "owner")
	if m := g.stays("configmaps", "child"); m.GetOwnerReferences() != nil {
		t.Errorf("child keeps references: %v", m.GetOwnerReferences())
	}
	if m := g.stays(resPods, "pod"); m.GetOwnerReferences() != nil || m.GetDeletionTimestamp() != nil {
		t.Errorf("pod: refs %v, deleting %v", m.GetOwnerReferences(), m.GetDeletionTimestamp())
	}
	if m := g.stays("configmaps", "both"); len(m.GetOwnerReferences()) != 1 || m.GetOwnerReferences()[0].UID != other.Meta().GetUID() {
		t.Errorf("both: %v", m.GetOwnerReferences())
	}
}

// An owner deleted with a GC finalizer and another finalizer keeps the other one and waits.
func TestGCFinalizerLeavesOthers(t *testing.T) {
	g := newGCTest(t, true)
	g.c.Create(gcKindCM, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "owner", Namespace: "default", Finalizers: []string{"example.com/keep"}}}) //nolint:errcheck
	g.deleteAs(gcKindCM, "owner", metav1.DeletePropagationForeground)
	waitUntil(t, 5*time.Second, "foreground finalizer removed", func() bool {
		m := g.get("configmaps", "owner")
		return m != nil && slices.Equal(m.GetFinalizers(), []string{"example.com/keep"})
	})
	g.stays("configmaps", "owner")
}

// After a restart the collector looks at everything once: what was left undone is done.
func TestGCStartScan(t *testing.T) {
	g := newGCTest(t, false)
	o := g.cm("owner")
	g.cm("child", ownerRef("ConfigMap", "v1", o, false))
	fg := g.cm("fg")
	g.cm("fg-child", ownerRef("ConfigMap", "v1", fg, true))
	g.cm("stuck")
	if _, err := g.c.Delete(gcKindCM, "default", "owner", "", ""); err != nil {
		t.Fatal(err)
	}
	g.deleteAs(gcKindCM, "fg", metav1.DeletePropagationForeground)
	g.deleteAs(gcKindCM, "stuck", metav1.DeletePropagationOrphan)
	g.stays("configmaps", "child") // nothing runs before start

	g.start()
	g.gone("configmaps", "child")
	g.gone("configmaps", "fg-child")
	g.gone("configmaps", "fg")
	g.gone("configmaps", "stuck")
}

func TestGCUnresolvableOwners(t *testing.T) {
	g := newGCTest(t, true)
	// A kind k2d does not serve: never deleted on a guess.
	g.cm("widget-child", metav1.OwnerReference{APIVersion: "example.com/v1", Kind: "Widget", Name: "w", UID: "w1"})
	g.stays("configmaps", "widget-child")

	// A cluster-scoped owner of a namespaced dependent is looked up without a namespace.
	pvKind := codec.KindFor("", "v1", "persistentvolumes")
	pv, err := g.c.Create(pvKind, &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv1"}})
	if err != nil {
		t.Fatal(err)
	}
	g.cm("pv-child", ownerRef("PersistentVolume", "v1", pv, false))
	g.stays("configmaps", "pv-child")
	if _, err := g.c.Delete(pvKind, "", "pv1", "", ""); err != nil {
		t.Fatal(err)
	}
	g.gone("configmaps", "pv-child")

	// A cluster-scoped dependent cannot name a namespaced owner: kept, with a warning Event.
	o := g.cm("owner")
	if _, err := g.c.Create(pvKind, &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv2",
		OwnerReferences: []metav1.OwnerReference{ownerRef("ConfigMap", "v1", o, false)}}}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 5*time.Second, "OwnerRefInvalidNamespace event", func() bool {
		list, _ := g.c.List(resEvents, "default")
		for _, e := range list {
			ev := e.Obj.(*corev1.Event)
			if ev.Reason == "OwnerRefInvalidNamespace" && ev.InvolvedObject.Name == "pv2" && ev.Type == corev1.EventTypeWarning && ev.Source.Component == componentGC {
				return true
			}
		}
		return false
	})
	if _, ok := g.c.Get("persistentvolumes", "", "pv2"); !ok {
		t.Fatal("pv2 was deleted")
	}
}

// The index forgets what is gone: no owner or dependent stays in memory after deletion.
func TestGCIndexBounded(t *testing.T) {
	g := newGCTest(t, true)
	o := g.cm("owner")
	for _, n := range []string{"a", "b", "c"} {
		g.cm(n, ownerRef("ConfigMap", "v1", o, false))
	}
	g.deleteAs(gcKindCM, "owner", metav1.DeletePropagationForeground)
	g.gone("configmaps", "owner")
	for _, n := range []string{"a", "b", "c"} {
		g.gone("configmaps", n)
	}
	g.ctl.gc.mu.Lock()
	defer g.ctl.gc.mu.Unlock()
	if len(g.ctl.gc.deps) != 0 || len(g.ctl.gc.children) != 0 || len(g.ctl.gc.deleting) != 0 {
		t.Errorf("index not empty: %d deps, %d owners, %d deleting", len(g.ctl.gc.deps), len(g.ctl.gc.children), len(g.ctl.gc.deleting))
	}
}
