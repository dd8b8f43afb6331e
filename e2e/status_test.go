package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// TestPodStatusReasons: failures and endings show in status and in `kubectl get pods` as the
// kubelet reports them: ErrImageNeverPull, Completed, Error, CrashLoopBackOff.
func TestPodStatusReasons(t *testing.T) {
	start(t)
	ns := newNamespace(t, "status")
	pod := func(name, image, policy, script string) string {
		return manifest(t, "status-pod.yaml", "__NAME__", name, "__IMAGE__", image, "__POLICY__", policy, "__SCRIPT__", script)
	}
	kubectlInOK(t, strings.Join([]string{
		pod("absent", "k2d-test/absent:1", "Always", "true"),
		pod("done", testImage, "Never", "echo bye; exit 0"),
		pod("broken", testImage, "Never", "echo oops; exit 3"),
		pod("crashing", testImage, "Always", "echo crash; exit 1"),
	}, "\n---\n"), "apply", "-n", ns, "-f", "-")

	// waitStatus waits until the pod's single container and the STATUS column match.
	waitStatus := func(t *testing.T, name, column string, timeout time.Duration, ok func(p *corev1.Pod) error) *corev1.Pod {
		t.Helper()
		var p *corev1.Pod
		eventually(t, timeout, func() error {
			var err error
			if p, err = podState(t, ns, name); err != nil {
				return err
			}
			if len(p.Status.ContainerStatuses) != 1 {
				return fmt.Errorf("pod %s: %s", name, describePod(p))
			}
			if err := ok(p); err != nil {
				return fmt.Errorf("pod %s: %v: %s", name, err, describePod(p))
			}
			row := rowFor(tableRows(kubectlOK(t, "get", "pod", name, "-n", ns)), name)
			if len(row) < 3 || row[2] != column {
				return fmt.Errorf("kubectl get pod %s: row %q, want STATUS %s", name, row, column)
			}
			return nil
		})
		return p
	}

	t.Run("ErrImageNeverPull", func(t *testing.T) {
		p := waitStatus(t, "absent", "ErrImageNeverPull", 30*time.Second, func(p *corev1.Pod) error {
			w := p.Status.ContainerStatuses[0].State.Waiting
			if w == nil || w.Reason != "ErrImageNeverPull" {
				return fmt.Errorf("want waiting ErrImageNeverPull")
			}
			return nil
		})
		if p.Status.Phase != corev1.PodPending {
			t.Errorf("phase %q, want Pending", p.Status.Phase)
		}
		want := `Container image "k2d-test/absent:1" is not present with pull policy of Never`
		if msg := p.Status.ContainerStatuses[0].State.Waiting.Message; msg != want {
			t.Errorf("waiting message %q, want %q", msg, want)
		}
		eventually(t, 20*time.Second, func() error {
			var evs corev1.EventList
			kubectlJSON(t, &evs, "get", "events", "-n", ns, "--field-selector", "involvedObject.name=absent")
			for _, e := range evs.Items {
				if e.Type == corev1.EventTypeWarning && e.Reason == "ErrImageNeverPull" && strings.Contains(e.Message, want) {
					return nil
				}
			}
			return fmt.Errorf("no Warning ErrImageNeverPull event with %q: %+v", want, evs.Items)
		})
	})

	t.Run("Completed", func(t *testing.T) {
		p := waitStatus(t, "done", "Completed", 60*time.Second, func(p *corev1.Pod) error {
			term := p.Status.ContainerStatuses[0].State.Terminated
			if p.Status.Phase != corev1.PodSucceeded || term == nil || term.ExitCode != 0 || term.Reason != "Completed" {
				return fmt.Errorf("want phase Succeeded, terminated Completed exit 0")
			}
			return nil
		})
		if out := kubectlOK(t, "logs", "done", "-n", ns); out != "bye\n" {
			t.Errorf("logs of a finished container: %q", out)
		}
		if p.Status.ContainerStatuses[0].RestartCount != 0 {
			t.Errorf("restartPolicy Never: restartCount %d", p.Status.ContainerStatuses[0].RestartCount)
		}
	})

	t.Run("Error", func(t *testing.T) {
		waitStatus(t, "broken", "Error", 60*time.Second, func(p *corev1.Pod) error {
			term := p.Status.ContainerStatuses[0].State.Terminated
			if p.Status.Phase != corev1.PodFailed || term == nil || term.ExitCode != 3 || term.Reason != "Error" {
				return fmt.Errorf("want phase Failed, terminated Error exit 3")
			}
			return nil
		})
	})

	t.Run("CrashLoopBackOff", func(t *testing.T) {
		p := waitStatus(t, "crashing", "CrashLoopBackOff", 90*time.Second, func(p *corev1.Pod) error {
			cs := p.Status.ContainerStatuses[0]
			if cs.State.Waiting == nil || cs.State.Waiting.Reason != "CrashLoopBackOff" || cs.RestartCount < 1 {
				return fmt.Errorf("want waiting CrashLoopBackOff with restarts")
			}
			return nil
		})
		last := p.Status.ContainerStatuses[0].LastTerminationState.Terminated
		if last == nil || last.ExitCode != 1 {
			t.Errorf("lastState.terminated: %+v, want exit code 1", last)
		}
		if p.Status.Phase != corev1.PodRunning {
			t.Errorf("a crash-looping pod with restartPolicy Always is Running, got %q", p.Status.Phase)
		}
	})
}
