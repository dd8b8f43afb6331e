package reconcile

// This file: the Service data plane on the host (package svcnet), in place of kube-proxy and
// CoreDNS: each Service's ClusterIPs become VIPs on lo with a proxy per port to the ready
// endpoints of its Endpoints, NodePorts listen on every address, LoadBalancer ports on the
// node address (and status.loadBalancer says so), and the cluster DNS Service kube-dns in
// kube-system, which k2d keeps, is answered by k2d itself. Work is event driven: a change of
// a Service or of its Endpoints enqueues the Service's key and one worker applies it; a
// failure (a port in use) is retried with back-off while it lasts, and nothing runs at idle.

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/k2d-project/k2d/cache"
	"github.com/k2d-project/k2d/codec"
	"github.com/k2d-project/k2d/svcnet"
	"github.com/k2d-project/k2d/translate"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

var (
	snKindService   = codec.KindFor("", "v1", "services")
	snKindEndpoints = codec.KindFor("", "v1", "endpoints")
	snResServices   = snKindService.GroupResource()
	snResEndpoints  = snKindEndpoints.GroupResource()
)

const (
	// DNSServiceName is the cluster DNS Service k2d keeps in kube-system, as kubeadm names it.
	DNSServiceName = "kube-dns"
	dnsServiceKey  = metav1.NamespaceSystem + "/" + DNSServiceName
	// dnsServiceIPOffset places the DNS Service at the tenth address of the range (10.96.0.10).
	dnsServiceIPOffset = 10
	// defaultClusterDomain applies when Options.ClusterDomain is empty.
	defaultClusterDomain = "cluster.local"

	componentProxy             = "kube-proxy"
	componentServiceController = "service-controller"

	svcNetRetryMin = 2 * time.Second
	svcNetRetryMax = 5 * time.Minute
)

// Event reasons of the service data plane; the load balancer ones are the service
// controller's.
const (
	ReasonServiceProxyFailed        = "ServiceProxyFailed"
	ReasonServiceNetworkUnavailable = "ServiceNetworkUnavailable"
	ReasonEnsuredLoadBalancer       = "EnsuredLoadBalancer"
	ReasonSyncLoadBalancerFailed    = "SyncLoadBalancerFailed"
)

// dataPlane is what this file drives: svcnet.Plane on the host, a fake in unit tests.
type dataPlane interface {
	Apply(*svcnet.Service) error
	Remove(ns, name string) error
	Prune() error
	Listening(ns, name string, proto svcnet.Protocol, addr netip.AddrPort) bool
	Close()
}

// serviceNet is the state of the service data plane controller.
type serviceNet struct {
	plane dataPlane
	q     *queue // "ns/name" of Services
	cidr  netip.Prefix
	host  netip.Addr // the node address: LoadBalancer ingress

	started atomic.Bool
	// syncMu makes syncs one at a time: each reads the cache under it, so whichever runs last
	// applies the latest state (the start pass and queued syncs may overlap).
	syncMu sync.Mutex
	noVIPs atomic.Bool                // adding VIPs is not permitted: no ClusterIP, no cluster DNS
	dnsIP  atomic.Pointer[netip.Addr] // the cluster DNS address, once served

	mu       sync.Mutex
	reported map[string]string // key -> the failure last reported as an Event
	retries  map[string]int
	lbReady  map[string]bool // key -> ingress set, for the EnsuredLoadBalancer event
}

// newHostServiceNet returns the data plane on this host; New uses it, unit tests do not.
func (c *Controller) newHostServiceNet() *serviceNet {
	cidr := c.serviceCIDR()
	plane := svcnet.NewPlane(svcnet.Config{Domain: c.clusterDomain(), ServiceCIDR: cidr, Log: c.log})
	return c.newServiceNet(plane, cidr)
}

func (c *Controller) newServiceNet(plane dataPlane, cidr netip.Prefix) *serviceNet {
	sn := &serviceNet{
		plane:    plane,
		cidr:     cidr,
		reported: map[string]string{},
		retries:  map[string]int{},
		lbReady:  map[string]bool{},
	}
	if h, err := netip.ParseAddr(c.o.HostIP); err == nil {
		sn.host = h.Unmap()
	}
	sn.q = newQueue(c.ctx, "servicenet", 1, c.log, c.syncServiceNet)
	return sn
}

func (c *Controller) serviceCIDR() netip.Prefix {
	s := c.o.ServiceCIDR
	if s == "" {
		s = defaultServiceCIDR
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		p = netip.MustParsePrefix(defaultServiceCIDR)
	}
	return p.Masked()
}

func (c *Controller) clusterDomain() string {
	if d := strings.Trim(c.o.ClusterDomain, "."); d != "" {
		return d
	}
	return defaultClusterDomain
}

// dnsServiceIP returns the address the cluster DNS Service takes in the range.
func dnsServiceIP(cidr netip.Prefix) netip.Addr {
	a := cidr.Masked().Addr()
	for range dnsServiceIPOffset {
		a = a.Next()
	}
	return a
}

// clusterDNS is the cluster DNS pods are given (sandbox.go's podDNS): the kube-dns ClusterIP,
// unless k2d cannot serve ClusterIPs on this host.
func (c *Controller) clusterDNS() translate.ClusterDNS {
	d := translate.ClusterDNS{Domain: c.clusterDomain()}
	sn := c.svcNet
	if sn == nil || sn.noVIPs.Load() {
		return d
	}
	if p := sn.dnsIP.Load(); p != nil {
		d.Server = p.String()
		return d
	}
	// Not served yet (k2d is starting): the address it is about to have.
	if ent, ok := c.c.Get(snResServices, metav1.NamespaceSystem, DNSServiceName); ok {
		if a, err := netip.ParseAddr(ent.Obj.(*corev1.Service).Spec.ClusterIP); err == nil {
			d.Server = a.String()
			return d
		}
	}
	d.Server = dnsServiceIP(sn.cidr).String()
	return d
}

// startServiceNet brings up the cluster DNS, then every Service, then removes the VIPs of
// Services deleted while k2d was down. It never fails: without the right to add addresses
// k2d keeps serving, and says so in Events.
func (c *Controller) startServiceNet(ctx context.Context) error {
	sn := c.svcNet
	if sn == nil {
		return nil
	}
	sn.started.Store(true) // from here changes are enqueued; the pass below may repeat them
	c.syncServiceNet(ctx, dnsServiceKey)
	list, _ := c.c.List(snResServices, "")
	for _, ent := range list {
		m := ent.Meta()
		if key := m.GetNamespace() + "/" + m.GetName(); key != dnsServiceKey {
			c.syncServiceNet(ctx, key)
		}
	}
	if err := sn.plane.Prune(); err != nil && !errors.Is(err, fs.ErrPermission) {
		c.log.Warn("cannot remove stale service addresses", "err", err)
	}
	if p := sn.dnsIP.Load(); p != nil {
		c.log.Info("serving Services", "services", len(list), "cluster_dns", p.String(), "domain", c.clusterDomain())
	}
	return nil
}

// onServiceNetChange runs with the cache lock held: it only enqueues.
func (c *Controller) onServiceNetChange(ev cache.Event) {
	sn := c.svcNet
	if sn == nil || !sn.started.Load() {
		return
	}
	m := ev.Entry.Meta()
	switch ev.Resource {
	case snResServices, snResEndpoints:
		sn.q.Add(m.GetNamespace() + "/" + m.GetName())
	case resNS:
		if m.GetName() == metav1.NamespaceSystem {
			sn.q.Add(dnsServiceKey)
		}
	}
}

// stopServiceNet closes the listeners; VIPs stay for the next start (`k2d reset` removes them).
func (c *Controller) stopServiceNet() {
	sn := c.svcNet
	if sn == nil {
		return
	}
	sn.q.Close()
	sn.plane.Close()
}

// syncServiceNet applies one Service (and its Endpoints) to the data plane.
func (c *Controller) syncServiceNet(_ context.Context, key string) {
	sn := c.svcNet
	sn.syncMu.Lock()
	defer sn.syncMu.Unlock()
	ns, name := splitKey(key)
	if key == dnsServiceKey {
		// Its own back-off, scheduled last: the Service's own success must not cancel it.
		if err := c.ensureDNSService(); err != nil {
			c.log.Warn("cannot keep the cluster DNS service", "err", err)
			defer func() { sn.q.AddAfter(key, sn.retry(dnsEnsureRetryKey)) }()
		} else {
			sn.forgetRetries(dnsEnsureRetryKey)
		}
	}
	ent, ok := c.c.Get(snResServices, ns, name)
	if !ok {
		if err := sn.plane.Remove(ns, name); err != nil {
			c.log.Warn("cannot remove service addresses", "service", key, "err", err)
		}
		if key == dnsServiceKey {
			sn.dnsIP.Store(nil)
		}
		sn.forget(key)
		return
	}
	svc := ent.Obj.(*corev1.Service)
	var ep *corev1.Endpoints
	if e, ok := c.c.Get(snResEndpoints, ns, name); ok {
		ep = e.Obj.(*corev1.Endpoints)
	}
	ps := planeService(svc, ep, sn.host, key == dnsServiceKey && len(svc.Spec.Selector) == 0)
	err := sn.plane.Apply(ps)
	if key == dnsServiceKey {
		sn.dnsIP.Store(nil)
		for _, a := range ps.ClusterIPs {
			if c.listeningAll(ps, a, false) {
				sn.dnsIP.Store(&a)
				break
			}
		}
	}
	lbErr := c.syncLoadBalancer(svc, ps)
	c.reportServiceNet(svc, err, lbErr)
}

// listeningAll reports whether every port of s listens on addr (at the node port when
// nodePorts is set).
func (c *Controller) listeningAll(s *svcnet.Service, addr netip.Addr, nodePorts bool) bool {
	if len(s.Ports) == 0 {
		return false
	}
	for _, p := range s.Ports {
		port := p.Port
		if nodePorts {
			port = p.NodePort
		}
		if !c.svcNet.plane.Listening(s.Namespace, s.Name, p.Protocol, netip.AddrPortFrom(addr, port)) {
			return false
		}
	}
	return true
}

// planeService translates a Service and its Endpoints for the data plane. dns marks the
// cluster DNS Service that k2d answers itself.
func planeService(svc *corev1.Service, ep *corev1.Endpoints, host netip.Addr, dns bool) *svcnet.Service {
	s := &svcnet.Service{Namespace: svc.Namespace, Name: svc.Name, DNS: dns}
	switch {
	case svc.Spec.Type == corev1.ServiceTypeExternalName:
		s.ExternalName = svc.Spec.ExternalName
	case svc.Spec.ClusterIP == corev1.ClusterIPNone:
		s.Headless = true
	default:
		ips := svc.Spec.ClusterIPs
		if len(ips) == 0 && svc.Spec.ClusterIP != "" {
			ips = []string{svc.Spec.ClusterIP}
		}
		for _, v := range ips {
			if a, err := netip.ParseAddr(v); err == nil {
				s.ClusterIPs = append(s.ClusterIPs, a.Unmap())
			}
		}
		if svc.Spec.Type == corev1.ServiceTypeLoadBalancer && host.IsValid() {
			s.LoadBalancerIP = host
		}
	}
	if svc.Spec.SessionAffinity == corev1.ServiceAffinityClientIP {
		s.Affinity = time.Duration(corev1.DefaultClientIPServiceAffinitySeconds) * time.Second
		if cfg := svc.Spec.SessionAffinityConfig; cfg != nil && cfg.ClientIP != nil && cfg.ClientIP.TimeoutSeconds != nil && *cfg.ClientIP.TimeoutSeconds > 0 {
			s.Affinity = time.Duration(*cfg.ClientIP.TimeoutSeconds) * time.Second
		}
	}
	nodePorts := svc.Spec.Type == corev1.ServiceTypeNodePort || svc.Spec.Type == corev1.ServiceTypeLoadBalancer
	for i := range svc.Spec.Ports {
		sp := &svc.Spec.Ports[i]
		p := svcnet.Port{Name: sp.Name, Protocol: planeProtocol(sp.Protocol), Port: uint16(sp.Port)}
		if nodePorts && s.ExternalName == "" && !s.Headless {
			p.NodePort = uint16(sp.NodePort)
		}
		p.Backends = portBackends(ep, sp)
		s.Ports = append(s.Ports, p)
	}
	if ep != nil {
		for _, ss := range ep.Subsets {
			for _, a := range ss.Addresses {
				if ip, err := netip.ParseAddr(a.IP); err == nil {
					s.Endpoints = append(s.Endpoints, svcnet.Endpoint{Addr: ip.Unmap(), Hostname: a.Hostname})
				}
			}
		}
	}
	return s
}

func planeProtocol(p corev1.Protocol) svcnet.Protocol {
	switch p {
	case corev1.ProtocolUDP:
		return svcnet.UDP
	case corev1.ProtocolSCTP:
		return svcnet.SCTP
	}
	return svcnet.TCP
}

// portBackends returns the ready endpoints of a service port: the Endpoints ports carry the
// service port's name (and protocol); their number is the resolved targetPort.
func portBackends(ep *corev1.Endpoints, sp *corev1.ServicePort) []netip.AddrPort {
	if ep == nil {
		return nil
	}
	var out []netip.AddrPort
	for _, ss := range ep.Subsets {
		for _, p := range ss.Ports {
			if p.Name != sp.Name || planeProtocol(p.Protocol) != planeProtocol(sp.Protocol) || p.Port <= 0 || p.Port > 65535 {
				continue
			}
			for _, a := range ss.Addresses {
				if ip, err := netip.ParseAddr(a.IP); err == nil {
					out = append(out, netip.AddrPortFrom(ip.Unmap(), uint16(p.Port)))
				}
			}
		}
	}
	return out
}

// syncLoadBalancer sets status.loadBalancer of a LoadBalancer Service to the node address
// once all its ports listen there (k2d is the load balancer), and clears it otherwise. It
// returns why the load balancer is not ready, if it is not.
func (c *Controller) syncLoadBalancer(svc *corev1.Service, ps *svcnet.Service) error {
	sn := c.svcNet
	var want []corev1.LoadBalancerIngress
	var lbErr error
	if svc.Spec.Type == corev1.ServiceTypeLoadBalancer {
		switch {
		case !ps.LoadBalancerIP.IsValid():
			lbErr = errors.New("the node has no address to listen on")
		case !c.listeningAll(ps, ps.LoadBalancerIP, false):
			lbErr = fmt.Errorf("not every port listens on %s", ps.LoadBalancerIP)
		default:
			vip := corev1.LoadBalancerIPModeVIP
			want = []corev1.LoadBalancerIngress{{IP: ps.LoadBalancerIP.String(), IPMode: &vip}}
		}
	}
	if !equality.Semantic.DeepEqual(svc.Status.LoadBalancer.Ingress, want) {
		_, err := c.c.Mutate(snKindService, svc.Namespace, svc.Name, func(obj runtime.Object) (bool, error) {
			cur := obj.(*corev1.Service)
			if cur.UID != svc.UID || equality.Semantic.DeepEqual(cur.Status.LoadBalancer.Ingress, want) {
				return false, nil
			}
			cur.Status.LoadBalancer.Ingress = want
			return true, nil
		})
		if err != nil && !isCacheNotFound(err) {
			c.log.Warn("cannot write the load balancer status", "service", svc.Namespace+"/"+svc.Name, "err", err)
		}
	}
	key := svc.Namespace + "/" + svc.Name
	sn.mu.Lock()
	was := sn.lbReady[key]
	sn.lbReady[key] = want != nil
	sn.mu.Unlock()
	if want != nil && !was {
		c.rec.record(serviceRef(svc), componentServiceController, corev1.EventTypeNormal, ReasonEnsuredLoadBalancer, "Ensured load balancer")
	}
	return lbErr
}

func serviceRef(svc *corev1.Service) corev1.ObjectReference {
	return corev1.ObjectReference{Kind: "Service", APIVersion: "v1", Namespace: svc.Namespace, Name: svc.Name,
		UID: svc.UID, ResourceVersion: svc.ResourceVersion}
}

// reportServiceNet turns failures into Events (once per distinct failure) and schedules a
// retry while they last. Missing permission is reported once on the Node and not retried.
func (c *Controller) reportServiceNet(svc *corev1.Service, err, lbErr error) {
	sn := c.svcNet
	key := svc.Namespace + "/" + svc.Name
	if err == nil && lbErr == nil {
		sn.forgetFailure(key)
		return
	}
	denied := errors.Is(err, fs.ErrPermission)
	if denied && sn.noVIPs.CompareAndSwap(false, true) {
		c.log.Warn("k2d may not add Service addresses to lo (it needs root or CAP_NET_ADMIN): ClusterIPs and cluster DNS are off, NodePorts work", "err", err)
		c.rec.record(nodeRef(c.NodeName()), componentProxy, corev1.EventTypeWarning, ReasonServiceNetworkUnavailable,
			"Cannot add Service ClusterIPs to the loopback interface (k2d needs root or CAP_NET_ADMIN): ClusterIPs and cluster DNS do not work, NodePorts do")
	}
	var msg, reason, component string
	switch {
	case lbErr != nil:
		detail := lbErr.Error()
		if err != nil {
			detail = oneLine(err)
		}
		msg, reason, component = "Error syncing load balancer: failed to ensure load balancer: "+detail, ReasonSyncLoadBalancerFailed, componentServiceController
	default:
		msg, reason, component = "Error serving service: "+oneLine(err), ReasonServiceProxyFailed, componentProxy
	}
	sn.mu.Lock()
	repeat := sn.reported[key] == msg
	sn.reported[key] = msg
	sn.mu.Unlock()
	if !repeat {
		c.rec.record(serviceRef(svc), component, corev1.EventTypeWarning, reason, msg)
	}
	if !denied {
		sn.q.AddAfter(key, sn.retry(key))
	}
}

func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", "; ") }

// retry returns the next back-off of key: 2s, 4s, ... 5 minutes.
func (sn *serviceNet) retry(key string) time.Duration {
	sn.mu.Lock()
	defer sn.mu.Unlock()
	n := sn.retries[key]
	sn.retries[key] = n + 1
	d := svcNetRetryMin << min(n, 10)
	if d > svcNetRetryMax {
		d = svcNetRetryMax
	}
	return d
}

// dnsEnsureRetryKey counts the failures to create the cluster DNS Service.
const dnsEnsureRetryKey = "\x00ensure-dns"

func (sn *serviceNet) forgetRetries(key string) {
	sn.mu.Lock()
	delete(sn.retries, key)
	sn.mu.Unlock()
}

func (sn *serviceNet) forgetFailure(key string) {
	sn.mu.Lock()
	delete(sn.reported, key)
	delete(sn.retries, key)
	sn.mu.Unlock()
	sn.q.Forget(key)
}

func (sn *serviceNet) forget(key string) {
	sn.forgetFailure(key)
	sn.mu.Lock()
	delete(sn.lbReady, key)
	sn.mu.Unlock()
}

// dnsService is the cluster DNS Service as kubeadm makes it for CoreDNS, without the metrics
// port (k2d serves no DNS metrics) and without a selector: k2d answers it.
func dnsService(ip netip.Addr) *corev1.Service {
	fam := corev1.IPv4Protocol
	if !ip.Is4() {
		fam = corev1.IPv6Protocol
	}
	single := corev1.IPFamilyPolicySingleStack
	cluster := corev1.ServiceInternalTrafficPolicyCluster
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{
			Name: DNSServiceName, Namespace: metav1.NamespaceSystem,
			Labels: map[string]string{
				"k8s-app":                       "kube-dns",
				"kubernetes.io/cluster-service": "true",
				"kubernetes.io/name":            "KubeDNS",
				"app.kubernetes.io/managed-by":  "k2d",
			},
		},
		Spec: corev1.ServiceSpec{
			Type:       corev1.ServiceTypeClusterIP,
			ClusterIP:  ip.String(),
			ClusterIPs: []string{ip.String()},
			Ports: []corev1.ServicePort{
				{Name: "dns", Protocol: corev1.ProtocolUDP, Port: 53, TargetPort: intstr.FromInt32(53)},
				{Name: "dns-tcp", Protocol: corev1.ProtocolTCP, Port: 53, TargetPort: intstr.FromInt32(53)},
			},
			SessionAffinity:       corev1.ServiceAffinityNone,
			IPFamilies:            []corev1.IPFamily{fam},
			IPFamilyPolicy:        &single,
			InternalTrafficPolicy: &cluster,
		},
	}
}

// ensureDNSService creates the cluster DNS Service when it is missing, and keeps the
// Endpoints of a selector-less one pointing where k2d answers: its own ClusterIP. A user
// who gives it a selector (their own DNS pods) takes it over: k2d then only proxies to them.
func (c *Controller) ensureDNSService() error {
	ent, ok := c.c.Get(resNS, "", metav1.NamespaceSystem)
	if !ok || ent.Meta().GetDeletionTimestamp() != nil {
		return nil // created when kube-system is back
	}
	sent, ok := c.c.Get(snResServices, metav1.NamespaceSystem, DNSServiceName)
	if !ok {
		ip := dnsServiceIP(c.serviceCIDR())
		svcs, _ := c.c.List(snResServices, "")
		for _, e := range svcs {
			s := e.Obj.(*corev1.Service)
			for _, v := range s.Spec.ClusterIPs {
				if a, err := netip.ParseAddr(v); err == nil && a.Unmap() == ip {
					return fmt.Errorf("the cluster DNS address %s is taken by service %s/%s", ip, s.Namespace, s.Name)
				}
			}
		}
		e, err := c.c.Create(snKindService, dnsService(ip))
		if err != nil {
			var exists *cache.AlreadyExistsError
			if !errors.As(err, &exists) {
				return fmt.Errorf("cannot create the cluster DNS service: %w", err)
			}
			if e, ok = c.c.Get(snResServices, metav1.NamespaceSystem, DNSServiceName); !ok {
				return nil
			}
		}
		sent = e
	}
	svc := sent.Obj.(*corev1.Service)
	if len(svc.Spec.Selector) > 0 {
		return nil
	}
	return c.writeDNSEndpoints(svc)
}

// dnsEndpointSubsets are the Endpoints of the cluster DNS Service: its own ClusterIPs, where
// k2d listens, at each of its ports.
func dnsEndpointSubsets(svc *corev1.Service) []corev1.EndpointSubset {
	var addrs []corev1.EndpointAddress
	for _, v := range svc.Spec.ClusterIPs {
		if a, err := netip.ParseAddr(v); err == nil {
			addrs = append(addrs, corev1.EndpointAddress{IP: a.Unmap().String()})
		}
	}
	var ports []corev1.EndpointPort
	for _, p := range svc.Spec.Ports {
		proto := p.Protocol
		if proto == "" {
			proto = corev1.ProtocolTCP
		}
		ports = append(ports, corev1.EndpointPort{Name: p.Name, Port: p.Port, Protocol: proto})
	}
	if addrs == nil || ports == nil {
		return nil
	}
	return []corev1.EndpointSubset{{Addresses: addrs, Ports: ports}}
}

func (c *Controller) writeDNSEndpoints(svc *corev1.Service) error {
	subsets := dnsEndpointSubsets(svc)
	labels := map[string]string{"k8s-app": "kube-dns"}
	ent, ok := c.c.Get(snResEndpoints, svc.Namespace, svc.Name)
	if !ok {
		ep := &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: svc.Name, Namespace: svc.Namespace, Labels: labels}, Subsets: subsets}
		if _, err := c.c.Create(snKindEndpoints, ep); err != nil {
			var exists *cache.AlreadyExistsError
			if !errors.As(err, &exists) {
				return fmt.Errorf("cannot create the cluster DNS endpoints: %w", err)
			}
		}
		return nil
	}
	cur := ent.Obj.(*corev1.Endpoints)
	if equality.Semantic.DeepEqual(cur.Subsets, subsets) {
		return nil
	}
	_, err := c.c.Mutate(snKindEndpoints, svc.Namespace, svc.Name, func(obj runtime.Object) (bool, error) {
		e := obj.(*corev1.Endpoints)
		e.Subsets = subsets
		if e.Labels == nil {
			e.Labels = labels
		}
		return true, nil
	})
	if err != nil && !isCacheNotFound(err) {
		return fmt.Errorf("cannot update the cluster DNS endpoints: %w", err)
	}
	return nil
}
