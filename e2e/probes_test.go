package e2e

import (
	"fmt"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Probe pods: busybox with 1-second periods so that every transition takes a second or two.

const readyExecPod = `apiVersion: v1
kind: Pod
metadata:
  name: ready-exec
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: k2d-test/busybox:1
    imagePullPolicy: Never
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
    readinessProbe:
      exec:
        command: ["test", "-f", "/tmp/ready"]
      periodSeconds: 1
      failureThreshold: 1
`

const readyHTTPPod = `apiVersion: v1
kind: Pod
metadata:
  name: ready-http
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: web
    image: k2d-test/busybox:1
    imagePullPolicy: Never
    command: ["sh", "-c", "mkdir -p /www && echo ok > /www/healthz && exec httpd -f -p 8080 -h /www"]
    ports:
    - name: http
      containerPort: 8080
    readinessProbe:
      httpGet:
        path: /healthz
        port: http
      periodSeconds: 1
      failureThreshold: 1
`

const readyTCPPod = `apiVersion: v1
kind: Pod
metadata:
  name: ready-tcp
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: db
    image: k2d-test/busybox:1
    imagePullPolicy: Never
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
    readinessProbe:
      tcpSocket:
        port: 9000
      periodSeconds: 1
      failureThreshold: 1
`

// The liveness probe checks a file the container creates at start; removing it makes the
// probe fail and the container restart, and the restarted container is healthy again.
const liveExecPod = `apiVersion: v1
kind: Pod
metadata:
  name: live-exec
spec:
  terminationGracePeriodSeconds: 30
  containers:
  - name: app
    image: k2d-test/busybox:1
    imagePullPolicy: Never
    command: ["sh", "-c", "touch /tmp/healthy; exec sleep 3600"]
    livenessProbe:
      exec:
        command: ["cat", "/tmp/healthy"]
      periodSeconds: 1
      failureThreshold: 2
      terminationGracePeriodSeconds: 1
`

// Nothing listens on 8080: the liveness probe always fails.
const liveHTTPPod = `apiVersion: v1
kind: Pod
metadata:
  name: live-http
spec:
  terminationGracePeriodSeconds: 30
  containers:
  - name: app
    image: k2d-test/busybox:1
    imagePullPolicy: Never
    command: ["sleep", "3600"]
    livenessProbe:
      httpGet:
        path: /healthz
        port: 8080
      periodSeconds: 1
      failureThreshold: 1
      terminationGracePeriodSeconds: 1
`

// The app takes 4 seconds to start; its liveness probe would fail (and restart it) before
// that, so only the startup probe's gating keeps it alive.
const startupPod = `apiVersion: v1
kind: Pod
metadata:
  name: slow-start
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: k2d-test/busybox:1
    imagePullPolicy: Never
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 4; touch /tmp/started; while true; do sleep 1; done"]
    startupProbe:
      exec:
        command: ["test", "-f", "/tmp/started"]
      periodSeconds: 1
      failureThreshold: 30
    livenessProbe:
      exec:
        command: ["test", "-f", "/tmp/started"]
      periodSeconds: 1
      failureThreshold: 1
      terminationGracePeriodSeconds: 1
    readinessProbe:
      exec:
        command: ["true"]
      periodSeconds: 1
`

// The startup probe never succeeds: after failureThreshold failures the container restarts.
const startupFailPod = `apiVersion: v1
kind: Pod
metadata:
  name: never-starts
spec:
  terminationGracePeriodSeconds: 30
  containers:
  - name: app
    image: k2d-test/busybox:1
    imagePullPolicy: Never
    command: ["sleep", "3600"]
    startupProbe:
      tcpSocket:
        port: 7000
      periodSeconds: 1
      failureThreshold: 2
      terminationGracePeriodSeconds: 1
`

// gRPC probes are not run: the pod is warned about at apply time and counts as ready.
const readyGRPCPod = `apiVersion: v1
kind: Pod
metadata:
  name: ready-grpc
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: k2d-test/busybox:1
    imagePullPolicy: Never
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
    readinessProbe:
      grpc:
        port: 9000
      periodSeconds: 1
`

// readyColumn returns the READY cell of `kubectl get pod`.
func readyColumn(t *testing.T, ns, name string) string {
	t.Helper()
	row := rowFor(tableRows(kubectlOK(t, "get", "pod", name, "-n", ns)), name)
	if len(row) < 2 {
		return fmt.Sprintf("no row (%q)", row)
	}
	return row[1]
}

func condition(p *corev1.Pod, typ corev1.PodConditionType) corev1.PodCondition {
	for _, c := range p.Status.Conditions {
		if c.Type == typ {
			return c
		}
	}
	return corev1.PodCondition{}
}

// waitReady waits until the pod's READY column, its Ready and ContainersReady conditions and
// its container's ready flag all say ready (or all say not ready).
func waitReady(t *testing.T, ns, name string, ready bool, timeout time.Duration) *corev1.Pod {
	t.Helper()
	col, status := "0/1", corev1.ConditionFalse
	if ready {
		col, status = "1/1", corev1.ConditionTrue
	}
	var pod *corev1.Pod
	eventually(t, timeout, func() error {
		p, err := podState(t, ns, name)
		if err != nil {
			return err
		}
		pod = p
		if len(p.Status.ContainerStatuses) != 1 || p.Status.ContainerStatuses[0].State.Running == nil {
			return fmt.Errorf("not running: %s", describePod(p))
		}
		if cs := p.Status.ContainerStatuses[0]; cs.Ready != ready {
			return fmt.Errorf("container ready=%v, want %v: %s", cs.Ready, ready, describePod(p))
		}
		for _, typ := range []corev1.PodConditionType{corev1.PodReady, corev1.ContainersReady} {
			if c := condition(p, typ); c.Status != status {
				return fmt.Errorf("condition %s=%s (%s), want %s", typ, c.Status, c.Message, status)
			}
		}
		if got := readyColumn(t, ns, name); got != col {
			return fmt.Errorf("kubectl get pod READY %q, want %q", got, col)
		}
		return nil
	})
	return pod
}

// podEvents returns "Type Reason Message" lines of a pod's events with their counts.
func podEvents(t *testing.T, ns, name string) map[string]int32 {
	t.Helper()
	var evs corev1.EventList
	kubectlJSON(t, &evs, "get", "events", "-n", ns, "--field-selector", "involvedObject.name="+name)
	out := map[string]int32{}
	for _, e := range evs.Items {
		out[e.Type+" "+e.Reason+" "+e.Message] += e.Count
	}
	return out
}

// waitEvent waits for an event whose "Type Reason Message" starts with prefix.
func waitEvent(t *testing.T, ns, name, prefix string, timeout time.Duration) {
	t.Helper()
	eventually(t, timeout, func() error {
		evs := podEvents(t, ns, name)
		for k := range evs {
			if strings.HasPrefix(k, prefix) {
				return nil
			}
		}
		return fmt.Errorf("no event %q among %v", prefix, evs)
	})
}

func hasEventPrefix(evs map[string]int32, prefix string) bool {
	for k := range evs {
		if strings.HasPrefix(k, prefix) {
			return true
		}
	}
	return false
}

func waitContainerRunning(t *testing.T, ns, name string, timeout time.Duration) *corev1.Pod {
	t.Helper()
	var pod *corev1.Pod
	eventually(t, timeout, func() error {
		p, err := podState(t, ns, name)
		if err != nil {
			return err
		}
		pod = p
		if len(p.Status.ContainerStatuses) != 1 || p.Status.ContainerStatuses[0].State.Running == nil {
			return fmt.Errorf("not running: %s", describePod(p))
		}
		return nil
	})
	return pod
}

// TestProbesReadiness: exec, httpGet and tcpSocket readiness probes flip the container's
// ready flag, the pod's Ready and ContainersReady conditions and the READY column, both
// ways, with the kubelet's Unhealthy events; readiness never restarts anything. A grpc probe
// is not run: kubectl warns, and the pod counts as ready.
func TestProbesReadiness(t *testing.T) {
	start(t)
	ns := newNamespace(t, "probes")
	t0 := time.Now()
	kubectlInOK(t, strings.Join([]string{readyExecPod, readyHTTPPod, readyTCPPod}, "---\n"), "apply", "-n", ns, "-f", "-")

	var wg sync.WaitGroup
	run := func(name string, fn func(t *testing.T)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.Run(name, fn)
		}()
	}
	// Subtests run side by side: each waits on its own pod.
	run("exec", func(t *testing.T) {
		waitContainerRunning(t, ns, "ready-exec", 60*time.Second)
		time.Sleep(2 * time.Second) // a few probe periods
		p := waitReady(t, ns, "ready-exec", false, 5*time.Second)
		if cs := p.Status.ContainerStatuses[0]; cs.Started == nil || !*cs.Started {
			t.Errorf("a running container without startupProbe is started: %+v", cs.Started)
		}
		if c := condition(p, corev1.PodReady); c.Reason != "ContainersNotReady" || c.Message != "containers with unready status: [app]" {
			t.Errorf("Ready condition %+v", c)
		}
		waitEvent(t, ns, "ready-exec", "Warning Unhealthy Readiness probe failed: ", 10*time.Second)

		kubectlOK(t, "exec", "-n", ns, "ready-exec", "--", "touch", "/tmp/ready")
		waitReady(t, ns, "ready-exec", true, 10*time.Second)

		kubectlOK(t, "exec", "-n", ns, "ready-exec", "--", "rm", "/tmp/ready")
		p = waitReady(t, ns, "ready-exec", false, 10*time.Second)
		if n := p.Status.ContainerStatuses[0].RestartCount; n != 0 {
			t.Errorf("readiness failures restarted the container (%d restarts)", n)
		}
	})
	run("httpGet", func(t *testing.T) {
		p := waitReady(t, ns, "ready-http", true, 60*time.Second)
		kubectlOK(t, "exec", "-n", ns, "ready-http", "--", "rm", "/www/healthz")
		p = waitReady(t, ns, "ready-http", false, 10*time.Second)
		waitEvent(t, ns, "ready-http", "Warning Unhealthy Readiness probe failed: HTTP probe failed with statuscode: 404", 10*time.Second)
		kubectlOK(t, "exec", "-n", ns, "ready-http", "--", "sh", "-c", "echo ok > /www/healthz")
		p = waitReady(t, ns, "ready-http", true, 10*time.Second)
		if n := p.Status.ContainerStatuses[0].RestartCount; n != 0 {
			t.Errorf("restarts: %d", n)
		}
	})
	run("tcpSocket", func(t *testing.T) {
		p := waitContainerRunning(t, ns, "ready-tcp", 60*time.Second)
		time.Sleep(2 * time.Second)
		waitReady(t, ns, "ready-tcp", false, 5*time.Second)
		want := fmt.Sprintf("Warning Unhealthy Readiness probe failed: dial tcp %s:9000: connect: connection refused", p.Status.PodIP)
		waitEvent(t, ns, "ready-tcp", want, 10*time.Second)
		// A listener that accepts and closes each connection.
		kubectlOK(t, "exec", "-n", ns, "ready-tcp", "--", "sh", "-c", "nc -ll -p 9000 -e true </dev/null >/dev/null 2>&1 &")
		waitReady(t, ns, "ready-tcp", true, 10*time.Second)
		kubectlOK(t, "exec", "-n", ns, "ready-tcp", "--", "killall", "nc")
		waitReady(t, ns, "ready-tcp", false, 10*time.Second)
	})
	run("grpc_unsupported", func(t *testing.T) {
		r := kubectlIn(t, readyGRPCPod, "apply", "-n", ns, "-f", "-")
		if r.Code != 0 {
			t.Fatalf("kubectl apply: %s", r)
		}
		want := "Warning: spec.containers[0].readinessProbe.grpc: gRPC probes are not run by k2d; the probe counts as a success (k2d ignores this field)"
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("kubectl apply stderr %q, want %q", r.Stderr, want)
		}
		waitReady(t, ns, "ready-grpc", true, 60*time.Second)
		waitEvent(t, ns, "ready-grpc", "Warning ProbeWarning Readiness probe warning: gRPC probes are not supported by k2d: the probe is not run and counts as a success", 10*time.Second)
	})
	wg.Wait()
	t.Logf("readiness probes took %s", time.Since(t0).Round(time.Millisecond))
}

// TestProbesLiveness: a failing liveness probe kills the container (Killing, with the probe's
// grace period) and the restart policy restarts it; a probe that keeps failing crash-loops
// with the kubelet's back-off.
func TestProbesLiveness(t *testing.T) {
	start(t)
	ns := newNamespace(t, "liveness")
	t0 := time.Now()
	kubectlInOK(t, liveExecPod+"---\n"+liveHTTPPod, "apply", "-n", ns, "-f", "-")

	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		t.Run("restart", func(t *testing.T) {
			waitContainerRunning(t, ns, "live-exec", 60*time.Second)
			time.Sleep(2 * time.Second)
			if p := getPod(t, ns, "live-exec"); p.Status.ContainerStatuses[0].RestartCount != 0 {
				t.Fatalf("restarted while healthy: %s", describePod(p))
			}
			kubectlOK(t, "exec", "-n", ns, "live-exec", "--", "rm", "/tmp/healthy")
			var p *corev1.Pod
			eventually(t, 20*time.Second, func() error {
				var err error
				if p, err = podState(t, ns, "live-exec"); err != nil {
					return err
				}
				if cs := p.Status.ContainerStatuses[0]; cs.RestartCount != 1 || cs.State.Running == nil {
					return fmt.Errorf("want running again after one restart: %s", describePod(p))
				}
				return nil
			})
			last := p.Status.ContainerStatuses[0].LastTerminationState.Terminated
			if last == nil || last.ExitCode != 137 || last.Reason != "Error" {
				t.Errorf("lastState %+v, want terminated Error 137 (SIGKILL after the probe's 1s grace)", last)
			}
			if row := rowFor(tableRows(kubectlOK(t, "get", "pod", "live-exec", "-n", ns)), "live-exec"); len(row) < 4 || !strings.HasPrefix(row[3], "1") {
				t.Errorf("kubectl get pod RESTARTS: %q", row)
			}
			evs := podEvents(t, ns, "live-exec")
			if !hasEventPrefix(evs, "Warning Unhealthy Liveness probe failed: cat: can't open '/tmp/healthy': No such file or directory") {
				t.Errorf("no Unhealthy event with the probe's output: %v", evs)
			}
			if evs["Normal Killing Container app failed liveness probe, will be restarted"] != 1 {
				t.Errorf("Killing event: %v", evs)
			}
			// The new container created the file again: it stays up.
			time.Sleep(3 * time.Second)
			if p := getPod(t, ns, "live-exec"); p.Status.ContainerStatuses[0].RestartCount != 1 {
				t.Errorf("the healthy restarted container was restarted again: %s", describePod(p))
			}
		})
	}()
	go func() {
		defer wg.Done()
		t.Run("crashloop", func(t *testing.T) {
			var p *corev1.Pod
			eventually(t, 60*time.Second, func() error {
				var err error
				if p, err = podState(t, ns, "live-http"); err != nil {
					return err
				}
				if len(p.Status.ContainerStatuses) != 1 {
					return fmt.Errorf("%s", describePod(p))
				}
				cs := p.Status.ContainerStatuses[0]
				if cs.RestartCount < 2 || cs.State.Waiting == nil || cs.State.Waiting.Reason != "CrashLoopBackOff" {
					return fmt.Errorf("want CrashLoopBackOff after 2 restarts: %s", describePod(p))
				}
				return nil
			})
			if row := rowFor(tableRows(kubectlOK(t, "get", "pod", "live-http", "-n", ns)), "live-http"); len(row) < 3 || row[2] != "CrashLoopBackOff" {
				t.Errorf("kubectl get pod STATUS: %q", row)
			}
			// Back-off: the next restart waits ~10s after the last exit.
			restarts := p.Status.ContainerStatuses[0].RestartCount
			fin := p.Status.ContainerStatuses[0].LastTerminationState.Terminated.FinishedAt.Time
			time.Sleep(3 * time.Second)
			if p := getPod(t, ns, "live-http"); p.Status.ContainerStatuses[0].RestartCount != restarts {
				t.Errorf("restarted during the back-off (%s after the exit): %s", time.Since(fin).Round(time.Second), describePod(p))
			}
			evs := podEvents(t, ns, "live-http")
			want := fmt.Sprintf(`Warning Unhealthy Liveness probe failed: Get "http://%s:8080/healthz": dial tcp %s:8080: connect: connection refused`, p.Status.PodIP, p.Status.PodIP)
			if evs[want] < 2 {
				t.Errorf("want the Unhealthy event %q counted at each failure: %v", want, evs)
			}
			if evs["Normal Killing Container app failed liveness probe, will be restarted"] < 2 {
				t.Errorf("Killing events: %v", evs)
			}
			if !hasEventPrefix(evs, "Warning BackOff Back-off restarting failed container app") {
				t.Errorf("no BackOff event: %v", evs)
			}
		})
	}()
	wg.Wait()
	t.Logf("liveness probes took %s", time.Since(t0).Round(time.Millisecond))
	// The pods' own grace period (30s, which the probes' 1s overrides) would slow the cleanup.
	kubectlOK(t, "delete", "pods", "--all", "-n", ns, "--grace-period=1")
}

// TestProbesStartup: until the startup probe succeeds the container is neither started nor
// ready and its liveness and readiness probes do not run; a startup probe that never succeeds
// restarts the container.
func TestProbesStartup(t *testing.T) {
	start(t)
	ns := newNamespace(t, "startup")
	t0 := time.Now()
	kubectlInOK(t, startupPod+"---\n"+startupFailPod, "apply", "-n", ns, "-f", "-")

	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		t.Run("gates", func(t *testing.T) {
			p := waitContainerRunning(t, ns, "slow-start", 60*time.Second)
			started := p.Status.ContainerStatuses[0].State.Running.StartedAt.Time
			// Watch started/ready while the app starts: never ready before started.
			var startedAt, readyAt time.Time
			eventually(t, 20*time.Second, func() error {
				p, err := podState(t, ns, "slow-start")
				if err != nil {
					return err
				}
				cs := p.Status.ContainerStatuses[0]
				now := time.Now()
				if cs.Ready && (cs.Started == nil || !*cs.Started) {
					t.Fatalf("ready before started: %s", describePod(p))
				}
				if cs.Started != nil && *cs.Started && startedAt.IsZero() {
					startedAt = now
				}
				if cs.Ready && readyAt.IsZero() {
					readyAt = now
				}
				if readyAt.IsZero() {
					return fmt.Errorf("not ready yet: %s", describePod(p))
				}
				return nil
			})
			if d := startedAt.Sub(started); d < 3*time.Second {
				t.Errorf("started %s after the container started; the app takes 4s", d)
			}
			p = waitReady(t, ns, "slow-start", true, 5*time.Second)
			if n := p.Status.ContainerStatuses[0].RestartCount; n != 0 {
				t.Errorf("the liveness probe ran before the startup probe succeeded: %d restarts", n)
			}
			evs := podEvents(t, ns, "slow-start")
			if !hasEventPrefix(evs, "Warning Unhealthy Startup probe failed: ") {
				t.Errorf("no failed startup probe events: %v", evs)
			}
			if hasEventPrefix(evs, "Warning Unhealthy Liveness") || hasEventPrefix(evs, "Normal Killing") {
				t.Errorf("liveness ran before startup succeeded: %v", evs)
			}
		})
	}()
	go func() {
		defer wg.Done()
		t.Run("never_starts", func(t *testing.T) {
			eventually(t, 60*time.Second, func() error {
				p, err := podState(t, ns, "never-starts")
				if err != nil {
					return err
				}
				if len(p.Status.ContainerStatuses) != 1 || p.Status.ContainerStatuses[0].RestartCount < 1 {
					return fmt.Errorf("want a restart: %s", describePod(p))
				}
				return nil
			})
			evs := podEvents(t, ns, "never-starts")
			if evs["Normal Killing Container app failed startup probe, will be restarted"] < 1 {
				t.Errorf("no Killing event for the startup probe: %v", evs)
			}
			if !hasEventPrefix(evs, "Warning Unhealthy Startup probe failed: dial tcp ") {
				t.Errorf("no Unhealthy startup event: %v", evs)
			}
			p := getPod(t, ns, "never-starts")
			if cs := p.Status.ContainerStatuses[0]; cs.Ready || (cs.Started != nil && *cs.Started) {
				t.Errorf("never-started container shows started=%v ready=%v", cs.Started, cs.Ready)
			}
		})
	}()
	wg.Wait()
	t.Logf("startup probes took %s", time.Since(t0).Round(time.Millisecond))
	// The pods' own grace period (30s, which the probes' 1s overrides) would slow the cleanup.
	kubectlOK(t, "delete", "pods", "--all", "-n", ns, "--grace-period=1")
}

// TestProbesAfterRestart: after k2d restarts, the adopted container is probed again: it
// comes back ready, and a readiness failure still shows.
func TestProbesAfterRestart(t *testing.T) {
	start(t)
	ns := newNamespace(t, "proberestart")
	kubectlInOK(t, readyExecPod, "apply", "-n", ns, "-f", "-")
	waitContainerRunning(t, ns, "ready-exec", 60*time.Second)
	kubectlOK(t, "exec", "-n", ns, "ready-exec", "--", "touch", "/tmp/ready")
	before := waitReady(t, ns, "ready-exec", true, 10*time.Second)

	restartK2D(t, syscall.SIGTERM)
	after := waitReady(t, ns, "ready-exec", true, 20*time.Second)
	if a, b := after.Status.ContainerStatuses[0].ContainerID, before.Status.ContainerStatuses[0].ContainerID; a != b {
		t.Fatalf("container replaced across the restart: %s -> %s", b, a)
	}
	kubectlOK(t, "exec", "-n", ns, "ready-exec", "--", "rm", "/tmp/ready")
	waitReady(t, ns, "ready-exec", false, 10*time.Second)
}
