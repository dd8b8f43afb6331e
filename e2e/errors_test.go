package e2e

import (
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// TestErrorWording: NotFound, AlreadyExists and Conflict read as they do against a real cluster.
func TestErrorWording(t *testing.T) {
	start(t)
	ns := newNamespace(t, "errors")
	missingNS := "e2e-missing-" + randSuffix(5)

	expect := func(want string, args ...string) {
		t.Helper()
		r := kubectl(t, args...)
		if r.Code != 1 || strings.TrimSpace(r.Stderr) != want {
			t.Errorf("kubectl %s:\nwant exit 1 and %q\ngot  %s", strings.Join(args, " "), want, r)
		}
	}
	expectIn := func(stdin, want string, args ...string) {
		t.Helper()
		r := kubectlIn(t, stdin, args...)
		if r.Code != 1 || strings.TrimSpace(r.Stderr) != want {
			t.Errorf("kubectl %s:\nwant exit 1 and %q\ngot  %s", strings.Join(args, " "), want, r)
		}
	}

	notFound := `Error from server (NotFound): pods "x" not found`
	expect(notFound, "get", "pod", "x", "-n", ns)
	expect(notFound, "delete", "pod", "x", "-n", ns)
	// kubectl logs words a NotFound itself.
	expect(fmt.Sprintf(`error: error from server (NotFound): pods "x" not found in namespace %q`, ns), "logs", "x", "-n", ns)
	expect(notFound, "exec", "x", "-n", ns, "--", "true")
	expect(notFound, "describe", "pod", "x", "-n", ns)
	expect(fmt.Sprintf(`Error from server (NotFound): namespaces %q not found`, missingNS), "get", "namespace", missingNS)
	expectIn(sleeperPod(t, "orphan"), fmt.Sprintf(`Error from server (NotFound): error when creating "STDIN": namespaces %q not found`, missingNS),
		"create", "-n", missingNS, "-f", "-")

	r := kubectl(t, "get", "pods", "-n", ns)
	if r.Code != 0 || r.Stdout != "" || strings.TrimSpace(r.Stderr) != "No resources found in "+ns+" namespace." {
		t.Errorf("kubectl get pods in an empty namespace: %s", r)
	}

	kubectlInOK(t, sleeperPod(t, "dup"), "create", "-n", ns, "-f", "-")
	expectIn(sleeperPod(t, "dup"), `Error from server (AlreadyExists): error when creating "STDIN": pods "dup" already exists`, "create", "-n", ns, "-f", "-")
	expect(fmt.Sprintf(`Error from server (AlreadyExists): namespaces %q already exists`, ns), "create", "namespace", ns)

	// A write with a stale resourceVersion is refused.
	stale := kubectlOK(t, "get", "pod", "dup", "-n", ns, "-o", "json")
	kubectlOK(t, "label", "pod", "dup", "-n", ns, "changed=yes")
	expectIn(stale, `Error from server (Conflict): error when replacing "STDIN": Operation cannot be fulfilled on pods "dup": the object has been modified; please apply your changes to the latest version and try again`,
		"replace", "-n", ns, "-f", "-")
	var p corev1.Pod
	kubectlJSON(t, &p, "get", "pod", "dup", "-n", ns)
	if p.Labels["changed"] != "yes" {
		t.Errorf("the refused replace changed the pod: labels %v", p.Labels)
	}
}
