package reconcile

// This file: readiness, liveness and startup probes, wired to the Controller. The scheduler
// and state machine live in prober.go, the probe runs (exec, httpGet, tcpSocket, grpc) in
// prober_run.go and prober_grpc.go.
//
// How it flows: every Pod status the pod worker writes reaches onProbesChange, which starts
// workers for container instances that now run and have probes, and stops those of instances
// that no longer run (and of pods being deleted or gone). A verdict that changes (ready,
// started) enqueues the pod, whose worker writes the status with the verdicts (observed in
// pods.go); so a status write happens on transitions only, never each period. A liveness or
// startup failure stops the container with the probe's grace period; its exit brings the pod
// worker, which restarts it with the usual CrashLoopBackOff. After a restart of k2d the first
// status writes bring the running containers back under their probes.

import (
	"github.com/k2d-project/k2d/cache"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Event reasons of the prober, as the kubelet reports them.
const (
	ReasonUnhealthy    = "Unhealthy"
	ReasonProbeWarning = "ProbeWarning"
)

// prober returns the controller's probe manager, set up on first use (cache changes may come
// before startProbes).
func (c *Controller) prober() *probeManager {
	c.probes.once.Do(func() {
		c.probes.init(realClock{}, c.runProbe, c.probeActs, c.ctx)
	})
	return &c.probes
}

// startProbes brings the containers that already show as running under their probes.
func (c *Controller) startProbes() {
	m := c.prober()
	list, _ := c.c.List(resPods, "")
	for _, e := range list {
		m.update(e.Obj.(*corev1.Pod))
	}
}

// onProbesChange follows Pod changes; it runs under the cache lock and only arms or stops
// timers.
func (c *Controller) onProbesChange(ev cache.Event) {
	if ev.Resource != resPods {
		return
	}
	pod, ok := ev.Entry.Obj.(*corev1.Pod)
	if !ok {
		return
	}
	if ev.Type == cache.Deleted {
		c.prober().remove(pod.UID)
		return
	}
	c.prober().update(pod)
}

func (c *Controller) stopProbes() { c.prober().stop() }

// probeStarted reports whether a container instance has passed its startup probe (true
// without one): a sidecar must have before the containers after it start.
func (c *Controller) probeStarted(uid types.UID, ctr *corev1.Container, id string) bool {
	return c.prober().started(uid, ctr, id)
}

// probeActs carries out what the probes decided. It runs in the probe's goroutine, outside
// every lock.
func (c *Controller) probeActs(acts []probeAction) {
	for _, a := range acts {
		ref := podRef(a.pod, a.ctr, a.init)
		switch a.op {
		case opStatus:
			c.pods.Add(a.pod.Namespace + "/" + a.pod.Name)
		case opEvent:
			c.rec.Event(ref, corev1.EventTypeWarning, a.reason, a.msg)
		case opKill:
			c.rec.Event(ref, corev1.EventTypeNormal, a.reason, a.msg)
			grace := int(a.grace)
			if err := c.d.ContainerStop(c.ctx, a.id, &grace); err != nil && !isNotFound(err) && c.ctx.Err() == nil {
				c.log.Warn("cannot stop container that failed its probe", "pod", a.pod.Namespace+"/"+a.pod.Name, "container", a.ctr, "err", err)
				c.prober().rearm(a) // probe again; the next verdict of failure tries again
			}
		}
	}
}
