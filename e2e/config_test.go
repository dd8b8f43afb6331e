package e2e

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// cfgExec runs a shell command in a pod's first container and returns its trimmed stdout.
func cfgExec(t *testing.T, ns, pod, script string) string {
	t.Helper()
	return strings.TrimSpace(kubectlOK(t, "exec", pod, "-n", ns, "--", "sh", "-c", script))
}

// cfgWaitExec polls a shell command in a pod until its output is want; it returns how long it took.
func cfgWaitExec(t *testing.T, ns, pod, script, want string, timeout time.Duration) time.Duration {
	t.Helper()
	t0 := time.Now()
	deadline := t0.Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		r := runCmd(t, 20*time.Second, nil, suite.kubectlEnv(), suite.kubectlPath, suite.kubectlArgs("exec", pod, "-n", ns, "--", "sh", "-c", script)...)
		last = strings.TrimSpace(r.Stdout) + strings.TrimSpace(r.Stderr)
		if r.Code == 0 && strings.TrimSpace(r.Stdout) == want {
			return time.Since(t0)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s in %s/%s: %q after %s, want %q", script, ns, pod, last, timeout, want)
	return 0
}

// cfgHostMount returns the host path Docker bind-mounted at target in a pod's app container.
func cfgHostMount(t *testing.T, ns, pod, ctr, target string) string {
	t.Helper()
	for _, c := range podContainers(t, ns, pod) {
		if c.Container != ctr || c.State != "running" {
			continue
		}
		out := dockerOK(t, "inspect", "--format", "{{json .Mounts}}", c.ID)
		var mounts []struct{ Source, Destination string }
		if err := json.Unmarshal([]byte(out), &mounts); err != nil {
			t.Fatal(err)
		}
		for _, m := range mounts {
			if m.Destination == target {
				return m.Source
			}
		}
	}
	t.Fatalf("no running container %s of %s/%s mounts %s", ctr, ns, pod, target)
	return ""
}

// cfgGrep returns the regular files under dir holding any of the strings.
func cfgGrep(t *testing.T, dir string, needles ...string) []string {
	t.Helper()
	var hits []string
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || !fi.Mode().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil
		}
		for _, n := range needles {
			if strings.Contains(string(b), n) {
				hits = append(hits, p+" ("+n+")")
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hits
}

// cfgPodEvents returns "Reason: message" of the events about a pod.
func cfgPodEvents(t *testing.T, ns, pod string) []string {
	t.Helper()
	var list corev1.EventList
	kubectlJSON(t, &list, "get", "events", "-n", ns, "--field-selector", "involvedObject.name="+pod)
	var out []string
	for _, e := range list.Items {
		out = append(out, e.Reason+": "+e.Message)
	}
	return out
}

func cfgWaiting(p *corev1.Pod) string {
	for _, cs := range p.Status.ContainerStatuses {
		if cs.State.Waiting != nil {
			return cs.State.Waiting.Reason
		}
	}
	return ""
}

const configPodYAML = `apiVersion: v1
kind: Pod
metadata:
  name: cfg
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: k2d-test/busybox:1
    imagePullPolicy: Never
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
    volumeMounts:
    - {name: all, mountPath: /etc/all}
    - {name: items, mountPath: /etc/items}
    - {name: all, mountPath: /etc/app.conf, subPath: app.conf}
    - {name: opt, mountPath: /etc/opt}
  volumes:
  - name: all
    configMap: {name: app, defaultMode: 0440}
  - name: items
    configMap:
      name: app
      items:
      - {key: app.conf, path: conf/app.conf, mode: 0400}
  - name: opt
    configMap: {name: does-not-exist, optional: true}
`

// TestConfigMapVolume: a configMap volume with items, modes and subPath; an edit of the
// ConfigMap reaches the running pod's files within seconds (subPath keeps its content, as in
// Kubernetes), through the ..data symlink of the atomic writer.
func TestConfigMapVolume(t *testing.T) {
	start(t)
	ns := newNamespace(t, "cm")
	kubectlOK(t, "create", "configmap", "app", "-n", ns, "--from-literal=app.conf=v1", "--from-literal=extra=x")
	applyPod(t, ns, "cfg", configPodYAML)

	for _, c := range []struct{ script, want string }{
		{"cat /etc/all/app.conf /etc/all/extra", "v1x"},
		{"stat -L -c %a /etc/all/app.conf", "440"},
		{"cat /etc/items/conf/app.conf; stat -L -c %a /etc/items/conf/app.conf", "v1400"},
		{"ls /etc/items", "conf"},
		{"cat /etc/app.conf", "v1"},
		{"ls -A /etc/opt | grep -v '^\\.\\.' | wc -l", "0"},
		{"readlink /etc/all/app.conf", "..data/app.conf"},
		{"readlink /etc/all/..data | cut -c1-4", "..20"},
		{"touch /etc/all/new 2>/dev/null && echo writable || echo read-only", "read-only"},
	} {
		if got := strings.ReplaceAll(cfgExec(t, ns, "cfg", c.script), "\n", ""); got != c.want {
			t.Errorf("%s: %q, want %q", c.script, got, c.want)
		}
	}
	before := cfgExec(t, ns, "cfg", "readlink /etc/all/..data")

	kubectlOK(t, "patch", "configmap", "app", "-n", ns, "--type=merge", "-p", `{"data":{"app.conf":"v2"}}`)
	took := cfgWaitExec(t, ns, "cfg", "cat /etc/all/app.conf", "v2", 10*time.Second)
	t.Logf("the edit reached the running pod in %s", took.Round(time.Millisecond))
	if took > 5*time.Second {
		t.Errorf("the ConfigMap edit took %s to reach the pod", took)
	}
	cfgWaitExec(t, ns, "cfg", "cat /etc/items/conf/app.conf", "v2", 5*time.Second)
	if after := cfgExec(t, ns, "cfg", "readlink /etc/all/..data"); after == before {
		t.Errorf("..data still points to %s after the update", before)
	}
	if got := cfgExec(t, ns, "cfg", "cat /etc/app.conf"); got != "v1" {
		t.Errorf("subPath file: %q, want v1 (subPath mounts are not updated)", got)
	}
	if got := cfgExec(t, ns, "cfg", "ls -a /etc/all | grep -c '^\\.\\.20'"); got != "1" {
		t.Errorf("data dirs in the volume: %s, want 1 (the old one removed)", got)
	}
	// A key removed from the ConfigMap disappears from the volume.
	kubectlOK(t, "patch", "configmap", "app", "-n", ns, "--type=json", "-p", `[{"op":"remove","path":"/data/extra"}]`)
	cfgWaitExec(t, ns, "cfg", "ls /etc/all", "app.conf", 10*time.Second)
}

// TestSecretVolumeTmpfsAndEncryption: secret files are on a tmpfs (in the container and on
// the host), the data dir never holds the value in plain text, and the Secret survives a
// restart of k2d.
func TestSecretVolumeTmpfsAndEncryption(t *testing.T) {
	h := start(t)
	ns := newNamespace(t, "sec")
	value := "pl41n-" + randSuffix(12)
	kubectlOK(t, "create", "secret", "generic", "creds", "-n", ns, "--from-literal=password="+value)
	applyPod(t, ns, "sec", `apiVersion: v1
kind: Pod
metadata:
  name: sec
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: k2d-test/busybox:1
    imagePullPolicy: Never
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
    env:
    - name: PASSWORD
      valueFrom: {secretKeyRef: {name: creds, key: password}}
    volumeMounts:
    - {name: creds, mountPath: /etc/creds}
  volumes:
  - name: creds
    secret: {secretName: creds, defaultMode: 0400}
`)
	if got := cfgExec(t, ns, "sec", "cat /etc/creds/password; echo; stat -L -c %a /etc/creds/password; echo $PASSWORD"); got != value+"\n400\n"+value {
		t.Errorf("secret file, mode and env: %q", got)
	}
	mounts := cfgExec(t, ns, "sec", "cat /proc/mounts")
	if !cfgTmpfs(mounts, "/etc/creds") {
		t.Errorf("/etc/creds is not a tmpfs in the container:\n%s", mounts)
	}
	src := cfgHostMount(t, ns, "sec", "app", "/etc/creds")
	var st syscall.Statfs_t
	if err := syscall.Statfs(src, &st); err != nil || uint32(st.Type) != 0x01021994 {
		t.Errorf("host path %s is not on a tmpfs (type %#x, %v)", src, st.Type, err)
	}
	if strings.HasPrefix(src, h.dataDir) {
		t.Errorf("secret files under the data dir: %s", src)
	}
	b64 := base64.StdEncoding.EncodeToString([]byte(value))
	if hits := cfgGrep(t, h.dataDir, value, strings.TrimRight(b64, "=")); len(hits) > 0 {
		t.Errorf("the secret value is readable in the data dir: %v", hits)
	}
	if _, err := os.Stat(filepath.Join(h.dataDir, "pki", "encryption.key")); err != nil {
		t.Errorf("encryption key: %v", err)
	}

	restartK2D(t, syscall.SIGTERM)
	out := kubectlOK(t, "get", "secret", "creds", "-n", ns, "-o", "jsonpath={.data.password}")
	if got, _ := base64.StdEncoding.DecodeString(out); string(got) != value {
		t.Errorf("secret after a restart: %q", got)
	}
	waitPodRunning(t, ns, "sec", 30*time.Second)
	if got := cfgExec(t, ns, "sec", "cat /etc/creds/password"); got != value {
		t.Errorf("secret file after a restart: %q", got)
	}
	// A reboot empties the tmpfs and stops the containers: k2d writes the files again before
	// it starts the containers again.
	stopK2D(t, syscall.SIGTERM)
	for _, c := range podContainers(t, ns, "sec") {
		dockerOK(t, "stop", "-t", "1", c.ID)
	}
	podDir := src[:strings.Index(src, "/volumes/")]
	if err := os.RemoveAll(podDir); err != nil {
		t.Fatal(err)
	}
	startK2D(t)
	waitPodRunning(t, ns, "sec", 60*time.Second)
	if got := cfgExec(t, ns, "sec", "cat /etc/creds/password"); got != value {
		t.Errorf("secret file after the tmpfs was emptied: %q", got)
	}
	if _, err := os.Stat(podDir); err != nil {
		t.Errorf("pod files not written again at %s: %v", podDir, err)
	}

	// Editing the Secret reaches the file, still on the tmpfs.
	kubectlOK(t, "patch", "secret", "creds", "-n", ns, "--type=merge", "-p", `{"stringData":{"password":"rotated"}}`)
	cfgWaitExec(t, ns, "sec", "cat /etc/creds/password", "rotated", 10*time.Second)
	if hits := cfgGrep(t, h.dataDir, value, "rotated", "cm90YXRlZA"); len(hits) > 0 {
		t.Errorf("secret values readable in the data dir: %v", hits)
	}
}

// TestMissingConfigWaitsThenStarts: a pod whose configMap volume is missing waits in
// ContainerCreating with the kubelet's FailedMount event; one whose env needs a missing
// ConfigMap waits in CreateContainerConfigError. Both start once the ConfigMaps exist.
func TestMissingConfigWaitsThenStarts(t *testing.T) {
	start(t)
	ns := newNamespace(t, "miss")
	pod := func(name, spec string) string {
		return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %s
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: k2d-test/busybox:1
    imagePullPolicy: Never
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
%s`, name, spec)
	}
	kubectlInOK(t, pod("vol", `    volumeMounts: [{name: cfg, mountPath: /etc/cfg}]
  volumes: [{name: cfg, configMap: {name: later}}]
`)+"---\n"+pod("env", `    env:
    - name: LEVEL
      valueFrom: {configMapKeyRef: {name: later-env, key: level}}
`), "apply", "-n", ns, "-f", "-")

	eventually(t, 60*time.Second, func() error {
		p, err := podState(t, ns, "vol")
		if err != nil {
			return err
		}
		if w := cfgWaiting(p); w != "ContainerCreating" || p.Status.Phase != corev1.PodPending {
			return fmt.Errorf("vol: %s", describePod(p))
		}
		want := `FailedMount: MountVolume.SetUp failed for volume "cfg" : configmap "later" not found`
		if evs := cfgPodEvents(t, ns, "vol"); !cfgContains(evs, want) {
			return fmt.Errorf("vol events %q lack %q", evs, want)
		}
		return nil
	})
	eventually(t, 60*time.Second, func() error {
		p, err := podState(t, ns, "env")
		if err != nil {
			return err
		}
		if w := cfgWaiting(p); w != "CreateContainerConfigError" {
			return fmt.Errorf("env: %s", describePod(p))
		}
		return nil
	})
	if rows := tableRows(kubectlOK(t, "get", "pods", "-n", ns)); rowFor(rows, "vol") == nil || rowFor(rows, "vol")[2] != "ContainerCreating" ||
		rowFor(rows, "env") == nil || rowFor(rows, "env")[2] != "CreateContainerConfigError" {
		t.Errorf("kubectl get pods: %v", rows)
	}

	t0 := time.Now()
	kubectlOK(t, "create", "configmap", "later", "-n", ns, "--from-literal=k=now")
	kubectlOK(t, "create", "configmap", "later-env", "-n", ns, "--from-literal=level=debug")
	waitPodRunning(t, ns, "vol", 30*time.Second)
	waitPodRunning(t, ns, "env", 30*time.Second)
	t.Logf("both pods ran %s after their ConfigMaps were created", time.Since(t0).Round(time.Millisecond))
	if got := cfgExec(t, ns, "vol", "cat /etc/cfg/k"); got != "now" {
		t.Errorf("vol: %q", got)
	}
	if got := cfgExec(t, ns, "env", "echo $LEVEL"); got != "debug" {
		t.Errorf("env: %q", got)
	}
}

// cfgTmpfs reports whether /proc/mounts shows target mounted from a tmpfs.
func cfgTmpfs(procMounts, target string) bool {
	for _, line := range strings.Split(procMounts, "\n") {
		if f := strings.Fields(line); len(f) >= 3 && f[1] == target {
			return f[2] == "tmpfs"
		}
	}
	return false
}

func cfgContains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestDownwardAPIVolume: labels, annotations and pod fields as files; `kubectl label pod`
// reaches the labels file of the running pod.
func TestDownwardAPIVolume(t *testing.T) {
	start(t)
	ns := newNamespace(t, "down")
	// create, not apply: apply's last-applied-configuration annotation would show in the file.
	kubectlInOK(t, `apiVersion: v1
kind: Pod
metadata:
  name: info
  labels: {app: info}
  annotations: {team: edge}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: k2d-test/busybox:1
    imagePullPolicy: Never
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
    resources:
      limits: {memory: 64Mi}
    volumeMounts: [{name: podinfo, mountPath: /etc/podinfo}]
  volumes:
  - name: podinfo
    downwardAPI:
      items:
      - {path: labels, fieldRef: {fieldPath: metadata.labels}}
      - {path: annotations, fieldRef: {fieldPath: metadata.annotations}}
      - {path: name, fieldRef: {fieldPath: metadata.name}}
      - {path: namespace, fieldRef: {fieldPath: metadata.namespace}}
      - {path: uid, fieldRef: {fieldPath: metadata.uid}}
      - {path: mem_limit, resourceFieldRef: {containerName: app, resource: limits.memory, divisor: 1Mi}}
`, "create", "-n", ns, "-f", "-")
	p := waitPodRunning(t, ns, "info", 90*time.Second)
	want := fmt.Sprintf("app=\"info\"|team=\"edge\"|info|%s|%s|64", ns, p.UID)
	got := cfgExec(t, ns, "info", "for f in labels annotations name namespace uid mem_limit; do cat /etc/podinfo/$f; echo '|'; done")
	if got = strings.TrimSuffix(strings.ReplaceAll(got, "\n", ""), "|"); got != want {
		t.Errorf("downwardAPI files: %q, want %q", got, want)
	}
	kubectlOK(t, "label", "pod", "info", "-n", ns, "tier=front")
	took := cfgWaitExec(t, ns, "info", "cat /etc/podinfo/labels", "app=\"info\"\ntier=\"front\"", 10*time.Second)
	t.Logf("the label reached the file in %s", took.Round(time.Millisecond))
	if took > 5*time.Second {
		t.Errorf("kubectl label took %s to reach the file", took)
	}
}

// TestEnvFromConfigMapAndSecret: env valueFrom and envFrom (prefix, optional) resolved at start.
func TestEnvFromConfigMapAndSecret(t *testing.T) {
	start(t)
	ns := newNamespace(t, "env")
	kubectlOK(t, "create", "configmap", "settings", "-n", ns, "--from-literal=LEVEL=info", "--from-literal=MODE=fast")
	kubectlOK(t, "create", "secret", "generic", "token", "-n", ns, "--from-literal=API_TOKEN=t0k3n")
	applyPod(t, ns, "env", `apiVersion: v1
kind: Pod
metadata:
  name: env
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: k2d-test/busybox:1
    imagePullPolicy: Never
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
    envFrom:
    - configMapRef: {name: settings}
      prefix: CFG_
    - secretRef: {name: token}
    - configMapRef: {name: absent, optional: true}
    env:
    - name: ONE_LEVEL
      valueFrom: {configMapKeyRef: {name: settings, key: LEVEL}}
    - name: SECRET_COPY
      valueFrom: {secretKeyRef: {name: token, key: API_TOKEN}}
    - name: MAYBE
      valueFrom: {configMapKeyRef: {name: settings, key: nope, optional: true}}
`)
	got := cfgExec(t, ns, "env", `echo "$CFG_LEVEL $CFG_MODE $API_TOKEN $ONE_LEVEL $SECRET_COPY ${MAYBE-unset}"`)
	if got != "info fast t0k3n info t0k3n unset" {
		t.Errorf("env: %q", got)
	}
}
