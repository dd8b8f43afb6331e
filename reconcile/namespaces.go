package reconcile

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/docker/docker/api/types/network"

	"github.com/k2d-project/k2d/cache"
	"github.com/k2d-project/k2d/codec"
	"github.com/k2d-project/k2d/translate"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

var errStreamClosed = errors.New("event stream closed")

func strconvUnixNano(t time.Time) string {
	return strconv.FormatInt(t.Unix(), 10) + "." + fmt.Sprintf("%09d", t.Nanosecond())
}

// syncNamespace keeps a namespace's network in line with the Namespace: created when the
// Namespace exists (and recreated when someone removes it on the Docker side), removed with
// the Namespace. A terminating Namespace is emptied first: pods are deleted gracefully and
// the Namespace leaves the cache once the last of them is gone.
func (c *Controller) syncNamespace(ctx context.Context, name string) {
	if !c.inScope(name) {
		return
	}
	c.setNamespacePhase(name)
	if !c.dockerUp.Load() {
		return // after a reconnect the resync enqueues every namespace again
	}
	e, ok := c.c.Get(resNS, "", name)
	if !ok {
		c.removeNetwork(ctx, name)
		return
	}
	ns := e.Obj.(*corev1.Namespace)
	if ns.DeletionTimestamp == nil && ns.Status.Phase != corev1.NamespaceTerminating {
		if err := c.ensureNetwork(ctx, name); err != nil {
			c.log.Warn("cannot create namespace network", "namespace", name, "err", err)
			c.setNamespaceCondition(name, "NamespaceNetworkFailure", err.Error())
			c.nss.AddAfter(name, 10*time.Second)
		}
		return
	}
	if remaining := c.emptyNamespace(name); remaining > 0 {
		return // each pod that goes enqueues the namespace again
	}
	c.removeNetwork(ctx, name)
	if _, err := c.c.Delete(kindNS, "", name, "", string(ns.UID)); err != nil {
		var nf *cache.NotFoundError
		if !errors.As(err, &nf) {
			c.log.Warn("cannot remove namespace", "namespace", name, "err", err)
		}
	}
}

// setNamespacePhase derives status.phase from deletionTimestamp. Status is not persisted,
// so a Namespace loaded after a restart gets its phase back here.
func (c *Controller) setNamespacePhase(name string) {
	_, err := c.c.Mutate(kindNS, "", name, func(obj runtime.Object) (bool, error) {
		ns := obj.(*corev1.Namespace)
		want := corev1.NamespaceActive
		if ns.DeletionTimestamp != nil {
			want = corev1.NamespaceTerminating
		}
		if ns.Status.Phase == want {
			return false, nil
		}
		ns.Status.Phase = want
		return true, nil
	})
	var nf *cache.NotFoundError
	if err != nil && !errors.As(err, &nf) {
		c.log.Warn("cannot set namespace phase", "namespace", name, "err", err)
	}
}

// emptyNamespace deletes what is in a terminating namespace and returns how many pods are
// still shutting down. Pods get a graceful deletion as `kubectl delete pod` would; every other
// namespaced object is removed at once (their controllers see the deletion). Events go last so
// that the pods' Killing events do not keep the namespace alive.
func (c *Controller) emptyNamespace(ns string) int {
	pods, _ := c.c.List(resPods, ns)
	for _, e := range pods {
		p := e.Obj.(*corev1.Pod)
		if p.DeletionTimestamp != nil {
			continue
		}
		grace := int64(corev1.DefaultTerminationGracePeriodSeconds)
		if p.Spec.TerminationGracePeriodSeconds != nil {
			grace = *p.Spec.TerminationGracePeriodSeconds
		}
		if grace <= 0 {
			_, _ = c.c.Delete(kindPod, ns, p.Name, "", string(p.UID))
			continue
		}
		_, _ = c.c.Mutate(kindPod, ns, p.Name, func(obj runtime.Object) (bool, error) {
			m := obj.(metav1.Object)
			if m.GetDeletionTimestamp() != nil {
				return false, nil
			}
			t := metav1.NewTime(c.now().Add(time.Duration(grace) * time.Second))
			m.SetDeletionTimestamp(&t)
			m.SetDeletionGracePeriodSeconds(&grace)
			return true, nil
		})
	}
	pods, _ = c.c.List(resPods, ns)
	if len(pods) > 0 {
		return len(pods)
	}
	for _, k := range codec.Kinds {
		if !k.Namespaced || k == kindPod {
			continue
		}
		list, _ := c.c.List(k.GroupResource(), ns)
		for _, e := range list {
			_, _ = c.c.Delete(k, ns, e.Meta().GetName(), "", "")
		}
	}
	return 0
}

// setNamespaceCondition reports a failure on the Namespace's status.
func (c *Controller) setNamespaceCondition(name, typ, msg string) {
	_, _ = c.c.Mutate(kindNS, "", name, func(obj runtime.Object) (bool, error) {
		ns := obj.(*corev1.Namespace)
		for i := range ns.Status.Conditions {
			if ns.Status.Conditions[i].Type == corev1.NamespaceConditionType(typ) {
				if ns.Status.Conditions[i].Message == msg {
					return false, nil
				}
				ns.Status.Conditions[i].Message = msg
				return true, nil
			}
		}
		ns.Status.Conditions = append(ns.Status.Conditions, corev1.NamespaceCondition{
			Type: corev1.NamespaceConditionType(typ), Status: corev1.ConditionTrue,
			LastTransitionTime: metav1.NewTime(c.now()), Reason: "DockerError", Message: msg,
		})
		return true, nil
	})
}

// ensureNetwork makes sure the namespace's network exists. Known networks cost no call: the
// set is filled by the resync and kept by network events. Creation is serialised: Docker
// before API 1.44 checks duplicate names only on a best-effort basis, and two concurrent
// creates (the namespace worker and a pod worker) would make two networks of one name.
func (c *Controller) ensureNetwork(ctx context.Context, ns string) error {
	name := translate.NetworkName(ns)
	c.mu.Lock()
	known := c.networks[name]
	c.mu.Unlock()
	if known {
		return nil
	}
	c.netMu.Lock()
	defer c.netMu.Unlock()
	list, err := c.d.NetworkList(ctx, translate.LabelManaged+"=true", translate.LabelNamespace+"="+ns)
	if err != nil {
		return fmt.Errorf("cannot list networks: %w", err)
	}
	var found []network.Summary
	for _, n := range list {
		if n.Name == name {
			found = append(found, n)
		}
	}
	if len(found) > 1 {
		// Left by an older engine's race: keep the oldest, which containers joined first.
		sort.Slice(found, func(i, j int) bool { return found[i].Created.Before(found[j].Created) })
		for _, n := range found[1:] {
			_ = c.d.NetworkRemove(ctx, n.ID)
		}
	}
	if len(found) == 0 {
		if _, err := c.d.NetworkCreate(ctx, name, translate.Network(ns).CreateOptions); err != nil && !isConflict(err) {
			return fmt.Errorf("cannot create network %q: %w", name, err)
		}
	}
	c.setNetwork(name, true)
	return nil
}

func (c *Controller) setNetwork(name string, exists bool) {
	c.mu.Lock()
	if exists {
		c.networks[name] = true
	} else {
		delete(c.networks, name)
	}
	c.mu.Unlock()
}

// removeNetwork removes the network of a namespace that no longer exists, if k2d made it.
func (c *Controller) removeNetwork(ctx context.Context, ns string) {
	name := translate.NetworkName(ns)
	n, err := c.d.NetworkInspect(ctx, name)
	if err != nil {
		if isNotFound(err) {
			c.setNetwork(name, false)
		}
		return
	}
	if !translate.IsManaged(n.Labels) {
		return
	}
	if err := c.d.NetworkRemove(ctx, n.ID); err != nil && !isNotFound(err) {
		// Still in use, e.g. by a plain container someone connected to it: it stays, and a
		// namespace of the same name created later reuses it.
		c.log.Warn("cannot remove namespace network", "network", name, "err", err)
		return
	}
	c.setNetwork(name, false)
}
