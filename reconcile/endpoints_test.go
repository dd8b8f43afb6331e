package reconcile

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
)

var epT0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// epPod is a running pod with an address; ready sets its Ready condition.
func epPod(name, ip string, ready bool, ports ...corev1.ContainerPort) *corev1.Pod {
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID("uid-" + name), Labels: map[string]string{"app": "web"}},
		Spec:       corev1.PodSpec{NodeName: "node1", Containers: []corev1.Container{{Name: "c", Image: testImage, Ports: ports}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}},
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: st, LastTransitionTime: metav1.NewTime(epT0)}}},
	}
	if ip == "" {
		p.Status.PodIPs = nil
	}
	return p
}

func webPort(n int32) corev1.ContainerPort {
	return corev1.ContainerPort{Name: "web", ContainerPort: n, Protocol: corev1.ProtocolTCP}
}

func epService() *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", UID: "svc-uid", Labels: map[string]string{"tier": "front"},
			CreationTimestamp: metav1.NewTime(epT0.Add(-time.Hour))},
		Spec: corev1.ServiceSpec{
			Type: corev1.ServiceTypeClusterIP, ClusterIP: "10.96.5.5", ClusterIPs: []string{"10.96.5.5"},
			IPFamilies: []corev1.IPFamily{corev1.IPv4Protocol},
			Selector:   map[string]string{"app": "web"},
			Ports: []corev1.ServicePort{
				{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromString("web")},
				{Name: "metrics", Port: 9090, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(9100)},
			},
		},
	}
}

func addrIPs(as []corev1.EndpointAddress) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.IP)
	}
	return out
}

func TestBuildSubsets(t *testing.T) {
	svc := epService()
	term := epPod("term", "10.0.0.9", true, webPort(8080))
	now := metav1.NewTime(epT0)
	term.DeletionTimestamp = &now
	done := epPod("done", "10.0.0.8", true, webPort(8080))
	done.Status.Phase = corev1.PodSucceeded
	udp := epPod("udp", "10.0.0.7", true, corev1.ContainerPort{Name: "web", ContainerPort: 8080, Protocol: corev1.ProtocolUDP})
	pods := []*corev1.Pod{
		epPod("b", "10.0.0.3", false, webPort(8080)),
		epPod("a", "10.0.0.2", true, webPort(8080)),
		epPod("other", "10.0.0.4", true, webPort(8081)), // same name, another number
		epPod("nameless", "10.0.0.5", true),             // lacks the named port: metrics only
		epPod("noip", "", true, webPort(8080)),
		term, done, udp,
	}
	got := buildSubsets(svc, pods)
	// 8080 is offered by a (ready) and b (not ready); 8081 by other; 9100 by every pod with
	// an address that is not terminating or finished.
	if len(got) != 3 {
		t.Fatalf("%d subsets, want 3: %+v", len(got), got)
	}
	type sub struct {
		ready, notReady []string
		ports           string
	}
	var subs []sub
	for _, s := range got {
		var ports []string
		for _, p := range s.Ports {
			ports = append(ports, fmt.Sprintf("%s=%d/%s", p.Name, p.Port, p.Protocol))
		}
		subs = append(subs, sub{addrIPs(s.Addresses), addrIPs(s.NotReadyAddresses), strings.Join(ports, ",")})
	}
	want := map[string]sub{
		"http=8080/TCP":    {[]string{"10.0.0.2"}, []string{"10.0.0.3"}, "http=8080/TCP"},
		"http=8081/TCP":    {[]string{"10.0.0.4"}, nil, "http=8081/TCP"},
		"metrics=9100/TCP": {[]string{"10.0.0.2", "10.0.0.4", "10.0.0.5", "10.0.0.7"}, []string{"10.0.0.3"}, "metrics=9100/TCP"},
	}
	for _, s := range subs {
		w, ok := want[s.ports]
		if !ok || !reflect.DeepEqual(s, w) {
			t.Errorf("subset %+v, want %+v", s, w)
		}
	}
	a := got[0].Addresses[0]
	if a.TargetRef == nil || a.TargetRef.Kind != "Pod" || a.TargetRef.Name == "" || a.TargetRef.UID == "" || a.NodeName == nil || *a.NodeName != "node1" {
		t.Fatalf("address: %+v", a)
	}

	// publishNotReadyAddresses: not-ready and terminating pods are addresses too.
	svc.Spec.PublishNotReadyAddresses = true
	got = buildSubsets(svc, pods)
	for _, s := range got {
		if len(s.NotReadyAddresses) != 0 {
			t.Fatalf("publishNotReadyAddresses left not-ready addresses: %+v", s)
		}
		if s.Ports[0].Port == 9100 && !reflect.DeepEqual(addrIPs(s.Addresses), []string{"10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.7", "10.0.0.9"}) {
			t.Fatalf("metrics addresses: %v", addrIPs(s.Addresses))
		}
	}

	// The same pods in another order give the same subsets.
	rev := append([]*corev1.Pod(nil), pods...)
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	if !reflect.DeepEqual(buildSubsets(svc, rev), got) {
		t.Fatal("subsets depend on pod order")
	}

	// A headless Service without ports lists addresses alone; hostname+subdomain give names.
	hl := epService()
	hl.Spec.ClusterIP, hl.Spec.ClusterIPs, hl.Spec.Ports = "None", []string{"None"}, nil
	named := epPod("named", "10.0.0.6", true)
	named.Spec.Hostname, named.Spec.Subdomain = "db-0", "web"
	got = buildSubsets(hl, []*corev1.Pod{named})
	if len(got) != 1 || len(got[0].Ports) != 0 || len(got[0].Addresses) != 1 || got[0].Addresses[0].Hostname != "db-0" {
		t.Fatalf("headless: %+v", got)
	}
	if l := endpointsLabels(hl); l[corev1.IsHeadlessService] != "" || len(l) != 2 {
		t.Fatalf("headless labels: %v", l)
	}
	if l := endpointsLabels(epService()); len(l) != 1 || l["tier"] != "front" {
		t.Fatalf("labels: %v", l)
	}
}

func TestFindPortSidecarAndDefaults(t *testing.T) {
	always := corev1.ContainerRestartPolicyAlways
	pod := epPod("p", "10.0.0.2", true)
	pod.Spec.InitContainers = []corev1.Container{
		{Name: "init", Ports: []corev1.ContainerPort{{Name: "web", ContainerPort: 1111, Protocol: corev1.ProtocolTCP}}},
		{Name: "proxy", RestartPolicy: &always, Ports: []corev1.ContainerPort{{Name: "web", ContainerPort: 2222, Protocol: corev1.ProtocolTCP}}},
	}
	if n, ok := findPort(pod, &corev1.ServicePort{Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromString("web")}); !ok || n != 2222 {
		t.Fatalf("sidecar port: %d %v", n, ok)
	}
	if n, ok := findPort(pod, &corev1.ServicePort{Port: 80}); !ok || n != 80 {
		t.Fatalf("unset targetPort: %d %v", n, ok)
	}
	if _, ok := findPort(pod, &corev1.ServicePort{Port: 80, TargetPort: intstr.FromString("nope")}); ok {
		t.Fatal("unknown name resolved")
	}
}

func TestBuildSlices(t *testing.T) {
	svc := epService()
	term := epPod("term", "10.0.0.9", true, webPort(8080))
	now := metav1.NewTime(epT0)
	term.DeletionTimestamp = &now
	got := buildSlices(svc, []*corev1.Pod{epPod("a", "10.0.0.2", true, webPort(8080)), epPod("b", "10.0.0.3", false, webPort(8080)), term, epPod("n", "10.0.0.5", true)})
	if len(got) != 2 {
		t.Fatalf("%d slices, want one per port set: %+v", len(got), got)
	}
	var full *sliceSpec
	for i := range got {
		if got[i].addressType != discoveryv1.AddressTypeIPv4 {
			t.Fatalf("addressType %s", got[i].addressType)
		}
		if len(got[i].ports) == 2 {
			full = &got[i]
		}
	}
	if full == nil || len(full.endpoints) != 3 {
		t.Fatalf("slice with both ports: %+v", got)
	}
	cond := map[string][3]bool{}
	for _, e := range full.endpoints {
		cond[e.Addresses[0]] = [3]bool{*e.Conditions.Ready, *e.Conditions.Serving, *e.Conditions.Terminating}
		if e.TargetRef == nil || e.NodeName == nil || *e.NodeName != "node1" {
			t.Fatalf("endpoint: %+v", e)
		}
	}
	want := map[string][3]bool{"10.0.0.2": {true, true, false}, "10.0.0.3": {false, false, false}, "10.0.0.9": {false, true, true}}
	if !reflect.DeepEqual(cond, want) {
		t.Fatalf("conditions ready/serving/terminating: %v, want %v", cond, want)
	}
	if *full.ports[0].Name != "http" || *full.ports[0].Port != 8080 || *full.ports[1].Port != 9100 {
		t.Fatalf("ports: %s", portsKey(full.ports))
	}

	// No pods: one empty placeholder slice.
	if got := buildSlices(svc, nil); len(got) != 1 || got[0].ports != nil || got[0].endpoints != nil {
		t.Fatalf("placeholder: %+v", got)
	}
	// More than 100 endpoints split.
	var many []*corev1.Pod
	for i := 0; i < 150; i++ {
		many = append(many, epPod(fmt.Sprintf("p%d", i), fmt.Sprintf("10.0.%d.%d", i/200, i%200+1), true, webPort(8080)))
	}
	got = buildSlices(svc, many)
	if len(got) != 2 || len(got[0].endpoints) != 100 || len(got[1].endpoints) != 50 {
		t.Fatalf("150 endpoints: %d slices", len(got))
	}
	l := sliceLabels(svc, sliceManagedBy)
	if l[discoveryv1.LabelServiceName] != "web" || l[discoveryv1.LabelManagedBy] != sliceManagedBy || l["tier"] != "front" {
		t.Fatalf("slice labels: %v", l)
	}
}

func TestMirrorSlices(t *testing.T) {
	ep := &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: "ext", Namespace: "default"}, Subsets: []corev1.EndpointSubset{{
		Addresses:         []corev1.EndpointAddress{{IP: "192.0.2.10"}, {IP: "2001:db8::1"}},
		NotReadyAddresses: []corev1.EndpointAddress{{IP: "192.0.2.11"}},
		Ports:             []corev1.EndpointPort{{Name: "db", Port: 5432}},
	}}}
	got := mirrorSlices(ep)
	if len(got) != 2 {
		t.Fatalf("%d slices, want one per family", len(got))
	}
	for _, s := range got {
		switch s.addressType {
		case discoveryv1.AddressTypeIPv4:
			if len(s.endpoints) != 2 || !*s.endpoints[0].Conditions.Ready || *s.endpoints[1].Conditions.Ready {
				t.Fatalf("IPv4: %+v", s.endpoints)
			}
		case discoveryv1.AddressTypeIPv6:
			if len(s.endpoints) != 1 {
				t.Fatalf("IPv6: %+v", s.endpoints)
			}
		}
		if len(s.ports) != 1 || *s.ports[0].Protocol != corev1.ProtocolTCP || *s.ports[0].Port != 5432 {
			t.Fatalf("ports: %s", portsKey(s.ports))
		}
	}
}

func TestLastChangeTriggerTime(t *testing.T) {
	svc := epService()
	pods := []*corev1.Pod{epPod("a", "10.0.0.2", true)}
	tt, st := lastChangeTriggerTime(nil, svc, pods)
	if !tt.Equal(svc.CreationTimestamp.Time) {
		t.Fatalf("first sync: %v, want the Service's creation", tt)
	}
	if tt, st = lastChangeTriggerTime(st, svc, pods); !tt.IsZero() {
		t.Fatalf("nothing changed: %v", tt)
	}
	b := epPod("b", "10.0.0.3", true)
	b.Status.Conditions[0].LastTransitionTime = metav1.NewTime(epT0.Add(time.Minute))
	if tt, _ = lastChangeTriggerTime(st, svc, append(pods, b)); !tt.Equal(epT0.Add(time.Minute)) {
		t.Fatalf("pod became ready: %v", tt)
	}
	if formatTriggerTime(epT0) != "2025-01-02T03:04:05Z" {
		t.Fatal(formatTriggerTime(epT0))
	}
}

func TestPodEndpointsChanged(t *testing.T) {
	a := epPod("a", "10.0.0.2", false)
	b := a.DeepCopy()
	b.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "c", RestartCount: 1}}
	if podEndpointsChanged(a, b) {
		t.Fatal("a container status change woke the endpoints controller")
	}
	b.Status.Conditions[0].Status = corev1.ConditionTrue
	if !podEndpointsChanged(a, b) {
		t.Fatal("readiness change ignored")
	}
	c := a.DeepCopy()
	c.Labels = map[string]string{"app": "other"}
	if !podEndpointsChanged(a, c) {
		t.Fatal("label change ignored")
	}
	if !selects(map[string]string{"app": "web"}, a.Labels) || selects(map[string]string{"app": "web", "x": "y"}, a.Labels) || selects(nil, a.Labels) {
		t.Fatal("selects")
	}
}

// ---- the controller against the cache ----

func (u *utest) syncEP(key string) {
	u.t.Helper()
	u.ctl.syncEndpoints(context.Background(), key)
}

func (u *utest) endpoints(name string) *corev1.Endpoints {
	e, ok := u.c.Get(epResEndpoints, "default", name)
	if !ok {
		return nil
	}
	return e.Obj.(*corev1.Endpoints)
}

func (u *utest) slices(svc string) []*discoveryv1.EndpointSlice {
	list, _ := u.c.List(epResSlices, "default")
	var out []*discoveryv1.EndpointSlice
	for _, e := range list {
		if s := e.Obj.(*discoveryv1.EndpointSlice); s.Labels[discoveryv1.LabelServiceName] == svc {
			out = append(out, s)
		}
	}
	return out
}

func TestEndpointsControllerFollowsPods(t *testing.T) {
	u := newUTest(t)
	u.ctl.startEndpoints()
	svc := epService()
	svc.UID = ""
	e, err := u.c.Create(epKindService, svc)
	if err != nil {
		t.Fatal(err)
	}
	svc = e.Obj.(*corev1.Service)
	u.syncEP("default/web")
	ep := u.endpoints("web")
	if ep == nil || len(ep.Subsets) != 0 || ep.Annotations[corev1.EndpointsLastChangeTriggerTime] == "" || ep.Labels["tier"] != "front" {
		t.Fatalf("endpoints of a Service without pods: %+v", ep)
	}
	sl := u.slices("web")
	if len(sl) != 1 || len(sl[0].Endpoints) != 0 || !strings.HasPrefix(sl[0].Name, "web-") || len(sl[0].Name) != len("web-")+5 {
		t.Fatalf("placeholder slice: %+v", sl)
	}
	if o := sl[0].OwnerReferences; len(o) != 1 || o[0].UID != svc.UID || o[0].Kind != "Service" || o[0].Controller == nil || !*o[0].Controller {
		t.Fatalf("owner: %+v", o)
	}

	a := u.create(epPod("a", "10.0.0.2", false, webPort(8080)))
	u.syncEP("default/web")
	ep = u.endpoints("web")
	if len(ep.Subsets) != 1 || len(ep.Subsets[0].NotReadyAddresses) != 1 || len(ep.Subsets[0].Addresses) != 0 {
		t.Fatalf("not-ready pod: %+v", ep.Subsets)
	}
	// Unchanged state writes nothing.
	rv, slRV := ep.ResourceVersion, u.slices("web")[0].ResourceVersion
	u.syncEP("default/web")
	if u.endpoints("web").ResourceVersion != rv || u.slices("web")[0].ResourceVersion != slRV {
		t.Fatal("a sync without change wrote")
	}
	sliceName := u.slices("web")[0].Name

	// The pod turns ready: it moves to addresses, the same slice is updated.
	_, err = u.c.Mutate(kindPod, "default", "a", func(o runtime.Object) (bool, error) {
		p := o.(*corev1.Pod)
		p.Status.Conditions[0].Status = corev1.ConditionTrue
		p.Status.Conditions[0].LastTransitionTime = metav1.NewTime(epT0.Add(time.Minute))
		return true, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	u.syncEP("default/web")
	ep = u.endpoints("web")
	if len(ep.Subsets[0].Addresses) != 1 || ep.Subsets[0].Addresses[0].IP != "10.0.0.2" {
		t.Fatalf("ready pod: %+v", ep.Subsets)
	}
	if got := ep.Annotations[corev1.EndpointsLastChangeTriggerTime]; got != formatTriggerTime(epT0.Add(time.Minute)) {
		t.Fatalf("trigger time %q", got)
	}
	sl = u.slices("web")
	if len(sl) != 1 || sl[0].Name != sliceName || len(sl[0].Endpoints) != 1 || !*sl[0].Endpoints[0].Conditions.Ready {
		t.Fatalf("slice after ready: %+v", sl)
	}

	// A user deleting the Endpoints gets them back; deleting the pod empties them.
	if _, err := u.c.Delete(epKindEndpoints, "default", "web", "", ""); err != nil {
		t.Fatal(err)
	}
	u.syncEP("default/web")
	if ep = u.endpoints("web"); ep == nil || len(ep.Subsets) != 1 {
		t.Fatalf("endpoints not restored: %+v", ep)
	}
	if _, err := u.c.Delete(kindPod, "default", "a", "", string(a.UID)); err != nil {
		t.Fatal(err)
	}
	u.syncEP("default/web")
	if ep = u.endpoints("web"); len(ep.Subsets) != 0 {
		t.Fatalf("deleted pod still listed: %+v", ep.Subsets)
	}
	if sl = u.slices("web"); len(sl) != 1 || len(sl[0].Endpoints) != 0 || sl[0].Name != sliceName {
		t.Fatalf("slices after the pod went: %+v", sl)
	}

	// Deleting the Service removes both.
	if _, err := u.c.Delete(epKindService, "default", "web", "", ""); err != nil {
		t.Fatal(err)
	}
	u.syncEP("default/web")
	if u.endpoints("web") != nil || len(u.slices("web")) != 0 {
		t.Fatal("endpoints outlived their Service")
	}
}

func TestEndpointsControllerSelectorlessAndExternalName(t *testing.T) {
	u := newUTest(t)
	u.ctl.startEndpoints()
	ext := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "ext", Namespace: "default"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "example.com", Selector: map[string]string{"app": "web"}}}
	if _, err := u.c.Create(epKindService, ext); err != nil {
		t.Fatal(err)
	}
	u.create(epPod("a", "10.0.0.2", true))
	u.syncEP("default/ext")
	if u.endpoints("ext") != nil || len(u.slices("ext")) != 0 {
		t.Fatal("an ExternalName Service got endpoints")
	}

	// Selectorless: the user's Endpoints stay as written and are mirrored to a slice.
	bare := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "default"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ClusterIP: "10.96.7.7", Ports: []corev1.ServicePort{{Name: "pg", Port: 5432}}}}
	if _, err := u.c.Create(epKindService, bare); err != nil {
		t.Fatal(err)
	}
	user := &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "default", Labels: map[string]string{"mine": "yes"}},
		Subsets: []corev1.EndpointSubset{{Addresses: []corev1.EndpointAddress{{IP: "192.0.2.50"}}, Ports: []corev1.EndpointPort{{Name: "pg", Port: 5432, Protocol: corev1.ProtocolTCP}}}}}
	e, err := u.c.Create(epKindEndpoints, user)
	if err != nil {
		t.Fatal(err)
	}
	u.syncEP("default/db")
	if got := u.endpoints("db"); got.ResourceVersion != e.Obj.(*corev1.Endpoints).ResourceVersion {
		t.Fatal("the controller rewrote a selectorless Service's Endpoints")
	}
	sl := u.slices("db")
	if len(sl) != 1 || sl[0].Labels[discoveryv1.LabelManagedBy] != mirrorManagedBy || sl[0].Labels["mine"] != "yes" ||
		len(sl[0].Endpoints) != 1 || sl[0].Endpoints[0].Addresses[0] != "192.0.2.50" || sl[0].OwnerReferences[0].Kind != "Endpoints" {
		t.Fatalf("mirrored slice: %+v", sl)
	}
	rv := sl[0].ResourceVersion
	u.syncEP("default/db")
	if u.slices("db")[0].ResourceVersion != rv {
		t.Fatal("mirroring rewrote an unchanged slice")
	}
	if _, err := u.c.Delete(epKindEndpoints, "default", "db", "", ""); err != nil {
		t.Fatal(err)
	}
	u.syncEP("default/db")
	if len(u.slices("db")) != 0 {
		t.Fatal("mirrored slice outlived its Endpoints")
	}
}

func TestKubernetesService(t *testing.T) {
	u := newUTest(t)
	u.ctl.o.APIPort = 7443
	u.ctl.startEndpoints()
	u.syncEP(kubernetesServiceKey)
	e, ok := u.c.Get(epResServices, "default", "kubernetes")
	if !ok {
		t.Fatal("no kubernetes Service")
	}
	svc := e.Obj.(*corev1.Service)
	if svc.Spec.ClusterIP != "10.96.0.1" || len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 443 || svc.Spec.Ports[0].Name != "https" ||
		svc.Spec.Ports[0].TargetPort.IntValue() != 7443 || svc.Spec.Ports[0].Protocol != corev1.ProtocolTCP || svc.Spec.Selector != nil {
		t.Fatalf("kubernetes Service: %+v", svc.Spec)
	}
	ep := u.endpoints("kubernetes")
	if ep == nil || len(ep.Subsets) != 1 || ep.Subsets[0].Addresses[0].IP != "192.0.2.1" || ep.Subsets[0].Ports[0].Port != 7443 {
		t.Fatalf("kubernetes Endpoints: %+v", ep)
	}
	se, ok := u.c.Get(epResSlices, "default", "kubernetes")
	if !ok {
		t.Fatal("no kubernetes EndpointSlice")
	}
	if sl := se.Obj.(*discoveryv1.EndpointSlice); sl.Endpoints[0].Addresses[0] != "192.0.2.1" || *sl.Ports[0].Port != 7443 {
		t.Fatalf("kubernetes slice: %+v", sl)
	}
	rv := e.RV
	u.syncEP(kubernetesServiceKey)
	if e, _ := u.c.Get(epResServices, "default", "kubernetes"); e.RV != rv {
		t.Fatal("an unchanged kubernetes Service was rewritten")
	}

	// A user's change of the ports and the deletion of the Endpoints are undone.
	upd := svc.DeepCopy()
	upd.Spec.Ports[0].Port = 8443
	if _, err := u.c.Update(epKindService, upd); err != nil {
		t.Fatal(err)
	}
	if _, err := u.c.Delete(epKindEndpoints, "default", "kubernetes", "", ""); err != nil {
		t.Fatal(err)
	}
	u.syncEP(kubernetesServiceKey)
	e, _ = u.c.Get(epResServices, "default", "kubernetes")
	if e.Obj.(*corev1.Service).Spec.Ports[0].Port != 443 || u.endpoints("kubernetes") == nil {
		t.Fatal("kubernetes Service not put back")
	}
	// Deleted: made anew. A new range: made anew with its first address.
	if _, err := u.c.Delete(epKindService, "default", "kubernetes", "", ""); err != nil {
		t.Fatal(err)
	}
	u.syncEP(kubernetesServiceKey)
	if _, ok := u.c.Get(epResServices, "default", "kubernetes"); !ok {
		t.Fatal("deleted kubernetes Service not recreated")
	}
	u.ctl.o.ServiceCIDR = "10.43.0.0/16"
	u.syncEP(kubernetesServiceKey)
	e, _ = u.c.Get(epResServices, "default", "kubernetes")
	if got := e.Obj.(*corev1.Service).Spec.ClusterIP; got != "10.43.0.1" {
		t.Fatalf("after a range change: %s", got)
	}
}

func TestServiceEnvFromCache(t *testing.T) {
	u := newUTest(t)
	u.ctl.startEndpoints()
	u.syncEP(kubernetesServiceKey)
	if _, err := u.c.Create(kindNS, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team"}}); err != nil {
		t.Fatal(err)
	}
	mk := func(ns, name, ip string, ports ...corev1.ServicePort) {
		t.Helper()
		s := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: corev1.ServiceSpec{ClusterIP: ip, Ports: ports}}
		if _, err := u.c.Create(epKindService, s); err != nil {
			t.Fatal(err)
		}
	}
	mk("team", "redis-primary", "10.96.3.3", corev1.ServicePort{Name: "redis", Port: 6379, Protocol: corev1.ProtocolTCP},
		corev1.ServicePort{Name: "dns-udp", Port: 53, Protocol: corev1.ProtocolUDP})
	mk("team", "headless", "None", corev1.ServicePort{Port: 80})
	mk("default", "elsewhere", "10.96.4.4", corev1.ServicePort{Port: 80})
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "team"}}
	env := u.ctl.serviceEnv(pod)
	want := map[string]string{
		"REDIS_PRIMARY_SERVICE_HOST":         "10.96.3.3",
		"REDIS_PRIMARY_SERVICE_PORT":         "6379",
		"REDIS_PRIMARY_SERVICE_PORT_REDIS":   "6379",
		"REDIS_PRIMARY_SERVICE_PORT_DNS_UDP": "53",
		"REDIS_PRIMARY_PORT":                 "tcp://10.96.3.3:6379",
		"REDIS_PRIMARY_PORT_6379_TCP":        "tcp://10.96.3.3:6379",
		"REDIS_PRIMARY_PORT_6379_TCP_PROTO":  "tcp",
		"REDIS_PRIMARY_PORT_6379_TCP_PORT":   "6379",
		"REDIS_PRIMARY_PORT_6379_TCP_ADDR":   "10.96.3.3",
		"REDIS_PRIMARY_PORT_53_UDP":          "udp://10.96.3.3:53",
		"REDIS_PRIMARY_PORT_53_UDP_PROTO":    "udp",
		"REDIS_PRIMARY_PORT_53_UDP_PORT":     "53",
		"REDIS_PRIMARY_PORT_53_UDP_ADDR":     "10.96.3.3",
		"KUBERNETES_SERVICE_HOST":            "10.96.0.1",
		"KUBERNETES_SERVICE_PORT":            "443",
		"KUBERNETES_SERVICE_PORT_HTTPS":      "443",
		"KUBERNETES_PORT":                    "tcp://10.96.0.1:443",
		"KUBERNETES_PORT_443_TCP":            "tcp://10.96.0.1:443",
		"KUBERNETES_PORT_443_TCP_PROTO":      "tcp",
		"KUBERNETES_PORT_443_TCP_PORT":       "443",
		"KUBERNETES_PORT_443_TCP_ADDR":       "10.96.0.1",
	}
	if !reflect.DeepEqual(env, want) {
		t.Fatalf("service env:\n got %v\nwant %v", env, want)
	}
	off := false
	pod.Spec.EnableServiceLinks = &off
	env = u.ctl.serviceEnv(pod)
	if len(env) != 8 || env["KUBERNETES_SERVICE_HOST"] != "10.96.0.1" {
		t.Fatalf("enableServiceLinks=false: %v", env)
	}
}

// TestEndpointsLeftOverAtStart: Endpoints whose Service is gone when the controller starts are
// removed; those of a live Service and leader-election records stay.
func TestEndpointsLeftOverAtStart(t *testing.T) {
	u := newUTest(t)
	if _, err := u.c.Create(epKindService, epService()); err != nil {
		t.Fatal(err)
	}
	for _, ep := range []*corev1.Endpoints{
		{ObjectMeta: metav1.ObjectMeta{Name: "gone", Namespace: "default"},
			Subsets: []corev1.EndpointSubset{{Addresses: []corev1.EndpointAddress{{IP: "10.0.0.9"}}, Ports: []corev1.EndpointPort{{Port: 80}}}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "lock", Namespace: "default", Annotations: map[string]string{leaderElectionAnnotation: "{}"}}},
	} {
		if _, err := u.c.Create(epKindEndpoints, ep); err != nil {
			t.Fatal(err)
		}
	}
	u.create(epPod("a", "10.0.0.2", true, webPort(8080)))
	// newUTest's controller has its context cancelled, so its queues never run: give it a live one.
	u.ctl.ctx, u.ctl.cancel = context.WithCancel(context.Background())
	t.Cleanup(func() { u.ctl.cancel(); u.ctl.wg.Wait() })
	u.ctl.startEndpoints()
	deadline := time.Now().Add(10 * time.Second)
	for (u.endpoints("gone") != nil || u.endpoints("web") == nil) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if u.endpoints("gone") != nil {
		t.Fatal("the Endpoints of a Service that is gone were kept")
	}
	if u.endpoints("web") == nil || u.endpoints("lock") == nil {
		t.Fatalf("removed: web %v, lock %v", u.endpoints("web"), u.endpoints("lock"))
	}
}
