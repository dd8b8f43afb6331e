package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

var semver = regexp.MustCompile(`^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)

// TestServeStartup checks what `k2d serve` leaves for the user: the export line on stdout and a
// kubeconfig only its owner can read, pointing at 127.0.0.1:<port>.
func TestServeStartup(t *testing.T) {
	h := start(t)
	h.mu.Lock()
	stdoutPath := h.stdouts[len(h.stdouts)-1]
	h.mu.Unlock()
	out, err := os.ReadFile(stdoutPath)
	if err != nil {
		t.Fatal(err)
	}
	want := "export KUBECONFIG=" + h.kubeconfigPath()
	found := false
	for _, line := range strings.Split(string(out), "\n") {
		if strings.TrimSpace(line) == want {
			found = true
		}
	}
	if !found {
		t.Errorf("stdout of k2d serve lacks the line %q; stdout was:\n%s", want, out)
	}
	fi, err := os.Stat(h.kubeconfigPath())
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("kubeconfig mode %v, want 0600 (it holds the token)", perm)
	}
	kf, err := h.parseKubeconfig(h.kubeconfigPath())
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("https://127.0.0.1:%d", h.port); kf.Server != want {
		t.Errorf("kubeconfig server %q, want %q", kf.Server, want)
	}
}

// TestVersionAndHealth: /version is semver and, like /healthz, /livez and /readyz, open without a
// token, as on Kubernetes.
func TestVersionAndHealth(t *testing.T) {
	start(t)
	resp := api(t, apiRequest{Path: "/version", NoToken: true})
	if resp.Code != http.StatusOK {
		t.Fatalf("GET /version without a token: HTTP %d: %.300s", resp.Code, resp.Body)
	}
	var v struct {
		Major, Minor, GitVersion, GoVersion, Platform string
	}
	if err := json.Unmarshal(resp.Body, &v); err != nil {
		t.Fatalf("/version: %v: %s", err, resp.Body)
	}
	if !semver.MatchString(v.GitVersion) {
		t.Errorf("/version gitVersion %q is not semver (kubectl and Helm need it)", v.GitVersion)
	}
	if v.Major == "" || v.Minor == "" || !strings.HasPrefix(v.GoVersion, "go") {
		t.Errorf("/version lacks major/minor/goVersion: %s", resp.Body)
	}
	if want := "linux/" + runtime.GOARCH; v.Platform != want {
		t.Errorf("/version platform %q, want %q", v.Platform, want)
	}
	for _, p := range []string{"/healthz", "/livez", "/readyz"} {
		resp := api(t, apiRequest{Path: p, NoToken: true})
		if resp.Code != http.StatusOK || strings.TrimSpace(string(resp.Body)) != "ok" {
			t.Errorf("GET %s without a token: want 200 ok, got %d %q", p, resp.Code, resp.Body)
		}
	}
	// kubectl reads the same document.
	var kv struct {
		ServerVersion struct {
			GitVersion string `json:"gitVersion"`
		} `json:"serverVersion"`
	}
	kubectlJSON(t, &kv, "version")
	if kv.ServerVersion.GitVersion != v.GitVersion {
		t.Errorf("kubectl version: server %q, /version %q", kv.ServerVersion.GitVersion, v.GitVersion)
	}
}

// TestKubeconfigEndpoint: GET /k2d/kubeconfig needs the token and serves the same credentials as
// the file; `k2d kubeconfig` prints them too.
func TestKubeconfigEndpoint(t *testing.T) {
	h := start(t)
	file, err := h.parseKubeconfig(h.kubeconfigPath())
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, data []byte) {
		t.Helper()
		path := t.TempDir() + "/kubeconfig"
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := h.parseKubeconfig(path)
		if err != nil {
			t.Errorf("%s: %v\n%s", what, err, data)
			return
		}
		if got.Token != file.Token || string(got.CA) != string(file.CA) {
			t.Errorf("%s: token or CA differ from %s", what, h.kubeconfigPath())
		}
		if !strings.HasPrefix(got.Server, "https://") || !strings.HasSuffix(got.Server, fmt.Sprintf(":%d", h.port)) {
			t.Errorf("%s: server %q, want https://<address>:%d", what, got.Server, h.port)
		}
	}

	resp := api(t, apiRequest{Path: "/k2d/kubeconfig"})
	if resp.Code != http.StatusOK {
		t.Errorf("GET /k2d/kubeconfig with the token: HTTP %d: %.300s", resp.Code, resp.Body)
	} else {
		check("GET /k2d/kubeconfig", resp.Body)
	}
	for _, r := range []apiRequest{{Path: "/k2d/kubeconfig", NoToken: true}, {Path: "/k2d/kubeconfig", Token: "not-the-token"}} {
		resp := api(t, r)
		if resp.Code != http.StatusUnauthorized {
			t.Errorf("GET /k2d/kubeconfig (no token=%v, token=%q): want 401, got %d: %.200s", r.NoToken, r.Token, resp.Code, resp.Body)
		}
		if strings.Contains(string(resp.Body), file.Token) {
			t.Errorf("GET /k2d/kubeconfig without the right token leaked the token")
		}
	}

	r := runCmd(t, 30*time.Second, nil, h.k2dEnv(), h.bin, "kubeconfig", "--data-path", h.dataDir)
	if r.Code != 0 {
		t.Errorf("k2d kubeconfig: %s", r)
	} else {
		check("k2d kubeconfig", []byte(r.Stdout))
	}
}

// TestVersionSubcommand: `k2d version` prints the build version.
func TestVersionSubcommand(t *testing.T) {
	h := start(t)
	r := runCmd(t, 30*time.Second, nil, h.k2dEnv(), h.bin, "version")
	if r.Code != 0 || strings.TrimSpace(r.Stdout) == "" {
		t.Errorf("k2d version: %s", r)
	}
}

// TestMetrics: /metrics serves Prometheus text with the Docker request counter, with the token.
func TestMetrics(t *testing.T) {
	start(t)
	resp := api(t, apiRequest{Path: "/metrics"})
	if resp.Code != http.StatusOK {
		t.Fatalf("GET /metrics: HTTP %d: %.300s", resp.Code, resp.Body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("/metrics Content-Type %q, want text/plain (Prometheus text format)", ct)
	}
	if v := metricValue(t, "k2d_docker_requests_total"); v <= 0 {
		t.Errorf("k2d_docker_requests_total = %v after start-up; loading the Docker state takes requests", v)
	}
}

// TestReadsMakeNoDockerCalls: a thousand GET/LIST/WATCH requests are answered from memory: the
// count of requests k2d sent to Docker does not move.
func TestReadsMakeNoDockerCalls(t *testing.T) {
	h := start(t)
	ns := newNamespace(t, "reads")
	applyPod(t, ns, "reader", sleeperPod(t, "reader"))
	node := nodeName(t)

	// Let whatever the pod start set off settle: idle means no Docker traffic at all.
	var before float64
	if err := poll(30*time.Second, func() error {
		a := metricValue(t, "k2d_docker_requests_total")
		time.Sleep(2 * time.Second)
		before = metricValue(t, "k2d_docker_requests_total")
		if before != a {
			return fmt.Errorf("k2d sent %v requests to Docker in 2 s with no API traffic", before-a)
		}
		return nil
	}); err != nil {
		t.Fatalf("k2d never goes quiet: %v", err)
	}

	podRV := getPod(t, ns, "reader").ResourceVersion
	const table = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
	var reqs []apiRequest
	add := func(n int, r apiRequest) {
		for i := 0; i < n; i++ {
			reqs = append(reqs, r)
		}
	}
	add(250, apiRequest{Path: "/api/v1/namespaces/" + ns + "/pods/reader"})
	add(150, apiRequest{Path: "/api/v1/namespaces/" + ns + "/pods", Accept: table})
	add(100, apiRequest{Path: "/api/v1/pods?labelSelector=" + url.QueryEscape("app=reader")})
	add(100, apiRequest{Path: "/api/v1/nodes", Accept: table})
	add(100, apiRequest{Path: "/api/v1/nodes/" + node})
	add(100, apiRequest{Path: "/api/v1/namespaces"})
	add(100, apiRequest{Path: "/api/v1/namespaces/" + ns + "/events"})
	const watches = 100
	watch := apiRequest{Path: "/api/v1/namespaces/" + ns + "/pods?watch=1&allowWatchBookmarks=true&timeoutSeconds=1&resourceVersion=" + podRV}

	var mu sync.Mutex
	bad := map[string]int{}
	note := func(key string) {
		mu.Lock()
		bad[key]++
		mu.Unlock()
	}
	var wg sync.WaitGroup
	work := make(chan apiRequest)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range work {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				resp, err := h.do(ctx, h.client, r)
				cancel()
				if err != nil {
					note(fmt.Sprintf("GET %s: %v", r.Path, err))
				} else if resp.Code != http.StatusOK {
					note(fmt.Sprintf("GET %s: HTTP %d %.200s", r.Path, resp.Code, resp.Body))
				}
			}
		}()
	}
	// Watches run side by side: each must end by itself after timeoutSeconds=1.
	for i := 0; i < watches; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			resp, err := h.do(ctx, h.streamer, watch)
			switch {
			case ctx.Err() != nil:
				note("watch with timeoutSeconds=1 still open after 20 s")
			case err != nil:
				note(fmt.Sprintf("watch: %v", err))
			case resp.Code != http.StatusOK:
				note(fmt.Sprintf("watch: HTTP %d %.200s", resp.Code, resp.Body))
			}
		}()
	}
	for _, r := range reqs {
		work <- r
	}
	close(work)
	wg.Wait()
	for k, n := range bad {
		t.Errorf("%d× %s", n, k)
	}

	after := metricValue(t, "k2d_docker_requests_total")
	if after != before {
		t.Errorf("k2d sent %v requests to Docker while answering %d GET/LIST/WATCH requests; want 0", after-before, len(reqs)+watches)
	}
	// The counter is live: reading logs does go to Docker.
	kubectlOK(t, "logs", "reader", "-n", ns)
	if v := metricValue(t, "k2d_docker_requests_total"); v <= after {
		t.Errorf("k2d_docker_requests_total did not move on kubectl logs (%v -> %v): the metric does not count Docker requests", after, v)
	}
}

// TestDryRunServer: --dry-run=server validates and answers, and changes nothing.
func TestDryRunServer(t *testing.T) {
	start(t)
	ns := newNamespace(t, "dryrun")

	// Create.
	var p corev1.Pod
	out := kubectlInOK(t, sleeperPod(t, "dry"), "create", "-n", ns, "-f", "-", "--dry-run=server", "-o", "json")
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatalf("create --dry-run=server -o json: %v\n%s", err, out)
	}
	if p.Name != "dry" || p.Namespace != ns || p.Spec.RestartPolicy != corev1.RestartPolicyAlways {
		t.Errorf("dry-run create answered name=%q ns=%q restartPolicy=%q; want the defaulted object", p.Name, p.Namespace, p.Spec.RestartPolicy)
	}
	r := kubectl(t, "get", "pod", "dry", "-n", ns)
	if r.Code == 0 {
		t.Errorf("pod created by --dry-run=server exists: %s", r.Stdout)
	}
	time.Sleep(2 * time.Second) // any Docker work would have started by now
	if cs := podContainers(t, ns, "dry"); len(cs) != 0 {
		t.Errorf("--dry-run=server create made containers: %+v", cs)
	}

	dryNS := "e2e-dry-" + randSuffix(5)
	out = kubectlOK(t, "create", "namespace", dryNS, "--dry-run=server")
	if want := "namespace/" + dryNS + " created (server dry run)"; strings.TrimSpace(out) != want {
		t.Errorf("kubectl create ns --dry-run=server printed %q, want %q", strings.TrimSpace(out), want)
	}
	if r := kubectl(t, "get", "namespace", dryNS); r.Code == 0 {
		t.Errorf("namespace created by --dry-run=server exists")
		kubectl(t, "delete", "namespace", dryNS)
	}
	if r := docker(t, "network", "inspect", "k2d-"+dryNS); r.Code == 0 {
		t.Errorf("--dry-run=server namespace create made network k2d-%s", dryNS)
	}

	// Delete and label of a running pod.
	applyPod(t, ns, "keep", sleeperPod(t, "keep"))
	before := getPod(t, ns, "keep")
	ids := containerIDs(podContainers(t, ns, "keep"))
	out = kubectlOK(t, "delete", "pod", "keep", "-n", ns, "--dry-run=server")
	if want := `pod "keep" deleted (server dry run)`; strings.TrimSpace(out) != want {
		t.Errorf("delete --dry-run=server printed %q, want %q", strings.TrimSpace(out), want)
	}
	out = kubectlOK(t, "label", "pod", "keep", "-n", ns, "dry=run", "--dry-run=server")
	if want := "pod/keep labeled (server dry run)"; strings.TrimSpace(out) != want {
		t.Errorf("label --dry-run=server printed %q, want %q", strings.TrimSpace(out), want)
	}
	time.Sleep(2 * time.Second)
	after := getPod(t, ns, "keep")
	if after.DeletionTimestamp != nil || after.ResourceVersion != before.ResourceVersion || after.Labels["dry"] != "" {
		t.Errorf("dry-run delete/label changed the pod: deletionTimestamp=%v resourceVersion %s -> %s labels=%v",
			after.DeletionTimestamp, before.ResourceVersion, after.ResourceVersion, after.Labels)
	}
	if got := containerIDs(podContainers(t, ns, "keep")); strings.Join(got, ",") != strings.Join(ids, ",") {
		t.Errorf("dry-run delete changed the pod's containers: %v -> %v", ids, got)
	}
	waitPodRunning(t, ns, "keep", 10*time.Second)
}
