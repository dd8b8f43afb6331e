package codec

import (
	"fmt"
	"net"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Service, Endpoints (pkg/apis/core/validation) and EndpointSlice
// (pkg/apis/discovery/validation) validation, as in v1.32.
//
// k2d allocates ClusterIPs, NodePorts and the health check node port, and fills
// ipFamilyPolicy and ipFamilies, after validation (fastapi/services.go), where the server
// does it before: an empty clusterIP, nodePort or healthCheckNodePort is valid here.

func init() {
	vldKinds["services"] = vldTyped(vldServiceCreate, vldServiceUpdate)
	vldKinds["endpoints"] = vldTyped(vldEndpointsCreate, vldEndpointsUpdate)
	vldKinds["endpointslices.discovery.k8s.io"] = vldTyped(vldEndpointSliceCreate, vldEndpointSliceUpdate)
}

var (
	vldProtocols           = []string{"SCTP", "TCP", "UDP"}
	vldSessionAffinities   = []string{"ClientIP", "None"}
	vldServiceTypes        = []string{"ClusterIP", "ExternalName", "LoadBalancer", "NodePort"}
	vldTrafficPolicies     = []string{"Cluster", "Local"}
	vldIPFamilies          = []string{"IPv4", "IPv6"}
	vldIPFamilyPolicies    = []string{"PreferDualStack", "RequireDualStack", "SingleStack"}
	vldSliceAddressTypes   = []string{"FQDN", "IPv4", "IPv6"}
	vldSliceAddressTypesUp = []string{"FQDN", "IP", "IPv4", "IPv6"} // "IP" is still accepted on update
)

const (
	vldMaxSliceEndpoints = 1000
	vldMaxSliceAddresses = 100
	vldMaxSlicePorts     = 100
	vldMaxZoneHints      = 8
	// vldMaxClientIPAffinitySeconds is core.MaxClientIPServiceAffinitySeconds, one day.
	vldMaxClientIPAffinitySeconds = 86400
)

// vldDNS1035LabelName is NameIsDNS1035Label, the rule for Service names.
func vldDNS1035LabelName(name string, prefix bool) []string {
	return validation.IsDNS1035Label(vldMaskTrailingDash(name, prefix))
}

func vldDNS1123Label(v string, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsDNS1123Label(v) {
		errs = append(errs, field.Invalid(fld, v, msg))
	}
	return errs
}

// vldLegacyIP is the v1.32 IsValidIP: any address net.ParseIP reads, leading zeros allowed.
func vldLegacyIP(fld *field.Path, v string) field.ErrorList {
	return validation.IsValidIPForLegacyField(fld, v, false, nil)
}

// vldNonSpecialIP is ValidateNonSpecialIP: endpoints and external IPs may not be
// unspecified, loopback or link-local addresses.
func vldNonSpecialIP(v string, fld *field.Path) field.ErrorList {
	ip := vldParseIPSloppy(v)
	if ip == nil {
		return field.ErrorList{field.Invalid(fld, v, "must be a valid IP address")}
	}
	var errs field.ErrorList
	if ip.IsUnspecified() {
		errs = append(errs, field.Invalid(fld, v, fmt.Sprintf("may not be unspecified (%v)", v)))
	}
	if ip.IsLoopback() {
		errs = append(errs, field.Invalid(fld, v, "may not be in the loopback range (127.0.0.0/8, ::1/128)"))
	}
	if ip.IsLinkLocalUnicast() {
		errs = append(errs, field.Invalid(fld, v, "may not be in the link-local range (169.254.0.0/16, fe80::/10)"))
	}
	if ip.IsLinkLocalMulticast() {
		errs = append(errs, field.Invalid(fld, v, "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)"))
	}
	return errs
}

// vldParseIPSloppy is netutils.ParseIPSloppy: like net.ParseIP, but IPv4 octets may carry
// leading zeros (read as decimal), as Kubernetes has always accepted in these fields.
func vldParseIPSloppy(s string) net.IP {
	if ip := net.ParseIP(s); ip != nil {
		return ip
	}
	if strings.Contains(s, ":") {
		return nil
	}
	var octets [4]byte
	n, val, digits := 0, 0, 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '.' {
			if digits == 0 || n == 4 || val > 255 {
				return nil
			}
			octets[n] = byte(val)
			n, val, digits = n+1, 0, 0
			continue
		}
		c := s[i]
		if c < '0' || c > '9' || digits == 3 {
			return nil
		}
		val = val*10 + int(c-'0')
		digits++
	}
	if n != 4 {
		return nil
	}
	return net.IPv4(octets[0], octets[1], octets[2], octets[3])
}

func vldIsIPv6(v string) bool {
	ip := vldParseIPSloppy(v)
	return ip != nil && ip.To4() == nil
}

// ---- services ----

func vldIsHeadless(svc *corev1.Service) bool {
	return len(svc.Spec.ClusterIPs) == 1 && svc.Spec.ClusterIPs[0] == corev1.ClusterIPNone
}

func vldServiceCreate(svc *corev1.Service) field.ErrorList {
	meta := field.NewPath("metadata")
	errs := vldKubeObjectMeta(&svc.ObjectMeta, true, vldDNS1035LabelName, meta)
	hints, hintsSet := svc.Annotations[corev1.DeprecatedAnnotationTopologyAwareHints]
	mode, modeSet := svc.Annotations[corev1.AnnotationTopologyMode]
	if hintsSet && modeSet && hints != mode {
		errs = append(errs, field.Invalid(meta.Child("annotations").Key(corev1.AnnotationTopologyMode), mode,
			fmt.Sprintf("must match annotations[%s] when both are specified", corev1.DeprecatedAnnotationTopologyAwareHints)))
	}

	spec := field.NewPath("spec")
	s := &svc.Spec
	headless := vldIsHeadless(svc)
	if len(s.Ports) == 0 && !headless && s.Type != corev1.ServiceTypeExternalName {
		errs = append(errs, field.Required(spec.Child("ports"), ""))
	}
	switch s.Type {
	case corev1.ServiceTypeLoadBalancer, corev1.ServiceTypeNodePort:
		if headless {
			errs = append(errs, field.Invalid(spec.Child("clusterIPs").Index(0), s.ClusterIPs[0], fmt.Sprintf("may not be set to 'None' for %s services", s.Type)))
		}
	case corev1.ServiceTypeExternalName:
		if len(s.ClusterIPs) > 0 {
			errs = append(errs, field.Forbidden(spec.Child("clusterIPs"), "may not be set for ExternalName services"))
		}
		if len(s.IPFamilies) > 0 {
			errs = append(errs, field.Forbidden(spec.Child("ipFamilies"), "may not be set for ExternalName services"))
		}
		if s.IPFamilyPolicy != nil {
			errs = append(errs, field.Forbidden(spec.Child("ipFamilyPolicy"), "may not be set for ExternalName services"))
		}
		// A CNAME may end in a dot to say it is fully qualified.
		if cname := strings.TrimSuffix(s.ExternalName, "."); cname != "" {
			for _, msg := range validation.IsDNS1123Subdomain(cname) {
				errs = append(errs, field.Invalid(spec.Child("externalName"), cname, msg))
			}
		} else {
			errs = append(errs, field.Required(spec.Child("externalName"), ""))
		}
	}

	names := map[string]bool{}
	for i := range s.Ports {
		errs = append(errs, vldServicePort(&s.Ports[i], len(s.Ports) > 1, names, spec.Child("ports").Index(i))...)
	}
	if s.Selector != nil {
		errs = append(errs, vldLabels(s.Selector, spec.Child("selector"))...)
	}
	switch s.SessionAffinity {
	case "":
		errs = append(errs, field.Required(spec.Child("sessionAffinity"), ""))
	case corev1.ServiceAffinityClientIP:
		errs = append(errs, vldClientIPAffinity(s.SessionAffinityConfig, spec.Child("sessionAffinityConfig"))...)
	case corev1.ServiceAffinityNone:
		if s.SessionAffinityConfig != nil {
			errs = append(errs, field.Forbidden(spec.Child("sessionAffinityConfig"), "must not be set when session affinity is None"))
		}
	default:
		errs = append(errs, field.NotSupported(spec.Child("sessionAffinity"), s.SessionAffinity, vldSessionAffinities))
	}
	errs = append(errs, vldServiceClusterIPs(svc)...)
	for i, ip := range s.ExternalIPs {
		p := spec.Child("externalIPs").Index(i)
		if e := vldLegacyIP(p, ip); len(e) > 0 {
			errs = append(errs, e...)
		} else {
			errs = append(errs, vldNonSpecialIP(ip, p)...)
		}
	}
	switch {
	case s.Type == "":
		errs = append(errs, field.Required(spec.Child("type"), ""))
	case !slices.Contains(vldServiceTypes, string(s.Type)):
		errs = append(errs, field.NotSupported(spec.Child("type"), s.Type, vldServiceTypes))
	}
	if s.Type == corev1.ServiceTypeClusterIP {
		for i, p := range s.Ports {
			if p.NodePort != 0 {
				errs = append(errs, field.Forbidden(spec.Child("ports").Index(i).Child("nodePort"), "may not be used when `type` is 'ClusterIP'"))
			}
		}
	}
	// Node ports and ports are unique per protocol.
	nodePorts := map[string]bool{}
	for i, p := range s.Ports {
		if p.NodePort == 0 {
			continue
		}
		key := fmt.Sprintf("%s/%d", p.Protocol, p.NodePort)
		if nodePorts[key] {
			errs = append(errs, field.Duplicate(spec.Child("ports").Index(i).Child("nodePort"), p.NodePort))
		}
		nodePorts[key] = true
	}
	ports := map[string]bool{}
	for i, p := range s.Ports {
		key := fmt.Sprintf("%s/%d", p.Protocol, p.Port)
		if ports[key] {
			errs = append(errs, field.Duplicate(spec.Child("ports").Index(i), corev1.ServicePort{Protocol: p.Protocol, Port: p.Port}))
		}
		ports[key] = true
	}
	if len(s.LoadBalancerSourceRanges) > 0 {
		p := spec.Child("LoadBalancerSourceRanges") // sic
		if s.Type != corev1.ServiceTypeLoadBalancer {
			errs = append(errs, field.Forbidden(p, "may only be used when `type` is 'LoadBalancer'"))
		}
		for i, v := range s.LoadBalancerSourceRanges {
			// Space padding is tolerated, a leftover of the annotation.
			errs = append(errs, validation.IsValidCIDRForLegacyField(p.Index(i), strings.TrimSpace(v), false, nil)...)
		}
	} else if v, ok := svc.Annotations[corev1.AnnotationLoadBalancerSourceRangesKey]; ok {
		p := meta.Child("annotations").Key(corev1.AnnotationLoadBalancerSourceRangesKey)
		if s.Type != corev1.ServiceTypeLoadBalancer {
			errs = append(errs, field.Forbidden(p, "may only be used when `type` is 'LoadBalancer'"))
		}
		if v = strings.TrimSpace(v); v != "" {
			for _, cidr := range strings.Split(v, ",") {
				errs = append(errs, validation.IsValidCIDRForLegacyField(p, strings.TrimSpace(cidr), false, nil)...)
			}
		}
	}
	if s.AllocateLoadBalancerNodePorts != nil && s.Type != corev1.ServiceTypeLoadBalancer {
		errs = append(errs, field.Forbidden(spec.Child("allocateLoadBalancerNodePorts"), "may only be used when `type` is 'LoadBalancer'"))
	}
	if s.Type == corev1.ServiceTypeLoadBalancer && s.AllocateLoadBalancerNodePorts == nil {
		errs = append(errs, field.Required(field.NewPath("allocateLoadBalancerNodePorts"), "")) // sic: no "spec."
	}
	errs = append(errs, vldLoadBalancerClass(nil, svc)...)
	errs = append(errs, vldExternalTrafficPolicy(svc)...)
	if s.InternalTrafficPolicy == nil {
		// Not required of ExternalName services, for historical reasons.
		switch s.Type {
		case corev1.ServiceTypeClusterIP, corev1.ServiceTypeNodePort, corev1.ServiceTypeLoadBalancer:
			errs = append(errs, field.Required(spec.Child("internalTrafficPolicy"), ""))
		}
	} else if !slices.Contains(vldTrafficPolicies, string(*s.InternalTrafficPolicy)) {
		errs = append(errs, field.NotSupported(spec.Child("internalTrafficPolicy"), *s.InternalTrafficPolicy, vldTrafficPolicies))
	}
	if td := s.TrafficDistribution; td != nil && *td != corev1.ServiceTrafficDistributionPreferClose {
		errs = append(errs, field.NotSupported(spec.Child("trafficDistribution"), *td, []string{corev1.ServiceTrafficDistributionPreferClose}))
	}
	return errs
}

func vldServicePort(sp *corev1.ServicePort, requireName bool, names map[string]bool, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	if requireName && sp.Name == "" {
		errs = append(errs, field.Required(fld.Child("name"), ""))
	} else if sp.Name != "" {
		errs = append(errs, vldDNS1123Label(sp.Name, fld.Child("name"))...)
		if names[sp.Name] {
			errs = append(errs, field.Duplicate(fld.Child("name"), sp.Name))
		}
		names[sp.Name] = true
	}
	for _, msg := range validation.IsValidPortNum(int(sp.Port)) {
		errs = append(errs, field.Invalid(fld.Child("port"), sp.Port, msg))
	}
	errs = append(errs, vldProtocol(string(sp.Protocol), fld.Child("protocol"))...)
	errs = append(errs, vldPortNumOrName(sp.TargetPort.IntValue(), sp.TargetPort.StrVal, sp.TargetPort.Type == intstr.String, fld.Child("targetPort"))...)
	if sp.AppProtocol != nil {
		errs = append(errs, vldQualifiedName(*sp.AppProtocol, fld.Child("appProtocol"))...)
	}
	return errs
}

func vldProtocol(p string, fld *field.Path) field.ErrorList {
	if p == "" {
		return field.ErrorList{field.Required(fld, "")}
	}
	if !slices.Contains(vldProtocols, p) {
		return field.ErrorList{field.NotSupported(fld, p, vldProtocols)}
	}
	return nil
}

func vldClientIPAffinity(cfg *corev1.SessionAffinityConfig, fld *field.Path) field.ErrorList {
	const when = "when session affinity type is ClientIP"
	switch {
	case cfg == nil:
		return field.ErrorList{field.Required(fld, when)}
	case cfg.ClientIP == nil:
		return field.ErrorList{field.Required(fld.Child("clientIP"), when)}
	case cfg.ClientIP.TimeoutSeconds == nil:
		return field.ErrorList{field.Required(fld.Child("clientIP").Child("timeoutSeconds"), when)}
	}
	if t := cfg.ClientIP.TimeoutSeconds; *t <= 0 || *t > vldMaxClientIPAffinitySeconds {
		return field.ErrorList{field.Invalid(fld.Child("clientIP").Child("timeoutSeconds"), t,
			fmt.Sprintf("must be greater than 0 and less than %d", vldMaxClientIPAffinitySeconds))}
	}
	return nil
}

// vldServiceClusterIPs is ValidateServiceClusterIPsRelatedFields: clusterIP and clusterIPs
// agree, the IPs are valid (or a lone "None"), at most one per family, and they match the
// families given.
func vldServiceClusterIPs(svc *corev1.Service) field.ErrorList {
	s := &svc.Spec
	if s.Type == corev1.ServiceTypeExternalName {
		return nil
	}
	var errs field.ErrorList
	spec := field.NewPath("spec")
	ipsPath, famPath := spec.Child("clusterIPs"), spec.Child("ipFamilies")
	if s.ClusterIP != "" {
		if len(s.ClusterIPs) == 0 {
			errs = append(errs, field.Required(ipsPath, ""))
		} else if s.ClusterIPs[0] != s.ClusterIP {
			errs = append(errs, field.Invalid(ipsPath, s.ClusterIPs, "first value must match `clusterIP`"))
		}
	} else if len(s.ClusterIPs) != 0 {
		errs = append(errs, field.Invalid(ipsPath, s.ClusterIPs, "must be empty when `clusterIP` is not specified"))
	}
	seen := map[corev1.IPFamily]bool{}
	for i, f := range s.IPFamilies {
		if !slices.Contains(vldIPFamilies, string(f)) {
			errs = append(errs, field.NotSupported(famPath.Index(i), f, vldIPFamilies))
		}
		if seen[f] {
			errs = append(errs, field.Duplicate(famPath.Index(i), f))
		}
		seen[f] = true
	}
	if p := s.IPFamilyPolicy; p != nil && !slices.Contains(vldIPFamilyPolicies, string(*p)) {
		errs = append(errs, field.NotSupported(spec.Child("ipFamilyPolicy"), p, vldIPFamilyPolicies))
	}
	badIPs := false
	for i, ip := range s.ClusterIPs {
		if i == 0 && ip == corev1.ClusterIPNone {
			if len(s.ClusterIPs) > 1 {
				badIPs = true
				errs = append(errs, field.Invalid(ipsPath, s.ClusterIPs, "'None' must be the first and only value"))
			}
			continue
		}
		e := vldLegacyIP(ipsPath.Index(i), ip)
		badIPs = badIPs || len(e) > 0
		errs = append(errs, e...)
	}
	if len(s.ClusterIPs) > 2 {
		errs = append(errs, field.Invalid(ipsPath, s.ClusterIPs, "may only hold up to 2 values"))
	}
	// Bad IPs would make the checks below misleading.
	if badIPs {
		return errs
	}
	if len(s.ClusterIPs) > 1 {
		v6 := 0
		for _, ip := range s.ClusterIPs {
			if vldIsIPv6(ip) {
				v6++
			}
		}
		if len(s.ClusterIPs) != 2 || v6 != 1 {
			errs = append(errs, field.Invalid(ipsPath, s.ClusterIPs, "may specify no more than one IP for each IP family"))
		}
	}
	if !vldIsHeadless(svc) && len(s.ClusterIPs) > 0 && len(s.IPFamilies) > 0 {
		for i, ip := range s.ClusterIPs {
			if i >= len(s.IPFamilies) {
				break
			}
			if s.IPFamilies[i] == corev1.IPv4Protocol && vldIsIPv6(ip) {
				errs = append(errs, field.Invalid(ipsPath.Index(i), ip, fmt.Sprintf("expected an IPv4 value as indicated by `ipFamilies[%v]`", i)))
			}
			if s.IPFamilies[i] == corev1.IPv6Protocol && !vldIsIPv6(ip) {
				errs = append(errs, field.Invalid(ipsPath.Index(i), ip, fmt.Sprintf("expected an IPv6 value as indicated by `ipFamilies[%v]`", i)))
			}
		}
	}
	return errs
}

func vldLoadBalancerClass(old, svc *corev1.Service) field.ErrorList {
	var errs field.ErrorList
	p := field.NewPath("spec", "loadBalancerClass")
	lb := svc.Spec.Type == corev1.ServiceTypeLoadBalancer
	if old != nil && old.Spec.Type == corev1.ServiceTypeLoadBalancer && lb {
		o, n := old.Spec.LoadBalancerClass, svc.Spec.LoadBalancerClass
		if (o == nil) != (n == nil) || (o != nil && *o != *n) {
			errs = append(errs, field.Invalid(p, n, "may not change once set"))
		}
	}
	if c := svc.Spec.LoadBalancerClass; c != nil {
		if lb {
			errs = append(errs, vldQualifiedName(*c, p)...)
		} else {
			errs = append(errs, field.Forbidden(p, "may only be used when `type` is 'LoadBalancer'"))
		}
	}
	return errs
}

func vldNeedsHealthCheck(svc *corev1.Service) bool {
	return svc.Spec.Type == corev1.ServiceTypeLoadBalancer && svc.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal
}

func vldExternalTrafficPolicy(svc *corev1.Service) field.ErrorList {
	var errs field.ErrorList
	spec := field.NewPath("spec")
	etp := svc.Spec.ExternalTrafficPolicy
	switch {
	case !svcExternallyAccessible(svc):
		if etp != "" {
			errs = append(errs, field.Invalid(spec.Child("externalTrafficPolicy"), etp, "may only be set for externally-accessible services"))
		}
	case etp == "":
		errs = append(errs, field.Required(spec.Child("externalTrafficPolicy"), ""))
	case !slices.Contains(vldTrafficPolicies, string(etp)):
		errs = append(errs, field.NotSupported(spec.Child("externalTrafficPolicy"), etp, vldTrafficPolicies))
	}
	hc := svc.Spec.HealthCheckNodePort
	switch {
	case !vldNeedsHealthCheck(svc):
		if hc != 0 {
			errs = append(errs, field.Invalid(spec.Child("healthCheckNodePort"), hc, "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'"))
		}
	case hc != 0:
		// 0 is allocated after validation here (the server allocates first and requires it).
		for _, msg := range validation.IsValidPortNum(int(hc)) {
			errs = append(errs, field.Invalid(spec.Child("healthCheckNodePort"), hc, msg))
		}
	}
	return errs
}

// vldServiceUpdate is ValidateServiceUpdate: the primary clusterIP and IP family can only
// change to or from ExternalName (or between headless services), and the ServiceUpdate rules.
func vldServiceUpdate(svc, old *corev1.Service) field.ErrorList {
	errs := vldKubeObjectMetaUpdate(&svc.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	errs = append(errs, vldServiceClusterIPsUpdate(old, svc)...)
	errs = append(errs, vldServiceFamiliesUpdate(old, svc)...)
	errs = append(errs, vldLoadBalancerClass(old, svc)...)
	if vldNeedsHealthCheck(old) && vldNeedsHealthCheck(svc) && svc.Spec.HealthCheckNodePort != old.Spec.HealthCheckNodePort {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "healthCheckNodePort"), vldImmutable))
	}
	return append(errs, vldServiceCreate(svc)...)
}

func vldServiceClusterIPsUpdate(old, svc *corev1.Service) field.ErrorList {
	if svc.Spec.Type == corev1.ServiceTypeExternalName || old.Spec.Type == corev1.ServiceTypeExternalName {
		return nil
	}
	if vldIsHeadless(old) && vldIsHeadless(svc) {
		return nil
	}
	var errs field.ErrorList
	p := field.NewPath("spec", "clusterIPs")
	o, n := old.Spec.ClusterIPs, svc.Spec.ClusterIPs
	switch {
	case len(o) == len(n):
		for i := range o {
			if o[i] != n[i] {
				errs = append(errs, field.Invalid(p.Index(i), n, "may not change once set"))
			}
		}
	case len(o) > len(n):
		if len(n) == 0 {
			errs = append(errs, field.Invalid(p.Index(0), n, "primary clusterIP can not be unset"))
		}
		if len(o) > 0 && len(n) > 0 && n[0] != o[0] {
			errs = append(errs, field.Invalid(p.Index(0), n, "may not change once set"))
		}
		if len(n) == 1 && (svc.Spec.IPFamilyPolicy == nil || *svc.Spec.IPFamilyPolicy != corev1.IPFamilyPolicySingleStack) {
			errs = append(errs, field.Invalid(field.NewPath("spec", "ipFamilyPolicy"), svc.Spec.IPFamilyPolicy, "must be set to 'SingleStack' when releasing the secondary clusterIP"))
		}
	default:
		if len(o) > 0 && n[0] != o[0] {
			errs = append(errs, field.Invalid(p.Index(0), n, "may not change once set"))
		}
	}
	return errs
}

func vldServiceFamiliesUpdate(old, svc *corev1.Service) field.ErrorList {
	if svc.Spec.Type == corev1.ServiceTypeExternalName || old.Spec.Type == corev1.ServiceTypeExternalName {
		return nil
	}
	// Headless services, and a change to or from headless, may change families.
	if vldIsHeadless(old) || vldIsHeadless(svc) {
		return nil
	}
	var errs field.ErrorList
	p := field.NewPath("spec", "ipFamilies").Index(0)
	o, n := old.Spec.IPFamilies, svc.Spec.IPFamilies
	switch {
	case len(o) == len(n):
		for i := range o {
			if o[i] != n[i] {
				errs = append(errs, field.Invalid(p, n, "may not change once set"))
			}
		}
	case len(o) > len(n):
		// The server checks clusterIPs here, and reports them below (sic).
		if len(svc.Spec.ClusterIPs) == 0 {
			errs = append(errs, field.Invalid(p, n, "primary ipFamily can not be unset"))
		}
		if len(n) > 0 && n[0] != o[0] {
			errs = append(errs, field.Invalid(p, svc.Spec.ClusterIPs, "may not change once set"))
		}
		if len(n) == 1 && (svc.Spec.IPFamilyPolicy == nil || *svc.Spec.IPFamilyPolicy != corev1.IPFamilyPolicySingleStack) {
			errs = append(errs, field.Invalid(field.NewPath("spec", "ipFamilyPolicy"), svc.Spec.IPFamilyPolicy, "must be set to 'SingleStack' when releasing the secondary ipFamily"))
		}
	default:
		if len(o) > 0 && len(n) > 0 && n[0] != o[0] {
			errs = append(errs, field.Invalid(p, svc.Spec.ClusterIPs, "may not change once set"))
		}
	}
	return errs
}

// ---- endpoints ----

func vldEndpointsCreate(ep *corev1.Endpoints) field.ErrorList {
	errs := vldKubeObjectMeta(&ep.ObjectMeta, true, vldDNSSubdomainName, field.NewPath("metadata"))
	for i := range ep.Subsets {
		ss := &ep.Subsets[i]
		p := field.NewPath("subsets").Index(i)
		// Headless services may have endpoints without ports, never without addresses.
		if len(ss.Addresses) == 0 && len(ss.NotReadyAddresses) == 0 {
			errs = append(errs, field.Required(p, "must specify `addresses` or `notReadyAddresses`"))
		}
		for j := range ss.Addresses {
			errs = append(errs, vldEndpointAddress(&ss.Addresses[j], p.Child("addresses").Index(j))...)
		}
		for j := range ss.NotReadyAddresses {
			errs = append(errs, vldEndpointAddress(&ss.NotReadyAddresses[j], p.Child("notReadyAddresses").Index(j))...)
		}
		for j := range ss.Ports {
			errs = append(errs, vldEndpointPort(&ss.Ports[j], len(ss.Ports) > 1, p.Child("ports").Index(j))...)
		}
	}
	return errs
}

func vldEndpointsUpdate(ep, old *corev1.Endpoints) field.ErrorList {
	errs := vldKubeObjectMetaUpdate(&ep.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	return append(errs, vldEndpointsCreate(ep)...)
}

func vldEndpointAddress(a *corev1.EndpointAddress, fld *field.Path) field.ErrorList {
	errs := vldLegacyIP(fld.Child("ip"), a.IP)
	if a.Hostname != "" {
		errs = append(errs, vldDNS1123Label(a.Hostname, fld.Child("hostname"))...)
	}
	if a.NodeName != nil {
		for _, msg := range vldDNSSubdomainName(*a.NodeName, false) {
			errs = append(errs, field.Invalid(fld.Child("nodeName"), *a.NodeName, msg))
		}
	}
	return append(errs, vldNonSpecialIP(a.IP, fld.Child("ip"))...)
}

func vldEndpointPort(p *corev1.EndpointPort, requireName bool, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	if requireName && p.Name == "" {
		errs = append(errs, field.Required(fld.Child("name"), ""))
	} else if p.Name != "" {
		errs = append(errs, vldDNS1123Label(p.Name, fld.Child("name"))...)
	}
	for _, msg := range validation.IsValidPortNum(int(p.Port)) {
		errs = append(errs, field.Invalid(fld.Child("port"), p.Port, msg))
	}
	errs = append(errs, vldProtocol(string(p.Protocol), fld.Child("protocol"))...)
	if p.AppProtocol != nil {
		errs = append(errs, vldQualifiedName(*p.AppProtocol, fld.Child("appProtocol"))...)
	}
	return errs
}

// ---- endpoint slices ----

func vldEndpointSliceCreate(es *discoveryv1.EndpointSlice) field.ErrorList {
	return vldEndpointSlice(es, vldSliceAddressTypes)
}

func vldEndpointSliceUpdate(es, old *discoveryv1.EndpointSlice) field.ErrorList {
	errs := vldEndpointSlice(es, vldSliceAddressTypesUp)
	if es.AddressType != old.AddressType {
		errs = append(errs, field.Invalid(field.NewPath("addressType"), es.AddressType, vldImmutable))
	}
	return errs
}

func vldEndpointSlice(es *discoveryv1.EndpointSlice, addressTypes []string) field.ErrorList {
	errs := vldKubeObjectMeta(&es.ObjectMeta, true, vldDNSSubdomainName, field.NewPath("metadata"))
	switch at := field.NewPath("addressType"); {
	case es.AddressType == "":
		errs = append(errs, field.Required(at, ""))
	case !slices.Contains(addressTypes, string(es.AddressType)):
		errs = append(errs, field.NotSupported(at, es.AddressType, addressTypes))
	}
	errs = append(errs, vldSliceEndpoints(es.Endpoints, es.AddressType, field.NewPath("endpoints"))...)
	return append(errs, vldSlicePorts(es.Ports, field.NewPath("ports"))...)
}

func vldSliceEndpoints(eps []discoveryv1.Endpoint, at discoveryv1.AddressType, fld *field.Path) field.ErrorList {
	if len(eps) > vldMaxSliceEndpoints {
		return field.ErrorList{field.TooMany(fld, len(eps), vldMaxSliceEndpoints)}
	}
	var errs field.ErrorList
	for i := range eps {
		ep := &eps[i]
		p := fld.Index(i)
		ap := p.Child("addresses")
		if len(ep.Addresses) == 0 {
			errs = append(errs, field.Required(ap, "must contain at least 1 address"))
		} else if len(ep.Addresses) > vldMaxSliceAddresses {
			errs = append(errs, field.TooMany(ap, len(ep.Addresses), vldMaxSliceAddresses))
		}
		for j, a := range ep.Addresses {
			// Unknown address types are not checked further.
			switch at {
			case "IP":
				errs = append(errs, vldLegacyIP(ap.Index(j), a)...)
			case discoveryv1.AddressTypeIPv4:
				if ip := vldParseIPSloppy(a); ip == nil || ip.To4() == nil {
					errs = append(errs, field.Invalid(ap.Index(j), a, "must be a valid IPv4 address"))
				}
				errs = append(errs, vldNonSpecialIP(a, ap.Index(j))...)
			case discoveryv1.AddressTypeIPv6:
				if ip := vldParseIPSloppy(a); ip == nil || ip.To4() != nil {
					errs = append(errs, field.Invalid(ap.Index(j), a, "must be a valid IPv6 address"))
				}
				errs = append(errs, vldNonSpecialIP(a, ap.Index(j))...)
			case discoveryv1.AddressTypeFQDN:
				errs = append(errs, validation.IsFullyQualifiedDomainName(ap.Index(j), a)...)
			}
		}
		if ep.NodeName != nil {
			for _, msg := range vldDNSSubdomainName(*ep.NodeName, false) {
				errs = append(errs, field.Invalid(p.Child("nodeName"), *ep.NodeName, msg))
			}
		}
		if ep.Hostname != nil {
			errs = append(errs, vldDNS1123Label(*ep.Hostname, p.Child("hostname"))...)
		}
		if h := ep.Hints; h != nil {
			zp := p.Child("hints", "forZones")
			if len(h.ForZones) > vldMaxZoneHints {
				errs = append(errs, field.TooMany(zp, len(h.ForZones), vldMaxZoneHints))
				continue
			}
			zones := map[string]bool{}
			for j, z := range h.ForZones {
				np := zp.Index(j).Child("name")
				if zones[z.Name] {
					errs = append(errs, field.Duplicate(np, z.Name))
				}
				zones[z.Name] = true
				for _, msg := range validation.IsValidLabelValue(z.Name) {
					errs = append(errs, field.Invalid(np, z.Name, msg))
				}
			}
		}
	}
	return errs
}

func vldSlicePorts(ports []discoveryv1.EndpointPort, fld *field.Path) field.ErrorList {
	if len(ports) > vldMaxSlicePorts {
		return field.ErrorList{field.TooMany(fld, len(ports), vldMaxSlicePorts)}
	}
	var errs field.ErrorList
	names := map[string]bool{}
	for i, port := range ports {
		p := fld.Index(i)
		name := ""
		if port.Name != nil {
			name = *port.Name
		}
		if name != "" {
			errs = append(errs, vldDNS1123Label(name, p.Child("name"))...)
		}
		if names[name] {
			errs = append(errs, field.Duplicate(p.Child("name"), name))
		}
		names[name] = true
		if port.Protocol == nil {
			errs = append(errs, field.Required(p.Child("protocol"), ""))
		} else if !slices.Contains(vldProtocols, string(*port.Protocol)) {
			errs = append(errs, field.NotSupported(p.Child("protocol"), *port.Protocol, vldProtocols))
		}
		if port.AppProtocol != nil {
			for _, msg := range validation.IsQualifiedName(*port.AppProtocol) {
				errs = append(errs, field.Invalid(p.Child("appProtocol"), *port.AppProtocol, msg))
			}
		}
	}
	return errs
}
