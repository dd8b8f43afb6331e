package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const saMount = "/var/run/secrets/kubernetes.io/serviceaccount"

// TestServiceAccountToken: every namespace has a default ServiceAccount and kube-root-ca.crt;
// a pod gets the kube-api-access volume; its token authenticates to k2d as the service
// account, which may read discovery and nothing else, and stops working with the pod.
func TestServiceAccountToken(t *testing.T) {
	h := start(t)
	ns := newNamespace(t, "sa")
	user := "system:serviceaccount:" + ns + ":default"

	eventually(t, 10*time.Second, func() error {
		rows := tableRows(kubectlOK(t, "get", "sa", "-n", ns))
		if len(rows) < 2 || strings.Join(rows[0], " ") != "NAME SECRETS AGE" || rowFor(rows, "default") == nil || rowFor(rows, "default")[1] != "0" {
			return fmt.Errorf("kubectl get sa: %v", rows)
		}
		return nil
	})
	ca := kubectlOK(t, "get", "configmap", "kube-root-ca.crt", "-n", ns, "-o", "jsonpath={.data.ca\\.crt}")
	if strings.TrimSpace(ca) != strings.TrimSpace(string(h.caPEM)) {
		t.Errorf("kube-root-ca.crt holds %q, want the API's CA", ca)
	}

	p := applyPod(t, ns, "client", sleeperPod(t, "client"))
	if p.Spec.ServiceAccountName != "default" || p.Spec.DeprecatedServiceAccount != "default" {
		t.Errorf("serviceAccountName %q serviceAccount %q", p.Spec.ServiceAccountName, p.Spec.DeprecatedServiceAccount)
	}
	var vol *corev1.Volume
	for i := range p.Spec.Volumes {
		if strings.HasPrefix(p.Spec.Volumes[i].Name, "kube-api-access-") && len(p.Spec.Volumes[i].Name) == len("kube-api-access-")+5 {
			vol = &p.Spec.Volumes[i]
		}
	}
	if vol == nil || vol.Projected == nil || len(vol.Projected.Sources) != 3 || vol.Projected.Sources[0].ServiceAccountToken == nil ||
		*vol.Projected.Sources[0].ServiceAccountToken.ExpirationSeconds != 3607 || *vol.Projected.DefaultMode != 0o644 {
		t.Fatalf("no kube-api-access volume as the admission plugin makes it: %+v", p.Spec.Volumes)
	}
	if m := p.Spec.Containers[0].VolumeMounts; len(m) != 1 || m[0].MountPath != saMount || !m[0].ReadOnly || m[0].Name != vol.Name {
		t.Errorf("volumeMounts: %+v", m)
	}

	if got := cfgExec(t, ns, "client", "ls "+saMount); got != "ca.crt\nnamespace\ntoken" {
		t.Errorf("ls %s: %q", saMount, got)
	}
	if got := cfgExec(t, ns, "client", "cat "+saMount+"/namespace"); got != ns {
		t.Errorf("namespace file: %q", got)
	}
	if got := cfgExec(t, ns, "client", "cat "+saMount+"/ca.crt"); got != strings.TrimSpace(string(h.caPEM)) {
		t.Errorf("ca.crt differs from the API's CA")
	}
	mounts := cfgExec(t, ns, "client", "cat /proc/mounts")
	if !cfgTmpfs(mounts, saMount) {
		t.Errorf("%s is not on a tmpfs:\n%s", saMount, mounts)
	}
	token := cfgExec(t, ns, "client", "cat "+saMount+"/token")
	if strings.Count(token, ".") != 2 || token == h.token || strings.Contains(mounts, h.token) {
		t.Fatalf("the mounted token is not a JWT of its own: %.40q", token)
	}
	if hits := cfgGrep(t, h.dataDir, token); len(hits) > 0 {
		t.Errorf("the token is in the data dir: %v", hits)
	}

	// Authenticated, but forbidden beyond discovery.
	resp := api(t, apiRequest{Path: "/api/v1/namespaces/" + ns + "/pods", Token: token})
	st := expectStatus(t, resp, http.StatusForbidden, metav1.StatusReasonForbidden)
	want := fmt.Sprintf(`pods is forbidden: User %q cannot list resource "pods" in API group "" in the namespace %q`, user, ns)
	if st.Message != want || st.Details == nil || st.Details.Kind != "pods" {
		t.Errorf("list pods with the token: %q %+v, want %q", st.Message, st.Details, want)
	}
	resp = api(t, apiRequest{Path: "/api/v1/nodes/x", Token: token})
	st = expectStatus(t, resp, http.StatusForbidden, metav1.StatusReasonForbidden)
	if want := fmt.Sprintf(`nodes "x" is forbidden: User %q cannot get resource "nodes" in API group "" at the cluster scope`, user); st.Message != want {
		t.Errorf("get node: %q, want %q", st.Message, want)
	}
	resp = api(t, apiRequest{Path: "/metrics", Token: token})
	st = expectStatus(t, resp, http.StatusForbidden, metav1.StatusReasonForbidden)
	if want := fmt.Sprintf(`forbidden: User %q cannot get path "/metrics"`, user); st.Message != want {
		t.Errorf("metrics: %q, want %q", st.Message, want)
	}
	for _, path := range []string{"/api", "/apis", "/api/v1", "/apis/apps/v1", "/version", "/openapi/v2"} {
		if resp := api(t, apiRequest{Path: path, Token: token}); resp.Code != http.StatusOK {
			t.Errorf("GET %s with the token: %d %.200s", path, resp.Code, resp.Body)
		}
	}
	if resp := api(t, apiRequest{Path: "/api/v1/namespaces/" + ns + "/pods", Token: token[:len(token)-4] + "AAAA"}); resp.Code != http.StatusUnauthorized {
		t.Errorf("tampered token: HTTP %d, want 401", resp.Code)
	}

	// kubectl with the token: the server's words, and `auth can-i` answers no.
	r := kubectl(t, "get", "pods", "-n", ns, "--token", token)
	if r.Code == 0 || !strings.Contains(r.Stderr, "Error from server (Forbidden): "+want) && !strings.Contains(r.Stderr, `cannot list resource "pods"`) {
		t.Errorf("kubectl get pods --token: %s", r)
	}
	r = kubectl(t, "auth", "can-i", "list", "pods", "-n", ns, "--token", token)
	if strings.TrimSpace(r.Stdout) != "no" {
		t.Errorf("kubectl auth can-i list pods --token: %s", r)
	}
	r = kubectl(t, "auth", "can-i", "create", "selfsubjectaccessreviews.authorization.k8s.io", "--token", token)
	if strings.TrimSpace(r.Stdout) != "yes" {
		t.Errorf("kubectl auth can-i create selfsubjectaccessreviews --token: %s", r)
	}
	if out := kubectlOK(t, "auth", "can-i", "list", "pods", "-n", ns); strings.TrimSpace(out) != "yes" {
		t.Errorf("the admin token: can-i list pods: %q", out)
	}

	// The token is bound to the pod: it stops working once the pod is gone.
	kubectlOK(t, "delete", "pod", "client", "-n", ns, "--wait=true", "--timeout=60s")
	if resp := api(t, apiRequest{Path: "/api", Token: token}); resp.Code != http.StatusUnauthorized {
		t.Errorf("token of a deleted pod: HTTP %d, want 401", resp.Code)
	}
}

// TestServiceAccountObjects: the default ServiceAccount comes back when deleted; a pod naming
// a missing ServiceAccount is refused with the admission plugin's message; automounting is
// off when the pod or its ServiceAccount says so.
func TestServiceAccountObjects(t *testing.T) {
	start(t)
	ns := newNamespace(t, "sao")
	var sa corev1.ServiceAccount
	eventually(t, 10*time.Second, func() error {
		r := kubectl(t, "get", "sa", "default", "-n", ns, "-o", "json")
		if r.Code != 0 {
			return fmt.Errorf("%s", r.Stderr)
		}
		return json.Unmarshal([]byte(r.Stdout), &sa)
	})
	kubectlOK(t, "delete", "sa", "default", "-n", ns)
	eventually(t, 10*time.Second, func() error {
		var again corev1.ServiceAccount
		r := kubectl(t, "get", "sa", "default", "-n", ns, "-o", "json")
		if r.Code != 0 {
			return fmt.Errorf("%s", r.Stderr)
		}
		if err := json.Unmarshal([]byte(r.Stdout), &again); err != nil {
			return err
		}
		if again.UID == sa.UID {
			return fmt.Errorf("same uid")
		}
		return nil
	})

	r := kubectlIn(t, strings.Replace(sleeperPod(t, "lost"), "spec:\n", "spec:\n  serviceAccountName: robot\n", 1), "apply", "-n", ns, "-f", "-")
	want := fmt.Sprintf(`pods "lost" is forbidden: error looking up service account %s/robot: serviceaccount "robot" not found`, ns)
	if r.Code == 0 || !strings.Contains(r.Stderr, want) {
		t.Errorf("pod with a missing service account: %s\nwant %q", r, want)
	}

	kubectlInOK(t, `apiVersion: v1
kind: ServiceAccount
metadata:
  name: robot
automountServiceAccountToken: false
`, "apply", "-n", ns, "-f", "-")
	podYAML := strings.Replace(sleeperPod(t, "robot"), "spec:\n", "spec:\n  serviceAccountName: robot\n", 1) + "---\n" +
		strings.Replace(sleeperPod(t, "quiet"), "spec:\n", "spec:\n  automountServiceAccountToken: false\n", 1)
	kubectlInOK(t, podYAML, "apply", "-n", ns, "-f", "-")
	for _, name := range []string{"robot", "quiet"} {
		p := waitPodRunning(t, ns, name, 60*time.Second)
		if len(p.Spec.Volumes) != 0 || len(p.Spec.Containers[0].VolumeMounts) != 0 {
			t.Errorf("%s: automount is off, yet volumes %+v", name, p.Spec.Volumes)
		}
		r := kubectl(t, "exec", name, "-n", ns, "--", "ls", "/var/run/secrets/kubernetes.io")
		if r.Code == 0 {
			t.Errorf("%s: /var/run/secrets/kubernetes.io exists: %s", name, r.Stdout)
		}
	}
}
