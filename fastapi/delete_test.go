package fastapi

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestDeletePropagation: the finalizers a DELETE leaves for the garbage collector, as the
// API server's generic store sets them, and when the object goes at once.
func TestDeletePropagation(t *testing.T) {
	ts := newTestServer(t)
	create := func(name string, extra ...string) {
		t.Helper()
		obj := strings.Replace(deployJSON, `"name":"web"}`, `"name":"`+name+`"`+strings.Join(extra, "")+`}`, 1)
		if resp, body := ts.do("POST", "/apis/apps/v1/namespaces/default/deployments", "application/json", obj); resp.StatusCode != 201 {
			t.Fatalf("create %s: %d %s", name, resp.StatusCode, body)
		}
	}
	get := func(name string) *appsv1.Deployment {
		t.Helper()
		resp, body := ts.do("GET", "/apis/apps/v1/namespaces/default/deployments/"+name, "", "")
		if resp.StatusCode == 404 {
			return nil
		}
		var d appsv1.Deployment
		if err := json.Unmarshal([]byte(body), &d); err != nil {
			t.Fatal(err)
		}
		return &d
	}
	del := func(name, query, body string) (int, string) {
		t.Helper()
		ct := ""
		if body != "" {
			ct = "application/json"
		}
		resp, out := ts.do("DELETE", "/apis/apps/v1/namespaces/default/deployments/"+name+query, ct, body)
		return resp.StatusCode, out
	}

	// Background (kubectl's default): gone at once; the garbage collector removes dependents.
	create("bg")
	if code, body := del("bg", "", `{"kind":"DeleteOptions","apiVersion":"v1","propagationPolicy":"Background"}`); code != 200 || get("bg") != nil {
		t.Fatalf("background: %d %s", code, body)
	}
	// No policy: a Deployment's default through apps/v1 is Background too.
	create("none")
	if code, _ := del("none", "", ""); code != 200 || get("none") != nil {
		t.Fatalf("default policy: %d", code)
	}

	// Foreground: marked, with the foregroundDeletion finalizer and a new generation.
	create("fg")
	code, body := del("fg", "", `{"propagationPolicy":"Foreground"}`)
	d := get("fg")
	if code != 200 || d == nil || d.DeletionTimestamp == nil || !slices.Equal(d.Finalizers, []string{"foregroundDeletion"}) ||
		d.Generation != 2 || d.DeletionGracePeriodSeconds == nil || *d.DeletionGracePeriodSeconds != 0 {
		t.Fatalf("foreground: %d %+v", code, d)
	}
	// Deleting it again the same way changes nothing; in the background it goes at once.
	rv := d.ResourceVersion
	if code, _ = del("fg", "?propagationPolicy=Foreground", ""); code != 200 || get("fg").ResourceVersion != rv {
		t.Errorf("second foreground delete wrote: %d", code)
	}
	if code, _ = del("fg", "?propagationPolicy=Background", ""); code != 200 || get("fg") != nil {
		t.Errorf("background after foreground: %d, %+v", code, get("fg"))
	}

	// Orphan: the orphan finalizer; other finalizers stay.
	create("or", `,"finalizers":["example.com/keep"]`)
	code, _ = del("or", "?propagationPolicy=Orphan", "")
	if d = get("or"); code != 200 || d == nil || !slices.Equal(d.Finalizers, []string{"example.com/keep", "orphan"}) || d.DeletionTimestamp == nil {
		t.Fatalf("orphan: %d %+v", code, d)
	}
	// Removing the last finalizer completes the deletion.
	ts.do("PATCH", "/apis/apps/v1/namespaces/default/deployments/or", "application/merge-patch+json", `{"metadata":{"finalizers":["example.com/keep"]}}`)
	if d = get("or"); d == nil || len(d.Finalizers) != 1 {
		t.Fatalf("after dropping orphan: %+v", d)
	}
	ts.do("PATCH", "/apis/apps/v1/namespaces/default/deployments/or", "application/merge-patch+json", `{"metadata":{"finalizers":null}}`)
	if get("or") != nil {
		t.Fatal("object without finalizers remains")
	}

	// The deprecated orphanDependents; false answers 202 while the object remains.
	create("dep", `,"finalizers":["example.com/keep"]`)
	if code, body = del("dep", "?orphanDependents=false", ""); code != 202 || get("dep") == nil {
		t.Errorf("orphanDependents=false: %d %s", code, body)
	}
	create("dep2")
	if code, _ = del("dep2", "", `{"orphanDependents":true}`); code != 200 || !slices.Equal(get("dep2").Finalizers, []string{"orphan"}) {
		t.Errorf("orphanDependents=true: %d %+v", code, get("dep2"))
	}

	// ValidateDeleteOptions.
	code, body = del("dep", "", `{"propagationPolicy":"Sometimes"}`)
	st := expectStatus(t, "bad policy", code, body, 422, metav1.StatusReasonInvalid,
		`DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: "Sometimes": supported values: "Foreground", "Background", "Orphan", "nil"`)
	if st.Details.Group != "meta.k8s.io" || st.Details.Kind != "DeleteOptions" || st.Details.Causes[0].Field != "propagationPolicy" || st.Details.Causes[0].Type != metav1.CauseTypeFieldValueNotSupported {
		t.Errorf("details: %+v", st.Details)
	}
	code, body = del("dep", "?propagationPolicy=Orphan", `{"orphanDependents":false}`)
	expectStatus(t, "both", code, body, 422, metav1.StatusReasonInvalid,
		`DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Invalid value: "Orphan": orphanDependents and deletionPropagation cannot be both set`)

	// A pod deleted in the foreground: graceful, with the finalizer.
	if resp, body := ts.do("POST", "/api/v1/namespaces/default/pods", "application/json", podJSON); resp.StatusCode != 201 {
		t.Fatalf("pod: %s", body)
	}
	resp, body := ts.do("DELETE", "/api/v1/namespaces/default/pods/web?propagationPolicy=Foreground&gracePeriodSeconds=7", "", "")
	var p corev1.Pod
	_ = json.Unmarshal([]byte(body), &p)
	if resp.StatusCode != 200 || p.DeletionTimestamp == nil || *p.DeletionGracePeriodSeconds != 7 || !slices.Equal(p.Finalizers, []string{"foregroundDeletion"}) {
		t.Errorf("pod foreground: %d %s", resp.StatusCode, body)
	}

	// Events take no part in garbage collection: deleted at once whatever the policy.
	ev := `{"apiVersion":"v1","kind":"Event","metadata":{"name":"e1"},"involvedObject":{"kind":"Pod","name":"web","namespace":"default"},"reason":"R","message":"m"}`
	if resp, body := ts.do("POST", "/api/v1/namespaces/default/events", "application/json", ev); resp.StatusCode != 201 {
		t.Fatalf("event: %s", body)
	}
	ts.do("DELETE", "/api/v1/namespaces/default/events/e1?propagationPolicy=Foreground", "", "")
	if resp, _ := ts.do("GET", "/api/v1/namespaces/default/events/e1", "", ""); resp.StatusCode != 404 {
		t.Errorf("event with foreground policy: %d", resp.StatusCode)
	}
}
