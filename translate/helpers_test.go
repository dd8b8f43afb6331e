package translate

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/docker/docker/api/types/container"
	corev1 "k8s.io/api/core/v1"
)

// loadPod reads a pod manifest from testdata/pods.
func loadPod(t testing.TB, name string) *corev1.Pod {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "pods", name))
	if err != nil {
		t.Fatal(err)
	}
	var p corev1.Pod
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatalf("cannot decode %s: %v", name, err)
	}
	return &p
}

// loadInspect reads a captured `docker inspect` array from testdata/inspect.
func loadInspect(t testing.TB, name string) []container.InspectResponse {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "inspect", name))
	if err != nil {
		t.Fatal(err)
	}
	var list []container.InspectResponse
	if err := json.Unmarshal(b, &list); err != nil {
		t.Fatalf("cannot decode %s: %v", name, err)
	}
	if len(list) == 0 {
		t.Fatalf("%s: empty inspect array", name)
	}
	return list
}

// loadOne reads a fixture holding a single container.
func loadOne(t testing.TB, name string) *container.InspectResponse {
	t.Helper()
	return &loadInspect(t, name)[0]
}

func ptr[T any](v T) *T { return &v }

// toJSON renders v for failure messages.
func toJSON(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}
