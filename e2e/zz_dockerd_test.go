package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// restartDockerd stops dockerd with SIGTERM (found through its pid file), waits for it to exit,
// and starts it again with scripts/ensure-docker.sh.
func restartDockerd(t *testing.T) {
	t.Helper()
	pidfile := os.Getenv("K2D_DOCKERD_PIDFILE")
	if pidfile == "" {
		pidfile = "/var/run/docker.pid"
	}
	data, err := os.ReadFile(pidfile)
	if err != nil {
		t.Fatalf("cannot find dockerd: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 1 {
		t.Fatalf("dockerd pid file %s: %q", pidfile, data)
	}
	t0 := time.Now()
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatalf("cannot stop dockerd (pid %d): %v", pid, err)
	}
	eventually(t, 90*time.Second, func() error {
		if syscall.Kill(pid, 0) == nil {
			return fmt.Errorf("dockerd (pid %d) still runs", pid)
		}
		return nil
	})
	t.Logf("dockerd (pid %d) stopped in %s", pid, time.Since(t0).Round(time.Millisecond))
	r := runCmd(t, 3*time.Minute, nil, os.Environ(), filepath.Join(suite.root, "scripts", "ensure-docker.sh"))
	if r.Code != 0 {
		t.Fatalf("scripts/ensure-docker.sh: %s", r)
	}
	t.Logf("dockerd up again %s after the stop", time.Since(t0).Round(time.Millisecond))
}

// TestDockerdRestart: when Docker restarts under k2d, k2d stays up, reconnects to the event stream,
// resyncs its cache, and the pods come back Running without duplicates.
func TestDockerdRestart(t *testing.T) {
	start(t)
	if os.Getenv("K2D_E2E_RESTART_DOCKERD") != "1" {
		t.Skip("restarts dockerd, which may be shared on this machine: set K2D_E2E_RESTART_DOCKERD=1 to run it (.ci/run does)")
	}
	ns := newNamespace(t, "dockerd")
	kubectlInOK(t, sleeperPod(t, "alpha")+"\n---\n"+sleeperPod(t, "beta"), "apply", "-n", ns, "-f", "-")
	waitPodRunning(t, ns, "alpha", 90*time.Second)
	waitPodRunning(t, ns, "beta", 90*time.Second)

	restartDockerd(t)

	if !suite.running() {
		t.Fatalf("k2d exited when dockerd restarted (%v); log:\n%s", suite.exitError(), suite.logTail(30))
	}
	eventually(t, 60*time.Second, func() error {
		code, body, err := suite.get("/readyz", suite.token)
		if err != nil || code != 200 {
			return fmt.Errorf("/readyz: %d %s %v", code, body, err)
		}
		return nil
	})
	for _, name := range []string{"alpha", "beta"} {
		waitPodRunning(t, ns, name, 2*time.Minute)
	}
	// Exactly one running container per (pod, container), the sandbox included.
	running := map[string]int{}
	for _, c := range podContainers(t, ns, "") {
		if c.State == "running" {
			running[c.Pod+"/"+c.Container]++
		}
	}
	for _, key := range []string{"alpha/POD", "alpha/main", "beta/POD", "beta/main"} {
		if running[key] != 1 {
			t.Errorf("after the dockerd restart, %d running containers for %s, want 1 (all: %v)", running[key], key, running)
		}
	}
	if out := kubectlOK(t, "exec", "alpha", "-n", ns, "--", "echo", "back"); out != "back\n" {
		t.Errorf("exec after the dockerd restart: %q", out)
	}
	// The event stream is followed again: a new plain container appears, and its removal is seen.
	name := "legacy-r-" + randSuffix(5)
	dockerOK(t, "run", "-d", "--name", name, testImage, "sleep", "1d")
	t.Cleanup(func() { docker(t, "rm", "-f", name) })
	eventually(t, 30*time.Second, func() error {
		if r := kubectl(t, "get", "pod", name); r.Code != 0 {
			return fmt.Errorf("%s", r.Stderr)
		}
		return nil
	})
	dockerOK(t, "rm", "-f", name)
	eventually(t, 30*time.Second, func() error {
		if r := kubectl(t, "get", "pod", name); r.Code == 0 {
			return fmt.Errorf("pod %s still listed after docker rm -f", name)
		}
		return nil
	})
	// And new work runs.
	applyPod(t, ns, "gamma", sleeperPod(t, "gamma"))
}
