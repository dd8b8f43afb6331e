package codec

import (
	"encoding/json"
	"errors"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

func TestPatchApplyServerSide(t *testing.T) {
	pod := &corev1.Pod{}
	cur := `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","labels":{"app":"web"}},
		"spec":{"containers":[{"name":"main","image":"a","ports":[{"containerPort":80}]},{"name":"side","image":"b"}],
		"tolerations":[{"key":"x","operator":"Exists"}]}}`
	for _, c := range []struct {
		name, current, body, want string
		schema                    any
	}{
		{name: "create", current: "", schema: pod,
			body: `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","annotations":null},"spec":{"containers":[{"name":"main","image":"a"}]}}`,
			want: `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web"},"spec":{"containers":[{"name":"main","image":"a"}]}}`},
		{name: "merge by patch keys, replace other lists", current: cur, schema: pod,
			body: "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"web\",\"labels\":{\"tier\":\"front\"}},\"spec\":{\"containers\":[{\"name\":\"main\",\"image\":\"c\",\"ports\":[{\"containerPort\":80,\"name\":\"http\"}]}],\"tolerations\":[{\"key\":\"y\",\"operator\":\"Exists\"}]}}\n",
			want: `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","labels":{"app":"web","tier":"front"}},
				"spec":{"containers":[{"name":"main","image":"c","ports":[{"containerPort":80,"name":"http"}]},{"name":"side","image":"b"}],
				"tolerations":[{"key":"y","operator":"Exists"}]}}`},
		{name: "directives are data", current: `{"metadata":{"labels":{"a":"1"}}}`, schema: pod,
			body: `{"metadata":{"labels":{"$patch":"replace"}}}`,
			want: `{"metadata":{"labels":{"a":"1","$patch":"replace"}}}`},
		{name: "null removes", current: `{"metadata":{"labels":{"a":"1","b":"2"}}}`, schema: pod,
			body: `{"metadata":{"labels":{"a":null}}}`,
			want: `{"metadata":{"labels":{"b":"2"}}}`},
		{name: "no schema: lists are atomic", current: `{"spec":{"items":[{"name":"a"},{"name":"b"}],"m":{"x":1}}}`, schema: nil,
			body: `{"spec":{"items":[{"name":"a","v":1}],"m":{"y":2}}}`,
			want: `{"spec":{"items":[{"name":"a","v":1}],"m":{"x":1,"y":2}}}`},
	} {
		got, err := ApplyPatch(PatchApply, []byte(c.current), []byte(c.body), c.schema)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		patchTestEqualJSON(t, got, []byte(c.want))
	}
}

func TestPatchApplyServerSideErrors(t *testing.T) {
	for _, c := range []struct{ body, msg string }{
		{"", "error decoding YAML: empty apply configuration"},
		{"apiVersion: v1\nkind: Pod\n", "error decoding YAML: only the JSON form of apply configurations is supported by k2d; send the object as JSON"},
		{"[]", "error decoding YAML: only the JSON form of apply configurations is supported by k2d; send the object as JSON"},
		{`{"a":`, "error decoding YAML: unexpected end of JSON input"},
		{`{"metadata":{"managedFields":[{"manager":"x"}]}}`, "metadata.managedFields must be nil"},
	} {
		_, err := ApplyPatch(PatchApply, []byte(`{}`), []byte(c.body), &corev1.Pod{})
		var pe *PatchError
		if !errors.As(err, &pe) || pe.Code != 400 || pe.Msg != c.msg {
			t.Errorf("%q: got %v, want 400 %q", c.body, err, c.msg)
		}
	}
	// Merge errors are the strategic ones.
	_, err := ApplyPatch(PatchApply, []byte(`{"spec":{"foo":{"a":1}}}`), []byte(`{"spec":{"foo":{"b":1}}}`), &appsv1.Deployment{})
	var pe *PatchError
	if !errors.As(err, &pe) || pe.Code != 422 || pe.Msg != `unable to find api field in struct DeploymentSpec for the json field "foo"` {
		t.Errorf("unknown field: %v", err)
	}
}

func FuzzApplyServerSide(f *testing.F) {
	f.Add(patchTestRead(f, "pod.json"), patchTestRead(f, "kubectl/pod-apply-server-side-1.patch"))
	f.Add(patchTestRead(f, "deploy.json"), patchTestRead(f, "kubectl/deploy-apply-server-side-1.patch"))
	f.Add([]byte(``), []byte(`{"metadata":{"name":"x"},"spec":{"containers":[{"name":"a","$patch":"delete"}]}}`))
	pod := &corev1.Pod{}
	f.Fuzz(func(t *testing.T, current, body []byte) {
		out, err := ApplyPatch(PatchApply, current, body, pod)
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
