package codec

import (
	"bytes"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestCheckQuantity(t *testing.T) {
	for _, ok := range []string{"1", "100m", "1.5Gi", "1Ei", "2E", "1e1000", "1e-1000", "1E+3", "-3e-9", strings.Repeat("9", maxQuantityLen), "1e", "e"} {
		if err := checkQuantity(ok); err != nil {
			t.Errorf("checkQuantity(%q) = %v, want nil", ok, err)
		}
	}
	for _, bad := range []string{"1e1001", "1e-1001", "1.1e-99999999", "1E+99999999999999999999", strings.Repeat("9", maxQuantityLen+1)} {
		if err := checkQuantity(bad); err == nil {
			t.Errorf("checkQuantity(%.30q) = nil, want an error", bad)
		}
	}
}

func TestSuspectQuantities(t *testing.T) {
	for _, s := range []string{`{"cpu":"1e-9999"}`, `{"a":"1.e1234"}`, `{"a":"` + strings.Repeat("7", maxQuantityLen+1) + `"}`} {
		if !suspectQuantities([]byte(s)) {
			t.Errorf("suspectQuantities(%.40s) = false", s)
		}
	}
	for _, s := range []string{`{"cpu":"1e-999","image":"node-12345","memory":"64Mi"}`, `{"a":"kube-system"}`, `{"n":` + strings.Repeat("7", maxQuantityLen) + `}`} {
		if suspectQuantities([]byte(s)) {
			t.Errorf("suspectQuantities(%.40s) = true", s)
		}
	}
}

// A costly quantity in a write is refused at once, with its field; the same text outside a
// quantity field is data and decodes.
func TestUnmarshalRefusesCostlyQuantity(t *testing.T) {
	const evil = "1.1e-99999999" // 43 s in resource.ParseQuantity on an amd64 core
	for _, tc := range []struct{ body, path string }{
		{`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"i","resources":{"limits":{"cpu":"` + evil + `"}}}]}}`, "spec.containers[0].resources.limits[cpu]"},
		// encoding/json matches field names case-insensitively; so does the check.
		{`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"Spec":{"containers":[{"name":"c","image":"i","RESOURCES":{"requests":{"memory":"` + evil + `"}}}]}}`, "spec.containers[0].resources.requests[memory]"},
		{`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"volumes":[{"name":"v","emptyDir":{"sizeLimit":"1e` + strings.Repeat("9", 12) + `"}}],"containers":[{"name":"c","image":"i"}]}}`, "spec.volumes[0].emptyDir.sizeLimit"},
	} {
		start := time.Now()
		err := Unmarshal([]byte(tc.body), &corev1.Pod{})
		if err == nil || !strings.Contains(err.Error(), tc.path) || !strings.Contains(err.Error(), "out of range") {
			t.Errorf("Unmarshal: %v, want an exponent error at %s", err, tc.path)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("Unmarshal took %v", d) // a guard against a hang, not a speed test
		}
	}
	var cm corev1.ConfigMap
	if err := Unmarshal([]byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":{"x":"`+evil+`"}}`), &cm); err != nil || cm.Data["x"] != evil {
		t.Errorf("ConfigMap value: %v %q", err, cm.Data["x"])
	}
	var pod corev1.Pod
	if err := Unmarshal([]byte(`{"apiVersion":"v1","kind":"Pod","spec":{"containers":[{"name":"c","env":[{"name":"E","value":"`+evil+`"}],"resources":{"limits":{"cpu":"1e-3"}}}]}}`), &pod); err != nil ||
		pod.Spec.Containers[0].Env[0].Value != evil || pod.Spec.Containers[0].Resources.Limits.Cpu().MilliValue() != 1 {
		t.Errorf("env value and a plain quantity: %v %+v", err, pod.Spec.Containers)
	}
}

func TestDecodeProtobufRefusesCostlyQuantity(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{
		Name: "c", Image: "i",
		Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1234567")}},
	}}}}
	raw, err := pod.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	k := KindFor("", "v1", "pods")
	if _, err := DecodeProtobuf(k, envelope(t, "v1", "Pod", raw)); err != nil {
		t.Fatalf("the plain pod: %v", err)
	}
	evil := bytes.Replace(raw, []byte("1234567"), []byte("1e-9999"), 1) // the same length
	if bytes.Equal(evil, raw) {
		t.Fatal("the quantity was not found in the encoding")
	}
	if _, err := DecodeProtobuf(k, envelope(t, "v1", "Pod", evil)); err == nil || !strings.Contains(err.Error(), "out of range") {
		t.Fatalf("DecodeProtobuf: %v, want an exponent error", err)
	}
}
