package reconcile

// This file: Endpoints and EndpointSlices of Services, following pod readiness, as the
// endpoints, endpointslice and endpointslicemirroring controllers of kube-controller-manager
// keep them; and the `kubernetes` Service (endpoints_kubernetes.go). Work is event driven:
// a change of a Service, of a pod a Service selects, or of a managed Endpoints or
// EndpointSlice enqueues the Service's key; nothing runs at idle, and a sync writes only
// what differs.

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"time"

	"github.com/k2d-project/k2d/cache"
	"github.com/k2d-project/k2d/codec"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var (
	epKindService   = codec.KindFor("", "v1", "services")
	epKindEndpoints = codec.KindFor("", "v1", "endpoints")
	epKindSlice     = codec.KindFor("discovery.k8s.io", "v1", "endpointslices")
	epResServices   = epKindService.GroupResource()
	epResEndpoints  = epKindEndpoints.GroupResource()
	epResSlices     = epKindSlice.GroupResource()
)

// endpointsRetry is how soon a sync that failed to write runs again.
const endpointsRetry = 2 * time.Second

// endpointsCtl is the state of the endpoints controllers.
type endpointsCtl struct {
	q *queue // "ns/name" of Services

	mu       sync.Mutex
	svcs     map[string]map[string]svcInfo // namespace -> Service name -> what routing needs
	triggers map[string]*triggerState      // "ns/name" -> trigger times of the last sync
}

// svcInfo is what routing a pod event needs to know of a Service.
type svcInfo struct {
	selector map[string]string // nil: no selector
	external bool
}

func (c *Controller) startEndpoints() {
	e := &endpointsCtl{svcs: map[string]map[string]svcInfo{}, triggers: map[string]*triggerState{}}
	e.q = newQueue(c.ctx, "endpoints", 2, c.log, c.syncEndpoints)
	c.eps.Store(e)
	// Stop waits for a running sync: nothing may write to the store after it returns.
	c.wg.Add(1)
	context.AfterFunc(c.ctx, func() {
		defer c.wg.Done()
		e.q.Close()
	})
	// Events since Subscribe were dropped while eps was nil: the full pass covers them.
	list, _ := c.c.List(epResServices, "")
	for _, ent := range list {
		svc := ent.Obj.(*corev1.Service)
		e.remember(svc)
		e.q.Add(svc.Namespace + "/" + svc.Name)
	}
	e.q.Add(kubernetesServiceKey)
	// Slices this controller made for a Service that went while k2d was down.
	slices, _ := c.c.List(epResSlices, "")
	for _, ent := range slices {
		sl := ent.Obj.(*discoveryv1.EndpointSlice)
		if mb := sl.Labels[discoveryv1.LabelManagedBy]; (mb == sliceManagedBy || mb == mirrorManagedBy) && sl.Labels[discoveryv1.LabelServiceName] != "" {
			e.q.Add(sl.Namespace + "/" + sl.Labels[discoveryv1.LabelServiceName])
		}
	}
	// Endpoints whose Service went while k2d was down: their sync removes them, as the
	// endpoints controller of kube-controller-manager removes leftover Endpoints when it starts.
	// Leader-election records, which are not a Service's, are left alone.
	eps, _ := c.c.List(epResEndpoints, "")
	for _, ent := range eps {
		ep := ent.Obj.(*corev1.Endpoints)
		if _, ok := c.c.Get(epResServices, ep.Namespace, ep.Name); !ok && ep.Annotations[leaderElectionAnnotation] == "" {
			e.q.Add(ep.Namespace + "/" + ep.Name)
		}
	}
}

// leaderElectionAnnotation marks an Endpoints object used as a leader-election lock.
const leaderElectionAnnotation = "control-plane.alpha.kubernetes.io/leader"

func (e *endpointsCtl) remember(svc *corev1.Service) {
	e.mu.Lock()
	defer e.mu.Unlock()
	m := e.svcs[svc.Namespace]
	if m == nil {
		m = map[string]svcInfo{}
		e.svcs[svc.Namespace] = m
	}
	var sel map[string]string
	if len(svc.Spec.Selector) > 0 {
		sel = make(map[string]string, len(svc.Spec.Selector))
		for k, v := range svc.Spec.Selector {
			sel[k] = v
		}
	}
	m[svc.Name] = svcInfo{selector: sel, external: svc.Spec.Type == corev1.ServiceTypeExternalName}
}

func (e *endpointsCtl) forget(ns, name string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.svcs[ns], name)
	if len(e.svcs[ns]) == 0 {
		delete(e.svcs, ns)
	}
	delete(e.triggers, ns+"/"+name)
}

func (e *endpointsCtl) known(ns, name string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, ok := e.svcs[ns][name]
	return ok
}

// selecting returns the keys of the selector Services in ns that select any of the label sets.
func (e *endpointsCtl) selecting(ns string, sets ...map[string]string) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var keys []string
	for name, info := range e.svcs[ns] {
		if info.selector == nil || info.external {
			continue
		}
		for _, l := range sets {
			if selects(info.selector, l) {
				keys = append(keys, ns+"/"+name)
				break
			}
		}
	}
	return keys
}

// selects reports whether a Service selector matches the labels.
func selects(sel, labels map[string]string) bool {
	if len(sel) == 0 {
		return false
	}
	for k, v := range sel {
		if lv, ok := labels[k]; !ok || lv != v {
			return false
		}
	}
	return true
}

// onEndpointsChange routes cache changes to the Services they concern. It runs with the
// cache lock held: it only enqueues.
func (c *Controller) onEndpointsChange(ev cache.Event) {
	e := c.eps.Load()
	if e == nil {
		return
	}
	m := ev.Entry.Meta()
	ns, name := m.GetNamespace(), m.GetName()
	switch ev.Resource {
	case epResServices:
		svc := ev.Entry.Obj.(*corev1.Service)
		if ev.Type == cache.Deleted {
			e.mu.Lock()
			delete(e.svcs[ns], name)
			e.mu.Unlock()
		} else {
			e.remember(svc)
			if ev.Type == cache.Modified && ev.Old != nil && !serviceChangeMatters(ev.Old.Obj.(*corev1.Service), svc) {
				return
			}
		}
		e.q.Add(ns + "/" + name)
	case resPods:
		pod := ev.Entry.Obj.(*corev1.Pod)
		sets := []map[string]string{pod.Labels}
		if ev.Type == cache.Modified && ev.Old != nil {
			old := ev.Old.Obj.(*corev1.Pod)
			if !podEndpointsChanged(old, pod) {
				return
			}
			sets = append(sets, old.Labels)
		}
		for _, k := range e.selecting(ns, sets...) {
			e.q.Add(k)
		}
	case epResEndpoints:
		// A managed Endpoints changed or went (put it back), or a selectorless Service's
		// Endpoints changed (mirror it). Endpoints without a Service are the user's.
		if e.known(ns, name) {
			e.q.Add(ns + "/" + name)
		}
	case epResSlices:
		if ns == metav1.NamespaceDefault && name == kubernetesServiceName {
			e.q.Add(kubernetesServiceKey)
			return
		}
		for _, ent := range []*cache.Entry{ev.Entry, ev.Old} {
			if ent == nil {
				continue
			}
			l := ent.Meta().GetLabels()
			if mb := l[discoveryv1.LabelManagedBy]; (mb == sliceManagedBy || mb == mirrorManagedBy) && l[discoveryv1.LabelServiceName] != "" {
				e.q.Add(ns + "/" + l[discoveryv1.LabelServiceName])
			}
		}
	}
}

// serviceChangeMatters: status writes (load balancer ingress) change no endpoints.
func serviceChangeMatters(old, cur *corev1.Service) bool {
	return old.UID != cur.UID || !reflect.DeepEqual(old.Spec, cur.Spec) || !reflect.DeepEqual(old.Labels, cur.Labels)
}

// podEndpointsChanged reports whether a pod change can change an endpoint: the kubelet's
// status writes mostly do not.
func podEndpointsChanged(old, cur *corev1.Pod) bool {
	if old.UID != cur.UID || !reflect.DeepEqual(old.Labels, cur.Labels) ||
		(old.DeletionTimestamp == nil) != (cur.DeletionTimestamp == nil) ||
		old.Status.PodIP != cur.Status.PodIP || !reflect.DeepEqual(old.Status.PodIPs, cur.Status.PodIPs) ||
		old.Spec.NodeName != cur.Spec.NodeName || old.Spec.Hostname != cur.Spec.Hostname || old.Spec.Subdomain != cur.Spec.Subdomain {
		return true
	}
	terminal := func(p *corev1.Pod) bool {
		return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
	}
	if terminal(old) != terminal(cur) || podReady(old) != podReady(cur) {
		return true
	}
	return readyTransition(old) != readyTransition(cur)
}

func readyTransition(p *corev1.Pod) time.Time {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.LastTransitionTime.Time
		}
	}
	return time.Time{}
}

// syncEndpoints brings one Service's Endpoints and EndpointSlices in line.
func (c *Controller) syncEndpoints(_ context.Context, key string) {
	e := c.eps.Load()
	if e == nil {
		return
	}
	var err error
	if key == kubernetesServiceKey {
		err = c.syncKubernetesService()
	} else {
		err = c.syncServiceEndpoints(e, key)
	}
	if err != nil {
		c.log.Warn("cannot sync endpoints", "service", key, "err", err)
		e.q.AddAfter(key, endpointsRetry)
	}
}

func (c *Controller) syncServiceEndpoints(e *endpointsCtl, key string) error {
	ns, name := splitKey(key)
	ent, ok := c.c.Get(epResServices, ns, name)
	if !ok {
		e.forget(ns, name)
		return c.removeServiceEndpoints(ns, name)
	}
	svc := ent.Obj.(*corev1.Service)
	e.remember(svc)
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		return nil // no endpoints, as on a cluster
	}
	active := c.namespaceActive(ns)
	if len(svc.Spec.Selector) == 0 {
		return c.mirrorEndpoints(svc, active)
	}
	pods := c.selectedPods(svc)
	e.mu.Lock()
	trigger, st := lastChangeTriggerTime(e.triggers[key], svc, pods)
	e.triggers[key] = st
	e.mu.Unlock()
	err1 := c.writeEndpoints(svc, pods, trigger, active)
	owner := serviceOwnerRef(svc)
	err2 := c.writeSlices(ns, svc.Name, buildSlices(svc, pods), sliceLabels(svc, sliceManagedBy), nil, owner, sliceManagedBy, trigger, active)
	if err2 != nil {
		c.rec.record(serviceEventRef(svc), componentSlices, corev1.EventTypeWarning, "FailedToUpdateEndpointSlices",
			fmt.Sprintf("Error updating Endpoint Slices for Service %s/%s: %v", ns, name, err2))
	}
	return errors.Join(err1, err2)
}

func serviceEventRef(svc *corev1.Service) corev1.ObjectReference {
	return corev1.ObjectReference{Kind: "Service", APIVersion: "v1", Namespace: svc.Namespace, Name: svc.Name, UID: svc.UID, ResourceVersion: svc.ResourceVersion}
}

// namespaceActive reports whether objects may be created in ns.
func (c *Controller) namespaceActive(ns string) bool {
	e, ok := c.c.Get(resNS, "", ns)
	return ok && e.Meta().GetDeletionTimestamp() == nil
}

// selectedPods lists the pods of the Service's namespace its selector matches.
func (c *Controller) selectedPods(svc *corev1.Service) []*corev1.Pod {
	list, _ := c.c.List(resPods, svc.Namespace)
	var out []*corev1.Pod
	for _, ent := range list {
		p := ent.Obj.(*corev1.Pod)
		if selects(svc.Spec.Selector, p.Labels) {
			out = append(out, p)
		}
	}
	return out
}

// writeEndpoints stores the Endpoints a selector Service should have, when it differs.
func (c *Controller) writeEndpoints(svc *corev1.Service, pods []*corev1.Pod, trigger time.Time, active bool) error {
	subsets := buildSubsets(svc, pods)
	over := truncateSubsets(subsets)
	labels := endpointsLabels(svc)
	var cur *corev1.Endpoints
	if ent, ok := c.c.Get(epResEndpoints, svc.Namespace, svc.Name); ok {
		cur = ent.Obj.(*corev1.Endpoints)
		_, marked := cur.Annotations[corev1.EndpointsOverCapacity]
		if equality.Semantic.DeepEqual(cur.Subsets, subsets) && sameStringMap(cur.Labels, labels) && marked == over {
			return nil
		}
	}
	if cur == nil && !active {
		return nil
	}
	var ep *corev1.Endpoints
	if cur != nil {
		ep = cur.DeepCopy()
	} else {
		ep = &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: svc.Name, Namespace: svc.Namespace}}
	}
	ep.Subsets = subsets
	ep.Labels = labels
	if ep.Annotations == nil {
		ep.Annotations = map[string]string{}
	}
	if !trigger.IsZero() {
		ep.Annotations[corev1.EndpointsLastChangeTriggerTime] = formatTriggerTime(trigger)
	} else {
		delete(ep.Annotations, corev1.EndpointsLastChangeTriggerTime)
	}
	if over {
		ep.Annotations[corev1.EndpointsOverCapacity] = "truncated"
	} else {
		delete(ep.Annotations, corev1.EndpointsOverCapacity)
	}
	if len(ep.Annotations) == 0 {
		ep.Annotations = nil
	}
	var err error
	if cur == nil {
		_, err = c.c.Create(epKindEndpoints, ep)
	} else {
		_, err = c.c.Update(epKindEndpoints, ep)
	}
	if err != nil {
		reason, msg := "FailedToUpdateEndpoint", fmt.Sprintf("Failed to update endpoint %s/%s: %v", svc.Namespace, svc.Name, err)
		if cur == nil {
			reason, msg = "FailedToCreateEndpoint", fmt.Sprintf("Failed to create endpoint for service %s/%s: %v", svc.Namespace, svc.Name, err)
		}
		ref := corev1.ObjectReference{Kind: "Endpoints", APIVersion: "v1", Namespace: svc.Namespace, Name: svc.Name}
		if cur != nil {
			ref.UID = cur.UID
		}
		c.rec.record(ref, componentEndpoints, corev1.EventTypeWarning, reason, msg)
		return fmt.Errorf("cannot write endpoints %s/%s: %w", svc.Namespace, svc.Name, err)
	}
	return nil
}

// mirrorEndpoints keeps the slices of a selectorless Service in line with the Endpoints its
// user writes, unless they opt out with endpointslice.kubernetes.io/skip-mirror.
func (c *Controller) mirrorEndpoints(svc *corev1.Service, active bool) error {
	var desired []sliceSpec
	var labels, annotations map[string]string
	var owner metav1.OwnerReference
	if ent, ok := c.c.Get(epResEndpoints, svc.Namespace, svc.Name); ok {
		ep := ent.Obj.(*corev1.Endpoints)
		_, leader := ep.Annotations["control-plane.alpha.kubernetes.io/leader"]
		if ep.Labels[discoveryv1.LabelSkipMirror] != "true" && !leader {
			desired = mirrorSlices(ep)
			labels = map[string]string{}
			for k, v := range ep.Labels {
				labels[k] = v
			}
			labels[discoveryv1.LabelServiceName] = ep.Name
			labels[discoveryv1.LabelManagedBy] = mirrorManagedBy
			for k, v := range ep.Annotations {
				if k == corev1.EndpointsLastChangeTriggerTime || k == corev1.LastAppliedConfigAnnotation {
					continue
				}
				if annotations == nil {
					annotations = map[string]string{}
				}
				annotations[k] = v
			}
			owner = endpointsOwnerRef(ep)
		}
	}
	return c.writeSlices(svc.Namespace, svc.Name, desired, labels, annotations, owner, mirrorManagedBy, time.Time{}, active)
}

// removeServiceEndpoints deletes what the controllers keep for a Service that is gone.
func (c *Controller) removeServiceEndpoints(ns, name string) error {
	var errs []error
	if _, ok := c.c.Get(epResEndpoints, ns, name); ok {
		if _, err := c.c.Delete(epKindEndpoints, ns, name, "", ""); err != nil && !isCacheNotFound(err) {
			errs = append(errs, err)
		}
	}
	for _, mb := range []string{sliceManagedBy, mirrorManagedBy} {
		if err := c.writeSlices(ns, name, nil, nil, nil, metav1.OwnerReference{}, mb, time.Time{}, false); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func isCacheNotFound(err error) bool {
	var nf *cache.NotFoundError
	return errors.As(err, &nf)
}

// writeSlices makes the slices of Service ns/name managed by managedBy hold desired: an
// existing slice with the same content is kept as is, others are updated in place (same
// ports first), missing ones created and left-over ones deleted.
func (c *Controller) writeSlices(ns, name string, desired []sliceSpec, labels, annotations map[string]string,
	owner metav1.OwnerReference, managedBy string, trigger time.Time, active bool) error {
	list, _ := c.c.List(epResSlices, ns)
	var existing []*discoveryv1.EndpointSlice
	for _, ent := range list {
		sl := ent.Obj.(*discoveryv1.EndpointSlice)
		if sl.Labels[discoveryv1.LabelServiceName] == name && sl.Labels[discoveryv1.LabelManagedBy] == managedBy && sl.DeletionTimestamp == nil {
			existing = append(existing, sl)
		}
	}
	used := make([]bool, len(existing))
	pending := make([]bool, len(desired))
	for i := range desired {
		pending[i] = true
		for j, sl := range existing {
			if !used[j] && sliceMatches(sl, &desired[i], labels, annotations, owner) {
				used[j], pending[i] = true, false
				break
			}
		}
	}
	var errs []error
	assign := func(i int, samePorts bool) {
		for j, sl := range existing {
			if used[j] || sl.AddressType != desired[i].addressType {
				continue
			}
			if samePorts && portsKey(sl.Ports) != portsKey(desired[i].ports) {
				continue
			}
			used[j], pending[i] = true, false
			upd := sl.DeepCopy()
			fillSlice(upd, &desired[i], labels, annotations, owner, trigger)
			if _, err := c.c.Update(epKindSlice, upd); err != nil {
				errs = append(errs, fmt.Errorf("cannot update endpointslice %s/%s: %w", ns, sl.Name, err))
			}
			return
		}
	}
	for _, samePorts := range []bool{true, false} {
		for i := range desired {
			if pending[i] {
				assign(i, samePorts)
			}
		}
	}
	for i := range desired {
		if !pending[i] || !active {
			continue
		}
		sl := &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: ns, GenerateName: slicePrefix(name)}}
		fillSlice(sl, &desired[i], labels, annotations, owner, trigger)
		if _, err := c.c.Create(epKindSlice, sl); err != nil {
			errs = append(errs, fmt.Errorf("cannot create endpointslice for %s/%s: %w", ns, name, err))
		}
	}
	for j, sl := range existing {
		if used[j] {
			continue
		}
		if _, err := c.c.Delete(epKindSlice, ns, sl.Name, "", ""); err != nil && !isCacheNotFound(err) {
			errs = append(errs, fmt.Errorf("cannot delete endpointslice %s/%s: %w", ns, sl.Name, err))
		}
	}
	return errors.Join(errs...)
}

func sliceMatches(sl *discoveryv1.EndpointSlice, d *sliceSpec, labels, annotations map[string]string, owner metav1.OwnerReference) bool {
	if sl.AddressType != d.addressType || !sameStringMap(sl.Labels, labels) ||
		!equality.Semantic.DeepEqual(sl.Ports, d.ports) || !equality.Semantic.DeepEqual(sl.Endpoints, d.endpoints) {
		return false
	}
	if annotations != nil {
		for k, v := range annotations {
			if sl.Annotations[k] != v {
				return false
			}
		}
	}
	return len(sl.OwnerReferences) == 1 && sl.OwnerReferences[0].UID == owner.UID && sl.OwnerReferences[0].Kind == owner.Kind &&
		sl.OwnerReferences[0].Name == owner.Name
}

func fillSlice(sl *discoveryv1.EndpointSlice, d *sliceSpec, labels, annotations map[string]string, owner metav1.OwnerReference, trigger time.Time) {
	sl.AddressType = d.addressType
	sl.Ports = d.ports
	sl.Endpoints = d.endpoints
	sl.Labels = make(map[string]string, len(labels))
	for k, v := range labels {
		sl.Labels[k] = v
	}
	if sl.Annotations == nil {
		sl.Annotations = map[string]string{}
	}
	for k, v := range annotations {
		sl.Annotations[k] = v
	}
	if !trigger.IsZero() {
		sl.Annotations[corev1.EndpointsLastChangeTriggerTime] = formatTriggerTime(trigger)
	} else {
		delete(sl.Annotations, corev1.EndpointsLastChangeTriggerTime)
	}
	if len(sl.Annotations) == 0 {
		sl.Annotations = nil
	}
	sl.OwnerReferences = []metav1.OwnerReference{owner}
}

func sameStringMap(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
