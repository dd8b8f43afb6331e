package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
)

// claimYAML is a claim of size; class "-" leaves storageClassName out (the default class).
func claimYAML(name, class, size, volumeName string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: %s\nspec:\n  accessModes: [ReadWriteOnce]\n  resources:\n    requests:\n      storage: %s\n", name, size)
	if class != "-" {
		fmt.Fprintf(&b, "  storageClassName: %q\n", class)
	}
	if volumeName != "" {
		fmt.Fprintf(&b, "  volumeName: %s\n", volumeName)
	}
	return b.String()
}

// claimPodYAML is a pod that runs script, then sleeps, with claim mounted at /data.
func claimPodYAML(name, claim, script string, readOnly bool) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %s
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: k2d-test/busybox:1
    imagePullPolicy: Never
    command: ["sh", "-c", "trap 'exit 0' TERM; %s; while true; do sleep 1; done"]
    volumeMounts:
    - name: data
      mountPath: /data
      readOnly: %v
  volumes:
  - name: data
    persistentVolumeClaim:
      claimName: %s
`, name, script, readOnly, claim)
}

func getPVC(t *testing.T, ns, name string) (*corev1.PersistentVolumeClaim, error) {
	t.Helper()
	r := kubectl(t, "get", "pvc", name, "-n", ns, "-o", "json")
	if r.Code != 0 {
		return nil, fmt.Errorf("kubectl get pvc %s: %s", name, strings.TrimSpace(r.Stderr))
	}
	var pvc corev1.PersistentVolumeClaim
	if err := json.Unmarshal([]byte(r.Stdout), &pvc); err != nil {
		return nil, err
	}
	return &pvc, nil
}

func getPV(t *testing.T, name string) (*corev1.PersistentVolume, error) {
	t.Helper()
	r := kubectl(t, "get", "pv", name, "-o", "json")
	if r.Code != 0 {
		return nil, fmt.Errorf("kubectl get pv %s: %s", name, strings.TrimSpace(r.Stderr))
	}
	var pv corev1.PersistentVolume
	if err := json.Unmarshal([]byte(r.Stdout), &pv); err != nil {
		return nil, err
	}
	return &pv, nil
}

// waitClaimBound waits until the claim is Bound and returns it.
func waitClaimBound(t *testing.T, ns, name string) *corev1.PersistentVolumeClaim {
	t.Helper()
	var pvc *corev1.PersistentVolumeClaim
	eventually(t, 30*time.Second, func() error {
		p, err := getPVC(t, ns, name)
		if err != nil {
			return err
		}
		pvc = p
		if p.Status.Phase != corev1.ClaimBound || p.Spec.VolumeName == "" {
			return fmt.Errorf("claim %s/%s: phase %q volume %q", ns, name, p.Status.Phase, p.Spec.VolumeName)
		}
		return nil
	})
	return pvc
}

// waitPVPhase waits until the volume has phase.
func waitPVPhase(t *testing.T, name string, phase corev1.PersistentVolumePhase) *corev1.PersistentVolume {
	t.Helper()
	var pv *corev1.PersistentVolume
	eventually(t, 30*time.Second, func() error {
		v, err := getPV(t, name)
		if err != nil {
			return err
		}
		pv = v
		if v.Status.Phase != phase {
			return fmt.Errorf("pv %s: phase %q, want %q", name, v.Status.Phase, phase)
		}
		return nil
	})
	return pv
}

// waitGone waits until `kubectl get <args>` answers NotFound.
func waitGone(t *testing.T, args ...string) {
	t.Helper()
	eventually(t, 60*time.Second, func() error {
		r := kubectl(t, append([]string{"get"}, args...)...)
		if r.Code != 0 && strings.Contains(r.Stderr, "NotFound") {
			return nil
		}
		return fmt.Errorf("kubectl get %s: still there (%s)", strings.Join(args, " "), strings.TrimSpace(r.Stdout+r.Stderr))
	})
}

// dockerVolumes lists the Docker volumes labelled label=value.
func dockerVolumes(t *testing.T, label string) []string {
	t.Helper()
	out := dockerOK(t, "volume", "ls", "-q", "--filter", "label="+label)
	return strings.Fields(out)
}

// readVolumeFile reads a file of a Docker volume with a throw-away container (what a Docker
// user would do), with no network.
func readVolumeFile(t *testing.T, vol, file string) (string, error) {
	t.Helper()
	r := docker(t, "run", "--rm", "--network", "none", "-v", vol+":/v:ro", testImage, "cat", "/v/"+file)
	if r.Code != 0 {
		return "", fmt.Errorf("docker run cat %s: %s", file, strings.TrimSpace(r.Stderr))
	}
	return r.Stdout, nil
}

// TestStorageDynamicProvisioning: a claim on the default class gets a Docker volume; data
// written by one pod is there for the next, across a k2d restart; the claim survives its
// deletion while a pod uses it (pvc-protection); its deletion then removes the volume.
func TestStorageDynamicProvisioning(t *testing.T) {
	start(t)
	ns := newNamespace(t, "pvc")

	var sc storagev1.StorageClass
	kubectlJSON(t, &sc, "get", "storageclass", "local")
	if sc.Provisioner != "k2d.io/local-volume" || sc.ReclaimPolicy == nil || *sc.ReclaimPolicy != corev1.PersistentVolumeReclaimDelete ||
		sc.VolumeBindingMode == nil || *sc.VolumeBindingMode != storagev1.VolumeBindingImmediate ||
		sc.Annotations["storageclass.kubernetes.io/is-default-class"] != "true" {
		t.Fatalf("default class: %+v", sc)
	}

	kubectlInOK(t, claimYAML("data", "-", "64Mi", ""), "apply", "-n", ns, "-f", "-")
	pvc := waitClaimBound(t, ns, "data")
	pvName := "pvc-" + string(pvc.UID)
	if pvc.Spec.StorageClassName == nil || *pvc.Spec.StorageClassName != "local" || pvc.Spec.VolumeName != pvName {
		t.Errorf("claim spec: class %v volume %q", pvc.Spec.StorageClassName, pvc.Spec.VolumeName)
	}
	for k, v := range map[string]string{"pv.kubernetes.io/bind-completed": "yes", "pv.kubernetes.io/bound-by-controller": "yes",
		"volume.kubernetes.io/storage-provisioner": "k2d.io/local-volume"} {
		if pvc.Annotations[k] != v {
			t.Errorf("claim annotation %s=%q, want %q", k, pvc.Annotations[k], v)
		}
	}
	if q := pvc.Status.Capacity[corev1.ResourceStorage]; q.String() != "64Mi" || len(pvc.Status.AccessModes) != 1 {
		t.Errorf("claim status: %+v", pvc.Status)
	}
	pv := waitPVPhase(t, pvName, corev1.VolumeBound)
	if pv.Spec.ClaimRef == nil || pv.Spec.ClaimRef.UID != pvc.UID || pv.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimDelete ||
		pv.Spec.StorageClassName != "local" || pv.Annotations["pv.kubernetes.io/provisioned-by"] != "k2d.io/local-volume" || pv.Spec.Local == nil {
		t.Errorf("pv: %+v %v", pv.Spec, pv.Annotations)
	}
	dockerVol := "k2d-" + pvName
	if got := dockerVolumes(t, "io.k2d.pvc.uid="+string(pvc.UID)); len(got) != 1 || got[0] != dockerVol {
		t.Fatalf("docker volume ls --filter label=io.k2d.pvc.uid=%s: %v, want [%s]", pvc.UID, got, dockerVol)
	}

	t.Run("get_pv_pvc_sc", func(t *testing.T) {
		rows := tableRows(kubectlOK(t, "get", "pv,pvc,sc", "-n", ns))
		row := strings.Join(rowFor(rows, "persistentvolumeclaim/data"), " ")
		for _, want := range []string{"Bound", pvName, "64Mi", "RWO", "local"} {
			if !strings.Contains(row, want) {
				t.Errorf("pvc row %q lacks %q", row, want)
			}
		}
		row = strings.Join(rowFor(rows, "persistentvolume/"+pvName), " ")
		for _, want := range []string{"Bound", ns + "/data", "Delete", "local"} {
			if !strings.Contains(row, want) {
				t.Errorf("pv row %q lacks %q", row, want)
			}
		}
		row = strings.Join(rowFor(rows, "storageclass.storage.k8s.io/local (default)"), " ")
		for _, want := range []string{"k2d.io/local-volume", "Delete", "Immediate"} {
			if !strings.Contains(row, want) {
				t.Errorf("storage class row %q lacks %q", row, want)
			}
		}
	})

	token := "written-" + randSuffix(8)
	applyPod(t, ns, "writer", claimPodYAML("writer", "data", "echo "+token+" > /data/token", false))
	kubectlOK(t, "delete", "pod", "writer", "-n", ns, "--wait=true")
	if got, err := readVolumeFile(t, dockerVol, "token"); err != nil || strings.TrimSpace(got) != token {
		t.Fatalf("the Docker volume holds %q (%v), want %q", got, err, token)
	}

	// Nothing is lost across a restart of k2d.
	stopK2D(t, syscall.SIGTERM)
	startK2D(t)
	again := waitClaimBound(t, ns, "data")
	if again.UID != pvc.UID || again.Spec.VolumeName != pvName {
		t.Fatalf("after a restart the claim is %s bound to %s, want %s bound to %s", again.UID, again.Spec.VolumeName, pvc.UID, pvName)
	}
	waitPVPhase(t, pvName, corev1.VolumeBound)

	applyPod(t, ns, "reader", claimPodYAML("reader", "data", "true", false))
	if out := kubectlOK(t, "exec", "reader", "-n", ns, "--", "cat", "/data/token"); strings.TrimSpace(out) != token {
		t.Fatalf("the re-created pod reads %q, want %q", out, token)
	}

	// Deleted while in use: Terminating until the pod is gone, then the data goes (Delete).
	kubectlOK(t, "delete", "pvc", "data", "-n", ns, "--wait=false")
	time.Sleep(time.Second)
	held, err := getPVC(t, ns, "data")
	if err != nil || held.DeletionTimestamp == nil {
		t.Fatalf("a claim in use must stay (Terminating) with kubernetes.io/pvc-protection: %v %v", held, err)
	}
	if got := dockerVolumes(t, "io.k2d.pvc.uid="+string(pvc.UID)); len(got) != 1 {
		t.Fatalf("the volume of a claim in use was removed: %v", got)
	}
	if out := kubectlOK(t, "exec", "reader", "-n", ns, "--", "cat", "/data/token"); strings.TrimSpace(out) != token {
		t.Errorf("the pod lost its data while its claim is terminating: %q", out)
	}
	kubectlOK(t, "delete", "pod", "reader", "-n", ns, "--wait=true")
	waitGone(t, "pvc", "data", "-n", ns)
	waitGone(t, "pv", pvName)
	eventually(t, 30*time.Second, func() error {
		if got := dockerVolumes(t, "io.k2d.pvc.uid="+string(pvc.UID)); len(got) != 0 {
			return fmt.Errorf("docker volume remains after deleting a Delete-policy claim: %v", got)
		}
		return nil
	})
}

// TestStorageRetainKeepsData: with reclaim policy Retain, deleting the claim leaves the volume
// Released and its data in Docker; deleting the PV leaves the data too.
func TestStorageRetainKeepsData(t *testing.T) {
	start(t)
	ns := newNamespace(t, "retain")
	class := "e2e-retain-" + randSuffix(5)
	kubectlInOK(t, fmt.Sprintf(`apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: %s
provisioner: k2d.io/local-volume
reclaimPolicy: Retain
`, class), "apply", "-f", "-")
	t.Cleanup(func() { kubectl(t, "delete", "storageclass", class, "--ignore-not-found") })

	kubectlInOK(t, claimYAML("keep", class, "32Mi", ""), "apply", "-n", ns, "-f", "-")
	pvc := waitClaimBound(t, ns, "keep")
	pvName := pvc.Spec.VolumeName
	dockerVol := "k2d-" + pvName
	t.Cleanup(func() {
		kubectl(t, "delete", "pv", pvName, "--ignore-not-found")
		docker(t, "volume", "rm", dockerVol)
	})
	if pv := waitPVPhase(t, pvName, corev1.VolumeBound); pv.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimRetain {
		t.Fatalf("reclaim policy %q, want Retain from the class", pv.Spec.PersistentVolumeReclaimPolicy)
	}
	applyPod(t, ns, "writer", claimPodYAML("writer", "keep", "echo precious > /data/file", false))
	kubectlOK(t, "delete", "pod", "writer", "-n", ns, "--wait=true")
	kubectlOK(t, "delete", "pvc", "keep", "-n", ns, "--wait=true")

	waitPVPhase(t, pvName, corev1.VolumeReleased)
	if got, err := readVolumeFile(t, dockerVol, "file"); err != nil || strings.TrimSpace(got) != "precious" {
		t.Fatalf("Retain: the data is %q (%v), want it kept", got, err)
	}
	kubectlOK(t, "delete", "pv", pvName, "--wait=true")
	if got, err := readVolumeFile(t, dockerVol, "file"); err != nil || strings.TrimSpace(got) != "precious" {
		t.Fatalf("deleting a Retain PV must keep its data: %q (%v)", got, err)
	}
}

// TestStorageStaticHostPath: a hostPath PV and a claim naming it bind and the pod sees the
// host's files; a claim with storageClassName "" binds to a matching Available PV by size and
// access modes; released hostPath volumes keep their files.
func TestStorageStaticHostPath(t *testing.T) {
	start(t)
	ns := newNamespace(t, "static")
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "hello.txt"), []byte("from the host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	suffix := randSuffix(5)
	named, matched, small := "e2e-host-"+suffix, "e2e-match-"+suffix, "e2e-small-"+suffix
	pvYAML := func(name, size, path string) string {
		return fmt.Sprintf(`apiVersion: v1
kind: PersistentVolume
metadata:
  name: %s
spec:
  capacity:
    storage: %s
  accessModes: [ReadWriteOnce, ReadWriteMany]
  storageClassName: ""
  hostPath:
    path: %s
    type: DirectoryOrCreate
`, name, size, path)
	}
	kubectlInOK(t, pvYAML(named, "1Gi", dir)+"---\n"+pvYAML(matched, "2Gi", filepath.Join(dir, "matched"))+"---\n"+pvYAML(small, "10Mi", filepath.Join(dir, "small")),
		"apply", "-f", "-")
	t.Cleanup(func() { kubectl(t, "delete", "pv", named, matched, small, "--ignore-not-found", "--wait=false") })
	waitPVPhase(t, named, corev1.VolumeAvailable)

	kubectlInOK(t, claimYAML("host", "", "1Gi", named), "apply", "-n", ns, "-f", "-")
	pvc := waitClaimBound(t, ns, "host")
	if pvc.Spec.VolumeName != named {
		t.Fatalf("bound to %q, want %q", pvc.Spec.VolumeName, named)
	}
	if pv := waitPVPhase(t, named, corev1.VolumeBound); pv.Spec.ClaimRef == nil || pv.Spec.ClaimRef.Name != "host" || pv.Spec.ClaimRef.Namespace != ns {
		t.Errorf("claimRef %+v", pv.Spec.ClaimRef)
	}
	applyPod(t, ns, "hostuser", claimPodYAML("hostuser", "host", "echo from-the-pod > /data/pod.txt", false))
	if out := kubectlOK(t, "exec", "hostuser", "-n", ns, "--", "cat", "/data/hello.txt"); out != "from the host\n" {
		t.Errorf("the pod reads %q from the host path", out)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "pod.txt")); err != nil || string(b) != "from-the-pod\n" {
		t.Errorf("the host reads %q (%v) from the pod's write", b, err)
	}

	// By class, size and access modes: 1Gi RWX fits the 2Gi volume, not the 10Mi one.
	kubectlInOK(t, strings.Replace(claimYAML("any", "", "1Gi", ""), "[ReadWriteOnce]", "[ReadWriteMany]", 1), "apply", "-n", ns, "-f", "-")
	if pvc := waitClaimBound(t, ns, "any"); pvc.Spec.VolumeName != matched {
		t.Errorf("bound to %q, want %q", pvc.Spec.VolumeName, matched)
	}
	if pv, err := getPV(t, small); err != nil || pv.Status.Phase != corev1.VolumeAvailable {
		t.Errorf("the small volume: %v %v", pv, err)
	}

	// A read-only mount of the claim.
	applyPod(t, ns, "ro", claimPodYAML("ro", "host", "true", true))
	if r := kubectl(t, "exec", "ro", "-n", ns, "--", "sh", "-c", "echo x > /data/nope"); r.Code == 0 {
		t.Errorf("a readOnly mount is writable")
	}

	// Released with Retain (the default of a PV made by hand): the files stay.
	kubectlOK(t, "delete", "pod", "hostuser", "ro", "-n", ns, "--wait=true")
	kubectlOK(t, "delete", "pvc", "host", "-n", ns, "--wait=true")
	waitPVPhase(t, named, corev1.VolumeReleased)
	if _, err := os.Stat(filepath.Join(dir, "pod.txt")); err != nil {
		t.Errorf("a Retain hostPath volume lost its files: %v", err)
	}
}

// TestStorageClaimWaits: a pod whose claim does not exist waits in ContainerCreating with a
// FailedMount event, and starts once the claim is created and bound.
func TestStorageClaimWaits(t *testing.T) {
	start(t)
	ns := newNamespace(t, "wait")
	kubectlInOK(t, claimPodYAML("early", "later", "true", false), "apply", "-n", ns, "-f", "-")
	eventually(t, 30*time.Second, func() error {
		p, err := podState(t, ns, "early")
		if err != nil {
			return err
		}
		if len(p.Status.ContainerStatuses) != 1 || p.Status.ContainerStatuses[0].State.Waiting == nil ||
			p.Status.ContainerStatuses[0].State.Waiting.Reason != "ContainerCreating" {
			return fmt.Errorf("want ContainerCreating: %s", describePod(p))
		}
		var evs corev1.EventList
		kubectlJSON(t, &evs, "get", "events", "-n", ns, "--field-selector", "involvedObject.name=early")
		var msgs []string
		for _, ev := range evs.Items {
			if ev.Reason == "FailedMount" && ev.Type == corev1.EventTypeWarning {
				msgs = append(msgs, ev.Message)
			}
		}
		if !strings.Contains(strings.Join(msgs, "\n"), `persistentvolumeclaims "later" not found`) {
			return fmt.Errorf("FailedMount events: %q", msgs)
		}
		return nil
	})
	if r := kubectlOK(t, "get", "pod", "early", "-n", ns); !strings.Contains(r, "ContainerCreating") {
		t.Errorf("kubectl get pod: %q", r)
	}
	kubectlInOK(t, claimYAML("later", "-", "16Mi", ""), "apply", "-n", ns, "-f", "-")
	waitPodRunning(t, ns, "early", 60*time.Second)
}
