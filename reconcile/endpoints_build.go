package reconcile

// This file: the pure half of the endpoints controllers: what Endpoints and EndpointSlices a
// Service should have, given its pods, as kube-controller-manager's endpoints,
// endpointslice and endpointslicemirroring controllers compute it.

import (
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Names and labels the controllers use, as on a cluster.
const (
	// sliceManagedBy marks the EndpointSlices made for Services with a selector.
	sliceManagedBy = "endpointslice-controller.k8s.io"
	// mirrorManagedBy marks the EndpointSlices mirrored from user-made Endpoints.
	mirrorManagedBy = "endpointslicemirroring-controller.k8s.io"
	// maxEndpointsPerSlice is the controller's default --max-endpoints-per-slice.
	maxEndpointsPerSlice = 100
	// maxEndpointsPerSubset caps an Endpoints object (the rest is truncated and marked).
	maxEndpointsCapacity = 1000
	// componentEndpoints and componentSlices report the controllers' Events.
	componentEndpoints = "endpoint-controller"
	componentSlices    = "endpointslice-controller"
)

// podReady reports the pod's Ready condition.
func podReady(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// podInEndpoints reports whether a pod may appear at all: not finished, with an address,
// and, unless includeTerminating, not being deleted.
func podInEndpoints(pod *corev1.Pod, includeTerminating bool) bool {
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return false
	}
	if pod.Status.PodIP == "" && len(pod.Status.PodIPs) == 0 {
		return false
	}
	return includeTerminating || pod.DeletionTimestamp == nil
}

// serviceFamily is the address family a Service's endpoints use.
func serviceFamily(svc *corev1.Service) corev1.IPFamily {
	if len(svc.Spec.IPFamilies) > 0 {
		return svc.Spec.IPFamilies[0]
	}
	if a, err := netip.ParseAddr(svc.Spec.ClusterIP); err == nil && !a.Unmap().Is4() {
		return corev1.IPv6Protocol
	}
	return corev1.IPv4Protocol
}

// podIPFor returns the pod's address of the family, "" when it has none.
func podIPFor(pod *corev1.Pod, fam corev1.IPFamily) string {
	ips := make([]string, 0, 2)
	for _, p := range pod.Status.PodIPs {
		ips = append(ips, p.IP)
	}
	if len(ips) == 0 && pod.Status.PodIP != "" {
		ips = append(ips, pod.Status.PodIP)
	}
	for _, ip := range ips {
		a, err := netip.ParseAddr(ip)
		if err != nil {
			continue
		}
		if a.Unmap().Is4() == (fam != corev1.IPv6Protocol) {
			return a.Unmap().String()
		}
	}
	return ""
}

func protocolOf(p corev1.Protocol) corev1.Protocol {
	if p == "" {
		return corev1.ProtocolTCP
	}
	return p
}

// findPort resolves a Service port's targetPort on a pod: a number as it is, a name through
// the ports its containers (and sidecars) declare with the same protocol. A pod that does
// not declare the name is skipped for that port, as the real controller does.
func findPort(pod *corev1.Pod, sp *corev1.ServicePort) (int32, bool) {
	tp := sp.TargetPort
	switch {
	case tp.Type == intstr.String && tp.StrVal != "":
		find := func(cs []corev1.Container, sidecarsOnly bool) (int32, bool) {
			for i := range cs {
				c := &cs[i]
				if sidecarsOnly && (c.RestartPolicy == nil || *c.RestartPolicy != corev1.ContainerRestartPolicyAlways) {
					continue
				}
				for _, p := range c.Ports {
					if p.Name == tp.StrVal && protocolOf(p.Protocol) == protocolOf(sp.Protocol) {
						return p.ContainerPort, true
					}
				}
			}
			return 0, false
		}
		if n, ok := find(pod.Spec.Containers, false); ok {
			return n, true
		}
		return find(pod.Spec.InitContainers, true)
	case tp.Type == intstr.Int && tp.IntVal != 0:
		return tp.IntVal, true
	}
	return sp.Port, true // targetPort defaults to port
}

// shouldSetHostname: a pod with hostname and subdomain naming this Service gets a DNS name.
func shouldSetHostname(pod *corev1.Pod, svc *corev1.Service) bool {
	return pod.Spec.Hostname != "" && pod.Spec.Subdomain == svc.Name && pod.Namespace == svc.Namespace
}

func podTargetRef(pod *corev1.Pod) *corev1.ObjectReference {
	return &corev1.ObjectReference{Kind: "Pod", Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID}
}

// addrKey identifies an address in an Endpoints object.
type addrKey struct{ ip, uid string }

// buildSubsets computes the subsets of a selector Service's Endpoints from its pods,
// repacked into the canonical form: ports offered by the same addresses share a subset.
func buildSubsets(svc *corev1.Service, pods []*corev1.Pod) []corev1.EndpointSubset {
	fam := serviceFamily(svc)
	publish := svc.Spec.PublishNotReadyAddresses
	type entry struct {
		addr  corev1.EndpointAddress
		ready bool
	}
	addrs := map[addrKey]*entry{}
	// Each port (with -1 standing for "no ports" of a headless Service) maps to its addresses.
	byPort := map[corev1.EndpointPort]map[addrKey]bool{}
	var portOrder []corev1.EndpointPort
	add := func(p corev1.EndpointPort, k addrKey) {
		set, ok := byPort[p]
		if !ok {
			set = map[addrKey]bool{}
			byPort[p] = set
			portOrder = append(portOrder, p)
		}
		set[k] = true
	}
	for _, pod := range pods {
		if !podInEndpoints(pod, publish) {
			continue
		}
		ip := podIPFor(pod, fam)
		if ip == "" {
			continue
		}
		k := addrKey{ip, string(pod.UID)}
		if _, seen := addrs[k]; !seen {
			a := corev1.EndpointAddress{IP: ip, TargetRef: podTargetRef(pod)}
			if pod.Spec.NodeName != "" {
				n := pod.Spec.NodeName
				a.NodeName = &n
			}
			if shouldSetHostname(pod, svc) {
				a.Hostname = pod.Spec.Hostname
			}
			addrs[k] = &entry{addr: a, ready: publish || podReady(pod)}
		}
		if len(svc.Spec.Ports) == 0 {
			if svc.Spec.ClusterIP == corev1.ClusterIPNone {
				add(corev1.EndpointPort{Port: -1}, k)
			}
			continue
		}
		for i := range svc.Spec.Ports {
			sp := &svc.Spec.Ports[i]
			n, ok := findPort(pod, sp)
			if !ok {
				continue
			}
			add(corev1.EndpointPort{Name: sp.Name, Port: n, Protocol: protocolOf(sp.Protocol), AppProtocol: sp.AppProtocol}, k)
		}
	}
	// Group the ports whose address sets are equal.
	groups := map[string]*corev1.EndpointSubset{}
	var keys []string
	for _, p := range portOrder {
		set := byPort[p]
		ks := make([]string, 0, len(set))
		for k := range set {
			ks = append(ks, k.ip+"/"+k.uid)
		}
		sort.Strings(ks)
		gk := strings.Join(ks, ",")
		g, ok := groups[gk]
		if !ok {
			g = &corev1.EndpointSubset{}
			for k := range set {
				e := addrs[k]
				if e.ready {
					g.Addresses = append(g.Addresses, *e.addr.DeepCopy())
				} else {
					g.NotReadyAddresses = append(g.NotReadyAddresses, *e.addr.DeepCopy())
				}
			}
			groups[gk] = g
			keys = append(keys, gk)
		}
		if p.Port > 0 {
			g.Ports = append(g.Ports, p)
		}
	}
	out := make([]corev1.EndpointSubset, 0, len(keys))
	for _, k := range keys {
		out = append(out, *groups[k])
	}
	return sortSubsets(out)
}

// sortSubsets puts subsets in a stable order, so that an unchanged set compares equal.
func sortSubsets(subsets []corev1.EndpointSubset) []corev1.EndpointSubset {
	for i := range subsets {
		s := &subsets[i]
		sortAddresses(s.Addresses)
		sortAddresses(s.NotReadyAddresses)
		sort.Slice(s.Ports, func(a, b int) bool { return portLess(s.Ports[a], s.Ports[b]) })
	}
	sort.SliceStable(subsets, func(a, b int) bool { return subsetKey(&subsets[a]) < subsetKey(&subsets[b]) })
	return subsets
}

func sortAddresses(as []corev1.EndpointAddress) {
	sort.Slice(as, func(i, j int) bool {
		if c := compareIP(as[i].IP, as[j].IP); c != 0 {
			return c < 0
		}
		return refUID(as[i].TargetRef) < refUID(as[j].TargetRef)
	})
}

func refUID(r *corev1.ObjectReference) string {
	if r == nil {
		return ""
	}
	return string(r.UID)
}

func compareIP(a, b string) int {
	x, err1 := netip.ParseAddr(a)
	y, err2 := netip.ParseAddr(b)
	if err1 != nil || err2 != nil {
		return strings.Compare(a, b)
	}
	return x.Compare(y)
}

func portLess(a, b corev1.EndpointPort) bool {
	if a.Name != b.Name {
		return a.Name < b.Name
	}
	if a.Port != b.Port {
		return a.Port < b.Port
	}
	return a.Protocol < b.Protocol
}

func subsetKey(s *corev1.EndpointSubset) string {
	var b strings.Builder
	for _, p := range s.Ports {
		b.WriteString(p.Name + ":" + strconv.Itoa(int(p.Port)) + "/" + string(p.Protocol) + ",")
	}
	b.WriteString("|")
	for _, l := range [][]corev1.EndpointAddress{s.Addresses, s.NotReadyAddresses} {
		for _, a := range l {
			b.WriteString(a.IP + ",")
		}
		b.WriteString("|")
	}
	return b.String()
}

// truncateSubsets keeps at most maxEndpointsCapacity addresses, ready ones first, and
// reports whether it dropped any (the Endpoints is then annotated over-capacity).
func truncateSubsets(subsets []corev1.EndpointSubset) bool {
	ready, notReady := 0, 0
	for _, s := range subsets {
		ready += len(s.Addresses)
		notReady += len(s.NotReadyAddresses)
	}
	if ready+notReady <= maxEndpointsCapacity {
		return false
	}
	budget := maxEndpointsCapacity
	for i := range subsets {
		s := &subsets[i]
		if len(s.Addresses) > budget {
			s.Addresses = s.Addresses[:budget]
		}
		budget -= len(s.Addresses)
	}
	for i := range subsets {
		s := &subsets[i]
		if len(s.NotReadyAddresses) > budget {
			s.NotReadyAddresses = s.NotReadyAddresses[:budget]
		}
		budget -= len(s.NotReadyAddresses)
	}
	return true
}

// endpointsLabels are the Service's labels, plus the headless marker.
func endpointsLabels(svc *corev1.Service) map[string]string {
	out := make(map[string]string, len(svc.Labels)+1)
	for k, v := range svc.Labels {
		out[k] = v
	}
	if svc.Spec.ClusterIP == "" || svc.Spec.ClusterIP == corev1.ClusterIPNone {
		out[corev1.IsHeadlessService] = ""
	} else {
		delete(out, corev1.IsHeadlessService)
	}
	return out
}

// sliceSpec is the content of one desired EndpointSlice.
type sliceSpec struct {
	addressType discoveryv1.AddressType
	ports       []discoveryv1.EndpointPort
	endpoints   []discoveryv1.Endpoint
}

// portsKey identifies a set of slice ports.
func portsKey(ports []discoveryv1.EndpointPort) string {
	var b strings.Builder
	for _, p := range ports {
		if p.Name != nil {
			b.WriteString(*p.Name)
		}
		b.WriteByte(':')
		if p.Port != nil {
			b.WriteString(strconv.Itoa(int(*p.Port)))
		}
		b.WriteByte('/')
		if p.Protocol != nil {
			b.WriteString(string(*p.Protocol))
		}
		if p.AppProtocol != nil {
			b.WriteString("/" + *p.AppProtocol)
		}
		b.WriteByte(',')
	}
	return b.String()
}

func addressTypeOf(fam corev1.IPFamily) discoveryv1.AddressType {
	if fam == corev1.IPv6Protocol {
		return discoveryv1.AddressTypeIPv6
	}
	return discoveryv1.AddressTypeIPv4
}

// buildSlices computes the EndpointSlices of a selector Service: the pods grouped by the
// ports they resolve, at most maxEndpointsPerSlice to a slice, terminating pods included with
// their conditions. A Service without endpoints still gets one empty slice, as on a cluster.
func buildSlices(svc *corev1.Service, pods []*corev1.Pod) []sliceSpec {
	fam := serviceFamily(svc)
	at := addressTypeOf(fam)
	type group struct {
		ports     []discoveryv1.EndpointPort
		endpoints []discoveryv1.Endpoint
	}
	groups := map[string]*group{}
	var order []string
	for _, pod := range pods {
		if !podInEndpoints(pod, true) {
			continue
		}
		ports := slicePorts(svc, pod)
		k := portsKey(ports)
		g, ok := groups[k]
		if !ok {
			g = &group{ports: ports}
			groups[k] = g
			order = append(order, k)
		}
		ip := podIPFor(pod, fam)
		if ip == "" {
			continue
		}
		serving := podReady(pod)
		terminating := pod.DeletionTimestamp != nil
		ready := svc.Spec.PublishNotReadyAddresses || (serving && !terminating)
		ep := discoveryv1.Endpoint{
			Addresses:  []string{ip},
			Conditions: discoveryv1.EndpointConditions{Ready: &ready, Serving: &serving, Terminating: &terminating},
			TargetRef:  podTargetRef(pod),
		}
		if pod.Spec.NodeName != "" {
			n := pod.Spec.NodeName
			ep.NodeName = &n
		}
		if shouldSetHostname(pod, svc) {
			h := pod.Spec.Hostname
			ep.Hostname = &h
		}
		g.endpoints = append(g.endpoints, ep)
	}
	sort.Strings(order)
	var out []sliceSpec
	for _, k := range order {
		g := groups[k]
		if len(g.endpoints) == 0 {
			continue
		}
		sortEndpoints(g.endpoints)
		for i := 0; i < len(g.endpoints); i += maxEndpointsPerSlice {
			j := min(i+maxEndpointsPerSlice, len(g.endpoints))
			out = append(out, sliceSpec{addressType: at, ports: g.ports, endpoints: g.endpoints[i:j]})
		}
	}
	if len(out) == 0 {
		out = append(out, sliceSpec{addressType: at}) // the placeholder
	}
	return out
}

func slicePorts(svc *corev1.Service, pod *corev1.Pod) []discoveryv1.EndpointPort {
	var out []discoveryv1.EndpointPort
	for i := range svc.Spec.Ports {
		sp := &svc.Spec.Ports[i]
		n, ok := findPort(pod, sp)
		if !ok {
			continue
		}
		name, proto := sp.Name, protocolOf(sp.Protocol)
		out = append(out, discoveryv1.EndpointPort{Name: &name, Port: &n, Protocol: &proto, AppProtocol: sp.AppProtocol})
	}
	return out
}

func sortEndpoints(eps []discoveryv1.Endpoint) {
	sort.Slice(eps, func(i, j int) bool {
		if c := compareIP(eps[i].Addresses[0], eps[j].Addresses[0]); c != 0 {
			return c < 0
		}
		return refUID(eps[i].TargetRef) < refUID(eps[j].TargetRef)
	})
}

// mirrorSlices computes the slices mirrored from a selectorless Service's Endpoints: each
// subset's addresses by family, ready ones with ready true.
func mirrorSlices(ep *corev1.Endpoints) []sliceSpec {
	type group struct {
		at        discoveryv1.AddressType
		ports     []discoveryv1.EndpointPort
		endpoints []discoveryv1.Endpoint
	}
	groups := map[string]*group{}
	var order []string
	for _, s := range ep.Subsets {
		ports := make([]discoveryv1.EndpointPort, 0, len(s.Ports))
		for _, p := range s.Ports {
			name, port, proto := p.Name, p.Port, protocolOf(p.Protocol)
			ports = append(ports, discoveryv1.EndpointPort{Name: &name, Port: &port, Protocol: &proto, AppProtocol: p.AppProtocol})
		}
		sort.Slice(ports, func(i, j int) bool { return *ports[i].Name < *ports[j].Name })
		for _, l := range []struct {
			addrs []corev1.EndpointAddress
			ready bool
		}{{s.Addresses, true}, {s.NotReadyAddresses, false}} {
			for _, a := range l.addrs {
				ip, err := netip.ParseAddr(a.IP)
				if err != nil {
					continue
				}
				ip = ip.Unmap()
				at := discoveryv1.AddressTypeIPv4
				if !ip.Is4() {
					at = discoveryv1.AddressTypeIPv6
				}
				k := string(at) + "|" + portsKey(ports)
				g, ok := groups[k]
				if !ok {
					g = &group{at: at, ports: ports}
					groups[k] = g
					order = append(order, k)
				}
				ready := l.ready
				e := discoveryv1.Endpoint{Addresses: []string{ip.String()}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}
				if a.TargetRef != nil {
					e.TargetRef = a.TargetRef.DeepCopy()
				}
				if a.NodeName != nil {
					n := *a.NodeName
					e.NodeName = &n
				}
				if a.Hostname != "" {
					h := a.Hostname
					e.Hostname = &h
				}
				g.endpoints = append(g.endpoints, e)
			}
		}
	}
	sort.Strings(order)
	var out []sliceSpec
	for _, k := range order {
		g := groups[k]
		sortEndpoints(g.endpoints)
		for i := 0; i < len(g.endpoints); i += maxEndpointsPerSlice {
			j := min(i+maxEndpointsPerSlice, len(g.endpoints))
			out = append(out, sliceSpec{addressType: g.at, ports: g.ports, endpoints: g.endpoints[i:j]})
		}
	}
	return out
}

// sliceLabels are the labels of a Service's slices: the Service's own (but the reserved
// ones), the headless marker, the Service name and the managing controller.
func sliceLabels(svc *corev1.Service, managedBy string) map[string]string {
	out := map[string]string{}
	for k, v := range svc.Labels {
		if k == discoveryv1.LabelServiceName || k == discoveryv1.LabelManagedBy {
			continue
		}
		out[k] = v
	}
	if svc.Spec.ClusterIP == corev1.ClusterIPNone {
		out[corev1.IsHeadlessService] = ""
	} else {
		delete(out, corev1.IsHeadlessService)
	}
	out[discoveryv1.LabelServiceName] = svc.Name
	out[discoveryv1.LabelManagedBy] = managedBy
	return out
}

// slicePrefix is the generateName of a Service's slices; a name too long for that falls
// back to the controller's generic prefix.
func slicePrefix(name string) string {
	if len(name)+1+5 > 253 {
		return "endpointslice-"
	}
	return name + "-"
}

// triggerState remembers, per Service, the trigger times the last sync saw, to compute
// endpoints.kubernetes.io/last-change-trigger-time: the earliest change (a pod's Ready
// transition, the Service's creation) not yet reflected.
type triggerState struct {
	svc  time.Time
	pods map[string]time.Time
}

// lastChangeTriggerTime updates st (nil for a Service not seen yet) and returns the trigger
// time and the new state. Zero means no change is known to have caused this sync.
func lastChangeTriggerTime(st *triggerState, svc *corev1.Service, pods []*corev1.Pod) (time.Time, *triggerState) {
	next := &triggerState{svc: svc.CreationTimestamp.Time, pods: make(map[string]time.Time, len(pods))}
	var minT time.Time
	earlier := func(t time.Time) {
		if minT.IsZero() || t.Before(minT) {
			minT = t
		}
	}
	for _, p := range pods {
		var t time.Time
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady {
				t = c.LastTransitionTime.Time
			}
		}
		if t.IsZero() {
			continue
		}
		next.pods[p.Name] = t
		if st == nil || t.After(st.pods[p.Name]) {
			earlier(t)
		}
	}
	if st == nil {
		return svc.CreationTimestamp.Time, next
	}
	if next.svc.After(st.svc) {
		earlier(next.svc)
	}
	return minT, next
}

// formatTriggerTime formats the annotation's value.
func formatTriggerTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// serviceOwnerRef is the controller reference slices carry to their Service.
func serviceOwnerRef(svc *corev1.Service) metav1.OwnerReference {
	yes := true
	return metav1.OwnerReference{APIVersion: "v1", Kind: "Service", Name: svc.Name, UID: svc.UID, Controller: &yes, BlockOwnerDeletion: &yes}
}

// endpointsOwnerRef is the controller reference mirrored slices carry to their Endpoints.
func endpointsOwnerRef(ep *corev1.Endpoints) metav1.OwnerReference {
	yes := true
	return metav1.OwnerReference{APIVersion: "v1", Kind: "Endpoints", Name: ep.Name, UID: ep.UID, Controller: &yes, BlockOwnerDeletion: &yes}
}
