package reconcile

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/k2d-project/k2d/translate"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// fakeProbeClock is a probeClock whose time moves only when the test advances it; due timers
// fire synchronously, in order, from advance.
type fakeProbeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeProbeTimer
}

type fakeProbeTimer struct {
	c             *fakeProbeClock
	at            time.Time
	f             func()
	stopped, done bool
}

func (t *fakeProbeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := !t.stopped && !t.done
	t.stopped = true
	return was
}

func (c *fakeProbeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeProbeClock) AfterFunc(d time.Duration, f func()) probeTimer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeProbeTimer{c: c, at: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	return t
}

// set moves the clock without firing timers: a probe that takes time.
func (c *fakeProbeClock) set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

// pending counts the armed timers.
func (c *fakeProbeClock) pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, t := range c.timers {
		if !t.stopped && !t.done {
			n++
		}
	}
	return n
}

// advance moves time forward by d, firing every timer that comes due on the way.
func (c *fakeProbeClock) advance(d time.Duration) {
	c.mu.Lock()
	end := c.now.Add(d)
	for {
		var next *fakeProbeTimer
		for _, t := range c.timers {
			if !t.stopped && !t.done && !t.at.After(end) && (next == nil || t.at.Before(next.at)) {
				next = t
			}
		}
		if next == nil {
			if end.After(c.now) {
				c.now = end
			}
			c.mu.Unlock()
			return
		}
		if next.at.After(c.now) {
			c.now = next.at
		}
		next.done = true
		c.mu.Unlock()
		next.f()
		c.mu.Lock()
	}
}

var probeEpoch = time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)

// probeBench drives a probeManager with a fake clock and a scripted prober, and records
// every run and action with its time since probeEpoch.
type probeBench struct {
	t       *testing.T
	clock   *fakeProbeClock
	m       *probeManager
	outcome func(k probeKind, at time.Duration) probeOutcome
	runs    []string
	acts    []string
	raw     []probeAction
}

func newProbeBench(t *testing.T, outcome func(k probeKind, at time.Duration) probeOutcome) *probeBench {
	b := &probeBench{t: t, clock: &fakeProbeClock{now: probeEpoch}, m: &probeManager{}, outcome: outcome}
	b.m.init(b.clock, b.run, b.act, context.Background())
	return b
}

func (b *probeBench) since() time.Duration { return b.clock.Now().Sub(probeEpoch) }

func (b *probeBench) run(_ context.Context, call *probeCall) probeOutcome {
	at := b.since()
	b.runs = append(b.runs, fmt.Sprintf("%v %s", at, call.kind))
	return b.outcome(call.kind, at)
}

func (b *probeBench) act(acts []probeAction) {
	for _, a := range acts {
		b.raw = append(b.raw, a)
		switch a.op {
		case opStatus:
			obs := map[string]translate.ContainerObservation{}
			b.m.verdicts(a.pod.UID, obs)
			v := obs[a.ctr]
			b.acts = append(b.acts, fmt.Sprintf("%v status ready=%v started=%v", b.since(), deref(v.Ready), deref(v.Started)))
		case opEvent:
			b.acts = append(b.acts, fmt.Sprintf("%v %s %s", b.since(), a.reason, a.msg))
		case opKill:
			b.acts = append(b.acts, fmt.Sprintf("%v %s %s grace=%d", b.since(), a.reason, a.msg, a.grace))
		}
	}
}

func deref(p *bool) string {
	if p == nil {
		return "nil"
	}
	return fmt.Sprint(*p)
}

// probePod is a pod whose container "app" has the given probes and runs as instance id,
// started at probeEpoch+startedAt.
func probePod(live, ready, startup *corev1.Probe, id string, startedAt time.Duration) *corev1.Pod {
	grace := int64(12)
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", UID: "uid-web"},
		Spec: corev1.PodSpec{
			RestartPolicy:                 corev1.RestartPolicyAlways,
			TerminationGracePeriodSeconds: &grace,
			Containers: []corev1.Container{{Name: "app", Image: "busybox",
				LivenessProbe: live, ReadinessProbe: ready, StartupProbe: startup}},
		},
		Status: corev1.PodStatus{
			Phase: corev1.PodRunning,
			PodIP: "10.0.0.9",
			ContainerStatuses: []corev1.ContainerStatus{{Name: "app", ContainerID: "docker://" + id,
				State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(probeEpoch.Add(startedAt))}}}},
		},
	}
}

func exitedPod(p *corev1.Pod) *corev1.Pod {
	p = p.DeepCopy()
	p.Status.ContainerStatuses[0].State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 137}}
	return p
}

// execProbe1s is an exec probe with period 1s and the given thresholds.
func execProbe1s(delay, success, failure int32) *corev1.Probe {
	return &corev1.Probe{
		ProbeHandler:        corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"check"}}},
		InitialDelaySeconds: delay, PeriodSeconds: 1, TimeoutSeconds: 1, SuccessThreshold: success, FailureThreshold: failure,
	}
}

func ok() probeOutcome                { return probeOutcome{probeSuccess, ""} }
func fail(msg string) probeOutcome    { return probeOutcome{probeFailure, msg} }
func errored(msg string) probeOutcome { return probeOutcome{probeError, msg} }

// TestProbeStateMachine walks the kubelet's prober rules through time: initial delays,
// periods, thresholds, startup gating, kills, errors and warnings, and status writes only on
// transitions.
func TestProbeStateMachine(t *testing.T) {
	s := time.Second
	withGrace := func(p *corev1.Probe, g int64) *corev1.Probe { p.TerminationGracePeriodSeconds = &g; return p }
	for _, tc := range []struct {
		name                   string
		live, ready, startup   *corev1.Probe
		policy                 corev1.RestartPolicy
		startedAt, runFor      time.Duration
		outcome                func(k probeKind, at time.Duration) probeOutcome
		wantRuns, wantActs     []string
		wantPendingAfter       int
		readyAfter, startAfter string
	}{
		{
			name:  "readiness flips after failureThreshold failures, and back after one success",
			ready: execProbe1s(0, 1, 3), runFor: 8 * s,
			outcome: func(k probeKind, at time.Duration) probeOutcome {
				if at >= 2*s && at < 6*s {
					return fail("nope")
				}
				return ok()
			},
			wantRuns: []string{"0s Readiness", "1s Readiness", "2s Readiness", "3s Readiness", "4s Readiness", "5s Readiness", "6s Readiness", "7s Readiness", "8s Readiness"},
			wantActs: []string{
				"0s status ready=true started=nil",
				"2s Unhealthy Readiness probe failed: nope",
				"3s Unhealthy Readiness probe failed: nope",
				"4s Unhealthy Readiness probe failed: nope",
				"4s status ready=false started=nil",
				"5s Unhealthy Readiness probe failed: nope",
				"6s status ready=true started=nil",
			},
			wantPendingAfter: 1, readyAfter: "true",
		},
		{
			name:  "initialDelaySeconds counts from the container's start; periods follow",
			ready: func() *corev1.Probe { p := execProbe1s(5, 1, 3); p.PeriodSeconds = 2; return p }(), runFor: 9 * s,
			outcome:          func(probeKind, time.Duration) probeOutcome { return fail("") },
			wantRuns:         []string{"5s Readiness", "7s Readiness", "9s Readiness"},
			wantActs:         []string{"5s Unhealthy Readiness probe failed: ", "7s Unhealthy Readiness probe failed: ", "9s Unhealthy Readiness probe failed: "},
			wantPendingAfter: 1, readyAfter: "false",
		},
		{
			name:  "an adopted container that started long ago is probed at once",
			ready: execProbe1s(30, 1, 3), startedAt: -time.Hour, runFor: 1 * s,
			outcome:          func(probeKind, time.Duration) probeOutcome { return ok() },
			wantRuns:         []string{"0s Readiness", "1s Readiness"},
			wantActs:         []string{"0s status ready=true started=nil"},
			wantPendingAfter: 1, readyAfter: "true",
		},
		{
			name:  "successThreshold needs that many successes in a row; one status write per transition",
			ready: execProbe1s(0, 3, 1), runFor: 10 * s,
			outcome: func(k probeKind, at time.Duration) probeOutcome {
				if at == 1*s {
					return fail("blip")
				}
				return ok()
			},
			wantRuns: []string{"0s Readiness", "1s Readiness", "2s Readiness", "3s Readiness", "4s Readiness", "5s Readiness",
				"6s Readiness", "7s Readiness", "8s Readiness", "9s Readiness", "10s Readiness"},
			wantActs:         []string{"1s Unhealthy Readiness probe failed: blip", "4s status ready=true started=nil"},
			wantPendingAfter: 1, readyAfter: "true",
		},
		{
			name: "default period and thresholds when the spec leaves them 0",
			live: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"x"}}}}, runFor: 25 * s,
			outcome:          func(probeKind, time.Duration) probeOutcome { return fail("bad") },
			wantRuns:         []string{"0s Liveness", "10s Liveness", "20s Liveness"},
			wantActs:         []string{"0s Unhealthy Liveness probe failed: bad", "10s Unhealthy Liveness probe failed: bad", "20s Unhealthy Liveness probe failed: bad", "20s Killing Container app failed liveness probe, will be restarted grace=12"},
			wantPendingAfter: 0,
		},
		{
			name:    "startup gates liveness and readiness until it succeeds, then never runs again",
			startup: execProbe1s(0, 1, 10), live: execProbe1s(0, 1, 1), ready: execProbe1s(0, 1, 3), runFor: 5 * s,
			outcome: func(k probeKind, at time.Duration) probeOutcome {
				if k == probeStartup && at < 3*s {
					return fail("starting")
				}
				return ok()
			},
			wantRuns: []string{"0s Startup", "1s Startup", "2s Startup", "3s Startup",
				"3s Liveness", "3s Readiness", "4s Liveness", "4s Readiness", "5s Liveness", "5s Readiness"},
			wantActs: []string{
				"0s Unhealthy Startup probe failed: starting", "1s Unhealthy Startup probe failed: starting", "2s Unhealthy Startup probe failed: starting",
				"3s status ready=false started=true",
				"3s status ready=true started=true",
			},
			wantPendingAfter: 2, readyAfter: "true", startAfter: "true",
		},
		{
			name:    "readiness initialDelaySeconds counts from the start, not from the startup probe's success",
			startup: execProbe1s(0, 1, 10), ready: execProbe1s(4, 1, 3), runFor: 5 * s,
			outcome: func(k probeKind, at time.Duration) probeOutcome {
				if k == probeStartup && at < 1*s {
					return fail("")
				}
				return ok()
			},
			wantRuns:         []string{"0s Startup", "1s Startup", "4s Readiness", "5s Readiness"},
			wantActs:         []string{"0s Unhealthy Startup probe failed: ", "1s status ready=false started=true", "4s status ready=true started=true"},
			wantPendingAfter: 1, readyAfter: "true", startAfter: "true",
		},
		{
			name:    "a startup probe that never succeeds kills the container with the probe's grace period; the worker then holds",
			startup: withGrace(execProbe1s(1, 1, 3), 2), ready: execProbe1s(0, 1, 1), runFor: 10 * s,
			outcome:  func(probeKind, time.Duration) probeOutcome { return fail("no") },
			wantRuns: []string{"1s Startup", "2s Startup", "3s Startup"},
			wantActs: []string{"1s Unhealthy Startup probe failed: no", "2s Unhealthy Startup probe failed: no", "3s Unhealthy Startup probe failed: no",
				"3s Killing Container app failed startup probe, will be restarted grace=2"},
			wantPendingAfter: 0, readyAfter: "false", startAfter: "false",
		},
		{
			name: "liveness failure under restartPolicy Never: killed, not to be restarted; readiness goes on",
			live: execProbe1s(0, 1, 2), ready: execProbe1s(0, 1, 3), policy: corev1.RestartPolicyNever, runFor: 3 * s,
			outcome: func(k probeKind, at time.Duration) probeOutcome {
				if k == probeLiveness {
					return fail("HTTP probe failed with statuscode: 500")
				}
				return ok()
			},
			wantRuns: []string{"0s Liveness", "0s Readiness", "1s Liveness", "1s Readiness", "2s Readiness", "3s Readiness"},
			wantActs: []string{"0s Unhealthy Liveness probe failed: HTTP probe failed with statuscode: 500", "0s status ready=true started=nil",
				"1s Unhealthy Liveness probe failed: HTTP probe failed with statuscode: 500", "1s Killing Container app failed liveness probe grace=12"},
			wantPendingAfter: 1, readyAfter: "true",
		},
		{
			name:  "probe errors are reported and thrown away: they neither count nor break a run",
			ready: execProbe1s(0, 1, 2), runFor: 4 * s,
			outcome: func(k probeKind, at time.Duration) probeOutcome {
				switch at {
				case 0:
					return ok()
				case 2 * s:
					return errored("strconv.Atoi: parsing \"http\": invalid syntax")
				}
				return fail("down")
			},
			wantRuns: []string{"0s Readiness", "1s Readiness", "2s Readiness", "3s Readiness", "4s Readiness"},
			wantActs: []string{"0s status ready=true started=nil", "1s Unhealthy Readiness probe failed: down",
				"2s Unhealthy Readiness probe errored and resulted in unknown state: strconv.Atoi: parsing \"http\": invalid syntax",
				"3s Unhealthy Readiness probe failed: down", "3s status ready=false started=nil", "4s Unhealthy Readiness probe failed: down"},
			wantPendingAfter: 1, readyAfter: "false",
		},
		{
			name:  "a warning (redirect to another host) counts as success and is reported",
			ready: execProbe1s(0, 1, 1), runFor: 0,
			outcome: func(probeKind, time.Duration) probeOutcome {
				return probeOutcome{probeWarning, "Probe terminated redirects, Response body: moved"}
			},
			wantRuns:         []string{"0s Readiness"},
			wantActs:         []string{"0s ProbeWarning Readiness probe warning: Probe terminated redirects, Response body: moved", "0s status ready=true started=nil"},
			wantPendingAfter: 1, readyAfter: "true",
		},
		{
			name:    "an unsupported probe (grpc) counts as a success at once, is reported once and never runs again",
			startup: execProbe1s(0, 1, 3), live: execProbe1s(0, 1, 1), ready: execProbe1s(0, 3, 1), runFor: 5 * s,
			outcome:  func(probeKind, time.Duration) probeOutcome { return probeOutcome{probeUnsupported, grpcUnsupported} },
			wantRuns: []string{"0s Startup", "0s Liveness", "0s Readiness"},
			wantActs: []string{
				"0s ProbeWarning Startup probe warning: " + grpcUnsupported, "0s status ready=false started=true",
				"0s ProbeWarning Liveness probe warning: " + grpcUnsupported,
				"0s ProbeWarning Readiness probe warning: " + grpcUnsupported, "0s status ready=true started=true",
			},
			wantPendingAfter: 0, readyAfter: "true", startAfter: "true",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newProbeBench(t, tc.outcome)
			pod := probePod(tc.live, tc.ready, tc.startup, "c1", tc.startedAt)
			if tc.policy != "" {
				pod.Spec.RestartPolicy = tc.policy
			}
			b.m.update(pod)
			b.clock.advance(0)
			b.clock.advance(tc.runFor)
			if got, want := strings.Join(b.runs, "\n"), strings.Join(tc.wantRuns, "\n"); got != want {
				t.Errorf("runs:\n%s\nwant:\n%s", got, want)
			}
			if got, want := strings.Join(b.acts, "\n"), strings.Join(tc.wantActs, "\n"); got != want {
				t.Errorf("actions:\n%s\nwant:\n%s", got, want)
			}
			if n := b.clock.pending(); n != tc.wantPendingAfter {
				t.Errorf("%d timers armed at the end, want %d", n, tc.wantPendingAfter)
			}
			obs := map[string]translate.ContainerObservation{}
			b.m.verdicts(pod.UID, obs)
			v := obs["app"]
			if v.ProbedID != "c1" {
				t.Errorf("verdicts name instance %q, want c1", v.ProbedID)
			}
			if tc.readyAfter != "" && deref(v.Ready) != tc.readyAfter {
				t.Errorf("ready verdict %s, want %s", deref(v.Ready), tc.readyAfter)
			}
			if tc.startAfter != "" && deref(v.Started) != tc.startAfter {
				t.Errorf("started verdict %s, want %s", deref(v.Started), tc.startAfter)
			}
		})
	}
}

// TestProbeSlowRunSkipsTicks: a probe that takes longer than its period does not pile runs
// up; the next run comes at the next tick after it ends.
func TestProbeSlowRunSkipsTicks(t *testing.T) {
	var b *probeBench
	b = newProbeBench(t, func(k probeKind, at time.Duration) probeOutcome {
		if at == 0 {
			b.clock.set(probeEpoch.Add(2500 * time.Millisecond))
		}
		return ok()
	})
	b.m.update(probePod(nil, execProbe1s(0, 1, 3), nil, "c1", 0))
	b.clock.advance(0)
	b.clock.advance(2 * time.Second)
	if got := strings.Join(b.runs, ","); got != "0s Readiness,3s Readiness,4s Readiness" {
		t.Errorf("runs %s", got)
	}
}

// TestProbeWorkersFollowInstances: workers exist only for running instances with probes.
func TestProbeWorkersFollowInstances(t *testing.T) {
	b := newProbeBench(t, func(probeKind, time.Duration) probeOutcome { return ok() })

	// No probes: nothing is armed, nothing is remembered.
	b.m.update(probePod(nil, nil, nil, "c0", 0))
	if n := b.clock.pending(); n != 0 || len(b.m.pods) != 0 {
		t.Fatalf("a pod without probes armed %d timers (%d pods remembered)", n, len(b.m.pods))
	}
	// Not running yet (no container ID): nothing either.
	pending := probePod(execProbe1s(0, 1, 3), execProbe1s(0, 1, 3), nil, "c1", 0)
	pending.Status.ContainerStatuses[0].State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}
	pending.Status.ContainerStatuses[0].ContainerID = ""
	b.m.update(pending)
	if n := b.clock.pending(); n != 0 {
		t.Fatalf("a waiting container armed %d timers", n)
	}

	pod := probePod(execProbe1s(0, 1, 3), execProbe1s(0, 1, 3), nil, "c1", 0)
	b.m.update(pod)
	b.clock.advance(0)
	if n := b.clock.pending(); n != 2 {
		t.Fatalf("running with liveness and readiness: %d timers, want 2", n)
	}
	// Status writes that change nothing (the same instance) leave the workers alone.
	runs := len(b.runs)
	for i := 0; i < 5; i++ {
		b.m.update(pod.DeepCopy())
	}
	b.clock.advance(0)
	if n := b.clock.pending(); n != 2 || len(b.runs) != runs {
		t.Fatalf("repeated updates: %d timers, %d extra runs", n, len(b.runs)-runs)
	}

	// The container exits: its timers stop.
	b.m.update(exitedPod(pod))
	if n := b.clock.pending(); n != 0 || len(b.m.pods) != 0 {
		t.Fatalf("after exit: %d timers, %d pods remembered", n, len(b.m.pods))
	}
	b.clock.advance(time.Minute)
	if len(b.runs) != runs {
		t.Fatalf("probes ran after the container exited: %v", b.runs[runs:])
	}

	// A new instance gets fresh verdicts: not ready until its own probe succeeds.
	b.clock.advance(0)
	restarted := probePod(execProbe1s(0, 1, 3), execProbe1s(2, 1, 3), nil, "c2", 60*time.Second)
	b.m.update(restarted)
	obs := map[string]translate.ContainerObservation{}
	b.m.verdicts(restarted.UID, obs)
	if v := obs["app"]; v.ProbedID != "c2" || v.Ready == nil || *v.Ready {
		t.Fatalf("new instance verdicts: %+v", v)
	}
	b.clock.advance(2 * time.Second)
	obs = map[string]translate.ContainerObservation{}
	b.m.verdicts(restarted.UID, obs)
	if v := obs["app"]; v.Ready == nil || !*v.Ready {
		t.Fatalf("new instance not ready after its probe: %+v", v)
	}

	// Deletion stops probing at once; so does a pod that is gone, and stop.
	deleting := restarted.DeepCopy()
	now := metav1.NewTime(b.clock.Now())
	deleting.DeletionTimestamp = &now
	b.m.update(deleting)
	if n := b.clock.pending(); n != 0 {
		t.Fatalf("a terminating pod keeps %d timers", n)
	}
	b.m.update(restarted)
	b.m.remove(restarted.UID)
	if n := b.clock.pending(); n != 0 {
		t.Fatalf("a deleted pod keeps %d timers", n)
	}
	b.m.update(restarted)
	b.m.stop()
	b.m.update(restarted)
	if n := b.clock.pending(); n != 0 {
		t.Fatalf("after stop: %d timers", n)
	}
}

// TestProbeSidecarStarted: the startup verdict of a sidecar gates the containers after it.
func TestProbeSidecarStarted(t *testing.T) {
	b := newProbeBench(t, func(k probeKind, at time.Duration) probeOutcome {
		if at < time.Second {
			return fail("")
		}
		return ok()
	})
	always := corev1.ContainerRestartPolicyAlways
	side := corev1.Container{Name: "proxy", RestartPolicy: &always, StartupProbe: execProbe1s(0, 1, 5)}
	pod := probePod(nil, nil, nil, "c1", 0)
	pod.Spec.InitContainers = []corev1.Container{side}
	pod.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "proxy", ContainerID: "docker://s1",
		State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(probeEpoch)}}}}
	b.m.update(pod)
	b.clock.advance(0)
	if b.m.started(pod.UID, &side, "s1") {
		t.Fatal("sidecar counts as started before its startup probe succeeded")
	}
	if !b.m.started(pod.UID, &pod.Spec.Containers[0], "c1") {
		t.Fatal("a container without a startup probe counts as started")
	}
	b.clock.advance(time.Second)
	if !b.m.started(pod.UID, &side, "s1") || b.m.started(pod.UID, &side, "s0") {
		t.Fatal("started verdict not bound to the sidecar's instance")
	}
	var sawStatus bool
	for _, a := range b.raw {
		if a.op == opStatus && a.ctr == "proxy" {
			sawStatus = true
		}
		if a.op == opEvent && (!a.init || a.ctr != "proxy") {
			t.Errorf("event about %q init=%v, want the sidecar", a.ctr, a.init)
		}
	}
	if !sawStatus {
		t.Error("no status write when the sidecar started")
	}
}

func TestProbeUserAgent(t *testing.T) {
	for in, want := range map[string]string{
		"v1.32.0+k2d.dev": "kube-probe/1.32",
		"v1.33.2":         "kube-probe/1.33",
		"garbage":         "kube-probe",
	} {
		if got := probeUserAgent(in); got != want {
			t.Errorf("probeUserAgent(%q) = %q, want %q", in, got, want)
		}
	}
}
