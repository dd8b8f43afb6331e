package reconcile

// This file: the probe scheduler and state machine, the kubelet's prober workers without the
// I/O. Probes run through a probeRunner (prober_run.go), time comes from a probeClock, and what
// the probes decide leaves as probeActions that probes.go carries out.

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/k2d-project/k2d/translate"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// probeKind is a container's liveness, readiness or startup probe.
type probeKind uint8

const (
	probeLiveness probeKind = iota
	probeReadiness
	probeStartup
	probeKinds
)

// String is the probe type as the kubelet's event messages spell it.
func (k probeKind) String() string {
	switch k {
	case probeLiveness:
		return "Liveness"
	case probeReadiness:
		return "Readiness"
	}
	return "Startup"
}

func (k probeKind) spec(c *corev1.Container) *corev1.Probe {
	switch k {
	case probeLiveness:
		return c.LivenessProbe
	case probeReadiness:
		return c.ReadinessProbe
	}
	return c.StartupProbe
}

// probeResult is what one probe run found.
type probeResult uint8

const (
	probeSuccess probeResult = iota + 1
	probeFailure
	// probeWarning counts as a success and is reported: an HTTP redirect to another host was
	// not followed.
	probeWarning
	// probeError means the probe could not run (a port name that resolves to nothing, Docker
	// refusing the exec): the kubelet reports it and throws the result away.
	probeError
	// probeUnsupported is a probe k2d cannot run (grpc): reported once per container
	// instance, it counts as a success and is not run again.
	probeUnsupported
)

// probeOutcome is a result with the output the kubelet puts in its event message.
type probeOutcome struct {
	result probeResult
	output string
}

// probeCall is what one probe run needs, copied out under the manager's lock.
type probeCall struct {
	kind  probeKind
	probe *corev1.Probe
	ctr   *corev1.Container
	id    string // the Docker container
	podIP string // the pod's address: the sandbox's, or the host's for hostNetwork pods
}

// probeRunner runs one probe; it returns within the probe's timeout (or when ctx ends).
type probeRunner func(ctx context.Context, call *probeCall) probeOutcome

// probeTimer is the part of *time.Timer the manager uses.
type probeTimer interface{ Stop() bool }

// probeClock gives the manager time: the real clock, or a fake one in tests.
type probeClock interface {
	Now() time.Time
	AfterFunc(d time.Duration, f func()) probeTimer
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) AfterFunc(d time.Duration, f func()) probeTimer { return time.AfterFunc(d, f) }

// probeOp says what a probeAction asks for.
type probeOp uint8

const (
	// opStatus: a container's ready or started verdict changed; the pod's status must be
	// written again.
	opStatus probeOp = iota + 1
	// opEvent: record a Warning event about the container.
	opEvent
	// opKill: the container failed its liveness or startup probe; stop it (with grace
	// seconds) and let the restart policy act.
	opKill
)

// probeAction is one thing the probes decided, carried out outside the manager's lock.
type probeAction struct {
	op     probeOp
	kind   probeKind
	pod    *corev1.Pod // the pod as the probe saw it: key, uid and event reference
	ctr    string
	init   bool // a sidecar (restartable init container)
	id     string
	reason string
	msg    string
	grace  int64
}

// probeManager runs the probes of the running containers of every pod, as the kubelet's
// prober manager does: a worker per container and probe type, each with one timer that is
// armed only while its container runs and the probe may run. Pods without probes cost a map
// lookup per status change and nothing else.
type probeManager struct {
	once  sync.Once
	clock probeClock
	run   probeRunner
	act   func([]probeAction)
	ctx   context.Context
	wg    sync.WaitGroup // probes in flight

	mu     sync.Mutex
	pods   map[types.UID]*probedPod
	closed bool
}

// probedPod holds the probed containers of one pod.
type probedPod struct {
	pod  *corev1.Pod // the newest snapshot: pod IP and event reference
	ctrs map[string]*probedCtr
}

// probedCtr is one running container instance with probes. A restart is a new instance (a
// new Docker ID) with fresh verdicts: readiness false, started false until its probes say
// otherwise.
type probedCtr struct {
	pp        *probedPod
	spec      *corev1.Container
	init      bool
	id        string
	startedAt time.Time
	started   bool // the startup probe succeeded (true at once without one)
	ready     bool // the readiness probe's verdict (false until it succeeds)
	workers   [probeKinds]*probeWorker
}

// probeWorker is one probe of one container instance.
type probeWorker struct {
	c       *probedCtr
	kind    probeKind
	spec    *corev1.Probe
	timer   probeTimer
	due     time.Time // when the pending (or last) run was due; periods count from it
	last    probeResult
	run     int32 // consecutive results equal to last
	stopped bool
	// unsupported: the probe cannot run here (grpc); it counted as a success once.
	unsupported bool
}

// init sets the manager up; a manager is used only after it.
func (m *probeManager) init(clock probeClock, run probeRunner, act func([]probeAction), ctx context.Context) {
	m.clock, m.run, m.act, m.ctx = clock, run, act, ctx
	m.pods = map[types.UID]*probedPod{}
}

// runningProbed returns the containers of pod that have probes and run now, by name; nil
// for a pod that is being deleted or has finished: its probes stop (the kubelet keeps no
// liveness or startup probe on a terminating pod).
func runningProbed(pod *corev1.Pod) map[string]*probedCtr {
	if pod.DeletionTimestamp != nil || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return nil
	}
	var out map[string]*probedCtr
	add := func(spec *corev1.Container, init bool, statuses []corev1.ContainerStatus) {
		if spec.LivenessProbe == nil && spec.ReadinessProbe == nil && spec.StartupProbe == nil {
			return
		}
		st := findContainerStatus(statuses, spec.Name)
		if st == nil || st.State.Running == nil || st.ContainerID == "" {
			return
		}
		if out == nil {
			out = map[string]*probedCtr{}
		}
		id := st.ContainerID
		if i := strings.Index(id, "://"); i >= 0 {
			id = id[i+3:]
		}
		out[spec.Name] = &probedCtr{spec: spec, init: init, id: id, startedAt: st.State.Running.StartedAt.Time}
	}
	for i := range pod.Spec.InitContainers {
		if c := &pod.Spec.InitContainers[i]; c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			add(c, true, pod.Status.InitContainerStatuses)
		}
	}
	for i := range pod.Spec.Containers {
		add(&pod.Spec.Containers[i], false, pod.Status.ContainerStatuses)
	}
	return out
}

func findContainerStatus(list []corev1.ContainerStatus, name string) *corev1.ContainerStatus {
	for i := range list {
		if list[i].Name == name {
			return &list[i]
		}
	}
	return nil
}

// update follows a pod's status: workers start for container instances that now run and stop
// for those that no longer do. It only arms and stops timers, so it may run under the cache
// lock.
func (m *probeManager) update(pod *corev1.Pod) {
	live := runningProbed(pod)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	pp := m.pods[pod.UID]
	if pp == nil {
		if len(live) == 0 {
			return
		}
		pp = &probedPod{ctrs: map[string]*probedCtr{}}
		m.pods[pod.UID] = pp
	}
	pp.pod = pod
	for name, pc := range pp.ctrs {
		if l := live[name]; l == nil || l.id != pc.id {
			m.stopCtr(pc)
			delete(pp.ctrs, name)
		}
	}
	for name, l := range live {
		if pp.ctrs[name] != nil {
			continue
		}
		l.pp = pp
		pp.ctrs[name] = l
		m.startCtr(l)
	}
	if len(pp.ctrs) == 0 {
		delete(m.pods, pod.UID)
	}
}

// remove stops every probe of a pod that is gone.
func (m *probeManager) remove(uid types.UID) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if pp := m.pods[uid]; pp != nil {
		for _, pc := range pp.ctrs {
			m.stopCtr(pc)
		}
		delete(m.pods, uid)
	}
}

// stop stops every timer and waits for the probes in flight.
func (m *probeManager) stop() {
	m.mu.Lock()
	m.closed = true
	for uid, pp := range m.pods {
		for _, pc := range pp.ctrs {
			m.stopCtr(pc)
		}
		delete(m.pods, uid)
	}
	m.mu.Unlock()
	m.wg.Wait()
}

// verdicts adds the probes' verdicts about a pod's containers to into (by container name),
// for translate.PodStatus. Each names the instance it is about.
func (m *probeManager) verdicts(uid types.UID, into map[string]translate.ContainerObservation) {
	m.mu.Lock()
	defer m.mu.Unlock()
	pp := m.pods[uid]
	if pp == nil {
		return
	}
	for name, pc := range pp.ctrs {
		ob := into[name]
		ob.ProbedID = pc.id
		if pc.workers[probeReadiness] != nil {
			ready := pc.ready
			ob.Ready = &ready
		}
		if pc.workers[probeStartup] != nil {
			started := pc.started
			ob.Started = &started
		}
		into[name] = ob
	}
}

// started reports whether container instance id of a pod has passed its startup probe (true
// for a container without one).
func (m *probeManager) started(uid types.UID, c *corev1.Container, id string) bool {
	if c.StartupProbe == nil {
		return true
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if pp := m.pods[uid]; pp != nil {
		if pc := pp.ctrs[c.Name]; pc != nil && pc.id == id {
			return pc.started
		}
	}
	return false
}

// rearm resumes the worker that asked for a kill that could not be carried out.
func (m *probeManager) rearm(a probeAction) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	if pp := m.pods[a.pod.UID]; pp != nil {
		if pc := pp.ctrs[a.ctr]; pc != nil && pc.id == a.id {
			if w := pc.workers[a.kind]; w != nil && !w.stopped && w.timer == nil {
				m.next(w, m.clock.Now())
			}
		}
	}
}

// startCtr creates the workers of a container instance that started running. The startup
// probe runs first; liveness and readiness wait until it has succeeded.
func (m *probeManager) startCtr(pc *probedCtr) {
	for k := probeKind(0); k < probeKinds; k++ {
		if p := k.spec(pc.spec); p != nil {
			pc.workers[k] = &probeWorker{c: pc, kind: k, spec: p}
		}
	}
	now := m.clock.Now()
	if w := pc.workers[probeStartup]; w != nil {
		m.schedule(w, m.firstRun(w, now))
		return
	}
	pc.started = true
	m.ungate(pc, now)
}

// ungate arms liveness and readiness once the container counts as started.
func (m *probeManager) ungate(pc *probedCtr, now time.Time) {
	for _, k := range []probeKind{probeLiveness, probeReadiness} {
		if w := pc.workers[k]; w != nil {
			m.schedule(w, m.firstRun(w, now))
		}
	}
}

// firstRun is when a worker first probes: initialDelaySeconds after the container started,
// or now if that has passed (a container adopted after a restart of k2d, or one whose startup
// probe took longer).
func (m *probeManager) firstRun(w *probeWorker, now time.Time) time.Time {
	at := w.c.startedAt.Add(time.Duration(w.spec.InitialDelaySeconds) * time.Second)
	if w.c.startedAt.IsZero() || at.Before(now) {
		return now
	}
	return at
}

func (m *probeManager) stopCtr(pc *probedCtr) {
	for _, w := range pc.workers {
		if w == nil {
			continue
		}
		w.stopped = true
		if w.timer != nil {
			w.timer.Stop()
			w.timer = nil
		}
	}
}

func (m *probeManager) schedule(w *probeWorker, at time.Time) {
	d := at.Sub(m.clock.Now())
	if d < 0 {
		d = 0
	}
	w.due = at
	w.timer = m.clock.AfterFunc(d, func() { m.fire(w) })
}

// next arms the worker for its next period, counted from when the last run was due, as a
// ticker would: a run that took longer than a period skips the ticks it missed.
func (m *probeManager) next(w *probeWorker, now time.Time) {
	if w.unsupported {
		return // said once; nothing to run
	}
	period := time.Duration(defaulted(w.spec.PeriodSeconds, 10)) * time.Second
	at := w.due.Add(period)
	if !at.After(now) {
		at = w.due.Add((now.Sub(w.due)/period + 1) * period)
	}
	m.schedule(w, at)
}

// fire runs one probe when its timer ends, then records the result and carries out what it
// decided.
func (m *probeManager) fire(w *probeWorker) {
	m.mu.Lock()
	if m.closed || w.stopped {
		m.mu.Unlock()
		return
	}
	w.timer = nil
	pc := w.c
	pod := pc.pp.pod
	call := &probeCall{kind: w.kind, probe: w.spec, ctr: pc.spec, id: pc.id, podIP: pod.Status.PodIP}
	m.wg.Add(1)
	m.mu.Unlock()
	defer m.wg.Done()

	out := m.run(m.ctx, call)

	m.mu.Lock()
	if m.closed || w.stopped {
		m.mu.Unlock()
		return
	}
	acts := m.record(w, out, pod)
	m.mu.Unlock()
	if len(acts) > 0 {
		m.act(acts)
	}
}

// record folds one probe result into the worker with the kubelet's rules: a verdict changes
// only after successThreshold (failureThreshold) equal results in a row; a probe error is
// reported and thrown away; a liveness or startup verdict of failure kills the container and
// puts the worker on hold until a new instance runs. It arms the next run, and returns what
// must be done. Called with m.mu held.
func (m *probeManager) record(w *probeWorker, out probeOutcome, pod *corev1.Pod) []probeAction {
	now := m.clock.Now()
	pc := w.c
	var acts []probeAction
	event := func(reason, msg string) {
		acts = append(acts, probeAction{op: opEvent, pod: pod, ctr: pc.spec.Name, init: pc.init, id: pc.id, reason: reason, msg: msg})
	}
	res := out.result
	w.unsupported = res == probeUnsupported
	switch res {
	case probeError:
		event(ReasonUnhealthy, fmt.Sprintf("%s probe errored and resulted in unknown state: %s", w.kind, out.output))
		m.next(w, now)
		return acts
	case probeUnsupported:
		event(ReasonProbeWarning, fmt.Sprintf("%s probe warning: %s", w.kind, out.output))
		// The verdict applies at once, whatever successThreshold says.
		res, w.last, w.run = probeSuccess, probeSuccess, defaulted(w.spec.SuccessThreshold, 1)-1
	case probeWarning:
		event(ReasonProbeWarning, fmt.Sprintf("%s probe warning: %s", w.kind, out.output))
		res = probeSuccess
	case probeFailure:
		event(ReasonUnhealthy, fmt.Sprintf("%s probe failed: %s", w.kind, out.output))
	}
	if w.last == res {
		w.run++
	} else {
		w.last, w.run = res, 1
	}
	threshold := defaulted(w.spec.SuccessThreshold, 1)
	if res == probeFailure {
		threshold = defaulted(w.spec.FailureThreshold, 3)
	}
	if w.run < threshold {
		m.next(w, now)
		return acts
	}
	switch {
	case w.kind == probeReadiness:
		if ready := res == probeSuccess; pc.ready != ready {
			pc.ready = ready
			acts = append(acts, probeAction{op: opStatus, pod: pod, ctr: pc.spec.Name, id: pc.id})
		}
		m.next(w, now)
	case res == probeSuccess && w.kind == probeStartup:
		// Started for good: the startup probe does not run again for this instance.
		pc.started = true
		acts = append(acts, probeAction{op: opStatus, pod: pod, ctr: pc.spec.Name, id: pc.id})
		m.ungate(pc, now)
	case res == probeSuccess:
		m.next(w, now)
	default:
		// The container is restarted; this worker waits for the new instance (the kubelet's
		// "on hold"), which gets workers of its own.
		w.run = 0
		acts = append(acts, m.kill(w, pod))
	}
	return acts
}

// kill is the action for a container that failed its liveness or startup probe: the
// kubelet's Killing event and a stop with the probe's grace period (or the pod's).
func (m *probeManager) kill(w *probeWorker, pod *corev1.Pod) probeAction {
	pc := w.c
	grace := int64(corev1.DefaultTerminationGracePeriodSeconds)
	switch {
	case w.spec.TerminationGracePeriodSeconds != nil:
		grace = *w.spec.TerminationGracePeriodSeconds
	case pod.Spec.TerminationGracePeriodSeconds != nil:
		grace = *pod.Spec.TerminationGracePeriodSeconds
	}
	msg := fmt.Sprintf("Container %s failed %s probe", pc.spec.Name, strings.ToLower(w.kind.String()))
	if pc.init || pod.Spec.RestartPolicy != corev1.RestartPolicyNever {
		msg += ", will be restarted"
	}
	return probeAction{op: opKill, kind: w.kind, pod: pod, ctr: pc.spec.Name, init: pc.init, id: pc.id, reason: ReasonKilling, msg: msg, grace: grace}
}

// defaulted is v, or the API's default d where the field was left 0 (the API server defaults
// probes on write; this covers objects that were not).
func defaulted(v, d int32) int32 {
	if v <= 0 {
		return d
	}
	return v
}
