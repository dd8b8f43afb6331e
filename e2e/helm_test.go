package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// Helm 3 against k2d: a chart (testdata/helm/plant) is installed, upgraded, rolled back, rendered
// and dry-run applied, broken on purpose with --atomic, and uninstalled, with the real helm CLI.
// scripts/ensure-helm.sh finds helm, or builds it from source on first use.

const (
	helmChart   = "testdata/helm/plant"
	helmRelease = "plant"
	// The app's name: the chart's fullname for release "plant" of chart "plant".
	helmApp = "plant"
	// helm's own --timeout; the command's timeout is a minute longer, so helm reports its own.
	helmWait       = "2m"
	helmCmdTimeout = 3 * time.Minute
	// Building helm from source on a fresh machine: a few minutes.
	helmBuildTimeout = 10 * time.Minute
	// The Secret type and name Helm 3 stores releases under.
	helmReleaseType = "helm.sh/release.v1"
	// The chart's default values (values.yaml).
	helmGreeting = "hello from plant"
	helmMode     = "normal"
	helmToken    = "plant-token-v1"
)

// helmBin is the helm binary TestHelm uses (set by needHelm).
var helmBin string

// needHelm finds helm with scripts/ensure-helm.sh, which builds it on first use (up to
// helmBuildTimeout). Outside CI a failure skips the test loudly; in CI (CI=true) it fails it.
func needHelm(t *testing.T) string {
	t.Helper()
	script := filepath.Join(suite.root, "scripts", "ensure-helm.sh")
	// The caller's real environment: the script looks in $HOME/.cache and $XDG_CACHE_HOME.
	r := runCmd(t, helmBuildTimeout, nil, os.Environ(), "bash", script)
	t.Logf("$ scripts/ensure-helm.sh  # exit %d, %s", r.Code, r.Took.Round(time.Millisecond))
	if s := strings.TrimSpace(r.Stderr); s != "" {
		t.Logf("ensure-helm: %s", s)
	}
	var path string
	if lines := strings.Split(strings.TrimSpace(r.Stdout), "\n"); len(lines) > 0 {
		path = strings.TrimSpace(lines[len(lines)-1])
	}
	if r.Code == 0 && path != "" {
		if _, err := os.Stat(path); err == nil {
			return path
		}
	}
	msg := fmt.Sprintf("helm is not available (scripts/ensure-helm.sh builds it with Go; set K2D_HELM to use another): %s", r)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip("SKIPPED, NOT TESTED: " + msg)
	return ""
}

// helmEnv is helm's environment: ours without a kubeconfig, HOME or Helm settings of the
// developer's, with the test's HOME (so its discovery cache is fresh) and Helm directories in the
// work dir.
func helmEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k == "KUBECONFIG" || k == "HOME" || strings.HasPrefix(k, "HELM_") {
			continue
		}
		env = append(env, kv)
	}
	dir := filepath.Join(suite.workDir, "helm")
	return append(env, "HOME="+suite.homeDir,
		"HELM_CACHE_HOME="+filepath.Join(dir, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(dir, "config"),
		"HELM_DATA_HOME="+filepath.Join(dir, "data"))
}

// helmRun runs helm against the server under test (the harness's kubeconfig) and returns what it
// did.
func helmRun(t *testing.T, args ...string) result {
	t.Helper()
	full := append(slices.Clone(args), "--kubeconfig="+suite.kubeconfigPath())
	r := runCmd(t, helmCmdTimeout, nil, helmEnv(), helmBin, full...)
	t.Logf("$ helm %s  # exit %d, %s", strings.Join(args, " "), r.Code, r.Took.Round(time.Millisecond))
	return r
}

// helmOK runs helm and fails the test unless it exits 0; it returns stdout.
func helmOK(t *testing.T, args ...string) string {
	t.Helper()
	r := helmRun(t, args...)
	if r.Code != 0 {
		t.Fatalf("helm %s: %s", strings.Join(args, " "), r)
	}
	return r.Stdout
}

// helmJSON runs helm ... -o json and decodes stdout into v.
func helmJSON(t *testing.T, v any, args ...string) {
	t.Helper()
	out := helmOK(t, append(args, "-o", "json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("helm %s -o json: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// helmListEntry is one row of `helm list -o json`.
type helmListEntry struct {
	Name       string `json:"name"`
	Namespace  string `json:"namespace"`
	Revision   string `json:"revision"`
	Status     string `json:"status"`
	Chart      string `json:"chart"`
	AppVersion string `json:"app_version"`
}

// helmHistoryEntry is one row of `helm history -o json`.
type helmHistoryEntry struct {
	Revision    int    `json:"revision"`
	Status      string `json:"status"`
	Chart       string `json:"chart"`
	Description string `json:"description"`
}

// helmStatus is the part of `helm status -o json` the test reads.
type helmStatus struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	Version   int    `json:"version"`
	Info      struct {
		Status      string `json:"status"`
		Description string `json:"description"`
		Notes       string `json:"notes"`
	} `json:"info"`
}

// helmCheckRelease asserts helm status: revision rev is the deployed release.
func helmCheckRelease(t *testing.T, ns string, rev int) {
	t.Helper()
	var st helmStatus
	helmJSON(t, &st, "status", helmRelease, "-n", ns)
	if st.Name != helmRelease || st.Namespace != ns || st.Version != rev || st.Info.Status != "deployed" {
		t.Fatalf("helm status: name %q namespace %q revision %d status %q (%s), want %s %s revision %d deployed",
			st.Name, st.Namespace, st.Version, st.Info.Status, st.Info.Description, helmRelease, ns, rev)
	}
}

// helmCheckHistory asserts helm history: one row per revision, with these statuses and
// descriptions (a description "" is not checked).
func helmCheckHistory(t *testing.T, ns string, want ...[2]string) {
	t.Helper()
	var hist []helmHistoryEntry
	helmJSON(t, &hist, "history", helmRelease, "-n", ns)
	var got []string
	for _, h := range hist {
		got = append(got, fmt.Sprintf("%d %s %q", h.Revision, h.Status, h.Description))
	}
	if len(hist) != len(want) {
		t.Fatalf("helm history: %d revisions, want %d:\n%s", len(hist), len(want), strings.Join(got, "\n"))
	}
	for i, w := range want {
		h := hist[i]
		if h.Revision != i+1 || h.Status != w[0] || (w[1] != "" && h.Description != w[1]) || h.Chart != "plant-0.1.0" {
			t.Errorf("helm history row %d: revision %d status %q description %q chart %q, want revision %d status %q description %q chart plant-0.1.0",
				i, h.Revision, h.Status, h.Description, h.Chart, i+1, w[0], w[1])
		}
	}
	if t.Failed() {
		t.FailNow()
	}
}

// helmCheckReleaseSecrets asserts the Secrets Helm keeps its releases in: exactly revisions
// 1..len(statuses), each of type helm.sh/release.v1 with the labels Helm 3 puts on them.
func helmCheckReleaseSecrets(t *testing.T, ns string, statuses ...string) {
	t.Helper()
	var list corev1.SecretList
	kubectlJSON(t, &list, "get", "secrets", "-n", ns, "-l", "owner=helm,name="+helmRelease)
	var names []string
	for _, s := range list.Items {
		names = append(names, s.Name)
	}
	if len(list.Items) != len(statuses) {
		t.Fatalf("release Secrets (label owner=helm,name=%s): %v, want %d", helmRelease, names, len(statuses))
	}
	for i, status := range statuses {
		name := fmt.Sprintf("sh.helm.release.v1.%s.v%d", helmRelease, i+1)
		var s corev1.Secret
		kubectlJSON(t, &s, "get", "secret", name, "-n", ns)
		if string(s.Type) != helmReleaseType {
			t.Errorf("secret %s: type %q, want %q", name, s.Type, helmReleaseType)
		}
		want := map[string]string{"owner": "helm", "name": helmRelease, "status": status, "version": fmt.Sprint(i + 1)}
		for k, v := range want {
			if s.Labels[k] != v {
				t.Errorf("secret %s: label %s=%q, want %q (labels %v)", name, k, s.Labels[k], v, s.Labels)
			}
		}
		if len(s.Data["release"]) == 0 {
			t.Errorf("secret %s: no data.release", name)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
}

// helmDeployment fetches the app's Deployment without failing the test.
func helmDeployment(t *testing.T, ns string) (*appsv1.Deployment, error) {
	t.Helper()
	r := kubectl(t, "get", "deployment", helmApp, "-n", ns, "-o", "json")
	if r.Code != 0 {
		return nil, fmt.Errorf("kubectl get deployment %s: %s", helmApp, strings.TrimSpace(r.Stderr))
	}
	var d appsv1.Deployment
	if err := json.Unmarshal([]byte(r.Stdout), &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// helmPods returns the release's pods that are not being deleted.
func helmPods(t *testing.T, ns string) []corev1.Pod {
	t.Helper()
	var list corev1.PodList
	kubectlJSON(t, &list, "get", "pods", "-n", ns, "-l", "app.kubernetes.io/instance="+helmRelease)
	var live []corev1.Pod
	for _, p := range list.Items {
		if p.DeletionTimestamp == nil {
			live = append(live, p)
		}
	}
	sort.Slice(live, func(i, j int) bool { return live[i].Name < live[j].Name })
	return live
}

// helmWaitAvailable waits until the Deployment wants replicas pods, has observed its spec, is
// Available with all its pods updated, ready and available, and exactly replicas live pods of its
// current template run, all ready. It returns them.
func helmWaitAvailable(t *testing.T, ns string, replicas int32) []corev1.Pod {
	t.Helper()
	var pods []corev1.Pod
	eventually(t, 90*time.Second, func() error {
		d, err := helmDeployment(t, ns)
		if err != nil {
			return err
		}
		s := d.Status
		if d.Spec.Replicas == nil || *d.Spec.Replicas != replicas {
			return fmt.Errorf("deployment %s: spec.replicas %v, want %d", helmApp, d.Spec.Replicas, replicas)
		}
		if s.ObservedGeneration < d.Generation || s.Replicas != replicas || s.UpdatedReplicas != replicas ||
			s.ReadyReplicas != replicas || s.AvailableReplicas != replicas {
			return fmt.Errorf("deployment %s: generation %d observed %d replicas %d updated %d ready %d available %d, want %d",
				helmApp, d.Generation, s.ObservedGeneration, s.Replicas, s.UpdatedReplicas, s.ReadyReplicas, s.AvailableReplicas, replicas)
		}
		available := false
		for _, c := range s.Conditions {
			if c.Type == appsv1.DeploymentAvailable && c.Status == corev1.ConditionTrue {
				available = true
			}
		}
		if !available {
			return fmt.Errorf("deployment %s: condition Available is not True: %+v", helmApp, s.Conditions)
		}
		pods = helmPods(t, ns)
		if len(pods) != int(replicas) {
			return fmt.Errorf("%d live pods, want %d", len(pods), replicas)
		}
		for i := range pods {
			p := &pods[i]
			if got, want := p.Annotations["checksum/config"], d.Spec.Template.Annotations["checksum/config"]; got != want {
				return fmt.Errorf("pod %s is of an older template (checksum/config %q, deployment has %q)", p.Name, got, want)
			}
			if !podIsReadyForHelm(p) {
				return fmt.Errorf("pod %s not ready: %s", p.Name, describePod(p))
			}
		}
		return nil
	})
	return pods
}

func podIsReadyForHelm(p *corev1.Pod) bool {
	if p.Status.Phase != corev1.PodRunning {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// helmCheckApp asserts what the pods run: the ConfigMap's greeting mounted at /www, its mode and
// the Secret's token in the environment, and the greeting served through the Service by name.
func helmCheckApp(t *testing.T, ns string, pods []corev1.Pod, greeting, mode, token string) {
	t.Helper()
	var cm corev1.ConfigMap
	kubectlJSON(t, &cm, "get", "configmap", helmApp, "-n", ns)
	if cm.Data["index.html"] != greeting || cm.Data["mode"] != mode {
		t.Errorf("configmap %s: data %v, want index.html=%q mode=%q", helmApp, cm.Data, greeting, mode)
	}
	for _, p := range pods {
		if got := kubectlOK(t, "exec", "-n", ns, p.Name, "--", "cat", "/www/index.html"); got != greeting {
			t.Errorf("pod %s: /www/index.html (the ConfigMap volume) is %q, want %q", p.Name, got, greeting)
		}
		if got, want := kubectlOK(t, "exec", "-n", ns, p.Name, "--", "sh", "-c", `echo "$PLANT_MODE/$PLANT_TOKEN"`), mode+"/"+token+"\n"; got != want {
			t.Errorf("pod %s: PLANT_MODE, PLANT_TOKEN = %q, want %q", p.Name, got, want)
		}
	}
	url := fmt.Sprintf("http://%s.%s.svc.cluster.local/", helmApp, ns)
	eventually(t, 30*time.Second, func() error {
		// No wget -T: the test image's busybox wget segfaults with it (exit 139); kubectl's
		// timeout bounds the call instead.
		r := kubectl(t, "exec", "-n", ns, pods[0].Name, "--", "wget", "-qO-", url)
		if r.Code != 0 || r.Stdout != greeting {
			return fmt.Errorf("wget %s through the Service: got %q, want %q: %s", url, r.Stdout, greeting, r)
		}
		return nil
	})
	if t.Failed() {
		t.FailNow()
	}
}

// helmReleaseContainers lists the Docker containers (sandboxes included, running or not) of the
// release's pods: those labelled with the namespace, whose pod name is the app's.
func helmReleaseContainers(t *testing.T, ns string) []string {
	t.Helper()
	out := dockerOK(t, "ps", "-a", "--filter", "label=io.kubernetes.pod.namespace="+ns,
		"--format", `{{.Names}} {{.State}} {{.Label "io.kubernetes.pod.name"}}`)
	var cs []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 3 && strings.HasPrefix(f[2], helmApp+"-") {
			cs = append(cs, line)
		}
	}
	return cs
}

// helmDryRunLine matches kubectl's report of one object in a server-side dry run.
var helmDryRunLine = regexp.MustCompile(`(?m)^(\S+)/(\S+) (created|configured|unchanged) \(server dry run\)$`)

func TestHelm(t *testing.T) {
	start(t)
	helmBin = needHelm(t)
	t.Logf("helm: %s", helmBin)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("k2d log: %s", suite.logPath)
		}
	})
	chart, err := filepath.Abs(helmChart)
	if err != nil {
		t.Fatal(err)
	}
	ns := newNamespace(t, "helm")
	// Runs before the namespace is deleted: what the cluster looked like when a step failed.
	t.Cleanup(func() {
		if !t.Failed() || !suite.running() {
			return
		}
		for _, args := range [][]string{
			{"get", "all,configmaps,secrets,endpoints", "-n", ns, "-o", "wide"},
			{"describe", "deployments,replicasets,pods", "-n", ns},
			{"get", "events", "-n", ns, "--sort-by=.lastTimestamp"},
		} {
			r := kubectl(t, args...)
			t.Logf("%s\n%s", r.Stdout, r.Stderr)
		}
		r := helmRun(t, "history", helmRelease, "-n", ns)
		t.Logf("%s\n%s", r.Stdout, r.Stderr)
	})
	var podsV1 []corev1.Pod

	if !t.Run("install", func(t *testing.T) {
		out := helmOK(t, "install", helmRelease, chart, "-n", ns, "--wait", "--debug", "--timeout", helmWait)
		for _, want := range []string{"NAME: " + helmRelease, "NAMESPACE: " + ns, "STATUS: deployed", "REVISION: 1",
			"is installed as release plant in namespace " + ns} {
			if !strings.Contains(out, want) {
				t.Errorf("helm install output lacks %q:\n%s", want, out)
			}
		}
		podsV1 = helmWaitAvailable(t, ns, 2)
		helmCheckApp(t, ns, podsV1, helmGreeting, helmMode, helmToken)
		svc := kubectlOK(t, "get", "service", helmApp, "-n", ns, "-o", "jsonpath={.spec.type} {.spec.ports[0].port} {.spec.ports[0].targetPort}")
		if svc != "ClusterIP 80 8080" {
			t.Errorf("service %s: type port targetPort = %q, want \"ClusterIP 80 8080\"", helmApp, svc)
		}
		helmCheckReleaseSecrets(t, ns, "deployed")
	}) {
		return
	}

	if !t.Run("list status get manifest", func(t *testing.T) {
		out := helmOK(t, "list", "-n", ns)
		if row := rowFor(tableRows(strings.ReplaceAll(out, "\t", "  ")), helmRelease); row == nil || !slices.Contains(row, "deployed") {
			t.Errorf("helm list: no row %q with status deployed:\n%s", helmRelease, out)
		}
		var list []helmListEntry
		helmJSON(t, &list, "list", "-n", ns)
		if len(list) != 1 || list[0] != (helmListEntry{Name: helmRelease, Namespace: ns, Revision: "1", Status: "deployed", Chart: "plant-0.1.0", AppVersion: "1.0.0"}) {
			t.Errorf("helm list -o json: %+v, want one release %s revision 1 deployed", list, helmRelease)
		}
		out = helmOK(t, "status", helmRelease, "-n", ns)
		for _, want := range []string{"NAME: " + helmRelease, "STATUS: deployed", "REVISION: 1", "NOTES:", "kubectl --namespace " + ns + " port-forward service/plant"} {
			if !strings.Contains(out, want) {
				t.Errorf("helm status output lacks %q:\n%s", want, out)
			}
		}
		helmCheckRelease(t, ns, 1)
		manifest := helmOK(t, "get", "manifest", helmRelease, "-n", ns)
		rendered := helmOK(t, "template", helmRelease, chart, "-n", ns)
		for _, want := range []string{"# Source: plant/templates/deployment.yaml", "# Source: plant/templates/service.yaml",
			"# Source: plant/templates/configmap.yaml", "# Source: plant/templates/secret.yaml", "kind: Deployment", "replicas: 2"} {
			if !strings.Contains(manifest, want) {
				t.Errorf("helm get manifest lacks %q:\n%s", want, manifest)
			}
		}
		if strings.TrimSpace(manifest) != strings.TrimSpace(rendered) {
			t.Errorf("helm get manifest differs from helm template:\n--- manifest\n%s\n--- template\n%s", manifest, rendered)
		}
	}) {
		return
	}

	const upGreeting, upMode = "hello from plant v2", "upgraded"
	if !t.Run("upgrade", func(t *testing.T) {
		out := helmOK(t, "upgrade", helmRelease, chart, "-n", ns, "--wait", "--debug", "--timeout", helmWait,
			"--set", "config.greeting="+upGreeting, "--set", "config.mode="+upMode, "--set", "replicaCount=3")
		for _, want := range []string{`Release "plant" has been upgraded`, "STATUS: deployed", "REVISION: 2"} {
			if !strings.Contains(out, want) {
				t.Errorf("helm upgrade output lacks %q:\n%s", want, out)
			}
		}
		helmCheckRelease(t, ns, 2)
		pods := helmWaitAvailable(t, ns, 3)
		for _, p := range pods {
			for _, old := range podsV1 {
				if p.UID == old.UID {
					t.Errorf("pod %s of revision 1 still runs: the changed ConfigMap checksum should have rolled it", p.Name)
				}
			}
		}
		helmCheckApp(t, ns, pods, upGreeting, upMode, helmToken)
		helmCheckHistory(t, ns, [2]string{"superseded", "Install complete"}, [2]string{"deployed", "Upgrade complete"})
		helmCheckReleaseSecrets(t, ns, "superseded", "deployed")
	}) {
		return
	}

	var podsV3 []corev1.Pod
	if !t.Run("rollback", func(t *testing.T) {
		out := helmOK(t, "rollback", helmRelease, "1", "-n", ns, "--wait", "--debug", "--timeout", helmWait)
		if !strings.Contains(out, "Rollback was a success") {
			t.Errorf("helm rollback output: %q", out)
		}
		helmCheckRelease(t, ns, 3)
		podsV3 = helmWaitAvailable(t, ns, 2)
		helmCheckApp(t, ns, podsV3, helmGreeting, helmMode, helmToken)
		helmCheckHistory(t, ns, [2]string{"superseded", "Install complete"}, [2]string{"superseded", "Upgrade complete"},
			[2]string{"deployed", "Rollback to 1"})
		helmCheckReleaseSecrets(t, ns, "superseded", "superseded", "deployed")
	}) {
		return
	}

	if !t.Run("template and server-side dry run", func(t *testing.T) {
		for _, set := range [][]string{nil, {"--set", "config.greeting=dry run only", "--set", "replicaCount=5"}} {
			rendered := helmOK(t, append([]string{"template", helmRelease, chart, "-n", ns}, set...)...)
			out := kubectlInOK(t, rendered, "apply", "--dry-run=server", "-n", ns, "-f", "-")
			got := map[string]bool{}
			for _, m := range helmDryRunLine.FindAllStringSubmatch(out, -1) {
				got[m[1]+"/"+m[2]] = true
			}
			for _, want := range []string{"secret/plant", "configmap/plant", "service/plant", "deployment.apps/plant"} {
				if !got[want] {
					t.Errorf("kubectl apply --dry-run=server (helm template %v): no \"%s ... (server dry run)\" line:\n%s", set, want, out)
				}
			}
		}
		// The dry runs changed nothing.
		helmCheckApp(t, ns, helmWaitAvailable(t, ns, 2), helmGreeting, helmMode, helmToken)
		if a := kubectlOK(t, "get", "configmap", helmApp, "-n", ns, "-o", `jsonpath={.metadata.annotations.kubectl\.kubernetes\.io/last-applied-configuration}`); a != "" {
			t.Errorf("a server-side dry run stored kubectl's last-applied annotation on configmap %s: %s", helmApp, a)
		}
		helmCheckRelease(t, ns, 3)
	}) {
		return
	}

	if !t.Run("atomic upgrade of an invalid value rolls back", func(t *testing.T) {
		const bad = "Bad_Port"
		before := helmPods(t, ns)
		r := helmRun(t, "upgrade", "--install", helmRelease, chart, "-n", ns, "--atomic", "--wait", "--debug", "--timeout", helmWait,
			"--set", "containerPortName="+bad)
		if r.Code == 0 {
			t.Fatalf("helm upgrade --install --atomic with containerPortName=%s succeeded; the server should reject the port name: %s", bad, r)
		}
		for _, want := range []string{"UPGRADE FAILED", "has been rolled back due to atomic being set",
			`Deployment.apps "plant" is invalid`, `spec.template.spec.containers[0].ports[0].name: Invalid value: "` + bad + `"`} {
			if !strings.Contains(r.Stderr, want) {
				t.Errorf("helm's error lacks %q: %s", want, r)
			}
		}
		// The same Deployment through kubectl shows the status code: 422 Unprocessable Entity.
		broken := helmOK(t, "template", helmRelease, chart, "-n", ns, "--set", "containerPortName="+bad, "--show-only", "templates/deployment.yaml")
		k := kubectlIn(t, broken, "apply", "--dry-run=server", "-n", ns, "-f", "-", "-v=6")
		if k.Code == 0 || !strings.Contains(k.Stderr, "422 Unprocessable Entity") || !strings.Contains(k.Stderr, `Invalid value: "`+bad+`"`) {
			t.Errorf("kubectl apply --dry-run=server of the invalid Deployment: want a 422 naming %q: %s", bad, k)
		}
		// Helm marks the failed revision 4 failed and rolls back to the last deployed one, 3, as a
		// new revision 5 ("Rollback to 3") holding revision 3's manifest.
		helmCheckHistory(t, ns, [2]string{"superseded", ""}, [2]string{"superseded", ""}, [2]string{"superseded", "Rollback to 1"},
			[2]string{"failed", ""}, [2]string{"deployed", "Rollback to 3"})
		helmCheckRelease(t, ns, 5)
		helmCheckReleaseSecrets(t, ns, "superseded", "superseded", "superseded", "failed", "deployed")
		if m3, m5 := helmOK(t, "get", "manifest", helmRelease, "-n", ns, "--revision", "3"), helmOK(t, "get", "manifest", helmRelease, "-n", ns); m3 != m5 {
			t.Errorf("the deployed revision's manifest differs from revision 3's:\n--- 5\n%s\n--- 3\n%s", m5, m3)
		}
		if name := kubectlOK(t, "get", "deployment", helmApp, "-n", ns, "-o", "jsonpath={.spec.template.spec.containers[0].ports[0].name}"); name != "http" {
			t.Errorf("deployment %s: port name %q after the rollback, want http", helmApp, name)
		}
		after := helmWaitAvailable(t, ns, 2)
		helmCheckApp(t, ns, after, helmGreeting, helmMode, helmToken)
		if b, a := podNamesForHelm(before), podNamesForHelm(after); !slices.Equal(b, a) {
			t.Errorf("the failed upgrade and its rollback replaced pods: before %v, after %v", b, a)
		}
	}) {
		return
	}

	t.Run("uninstall", func(t *testing.T) {
		if cs := helmReleaseContainers(t, ns); len(cs) == 0 {
			t.Fatalf("docker ps shows no container of the release's pods in %s before uninstall: the check below would prove nothing", ns)
		}
		out := helmOK(t, "uninstall", helmRelease, "-n", ns, "--wait", "--debug", "--timeout", helmWait)
		if !strings.Contains(out, `release "plant" uninstalled`) {
			t.Errorf("helm uninstall output: %q", out)
		}
		// helm --wait waited for the objects it deleted to be gone.
		sel := "app.kubernetes.io/instance=" + helmRelease
		if left := strings.TrimSpace(kubectlOK(t, "get", "deployments,services,configmaps,secrets", "-n", ns, "-l", sel, "-o", "name")); left != "" {
			t.Errorf("after helm uninstall --wait, these remain:\n%s", left)
		}
		if left := strings.TrimSpace(kubectlOK(t, "get", "secrets", "-n", ns, "-l", "owner=helm", "-o", "name")); left != "" {
			t.Errorf("release Secrets remain after helm uninstall:\n%s", left)
		}
		var list []helmListEntry
		helmJSON(t, &list, "list", "-n", ns, "--all")
		if len(list) != 0 {
			t.Errorf("helm list --all after uninstall: %+v", list)
		}
		// The garbage collector removes the ReplicaSets and their pods.
		eventually(t, 90*time.Second, func() error {
			if left := strings.TrimSpace(kubectlOK(t, "get", "replicasets,pods", "-n", ns, "-l", sel, "-o", "name")); left != "" {
				return fmt.Errorf("after helm uninstall, these remain:\n%s", left)
			}
			return nil
		})
		eventually(t, 90*time.Second, func() error {
			if cs := helmReleaseContainers(t, ns); len(cs) != 0 {
				return fmt.Errorf("docker containers of the release remain:\n%s", strings.Join(cs, "\n"))
			}
			return nil
		})
	})
}

func podNamesForHelm(pods []corev1.Pod) []string {
	var names []string
	for _, p := range pods {
		names = append(names, p.Name)
	}
	sort.Strings(names)
	return names
}
