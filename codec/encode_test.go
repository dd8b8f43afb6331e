package codec

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"os/exec"
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/randfill"
)

// filler fills objects with random values that encoding/json can encode: times within the
// years JSON can carry, valid quantities, raw extensions holding JSON, Table cells of JSON types.
func filler(seed uint64) *randfill.Filler {
	return randfill.NewWithSeed(int64(seed)).NilChance(0.25).NumElements(0, 3).MaxDepth(12).Funcs(
		func(t *metav1.Time, c randfill.Continue) {
			if c.Bool() {
				*t = metav1.Time{}
				return
			}
			*t = metav1.NewTime(time.Unix(c.Int63n(4e9), 0))
		},
		func(t *metav1.MicroTime, c randfill.Continue) {
			*t = metav1.NewMicroTime(time.Unix(c.Int63n(4e9), c.Int63n(1e9)))
		},
		func(q *resource.Quantity, c randfill.Continue) {
			*q = *resource.NewMilliQuantity(c.Int63n(1e12), []resource.Format{resource.DecimalSI, resource.BinarySI, resource.DecimalExponent}[c.Intn(3)])
		},
		func(v *intstr.IntOrString, c randfill.Continue) {
			if c.Bool() {
				*v = intstr.FromInt32(c.Int31())
			} else {
				*v = intstr.FromString(c.String(8))
			}
		},
		func(r *runtime.RawExtension, c randfill.Continue) {
			if c.Bool() {
				r.Raw = []byte(`{"a":[1,"<b>&"],"c" : null}`)
			}
		},
		func(cell *any, c randfill.Continue) {
			switch c.Intn(4) {
			case 0:
				*cell = c.String(10)
			case 1:
				*cell = c.Int63()
			case 2:
				*cell = nil
			default:
				*cell = map[string]any{"k": c.String(4)}
			}
		},
		func(s *string, c randfill.Continue) {
			// Exercise every escaping rule: HTML, control, U+2028, invalid UTF-8.
			parts := []string{"a", "<", ">", "&", "\"", "\\", "\n", "\t", "\x01", "\u2028", "\u2029", "é", "\xff", "日本", " "}
			n := c.Intn(6)
			var b []byte
			for i := 0; i < n; i++ {
				b = append(b, parts[c.Intn(len(parts))]...)
			}
			*s = string(b)
		},
	)
}

// TestGeneratedEncodersMatchEncodingJSON is the oracle test: for every type with a generated
// encoder, randomly filled values encode byte for byte as encoding/json encodes them.
func TestGeneratedEncodersMatchEncodingJSON(t *testing.T) {
	if encGenerated == nil {
		t.Fatal("zz_generated.encode.go is missing: run go run ./codec/encgen")
	}
	roots := encodedRoots()
	n := 60
	if testing.Short() {
		n = 10
	}
	for _, root := range roots {
		for i := 0; i < n; i++ {
			seed := rand.Uint64()
			v := reflect.New(root.Elem()).Interface()
			filler(seed).Fill(v)
			want, werr := json.Marshal(v)
			got, gerr := appendJSON(nil, v)
			if (werr != nil) != (gerr != nil) {
				t.Fatalf("%v seed %d: encoding/json error %v, generated error %v", root, seed, werr, gerr)
			}
			if werr == nil && !bytes.Equal(got, want) {
				t.Fatalf("%v seed %d:\n got %s\nwant %s", root, seed, got, want)
			}
		}
	}
}

func encodedRoots() []reflect.Type {
	var roots []reflect.Type
	for _, k := range Kinds {
		roots = append(roots, reflect.TypeOf(k.New()))
		if k.NewList != nil {
			roots = append(roots, reflect.TypeOf(k.NewList()))
		}
	}
	return append(roots, reflect.TypeOf(&metav1.Status{}), reflect.TypeOf(&metav1.Table{}), reflect.TypeOf(&metav1.PartialObjectMetadataList{}))
}

// TestGeneratedEncodersCover makes sure the served kinds do not fall back to encoding/json.
func TestGeneratedEncodersCover(t *testing.T) {
	for _, root := range encodedRoots() {
		v := reflect.New(root.Elem()).Interface()
		if _, ok := encGenerated(nil, v); !ok {
			t.Errorf("%v has no generated encoder: run go run ./codec/encgen", root)
		}
	}
	if _, ok := encGenerated(nil, &corev1.PodLogOptions{}); ok {
		t.Error("a type that is not a root claims a generated encoder")
	}
}

// TestGeneratedEncodersUpToDate fails when zz_generated.encode.go differs from what encgen
// writes now (codec.Kinds or k8s.io/api changed).
func TestGeneratedEncodersUpToDate(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the generator")
	}
	out := t.TempDir() + "/enc.go"
	cmd := exec.Command("go", "run", "./encgen", "-o", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("encgen: %v\n%s", err, b)
	}
	want, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("zz_generated.encode.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("zz_generated.encode.go is stale: run go run ./codec/encgen")
	}
}

// FuzzPodRoundTrip decodes arbitrary JSON into a Pod, encodes it with the generated encoder,
// decodes that again and checks that nothing changed and that encoding/json agrees.
func FuzzPodRoundTrip(f *testing.F) {
	f.Add([]byte(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a<b>","labels":{"x":"y"}},"spec":{"containers":[{"name":"c","image":"i","resources":{"limits":{"cpu":"1500m"}}}]}}`))
	f.Add([]byte(`{"metadata":{"creationTimestamp":"2024-01-02T03:04:05Z","annotations":{"\u2028":"\ufffd"}},"status":{"phase":"Running","podIPs":[{"ip":"10.0.0.1"}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var p corev1.Pod
		if json.Unmarshal(data, &p) != nil {
			return
		}
		got, err := appendJSON(nil, &p)
		want, werr := json.Marshal(&p)
		if (err != nil) != (werr != nil) {
			t.Fatalf("errors differ: %v vs %v", err, werr)
		}
		if err != nil {
			return
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("got  %s\nwant %s", got, want)
		}
		var back corev1.Pod
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		again, _ := appendJSON(nil, &back)
		if !bytes.Equal(again, got) {
			t.Fatalf("round trip changed:\n%s\n%s", got, again)
		}
	})
}
