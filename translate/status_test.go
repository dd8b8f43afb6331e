package translate

import (
	"reflect"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var now = time.Date(2026, 11, 28, 16, 0, 0, 0, time.UTC)

func TestDockerStateFixtures(t *testing.T) {
	cases := []struct {
		fixture  string
		waiting  string // reason, if waiting
		running  bool
		reason   string // terminated reason
		exitCode int32
		last     bool // a previous termination is implied
	}{
		{fixture: "running.json", running: true},
		{fixture: "hostnet.json", running: true},
		{fixture: "created.json", waiting: ReasonContainerCreating},
		{fixture: "exited0.json", reason: ReasonCompleted},
		{fixture: "exited1.json", reason: ReasonError, exitCode: 1},
		{fixture: "oomkilled.json", reason: ReasonOOMKilled, exitCode: 137},
		{fixture: "starterror.json", reason: ReasonStartError, exitCode: 127},
		{fixture: "restarting.json", waiting: ReasonCrashLoopBackOff, last: true},
	}
	for _, c := range cases {
		ins := loadOne(t, c.fixture)
		st, last := dockerState(ins, ReasonContainerCreating)
		switch {
		case c.running:
			if st.Running == nil || st.Running.StartedAt.IsZero() {
				t.Errorf("%s: %s, want running with startedAt", c.fixture, toJSON(st))
			}
		case c.waiting != "":
			if st.Waiting == nil || st.Waiting.Reason != c.waiting {
				t.Errorf("%s: %s, want waiting %s", c.fixture, toJSON(st), c.waiting)
			}
		default:
			tm := st.Terminated
			if tm == nil || tm.Reason != c.reason || tm.ExitCode != c.exitCode || tm.ContainerID != "docker://"+ins.ID {
				t.Errorf("%s: %s, want terminated %s/%d", c.fixture, toJSON(st), c.reason, c.exitCode)
				continue
			}
			if c.reason == ReasonStartError {
				if tm.Message == "" || !tm.StartedAt.IsZero() {
					t.Errorf("%s: start error needs the message and no start time: %s", c.fixture, toJSON(tm))
				}
			} else if tm.StartedAt.IsZero() || tm.FinishedAt.Before(&tm.StartedAt) {
				t.Errorf("%s: times %s", c.fixture, toJSON(tm))
			}
		}
		if (last != nil) != c.last {
			t.Errorf("%s: last %v", c.fixture, toJSON(last))
		}
		if c.last && (last.ExitCode != 3 || last.Reason != ReasonError) {
			t.Errorf("%s: last %s", c.fixture, toJSON(last))
		}
	}
}

// web0 loads the fixture pod and the containers the end-to-end test captured for it: the
// sandbox, init "setup" (exited 0), "web" and "probe" (running) and "fails" (attempts 0 and 1,
// both exited 2).
func web0(t *testing.T) (*corev1.Pod, *container.InspectResponse, []container.InspectResponse) {
	pod := loadPod(t, "web-0.json")
	all := loadInspect(t, "pod-web-0.json")
	return pod, &all[0], all[1:]
}

func statusByName(list []corev1.ContainerStatus) map[string]corev1.ContainerStatus {
	m := map[string]corev1.ContainerStatus{}
	for _, s := range list {
		m[s.Name] = s
	}
	return m
}

func cond(s corev1.PodStatus, t corev1.PodConditionType) *corev1.PodCondition {
	for i := range s.Conditions {
		if s.Conditions[i].Type == t {
			return &s.Conditions[i]
		}
	}
	return nil
}

func TestPodStatusWeb0(t *testing.T) {
	pod, sb, ctrs := web0(t)
	podIP := sb.NetworkSettings.Networks[NetworkName(pod.Namespace)].IPAddress
	obs := Observed{
		HostIP: "192.0.2.1",
		Containers: map[string]ContainerObservation{
			"fails": {Reason: ReasonCrashLoopBackOff, Message: "back-off 20s restarting failed container=fails pod=web-0_k2dtest"},
		},
		RepoDigests: map[string]string{ctrs[1].Image: "k2d-test/busybox@sha256:" + "ab12"},
	}
	s := PodStatus(pod, sb, ctrs, now, obs)

	if s.Phase != corev1.PodRunning || s.PodIP != podIP || !reflect.DeepEqual(s.PodIPs, []corev1.PodIP{{IP: podIP}}) {
		t.Errorf("phase %s podIP %s %v", s.Phase, s.PodIP, s.PodIPs)
	}
	if s.HostIP != "192.0.2.1" || !reflect.DeepEqual(s.HostIPs, []corev1.HostIP{{IP: "192.0.2.1"}}) {
		t.Errorf("hostIP %s %v", s.HostIP, s.HostIPs)
	}
	if s.QOSClass != corev1.PodQOSBurstable || s.ObservedGeneration != 1 {
		t.Errorf("qos %s generation %d", s.QOSClass, s.ObservedGeneration)
	}
	if s.StartTime == nil || !s.StartTime.Equal(ptr(parseTime(sb.Created))) {
		t.Errorf("startTime %v, want the sandbox's creation %s", s.StartTime, sb.Created)
	}

	// App statuses come sorted by name, as the kubelet sorts them.
	var names []string
	for _, cs := range s.ContainerStatuses {
		names = append(names, cs.Name)
	}
	if !reflect.DeepEqual(names, []string{"fails", "probe", "web"}) {
		t.Errorf("order %v", names)
	}
	st := statusByName(s.ContainerStatuses)
	fails := st["fails"]
	if fails.RestartCount != 1 || fails.State.Waiting == nil || fails.State.Waiting.Reason != ReasonCrashLoopBackOff ||
		fails.State.Waiting.Message == "" || fails.Ready || fails.Started == nil || *fails.Started {
		t.Errorf("fails: %s", toJSON(fails))
	}
	if lt := fails.LastTerminationState.Terminated; lt == nil || lt.ExitCode != 2 || lt.Reason != ReasonError ||
		lt.ContainerID != "docker://"+ctrs[4].ID || fails.ContainerID != "docker://"+ctrs[4].ID {
		t.Errorf("fails last state must be attempt 1: %s", toJSON(fails))
	}
	for _, name := range []string{"web", "probe"} {
		cs := st[name]
		if cs.State.Running == nil || cs.State.Running.StartedAt.IsZero() || !cs.Ready || cs.Started == nil || !*cs.Started ||
			cs.RestartCount != 0 || cs.Image != "k2d-test/busybox:1" || cs.ContainerID == "" || cs.LastTerminationState.Terminated != nil {
			t.Errorf("%s: %s", name, toJSON(cs))
		}
	}
	if st["probe"].ImageID != "docker-pullable://k2d-test/busybox@sha256:ab12" {
		t.Errorf("probe imageID %s", st["probe"].ImageID)
	}
	init := s.InitContainerStatuses
	if len(init) != 1 || init[0].Name != "setup" || init[0].State.Terminated == nil ||
		init[0].State.Terminated.Reason != ReasonCompleted || !init[0].Ready || *init[0].Started {
		t.Errorf("init: %s", toJSON(init))
	}

	wantConds := []struct {
		t      corev1.PodConditionType
		status corev1.ConditionStatus
		reason string
		msg    string
	}{
		{corev1.PodReadyToStartContainers, corev1.ConditionTrue, "", ""},
		{corev1.PodInitialized, corev1.ConditionTrue, "", ""},
		{corev1.PodReady, corev1.ConditionFalse, "ContainersNotReady", "containers with unready status: [fails]"},
		{corev1.ContainersReady, corev1.ConditionFalse, "ContainersNotReady", "containers with unready status: [fails]"},
		{corev1.PodScheduled, corev1.ConditionTrue, "", ""},
	}
	if len(s.Conditions) != len(wantConds) {
		t.Fatalf("conditions %s", toJSON(s.Conditions))
	}
	for i, w := range wantConds {
		c := s.Conditions[i]
		if c.Type != w.t || c.Status != w.status || c.Reason != w.reason || c.Message != w.msg || c.ObservedGeneration != 1 {
			t.Errorf("condition %d: %s", i, toJSON(c))
		}
		want := metav1.NewTime(now)
		if c.Type == corev1.PodScheduled {
			want = pod.CreationTimestamp
		}
		if !c.LastTransitionTime.Equal(&want) {
			t.Errorf("%s transition %v, want %v", c.Type, c.LastTransitionTime, want)
		}
	}

	// Without the controller's word, the newest attempt shows as it is: terminated.
	s = PodStatus(pod, sb, ctrs, now, Observed{})
	fails = statusByName(s.ContainerStatuses)["fails"]
	if fails.State.Terminated == nil || fails.State.Terminated.ContainerID != "docker://"+ctrs[4].ID ||
		fails.LastTerminationState.Terminated == nil || fails.LastTerminationState.Terminated.ContainerID != "docker://"+ctrs[3].ID {
		t.Errorf("fails without observation: %s", toJSON(fails))
	}
	if s.Phase != corev1.PodRunning {
		t.Errorf("phase %s", s.Phase)
	}
	if id := statusByName(s.ContainerStatuses)["web"].ImageID; id != "docker://"+ctrs[1].Image || ctrs[1].Image == "" {
		t.Errorf("web imageID without a digest: %s", id)
	}

	// Containers of other pods are not mixed in.
	other := loadPod(t, "hostnet.json")
	s = PodStatus(other, nil, ctrs, now, Observed{})
	if cs := s.ContainerStatuses[0]; cs.ContainerID != "" || cs.State.Waiting == nil {
		t.Errorf("foreign containers leaked: %s", toJSON(cs))
	}
}

func TestPodStatusKeepsHistory(t *testing.T) {
	pod, sb, ctrs := web0(t)
	first := PodStatus(pod, sb, ctrs, now, Observed{HostIP: "192.0.2.1"})
	pod.Status = first
	pod.Status.Conditions = append(pod.Status.Conditions, corev1.PodCondition{Type: "example.com/gate", Status: corev1.ConditionTrue})

	// Later, "fails" finally runs: Ready flips, the other conditions keep their times.
	later := now.Add(time.Minute)
	fixed := make([]container.InspectResponse, len(ctrs))
	copy(fixed, ctrs)
	running := *loadOne(t, "running.json")
	running.Config.Labels = ctrs[4].Config.Labels
	running.Config.Labels[LabelAttempt] = "2"
	fixed[4] = running
	s := PodStatus(pod, sb, fixed, later, Observed{})
	for _, c := range s.Conditions {
		switch c.Type {
		case corev1.PodReady, corev1.ContainersReady:
			if c.Status != corev1.ConditionTrue || !c.LastTransitionTime.Time.Equal(later) {
				t.Errorf("%s: %s", c.Type, toJSON(c))
			}
		case "example.com/gate":
			// conditions the kubelet does not own are kept
		default:
			old := cond(first, c.Type)
			if !c.LastTransitionTime.Equal(&old.LastTransitionTime) {
				t.Errorf("%s: transition moved from %v to %v", c.Type, old.LastTransitionTime, c.LastTransitionTime)
			}
		}
	}
	if cond(s, "example.com/gate") == nil {
		t.Error("foreign condition dropped")
	}
	if s.HostIP != "192.0.2.1" {
		t.Errorf("hostIP not kept: %q", s.HostIP)
	}
	if cs := statusByName(s.ContainerStatuses)["fails"]; cs.RestartCount != 2 || !cs.Ready {
		t.Errorf("fails: %s", toJSON(cs))
	}

	// The pod finished and Docker forgot everything: the last words and the IP stay.
	pod.Status = s
	pod.Status.Phase = corev1.PodSucceeded
	stopped := *sb
	stopped.State = &container.State{Status: container.StateExited}
	s = PodStatus(pod, &stopped, nil, later.Add(time.Minute), Observed{})
	if s.Phase != corev1.PodSucceeded {
		t.Errorf("terminal phase changed to %s", s.Phase)
	}
	if s.PodIP != first.PodIP || s.PodIP == "" {
		t.Errorf("podIP %q, want kept %q", s.PodIP, first.PodIP)
	}
	if is := s.InitContainerStatuses[0]; is.State.Terminated == nil || is.State.Terminated.Reason != ReasonCompleted {
		t.Errorf("kept init status: %s", toJSON(is))
	}
	if c := cond(s, corev1.PodReadyToStartContainers); c.Status != corev1.ConditionFalse {
		t.Errorf("sandbox stopped: %s", toJSON(c))
	}
	if c := cond(s, corev1.PodReady); c.Reason != reasonPodCompleted {
		t.Errorf("ready: %s", toJSON(c))
	}
	if !s.StartTime.Equal(first.StartTime) {
		t.Errorf("startTime moved")
	}
}

// podWith builds a pod whose containers are the named fixtures, relabelled as k2d would label
// them. A fixture name may end with @N for attempt N.
type ctr struct {
	name, fixture string
	attempt       int
	init, sidecar bool
}

func podWith(t *testing.T, policy corev1.RestartPolicy, ctrs ...ctr) (*corev1.Pod, []container.InspectResponse) {
	t.Helper()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "uid-p"},
		Spec:       corev1.PodSpec{RestartPolicy: policy},
	}
	var out []container.InspectResponse
	seen := map[string]bool{}
	for _, c := range ctrs {
		if !seen[c.name] {
			seen[c.name] = true
			spec := corev1.Container{Name: c.name, Image: "k2d-test/busybox:1"}
			if c.sidecar {
				spec.RestartPolicy = ptr(corev1.ContainerRestartPolicyAlways)
			}
			if c.init {
				pod.Spec.InitContainers = append(pod.Spec.InitContainers, spec)
			} else {
				pod.Spec.Containers = append(pod.Spec.Containers, spec)
			}
		}
		if c.fixture == "" {
			continue
		}
		ins := *loadOne(t, c.fixture)
		kind := KindApp
		if c.init {
			kind = KindInit
		}
		ins.Config.Labels = podLabels("p", "ns", "uid-p", DockerTypeContainer, kind, c.attempt)
		ins.Config.Labels[LabelContainerName] = c.name
		ins.Name = "/" + ContainerName(c.name, "p", "ns", "uid-p", c.attempt)
		out = append(out, ins)
	}
	return pod, out
}

func TestPodPhase(t *testing.T) {
	sandbox := loadOne(t, "running.json")
	cases := []struct {
		name    string
		policy  corev1.RestartPolicy
		ctrs    []ctr
		obs     map[string]ContainerObservation
		mutate  func(*corev1.Pod)
		want    corev1.PodPhase
		waiting map[string]string // container -> waiting reason
	}{
		{name: "nothing yet", policy: corev1.RestartPolicyAlways, ctrs: []ctr{{name: "a"}}, want: corev1.PodPending,
			waiting: map[string]string{"a": ReasonContainerCreating}},
		{name: "image pull failing", policy: corev1.RestartPolicyAlways, ctrs: []ctr{{name: "a"}},
			obs:  map[string]ContainerObservation{"a": {Reason: ReasonImagePullBackOff, Message: "Back-off pulling image"}},
			want: corev1.PodPending, waiting: map[string]string{"a": ReasonImagePullBackOff}},
		{name: "created, not started", policy: corev1.RestartPolicyAlways, ctrs: []ctr{{name: "a", fixture: "created.json"}}, want: corev1.PodPending,
			waiting: map[string]string{"a": ReasonContainerCreating}},
		{name: "running", policy: corev1.RestartPolicyAlways, ctrs: []ctr{{name: "a", fixture: "running.json"}}, want: corev1.PodRunning},
		{name: "one running one not created", policy: corev1.RestartPolicyAlways, ctrs: []ctr{{name: "a", fixture: "running.json"}, {name: "b"}}, want: corev1.PodPending},

		{name: "Always, exited 0", policy: corev1.RestartPolicyAlways, ctrs: []ctr{{name: "a", fixture: "exited0.json"}}, want: corev1.PodRunning},
		{name: "Always, exited 1", policy: corev1.RestartPolicyAlways, ctrs: []ctr{{name: "a", fixture: "exited1.json"}}, want: corev1.PodRunning},
		{name: "Always, crash loop", policy: corev1.RestartPolicyAlways, ctrs: []ctr{{name: "a", fixture: "exited1.json", attempt: 4}},
			obs: map[string]ContainerObservation{"a": {Reason: ReasonCrashLoopBackOff}}, want: corev1.PodRunning,
			waiting: map[string]string{"a": ReasonCrashLoopBackOff}},
		{name: "OnFailure, exited 0", policy: corev1.RestartPolicyOnFailure, ctrs: []ctr{{name: "a", fixture: "exited0.json"}}, want: corev1.PodSucceeded},
		{name: "OnFailure, exited 1", policy: corev1.RestartPolicyOnFailure, ctrs: []ctr{{name: "a", fixture: "exited1.json"}}, want: corev1.PodRunning},
		{name: "OnFailure, OOM killed", policy: corev1.RestartPolicyOnFailure, ctrs: []ctr{{name: "a", fixture: "oomkilled.json"}}, want: corev1.PodRunning},
		{name: "Never, exited 0", policy: corev1.RestartPolicyNever, ctrs: []ctr{{name: "a", fixture: "exited0.json"}}, want: corev1.PodSucceeded},
		{name: "Never, exited 1", policy: corev1.RestartPolicyNever, ctrs: []ctr{{name: "a", fixture: "exited1.json"}}, want: corev1.PodFailed},
		{name: "Never, OOM killed", policy: corev1.RestartPolicyNever, ctrs: []ctr{{name: "a", fixture: "oomkilled.json"}}, want: corev1.PodFailed},
		{name: "Never, start error", policy: corev1.RestartPolicyNever, ctrs: []ctr{{name: "a", fixture: "starterror.json"}}, want: corev1.PodFailed},
		{name: "Never, one failed one running", policy: corev1.RestartPolicyNever,
			ctrs: []ctr{{name: "a", fixture: "exited1.json"}, {name: "b", fixture: "running.json"}}, want: corev1.PodRunning},
		{name: "Never, mixed exits", policy: corev1.RestartPolicyNever,
			ctrs: []ctr{{name: "a", fixture: "exited1.json"}, {name: "b", fixture: "exited0.json"}}, want: corev1.PodFailed},
		{name: "default policy is Always", ctrs: []ctr{{name: "a", fixture: "exited0.json"}}, want: corev1.PodRunning},

		{name: "init running", policy: corev1.RestartPolicyAlways,
			ctrs: []ctr{{name: "i", fixture: "running.json", init: true}, {name: "a"}}, want: corev1.PodPending,
			waiting: map[string]string{"a": ReasonPodInitializing}},
		{name: "init not started", policy: corev1.RestartPolicyAlways,
			ctrs: []ctr{{name: "i", init: true}, {name: "a"}}, want: corev1.PodPending,
			waiting: map[string]string{"i": ReasonPodInitializing, "a": ReasonPodInitializing}},
		{name: "init done, app starting", policy: corev1.RestartPolicyAlways,
			ctrs: []ctr{{name: "i", fixture: "exited0.json", init: true}, {name: "a"}}, want: corev1.PodPending,
			waiting: map[string]string{"a": ReasonPodInitializing}},
		{name: "init done, app running", policy: corev1.RestartPolicyNever,
			ctrs: []ctr{{name: "i", fixture: "exited0.json", init: true}, {name: "a", fixture: "running.json"}}, want: corev1.PodRunning},
		{name: "Never, init failed", policy: corev1.RestartPolicyNever,
			ctrs: []ctr{{name: "i", fixture: "exited1.json", init: true}, {name: "a"}}, want: corev1.PodFailed},
		{name: "Always, init failed is retried", policy: corev1.RestartPolicyAlways,
			ctrs: []ctr{{name: "i", fixture: "exited1.json", init: true}, {name: "a"}}, want: corev1.PodPending},
		{name: "OnFailure, init crash looping", policy: corev1.RestartPolicyOnFailure,
			ctrs: []ctr{{name: "i", fixture: "exited1.json", init: true, attempt: 3}, {name: "a"}},
			obs:  map[string]ContainerObservation{"i": {Reason: ReasonCrashLoopBackOff}}, want: corev1.PodPending,
			waiting: map[string]string{"i": ReasonCrashLoopBackOff}},
		{name: "completed init ignores a stale waiting reason", policy: corev1.RestartPolicyNever,
			ctrs: []ctr{{name: "i", fixture: "exited0.json", init: true}, {name: "a", fixture: "running.json"}},
			obs:  map[string]ContainerObservation{"i": {Reason: ReasonCrashLoopBackOff}}, want: corev1.PodRunning},
		{name: "sidecar running with app", policy: corev1.RestartPolicyNever,
			ctrs: []ctr{{name: "s", fixture: "running.json", init: true, sidecar: true}, {name: "a", fixture: "running.json"}}, want: corev1.PodRunning},
		{name: "sidecar not started yet", policy: corev1.RestartPolicyNever,
			ctrs: []ctr{{name: "s", init: true, sidecar: true}, {name: "a"}}, want: corev1.PodPending},
		{name: "sidecar restarting after app ran", policy: corev1.RestartPolicyAlways,
			ctrs: []ctr{{name: "s", fixture: "exited1.json", init: true, sidecar: true}, {name: "a", fixture: "running.json"}}, want: corev1.PodRunning},
		{name: "app done, sidecar stopped", policy: corev1.RestartPolicyNever,
			ctrs: []ctr{{name: "s", fixture: "exited1.json", init: true, sidecar: true}, {name: "a", fixture: "exited0.json"}}, want: corev1.PodSucceeded},

		{name: "deleted, stopped by SIGKILL", policy: corev1.RestartPolicyAlways, ctrs: []ctr{{name: "a", fixture: "oomkilled.json"}},
			mutate: func(p *corev1.Pod) { p.DeletionTimestamp = &metav1.Time{Time: now} }, want: corev1.PodFailed},
		{name: "deleted, exited cleanly", policy: corev1.RestartPolicyAlways, ctrs: []ctr{{name: "a", fixture: "exited0.json"}},
			mutate: func(p *corev1.Pod) { p.DeletionTimestamp = &metav1.Time{Time: now} }, want: corev1.PodSucceeded},
		{name: "terminal phase sticks", policy: corev1.RestartPolicyAlways, ctrs: []ctr{{name: "a", fixture: "running.json"}},
			mutate: func(p *corev1.Pod) { p.Status.Phase = corev1.PodFailed; p.Status.Reason = "DeadlineExceeded" }, want: corev1.PodFailed},
	}
	for _, c := range cases {
		pod, ins := podWith(t, c.policy, c.ctrs...)
		if c.mutate != nil {
			c.mutate(pod)
		}
		s := PodStatus(pod, sandbox, ins, now, Observed{Containers: c.obs})
		if s.Phase != c.want {
			t.Errorf("%s: phase %s, want %s\n%s", c.name, s.Phase, c.want, toJSON(s))
		}
		all := statusByName(append(append([]corev1.ContainerStatus{}, s.InitContainerStatuses...), s.ContainerStatuses...))
		for name, reason := range c.waiting {
			if w := all[name].State.Waiting; w == nil || w.Reason != reason {
				t.Errorf("%s: %s state %s, want waiting %s", c.name, name, toJSON(all[name].State), reason)
			}
		}
		if c.obs["a"].Reason == ReasonCrashLoopBackOff {
			a := all["a"]
			if a.RestartCount != 4 || a.LastTerminationState.Terminated == nil || a.LastTerminationState.Terminated.ExitCode != 1 {
				t.Errorf("%s: crash loop status %s", c.name, toJSON(a))
			}
		}
		if c.name == "terminal phase sticks" && s.Reason != "DeadlineExceeded" {
			t.Errorf("%s: reason %q not kept", c.name, s.Reason)
		}
	}
}

func TestConditions(t *testing.T) {
	sandbox := loadOne(t, "running.json")

	pod, ins := podWith(t, corev1.RestartPolicyAlways, ctr{name: "i1", fixture: "exited0.json", init: true},
		ctr{name: "i2", fixture: "running.json", init: true}, ctr{name: "i3", init: true}, ctr{name: "a"})
	s := PodStatus(pod, nil, ins, now, Observed{})
	if c := cond(s, corev1.PodInitialized); c.Status != corev1.ConditionFalse || c.Reason != "ContainersNotInitialized" ||
		c.Message != "containers with incomplete status: [i2 i3]" {
		t.Errorf("initialized: %s", toJSON(c))
	}
	if c := cond(s, corev1.PodReadyToStartContainers); c.Status != corev1.ConditionFalse {
		t.Errorf("no sandbox: %s", toJSON(c))
	}

	// Probes: the controller's verdicts decide readiness and startedness.
	pod, ins = podWith(t, corev1.RestartPolicyAlways, ctr{name: "a", fixture: "running.json"}, ctr{name: "b", fixture: "running.json"},
		ctr{name: "c", fixture: "running.json"})
	pod.Spec.Containers[0].ReadinessProbe = &corev1.Probe{}
	pod.Spec.Containers[1].ReadinessProbe = &corev1.Probe{}
	pod.Spec.Containers[2].StartupProbe = &corev1.Probe{}
	s = PodStatus(pod, sandbox, ins, now, Observed{Containers: map[string]ContainerObservation{"b": {Ready: ptr(true)}}})
	st := statusByName(s.ContainerStatuses)
	if st["a"].Ready || !st["b"].Ready || st["c"].Ready || *st["c"].Started || !*st["a"].Started {
		t.Errorf("probe verdicts: %s", toJSON(s.ContainerStatuses))
	}
	if c := cond(s, corev1.ContainersReady); c.Message != "containers with unready status: [a c]" {
		t.Errorf("containers ready: %s", toJSON(c))
	}
	s = PodStatus(pod, sandbox, ins, now, Observed{Containers: map[string]ContainerObservation{
		"a": {Ready: ptr(true)}, "b": {Ready: ptr(true)}, "c": {Started: ptr(true)},
	}})
	if c := cond(s, corev1.PodReady); c.Status != corev1.ConditionTrue {
		t.Errorf("ready: %s", toJSON(s.Conditions))
	}

	// Readiness gates.
	pod.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: "lb.example.com/ready"}}
	obs := Observed{Containers: map[string]ContainerObservation{"a": {Ready: ptr(true)}, "b": {Ready: ptr(true)}, "c": {Started: ptr(true)}}}
	s = PodStatus(pod, sandbox, ins, now, obs)
	if c := cond(s, corev1.PodReady); c.Status != corev1.ConditionFalse || c.Reason != "ReadinessGatesNotReady" ||
		c.Message != `corresponding condition of pod readiness gate "lb.example.com/ready" does not exist.` {
		t.Errorf("gate missing: %s", toJSON(c))
	}
	if c := cond(s, corev1.ContainersReady); c.Status != corev1.ConditionTrue {
		t.Errorf("containers ready: %s", toJSON(c))
	}
	pod.Status.Conditions = []corev1.PodCondition{{Type: "lb.example.com/ready", Status: corev1.ConditionFalse}}
	s = PodStatus(pod, sandbox, ins, now, obs)
	if c := cond(s, corev1.PodReady); c.Message != `the status of pod readiness gate "lb.example.com/ready" is not "True", but False` {
		t.Errorf("gate false: %s", toJSON(c))
	}
	pod.Status.Conditions[0].Status = corev1.ConditionTrue
	s = PodStatus(pod, sandbox, ins, now, obs)
	if c := cond(s, corev1.PodReady); c.Status != corev1.ConditionTrue || s.Conditions[0].Type != "lb.example.com/ready" {
		t.Errorf("gate true: %s", toJSON(s.Conditions))
	}

	// Failed pod.
	pod, ins = podWith(t, corev1.RestartPolicyNever, ctr{name: "a", fixture: "exited1.json"})
	s = PodStatus(pod, sandbox, ins, now, Observed{})
	if c := cond(s, corev1.ContainersReady); c.Reason != "PodFailed" || cond(s, corev1.PodReady).Reason != "PodFailed" {
		t.Errorf("failed: %s", toJSON(s.Conditions))
	}
	// Succeeded pod.
	pod, ins = podWith(t, corev1.RestartPolicyNever, ctr{name: "i", fixture: "exited0.json", init: true}, ctr{name: "a", fixture: "exited0.json"})
	s = PodStatus(pod, sandbox, ins, now, Observed{})
	if c := cond(s, corev1.PodInitialized); c.Status != corev1.ConditionTrue || c.Reason != "PodCompleted" {
		t.Errorf("succeeded: %s", toJSON(s.Conditions))
	}
}

func TestContainerStatusDetails(t *testing.T) {
	sandbox := loadOne(t, "running.json")
	// Attempts are ordered by number, not by the order Docker lists them.
	pod, ins := podWith(t, corev1.RestartPolicyAlways,
		ctr{name: "a", fixture: "exited1.json", attempt: 9}, ctr{name: "a", fixture: "running.json", attempt: 10},
		ctr{name: "a", fixture: "oomkilled.json", attempt: 8})
	s := PodStatus(pod, sandbox, ins, now, Observed{Containers: map[string]ContainerObservation{"a": {TerminationMessage: "ignored while running"}}})
	a := s.ContainerStatuses[0]
	if a.RestartCount != 10 || a.State.Running == nil || a.LastTerminationState.Terminated == nil ||
		a.LastTerminationState.Terminated.ExitCode != 1 {
		t.Errorf("attempt order: %s", toJSON(a))
	}

	// The termination message shows on the newest terminated instance.
	pod, ins = podWith(t, corev1.RestartPolicyNever, ctr{name: "a", fixture: "exited1.json"})
	s = PodStatus(pod, sandbox, ins, now, Observed{Containers: map[string]ContainerObservation{"a": {TerminationMessage: "disk full"}}})
	if tm := s.ContainerStatuses[0].State.Terminated; tm == nil || tm.Message != "disk full" {
		t.Errorf("termination message: %s", toJSON(s.ContainerStatuses[0]))
	}

	// Attempt parsed from the name when the label is missing.
	pod, ins = podWith(t, corev1.RestartPolicyAlways, ctr{name: "a", fixture: "running.json", attempt: 7})
	delete(ins[0].Config.Labels, LabelAttempt)
	s = PodStatus(pod, sandbox, ins, now, Observed{})
	if s.ContainerStatuses[0].RestartCount != 7 {
		t.Errorf("attempt from name: %d", s.ContainerStatuses[0].RestartCount)
	}

	// Previous status without a Docker container: restart count and last state carry over.
	pod, _ = podWith(t, corev1.RestartPolicyAlways, ctr{name: "a"})
	pod.Status.ContainerStatuses = []corev1.ContainerStatus{{
		Name: "a", RestartCount: 3, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}},
		LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1}},
	}}
	s = PodStatus(pod, sandbox, nil, now, Observed{})
	if a := s.ContainerStatuses[0]; a.RestartCount != 3 || a.LastTerminationState.Terminated == nil || a.State.Waiting == nil {
		t.Errorf("carried over: %s", toJSON(a))
	}
}

func TestPodStatusHostNetwork(t *testing.T) {
	pod := loadPod(t, "hostnet.json")
	all := loadInspect(t, "pod-hostnet.json")
	s := PodStatus(pod, &all[0], all[1:], now, Observed{HostIP: "192.168.1.20", HostIPs: []string{"192.168.1.20", "fd00::20"}})
	if s.PodIP != "192.168.1.20" || len(s.PodIPs) != 1 || s.Phase != corev1.PodRunning {
		t.Errorf("podIP %s %v phase %s", s.PodIP, s.PodIPs, s.Phase)
	}
	if len(s.HostIPs) != 2 || s.HostIPs[1].IP != "fd00::20" {
		t.Errorf("hostIPs %v", s.HostIPs)
	}
	if s.QOSClass != corev1.PodQOSBestEffort {
		t.Errorf("qos %s", s.QOSClass)
	}
}

func TestParseTime(t *testing.T) {
	for in, zero := range map[string]bool{
		"0001-01-01T00:00:00Z": true, "": true, "garbage": true,
		"2026-11-28T15:38:08.34826805Z": false, "2026-11-28T15:38:08Z": false,
	} {
		if got := parseTime(in); got.IsZero() != zero {
			t.Errorf("parseTime(%q) = %v", in, got)
		}
	}
	if got := imageID("", nil); got != "" {
		t.Errorf("imageID of nothing: %q", got)
	}
}
