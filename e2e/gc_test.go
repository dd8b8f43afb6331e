package e2e

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Garbage collection with real kubectl: owners and dependents are made by hand (a ConfigMap
// owning ConfigMaps and a Pod), so the tests hold whether or not workload controllers run.

// gcDependents returns YAML for a ConfigMap and a Pod owned by the ConfigMap ns/owner. The pod
// ignores SIGTERM when stubborn (it then lives for its 3 s grace period), else stops at once.
func gcDependents(t *testing.T, ns, owner, prefix string, stubborn bool) string {
	t.Helper()
	uid := strings.TrimSpace(kubectlOK(t, "get", "cm", owner, "-n", ns, "-o", "jsonpath={.metadata.uid}"))
	if uid == "" {
		t.Fatalf("configmap %s has no uid", owner)
	}
	ref := fmt.Sprintf(`  ownerReferences:
  - apiVersion: v1
    kind: ConfigMap
    name: %s
    uid: %s
    blockOwnerDeletion: true`, owner, uid)
	trap := "trap 'exit 0' TERM"
	if stubborn {
		trap = "trap '' TERM"
	}
	return fmt.Sprintf(`apiVersion: v1
kind: ConfigMap
metadata:
  name: %[1]s-cm
%[2]s
data:
  k: v
---
apiVersion: v1
kind: Pod
metadata:
  name: %[1]s-pod
%[2]s
spec:
  terminationGracePeriodSeconds: 3
  containers:
  - name: main
    image: k2d-test/busybox:1
    imagePullPolicy: Never
    command: ["sh", "-c", "%[3]s; while true; do sleep 1; done"]
`, prefix, ref, trap)
}

// gcExists reports whether kind/name exists in ns.
func gcExists(t *testing.T, ns, kind, name string) (bool, string) {
	t.Helper()
	r := kubectl(t, "get", kind, name, "-n", ns, "-o", "json")
	if r.Code != 0 {
		if strings.Contains(r.Stderr, "NotFound") {
			return false, ""
		}
		t.Fatalf("kubectl get %s %s: %s", kind, name, r)
	}
	return true, r.Stdout
}

func gcWaitGone(t *testing.T, ns, kind, name string, timeout time.Duration) {
	t.Helper()
	eventually(t, timeout, func() error {
		if ok, _ := gcExists(t, ns, kind, name); ok {
			return fmt.Errorf("%s %s still exists", kind, name)
		}
		return nil
	})
}

// TestGCCascadeBackground: `kubectl delete` (background by default) removes the owner at once;
// the garbage collector then deletes its dependents, the pod gracefully with its containers.
func TestGCCascadeBackground(t *testing.T) {
	start(t)
	ns := newNamespace(t, "gcbg")
	kubectlOK(t, "create", "configmap", "owner", "-n", ns, "--from-literal=a=b")
	kubectlInOK(t, gcDependents(t, ns, "owner", "child", false), "apply", "-n", ns, "-f", "-")
	waitPodRunning(t, ns, "child-pod", 90*time.Second)

	r := kubectl(t, "delete", "cm", "owner", "-n", ns)
	if r.Code != 0 || strings.TrimSpace(r.Stdout) != `configmap "owner" deleted` {
		t.Fatalf("kubectl delete: %s", r)
	}
	gcWaitGone(t, ns, "cm", "child-cm", 20*time.Second)
	gcWaitGone(t, ns, "pod", "child-pod", 30*time.Second)
	eventually(t, 20*time.Second, func() error {
		if cs := podContainers(t, ns, "child-pod"); len(cs) != 0 {
			return fmt.Errorf("containers of the collected pod remain: %+v", cs)
		}
		return nil
	})

	// An owner re-created under the same name does not adopt what named the old one.
	kubectlOK(t, "create", "configmap", "owner", "-n", ns)
	oldUID := "00000000-0000-4000-8000-000000000000"
	kubectlInOK(t, fmt.Sprintf(`apiVersion: v1
kind: ConfigMap
metadata:
  name: stale
  ownerReferences: [{apiVersion: v1, kind: ConfigMap, name: owner, uid: %s}]
`, oldUID), "apply", "-n", ns, "-f", "-")
	gcWaitGone(t, ns, "cm", "stale", 20*time.Second)
	if ok, _ := gcExists(t, ns, "cm", "owner"); !ok {
		t.Error("the new owner was deleted")
	}
}

// TestGCCascadeForeground: the owner stays, marked with the foregroundDeletion finalizer, until
// its blocking dependents are gone; `kubectl delete --cascade=foreground` waits for all of it.
func TestGCCascadeForeground(t *testing.T) {
	start(t)
	ns := newNamespace(t, "gcfg")
	kubectlOK(t, "create", "configmap", "owner", "-n", ns)
	kubectlInOK(t, gcDependents(t, ns, "owner", "child", true), "apply", "-n", ns, "-f", "-")
	waitPodRunning(t, ns, "child-pod", 90*time.Second)

	r := kubectl(t, "delete", "cm", "owner", "-n", ns, "--cascade=foreground", "--wait=false")
	if r.Code != 0 || strings.TrimSpace(r.Stdout) != `configmap "owner" deleted` {
		t.Fatalf("kubectl delete --cascade=foreground: %s", r)
	}
	var owner corev1.ConfigMap
	kubectlJSON(t, &owner, "get", "cm", "owner", "-n", ns)
	if owner.DeletionTimestamp == nil || !slices.Equal(owner.Finalizers, []string{"foregroundDeletion"}) {
		t.Fatalf("owner while its dependents go: deletionTimestamp %v, finalizers %v", owner.DeletionTimestamp, owner.Finalizers)
	}
	// The stubborn pod takes its 3 s grace period: meanwhile it is Terminating and the owner waits.
	eventually(t, 10*time.Second, func() error {
		p, err := podState(t, ns, "child-pod")
		if err != nil {
			return err
		}
		if p.DeletionTimestamp == nil {
			return fmt.Errorf("pod not terminating")
		}
		return nil
	})
	if ok, _ := gcExists(t, ns, "cm", "owner"); !ok {
		t.Error("owner went before its blocking pod")
	}
	gcWaitGone(t, ns, "cm", "child-cm", 20*time.Second)
	gcWaitGone(t, ns, "pod", "child-pod", 30*time.Second)
	gcWaitGone(t, ns, "cm", "owner", 20*time.Second)

	// With kubectl waiting (its default), the command returns once the owner is gone.
	kubectlOK(t, "create", "configmap", "owner2", "-n", ns)
	kubectlInOK(t, gcDependents(t, ns, "owner2", "second", false), "apply", "-n", ns, "-f", "-")
	waitPodRunning(t, ns, "second-pod", 90*time.Second)
	r = kubectlWith(t, 90*time.Second, "", "delete", "cm", "owner2", "-n", ns, "--cascade=foreground")
	if r.Code != 0 {
		t.Fatalf("kubectl delete --cascade=foreground (waiting): %s", r)
	}
	for _, o := range [][2]string{{"cm", "owner2"}, {"cm", "second-cm"}, {"pod", "second-pod"}} {
		if ok, _ := gcExists(t, ns, o[0], o[1]); ok {
			t.Errorf("%s %s remains after kubectl delete --cascade=foreground returned", o[0], o[1])
		}
	}
	t.Logf("foreground delete with a pod took %s", r.Took.Round(time.Millisecond))
}

// TestGCCascadeOrphan: the owner goes; its dependents stay, without the ownerReference.
func TestGCCascadeOrphan(t *testing.T) {
	start(t)
	ns := newNamespace(t, "gcor")
	kubectlOK(t, "create", "configmap", "owner", "-n", ns)
	kubectlInOK(t, gcDependents(t, ns, "owner", "child", false), "apply", "-n", ns, "-f", "-")
	waitPodRunning(t, ns, "child-pod", 90*time.Second)

	r := kubectlWith(t, 60*time.Second, "", "delete", "cm", "owner", "-n", ns, "--cascade=orphan")
	if r.Code != 0 || strings.TrimSpace(r.Stdout) != `configmap "owner" deleted` {
		t.Fatalf("kubectl delete --cascade=orphan: %s", r)
	}
	if ok, _ := gcExists(t, ns, "cm", "owner"); ok {
		t.Fatal("owner remains after kubectl delete --cascade=orphan returned")
	}
	var cm corev1.ConfigMap
	kubectlJSON(t, &cm, "get", "cm", "child-cm", "-n", ns)
	if len(cm.OwnerReferences) != 0 || cm.DeletionTimestamp != nil {
		t.Errorf("orphaned configmap: refs %v, deleting %v", cm.OwnerReferences, cm.DeletionTimestamp)
	}
	// Still running a while later: nothing collects it.
	time.Sleep(time.Second)
	p := getPod(t, ns, "child-pod")
	if len(p.OwnerReferences) != 0 || p.DeletionTimestamp != nil || p.Status.Phase != corev1.PodRunning {
		t.Errorf("orphaned pod: refs %v, deleting %v, phase %s", p.OwnerReferences, p.DeletionTimestamp, p.Status.Phase)
	}
}

const scaleDeployYAML = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  paused: true
  replicas: 0
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: main
        image: k2d-test/busybox:1
        command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
`

// TestAppsScaleAndPrint: `kubectl scale` (a merge patch on the scale subresource) and
// `kubectl get --subresource=scale` on a Deployment and a ReplicaSet; Deployment and ReplicaSet
// tables, defaults and validation errors as kubectl shows them. The Deployment is paused and
// the ReplicaSet has no pods to create, so workload controllers have nothing to run.
func TestAppsScaleAndPrint(t *testing.T) {
	start(t)
	ns := newNamespace(t, "scale")
	kubectlInOK(t, scaleDeployYAML, "apply", "-n", ns, "-f", "-")
	var d appsv1.Deployment
	kubectlJSON(t, &d, "get", "deploy", "web", "-n", ns)
	if d.Generation != 1 || d.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType || d.Spec.Strategy.RollingUpdate == nil ||
		d.Spec.Strategy.RollingUpdate.MaxSurge.String() != "25%" || *d.Spec.RevisionHistoryLimit != 10 || *d.Spec.ProgressDeadlineSeconds != 600 ||
		d.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyAlways || d.Spec.Template.Spec.Containers[0].TerminationMessagePath != "/dev/termination-log" {
		t.Errorf("defaults: %+v", d.Spec)
	}

	r := kubectl(t, "scale", "deploy/web", "-n", ns, "--replicas=3")
	if r.Code != 0 || strings.TrimSpace(r.Stdout) != "deployment.apps/web scaled" {
		t.Fatalf("kubectl scale: %s", r)
	}
	if got := kubectlOK(t, "get", "deploy", "web", "-n", ns, "-o", "jsonpath={.spec.replicas} {.metadata.generation}"); got != "3 2" {
		t.Errorf("after scale: replicas and generation %q, want \"3 2\"", got)
	}
	rows := tableRows(kubectlOK(t, "get", "deploy/web", "-n", ns, "--subresource=scale"))
	if len(rows) != 2 || !slices.Equal(rows[0], []string{"NAME", "DESIRED", "AVAILABLE", "AGE"}) || rows[1][0] != "web" || rows[1][1] != "3" {
		t.Errorf("kubectl get --subresource=scale: %q", rows)
	}
	var s autoscalingv1.Scale
	kubectlJSON(t, &s, "get", "deploy/web", "-n", ns, "--subresource=scale")
	kubectlJSON(t, &d, "get", "deploy", "web", "-n", ns)
	if s.Kind != "Scale" || s.APIVersion != "autoscaling/v1" || s.Spec.Replicas != 3 || s.Status.Selector != "app=web" ||
		s.UID != d.UID || s.ResourceVersion != d.ResourceVersion {
		t.Errorf("scale object: %+v", s)
	}
	// With a precondition kubectl GETs the Scale, checks it and PUTs it back.
	r = kubectl(t, "scale", "deploy/web", "-n", ns, "--current-replicas=3", "--replicas=4")
	if r.Code != 0 || strings.TrimSpace(r.Stdout) != "deployment.apps/web scaled" {
		t.Fatalf("kubectl scale --current-replicas: %s", r)
	}
	r = kubectl(t, "scale", "deploy/web", "-n", ns, "--current-replicas=3", "--replicas=1")
	if r.Code == 0 || !strings.Contains(r.Stderr, "Expected replicas to be 3, was 4") {
		t.Errorf("kubectl scale with a failed precondition: %s", r)
	}
	if got := kubectlOK(t, "get", "deploy", "web", "-n", ns, "-o", "jsonpath={.spec.replicas}"); got != "4" {
		t.Errorf("after the PUT: replicas %q, want 4", got)
	}

	// Printing: the server's columns, wide ones with -o wide.
	rows = tableRows(kubectlOK(t, "get", "deploy", "-n", ns, "-o", "wide"))
	if len(rows) != 2 || !slices.Equal(rows[0], []string{"NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"}) ||
		!slices.Equal(slices.Delete(slices.Clone(rows[1]), 4, 5), []string{"web", "0/4", "0", "0", "main", "k2d-test/busybox:1", "app=web"}) {
		t.Errorf("kubectl get deploy -o wide: %q", rows)
	}

	// A ReplicaSet of its own, with nothing to select yet: scaled to 0 and back is all spec.
	rsYAML := strings.NewReplacer("kind: Deployment", "kind: ReplicaSet", "name: web", "name: solo", "app: web", "app: solo", "  paused: true\n", "").Replace(scaleDeployYAML)
	kubectlInOK(t, rsYAML, "apply", "-n", ns, "-f", "-")
	r = kubectl(t, "scale", "rs/solo", "-n", ns, "--replicas=0")
	if r.Code != 0 || strings.TrimSpace(r.Stdout) != "replicaset.apps/solo scaled" {
		t.Fatalf("kubectl scale rs: %s", r)
	}
	rows = tableRows(kubectlOK(t, "get", "rs", "solo", "-n", ns, "-o", "wide"))
	if len(rows) != 2 || !slices.Equal(rows[0], []string{"NAME", "DESIRED", "CURRENT", "READY", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"}) ||
		rows[1][0] != "solo" || rows[1][1] != "0" || rows[1][7] != "app=solo" {
		t.Errorf("kubectl get rs -o wide: %q", rows)
	}

	// Negative replicas reach the server through the API (kubectl refuses them itself).
	resp := api(t, apiRequest{Method: "PATCH", Path: "/apis/apps/v1/namespaces/" + ns + "/deployments/web/scale",
		ContentType: "application/merge-patch+json", Body: []byte(`{"spec":{"replicas":-2}}`)})
	st := expectStatus(t, resp, 422, metav1.StatusReasonInvalid)
	if st.Message != `Scale.autoscaling "web" is invalid: spec.replicas: Invalid value: -2: must be greater than or equal to 0` {
		t.Errorf("negative scale: %q", st.Message)
	}
	resp = api(t, apiRequest{Path: "/apis/apps/v1/namespaces/" + ns + "/deployments/nope/scale"})
	if st = expectStatus(t, resp, 404, metav1.StatusReasonNotFound); st.Message != `deployments/scale.apps "nope" not found` {
		t.Errorf("missing scale: %q", st.Message)
	}

	// Validation as kubectl reports it.
	bad := strings.Replace(strings.Replace(scaleDeployYAML, "name: web", "name: bad", 1), "labels: {app: web}", "labels: {app: other}", 1)
	r = kubectlIn(t, bad, "apply", "-n", ns, "-f", "-")
	if want := "The Deployment \"bad\" is invalid: spec.template.metadata.labels: Invalid value: {\"app\":\"other\"}: `selector` does not match template `labels`"; r.Code == 0 || !strings.Contains(r.Stderr, want) {
		t.Errorf("mismatched selector:\n%s\nwant %s", r, want)
	}
	r = kubectl(t, "patch", "deploy", "web", "-n", ns, "--type=merge", "-p", `{"spec":{"selector":{"matchLabels":{"app":"web","x":"y"}},"template":{"metadata":{"labels":{"x":"y"}}}}}`)
	if r.Code == 0 || !strings.Contains(r.Stderr, "spec.selector: Invalid value: {\"matchLabels\":{\"app\":\"web\",\"x\":\"y\"}}: field is immutable") {
		t.Errorf("selector change: %s", r)
	}
	raw := kubectlOK(t, "get", "deploy", "web", "-n", ns, "-o", "json")
	if err := json.Unmarshal([]byte(raw), &d); err != nil || *d.Spec.Replicas != 4 {
		t.Errorf("refused writes changed the deployment: %v %v", err, d.Spec.Replicas)
	}
}

// TestGCDeploymentCascade: `kubectl delete deploy` removes the ReplicaSets and pods the
// workload controllers made, in the background and in the foreground. It needs those
// controllers and skips when no ReplicaSet appears.
func TestGCDeploymentCascade(t *testing.T) {
	start(t)
	ns := newNamespace(t, "gcdeploy")
	cmd := "trap 'exit 0' TERM; while true; do sleep 1; done"
	owned := func(name string) (rs []string, pods int) {
		var rsl appsv1.ReplicaSetList
		kubectlJSON(t, &rsl, "get", "rs", "-n", ns, "-l", "app="+name)
		for _, r := range rsl.Items {
			if c := metav1.GetControllerOf(&r); c != nil && c.Kind == "Deployment" && c.Name == name {
				rs = append(rs, r.Name)
			}
		}
		var pl corev1.PodList
		kubectlJSON(t, &pl, "get", "pods", "-n", ns, "-l", "app="+name)
		for _, p := range pl.Items {
			if c := metav1.GetControllerOf(&p); c != nil && c.Kind == "ReplicaSet" && slices.Contains(rs, c.Name) {
				pods++
			}
		}
		return rs, pods
	}
	for _, name := range []string{"fg", "bg"} {
		kubectlOK(t, "create", "deployment", name, "-n", ns, "--image="+testImage, "--replicas=2", "--", "sh", "-c", cmd)
	}
	if err := poll(30*time.Second, func() error {
		for _, name := range []string{"fg", "bg"} {
			if rs, pods := owned(name); len(rs) != 1 || pods != 2 {
				return fmt.Errorf("deployment %s: replicasets %v, %d pods", name, rs, pods)
			}
		}
		return nil
	}); err != nil {
		if rs, _ := owned("fg"); len(rs) == 0 {
			t.Skip("no ReplicaSet appeared: the Deployment controller is not running")
		}
		t.Fatal(err)
	}

	// Foreground: kubectl returns once the Deployment is gone, which is after its tree.
	r := kubectlWith(t, 90*time.Second, "", "delete", "deploy", "fg", "-n", ns, "--cascade=foreground")
	if r.Code != 0 || strings.TrimSpace(r.Stdout) != `deployment.apps "fg" deleted` {
		t.Fatalf("kubectl delete deploy --cascade=foreground: %s", r)
	}
	if out := kubectlOK(t, "get", "rs,pods", "-n", ns, "-l", "app=fg", "-o", "name"); strings.TrimSpace(out) != "" {
		t.Errorf("left after the foreground delete returned:\n%s", out)
	}
	t.Logf("foreground delete of a 2-pod deployment took %s", r.Took.Round(time.Millisecond))

	// Background: the Deployment goes at once, then its ReplicaSet and pods.
	r = kubectl(t, "delete", "deploy", "bg", "-n", ns)
	if r.Code != 0 || strings.TrimSpace(r.Stdout) != `deployment.apps "bg" deleted` {
		t.Fatalf("kubectl delete deploy: %s", r)
	}
	eventually(t, 40*time.Second, func() error {
		if out := kubectlOK(t, "get", "rs,pods", "-n", ns, "-l", "app=bg", "-o", "name"); strings.TrimSpace(out) != "" {
			return fmt.Errorf("still there:\n%s", out)
		}
		return nil
	})
}
