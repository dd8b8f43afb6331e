package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// podSnapshot is what must survive a restart of k2d: the objects and the containers they own.
type podSnapshot struct {
	uids       map[string]string // pod name -> uid
	created    map[string]string // pod name -> creationTimestamp
	containers []string          // docker IDs of the namespace's containers, sorted
}

func takeSnapshot(t *testing.T, ns string) podSnapshot {
	t.Helper()
	var pods corev1.PodList
	kubectlJSON(t, &pods, "get", "pods", "-n", ns)
	s := podSnapshot{uids: map[string]string{}, created: map[string]string{}}
	for _, p := range pods.Items {
		s.uids[p.Name] = string(p.UID)
		s.created[p.Name] = p.CreationTimestamp.UTC().Format(time.RFC3339)
	}
	s.containers = containerIDs(podContainers(t, ns, ""))
	return s
}

func (s podSnapshot) diff(o podSnapshot) string {
	var d []string
	if fmt.Sprint(s.uids) != fmt.Sprint(o.uids) {
		d = append(d, fmt.Sprintf("pods (name:uid) %v -> %v", s.uids, o.uids))
	}
	if fmt.Sprint(s.created) != fmt.Sprint(o.created) {
		d = append(d, fmt.Sprintf("creationTimestamps %v -> %v", s.created, o.created))
	}
	if strings.Join(s.containers, ",") != strings.Join(o.containers, ",") {
		d = append(d, fmt.Sprintf("containers %v -> %v", s.containers, o.containers))
	}
	return strings.Join(d, "; ")
}

// runningContainers asserts every container of the namespace runs (none exited or duplicated).
func runningContainers(t *testing.T, ns string) {
	t.Helper()
	for _, c := range podContainers(t, ns, "") {
		if c.State != "running" {
			t.Errorf("container %s is %s, want running", c.Name, c.State)
		}
	}
}

// TestRestartAfterSIGKILL: k2d killed with SIGKILL and started again has every object back with
// the same uid, and adopts the running containers: same IDs, none duplicated or lost.
func TestRestartAfterSIGKILL(t *testing.T) {
	start(t)
	ns := newNamespace(t, "kill")
	kubectlInOK(t, sleeperPod(t, "alpha")+"\n---\n"+sleeperPod(t, "beta"), "apply", "-n", ns, "-f", "-")
	waitPodRunning(t, ns, "alpha", 90*time.Second)
	waitPodRunning(t, ns, "beta", 90*time.Second)
	before := takeSnapshot(t, ns)
	if len(before.uids) != 2 || len(before.containers) < 4 {
		t.Fatalf("before the restart: %+v", before)
	}

	stopK2D(t, syscall.SIGKILL)
	// Containers do not depend on k2d running.
	runningContainers(t, ns)
	startK2D(t)

	var nsObj corev1.Namespace
	kubectlJSON(t, &nsObj, "get", "namespace", ns)
	if nsObj.Status.Phase != corev1.NamespaceActive {
		t.Errorf("namespace %s after restart: phase %q, want Active", ns, nsObj.Status.Phase)
	}
	waitPodRunning(t, ns, "alpha", 30*time.Second)
	waitPodRunning(t, ns, "beta", 30*time.Second)
	if d := before.diff(takeSnapshot(t, ns)); d != "" {
		t.Errorf("after SIGKILL and restart: %s", d)
	}
	// Give the controllers time to act wrongly (recreate, duplicate) before looking again.
	time.Sleep(5 * time.Second)
	if d := before.diff(takeSnapshot(t, ns)); d != "" {
		t.Errorf("5 s after the restart: %s", d)
	}
	runningContainers(t, ns)
	if out := kubectlOK(t, "exec", "alpha", "-n", ns, "--", "echo", "adopted"); out != "adopted\n" {
		t.Errorf("exec into an adopted pod: %q", out)
	}
}

// TestRestartAfterSIGTERM: a graceful stop exits 0, leaves the pods running, and the
// resourceVersion keeps strictly increasing after the restart.
func TestRestartAfterSIGTERM(t *testing.T) {
	start(t)
	ns := newNamespace(t, "term")
	pod := applyPod(t, ns, "gamma", sleeperPod(t, "gamma"))
	kubectlOK(t, "label", "pod", "gamma", "-n", ns, "step=one")
	before := takeSnapshot(t, ns)
	maxRV := parseRV(t, "pod", getPod(t, ns, "gamma").ResourceVersion)
	if rv := parseRV(t, "pod at create", pod.ResourceVersion); rv >= maxRV {
		t.Errorf("resourceVersion did not grow on a label change: %d -> %d", rv, maxRV)
	}
	for _, path := range []string{"/api/v1/namespaces/" + ns + "/pods", "/api/v1/namespaces", "/api/v1/pods"} {
		if rv := listRV(t, path); rv > maxRV {
			maxRV = rv
		}
	}

	restartK2D(t, syscall.SIGTERM)

	if d := before.diff(takeSnapshot(t, ns)); d != "" {
		t.Errorf("after SIGTERM and restart: %s", d)
	}
	var nsObj corev1.Namespace
	kubectlJSON(t, &nsObj, "get", "namespace", ns)
	if nsObj.Status.Phase != corev1.NamespaceActive {
		t.Errorf("namespace %s after restart: phase %q, want Active", ns, nsObj.Status.Phase)
	}
	runningContainers(t, ns)
	if rv := listRV(t, "/api/v1/namespaces/"+ns+"/pods"); rv < maxRV {
		t.Errorf("list resourceVersion went back across the restart: %d < %d", rv, maxRV)
	}
	kubectlOK(t, "label", "pod", "gamma", "-n", ns, "step=two", "--overwrite")
	if rv := parseRV(t, "pod after restart", getPod(t, ns, "gamma").ResourceVersion); rv <= maxRV {
		t.Errorf("resourceVersion after the restart %d is not above every one before it (%d)", rv, maxRV)
	}
	newNS := newNamespace(t, "term2")
	var n corev1.Namespace
	kubectlJSON(t, &n, "get", "namespace", newNS)
	if rv := parseRV(t, "new namespace", n.ResourceVersion); rv <= maxRV {
		t.Errorf("a namespace created after the restart has resourceVersion %d, not above %d", rv, maxRV)
	}
}

// watchEvent is one frame of a watch stream.
type watchEvent struct {
	Type   string          `json:"type"`
	Object json.RawMessage `json:"object"`
}

// openWatch starts a watch and returns the response (the caller closes its body) or an error.
func openWatch(t *testing.T, ctx context.Context, path string) (*http.Response, error) {
	t.Helper()
	suite.mu.Lock()
	server, token, client := suite.server, suite.token, suite.streamer
	suite.mu.Unlock()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, server+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	return client.Do(req)
}

// TestWatchExpired: a watch from a resourceVersion k2d no longer holds gets 410 Gone (or an ERROR
// event with reason Expired), so clients relist; a watch from a current one works.
func TestWatchExpired(t *testing.T) {
	start(t)
	ns := newNamespace(t, "watch")
	applyPod(t, ns, "delta", sleeperPod(t, "delta"))
	old := listRV(t, "/api/v1/namespaces/"+ns+"/pods")
	kubectlOK(t, "label", "pod", "delta", "-n", ns, "step=one")
	// History lives in memory: after a restart, the change above is older than anything k2d holds.
	restartK2D(t, syscall.SIGTERM)
	kubectlOK(t, "label", "pod", "delta", "-n", ns, "step=two", "--overwrite")

	path := "/api/v1/namespaces/" + ns + "/pods?watch=1&resourceVersion=" + strconv.FormatUint(old, 10)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	resp, err := openWatch(t, ctx, path)
	if err != nil {
		t.Fatalf("watch from %d: %v", old, err)
	}
	var st metav1.Status
	switch resp.StatusCode {
	case http.StatusGone:
		if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
			t.Errorf("410 body is not a Status: %v", err)
		}
	case http.StatusOK:
		var ev watchEvent
		if err := json.NewDecoder(resp.Body).Decode(&ev); err != nil {
			t.Fatalf("watch from a too-old resourceVersion %d: no event (%v); want an ERROR event with a 410 Status", old, err)
		}
		if ev.Type != "ERROR" {
			t.Fatalf("watch from a too-old resourceVersion %d: first event %s, want ERROR (410 Expired)\n%.500s", old, ev.Type, ev.Object)
		}
		if err := json.Unmarshal(ev.Object, &st); err != nil {
			t.Errorf("ERROR event object is not a Status: %v", err)
		}
	default:
		t.Fatalf("watch from a too-old resourceVersion %d: HTTP %d, want 410 or 200 with an ERROR event", old, resp.StatusCode)
	}
	resp.Body.Close()
	if st.Code != http.StatusGone || (st.Reason != metav1.StatusReasonExpired && st.Reason != metav1.StatusReasonGone) {
		t.Errorf("too-old watch Status: code %d reason %q message %q, want 410 Expired (or Gone)", st.Code, st.Reason, st.Message)
	}

	// A watch from the current list sees the next change.
	cur := listRV(t, "/api/v1/namespaces/"+ns+"/pods")
	labelled := make(chan struct{})
	defer func() { <-labelled }() // the goroutine logs through t: it must end before the test
	go func() {
		defer close(labelled)
		time.Sleep(time.Second)
		kubectl(t, "label", "pod", "delta", "-n", ns, "step=three", "--overwrite")
	}()
	// The change is made whether or not the response headers have come (TestWatchStartsAtOnce
	// checks that they come before any event).
	ctx2, cancel2 := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel2()
	resp, err = openWatch(t, ctx2, "/api/v1/namespaces/"+ns+"/pods?watch=1&allowWatchBookmarks=true&resourceVersion="+strconv.FormatUint(cur, 10))
	if err != nil {
		t.Fatalf("watch from %d: %v", cur, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("watch from the current resourceVersion %d: HTTP %d", cur, resp.StatusCode)
	}
	dec := json.NewDecoder(resp.Body)
	var seen []string
	for {
		var ev watchEvent
		if err := dec.Decode(&ev); err != nil {
			t.Fatalf("watch ended before the MODIFIED event of the label change (%v); events: %v", err, seen)
		}
		seen = append(seen, ev.Type)
		if ev.Type != "MODIFIED" {
			continue
		}
		var p corev1.Pod
		if err := json.Unmarshal(ev.Object, &p); err != nil {
			t.Fatalf("MODIFIED object: %v", err)
		}
		if p.Labels["step"] == "three" {
			if rv := parseRV(t, "watched pod", p.ResourceVersion); rv <= cur {
				t.Errorf("watched change has resourceVersion %d, not above the list's %d", rv, cur)
			}
			break
		}
	}
}

// TestWatchStartsAtOnce: a watch answers 200 with its headers at once, before any event, as the
// API server does; client-go's Watch() returns only when the headers have come.
func TestWatchStartsAtOnce(t *testing.T) {
	start(t)
	ns := newNamespace(t, "quiet")
	rv := listRV(t, "/api/v1/namespaces/"+ns+"/pods")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	t0 := time.Now()
	resp, err := openWatch(t, ctx, "/api/v1/namespaces/"+ns+"/pods?watch=1&allowWatchBookmarks=true&timeoutSeconds=30&resourceVersion="+strconv.FormatUint(rv, 10))
	if err != nil {
		t.Fatalf("watch of an idle namespace: no response headers within 5 s (%v); the server must send 200 and flush the headers when the watch starts", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("watch: HTTP %d", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("watch Content-Type %q, want application/json", ct)
	}
	t.Logf("watch headers after %s", time.Since(t0).Round(time.Millisecond))
}

// TestLeftoverEndpointsAfterRestart: when k2d starts, Endpoints without a Service are removed,
// as kube-controller-manager's endpoints controller removes leftovers when it starts; a
// selectorless Service's own Endpoints stay.
func TestLeftoverEndpointsAfterRestart(t *testing.T) {
	start(t)
	ns := newNamespace(t, "leftover")
	kubectlInOK(t, `apiVersion: v1
kind: Endpoints
metadata:
  name: orphan
subsets:
- addresses: [{ip: 192.0.2.10}]
  ports: [{port: 80}]
---
apiVersion: v1
kind: Service
metadata:
  name: db
spec:
  ports: [{port: 5432}]
---
apiVersion: v1
kind: Endpoints
metadata:
  name: db
subsets:
- addresses: [{ip: 192.0.2.20}]
  ports: [{port: 5432}]
`, "-n", ns, "apply", "-f", "-")
	kubectlOK(t, "-n", ns, "get", "endpoints", "orphan", "db")

	restartK2D(t, syscall.SIGTERM)

	deadline := time.Now().Add(30 * time.Second)
	for {
		r := kubectl(t, "-n", ns, "get", "endpoints", "orphan")
		if r.Code != 0 && strings.Contains(r.Stderr, "NotFound") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the Endpoints without a Service outlived the restart: %s", r)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if got := kubectlOK(t, "-n", ns, "get", "endpoints", "db", "-o", "jsonpath={.subsets[0].addresses[0].ip}"); got != "192.0.2.20" {
		t.Fatalf("the selectorless Service's Endpoints: %q", got)
	}
}
