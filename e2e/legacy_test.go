package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// TestLegacyContainer: a container started with plain `docker run` shows as a pod in the default
// namespace, with logs, exec and delete.
func TestLegacyContainer(t *testing.T) {
	start(t)
	name := "legacy-" + randSuffix(5)
	id := strings.TrimSpace(dockerOK(t, "run", "-d", "--name", name, testImage, "sh", "-c", "echo legacy-hello; exec sleep 1d"))
	t.Cleanup(func() { docker(t, "rm", "-f", name) })

	var p *corev1.Pod
	eventually(t, 30*time.Second, func() error {
		var err error
		if p, err = podState(t, "default", name); err != nil {
			return err
		}
		if p.Status.Phase != corev1.PodRunning {
			return fmt.Errorf("pod %s: %s", name, describePod(p))
		}
		return nil
	})
	row := rowFor(tableRows(kubectlOK(t, "get", "pod", name)), name)
	if row == nil || len(row) < 4 || row[1] != "1/1" || row[2] != "Running" || row[3] != "0" {
		t.Errorf("kubectl get pod %s: row %q, want 1/1 Running 0", name, row)
	}
	if len(p.Spec.Containers) != 1 || p.Spec.Containers[0].Image != testImage {
		t.Errorf("pod spec of the legacy container: %+v", p.Spec.Containers)
	}
	if len(p.Status.ContainerStatuses) != 1 || p.Status.ContainerStatuses[0].ContainerID != "docker://"+id {
		t.Errorf("containerStatuses %+v, want one with containerID docker://%s", p.Status.ContainerStatuses, id)
	}
	if out := kubectlOK(t, "logs", name); strings.TrimSpace(out) != "legacy-hello" {
		t.Errorf("kubectl logs %s: %q, want legacy-hello", name, out)
	}
	if out := kubectlOK(t, "exec", name, "--", "echo", "hi"); out != "hi\n" {
		t.Errorf("kubectl exec %s -- echo hi: %q", name, out)
	}
	// sleep as PID 1 ignores SIGTERM: the short grace period bounds the wait.
	r := kubectlWith(t, 90*time.Second, "", "delete", "pod", name, "--grace-period=2")
	if r.Code != 0 || strings.TrimSpace(r.Stdout) != fmt.Sprintf("pod %q deleted", name) {
		t.Fatalf("kubectl delete pod %s: %s", name, r)
	}
	if r.Took > 20*time.Second {
		t.Errorf("kubectl delete pod %s --grace-period=2 took %s", name, r.Took)
	}
	eventually(t, 20*time.Second, func() error {
		if r := docker(t, "inspect", "--format", "{{.State.Status}}", name); r.Code == 0 {
			return fmt.Errorf("container %s still exists: %s", name, r.Stdout)
		}
		return nil
	})
	r = kubectl(t, "get", "pod", name)
	if want := fmt.Sprintf(`Error from server (NotFound): pods %q not found`, name); strings.TrimSpace(r.Stderr) != want {
		t.Errorf("after delete: want %q, got %s", want, r)
	}
}
