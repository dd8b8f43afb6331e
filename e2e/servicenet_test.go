package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// echoPod serves its hostname over HTTP on the named port "http" (8080). With a hostname and
// the subdomain echo-headless it also gets a DNS name under that headless Service.
const echoPod = `apiVersion: v1
kind: Pod
metadata:
  name: __NAME__
  labels:
    app: echo
spec:
  hostname: __NAME__
  subdomain: echo-headless
  terminationGracePeriodSeconds: 1
  containers:
  - name: httpd
    image: k2d-test/busybox:1
    imagePullPolicy: Never
    command: ["sh", "-c", "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www"]
    ports:
    - name: http
      containerPort: 8080
`

// echoServices are the Services in front of the echo pods: a ClusterIP on port 80 to the
// named port, a NodePort, a LoadBalancer on __LBPORT__ and a headless one.
const echoServices = `apiVersion: v1
kind: Service
metadata:
  name: echo
spec:
  selector:
    app: echo
  ports:
  - name: web
    port: 80
    targetPort: http
---
apiVersion: v1
kind: Service
metadata:
  name: echo-np
spec:
  type: NodePort
  selector:
    app: echo
  ports:
  - port: 8080
    targetPort: http
---
apiVersion: v1
kind: Service
metadata:
  name: echo-lb
spec:
  type: LoadBalancer
  selector:
    app: echo
  ports:
  - port: __LBPORT__
    targetPort: http
---
apiVersion: v1
kind: Service
metadata:
  name: echo-headless
spec:
  clusterIP: None
  selector:
    app: echo
  ports:
  - name: http
    port: 8080
    targetPort: http
`

const clientPod = `apiVersion: v1
kind: Pod
metadata:
  name: client
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: k2d-test/busybox:1
    imagePullPolicy: Never
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
`

// hostClientPod shares the node's network and asks the cluster DNS first.
const hostClientPod = `apiVersion: v1
kind: Pod
metadata:
  name: hostclient
spec:
  hostNetwork: true
  dnsPolicy: ClusterFirstWithHostNet
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: k2d-test/busybox:1
    imagePullPolicy: Never
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
`

// TestServiceNetwork: Services reachable and resolvable from pods of another namespace and
// from the host, with k2d itself as proxy and DNS server.
func TestServiceNetwork(t *testing.T) {
	start(t)
	backend := newNamespace(t, "svcb")
	front := newNamespace(t, "svcf")
	domain := "cluster.local"

	var pods []string
	for i := range 3 {
		name := fmt.Sprintf("echo-%d", i)
		pods = append(pods, name)
		kubectlInOK(t, strings.ReplaceAll(echoPod, "__NAME__", name), "apply", "-n", backend, "-f", "-")
	}
	lbPort := 20000 + int(time.Now().UnixNano()%9000)
	kubectlInOK(t, strings.ReplaceAll(echoServices, "__LBPORT__", fmt.Sprint(lbPort)), "apply", "-n", backend, "-f", "-")
	kubectlInOK(t, clientPod, "apply", "-n", front, "-f", "-")
	kubectlInOK(t, hostClientPod, "apply", "-n", front, "-f", "-")
	kubectlInOK(t, `apiVersion: v1
kind: Service
metadata:
  name: alias
spec:
  type: ExternalName
  externalName: echo.`+backend+`.svc.`+domain+`
`, "apply", "-n", front, "-f", "-")

	podIPs := map[string]string{}
	for _, p := range pods {
		podIPs[p] = waitPodRunning(t, backend, p, 90*time.Second).Status.PodIP
	}
	waitPodRunning(t, front, "client", 90*time.Second)
	waitPodRunning(t, front, "hostclient", 90*time.Second)
	var ips []string
	for _, ip := range podIPs {
		ips = append(ips, ip)
	}
	sort.Strings(ips)
	eventually(t, 30*time.Second, func() error {
		out := kubectlOK(t, "get", "endpoints", "echo", "-n", backend, "-o", "jsonpath={.subsets[*].addresses[*].ip}")
		got := strings.Fields(out)
		sort.Strings(got)
		if !slices.Equal(got, ips) {
			return fmt.Errorf("endpoints %v, want %v", got, ips)
		}
		return nil
	})
	clusterIP := strings.TrimSpace(kubectlOK(t, "get", "svc", "echo", "-n", backend, "-o", "jsonpath={.spec.clusterIP}"))
	dnsIP := strings.TrimSpace(kubectlOK(t, "get", "svc", "kube-dns", "-n", "kube-system", "-o", "jsonpath={.spec.clusterIP}"))

	t.Run("kube-dns", func(t *testing.T) {
		if dnsIP != "10.96.0.10" {
			t.Errorf("kube-dns ClusterIP %q, want 10.96.0.10", dnsIP)
		}
		out := kubectlOK(t, "get", "endpoints", "kube-dns", "-n", "kube-system", "-o", "jsonpath={.subsets[*].ports[*].name}")
		if f := strings.Fields(out); !slices.Contains(f, "dns") || !slices.Contains(f, "dns-tcp") {
			t.Errorf("kube-dns endpoint ports %q", out)
		}
	})

	t.Run("pod resolv.conf", func(t *testing.T) {
		out := kubectlOK(t, "exec", "-n", front, "client", "--", "cat", "/etc/resolv.conf")
		want := "search " + front + ".svc." + domain + " svc." + domain + " " + domain
		if !strings.Contains(out, want) || !strings.Contains(out, "ndots:5") {
			t.Errorf("resolv.conf lacks %q or ndots:5:\n%s", want, out)
		}
	})

	// Several requests by each name from another namespace reach more than one pod.
	t.Run("ClusterIP by name from another namespace", func(t *testing.T) {
		for _, host := range []string{"echo." + backend + ".svc." + domain, "echo." + backend + ":80", "echo." + backend + ".svc", "alias"} {
			seen := map[string]bool{}
			eventually(t, 30*time.Second, func() error {
				// busybox wget crashes on a refused connection and with -T: retries cover both.
				r := kubectl(t, "exec", "-n", front, "client", "--", "wget", "-qO-", "http://"+host+"/")
				if r.Code != 0 {
					return fmt.Errorf("wget %s: %s", host, r)
				}
				name := strings.TrimSpace(r.Stdout)
				if !slices.Contains(pods, name) {
					return fmt.Errorf("%s answered %q, not an echo pod", host, name)
				}
				seen[name] = true
				if len(seen) < 2 {
					return fmt.Errorf("%s: only %v answered so far", host, seen)
				}
				return nil
			})
		}
	})

	t.Run("ClusterIP from the host", func(t *testing.T) {
		body, err := httpGet("http://" + clusterIP + ":80/")
		if err != nil || !slices.Contains(pods, body) {
			t.Errorf("GET %s: %q %v", clusterIP, body, err)
		}
		out, err := exec.Command("ip", "-4", "-o", "addr", "show", "dev", "lo").CombinedOutput()
		if err != nil {
			t.Skipf("ip: %v", err)
		}
		if !strings.Contains(string(out), "inet "+clusterIP+"/32") || !strings.Contains(string(out), "lo:k2d") {
			t.Errorf("ClusterIP %s not on lo:\n%s", clusterIP, out)
		}
	})

	t.Run("kubernetes Service reaches the API", func(t *testing.T) {
		kip := strings.TrimSpace(kubectlOK(t, "get", "svc", "kubernetes", "-n", "default", "-o", "jsonpath={.spec.clusterIP}"))
		suite.mu.Lock()
		client, token := suite.client, suite.token
		suite.mu.Unlock()
		req, err := http.NewRequest(http.MethodGet, "https://"+kip+":443/version", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req) // the serving certificate holds the kubernetes ClusterIP
		if err != nil {
			t.Fatalf("GET https://%s/version: %v", kip, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "gitVersion") {
			t.Errorf("GET https://%s/version: %s %s", kip, resp.Status, body)
		}
		r := kubectl(t, "exec", "-n", front, "client", "--", "sh", "-c", "nc -w 3 kubernetes.default 443 </dev/null && echo connected")
		if r.Code != 0 || !strings.Contains(r.Stdout, "connected") {
			t.Errorf("kubernetes.default:443 from a pod: %s", r)
		}
	})

	t.Run("cluster DNS from the host", func(t *testing.T) {
		for _, network := range []string{"udp", "tcp"} {
			r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, network, net.JoinHostPort(dnsIP, "53"))
			}}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			got, err := r.LookupHost(ctx, "echo."+backend+".svc."+domain)
			if err != nil || !slices.Equal(got, []string{clusterIP}) {
				t.Errorf("%s: echo resolves to %v %v, want %s", network, got, err, clusterIP)
			}
			_, srvs, err := r.LookupSRV(ctx, "web", "tcp", "echo."+backend+".svc."+domain)
			if err != nil || len(srvs) != 1 || srvs[0].Port != 80 || srvs[0].Target != "echo."+backend+".svc."+domain+"." {
				t.Errorf("%s: SRV %+v %v", network, srvs, err)
			}
			if _, err := r.LookupHost(ctx, "nothing."+backend+".svc."+domain); err == nil || !err.(*net.DNSError).IsNotFound {
				t.Errorf("%s: unknown service: %v", network, err)
			}
			names, err := r.LookupAddr(ctx, clusterIP)
			if err != nil || !slices.Equal(names, []string{"echo." + backend + ".svc." + domain + "."}) {
				t.Errorf("%s: PTR %v %v", network, names, err)
			}
			cancel()
		}
	})

	t.Run("headless resolves to the pod IPs", func(t *testing.T) {
		eventually(t, 20*time.Second, func() error {
			r := kubectl(t, "exec", "-n", front, "client", "--", "nslookup", "echo-headless."+backend+".svc."+domain)
			for _, ip := range ips {
				if !strings.Contains(r.Stdout, "Address: "+ip) {
					return fmt.Errorf("nslookup lacks %s: %s", ip, r)
				}
			}
			if strings.Contains(r.Stdout, clusterIP) {
				return fmt.Errorf("a headless service answered a ClusterIP: %s", r)
			}
			return nil
		})
		r := kubectl(t, "exec", "-n", front, "client", "--", "nslookup", "echo-1.echo-headless."+backend+".svc."+domain)
		if r.Code != 0 || !strings.Contains(r.Stdout, "Address: "+podIPs["echo-1"]) {
			t.Errorf("pod echo-1 by hostname.subdomain: %s", r)
		}
	})

	t.Run("ExternalName is a CNAME", func(t *testing.T) {
		r := kubectl(t, "exec", "-n", front, "client", "--", "nslookup", "alias."+front+".svc."+domain)
		if r.Code != 0 || !strings.Contains(r.Stdout, "canonical name = echo."+backend+".svc."+domain) || !strings.Contains(r.Stdout, "Address: "+clusterIP) {
			t.Errorf("nslookup alias: %s", r)
		}
	})

	t.Run("hostNetwork pod with ClusterFirstWithHostNet", func(t *testing.T) {
		out := kubectlOK(t, "exec", "-n", front, "hostclient", "--", "cat", "/etc/resolv.conf")
		if !strings.Contains(out, "nameserver "+dnsIP) || !strings.Contains(out, "search "+front+".svc."+domain) {
			t.Errorf("resolv.conf:\n%s", out)
		}
		r := kubectl(t, "exec", "-n", front, "hostclient", "--", "wget", "-qO-", "http://echo."+backend+":80/")
		if r.Code != 0 || !slices.Contains(pods, strings.TrimSpace(r.Stdout)) {
			t.Errorf("wget from the host network: %s", r)
		}
	})

	t.Run("NodePort from the host", func(t *testing.T) {
		port := strings.TrimSpace(kubectlOK(t, "get", "svc", "echo-np", "-n", backend, "-o", "jsonpath={.spec.ports[0].nodePort}"))
		seen := map[string]bool{}
		eventually(t, 20*time.Second, func() error {
			body, err := httpGet("http://127.0.0.1:" + port + "/")
			if err != nil || !slices.Contains(pods, body) {
				return fmt.Errorf("NodePort %s: %q %v", port, body, err)
			}
			if seen[body] = true; len(seen) < 2 {
				return fmt.Errorf("only %v so far", seen)
			}
			return nil
		})
	})

	t.Run("LoadBalancer on the node address", func(t *testing.T) {
		var nodeIP string
		eventually(t, 20*time.Second, func() error {
			nodeIP = strings.TrimSpace(kubectlOK(t, "get", "svc", "echo-lb", "-n", backend, "-o", "jsonpath={.status.loadBalancer.ingress[0].ip}"))
			if nodeIP == "" {
				return fmt.Errorf("no ingress yet")
			}
			return nil
		})
		want := strings.TrimSpace(kubectlOK(t, "get", "nodes", "-o", `jsonpath={.items[0].status.addresses[?(@.type=="InternalIP")].address}`))
		if nodeIP != want {
			t.Errorf("ingress %s, want the node's InternalIP %s", nodeIP, want)
		}
		if mode := kubectlOK(t, "get", "svc", "echo-lb", "-n", backend, "-o", "jsonpath={.status.loadBalancer.ingress[0].ipMode}"); mode != "VIP" {
			t.Errorf("ipMode %q", mode)
		}
		body, err := httpGet(fmt.Sprintf("http://%s:%d/", nodeIP, lbPort))
		if err != nil || !slices.Contains(pods, body) {
			t.Errorf("GET the load balancer: %q %v", body, err)
		}
	})

	t.Run("LoadBalancer on a port in use stays pending with an event", func(t *testing.T) {
		// k2d's own API port is taken on every address.
		kubectlInOK(t, fmt.Sprintf(`apiVersion: v1
kind: Service
metadata:
  name: echo-busy
spec:
  type: LoadBalancer
  selector:
    app: echo
  ports:
  - port: %d
    targetPort: http
`, suite.port), "apply", "-n", backend, "-f", "-")
		eventually(t, 20*time.Second, func() error {
			out := kubectlOK(t, "describe", "svc", "echo-busy", "-n", backend)
			if !strings.Contains(out, "SyncLoadBalancerFailed") || !strings.Contains(out, "address already in use") {
				return fmt.Errorf("no SyncLoadBalancerFailed event:\n%s", out)
			}
			return nil
		})
		if ing := kubectlOK(t, "get", "svc", "echo-busy", "-n", backend, "-o", "jsonpath={.status.loadBalancer.ingress}"); ing != "" {
			t.Errorf("ingress %s on a port k2d cannot listen on", ing)
		}
		kubectlOK(t, "delete", "svc", "echo-busy", "-n", backend)
	})

	t.Run("restart keeps addresses and prunes stale ones", func(t *testing.T) {
		stopK2D(t, syscall.SIGTERM)
		if !onLoopback(t, clusterIP) {
			t.Errorf("%s left lo when k2d stopped: pods would lose it for the restart", clusterIP)
		}
		// A ClusterIP of a Service deleted while k2d was down.
		const stale = "10.96.255.250"
		if out, err := exec.Command("ip", "addr", "add", stale+"/32", "dev", "lo", "label", "lo:k2d").CombinedOutput(); err != nil {
			t.Errorf("ip addr add: %v %s", err, out)
		}
		t.Cleanup(func() { _ = exec.Command("ip", "addr", "del", stale+"/32", "dev", "lo").Run() })
		startK2D(t)
		if onLoopback(t, stale) {
			t.Errorf("stale %s still on lo after the start", stale)
		}
		eventually(t, 20*time.Second, func() error {
			r := kubectl(t, "exec", "-n", front, "client", "--", "wget", "-qO-", "http://echo."+backend+"/")
			if r.Code != 0 || !slices.Contains(pods, strings.TrimSpace(r.Stdout)) {
				return fmt.Errorf("after the restart: %s", r)
			}
			return nil
		})
	})

	t.Run("deleting the service removes its address", func(t *testing.T) {
		kubectlOK(t, "delete", "svc", "echo", "-n", backend)
		eventually(t, 15*time.Second, func() error {
			if onLoopback(t, clusterIP) {
				return fmt.Errorf("%s still on lo", clusterIP)
			}
			return nil
		})
		if _, err := httpGet("http://" + clusterIP + ":80/"); err == nil {
			t.Errorf("%s still answers", clusterIP)
		}
		r := kubectl(t, "exec", "-n", front, "client", "--", "nslookup", "echo."+backend+".svc."+domain)
		if r.Code == 0 || !strings.Contains(r.Stdout+r.Stderr, "NXDOMAIN") {
			t.Errorf("deleted service still resolves: %s", r)
		}
	})
}

// onLoopback reports whether ip is an address of lo.
func onLoopback(t *testing.T, ip string) bool {
	t.Helper()
	out, err := exec.Command("ip", "-4", "-o", "addr", "show", "dev", "lo").CombinedOutput()
	if err != nil {
		t.Fatalf("ip addr show lo: %v %s", err, out)
	}
	return strings.Contains(string(out), "inet "+ip+"/32")
}

// httpGet returns the trimmed body of a GET, failing on any status but 200.
func httpGet(url string) (string, error) {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: %s", resp.Status, b)
	}
	return strings.TrimSpace(string(b)), nil
}
