package reconcile

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/k2d-project/k2d/svcnet"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// fakePlane records what the controller applies; failAddr makes listening on an address fail.
type fakePlane struct {
	mu       sync.Mutex
	applied  map[string]*svcnet.Service
	removed  []string
	pruned   int
	closed   bool
	failAddr map[netip.Addr]error
}

func newFakePlane() *fakePlane {
	return &fakePlane{applied: map[string]*svcnet.Service{}, failAddr: map[netip.Addr]error{}}
}

func (f *fakePlane) Apply(s *svcnet.Service) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.applied[s.Namespace+"/"+s.Name] = s
	var errs []error
	for _, a := range append(append([]netip.Addr{}, s.ClusterIPs...), s.LoadBalancerIP) {
		if err := f.failAddr[a]; err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (f *fakePlane) Remove(ns, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.applied, ns+"/"+name)
	f.removed = append(f.removed, ns+"/"+name)
	return nil
}

func (f *fakePlane) Prune() error { f.mu.Lock(); f.pruned++; f.mu.Unlock(); return nil }
func (f *fakePlane) Close()       { f.mu.Lock(); f.closed = true; f.mu.Unlock() }

func (f *fakePlane) Listening(ns, name string, proto svcnet.Protocol, addr netip.AddrPort) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.applied[ns+"/"+name]
	if s == nil || f.failAddr[addr.Addr()] != nil || s.Headless || s.ExternalName != "" {
		return false
	}
	for _, p := range s.Ports {
		if p.Protocol != proto {
			continue
		}
		switch {
		case addr.Addr() == netip.IPv4Unspecified() && p.NodePort == addr.Port():
			return true
		case addr.Addr() == s.LoadBalancerIP && p.Port == addr.Port():
			return true
		}
		for _, a := range s.ClusterIPs {
			if a == addr.Addr() && p.Port == addr.Port() {
				return true
			}
		}
	}
	return false
}

func (f *fakePlane) get(key string) *svcnet.Service {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.applied[key]
}

// snTest is a unit test controller with a fake data plane; syncs are called by the test.
func snTest(t *testing.T) (*utest, *fakePlane) {
	t.Helper()
	u := newUTest(t)
	fp := newFakePlane()
	u.ctl.o.ServiceCIDR = "10.96.0.0/12"
	u.ctl.svcNet = u.ctl.newServiceNet(fp, u.ctl.serviceCIDR())
	u.ctl.svcNet.host = netip.MustParseAddr("192.0.2.1")
	return u, fp
}

func (u *utest) svcNetSync(key string) {
	u.ctl.syncServiceNet(context.Background(), key)
}

func (u *utest) getService(ns, name string) *corev1.Service {
	e, ok := u.c.Get(snResServices, ns, name)
	if !ok {
		return nil
	}
	return e.Obj.(*corev1.Service)
}

func (u *utest) serviceEvents(ns, name string) []string {
	list, _ := u.c.List(resEvents, "")
	var out []string
	for _, e := range list {
		ev := e.Obj.(*corev1.Event)
		if ev.InvolvedObject.Kind == "Service" && ev.InvolvedObject.Namespace == ns && ev.InvolvedObject.Name == name {
			out = append(out, fmt.Sprintf("%s %s %s: %s", ev.Type, ev.Source.Component, ev.Reason, ev.Message))
		}
	}
	return out
}

func webService() *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", UID: "svc-uid"},
		Spec: corev1.ServiceSpec{
			Type: corev1.ServiceTypeClusterIP, ClusterIP: "10.96.0.50", ClusterIPs: []string{"10.96.0.50"},
			Selector: map[string]string{"app": "web"},
			Ports: []corev1.ServicePort{
				{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80, TargetPort: intstr.FromString("http")},
				{Name: "dns", Protocol: corev1.ProtocolUDP, Port: 53, TargetPort: intstr.FromInt32(5353)},
			},
		},
	}
}

func webEndpoints() *corev1.Endpoints {
	return &corev1.Endpoints{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"},
		Subsets: []corev1.EndpointSubset{
			{
				Addresses:         []corev1.EndpointAddress{{IP: "172.18.0.2", Hostname: "web-0"}, {IP: "172.18.0.3"}},
				NotReadyAddresses: []corev1.EndpointAddress{{IP: "172.18.0.9"}},
				Ports: []corev1.EndpointPort{
					{Name: "http", Port: 8080, Protocol: corev1.ProtocolTCP},
					{Name: "dns", Port: 5353, Protocol: corev1.ProtocolUDP},
				},
			},
			{
				// Pods whose named port resolves to another number form their own subset.
				Addresses: []corev1.EndpointAddress{{IP: "172.18.0.4"}},
				Ports:     []corev1.EndpointPort{{Name: "http", Port: 9090, Protocol: corev1.ProtocolTCP}},
			},
		},
	}
}

func TestPlaneService(t *testing.T) {
	host := netip.MustParseAddr("192.0.2.1")
	ps := planeService(webService(), webEndpoints(), host, false)
	want := &svcnet.Service{
		Namespace: "shop", Name: "web", ClusterIPs: []netip.Addr{netip.MustParseAddr("10.96.0.50")},
		Ports: []svcnet.Port{
			{Name: "http", Protocol: svcnet.TCP, Port: 80, Backends: []netip.AddrPort{
				netip.MustParseAddrPort("172.18.0.2:8080"), netip.MustParseAddrPort("172.18.0.3:8080"), netip.MustParseAddrPort("172.18.0.4:9090")}},
			{Name: "dns", Protocol: svcnet.UDP, Port: 53, Backends: []netip.AddrPort{
				netip.MustParseAddrPort("172.18.0.2:5353"), netip.MustParseAddrPort("172.18.0.3:5353")}},
		},
		Endpoints: []svcnet.Endpoint{
			{Addr: netip.MustParseAddr("172.18.0.2"), Hostname: "web-0"}, {Addr: netip.MustParseAddr("172.18.0.3")}, {Addr: netip.MustParseAddr("172.18.0.4")}},
	}
	if !reflect.DeepEqual(ps, want) {
		t.Errorf("ClusterIP service:\n got %+v\nwant %+v", ps, want)
	}
	if ps := planeService(webService(), nil, host, false); ps.Ports[0].Backends != nil || ps.Endpoints != nil {
		t.Errorf("no Endpoints yet: %+v", ps)
	}

	np := webService()
	np.Spec.Type = corev1.ServiceTypeNodePort
	np.Spec.Ports[0].NodePort = 30080
	np.Spec.Ports[1].NodePort = 30053
	ps = planeService(np, nil, host, false)
	if ps.Ports[0].NodePort != 30080 || ps.Ports[1].NodePort != 30053 || ps.LoadBalancerIP.IsValid() {
		t.Errorf("NodePort: %+v", ps)
	}
	lb := np.DeepCopy()
	lb.Spec.Type = corev1.ServiceTypeLoadBalancer
	if ps = planeService(lb, nil, host, false); ps.LoadBalancerIP != host || ps.Ports[0].NodePort != 30080 {
		t.Errorf("LoadBalancer: %+v", ps)
	}
	// A stale nodePort on a ClusterIP Service opens nothing.
	cip := np.DeepCopy()
	cip.Spec.Type = corev1.ServiceTypeClusterIP
	if ps = planeService(cip, nil, host, false); ps.Ports[0].NodePort != 0 {
		t.Errorf("ClusterIP with a nodePort: %+v", ps)
	}

	sticky := webService()
	sticky.Spec.SessionAffinity = corev1.ServiceAffinityClientIP
	if ps := planeService(sticky, nil, host, false); ps.Affinity != 3*time.Hour {
		t.Errorf("default ClientIP affinity %s", ps.Affinity)
	}
	timeout := int32(60)
	sticky.Spec.SessionAffinityConfig = &corev1.SessionAffinityConfig{ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: &timeout}}
	if ps := planeService(sticky, nil, host, false); ps.Affinity != time.Minute {
		t.Errorf("ClientIP affinity %s", ps.Affinity)
	}

	headless := webService()
	headless.Spec.ClusterIP, headless.Spec.ClusterIPs = corev1.ClusterIPNone, []string{corev1.ClusterIPNone}
	ps = planeService(headless, webEndpoints(), host, false)
	if !ps.Headless || ps.ClusterIPs != nil || len(ps.Endpoints) != 3 || ps.Endpoints[0].Hostname != "web-0" {
		t.Errorf("headless: %+v", ps)
	}
	ext := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "shop"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "db.example.org"}}
	if ps = planeService(ext, nil, host, false); ps.ExternalName != "db.example.org" || ps.ClusterIPs != nil {
		t.Errorf("ExternalName: %+v", ps)
	}
	sctp := webService()
	sctp.Spec.Ports[0].Protocol = corev1.ProtocolSCTP
	if ps = planeService(sctp, webEndpoints(), host, false); ps.Ports[0].Protocol != svcnet.SCTP || ps.Ports[0].Backends != nil {
		t.Errorf("SCTP port matched TCP endpoints: %+v", ps.Ports[0])
	}
}

func TestServiceNetStartCreatesDNS(t *testing.T) {
	u, fp := snTest(t)
	u.ctl.o.ClusterDomain = "k2d.internal."
	// Before anything is served, pods already get the address DNS is about to have.
	if d := u.ctl.clusterDNS(); d.Server != "10.96.0.10" || d.Domain != "k2d.internal" {
		t.Errorf("clusterDNS before start: %+v", d)
	}
	if err := u.ctl.startServiceNet(context.Background()); err != nil {
		t.Fatal(err)
	}
	svc := u.getService("kube-system", "kube-dns")
	if svc == nil {
		t.Fatal("no kube-dns service")
	}
	if svc.Spec.ClusterIP != "10.96.0.10" || len(svc.Spec.Selector) != 0 || svc.Labels["k8s-app"] != "kube-dns" ||
		len(svc.Spec.Ports) != 2 || svc.Spec.Ports[0].Name != "dns" || svc.Spec.Ports[0].Protocol != corev1.ProtocolUDP ||
		svc.Spec.Ports[1].Name != "dns-tcp" || svc.Spec.Ports[1].Protocol != corev1.ProtocolTCP || svc.Spec.Ports[1].Port != 53 {
		t.Errorf("kube-dns: %+v", svc)
	}
	ent, ok := u.c.Get(snResEndpoints, "kube-system", "kube-dns")
	if !ok {
		t.Fatal("no kube-dns endpoints")
	}
	want := []corev1.EndpointSubset{{Addresses: []corev1.EndpointAddress{{IP: "10.96.0.10"}},
		Ports: []corev1.EndpointPort{{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP}, {Name: "dns-tcp", Port: 53, Protocol: corev1.ProtocolTCP}}}}
	if got := ent.Obj.(*corev1.Endpoints).Subsets; !reflect.DeepEqual(got, want) {
		t.Errorf("kube-dns endpoints %+v", got)
	}
	ps := fp.get("kube-system/kube-dns")
	if ps == nil || !ps.DNS || len(ps.ClusterIPs) != 1 || ps.ClusterIPs[0].String() != "10.96.0.10" {
		t.Errorf("applied %+v", ps)
	}
	if d := u.ctl.clusterDNS(); d.Server != "10.96.0.10" || d.Domain != "k2d.internal" {
		t.Errorf("clusterDNS: %+v", d)
	}
	if fp.pruned != 1 {
		t.Errorf("pruned %d times", fp.pruned)
	}

	// A user deletes it: it comes back, with the same address.
	if _, err := u.c.Delete(snKindService, "kube-system", "kube-dns", "", ""); err != nil {
		t.Fatal(err)
	}
	u.svcNetSync(dnsServiceKey)
	if s := u.getService("kube-system", "kube-dns"); s == nil || s.Spec.ClusterIP != "10.96.0.10" || s.UID == svc.UID {
		t.Errorf("kube-dns not re-created: %+v", s)
	}
	// A user who points it at their own DNS pods takes it over: k2d only proxies then.
	_, err := u.c.Mutate(snKindService, "kube-system", "kube-dns", func(obj runtime.Object) (bool, error) {
		obj.(*corev1.Service).Spec.Selector = map[string]string{"k8s-app": "coredns"}
		return true, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	u.svcNetSync(dnsServiceKey)
	if ps := fp.get("kube-system/kube-dns"); ps == nil || ps.DNS {
		t.Errorf("taken-over kube-dns still answered by k2d: %+v", ps)
	}
}

func TestServiceNetCustomRange(t *testing.T) {
	u, fp := snTest(t)
	u.ctl.o.ServiceCIDR = "10.43.0.0/16"
	u.ctl.svcNet = u.ctl.newServiceNet(fp, u.ctl.serviceCIDR())
	if err := u.ctl.startServiceNet(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s := u.getService("kube-system", "kube-dns"); s == nil || s.Spec.ClusterIP != "10.43.0.10" {
		t.Errorf("kube-dns in 10.43.0.0/16: %+v", s)
	}
	if d := u.ctl.clusterDNS(); d.Server != "10.43.0.10" || d.Domain != "cluster.local" {
		t.Errorf("clusterDNS %+v", d)
	}
}

func TestServiceNetFollowsServices(t *testing.T) {
	u, fp := snTest(t)
	if err := u.ctl.startServiceNet(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := u.c.Create(snKindService, webService()); err != nil {
		t.Fatal(err)
	}
	u.svcNetSync("shop/web")
	if ps := fp.get("shop/web"); ps == nil || len(ps.Ports) != 2 || ps.Ports[0].Backends != nil {
		t.Fatalf("applied %+v", ps)
	}
	if _, err := u.c.Create(snKindEndpoints, webEndpoints()); err != nil {
		t.Fatal(err)
	}
	u.svcNetSync("shop/web")
	if ps := fp.get("shop/web"); len(ps.Ports[0].Backends) != 3 {
		t.Errorf("endpoints not applied: %+v", ps)
	}
	if _, err := u.c.Delete(snKindService, "shop", "web", "", ""); err != nil {
		t.Fatal(err)
	}
	u.svcNetSync("shop/web")
	if fp.get("shop/web") != nil || fp.removed[len(fp.removed)-1] != "shop/web" {
		t.Errorf("not removed: %v", fp.removed)
	}
	// Nothing was stored about a ClusterIP service's load balancer.
	if ev := u.serviceEvents("shop", "web"); len(ev) != 0 {
		t.Errorf("events %v", ev)
	}
}

func TestServiceNetLoadBalancer(t *testing.T) {
	u, fp := snTest(t)
	svc := webService()
	svc.Spec.Type = corev1.ServiceTypeLoadBalancer
	svc.Spec.Ports[0].NodePort, svc.Spec.Ports[1].NodePort = 30080, 30053
	if _, err := u.c.Create(snKindService, svc); err != nil {
		t.Fatal(err)
	}
	u.svcNetSync("shop/web")
	got := u.getService("shop", "web").Status.LoadBalancer.Ingress
	if len(got) != 1 || got[0].IP != "192.0.2.1" || got[0].IPMode == nil || *got[0].IPMode != corev1.LoadBalancerIPModeVIP {
		t.Errorf("ingress %+v", got)
	}
	u.svcNetSync("shop/web") // nothing changes, no second event
	if ev := u.serviceEvents("shop", "web"); !reflect.DeepEqual(ev, []string{"Normal service-controller EnsuredLoadBalancer: Ensured load balancer"}) {
		t.Errorf("events %q", ev)
	}

	// The node address cannot be listened on (a port in use): pending, with a Warning.
	fp.failAddr[netip.MustParseAddr("192.0.2.1")] = errors.New("cannot listen on 192.0.2.1:80/TCP: address already in use")
	u.svcNetSync("shop/web")
	u.svcNetSync("shop/web")
	if got := u.getService("shop", "web").Status.LoadBalancer.Ingress; got != nil {
		t.Errorf("ingress kept while not listening: %+v", got)
	}
	ev := u.serviceEvents("shop", "web")
	if len(ev) != 2 || ev[1] != "Warning service-controller SyncLoadBalancerFailed: Error syncing load balancer: failed to ensure load balancer: cannot listen on 192.0.2.1:80/TCP: address already in use" {
		t.Errorf("events %q", ev)
	}
	if n := countEvents(u, "SyncLoadBalancerFailed"); n != 1 {
		t.Errorf("the same failure made %d event objects (or counts)", n)
	}
	delete(fp.failAddr, netip.MustParseAddr("192.0.2.1"))
	u.svcNetSync("shop/web")
	if got := u.getService("shop", "web").Status.LoadBalancer.Ingress; len(got) != 1 {
		t.Errorf("ingress after recovery: %+v", got)
	}

	// Back to ClusterIP: the ingress goes.
	if _, err := u.c.Mutate(snKindService, "shop", "web", func(obj runtime.Object) (bool, error) {
		obj.(*corev1.Service).Spec.Type = corev1.ServiceTypeClusterIP
		return true, nil
	}); err != nil {
		t.Fatal(err)
	}
	u.svcNetSync("shop/web")
	if s := u.getService("shop", "web"); s.Status.LoadBalancer.Ingress != nil {
		t.Errorf("ingress kept on a ClusterIP service: %+v", s.Status.LoadBalancer)
	}
}

func countEvents(u *utest, reason string) int32 {
	list, _ := u.c.List(resEvents, "")
	var n int32
	for _, e := range list {
		if ev := e.Obj.(*corev1.Event); ev.Reason == reason {
			n += ev.Count
		}
	}
	return n
}

func TestServiceNetWithoutPermission(t *testing.T) {
	u, fp := snTest(t)
	denied := &os.SyscallError{Syscall: "netlink", Err: syscall.EPERM}
	fp.failAddr[netip.MustParseAddr("10.96.0.10")] = fmt.Errorf("cannot add 10.96.0.10 to lo: %w", denied)
	fp.failAddr[netip.MustParseAddr("10.96.0.50")] = fmt.Errorf("cannot add 10.96.0.50 to lo: %w", denied)
	if _, err := u.c.Create(snKindService, webService()); err != nil {
		t.Fatal(err)
	}
	if err := u.ctl.startServiceNet(context.Background()); err != nil {
		t.Fatalf("start must not fail without permission: %v", err)
	}
	if d := u.ctl.clusterDNS(); d.Server != "" {
		t.Errorf("pods get a cluster DNS that cannot answer: %+v", d)
	}
	if n := countEvents(u, ReasonServiceNetworkUnavailable); n != 1 {
		t.Errorf("%d node events", n)
	}
	ev := u.serviceEvents("shop", "web")
	if len(ev) != 1 || !strings.HasPrefix(ev[0], "Warning kube-proxy ServiceProxyFailed: Error serving service: cannot add 10.96.0.50 to lo") {
		t.Errorf("service events %q", ev)
	}
	// Not retried: nothing would change.
	u.ctl.svcNet.mu.Lock()
	retries := len(u.ctl.svcNet.retries)
	u.ctl.svcNet.mu.Unlock()
	if retries != 0 {
		t.Errorf("%d retries scheduled", retries)
	}
}

func TestServiceNetRetryBackoff(t *testing.T) {
	u, _ := snTest(t)
	sn := u.ctl.svcNet
	var got []string
	for range 10 {
		got = append(got, sn.retry("a/b").String())
	}
	want := "2s 4s 8s 16s 32s 1m4s 2m8s 4m16s 5m0s 5m0s"
	if strings.Join(got, " ") != want {
		t.Errorf("back-off %v, want %s", got, want)
	}
	sn.forgetFailure("a/b")
	if d := sn.retry("a/b"); d.String() != "2s" {
		t.Errorf("after recovery %s", d)
	}
}

func TestDNSServiceIP(t *testing.T) {
	for cidr, want := range map[string]string{"10.96.0.0/12": "10.96.0.10", "10.43.0.0/16": "10.43.0.10", "fd00:96::/108": "fd00:96::a", "10.96.5.7/12": "10.96.0.10"} {
		if got := dnsServiceIP(netip.MustParsePrefix(cidr).Masked()); got.String() != want {
			t.Errorf("%s: %s, want %s", cidr, got, want)
		}
	}
}

// The cluster DNS address held by another Service: k2d says so and tries again later, even
// though nothing else about kube-dns fails.
func TestServiceNetDNSAddressTaken(t *testing.T) {
	u, fp := snTest(t)
	squatter := webService()
	squatter.Spec.ClusterIP, squatter.Spec.ClusterIPs = "10.96.0.10", []string{"10.96.0.10"}
	if _, err := u.c.Create(snKindService, squatter); err != nil {
		t.Fatal(err)
	}
	u.svcNetSync(dnsServiceKey)
	if u.getService("kube-system", "kube-dns") != nil {
		t.Fatal("kube-dns created on a taken address")
	}
	sn := u.ctl.svcNet
	sn.mu.Lock()
	n := sn.retries[dnsEnsureRetryKey]
	sn.mu.Unlock()
	if n != 1 {
		t.Errorf("%d retries counted", n)
	}
	if _, err := u.c.Delete(snKindService, "shop", "web", "", ""); err != nil {
		t.Fatal(err)
	}
	u.svcNetSync(dnsServiceKey)
	if s := u.getService("kube-system", "kube-dns"); s == nil || s.Spec.ClusterIP != "10.96.0.10" || fp.get(dnsServiceKey) == nil {
		t.Errorf("kube-dns after the address was freed: %+v", s)
	}
	sn.mu.Lock()
	_, left := sn.retries[dnsEnsureRetryKey]
	sn.mu.Unlock()
	if left {
		t.Error("back-off not reset after success")
	}
}
