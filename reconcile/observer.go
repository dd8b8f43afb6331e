package reconcile

import (
	"context"
	"strings"
	"time"

	"github.com/docker/docker/api/types/events"
	"github.com/k2d-project/k2d/translate"
	corev1 "k8s.io/api/core/v1"
)

// Reconnect back-off while Docker is unreachable.
const (
	reconnectMin = 500 * time.Millisecond
	reconnectMax = 30 * time.Second
)

// observe follows Docker's events from since until Stop. When the stream breaks (Docker
// restarted or went away) the Node goes NotReady, and k2d reconnects with exponential
// back-off, then resyncs everything before following again: events lost while the stream
// was down cannot leave anything stale.
func (c *Controller) observe(since string) {
	ctx := c.ctx
	wait := reconnectMin
	for {
		err := c.follow(ctx, since)
		if ctx.Err() != nil {
			return
		}
		c.dockerUp.Store(false)
		c.markNodeNotReady()
		c.log.Warn("docker event stream ended; reconnecting", "err", err)
		for {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			wait = min(wait*2, reconnectMax)
			if err := c.connect(ctx); err != nil {
				continue
			}
			s, err := c.resync(ctx)
			if err != nil {
				c.log.Warn("cannot resync with docker", "err", err)
				continue
			}
			since = s
			wait = reconnectMin
			c.log.Info("docker reachable again; resynced")
			break
		}
	}
}

// follow handles events until the stream ends.
func (c *Controller) follow(ctx context.Context, since string) error {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	msgs, errs := c.d.Events(sctx, since)
	for {
		select {
		case m, ok := <-msgs:
			if !ok {
				select {
				case err := <-errs:
					return err
				default:
					return errStreamClosed
				}
			}
			c.handleEvent(m)
		case err := <-errs:
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// resync lists Docker and puts every object in line: the Node, the namespaces' networks,
// every pod known to the cache or to Docker, and the Pods shown for plain containers. It
// returns the engine time to follow events from, taken before listing so that nothing that
// happens during the resync is missed.
func (c *Controller) resync(ctx context.Context) (string, error) {
	info, err := c.d.Info(ctx)
	if err != nil {
		return "", err
	}
	since := info.SystemTime
	if t, err := time.Parse(time.RFC3339Nano, since); err == nil {
		since = strconvUnixNano(t)
	} else {
		since = strconvUnixNano(c.now())
	}
	if err := c.writeNode(ctx); err != nil {
		return "", err
	}
	nets, err := c.d.NetworkList(ctx, translate.LabelManaged+"=true")
	if err != nil {
		return "", err
	}
	list, err := c.d.ContainerList(ctx, true)
	if err != nil {
		return "", err
	}
	c.mu.Lock()
	c.networks = map[string]bool{}
	for _, n := range nets {
		c.networks[n.Name] = true
	}
	c.mu.Unlock()

	nsKeys := map[string]bool{}
	for _, n := range nets {
		if ns := n.Labels[translate.LabelNamespace]; ns != "" && c.inScope(ns) {
			nsKeys[ns] = true
		}
	}
	nsList, _ := c.c.List(resNS, "")
	for _, e := range nsList {
		nsKeys[e.Meta().GetName()] = true
	}

	podKeys := map[string]bool{}
	plainIDs := map[string]bool{}
	for i := range list {
		s := &list[i]
		switch {
		case isManagedPod(s.Labels):
			if !c.inScope(s.Labels[translate.LabelPodNamespace]) {
				continue
			}
			podKeys[s.Labels[translate.LabelPodNamespace]+"/"+s.Labels[translate.LabelPodName]] = true
		case translate.IsManaged(s.Labels):
		default:
			plainIDs[s.ID] = true
		}
	}
	pods, _ := c.c.List(resPods, "")
	var stale []string
	for _, e := range pods {
		p := e.Obj.(*corev1.Pod)
		key := p.Namespace + "/" + p.Name
		if id := p.Annotations[AnnotationContainerID]; p.Annotations[AnnotationSource] == SourceDocker {
			if !plainIDs[id] {
				stale = append(stale, id)
				c.mu.Lock()
				c.plainPods[id] = key
				c.mu.Unlock()
			}
			continue
		}
		podKeys[key] = true
	}
	c.dockerUp.Store(true)
	for ns := range nsKeys {
		c.nss.Add(ns)
	}
	for k := range podKeys {
		c.pods.Add(k)
	}
	for id := range plainIDs {
		c.plain.Add(id)
	}
	for _, id := range stale {
		c.plain.Add(id) // gone from Docker while k2d was not looking: its Pod goes too
	}
	c.ready.Store(true)
	return since, nil
}

// handleEvent routes one Docker event to the queue of the object it is about.
func (c *Controller) handleEvent(m events.Message) {
	action := string(m.Action)
	attrs := m.Actor.Attributes
	switch m.Type {
	case events.ContainerEventType:
		if !containerActionMatters(action) {
			return
		}
		if isManagedPod(attrs) {
			if !c.inScope(attrs[translate.LabelPodNamespace]) {
				return
			}
			key := attrs[translate.LabelPodNamespace] + "/" + attrs[translate.LabelPodName]
			if m.Action == events.ActionOOM {
				c.recordOOM(key, attrs)
			}
			c.pods.Add(key)
			return
		}
		if translate.IsManaged(attrs) {
			return
		}
		switch m.Action {
		case events.ActionDie:
			c.recordPlain(m.Actor.ID, corev1.EventTypeNormal, ReasonDied, "Container "+trimSlash(attrs["name"])+" exited with code "+attrs["exitCode"])
		case events.ActionOOM:
			c.recordPlain(m.Actor.ID, corev1.EventTypeWarning, ReasonOOMKilled, "Container "+trimSlash(attrs["name"])+" was killed by the kernel: out of memory")
		}
		c.plain.Add(m.Actor.ID)
	case events.NetworkEventType:
		name := attrs["name"]
		if !strings.HasPrefix(name, "k2d-") || !c.inScope(strings.TrimPrefix(name, "k2d-")) {
			return
		}
		switch m.Action {
		case events.ActionDestroy:
			c.mu.Lock()
			delete(c.networks, name)
			c.mu.Unlock()
			c.nss.Add(strings.TrimPrefix(name, "k2d-"))
		case events.ActionCreate:
			c.mu.Lock()
			c.networks[name] = true
			c.mu.Unlock()
		}
	case events.ImageEventType:
		switch m.Action {
		case events.ActionPull, events.ActionTag, events.ActionLoad, events.ActionImport:
			c.mu.Lock()
			keys := make([]string, 0, len(c.waitImage))
			for k := range c.waitImage {
				keys = append(keys, k)
			}
			c.mu.Unlock()
			for _, k := range keys {
				c.pods.Add(k)
			}
		}
	}
}

// containerActionMatters drops the events that do not change a container's state: execs,
// attaches, resizes, copies.
func containerActionMatters(action string) bool {
	switch {
	case strings.HasPrefix(action, "exec_"):
		return false
	case strings.HasPrefix(action, "health_status"):
		return true
	}
	switch events.Action(action) {
	case events.ActionCreate, events.ActionStart, events.ActionDie, events.ActionOOM, events.ActionKill,
		events.ActionDestroy, events.ActionRename, events.ActionPause, events.ActionUnPause,
		events.ActionStop, events.ActionRestart, events.ActionUpdate:
		return true
	}
	return false
}

// recordOOM records an OOMKilled event on the container of a k2d pod.
func (c *Controller) recordOOM(key string, attrs map[string]string) {
	ns, name := splitKey(key)
	e, ok := c.c.Get(resPods, ns, name)
	if !ok {
		return
	}
	pod := e.Obj.(*corev1.Pod)
	cname := attrs[translate.LabelContainerName]
	if cname == "" {
		return
	}
	c.rec.Eventf(podRef(pod, cname, attrs[translate.LabelContainerKind] == translate.KindInit), corev1.EventTypeWarning, ReasonOOMKilled,
		"Container %s was OOM-killed (memory limit reached)", cname)
}

// recordPlain records a Docker-originated event on the Pod shown for a plain container.
func (c *Controller) recordPlain(id, typ, reason, msg string) {
	c.mu.Lock()
	key := c.plainPods[id]
	c.mu.Unlock()
	if key == "" {
		return
	}
	ns, name := splitKey(key)
	e, ok := c.c.Get(resPods, ns, name)
	if !ok {
		return
	}
	c.rec.record(podRef(e.Obj.(*corev1.Pod), "", false), componentDocker, typ, reason, msg)
}

func trimSlash(s string) string { return strings.TrimPrefix(s, "/") }
