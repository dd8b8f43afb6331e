package reconcile

// This file: the `kubernetes` Service in `default`, which the API server keeps on a
// cluster: ClusterIP the first address of the service range, port 443 (https) to k2d's API
// port on the node's address, with its Endpoints and EndpointSlice. In-cluster clients
// (client-go's rest.InClusterConfig) find the API through it and the KUBERNETES_SERVICE_*
// variables it gives every container.

import (
	"fmt"
	"net/netip"
	"reflect"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

const (
	kubernetesServiceName = "kubernetes"
	kubernetesServiceKey  = metav1.NamespaceDefault + "/" + kubernetesServiceName
	// defaultServiceCIDR and defaultAPIPort apply when Options leave them empty.
	defaultServiceCIDR = "10.96.0.0/12"
	defaultAPIPort     = 6443
)

// KubernetesServiceIP returns the `kubernetes` Service's address: the first of the range.
func KubernetesServiceIP(cidr string) (netip.Addr, error) {
	if cidr == "" {
		cidr = defaultServiceCIDR
	}
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("invalid service CIDR %q: %w", cidr, err)
	}
	a := p.Masked().Addr().Next()
	if !p.Contains(a) {
		return netip.Addr{}, fmt.Errorf("service CIDR %s holds no address", p)
	}
	return a, nil
}

func (c *Controller) apiPort() int32 {
	if c.o.APIPort > 0 {
		return int32(c.o.APIPort)
	}
	return defaultAPIPort
}

// kubernetesService is the Service as the API server writes it.
func kubernetesService(ip netip.Addr, apiPort int32) *corev1.Service {
	fam := corev1.IPv4Protocol
	if !ip.Is4() {
		fam = corev1.IPv6Protocol
	}
	single := corev1.IPFamilyPolicySingleStack
	cluster := corev1.ServiceInternalTrafficPolicyCluster
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{
			Name: kubernetesServiceName, Namespace: metav1.NamespaceDefault,
			Labels: map[string]string{"component": "apiserver", "provider": "kubernetes"},
		},
		Spec: corev1.ServiceSpec{
			Type:       corev1.ServiceTypeClusterIP,
			ClusterIP:  ip.String(),
			ClusterIPs: []string{ip.String()},
			Ports: []corev1.ServicePort{{
				Name: "https", Protocol: corev1.ProtocolTCP, Port: 443, TargetPort: intstr.FromInt32(apiPort),
			}},
			SessionAffinity:       corev1.ServiceAffinityNone,
			IPFamilies:            []corev1.IPFamily{fam},
			IPFamilyPolicy:        &single,
			InternalTrafficPolicy: &cluster,
		},
	}
}

// syncKubernetesService creates the `kubernetes` Service and its endpoints, and puts back
// what a user deleted or changed.
func (c *Controller) syncKubernetesService() error {
	ip, err := KubernetesServiceIP(c.o.ServiceCIDR)
	if err != nil {
		return err
	}
	if !c.namespaceActive(metav1.NamespaceDefault) {
		return nil
	}
	want := kubernetesService(ip, c.apiPort())
	ent, ok := c.c.Get(epResServices, metav1.NamespaceDefault, kubernetesServiceName)
	if ok {
		cur := ent.Obj.(*corev1.Service)
		switch {
		case cur.Spec.ClusterIP != want.Spec.ClusterIP:
			// The range changed: the address is immutable, so the Service is made anew.
			if _, err := c.c.Delete(epKindService, metav1.NamespaceDefault, kubernetesServiceName, "", string(cur.UID)); err != nil && !isCacheNotFound(err) {
				return fmt.Errorf("cannot replace the kubernetes service: %w", err)
			}
			ok = false
		case cur.Spec.Type != want.Spec.Type || !equality.Semantic.DeepEqual(cur.Spec.Ports, want.Spec.Ports) || len(cur.Spec.Selector) > 0:
			upd := cur.DeepCopy()
			upd.Spec.Type, upd.Spec.Ports, upd.Spec.Selector = want.Spec.Type, want.Spec.Ports, nil
			upd.Spec.ExternalTrafficPolicy, upd.Spec.HealthCheckNodePort = "", 0
			if _, err := c.c.Update(epKindService, upd); err != nil {
				return fmt.Errorf("cannot update the kubernetes service: %w", err)
			}
		}
	}
	if !ok {
		if _, err := c.c.Create(epKindService, want); err != nil {
			return fmt.Errorf("cannot create the kubernetes service: %w", err)
		}
	}
	return c.writeKubernetesEndpoints()
}

// writeKubernetesEndpoints points the Service at the node's address and the API port.
func (c *Controller) writeKubernetesEndpoints() error {
	host, err := netip.ParseAddr(c.o.HostIP)
	if err != nil {
		return nil // no node address known (tests): nothing to point at
	}
	host = host.Unmap()
	port := c.apiPort()
	subsets := []corev1.EndpointSubset{{
		Addresses: []corev1.EndpointAddress{{IP: host.String()}},
		Ports:     []corev1.EndpointPort{{Name: "https", Port: port, Protocol: corev1.ProtocolTCP}},
	}}
	labels := map[string]string{discoveryv1.LabelSkipMirror: "true"}
	ent, ok := c.c.Get(epResEndpoints, metav1.NamespaceDefault, kubernetesServiceName)
	switch {
	case !ok:
		ep := &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: kubernetesServiceName, Namespace: metav1.NamespaceDefault, Labels: labels}, Subsets: subsets}
		if _, err := c.c.Create(epKindEndpoints, ep); err != nil {
			return fmt.Errorf("cannot create the kubernetes endpoints: %w", err)
		}
	default:
		cur := ent.Obj.(*corev1.Endpoints)
		if !equality.Semantic.DeepEqual(cur.Subsets, subsets) || !sameStringMap(cur.Labels, labels) {
			upd := cur.DeepCopy()
			upd.Subsets, upd.Labels = subsets, labels
			if _, err := c.c.Update(epKindEndpoints, upd); err != nil {
				return fmt.Errorf("cannot update the kubernetes endpoints: %w", err)
			}
		}
	}

	at := discoveryv1.AddressTypeIPv4
	if !host.Is4() {
		at = discoveryv1.AddressTypeIPv6
	}
	name, proto, ready := "https", corev1.ProtocolTCP, true
	want := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: kubernetesServiceName, Namespace: metav1.NamespaceDefault, Labels: map[string]string{discoveryv1.LabelServiceName: kubernetesServiceName}},
		AddressType: at,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{host.String()}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}},
		Ports:       []discoveryv1.EndpointPort{{Name: &name, Port: &port, Protocol: &proto}},
	}
	sent, ok := c.c.Get(epResSlices, metav1.NamespaceDefault, kubernetesServiceName)
	if !ok {
		if _, err := c.c.Create(epKindSlice, want); err != nil {
			return fmt.Errorf("cannot create the kubernetes endpointslice: %w", err)
		}
		return nil
	}
	cur := sent.Obj.(*discoveryv1.EndpointSlice)
	if cur.AddressType != at {
		// addressType is immutable: replace the slice.
		if _, err := c.c.Delete(epKindSlice, metav1.NamespaceDefault, kubernetesServiceName, "", string(cur.UID)); err != nil && !isCacheNotFound(err) {
			return fmt.Errorf("cannot replace the kubernetes endpointslice: %w", err)
		}
		if _, err := c.c.Create(epKindSlice, want); err != nil {
			return fmt.Errorf("cannot create the kubernetes endpointslice: %w", err)
		}
		return nil
	}
	if equality.Semantic.DeepEqual(cur.Endpoints, want.Endpoints) && equality.Semantic.DeepEqual(cur.Ports, want.Ports) &&
		reflect.DeepEqual(cur.Labels, want.Labels) {
		return nil
	}
	upd := cur.DeepCopy()
	upd.Endpoints, upd.Ports, upd.Labels = want.Endpoints, want.Ports, want.Labels
	if _, err := c.c.Update(epKindSlice, upd); err != nil {
		return fmt.Errorf("cannot update the kubernetes endpointslice: %w", err)
	}
	return nil
}
