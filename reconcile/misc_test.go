package reconcile

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
	"github.com/k2d-project/k2d/cache"
	"github.com/k2d-project/k2d/codec"
	"github.com/k2d-project/k2d/translate"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

func eventsMessage(typ, action, id string, attrs map[string]string) events.Message {
	return events.Message{Type: events.Type(typ), Action: events.Action(action), Actor: events.Actor{ID: id, Attributes: attrs}}
}

func TestPersisted(t *testing.T) {
	observed := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{AnnotationSource: SourceDocker}}}
	for _, tc := range []struct {
		res  string
		obj  runtime.Object
		want bool
	}{
		{"pods", &corev1.Pod{}, true},
		{"pods", observed, false},
		{"events", &corev1.Event{}, false},
		{"events.events.k8s.io", &eventsv1.Event{}, false},
		{"nodes", &corev1.Node{}, false},
		{"namespaces", &corev1.Namespace{}, true},
	} {
		if got := Persisted(tc.res, tc.obj); got != tc.want {
			t.Errorf("Persisted(%s) = %v", tc.res, got)
		}
	}
}

func TestRecorderCorrelates(t *testing.T) {
	c, _ := cache.New(cache.Options{})
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	r := NewRecorder(c, "node1")
	r.now = func() time.Time { return now }
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", UID: "u1"}}
	ref := podRef(pod, "app", false)
	r.Event(ref, "Warning", ReasonBackOff, "Back-off restarting failed container app")
	now = now.Add(10 * time.Second)
	r.Event(ref, "Warning", ReasonBackOff, "Back-off restarting failed container app")
	r.Event(ref, "Normal", ReasonStarted, "Started container app")

	list, _ := c.List("events", "default")
	if len(list) != 2 {
		t.Fatalf("%d events, want 2", len(list))
	}
	for _, e := range list {
		ev := e.Obj.(*corev1.Event)
		if ev.Reason == ReasonBackOff {
			if ev.Count != 2 || !ev.LastTimestamp.After(ev.FirstTimestamp.Time) || ev.InvolvedObject.FieldPath != "spec.containers{app}" ||
				ev.Source.Component != "kubelet" || ev.Source.Host != "node1" {
				t.Errorf("correlated event: %+v", ev)
			}
		}
	}
	v1list, _ := c.List("events.events.k8s.io", "default")
	if len(v1list) != 2 {
		t.Fatalf("%d events.k8s.io events", len(v1list))
	}
	for _, e := range v1list {
		ev := e.Obj.(*eventsv1.Event)
		if ev.Reason == ReasonBackOff && (ev.DeprecatedCount != 2 || ev.Series == nil || ev.Series.Count != 2 || ev.Regarding.Name != "web") {
			t.Errorf("events.k8s.io form: %+v", ev)
		}
	}
	// An evicted event starts over as a new one.
	for _, e := range list {
		_, _ = c.Delete(kindEvent, "default", e.Meta().GetName(), "", "")
	}
	r.Event(ref, "Warning", ReasonBackOff, "Back-off restarting failed container app")
	if list, _ := c.List("events", "default"); len(list) != 1 || list[0].Obj.(*corev1.Event).Count != 1 {
		t.Errorf("after eviction: %d events", len(list))
	}
}

func TestRecorderBounded(t *testing.T) {
	c, _ := cache.New(cache.Options{Limits: map[string]int{"events": 10, "events.events.k8s.io": 10}})
	r := NewRecorder(c, "n")
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", UID: "u1"}}
	for i := 0; i < 2*correlateMax; i++ {
		r.Event(podRef(pod, "", false), "Normal", "Test", strings.Repeat("x", i%50)+string(rune('a'+i%26))+time.Duration(i).String())
	}
	if list, _ := c.List("events", ""); len(list) != 10 {
		t.Errorf("%d events kept", len(list))
	}
	if len(r.seen) > correlateMax {
		t.Errorf("correlator holds %d keys", len(r.seen))
	}
}

func TestQueueDeduplicatesAndSerialises(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var runs, concurrent, maxConcurrent atomic.Int64
	release := make(chan struct{})
	started := make(chan struct{}, 10)
	q := newQueue(ctx, "t", 4, testLogger(t), func(ctx context.Context, key string) {
		n := concurrent.Add(1)
		if n > maxConcurrent.Load() {
			maxConcurrent.Store(n)
		}
		runs.Add(1)
		started <- struct{}{}
		<-release
		concurrent.Add(-1)
	})
	q.Add("a")
	<-started
	for i := 0; i < 5; i++ {
		q.Add("a") // merged into one more run
	}
	close(release)
	<-started
	q.Close()
	if runs.Load() != 2 {
		t.Errorf("%d runs, want 2", runs.Load())
	}
	if maxConcurrent.Load() != 1 {
		t.Errorf("%d concurrent runs of one key", maxConcurrent.Load())
	}
}

func TestQueueAddAfterAndPanic(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	var got []string
	done := make(chan struct{}, 4)
	q := newQueue(ctx, "t", 1, testLogger(t), func(ctx context.Context, key string) {
		mu.Lock()
		got = append(got, key)
		mu.Unlock()
		done <- struct{}{}
		if key == "boom" {
			panic("a bad object")
		}
	})
	q.AddAfter("late", 50*time.Millisecond)
	q.AddAfter("late", time.Hour) // a later schedule does not delay the earlier one
	q.Add("boom")
	<-done
	<-done
	q.Add("after-panic")
	<-done
	q.Close()
	if len(got) != 3 {
		t.Errorf("runs: %v", got)
	}
}

func TestBuildNode(t *testing.T) {
	f := newFake()
	info, _ := f.Info(context.Background())
	ver, _ := f.Version(context.Background())
	n := buildNode("pi", info, ver, Options{HostIP: "10.1.2.3", KubeletVersion: "v1.32.0-k2d"}, true, time.Unix(100, 0))
	if n.Labels["kubernetes.io/arch"] != "arm" || n.Labels["kubernetes.io/os"] != "linux" || n.Labels["kubernetes.io/hostname"] != "Pi-Node" {
		t.Errorf("labels %v", n.Labels)
	}
	if _, ok := n.Labels["node-role.kubernetes.io/control-plane"]; !ok {
		t.Error("no control-plane role")
	}
	ni := n.Status.NodeInfo
	if ni.Architecture != "arm" || ni.ContainerRuntimeVersion != "docker://20.10.24" || ni.KubeletVersion != "v1.32.0-k2d" || ni.OSImage != "Raspbian GNU/Linux 12" {
		t.Errorf("nodeInfo %+v", ni)
	}
	if n.Status.Capacity.Cpu().Value() != 4 || n.Status.Capacity.Memory().Value() != 512<<20 || n.Status.Capacity.Pods().Value() != 110 {
		t.Errorf("capacity %v", n.Status.Capacity)
	}
	if n.Status.Addresses[0] != (corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: "10.1.2.3"}) {
		t.Errorf("addresses %v", n.Status.Addresses)
	}
	if !nodeReady(n) {
		t.Error("not ready")
	}
	for _, cd := range n.Status.Conditions {
		if cd.Type == corev1.NodeReady && (cd.Reason != "KubeletReady" || cd.Message != "kubelet is posting ready status") {
			t.Errorf("ready condition %+v", cd)
		}
	}
	for m, want := range map[string]string{"x86_64": "amd64", "aarch64": "arm64", "armv6l": "arm", "i686": "386"} {
		if got := goArch(m); got != want {
			t.Errorf("goArch(%s) = %s", m, got)
		}
	}
}

func TestObserverReconnectsAndNodeReadiness(t *testing.T) {
	f := newFake()
	f.addImage(pauseImage)
	c, _ := cache.New(cache.Options{Persisted: Persisted})
	ctl := newController(c, f, Options{SandboxImage: pauseImage, Log: testLogger(t)})
	if err := ctl.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer ctl.Stop()
	nodeIs := func(ready bool) bool {
		e, ok := c.Get(resNodes, "", "pi-node")
		return ok && nodeReady(e.Obj.(*corev1.Node)) == ready
	}
	if !nodeIs(true) || !ctl.Ready() {
		t.Fatal("not ready after start")
	}
	for _, ns := range DefaultNamespaces {
		if _, ok := c.Get(resNS, "", ns); !ok {
			t.Errorf("no namespace %s", ns)
		}
	}
	f.breakStream()
	waitUntil(t, 5*time.Second, "node NotReady", func() bool { return nodeIs(false) && !ctl.Ready() })
	f.mu.Lock()
	f.down = false
	f.mu.Unlock()
	waitUntil(t, 10*time.Second, "node Ready again", func() bool { return nodeIs(true) && ctl.Ready() })
	waitUntil(t, 5*time.Second, "event stream reopened", func() bool { return f.countCalls("events ") >= 2 })
}

func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestPullAuthFromSecret(t *testing.T) {
	c, _ := cache.New(cache.Options{})
	secretKind := &codec.Kind{Version: "v1", Resource: "secrets", Kind: "Secret", Namespaced: true, New: func() runtime.Object { return &corev1.Secret{} }}
	cfg := `{"auths":{"https://registry.example:5000/v1/":{"auth":"` + base64.StdEncoding.EncodeToString([]byte("bob:s3cret")) + `"}}}`
	_, err := c.Create(secretKind, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "regcred", Namespace: "default"},
		Type: corev1.SecretTypeDockerConfigJson, Data: map[string][]byte{corev1.DockerConfigJsonKey: []byte(cfg)}})
	if err != nil {
		t.Fatal(err)
	}
	ctl := newController(c, newFake(), Options{})
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default"}, Spec: corev1.PodSpec{ImagePullSecrets: []corev1.LocalObjectReference{{Name: "missing"}, {Name: "regcred"}}}}
	hdr := ctl.pullAuth(pod, "registry.example:5000/team/app:1")
	raw, err := base64.URLEncoding.DecodeString(hdr)
	if err != nil {
		t.Fatal(err)
	}
	var auth map[string]string
	_ = json.Unmarshal(raw, &auth)
	if auth["username"] != "bob" || auth["password"] != "s3cret" {
		t.Errorf("auth %v", auth)
	}
	if ctl.pullAuth(pod, "busybox:1") != "" {
		t.Error("credentials sent to another registry")
	}
}

func TestDefaultPullPolicyAndRegistry(t *testing.T) {
	for ref, want := range map[string]corev1.PullPolicy{"busybox": "Always", "busybox:latest": "Always", "busybox:1": "IfNotPresent",
		"localhost:5000/x": "Always", "localhost:5000/x:2": "IfNotPresent", "x@sha256:ab": "IfNotPresent"} {
		if got := defaultPullPolicy(ref); got != want {
			t.Errorf("defaultPullPolicy(%s) = %s", ref, got)
		}
	}
	for ref, want := range map[string]string{"busybox": "docker.io", "library/busybox": "docker.io", "ghcr.io/a/b": "ghcr.io", "localhost/x": "localhost", "reg:5000/x": "reg:5000"} {
		if got := registryHost(ref); got != want {
			t.Errorf("registryHost(%s) = %s", ref, got)
		}
	}
}

func TestSandboxImageBuiltOnce(t *testing.T) {
	f := newFake()
	bin := filepath.Join(t.TempDir(), "k2d")
	if err := os.WriteFile(bin, []byte("#!fake binary"), 0o755); err != nil {
		t.Fatal(err)
	}
	c, _ := cache.New(cache.Options{})
	ctl := newController(c, f, Options{Binary: bin, Log: testLogger(t)})
	ref, err := ctl.ensureSandboxImage(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want, _ := SandboxImageRef(bin)
	if ref != want || !strings.HasPrefix(ref, "k2d/pause:") || len(ref) != len("k2d/pause:")+12 {
		t.Errorf("ref %q", ref)
	}
	if _, err := ctl.ensureSandboxImage(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := f.countCalls("import "); n != 1 {
		t.Errorf("%d imports", n)
	}
	if !strings.Contains(f.calls[len(f.calls)-2], `CMD ["/k2d","pause"]`) && !strings.Contains(strings.Join(f.calls, "\n"), `CMD ["/k2d","pause"]`) {
		t.Error("no CMD change")
	}
	var buf bytes.Buffer
	if err := writeSandboxTar(&buf, bin); err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(&buf)
	h, err := tr.Next()
	if err != nil || h.Name != "k2d" || h.Mode != 0o755 {
		t.Fatalf("tar header %+v, %v", h, err)
	}
	body, _ := io.ReadAll(tr)
	if string(body) != "#!fake binary" {
		t.Errorf("tar body %q", body)
	}
}

func TestResetRemovesOnlyManaged(t *testing.T) {
	f := newFake()
	ctx := context.Background()
	f.addImage(testImage)
	managed := map[string]string{translate.LabelManaged: "true"}
	mine, _ := f.ContainerCreate(ctx, "k8s_app", &container.Config{Image: testImage, Labels: managed}, nil, nil)
	_ = f.ContainerStart(ctx, mine)
	theirs, _ := f.ContainerCreate(ctx, "legacy", &container.Config{Image: testImage}, nil, nil)
	_, _ = f.NetworkCreate(ctx, "k2d-default", network.CreateOptions{Labels: managed})
	_, _ = f.NetworkCreate(ctx, "mynet", network.CreateOptions{})
	f.volumes["k2d-vol"] = &volume.Volume{Name: "k2d-vol", Labels: managed}
	f.volumes["data"] = &volume.Volume{Name: "data"}
	bin := filepath.Join(t.TempDir(), "k2d")
	_ = os.WriteFile(bin, []byte("bin"), 0o755)
	ref, _ := SandboxImageRef(bin)
	f.addImage(ref)

	if err := reset(ctx, f, bin); err != nil {
		t.Fatal(err)
	}
	if _, err := f.ContainerInspect(ctx, mine); !isNotFound(err) {
		t.Error("managed container left")
	}
	if _, err := f.ContainerInspect(ctx, theirs); err != nil {
		t.Error("plain container removed")
	}
	if f.hasNetwork("k2d-default") || !f.hasNetwork("mynet") {
		t.Error("wrong networks removed")
	}
	if _, ok := f.volumes["k2d-vol"]; ok {
		t.Error("managed volume left")
	}
	if _, ok := f.volumes["data"]; !ok {
		t.Error("plain volume removed")
	}
	if _, ok := f.images[ref]; ok {
		t.Error("sandbox image left")
	}
	if _, ok := f.images[testImage]; !ok {
		t.Error("other image removed")
	}
}

func TestPickContainer(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: corev1.PodSpec{
		InitContainers: []corev1.Container{{Name: "init"}},
		Containers:     []corev1.Container{{Name: "app"}, {Name: "side"}},
	}}
	for _, tc := range []struct{ ann, req, want, err string }{
		{"", "", "app", ""},
		{"side", "", "side", ""},
		{"gone", "", "app", ""},
		{"", "init", "init", ""},
		{"", "nope", "", "container nope is not valid for pod web"},
	} {
		pod.Annotations = map[string]string{DefaultContainerAnnotation: tc.ann}
		got, err := pickContainer(pod, tc.req)
		if got != tc.want || (err == nil) != (tc.err == "") || (err != nil && err.Error() != tc.err) {
			t.Errorf("pickContainer(%q, %q) = %q, %v", tc.ann, tc.req, got, err)
		}
	}
}

func TestLimitWriter(t *testing.T) {
	var buf bytes.Buffer
	w := &limitWriter{w: &buf, left: 5}
	if _, err := w.Write([]byte("abc")); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("defg")); err != errLimitReached || buf.String() != "abcde" {
		t.Errorf("%q, %v", buf.String(), err)
	}
}

func TestPrepareHostPaths(t *testing.T) {
	dir := t.TempDir()
	dirOrCreate, fileOrCreate, file := corev1.HostPathDirectoryOrCreate, corev1.HostPathFileOrCreate, corev1.HostPathFile
	pod := &corev1.Pod{Spec: corev1.PodSpec{Volumes: []corev1.Volume{
		{Name: "a", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: filepath.Join(dir, "a/b"), Type: &dirOrCreate}}},
		{Name: "b", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: filepath.Join(dir, "f/x.txt"), Type: &fileOrCreate}}},
		{Name: "c", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: filepath.Join(dir, "unset")}}},
	}}}
	if err := prepareHostPaths(pod); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"a/b", "f/x.txt", "unset"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Error(err)
		}
	}
	pod.Spec.Volumes = []corev1.Volume{{Name: "d", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: filepath.Join(dir, "a"), Type: &file}}}}
	if err := prepareHostPaths(pod); err == nil || !strings.Contains(err.Error(), "hostPath type check failed") {
		t.Errorf("type check: %v", err)
	}
}
