package codec

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// patchTestDecode decodes JSON keeping numbers exact, for comparisons.
func patchTestDecode(t testing.TB, b []byte) any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("cannot decode %s: %v", b, err)
	}
	return v
}

// patchTestEqualJSON compares two documents exactly (list order included, numbers as written).
func patchTestEqualJSON(t testing.TB, got, want []byte) {
	t.Helper()
	if !reflect.DeepEqual(patchTestDecode(t, got), patchTestDecode(t, want)) {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func patchTestRead(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "patch", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestPatchKubectl applies the patches kubectl v1.32 sent to a fake API server (captured with the
// fake server's request log, testdata/patch/kubectl/*.patch) to realistic objects. The expected
// strategic-merge results were computed with k8s.io/apimachinery's strategicpatch called as the API
// server calls it; merge and JSON patch results by hand.
func TestPatchKubectl(t *testing.T) {
	pod, deploy := &corev1.Pod{}, &appsv1.Deployment{}
	cases := []struct {
		name, typ, current string
		schema             any
	}{
		{"pod-apply", PatchStrategic, "pod.json", pod},                    // kubectl apply (client-side)
		{"pod-set-image", PatchStrategic, "pod.json", pod},                // kubectl set image pod/web
		{"pod-patch-strategic", PatchStrategic, "pod.json", pod},          // kubectl patch -p '{...$patch: delete}'
		{"pod-label", PatchMerge, "pod.json", pod},                        // kubectl label env=prod team-
		{"pod-annotate", PatchMerge, "pod.json", pod},                     // kubectl annotate note=hello k2d.io/note-
		{"pod-patch-json", PatchJSON, "pod.json", pod},                    // kubectl patch --type=json
		{"pod-apply-server-side-1", PatchApply, "pod.json", pod},          // kubectl apply --server-side
		{"pod-apply-server-side-2", PatchApply, "pod.json", pod},          // its last-applied migration
		{"deploy-apply", PatchStrategic, "deploy.json", deploy},           // $retainKeys on strategy, null label
		{"deploy-set-env", PatchStrategic, "deploy.json", deploy},         // kubectl set env
		{"deploy-set-image", PatchStrategic, "deploy.json", deploy},       // kubectl set image
		{"deploy-set-resources", PatchStrategic, "deploy.json", deploy},   // kubectl set resources
		{"deploy-rollout-pause", PatchStrategic, "deploy.json", deploy},   // kubectl rollout pause
		{"deploy-rollout-restart", PatchStrategic, "deploy.json", deploy}, // kubectl rollout restart
		{"deploy-patch-merge", PatchMerge, "deploy.json", deploy},         // kubectl patch --type=merge
		{"deploy-rollout-undo", PatchJSON, "deploy.json", deploy},         // kubectl rollout undo (written from its source)
		{"deploy-apply-server-side-1", PatchApply, "deploy.json", deploy}, // kubectl apply --server-side
		{"deploy-apply-server-side-2", PatchApply, "deploy.json", deploy}, // its last-applied migration
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			current := patchTestRead(t, c.current)
			patch := patchTestRead(t, "kubectl/"+c.name+".patch")
			got, err := ApplyPatch(c.typ, current, patch, c.schema)
			if err != nil {
				t.Fatal(err)
			}
			patchTestEqualJSON(t, got, patchTestRead(t, "kubectl/"+c.name+".want.json"))
		})
	}
}

// TestPatchKubectlDecodes checks that results decode into the typed objects, as the caller does.
func TestPatchKubectlDecodes(t *testing.T) {
	got, err := ApplyPatch(PatchStrategic, patchTestRead(t, "pod.json"), patchTestRead(t, "kubectl/pod-apply.patch"), &corev1.Pod{})
	if err != nil {
		t.Fatal(err)
	}
	var pod corev1.Pod
	if err := json.Unmarshal(got, &pod); err != nil {
		t.Fatal(err)
	}
	c := pod.Spec.Containers
	if len(c) != 1 || c[0].Image != "k2d-test/busybox:2" || len(c[0].Env) != 2 || c[0].Env[1].Name != "C" ||
		len(c[0].Ports) != 1 || c[0].Ports[0].ContainerPort != 8080 {
		t.Errorf("containers = %+v", c)
	}
	if v := pod.Spec.Volumes[0]; v.HostPath == nil || v.EmptyDir != nil {
		t.Errorf("$retainKeys not applied: %+v", v)
	}
	if !strings.Contains(pod.Annotations["kubectl.kubernetes.io/last-applied-configuration"], `"tier":"front"`) {
		t.Error("last-applied-configuration not updated")
	}
	if *pod.Spec.ActiveDeadlineSeconds != 9007199254740993 {
		t.Errorf("large integer changed: %d", *pod.Spec.ActiveDeadlineSeconds)
	}
}

func TestPatchContentType(t *testing.T) {
	cur := []byte(`{"a":1}`)
	for _, ct := range []string{PatchMerge, "application/merge-patch+json; charset=utf-8", " Application/Merge-Patch+JSON "} {
		got, err := ApplyPatch(ct, cur, []byte(`{"b":2}`), nil)
		if err != nil {
			t.Fatalf("%q: %v", ct, err)
		}
		patchTestEqualJSON(t, got, []byte(`{"a":1,"b":2}`))
	}
	for _, ct := range []string{"application/json", "", "application/apply-patch+cbor"} {
		_, err := ApplyPatch(ct, cur, []byte(`{}`), nil)
		var pe *PatchError
		if !errors.As(err, &pe) || pe.Code != 415 ||
			pe.Msg != "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml" {
			t.Errorf("%q: %v", ct, err)
		}
	}
}

// TestPatchNumbersPreserved: numbers are copied as written, whatever their size or form.
func TestPatchNumbersPreserved(t *testing.T) {
	cur := []byte(`{"big":123456789012345678901234567890,"f":1.50,"e":1e400,"neg":-0,"spec":{"replicas":1}}`)
	want := `{"big":123456789012345678901234567890,"e":1e400,"f":1.50,"neg":-0,"spec":{"replicas":2}}`
	for _, c := range []struct{ typ, patch string }{
		{PatchMerge, `{"spec":{"replicas":2}}`},
		{PatchStrategic, `{"spec":{"replicas":2}}`},
		{PatchJSON, `[{"op":"replace","path":"/spec/replicas","value":2}]`},
		{PatchApply, `{"spec":{"replicas":2}}`},
	} {
		got, err := ApplyPatch(c.typ, cur, []byte(c.patch), &appsv1.Deployment{})
		if err != nil {
			t.Fatalf("%s: %v", c.typ, err)
		}
		if string(got) != want {
			t.Errorf("%s:\ngot  %s\nwant %s", c.typ, got, want)
		}
	}
}

func TestPatchEncodeKeepsHTML(t *testing.T) {
	got, err := ApplyPatch(PatchMerge, []byte(`{"a":"<b>&"}`), []byte(`{"c":"\u003c"}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != `{"a":"<b>&","c":"<"}` {
		t.Errorf("got %s", got)
	}
}

func TestPatchCorruptCurrent(t *testing.T) {
	for _, cur := range []string{`{`, `[1]`, `"x"`} {
		_, err := ApplyPatch(PatchMerge, []byte(cur), []byte(`{}`), nil)
		var pe *PatchError
		if !errors.As(err, &pe) || pe.Code != 500 || pe.Msg != "Invalid JSON Document" {
			t.Errorf("%s: %v", cur, err)
		}
	}
}

func TestPatchDecodeErrors(t *testing.T) {
	// The texts of encoding/json.Unmarshal, which the API server returns.
	for in, want := range map[string]string{
		``:         "unexpected end of JSON input",
		`{"a":`:    "unexpected end of JSON input",
		`{"a":1}x`: "invalid character 'x' after top-level value",
		`{"a":1}"`: `invalid character '"' after top-level value`,
		`{a}`:      "invalid character 'a' looking for beginning of object key string",
		"{}\x01":   `invalid character '\x01' after top-level value`,
	} {
		_, err := patchDecode([]byte(in))
		if err == nil || err.Error() != want {
			t.Errorf("%q: got %v, want %s", in, err, want)
		}
	}
}

// TestPatchSchemaFields checks the Go type walk: inline embedding, case-insensitive fallback,
// unknown fields, maps.
func TestPatchSchemaFields(t *testing.T) {
	s := patchSchema{reflect.TypeOf(&corev1.Pod{})}
	spec, _, err := s.lookupStruct("spec")
	if err != nil {
		t.Fatal(err)
	}
	vol, meta, err := spec.lookupSlice("volumes")
	if err != nil || meta.mergeKey != "name" || !reflect.DeepEqual(meta.strategies, []string{"merge", "retainKeys"}) {
		t.Fatalf("volumes: %v %+v", err, meta)
	}
	// emptyDir is a field of the inline VolumeSource.
	if _, _, err := vol.lookupStruct("emptyDir"); err != nil {
		t.Error(err)
	}
	if _, _, err := s.lookupStruct("apiVersion"); err != nil { // inline TypeMeta
		t.Error(err)
	}
	if _, _, err := s.lookupStruct("METADATA"); err != nil {
		t.Error(err)
	}
	_, _, err = spec.lookupStruct("nope")
	if err == nil || err.Error() != `unable to find api field in struct PodSpec for the json field "nope"` {
		t.Error(err)
	}
	md, _, _ := s.lookupStruct("metadata")
	labels, _, _ := md.lookupStruct("labels")
	if _, _, err := labels.lookupStruct("x"); err != nil {
		t.Error(err)
	}
	if _, _, err := spec.lookupSlice("hostname"); err == nil || err.Error() != "expected slice or array type, but got: struct" {
		t.Error(err)
	}
}

// BenchmarkApplyPatch measures the patches kubectl sends most, on a realistic Pod.
func BenchmarkApplyPatch(b *testing.B) {
	pod := patchTestRead(b, "pod.json")
	for _, c := range []struct{ name, typ, file string }{
		{"strategic-apply", PatchStrategic, "kubectl/pod-apply.patch"},
		{"strategic-set-image", PatchStrategic, "kubectl/pod-set-image.patch"},
		{"merge-label", PatchMerge, "kubectl/pod-label.patch"},
		{"json", PatchJSON, "kubectl/pod-patch-json.patch"},
		{"server-side-apply", PatchApply, "kubectl/pod-apply-server-side-1.patch"},
	} {
		patch := patchTestRead(b, c.file)
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(pod)))
			for b.Loop() {
				if _, err := ApplyPatch(c.typ, pod, patch, &corev1.Pod{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
