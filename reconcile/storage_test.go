package reconcile

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/volume"
	"github.com/k2d-project/k2d/dockerio"
	"github.com/k2d-project/k2d/translate"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
)

// ---- pure decisions ----

func mkPV(name, class, size string, modes ...corev1.PersistentVolumeAccessMode) *corev1.PersistentVolume {
	if len(modes) == 0 {
		modes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}
	}
	return &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)},
			AccessModes:                   modes,
			StorageClassName:              class,
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			PersistentVolumeSource:        corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/srv/" + name}},
		},
		Status: corev1.PersistentVolumeStatus{Phase: corev1.VolumeAvailable},
	}
}

func mkPVC(name string, class *string, size string, modes ...corev1.PersistentVolumeAccessMode) *corev1.PersistentVolumeClaim {
	if len(modes) == 0 {
		modes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}
	}
	return &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      modes,
			StorageClassName: class,
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)}},
		},
	}
}

func strp(s string) *string { return &s }

func TestDefaultStorageClass(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	sc := func(name string, at time.Time, ann string) *storagev1.StorageClass {
		s := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(at)}}
		if ann != "" {
			s.Annotations = map[string]string{ann: "true"}
		}
		return s
	}
	if got := DefaultStorageClass([]*storagev1.StorageClass{sc("a", t0, ""), sc("b", t0, "")}); got != nil {
		t.Errorf("no default annotated: got %q", got.Name)
	}
	got := DefaultStorageClass([]*storagev1.StorageClass{
		sc("old", t0, AnnotationDefaultClass), sc("new", t0.Add(time.Hour), annotationBetaDefaultClass), sc("plain", t0.Add(2*time.Hour), ""),
	})
	if got == nil || got.Name != "new" {
		t.Errorf("the newest default wins: got %v", got)
	}
	got = DefaultStorageClass([]*storagev1.StorageClass{sc("b", t0, AnnotationDefaultClass), sc("a", t0, AnnotationDefaultClass)})
	if got == nil || got.Name != "a" {
		t.Errorf("same age: first by name: got %v", got)
	}
	notDefault := sc("x", t0, "")
	notDefault.Annotations = map[string]string{AnnotationDefaultClass: "false"}
	if got := DefaultStorageClass([]*storagev1.StorageClass{notDefault}); got != nil {
		t.Errorf(`"false" is not default`)
	}
}

func TestVolumeSatisfiesClaim(t *testing.T) {
	block := corev1.PersistentVolumeBlock
	blockPV := mkPV("blk", "", "1Gi")
	blockPV.Spec.VolumeMode = &block
	for _, tc := range []struct {
		name string
		pv   *corev1.PersistentVolume
		pvc  *corev1.PersistentVolumeClaim
		want error
	}{
		{"fits", mkPV("a", "", "1Gi"), mkPVC("c", strp(""), "1Gi"), nil},
		{"bigger fits", mkPV("a", "", "2Gi"), mkPVC("c", strp(""), "1Gi"), nil},
		{"too small", mkPV("a", "", "500Mi"), mkPVC("c", strp(""), "1Gi"), errVolumeTooSmall},
		{"class", mkPV("a", "fast", "1Gi"), mkPVC("c", strp(""), "1Gi"), errClassMismatch},
		{"nil class is no class", mkPV("a", "", "1Gi"), mkPVC("c", nil, "1Gi"), nil},
		{"volume mode", blockPV, mkPVC("c", strp(""), "1Gi"), errVolumeModeMismatch},
		{"access mode", mkPV("a", "", "1Gi", corev1.ReadWriteOnce), mkPVC("c", strp(""), "1Gi", corev1.ReadWriteMany), errAccessModeMismatch},
		{"access superset", mkPV("a", "", "1Gi", corev1.ReadWriteOnce, corev1.ReadOnlyMany), mkPVC("c", strp(""), "1Gi", corev1.ReadOnlyMany), nil},
	} {
		if got := volumeSatisfiesClaim(tc.pv, tc.pvc); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestBestVolumeForClaim(t *testing.T) {
	claim := mkPVC("data", strp("manual"), "1Gi")
	claim.UID = "u1"
	small := mkPV("small", "manual", "500Mi")
	fit := mkPV("fit", "manual", "2Gi")
	fitter := mkPV("fitter", "manual", "1Gi")
	other := mkPV("other", "fast", "1Gi")
	taken := mkPV("taken", "manual", "1Gi")
	taken.Spec.ClaimRef = &corev1.ObjectReference{Namespace: "default", Name: "else", UID: "u2"}
	released := mkPV("released", "manual", "1Gi")
	released.Status.Phase = corev1.VolumeReleased
	deleting := mkPV("deleting", "manual", "1Gi")
	deleting.DeletionTimestamp = &metav1.Time{Time: time.Now()}
	pending := mkPV("pending", "manual", "1Gi")
	pending.Status.Phase = ""

	if got := bestVolumeForClaim(claim, []*corev1.PersistentVolume{small, fit, fitter, other, taken, released, deleting}); got != fitter {
		t.Errorf("want the smallest that fits (fitter), got %v", got)
	}
	if got := bestVolumeForClaim(claim, []*corev1.PersistentVolume{small, other, taken, released, deleting}); got != nil {
		t.Errorf("nothing fits: got %s", got.Name)
	}
	if got := bestVolumeForClaim(claim, []*corev1.PersistentVolume{pending}); got != pending {
		t.Errorf("a volume not yet marked Available (phase Pending) still binds: got %v", got)
	}
	// A volume reserved for the claim by name wins over a better fit, whatever its class.
	reserved := mkPV("reserved", "other", "5Gi")
	reserved.Spec.ClaimRef = &corev1.ObjectReference{Namespace: "default", Name: "data"}
	if got := bestVolumeForClaim(claim, []*corev1.PersistentVolume{fitter, reserved}); got != reserved {
		t.Errorf("want the reserved volume, got %v", got)
	}
	tooSmallReserved := mkPV("r2", "manual", "1Mi")
	tooSmallReserved.Spec.ClaimRef = &corev1.ObjectReference{Namespace: "default", Name: "data", UID: "u1"}
	if got := bestVolumeForClaim(claim, []*corev1.PersistentVolume{tooSmallReserved, fitter}); got != fitter {
		t.Errorf("a reserved volume too small is skipped: got %v", got)
	}
	// Selector.
	labelled := mkPV("labelled", "manual", "3Gi")
	labelled.Labels = map[string]string{"tier": "gold"}
	sel := claim.DeepCopy()
	sel.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "gold"}}
	if got := bestVolumeForClaim(sel, []*corev1.PersistentVolume{fitter, labelled}); got != labelled {
		t.Errorf("selector: want labelled, got %v", got)
	}
	sel.Spec.Selector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"gold"}}}}
	if got := bestVolumeForClaim(sel, []*corev1.PersistentVolume{labelled, fitter}); got != fitter {
		t.Errorf("selector NotIn: want fitter, got %v", got)
	}
}

func TestSelectorMatches(t *testing.T) {
	l := map[string]string{"a": "1", "b": "2"}
	for _, tc := range []struct {
		sel  *metav1.LabelSelector
		want bool
	}{
		{nil, true},
		{&metav1.LabelSelector{}, true},
		{&metav1.LabelSelector{MatchLabels: map[string]string{"a": "1"}}, true},
		{&metav1.LabelSelector{MatchLabels: map[string]string{"a": "2"}}, false},
		{&metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "a", Operator: "In", Values: []string{"1", "3"}}}}, true},
		{&metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "c", Operator: "Exists"}}}, false},
		{&metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "c", Operator: "DoesNotExist"}}}, true},
		{&metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "b", Operator: "NotIn", Values: []string{"2"}}}}, false},
		{&metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "b", Operator: "Bogus"}}}, false},
	} {
		if got := selectorMatches(tc.sel, l); got != tc.want {
			t.Errorf("%+v: got %v", tc.sel, got)
		}
	}
}

func TestProvisionedVolume(t *testing.T) {
	retain := corev1.PersistentVolumeReclaimRetain
	class := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "keep"}, Provisioner: Provisioner, ReclaimPolicy: &retain, MountOptions: []string{"noatime"}}
	pvc := mkPVC("data", strp("keep"), "3Gi", corev1.ReadWriteOnce, corev1.ReadWriteOncePod)
	pvc.UID, pvc.ResourceVersion = "abc", "7"
	vol := volume.Volume{Name: "k2d-pvc-abc", Mountpoint: "/var/lib/docker/volumes/k2d-pvc-abc/_data"}
	now := time.Date(2025, 3, 4, 5, 6, 7, 800, time.UTC)
	pv := provisionedVolume(pvc, class, "pi", vol, now)
	if pv.Name != "pvc-abc" || pv.Annotations[annProvisionedBy] != Provisioner || pv.Annotations[AnnotationDockerVolume] != "k2d-pvc-abc" {
		t.Errorf("identity: %s %v", pv.Name, pv.Annotations)
	}
	if pv.Annotations[annBoundByController] != "" {
		t.Errorf("a provisioned volume is pre-bound by its provisioner, not by the controller")
	}
	if q := pv.Spec.Capacity[corev1.ResourceStorage]; q.String() != "3Gi" {
		t.Errorf("capacity %s", q.String())
	}
	if len(pv.Spec.AccessModes) != 2 || pv.Spec.PersistentVolumeReclaimPolicy != retain || pv.Spec.StorageClassName != "keep" ||
		*pv.Spec.VolumeMode != corev1.PersistentVolumeFilesystem || pv.Spec.MountOptions[0] != "noatime" {
		t.Errorf("spec: %+v", pv.Spec)
	}
	if r := pv.Spec.ClaimRef; r == nil || r.UID != "abc" || r.Name != "data" || r.Namespace != "default" || r.Kind != "PersistentVolumeClaim" || r.ResourceVersion != "7" {
		t.Errorf("claimRef %+v", pv.Spec.ClaimRef)
	}
	if pv.Spec.Local == nil || pv.Spec.Local.Path != vol.Mountpoint {
		t.Errorf("source %+v", pv.Spec.PersistentVolumeSource)
	}
	if terms := pv.Spec.NodeAffinity.Required.NodeSelectorTerms; terms[0].MatchExpressions[0].Values[0] != "pi" || terms[0].MatchExpressions[0].Key != labelHostname {
		t.Errorf("node affinity %+v", terms)
	}
	if pv.Status.Phase != corev1.VolumeBound || !pv.Status.LastPhaseTransitionTime.Time.Equal(now.Truncate(time.Second)) {
		t.Errorf("status %+v", pv.Status)
	}
	if len(pv.Finalizers) != 1 || pv.Finalizers[0] != FinalizerPVProtection {
		t.Errorf("finalizers %v", pv.Finalizers)
	}
	// Without a reclaim policy on the class, Delete.
	class.ReclaimPolicy = nil
	if p := provisionedVolume(pvc, class, "pi", vol, now).Spec.PersistentVolumeReclaimPolicy; p != corev1.PersistentVolumeReclaimDelete {
		t.Errorf("default reclaim policy %s", p)
	}
}

func TestProvisionable(t *testing.T) {
	ok := mkPVC("a", strp("local"), "1Gi")
	if err := provisionable(ok); err != nil {
		t.Error(err)
	}
	sel := ok.DeepCopy()
	sel.Spec.Selector = &metav1.LabelSelector{}
	block := ok.DeepCopy()
	m := corev1.PersistentVolumeBlock
	block.Spec.VolumeMode = &m
	ds := ok.DeepCopy()
	ds.Spec.DataSource = &corev1.TypedLocalObjectReference{Kind: "PersistentVolumeClaim", Name: "x"}
	for _, p := range []*corev1.PersistentVolumeClaim{sel, block, ds} {
		if provisionable(p) == nil {
			t.Errorf("want an error for %+v", p.Spec)
		}
	}
}

func TestDockerVolumeOptions(t *testing.T) {
	pvc := mkPVC("data", strp("ram"), "1Gi")
	pvc.UID = "u1"
	class := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "ram"}, Parameters: map[string]string{"type": "tmpfs", "device": "tmpfs", "o": "size=64m"}}
	o := dockerVolumeOptions(pvc, class)
	if o.Name != "k2d-pvc-u1" || o.Driver != "local" || o.DriverOpts["type"] != "tmpfs" || o.DriverOpts["o"] != "size=64m" {
		t.Errorf("%+v", o)
	}
	want := map[string]string{translate.LabelManaged: "true", LabelPV: "pvc-u1", LabelPVCNamespace: "default", LabelPVCName: "data", LabelPVCUID: "u1", LabelStorageClass: "ram"}
	for k, v := range want {
		if o.Labels[k] != v {
			t.Errorf("label %s=%q, want %q", k, o.Labels[k], v)
		}
	}
	if o.Labels[translate.LabelPodUID] != "" || o.Labels[translate.LabelNamespace] != "" {
		t.Errorf("pod and namespace cleanup must never match a claim's volume: %v", o.Labels)
	}
	class.Parameters = map[string]string{"driver": "nfsplugin"}
	if o := dockerVolumeOptions(pvc, class); o.Driver != "nfsplugin" || len(o.DriverOpts) != 0 {
		t.Errorf("driver parameter: %+v", o)
	}
}

func TestBindHalves(t *testing.T) {
	now := metav1.NewTime(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	pvc := mkPVC("data", strp(""), "1Gi")
	pvc.UID = "u1"
	pv := mkPV("vol", "", "2Gi")

	// The controller chose the volume: both sides say so.
	if !bindVolume(pv, pvc, now) || pv.Spec.ClaimRef.UID != "u1" || pv.Annotations[annBoundByController] != "yes" || pv.Status.Phase != corev1.VolumeBound {
		t.Errorf("volume half: %+v %v", pv.Spec.ClaimRef, pv.Annotations)
	}
	if bindVolume(pv, pvc, now) {
		t.Errorf("binding twice changes nothing")
	}
	if !bindClaim(pvc, pv) || pvc.Spec.VolumeName != "vol" || pvc.Annotations[annBoundByController] != "yes" || pvc.Annotations[annBindCompleted] != "yes" {
		t.Errorf("claim half: %+v", pvc)
	}
	if q := pvc.Status.Capacity[corev1.ResourceStorage]; pvc.Status.Phase != corev1.ClaimBound || q.String() != "2Gi" || pvc.Status.AccessModes[0] != corev1.ReadWriteOnce {
		t.Errorf("claim status: %+v", pvc.Status)
	}
	if bindClaim(pvc, pv) {
		t.Errorf("binding twice changes nothing")
	}

	// The user chose: the claim named the volume, the volume named the claim.
	pvc2 := mkPVC("data", strp(""), "1Gi")
	pvc2.UID, pvc2.Spec.VolumeName = "u2", "vol2"
	pv2 := mkPV("vol2", "", "1Gi")
	pv2.Spec.ClaimRef = &corev1.ObjectReference{Namespace: "default", Name: "data"}
	bindVolume(pv2, pvc2, now)
	bindClaim(pvc2, pv2)
	if pv2.Annotations[annBoundByController] != "" || pvc2.Annotations[annBoundByController] != "" || pvc2.Annotations[annBindCompleted] != "yes" || pv2.Spec.ClaimRef.UID != "u2" {
		t.Errorf("pre-bound: %v %v %+v", pv2.Annotations, pvc2.Annotations, pv2.Spec.ClaimRef)
	}
	// A volume reserved for another claim, a claim that wants another volume: refused.
	if bindVolume(pv2, pvc, now) || bindClaim(pvc2, pv) {
		t.Errorf("foreign binding accepted")
	}
}

func TestVolumeState(t *testing.T) {
	claim := mkPVC("data", strp(""), "1Gi")
	claim.UID = "u1"
	pv := mkPV("vol", "", "1Gi")
	if volumeState(pv, nil) != volumeAvailable {
		t.Error("no claimRef: available")
	}
	pv.Spec.ClaimRef = &corev1.ObjectReference{Namespace: "default", Name: "data"}
	if volumeState(pv, nil) != volumeAvailable {
		t.Error("reserved by name: available")
	}
	pv.Spec.ClaimRef.UID = "u1"
	if volumeState(pv, nil) != volumeReleased {
		t.Error("claim gone: released")
	}
	other := claim.DeepCopy()
	other.UID = "u9"
	if volumeState(pv, other) != volumeReleased {
		t.Error("claim re-created under the same name: released")
	}
	if volumeState(pv, claim) != volumeBinding {
		t.Error("claim without volumeName yet: binding")
	}
	claim.Spec.VolumeName = "vol"
	if volumeState(pv, claim) != volumeBound {
		t.Error("bound")
	}
	claim.Spec.VolumeName = "elsewhere"
	if volumeState(pv, claim) != volumeMisbound {
		t.Error("misbound")
	}
}

func TestClaimUsers(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	pod := func(name string, at time.Time, claim string) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", CreationTimestamp: metav1.NewTime(at)}}
		p.Spec.Volumes = []corev1.Volume{{Name: "v", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim}}}}
		return p
	}
	pvc := mkPVC("data", nil, "1Gi")
	pods := []*corev1.Pod{pod("old", t0, "data"), pod("new", t0.Add(time.Minute), "data"), pod("other", t0, "logs")}
	if got := claimUsers(pvc, pods); len(got) != 2 {
		t.Errorf("not being deleted: every pod using it counts: %d", len(got))
	}
	del := metav1.NewTime(t0.Add(30 * time.Second))
	pvc.DeletionTimestamp = &del
	got := claimUsers(pvc, pods)
	if len(got) != 1 || got[0].Name != "old" {
		t.Errorf("being deleted: only pods that existed before count: %v", got)
	}
}

func TestDockerVolumeSource(t *testing.T) {
	yes := func(string) bool { return true }
	no := func(string) bool { return false }
	if s := dockerVolumeSource("v", "/mp", false, yes); s.Type != mount.TypeVolume || s.Source != "v" {
		t.Errorf("plain: %+v", s)
	}
	if s := dockerVolumeSource("v", "/mp", true, yes); s.Type != mount.TypeBind || s.Source != "/mp" {
		t.Errorf("subPath: %+v", s)
	}
	if s := dockerVolumeSource("v", "/mp", true, no); s.Type != mount.TypeVolume {
		t.Errorf("subPath, mountpoint not visible to k2d: %+v", s)
	}
}

// ---- the controller against the fake engine ----

// volFake adds the volume calls only the storage controller makes to the fake engine.
type volFake struct {
	*fakeDocker
	removeErr error
}

func (f *volFake) VolumeCreate(_ context.Context, o volume.CreateOptions) (volume.Volume, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("volume create %s", o.Name); err != nil {
		return volume.Volume{}, err
	}
	if v, ok := f.volumes[o.Name]; ok {
		return *v, nil
	}
	v := &volume.Volume{Name: o.Name, Driver: o.Driver, Labels: o.Labels, Options: o.DriverOpts, Mountpoint: "/var/lib/docker/volumes/" + o.Name + "/_data"}
	f.volumes[o.Name] = v
	return *v, nil
}

func (f *volFake) VolumeInspect(_ context.Context, name string) (volume.Volume, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("volume inspect %s", name); err != nil {
		return volume.Volume{}, err
	}
	if v, ok := f.volumes[name]; ok {
		return *v, nil
	}
	return volume.Volume{}, notFound("volume")
}

func (f *volFake) VolumeRemove(ctx context.Context, name string, force bool) error {
	if f.removeErr != nil {
		return f.removeErr
	}
	return f.fakeDocker.VolumeRemove(ctx, name, force)
}

func (f *volFake) volume(name string) *volume.Volume {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.volumes[name]
}

type stest struct {
	*utest
	vf *volFake
}

func newSTest(t *testing.T) *stest {
	u := newUTest(t)
	vf := &volFake{fakeDocker: u.f}
	u.ctl.d = vf
	u.c.Subscribe(u.ctl.onStorageChange) // the storage part of what Start subscribes
	if err := u.ctl.ensureDefaultStorageClass(); err != nil {
		t.Fatal(err)
	}
	return &stest{utest: u, vf: vf}
}

// createPod stores a pod created now by the test's clock.
func (s *stest) createPod(p *corev1.Pod) *corev1.Pod {
	p.CreationTimestamp = metav1.NewTime(s.clock.Now())
	return s.create(p)
}

func (s *stest) createPVC(p *corev1.PersistentVolumeClaim) *corev1.PersistentVolumeClaim {
	s.t.Helper()
	e, err := s.c.Create(kindPVC, p)
	if err != nil {
		s.t.Fatal(err)
	}
	return e.Obj.(*corev1.PersistentVolumeClaim)
}

func (s *stest) createPV(p *corev1.PersistentVolume) *corev1.PersistentVolume {
	s.t.Helper()
	p.Status.Phase = corev1.VolumePending // as the API server's strategy stores a new volume
	e, err := s.c.Create(kindPV, p)
	if err != nil {
		s.t.Fatal(err)
	}
	return e.Obj.(*corev1.PersistentVolume)
}

func (s *stest) syncClaim(name string) *corev1.PersistentVolumeClaim {
	s.ctl.syncStorage(context.Background(), "c/default/"+name)
	return s.pvc(name)
}

func (s *stest) syncPV(name string) *corev1.PersistentVolume {
	s.ctl.syncStorage(context.Background(), "v/"+name)
	return s.pv(name)
}

func (s *stest) pvc(name string) *corev1.PersistentVolumeClaim {
	e, ok := s.c.Get(resPVC, "default", name)
	if !ok {
		return nil
	}
	return e.Obj.(*corev1.PersistentVolumeClaim)
}

func (s *stest) pv(name string) *corev1.PersistentVolume {
	e, ok := s.c.Get(resPV, "", name)
	if !ok {
		return nil
	}
	return e.Obj.(*corev1.PersistentVolume)
}

// deletePVC marks a claim deleted as the API does for an object with finalizers.
func (s *stest) deletePVC(name string) {
	s.t.Helper()
	_, err := s.c.Mutate(kindPVC, "default", name, func(obj runtime.Object) (bool, error) {
		now := metav1.NewTime(s.clock.Now())
		obj.(*corev1.PersistentVolumeClaim).DeletionTimestamp = &now
		return true, nil
	})
	if err != nil {
		s.t.Fatal(err)
	}
}

func (s *stest) hasEvent(obj, reason string) string {
	for _, ev := range s.events(obj) {
		if ev.Reason == reason {
			return ev.Message
		}
	}
	return ""
}

func claimPod(name, claim string, readOnly bool) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID("uid-" + name)},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "app", Image: testImage, VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}}},
			Volumes:    []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim, ReadOnly: readOnly}}}},
		},
	}
}

func TestStorageDefaultClassAtStart(t *testing.T) {
	s := newSTest(t)
	e, ok := s.c.Get(resSC, "", StorageClassLocal)
	if !ok {
		t.Fatal("no default class")
	}
	sc := e.Obj.(*storagev1.StorageClass)
	if sc.Provisioner != Provisioner || *sc.ReclaimPolicy != corev1.PersistentVolumeReclaimDelete ||
		*sc.VolumeBindingMode != storagev1.VolumeBindingImmediate || sc.Annotations[AnnotationDefaultClass] != "true" {
		t.Errorf("%+v", sc)
	}
	// Edited by the user: left alone at the next start.
	_, _ = s.c.Mutate(kindSC, "", StorageClassLocal, func(obj runtime.Object) (bool, error) {
		obj.(*storagev1.StorageClass).Annotations = nil
		return true, nil
	})
	if err := s.ctl.ensureDefaultStorageClass(); err != nil {
		t.Fatal(err)
	}
	if e, _ := s.c.Get(resSC, "", StorageClassLocal); e.Meta().GetAnnotations()[AnnotationDefaultClass] != "" {
		t.Error("an existing class was changed")
	}
	// Deleted while another class is the default: it comes back, not as a second default.
	_, _ = s.c.Delete(kindSC, "", StorageClassLocal, "", "")
	_, _ = s.c.Create(kindSC, &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "mine", Annotations: map[string]string{AnnotationDefaultClass: "true"}}, Provisioner: "x"})
	if err := s.ctl.ensureDefaultStorageClass(); err != nil {
		t.Fatal(err)
	}
	if e, ok := s.c.Get(resSC, "", StorageClassLocal); !ok || e.Meta().GetAnnotations()[AnnotationDefaultClass] != "" {
		t.Errorf("re-created local class: %v", e)
	}
}

func TestStorageProvisionBindAndDelete(t *testing.T) {
	s := newSTest(t)
	pvc := s.createPVC(mkPVC("data", nil, "1Gi"))
	got := s.syncClaim("data")
	if got.Spec.StorageClassName == nil || *got.Spec.StorageClassName != StorageClassLocal {
		t.Fatalf("the default class is assigned to a claim without one: %v", got.Spec.StorageClassName)
	}
	if !slicesContains(got.Finalizers, FinalizerPVCProtection) {
		t.Errorf("finalizers %v", got.Finalizers)
	}
	name := "pvc-" + string(pvc.UID)
	if got.Status.Phase != corev1.ClaimBound || got.Spec.VolumeName != name {
		t.Fatalf("claim not bound: %+v %+v", got.Spec, got.Status)
	}
	for k, v := range map[string]string{annBindCompleted: "yes", annBoundByController: "yes", annStorageProvisioner: Provisioner, annBetaStorageProvisioner: Provisioner} {
		if got.Annotations[k] != v {
			t.Errorf("claim annotation %s=%q, want %q", k, got.Annotations[k], v)
		}
	}
	if q := got.Status.Capacity[corev1.ResourceStorage]; q.String() != "1Gi" {
		t.Errorf("capacity %s", q.String())
	}
	pv := s.pv(name)
	if pv == nil || pv.Status.Phase != corev1.VolumeBound || pv.Spec.ClaimRef.UID != pvc.UID || pv.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimDelete {
		t.Fatalf("pv %+v", pv)
	}
	dv := s.vf.volume("k2d-" + name)
	if dv == nil || dv.Labels[LabelPVCUID] != string(pvc.UID) || dv.Labels[translate.LabelManaged] != "true" {
		t.Fatalf("docker volume %+v", dv)
	}
	for _, r := range []string{"ExternalProvisioning", "Provisioning", "ProvisioningSucceeded"} {
		if s.hasEvent("data", r) == "" {
			t.Errorf("no %s event; events: %+v", r, s.events("data"))
		}
	}
	// A second sync changes nothing and calls Docker no more.
	rv, calls := got.ResourceVersion, s.vf.countCalls("volume create")
	if again := s.syncClaim("data"); again.ResourceVersion != rv || s.vf.countCalls("volume create") != calls {
		t.Errorf("resync wrote or called Docker: rv %s -> %s", rv, again.ResourceVersion)
	}
	if s.syncPV(name).ResourceVersion != pv.ResourceVersion {
		t.Errorf("volume resync wrote")
	}

	// In use by a pod, the claim survives its deletion (pvc-protection).
	s.clock.Advance(time.Second)
	s.createPod(claimPod("user", "data", false))
	s.clock.Advance(time.Second)
	s.deletePVC("data")
	if s.syncClaim("data") == nil {
		t.Fatal("a claim in use was removed")
	}
	// A pod created after the deletion began may not mount it and does not keep it.
	s.clock.Advance(time.Second)
	late := s.createPod(claimPod("late", "data", false))
	if _, err := s.ctl.claimVolume(context.Background(), late, &late.Spec.Volumes[0]); err == nil || !strings.Contains(err.Error(), `persistentvolumeclaim "data" is being deleted`) {
		t.Errorf("late pod: %v", err)
	}
	_, _ = s.c.Delete(kindPod, "default", "user", "", "")
	if s.syncClaim("data") != nil {
		t.Fatal("the claim stays after its last user left")
	}
	// Released with policy Delete: the Docker volume and the PV go.
	if s.syncPV(name) != nil {
		t.Errorf("pv %s remains", name)
	}
	if s.vf.volume("k2d-"+name) != nil {
		t.Errorf("docker volume remains")
	}
}

func slicesContains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func TestStorageRetainKeepsData(t *testing.T) {
	s := newSTest(t)
	retain := corev1.PersistentVolumeReclaimRetain
	_, _ = s.c.Create(kindSC, &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "keep"}, Provisioner: Provisioner, ReclaimPolicy: &retain})
	pvc := s.createPVC(mkPVC("db", strp("keep"), "2Gi"))
	s.syncClaim("db")
	name := "pvc-" + string(pvc.UID)
	if pv := s.pv(name); pv == nil || pv.Spec.PersistentVolumeReclaimPolicy != retain {
		t.Fatalf("pv %+v", pv)
	}
	s.deletePVC("db")
	s.syncClaim("db")
	pv := s.syncPV(name)
	if pv == nil || pv.Status.Phase != corev1.VolumeReleased {
		t.Fatalf("want Released, got %+v", pv)
	}
	if s.vf.volume("k2d-"+name) == nil || s.vf.countCalls("volume remove") != 0 {
		t.Fatal("the data of a Retain volume was touched")
	}
	// The admin deletes the released PV: the object goes, the data stays.
	_, _ = s.c.Mutate(kindPV, "", name, func(obj runtime.Object) (bool, error) {
		now := metav1.NewTime(s.clock.Now())
		obj.(*corev1.PersistentVolume).DeletionTimestamp = &now
		return true, nil
	})
	if s.syncPV(name) != nil {
		t.Error("the deleted released volume remains")
	}
	s.ctl.syncStorage(context.Background(), "v/"+name)
	if s.vf.volume("k2d-"+name) == nil {
		t.Fatal("deleting a Retain PV removed its data")
	}
}

func TestStorageDeleteRetriesWhileVolumeInUse(t *testing.T) {
	s := newSTest(t)
	pvc := s.createPVC(mkPVC("data", nil, "1Gi"))
	s.syncClaim("data")
	name := "pvc-" + string(pvc.UID)
	s.vf.removeErr = &dockerio.Error{StatusCode: 409, Message: "remove k2d-" + name + ": volume is in use"}
	s.deletePVC("data")
	s.syncClaim("data")
	if pv := s.syncPV(name); pv == nil || pv.Status.Phase != corev1.VolumeReleased {
		t.Fatalf("the PV must stay Released while Docker refuses: %+v", pv)
	}
	if msg := s.hasEvent(name, "VolumeFailedDelete"); !strings.Contains(msg, "in use") {
		t.Errorf("VolumeFailedDelete event: %q", msg)
	}
	s.ctl.storage.mu.Lock()
	d := s.ctl.storage.retries["v/"+name]
	s.ctl.storage.mu.Unlock()
	if d != storageRetryInitial {
		t.Errorf("retry delay %v", d)
	}
	s.vf.removeErr = nil
	if s.syncPV(name) != nil || s.vf.volume("k2d-"+name) != nil {
		t.Error("not removed once Docker agreed")
	}
}

func TestStorageStaticBinding(t *testing.T) {
	s := newSTest(t)
	dir := t.TempDir()
	pv := mkPV("host", "", "1Gi", corev1.ReadWriteOnce, corev1.ReadWriteMany)
	pv.Spec.HostPath.Path = dir
	s.createPV(pv)
	if got := s.syncPV("host"); got.Status.Phase != corev1.VolumeAvailable || got.Status.LastPhaseTransitionTime == nil {
		t.Fatalf("Pending -> Available: %+v", got.Status)
	}
	// By name.
	named := mkPVC("named", strp(""), "1Gi")
	named.Spec.VolumeName = "host"
	p := s.createPVC(named)
	got := s.syncClaim("named")
	if got.Status.Phase != corev1.ClaimBound || got.Annotations[annBoundByController] != "" || got.Annotations[annBindCompleted] != "yes" {
		t.Fatalf("named claim: %+v %v", got.Status, got.Annotations)
	}
	vol := s.pv("host")
	if vol.Status.Phase != corev1.VolumeBound || vol.Spec.ClaimRef.UID != p.UID || vol.Annotations[annBoundByController] != "yes" {
		t.Fatalf("pv: %+v %v", vol.Status, vol.Annotations)
	}
	// The pod side: a bind of the host path, read-only when the pod says so.
	pod := s.createPod(claimPod("reader", "named", true))
	src, err := s.ctl.claimVolume(context.Background(), pod, &pod.Spec.Volumes[0])
	if err != nil || src.Type != mount.TypeBind || src.Source != dir || !src.ReadOnly {
		t.Fatalf("source %+v, %v", src, err)
	}
	// Released with Retain: the files stay.
	_ = os.WriteFile(filepath.Join(dir, "keep"), []byte("x"), 0o644)
	_, _ = s.c.Delete(kindPod, "default", "reader", "", "")
	s.deletePVC("named")
	s.syncClaim("named")
	if got := s.syncPV("host"); got.Status.Phase != corev1.VolumeReleased {
		t.Fatalf("want Released: %+v", got.Status)
	}
	if _, err := os.Stat(filepath.Join(dir, "keep")); err != nil {
		t.Fatal(err)
	}
	// A released volume does not bind again until the admin frees it.
	again := mkPVC("again", strp(""), "1Gi")
	s.createPVC(again)
	if got := s.syncClaim("again"); got.Status.Phase != corev1.ClaimPending {
		t.Fatalf("bound to a released volume: %+v", got)
	}
	if msg := s.hasEvent("again", "FailedBinding"); msg != "no persistent volumes available for this claim and no storage class is set" {
		t.Errorf("FailedBinding: %q", msg)
	}
	_, _ = s.c.Mutate(kindPV, "", "host", func(obj runtime.Object) (bool, error) {
		obj.(*corev1.PersistentVolume).Spec.ClaimRef = nil
		return true, nil
	})
	if got := s.syncPV("host"); got.Status.Phase != corev1.VolumeAvailable {
		t.Fatalf("freed volume: %+v", got.Status)
	}
	// By class, size and access modes.
	if got := s.syncClaim("again"); got.Status.Phase != corev1.ClaimBound || got.Spec.VolumeName != "host" || got.Annotations[annBoundByController] != "yes" {
		t.Fatalf("class binding: %+v", got)
	}
}

func TestStorageVolumeMismatchAndConflicts(t *testing.T) {
	s := newSTest(t)
	s.createPV(mkPV("tiny", "", "10Mi"))
	want := mkPVC("big", strp(""), "1Gi")
	want.Spec.VolumeName = "tiny"
	s.createPVC(want)
	if got := s.syncClaim("big"); got.Status.Phase != corev1.ClaimPending {
		t.Fatalf("%+v", got.Status)
	}
	if msg := s.hasEvent("big", "VolumeMismatch"); msg != `Cannot bind to requested volume "tiny": requested PV is too small` {
		t.Errorf("VolumeMismatch: %q", msg)
	}
	// A volume bound to another claim.
	s.createPV(mkPV("shared", "", "1Gi"))
	a := mkPVC("a", strp(""), "1Gi")
	a.Spec.VolumeName = "shared"
	s.createPVC(a)
	s.syncClaim("a")
	b := mkPVC("b", strp(""), "1Gi")
	b.Spec.VolumeName = "shared"
	s.createPVC(b)
	if got := s.syncClaim("b"); got.Status.Phase != corev1.ClaimPending {
		t.Fatalf("%+v", got.Status)
	}
	if msg := s.hasEvent("b", "FailedBinding"); msg != `volume "shared" already bound to a different claim.` {
		t.Errorf("FailedBinding: %q", msg)
	}
	// The volume of a bound claim disappears: Lost.
	_, _ = s.c.Delete(kindPV, "", "shared", "", "")
	if got := s.syncClaim("a"); got.Status.Phase != corev1.ClaimLost {
		t.Fatalf("want Lost: %+v", got.Status)
	}
	if s.hasEvent("a", "ClaimLost") == "" {
		t.Error("no ClaimLost event")
	}
}

func TestStorageMissingClassThenCreated(t *testing.T) {
	s := newSTest(t)
	s.createPVC(mkPVC("fast", strp("ssd"), "1Gi"))
	if got := s.syncClaim("fast"); got.Status.Phase != corev1.ClaimPending {
		t.Fatal(got.Status)
	}
	if msg := s.hasEvent("fast", "ProvisioningFailed"); msg != `storageclass.storage.k8s.io "ssd" not found` {
		t.Errorf("ProvisioningFailed: %q", msg)
	}
	_, _ = s.c.Create(kindSC, &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "ssd"}, Provisioner: Provisioner})
	if got := s.syncClaim("fast"); got.Status.Phase != corev1.ClaimBound {
		t.Fatalf("%+v", got.Status)
	}
	// Another provisioner's class: k2d waits, as the persistentvolume controller does.
	_, _ = s.c.Create(kindSC, &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "ebs"}, Provisioner: "ebs.csi.aws.com"})
	s.createPVC(mkPVC("cloud", strp("ebs"), "1Gi"))
	got := s.syncClaim("cloud")
	if got.Status.Phase != corev1.ClaimPending || got.Annotations[annStorageProvisioner] != "ebs.csi.aws.com" {
		t.Fatalf("%+v %v", got.Status, got.Annotations)
	}
	if msg := s.hasEvent("cloud", "ExternalProvisioning"); !strings.Contains(msg, "external provisioner 'ebs.csi.aws.com'") {
		t.Errorf("ExternalProvisioning: %q", msg)
	}
}

func TestStorageWaitForFirstConsumer(t *testing.T) {
	s := newSTest(t)
	wffc := storagev1.VolumeBindingWaitForFirstConsumer
	_, _ = s.c.Create(kindSC, &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "late"}, Provisioner: Provisioner, VolumeBindingMode: &wffc})
	s.createPVC(mkPVC("lazy", strp("late"), "1Gi"))
	if got := s.syncClaim("lazy"); got.Status.Phase != corev1.ClaimPending || got.Spec.VolumeName != "" {
		t.Fatalf("%+v", got)
	}
	if s.hasEvent("lazy", "WaitForFirstConsumer") != "waiting for first consumer to be created before binding" {
		t.Errorf("events %+v", s.events("lazy"))
	}
	if s.vf.countCalls("volume create") != 0 {
		t.Error("provisioned before a consumer")
	}
	s.createPod(claimPod("consumer", "lazy", false))
	got := s.syncClaim("lazy")
	if got.Status.Phase != corev1.ClaimBound || got.Annotations[annSelectedNode] != "node1" {
		t.Fatalf("%+v %v", got.Status, got.Annotations)
	}
}

func TestClaimVolumeWaitsForBinding(t *testing.T) {
	s := newSTest(t)
	pod := s.createPod(claimPod("app", "data", false))
	_, err := s.ctl.claimVolume(context.Background(), pod, &pod.Spec.Volumes[0])
	var me *MountError
	if !errors.As(err, &me) || !strings.Contains(me.Message, `persistentvolumeclaims "data" not found`) ||
		!strings.HasPrefix(me.Message, "Unable to attach or mount volumes: unmounted volumes=[data]") {
		t.Fatalf("missing claim: %v", err)
	}
	s.ctl.storage.mu.Lock()
	waiting := s.ctl.storage.waiting["default/data"]["default/app"]
	s.ctl.storage.mu.Unlock()
	if !waiting {
		t.Fatal("the pod does not wait for the claim")
	}
	s.createPVC(mkPVC("data", nil, "1Gi"))
	if _, err := s.ctl.claimVolume(context.Background(), pod, &pod.Spec.Volumes[0]); err == nil || !strings.Contains(err.Error(), "PVC is not bound") {
		t.Fatalf("unbound claim: %v", err)
	}
	pvc := s.syncClaim("data")
	src, err := s.ctl.claimVolume(context.Background(), pod, &pod.Spec.Volumes[0])
	if err != nil || src.Type != mount.TypeVolume || src.Source != "k2d-pvc-"+string(pvc.UID) || src.ReadOnly {
		t.Fatalf("bound claim: %+v %v", src, err)
	}
	s.ctl.storage.mu.Lock()
	left := len(s.ctl.storage.waiting)
	s.ctl.storage.mu.Unlock()
	if left != 0 {
		t.Errorf("the pod still waits: %v", s.ctl.storage.waiting)
	}
	// The Docker volume was removed outside k2d: it is made again, labelled, and that is said.
	s.vf.mu.Lock()
	delete(s.vf.volumes, src.Source)
	s.vf.mu.Unlock()
	if _, err := s.ctl.claimVolume(context.Background(), pod, &pod.Spec.Volumes[0]); err != nil {
		t.Fatal(err)
	}
	if v := s.vf.volume(src.Source); v == nil || v.Labels[LabelPVCUID] != string(pvc.UID) {
		t.Errorf("re-created volume %+v", v)
	}
	if s.hasEvent("pvc-"+string(pvc.UID), "VolumeMissing") == "" {
		t.Error("no VolumeMissing event")
	}
}

func TestStorageProvisioningIsIdempotent(t *testing.T) {
	s := newSTest(t)
	pvc := s.createPVC(mkPVC("data", nil, "1Gi"))
	// A Docker volume of that name exists already and belongs to someone else: never adopted.
	name := "k2d-pvc-" + string(pvc.UID)
	s.vf.mu.Lock()
	s.vf.volumes[name] = &volume.Volume{Name: name, Labels: map[string]string{"owner": "me"}}
	s.vf.mu.Unlock()
	if got := s.syncClaim("data"); got.Status.Phase != corev1.ClaimPending {
		t.Fatalf("%+v", got.Status)
	}
	if msg := s.hasEvent("data", "ProvisioningFailed"); !strings.Contains(msg, "does not belong to this claim") {
		t.Errorf("ProvisioningFailed: %q", msg)
	}
	// The volume is this claim's (created by a k2d that stopped before storing the PV).
	s.vf.mu.Lock()
	delete(s.vf.volumes, name)
	s.vf.mu.Unlock()
	if _, err := s.vf.VolumeCreate(context.Background(), dockerVolumeOptions(pvc, &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "local"}})); err != nil {
		t.Fatal(err)
	}
	if got := s.syncClaim("data"); got.Status.Phase != corev1.ClaimBound {
		t.Fatalf("%+v", got.Status)
	}
	// The PV stored but the claim not yet bound (stopped in between): bound without provisioning.
	pvc2 := s.createPVC(mkPVC("two", nil, "1Gi"))
	s.syncClaim("two")
	_, _ = s.c.Mutate(kindPVC, "default", "two", func(obj runtime.Object) (bool, error) {
		p := obj.(*corev1.PersistentVolumeClaim)
		p.Spec.VolumeName, p.Status = "", corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending}
		delete(p.Annotations, annBindCompleted)
		return true, nil
	})
	calls := s.vf.countCalls("volume create")
	if got := s.syncClaim("two"); got.Status.Phase != corev1.ClaimBound || got.Spec.VolumeName != "pvc-"+string(pvc2.UID) {
		t.Fatalf("%+v", got)
	}
	if s.vf.countCalls("volume create") != calls {
		t.Error("provisioned twice")
	}
}

func TestStorageChangesWakeWaitingPods(t *testing.T) {
	s := newSTest(t)
	s.ctl.waitForClaim("default/data", "default/app")
	s.ctl.waitForClaim("default/data", "default/other")
	s.ctl.forgetClaimWaiter("default/other")
	s.ctl.storage.mu.Lock()
	n := len(s.ctl.storage.waiting["default/data"])
	s.ctl.storage.mu.Unlock()
	if n != 1 {
		t.Fatalf("waiters %d", n)
	}
	// A deleted pod stops waiting (the cache event does it).
	p := s.createPod(claimPod("app", "data", false))
	_, _ = s.c.Delete(kindPod, "default", p.Name, "", "")
	s.ctl.storage.mu.Lock()
	n = len(s.ctl.storage.waiting)
	s.ctl.storage.mu.Unlock()
	if n != 0 {
		t.Errorf("a deleted pod still waits: %v", s.ctl.storage.waiting)
	}
}

func TestStorageUserDeletesBoundVolume(t *testing.T) {
	s := newSTest(t)
	pvc := s.createPVC(mkPVC("data", nil, "1Gi"))
	s.syncClaim("data")
	name := "pvc-" + string(pvc.UID)
	_, _ = s.c.Mutate(kindPV, "", name, func(obj runtime.Object) (bool, error) {
		now := metav1.NewTime(s.clock.Now())
		obj.(*corev1.PersistentVolume).DeletionTimestamp = &now
		return true, nil
	})
	if pv := s.syncPV(name); pv == nil || !slicesContains(pv.Finalizers, FinalizerPVProtection) {
		t.Fatal("a bound volume was removed (pv-protection)")
	}
	if s.vf.volume("k2d-"+name) == nil {
		t.Fatal("the data of a bound volume was removed")
	}
	s.deletePVC("data")
	s.syncClaim("data")
	if s.syncPV(name) != nil || s.vf.volume("k2d-"+name) != nil {
		t.Error("once released, a deleted Delete-policy volume goes with its data")
	}
}
