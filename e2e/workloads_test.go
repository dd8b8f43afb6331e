package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The Deployment and ReplicaSet controllers, driven by kubectl against real containers:
// rollouts (RollingUpdate within maxSurge/maxUnavailable, Recreate), history, undo, restart,
// pause/resume, scale, self-healing, the progress deadline, and a restart of k2d.

const (
	secondImage    = "k2d-test/busybox:2"
	rolloutTimeout = 150 * time.Second
)

// secondTag gives the test image a second tag, so that `kubectl set image` has a new image that
// needs no registry. Tagging is idempotent; the tag stays for later runs.
func secondTag(t *testing.T) {
	t.Helper()
	dockerOK(t, "tag", testImage, secondImage)
}

// rolloutStatus runs `kubectl rollout status` and fails the test unless it reports success.
func rolloutStatus(t *testing.T, ns, name string) {
	t.Helper()
	r := kubectlWith(t, rolloutTimeout+10*time.Second, "", "rollout", "status", "deployment/"+name, "-n", ns,
		"--timeout="+strconv.Itoa(int(rolloutTimeout.Seconds()))+"s")
	if r.Code != 0 || !strings.Contains(r.Stdout, fmt.Sprintf("deployment %q successfully rolled out", name)) {
		t.Fatalf("kubectl rollout status deployment/%s: %s\n%s", name, r, describeDeployment(t, ns, name))
	}
}

// describeDeployment summarises a Deployment, its ReplicaSets and pods for failure messages.
func describeDeployment(t *testing.T, ns, name string) string {
	t.Helper()
	var b strings.Builder
	if d, err := deploymentState(t, ns, name); err == nil {
		fmt.Fprintf(&b, "deployment gen=%d observed=%d replicas=%d updated=%d ready=%d available=%d conditions=", d.Generation,
			d.Status.ObservedGeneration, d.Status.Replicas, d.Status.UpdatedReplicas, d.Status.ReadyReplicas, d.Status.AvailableReplicas)
		for _, c := range d.Status.Conditions {
			fmt.Fprintf(&b, "[%s %s %s: %s] ", c.Type, c.Status, c.Reason, c.Message)
		}
		b.WriteString("\n")
	}
	for _, rs := range replicaSets(t, ns) {
		fmt.Fprintf(&b, "replicaset %s rev=%s spec=%d replicas=%d ready=%d available=%d\n", rs.Name, rs.Annotations["deployment.kubernetes.io/revision"],
			*rs.Spec.Replicas, rs.Status.Replicas, rs.Status.ReadyReplicas, rs.Status.AvailableReplicas)
	}
	var pods corev1.PodList
	kubectlJSON(t, &pods, "get", "pods", "-n", ns)
	for i := range pods.Items {
		p := &pods.Items[i]
		fmt.Fprintf(&b, "pod %s deleting=%v %s\n", p.Name, p.DeletionTimestamp != nil, describePod(p))
	}
	return b.String()
}

func deploymentState(t *testing.T, ns, name string) (*appsv1.Deployment, error) {
	t.Helper()
	r := kubectl(t, "get", "deployment", name, "-n", ns, "-o", "json")
	if r.Code != 0 {
		return nil, fmt.Errorf("kubectl get deployment %s: %s", name, strings.TrimSpace(r.Stderr))
	}
	var d appsv1.Deployment
	if err := json.Unmarshal([]byte(r.Stdout), &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// replicaSets returns the namespace's ReplicaSets, lowest revision first.
func replicaSets(t *testing.T, ns string) []appsv1.ReplicaSet {
	t.Helper()
	var list appsv1.ReplicaSetList
	kubectlJSON(t, &list, "get", "replicasets", "-n", ns)
	sort.Slice(list.Items, func(i, j int) bool {
		ri, _ := strconv.Atoi(list.Items[i].Annotations["deployment.kubernetes.io/revision"])
		rj, _ := strconv.Atoi(list.Items[j].Annotations["deployment.kubernetes.io/revision"])
		return ri < rj
	})
	return list.Items
}

// jsonpath reads fields with kubectl get -o jsonpath.
func jsonpath(t *testing.T, ns, object, path string) string {
	t.Helper()
	return strings.TrimSpace(kubectlOK(t, "get", object, "-n", ns, "-o", "jsonpath="+path))
}

// waitAvailable waits until the Deployment has observed its spec and has replicas pods, all
// updated and available.
func waitAvailable(t *testing.T, ns, name string, replicas int) {
	t.Helper()
	want := fmt.Sprintf("%d %d %d %d", replicas, replicas, replicas, replicas)
	if err := poll(rolloutTimeout, func() error {
		got := jsonpath(t, ns, "deployment/"+name,
			"{.metadata.generation} {.status.observedGeneration} {.status.replicas} {.status.updatedReplicas} {.status.readyReplicas} {.status.availableReplicas}")
		f := strings.Fields(got)
		if len(f) != 6 || f[0] != f[1] || strings.Join(f[2:], " ") != want {
			return fmt.Errorf("deployment %s: generation observed replicas updated ready available = %q, want replicas %d", name, got, replicas)
		}
		return nil
	}); err != nil {
		t.Fatalf("%v\n%s", err, describeDeployment(t, ns, name))
	}
}

// livePods returns the pods of the namespace that are not being deleted.
func livePods(t *testing.T, ns string) []corev1.Pod {
	t.Helper()
	var list corev1.PodList
	kubectlJSON(t, &list, "get", "pods", "-n", ns)
	var out []corev1.Pod
	for _, p := range list.Items {
		if p.DeletionTimestamp == nil {
			out = append(out, p)
		}
	}
	return out
}

// deploymentEvents returns "Reason: message" of the Events about an object.
func objectEvents(t *testing.T, ns, kind, name string) []string {
	t.Helper()
	var list corev1.EventList
	kubectlJSON(t, &list, "get", "events", "-n", ns, "--field-selector", "involvedObject.kind="+kind+",involvedObject.name="+name)
	var out []string
	for _, e := range list.Items {
		out = append(out, e.Reason+": "+e.Message+" ("+e.Source.Component+")")
	}
	return out
}

func containsLine(list []string, want string) bool {
	for _, s := range list {
		if strings.Contains(s, want) {
			return true
		}
	}
	return false
}

// podWatch records what a watch of a namespace's pods reports, from a list onwards.
type podWatch struct {
	initial []corev1.Pod
	cancel  context.CancelFunc
	done    chan struct{}

	mu     sync.Mutex
	events []podEvent
	err    error
}

type podEvent struct {
	Type string
	Pod  corev1.Pod
}

func watchPods(t *testing.T, ns string) *podWatch {
	t.Helper()
	resp := api(t, apiRequest{Path: "/api/v1/namespaces/" + ns + "/pods"})
	var list corev1.PodList
	if err := json.Unmarshal(resp.Body, &list); err != nil || resp.Code != 200 {
		t.Fatalf("list pods: %d %v", resp.Code, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &podWatch{initial: list.Items, cancel: cancel, done: make(chan struct{})}
	stream, err := openWatch(t, ctx, "/api/v1/namespaces/"+ns+"/pods?watch=1&timeoutSeconds=600&resourceVersion="+list.ResourceVersion)
	if err != nil || stream.StatusCode != 200 {
		cancel()
		t.Fatalf("watch pods: %v", err)
	}
	go func() {
		defer close(w.done)
		defer stream.Body.Close()
		dec := json.NewDecoder(stream.Body)
		for {
			var ev watchEvent
			if err := dec.Decode(&ev); err != nil {
				if err != io.EOF && ctx.Err() == nil {
					w.mu.Lock()
					w.err = err
					w.mu.Unlock()
				}
				return
			}
			var p corev1.Pod
			if err := json.Unmarshal(ev.Object, &p); err != nil {
				continue
			}
			w.mu.Lock()
			w.events = append(w.events, podEvent{Type: ev.Type, Pod: p})
			w.mu.Unlock()
		}
	}()
	t.Cleanup(w.stop)
	return w
}

func (w *podWatch) stop() {
	w.cancel()
	<-w.done
}

// replay calls fn with the state after the list and after every event, in order.
func (w *podWatch) replay(t *testing.T, fn func(step string, pods map[string]*corev1.Pod)) {
	t.Helper()
	w.stop()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		t.Fatalf("watch broke: %v", w.err)
	}
	state := map[string]*corev1.Pod{}
	for i := range w.initial {
		state[w.initial[i].Name] = &w.initial[i]
	}
	fn("initial list", state)
	for i := range w.events {
		ev := &w.events[i]
		switch ev.Type {
		case "ADDED", "MODIFIED":
			state[ev.Pod.Name] = &ev.Pod
		case "DELETED":
			delete(state, ev.Pod.Name)
		default:
			continue
		}
		fn(fmt.Sprintf("event %d %s %s", i, ev.Type, ev.Pod.Name), state)
	}
}

func (w *podWatch) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.events)
}

func podIsReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func podImage(p *corev1.Pod) string {
	if len(p.Spec.Containers) == 0 {
		return ""
	}
	return p.Spec.Containers[0].Image
}

// summary lists the pods of a state, for messages.
func summary(pods map[string]*corev1.Pod) string {
	var s []string
	for _, p := range pods {
		s = append(s, fmt.Sprintf("%s(%s ready=%v deleting=%v)", p.Name, podImage(p), podIsReady(p), p.DeletionTimestamp != nil))
	}
	sort.Strings(s)
	return strings.Join(s, " ")
}

// historyRevisions parses `kubectl rollout history` into revision -> change-cause.
func historyRevisions(out string) map[string]string {
	revs := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if _, err := strconv.Atoi(f[0]); err == nil {
			revs[f[0]] = strings.Join(f[1:], " ")
		}
	}
	return revs
}

// TestDeploymentRollingUpdate: apply, set image (observed with a watch: never more than
// replicas+maxSurge pods, never fewer than replicas-maxUnavailable ready), history, undo,
// restart, pause/resume, scale, and the Events that tell what happened.
func TestDeploymentRollingUpdate(t *testing.T) {
	start(t)
	secondTag(t)
	ns := newNamespace(t, "deploy")
	kubectlInOK(t, manifest(t, "workloads/rolling.yaml", "__NAME__", "web"), "apply", "-n", ns, "-f", "-")
	rolloutStatus(t, ns, "web")
	waitAvailable(t, ns, "web", 3)

	rss := replicaSets(t, ns)
	if len(rss) != 1 {
		t.Fatalf("%d replica sets after the first rollout", len(rss))
	}
	first := rss[0]
	hash := first.Labels["pod-template-hash"]
	if hash == "" || first.Name != "web-"+hash || first.Annotations["deployment.kubernetes.io/revision"] != "1" ||
		first.Annotations["kubernetes.io/change-cause"] != "first release" || first.Annotations["deployment.kubernetes.io/desired-replicas"] != "3" ||
		first.Annotations["deployment.kubernetes.io/max-replicas"] != "4" {
		t.Errorf("replica set %s: labels %v annotations %v", first.Name, first.Labels, first.Annotations)
	}
	if ref := metav1.GetControllerOf(&first); ref == nil || ref.Kind != "Deployment" || ref.Name != "web" {
		t.Errorf("replica set owner %+v", ref)
	}
	pods := livePods(t, ns)
	if len(pods) != 3 {
		t.Fatalf("%d pods", len(pods))
	}
	for _, p := range pods {
		ref := metav1.GetControllerOf(&p)
		if !strings.HasPrefix(p.Name, first.Name+"-") || len(p.Name) != len(first.Name)+6 || ref == nil || ref.Name != first.Name ||
			p.Labels["pod-template-hash"] != hash || p.Status.QOSClass != corev1.PodQOSBestEffort {
			t.Errorf("pod %s: owner %+v labels %v qos %q", p.Name, ref, p.Labels, p.Status.QOSClass)
		}
	}
	if out := kubectlOK(t, "get", "deployment", "web", "-n", ns); !strings.Contains(out, "3/3") {
		t.Errorf("kubectl get deployment:\n%s", out)
	}

	// set image, watched.
	w := watchPods(t, ns)
	kubectlOK(t, "set", "image", "deployment/web", "app="+secondImage, "-n", ns)
	kubectlOK(t, "annotate", "deployment/web", "kubernetes.io/change-cause=second release", "--overwrite", "-n", ns)
	rolloutStatus(t, ns, "web")
	waitAvailable(t, ns, "web", 3)
	var maxLive, minReady = 0, 99
	created := 0
	w.replay(t, func(step string, pods map[string]*corev1.Pod) {
		live, ready := 0, 0
		for _, p := range pods {
			if p.DeletionTimestamp != nil || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
				continue
			}
			live++
			if podIsReady(p) {
				ready++
			}
		}
		maxLive, minReady = max(maxLive, live), min(minReady, ready)
		if live > 4 {
			t.Errorf("%s: %d pods, more than replicas 3 + maxSurge 1: %s", step, live, summary(pods))
		}
		if ready < 3 {
			t.Errorf("%s: %d ready pods, fewer than replicas 3 - maxUnavailable 0: %s", step, ready, summary(pods))
		}
	})
	w.mu.Lock()
	for _, ev := range w.events {
		if ev.Type == "ADDED" && podImage(&ev.Pod) == secondImage {
			created++
		}
	}
	w.mu.Unlock()
	t.Logf("rolling update: %d watch events, at most %d pods, at least %d ready, %d new pods", w.count(), maxLive, minReady, created)
	if created != 3 || maxLive != 4 {
		t.Errorf("the rollout created %d pods (want 3) and peaked at %d pods (want 4: one surge pod at a time)", created, maxLive)
	}
	for _, p := range livePods(t, ns) {
		if podImage(&p) != secondImage {
			t.Errorf("pod %s still runs %s", p.Name, podImage(&p))
		}
	}
	rss = replicaSets(t, ns)
	if len(rss) != 2 || rss[0].Name != first.Name || *rss[0].Spec.Replicas != 0 || *rss[1].Spec.Replicas != 3 ||
		rss[1].Annotations["kubernetes.io/change-cause"] != "second release" {
		t.Fatalf("replica sets after set image:\n%s", describeDeployment(t, ns, "web"))
	}
	second := rss[1]
	evs := objectEvents(t, ns, "Deployment", "web")
	for _, want := range []string{
		"ScalingReplicaSet: Scaled up replica set " + first.Name + " from 0 to 3 (deployment-controller)",
		"ScalingReplicaSet: Scaled up replica set " + second.Name + " from 0 to 1 (deployment-controller)",
		"ScalingReplicaSet: Scaled down replica set " + first.Name + " from 3 to 2 (deployment-controller)",
		"ScalingReplicaSet: Scaled down replica set " + first.Name + " from 1 to 0 (deployment-controller)",
	} {
		if !containsLine(evs, want) {
			t.Errorf("deployment events lack %q:\n%s", want, strings.Join(evs, "\n"))
		}
	}
	rsEvs := objectEvents(t, ns, "ReplicaSet", second.Name)
	if n := len(rsEvs); n != 3 || !containsLine(rsEvs, "SuccessfulCreate: Created pod: "+second.Name+"-") {
		t.Errorf("replica set events:\n%s", strings.Join(rsEvs, "\n"))
	}
	if !containsLine(objectEvents(t, ns, "ReplicaSet", first.Name), "SuccessfulDelete: Deleted pod: "+first.Name+"-") {
		t.Errorf("no SuccessfulDelete on %s", first.Name)
	}
	desc := kubectlOK(t, "describe", "deployment", "web", "-n", ns)
	newLine := false
	for _, line := range strings.Split(desc, "\n") {
		newLine = newLine || (strings.HasPrefix(line, "NewReplicaSet:") && strings.Contains(line, second.Name))
	}
	if !newLine {
		t.Errorf("kubectl describe deployment does not name %s as the NewReplicaSet:\n%s", second.Name, desc)
	}
	for _, want := range []string{"ScalingReplicaSet", "deployment-controller", "NewReplicaSetAvailable", "MinimumReplicasAvailable"} {
		if !strings.Contains(desc, want) {
			t.Errorf("kubectl describe deployment lacks %q:\n%s", want, desc)
		}
	}

	// History and undo: revision 1's ReplicaSet comes back as revision 3.
	hist := historyRevisions(kubectlOK(t, "rollout", "history", "deployment/web", "-n", ns))
	if hist["1"] != "first release" || hist["2"] != "second release" || len(hist) != 2 {
		t.Errorf("rollout history %v", hist)
	}
	if out := kubectlOK(t, "rollout", "history", "deployment/web", "-n", ns, "--revision=1"); !strings.Contains(out, testImage) {
		t.Errorf("rollout history --revision=1:\n%s", out)
	}
	if out := kubectlOK(t, "rollout", "undo", "deployment/web", "-n", ns); !strings.Contains(out, "deployment.apps/web rolled back") {
		t.Errorf("rollout undo: %s", out)
	}
	rolloutStatus(t, ns, "web")
	waitAvailable(t, ns, "web", 3)
	rss = replicaSets(t, ns)
	if len(rss) != 2 || rss[1].Name != first.Name || rss[1].Annotations["deployment.kubernetes.io/revision"] != "3" ||
		rss[1].Annotations["deployment.kubernetes.io/revision-history"] != "1" || *rss[1].Spec.Replicas != 3 {
		t.Fatalf("after undo the first replica set should be revision 3:\n%s", describeDeployment(t, ns, "web"))
	}
	for _, p := range livePods(t, ns) {
		if podImage(&p) != testImage || !strings.HasPrefix(p.Name, first.Name+"-") {
			t.Errorf("after undo pod %s runs %s", p.Name, podImage(&p))
		}
	}
	hist = historyRevisions(kubectlOK(t, "rollout", "history", "deployment/web", "-n", ns))
	if _, ok := hist["1"]; ok || hist["2"] != "second release" || hist["3"] != "first release" {
		t.Errorf("rollout history after undo %v", hist)
	}
	if rev := jsonpath(t, ns, "deployment/web", `{.metadata.annotations.deployment\.kubernetes\.io/revision}`); rev != "3" {
		t.Errorf("deployment revision %q", rev)
	}

	// restart: a new template, a new ReplicaSet.
	if out := kubectlOK(t, "rollout", "restart", "deployment/web", "-n", ns); !strings.Contains(out, "deployment.apps/web restarted") {
		t.Errorf("rollout restart: %s", out)
	}
	rolloutStatus(t, ns, "web")
	waitAvailable(t, ns, "web", 3)
	rss = replicaSets(t, ns)
	if len(rss) != 3 || rss[2].Spec.Template.Annotations["kubectl.kubernetes.io/restartedAt"] == "" {
		t.Fatalf("after restart:\n%s", describeDeployment(t, ns, "web"))
	}
	restarted := rss[2].Name

	// pause: a template change waits, scaling does not.
	if out := kubectlOK(t, "rollout", "pause", "deployment/web", "-n", ns); !strings.Contains(out, "deployment.apps/web paused") {
		t.Errorf("rollout pause: %s", out)
	}
	kubectlOK(t, "set", "image", "deployment/web", "app="+secondImage, "-n", ns)
	eventually(t, 30*time.Second, func() error {
		got := jsonpath(t, ns, "deployment/web", `{.metadata.generation} {.status.observedGeneration} {.status.conditions[?(@.type=="Progressing")].reason}`)
		if f := strings.Fields(got); len(f) != 3 || f[0] != f[1] || f[2] != "DeploymentPaused" {
			return fmt.Errorf("paused deployment: generation, observed, Progressing reason = %q", got)
		}
		return nil
	})
	scaleDeployment(t, ns, "web", 4)
	waitReady := func(n int) {
		eventually(t, rolloutTimeout, func() error {
			got := jsonpath(t, ns, "deployment/web", "{.status.replicas} {.status.readyReplicas}")
			if got != fmt.Sprintf("%d %d", n, n) {
				return fmt.Errorf("replicas ready = %q, want %d", got, n)
			}
			return nil
		})
	}
	waitReady(4)
	time.Sleep(2 * time.Second) // time enough to roll out wrongly
	if rss = replicaSets(t, ns); len(rss) != 3 {
		t.Fatalf("a paused deployment rolled out:\n%s", describeDeployment(t, ns, "web"))
	}
	for _, p := range livePods(t, ns) {
		if !strings.HasPrefix(p.Name, restarted+"-") {
			t.Errorf("paused: pod %s is not of %s", p.Name, restarted)
		}
	}
	if out := kubectlOK(t, "rollout", "resume", "deployment/web", "-n", ns); !strings.Contains(out, "deployment.apps/web resumed") {
		t.Errorf("rollout resume: %s", out)
	}
	rolloutStatus(t, ns, "web")
	waitAvailable(t, ns, "web", 4)
	for _, p := range livePods(t, ns) {
		if podImage(&p) != secondImage {
			t.Errorf("after resume pod %s runs %s", p.Name, podImage(&p))
		}
	}

	// scale up and down.
	scaleDeployment(t, ns, "web", 5)
	rolloutStatus(t, ns, "web")
	waitAvailable(t, ns, "web", 5)
	scaleDeployment(t, ns, "web", 2)
	waitAvailable(t, ns, "web", 2)
	eventually(t, 60*time.Second, func() error {
		if n := len(livePods(t, ns)); n != 2 {
			return fmt.Errorf("%d pods after scaling to 2", n)
		}
		return nil
	})
	evs = objectEvents(t, ns, "Deployment", "web")
	if cur := replicaSets(t, ns); !containsLine(evs, "Scaled down replica set "+cur[len(cur)-1].Name+" from 5 to 2") {
		t.Errorf("no scale-down event:\n%s", strings.Join(evs, "\n"))
	}
}

// scaleDeployment runs kubectl scale (the scale subresource), asserting it works; if it does
// not, the test goes on with a patch of spec.replicas so the rest is still checked.
func scaleDeployment(t *testing.T, ns, name string, n int) {
	t.Helper()
	r := kubectl(t, "scale", "deployment/"+name, "-n", ns, "--replicas="+strconv.Itoa(n))
	if r.Code == 0 && strings.Contains(r.Stdout, "deployment.apps/"+name+" scaled") {
		return
	}
	t.Errorf("kubectl scale deployment/%s --replicas=%d: %s", name, n, r)
	kubectlOK(t, "patch", "deployment/"+name, "-n", ns, "--type=merge", "-p", fmt.Sprintf(`{"spec":{"replicas":%d}}`, n))
}

// TestDeploymentRecreate: every old pod has stopped before the first new one is created.
func TestDeploymentRecreate(t *testing.T) {
	start(t)
	secondTag(t)
	ns := newNamespace(t, "recreate")
	kubectlInOK(t, manifest(t, "workloads/recreate.yaml", "__NAME__", "db"), "apply", "-n", ns, "-f", "-")
	rolloutStatus(t, ns, "db")
	waitAvailable(t, ns, "db", 2)
	first := replicaSets(t, ns)[0].Name

	w := watchPods(t, ns)
	kubectlOK(t, "set", "image", "deployment/db", "app="+secondImage, "-n", ns)
	rolloutStatus(t, ns, "db")
	waitAvailable(t, ns, "db", 2)
	newPods := 0
	w.replay(t, func(step string, pods map[string]*corev1.Pod) {
		// An old pod counts until it has stopped: gone, or in a terminal phase (its containers
		// have exited; the kubelet reports that before the pod object goes).
		var olds, news []string
		for _, p := range pods {
			switch {
			case podImage(p) == secondImage:
				news = append(news, p.Name)
			case p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed:
				olds = append(olds, p.Name)
			}
		}
		if len(olds) > 0 && len(news) > 0 {
			t.Errorf("%s: new pods %v exist while old pods %v still run: %s", step, news, olds, summary(pods))
		}
		newPods = max(newPods, len(news))
	})
	if newPods != 2 {
		t.Errorf("the watch saw %d new pods, want 2", newPods)
	}
	second := replicaSets(t, ns)[1].Name
	evs := objectEvents(t, ns, "Deployment", "db")
	for _, want := range []string{
		"Scaled down replica set " + first + " from 2 to 0",
		"Scaled up replica set " + second + " from 0 to 2",
	} {
		if !containsLine(evs, want) {
			t.Errorf("events lack %q:\n%s", want, strings.Join(evs, "\n"))
		}
	}
}

// TestDeploymentSelfHealing: a deleted pod is replaced; a container removed behind k2d's back
// comes back in the same pod, and the Deployment is available again.
func TestDeploymentSelfHealing(t *testing.T) {
	start(t)
	ns := newNamespace(t, "heal")
	kubectlInOK(t, manifest(t, "workloads/minimal.yaml", "__NAME__", "heal", "__REPLICAS__", "2", "__DEADLINE__", "600",
		"__IMAGE__", testImage), "apply", "-n", ns, "-f", "-")
	rolloutStatus(t, ns, "heal")
	waitAvailable(t, ns, "heal", 2)
	pods := livePods(t, ns)
	if len(pods) != 2 {
		t.Fatalf("%d pods", len(pods))
	}
	rs := replicaSets(t, ns)[0].Name
	if ann := replicaSets(t, ns)[0].Annotations["deployment.kubernetes.io/max-replicas"]; ann != "3" {
		t.Errorf("max-replicas %q: the default maxSurge 25%% of 2 rounds up to 1", ann)
	}

	// kubectl delete pod: a new pod takes its place.
	victim, keeper := pods[0], pods[1]
	kubectlOK(t, "delete", "pod", victim.Name, "-n", ns)
	waitAvailable(t, ns, "heal", 2)
	eventually(t, 60*time.Second, func() error {
		live := livePods(t, ns)
		if len(live) != 2 {
			return fmt.Errorf("%d pods", len(live))
		}
		for _, p := range live {
			if p.Name == victim.Name {
				return fmt.Errorf("deleted pod %s still there", p.Name)
			}
		}
		return nil
	})
	var replacement string
	for _, p := range livePods(t, ns) {
		if p.Name != keeper.Name {
			replacement = p.Name
		}
	}
	evs := objectEvents(t, ns, "ReplicaSet", rs)
	if !containsLine(evs, "SuccessfulCreate: Created pod: "+replacement+" (replicaset-controller)") {
		t.Errorf("no event for the replacement %s:\n%s", replacement, strings.Join(evs, "\n"))
	}

	// docker rm -f of the app container: the pod restarts it.
	var app string
	for _, c := range podContainers(t, ns, keeper.Name) {
		if c.Container == "app" && c.State == "running" {
			app = c.ID
		}
	}
	if app == "" {
		t.Fatalf("no running app container for %s: %v", keeper.Name, podContainers(t, ns, keeper.Name))
	}
	dockerOK(t, "rm", "-f", app)
	eventually(t, 90*time.Second, func() error {
		p, err := podState(t, ns, keeper.Name)
		if err != nil {
			return err
		}
		if p.UID != keeper.UID {
			return fmt.Errorf("pod %s was replaced, want its container restarted", keeper.Name)
		}
		if len(p.Status.ContainerStatuses) != 1 || p.Status.ContainerStatuses[0].RestartCount < 1 || !p.Status.ContainerStatuses[0].Ready {
			return fmt.Errorf("pod %s: %s", keeper.Name, describePod(p))
		}
		return nil
	})
	waitAvailable(t, ns, "heal", 2)
	if n := len(livePods(t, ns)); n != 2 {
		t.Errorf("%d pods after the container came back", n)
	}

	// Deleting the Deployment takes its ReplicaSet and pods along; nothing re-creates them.
	kubectlOK(t, "delete", "deployment", "heal", "-n", ns)
	eventually(t, 60*time.Second, func() error {
		var pods corev1.PodList
		kubectlJSON(t, &pods, "get", "pods", "-n", ns)
		if n, m := len(pods.Items), len(replicaSets(t, ns)); n+m > 0 {
			return fmt.Errorf("%d pods and %d replica sets remain after the deployment was deleted", n, m)
		}
		return nil
	})
}

// TestDeploymentProgressDeadline: a rollout whose pods never become ready fails
// `kubectl rollout status` once progressDeadlineSeconds pass, with the controller's words.
func TestDeploymentProgressDeadline(t *testing.T) {
	start(t)
	ns := newNamespace(t, "stuck")
	kubectlInOK(t, manifest(t, "workloads/minimal.yaml", "__NAME__", "stuck", "__REPLICAS__", "1", "__DEADLINE__", "5",
		"__IMAGE__", "k2d-test/not-there:1"), "apply", "-n", ns, "-f", "-")
	r := kubectlWith(t, 90*time.Second, "", "rollout", "status", "deployment/stuck", "-n", ns, "--timeout=60s")
	if r.Code == 0 || !strings.Contains(r.Stderr, `deployment "stuck" exceeded its progress deadline`) {
		t.Fatalf("rollout status of a stuck deployment: %s", r)
	}
	rs := replicaSets(t, ns)[0].Name
	got := jsonpath(t, ns, "deployment/stuck", `{.status.conditions[?(@.type=="Progressing")].status}|{.status.conditions[?(@.type=="Progressing")].reason}|{.status.conditions[?(@.type=="Progressing")].message}`)
	if want := `False|ProgressDeadlineExceeded|ReplicaSet "` + rs + `" has timed out progressing.`; got != want {
		t.Errorf("Progressing condition %q, want %q", got, want)
	}
	got = jsonpath(t, ns, "deployment/stuck", `{.status.conditions[?(@.type=="Available")].reason}`)
	if got != "MinimumReplicasUnavailable" {
		t.Errorf("Available reason %q", got)
	}
}

// TestDeploymentSurvivesRestart: after k2d restarts, the ReplicaSet adopts the pods it had:
// same pods, same containers, no new ones, and the Deployment is available again.
func TestDeploymentSurvivesRestart(t *testing.T) {
	start(t)
	ns := newNamespace(t, "keep")
	kubectlInOK(t, manifest(t, "workloads/minimal.yaml", "__NAME__", "keep", "__REPLICAS__", "2", "__DEADLINE__", "600",
		"__IMAGE__", testImage), "apply", "-n", ns, "-f", "-")
	rolloutStatus(t, ns, "keep")
	waitAvailable(t, ns, "keep", 2)
	before := takeSnapshot(t, ns)
	rsBefore := replicaSets(t, ns)

	restartK2D(t, syscall.SIGTERM)

	waitAvailable(t, ns, "keep", 2)
	rolloutStatus(t, ns, "keep")
	time.Sleep(3 * time.Second) // time enough to create duplicates
	if d := before.diff(takeSnapshot(t, ns)); d != "" {
		t.Errorf("after restart: %s", d)
	}
	rsAfter := replicaSets(t, ns)
	if len(rsAfter) != 1 || rsAfter[0].UID != rsBefore[0].UID {
		t.Errorf("replica sets changed across the restart: %d", len(rsAfter))
	}
	// Events are not kept across a restart: any SuccessfulCreate now would be a duplicate.
	for _, e := range objectEvents(t, ns, "ReplicaSet", rsAfter[0].Name) {
		if strings.HasPrefix(e, "SuccessfulCreate:") {
			t.Errorf("a pod was created after the restart: %s", e)
		}
	}
}
