package codec

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// envelope wraps obj the way client-go's protobuf serializer does.
func envelope(t *testing.T, apiVersion, kind string, raw []byte) []byte {
	t.Helper()
	u := runtime.Unknown{TypeMeta: runtime.TypeMeta{APIVersion: apiVersion, Kind: kind}, Raw: raw}
	b, err := u.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return append(append([]byte{}, protobufMagic...), b...)
}

func TestDecodeProtobuf(t *testing.T) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "plant-a", Labels: map[string]string{"site": "x"}}}
	raw, err := ns.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	k := KindFor("", "v1", "namespaces")
	obj, err := DecodeProtobuf(k, envelope(t, "v1", "Namespace", raw))
	if err != nil {
		t.Fatal(err)
	}
	got := obj.(*corev1.Namespace)
	if got.Name != "plant-a" || got.Labels["site"] != "x" || got.Kind != "Namespace" || got.APIVersion != "v1" {
		t.Fatalf("decoded %+v", got)
	}
	for _, bad := range [][]byte{nil, []byte("{}"), append(append([]byte{}, protobufMagic...), 0xff, 0xff)} {
		if _, err := DecodeProtobuf(k, bad); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
}

func FuzzDecodeProtobuf(f *testing.F) {
	f.Add(append(append([]byte{}, protobufMagic...), 0x0a, 0x00))
	k := KindFor("", "v1", "pods")
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = DecodeProtobuf(k, b)
	})
}
