package fastapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/k2d-project/k2d/cache"
	"github.com/k2d-project/k2d/codec"
	"github.com/k2d-project/k2d/reconcile"
	"github.com/valyala/fasthttp/fasthttputil"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func newTokens(t *testing.T) *ServiceAccountTokens {
	t.Helper()
	tok, err := LoadOrCreateServiceAccountKey(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestServiceAccountKeyIsKept(t *testing.T) {
	dir := t.TempDir()
	a, err := LoadOrCreateServiceAccountKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, "sa.key"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", st, err)
	}
	b, err := LoadOrCreateServiceAccountKey(dir)
	if err != nil || a.kid != b.kid {
		t.Fatalf("a second load made another key: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "sa.key"), []byte("junk"), 0o600)
	if _, err := LoadOrCreateServiceAccountKey(dir); err == nil {
		t.Fatal("a broken key file was accepted")
	}
}

func TestTokenIssueAndVerify(t *testing.T) {
	tok := newTokens(t)
	now := time.Date(2025, 5, 6, 7, 8, 9, 0, time.UTC)
	tok.now = func() time.Time { return now }
	req := reconcile.TokenRequest{Namespace: "ns", ServiceAccount: "default", ServiceAccountUID: "sa-uid",
		PodName: "web", PodUID: "pod-uid", NodeName: "node1", ExpirationSeconds: 3607}
	jwt, exp, err := tok.Issue(req)
	if err != nil {
		t.Fatal(err)
	}
	if !exp.Equal(now.Add(3607 * time.Second)) {
		t.Errorf("expiry %v", exp)
	}
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", jwt)
	}
	hdr, _ := base64.RawURLEncoding.DecodeString(parts[0])
	if !strings.HasPrefix(string(hdr), `{"alg":"ES256","kid":"`) {
		t.Errorf("header %s", hdr)
	}
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	k8s, _ := claims["kubernetes.io"].(map[string]any)
	if claims["iss"] != TokenIssuer || claims["sub"] != "system:serviceaccount:ns:default" || claims["exp"] != float64(exp.Unix()) ||
		k8s["namespace"] != "ns" || k8s["pod"].(map[string]any)["uid"] != "pod-uid" || k8s["serviceaccount"].(map[string]any)["name"] != "default" {
		t.Errorf("claims: %s", payload)
	}
	if aud, _ := claims["aud"].([]any); len(aud) != 1 || aud[0] != TokenIssuer {
		t.Errorf("aud: %v", claims["aud"])
	}
	if _, ok := tok.verify(jwt); !ok {
		t.Fatal("own token rejected")
	}
	// Tampered payload, another key, another audience, expired: all refused.
	forged := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(payload), `"default"`, `"admin"`, 1))) + "." + parts[2]
	if _, ok := tok.verify(forged); ok {
		t.Error("tampered token accepted")
	}
	if _, ok := newTokens(t).verify(jwt); ok {
		t.Error("token of another key accepted")
	}
	vault, _, _ := tok.Issue(reconcile.TokenRequest{Namespace: "ns", ServiceAccount: "default", Audiences: []string{"vault"}, ExpirationSeconds: 600})
	if _, ok := tok.verify(vault); ok {
		t.Error("token for another audience accepted by the API")
	}
	now = now.Add(3607*time.Second + 2*time.Minute)
	if _, ok := tok.verify(jwt); ok {
		t.Error("expired token accepted")
	}
	if _, ok := tok.verify("a.b.c"); ok {
		t.Error("garbage accepted")
	}
}

func TestAuthenticatorChecksBindings(t *testing.T) {
	tok := newTokens(t)
	store, _ := cache.New(cache.Options{})
	saKind, podKind := codec.KindFor("", "v1", "serviceaccounts"), codec.KindFor("", "v1", "pods")
	sa, _ := store.Create(saKind, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: "ns"}})
	pod, _ := store.Create(podKind, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns"}})
	auth := tok.Authenticator(store)
	jwt, _, _ := tok.Issue(reconcile.TokenRequest{Namespace: "ns", ServiceAccount: "default", ServiceAccountUID: string(sa.Meta().GetUID()),
		PodName: "web", PodUID: string(pod.Meta().GetUID()), ExpirationSeconds: 3600})
	if user, ok := auth(jwt); !ok || user != "system:serviceaccount:ns:default" {
		t.Fatalf("auth: %q %v", user, ok)
	}
	// The pod is re-created under the same name: the old pod's token is dead.
	store.Delete(podKind, "ns", "web", "", "")
	store.Create(podKind, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns"}})
	if _, ok := auth(jwt); ok {
		t.Error("token of a deleted pod accepted")
	}
	unbound, _, _ := tok.Issue(reconcile.TokenRequest{Namespace: "ns", ServiceAccount: "default", ServiceAccountUID: string(sa.Meta().GetUID()), ExpirationSeconds: 3600})
	if _, ok := auth(unbound); !ok {
		t.Error("token without a pod rejected")
	}
	store.Delete(saKind, "ns", "default", "", "")
	store.Create(saKind, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: "ns"}})
	if _, ok := auth(unbound); ok {
		t.Error("token of a deleted service account accepted")
	}
}

// saServer is a test server that accepts service account tokens.
type saServer struct {
	*testServer
	tokens *ServiceAccountTokens
}

func newSAServer(t *testing.T) *saServer {
	t.Helper()
	store, err := cache.New(cache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range []string{"default", "ns"} {
		if _, err := store.Create(codec.KindFor("", "v1", "namespaces"), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			t.Fatal(err)
		}
	}
	tokens := newTokens(t)
	rt := &fakeRuntime{}
	s := New(Config{Token: testToken, Store: store, Runtime: rt, Kubeconfig: func() []byte { return nil },
		Version: Version{Major: "1", Minor: "32", GitVersion: "v1.32.0+k2d.test"}, Authenticate: tokens.Authenticator(store)})
	ln := fasthttputil.NewInmemoryListener()
	go s.Serve(ln) //nolint:errcheck
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	hc := &http.Client{Transport: &http.Transport{DialContext: func(context.Context, string, string) (net.Conn, error) { return ln.Dial() }}}
	return &saServer{testServer: &testServer{t: t, store: store, rt: rt, hc: hc}, tokens: tokens}
}

func (s *saServer) doAs(token, method, path, body string) (int, string) {
	s.t.Helper()
	req, _ := http.NewRequest(method, "http://k2d"+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, string(b)
}

func TestServiceAccountRequests(t *testing.T) {
	s := newSAServer(t)
	resp, body := s.do("POST", "/api/v1/namespaces/ns/pods", "application/json", podJSON)
	if resp.StatusCode != 201 {
		t.Fatalf("create pod: %d %s", resp.StatusCode, body)
	}
	pod, _ := s.store.Get("pods", "ns", "web")
	sa, ok := s.store.Get("serviceaccounts", "ns", "default")
	if !ok {
		t.Fatal("no default service account after the first pod")
	}
	jwt, _, _ := s.tokens.Issue(reconcile.TokenRequest{Namespace: "ns", ServiceAccount: "default", ServiceAccountUID: string(sa.Meta().GetUID()),
		PodName: "web", PodUID: string(pod.Meta().GetUID()), ExpirationSeconds: 3607})
	user := "system:serviceaccount:ns:default"

	for _, path := range []string{"/api", "/apis", "/api/v1", "/openapi/v2", "/version"} {
		if code, body := s.doAs(jwt, "GET", path, ""); code != 200 {
			t.Errorf("GET %s: %d %.200s", path, code, body)
		}
	}
	for _, tc := range []struct {
		method, path, body string
		msg                string
		kind, name         string
	}{
		{"GET", "/api/v1/namespaces/ns/pods", "", `pods is forbidden: User "` + user + `" cannot list resource "pods" in API group "" in the namespace "ns"`, "pods", ""},
		{"GET", "/api/v1/namespaces/ns/pods?watch=true", "", `pods is forbidden: User "` + user + `" cannot watch resource "pods" in API group "" in the namespace "ns"`, "pods", ""},
		{"GET", "/api/v1/namespaces/ns/pods/web", "", `pods "web" is forbidden: User "` + user + `" cannot get resource "pods" in API group "" in the namespace "ns"`, "pods", "web"},
		{"GET", "/api/v1/namespaces/ns/pods/web/log", "", `pods "web" is forbidden: User "` + user + `" cannot get resource "pods/log" in API group "" in the namespace "ns"`, "pods", "web"},
		{"POST", "/api/v1/namespaces/ns/pods", podJSON, `pods is forbidden: User "` + user + `" cannot create resource "pods" in API group "" in the namespace "ns"`, "pods", ""},
		{"DELETE", "/api/v1/namespaces/ns/pods", "", `pods is forbidden: User "` + user + `" cannot deletecollection resource "pods" in API group "" in the namespace "ns"`, "pods", ""},
		{"PATCH", "/apis/apps/v1/namespaces/ns/deployments/d", "{}", `deployments.apps "d" is forbidden: User "` + user + `" cannot patch resource "deployments" in API group "apps" in the namespace "ns"`, "deployments", "d"},
		{"GET", "/api/v1/nodes", "", `nodes is forbidden: User "` + user + `" cannot list resource "nodes" in API group "" at the cluster scope`, "nodes", ""},
		{"GET", "/api/v1/namespaces/ns/secrets/x", "", `secrets "x" is forbidden: User "` + user + `" cannot get resource "secrets" in API group "" in the namespace "ns"`, "secrets", "x"},
		{"GET", "/metrics", "", `forbidden: User "` + user + `" cannot get path "/metrics"`, "", ""},
		{"GET", "/k2d/kubeconfig", "", `forbidden: User "` + user + `" cannot get path "/k2d/kubeconfig"`, "", ""},
	} {
		code, body := s.doAs(jwt, tc.method, tc.path, tc.body)
		st := status(t, body)
		if code != 403 || st.Code != 403 || st.Reason != metav1.StatusReasonForbidden || st.Message != tc.msg {
			t.Errorf("%s %s: %d %q\nwant %q", tc.method, tc.path, code, st.Message, tc.msg)
		}
		if st.Details == nil || st.Details.Kind != tc.kind || st.Details.Name != tc.name {
			t.Errorf("%s %s: details %+v", tc.method, tc.path, st.Details)
		}
	}
	if code, _ := s.doAs("not-a-token", "GET", "/api", ""); code != 401 {
		t.Errorf("unknown token: %d", code)
	}

	// Self reviews: "no" for resources, "yes" for discovery.
	review := func(spec string) authorizationv1.SelfSubjectAccessReview {
		code, body := s.doAs(jwt, "POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
			`{"apiVersion":"authorization.k8s.io/v1","kind":"SelfSubjectAccessReview","spec":`+spec+`}`)
		var r authorizationv1.SelfSubjectAccessReview
		if code != 201 || json.Unmarshal([]byte(body), &r) != nil {
			t.Fatalf("review: %d %s", code, body)
		}
		return r
	}
	if r := review(`{"resourceAttributes":{"namespace":"ns","verb":"list","resource":"pods"}}`); r.Status.Allowed {
		t.Errorf("list pods allowed: %+v", r.Status)
	}
	if r := review(`{"nonResourceAttributes":{"verb":"get","path":"/apis/apps"}}`); !r.Status.Allowed || !strings.Contains(r.Status.Reason, "system:discovery") {
		t.Errorf("get /apis/apps: %+v", r.Status)
	}
	if r := review(`{"resourceAttributes":{"verb":"create","group":"authorization.k8s.io","resource":"selfsubjectaccessreviews"}}`); !r.Status.Allowed {
		t.Errorf("create selfsubjectaccessreviews: %+v", r.Status)
	}
	code, body := s.doAs(jwt, "POST", "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
		`{"apiVersion":"authorization.k8s.io/v1","kind":"SelfSubjectRulesReview","spec":{"namespace":"ns"}}`)
	var rr authorizationv1.SelfSubjectRulesReview
	if code != 201 || json.Unmarshal([]byte(body), &rr) != nil || len(rr.Status.ResourceRules) != 1 || rr.Status.ResourceRules[0].Resources[0] != "selfsubjectaccessreviews" {
		t.Errorf("rules review: %d %s", code, body)
	}
	// The admin token still may do anything.
	if resp, _ := s.do("GET", "/api/v1/namespaces/ns/pods", "", ""); resp.StatusCode != 200 {
		t.Errorf("admin list: %d", resp.StatusCode)
	}
}

func TestPodServiceAccountAdmission(t *testing.T) {
	s := newSAServer(t)
	resp, body := s.do("POST", "/api/v1/namespaces/ns/pods", "application/json",
		`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web"},"spec":{"initContainers":[{"name":"init","image":"busybox"}],"containers":[{"name":"a","image":"busybox"},{"name":"b","image":"busybox","volumeMounts":[{"name":"own","mountPath":"/var/run/secrets/kubernetes.io/serviceaccount"}]}],"volumes":[{"name":"own","emptyDir":{}}]}}`)
	if resp.StatusCode != 201 {
		t.Fatalf("create: %d %s", resp.StatusCode, body)
	}
	var pod corev1.Pod
	json.Unmarshal([]byte(body), &pod)
	if len(pod.Spec.Volumes) != 2 {
		t.Fatalf("volumes: %+v", pod.Spec.Volumes)
	}
	v := pod.Spec.Volumes[1]
	if !strings.HasPrefix(v.Name, "kube-api-access-") || len(v.Name) != len("kube-api-access-")+5 || v.Projected == nil || len(v.Projected.Sources) != 3 ||
		*v.Projected.Sources[0].ServiceAccountToken.ExpirationSeconds != 3607 || v.Projected.Sources[1].ConfigMap.Name != "kube-root-ca.crt" ||
		v.Projected.Sources[2].DownwardAPI.Items[0].FieldRef.FieldPath != "metadata.namespace" || *v.Projected.DefaultMode != 0o644 {
		t.Fatalf("token volume: %+v", v)
	}
	want := corev1.VolumeMount{Name: v.Name, ReadOnly: true, MountPath: "/var/run/secrets/kubernetes.io/serviceaccount"}
	if m := pod.Spec.InitContainers[0].VolumeMounts; len(m) != 1 || !reflect.DeepEqual(m[0], want) {
		t.Errorf("init container mounts: %+v", m)
	}
	if m := pod.Spec.Containers[0].VolumeMounts; len(m) != 1 || !reflect.DeepEqual(m[0], want) {
		t.Errorf("container a mounts: %+v", m)
	}
	if m := pod.Spec.Containers[1].VolumeMounts; len(m) != 1 || m[0].Name != "own" {
		t.Errorf("container b mounts its own volume there, and must keep only it: %+v", m)
	}

	// A missing service account: the plugin's 403.
	resp, body = s.do("POST", "/api/v1/namespaces/ns/pods", "application/json",
		`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"x"},"spec":{"serviceAccountName":"robot","containers":[{"name":"a","image":"busybox"}]}}`)
	st := status(t, body)
	if resp.StatusCode != 403 || st.Message != `pods "x" is forbidden: error looking up service account ns/robot: serviceaccount "robot" not found` ||
		st.Details == nil || st.Details.Kind != "pods" || st.Details.Name != "x" {
		t.Errorf("missing service account: %d %s", resp.StatusCode, body)
	}
	resp, body = s.do("POST", "/api/v1/namespaces/ns/pods", "application/json",
		`{"apiVersion":"v1","kind":"Pod","metadata":{"generateName":"x-"},"spec":{"serviceAccountName":"robot","containers":[{"name":"a","image":"busybox"}]}}`)
	if st := status(t, body); resp.StatusCode != 403 || !strings.HasPrefix(st.Message, "pods is forbidden: error looking up service account ns/robot") {
		t.Errorf("missing service account, generateName: %s", body)
	}

	// automountServiceAccountToken false on the service account, then overridden by the pod.
	resp, body = s.do("POST", "/api/v1/namespaces/ns/serviceaccounts", "application/json",
		`{"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"robot"},"automountServiceAccountToken":false,"imagePullSecrets":[{"name":"reg"}]}`)
	if resp.StatusCode != 201 {
		t.Fatalf("create sa: %s", body)
	}
	for _, tc := range []struct {
		name, auto string
		vols       int
	}{{"quiet", "", 0}, {"loud", `,"automountServiceAccountToken":true`, 1}} {
		resp, body = s.do("POST", "/api/v1/namespaces/ns/pods", "application/json",
			`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"`+tc.name+`"},"spec":{"serviceAccountName":"robot"`+tc.auto+`,"containers":[{"name":"a","image":"busybox"}]}}`)
		var p corev1.Pod
		json.Unmarshal([]byte(body), &p)
		if resp.StatusCode != 201 || len(p.Spec.Volumes) != tc.vols || len(p.Spec.ImagePullSecrets) != 1 {
			t.Errorf("%s: %d volumes %+v pull secrets %+v", tc.name, resp.StatusCode, p.Spec.Volumes, p.Spec.ImagePullSecrets)
		}
	}

	// A dry run creates no service account.
	s.store.Create(codec.KindFor("", "v1", "namespaces"), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "fresh"}})
	resp, body = s.do("POST", "/api/v1/namespaces/fresh/pods?dryRun=All", "application/json", podJSON)
	if _, ok := s.store.Get("serviceaccounts", "fresh", "default"); resp.StatusCode != 201 || ok {
		t.Errorf("dry run: %d %s; service account created: %v", resp.StatusCode, body, ok)
	}
	// Updates are not admitted again: the volume stays as it was.
	resp, body = s.do("PATCH", "/api/v1/namespaces/ns/pods/web", "application/merge-patch+json", `{"metadata":{"labels":{"x":"y"}}}`)
	json.Unmarshal([]byte(body), &pod)
	if resp.StatusCode != 200 || len(pod.Spec.Volumes) != 2 || pod.Spec.Volumes[1].Name != v.Name {
		t.Errorf("patch: %d volumes %+v", resp.StatusCode, pod.Spec.Volumes)
	}
}
