package codec

import (
	"encoding/json"
	"errors"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// patchTestCase is one case of testdata/patch/strategic.json. Cases without a "k2d:" prefix or a
// note were checked against k8s.io/apimachinery's strategicpatch (called as the API server calls
// it); their want and err are its output.
type patchTestCase struct {
	Name    string          `json:"name"`
	Note    string          `json:"note"`
	Kind    string          `json:"kind"`
	Current json.RawMessage `json:"current"`
	Patch   json.RawMessage `json:"patch"`
	Want    json.RawMessage `json:"want"`
	Err     string          `json:"err"`
	Code    int             `json:"code"`
}

func patchTestSchema(kind string) any {
	switch kind {
	case "Pod":
		return &corev1.Pod{}
	case "Deployment":
		return &appsv1.Deployment{}
	}
	return nil
}

func TestPatchStrategic(t *testing.T) {
	var cases []patchTestCase
	if err := json.Unmarshal(patchTestRead(t, "strategic.json"), &cases); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			current := []byte(c.Current)
			if string(current) == "null" {
				current = nil
			}
			got, err := ApplyPatch(PatchStrategic, current, c.Patch, patchTestSchema(c.Kind))
			if c.Err != "" {
				var pe *PatchError
				if !errors.As(err, &pe) || pe.Msg != c.Err || pe.Code != c.Code {
					t.Fatalf("got %v (%+v), want %d %q", err, pe, c.Code, c.Err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			patchTestEqualJSON(t, got, c.Want)
		})
	}
}

func TestPatchStrategicErrors(t *testing.T) {
	pod := &corev1.Pod{}
	for _, c := range []struct {
		patch string
		code  int
		msg   string
	}{
		{`[]`, 400, "json: cannot unmarshal array into Go value of type map[string]interface {}"},
		{`"x"`, 400, "json: cannot unmarshal string into Go value of type map[string]interface {}"},
		{`{"a":}`, 400, "invalid character '}' looking for beginning of value"},
		{``, 400, "unexpected end of JSON input"},
	} {
		_, err := ApplyPatch(PatchStrategic, []byte(`{}`), []byte(c.patch), pod)
		var pe *PatchError
		if !errors.As(err, &pe) || pe.Code != c.code || pe.Msg != c.msg {
			t.Errorf("%q: got %v, want %d %q", c.patch, err, c.code, c.msg)
		}
	}
	// Kinds without Go struct tags (custom resources) get 415, as from the API server.
	_, err := ApplyPatch(PatchStrategic, []byte(`{}`), []byte(`{}`), nil)
	var pe *PatchError
	if !errors.As(err, &pe) || pe.Code != 415 {
		t.Errorf("nil schema: %v", err)
	}
}

// TestPatchStrategicOrderSideEffects pins the order upstream gives when a $setElementOrder list also
// deletes an element and appends another (it orders by the original list's backing array after
// in-place deletion and appends).
func TestPatchStrategicOrderSideEffects(t *testing.T) {
	cur := `{"spec":{"containers":[{"name":"c"},{"name":"d"},{"name":"a"}]}}`
	patch := `{"spec":{"$setElementOrder/containers":[{"name":"c"},{"name":"b"},{"name":"d"}],
		"containers":[{"name":"b"},{"name":"c","$patch":"delete"},{"name":"d","image":"x"}]}}`
	got, err := ApplyPatch(PatchStrategic, []byte(cur), []byte(patch), &corev1.Pod{})
	if err != nil {
		t.Fatal(err)
	}
	patchTestEqualJSON(t, got, []byte(`{"spec":{"containers":[{"name":"a"},{"name":"b"},{"name":"d","image":"x"}]}}`))
}

// TestPatchStrategicDoesNotKeepInput checks that the result does not alias the caller's buffers.
func TestPatchStrategicDoesNotKeepInput(t *testing.T) {
	cur := []byte(`{"metadata":{"labels":{"a":"1"}}}`)
	patch := []byte(`{"metadata":{"labels":{"b":"2"}}}`)
	got, err := ApplyPatch(PatchStrategic, cur, patch, &corev1.Pod{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range cur {
		cur[i] = 'x'
	}
	for i := range patch {
		patch[i] = 'x'
	}
	patchTestEqualJSON(t, got, []byte(`{"metadata":{"labels":{"a":"1","b":"2"}}}`))
}

func FuzzApplyStrategic(f *testing.F) {
	f.Add(patchTestRead(f, "pod.json"), patchTestRead(f, "kubectl/pod-apply.patch"))
	f.Add(patchTestRead(f, "pod.json"), patchTestRead(f, "kubectl/pod-set-image.patch"))
	f.Add(patchTestRead(f, "deploy.json"), patchTestRead(f, "kubectl/deploy-apply.patch"))
	f.Add([]byte(`{"metadata":{"finalizers":["a","b"]}}`), []byte(`{"metadata":{"$deleteFromPrimitiveList/finalizers":["a"],"$setElementOrder/finalizers":["c","b"],"finalizers":["c"]}}`))
	f.Add([]byte(`{"spec":{"containers":[{"name":"a"},{"name":"b"}]}}`), []byte(`{"spec":{"containers":[{"name":"a","$patch":"delete"},{"$patch":"replace"},{"name":"c","env":[{"name":"x","$patch":"delete"}]}]}}`))
	f.Add([]byte(`{"spec":{"volumes":[{"name":"v","emptyDir":{}}]}}`), []byte(`{"spec":{"volumes":[{"$retainKeys":["name","hostPath"],"name":"v","hostPath":{"path":"/x"}}],"$patch":"replace"}}`))
	pod := &corev1.Pod{}
	f.Fuzz(func(t *testing.T, current, patch []byte) {
		out, err := ApplyPatch(PatchStrategic, current, patch, pod)
		if err != nil {
			var pe *PatchError
			if !errors.As(err, &pe) {
				t.Fatalf("not a *PatchError: %v", err)
			}
			return
		}
		if !json.Valid(out) {
			t.Fatalf("invalid JSON output %q", out)
		}
	})
}
