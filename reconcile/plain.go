package reconcile

import (
	"context"
	"errors"

	"github.com/k2d-project/k2d/cache"
	"github.com/k2d-project/k2d/translate"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime"
)

// syncPlain shows one container k2d did not create (plain `docker run`, compose) as a Pod,
// keeps that Pod's status in line with Docker, and removes the Pod when the container goes.
// Docker is the source of truth for these Pods: they are never persisted.
func (c *Controller) syncPlain(ctx context.Context, id string) {
	if !c.dockerUp.Load() {
		return
	}
	ins, err := c.d.ContainerInspect(ctx, id)
	c.mu.Lock()
	oldKey := c.plainPods[id]
	_, doomed := c.doomed[id]
	c.mu.Unlock()
	if err != nil {
		if !isNotFound(err) {
			c.log.Warn("cannot inspect container", "id", id, "err", err)
			c.plain.AddAfter(id, c.nextBackoff("plain/"+id, c.now()))
			return
		}
		c.mu.Lock()
		delete(c.plainPods, id)
		delete(c.doomed, id)
		delete(c.backoff, "plain/"+id)
		c.mu.Unlock()
		if oldKey != "" {
			c.deletePlainPod(oldKey, id)
		}
		return
	}
	if doomed || ins.ContainerJSONBase == nil || (ins.Config != nil && translate.IsManaged(ins.Config.Labels)) {
		return
	}
	pod := translate.PodFromContainer(&ins)
	if pod.Annotations == nil {
		pod.Annotations = map[string]string{}
	}
	pod.Annotations[AnnotationSource] = SourceDocker
	pod.Annotations[AnnotationContainerID] = ins.ID
	pod.Spec.NodeName = c.NodeName()
	if c.o.HostIP != "" {
		pod.Status.HostIP = c.o.HostIP
		pod.Status.HostIPs = []corev1.HostIP{{IP: c.o.HostIP}}
		if pod.Spec.HostNetwork {
			pod.Status.PodIP = c.o.HostIP
			pod.Status.PodIPs = []corev1.PodIP{{IP: c.o.HostIP}}
		}
	}
	key := pod.Namespace + "/" + pod.Name
	cur, exists := c.c.Get(resPods, pod.Namespace, pod.Name)
	switch {
	case !exists:
		if _, err := c.c.Create(kindPod, pod); err != nil {
			var ae *cache.AlreadyExistsError
			if !errors.As(err, &ae) {
				c.log.Warn("cannot show container as pod", "id", id, "pod", key, "err", err)
			}
			return
		}
	case cur.Obj.(*corev1.Pod).Annotations[AnnotationSource] != SourceDocker:
		// An API pod has that name: it wins; the container stays visible in `docker ps`.
		c.log.Info("container not shown as pod: name taken by a pod", "id", id, "pod", key)
		return
	case cur.Obj.(*corev1.Pod).Annotations[AnnotationContainerID] != ins.ID:
		other := cur.Obj.(*corev1.Pod).Annotations[AnnotationContainerID]
		c.mu.Lock()
		_, otherAlive := c.plainPods[other]
		c.mu.Unlock()
		if otherAlive {
			return // two containers map to one name: the older keeps it
		}
		_, _ = c.c.Delete(kindPod, pod.Namespace, pod.Name, "", "")
		if _, err := c.c.Create(kindPod, pod); err != nil {
			return
		}
	default:
		_, err := c.c.Mutate(kindPod, pod.Namespace, pod.Name, func(obj runtime.Object) (bool, error) {
			p := obj.(*corev1.Pod)
			if equality.Semantic.DeepEqual(p.Status, pod.Status) && equality.Semantic.DeepEqual(p.Labels, pod.Labels) &&
				equality.Semantic.DeepEqual(p.Spec, pod.Spec) {
				return false, nil
			}
			p.Labels, p.Spec, p.Status = pod.Labels, pod.Spec, pod.Status
			return true, nil
		})
		if err != nil {
			return
		}
	}
	c.mu.Lock()
	c.plainPods[id] = key
	delete(c.backoff, "plain/"+id)
	c.mu.Unlock()
	if oldKey != "" && oldKey != key {
		c.deletePlainPod(oldKey, id) // renamed
	}
}

// deletePlainPod removes the Pod shown for container id, if it still shows that container.
func (c *Controller) deletePlainPod(key, id string) {
	ns, name := splitKey(key)
	e, ok := c.c.Get(resPods, ns, name)
	if !ok {
		return
	}
	p := e.Obj.(*corev1.Pod)
	if p.Annotations[AnnotationSource] != SourceDocker || p.Annotations[AnnotationContainerID] != id {
		return
	}
	_, _ = c.c.Delete(kindPod, ns, name, "", string(p.UID))
}
