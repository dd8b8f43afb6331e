package e2e

import (
	"regexp"
	"runtime"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// TestGetNodesNamespaces: `kubectl get nodes,ns` shows the host as one Ready node and the default
// namespace as Active, with the columns a real cluster shows.
func TestGetNodesNamespaces(t *testing.T) {
	start(t)
	r := kubectl(t, "get", "nodes,ns")
	if r.Code != 0 {
		t.Fatalf("kubectl get nodes,ns: %s", r)
	}
	node := nodeName(t)
	for _, re := range []string{
		`(?m)^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION$`,
		`(?m)^node/` + regexp.QuoteMeta(node) + `\s+Ready\s+\S+\s+\S+\s+v\d+\.\d+\.\d+\S*$`,
		`(?m)^NAME\s+STATUS\s+AGE$`,
		`(?m)^namespace/default\s+Active\s+\S+$`,
	} {
		if !regexp.MustCompile(re).MatchString(r.Stdout) {
			t.Errorf("kubectl get nodes,ns: no line matching %s in:\n%s", re, r.Stdout)
		}
	}
	if strings.TrimSpace(r.Stderr) != "" {
		t.Errorf("kubectl get nodes,ns wrote to stderr: %s", r.Stderr)
	}

	wide := kubectlOK(t, "get", "nodes", "-o", "wide")
	if !regexp.MustCompile(`(?m)^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION\s+INTERNAL-IP\s+EXTERNAL-IP\s+OS-IMAGE\s+KERNEL-VERSION\s+CONTAINER-RUNTIME$`).MatchString(wide) {
		t.Errorf("kubectl get nodes -o wide: unexpected header:\n%s", wide)
	}

	var n corev1.Node
	kubectlJSON(t, &n, "get", "node", node)
	ready := false
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
			ready = true
		}
	}
	if !ready {
		t.Errorf("node %s has no Ready=True condition: %+v", node, n.Status.Conditions)
	}
	info := n.Status.NodeInfo
	if !strings.HasPrefix(info.ContainerRuntimeVersion, "docker://") {
		t.Errorf("nodeInfo.containerRuntimeVersion %q, want docker://<version>", info.ContainerRuntimeVersion)
	}
	if info.Architecture != runtime.GOARCH || info.OperatingSystem != "linux" || info.KernelVersion == "" || info.OSImage == "" {
		t.Errorf("nodeInfo: architecture=%q operatingSystem=%q kernelVersion=%q osImage=%q", info.Architecture, info.OperatingSystem, info.KernelVersion, info.OSImage)
	}
	for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourcePods} {
		if q, ok := n.Status.Capacity[res]; !ok || q.Sign() <= 0 {
			t.Errorf("node capacity %s = %v, want > 0", res, q.String())
		}
		if q, ok := n.Status.Allocatable[res]; !ok || q.Sign() <= 0 {
			t.Errorf("node allocatable %s = %v, want > 0", res, q.String())
		}
	}
	kinds := map[corev1.NodeAddressType]bool{}
	for _, a := range n.Status.Addresses {
		kinds[a.Type] = true
	}
	if !kinds[corev1.NodeInternalIP] || !kinds[corev1.NodeHostName] {
		t.Errorf("node addresses %+v: want InternalIP and Hostname", n.Status.Addresses)
	}

	var ns corev1.Namespace
	kubectlJSON(t, &ns, "get", "namespace", "default")
	if ns.Status.Phase != corev1.NamespaceActive || ns.UID == "" || ns.CreationTimestamp.IsZero() {
		t.Errorf("namespace default: phase=%q uid=%q created=%v", ns.Status.Phase, ns.UID, ns.CreationTimestamp)
	}
}

// TestExplain: `kubectl explain pod.spec.containers` reads the served OpenAPI schema.
func TestExplain(t *testing.T) {
	start(t)
	r := kubectl(t, "explain", "pod.spec.containers")
	if r.Code != 0 {
		t.Fatalf("kubectl explain: %s", r)
	}
	for _, re := range []string{
		`(?m)^KIND:\s+Pod$`,
		`(?m)^VERSION:\s+v1$`,
		`(?m)^FIELD:\s+containers\s+<\[\]Container>$`,
		`(?m)^DESCRIPTION:$`,
		`(?m)^FIELDS:$`,
		`(?m)^\s+image\s+<string>$`,
		`(?m)^\s+name\s+<string>\s+-required-$`,
		`(?m)^\s+command\s+<\[\]string>$`,
		`(?m)^\s+ports\s+<\[\]ContainerPort>$`,
	} {
		if !regexp.MustCompile(re).MatchString(r.Stdout) {
			t.Errorf("kubectl explain pod.spec.containers: no line matching %s in:\n%.3000s", re, r.Stdout)
		}
	}
	if strings.TrimSpace(r.Stderr) != "" {
		t.Errorf("kubectl explain wrote to stderr: %s", r.Stderr)
	}
}
