package reconcile

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/k2d-project/k2d/cache"
	"github.com/k2d-project/k2d/translate"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
)

// sandboxStopSeconds is how long the pause process gets to exit on SIGTERM; it exits at once.
const sandboxStopSeconds = 2

// inst is one Docker container of a pod: the sandbox, or one attempt of an init or app
// container.
type inst struct {
	ins     container.InspectResponse
	kind    string // translate.KindSandbox, KindInit, KindApp
	name    string // the Kubernetes container name; "" for the sandbox
	attempt int
	sandbox string // ID of the sandbox whose namespaces it joined
}

func (i *inst) id() string { return i.ins.ID }

func (i *inst) running() bool { return i.ins.State != nil && i.ins.State.Running }

// neverStarted reports a container that was created but not started (k2d stopped between the
// two calls); one whose start failed is "created" with an error and counts as failed.
func (i *inst) neverStarted() bool {
	s := i.ins.State
	return s != nil && s.Status == container.StateCreated && s.Error == ""
}

// succeeded reports an exit with code 0.
func (i *inst) succeeded() bool {
	s := i.ins.State
	return s != nil && !s.Running && s.Status != container.StateCreated && s.ExitCode == 0 && !s.OOMKilled
}

func (i *inst) finishedAt() time.Time {
	if s := i.ins.State; s != nil {
		if t, err := time.Parse(time.RFC3339Nano, s.FinishedAt); err == nil && t.Year() > 1 {
			return t
		}
	}
	return time.Time{}
}

func (i *inst) image() string {
	if i.ins.Config != nil {
		return i.ins.Config.Image
	}
	return ""
}

// podContainers is what Docker has for one pod uid.
type podContainers struct {
	sandboxes []*inst            // newest first
	byName    map[string][]*inst // newest first
}

func newPodContainers() *podContainers { return &podContainers{byName: map[string][]*inst{}} }

func (pc *podContainers) add(ins container.InspectResponse) *inst {
	if ins.ContainerJSONBase == nil || ins.Config == nil {
		return nil
	}
	l := ins.Config.Labels
	i := &inst{ins: ins, kind: l[translate.LabelContainerKind], name: l[translate.LabelContainerName]}
	i.attempt, _ = strconv.Atoi(l[translate.LabelAttempt])
	if ins.HostConfig != nil {
		if nm := ins.HostConfig.NetworkMode; nm.IsContainer() {
			i.sandbox = nm.ConnectedContainer()
		}
	}
	if i.kind == translate.KindSandbox {
		pc.sandboxes = insertNewest(pc.sandboxes, i)
	} else if i.name != "" {
		pc.byName[i.name] = insertNewest(pc.byName[i.name], i)
	}
	return i
}

func insertNewest(list []*inst, i *inst) []*inst {
	for j, x := range list {
		if x.id() == i.id() {
			list[j] = i
			return list
		}
	}
	list = append(list, i)
	sort.SliceStable(list, func(a, b int) bool {
		if list[a].attempt != list[b].attempt {
			return list[a].attempt > list[b].attempt
		}
		return list[a].ins.Created > list[b].ins.Created
	})
	return list
}

func (pc *podContainers) sandbox() *inst {
	if len(pc.sandboxes) == 0 {
		return nil
	}
	return pc.sandboxes[0]
}

func (pc *podContainers) newest(name string) *inst {
	if l := pc.byName[name]; len(l) > 0 {
		return l[0]
	}
	return nil
}

func (pc *podContainers) nextAttempt(name string) int {
	if n := pc.newest(name); n != nil {
		return n.attempt + 1
	}
	return 0
}

func (pc *podContainers) all() []*inst {
	out := append([]*inst(nil), pc.sandboxes...)
	for _, l := range pc.byName {
		out = append(out, l...)
	}
	return out
}

func (pc *podContainers) inspects() (sandbox *container.InspectResponse, rest []container.InspectResponse) {
	if sb := pc.sandbox(); sb != nil {
		sandbox = &sb.ins
	}
	for _, l := range pc.byName {
		for _, i := range l {
			rest = append(rest, i.ins)
		}
	}
	return sandbox, rest
}

// podRuntime is what the controller knows about a pod that Docker cannot tell: waiting
// reasons (image pulls, config errors, back-off) and image digests.
type podRuntime struct {
	waiting map[string]translate.ContainerObservation
	digests map[string]string
}

func (c *Controller) runtimeOf(uid types.UID) *podRuntime {
	c.mu.Lock()
	defer c.mu.Unlock()
	rt := c.rt[uid]
	if rt == nil {
		rt = &podRuntime{waiting: map[string]translate.ContainerObservation{}, digests: map[string]string{}}
		c.rt[uid] = rt
	}
	return rt
}

func (c *Controller) setWaiting(uid types.UID, name, reason, msg string) {
	rt := c.runtimeOf(uid)
	c.mu.Lock()
	rt.waiting[name] = translate.ContainerObservation{Reason: reason, Message: msg}
	c.mu.Unlock()
}

func (c *Controller) clearWaiting(uid types.UID, name string) {
	rt := c.runtimeOf(uid)
	c.mu.Lock()
	delete(rt.waiting, name)
	c.mu.Unlock()
}

// observed returns a copy of what PodStatus needs from the pod's runtime record.
func (c *Controller) observed(uid types.UID) translate.Observed {
	rt := c.runtimeOf(uid)
	c.mu.Lock()
	defer c.mu.Unlock()
	obs := translate.Observed{HostIP: c.o.HostIP, Containers: map[string]translate.ContainerObservation{}, RepoDigests: map[string]string{}}
	for k, v := range rt.waiting {
		obs.Containers[k] = v
	}
	for k, v := range rt.digests {
		obs.RepoDigests[k] = v
	}
	c.prober().verdicts(uid, obs.Containers) // readiness and startup verdicts (probes.go)
	return obs
}

// forgetPod drops everything the controller remembers about a pod that is gone.
func (c *Controller) forgetPod(uid types.UID, key string) {
	c.forgetBackoff(string(uid))
	c.pods.Forget(key)
	c.mu.Lock()
	delete(c.backoff, "sync/"+key)
	delete(c.rt, uid)
	delete(c.waitImage, key)
	delete(c.waitCfg, key)
	delete(c.started, string(uid))
	c.mu.Unlock()
}

// syncPod is the pod worker: it makes Docker hold what the Pod in the cache asks for, and
// writes what Docker has into the Pod's status. It runs for one key at a time.
func (c *Controller) syncPod(ctx context.Context, key string) {
	if !c.dockerUp.Load() {
		return // the resync after the reconnect enqueues every pod again
	}
	ns, name := splitKey(key)
	if !c.inScope(ns) {
		return
	}
	var pod *corev1.Pod
	if e, ok := c.c.Get(resPods, ns, name); ok {
		pod = e.Obj.(*corev1.Pod)
	}
	if pod != nil && pod.Annotations[AnnotationSource] == SourceDocker {
		c.syncObservedPod(ctx, key, pod)
		return
	}
	if pod == nil {
		c.removeDoomedPlain(ctx, key)
	}
	list, err := c.d.ContainerList(ctx, true, translate.LabelPodNamespace+"="+ns, translate.LabelPodName+"="+name)
	if err != nil {
		c.retry(key, "list containers", err)
		return
	}
	var mine []container.Summary
	orphans := map[string][]container.Summary{}
	for _, s := range list {
		if !isManagedPod(s.Labels) {
			continue
		}
		if uid := s.Labels[translate.LabelPodUID]; pod != nil && uid == string(pod.UID) {
			mine = append(mine, s)
		} else {
			orphans[uid] = append(orphans[uid], s)
		}
	}
	for uid, list := range orphans {
		// The Pod was removed (force delete, or deleted while k2d was down) or re-created
		// under the same name: its containers go at once, with their volumes.
		c.removeContainers(ctx, list)
		c.removePodVolumes(ctx, uid)
		c.forgetPod(types.UID(uid), key)
	}
	if pod == nil {
		return
	}
	pc := newPodContainers()
	for _, s := range mine {
		ins, err := c.d.ContainerInspect(ctx, s.ID)
		if err != nil {
			if isNotFound(err) {
				continue // removed meanwhile
			}
			c.retry(key, "inspect container", err)
			return
		}
		pc.add(ins)
	}
	if pod.DeletionTimestamp != nil {
		c.terminatePod(ctx, key, pod, pc)
		return
	}
	c.runPod(ctx, key, pod, pc)
}

// retry schedules another sync after a Docker failure that is not about the pod itself.
func (c *Controller) retry(key, what string, err error) {
	if c.ctx.Err() != nil || !c.dockerUp.Load() {
		return
	}
	c.log.Warn("pod sync failed", "pod", key, "step", what, "err", err)
	c.pods.AddAfter(key, c.nextBackoff("sync/"+key, c.now()))
}

// runPod brings a live pod's containers in line with its spec.
func (c *Controller) runPod(ctx context.Context, key string, pod *corev1.Pod, pc *podContainers) {
	pod = c.bind(pod, pc)
	if st := c.computeStatus(pod, pc); st.Phase == corev1.PodSucceeded || st.Phase == corev1.PodFailed {
		// A finished pod keeps its containers for logs but not its sandbox.
		c.stopFinished(ctx, pc)
		c.writeStatus(ctx, pod, pc)
		return
	}
	sb := pc.sandbox()
	if sb == nil || !sb.running() {
		if sb != nil && pod.Spec.RestartPolicy == corev1.RestartPolicyNever && c.anyStarted(pc) {
			// The sandbox died under a pod that must not restart: its containers are done.
			c.stopFinished(ctx, pc)
			c.writeStatus(ctx, pod, pc)
			return
		}
		var ok bool
		if sb, ok = c.startSandbox(ctx, key, pod, pc); !ok {
			c.writeStatus(ctx, pod, pc)
			return
		}
	}
	ec := c.envContext(pod, sb)
	initDone := true
	for i := range pod.Spec.InitContainers {
		ic := &pod.Spec.InitContainers[i]
		if ic.RestartPolicy != nil && *ic.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			// A sidecar: it starts in order (past its startup probe), then runs beside the app containers.
			c.ensureRunning(ctx, key, pod, ic, translate.KindInit, i, sb, pc, &ec, corev1.RestartPolicyAlways)
			if cur := pc.newest(ic.Name); cur == nil || !cur.running() || cur.sandbox != sb.id() || !c.probeStarted(pod.UID, ic, cur.id()) {
				initDone = false
				break
			}
			continue
		}
		if !c.runInit(ctx, key, pod, ic, i, sb, pc, &ec) {
			initDone = false
			break
		}
	}
	if initDone {
		for i := range pod.Spec.Containers {
			c.ensureRunning(ctx, key, pod, &pod.Spec.Containers[i], translate.KindApp, i, sb, pc, &ec, pod.Spec.RestartPolicy)
		}
	}
	c.prune(ctx, pc)
	if st := c.writeStatus(ctx, pod, pc); st.Phase == corev1.PodSucceeded || st.Phase == corev1.PodFailed {
		c.stopFinished(ctx, pc)
	}
}

// bind assigns the pod to this node, as the scheduler's binding would, and records the
// scheduler's event for a pod that has not run anywhere yet.
func (c *Controller) bind(pod *corev1.Pod, pc *podContainers) *corev1.Pod {
	node := c.NodeName()
	if pod.Spec.NodeName == "" && node != "" {
		e, err := c.c.Mutate(kindPod, pod.Namespace, pod.Name, func(obj runtime.Object) (bool, error) {
			p := obj.(*corev1.Pod)
			if p.UID != pod.UID || p.Spec.NodeName != "" {
				return false, nil
			}
			p.Spec.NodeName = node
			return true, nil
		})
		if err == nil && e != nil {
			pod = e.Obj.(*corev1.Pod)
		}
	}
	c.mu.Lock()
	first := !c.started[string(pod.UID)]
	c.started[string(pod.UID)] = true
	c.mu.Unlock()
	if first && len(pc.all()) == 0 {
		c.rec.record(podRef(pod, "", false), componentScheduler, corev1.EventTypeNormal, ReasonScheduled,
			fmt.Sprintf("Successfully assigned %s/%s to %s", pod.Namespace, pod.Name, node))
	}
	return pod
}

func (c *Controller) anyStarted(pc *podContainers) bool {
	for _, l := range pc.byName {
		if len(l) > 0 {
			return true
		}
	}
	return false
}

// startSandbox creates and starts a new sandbox. Containers still running in an old one lost
// their network with it: they are stopped and restart in the new one.
func (c *Controller) startSandbox(ctx context.Context, key string, pod *corev1.Pod, pc *podContainers) (*inst, bool) {
	bkey := string(pod.UID) + "/sandbox"
	if wait, _ := c.inBackoffSinceUpdate(bkey); wait > 0 {
		c.pods.AddAfter(key, wait) // Docker events of the failed attempt must not hasten the retry
		return nil, false
	}
	fail := func(err error) (*inst, bool) {
		c.rec.Eventf(podRef(pod, "", false), corev1.EventTypeWarning, "FailedCreatePodSandBox", "Failed to create pod sandbox: %v", err)
		c.pods.AddAfter(key, c.nextBackoff(bkey, c.now()))
		return nil, false
	}
	if !pod.Spec.HostNetwork {
		if err := c.ensureNetwork(ctx, pod.Namespace); err != nil {
			return fail(err)
		}
	}
	old := pc.sandbox()
	if old != nil {
		c.rec.Event(podRef(pod, "", false), corev1.EventTypeNormal, "SandboxChanged", "Pod sandbox changed, it will be killed and re-created.")
		var stale []*inst
		for _, i := range pc.all() {
			if i.running() {
				stale = append(stale, i)
			}
		}
		c.stopInstances(ctx, stale, sandboxStopSeconds)
	}
	attempt := 0
	if old != nil {
		attempt = old.attempt + 1
	}
	img := c.sandboxImage()
	spec := translate.SandboxWithDNS(pod, img, c.o.PauseCommand, attempt, c.clusterDNS())
	id, err := c.create(ctx, spec)
	if err != nil && isNotFound(err) && c.o.SandboxImage == "" {
		// Someone removed the sandbox image (docker image prune): build it again.
		if _, ierr := c.ensureSandboxImage(ctx); ierr == nil {
			id, err = c.create(ctx, spec)
		}
	}
	if err != nil {
		return fail(err)
	}
	if err := c.d.ContainerStart(ctx, id); err != nil {
		_ = c.d.ContainerRemove(ctx, id, true, false)
		return fail(err)
	}
	ins, err := c.d.ContainerInspect(ctx, id)
	if err != nil {
		return fail(err)
	}
	sb := pc.add(ins)
	// Old sandboxes are of no use to anyone: logs and exit codes live in the containers.
	var dead []container.Summary
	for _, s := range pc.sandboxes[1:] {
		dead = append(dead, container.Summary{ID: s.id()})
	}
	c.removeContainers(ctx, dead)
	pc.sandboxes = pc.sandboxes[:1]
	c.mu.Lock()
	delete(c.backoff, bkey)
	c.mu.Unlock()
	return sb, true
}

// create creates a container; a leftover of the same name (created by a k2d that stopped
// before it could start it) is replaced.
func (c *Controller) create(ctx context.Context, spec translate.ContainerSpec) (string, error) {
	id, err := c.d.ContainerCreate(ctx, spec.Name, spec.Config, spec.Host, spec.Net)
	if err != nil && isConflict(err) {
		if rerr := c.d.ContainerRemove(ctx, spec.Name, true, false); rerr == nil {
			id, err = c.d.ContainerCreate(ctx, spec.Name, spec.Config, spec.Host, spec.Net)
		}
	}
	return id, err
}

// runInit runs one regular init container; it reports whether the container has completed.
func (c *Controller) runInit(ctx context.Context, key string, pod *corev1.Pod, ic *corev1.Container, index int, sb *inst, pc *podContainers, ec *translate.EnvContext) bool {
	cur := pc.newest(ic.Name)
	if cur != nil && cur.sandbox != sb.id() {
		cur = nil // from an older sandbox: init containers run again in a new one
	}
	switch {
	case cur == nil:
		c.startContainer(ctx, key, pod, ic, translate.KindInit, index, sb, pc.nextAttempt(ic.Name), pc, ec)
		return false
	case cur.running():
		return false
	case cur.neverStarted():
		c.startExisting(ctx, pod, ic, true, cur, pc)
		return false
	case cur.succeeded():
		return true
	}
	if pod.Spec.RestartPolicy == corev1.RestartPolicyNever {
		return false // the pod has failed; PodStatus says so
	}
	c.restart(ctx, key, pod, ic, translate.KindInit, index, sb, cur, pc, ec)
	return false
}

// ensureRunning keeps an app container (or sidecar) running per the restart policy.
func (c *Controller) ensureRunning(ctx context.Context, key string, pod *corev1.Pod, ctr *corev1.Container, kind string, index int, sb *inst, pc *podContainers, ec *translate.EnvContext, policy corev1.RestartPolicy) {
	cur := pc.newest(ctr.Name)
	init := kind == translate.KindInit
	switch {
	case cur == nil:
		c.startContainer(ctx, key, pod, ctr, kind, index, sb, 0, pc, ec)
	case cur.sandbox != sb.id():
		// Its sandbox was replaced. A container that had finished for good stays finished.
		if cur.running() {
			c.stopInstances(ctx, []*inst{cur}, sandboxStopSeconds)
		} else if !shouldRestart(policy, cur) && cur.ins.State != nil && cur.ins.State.Status != container.StateCreated {
			return
		}
		c.startContainer(ctx, key, pod, ctr, kind, index, sb, cur.attempt+1, pc, ec)
	case cur.running():
		if cur.image() != ctr.Image {
			// The only spec change a pod allows: the container restarts with the new image.
			c.rec.Eventf(podRef(pod, ctr.Name, init), corev1.EventTypeNormal, ReasonKilling, "Container %s definition changed, will be restarted", ctr.Name)
			c.stopInstances(ctx, []*inst{cur}, int(graceSeconds(pod)))
			c.startContainer(ctx, key, pod, ctr, kind, index, sb, cur.attempt+1, pc, ec)
		}
	case cur.neverStarted():
		c.startExisting(ctx, pod, ctr, init, cur, pc)
	case cur.image() != ctr.Image:
		c.startContainer(ctx, key, pod, ctr, kind, index, sb, cur.attempt+1, pc, ec)
	case shouldRestart(policy, cur):
		c.restart(ctx, key, pod, ctr, kind, index, sb, cur, pc, ec)
	default:
		c.clearWaiting(pod.UID, ctr.Name) // done for good: no back-off to show
	}
}

// shouldRestart applies the restart policy to an exited container.
func shouldRestart(policy corev1.RestartPolicy, cur *inst) bool {
	switch policy {
	case corev1.RestartPolicyNever:
		return false
	case corev1.RestartPolicyOnFailure:
		return !cur.succeeded()
	}
	return true
}

// restart starts a new attempt of an exited container, or waits out its back-off
// (CrashLoopBackOff), as the kubelet does: the first restart is immediate, later ones wait
// 10 s, 20 s, 40 s ... up to 5 min, measured from the container's exit.
func (c *Controller) restart(ctx context.Context, key string, pod *corev1.Pod, ctr *corev1.Container, kind string, index int, sb, cur *inst, pc *podContainers, ec *translate.EnvContext) {
	bkey := string(pod.UID) + "/" + ctr.Name
	fin := cur.finishedAt()
	if fin.IsZero() {
		fin = c.now()
	}
	if wait, d := c.inBackoff(bkey, fin); wait > 0 {
		c.setWaiting(pod.UID, ctr.Name, translate.ReasonCrashLoopBackOff,
			fmt.Sprintf("back-off %v restarting failed container=%s pod=%s", d, ctr.Name, fmtPod(pod)))
		c.rec.Eventf(podRef(pod, ctr.Name, kind == translate.KindInit), corev1.EventTypeWarning, ReasonBackOff,
			"Back-off restarting failed container %s in pod %s", ctr.Name, fmtPod(pod))
		c.pods.AddAfter(key, wait+50*time.Millisecond)
		return
	}
	c.nextBackoff(bkey, fin)
	c.startContainer(ctx, key, pod, ctr, kind, index, sb, cur.attempt+1, pc, ec)
}

// fmtPod renders a pod as the kubelet's messages do: name_namespace(uid).
func fmtPod(pod *corev1.Pod) string {
	return pod.Name + "_" + pod.Namespace + "(" + string(pod.UID) + ")"
}

// startContainer pulls the image, creates and starts one attempt of a container. Each
// failure becomes the container's waiting reason and an Event.
func (c *Controller) startContainer(ctx context.Context, key string, pod *corev1.Pod, ctr *corev1.Container, kind string, index int, sb *inst, attempt int, pc *podContainers, ec *translate.EnvContext) {
	init := kind == translate.KindInit
	ref := podRef(pod, ctr.Name, init)
	res := c.ensureImage(ctx, pod, ctr, init)
	if res.reason != "" {
		c.setWaiting(pod.UID, ctr.Name, res.reason, res.message)
		c.mu.Lock()
		if res.reason == translate.ReasonErrImageNeverPull {
			c.waitImage[key] = true
		}
		c.mu.Unlock()
		if res.retry > 0 {
			c.pods.AddAfter(key, res.retry)
		}
		return
	}
	c.mu.Lock()
	delete(c.waitImage, key)
	if rt := c.rt[pod.UID]; rt != nil && len(res.img.RepoDigests) > 0 {
		rt.digests[res.img.ID] = res.img.RepoDigests[0]
	}
	c.mu.Unlock()
	env := *ec
	if res.img.Config != nil {
		env.ImageUser = res.img.Config.User
	}
	err := c.prepareVolumes(ctx, pod, ctr, &env)
	var spec translate.ContainerSpec
	if err == nil {
		spec, err = translate.Container(pod, ctr, kind, index, sb.id(), attempt, env)
	}
	if err == nil {
		err = translate.VerifyRunAsNonRoot(pod, ctr, env.ImageUser)
	}
	if me := (*MountError)(nil); errors.As(err, &me) {
		// A volume not ready yet (an unbound claim): the kubelet waits in ContainerCreating.
		c.setWaiting(pod.UID, ctr.Name, translate.ReasonContainerCreating, "")
		c.rec.Event(podRef(pod, "", false), corev1.EventTypeWarning, "FailedMount", me.Error())
		return
	}
	if err != nil {
		c.setWaiting(pod.UID, ctr.Name, translate.ReasonCreateContainerConfigError, err.Error())
		c.rec.Eventf(ref, corev1.EventTypeWarning, ReasonFailed, "Error: %v", err)
		c.mu.Lock()
		c.waitCfg[key] = true // a ConfigMap or Secret that appears enqueues the pod again
		c.mu.Unlock()
		return
	}
	ckey := string(pod.UID) + "/create/" + ctr.Name
	if wait, _ := c.inBackoffSinceUpdate(ckey); wait > 0 {
		c.pods.AddAfter(key, wait)
		return
	}
	if err := prepareHostPaths(pod); err != nil {
		c.setWaiting(pod.UID, ctr.Name, translate.ReasonContainerCreating, "")
		c.rec.Eventf(podRef(pod, "", false), corev1.EventTypeWarning, "FailedMount", "MountVolume.SetUp failed for %v", err)
		c.pods.AddAfter(key, c.nextBackoff(ckey, c.now()))
		return
	}
	id, err := c.create(ctx, spec)
	if err != nil {
		c.setWaiting(pod.UID, ctr.Name, translate.ReasonCreateContainerError, err.Error())
		c.rec.Eventf(ref, corev1.EventTypeWarning, ReasonFailed, "Error: %v", err)
		c.pods.AddAfter(key, c.nextBackoff(ckey, c.now()))
		return
	}
	c.mu.Lock()
	delete(c.waitCfg, key)
	delete(c.backoff, ckey)
	c.mu.Unlock()
	c.rec.Eventf(ref, corev1.EventTypeNormal, ReasonCreated, "Created container: %s", ctr.Name)
	c.clearWaiting(pod.UID, ctr.Name)
	c.startCreated(ctx, pod, ctr, init, id, pc)
}

// startExisting starts a container created earlier but never started.
func (c *Controller) startExisting(ctx context.Context, pod *corev1.Pod, ctr *corev1.Container, init bool, cur *inst, pc *podContainers) {
	c.startCreated(ctx, pod, ctr, init, cur.id(), pc)
}

func (c *Controller) startCreated(ctx context.Context, pod *corev1.Pod, ctr *corev1.Container, init bool, id string, pc *podContainers) {
	ref := podRef(pod, ctr.Name, init)
	if err := c.d.ContainerStart(ctx, id); err != nil {
		// Docker keeps the container "created" with the error: the status shows StartError
		// and the restart policy applies from there.
		c.rec.Eventf(ref, corev1.EventTypeWarning, ReasonFailed, "Error: %v", err)
		c.pods.Add(pod.Namespace + "/" + pod.Name)
	} else {
		c.rec.Eventf(ref, corev1.EventTypeNormal, ReasonStarted, "Started container %s", ctr.Name)
	}
	if ins, err := c.d.ContainerInspect(ctx, id); err == nil {
		pc.add(ins)
	}
}

// prune keeps the newest two instances of each container (the current one and the one
// `kubectl logs --previous` reads) and removes older ones.
func (c *Controller) prune(ctx context.Context, pc *podContainers) {
	var old []container.Summary
	for name, l := range pc.byName {
		if len(l) <= 2 {
			continue
		}
		for _, i := range l[2:] {
			if !i.running() {
				old = append(old, container.Summary{ID: i.id()})
			}
		}
		pc.byName[name] = l[:2]
	}
	c.removeContainers(ctx, old)
}

// stopFinished stops what still runs of a pod that has finished: its sandbox and sidecars.
func (c *Controller) stopFinished(ctx context.Context, pc *podContainers) {
	var run []*inst
	for _, i := range pc.all() {
		if i.running() {
			run = append(run, i)
		}
	}
	if len(run) == 0 {
		return
	}
	c.stopInstances(ctx, run, sandboxStopSeconds)
	for _, i := range run {
		if ins, err := c.d.ContainerInspect(ctx, i.id()); err == nil {
			pc.add(ins)
		}
	}
}

// stopInstances stops containers in parallel (SIGTERM, SIGKILL after grace seconds) without
// holding a worker slot while Docker waits.
func (c *Controller) stopInstances(ctx context.Context, list []*inst, grace int) {
	if len(list) == 0 {
		return
	}
	idle(ctx, func() {
		var wg sync.WaitGroup
		for _, i := range list {
			wg.Add(1)
			go func(id string) {
				defer wg.Done()
				g := grace
				_ = c.d.ContainerStop(ctx, id, &g)
			}(i.id())
		}
		wg.Wait()
	})
}

// removeContainers removes containers with their anonymous volumes; missing ones are fine.
func (c *Controller) removeContainers(ctx context.Context, list []container.Summary) {
	for _, s := range list {
		if err := c.d.ContainerRemove(ctx, s.ID, true, true); err != nil && !isNotFound(err) {
			c.log.Warn("cannot remove container", "id", s.ID, "err", err)
		}
	}
}

// removePodVolumes removes the Docker volumes (emptyDirs) and the volume files k2d wrote for a
// pod uid.
func (c *Controller) removePodVolumes(ctx context.Context, uid string) {
	c.cleanupPodFiles(uid)
	vols, err := c.d.VolumeList(ctx, translate.LabelManaged+"=true", translate.LabelPodUID+"="+uid)
	if err != nil {
		return
	}
	for _, v := range vols {
		if err := c.d.VolumeRemove(ctx, v.Name, true); err != nil && !isNotFound(err) {
			c.log.Warn("cannot remove volume", "volume", v.Name, "err", err)
		}
	}
}

// computeStatus is the status the kubelet would report now.
func (c *Controller) computeStatus(pod *corev1.Pod, pc *podContainers) corev1.PodStatus {
	sb, rest := pc.inspects()
	return translate.PodStatus(pod, sb, rest, c.now(), c.observed(pod.UID))
}

// writeStatus stores the pod's status (only the status) when it changed, computed against the
// stored pod so that transition times carry over.
func (c *Controller) writeStatus(ctx context.Context, pod *corev1.Pod, pc *podContainers) corev1.PodStatus {
	sb, rest := pc.inspects()
	obs := c.observed(pod.UID)
	now := c.now()
	var st corev1.PodStatus
	_, err := c.c.Mutate(kindPod, pod.Namespace, pod.Name, func(obj runtime.Object) (bool, error) {
		p := obj.(*corev1.Pod)
		if p.UID != pod.UID {
			return false, nil
		}
		st = translate.PodStatus(p, sb, rest, now, obs)
		if equality.Semantic.DeepEqual(p.Status, st) {
			return false, nil
		}
		p.Status = st
		return true, nil
	})
	if err != nil {
		var nf *cache.NotFoundError
		if !errors.As(err, &nf) {
			c.log.Warn("cannot write pod status", "pod", pod.Namespace+"/"+pod.Name, "err", err)
		}
	}
	return st
}

func graceSeconds(pod *corev1.Pod) int64 {
	if g := pod.DeletionGracePeriodSeconds; g != nil {
		return *g
	}
	if g := pod.Spec.TerminationGracePeriodSeconds; g != nil {
		return *g
	}
	return corev1.DefaultTerminationGracePeriodSeconds
}
