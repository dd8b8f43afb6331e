package fastapi

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// write sends a create (POST) or update (PUT) and decodes the answer into out.
func (ts *testServer) write(method, path, body string, code int, out any) string {
	ts.t.Helper()
	resp, got := ts.do(method, path, "application/json", body)
	if resp.StatusCode != code {
		ts.t.Fatalf("%s %s: HTTP %d, want %d: %s", method, path, resp.StatusCode, code, got)
	}
	if out != nil {
		if err := json.Unmarshal([]byte(got), out); err != nil {
			ts.t.Fatal(err)
		}
	}
	return resp.Header.Get("Warning")
}

func TestStrategyGeneration(t *testing.T) {
	ts := newTestServer(t)
	// Kinds whose v1.32 strategies do not track generation have none, before and after updates.
	var cm corev1.ConfigMap
	ts.write("POST", "/api/v1/namespaces/default/configmaps", `{"metadata":{"name":"cfg"},"data":{"a":"1"}}`, 201, &cm)
	if cm.Generation != 0 {
		t.Errorf("configmap generation %d", cm.Generation)
	}
	ts.write("PUT", "/api/v1/namespaces/default/configmaps/cfg", `{"metadata":{"name":"cfg"},"data":{"a":"2"}}`, 200, &cm)
	if cm.Generation != 0 || cm.Data["a"] != "2" {
		t.Errorf("configmap after update: %+v", cm)
	}
	var pvc corev1.PersistentVolumeClaim
	ts.write("POST", "/api/v1/namespaces/default/persistentvolumeclaims",
		`{"metadata":{"name":"data"},"spec":{"accessModes":["ReadWriteOnce"],"resources":{"requests":{"storage":"1Gi"}},"volumeAttributesClassName":"fast"},"status":{"phase":"Bound"}}`, 201, &pvc)
	if pvc.Generation != 0 || pvc.Status.Phase != corev1.ClaimPending || pvc.Spec.VolumeAttributesClassName != nil ||
		pvc.Spec.VolumeMode == nil || *pvc.Spec.VolumeMode != corev1.PersistentVolumeFilesystem {
		t.Errorf("created claim: generation %d, %+v %+v", pvc.Generation, pvc.Spec, pvc.Status)
	}

	// EndpointSlices start at 1 and move with any change but metadata, or with labels.
	var es discoveryv1.EndpointSlice
	slice := `{"metadata":{"name":"web-1"%s},"addressType":"IPv4","endpoints":[{"addresses":["%s"],"deprecatedTopology":{"a":"b"}}]}`
	ts.write("POST", "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices", sprintf(slice, "", "10.0.0.1"), 201, &es)
	if es.Generation != 1 || es.Endpoints[0].DeprecatedTopology != nil {
		t.Errorf("created slice: generation %d, %+v", es.Generation, es.Endpoints)
	}
	ts.write("PUT", "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/web-1", sprintf(slice, `,"annotations":{"x":"y"}`, "10.0.0.1"), 200, &es)
	if es.Generation != 1 {
		t.Errorf("an annotation bumped the slice's generation to %d", es.Generation)
	}
	ts.write("PUT", "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/web-1", sprintf(slice, `,"labels":{"x":"y"}`, "10.0.0.1"), 200, &es)
	if es.Generation != 2 {
		t.Errorf("a label change: generation %d, want 2", es.Generation)
	}
	ts.write("PUT", "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/web-1", sprintf(slice, `,"labels":{"x":"y"}`, "10.0.0.2"), 200, &es)
	if es.Generation != 3 {
		t.Errorf("an endpoint change: generation %d, want 3", es.Generation)
	}

	// A dry run answers what a create would store.
	var dry corev1.Secret
	ts.write("POST", "/api/v1/namespaces/default/secrets?dryRun=All", `{"metadata":{"name":"s"},"stringData":{"k":"v"}}`, 201, &dry)
	if dry.Generation != 0 || string(dry.Data["k"]) != "v" || dry.StringData != nil || dry.Type != corev1.SecretTypeOpaque {
		t.Errorf("dry-run secret: %+v", dry)
	}
}

func sprintf(format string, a ...any) string {
	r := format
	for _, v := range a {
		r = strings.Replace(r, "%s", v.(string), 1)
	}
	return r
}

func TestStrategyPersistentVolumeStatus(t *testing.T) {
	t0 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	strategyNow = func() time.Time { return t0 }
	t.Cleanup(func() { strategyNow = time.Now })
	ts := newTestServer(t)
	var pv corev1.PersistentVolume
	body := `{"metadata":{"name":"pv-1"},"spec":{"capacity":{"storage":"1Gi"},"accessModes":["ReadWriteOnce"],"hostPath":{"path":"/srv"}},"status":{"phase":"Bound"}}`
	ts.write("POST", "/api/v1/persistentvolumes", body, 201, &pv)
	if pv.Status.Phase != corev1.VolumePending || pv.Status.LastPhaseTransitionTime == nil || !pv.Status.LastPhaseTransitionTime.Time.Equal(t0) ||
		pv.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimRetain || pv.Generation != 0 {
		t.Fatalf("created volume: %+v %+v", pv.Spec, pv.Status)
	}
	// Status writes move lastPhaseTransitionTime with the phase.
	t1 := t0.Add(time.Minute)
	strategyNow = func() time.Time { return t1 }
	ts.write("PUT", "/api/v1/persistentvolumes/pv-1/status", `{"metadata":{"name":"pv-1"},"status":{"phase":"Available"}}`, 200, &pv)
	if pv.Status.Phase != corev1.VolumeAvailable || !pv.Status.LastPhaseTransitionTime.Time.Equal(t1) {
		t.Errorf("after a phase change: %+v", pv.Status)
	}
	strategyNow = func() time.Time { return t1.Add(time.Hour) }
	ts.write("PUT", "/api/v1/persistentvolumes/pv-1/status", `{"metadata":{"name":"pv-1"},"status":{"phase":"Available","message":"m"}}`, 200, &pv)
	if !pv.Status.LastPhaseTransitionTime.Time.Equal(t1) {
		t.Errorf("same phase moved the transition time: %+v", pv.Status)
	}
	// A main-resource update keeps the status.
	ts.write("PUT", "/api/v1/persistentvolumes/pv-1", strings.Replace(body, `"Bound"`, `"Failed"`, 1), 200, &pv)
	if pv.Status.Phase != corev1.VolumeAvailable {
		t.Errorf("update changed the status: %+v", pv.Status)
	}
}

func TestStrategyServiceAccountAndWarnings(t *testing.T) {
	ts := newTestServer(t)
	var sa corev1.ServiceAccount
	warn := ts.write("POST", "/api/v1/namespaces/default/serviceaccounts",
		`{"metadata":{"name":"app","annotations":{"kubernetes.io/enforce-mountable-secrets":"true"}},"secrets":[{"name":"tok","namespace":"x","uid":"u"}]}`, 201, &sa)
	if len(sa.Secrets) != 1 || sa.Secrets[0] != (corev1.ObjectReference{Name: "tok"}) {
		t.Errorf("secret references not cleaned: %+v", sa.Secrets)
	}
	if want := `299 - "metadata.annotations[kubernetes.io/enforce-mountable-secrets]: deprecated in v1.32+; prefer separate namespaces to isolate access to mounted secrets"`; warn != want {
		t.Errorf("warning %q", warn)
	}
	if w := ts.write("PUT", "/api/v1/namespaces/default/serviceaccounts/app",
		`{"metadata":{"name":"app","annotations":{"kubernetes.io/enforce-mountable-secrets":"true"}}}`, 200, nil); w != "" {
		t.Errorf("warning on an update that kept the annotation: %q", w)
	}
	w := ts.write("POST", "/api/v1/namespaces/default/secrets",
		`{"metadata":{"name":"tls"},"type":"kubernetes.io/tls","stringData":{"tls.crt":"x","tls.key":"y"}}`, 201, nil)
	if !strings.Contains(w, "tls: failed to find any PEM data in certificate input") {
		t.Errorf("TLS warning %q", w)
	}
}

func TestStrategyInvalid(t *testing.T) {
	ts := newTestServer(t)
	ts.write("POST", "/api/v1/namespaces/default/configmaps", `{"metadata":{"name":"frozen"},"immutable":true,"data":{"a":"1"}}`, 201, nil)
	resp, body := ts.do("PUT", "/api/v1/namespaces/default/configmaps/frozen", "application/json", `{"metadata":{"name":"frozen"},"immutable":true,"data":{"a":"2"}}`)
	st := status(t, body)
	if resp.StatusCode != 422 || st.Reason != metav1.StatusReasonInvalid ||
		st.Message != "ConfigMap \"frozen\" is invalid: data: Forbidden: field is immutable when `immutable` is set" ||
		st.Details == nil || len(st.Details.Causes) != 1 || st.Details.Causes[0].Field != "data" {
		t.Errorf("immutable update: %d %s", resp.StatusCode, body)
	}
	resp, body = ts.do("POST", "/api/v1/namespaces/default/services", "application/json", `{"metadata":{"name":"web"},"spec":{"ports":[{"port":80,"nodePort":30080}]}}`)
	if st := status(t, body); resp.StatusCode != 422 ||
		st.Message != "Service \"web\" is invalid: spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'" {
		t.Errorf("node port on ClusterIP: %d %s", resp.StatusCode, body)
	}
}

// A PUT without metadata.resourceVersion is an unconditional update, as `kubectl replace` of a
// manifest without one sends: it applies to the current object; a stale version still conflicts.
func TestUpdateWithoutResourceVersion(t *testing.T) {
	ts := newTestServer(t)
	var cm corev1.ConfigMap
	ts.write("POST", "/api/v1/namespaces/default/configmaps", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":{"a":"1"}}`, 201, &cm)
	var got corev1.ConfigMap
	ts.write("PUT", "/api/v1/namespaces/default/configmaps/c", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":{"a":"2"}}`, 200, &got)
	if got.Data["a"] != "2" || got.ResourceVersion == cm.ResourceVersion || got.UID != cm.UID {
		t.Fatalf("unconditional update: %+v (created %s %s)", got, cm.ResourceVersion, cm.UID)
	}
	ts.write("PUT", "/api/v1/namespaces/default/configmaps/c",
		`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","resourceVersion":"`+cm.ResourceVersion+`"},"data":{"a":"3"}}`, 409, nil)
}
