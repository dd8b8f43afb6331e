package fastapi

import (
	"encoding/json"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const deployJSON = `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},"spec":{"replicas":2,
	"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"web","image":"nginx"}]}}},
	"status":{"replicas":9,"readyReplicas":9}}`

const (
	deployPath = "/apis/apps/v1/namespaces/default/deployments/web"
	scalePath  = deployPath + "/scale"
)

func (ts *testServer) deployment() *appsv1.Deployment {
	ts.t.Helper()
	resp, body := ts.do("GET", deployPath, "", "")
	if resp.StatusCode != 200 {
		ts.t.Fatalf("get deployment: %d %s", resp.StatusCode, body)
	}
	var d appsv1.Deployment
	if err := json.Unmarshal([]byte(body), &d); err != nil {
		ts.t.Fatal(err)
	}
	return &d
}

func decodeScale(t *testing.T, body string) *autoscalingv1.Scale {
	t.Helper()
	var s autoscalingv1.Scale
	if err := json.Unmarshal([]byte(body), &s); err != nil || s.Kind != "Scale" || s.APIVersion != "autoscaling/v1" {
		t.Fatalf("not a Scale (%v): %s", err, body)
	}
	return &s
}

func expectStatus(t *testing.T, what string, code int, body string, wantCode int32, reason metav1.StatusReason, msg string) metav1.Status {
	t.Helper()
	st := status(t, body)
	if int32(code) != wantCode || st.Code != wantCode || st.Reason != reason || st.Message != msg {
		t.Fatalf("%s: got %d %s %q\nwant %d %s %q", what, code, st.Reason, st.Message, wantCode, reason, msg)
	}
	return st
}

func TestScaleSubresource(t *testing.T) {
	ts := newTestServer(t)
	resp, body := ts.do("POST", "/apis/apps/v1/namespaces/default/deployments", "application/json", deployJSON)
	if resp.StatusCode != 201 {
		t.Fatalf("create: %d %s", resp.StatusCode, body)
	}
	d := ts.deployment()
	// Strategy on create: status reset, generation 1.
	if d.Generation != 1 || d.Status.Replicas != 0 || d.Status.ReadyReplicas != 0 {
		t.Fatalf("created deployment: generation %d status %+v", d.Generation, d.Status)
	}

	resp, body = ts.do("GET", scalePath, "", "")
	s := decodeScale(t, body)
	if resp.StatusCode != 200 || s.Name != "web" || s.Namespace != "default" || s.UID != d.UID || s.ResourceVersion != d.ResourceVersion ||
		s.Spec.Replicas != 2 || s.Status.Replicas != 0 || s.Status.Selector != "app=web" || !s.CreationTimestamp.Equal(&d.CreationTimestamp) {
		t.Fatalf("get scale: %d %+v", resp.StatusCode, s)
	}

	// kubectl get deploy/web --subresource=scale asks for a Table.
	resp, body = ts.do("GET", scalePath, "", "", "Accept", "application/json;as=Table;v=v1;g=meta.k8s.io,application/json")
	var tbl metav1.Table
	if err := json.Unmarshal([]byte(body), &tbl); err != nil || resp.StatusCode != 200 || len(tbl.Rows) != 1 || len(tbl.ColumnDefinitions) != 4 {
		t.Fatalf("scale table: %d %s", resp.StatusCode, body)
	}
	if c := tbl.Rows[0].Cells; c[0] != "web" || c[1] != float64(2) || c[2] != float64(0) {
		t.Errorf("scale row: %v", c)
	}

	// kubectl scale --replicas=5: a merge patch.
	resp, body = ts.do("PATCH", scalePath, "application/merge-patch+json", `{"spec":{"replicas":5}}`)
	if s = decodeScale(t, body); resp.StatusCode != 200 || s.Spec.Replicas != 5 {
		t.Fatalf("merge patch: %d %s", resp.StatusCode, body)
	}
	d = ts.deployment()
	if *d.Spec.Replicas != 5 || d.Generation != 2 || s.ResourceVersion != d.ResourceVersion {
		t.Fatalf("after scale: replicas %d generation %d rv %s/%s", *d.Spec.Replicas, d.Generation, s.ResourceVersion, d.ResourceVersion)
	}
	// Strategic merge and JSON patches work too.
	resp, body = ts.do("PATCH", scalePath, "application/strategic-merge-patch+json", `{"spec":{"replicas":4}}`)
	if s = decodeScale(t, body); resp.StatusCode != 200 || s.Spec.Replicas != 4 {
		t.Fatalf("strategic patch: %d %s", resp.StatusCode, body)
	}
	resp, body = ts.do("PATCH", scalePath, "application/json-patch+json", `[{"op":"replace","path":"/spec/replicas","value":3}]`)
	if s = decodeScale(t, body); resp.StatusCode != 200 || s.Spec.Replicas != 3 {
		t.Fatalf("json patch: %d %s", resp.StatusCode, body)
	}
	// The same replicas again writes nothing.
	rv := ts.deployment().ResourceVersion
	resp, body = ts.do("PATCH", scalePath, "application/merge-patch+json", `{"spec":{"replicas":3}}`)
	if s = decodeScale(t, body); resp.StatusCode != 200 || s.ResourceVersion != rv || ts.deployment().ResourceVersion != rv {
		t.Fatalf("no-op scale changed the deployment: %d %s", resp.StatusCode, body)
	}

	// PUT: a Scale with the current resourceVersion, then a stale one.
	put := `{"apiVersion":"autoscaling/v1","kind":"Scale","metadata":{"name":"web","namespace":"default","resourceVersion":"` + rv + `"},"spec":{"replicas":1}}`
	resp, body = ts.do("PUT", scalePath, "application/json", put)
	if s = decodeScale(t, body); resp.StatusCode != 200 || s.Spec.Replicas != 1 || *ts.deployment().Spec.Replicas != 1 {
		t.Fatalf("put: %d %s", resp.StatusCode, body)
	}
	resp, body = ts.do("PUT", scalePath, "application/json", put)
	st := expectStatus(t, "stale put", resp.StatusCode, body, 409, metav1.StatusReasonConflict,
		`Operation cannot be fulfilled on deployments.apps "web": the object has been modified; please apply your changes to the latest version and try again`)
	if st.Details == nil || st.Details.Group != "apps" || st.Details.Kind != "deployments" {
		t.Errorf("conflict details: %+v", st.Details)
	}
	resp, body = ts.do("PATCH", scalePath, "application/merge-patch+json", `{"metadata":{"resourceVersion":"1"},"spec":{"replicas":7}}`)
	expectStatus(t, "stale patch", resp.StatusCode, body, 409, metav1.StatusReasonConflict,
		`Operation cannot be fulfilled on deployments.apps "web": the object has been modified; please apply your changes to the latest version and try again`)
	resp, body = ts.do("PUT", scalePath, "application/json", `{"apiVersion":"autoscaling/v1","kind":"Scale","metadata":{"name":"web","uid":"other"},"spec":{"replicas":1}}`)
	expectStatus(t, "uid precondition", resp.StatusCode, body, 409, metav1.StatusReasonConflict,
		`Operation cannot be fulfilled on deployments/scale.apps "web": Precondition failed: UID in precondition: other, UID in object meta: `+string(d.UID))

	// Validation: a negative count is a 422 about the Scale.
	resp, body = ts.do("PATCH", scalePath, "application/merge-patch+json", `{"spec":{"replicas":-1}}`)
	st = expectStatus(t, "negative", resp.StatusCode, body, 422, metav1.StatusReasonInvalid,
		`Scale.autoscaling "web" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0`)
	if st.Details.Group != "autoscaling" || st.Details.Kind != "Scale" || len(st.Details.Causes) != 1 || st.Details.Causes[0].Field != "spec.replicas" {
		t.Errorf("invalid details: %+v", st.Details)
	}
	resp, body = ts.do("PUT", scalePath, "application/json", `{"apiVersion":"autoscaling/v1","kind":"Scale","metadata":{"name":"other"},"spec":{"replicas":1}}`)
	expectStatus(t, "wrong name", resp.StatusCode, body, 400, metav1.StatusReasonBadRequest, "the name of the object (other) does not match the name on the URL (web)")
	resp, body = ts.do("PUT", scalePath, "application/json", `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"}}`)
	expectStatus(t, "wrong kind", resp.StatusCode, body, 400, metav1.StatusReasonBadRequest, "the kind in the data (Deployment) does not match the expected kind (Scale)")
	if *ts.deployment().Spec.Replicas != 1 {
		t.Fatal("a refused scale changed the deployment")
	}

	// Dry run answers without writing.
	resp, body = ts.do("PATCH", scalePath+"?dryRun=All", "application/merge-patch+json", `{"spec":{"replicas":9}}`)
	if s = decodeScale(t, body); resp.StatusCode != 200 || s.Spec.Replicas != 9 || *ts.deployment().Spec.Replicas != 1 {
		t.Fatalf("dry run: %d %s", resp.StatusCode, body)
	}

	// A missing owner, and verbs the subresource does not have.
	resp, body = ts.do("GET", "/apis/apps/v1/namespaces/default/deployments/nope/scale", "", "")
	st = expectStatus(t, "missing", resp.StatusCode, body, 404, metav1.StatusReasonNotFound, `deployments/scale.apps "nope" not found`)
	if st.Details.Kind != "deployments/scale" || st.Details.Group != "apps" || st.Details.Name != "nope" {
		t.Errorf("not found details: %+v", st.Details)
	}
	resp, body = ts.do("PATCH", "/apis/apps/v1/namespaces/default/replicasets/nope/scale", "application/merge-patch+json", `{"spec":{"replicas":1}}`)
	expectStatus(t, "missing rs", resp.StatusCode, body, 404, metav1.StatusReasonNotFound, `replicasets/scale.apps "nope" not found`)
	resp, _ = ts.do("DELETE", scalePath, "", "")
	if resp.StatusCode != 405 {
		t.Errorf("DELETE scale: %d", resp.StatusCode)
	}
	resp, _ = ts.do("GET", "/api/v1/namespaces/default/pods/x/scale", "", "")
	if resp.StatusCode != 404 {
		t.Errorf("pods have no scale: %d", resp.StatusCode)
	}

	// ReplicaSets scale the same way.
	rsJSON := strings.NewReplacer(`"kind":"Deployment"`, `"kind":"ReplicaSet"`, `"name":"web"},"spec"`, `"name":"web-1"},"spec"`).Replace(deployJSON)
	if resp, body = ts.do("POST", "/apis/apps/v1/namespaces/default/replicasets", "application/json", rsJSON); resp.StatusCode != 201 {
		t.Fatalf("create rs: %d %s", resp.StatusCode, body)
	}
	resp, body = ts.do("PATCH", "/apis/apps/v1/namespaces/default/replicasets/web-1/scale", "application/merge-patch+json", `{"spec":{"replicas":0}}`)
	if s = decodeScale(t, body); resp.StatusCode != 200 || s.Spec.Replicas != 0 || s.Name != "web-1" {
		t.Fatalf("scale rs: %d %s", resp.StatusCode, body)
	}
}

// Generation moves on spec changes only, and for a Deployment on annotation changes too
// (they are copied to its ReplicaSets); a PUT of the same, undefaulted object bumps nothing.
func TestAppsGeneration(t *testing.T) {
	ts := newTestServer(t)
	if resp, body := ts.do("POST", "/apis/apps/v1/namespaces/default/deployments", "application/json", deployJSON); resp.StatusCode != 201 {
		t.Fatalf("create: %d %s", resp.StatusCode, body)
	}
	put := func(obj string) {
		t.Helper()
		if resp, body := ts.do("PUT", deployPath, "application/json", obj); resp.StatusCode != 200 {
			t.Fatalf("put: %d %s", resp.StatusCode, body)
		}
	}
	rv := ts.deployment().ResourceVersion
	put(strings.Replace(deployJSON, `"name":"web"}`, `"name":"web","resourceVersion":"`+rv+`"}`, 1))
	if g := ts.deployment().Generation; g != 1 {
		t.Errorf("replace with the same spec: generation %d", g)
	}
	ts.do("PATCH", deployPath, "application/merge-patch+json", `{"metadata":{"labels":{"x":"y"}}}`)
	if g := ts.deployment().Generation; g != 1 {
		t.Errorf("label change: generation %d", g)
	}
	ts.do("PATCH", deployPath, "application/merge-patch+json", `{"metadata":{"annotations":{"note":"a"}}}`)
	if g := ts.deployment().Generation; g != 2 {
		t.Errorf("annotation change: generation %d", g)
	}
	ts.do("PATCH", deployPath, "application/strategic-merge-patch+json", `{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"nginx:2"}]}}}}`)
	if g := ts.deployment().Generation; g != 3 {
		t.Errorf("template change: generation %d", g)
	}
	// Status writes never bump it, and are validated.
	resp, body := ts.do("PATCH", deployPath+"/status", "application/merge-patch+json", `{"status":{"replicas":2,"readyReplicas":2,"availableReplicas":2,"observedGeneration":3}}`)
	if d := ts.deployment(); resp.StatusCode != 200 || d.Generation != 3 || d.Status.ReadyReplicas != 2 {
		t.Fatalf("status patch: %d %s", resp.StatusCode, body)
	}
	resp, body = ts.do("PATCH", deployPath+"/status", "application/merge-patch+json", `{"status":{"readyReplicas":3}}`)
	expectStatus(t, "status", resp.StatusCode, body, 422, metav1.StatusReasonInvalid,
		`Deployment.apps "web" is invalid: status.readyReplicas: Invalid value: 3: cannot be greater than status.replicas`)
	// The selector is immutable.
	resp, body = ts.do("PATCH", deployPath, "application/merge-patch+json", `{"spec":{"selector":{"matchLabels":{"app":"web","v":"2"}},"template":{"metadata":{"labels":{"v":"2"}}}}}`)
	expectStatus(t, "selector", resp.StatusCode, body, 422, metav1.StatusReasonInvalid,
		`Deployment.apps "web" is invalid: spec.selector: Invalid value: {"matchLabels":{"app":"web","v":"2"}}: field is immutable`)
}
