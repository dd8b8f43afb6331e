package fastapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/k2d-project/k2d/cache"
	"github.com/k2d-project/k2d/codec"
	"github.com/valyala/fasthttp/fasthttputil"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var kindService = codec.KindFor("", "v1", "services")

// newSvcServer serves the API over an in-memory listener with the given service ranges.
func newSvcServer(t *testing.T, cidr, ports string) *testServer {
	t.Helper()
	store, err := cache.New(cache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Create(codec.KindFor("", "v1", "namespaces"), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "default"}}); err != nil {
		t.Fatal(err)
	}
	rt := &fakeRuntime{}
	s := New(Config{Token: testToken, Store: store, Runtime: rt, Kubeconfig: func() []byte { return nil },
		ServiceCIDR: cidr, NodePortRange: ports})
	ln := fasthttputil.NewInmemoryListener()
	go s.Serve(ln) //nolint:errcheck
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	hc := &http.Client{Transport: &http.Transport{DialContext: func(context.Context, string, string) (net.Conn, error) { return ln.Dial() }}}
	t.Cleanup(hc.CloseIdleConnections) // runs before Shutdown, which waits for idle connections
	return &testServer{t: t, store: store, rt: rt, hc: hc}
}

func svcJSON(name, typ, clusterIP string, nodePorts ...int) string {
	spec := map[string]any{"selector": map[string]string{"app": name}}
	if typ != "" {
		spec["type"] = typ
	}
	if clusterIP != "" {
		spec["clusterIP"] = clusterIP
	}
	if typ == "ExternalName" {
		spec["externalName"] = "example.com"
	} else {
		ports := []map[string]any{}
		for i, np := range append([]int{0}, nodePorts...)[1:] {
			p := map[string]any{"name": fmt.Sprintf("p%d", i), "port": 80 + i, "protocol": "TCP"}
			if np != 0 {
				p["nodePort"] = np
			}
			ports = append(ports, p)
		}
		if len(ports) == 0 {
			ports = append(ports, map[string]any{"name": "p0", "port": 80, "protocol": "TCP"})
		}
		spec["ports"] = ports
	}
	b, _ := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "Service", "metadata": map[string]any{"name": name}, "spec": spec})
	return string(b)
}

func (ts *testServer) createSvc(body string) (*corev1.Service, *http.Response, string) {
	ts.t.Helper()
	resp, out := ts.do("POST", "/api/v1/namespaces/default/services", "application/json", body)
	if resp.StatusCode != 201 {
		return nil, resp, out
	}
	var svc corev1.Service
	if err := json.Unmarshal([]byte(out), &svc); err != nil {
		ts.t.Fatal(err)
	}
	return &svc, resp, out
}

func (ts *testServer) mustCreateSvc(body string) *corev1.Service {
	ts.t.Helper()
	svc, resp, out := ts.createSvc(body)
	if svc == nil {
		ts.t.Fatalf("create: %d %s", resp.StatusCode, out)
	}
	return svc
}

func expectErr(t *testing.T, resp *http.Response, body string, code int, reason metav1.StatusReason, msg string) metav1.Status {
	t.Helper()
	st := status(t, body)
	if resp.StatusCode != code || st.Reason != reason || st.Message != msg {
		t.Fatalf("got %d %s %q\nwant %d %s %q", resp.StatusCode, st.Reason, st.Message, code, reason, msg)
	}
	return st
}

func TestServiceRangeHelpers(t *testing.T) {
	p, err := ParseServiceCIDR("10.96.0.0/12")
	if err != nil {
		t.Fatal(err)
	}
	for n, want := range map[uint64]string{1: "10.96.0.1", 10: "10.96.0.10", 256: "10.96.1.0", 1<<20 - 1: "10.111.255.255"} {
		if got := ServiceIP(p, n).String(); got != want {
			t.Errorf("ServiceIP(%d) = %s, want %s", n, got, want)
		}
	}
	p6, err := ParseServiceCIDR("fd00:10:96::/112")
	if err != nil {
		t.Fatal(err)
	}
	if got := ServiceIP(p6, 10).String(); got != "fd00:10:96::a" {
		t.Errorf("IPv6 ServiceIP = %s", got)
	}
	for _, bad := range []string{"10.0.0.0/8", "fd00::/64", "10.0.0.0/31", "10.0.0.1", "x"} {
		if _, err := ParseServiceCIDR(bad); err == nil {
			t.Errorf("ParseServiceCIDR(%q) accepted", bad)
		}
	}
	if lo, hi, err := ParseNodePortRange("30000-32767"); err != nil || lo != 30000 || hi != 32767 {
		t.Errorf("ParseNodePortRange = %d %d %v", lo, hi, err)
	}
	for _, bad := range []string{"32767-30000", "0-10", "30000-70000", "a-b", ""} {
		if _, _, err := ParseNodePortRange(bad); err == nil {
			t.Errorf("ParseNodePortRange(%q) accepted", bad)
		}
	}
}

// TestServiceClusterIPAllocation fills a /28: 14 usable addresses less the two k2d keeps.
func TestServiceClusterIPAllocation(t *testing.T) {
	ts := newSvcServer(t, "10.0.0.0/28", "")
	seen := map[string]bool{}
	for i := 0; i < 12; i++ {
		svc := ts.mustCreateSvc(svcJSON(fmt.Sprintf("s%d", i), "", ""))
		ip := svc.Spec.ClusterIP
		a, err := netip.ParseAddr(ip)
		if err != nil || !netip.MustParsePrefix("10.0.0.0/28").Contains(a) {
			t.Fatalf("clusterIP %q not in range", ip)
		}
		switch ip {
		case "10.0.0.0", "10.0.0.1", "10.0.0.10", "10.0.0.15":
			t.Fatalf("allocated reserved address %s", ip)
		}
		if seen[ip] {
			t.Fatalf("%s allocated twice", ip)
		}
		seen[ip] = true
		if len(svc.Spec.ClusterIPs) != 1 || svc.Spec.ClusterIPs[0] != ip {
			t.Fatalf("clusterIPs %v do not mirror clusterIP %s", svc.Spec.ClusterIPs, ip)
		}
		if len(svc.Spec.IPFamilies) != 1 || svc.Spec.IPFamilies[0] != corev1.IPv4Protocol ||
			svc.Spec.IPFamilyPolicy == nil || *svc.Spec.IPFamilyPolicy != corev1.IPFamilyPolicySingleStack {
			t.Fatalf("ip families not defaulted: %v %v", svc.Spec.IPFamilies, svc.Spec.IPFamilyPolicy)
		}
	}
	_, resp, body := ts.createSvc(svcJSON("full", "", ""))
	expectErr(t, resp, body, 500, metav1.StatusReasonInternalError, "Internal error occurred: failed to allocate a serviceIP: range is full")

	// Deleting a Service gives its address back.
	e, _ := ts.store.Get("services", "default", "s3")
	freed := e.Obj.(*corev1.Service).Spec.ClusterIP
	if resp, body := ts.do("DELETE", "/api/v1/namespaces/default/services/s3", "", ""); resp.StatusCode != 200 {
		t.Fatalf("delete: %s", body)
	}
	if svc := ts.mustCreateSvc(svcJSON("again", "", "")); svc.Spec.ClusterIP != freed {
		t.Fatalf("got %s, want the freed %s", svc.Spec.ClusterIP, freed)
	}

	taken := e.Obj.(*corev1.Service).Spec.ClusterIP
	if svc, _ := ts.store.Get("services", "default", "s0"); svc != nil {
		taken = svc.Obj.(*corev1.Service).Spec.ClusterIP
	}
	for _, tc := range []struct{ ip, msg string }{
		{taken, fmt.Sprintf(`Service "dup" is invalid: spec.clusterIPs: Invalid value: []string{%q}: failed to allocate IP %s: provided IP is already allocated`, taken, taken)},
		{"10.0.0.1", `Service "dup" is invalid: spec.clusterIPs: Invalid value: []string{"10.0.0.1"}: failed to allocate IP 10.0.0.1: provided IP is already allocated`},
		{"10.0.0.10", `Service "dup" is invalid: spec.clusterIPs: Invalid value: []string{"10.0.0.10"}: failed to allocate IP 10.0.0.10: provided IP is already allocated`},
		{"10.0.1.5", `Service "dup" is invalid: spec.clusterIPs: Invalid value: []string{"10.0.1.5"}: failed to allocate IP 10.0.1.5: the provided IP (10.0.1.5) is not in the valid range. The range of valid IPs is 10.0.0.0/28`},
		{"10.0.0.15", `Service "dup" is invalid: spec.clusterIPs: Invalid value: []string{"10.0.0.15"}: failed to allocate IP 10.0.0.15: the provided IP (10.0.0.15) is not in the valid range. The range of valid IPs is 10.0.0.0/28`},
	} {
		_, resp, body := ts.createSvc(svcJSON("dup", "", tc.ip))
		st := expectErr(t, resp, body, 422, metav1.StatusReasonInvalid, tc.msg)
		if st.Details == nil || st.Details.Kind != "Service" || st.Details.Name != "dup" || len(st.Details.Causes) != 1 ||
			st.Details.Causes[0].Field != "spec.clusterIPs" || st.Details.Causes[0].Type != metav1.CauseTypeFieldValueInvalid {
			t.Fatalf("details: %+v", st.Details)
		}
	}
}

func TestServiceRequestedAndSpecialClusterIPs(t *testing.T) {
	ts := newSvcServer(t, "10.96.0.0/12", "")
	if svc := ts.mustCreateSvc(svcJSON("fixed", "", "10.96.0.5")); svc.Spec.ClusterIP != "10.96.0.5" || svc.Spec.ClusterIPs[0] != "10.96.0.5" {
		t.Fatalf("requested address not kept: %+v", svc.Spec)
	}
	_, resp, body := ts.createSvc(svcJSON("dup", "", "10.96.0.5"))
	expectErr(t, resp, body, 422, metav1.StatusReasonInvalid,
		`Service "dup" is invalid: spec.clusterIPs: Invalid value: []string{"10.96.0.5"}: failed to allocate IP 10.96.0.5: provided IP is already allocated`)

	headless := ts.mustCreateSvc(svcJSON("headless", "", "None"))
	if headless.Spec.ClusterIP != "None" || len(headless.Spec.ClusterIPs) != 1 || headless.Spec.ClusterIPs[0] != "None" {
		t.Fatalf("headless: %+v", headless.Spec)
	}
	if p := headless.Spec.IPFamilyPolicy; p == nil || *p != corev1.IPFamilyPolicySingleStack {
		t.Fatalf("headless with selector: policy %v", p)
	}
	// Headless without a selector defaults to both families, as the API server does.
	body = strings.Replace(svcJSON("bare", "", "None"), `,"selector":{"app":"bare"}`, "", 1)
	bare := ts.mustCreateSvc(body)
	if p := bare.Spec.IPFamilyPolicy; p == nil || *p != corev1.IPFamilyPolicyRequireDualStack || len(bare.Spec.IPFamilies) != 2 {
		t.Fatalf("selectorless headless: %v %v", p, bare.Spec.IPFamilies)
	}
	ext := ts.mustCreateSvc(svcJSON("ext", "ExternalName", ""))
	if ext.Spec.ClusterIP != "" || len(ext.Spec.ClusterIPs) != 0 || ext.Spec.IPFamilyPolicy != nil {
		t.Fatalf("ExternalName got addresses: %+v", ext.Spec)
	}
	_, resp, body = ts.createSvc(strings.Replace(svcJSON("v6", "", ""), `"selector"`, `"ipFamilies":["IPv6"],"selector"`, 1))
	expectErr(t, resp, body, 422, metav1.StatusReasonInvalid, `Service "v6" is invalid: spec.ipFamilies[0]: Invalid value: "IPv6": not configured on this cluster`)
	_, resp, body = ts.createSvc(strings.Replace(svcJSON("dual", "", ""), `"selector"`, `"ipFamilyPolicy":"RequireDualStack","selector"`, 1))
	expectErr(t, resp, body, 422, metav1.StatusReasonInvalid, `Service "dual" is invalid: spec.ipFamilyPolicy: Invalid value: "RequireDualStack": this cluster is not configured for dual-stack services`)

	// A dry run answers with an address but keeps none.
	resp, body = ts.do("POST", "/api/v1/namespaces/default/services?dryRun=All", "application/json", svcJSON("dry", "", "10.96.0.7"))
	if resp.StatusCode != 201 || !strings.Contains(body, `"clusterIP":"10.96.0.7"`) {
		t.Fatalf("dry run: %d %s", resp.StatusCode, body)
	}
	ts.mustCreateSvc(svcJSON("wet", "", "10.96.0.7"))
}

func TestServiceNodePortAllocation(t *testing.T) {
	ts := newSvcServer(t, "", "30000-30004")
	svc := ts.mustCreateSvc(svcJSON("np", "NodePort", "", 0, 30001))
	if len(svc.Spec.Ports) != 2 || svc.Spec.Ports[1].NodePort != 30001 || svc.Spec.Ports[0].NodePort < 30000 || svc.Spec.Ports[0].NodePort > 30004 || svc.Spec.Ports[0].NodePort == 30001 {
		t.Fatalf("nodePorts: %+v", svc.Spec.Ports)
	}
	if !netip.MustParsePrefix(DefaultServiceCIDR).Contains(netip.MustParseAddr(svc.Spec.ClusterIP)) {
		t.Fatalf("NodePort Service has no ClusterIP: %q", svc.Spec.ClusterIP)
	}
	_, resp, body := ts.createSvc(svcJSON("dup", "NodePort", "", 30001))
	st := expectErr(t, resp, body, 422, metav1.StatusReasonInvalid, `Service "dup" is invalid: spec.ports[0].nodePort: Invalid value: 30001: provided port is already allocated`)
	if st.Details.Causes[0].Field != "spec.ports[0].nodePort" {
		t.Fatalf("cause: %+v", st.Details.Causes)
	}
	_, resp, body = ts.createSvc(svcJSON("out", "NodePort", "", 0, 8080))
	expectErr(t, resp, body, 422, metav1.StatusReasonInvalid, `Service "out" is invalid: spec.ports[1].nodePort: Invalid value: 8080: provided port is not in the valid range. The range of valid ports is 30000-30004`)

	// TCP and UDP on the same port share one nodePort.
	both := `{"apiVersion":"v1","kind":"Service","metadata":{"name":"dns"},"spec":{"type":"NodePort","selector":{"a":"b"},"ports":[{"name":"udp","port":53,"protocol":"UDP"},{"name":"tcp","port":53,"protocol":"TCP"}]}}`
	dns := ts.mustCreateSvc(both)
	if dns.Spec.Ports[0].NodePort == 0 || dns.Spec.Ports[0].NodePort != dns.Spec.Ports[1].NodePort {
		t.Fatalf("shared nodePort: %+v", dns.Spec.Ports)
	}
	// 3 of 5 are taken: two more fit, the third does not.
	ts.mustCreateSvc(svcJSON("a", "NodePort", ""))
	ts.mustCreateSvc(svcJSON("b", "NodePort", ""))
	_, resp, body = ts.createSvc(svcJSON("c", "NodePort", ""))
	expectErr(t, resp, body, 500, metav1.StatusReasonInternalError, "Internal error occurred: failed to allocate a nodePort: range is full")
	// LoadBalancer Services get nodePorts too, unless allocateLoadBalancerNodePorts is false.
	lb := strings.Replace(svcJSON("lb", "LoadBalancer", ""), `"selector"`, `"allocateLoadBalancerNodePorts":false,"selector"`, 1)
	if svc := ts.mustCreateSvc(lb); svc.Spec.Ports[0].NodePort != 0 {
		t.Fatalf("allocateLoadBalancerNodePorts=false got %d", svc.Spec.Ports[0].NodePort)
	}
}

func TestServiceUpdateKeepsAndReleases(t *testing.T) {
	ts := newSvcServer(t, "", "30000-30001")
	orig := ts.mustCreateSvc(svcJSON("web", "NodePort", ""))
	np := orig.Spec.Ports[0].NodePort

	// kubectl replace sends the manifest without the allocated values: they stay.
	replace := strings.Replace(svcJSON("web", "NodePort", ""), `"name":"web"`, `"name":"web","resourceVersion":"`+orig.ResourceVersion+`"`, 1)
	resp, body := ts.do("PUT", "/api/v1/namespaces/default/services/web", "application/json", replace)
	if resp.StatusCode != 200 {
		t.Fatalf("replace: %d %s", resp.StatusCode, body)
	}
	var got corev1.Service
	_ = json.Unmarshal([]byte(body), &got)
	if got.Spec.ClusterIP != orig.Spec.ClusterIP || len(got.Spec.ClusterIPs) != 1 || got.Spec.Ports[0].NodePort != np {
		t.Fatalf("allocated values not carried over: %+v", got.Spec)
	}
	if got.Generation != orig.Generation {
		t.Fatalf("a replace that changes nothing bumped generation %d -> %d", orig.Generation, got.Generation)
	}

	// NodePort -> ClusterIP, with the old nodePort still in the body (client-side apply
	// keeps it): it is dropped and free for another Service.
	patch := `{"spec":{"type":"ClusterIP"}}`
	resp, body = ts.do("PATCH", "/api/v1/namespaces/default/services/web", "application/merge-patch+json", patch)
	if resp.StatusCode != 200 {
		t.Fatalf("patch: %d %s", resp.StatusCode, body)
	}
	got = corev1.Service{}
	_ = json.Unmarshal([]byte(body), &got)
	if got.Spec.Ports[0].NodePort != 0 || got.Spec.ClusterIP != orig.Spec.ClusterIP {
		t.Fatalf("type change to ClusterIP: %+v", got.Spec)
	}
	ts.mustCreateSvc(svcJSON("other", "NodePort", "", int(np)))

	// ClusterIP -> NodePort allocates the last free port.
	resp, body = ts.do("PATCH", "/api/v1/namespaces/default/services/web", "application/merge-patch+json", `{"spec":{"type":"NodePort"}}`)
	if resp.StatusCode != 200 {
		t.Fatalf("patch back: %d %s", resp.StatusCode, body)
	}
	got = corev1.Service{}
	_ = json.Unmarshal([]byte(body), &got)
	if p := got.Spec.Ports[0].NodePort; p == 0 || p == np {
		t.Fatalf("nodePort after ClusterIP -> NodePort: %d", p)
	}

	// ClusterIP -> ExternalName releases the address; back to ClusterIP allocates anew.
	resp, body = ts.do("PATCH", "/api/v1/namespaces/default/services/web", "application/merge-patch+json",
		`{"spec":{"type":"ExternalName","externalName":"example.com","ports":null}}`)
	if resp.StatusCode != 200 {
		t.Fatalf("to ExternalName: %d %s", resp.StatusCode, body)
	}
	got = corev1.Service{}
	_ = json.Unmarshal([]byte(body), &got)
	if got.Spec.ClusterIP != "" || len(got.Spec.ClusterIPs) != 0 || got.Spec.IPFamilyPolicy != nil {
		t.Fatalf("ExternalName kept its address: %+v", got.Spec)
	}
	ts.mustCreateSvc(svcJSON("takes-it", "", orig.Spec.ClusterIP))
	resp, body = ts.do("PATCH", "/api/v1/namespaces/default/services/web", "application/merge-patch+json",
		`{"spec":{"type":"ClusterIP","externalName":null,"ports":[{"name":"p0","port":80,"protocol":"TCP"}]}}`)
	if resp.StatusCode != 200 {
		t.Fatalf("back to ClusterIP: %d %s", resp.StatusCode, body)
	}
	got = corev1.Service{}
	_ = json.Unmarshal([]byte(body), &got)
	if got.Spec.ClusterIP == "" || got.Spec.ClusterIP == orig.Spec.ClusterIP {
		t.Fatalf("ExternalName -> ClusterIP: %q", got.Spec.ClusterIP)
	}
}

func TestServiceConcurrentCreatesGetDistinctValues(t *testing.T) {
	ts := newSvcServer(t, "10.1.0.0/24", "30000-30099")
	const n = 80
	var wg sync.WaitGroup
	errs := make(chan string, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			resp, body := ts.do("POST", "/api/v1/namespaces/default/services", "application/json", svcJSON(fmt.Sprintf("c%d", i), "NodePort", ""))
			if resp.StatusCode != 201 {
				errs <- body
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatalf("concurrent create failed: %s", e)
	}
	ips, ports := map[string]string{}, map[int32]string{}
	list, _ := ts.store.List("services", "default")
	for _, e := range list {
		svc := e.Obj.(*corev1.Service)
		if o, dup := ips[svc.Spec.ClusterIP]; dup {
			t.Fatalf("%s and %s share %s", o, svc.Name, svc.Spec.ClusterIP)
		}
		ips[svc.Spec.ClusterIP] = svc.Name
		np := svc.Spec.Ports[0].NodePort
		if o, dup := ports[np]; dup {
			t.Fatalf("%s and %s share nodePort %d", o, svc.Name, np)
		}
		ports[np] = svc.Name
	}
	if len(ips) != n {
		t.Fatalf("%d services stored, want %d", len(ips), n)
	}
}

// TestServiceAllocatorStoreIsTruth: a fresh allocator (a restarted k2d) sees what the store
// holds; a reservation whose request never stored lapses.
func TestServiceAllocatorStoreIsTruth(t *testing.T) {
	store, err := cache.New(cache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	stored := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "kept", Namespace: "default"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, ClusterIP: "10.0.0.2", ClusterIPs: []string{"10.0.0.2"},
			Ports: []corev1.ServicePort{{Port: 80, NodePort: 30000}}}}
	if _, err := store.Create(kindService, stored); err != nil {
		t.Fatal(err)
	}
	a, err := newSvcAllocator("10.0.0.0/29", "30000-30001")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	a.now = func() time.Time { return now }
	req := func(name, ip string, np int32) *corev1.Service {
		return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, ClusterIP: ip, Ports: []corev1.ServicePort{{Port: 80, NodePort: np}}}}
	}
	if aerr := a.admit(store, kindService, req("x", "10.0.0.2", 0), nil, false); aerr == nil || !strings.Contains(aerr.status.Message, "provided IP is already allocated") {
		t.Fatalf("stored address handed out again: %v", aerr)
	}
	if aerr := a.admit(store, kindService, req("x", "", 30000), nil, false); aerr == nil || !strings.Contains(aerr.status.Message, "provided port is already allocated") {
		t.Fatalf("stored nodePort handed out again: %v", aerr)
	}
	// Admitted but never stored: held for reservationTTL, then free again.
	if aerr := a.admit(store, kindService, req("lost", "10.0.0.3", 30001), nil, false); aerr != nil {
		t.Fatal(aerr)
	}
	if aerr := a.admit(store, kindService, req("y", "10.0.0.3", 0), nil, false); aerr == nil {
		t.Fatal("a pending reservation was handed out again")
	}
	// The same name asking again (a retried patch) may reuse its own reservation.
	if aerr := a.admit(store, kindService, req("lost", "10.0.0.3", 30001), nil, true); aerr != nil {
		t.Fatalf("own reservation refused: %v", aerr)
	}
	now = now.Add(reservationTTL + time.Second)
	if aerr := a.admit(store, kindService, req("y", "10.0.0.3", 30001), nil, true); aerr != nil {
		t.Fatalf("lapsed reservation still held: %v", aerr)
	}
	// A dry run reserves nothing.
	if aerr := a.admit(store, kindService, req("d", "10.0.0.4", 0), nil, true); aerr != nil {
		t.Fatal(aerr)
	}
	if aerr := a.admit(store, kindService, req("e", "10.0.0.4", 0), nil, false); aerr != nil {
		t.Fatalf("a dry run kept its address: %v", aerr)
	}
}

func TestPrepareServiceUpdate(t *testing.T) {
	single := corev1.IPFamilyPolicySingleStack
	old := &corev1.Service{Spec: corev1.ServiceSpec{
		Type: corev1.ServiceTypeLoadBalancer, ClusterIP: "10.96.0.20", ClusterIPs: []string{"10.96.0.20"},
		IPFamilies: []corev1.IPFamily{corev1.IPv4Protocol}, IPFamilyPolicy: &single,
		ExternalTrafficPolicy: corev1.ServiceExternalTrafficPolicyLocal, HealthCheckNodePort: 31000,
		Ports: []corev1.ServicePort{{Name: "http", Port: 80, NodePort: 30080}, {Name: "https", Port: 443, NodePort: 30443}},
	}}
	// Omitted values come back, by port name; a nodePort the client moved stays moved.
	svc := &corev1.Service{Spec: corev1.ServiceSpec{
		Type: corev1.ServiceTypeLoadBalancer, ExternalTrafficPolicy: corev1.ServiceExternalTrafficPolicyLocal,
		Ports: []corev1.ServicePort{{Name: "https", Port: 443, NodePort: 30080}, {Name: "http", Port: 80}},
	}}
	prepareServiceUpdate(svc, old)
	if svc.Spec.ClusterIP != "10.96.0.20" || len(svc.Spec.ClusterIPs) != 1 || svc.Spec.HealthCheckNodePort != 31000 {
		t.Fatalf("not carried over: %+v", svc.Spec)
	}
	if svc.Spec.Ports[0].NodePort != 30080 || svc.Spec.Ports[1].NodePort != 0 {
		t.Fatalf("nodePorts: %+v", svc.Spec.Ports)
	}

	// LoadBalancer -> ClusterIP with untouched values drops the nodePorts, the health check
	// port and the external traffic policy.
	svc = old.DeepCopy()
	svc.Spec.Type = corev1.ServiceTypeClusterIP
	prepareServiceUpdate(svc, old)
	if svc.Spec.Ports[0].NodePort != 0 || svc.Spec.Ports[1].NodePort != 0 || svc.Spec.HealthCheckNodePort != 0 || svc.Spec.ExternalTrafficPolicy != "" {
		t.Fatalf("type-dependent fields kept: %+v", svc.Spec)
	}
	if svc.Spec.ClusterIP != "10.96.0.20" {
		t.Fatalf("clusterIP lost: %q", svc.Spec.ClusterIP)
	}
	// -> ExternalName drops the address fields.
	svc = old.DeepCopy()
	svc.Spec.Type = corev1.ServiceTypeExternalName
	prepareServiceUpdate(svc, old)
	if svc.Spec.ClusterIP != "" || svc.Spec.ClusterIPs != nil || svc.Spec.IPFamilies != nil || svc.Spec.IPFamilyPolicy != nil {
		t.Fatalf("ExternalName kept addresses: %+v", svc.Spec)
	}
	// Only clusterIP changed by an old client: clusterIPs follows it (validation then refuses
	// the change with its own wording).
	svc = old.DeepCopy()
	svc.Spec.ClusterIP = "10.96.0.21"
	prepareServiceUpdate(svc, old)
	if svc.Spec.ClusterIPs[0] != "10.96.0.21" {
		t.Fatalf("clusterIPs did not follow: %v", svc.Spec.ClusterIPs)
	}
	// Create: clusterIPs follows a lone clusterIP, status is the server's.
	c := &corev1.Service{Spec: corev1.ServiceSpec{ClusterIP: "None"},
		Status: corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: []corev1.LoadBalancerIngress{{IP: "1.2.3.4"}}}}}
	prepareServiceCreate(c)
	if len(c.Spec.ClusterIPs) != 1 || c.Spec.ClusterIPs[0] != "None" || len(c.Status.LoadBalancer.Ingress) != 0 {
		t.Fatalf("prepareServiceCreate: %+v", c)
	}
}
