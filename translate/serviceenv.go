package translate

import (
	"net"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// ServiceEnv returns the variables the kubelet gives every container of a pod in namespace
// ns for Services: for each Service of the namespace with a ClusterIP (when
// enableServiceLinks, the default, is on) and for the `kubernetes` Service of `default`
// (always), <NAME>_SERVICE_HOST, <NAME>_SERVICE_PORT, <NAME>_SERVICE_PORT_<PORT_NAME> and
// the Docker link variables <NAME>_PORT, <NAME>_PORT_<port>_<PROTO>{,_PROTO,_PORT,_ADDR}.
// A Service of ns named like the `kubernetes` one wins over it. The values are computed at
// container start, as on a node: Services created later are not seen.
func ServiceEnv(services []*corev1.Service, ns string, enableServiceLinks bool) map[string]string {
	chosen := map[string]*corev1.Service{}
	if enableServiceLinks {
		for _, svc := range services {
			if svc.Namespace == ns && serviceIPSet(svc) {
				chosen[svc.Name] = svc
			}
		}
	}
	for _, svc := range services {
		if svc.Namespace == "default" && svc.Name == "kubernetes" && serviceIPSet(svc) {
			if _, taken := chosen[svc.Name]; !taken {
				chosen[svc.Name] = svc
			}
		}
	}
	out := map[string]string{}
	for _, svc := range chosen {
		addServiceEnv(out, svc)
	}
	return out
}

func serviceIPSet(svc *corev1.Service) bool {
	return svc.Spec.ClusterIP != "" && svc.Spec.ClusterIP != corev1.ClusterIPNone && len(svc.Spec.Ports) > 0
}

func envName(s string) string { return strings.ToUpper(strings.ReplaceAll(s, "-", "_")) }

func addServiceEnv(out map[string]string, svc *corev1.Service) {
	prefix := envName(svc.Name)
	ip := svc.Spec.ClusterIP
	out[prefix+"_SERVICE_HOST"] = ip
	out[prefix+"_SERVICE_PORT"] = strconv.Itoa(int(svc.Spec.Ports[0].Port))
	for _, sp := range svc.Spec.Ports {
		if sp.Name != "" {
			out[prefix+"_SERVICE_PORT_"+envName(sp.Name)] = strconv.Itoa(int(sp.Port))
		}
	}
	for i, sp := range svc.Spec.Ports {
		proto := string(sp.Protocol)
		if proto == "" {
			proto = string(corev1.ProtocolTCP)
		}
		port := strconv.Itoa(int(sp.Port))
		url := strings.ToLower(proto) + "://" + net.JoinHostPort(ip, port)
		if i == 0 {
			out[prefix+"_PORT"] = url // Docker links special-case the first port
		}
		pp := prefix + "_PORT_" + port + "_" + strings.ToUpper(proto)
		out[pp] = url
		out[pp+"_PROTO"] = strings.ToLower(proto)
		out[pp+"_PORT"] = port
		out[pp+"_ADDR"] = ip
	}
}

// serviceLookup resolves $(VAR) in env values: the container's variables defined so far,
// then the Service variables, as the kubelet's expansion mapping does.
func serviceLookup(vars, svc map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		if v, ok := vars[name]; ok {
			return v, true
		}
		v, ok := svc[name]
		return v, ok
	}
}

// appendServiceEnv adds the Service variables the container does not define itself, in
// name order, to vars and order.
func appendServiceEnv(vars map[string]string, order []string, svc map[string]string) []string {
	keys := make([]string, 0, len(svc))
	for k := range svc {
		if _, own := vars[k]; !own {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		vars[k] = svc[k]
		order = append(order, k)
	}
	return order
}
