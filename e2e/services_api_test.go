package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// svcPod is a busybox httpd answering its own name on the container port named http
// (8080). ports false leaves the port undeclared (httpd still listens); extra is appended to
// the container (readinessProbe, env).
func svcPod(name string, ports bool, extra string) string {
	y := fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %s
  labels:
    app: web
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: httpd
    image: k2d-test/busybox:1
    imagePullPolicy: Never
    command: ["sh", "-c", "mkdir -p /www && echo %s > /www/index.html && exec httpd -f -p 8080 -h /www"]
`, name, name)
	if ports {
		y += "    ports:\n    - name: http\n      containerPort: 8080\n"
	}
	return y + extra
}

const namedSvc = `apiVersion: v1
kind: Service
metadata:
  name: named
  labels:
    tier: front
spec:
  selector:
    app: web
  ports:
  - name: web
    port: 80
    targetPort: http
`

// epState is what an Endpoints object lists, as "ip:port" strings.
func epState(t *testing.T, ns, name string) (ready, notReady []string, err error) {
	t.Helper()
	r := kubectl(t, "get", "endpoints", name, "-n", ns, "-o", "json")
	if r.Code != 0 {
		return nil, nil, fmt.Errorf("kubectl get endpoints %s: %s", name, strings.TrimSpace(r.Stderr))
	}
	var ep corev1.Endpoints
	if err := json.Unmarshal([]byte(r.Stdout), &ep); err != nil {
		return nil, nil, err
	}
	for _, s := range ep.Subsets {
		for _, p := range s.Ports {
			for _, a := range s.Addresses {
				ready = append(ready, fmt.Sprintf("%s:%d", a.IP, p.Port))
			}
			for _, a := range s.NotReadyAddresses {
				notReady = append(notReady, fmt.Sprintf("%s:%d", a.IP, p.Port))
			}
		}
	}
	slices.Sort(ready)
	slices.Sort(notReady)
	return ready, notReady, nil
}

func waitEndpoints(t *testing.T, ns, name string, ready, notReady []string) {
	t.Helper()
	slices.Sort(ready)
	slices.Sort(notReady)
	eventually(t, 30*time.Second, func() error {
		r, nr, err := epState(t, ns, name)
		if err != nil {
			return err
		}
		if !slices.Equal(r, ready) || !slices.Equal(nr, notReady) {
			return fmt.Errorf("endpoints %s: ready %v not ready %v; want %v and %v", name, r, nr, ready, notReady)
		}
		return nil
	})
}

// sliceState lists the endpoints of a Service's slices as "ip:port ready=.. terminating=..".
func sliceState(t *testing.T, ns, svc string) ([]string, []discoveryv1.EndpointSlice, error) {
	r := kubectl(t, "get", "endpointslices", "-n", ns, "-l", "kubernetes.io/service-name="+svc, "-o", "json")
	if r.Code != 0 {
		return nil, nil, fmt.Errorf("kubectl get endpointslices: %s", strings.TrimSpace(r.Stderr))
	}
	var list discoveryv1.EndpointSliceList
	if err := json.Unmarshal([]byte(r.Stdout), &list); err != nil {
		return nil, nil, err
	}
	var out []string
	for _, s := range list.Items {
		for _, e := range s.Endpoints {
			if len(s.Ports) == 0 {
				out = append(out, fmt.Sprintf("%s ready=%v terminating=%v", e.Addresses[0], *e.Conditions.Ready, *e.Conditions.Terminating))
			}
			for _, p := range s.Ports {
				out = append(out, fmt.Sprintf("%s:%d ready=%v terminating=%v", e.Addresses[0], *p.Port, *e.Conditions.Ready, *e.Conditions.Terminating))
			}
		}
	}
	slices.Sort(out)
	return out, list.Items, nil
}

func serviceJSON(t *testing.T, ns, name string) *corev1.Service {
	t.Helper()
	var svc corev1.Service
	kubectlJSON(t, &svc, "get", "service", name, "-n", ns)
	return &svc
}

// TestServicesAPI drives ClusterIP and NodePort allocation, the endpoints controllers, the
// kubernetes Service and the Service environment variables with the real kubectl.
func TestServicesAPI(t *testing.T) {
	start(t)
	ns := newNamespace(t, "svc")
	lazy := svcPod("lazy", true, `    readinessProbe:
      exec:
        command: ["false"]
      periodSeconds: 1
`)
	kubectlInOK(t, svcPod("web-1", true, "")+"---\n"+svcPod("bare", false, "")+"---\n"+lazy, "apply", "-n", ns, "-f", "-")
	web1 := waitPodRunning(t, ns, "web-1", 90*time.Second)
	bare := waitPodRunning(t, ns, "bare", 90*time.Second)
	var lazyPod *corev1.Pod
	eventually(t, 60*time.Second, func() error {
		p, err := podState(t, ns, "lazy")
		if err != nil {
			return err
		}
		if p.Status.Phase != corev1.PodRunning || p.Status.PodIP == "" {
			return fmt.Errorf("lazy: %s", describePod(p))
		}
		lazyPod = p
		return nil
	})

	// Three ways to make a Service.
	kubectlOK(t, "expose", "pod", "web-1", "-n", ns, "--name=exposed", "--port=80", "--target-port=8080")
	kubectlOK(t, "create", "service", "nodeport", "web-np", "-n", ns, "--tcp=80:8080")
	kubectlInOK(t, namedSvc, "apply", "-n", ns, "-f", "-")
	kubectlOK(t, "create", "service", "externalname", "ext", "-n", ns, "--external-name=example.com")

	serviceRange := netip.MustParsePrefix("10.96.0.0/12")
	named := serviceJSON(t, ns, "named")
	namedIP := named.Spec.ClusterIP
	t.Run("allocation", func(t *testing.T) {
		rows := tableRows(kubectlOK(t, "get", "svc", "-n", ns))
		if len(rows) < 5 {
			t.Fatalf("kubectl get svc: %v", rows)
		}
		col := func(name string) int { return slices.Index(rows[0], name) }
		ipCol, portsCol := col("CLUSTER-IP"), col("PORT(S)")
		if ipCol < 0 || portsCol < 0 {
			t.Fatalf("kubectl get svc columns: %v", rows[0])
		}
		seen := map[string]string{}
		for _, name := range []string{"exposed", "web-np", "named"} {
			row := rowFor(rows, name)
			if row == nil {
				t.Fatalf("no row for %s: %v", name, rows)
			}
			ip, err := netip.ParseAddr(row[ipCol])
			if err != nil || !serviceRange.Contains(ip) || ip == netip.MustParseAddr("10.96.0.1") || ip == netip.MustParseAddr("10.96.0.10") {
				t.Errorf("%s: CLUSTER-IP %q not a free address of %s", name, row[ipCol], serviceRange)
			}
			if other, dup := seen[row[ipCol]]; dup {
				t.Errorf("%s and %s share %s", name, other, row[ipCol])
			}
			seen[row[ipCol]] = name
		}
		m := regexp.MustCompile(`^80:(\d+)/TCP$`).FindStringSubmatch(rowFor(rows, "web-np")[portsCol])
		if m == nil {
			t.Fatalf("web-np PORT(S) = %q, want 80:<nodePort>/TCP", rowFor(rows, "web-np")[portsCol])
		}
		if np, _ := strconv.Atoi(m[1]); np < 30000 || np > 32767 {
			t.Errorf("nodePort %d outside 30000-32767", np)
		}
		if ext := rowFor(rows, "ext"); ext == nil || ext[ipCol] != "<none>" {
			t.Errorf("ExternalName row: %v", ext)
		}
		if len(named.Spec.ClusterIPs) != 1 || named.Spec.ClusterIPs[0] != namedIP || len(named.Spec.IPFamilies) != 1 || named.Spec.IPFamilies[0] != corev1.IPv4Protocol {
			t.Errorf("named: clusterIPs %v ipFamilies %v", named.Spec.ClusterIPs, named.Spec.IPFamilies)
		}
	})

	t.Run("duplicates", func(t *testing.T) {
		np := serviceJSON(t, ns, "web-np").Spec.Ports[0].NodePort
		r := kubectl(t, "create", "service", "clusterip", "dup", "-n", ns, "--tcp=80:80", "--clusterip="+namedIP)
		want := fmt.Sprintf(`Service "dup" is invalid: spec.clusterIPs: Invalid value: []string{%q}: failed to allocate IP %s: provided IP is already allocated`, namedIP, namedIP)
		if r.Code == 0 || !strings.Contains(r.Stderr, want) {
			t.Errorf("duplicate clusterIP: %s\nwant %q", r, want)
		}
		r = kubectl(t, "create", "service", "nodeport", "dup", "-n", ns, "--tcp=80:80", fmt.Sprintf("--node-port=%d", np))
		want = fmt.Sprintf(`Service "dup" is invalid: spec.ports[0].nodePort: Invalid value: %d: provided port is already allocated`, np)
		if r.Code == 0 || !strings.Contains(r.Stderr, want) {
			t.Errorf("duplicate nodePort: %s\nwant %q", r, want)
		}
		body := fmt.Sprintf(`{"apiVersion":"v1","kind":"Service","metadata":{"name":"dup"},"spec":{"type":"NodePort","clusterIP":%q,"ports":[{"port":80}]}}`, namedIP)
		st := expectStatus(t, api(t, apiRequest{Method: "POST", Path: "/api/v1/namespaces/" + ns + "/services", Body: []byte(body), ContentType: "application/json"}), 422, metav1.StatusReasonInvalid)
		if st.Details == nil || len(st.Details.Causes) != 1 || st.Details.Causes[0].Field != "spec.clusterIPs" {
			t.Errorf("causes: %+v", st.Details)
		}
		r = kubectl(t, "create", "service", "clusterip", "dup", "-n", ns, "--tcp=80:80", "--clusterip=10.0.0.1")
		if r.Code == 0 || !strings.Contains(r.Stderr, "the provided IP (10.0.0.1) is not in the valid range. The range of valid IPs is 10.96.0.0/12") {
			t.Errorf("clusterIP out of range: %s", r)
		}
		if r := kubectl(t, "get", "service", "dup", "-n", ns); r.Code == 0 {
			t.Error("a refused Service was stored")
		}
		// A dry run answers with an address and keeps none.
		out := kubectlOK(t, "create", "service", "clusterip", "dry", "-n", ns, "--tcp=80:80", "--dry-run=server", "-o", "jsonpath={.spec.clusterIP}")
		if ip, err := netip.ParseAddr(out); err != nil || !serviceRange.Contains(ip) {
			t.Errorf("dry run clusterIP %q", out)
		}
	})

	t.Run("endpoints", func(t *testing.T) {
		ip1, ipBare, ipLazy := web1.Status.PodIP, bare.Status.PodIP, lazyPod.Status.PodIP
		// The named targetPort resolves on pods declaring it; bare does not: skipped. lazy
		// fails its readiness probe: listed as not ready.
		waitEndpoints(t, ns, "named", []string{ip1 + ":8080"}, []string{ipLazy + ":8080"})
		waitEndpoints(t, ns, "exposed", []string{ip1 + ":8080", ipBare + ":8080"}, []string{ipLazy + ":8080"})
		waitEndpoints(t, ns, "web-np", nil, nil)
		if r := kubectl(t, "get", "endpoints", "ext", "-n", ns); r.Code == 0 {
			t.Errorf("an ExternalName Service has endpoints: %s", r.Stdout)
		}
		var ep corev1.Endpoints
		kubectlJSON(t, &ep, "get", "endpoints", "named", "-n", ns)
		if ep.Labels["tier"] != "front" || ep.Annotations[corev1.EndpointsLastChangeTriggerTime] == "" {
			t.Errorf("endpoints metadata: %v %v", ep.Labels, ep.Annotations)
		}
		if a := ep.Subsets[0]; len(a.Ports) != 1 || a.Ports[0].Name != "web" || a.Ports[0].Protocol != corev1.ProtocolTCP {
			t.Errorf("endpoint ports: %+v", a.Ports)
		}
		for _, s := range ep.Subsets {
			for _, a := range append(s.Addresses, s.NotReadyAddresses...) {
				if a.TargetRef == nil || a.TargetRef.Kind != "Pod" || a.NodeName == nil || *a.NodeName == "" {
					t.Errorf("address %+v lacks its pod or node", a)
				}
			}
		}
		if out := kubectlOK(t, "get", "endpoints", "named", "-n", ns); !strings.Contains(out, ip1+":8080") {
			t.Errorf("kubectl get endpoints:\n%s", out)
		}
		eventually(t, 30*time.Second, func() error {
			got, items, err := sliceState(t, ns, "named")
			if err != nil {
				return err
			}
			// Slices group pods by the ports they resolve: bare, without the named port, is
			// in a slice of its own without ports, as on a cluster.
			want := []string{ip1 + ":8080 ready=true terminating=false", ipLazy + ":8080 ready=false terminating=false", ipBare + " ready=true terminating=false"}
			slices.Sort(want)
			if !slices.Equal(got, want) || len(items) != 2 {
				return fmt.Errorf("slices of named: %v in %d slices, want %v in two", got, len(items), want)
			}
			for _, s := range items {
				if !strings.HasPrefix(s.Name, "named-") || s.AddressType != discoveryv1.AddressTypeIPv4 ||
					s.Labels[discoveryv1.LabelManagedBy] != "endpointslice-controller.k8s.io" || s.Labels["tier"] != "front" ||
					len(s.OwnerReferences) != 1 || s.OwnerReferences[0].Kind != "Service" || s.OwnerReferences[0].Name != "named" {
					return fmt.Errorf("slice metadata: %s %s %v %v", s.Name, s.AddressType, s.Labels, s.OwnerReferences)
				}
			}
			return nil
		})
		if out := kubectlOK(t, "get", "endpointslices", "-n", ns); !strings.Contains(out, "named-") || !strings.Contains(out, "IPv4") {
			t.Errorf("kubectl get endpointslices:\n%s", out)
		}

		// A new pod joins; a deleted one leaves.
		web2 := applyPod(t, ns, "web-2", svcPod("web-2", true, `    env:
    - name: EXPOSED_SERVICE_PORT
      value: mine
    - name: NAMED_URL
      value: http://$(NAMED_SERVICE_HOST):$(NAMED_SERVICE_PORT)/
`))
		waitEndpoints(t, ns, "named", []string{ip1 + ":8080", web2.Status.PodIP + ":8080"}, []string{ipLazy + ":8080"})
		kubectlOK(t, "delete", "pod", "web-1", "bare", "-n", ns, "--wait=true", "--timeout=60s")
		waitEndpoints(t, ns, "named", []string{web2.Status.PodIP + ":8080"}, []string{ipLazy + ":8080"})
		waitEndpoints(t, ns, "exposed", []string{web2.Status.PodIP + ":8080"}, []string{ipLazy + ":8080"})
		eventually(t, 30*time.Second, func() error {
			got, items, err := sliceState(t, ns, "named")
			if err != nil {
				return err
			}
			want := []string{web2.Status.PodIP + ":8080 ready=true terminating=false", ipLazy + ":8080 ready=false terminating=false"}
			slices.Sort(want)
			if !slices.Equal(got, want) || len(items) != 1 {
				return fmt.Errorf("slices of named: %v in %d slices, want %v in one", got, len(items), want)
			}
			return nil
		})
	})

	t.Run("kubernetes-service", func(t *testing.T) {
		svc := serviceJSON(t, "default", "kubernetes")
		if svc.Spec.ClusterIP != "10.96.0.1" || len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 443 ||
			svc.Spec.Ports[0].Name != "https" || svc.Spec.Ports[0].TargetPort.IntValue() != suite.port {
			t.Fatalf("kubernetes Service: %+v", svc.Spec)
		}
		rows := tableRows(kubectlOK(t, "get", "svc", "kubernetes", "-n", "default"))
		if row := rowFor(rows, "kubernetes"); row == nil || !slices.Contains(row, "10.96.0.1") || !slices.Contains(row, "443/TCP") {
			t.Errorf("kubectl get svc kubernetes: %v", rows)
		}
		ready, _, err := epState(t, "default", "kubernetes")
		if err != nil || len(ready) != 1 || !strings.HasSuffix(ready[0], ":"+strconv.Itoa(suite.port)) {
			t.Errorf("kubernetes endpoints: %v %v", ready, err)
		}
		// Deleted, it comes back.
		kubectlOK(t, "delete", "endpoints", "kubernetes", "-n", "default")
		eventually(t, 20*time.Second, func() error {
			r, _, err := epState(t, "default", "kubernetes")
			if err != nil || len(r) != 1 {
				return fmt.Errorf("kubernetes endpoints not restored: %v %v", r, err)
			}
			return nil
		})
	})

	t.Run("env", func(t *testing.T) {
		out := kubectlOK(t, "exec", "-n", ns, "web-2", "--", "env")
		env := map[string]string{}
		for _, l := range strings.Split(out, "\n") {
			if k, v, ok := strings.Cut(strings.TrimSpace(l), "="); ok {
				env[k] = v
			}
		}
		exposed := serviceJSON(t, ns, "exposed").Spec.ClusterIP
		for k, v := range map[string]string{
			"NAMED_SERVICE_HOST":            namedIP,
			"NAMED_SERVICE_PORT":            "80",
			"NAMED_SERVICE_PORT_WEB":        "80",
			"NAMED_PORT":                    "tcp://" + namedIP + ":80",
			"NAMED_PORT_80_TCP":             "tcp://" + namedIP + ":80",
			"NAMED_PORT_80_TCP_PROTO":       "tcp",
			"NAMED_PORT_80_TCP_PORT":        "80",
			"NAMED_PORT_80_TCP_ADDR":        namedIP,
			"EXPOSED_SERVICE_HOST":          exposed,
			"EXPOSED_SERVICE_PORT":          "mine", // the container's own value wins
			"WEB_NP_SERVICE_HOST":           serviceJSON(t, ns, "web-np").Spec.ClusterIP,
			"NAMED_URL":                     "http://" + namedIP + ":80/",
			"KUBERNETES_SERVICE_HOST":       "10.96.0.1",
			"KUBERNETES_SERVICE_PORT":       "443",
			"KUBERNETES_PORT_443_TCP":       "tcp://10.96.0.1:443",
			"KUBERNETES_SERVICE_PORT_HTTPS": "443",
		} {
			if env[k] != v {
				t.Errorf("%s=%q, want %q", k, env[k], v)
			}
		}
		for k := range env {
			if strings.HasPrefix(k, "EXT_") {
				t.Errorf("an ExternalName Service gave %s", k)
			}
		}
	})

	t.Run("port-forward", func(t *testing.T) {
		// kubectl picks a ready pod of the Service and its targetPort; web-2 is the only one.
		pf := kubectlStream(t, time.Minute, "port-forward", "-n", ns, "svc/named", ":80")
		forwarding := regexp.MustCompile(`Forwarding from 127\.0\.0\.1:(\d+) -> 8080`)
		var port string
		for port == "" {
			line, ok := pf.next(30 * time.Second)
			if !ok {
				t.Fatalf("kubectl port-forward printed no forwarding line; stderr: %s", pf.stderr.String())
			}
			if m := forwarding.FindStringSubmatch(line); m != nil {
				port = m[1]
			}
		}
		resp, err := http.Get("http://127.0.0.1:" + port + "/index.html")
		if err != nil {
			t.Fatalf("GET through svc/named: %v (stderr %s)", err, pf.stderr.String())
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.TrimSpace(string(body)) != "web-2" {
			t.Fatalf("GET through svc/named: %q", body)
		}
		pf.stop()
	})

	t.Run("type-changes", func(t *testing.T) {
		// kubectl apply of the same manifest as NodePort keeps the address and gets a port;
		// back to ClusterIP releases the port.
		kubectlInOK(t, strings.Replace(namedSvc, "spec:\n", "spec:\n  type: NodePort\n", 1), "apply", "-n", ns, "-f", "-")
		svc := serviceJSON(t, ns, "named")
		np := svc.Spec.Ports[0].NodePort
		if svc.Spec.ClusterIP != namedIP || np < 30000 || np > 32767 {
			t.Fatalf("after apply as NodePort: clusterIP %s nodePort %d", svc.Spec.ClusterIP, np)
		}
		kubectlInOK(t, namedSvc, "apply", "-n", ns, "-f", "-")
		svc = serviceJSON(t, ns, "named")
		if svc.Spec.ClusterIP != namedIP || svc.Spec.Type != corev1.ServiceTypeClusterIP || svc.Spec.Ports[0].NodePort != 0 {
			t.Fatalf("after apply back to ClusterIP: %+v", svc.Spec)
		}
		kubectlOK(t, "create", "service", "nodeport", "takes-port", "-n", ns, "--tcp=80:8080", fmt.Sprintf("--node-port=%d", np))
		// kubectl replace of the manifest without clusterIP keeps it.
		kubectlInOK(t, namedSvc, "replace", "-n", ns, "-f", "-")
		if got := serviceJSON(t, ns, "named").Spec.ClusterIP; got != namedIP {
			t.Fatalf("after replace: clusterIP %s, want %s", got, namedIP)
		}
	})

	t.Run("restart", func(t *testing.T) {
		// The store is the truth: after a restart the address is still taken.
		restartK2D(t, syscall.SIGTERM)
		if got := serviceJSON(t, ns, "named").Spec.ClusterIP; got != namedIP {
			t.Fatalf("after restart: clusterIP %s, want %s", got, namedIP)
		}
		r := kubectl(t, "create", "service", "clusterip", "dup", "-n", ns, "--tcp=80:80", "--clusterip="+namedIP)
		if r.Code == 0 || !strings.Contains(r.Stderr, "provided IP is already allocated") {
			t.Errorf("duplicate clusterIP after restart: %s", r)
		}
		waitEndpoints(t, ns, "named", []string{getPod(t, ns, "web-2").Status.PodIP + ":8080"}, []string{lazyPod.Status.PodIP + ":8080"})
	})
}
