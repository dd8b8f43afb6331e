package reconcile

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/k2d-project/k2d/cache"
	corev1 "k8s.io/api/core/v1"
)

// probeUTest is a utest whose controller probes with a fake clock and scripted results.
type probeUTest struct {
	*utest
	pclock *fakeProbeClock
	mu     sync.Mutex
	result map[probeKind]probeOutcome
	calls  []*probeCall
}

func newProbeUTest(t *testing.T) *probeUTest {
	u := &probeUTest{utest: newUTest(t), result: map[probeKind]probeOutcome{}}
	u.pclock = &fakeProbeClock{now: u.clock.Now()}
	u.ctl.probes.once.Do(func() {
		u.ctl.probes.init(u.pclock, u.run, u.ctl.probeActs, context.Background())
	})
	return u
}

func (u *probeUTest) run(_ context.Context, call *probeCall) probeOutcome {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.calls = append(u.calls, call)
	if r, ok := u.result[call.kind]; ok {
		return r
	}
	return probeOutcome{probeSuccess, ""}
}

func (u *probeUTest) set(k probeKind, r probeOutcome) {
	u.mu.Lock()
	u.result[k] = r
	u.mu.Unlock()
}

// syncAndFeed syncs the pod and hands its new status to the prober, as the cache
// subscription does in production.
func (u *probeUTest) syncAndFeed(name string) *corev1.Pod {
	u.t.Helper()
	p := u.sync(name)
	e, _ := u.c.Get(resPods, "default", name)
	u.ctl.onProbesChange(cache.Event{Type: cache.Modified, Resource: resPods, Entry: e})
	return p
}

func podCondition(p *corev1.Pod, t corev1.PodConditionType) corev1.PodCondition {
	for _, c := range p.Status.Conditions {
		if c.Type == t {
			return c
		}
	}
	return corev1.PodCondition{}
}

func (u *probeUTest) eventCounts(pod string) map[string]int32 {
	out := map[string]int32{}
	for _, e := range u.events(pod) {
		out[e.Type+" "+e.Reason+" "+e.Message] += e.Count
	}
	return out
}

// TestProbesDriveStatusAndRestarts: readiness verdicts reach the container's ready flag and
// the pod's ContainersReady and Ready conditions; a liveness failure kills the container with
// the probe's grace period, records the kubelet's events, and the restarted instance starts
// over unready.
func TestProbesDriveStatusAndRestarts(t *testing.T) {
	u := newProbeUTest(t)
	app := busybox("app", "sleep", "1d")
	app.ReadinessProbe = execProbe1s(0, 1, 1)
	app.LivenessProbe = withProbeGrace(execProbe1s(0, 1, 2), 3)
	u.create(podSpec("web", 30, nil, app))

	p := u.syncAndFeed("web")
	st := status(p, "app")
	if st.State.Running == nil || st.Ready || st.Started == nil || !*st.Started {
		t.Fatalf("before the first probe: %+v", st)
	}
	if c := podCondition(p, corev1.PodReady); c.Status != corev1.ConditionFalse || c.Reason != "ContainersNotReady" {
		t.Fatalf("Ready condition before the first probe: %+v", c)
	}

	u.pclock.advance(0) // both probes run at once and succeed
	if len(u.calls) != 2 {
		t.Fatalf("%d probe runs, want liveness and readiness", len(u.calls))
	}
	if c := u.calls[0]; c.id != strings.TrimPrefix(st.ContainerID, "docker://") || c.podIP != p.Status.PodIP || c.ctr.Name != "app" {
		t.Errorf("probe call %+v, want container %s at %s", c, st.ContainerID, p.Status.PodIP)
	}
	rv := p.ResourceVersion
	p = u.syncAndFeed("web")
	if !status(p, "app").Ready || podCondition(p, corev1.PodReady).Status != corev1.ConditionTrue ||
		podCondition(p, corev1.ContainersReady).Status != corev1.ConditionTrue {
		t.Fatalf("after a readiness success: %+v %+v", status(p, "app"), p.Status.Conditions)
	}
	if p.ResourceVersion == rv {
		t.Fatal("the readiness transition wrote no status")
	}

	// Successful periods change nothing: no further status write.
	rv = p.ResourceVersion
	u.pclock.advance(3 * time.Second)
	if p = u.syncAndFeed("web"); p.ResourceVersion != rv {
		t.Errorf("steady probes rewrote the status (rv %s -> %s)", rv, p.ResourceVersion)
	}

	// Readiness fails: not ready, Unhealthy event.
	u.set(probeReadiness, probeOutcome{probeFailure, ""})
	u.pclock.advance(time.Second)
	p = u.syncAndFeed("web")
	if status(p, "app").Ready || podCondition(p, corev1.PodReady).Status != corev1.ConditionFalse {
		t.Fatalf("after a readiness failure: %+v", status(p, "app"))
	}
	u.set(probeReadiness, probeOutcome{probeSuccess, ""})
	u.pclock.advance(time.Second)
	if p = u.syncAndFeed("web"); !status(p, "app").Ready {
		t.Fatal("ready again after a success")
	}

	// Liveness fails twice: the container is stopped with the probe's grace period.
	first := u.ctrs(p, "app")[0].ID
	u.set(probeLiveness, probeOutcome{probeFailure, "HTTP probe failed with statuscode: 500"})
	u.pclock.advance(time.Second)
	if n := u.f.countCalls("stop " + first); n != 0 {
		t.Fatal("killed after one failure; failureThreshold is 2")
	}
	u.pclock.advance(time.Second)
	if n := u.f.countCalls("stop " + first + " 3"); n != 1 {
		t.Fatalf("stop with grace 3 called %d times; calls: %v", n, u.f.calls)
	}
	evs := u.eventCounts("web")
	for ev, n := range map[string]int32{
		"Warning Unhealthy Readiness probe failed: ":                                      1,
		"Warning Unhealthy Liveness probe failed: HTTP probe failed with statuscode: 500": 2,
		"Normal Killing Container app failed liveness probe, will be restarted":           1,
	} {
		if evs[ev] != n {
			t.Errorf("event %q counted %d, want %d; events: %v", ev, evs[ev], n, evs)
		}
	}

	// The pod worker restarts it (the first restart is immediate); the new instance is not
	// ready although the previous one was.
	u.set(probeLiveness, probeOutcome{probeSuccess, ""})
	p = u.syncAndFeed("web")
	st = status(p, "app")
	if st.RestartCount != 1 || st.State.Running == nil || st.Ready {
		t.Fatalf("after the kill: %+v", st)
	}
	if c := podCondition(p, corev1.PodReady); c.Status != corev1.ConditionFalse {
		t.Fatalf("Ready condition of the restarted pod: %+v", c)
	}
	u.pclock.advance(0)
	if p = u.syncAndFeed("web"); !status(p, "app").Ready {
		t.Fatal("restarted instance not ready after its probe succeeded")
	}

	// Deleting the pod stops its probes.
	before, _ := u.c.Get(resPods, "default", "web")
	if _, err := u.c.Delete(kindPod, "default", "web", "", ""); err != nil {
		t.Fatal(err)
	}
	if e, ok := u.c.Get(resPods, "default", "web"); ok {
		u.ctl.onProbesChange(cache.Event{Type: cache.Modified, Resource: resPods, Entry: e})
	} else {
		u.ctl.onProbesChange(cache.Event{Type: cache.Deleted, Resource: resPods, Entry: before})
	}
	if n := u.pclock.pending(); n != 0 {
		t.Errorf("%d probe timers armed for a terminating pod", n)
	}
}

func withProbeGrace(p *corev1.Probe, g int64) *corev1.Probe {
	p.TerminationGracePeriodSeconds = &g
	return p
}

// TestProbesStartupGatesSidecar: a sidecar with a startupProbe must pass it before the app
// containers start, as on the kubelet.
func TestProbesStartupGatesSidecar(t *testing.T) {
	u := newProbeUTest(t)
	always := corev1.ContainerRestartPolicyAlways
	side := busybox("proxy", "sleep", "1d")
	side.RestartPolicy = &always
	side.StartupProbe = execProbe1s(0, 1, 10)
	u.create(podSpec("web", 30, []corev1.Container{side}, busybox("app", "sleep", "1d")))
	u.set(probeStartup, probeOutcome{probeFailure, "not yet"})

	p := u.syncAndFeed("web")
	if len(u.ctrs(p, "proxy")) != 1 || len(u.ctrs(p, "app")) != 0 {
		t.Fatalf("app started before the sidecar's startup probe succeeded")
	}
	u.pclock.advance(0)
	p = u.syncAndFeed("web")
	if len(u.ctrs(p, "app")) != 0 {
		t.Fatal("app started after a failed startup probe")
	}
	if s := status(p, "proxy"); s.Started == nil || *s.Started {
		t.Fatalf("sidecar started=%v before its probe succeeded", s.Started)
	}
	u.set(probeStartup, probeOutcome{probeSuccess, ""})
	u.pclock.advance(time.Second)
	p = u.syncAndFeed("web")
	if len(u.ctrs(p, "app")) != 1 {
		t.Fatal("app not started once the sidecar started")
	}
	if s := status(p, "proxy"); s.Started == nil || !*s.Started {
		t.Fatalf("sidecar started=%v after its probe succeeded", s.Started)
	}
}
