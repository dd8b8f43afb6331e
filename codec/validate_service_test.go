package codec

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// vldCase is one create (old nil) or update to validate, and the server's Invalid message
// ("" when valid). A message ending in "..." is a prefix (for go-cmp diffs).
type vldCase struct {
	name     string
	obj, old runtime.Object
	want     string
}

func runVldCases(t *testing.T, resource string, cases []vldCase) {
	t.Helper()
	k := kindByGroupResource(t, resource)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			Default(tc.obj)
			var causes []Cause
			if tc.old != nil {
				Default(tc.old)
				causes = ValidateUpdate(k, tc.obj, tc.old)
			} else {
				causes = Validate(k, tc.obj)
			}
			got := ""
			if len(causes) > 0 {
				got = InvalidMessage(QualifiedKind(k), tc.obj.(metav1.Object).GetName(), causes)
			}
			if p, ok := strings.CutSuffix(tc.want, "..."); ok && tc.want != "" {
				if !strings.HasPrefix(got, p) {
					t.Errorf("\n got %s\nwant prefix %s", got, p)
				}
			} else if got != tc.want {
				t.Errorf("\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

const dns1035Msg = `a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')`

const dns1123LabelMsg = `a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`

func svc(name string, mut func(*corev1.Service)) *corev1.Service {
	s := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", ResourceVersion: "1", UID: "u1"},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "web"},
			Ports:    []corev1.ServicePort{{Port: 80}},
		},
	}
	if mut != nil {
		mut(s)
	}
	return s
}

// allocated is the service as stored after the allocator gave it a ClusterIP (and families).
func allocated(s *corev1.Service) *corev1.Service {
	s.Spec.ClusterIP = "10.96.0.20"
	s.Spec.ClusterIPs = []string{"10.96.0.20"}
	p := corev1.IPFamilyPolicySingleStack
	s.Spec.IPFamilyPolicy = &p
	s.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv4Protocol}
	return s
}

func TestValidateService(t *testing.T) {
	runVldCases(t, "services", []vldCase{
		{name: "minimal, before allocation", obj: svc("web", nil)},
		{name: "allocated", obj: allocated(svc("web", nil))},
		{name: "NodePort without node port", obj: svc("web", func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeNodePort })},
		{name: "LoadBalancer", obj: svc("web", func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeLoadBalancer })},
		{name: "LoadBalancer Local without health check port", obj: svc("web", func(s *corev1.Service) {
			s.Spec.Type = corev1.ServiceTypeLoadBalancer
			s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
		})},
		{name: "headless without ports", obj: svc("db", func(s *corev1.Service) {
			s.Spec.ClusterIP, s.Spec.ClusterIPs, s.Spec.Ports = "None", []string{"None"}, nil
		})},
		{name: "ExternalName", obj: svc("ext", func(s *corev1.Service) {
			s.Spec.Type, s.Spec.ExternalName, s.Spec.Ports, s.Spec.Selector = corev1.ServiceTypeExternalName, "example.com.", nil, nil
		})},
		{name: "name is a DNS-1035 label", obj: svc("1web", nil),
			want: `Service "1web" is invalid: metadata.name: Invalid value: "1web": ` + dns1035Msg},
		{name: "ports required", obj: svc("web", func(s *corev1.Service) { s.Spec.Ports = nil }),
			want: `Service "web" is invalid: spec.ports: Required value`},
		{name: "names required with two ports, port range", obj: svc("web", func(s *corev1.Service) {
			s.Spec.Ports = []corev1.ServicePort{{Name: "http", Port: 80}, {Port: 70000}}
		}), want: `Service "web" is invalid: [spec.ports[1].name: Required value, spec.ports[1].port: Invalid value: 70000: must be between 1 and 65535, inclusive, spec.ports[1].targetPort: Invalid value: 70000: must be between 1 and 65535, inclusive]`},
		{name: "port names unique and DNS labels", obj: svc("web", func(s *corev1.Service) {
			s.Spec.Ports = []corev1.ServicePort{{Name: "http", Port: 80}, {Name: "http", Port: 81}, {Name: "Web_UI", Port: 82}}
		}), want: `Service "web" is invalid: [spec.ports[1].name: Duplicate value: "http", spec.ports[2].name: Invalid value: "Web_UI": ` + dns1123LabelMsg + `]`},
		{name: "duplicate port and protocol", obj: svc("web", func(s *corev1.Service) {
			s.Spec.Ports = []corev1.ServicePort{{Name: "a", Port: 80}, {Name: "b", Port: 80}, {Name: "c", Port: 80, Protocol: corev1.ProtocolUDP}}
		}), want: `Service "web" is invalid: spec.ports[1]: Duplicate value: {"protocol":"TCP","port":80,"targetPort":0}`},
		{name: "bad protocol and target port name", obj: svc("web", func(s *corev1.Service) {
			s.Spec.Ports = []corev1.ServicePort{{Port: 80, Protocol: "HTTP", TargetPort: intstr.FromString("Web_Port")}}
		}), want: `Service "web" is invalid: [spec.ports[0].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP", spec.ports[0].targetPort: Invalid value: "Web_Port": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)]`},
		{name: "node port on ClusterIP", obj: svc("web", func(s *corev1.Service) { s.Spec.Ports[0].NodePort = 30080 }),
			want: `Service "web" is invalid: spec.ports[0].nodePort: Forbidden: may not be used when ` + "`type`" + ` is 'ClusterIP'`},
		{name: "duplicate node ports", obj: svc("web", func(s *corev1.Service) {
			s.Spec.Type = corev1.ServiceTypeNodePort
			s.Spec.Ports = []corev1.ServicePort{{Name: "a", Port: 80, NodePort: 30080}, {Name: "b", Port: 81, NodePort: 30080}}
		}), want: `Service "web" is invalid: spec.ports[1].nodePort: Duplicate value: 30080`},
		{name: "ExternalName needs externalName", obj: svc("ext", func(s *corev1.Service) {
			s.Spec.Type, s.Spec.Ports = corev1.ServiceTypeExternalName, nil
		}), want: `Service "ext" is invalid: spec.externalName: Required value`},
		{name: "ExternalName must be a DNS subdomain", obj: svc("ext", func(s *corev1.Service) {
			s.Spec.Type, s.Spec.ExternalName = corev1.ServiceTypeExternalName, "Bad_Host"
		}), want: `Service "ext" is invalid: spec.externalName: Invalid value: "Bad_Host": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`},
		{name: "ExternalName with a cluster IP", obj: svc("ext", func(s *corev1.Service) {
			s.Spec.Type, s.Spec.ExternalName = corev1.ServiceTypeExternalName, "example.com"
			s.Spec.ClusterIP, s.Spec.ClusterIPs = "10.96.0.9", []string{"10.96.0.9"}
		}), want: `Service "ext" is invalid: spec.clusterIPs: Forbidden: may not be set for ExternalName services`},
		{name: "headless NodePort", obj: svc("web", func(s *corev1.Service) {
			s.Spec.Type, s.Spec.ClusterIP, s.Spec.ClusterIPs = corev1.ServiceTypeNodePort, "None", []string{"None"}
		}), want: `Service "web" is invalid: spec.clusterIPs[0]: Invalid value: "None": may not be set to 'None' for NodePort services`},
		{name: "clusterIP and clusterIPs disagree", obj: svc("web", func(s *corev1.Service) {
			s.Spec.ClusterIP, s.Spec.ClusterIPs = "10.96.0.5", []string{"10.96.0.6"}
		}), want: `Service "web" is invalid: spec.clusterIPs: Invalid value: ["10.96.0.6"]: first value must match ` + "`clusterIP`"},
		{name: "bad cluster IP", obj: svc("web", func(s *corev1.Service) {
			s.Spec.ClusterIP, s.Spec.ClusterIPs = "10.96.0.300", []string{"10.96.0.300"}
		}), want: `Service "web" is invalid: spec.clusterIPs[0]: Invalid value: "10.96.0.300": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)`},
		{name: "selector labels", obj: svc("web", func(s *corev1.Service) { s.Spec.Selector = map[string]string{"app": "a b"} }),
			want: `Service "web" is invalid: spec.selector: Invalid value: "a b": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`},
		{name: "session affinity", obj: svc("web", func(s *corev1.Service) { s.Spec.SessionAffinity = "Sticky" }),
			want: `Service "web" is invalid: spec.sessionAffinity: Unsupported value: "Sticky": supported values: "ClientIP", "None"`},
		{name: "client IP timeout", obj: svc("web", func(s *corev1.Service) {
			to := int32(90000)
			s.Spec.SessionAffinity = corev1.ServiceAffinityClientIP
			s.Spec.SessionAffinityConfig = &corev1.SessionAffinityConfig{ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: &to}}
		}), want: `Service "web" is invalid: spec.sessionAffinityConfig.clientIP.timeoutSeconds: Invalid value: 90000: must be greater than 0 and less than 86400`},
		{name: "type", obj: svc("web", func(s *corev1.Service) { s.Spec.Type = "Gateway" }),
			want: `Service "web" is invalid: spec.type: Unsupported value: "Gateway": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"`},
		{name: "external traffic policy on ClusterIP", obj: svc("web", func(s *corev1.Service) { s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal }),
			want: `Service "web" is invalid: spec.externalTrafficPolicy: Invalid value: "Local": may only be set for externally-accessible services`},
		{name: "external IPs", obj: svc("web", func(s *corev1.Service) { s.Spec.ExternalIPs = []string{"127.0.0.1", "x"} }),
			want: `Service "web" is invalid: [spec.externalIPs[0]: Invalid value: "127.0.0.1": may not be in the loopback range (127.0.0.0/8, ::1/128), spec.externalIPs[1]: Invalid value: "x": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)]`},
		{name: "source ranges only for LoadBalancer", obj: svc("web", func(s *corev1.Service) { s.Spec.LoadBalancerSourceRanges = []string{"10.0.0.0/8"} }),
			want: `Service "web" is invalid: spec.LoadBalancerSourceRanges: Forbidden: may only be used when ` + "`type`" + ` is 'LoadBalancer'`},
		{name: "ipFamilyPolicy value", obj: svc("web", func(s *corev1.Service) {
			p := corev1.IPFamilyPolicy("Both")
			s.Spec.IPFamilyPolicy = &p
		}), want: `Service "web" is invalid: spec.ipFamilyPolicy: Unsupported value: "Both": supported values: "PreferDualStack", "RequireDualStack", "SingleStack"`},
		{name: "family of the cluster IP", obj: svc("web", func(s *corev1.Service) {
			s.Spec.ClusterIP, s.Spec.ClusterIPs = "fd00::10", []string{"fd00::10"}
			s.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv4Protocol}
		}), want: `Service "web" is invalid: spec.clusterIPs[0]: Invalid value: "fd00::10": expected an IPv4 value as indicated by ` + "`ipFamilies[0]`"},

		// Updates.
		{name: "update keeps the cluster IP", obj: allocated(svc("web", func(s *corev1.Service) { s.Spec.Ports[0].Port = 8080 })), old: allocated(svc("web", nil))},
		{name: "cluster IP is immutable", obj: allocated(svc("web", func(s *corev1.Service) {})), old: allocated(svc("web", nil)),
			want: ""},
		{name: "cluster IP may not change", obj: func() *corev1.Service {
			s := allocated(svc("web", nil))
			s.Spec.ClusterIP, s.Spec.ClusterIPs = "10.96.0.21", []string{"10.96.0.21"}
			return s
		}(), old: allocated(svc("web", nil)),
			want: `Service "web" is invalid: spec.clusterIPs[0]: Invalid value: ["10.96.0.21"]: may not change once set`},
		{name: "cluster IP may not be unset", obj: func() *corev1.Service {
			s := allocated(svc("web", nil))
			s.Spec.ClusterIP, s.Spec.ClusterIPs = "", nil
			return s
		}(), old: allocated(svc("web", nil)),
			want: `Service "web" is invalid: spec.clusterIPs[0]: Invalid value: null: primary clusterIP can not be unset`},
		{name: "to ExternalName drops the cluster IP", obj: svc("web", func(s *corev1.Service) {
			s.Spec.Type, s.Spec.ExternalName, s.Spec.Ports = corev1.ServiceTypeExternalName, "example.com", nil
		}), old: allocated(svc("web", nil))},
		{name: "from ExternalName gets a cluster IP", obj: allocated(svc("web", nil)), old: svc("web", func(s *corev1.Service) {
			s.Spec.Type, s.Spec.ExternalName, s.Spec.Ports = corev1.ServiceTypeExternalName, "example.com", nil
		})},
		{name: "headless to headful may not happen", obj: allocated(svc("web", nil)), old: svc("web", func(s *corev1.Service) {
			s.Spec.ClusterIP, s.Spec.ClusterIPs = "None", []string{"None"}
		}), want: `Service "web" is invalid: spec.clusterIPs[0]: Invalid value: ["10.96.0.20"]: may not change once set`},
		{name: "load balancer class is fixed", obj: allocated(svc("web", func(s *corev1.Service) {
			c := "example.com/b"
			s.Spec.Type, s.Spec.LoadBalancerClass = corev1.ServiceTypeLoadBalancer, &c
		})), old: allocated(svc("web", func(s *corev1.Service) {
			c := "example.com/a"
			s.Spec.Type, s.Spec.LoadBalancerClass = corev1.ServiceTypeLoadBalancer, &c
		})), want: `Service "web" is invalid: spec.loadBalancerClass: Invalid value: "example.com/b": may not change once set`},
	})
}

func TestValidateEndpoints(t *testing.T) {
	ep := func(mut func(*corev1.Endpoints)) *corev1.Endpoints {
		e := &corev1.Endpoints{
			ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", ResourceVersion: "1"},
			Subsets: []corev1.EndpointSubset{{
				Addresses: []corev1.EndpointAddress{{IP: "172.17.0.2"}},
				Ports:     []corev1.EndpointPort{{Port: 80}},
			}},
		}
		if mut != nil {
			mut(e)
		}
		return e
	}
	runVldCases(t, "endpoints", []vldCase{
		{name: "valid", obj: ep(nil)},
		{name: "no subsets", obj: ep(func(e *corev1.Endpoints) { e.Subsets = nil })},
		{name: "addresses required", obj: ep(func(e *corev1.Endpoints) { e.Subsets[0].Addresses = nil }),
			want: `Endpoints "web" is invalid: subsets[0]: Required value: must specify ` + "`addresses` or `notReadyAddresses`"},
		{name: "not an IP", obj: ep(func(e *corev1.Endpoints) { e.Subsets[0].Addresses[0].IP = "web" }),
			want: `Endpoints "web" is invalid: [subsets[0].addresses[0].ip: Invalid value: "web": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff), subsets[0].addresses[0].ip: Invalid value: "web": must be a valid IP address]`},
		{name: "special IPs", obj: ep(func(e *corev1.Endpoints) {
			e.Subsets[0].Addresses = []corev1.EndpointAddress{{IP: "0.0.0.0"}, {IP: "169.254.169.254"}}
			e.Subsets[0].NotReadyAddresses = []corev1.EndpointAddress{{IP: "::1"}}
		}), want: `Endpoints "web" is invalid: [subsets[0].addresses[0].ip: Invalid value: "0.0.0.0": may not be unspecified (0.0.0.0), subsets[0].addresses[1].ip: Invalid value: "169.254.169.254": may not be in the link-local range (169.254.0.0/16, fe80::/10), subsets[0].notReadyAddresses[0].ip: Invalid value: "::1": may not be in the loopback range (127.0.0.0/8, ::1/128)]`},
		{name: "port names with several ports", obj: ep(func(e *corev1.Endpoints) {
			e.Subsets[0].Ports = []corev1.EndpointPort{{Name: "http", Port: 80}, {Port: 0, Protocol: "ICMP"}}
		}), want: `Endpoints "web" is invalid: [subsets[0].ports[1].name: Required value, subsets[0].ports[1].port: Invalid value: 0: must be between 1 and 65535, inclusive, subsets[0].ports[1].protocol: Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"]`},
		{name: "hostname", obj: ep(func(e *corev1.Endpoints) { e.Subsets[0].Addresses[0].Hostname = "Web" }),
			want: `Endpoints "web" is invalid: subsets[0].addresses[0].hostname: Invalid value: "Web": ` + dns1123LabelMsg},
		{name: "update", obj: ep(func(e *corev1.Endpoints) { e.Subsets[0].Addresses[0].IP = "172.17.0.3" }), old: ep(nil)},
	})
}

func TestValidateEndpointSlice(t *testing.T) {
	port, name, ready := int32(80), "http", true
	slice := func(mut func(*discoveryv1.EndpointSlice)) *discoveryv1.EndpointSlice {
		s := &discoveryv1.EndpointSlice{
			ObjectMeta:  metav1.ObjectMeta{Name: "web-abc", Namespace: "default", ResourceVersion: "1"},
			AddressType: discoveryv1.AddressTypeIPv4,
			Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"172.17.0.2"}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}},
			Ports:       []discoveryv1.EndpointPort{{Name: &name, Port: &port}},
		}
		if mut != nil {
			mut(s)
		}
		return s
	}
	runVldCases(t, "endpointslices.discovery.k8s.io", []vldCase{
		{name: "valid", obj: slice(nil)},
		{name: "address type required", obj: slice(func(s *discoveryv1.EndpointSlice) { s.AddressType = "" }),
			want: `EndpointSlice.discovery.k8s.io "web-abc" is invalid: addressType: Required value`},
		{name: "IP is only kept on update", obj: slice(func(s *discoveryv1.EndpointSlice) { s.AddressType = "IP" }),
			want: `EndpointSlice.discovery.k8s.io "web-abc" is invalid: addressType: Unsupported value: "IP": supported values: "FQDN", "IPv4", "IPv6"`},
		{name: "IPv4 addresses", obj: slice(func(s *discoveryv1.EndpointSlice) { s.Endpoints[0].Addresses = []string{"fd00::1"} }),
			want: `EndpointSlice.discovery.k8s.io "web-abc" is invalid: endpoints[0].addresses[0]: Invalid value: "fd00::1": must be a valid IPv4 address`},
		{name: "addresses required", obj: slice(func(s *discoveryv1.EndpointSlice) { s.Endpoints[0].Addresses = nil }),
			want: `EndpointSlice.discovery.k8s.io "web-abc" is invalid: endpoints[0].addresses: Required value: must contain at least 1 address`},
		{name: "port names unique", obj: slice(func(s *discoveryv1.EndpointSlice) {
			s.Ports = append(s.Ports, discoveryv1.EndpointPort{Name: &name})
		}), want: `EndpointSlice.discovery.k8s.io "web-abc" is invalid: ports[1].name: Duplicate value: "http"`},
		{name: "FQDN", obj: slice(func(s *discoveryv1.EndpointSlice) {
			s.AddressType, s.Endpoints[0].Addresses = discoveryv1.AddressTypeFQDN, []string{"db.example.com"}
		})},
		{name: "address type is immutable", obj: slice(func(s *discoveryv1.EndpointSlice) {
			s.AddressType, s.Endpoints[0].Addresses = discoveryv1.AddressTypeFQDN, []string{"db.example.com"}
		}), old: slice(nil), want: `EndpointSlice.discovery.k8s.io "web-abc" is invalid: addressType: Invalid value: "FQDN": field is immutable`},
	})
}

func TestDefaultService(t *testing.T) {
	s := svc("web", func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeNodePort })
	Default(s)
	sp := s.Spec
	if sp.SessionAffinity != corev1.ServiceAffinityNone || sp.Ports[0].Protocol != corev1.ProtocolTCP ||
		sp.Ports[0].TargetPort != intstr.FromInt32(80) || sp.ExternalTrafficPolicy != corev1.ServiceExternalTrafficPolicyCluster ||
		sp.InternalTrafficPolicy == nil || *sp.InternalTrafficPolicy != corev1.ServiceInternalTrafficPolicyCluster ||
		sp.AllocateLoadBalancerNodePorts != nil {
		t.Errorf("NodePort defaults: %+v", sp)
	}
	c := svc("web", nil)
	Default(c)
	if c.Spec.Type != corev1.ServiceTypeClusterIP || c.Spec.ExternalTrafficPolicy != "" {
		t.Errorf("ClusterIP defaults: %+v", c.Spec)
	}
	lb := svc("web", func(s *corev1.Service) {
		s.Spec.Type = corev1.ServiceTypeLoadBalancer
		s.Spec.SessionAffinity = corev1.ServiceAffinityClientIP
	})
	Default(lb)
	if a := lb.Spec.AllocateLoadBalancerNodePorts; a == nil || !*a {
		t.Error("allocateLoadBalancerNodePorts not defaulted to true")
	}
	if c := lb.Spec.SessionAffinityConfig; c == nil || *c.ClientIP.TimeoutSeconds != 10800 {
		t.Errorf("ClientIP affinity timeout: %+v", c)
	}
	ext := svc("ext", func(s *corev1.Service) {
		p := corev1.ServiceInternalTrafficPolicyCluster
		s.Spec.Type, s.Spec.InternalTrafficPolicy = corev1.ServiceTypeExternalName, &p
	})
	Default(ext)
	if ext.Spec.InternalTrafficPolicy != nil {
		t.Error("ExternalName keeps internalTrafficPolicy, which the server drops")
	}
	named := svc("web", func(s *corev1.Service) { s.Spec.Ports[0].TargetPort = intstr.FromString("http") })
	Default(named)
	if named.Spec.Ports[0].TargetPort != intstr.FromString("http") {
		t.Error("a named targetPort was replaced")
	}
}

func TestDefaultEndpointsAndSlices(t *testing.T) {
	ep := &corev1.Endpoints{Subsets: []corev1.EndpointSubset{{Ports: []corev1.EndpointPort{{Port: 80}}}}}
	Default(ep)
	if ep.Subsets[0].Ports[0].Protocol != corev1.ProtocolTCP {
		t.Error("endpoint port protocol not defaulted")
	}
	es := &discoveryv1.EndpointSlice{Ports: []discoveryv1.EndpointPort{{}}}
	Default(es)
	if p := es.Ports[0]; p.Name == nil || *p.Name != "" || p.Protocol == nil || *p.Protocol != corev1.ProtocolTCP {
		t.Errorf("slice port defaults: %+v", p)
	}
}
