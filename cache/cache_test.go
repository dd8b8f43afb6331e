package cache

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/k2d-project/k2d/codec"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

var podKind = codec.KindFor("", "v1", "pods")

func persistAll(string, runtime.Object) bool { return true }

func pod(ns, name string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"app": name}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	}
}

func TestCreateGetListDelete(t *testing.T) {
	c, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	e, err := c.Create(podKind, pod("default", "a"))
	if err != nil {
		t.Fatal(err)
	}
	m := e.Meta()
	if m.GetUID() == "" || m.GetResourceVersion() != "1" || m.GetGeneration() != 1 || m.GetCreationTimestamp().Time.IsZero() {
		t.Fatalf("create did not assign identity: %+v", m)
	}
	if _, err := c.Create(podKind, pod("default", "a")); !errors.As(err, new(*AlreadyExistsError)) {
		t.Fatalf("second create: got %v, want AlreadyExists", err)
	}
	if _, err := c.Create(podKind, pod("other", "a")); err != nil {
		t.Fatalf("same name in another namespace: %v", err)
	}
	items, rv := c.List("pods", "")
	if len(items) != 2 || rv != 2 || items[0].Meta().GetNamespace() != "default" {
		t.Fatalf("list: %d items rv %d", len(items), rv)
	}
	if items, _ := c.List("pods", "other"); len(items) != 1 {
		t.Fatalf("namespaced list: %d", len(items))
	}
	stale := pod("default", "a")
	stale.ResourceVersion = "999"
	if _, err := c.Update(podKind, stale); !errors.As(err, new(*ConflictError)) {
		t.Fatalf("stale update: got %v, want Conflict", err)
	}
	fresh := e.Obj.DeepCopyObject().(*corev1.Pod)
	fresh.Labels["x"] = "y"
	e2, err := c.Update(podKind, fresh)
	if err != nil {
		t.Fatal(err)
	}
	if e2.RV <= e.RV || e2.Meta().GetUID() != m.GetUID() {
		t.Fatalf("update: rv %d uid %s", e2.RV, e2.Meta().GetUID())
	}
	if _, err := c.Delete(podKind, "default", "a", "", ""); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Get("pods", "default", "a"); ok {
		t.Fatal("deleted object still there")
	}
	if _, err := c.Delete(podKind, "default", "a", "", ""); !errors.As(err, new(*NotFoundError)) {
		t.Fatalf("second delete: %v", err)
	}
}

func TestGenerateName(t *testing.T) {
	c, _ := New(Options{})
	p := pod("default", "")
	p.GenerateName = "web-"
	e, err := c.Create(podKind, p)
	if err != nil {
		t.Fatal(err)
	}
	if n := e.Meta().GetName(); len(n) != len("web-")+5 {
		t.Fatalf("generated name %q", n)
	}
	if _, err := c.Create(podKind, pod("default", "")); !errors.Is(err, ErrNameRequired) {
		t.Fatalf("no name: %v", err)
	}
}

func TestWatchReplayAndExpiry(t *testing.T) {
	c, _ := New(Options{History: 4})
	for i := 0; i < 3; i++ {
		if _, err := c.Create(podKind, pod("default", "p"+strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	w, backlog, rv, err := c.Watch("pods", "", 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(backlog) != 2 || backlog[0].Entry.RV != 2 || rv != 3 {
		t.Fatalf("replay from 1: %d events, rv %d", len(backlog), rv)
	}
	if _, err := c.Create(podKind, pod("default", "live")); err != nil {
		t.Fatal(err)
	}
	ev := <-w.Events()
	if ev.Type != Added || ev.Entry.Meta().GetName() != "live" {
		t.Fatalf("live event %+v", ev)
	}
	w.Stop()
	if _, ok := <-w.Events(); ok {
		t.Fatal("channel open after Stop")
	}
	for i := 0; i < 5; i++ {
		if _, err := c.Create(podKind, pod("x", "q"+strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, _, err := c.Watch("pods", "", 1); !errors.Is(err, ErrExpired) {
		t.Fatalf("watch from a version out of history: %v", err)
	}
	_, backlog, _, err = c.Watch("pods", "x", 0)
	if err != nil || len(backlog) != 5 {
		t.Fatalf("initial events: %d %v", len(backlog), err)
	}
}

func TestSlowWatcherIsDropped(t *testing.T) {
	c, _ := New(Options{})
	w, _, _, _ := c.Watch("pods", "", 0)
	for i := 0; i < watchBuffer+1; i++ {
		if _, err := c.Create(podKind, pod("default", "p"+strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	for range w.Events() {
		n++
	}
	if n != watchBuffer {
		t.Fatalf("got %d events before the drop, want %d", n, watchBuffer)
	}
}

func TestPersistenceAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	c, err := New(Options{Dir: dir, Persisted: persistAll})
	if err != nil {
		t.Fatal(err)
	}
	e, err := c.Create(podKind, pod("default", "a"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Create(podKind, pod("default", "b")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Delete(podKind, "default", "b", "", ""); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "objects", "pods", "default", "a.json")
	st1, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	// A status-only change must not reach the disk.
	if _, err := c.Mutate(podKind, "default", "a", func(obj runtime.Object) (bool, error) {
		obj.(*corev1.Pod).Status.Phase = corev1.PodRunning
		return true, nil
	}); err != nil {
		t.Fatal(err)
	}
	st2, _ := os.Stat(p)
	if !st2.ModTime().Equal(st1.ModTime()) {
		t.Fatal("status change rewrote the file")
	}
	last := c.RV()

	c2, err := New(Options{Dir: dir, Persisted: persistAll})
	if err != nil {
		t.Fatal(err)
	}
	if skipped, err := c2.Load(); err != nil || len(skipped) > 0 {
		t.Fatalf("load: %v %v", skipped, err)
	}
	got, ok := c2.Get("pods", "default", "a")
	if !ok {
		t.Fatal("object lost across restart")
	}
	if got.Meta().GetUID() != e.Meta().GetUID() {
		t.Fatal("uid changed across restart")
	}
	if got.RV <= last {
		t.Fatalf("resourceVersion went back: %d after %d", got.RV, last)
	}
	if got.Obj.(*corev1.Pod).Status.Phase != "" {
		t.Fatal("status was persisted")
	}
	if _, ok := c2.Get("pods", "default", "b"); ok {
		t.Fatal("deleted object came back")
	}
	if _, _, _, err := c2.Watch("pods", "", last); !errors.Is(err, ErrExpired) {
		t.Fatalf("watch from before the restart: %v, want ErrExpired", err)
	}
}

func TestCorruptFileIsSkipped(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "objects", "pods", "default")
	if err := os.MkdirAll(p, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(p, "bad.json"), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, _ := New(Options{Dir: dir, Persisted: persistAll})
	skipped, err := c.Load()
	if err != nil || len(skipped) != 1 {
		t.Fatalf("skipped %v err %v", skipped, err)
	}
}
