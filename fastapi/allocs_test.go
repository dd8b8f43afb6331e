package fastapi

import (
	"bufio"
	"io"
	"testing"

	"github.com/k2d-project/k2d/cache"
	"github.com/k2d-project/k2d/codec"
	"github.com/valyala/fasthttp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// allocServer is a server over a store holding one namespace and one pod, driven through its
// handler with a reused request context, as fasthttp's workers reuse theirs.
func allocServer(t testing.TB) (*Server, *cache.Cache) {
	store, err := cache.New(cache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Create(codec.KindFor("", "v1", "namespaces"), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "default"}}); err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}
	if _, err := store.Create(codec.KindFor("", "v1", "pods"), pod); err != nil {
		t.Fatal(err)
	}
	s := New(Config{Token: testToken, Store: store, Runtime: &fakeRuntime{}, Kubeconfig: func() []byte { return nil },
		Version: Version{Major: "1", Minor: "32", GitVersion: "v1.32.0+k2d.test"}})
	return s, store
}

// TestGetPodAllocations bounds the allocations of a GET of one pod: the answer is the cache's
// pre-encoded JSON, so the path allocates almost nothing whatever the pod's size.
func TestGetPodAllocations(t *testing.T) {
	s, _ := allocServer(t)
	h := s.Handler()
	var ctx fasthttp.RequestCtx
	req := func() {
		ctx.Request.Reset()
		ctx.Response.Reset()
		ctx.Request.Header.SetMethod("GET")
		ctx.Request.SetRequestURI("/api/v1/namespaces/default/pods/web")
		ctx.Request.Header.Set("Authorization", "Bearer "+testToken)
		ctx.Request.Header.Set("Accept", "application/json")
		h(&ctx)
	}
	req()
	if ctx.Response.StatusCode() != 200 || len(ctx.Response.Body()) < 100 {
		t.Fatalf("GET: %d %s", ctx.Response.StatusCode(), ctx.Response.Body())
	}
	const maxAllocs = 8
	n := testing.AllocsPerRun(200, req)
	t.Logf("GET pod: %.1f allocations per request", n)
	if n > maxAllocs {
		t.Errorf("GET pod allocates %.0f times per request, want <= %d", n, maxAllocs)
	}
}

// TestWatchFrameAllocations bounds the allocations of writing one watch event: the frame is
// the pre-encoded object wrapped in a reused buffer.
func TestWatchFrameAllocations(t *testing.T) {
	_, store := allocServer(t)
	e, ok := store.Get("pods", "default", "web")
	if !ok {
		t.Fatal("no pod")
	}
	ws := &watchStream{k: codec.KindFor("", "v1", "pods")}
	bw := bufio.NewWriterSize(io.Discard, 64<<10)
	ev := cache.Event{Type: cache.Modified, Resource: "pods", Entry: e, Old: e}
	ws.frame(bw, ev)
	if n := testing.AllocsPerRun(500, func() { ws.frame(bw, ev) }); n != 0 {
		t.Errorf("a watch frame allocates %.0f times, want 0", n)
	}
}
