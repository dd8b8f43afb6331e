package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// TestPodLifecycle walks the user story of issue 2 on one pod, "web" (testdata/web-pod.yaml): an
// init container, then two containers. Each step is a subtest named for its kubectl command.
func TestPodLifecycle(t *testing.T) {
	start(t)
	ns := newNamespace(t, "web")
	node := nodeName(t)

	// The watch starts before the pod exists, so it must see the pod Pending before it runs.
	watch := kubectlStream(t, 3*time.Minute, "get", "pods", "-o", "wide", "-w", "-n", ns)
	time.Sleep(time.Second) // let it list and start watching

	var applyOK bool
	t.Run("apply", func(t *testing.T) {
		r := kubectl(t, "apply", "-n", ns, "-f", "testdata/web-pod.yaml")
		if r.Code != 0 {
			t.Fatalf("kubectl apply: %s", r)
		}
		if strings.TrimSpace(r.Stdout) != "pod/web created" {
			t.Errorf("kubectl apply printed %q, want %q", strings.TrimSpace(r.Stdout), "pod/web created")
		}
		if strings.TrimSpace(r.Stderr) != "" {
			t.Errorf("kubectl apply wrote to stderr (validation should pass with no warning): %s", r.Stderr)
		}
		applyOK = true
	})
	if !applyOK {
		t.FailNow()
	}

	t.Run("get_pods_wide_watch", func(t *testing.T) {
		var header []string
		var statuses []string
		var running []string
		deadline := time.Now().Add(2 * time.Minute)
		for running == nil && time.Now().Before(deadline) {
			line, ok := watch.next(time.Until(deadline))
			if !ok {
				break
			}
			rows := tableRows(line)
			if len(rows) == 0 {
				continue
			}
			cells := rows[0]
			switch {
			case cells[0] == "NAME":
				header = cells
			case cells[0] == "web":
				if len(cells) < 3 {
					t.Fatalf("watch row too short: %q", line)
				}
				statuses = append(statuses, cells[2])
				if cells[2] == "Running" && cells[1] == "2/2" {
					running = cells
				}
			}
		}
		t.Logf("STATUS column over the watch: %v", statuses)
		want := []string{"NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE", "NOMINATED NODE", "READINESS GATES"}
		if strings.Join(header, "|") != strings.Join(want, "|") {
			t.Errorf("watch header %q, want %q (stderr: %s)", header, want, watch.stderr.String())
		}
		if len(statuses) == 0 {
			t.Fatalf("the watch showed no row for web; stderr: %s", watch.stderr.String())
		}
		if statuses[0] != "Pending" {
			t.Errorf("the first watch row shows STATUS %q; a new pod is Pending (as the API server returns it on create)", statuses[0])
		}
		if running == nil {
			t.Fatalf("the watch never showed web 2/2 Running; statuses seen: %v", statuses)
		}
		if len(running) != len(want) {
			t.Fatalf("Running row has %d cells, want %d: %q", len(running), len(want), running)
		}
		if ip := net.ParseIP(running[5]); ip == nil || ip.To4() == nil {
			t.Errorf("Running row IP %q is not an IPv4 address", running[5])
		}
		if running[6] != node {
			t.Errorf("Running row NODE %q, want the node %q", running[6], node)
		}
		if running[3] != "0" || running[7] != "<none>" || running[8] != "<none>" {
			t.Errorf("Running row: RESTARTS=%q NOMINATED NODE=%q READINESS GATES=%q, want 0, <none>, <none>", running[3], running[7], running[8])
		}
	})
	watch.stop()

	pod := waitPodRunning(t, ns, "web", 90*time.Second)

	t.Run("apply_again_unchanged", func(t *testing.T) {
		before := getPod(t, ns, "web")
		out := strings.TrimSpace(kubectlOK(t, "apply", "-n", ns, "-f", "testdata/web-pod.yaml"))
		// kubectl 1.32 sends a patch holding only $setElementOrder directives when the live
		// lists are longer than the manifest's (the ServiceAccount admission added the
		// kube-api-access volume and mounts, as on a cluster), and then prints "configured";
		// without them it sends none and prints "unchanged". Either way nothing may change.
		if out != "pod/web unchanged" && out != "pod/web configured" {
			t.Errorf("second kubectl apply printed %q, want pod/web unchanged (or configured)", out)
		}
		after := getPod(t, ns, "web")
		if after.UID != before.UID || after.Generation != before.Generation || len(after.Spec.Volumes) != len(before.Spec.Volumes) {
			t.Errorf("applying the same manifest changed the pod: generation %d -> %d, %d -> %d volumes", before.Generation, after.Generation, len(before.Spec.Volumes), len(after.Spec.Volumes))
		}
	})

	t.Run("get_pods", func(t *testing.T) {
		rows := tableRows(kubectlOK(t, "get", "pods", "-n", ns))
		if len(rows) < 2 || strings.Join(rows[0], "|") != "NAME|READY|STATUS|RESTARTS|AGE" {
			t.Fatalf("kubectl get pods: header %q, want NAME READY STATUS RESTARTS AGE", rows)
		}
		row := rowFor(rows, "web")
		if row == nil || row[1] != "2/2" || row[2] != "Running" || row[3] != "0" {
			t.Errorf("kubectl get pods: row %q, want web 2/2 Running 0", row)
		}
	})

	t.Run("status", func(t *testing.T) {
		p := getPod(t, ns, "web")
		if p.UID == "" || p.ResourceVersion == "" || p.CreationTimestamp.IsZero() || p.Spec.NodeName != node {
			t.Errorf("metadata: uid=%q resourceVersion=%q created=%v nodeName=%q", p.UID, p.ResourceVersion, p.CreationTimestamp, p.Spec.NodeName)
		}
		st := p.Status
		if st.PodIP == "" || st.HostIP == "" || st.StartTime == nil || st.QOSClass == "" {
			t.Errorf("status: podIP=%q hostIP=%q startTime=%v qosClass=%q", st.PodIP, st.HostIP, st.StartTime, st.QOSClass)
		}
		conds := map[corev1.PodConditionType]corev1.ConditionStatus{}
		for _, c := range st.Conditions {
			conds[c.Type] = c.Status
		}
		for _, c := range []corev1.PodConditionType{corev1.PodScheduled, corev1.PodInitialized, corev1.ContainersReady, corev1.PodReady} {
			if conds[c] != corev1.ConditionTrue {
				t.Errorf("condition %s = %q, want True (conditions: %+v)", c, conds[c], st.Conditions)
			}
		}
		if len(st.InitContainerStatuses) != 1 {
			t.Fatalf("initContainerStatuses: %+v", st.InitContainerStatuses)
		}
		ic := st.InitContainerStatuses[0]
		if ic.Name != "init" || ic.State.Terminated == nil || ic.State.Terminated.ExitCode != 0 || ic.State.Terminated.Reason != "Completed" || !ic.Ready {
			t.Errorf("init container status: %s", describePod(p))
		}
		for _, cs := range st.ContainerStatuses {
			if cs.State.Running == nil || !cs.Ready || cs.RestartCount != 0 || cs.Image == "" || cs.ImageID == "" || !strings.HasPrefix(cs.ContainerID, "docker://") {
				t.Errorf("container %s: running=%v ready=%v restarts=%d image=%q imageID=%q containerID=%q",
					cs.Name, cs.State.Running != nil, cs.Ready, cs.RestartCount, cs.Image, cs.ImageID, cs.ContainerID)
			}
		}
	})

	t.Run("docker_ps_names", func(t *testing.T) {
		cs := podContainers(t, ns, "web")
		byName := map[string]dockerContainer{}
		for _, c := range cs {
			if c.UID != string(pod.UID) {
				t.Errorf("container %s: uid in name %q, want the pod's %q", c.Name, c.UID, pod.UID)
			}
			byName[c.Container] = c
		}
		for _, name := range []string{"POD", "app", "sidecar"} {
			c, ok := byName[name]
			if !ok {
				t.Errorf("no container k8s_%s_web_%s_%s_<attempt> in docker ps -a: %+v", name, ns, pod.UID, cs)
				continue
			}
			if c.State != "running" {
				t.Errorf("container %s is %s, want running", c.Name, c.State)
			}
			labels := dockerOK(t, "inspect", "--format", `{{ index .Config.Labels "io.k2d.managed" }}`, c.ID)
			if strings.TrimSpace(labels) != "true" {
				t.Errorf("container %s lacks label io.k2d.managed=true", c.Name)
			}
		}
		for _, cs := range getPod(t, ns, "web").Status.ContainerStatuses {
			if c, ok := byName[cs.Name]; ok && cs.ContainerID != "docker://"+c.ID {
				t.Errorf("containerStatuses[%s].containerID %q, want docker://%s", cs.Name, cs.ContainerID, c.ID)
			}
		}
		if len(cs) > 4 {
			t.Errorf("more containers than the pod needs (sandbox, init, app, sidecar): %+v", cs)
		}
		if r := docker(t, "network", "inspect", "k2d-"+ns); r.Code != 0 {
			t.Errorf("no network k2d-%s for the namespace: %s", ns, r.Stderr)
		}
	})

	t.Run("logs", func(t *testing.T) {
		if out := kubectlOK(t, "logs", "web", "-c", "init", "-n", ns); strings.TrimSpace(out) != "init-done" {
			t.Errorf("kubectl logs -c init: %q, want init-done", out)
		}
		out := kubectlOK(t, "logs", "web", "-c", "app", "-n", ns)
		if !strings.HasPrefix(out, "tick 0\n") {
			t.Errorf("kubectl logs -c app should start with tick 0: %.200q", out)
		}
		if r := kubectl(t, "logs", "web", "-n", ns, "--tail=1", "-c", "app"); r.Code != 0 || strings.Count(r.Stdout, "\n") != 1 {
			t.Errorf("kubectl logs --tail=1: want one line, got %s", r)
		}
	})

	t.Run("logs_follow", func(t *testing.T) {
		last := lastTick(kubectlOK(t, "logs", "web", "-c", "app", "-n", ns))
		s := kubectlStream(t, time.Minute, "logs", "-f", "web", "-c", "app", "-n", ns)
		defer s.stop()
		// A line written after the stream started proves it follows rather than dumps and exits.
		want := fmt.Sprintf("tick %d", last+2)
		var seen []string
		for {
			line, ok := s.next(20 * time.Second)
			if !ok {
				t.Fatalf("kubectl logs -f ended or stalled before %q; lines: %q; stderr: %s", want, seen, s.stderr.String())
			}
			seen = append(seen, line)
			if line == want {
				break
			}
		}
	})

	t.Run("exec", func(t *testing.T) {
		if out := kubectlOK(t, "exec", "web", "-c", "app", "-n", ns, "--", "cat", "/etc/hostname"); strings.TrimSpace(out) != "web" {
			t.Errorf("kubectl exec web -c app -- cat /etc/hostname: %q, want the pod name", out)
		}
		if out := kubectlOK(t, "exec", "web", "-c", "app", "-n", ns, "--", "sh", "-c", "echo $GREETING $POD_NAME; cat /work/init.txt"); out != "hello-from-env web\ninit-done\n" {
			t.Errorf("env and the emptyDir written by the init container: got %q", out)
		}
		r := kubectl(t, "exec", "web", "-c", "app", "-n", ns, "--", "sh", "-c", "echo out; echo err >&2; exit 3")
		if r.Code != 3 || r.Stdout != "out\n" || !strings.Contains(r.Stderr, "err\n") {
			t.Errorf("exec with stderr and exit 3: want exit 3, stdout out, stderr err; got %s", r)
		}
		if !strings.Contains(r.Stderr, "command terminated with exit code 3") {
			t.Errorf("kubectl should report %q: %s", "command terminated with exit code 3", r.Stderr)
		}
		// stdin, closed at the end (what kubectl cp needs).
		if out := kubectlInOK(t, "hello\nstdin\n", "exec", "-i", "web", "-c", "app", "-n", ns, "--", "sh", "-c", "cat; echo eof"); out != "hello\nstdin\neof\n" {
			t.Errorf("exec -i: got %q", out)
		}
		// Without -t there is no TTY; the default container is the first one.
		r = kubectl(t, "exec", "-i", "web", "-n", ns, "--", "sh", "-c", "tty; echo $HOSTNAME")
		if !strings.Contains(r.Stdout, "not a tty") {
			t.Errorf("exec without -t: tty should say 'not a tty': %s", r)
		}
		// Both containers share the pod's network namespace.
		ipApp := kubectlOK(t, "exec", "web", "-c", "app", "-n", ns, "--", "sh", "-c", "ip -4 -o addr show eth0")
		ipSide := kubectlOK(t, "exec", "web", "-c", "sidecar", "-n", ns, "--", "sh", "-c", "ip -4 -o addr show eth0")
		if ipApp != ipSide || !strings.Contains(ipApp, pod.Status.PodIP+"/") {
			t.Errorf("app and sidecar should share eth0 with the pod IP %s: app %q, sidecar %q", pod.Status.PodIP, ipApp, ipSide)
		}
	})

	t.Run("exec_it", func(t *testing.T) {
		out, err := execTTY(t, ns, "web", "tty; echo marker-$((6*7))")
		if err != nil {
			t.Fatalf("kubectl exec -it: %v\noutput:\n%q", err, out)
		}
		if !regexp.MustCompile(`/dev/pts/\d+`).MatchString(out) || strings.Contains(out, "not a tty") {
			t.Errorf("kubectl exec -it: `tty` should name a pseudo-terminal; output:\n%q", out)
		}
	})

	t.Run("describe", func(t *testing.T) {
		reasons := []string{"Scheduled", "Pulled", "Created", "Started"}
		var out string
		eventually(t, 30*time.Second, func() error {
			out = kubectlOK(t, "describe", "pod", "web", "-n", ns)
			i := strings.Index(out, "\nEvents:")
			if i < 0 {
				return fmt.Errorf("no Events section in:\n%s", out)
			}
			events := out[i:]
			for _, r := range reasons {
				if !regexp.MustCompile(`(?m)^\s+Normal\s+` + r + `\s`).MatchString(events) {
					return fmt.Errorf("no Normal %s event in:\n%s", r, events)
				}
			}
			return nil
		})
		for _, re := range []string{
			`(?m)^Name:\s+web$`,
			`(?m)^Namespace:\s+` + regexp.QuoteMeta(ns) + `$`,
			`(?m)^Node:\s+` + regexp.QuoteMeta(node) + `/\S+$`,
			`(?m)^Status:\s+Running$`,
			`(?m)^IP:\s+` + regexp.QuoteMeta(pod.Status.PodIP) + `$`,
			`(?m)^Init Containers:$`,
			`(?m)^Containers:$`,
			`(?m)^  app:$`,
			`(?m)^  sidecar:$`,
			`(?m)\sSuccessfully assigned ` + regexp.QuoteMeta(ns) + `/web to ` + regexp.QuoteMeta(node) + `$`,
		} {
			if !regexp.MustCompile(re).MatchString(out) {
				t.Errorf("kubectl describe pod web: no line matching %s in:\n%s", re, out)
			}
		}
	})

	t.Run("label_keeps_containers", func(t *testing.T) {
		before := containerIDs(podContainers(t, ns, "web"))
		if out := kubectlOK(t, "label", "pod", "web", "-n", ns, "tier=front"); strings.TrimSpace(out) != "pod/web labeled" {
			t.Errorf("kubectl label printed %q", out)
		}
		if got := kubectlOK(t, "get", "pods", "-n", ns, "-l", "tier=front", "-o", "name"); strings.TrimSpace(got) != "pod/web" {
			t.Errorf("kubectl get pods -l tier=front: %q, want pod/web", got)
		}
		if got := kubectl(t, "get", "pods", "-n", ns, "-l", "tier=back"); !strings.Contains(got.Stderr, "No resources found in "+ns+" namespace.") {
			t.Errorf("kubectl get pods -l tier=back: %s", got)
		}
		time.Sleep(time.Second)
		if after := containerIDs(podContainers(t, ns, "web")); strings.Join(after, ",") != strings.Join(before, ",") {
			t.Errorf("a label change replaced containers: %v -> %v", before, after)
		}
	})

	t.Run("delete", func(t *testing.T) {
		ids := map[string]string{}
		for _, c := range podContainers(t, ns, "web") {
			ids[c.Container] = c.ID
		}
		t0 := time.Now()
		r := kubectlWith(t, 90*time.Second, "", "delete", "pod", "web", "-n", ns)
		if r.Code != 0 || strings.TrimSpace(r.Stdout) != `pod "web" deleted` {
			t.Fatalf("kubectl delete pod web: want %q, got %s", `pod "web" deleted`, r)
		}
		// Both containers trap SIGTERM and exit 0: a 137 means they were killed instead.
		for _, name := range []string{"app", "sidecar"} {
			if code := dieExitCode(t, ids[name], t0); code != "0" {
				t.Errorf("container %s: exit code %s on delete, want 0 (it exits on SIGTERM)", name, code)
			}
		}
		r = kubectl(t, "get", "pod", "web", "-n", ns)
		if want := `Error from server (NotFound): pods "web" not found`; strings.TrimSpace(r.Stderr) != want {
			t.Errorf("after delete, kubectl get pod web: want %q, got %s", want, r)
		}
		eventually(t, 20*time.Second, func() error {
			if cs := podContainers(t, ns, "web"); len(cs) != 0 {
				return fmt.Errorf("containers of the deleted pod remain: %+v", cs)
			}
			return nil
		})
	})
}

var tickRe = regexp.MustCompile(`(?m)^tick (\d+)$`)

// lastTick returns the highest "tick N" in the app's log.
func lastTick(out string) int {
	last := -1
	for _, m := range tickRe.FindAllStringSubmatch(out, -1) {
		if n, _ := strconv.Atoi(m[1]); n > last {
			last = n
		}
	}
	return last
}

// execTTY runs `kubectl exec -it <pod> -- sh` under script(1), which gives kubectl a real
// terminal, types command, waits for marker-42 (the command's computed output, which a terminal
// echo of the input cannot contain), then types exit. It returns everything the terminal showed.
func execTTY(t *testing.T, ns, pod, command string) (string, error) {
	t.Helper()
	script, err := exec.LookPath("script")
	if err != nil {
		t.Fatalf("script(1) from util-linux is needed for a TTY: %v", err)
	}
	args := append([]string{suite.kubectlPath}, suite.kubectlArgs("exec", "-it", pod, "-n", ns, "--", "sh")...)
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, script, "-qec", strings.Join(quoted, " "), "/dev/null")
	cmd.Env = append(suite.kubectlEnv(), "TERM=xterm")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	cmd.WaitDelay = 5 * time.Second
	t.Logf("$ script -qec 'kubectl exec -it %s -n %s -- sh' /dev/null", pod, ns)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	var buf strings.Builder
	changed := make(chan struct{}, 1)
	go func() {
		r := bufio.NewReader(stdout)
		chunk := make([]byte, 4096)
		for {
			n, err := r.Read(chunk)
			mu.Lock()
			buf.Write(chunk[:n])
			mu.Unlock()
			select {
			case changed <- struct{}{}:
			default:
			}
			if err != nil {
				return
			}
		}
	}()
	output := func() string {
		mu.Lock()
		defer mu.Unlock()
		return buf.String()
	}
	waitFor := func(s string, d time.Duration) bool {
		deadline := time.After(d)
		for !strings.Contains(output(), s) {
			select {
			case <-changed:
			case <-deadline:
				return false
			}
		}
		return true
	}
	// A prompt means the shell runs with its terminal; type even without one, to see what happens.
	waitFor("# ", 15*time.Second)
	io.WriteString(stdin, command+"\n")
	got := waitFor("marker-42", 20*time.Second)
	io.WriteString(stdin, "exit\n")
	time.Sleep(500 * time.Millisecond)
	stdin.Close()
	err = cmd.Wait()
	out := output()
	switch {
	case ctx.Err() != nil:
		return out, fmt.Errorf("kubectl exec -it did not end within a minute")
	case !got:
		return out, fmt.Errorf("the command's output (marker-42) never appeared (exit: %v)", err)
	case err != nil:
		return out, fmt.Errorf("kubectl exec -it: %v", err)
	}
	return out, nil
}
