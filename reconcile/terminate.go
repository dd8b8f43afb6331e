package reconcile

import (
	"context"
	"errors"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/k2d-project/k2d/cache"
	corev1 "k8s.io/api/core/v1"
)

// kickChan returns the channel that tells a pod's running termination that the Pod changed
// (a shorter grace period, or a force delete).
func (c *Controller) kickChan(key string) chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := c.kicks[key]
	if ch == nil {
		ch = make(chan struct{}, 1)
		c.kicks[key] = ch
	}
	return ch
}

func (c *Controller) dropKick(key string) {
	c.mu.Lock()
	delete(c.kicks, key)
	c.mu.Unlock()
}

// kick wakes a termination in progress; it never blocks (it runs under the cache lock).
func (c *Controller) kick(key string) {
	c.mu.Lock()
	ch := c.kicks[key]
	c.mu.Unlock()
	if ch != nil {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// terminatePod carries out a graceful deletion as the kubelet does: SIGTERM to every running
// container, SIGKILL after the grace period, then the sandbox, then the containers and the
// pod's volumes are removed and the Pod leaves the cache.
func (c *Controller) terminatePod(ctx context.Context, key string, pod *corev1.Pod, pc *podContainers) {
	var apps []*inst
	for _, l := range pc.byName {
		if i := l[0]; i.running() {
			apps = append(apps, i)
		}
	}
	for _, i := range apps {
		c.rec.Eventf(podRef(pod, i.name, i.kind == "init"), corev1.EventTypeNormal, ReasonKilling, "Stopping container %s", i.name)
	}
	c.stopGracefully(ctx, key, pod, apps)
	if sb := pc.sandbox(); sb != nil && sb.running() {
		c.stopInstances(ctx, []*inst{sb}, sandboxStopSeconds)
	}
	for _, i := range pc.all() {
		if ins, err := c.d.ContainerInspect(ctx, i.id()); err == nil {
			pc.add(ins)
		}
	}
	c.writeStatus(ctx, pod, pc) // the last word: containers terminated
	var all []container.Summary
	for _, i := range pc.all() {
		all = append(all, container.Summary{ID: i.id()})
	}
	c.removeContainers(ctx, all)
	c.removePodVolumes(ctx, string(pod.UID))
	if _, err := c.c.Delete(kindPod, pod.Namespace, pod.Name, "", string(pod.UID)); err != nil {
		var nf *cache.NotFoundError
		var conflict *cache.ConflictError
		if !errors.As(err, &nf) && !errors.As(err, &conflict) {
			c.log.Warn("cannot remove pod", "pod", key, "err", err)
		}
	}
	c.forgetPod(pod.UID, key)
}

// stopGracefully stops containers with the pod's grace period. When the Pod changes meanwhile
// (a second delete with a shorter grace period, or a force delete) the remaining containers
// get the new, shorter deadline.
func (c *Controller) stopGracefully(ctx context.Context, key string, pod *corev1.Pod, list []*inst) {
	if len(list) == 0 {
		return
	}
	kicks := c.kickChan(key)
	defer c.dropKick(key)
	grace := graceSeconds(pod)
	deadline := c.now().Add(time.Duration(grace) * time.Second)
	results := make(chan struct{})
	pending := 0
	stop := func(g int64) {
		for _, i := range list {
			pending++
			go func(id string) {
				t := int(g)
				_ = c.d.ContainerStop(ctx, id, &t)
				results <- struct{}{}
			}(i.id())
		}
	}
	idle(ctx, func() {
		stop(grace)
		for pending > 0 {
			select {
			case <-results:
				pending--
			case <-kicks:
				g := int64(0) // force-deleted: kill now
				if e, ok := c.c.Get(resPods, pod.Namespace, pod.Name); ok {
					if p := e.Obj.(*corev1.Pod); p.UID == pod.UID {
						g = graceSeconds(p)
					}
				}
				if nd := c.now().Add(time.Duration(g) * time.Second); nd.Before(deadline) {
					deadline = nd
					stop(g)
				}
			}
		}
	})
}

// syncObservedPod deletes the container behind a Pod shown for a plain `docker run`
// container when the Pod is deleted; its status follows Docker's events (syncPlain).
func (c *Controller) syncObservedPod(ctx context.Context, key string, pod *corev1.Pod) {
	if pod.DeletionTimestamp == nil {
		return
	}
	id := pod.Annotations[AnnotationContainerID]
	name := ""
	if len(pod.Spec.Containers) > 0 {
		name = pod.Spec.Containers[0].Name
	}
	c.rec.Eventf(podRef(pod, name, false), corev1.EventTypeNormal, ReasonKilling, "Stopping container %s", name)
	c.mu.Lock()
	c.doomed[id] = key // the container's destroy event must not bring the Pod back
	c.mu.Unlock()
	c.stopGracefully(ctx, key, pod, []*inst{{ins: container.InspectResponse{ContainerJSONBase: &container.ContainerJSONBase{ID: id}}}})
	if err := c.d.ContainerRemove(ctx, id, true, false); err != nil && !isNotFound(err) {
		c.rec.Eventf(podRef(pod, name, false), corev1.EventTypeWarning, ReasonFailed, "Error: cannot remove container: %v", err)
		c.retry(key, "remove container", err)
		return
	}
	c.mu.Lock()
	delete(c.plainPods, id)
	c.mu.Unlock()
	_, _ = c.c.Delete(kindPod, pod.Namespace, pod.Name, "", string(pod.UID))
	c.forgetPod(pod.UID, key)
}

// removeDoomedPlain removes the containers of observed Pods that were force-deleted.
func (c *Controller) removeDoomedPlain(ctx context.Context, key string) {
	c.mu.Lock()
	var ids []string
	for id, k := range c.doomed {
		if k == key {
			ids = append(ids, id)
		}
	}
	c.mu.Unlock()
	for _, id := range ids {
		if err := c.d.ContainerRemove(ctx, id, true, false); err != nil && !isNotFound(err) {
			c.log.Warn("cannot remove container of deleted pod", "pod", key, "id", id, "err", err)
			continue
		}
		c.mu.Lock()
		delete(c.plainPods, id)
		c.mu.Unlock()
	}
}
