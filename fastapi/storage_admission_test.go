package fastapi

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/k2d-project/k2d/codec"
	"github.com/k2d-project/k2d/reconcile"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func createPVC(t *testing.T, ts *testServer, name, class string) *corev1.PersistentVolumeClaim {
	t.Helper()
	body := `{"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":"` + name + `"},"spec":{` + class +
		`"accessModes":["ReadWriteOnce"],"resources":{"requests":{"storage":"1Gi"}}}}`
	resp, out := ts.do("POST", "/api/v1/namespaces/default/persistentvolumeclaims", "application/json", body)
	if resp.StatusCode != 201 {
		t.Fatalf("create %s: %d %s", name, resp.StatusCode, out)
	}
	var pvc corev1.PersistentVolumeClaim
	if err := json.Unmarshal([]byte(out), &pvc); err != nil {
		t.Fatal(err)
	}
	return &pvc
}

func TestStorageAdmission(t *testing.T) {
	ts := newTestServer(t)
	// No default class yet: the claim keeps no class.
	pvc := createPVC(t, ts, "early", "")
	if pvc.Spec.StorageClassName != nil {
		t.Errorf("no default class: got %q", *pvc.Spec.StorageClassName)
	}
	if !slices.Contains(pvc.Finalizers, reconcile.FinalizerPVCProtection) {
		t.Errorf("finalizers %v", pvc.Finalizers)
	}
	kindSC := codec.KindFor("storage.k8s.io", "v1", "storageclasses")
	for _, name := range []string{"plain", "local"} {
		sc := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Provisioner: reconcile.Provisioner}
		if name == "local" {
			sc.Annotations = map[string]string{reconcile.AnnotationDefaultClass: "true"}
		}
		if _, err := ts.store.Create(kindSC, sc); err != nil {
			t.Fatal(err)
		}
	}
	if pvc := createPVC(t, ts, "defaulted", ""); pvc.Spec.StorageClassName == nil || *pvc.Spec.StorageClassName != "local" {
		t.Errorf("want the default class, got %v", pvc.Spec.StorageClassName)
	}
	if pvc := createPVC(t, ts, "chosen", `"storageClassName":"plain",`); *pvc.Spec.StorageClassName != "plain" {
		t.Errorf("an explicit class was changed: %q", *pvc.Spec.StorageClassName)
	}
	if pvc := createPVC(t, ts, "none", `"storageClassName":"",`); *pvc.Spec.StorageClassName != "" {
		t.Errorf(`storageClassName "" (no class) was changed: %q`, *pvc.Spec.StorageClassName)
	}
	// A dry run shows what would be stored and stores nothing.
	resp, out := ts.do("POST", "/api/v1/namespaces/default/persistentvolumeclaims?dryRun=All", "application/json",
		`{"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":"dry"},"spec":{"accessModes":["ReadWriteOnce"],"resources":{"requests":{"storage":"1Gi"}}}}`)
	if resp.StatusCode != 201 {
		t.Fatalf("dry run: %d %s", resp.StatusCode, out)
	}
	if _, ok := ts.store.Get("persistentvolumeclaims", "default", "dry"); ok {
		t.Error("a dry run stored the claim")
	}

	resp, out = ts.do("POST", "/api/v1/persistentvolumes", "application/json",
		`{"apiVersion":"v1","kind":"PersistentVolume","metadata":{"name":"host"},"spec":{"capacity":{"storage":"1Gi"},"accessModes":["ReadWriteOnce"],"hostPath":{"path":"/srv/x"}}}`)
	if resp.StatusCode != 201 {
		t.Fatalf("create pv: %d %s", resp.StatusCode, out)
	}
	var pv corev1.PersistentVolume
	_ = json.Unmarshal([]byte(out), &pv)
	if !slices.Contains(pv.Finalizers, reconcile.FinalizerPVProtection) {
		t.Errorf("pv finalizers %v", pv.Finalizers)
	}
	// Deleting a protected claim marks it; the storage controller finishes the job.
	resp, out = ts.do("DELETE", "/api/v1/namespaces/default/persistentvolumeclaims/early", "", "")
	if resp.StatusCode != 200 {
		t.Fatalf("delete: %d %s", resp.StatusCode, out)
	}
	e, ok := ts.store.Get("persistentvolumeclaims", "default", "early")
	if !ok || e.Meta().GetDeletionTimestamp() == nil {
		t.Errorf("a claim with pvc-protection is marked, not removed: %v", ok)
	}
}
