package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// TestNamespaceCascade: `kubectl create ns plant-a && kubectl delete ns plant-a` with pods inside:
// the pods, their containers and the namespace's network go.
func TestNamespaceCascade(t *testing.T) {
	start(t)
	ns := "plant-a-" + randSuffix(5)
	if out := kubectlOK(t, "create", "ns", ns); strings.TrimSpace(out) != "namespace/"+ns+" created" {
		t.Errorf("kubectl create ns printed %q", out)
	}
	t.Cleanup(func() { kubectl(t, "delete", "ns", ns, "--ignore-not-found", "--wait=false") })
	var n corev1.Namespace
	kubectlJSON(t, &n, "get", "ns", ns)
	if n.Status.Phase != corev1.NamespaceActive {
		t.Errorf("new namespace phase %q, want Active", n.Status.Phase)
	}
	row := rowFor(tableRows(kubectlOK(t, "get", "ns", ns)), ns)
	if row == nil || len(row) != 3 || row[1] != "Active" {
		t.Errorf("kubectl get ns %s: row %q, want NAME Active AGE", ns, row)
	}
	kubectlInOK(t, sleeperPod(t, "one")+"\n---\n"+sleeperPod(t, "two"), "apply", "-n", ns, "-f", "-")
	waitPodRunning(t, ns, "one", 90*time.Second)
	waitPodRunning(t, ns, "two", 90*time.Second)
	if cs := podContainers(t, ns, ""); len(cs) < 4 {
		t.Errorf("want a sandbox and a container for each of the two pods, got %+v", cs)
	}
	if r := docker(t, "network", "inspect", "k2d-"+ns); r.Code != 0 {
		t.Errorf("no network k2d-%s: %s", ns, r.Stderr)
	}

	r := kubectlWith(t, 2*time.Minute, "", "delete", "ns", ns)
	if r.Code != 0 || strings.TrimSpace(r.Stdout) != fmt.Sprintf("namespace %q deleted", ns) {
		t.Fatalf("kubectl delete ns %s: %s", ns, r)
	}
	t.Logf("namespace deleted in %s", r.Took.Round(time.Millisecond))
	r = kubectl(t, "get", "ns", ns)
	if want := fmt.Sprintf(`Error from server (NotFound): namespaces %q not found`, ns); strings.TrimSpace(r.Stderr) != want {
		t.Errorf("after delete: want %q, got %s", want, r)
	}
	r = kubectl(t, "get", "pods", "-n", ns)
	if r.Code != 0 || strings.TrimSpace(r.Stderr) != "No resources found in "+ns+" namespace." {
		t.Errorf("kubectl get pods in the deleted namespace: %s", r)
	}
	eventually(t, 20*time.Second, func() error {
		if cs := podContainers(t, ns, ""); len(cs) != 0 {
			return fmt.Errorf("containers of the deleted namespace remain: %+v", cs)
		}
		if r := docker(t, "network", "inspect", "k2d-"+ns); r.Code == 0 {
			return fmt.Errorf("network k2d-%s remains", ns)
		}
		return nil
	})
}
