//go:build docker

// End-to-end check that translated containers run on a real Docker engine. It talks to the
// socket with net/http, sending exactly the create bodies translate produces (the docker CLI
// cannot take a raw create body, and k2d's own client is written separately); reads use the
// docker CLI. Run with: go test -tags docker -run TestDocker ./translate/
// With -update it also rewrites the pod fixtures in testdata/inspect used by the unit tests.
package translate

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	corev1 "k8s.io/api/core/v1"
)

var update = flag.Bool("update", false, "rewrite testdata/inspect/pod-*.json from the live engine")

const (
	dockerSock = "/var/run/docker.sock"
	testLabel  = "io.k2d.test"
	testImage  = "k2d-test/busybox:1"
)

// The sandbox stands in for k2d's pause image: a shell that exits on SIGTERM.
var pauseCmd = []string{"/bin/sh", "-c", "trap 'exit 0' TERM; while :; do sleep 3600 & wait; done"}

type engine struct {
	t *testing.T
	c *http.Client
}

func newEngine(t *testing.T) *engine {
	t.Helper()
	if _, err := os.Stat(dockerSock); err != nil {
		t.Skip("no Docker socket")
	}
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("no docker CLI")
	}
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", dockerSock)
	}}
	return &engine{t: t, c: &http.Client{Transport: tr, Timeout: 60 * time.Second}}
}

// api calls the Engine API (v1.41, what Docker 20.10 speaks) and decodes the answer into out.
func (e *engine) api(method, path string, body, out any) {
	e.t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			e.t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, "http://docker/v1.41"+path, r)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.c.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		e.t.Fatalf("%s %s: %s: %s", method, path, resp.Status, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			e.t.Fatalf("%s %s: cannot decode %s: %v", method, path, b, err)
		}
	}
}

// run creates and starts spec, returning the container ID.
func (e *engine) run(spec ContainerSpec) string {
	e.t.Helper()
	spec.Config.Labels[testLabel] = "translate"
	// A k2d running against the same engine (a developer's, or another test) garbage-collects
	// managed containers of pods it does not know; these test pods must survive it.
	spec.Config.Labels[LabelManaged] = "false"
	var created container.CreateResponse
	e.api("POST", "/containers/create?name="+spec.Name, spec.CreateRequest(), &created)
	e.api("POST", "/containers/"+created.ID+"/start", nil, nil)
	return created.ID
}

// mustRun is run for containers that must stay up (sandboxes): it reports why one did not.
func (e *engine) mustRun(spec ContainerSpec) string {
	e.t.Helper()
	id := e.run(spec)
	time.Sleep(100 * time.Millisecond)
	if c := e.inspect(id); c.State == nil || !c.State.Running {
		logs, _ := exec.Command("docker", "logs", id).CombinedOutput()
		e.t.Fatalf("%s is not running: %s\nlogs: %s", spec.Name, toJSON(c.State), logs)
	}
	return id
}

func (e *engine) wait(id string) {
	e.t.Helper()
	e.api("POST", "/containers/"+id+"/wait", nil, nil)
}

func (e *engine) inspect(id string) container.InspectResponse {
	e.t.Helper()
	var c container.InspectResponse
	e.api("GET", "/containers/"+id+"/json", nil, &c)
	return c
}

func (e *engine) cli(args ...string) string {
	e.t.Helper()
	out, err := exec.Command("docker", args...).CombinedOutput()
	if err != nil {
		e.t.Fatalf("docker %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// cleanup removes what a test pod left: its containers, emptyDir volumes and the network.
func (e *engine) cleanup(pod *corev1.Pod, withNetwork bool) {
	sh := func(s string) { _ = exec.Command("sh", "-c", s).Run() }
	sh("docker ps -aq --filter label=" + LabelPodUID + "=" + string(pod.UID) + " | xargs -r docker rm -f")
	sh("docker volume ls -q --filter label=" + LabelPodUID + "=" + string(pod.UID) + " | xargs -r docker volume rm")
	if withNetwork {
		sh("docker network rm " + NetworkName(pod.Namespace))
	}
}

func TestDockerPod(t *testing.T) {
	e := newEngine(t)
	pod := loadPod(t, "web-0.json")
	e.cleanup(pod, true)
	t.Cleanup(func() { e.cleanup(pod, true) })

	netReq := Network(pod.Namespace)
	netReq.Labels[testLabel] = "translate"
	netReq.Labels[LabelManaged] = "false" // see run
	e.api("POST", "/networks/create", netReq, nil)

	sbID := e.mustRun(Sandbox(pod, testImage, pauseCmd, 0))
	sb := e.inspect(sbID)
	podIP := sb.NetworkSettings.Networks[NetworkName(pod.Namespace)].IPAddress
	if podIP == "" {
		t.Fatalf("sandbox has no IP on %s: %s", NetworkName(pod.Namespace), toJSON(sb.NetworkSettings))
	}
	env := EnvContext{PodIP: podIP, HostIP: "192.0.2.1", NodeName: "node"}

	spec, err := Container(pod, &pod.Spec.InitContainers[0], KindInit, 0, sbID, 0, env)
	if err != nil {
		t.Fatal(err)
	}
	initID := e.run(spec)
	e.wait(initID)

	ids := map[string]string{}
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		spec, err := Container(pod, c, KindApp, i, sbID, 0, env)
		if err != nil {
			t.Fatal(err)
		}
		ids[c.Name] = e.run(spec)
	}
	// The controller restarts a failed container as a new attempt; do that once.
	e.wait(ids["fails"])
	failsIdx := 2
	spec, err = Container(pod, &pod.Spec.Containers[failsIdx], KindApp, failsIdx, sbID, 1, env)
	if err != nil {
		t.Fatal(err)
	}
	fails1 := e.run(spec)
	e.wait(fails1)
	time.Sleep(300 * time.Millisecond) // let httpd bind and the probe print

	probe := ids["probe"]
	checks := []struct{ name, cmd, want string }{
		{"hostname", "hostname", "web-0"},
		{"fqdn in /etc/hosts", "grep -c 'web-0.web.k2dtest.svc.cluster.local' /etc/hosts", "1"},
		{"hostAliases", "grep registry.local /etc/hosts", "10.9.8.7\tregistry.local"},
		{"dns search", "grep search /etc/resolv.conf", "search k2dtest.svc.cluster.local svc.cluster.local cluster.local"},
		{"dns ndots", "grep options /etc/resolv.conf", "options ndots:5"},
		{"dns server", "grep nameserver /etc/resolv.conf", "nameserver 127.0.0.11"},
		{"shared network + init wrote emptyDir", "wget -qO- http://localhost:8080/index.html", "hello from web-0"},
		{"memory emptyDir written by init", "cat /cache/x", "cached"},
		{"user", "id -u; id -g", "1000\n3000"},
		{"groups", "id -G", "3000 2000 4000"},
		{"memory limit", "cat /sys/fs/cgroup/memory/memory.limit_in_bytes", "33554432"},
		{"cpu quota", "cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us", "25000\n100000"},
		{"cpu shares", "cat /sys/fs/cgroup/cpu/cpu.shares", "102"},
		{"env", "echo $POD_NAME $POD_IP $APP $GREETING $MEM_MI", "web-0 " + podIP + " web hello-web-0-web 32"},
		{"alias resolves", "ping -c1 -W1 web-0.web 2>/dev/null | head -1", "PING web-0.web (" + podIP + "): 56 data bytes"},
		{"pod name resolves", "ping -c1 -W1 web-0 2>/dev/null | head -1", "PING web-0 (" + podIP + "): 56 data bytes"},
		{"no new privileges", "grep NoNewPrivs /proc/self/status", "NoNewPrivs:\t1"},
		{"caps dropped", "grep CapEff /proc/self/status", "CapEff:\t0000000000000000"},
	}
	for _, c := range checks {
		if got := e.cli("exec", probe, "sh", "-c", c.cmd); got != c.want {
			t.Errorf("%s: %q = %q, want %q", c.name, c.cmd, got, c.want)
		}
	}
	if got, want := e.cli("logs", probe), "hello-web-0-web "+podIP+" $(MISSING) $(POD_NAME) 32"; got != want {
		t.Errorf("probe log = %q, want %q", got, want)
	}
	if got := e.cli("exec", ids["web"], "sh", "-c", "touch /data/x 2>&1 || echo ro"); !strings.HasSuffix(got, "ro") {
		t.Errorf("readOnly volumeMount is writable: %q", got)
	}
	// hostPort: published by the sandbox on the host.
	resp, err := http.Get("http://127.0.0.1:38473/index.html")
	if err != nil {
		t.Errorf("hostPort: %v", err)
	} else {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.TrimSpace(string(b)) != "hello from web-0" {
			t.Errorf("hostPort answered %q", b)
		}
	}

	// Status from what Docker reports, as the controller will compute it.
	sb = e.inspect(sbID)
	all := []container.InspectResponse{e.inspect(initID), e.inspect(ids["web"]), e.inspect(ids["probe"]), e.inspect(ids["fails"]), e.inspect(fails1)}
	obs := Observed{HostIP: "192.0.2.1", Containers: map[string]ContainerObservation{
		"fails": {Reason: ReasonCrashLoopBackOff, Message: "back-off 10s restarting failed container=fails"},
	}}
	st := PodStatus(pod, &sb, all, time.Now(), obs)
	if st.Phase != corev1.PodRunning || st.PodIP != podIP || st.QOSClass != corev1.PodQOSBurstable {
		t.Errorf("phase %s, podIP %s, qos %s", st.Phase, st.PodIP, st.QOSClass)
	}
	byName := map[string]corev1.ContainerStatus{}
	for _, cs := range st.ContainerStatuses {
		byName[cs.Name] = cs
	}
	if cs := byName["fails"]; cs.RestartCount != 1 || cs.State.Waiting == nil || cs.LastTerminationState.Terminated == nil ||
		cs.LastTerminationState.Terminated.ExitCode != 2 {
		t.Errorf("fails status: %s", toJSON(cs))
	}
	if cs := byName["web"]; !cs.Ready || cs.State.Running == nil {
		t.Errorf("web status: %s", toJSON(cs))
	}
	if is := st.InitContainerStatuses[0]; is.State.Terminated == nil || is.State.Terminated.Reason != ReasonCompleted || !is.Ready {
		t.Errorf("init status: %s", toJSON(is))
	}

	if *update {
		e.writeFixture("pod-web-0.json", sbID, initID, ids["web"], ids["probe"], ids["fails"], fails1)
	}
}

func TestDockerHostNetwork(t *testing.T) {
	e := newEngine(t)
	pod := loadPod(t, "hostnet.json")
	e.cleanup(pod, false)
	t.Cleanup(func() { e.cleanup(pod, false) })

	sbID := e.mustRun(Sandbox(pod, testImage, pauseCmd, 0))
	spec, err := Container(pod, &pod.Spec.Containers[0], KindApp, 0, sbID, 0, EnvContext{})
	if err != nil {
		t.Fatal(err)
	}
	id := e.run(spec)
	host, _ := os.Hostname()
	if got := e.cli("exec", id, "hostname"); got != host {
		t.Errorf("hostname %q, want the node's %q", got, host)
	}
	if got := e.cli("exec", id, "sh", "-c", "grep registry.local /etc/hosts"); got != "10.9.8.7\tregistry.local" {
		t.Errorf("hostAliases: %q", got)
	}
	hostLinks, _ := exec.Command("sh", "-c", "ls /sys/class/net | sort").Output()
	if got := e.cli("exec", id, "sh", "-c", "ls /sys/class/net | sort"); got != strings.TrimSpace(string(hostLinks)) {
		t.Errorf("not in the host network namespace: links %q, host has %q", got, hostLinks)
	}
	sb := e.inspect(sbID)
	st := PodStatus(pod, &sb, []container.InspectResponse{e.inspect(id)}, time.Now(), Observed{HostIP: "192.0.2.1"})
	if st.Phase != corev1.PodRunning || st.PodIP != "192.0.2.1" {
		t.Errorf("phase %s podIP %s", st.Phase, st.PodIP)
	}
	if *update {
		e.writeFixture("pod-hostnet.json", sbID, id)
	}
}

// writeFixture stores Docker's own inspect output (not a re-encoding of the Go types).
func (e *engine) writeFixture(name string, ids ...string) {
	e.t.Helper()
	out := e.cli(append([]string{"inspect"}, ids...)...)
	if err := os.WriteFile(filepath.Join("testdata", "inspect", name), []byte(out+"\n"), 0o644); err != nil {
		e.t.Fatal(err)
	}
	fmt.Println("wrote", name)
}
