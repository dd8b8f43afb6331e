package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestGracefulDelete: `kubectl delete pod` sends SIGTERM, shows the pod Terminating, and kills a
// container that ignores SIGTERM only after terminationGracePeriodSeconds.
func TestGracefulDelete(t *testing.T) {
	start(t)
	ns := newNamespace(t, "grace")
	const grace = 4
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	applyPod(t, ns, "graceful", manifest(t, "graceful-pod.yaml", "__GRACE__", strconv.Itoa(grace), "__MARKER_DIR__", dir))
	for _, f := range []string{"polite-up", "stubborn-up"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatalf("hostPath volume: the containers did not write %s: %v", f, err)
		}
	}
	ids := map[string]string{}
	for _, c := range podContainers(t, ns, "graceful") {
		ids[c.Container] = c.ID
	}
	if ids["polite"] == "" || ids["stubborn"] == "" {
		t.Fatalf("containers polite and stubborn not found: %v", ids)
	}

	t0 := time.Now()
	if out := kubectlOK(t, "delete", "pod", "graceful", "-n", ns, "--wait=false"); strings.TrimSpace(out) != `pod "graceful" deleted` {
		t.Errorf("kubectl delete --wait=false printed %q", out)
	}
	p, err := podState(t, ns, "graceful")
	if err != nil {
		t.Fatalf("right after delete the pod must still exist for its grace period: %v", err)
	}
	if p.DeletionTimestamp == nil || p.DeletionGracePeriodSeconds == nil || *p.DeletionGracePeriodSeconds != grace {
		t.Errorf("terminating pod: deletionTimestamp=%v deletionGracePeriodSeconds=%v, want set and %d", p.DeletionTimestamp, p.DeletionGracePeriodSeconds, grace)
	}
	if row := rowFor(tableRows(kubectl(t, "get", "pod", "graceful", "-n", ns).Stdout), "graceful"); row == nil || len(row) < 3 || row[2] != "Terminating" {
		t.Errorf("kubectl get pod during the grace period: row %q, want STATUS Terminating", row)
	}
	r := kubectlWith(t, 90*time.Second, "", "wait", "--for=delete", "pod/graceful", "-n", ns, "--timeout=60s")
	took := time.Since(t0)
	if r.Code != 0 {
		// kubectl wait prints nothing when the object is already gone; any error is a failure.
		t.Fatalf("kubectl wait --for=delete: %s", r)
	}
	t.Logf("pod gone %s after delete", took.Round(time.Millisecond))
	if took < grace*time.Second-500*time.Millisecond {
		t.Errorf("pod gone after %s: the container that ignores SIGTERM was killed before the %d s grace period", took, grace)
	}
	if took > grace*time.Second+15*time.Second {
		t.Errorf("pod gone only after %s: the container that ignores SIGTERM should be killed at %d s", took, grace)
	}
	if data, err := os.ReadFile(filepath.Join(dir, "polite-term")); err != nil || strings.TrimSpace(string(data)) != "TERM" {
		t.Errorf("the polite container did not get SIGTERM (no marker): %v %q", err, data)
	}
	if code := dieExitCode(t, ids["polite"], t0); code != "0" {
		t.Errorf("polite container: exit code %s, want 0 (it exits on SIGTERM)", code)
	}
	if code := dieExitCode(t, ids["stubborn"], t0); code != "137" {
		t.Errorf("stubborn container: exit code %s, want 137 (SIGKILL after the grace period)", code)
	}
}
