package reconcile

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/k2d-project/k2d/cache"
	"github.com/k2d-project/k2d/dockerio"
	"github.com/k2d-project/k2d/translate"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// testImage is the local busybox image the test environment provides; nothing is pulled.
const testImage = "k2d-test/busybox:1"

// pauseBin is a static binary running Pause, built once for the sandbox image: the test
// binary itself cannot serve as `k2d pause`.
var pauseBin string

func TestMain(m *testing.M) {
	var dir string
	if _, err := os.Stat("/var/run/docker.sock"); err == nil {
		dir, _ = os.MkdirTemp("", "k2d-pause")
		pauseBin = filepath.Join(dir, "k2d")
		cmd := exec.Command("go", "build", "-o", pauseBin, "./testdata/pausebin")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "cannot build the pause binary: %v\n%s", err, out)
			os.Exit(1)
		}
	}
	code := m.Run()
	if pauseBin != "" {
		if d, err := dockerio.New(""); err == nil {
			if ref, err := SandboxImageRef(pauseBin); err == nil {
				_ = d.ImageRemove(context.Background(), ref, false) // still used by others: it stays
			}
		}
		os.RemoveAll(dir)
	}
	os.Exit(code)
}

type itest struct {
	t   *testing.T
	d   *dockerio.Client
	c   *cache.Cache
	ctl *Controller
	ns  string
	dir string
}

func randName(prefix string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// newITest prepares a real-Docker test in its own namespace. Everything the test creates is
// removed at the end, found by its labels.
func newITest(t *testing.T) *itest {
	t.Helper()
	if pauseBin == "" {
		t.Skip("no Docker engine at /var/run/docker.sock")
	}
	d, err := dockerio.New("")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Negotiate(context.Background()); err != nil {
		t.Skipf("docker not reachable: %v", err)
	}
	it := &itest{t: t, d: d, ns: randName("k2dt-"), dir: t.TempDir()}
	t.Cleanup(it.cleanup)
	it.newCache()
	return it
}

func (it *itest) newCache() {
	c, err := cache.New(cache.Options{Dir: it.dir, Persisted: Persisted, Limits: EventLimits})
	if err != nil {
		it.t.Fatal(err)
	}
	if _, err := c.Load(); err != nil {
		it.t.Fatal(err)
	}
	it.c = c
}

// start runs a controller limited to the test's namespace.
func (it *itest) start() {
	it.t.Helper()
	ctl := newController(it.c, it.d, Options{Binary: pauseBin, HostIP: "192.0.2.10", KubeletVersion: "v1.32.0-k2d", Log: testLogger(it.t)})
	ctl.scope = func(ns string) bool { return ns == it.ns }
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := ctl.Start(ctx); err != nil {
		it.t.Fatal(err)
	}
	it.ctl = ctl
	if _, ok := it.c.Get(resNS, "", it.ns); !ok {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: it.ns}, Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive}}
		if _, err := it.c.Create(kindNS, ns); err != nil {
			it.t.Fatal(err)
		}
	}
}

func (it *itest) stop() {
	if it.ctl != nil {
		it.ctl.Stop()
		it.ctl = nil
	}
}

func (it *itest) cleanup() {
	it.stop()
	ctx := context.Background()
	list, _ := it.d.ContainerList(ctx, true, translate.LabelPodNamespace+"="+it.ns)
	for _, s := range list {
		_ = it.d.ContainerRemove(ctx, s.ID, true, true)
	}
	list, _ = it.d.ContainerList(ctx, true, translate.LabelNamespace+"="+it.ns)
	for _, s := range list {
		_ = it.d.ContainerRemove(ctx, s.ID, true, true)
	}
	vols, _ := it.d.VolumeList(ctx, translate.LabelNamespace+"="+it.ns)
	for _, v := range vols {
		_ = it.d.VolumeRemove(ctx, v.Name, true)
	}
	nets, _ := it.d.NetworkList(ctx, translate.LabelNamespace+"="+it.ns)
	for _, n := range nets {
		_ = it.d.NetworkRemove(ctx, n.ID)
	}
}

func (it *itest) createPod(p *corev1.Pod) *corev1.Pod {
	it.t.Helper()
	p.Namespace = it.ns
	e, err := it.c.Create(kindPod, p)
	if err != nil {
		it.t.Fatal(err)
	}
	return e.Obj.(*corev1.Pod)
}

func (it *itest) pod(name string) *corev1.Pod {
	e, ok := it.c.Get(resPods, it.ns, name)
	if !ok {
		return nil
	}
	return e.Obj.(*corev1.Pod)
}

// waitFor polls the cache (not Docker) until cond holds.
func (it *itest) waitFor(timeout time.Duration, what string, cond func() bool) {
	it.t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			it.dump()
			it.t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// dump logs the test namespace's pods and events, for a failure's diagnosis.
func (it *itest) dump() {
	pods, _ := it.c.List(resPods, it.ns)
	for _, e := range pods {
		it.t.Logf("pod %s: %s", e.Meta().GetName(), e.JSON)
	}
	evs, _ := it.c.List(resEvents, it.ns)
	for _, e := range evs {
		ev := e.Obj.(*corev1.Event)
		it.t.Logf("event %s %s %s: %s (x%d)", ev.InvolvedObject.Name, ev.InvolvedObject.FieldPath, ev.Reason, ev.Message, ev.Count)
	}
}

// deletePod marks a pod deleted as the API does for a graceful delete.
func (it *itest) deletePod(name string, grace int64) {
	it.t.Helper()
	_, err := it.c.Mutate(kindPod, it.ns, name, func(obj runtime.Object) (bool, error) {
		p := obj.(*corev1.Pod)
		t := metav1.NewTime(time.Now().Add(time.Duration(grace) * time.Second))
		p.DeletionTimestamp = &t
		p.DeletionGracePeriodSeconds = &grace
		return true, nil
	})
	if err != nil {
		it.t.Fatal(err)
	}
}

func (it *itest) containers(uid string) []container.Summary {
	list, err := it.d.ContainerList(context.Background(), true, translate.LabelPodUID+"="+uid)
	if err != nil {
		it.t.Fatal(err)
	}
	return list
}

func (it *itest) events(podName string) []corev1.Event {
	list, _ := it.c.List(resEvents, it.ns)
	var out []corev1.Event
	for _, e := range list {
		ev := e.Obj.(*corev1.Event)
		if ev.InvolvedObject.Name == podName {
			out = append(out, *ev)
		}
	}
	return out
}

func hasEvent(evs []corev1.Event, reason, msgPart string) bool {
	for _, e := range evs {
		if e.Reason == reason && strings.Contains(e.Message, msgPart) {
			return true
		}
	}
	return false
}

func busybox(name string, cmd ...string) corev1.Container {
	return corev1.Container{Name: name, Image: testImage, ImagePullPolicy: corev1.PullIfNotPresent, Command: cmd}
}

func podSpec(name string, grace int64, init []corev1.Container, ctrs ...corev1.Container) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{
			InitContainers:                init,
			Containers:                    ctrs,
			RestartPolicy:                 corev1.RestartPolicyAlways,
			TerminationGracePeriodSeconds: &grace,
		},
	}
}

func running(p *corev1.Pod) bool {
	if p == nil || p.Status.Phase != corev1.PodRunning || p.Status.PodIP == "" {
		return false
	}
	for _, s := range p.Status.ContainerStatuses {
		if s.State.Running == nil || !s.Ready {
			return false
		}
	}
	return len(p.Status.ContainerStatuses) > 0
}

// phaseRunning is running without the IP check, for containers on network "none".
func phaseRunning(p *corev1.Pod) bool {
	return p != nil && p.Status.Phase == corev1.PodRunning && len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].State.Running != nil
}

func TestIntegrationPodRuns(t *testing.T) {
	t.Parallel()
	it := newITest(t)
	it.start()
	p := it.createPod(podSpec("web", 5,
		[]corev1.Container{busybox("init", "sh", "-c", "echo init > /work/init; sleep 0.3")},
		corev1.Container{Name: "app", Image: testImage, ImagePullPolicy: corev1.PullIfNotPresent,
			Command:      []string{"sh", "-c", "cat /work/init; echo hello from app; exec sleep 600"},
			VolumeMounts: []corev1.VolumeMount{{Name: "work", MountPath: "/work"}},
			Env:          []corev1.EnvVar{{Name: "POD_IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}}},
		},
		busybox("side", "sleep", "600"),
	))
	p.Spec.InitContainers[0].VolumeMounts = []corev1.VolumeMount{{Name: "work", MountPath: "/work"}}
	_, _ = it.c.Mutate(kindPod, it.ns, "web", func(obj runtime.Object) (bool, error) {
		obj.(*corev1.Pod).Spec = p.Spec
		obj.(*corev1.Pod).Spec.Volumes = []corev1.Volume{{Name: "work", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
		return true, nil
	})
	it.waitFor(60*time.Second, "pod web running", func() bool { return running(it.pod("web")) })
	got := it.pod("web")
	if got.Spec.NodeName == "" {
		t.Error("pod not bound to the node")
	}
	if got.Status.HostIP != "192.0.2.10" {
		t.Errorf("hostIP = %q", got.Status.HostIP)
	}
	ist := got.Status.InitContainerStatuses
	if len(ist) != 1 || ist[0].State.Terminated == nil || ist[0].State.Terminated.Reason != "Completed" {
		t.Fatalf("init container status: %+v", ist)
	}
	for _, cs := range got.Status.ContainerStatuses {
		if cs.State.Running.StartedAt.Before(&ist[0].State.Terminated.FinishedAt) {
			t.Errorf("container %s started at %v, before the init container finished at %v", cs.Name, cs.State.Running.StartedAt, ist[0].State.Terminated.FinishedAt)
		}
	}
	// One sandbox, one init, two apps: nothing duplicated.
	if n := len(it.containers(string(got.UID))); n != 4 {
		t.Errorf("pod has %d containers, want 4", n)
	}
	it.waitFor(10*time.Second, "events", func() bool {
		evs := it.events("web")
		return hasEvent(evs, ReasonScheduled, "Successfully assigned "+it.ns+"/web to ") &&
			hasEvent(evs, ReasonPulled, `Container image "k2d-test/busybox:1" already present on machine`) &&
			hasEvent(evs, ReasonCreated, "Created container: app") &&
			hasEvent(evs, ReasonStarted, "Started container init")
	})

	// Streams: logs, exec with the init container's output through the emptyDir.
	var buf bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	it.waitFor(5*time.Second, "log line", func() bool {
		buf.Reset()
		_ = it.ctl.Logs(ctx, it.ns, "web", LogOptions{Container: "app"}, &buf)
		return strings.Contains(buf.String(), "hello from app")
	})
	if !strings.Contains(buf.String(), "init\n") {
		t.Errorf("app did not see the init container's file: %q", buf.String())
	}
	var out, errOut bytes.Buffer
	code, err := it.ctl.Exec(ctx, it.ns, "web", "app", []string{"sh", "-c", "cat /etc/hostname; echo $POD_IP; echo oops >&2; exit 3"}, ExecIO{Stdout: &out, Stderr: &errOut})
	if err != nil || code != 3 {
		t.Fatalf("exec = %d, %v", code, err)
	}
	if lines := strings.Fields(out.String()); len(lines) != 2 || lines[0] != "web" || lines[1] != got.Status.PodIP {
		t.Errorf("exec stdout = %q, want hostname web and pod IP %s", out.String(), got.Status.PodIP)
	}
	if errOut.String() != "oops\n" {
		t.Errorf("exec stderr = %q", errOut.String())
	}
	out.Reset()
	code, err = it.ctl.Exec(ctx, it.ns, "web", "", []string{"cat"}, ExecIO{Stdin: strings.NewReader("piped\n"), Stdout: &out})
	if err != nil || code != 0 || out.String() != "piped\n" {
		t.Errorf("exec with stdin = %d, %v, %q", code, err, out.String())
	}
	if _, err := it.ctl.Exec(ctx, it.ns, "web", "nope", []string{"true"}, ExecIO{}); err == nil || err.Error() != "container nope is not valid for pod web" {
		t.Errorf("exec in unknown container: %v", err)
	}
	if err := it.ctl.Logs(ctx, it.ns, "nope", LogOptions{}, &buf); err == nil {
		t.Error("logs of a missing pod: no error")
	}
}

func TestIntegrationGracefulDelete(t *testing.T) {
	t.Parallel()
	it := newITest(t)
	it.start()
	// "polite" exits on SIGTERM; "stubborn" ignores it (a shell as PID 1 does) and is
	// killed when the grace period ends.
	it.createPod(podSpec("polite", 30, nil, busybox("app", "sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.2; done")))
	it.createPod(podSpec("stubborn", 30, nil, busybox("app", "sh", "-c", "while true; do sleep 0.2; done")))
	it.waitFor(60*time.Second, "pods running", func() bool { return running(it.pod("polite")) && running(it.pod("stubborn")) })
	politeUID, stubbornUID := string(it.pod("polite").UID), string(it.pod("stubborn").UID)

	start := time.Now()
	it.deletePod("polite", 30)
	it.deletePod("stubborn", 3)
	it.waitFor(20*time.Second, "polite gone", func() bool { return it.pod("polite") == nil })
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("a pod that exits on SIGTERM took %v to go", d)
	}
	it.waitFor(20*time.Second, "stubborn gone", func() bool { return it.pod("stubborn") == nil })
	if d := time.Since(start); d < 3*time.Second {
		t.Errorf("a pod that ignores SIGTERM was gone after %v, before its 3s grace period", d)
	}
	for _, uid := range []string{politeUID, stubbornUID} {
		if n := len(it.containers(uid)); n != 0 {
			t.Errorf("pod %s left %d containers", uid, n)
		}
	}
	if !hasEvent(it.events("stubborn"), ReasonKilling, "Stopping container app") {
		t.Error("no Killing event")
	}

	// A force delete (the API removes the Pod at once) removes the containers.
	it.createPod(podSpec("forced", 30, nil, busybox("app", "sleep", "600")))
	it.waitFor(60*time.Second, "forced running", func() bool { return running(it.pod("forced")) })
	uid := string(it.pod("forced").UID)
	if _, err := it.c.Delete(kindPod, it.ns, "forced", "", ""); err != nil {
		t.Fatal(err)
	}
	it.waitFor(20*time.Second, "forced containers gone", func() bool { return len(it.containers(uid)) == 0 })
}

func TestIntegrationNamespaceCascade(t *testing.T) {
	t.Parallel()
	it := newITest(t)
	it.start()
	it.createPod(podSpec("a", 2, nil, busybox("app", "sleep", "600")))
	it.createPod(podSpec("b", 1, nil, busybox("app", "sleep", "600")))
	it.waitFor(60*time.Second, "pods running", func() bool { return running(it.pod("a")) && running(it.pod("b")) })
	if _, err := it.d.NetworkInspect(context.Background(), translate.NetworkName(it.ns)); err != nil {
		t.Fatalf("namespace network: %v", err)
	}
	_, err := it.c.Mutate(kindNS, "", it.ns, func(obj runtime.Object) (bool, error) {
		ns := obj.(*corev1.Namespace)
		now := metav1.Now()
		ns.DeletionTimestamp = &now
		ns.Status.Phase = corev1.NamespaceTerminating
		return true, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	it.waitFor(30*time.Second, "namespace gone", func() bool { _, ok := it.c.Get(resNS, "", it.ns); return !ok })
	if pods, _ := it.c.List(resPods, it.ns); len(pods) != 0 {
		t.Errorf("%d pods left", len(pods))
	}
	if evs, _ := it.c.List(resEvents, it.ns); len(evs) != 0 {
		t.Errorf("%d events left", len(evs))
	}
	if list, _ := it.d.ContainerList(context.Background(), true, translate.LabelPodNamespace+"="+it.ns); len(list) != 0 {
		t.Errorf("%d containers left", len(list))
	}
	if _, err := it.d.NetworkInspect(context.Background(), translate.NetworkName(it.ns)); !dockerio.IsNotFound(err) {
		t.Errorf("network still there: %v", err)
	}
}

func TestIntegrationDockerRunAppearsAsPod(t *testing.T) {
	t.Parallel()
	it := newITest(t)
	it.start()
	ctx := context.Background()
	name := randName("legacy-")
	id, err := it.d.ContainerCreate(ctx, name, &container.Config{
		Image: testImage, Cmd: []string{"sh", "-c", "echo legacy says hi; exec sleep 600"},
		Labels: map[string]string{translate.LabelNamespace: it.ns, "app": "legacy"},
	}, &container.HostConfig{NetworkMode: "none"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := it.d.ContainerStart(ctx, id); err != nil {
		t.Fatal(err)
	}
	it.waitFor(20*time.Second, "pod for the docker container", func() bool { return phaseRunning(it.pod(name)) })
	p := it.pod(name)
	if p.Annotations[AnnotationSource] != SourceDocker || p.Annotations[AnnotationContainerID] != id || p.Labels["app"] != "legacy" {
		t.Errorf("observed pod metadata: %+v", p.ObjectMeta)
	}
	if Persisted(resPods, p) {
		t.Error("an observed pod would be persisted")
	}
	var buf bytes.Buffer
	if err := it.ctl.Logs(ctx, it.ns, name, LogOptions{}, &buf); err != nil || buf.String() != "legacy says hi\n" {
		t.Errorf("logs = %q, %v", buf.String(), err)
	}
	// docker stop shows in the status; kubectl delete removes the container.
	stop := 1
	if err := it.d.ContainerStop(ctx, id, &stop); err != nil {
		t.Fatal(err)
	}
	it.waitFor(20*time.Second, "terminated status", func() bool {
		p := it.pod(name)
		return p != nil && len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].State.Terminated != nil
	})
	if err := it.d.ContainerStart(ctx, id); err != nil {
		t.Fatal(err)
	}
	it.waitFor(20*time.Second, "running again", func() bool { return phaseRunning(it.pod(name)) })
	it.deletePod(name, 2)
	it.waitFor(20*time.Second, "pod gone", func() bool { return it.pod(name) == nil })
	if _, err := it.d.ContainerInspect(ctx, id); !dockerio.IsNotFound(err) {
		t.Errorf("container still there after the pod was deleted: %v", err)
	}

	// docker rm removes the pod.
	id, err = it.d.ContainerCreate(ctx, name, &container.Config{Image: testImage, Cmd: []string{"sleep", "600"},
		Labels: map[string]string{translate.LabelNamespace: it.ns}}, &container.HostConfig{NetworkMode: "none"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	it.waitFor(20*time.Second, "pod for created container", func() bool { return it.pod(name) != nil })
	if err := it.d.ContainerRemove(ctx, id, true, false); err != nil {
		t.Fatal(err)
	}
	it.waitFor(20*time.Second, "pod gone after docker rm", func() bool { return it.pod(name) == nil })
}

func TestIntegrationRestartAdopts(t *testing.T) {
	t.Parallel()
	it := newITest(t)
	it.start()
	it.createPod(podSpec("keep", 5, []corev1.Container{busybox("init", "true")}, busybox("app", "sleep", "600")))
	it.waitFor(60*time.Second, "pod running", func() bool { return running(it.pod("keep")) })
	uid := string(it.pod("keep").UID)
	before := map[string]bool{}
	for _, s := range it.containers(uid) {
		before[s.ID] = true
	}
	// A plain container's pod is not persisted: after the restart it comes from Docker again.
	ctx := context.Background()
	plain := randName("plain-")
	pid, err := it.d.ContainerCreate(ctx, plain, &container.Config{Image: testImage, Cmd: []string{"sleep", "600"},
		Labels: map[string]string{translate.LabelNamespace: it.ns}}, &container.HostConfig{NetworkMode: "none"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = it.d.ContainerStart(ctx, pid)
	it.waitFor(20*time.Second, "plain pod", func() bool { return it.pod(plain) != nil })

	// k2d stops (as if killed: containers keep running) and starts again on the same data dir.
	it.stop()
	it.newCache()
	if p := it.pod("keep"); p == nil || p.Status.Phase != "" {
		t.Fatalf("persisted pod after load: %+v", p)
	}
	if it.pod(plain) != nil {
		t.Fatal("the plain container's pod was persisted")
	}
	it.start()
	it.waitFor(30*time.Second, "pod adopted", func() bool { return running(it.pod("keep")) })
	it.waitFor(20*time.Second, "plain pod back", func() bool { return it.pod(plain) != nil })
	time.Sleep(time.Second) // give a wrong controller the time to start duplicates
	after := it.containers(uid)
	if len(after) != len(before) {
		t.Fatalf("containers before restart %d, after %d", len(before), len(after))
	}
	for _, s := range after {
		if !before[s.ID] {
			t.Errorf("new container %v after restart", s.Names)
		}
	}
	p := it.pod("keep")
	if p.Status.ContainerStatuses[0].RestartCount != 0 {
		t.Errorf("restart count %d", p.Status.ContainerStatuses[0].RestartCount)
	}
	if hasEvent(it.events("keep"), ReasonScheduled, "") && len(it.events("keep")) > 0 {
		for _, e := range it.events("keep") {
			if e.Reason == ReasonCreated {
				t.Errorf("adoption created containers: %s", e.Message)
			}
		}
	}
}

func TestIntegrationCrashLoopAndImageErrors(t *testing.T) {
	t.Parallel()
	it := newITest(t)
	it.start()
	it.createPod(podSpec("crash", 1, nil, busybox("app", "sh", "-c", "echo dying; exit 2")))
	never := podSpec("never", 1, nil, corev1.Container{Name: "app", Image: "k2d-test/absent:1", ImagePullPolicy: corev1.PullNever})
	it.createPod(never)
	done := podSpec("done", 1, nil, busybox("app", "true"))
	done.Spec.RestartPolicy = corev1.RestartPolicyNever
	it.createPod(done)

	it.waitFor(30*time.Second, "CrashLoopBackOff", func() bool {
		p := it.pod("crash")
		if p == nil || len(p.Status.ContainerStatuses) == 0 {
			return false
		}
		st := p.Status.ContainerStatuses[0]
		return st.RestartCount >= 1 && st.State.Waiting != nil && st.State.Waiting.Reason == "CrashLoopBackOff" &&
			st.LastTerminationState.Terminated != nil && st.LastTerminationState.Terminated.ExitCode == 2
	})
	if !hasEvent(it.events("crash"), ReasonBackOff, "Back-off restarting failed container app in pod crash_"+it.ns) {
		t.Error("no BackOff event")
	}
	var buf bytes.Buffer
	if err := it.ctl.Logs(context.Background(), it.ns, "crash", LogOptions{Previous: true}, &buf); err != nil || buf.String() != "dying\n" {
		t.Errorf("logs --previous = %q, %v", buf.String(), err)
	}
	it.waitFor(20*time.Second, "ErrImageNeverPull", func() bool {
		p := it.pod("never")
		return p != nil && len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].State.Waiting != nil &&
			p.Status.ContainerStatuses[0].State.Waiting.Reason == "ErrImageNeverPull"
	})
	if !hasEvent(it.events("never"), ReasonErrImageNeverPull, `Container image "k2d-test/absent:1" is not present with pull policy of Never`) {
		t.Error("no ErrImageNeverPull event")
	}
	err := it.ctl.Logs(context.Background(), it.ns, "never", LogOptions{}, &buf)
	if err == nil || err.Error() != `container "app" in pod "never" is waiting to start: ErrImageNeverPull` {
		t.Errorf("logs of a waiting container: %v", err)
	}
	it.waitFor(20*time.Second, "Succeeded", func() bool { p := it.pod("done"); return p != nil && p.Status.Phase == corev1.PodSucceeded })
	uid := string(it.pod("done").UID)
	it.waitFor(20*time.Second, "sandbox of finished pod stopped", func() bool {
		for _, s := range it.containers(uid) {
			if s.State == container.StateRunning {
				return false
			}
		}
		return true
	})
}

func TestIntegrationAttachAndTTY(t *testing.T) {
	t.Parallel()
	it := newITest(t)
	it.start()
	p := podSpec("term", 1, nil, corev1.Container{Name: "sh", Image: testImage, ImagePullPolicy: corev1.PullIfNotPresent,
		Command: []string{"sh"}, Stdin: true, TTY: true})
	p.Spec.RestartPolicy = corev1.RestartPolicyNever
	it.createPod(p)
	it.waitFor(60*time.Second, "pod running", func() bool { return running(it.pod("term")) })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	var out bytes.Buffer
	resize := make(chan TermSize, 1)
	resize <- TermSize{Width: 100, Height: 40}
	code, err := it.ctl.Exec(ctx, it.ns, "term", "sh", []string{"sh", "-c", "sleep 0.3; stty size; tty"}, ExecIO{Stdout: &out, TTY: true, Resize: resize})
	if err != nil || code != 0 {
		t.Fatalf("exec with tty = %d, %v", code, err)
	}
	if !strings.Contains(out.String(), "40 100") || !strings.Contains(out.String(), "/dev/pts/") {
		t.Errorf("exec with tty printed %q", out.String())
	}

	pr, pw := io.Pipe()
	out.Reset()
	go func() {
		time.Sleep(300 * time.Millisecond)
		_, _ = pw.Write([]byte("echo attached; exit 7\n"))
	}()
	code, err = it.ctl.Attach(ctx, it.ns, "term", "", ExecIO{Stdin: pr, Stdout: &out})
	pw.Close()
	if err != nil || code != 7 {
		t.Fatalf("attach = %d, %v (output %q)", code, err, out.String())
	}
	if !strings.Contains(out.String(), "attached") {
		t.Errorf("attach output %q", out.String())
	}
	it.waitFor(20*time.Second, "pod failed", func() bool { p := it.pod("term"); return p != nil && p.Status.Phase == corev1.PodFailed })
	if _, err := it.ctl.Exec(ctx, it.ns, "term", "", []string{"true"}, ExecIO{}); err == nil {
		t.Error("exec in a finished container: no error")
	}
}

func TestIntegrationNode(t *testing.T) {
	t.Parallel()
	it := newITest(t)
	it.start()
	e, ok := it.c.Get(resNodes, "", it.ctl.NodeName())
	if !ok {
		t.Fatal("no node")
	}
	n := e.Obj.(*corev1.Node)
	if !nodeReady(n) || n.Status.NodeInfo.KubeletVersion != "v1.32.0-k2d" || !strings.HasPrefix(n.Status.NodeInfo.ContainerRuntimeVersion, "docker://") {
		t.Errorf("node: %+v", n.Status)
	}
	if n.Status.Capacity.Cpu().IsZero() || n.Status.Capacity.Memory().IsZero() || n.Status.Capacity.Pods().Value() != 110 {
		t.Errorf("capacity: %v", n.Status.Capacity)
	}
	for _, ns := range DefaultNamespaces {
		if _, ok := it.c.Get(resNS, "", ns); !ok {
			t.Errorf("namespace %s missing", ns)
		}
	}
}
