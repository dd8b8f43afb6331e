package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// TestStack is issue 3's user story end to end: the plant-floor stack in testdata/stack is
// applied with one `kubectl apply -f <dir>`, then reached, edited, healed, scaled, updated and
// re-created the way an operator would.
func TestStack(t *testing.T) {
	if suite == nil {
		t.Skip(skipReason)
	}
	t.Cleanup(func() {
		if !suite.running() {
			return
		}
		r := kubectlWith(t, 3*time.Minute, "", "delete", "-f", filepath.Join("testdata", "stack"), "--ignore-not-found", "--wait=true", "--timeout=150s")
		if r.Code != 0 {
			t.Logf("cleanup: %s", r)
		}
	})
	out := kubectlOK(t, "apply", "-f", filepath.Join("testdata", "stack"))
	for _, want := range []string{"deployment.apps/broker created", "service/broker created", "persistentvolumeclaim/flows-data created", "secret/flows-secret created"} {
		if !strings.Contains(out, want) {
			t.Errorf("apply output lacks %q:\n%s", want, out)
		}
	}
	stackRollout(t, "plant", "broker")
	stackRollout(t, "plant", "flows")
	waitPodRunning(t, "ops", "client", 60*time.Second)

	t.Run("broker reachable by DNS from another namespace and spread over replicas", func(t *testing.T) {
		brokers := stackPodNames(t, "plant", "app=broker")
		for _, host := range []string{"broker.plant.svc.cluster.local", "broker.plant", "broker.plant.svc"} {
			seen := map[string]bool{}
			eventually(t, 30*time.Second, func() error {
				r := kubectl(t, "exec", "-n", "ops", "client", "--", "wget", "-qO-", "http://"+host+":1883/")
				if r.Code != 0 {
					return fmt.Errorf("wget %s: %s", host, r)
				}
				name := strings.TrimSpace(r.Stdout)
				if !slices.Contains(brokers, name) {
					return fmt.Errorf("%s answered %q, not a broker pod (%v)", host, name, brokers)
				}
				seen[name] = true
				if len(seen) < 2 {
					return fmt.Errorf("%s: only %v answered so far", host, seen)
				}
				return nil
			})
		}
	})

	t.Run("headless service resolves to the ready pod IPs", func(t *testing.T) {
		ips := stackPodIPs(t, "plant", "app=broker")
		eventually(t, 20*time.Second, func() error {
			r := kubectl(t, "exec", "-n", "ops", "client", "--", "nslookup", "broker-headless.plant.svc.cluster.local")
			for _, ip := range ips {
				if !strings.Contains(r.Stdout, ip) {
					return fmt.Errorf("nslookup lacks %s: %s", ip, r)
				}
			}
			return nil
		})
	})

	nodePort := kubectlOK(t, "get", "svc", "flows", "-n", "plant", "-o", "jsonpath={.spec.ports[0].nodePort}")
	flowsURL := "http://127.0.0.1:" + strings.TrimSpace(nodePort) + "/flows.json"
	t.Run("NodePort reaches flows from the host", func(t *testing.T) {
		eventually(t, 20*time.Second, func() error { return stackHTTPBody(flowsURL, `{"flow":"v1"}`) })
	})

	t.Run("ConfigMap edit reaches the mounted files of the running pod", func(t *testing.T) {
		before := stackPodNames(t, "plant", "app=flows")
		kubectlOK(t, "patch", "configmap", "flows-config", "-n", "plant", "--type=merge", "-p", `{"data":{"flows.json":"{\"flow\":\"v2\"}"}}`)
		eventually(t, 30*time.Second, func() error { return stackHTTPBody(flowsURL, `{"flow":"v2"}`) })
		if after := stackPodNames(t, "plant", "app=flows"); !slices.Equal(before, after) {
			t.Errorf("pods changed from %v to %v: the file must change in place", before, after)
		}
	})

	t.Run("Secret as env and tmpfs files, encrypted at rest", func(t *testing.T) {
		pod := stackPodNames(t, "plant", "app=flows")[0]
		if got := strings.TrimSpace(kubectlOK(t, "exec", "-n", "plant", pod, "--", "cat", "/etc/secret/token")); got != "s3cr3t-flows-token-4711" {
			t.Errorf("secret file: %q", got)
		}
		if got := kubectlOK(t, "exec", "-n", "plant", pod, "--", "cat", "/data/boots.log"); !strings.Contains(got, "token=s3cr3t-flows-token-4711") {
			t.Errorf("secret env not seen by the container: %q", got)
		}
		mounts := kubectlOK(t, "exec", "-n", "plant", pod, "--", "cat", "/proc/mounts")
		if !stackTmpfs(mounts, "/etc/secret") {
			t.Errorf("/etc/secret is not on tmpfs:\n%s", mounts)
		}
		if f := stackGrep(t, suite.dataDir, "s3cr3t-flows-token-4711"); f != "" {
			t.Errorf("the secret is in plain text in the data dir: %s", f)
		}
	})

	t.Run("docker rm -f of a replica is healed", func(t *testing.T) {
		pod := stackPodNames(t, "plant", "app=broker")[0]
		var app string
		for _, c := range podContainers(t, "plant", pod) {
			if strings.HasPrefix(c.Name, "k8s_broker_") {
				app = c.ID
			}
		}
		if app == "" {
			t.Fatalf("no app container for %s", pod)
		}
		dockerOK(t, "rm", "-f", app)
		eventually(t, 60*time.Second, func() error {
			p, err := podState(t, "plant", pod)
			if err != nil {
				return err
			}
			if len(p.Status.ContainerStatuses) == 0 || p.Status.ContainerStatuses[0].RestartCount < 1 || !p.Status.ContainerStatuses[0].Ready {
				return fmt.Errorf("not healed yet: %s", describePod(p))
			}
			return nil
		})
		stackRollout(t, "plant", "broker")

		kubectlOK(t, "delete", "pod", pod, "-n", "plant", "--wait=false")
		eventually(t, 60*time.Second, func() error {
			names := stackPodNames(t, "plant", "app=broker")
			ready := kubectlOK(t, "get", "deploy", "broker", "-n", "plant", "-o", "jsonpath={.status.availableReplicas}")
			if slices.Contains(names, pod) || strings.TrimSpace(ready) != "3" {
				return fmt.Errorf("pods %v, available %q", names, ready)
			}
			return nil
		})
		events := kubectlOK(t, "get", "events", "-n", "plant", "--field-selector", "involvedObject.kind=ReplicaSet")
		if !strings.Contains(events, "SuccessfulCreate") {
			t.Errorf("no SuccessfulCreate event for the replacement:\n%s", events)
		}
	})

	t.Run("scale broker to 5", func(t *testing.T) {
		kubectlOK(t, "scale", "deploy/broker", "-n", "plant", "--replicas=5")
		stackRollout(t, "plant", "broker")
		eventually(t, 30*time.Second, func() error {
			var ep corev1.Endpoints
			kubectlJSON(t, &ep, "get", "endpoints", "broker", "-n", "plant")
			n := 0
			for _, s := range ep.Subsets {
				n += len(s.Addresses)
			}
			if n != 5 {
				return fmt.Errorf("%d ready endpoints", n)
			}
			return nil
		})
	})

	t.Run("set image rolls the broker out", func(t *testing.T) {
		dockerOK(t, "tag", testImage, "k2d-test/busybox:stack2")
		t.Cleanup(func() { docker(t, "rmi", "k2d-test/busybox:stack2") })
		kubectlOK(t, "set", "image", "deploy/broker", "-n", "plant", "broker=k2d-test/busybox:stack2")
		stackRollout(t, "plant", "broker")
		var pods corev1.PodList
		kubectlJSON(t, &pods, "get", "pods", "-n", "plant", "-l", "app=broker")
		for _, p := range pods.Items {
			if p.DeletionTimestamp == nil && p.Spec.Containers[0].Image != "k2d-test/busybox:stack2" {
				t.Errorf("pod %s still runs %s", p.Name, p.Spec.Containers[0].Image)
			}
		}
		hist := kubectlOK(t, "rollout", "history", "deploy/broker", "-n", "plant")
		if !strings.Contains(hist, "1 ") || !strings.Contains(hist, "2 ") {
			t.Errorf("rollout history:\n%s", hist)
		}
	})

	t.Run("re-created flows keeps the PVC's data", func(t *testing.T) {
		out := kubectlOK(t, "get", "pv,pvc,sc", "-A")
		for _, want := range []string{"flows-data", "Bound", "local (default)"} {
			if !strings.Contains(out, want) {
				t.Errorf("kubectl get pv,pvc,sc lacks %q:\n%s", want, out)
			}
		}
		kubectlOK(t, "delete", "deploy", "flows", "-n", "plant", "--wait=true")
		eventually(t, 60*time.Second, func() error {
			if names := stackPodNames(t, "plant", "app=flows"); len(names) > 0 {
				return fmt.Errorf("flows pods left: %v", names)
			}
			return nil
		})
		kubectlOK(t, "apply", "-f", filepath.Join("testdata", "stack", "40-flows.yaml"))
		stackRollout(t, "plant", "flows")
		pod := stackPodNames(t, "plant", "app=flows")[0]
		log := kubectlOK(t, "exec", "-n", "plant", pod, "--", "cat", "/data/boots.log")
		if n := strings.Count(log, "start "); n < 2 {
			t.Errorf("boots.log has %d starts, want the first pod's line kept:\n%s", n, log)
		}
	})
}

// stackRollout waits with `kubectl rollout status` for a deployment to be rolled out.
func stackRollout(t *testing.T, ns, name string) {
	t.Helper()
	r := kubectlWith(t, 3*time.Minute, "", "rollout", "status", "deploy/"+name, "-n", ns, "--timeout=150s")
	if r.Code != 0 {
		out := kubectl(t, "get", "deploy,rs,pods", "-n", ns, "-o", "wide")
		ev := kubectl(t, "get", "events", "-n", ns)
		t.Fatalf("rollout status deploy/%s: %s\n%s\n%s", name, r, out.Stdout, ev.Stdout)
	}
}

// stackPodNames lists the names of the pods matching a label selector that are not being deleted.
func stackPodNames(t *testing.T, ns, selector string) []string {
	t.Helper()
	var pods corev1.PodList
	kubectlJSON(t, &pods, "get", "pods", "-n", ns, "-l", selector)
	var out []string
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil {
			out = append(out, p.Name)
		}
	}
	slices.Sort(out)
	return out
}

// stackPodIPs lists the IPs of the pods matching a label selector that are not being deleted.
func stackPodIPs(t *testing.T, ns, selector string) []string {
	t.Helper()
	var pods corev1.PodList
	kubectlJSON(t, &pods, "get", "pods", "-n", ns, "-l", selector)
	var out []string
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil && p.Status.PodIP != "" {
			out = append(out, p.Status.PodIP)
		}
	}
	return out
}

// stackHTTPBody fetches url and compares the trimmed body with want.
func stackHTTPBody(url, want string) error {
	c := http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if got := strings.TrimSpace(string(b)); resp.StatusCode != 200 || got != want {
		return fmt.Errorf("GET %s: %d %q, want %q", url, resp.StatusCode, got, want)
	}
	return nil
}

// stackTmpfs reports whether /proc/mounts shows target mounted from a tmpfs.
func stackTmpfs(procMounts, target string) bool {
	for _, line := range strings.Split(procMounts, "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && f[1] == target {
			return f[2] == "tmpfs"
		}
	}
	return false
}

// stackGrep returns the first regular file under dir that contains s, or "".
func stackGrep(t *testing.T, dir, s string) string {
	t.Helper()
	var found string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || found != "" || !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err == nil && strings.Contains(string(b), s) {
			found = p
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}
