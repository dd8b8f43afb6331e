package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// TestBadInput: each bad request gets a clear Status (or kubectl's own error), and changes nothing.
func TestBadInput(t *testing.T) {
	start(t)
	ns := newNamespace(t, "bad")
	applyPod(t, ns, "bystander", sleeperPod(t, "bystander"))
	podsPath := "/api/v1/namespaces/" + ns + "/pods"

	// snapshot is what must not change: the namespaces, the pods here and their containers.
	snapshot := func(t *testing.T) string {
		t.Helper()
		var b strings.Builder
		b.WriteString(kubectlOK(t, "get", "namespaces", "-o", "name"))
		b.WriteString(kubectlOK(t, "get", "pods", "-n", ns, "-o", "name"))
		for _, c := range podContainers(t, ns, "") {
			fmt.Fprintf(&b, "%s %s\n", c.Name, c.State)
		}
		return b.String()
	}
	unchanged := func(t *testing.T, fn func(t *testing.T)) {
		t.Helper()
		before := snapshot(t)
		fn(t)
		time.Sleep(500 * time.Millisecond) // any Docker work would have started by now
		if after := snapshot(t); after != before {
			t.Errorf("the bad request changed the state:\nbefore:\n%s\nafter:\n%s", before, after)
		}
	}
	podJSON := func(name string, spec map[string]any) []byte {
		if spec == nil {
			spec = map[string]any{"containers": []any{map[string]any{"name": "main", "image": testImage, "imagePullPolicy": "Never"}}}
		}
		data, _ := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": name}, "spec": spec})
		return data
	}

	t.Run("malformed_json", func(t *testing.T) {
		unchanged(t, func(t *testing.T) {
			resp := api(t, apiRequest{Method: "POST", Path: podsPath, ContentType: "application/json",
				Body: []byte(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"broken"`)})
			expectStatus(t, resp, http.StatusBadRequest, metav1.StatusReasonBadRequest)
		})
	})

	t.Run("invalid_pod_name", func(t *testing.T) {
		const bad = "Bad_Name"
		msgs := apivalidation.NameIsDNSSubdomain(bad, false)
		cause := field.Invalid(field.NewPath("metadata", "name"), bad, msgs[0])
		unchanged(t, func(t *testing.T) {
			resp := api(t, apiRequest{Method: "POST", Path: podsPath, ContentType: "application/json", Body: podJSON(bad, nil)})
			st := expectStatus(t, resp, http.StatusUnprocessableEntity, metav1.StatusReasonInvalid)
			if want := fmt.Sprintf("Pod %q is invalid: %s", bad, cause.Error()); st.Message != want {
				t.Errorf("Status message:\n got %q\nwant %q", st.Message, want)
			}
			if st.Details == nil || st.Details.Kind != "Pod" || st.Details.Name != bad || len(st.Details.Causes) != 1 {
				t.Fatalf("Status details: %+v, want kind Pod, name %s, one cause", st.Details, bad)
			}
			c := st.Details.Causes[0]
			if c.Type != metav1.CauseTypeFieldValueInvalid || c.Field != "metadata.name" || c.Message != cause.ErrorBody() {
				t.Errorf("cause %+v, want {FieldValueInvalid %q metadata.name}", c, cause.ErrorBody())
			}
			r := kubectlIn(t, string(podJSON(bad, nil)), "create", "-n", ns, "-f", "-")
			if want := fmt.Sprintf("The Pod %q is invalid: %s", bad, cause.Error()); r.Code != 1 || strings.TrimSpace(r.Stderr) != want {
				t.Errorf("kubectl create:\nwant %q\ngot  %s", want, r)
			}
		})
	})

	t.Run("invalid_namespace_name", func(t *testing.T) {
		const bad = "Bad_Name"
		msgs := apivalidation.NameIsDNSLabel(bad, false)
		cause := field.Invalid(field.NewPath("metadata", "name"), bad, msgs[0])
		unchanged(t, func(t *testing.T) {
			r := kubectl(t, "create", "namespace", bad)
			if want := fmt.Sprintf("The Namespace %q is invalid: %s", bad, cause.Error()); r.Code != 1 || strings.TrimSpace(r.Stderr) != want {
				t.Errorf("kubectl create namespace %s:\nwant %q\ngot  %s", bad, want, r)
			}
		})
	})

	t.Run("missing_containers", func(t *testing.T) {
		unchanged(t, func(t *testing.T) {
			r := kubectlIn(t, string(podJSON("empty", map[string]any{"containers": []any{}})), "create", "-n", ns, "-f", "-")
			if want := `The Pod "empty" is invalid: spec.containers: Required value`; r.Code != 1 || strings.TrimSpace(r.Stderr) != want {
				t.Errorf("kubectl create of a pod without containers:\nwant %q\ngot  %s", want, r)
			}
		})
	})

	t.Run("unknown_kind", func(t *testing.T) {
		r := kubectl(t, "get", "foos")
		if want := `error: the server doesn't have a resource type "foos"`; r.Code != 1 || strings.TrimSpace(r.Stderr) != want {
			t.Errorf("kubectl get foos:\nwant %q\ngot  %s", want, r)
		}
		resp := api(t, apiRequest{Path: "/api/v1/foos"})
		expectStatus(t, resp, http.StatusNotFound, metav1.StatusReasonNotFound)
	})

	t.Run("huge_body", func(t *testing.T) {
		unchanged(t, func(t *testing.T) {
			body, _ := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "Pod",
				"metadata": map[string]any{"name": "huge", "annotations": map[string]string{"big": strings.Repeat("x", 8<<20)}},
				"spec":     map[string]any{"containers": []any{map[string]any{"name": "main", "image": testImage}}}})
			// A raw request reads the answer while it writes: the server may answer before it has
			// read the whole body, as long as the client can still read that answer.
			resp, err := rawRequest(t, "POST", podsPath, "application/json", body)
			if err != nil {
				t.Fatalf("POST of %d MiB: no HTTP answer could be read (%v); want 413 with a Status "+
					"(the server must not reset the connection before the client reads its answer)", len(body)>>20, err)
			}
			expectStatus(t, resp, http.StatusRequestEntityTooLarge, metav1.StatusReasonRequestEntityTooLarge)
		})
		// The server is still fine afterwards.
		kubectlOK(t, "get", "pod", "bystander", "-n", ns)
	})

	t.Run("wrong_token", func(t *testing.T) {
		unchanged(t, func(t *testing.T) {
			for _, r := range []apiRequest{
				{Path: podsPath, Token: "wrong-token"},
				{Path: podsPath, NoToken: true},
				{Method: "POST", Path: podsPath, Token: "wrong-token", ContentType: "application/json", Body: podJSON("intruder", nil)},
				{Method: "DELETE", Path: podsPath + "/bystander", Token: "wrong-token"},
			} {
				resp := api(t, r)
				expectStatus(t, resp, http.StatusUnauthorized, metav1.StatusReasonUnauthorized)
			}
			res := kubectl(t, "--token", "wrong-token", "get", "pods", "-n", ns)
			if want := "error: You must be logged in to the server (Unauthorized)"; res.Code != 1 || !strings.Contains(res.Stderr, want) {
				t.Errorf("kubectl with a wrong token: want %q, got %s", want, res)
			}
		})
	})

	t.Run("unknown_field_strict", func(t *testing.T) {
		spec := map[string]any{"foo": 1, "containers": []any{map[string]any{"name": "main", "image": testImage}}}
		unchanged(t, func(t *testing.T) {
			const want = `strict decoding error: unknown field "spec.foo"`
			r := kubectlIn(t, string(podJSON("strict", spec)), "create", "-n", ns, "--validate=strict", "-f", "-")
			if r.Code != 1 || !strings.Contains(r.Stderr, "Error from server (BadRequest)") || !strings.Contains(r.Stderr, want) {
				t.Errorf("kubectl create --validate=strict with spec.foo: want a BadRequest from the server with %q, got %s", want, r)
			}
			resp := api(t, apiRequest{Method: "POST", Path: podsPath + "?fieldValidation=Strict", ContentType: "application/json", Body: podJSON("strict", spec)})
			st := expectStatus(t, resp, http.StatusBadRequest, metav1.StatusReasonBadRequest)
			if !strings.Contains(st.Message, want) {
				t.Errorf("Status message %q lacks %q", st.Message, want)
			}
		})
	})

	t.Run("unsupported_media_type", func(t *testing.T) {
		unchanged(t, func(t *testing.T) {
			resp := api(t, apiRequest{Method: "POST", Path: podsPath, ContentType: "text/plain", Body: podJSON("plain", nil)})
			expectStatus(t, resp, http.StatusUnsupportedMediaType, metav1.StatusReasonUnsupportedMediaType)
		})
	})

	t.Run("method_not_allowed", func(t *testing.T) {
		unchanged(t, func(t *testing.T) {
			resp := api(t, apiRequest{Method: "PUT", Path: podsPath, ContentType: "application/json", Body: podJSON("put", nil)})
			expectStatus(t, resp, http.StatusMethodNotAllowed, metav1.StatusReasonMethodNotAllowed)
		})
	})
}
