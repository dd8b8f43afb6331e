package reconcile

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// TestIntegrationProbes runs probes against a real container: exec through Docker exec (exit
// codes, combined output cut at 10 KiB, timeouts) and httpGet from the host to the pod's IP,
// and readiness reaching the Pod in the cache.
func TestIntegrationProbes(t *testing.T) {
	t.Parallel()
	it := newITest(t)
	it.start()
	app := busybox("app", "sh", "-c", "mkdir -p /www && echo ok > /www/h && httpd -p 8080 -h /www && exec sleep 1d")
	app.Ports = []corev1.ContainerPort{{Name: "web", ContainerPort: 8080}}
	app.ReadinessProbe = &corev1.Probe{
		ProbeHandler:  corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"test", "-f", "/tmp/ready"}}},
		PeriodSeconds: 1, TimeoutSeconds: 1, SuccessThreshold: 1, FailureThreshold: 1,
	}
	app.LivenessProbe = &corev1.Probe{
		ProbeHandler:        corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/h", Port: intstr.FromString("web")}},
		InitialDelaySeconds: 1, // httpd needs a moment to listen
		PeriodSeconds:       1, TimeoutSeconds: 1, SuccessThreshold: 1, FailureThreshold: 3,
	}
	it.createPod(podSpec("probed", 1, nil, app))

	var id string
	it.waitFor(60*time.Second, "the container to run, unready", func() bool {
		p := it.pod("probed")
		if p == nil || len(p.Status.ContainerStatuses) != 1 {
			return false
		}
		st := p.Status.ContainerStatuses[0]
		id = strings.TrimPrefix(st.ContainerID, "docker://")
		return st.State.Running != nil && !st.Ready && p.Status.PodIP != ""
	})
	time.Sleep(2500 * time.Millisecond) // a few periods: still unready, and no restart
	if p := it.pod("probed"); p.Status.ContainerStatuses[0].Ready || p.Status.ContainerStatuses[0].RestartCount != 0 {
		t.Fatalf("ready without /tmp/ready, or restarted: %+v", p.Status.ContainerStatuses[0])
	}
	if !hasEvent(it.events("probed"), ReasonUnhealthy, "Readiness probe failed: ") {
		t.Errorf("no Unhealthy event for the failing readiness probe")
	}
	for _, e := range it.events("probed") {
		if strings.HasPrefix(e.Message, "Liveness") {
			t.Errorf("the httpGet liveness probe failed against a serving httpd: %s", e.Message)
		}
	}

	ctx := context.Background()
	sec := time.Second
	for _, tc := range []struct {
		name    string
		cmd     []string
		timeout time.Duration
		result  probeResult
		output  string
	}{
		{"exit 0 with output", []string{"echo", "hello"}, sec, probeSuccess, "hello\n"},
		{"stderr is part of the output", []string{"sh", "-c", "echo oops >&2; exit 1"}, sec, probeFailure, "oops\n"},
		{"exit code fails", []string{"sh", "-c", "echo broken; exit 3"}, sec, probeFailure, "broken\n"},
		{"silent failure", []string{"test", "-f", "/nope"}, sec, probeFailure, ""},
		{"timeout", []string{"sleep", "5"}, sec, probeFailure, `command "sleep 5" timed out`},
		{"output cut at 10 KiB", []string{"sh", "-c", "yes 0123456789abcdef | head -c 20000; exit 1"}, 2 * sec, probeFailure, strings.Repeat("0123456789abcdef\n", 1000)[:probeOutputLimit]},
	} {
		got := it.ctl.execProbe(ctx, id, tc.cmd, tc.timeout)
		if got.result != tc.result || got.output != tc.output {
			t.Errorf("%s: got %d %q, want %d %q", tc.name, got.result, trimForLog(got.output), tc.result, trimForLog(tc.output))
		}
	}
	if got := it.ctl.execProbe(ctx, id, []string{"/no/such/binary"}, sec); got.result != probeFailure || !strings.Contains(got.output, "no such file or directory") {
		t.Errorf("missing binary: %d %q", got.result, got.output)
	}

	// Make it ready from inside: the verdict reaches the cache within a period or two.
	if got := it.ctl.execProbe(ctx, id, []string{"touch", "/tmp/ready"}, sec); got.result != probeSuccess {
		t.Fatalf("touch: %+v", got)
	}
	it.waitFor(10*time.Second, "the pod to become Ready", func() bool {
		p := it.pod("probed")
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady {
				return c.Status == corev1.ConditionTrue && p.Status.ContainerStatuses[0].Ready
			}
		}
		return false
	})
}

func trimForLog(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
