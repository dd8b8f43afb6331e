package reconcile

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/k2d-project/k2d/cache"
	"github.com/k2d-project/k2d/translate"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

const pauseImage = "k2d/pause:test"

// utest drives one controller against the fake engine. Its queues are stopped: the test
// calls the sync functions itself, so every decision happens in a known order.
type utest struct {
	t     *testing.T
	f     *fakeDocker
	c     *cache.Cache
	ctl   *Controller
	clock *fakeClock
}

func newUTest(t *testing.T) *utest {
	t.Helper()
	f := newFake()
	clock := &fakeClock{t: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
	f.now = clock.Now
	f.addImage(testImage)
	f.addImage(pauseImage)
	c, err := cache.New(cache.Options{Persisted: Persisted, Limits: EventLimits})
	if err != nil {
		t.Fatal(err)
	}
	ctl := newController(c, f, Options{NodeName: "node1", HostIP: "192.0.2.1", SandboxImage: pauseImage, Log: testLogger(t)})
	ctl.cancel()
	ctl.now, ctl.rec.now = clock.Now, clock.Now
	ctl.dockerUp.Store(true)
	img := pauseImage
	ctl.sandbox.Store(&img)
	name := "node1"
	ctl.node.Store(&name)
	if err := ctl.ensureDefaultNamespaces(); err != nil {
		t.Fatal(err)
	}
	return &utest{t: t, f: f, c: c, ctl: ctl, clock: clock}
}

func (u *utest) create(p *corev1.Pod) *corev1.Pod {
	u.t.Helper()
	if p.Namespace == "" {
		p.Namespace = "default"
	}
	e, err := u.c.Create(kindPod, p)
	if err != nil {
		u.t.Fatal(err)
	}
	return e.Obj.(*corev1.Pod)
}

func (u *utest) sync(name string) *corev1.Pod {
	u.t.Helper()
	u.ctl.syncPod(context.Background(), "default/"+name)
	return u.get(name)
}

func (u *utest) get(name string) *corev1.Pod {
	e, ok := u.c.Get(resPods, "default", name)
	if !ok {
		return nil
	}
	return e.Obj.(*corev1.Pod)
}

// ctrs returns a pod container's Docker containers, oldest first.
func (u *utest) ctrs(p *corev1.Pod, name string) []container.InspectResponse {
	return u.f.byLabels(uidLabel(string(p.UID)), translate.LabelContainerName+"="+name)
}

func (u *utest) sandboxes(p *corev1.Pod) []container.InspectResponse {
	return u.f.byLabels(uidLabel(string(p.UID)), translate.LabelContainerKind+"="+translate.KindSandbox)
}

func (u *utest) events(name string) []corev1.Event {
	list, _ := u.c.List(resEvents, "")
	var out []corev1.Event
	for _, e := range list {
		if ev := e.Obj.(*corev1.Event); ev.InvolvedObject.Name == name {
			out = append(out, *ev)
		}
	}
	return out
}

func waiting(p *corev1.Pod, name string) string {
	for _, l := range [][]corev1.ContainerStatus{p.Status.ContainerStatuses, p.Status.InitContainerStatuses} {
		for _, s := range l {
			if s.Name == name && s.State.Waiting != nil {
				return s.State.Waiting.Reason
			}
		}
	}
	return ""
}

func status(p *corev1.Pod, name string) corev1.ContainerStatus {
	for _, l := range [][]corev1.ContainerStatus{p.Status.ContainerStatuses, p.Status.InitContainerStatuses} {
		for _, s := range l {
			if s.Name == name {
				return s
			}
		}
	}
	return corev1.ContainerStatus{}
}

func TestSyncPodInitThenAppsThenCrashLoop(t *testing.T) {
	u := newUTest(t)
	p := u.create(podSpec("web", 30, []corev1.Container{busybox("init", "true")}, busybox("app", "sleep", "1d")))

	p = u.sync("web")
	if p.Spec.NodeName != "node1" {
		t.Errorf("nodeName = %q", p.Spec.NodeName)
	}
	if !u.f.hasNetwork("k2d-default") {
		t.Error("namespace network not created")
	}
	if n := len(u.sandboxes(p)); n != 1 {
		t.Fatalf("%d sandboxes", n)
	}
	inits := u.ctrs(p, "init")
	if len(inits) != 1 || !inits[0].State.Running {
		t.Fatalf("init container: %+v", inits)
	}
	if n := len(u.ctrs(p, "app")); n != 0 {
		t.Fatalf("app container created before the init container finished")
	}
	if p.Status.Phase != corev1.PodPending || waiting(p, "app") != "PodInitializing" {
		t.Errorf("status while initialising: %s %q", p.Status.Phase, waiting(p, "app"))
	}

	u.f.exit(inits[0].ID, 0)
	p = u.sync("web")
	apps := u.ctrs(p, "app")
	if len(apps) != 1 || !apps[0].State.Running {
		t.Fatalf("app container: %+v", apps)
	}
	if p.Status.Phase != corev1.PodRunning || p.Status.PodIP == "" || p.Status.HostIP != "192.0.2.1" {
		t.Errorf("status: %+v", p.Status)
	}
	// A sync without change writes nothing and creates nothing.
	rv := p.ResourceVersion
	if p = u.sync("web"); p.ResourceVersion != rv || len(u.ctrs(p, "app")) != 1 {
		t.Errorf("idle sync changed the pod (rv %s -> %s) or its containers", rv, p.ResourceVersion)
	}

	// First crash: restarted at once, attempt 1.
	u.f.exit(apps[0].ID, 1)
	p = u.sync("web")
	apps = u.ctrs(p, "app")
	if len(apps) != 2 || !apps[1].State.Running || !strings.HasSuffix(apps[1].Name, "_1") {
		t.Fatalf("after the first crash: %d containers", len(apps))
	}
	if status(p, "app").RestartCount != 1 {
		t.Errorf("restartCount = %d", status(p, "app").RestartCount)
	}
	// Second crash: back-off.
	u.clock.Advance(time.Second)
	u.f.exit(apps[1].ID, 1)
	p = u.sync("web")
	if n := len(u.ctrs(p, "app")); n != 2 {
		t.Fatalf("restarted during back-off: %d containers", n)
	}
	if w := waiting(p, "app"); w != "CrashLoopBackOff" {
		t.Fatalf("waiting reason %q", w)
	}
	if st := status(p, "app"); !strings.HasPrefix(st.State.Waiting.Message, "back-off 10s restarting failed container=app pod=web_default(") {
		t.Errorf("waiting message %q", st.State.Waiting.Message)
	}
	if !hasEvent(u.events("web"), ReasonBackOff, "Back-off restarting failed container app in pod web_default(") {
		t.Error("no BackOff event")
	}
	// After the back-off: attempt 2, and the oldest instance is pruned (two are kept).
	u.clock.Advance(10 * time.Second)
	p = u.sync("web")
	apps = u.ctrs(p, "app")
	if len(apps) != 2 || !strings.HasSuffix(apps[1].Name, "_2") || !apps[1].State.Running {
		t.Fatalf("after the back-off: %v", names(apps))
	}
	if w := waiting(p, "app"); w != "" {
		t.Errorf("still waiting: %q", w)
	}
	if st := status(p, "app"); st.RestartCount != 2 || st.LastTerminationState.Terminated == nil || st.LastTerminationState.Terminated.ExitCode != 1 {
		t.Errorf("status after restart: %+v", st)
	}
	// The next crash doubles the back-off.
	u.clock.Advance(time.Second)
	u.f.exit(apps[1].ID, 1)
	p = u.sync("web")
	if st := status(p, "app"); st.State.Waiting == nil || !strings.HasPrefix(st.State.Waiting.Message, "back-off 20s") {
		t.Errorf("second back-off: %+v", st.State)
	}
	for _, e := range u.events("web") {
		if e.Reason == ReasonScheduled && e.Source.Component != "default-scheduler" {
			t.Errorf("Scheduled event source %q", e.Source.Component)
		}
	}
}

func names(list []container.InspectResponse) []string {
	var out []string
	for _, c := range list {
		out = append(out, c.Name)
	}
	return out
}

func TestRestartPolicy(t *testing.T) {
	for _, tc := range []struct {
		policy  corev1.RestartPolicy
		code    int
		restart bool
		phase   corev1.PodPhase
	}{
		{corev1.RestartPolicyAlways, 0, true, corev1.PodRunning},
		{corev1.RestartPolicyAlways, 1, true, corev1.PodRunning},
		{corev1.RestartPolicyOnFailure, 0, false, corev1.PodSucceeded},
		{corev1.RestartPolicyOnFailure, 1, true, corev1.PodRunning},
		{corev1.RestartPolicyNever, 0, false, corev1.PodSucceeded},
		{corev1.RestartPolicyNever, 1, false, corev1.PodFailed},
	} {
		t.Run(string(tc.policy)+"/"+string(rune('0'+tc.code)), func(t *testing.T) {
			u := newUTest(t)
			pod := podSpec("p", 30, nil, busybox("app", "x"))
			pod.Spec.RestartPolicy = tc.policy
			p := u.create(pod)
			u.sync("p")
			u.f.exit(u.ctrs(p, "app")[0].ID, tc.code)
			p = u.sync("p")
			if got := len(u.ctrs(p, "app")) == 2; got != tc.restart {
				t.Errorf("restarted = %v, want %v", got, tc.restart)
			}
			if p.Status.Phase != tc.phase {
				t.Errorf("phase %s, want %s", p.Status.Phase, tc.phase)
			}
			sb := u.sandboxes(p)[0]
			if finished := tc.phase != corev1.PodRunning; finished == sb.State.Running {
				t.Errorf("sandbox running = %v in phase %s", sb.State.Running, p.Status.Phase)
			}
		})
	}
}

func TestInitFailureWithRestartNeverFailsPod(t *testing.T) {
	u := newUTest(t)
	pod := podSpec("job", 30, []corev1.Container{busybox("init", "false")}, busybox("app", "true"))
	pod.Spec.RestartPolicy = corev1.RestartPolicyNever
	p := u.create(pod)
	u.sync("job")
	u.f.exit(u.ctrs(p, "init")[0].ID, 3)
	p = u.sync("job")
	if p.Status.Phase != corev1.PodFailed {
		t.Errorf("phase %s", p.Status.Phase)
	}
	if len(u.ctrs(p, "init")) != 1 || len(u.ctrs(p, "app")) != 0 {
		t.Error("init restarted or app started after an init failure under restartPolicy Never")
	}
	// With OnFailure the init container is retried.
	u2 := newUTest(t)
	pod = podSpec("job", 30, []corev1.Container{busybox("init", "false")}, busybox("app", "true"))
	pod.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
	p = u2.create(pod)
	u2.sync("job")
	u2.f.exit(u2.ctrs(p, "init")[0].ID, 3)
	p = u2.sync("job")
	if n := len(u2.ctrs(p, "init")); n != 2 || len(u2.ctrs(p, "app")) != 0 {
		t.Errorf("init attempts %d", n)
	}
}

func TestImagePullPolicy(t *testing.T) {
	for _, tc := range []struct {
		name    string
		policy  corev1.PullPolicy
		present bool
		pulls   int
		reason  string
	}{
		{"never-absent", corev1.PullNever, false, 0, "ErrImageNeverPull"},
		{"never-present", corev1.PullNever, true, 0, ""},
		{"ifnotpresent-present", corev1.PullIfNotPresent, true, 0, ""},
		{"ifnotpresent-absent", corev1.PullIfNotPresent, false, 1, ""},
		{"always-present", corev1.PullAlways, true, 1, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := newUTest(t)
			if tc.present {
				u.f.addImage("registry.example/app:1")
			}
			p := u.create(podSpec("p", 30, nil, corev1.Container{Name: "app", Image: "registry.example/app:1", ImagePullPolicy: tc.policy}))
			p = u.sync("p")
			if n := u.f.countCalls("pull "); n != tc.pulls {
				t.Errorf("%d pulls, want %d", n, tc.pulls)
			}
			if w := waiting(p, "app"); w != tc.reason {
				t.Errorf("waiting %q, want %q", w, tc.reason)
			}
			if tc.reason == "" && len(u.ctrs(p, "app")) != 1 {
				t.Error("container not created")
			}
		})
	}
}

func TestImagePullBackOff(t *testing.T) {
	u := newUTest(t)
	u.f.pullErr = errors.New("registry unreachable")
	p := u.create(podSpec("p", 30, nil, corev1.Container{Name: "app", Image: "registry.example/app:1", ImagePullPolicy: corev1.PullIfNotPresent}))
	p = u.sync("p")
	if w := waiting(p, "app"); w != "ErrImagePull" {
		t.Fatalf("waiting %q", w)
	}
	if !hasEvent(u.events("p"), ReasonFailed, `Failed to pull image "registry.example/app:1": registry unreachable`) {
		t.Error("no Failed event")
	}
	u.clock.Advance(5 * time.Second)
	p = u.sync("p")
	if w := waiting(p, "app"); w != "ImagePullBackOff" || u.f.countCalls("pull ") != 1 {
		t.Fatalf("waiting %q after %d pulls", w, u.f.countCalls("pull "))
	}
	if !hasEvent(u.events("p"), ReasonBackOff, `Back-off pulling image "registry.example/app:1"`) {
		t.Error("no BackOff event")
	}
	u.clock.Advance(6 * time.Second)
	u.f.pullErr = nil
	p = u.sync("p")
	if u.f.countCalls("pull ") != 2 || len(u.ctrs(p, "app")) != 1 || waiting(p, "app") != "" {
		t.Errorf("after the back-off: %d pulls, waiting %q", u.f.countCalls("pull "), waiting(p, "app"))
	}
}

func TestImageChangeRestartsContainer(t *testing.T) {
	u := newUTest(t)
	u.f.addImage("k2d-test/busybox:2")
	p := u.create(podSpec("p", 7, nil, busybox("app", "sleep", "1d")))
	u.sync("p")
	_, err := u.c.Mutate(kindPod, "default", "p", func(obj runtime.Object) (bool, error) {
		obj.(*corev1.Pod).Spec.Containers[0].Image = "k2d-test/busybox:2"
		return true, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	p = u.sync("p")
	apps := u.ctrs(p, "app")
	if len(apps) != 2 || apps[0].State.Running || !apps[1].State.Running || apps[1].Config.Image != "k2d-test/busybox:2" {
		t.Fatalf("containers after the image change: %v", names(apps))
	}
	if u.f.countCalls("stop "+apps[0].ID+" 7") != 1 {
		t.Error("old container not stopped with the grace period")
	}
	if status(p, "app").RestartCount != 1 {
		t.Errorf("restartCount %d", status(p, "app").RestartCount)
	}
}

func TestGracefulDeletion(t *testing.T) {
	u := newUTest(t)
	p := u.create(podSpec("p", 30, nil, busybox("a", "x"), busybox("b", "y")))
	u.sync("p")
	grace := int64(12)
	_, _ = u.c.Mutate(kindPod, "default", "p", func(obj runtime.Object) (bool, error) {
		now := metav1.NewTime(u.clock.Now().Add(12 * time.Second))
		obj.(*corev1.Pod).DeletionTimestamp = &now
		obj.(*corev1.Pod).DeletionGracePeriodSeconds = &grace
		return true, nil
	})
	if got := u.sync("p"); got != nil {
		t.Fatal("pod still in the cache")
	}
	for _, n := range []string{"a", "b"} {
		if u.f.countCalls("stop ") < 2 {
			t.Errorf("container %s not stopped", n)
		}
	}
	if u.f.countCalls("stop 0") != 3 { // a, b with the grace period, then the sandbox
		t.Errorf("stops: %d", u.f.countCalls("stop "))
	}
	for _, c := range u.f.calls {
		if strings.HasPrefix(c, "stop ") && !strings.HasSuffix(c, " 12") && !strings.HasSuffix(c, " 2") {
			t.Errorf("unexpected stop %q", c)
		}
	}
	if n := len(u.f.byLabels(uidLabel(string(p.UID)))); n != 0 {
		t.Errorf("%d containers left", n)
	}
	if !hasEvent(u.events("p"), ReasonKilling, "Stopping container a") || !hasEvent(u.events("p"), ReasonKilling, "Stopping container b") {
		t.Error("no Killing events")
	}
}

func TestForceDeleteAndRecreateRemovesOrphans(t *testing.T) {
	u := newUTest(t)
	p := u.create(podSpec("p", 30, nil, busybox("app", "x")))
	u.sync("p")
	if _, err := u.c.Delete(kindPod, "default", "p", "", ""); err != nil {
		t.Fatal(err)
	}
	// Re-created with the same name before the worker ran: a new uid.
	p2 := u.create(podSpec("p", 30, nil, busybox("app", "x")))
	u.sync("p")
	if n := len(u.f.byLabels(uidLabel(string(p.UID)))); n != 0 {
		t.Errorf("%d containers of the deleted pod left", n)
	}
	if n := len(u.ctrs(p2, "app")); n != 1 {
		t.Errorf("new pod has %d containers", n)
	}
}

func TestNamespaceCascade(t *testing.T) {
	u := newUTest(t)
	ctx := context.Background()
	if _, err := u.c.Create(kindNS, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "plant-a"}}); err != nil {
		t.Fatal(err)
	}
	u.ctl.syncNamespace(ctx, "plant-a")
	if !u.f.hasNetwork("k2d-plant-a") {
		t.Fatal("no network")
	}
	for _, n := range []string{"x", "y"} {
		p := podSpec(n, 30, nil, busybox("app", "x"))
		p.Namespace = "plant-a"
		u.create(p)
		u.ctl.syncPod(ctx, "plant-a/"+n)
	}
	u.ctl.rec.Event(corev1.ObjectReference{Kind: "Pod", Namespace: "plant-a", Name: "x"}, "Normal", "Test", "hello")
	_, _ = u.c.Mutate(kindNS, "", "plant-a", func(obj runtime.Object) (bool, error) {
		now := metav1.Now()
		obj.(*corev1.Namespace).DeletionTimestamp = &now
		obj.(*corev1.Namespace).Status.Phase = corev1.NamespaceTerminating
		return true, nil
	})
	u.ctl.syncNamespace(ctx, "plant-a")
	for _, n := range []string{"x", "y"} {
		e, ok := u.c.Get(resPods, "plant-a", n)
		if !ok || e.Obj.(*corev1.Pod).DeletionTimestamp == nil || *e.Obj.(*corev1.Pod).DeletionGracePeriodSeconds != 30 {
			t.Fatalf("pod %s not deleted gracefully", n)
		}
	}
	if _, ok := u.c.Get(resNS, "", "plant-a"); !ok {
		t.Fatal("namespace gone before its pods")
	}
	for _, n := range []string{"x", "y"} {
		u.ctl.syncPod(ctx, "plant-a/"+n)
	}
	u.ctl.syncNamespace(ctx, "plant-a")
	if _, ok := u.c.Get(resNS, "", "plant-a"); ok {
		t.Error("namespace still there")
	}
	if evs, _ := u.c.List(resEvents, "plant-a"); len(evs) != 0 {
		t.Errorf("%d events left", len(evs))
	}
	if u.f.hasNetwork("k2d-plant-a") {
		t.Error("network still there")
	}
	if n := len(u.f.byLabels(translate.LabelPodNamespace + "=plant-a")); n != 0 {
		t.Errorf("%d containers left", n)
	}
}

func TestNetworkRemovedOnDockerSideIsRecreated(t *testing.T) {
	u := newUTest(t)
	ctx := context.Background()
	u.ctl.syncNamespace(ctx, "default")
	n, _ := u.f.NetworkInspect(ctx, "k2d-default")
	_ = u.f.NetworkRemove(ctx, n.ID)
	u.ctl.handleEvent(eventsMessage("network", "destroy", n.ID, map[string]string{"name": "k2d-default", "type": "bridge"}))
	u.ctl.syncNamespace(ctx, "default")
	if !u.f.hasNetwork("k2d-default") {
		t.Error("network not recreated")
	}
}

func TestPlainContainerAppearsAsPod(t *testing.T) {
	u := newUTest(t)
	ctx := context.Background()
	id, _ := u.f.ContainerCreate(ctx, "legacy", &container.Config{Image: testImage, Cmd: []string{"sleep", "1d"}, Labels: map[string]string{"app": "legacy"}}, &container.HostConfig{}, nil)
	_ = u.f.ContainerStart(ctx, id)
	u.ctl.syncPlain(ctx, id)
	p := u.get("legacy")
	if p == nil || p.Annotations[AnnotationSource] != SourceDocker || p.Spec.NodeName != "node1" || p.Status.Phase != corev1.PodRunning {
		t.Fatalf("observed pod: %+v", p)
	}
	if Persisted(resPods, p) {
		t.Error("observed pod persisted")
	}
	// A repeated sync changes nothing.
	rv := p.ResourceVersion
	u.ctl.syncPlain(ctx, id)
	if u.get("legacy").ResourceVersion != rv {
		t.Error("an unchanged container rewrote its pod")
	}
	// An exit shows; a Docker-originated event is recorded.
	u.f.exit(id, 137)
	u.ctl.handleEvent(eventsMessage("container", "die", id, map[string]string{"name": "legacy", "exitCode": "137"}))
	u.ctl.syncPlain(ctx, id)
	if st := u.get("legacy").Status.ContainerStatuses[0]; st.State.Terminated == nil || st.State.Terminated.ExitCode != 137 {
		t.Errorf("status after exit: %+v", st.State)
	}
	if !hasEvent(u.events("legacy"), ReasonDied, "Container legacy exited with code 137") {
		t.Error("no die event")
	}
	// docker rm: the pod goes.
	_ = u.f.ContainerRemove(ctx, id, true, false)
	u.ctl.syncPlain(ctx, id)
	if u.get("legacy") != nil {
		t.Error("pod still there after docker rm")
	}
}

func TestPlainPodDeleteRemovesContainer(t *testing.T) {
	u := newUTest(t)
	ctx := context.Background()
	id, _ := u.f.ContainerCreate(ctx, "legacy", &container.Config{Image: testImage}, &container.HostConfig{}, nil)
	_ = u.f.ContainerStart(ctx, id)
	u.ctl.syncPlain(ctx, id)
	// Force delete through the API: the subscriber marks the container doomed.
	u.c.Subscribe(u.ctl.onChange)
	if _, err := u.c.Delete(kindPod, "default", "legacy", "", ""); err != nil {
		t.Fatal(err)
	}
	u.ctl.syncPlain(ctx, id) // an event racing the delete must not bring the pod back
	if u.get("legacy") != nil {
		t.Fatal("pod came back")
	}
	u.ctl.syncPod(ctx, "default/legacy")
	if _, err := u.f.ContainerInspect(ctx, id); !isNotFound(err) {
		t.Errorf("container not removed: %v", err)
	}
}

func TestPodChangeMatters(t *testing.T) {
	base := podSpec("p", 30, nil, busybox("app", "x"))
	base.Generation = 1
	statusOnly := base.DeepCopy()
	statusOnly.Status.Phase = corev1.PodRunning
	if podChangeMatters(base, statusOnly) {
		t.Error("a status write would wake the worker")
	}
	img := base.DeepCopy()
	img.Spec.Containers[0].Image = "other"
	if !podChangeMatters(base, img) {
		t.Error("an image change is ignored")
	}
	del := base.DeepCopy()
	now := metav1.Now()
	del.DeletionTimestamp = &now
	if !podChangeMatters(base, del) {
		t.Error("a deletion is ignored")
	}
}
