package reconcile

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/mount"
	"github.com/k2d-project/k2d/cache"
	"github.com/k2d-project/k2d/codec"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// ---- the atomic writer ----

func readVolume(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "..") {
			continue
		}
		err := filepath.Walk(filepath.Join(dir, e.Name())+"/", func(p string, fi os.FileInfo, err error) error {
			if err != nil || fi.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(dir, p)
			b, err := os.ReadFile(p)
			out[filepath.ToSlash(rel)] = string(b)
			return err
		})
		if err != nil {
			// A plain file link: Walk with a trailing slash fails on files.
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			out[e.Name()] = string(b)
		}
	}
	return out
}

func dataDirs(t *testing.T, dir string) []string {
	t.Helper()
	entries, _ := os.ReadDir(dir)
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "..") && e.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out
}

func TestWriteVolumeDirLayoutAndAtomicUpdate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "vol")
	now := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	files := payload{
		"app.conf":      {data: []byte("a=1\n"), mode: 0o644},
		"nested/x.json": {data: []byte("{}"), mode: 0o400},
	}
	changed, err := writeVolumeDir(dir, files, nil, now)
	if err != nil || !changed {
		t.Fatalf("first write: %v %v", changed, err)
	}
	target, err := os.Readlink(filepath.Join(dir, "..data"))
	if err != nil || !strings.HasPrefix(target, "..2025_03_04_05_06_07.") {
		t.Fatalf("..data -> %q (%v)", target, err)
	}
	for name, want := range map[string]string{"app.conf": "..data/app.conf", "nested": "..data/nested"} {
		if got, err := os.Readlink(filepath.Join(dir, name)); err != nil || got != want {
			t.Errorf("%s -> %q (%v), want %q", name, got, err, want)
		}
	}
	if got := readVolume(t, dir); got["app.conf"] != "a=1\n" || got["nested/x.json"] != "{}" {
		t.Fatalf("content: %v", got)
	}
	st, _ := os.Stat(filepath.Join(dir, "nested", "x.json"))
	if st.Mode().Perm() != 0o400 {
		t.Errorf("item mode %v, want 0400", st.Mode().Perm())
	}
	if st, _ := os.Stat(dir); st.Mode().Perm() != 0o777 {
		t.Errorf("volume dir mode %v", st.Mode().Perm())
	}

	// Same content: nothing written, a missing link repaired.
	os.Remove(filepath.Join(dir, "app.conf"))
	if changed, err := writeVolumeDir(dir, files, nil, now.Add(time.Minute)); err != nil || changed {
		t.Fatalf("unchanged write: %v %v", changed, err)
	}
	if got, _ := os.Readlink(filepath.Join(dir, "..data")); got != target {
		t.Fatalf("..data moved on an unchanged write: %q", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "app.conf")); err != nil {
		t.Fatalf("link not repaired: %v", err)
	}

	// A mode change alone is a change.
	files["app.conf"] = fileProjection{data: []byte("a=1\n"), mode: 0o600}
	if changed, _ := writeVolumeDir(dir, files, nil, now.Add(2*time.Minute)); !changed {
		t.Fatal("mode change not written")
	}

	// An update: new data dir, old one gone, removed keys gone, new keys linked.
	update := payload{"app.conf": {data: []byte("a=2\n"), mode: 0o644}, "new": {data: []byte("n"), mode: 0o644}}
	if changed, err := writeVolumeDir(dir, update, nil, now.Add(3*time.Minute)); err != nil || !changed {
		t.Fatalf("update: %v %v", changed, err)
	}
	got := readVolume(t, dir)
	if len(got) != 2 || got["app.conf"] != "a=2\n" || got["new"] != "n" {
		t.Fatalf("after update: %v", got)
	}
	if d := dataDirs(t, dir); len(d) != 1 || !strings.HasPrefix(d[0], "..2025_03_04_05_09_07.") {
		t.Fatalf("data dirs after update: %v", d)
	}
	if _, err := os.Lstat(filepath.Join(dir, "nested")); !os.IsNotExist(err) {
		t.Fatalf("link of a removed key remains: %v", err)
	}
	// Empty payload (an optional ConfigMap that is missing): an empty volume.
	if _, err := writeVolumeDir(dir, payload{}, nil, now.Add(4*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got := readVolume(t, dir); len(got) != 0 {
		t.Fatalf("not empty: %v", got)
	}
}

func TestWriteVolumeDirRefusesBadPaths(t *testing.T) {
	for _, p := range []string{"", "/etc/passwd", "../x", "a/../../x", "..data", "a/..b", "a//b"} {
		if _, err := writeVolumeDir(t.TempDir(), payload{p: {data: []byte("x"), mode: 0o644}}, nil, time.Now()); err == nil {
			t.Errorf("path %q accepted", p)
		}
	}
}

func TestWriteVolumeDirFSGroup(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chown needs root")
	}
	dir := filepath.Join(t.TempDir(), "vol")
	gid, uid := int64(2345), int64(1234)
	files := payload{"k": {data: []byte("v"), mode: 0o400}, "token": {data: []byte("t"), mode: 0o600, fsUser: &uid}}
	if _, err := writeVolumeDir(dir, files, &gid, time.Now()); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]os.FileMode{"k": 0o440, "token": 0o640} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		owner, _ := fileOwner(st)
		if st.Mode().Perm() != want || fileGroup(st) != int(gid) {
			t.Errorf("%s: mode %v group %d, want %v group %d", name, st.Mode().Perm(), fileGroup(st), want, gid)
		}
		if name == "token" && owner != int(uid) {
			t.Errorf("token owner %d, want %d", owner, uid)
		}
	}
	// The group bits count when comparing: a second write changes nothing.
	if changed, err := writeVolumeDir(dir, files, &gid, time.Now()); err != nil || changed {
		t.Fatalf("rewrite with fsGroup: %v %v", changed, err)
	}
}

// ---- payloads ----

func ptr[T any](v T) *T { return &v }

func testInputs(objs ...runtime.Object) *volumeInputs {
	cms, secrets := map[string]*corev1.ConfigMap{}, map[string]*corev1.Secret{}
	for _, o := range objs {
		switch x := o.(type) {
		case *corev1.ConfigMap:
			cms[x.Name] = x
		case *corev1.Secret:
			secrets[x.Name] = x
		}
	}
	return &volumeInputs{
		configMap: func(n string) (*corev1.ConfigMap, bool) { cm, ok := cms[n]; return cm, ok },
		secret:    func(n string) (*corev1.Secret, bool) { s, ok := secrets[n]; return s, ok },
		token: func(vol string, p *corev1.ServiceAccountTokenProjection) ([]byte, bool, error) {
			return []byte("tok-" + vol + "-" + p.Audience), true, nil
		},
		allocatable: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi"), corev1.ResourceCPU: resource.MustParse("4")},
	}
}

func contents(p payload) map[string]string {
	out := map[string]string{}
	for k, f := range p {
		out[k] = string(f.data) + "|" + modeString(f.mode)
	}
	return out
}

func modeString(m int32) string { return fmt.Sprintf("%04o", m) }

func fileGroup(fi os.FileInfo) int {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Gid)
	}
	return -1
}

func TestConfigMapAndSecretPayloads(t *testing.T) {
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg"}, Data: map[string]string{"a": "1", "b": "2"}, BinaryData: map[string][]byte{"bin": {0, 1}}}
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s"}, Data: map[string][]byte{"user": []byte("u"), "pass": []byte("p")}}
	in := testInputs(cm, sec)
	vol := func(src corev1.VolumeSource) *corev1.Volume { return &corev1.Volume{Name: "v", VolumeSource: src} }
	pod := &corev1.Pod{}
	for _, tc := range []struct {
		name string
		v    *corev1.Volume
		want map[string]string
		err  string
		miss bool
	}{
		{"configmap all keys", vol(corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}}),
			map[string]string{"a": "1|0644", "b": "2|0644", "bin": "\x00\x01|0644"}, "", false},
		{"configmap items and modes", vol(corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"},
			DefaultMode: ptr(int32(0o440)), Items: []corev1.KeyToPath{{Key: "a", Path: "dir/a.txt"}, {Key: "b", Path: "b", Mode: ptr(int32(0o400))}}}}),
			map[string]string{"dir/a.txt": "1|0440", "b": "2|0400"}, "", false},
		{"configmap missing", vol(corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "nope"}}}),
			nil, `configmap "nope" not found`, true},
		{"configmap missing optional", vol(corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "nope"}, Optional: ptr(true)}}),
			map[string]string{}, "", false},
		{"configmap missing key", vol(corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}, Items: []corev1.KeyToPath{{Key: "zz", Path: "zz"}}}}),
			nil, "configmap references non-existent config key: zz", true},
		{"configmap missing key optional", vol(corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}, Optional: ptr(true),
			Items: []corev1.KeyToPath{{Key: "zz", Path: "zz"}, {Key: "a", Path: "a"}}}}), map[string]string{"a": "1|0644"}, "", false},
		{"secret", vol(corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "s", DefaultMode: ptr(int32(0o400))}}),
			map[string]string{"user": "u|0400", "pass": "p|0400"}, "", false},
		{"secret missing", vol(corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "x"}}), nil, `secret "x" not found`, true},
		{"secret missing key", vol(corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "s", Items: []corev1.KeyToPath{{Key: "k", Path: "k"}}}}),
			nil, "references non-existent secret key: k", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := volumePayload(pod, tc.v, in)
			if tc.err != "" {
				var m *missingError
				if err == nil || err.Error() != tc.err || errors.As(err, &m) != tc.miss {
					t.Fatalf("err %v, want %q (missing %v)", err, tc.err, tc.miss)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := contents(p); !equalMaps(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func equalMaps(a, b map[string]string) bool { return mapsEqual(a, b) }

func TestDownwardAndProjectedPayloads(t *testing.T) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "u-1",
			Labels: map[string]string{"tier": "front", "app": "web"}, Annotations: map[string]string{"note": `say "hi"`}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Resources: corev1.ResourceRequirements{
			Limits: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m")}, Requests: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")}}}}},
	}
	items := []corev1.DownwardAPIVolumeFile{
		{Path: "labels", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels"}},
		{Path: "annotations", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.annotations"}},
		{Path: "name", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}},
		{Path: "ns", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}, Mode: ptr(int32(0o600))},
		{Path: "uid", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.uid"}},
		{Path: "tier", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels['tier']"}},
		{Path: "cpu_limit_m", ResourceFieldRef: &corev1.ResourceFieldSelector{ContainerName: "app", Resource: "limits.cpu", Divisor: resource.MustParse("1m")}},
		{Path: "cpu_limit", ResourceFieldRef: &corev1.ResourceFieldSelector{ContainerName: "app", Resource: "limits.cpu"}},
		{Path: "mem_limit_mi", ResourceFieldRef: &corev1.ResourceFieldSelector{ContainerName: "app", Resource: "limits.memory", Divisor: resource.MustParse("1Mi")}},
		{Path: "mem_request", ResourceFieldRef: &corev1.ResourceFieldSelector{ContainerName: "app", Resource: "requests.memory"}},
	}
	p, err := volumePayload(pod, &corev1.Volume{Name: "d", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{Items: items}}}, testInputs())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"labels": "app=\"web\"\ntier=\"front\"|0644", "annotations": "note=\"say \\\"hi\\\"\"|0644", "name": "web|0644", "ns": "ns|0600",
		"uid": "u-1|0644", "tier": "front|0644", "cpu_limit_m": "250|0644", "cpu_limit": "1|0644", "mem_limit_mi": "1024|0644", "mem_request": "67108864|0644",
	}
	if got := contents(p); !equalMaps(got, want) {
		t.Fatalf("downwardAPI:\n got %v\nwant %v", got, want)
	}

	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: codec.RootCAConfigMap}, Data: map[string]string{"ca.crt": "PEM"}}
	proj := &corev1.Volume{Name: "kube-api-access-abcde", VolumeSource: corev1.VolumeSource{Projected: codec.TokenVolumeSource()}}
	p, err = volumePayload(pod, proj, testInputs(cm))
	if err != nil {
		t.Fatal(err)
	}
	if got := contents(p); !equalMaps(got, map[string]string{"token": "tok-kube-api-access-abcde-|0644", "ca.crt": "PEM|0644", "namespace": "ns|0644"}) {
		t.Fatalf("kube-api-access: %v", got)
	}
	// fsGroup makes the token 0600 (0640 once the group is applied); fsUser owns it.
	in := testInputs(cm)
	in.fsGroup, in.fsUser = ptr(int64(2000)), ptr(int64(1000))
	p, _ = volumePayload(pod, proj, in)
	if f := p["token"]; f.mode != 0o600 || f.fsUser == nil || *f.fsUser != 1000 || p["ca.crt"].mode != 0o644 {
		t.Fatalf("token with fsGroup: mode %o user %v", f.mode, f.fsUser)
	}

	// Every failing source is reported, in the Aggregate's form; only-missing keeps waiting.
	bad := &corev1.Volume{Name: "p", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
		{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "a"}}},
		{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "b"}}},
	}}}}
	_, err = volumePayload(pod, bad, testInputs())
	var m *missingError
	if err == nil || err.Error() != `[configmap "a" not found, secret "b" not found]` || !errors.As(err, &m) {
		t.Fatalf("aggregate: %v", err)
	}
	ctb := &corev1.Volume{Name: "p", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
		{ClusterTrustBundle: &corev1.ClusterTrustBundleProjection{Name: ptr("b"), Path: "b.pem"}}}}}}
	if _, err := volumePayload(pod, ctb, testInputs()); err == nil || !strings.Contains(err.Error(), "clusterTrustBundle projections are not supported by k2d") || errors.As(err, &m) {
		t.Fatalf("clusterTrustBundle: %v", err)
	}
}

func TestFSUserOf(t *testing.T) {
	u1, u2 := ptr(int64(1)), ptr(int64(2))
	pod := func(podUser *int64, users ...*int64) *corev1.Pod {
		p := &corev1.Pod{Spec: corev1.PodSpec{SecurityContext: &corev1.PodSecurityContext{RunAsUser: podUser}}}
		for _, u := range users {
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{SecurityContext: &corev1.SecurityContext{RunAsUser: u}})
		}
		return p
	}
	for i, tc := range []struct {
		pod  *corev1.Pod
		want *int64
	}{
		{pod(nil, u1, u1), u1}, {pod(u2, nil, nil), u2}, {pod(u2, u1, nil), nil}, {pod(nil, u1, nil), nil},
	} {
		if got := fsUserOf(tc.pod); (got == nil) != (tc.want == nil) || (got != nil && *got != *tc.want) {
			t.Errorf("%d: got %v want %v", i, got, tc.want)
		}
	}
}

// ---- the run dir ----

func TestPickRunDir(t *testing.T) {
	base := t.TempDir()
	mem := map[string]bool{}
	var mounted []string
	env := func(root bool) runDirEnv {
		return runDirEnv{
			bases: []string{filepath.Join(base, "run"), filepath.Join(base, "shm")}, fallback: filepath.Join(base, "run", "k2d"), root: root,
			inMemory: func(d string) bool { return mem[d] },
			mount:    func(d string) error { mounted = append(mounted, d); mem[d] = true; return nil },
		}
	}
	os.MkdirAll(filepath.Join(base, "run"), 0o755)
	os.MkdirAll(filepath.Join(base, "shm"), 0o755)

	mem[filepath.Join(base, "shm")] = true
	dir, err := pickRunDir("", "inst1", env(false))
	if err != nil || dir != filepath.Join(base, "shm", "k2d", "inst1") {
		t.Fatalf("shm: %q %v", dir, err)
	}
	if st, _ := os.Stat(dir); st == nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("run dir mode: %v", st)
	}
	mem[filepath.Join(base, "run")] = true
	if dir, _ := pickRunDir("", "inst1", env(false)); dir != filepath.Join(base, "run", "k2d", "inst1") {
		t.Fatalf("/run preferred: %q", dir)
	}

	clear(mem)
	if _, err := pickRunDir("", "inst1", env(false)); !errors.Is(err, errNoTmpfs) {
		t.Fatalf("no tmpfs, not root: %v", err)
	}
	if dir, err := pickRunDir("", "inst1", env(true)); err != nil || dir != filepath.Join(base, "run", "k2d", "inst1") || len(mounted) != 1 {
		t.Fatalf("root mounts its own: %q %v %v", dir, err, mounted)
	}

	clear(mem)
	explicit := filepath.Join(base, "mine")
	if _, err := pickRunDir(explicit, "x", env(false)); err == nil || !strings.Contains(err.Error(), "is not a tmpfs") {
		t.Fatalf("explicit disk dir accepted: %v", err)
	}
	if dir, err := pickRunDir(explicit, "x", env(true)); err != nil || dir != explicit {
		t.Fatalf("explicit, root: %q %v", dir, err)
	}
}

// ---- the controller ----

type tokenCall struct{ req TokenRequest }

// configUTest is a utest with volume directories, a CA and a token issuer.
func configUTest(t *testing.T) (*utest, *[]tokenCall) {
	t.Helper()
	if !inMemory("/dev/shm") {
		t.Skip("/dev/shm is not a tmpfs")
	}
	u := newUTest(t)
	// Token refresh timers are armed only while the controller runs.
	u.ctl.ctx, u.ctl.cancel = context.WithCancel(context.Background())
	t.Cleanup(u.ctl.cancel)
	run, err := os.MkdirTemp("/dev/shm", "k2d-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(run) })
	var mu sync.Mutex
	calls := &[]tokenCall{}
	u.ctl.o.DataDir, u.ctl.o.RunDir, u.ctl.o.CACert = t.TempDir(), run, []byte("CA PEM")
	u.ctl.o.IssueToken = func(r TokenRequest) (string, time.Time, error) {
		mu.Lock()
		defer mu.Unlock()
		*calls = append(*calls, tokenCall{r})
		return "jwt-" + r.PodName + "-" + string(rune('0'+len(*calls))), u.clock.Now().Add(time.Duration(r.ExpirationSeconds) * time.Second), nil
	}
	return u, calls
}

var (
	kindCM     = codec.KindFor("", "v1", "configmaps")
	kindSecret = codec.KindFor("", "v1", "secrets")
)

func (u *utest) put(k *codec.Kind, obj runtime.Object) {
	u.t.Helper()
	m := obj.(metav1.Object)
	if m.GetNamespace() == "" {
		m.SetNamespace("default")
	}
	if _, ok := u.c.Get(k.GroupResource(), m.GetNamespace(), m.GetName()); ok {
		if _, err := u.c.Update(k, obj); err != nil {
			u.t.Fatal(err)
		}
		return
	}
	if _, err := u.c.Create(k, obj); err != nil {
		u.t.Fatal(err)
	}
}

// mountsOf returns the app container's bind mounts by target.
func (u *utest) mountsOf(p *corev1.Pod, ctr string) map[string]mount.Mount {
	out := map[string]mount.Mount{}
	cs := u.ctrs(p, ctr)
	if len(cs) == 0 {
		return out
	}
	for _, m := range cs[len(cs)-1].HostConfig.Mounts {
		out[m.Target] = m
	}
	return out
}

func configPod() *corev1.Pod {
	p := podSpec("web", 30, nil, busybox("app", "sleep", "1d"))
	p.Labels = map[string]string{"app": "web"}
	p.Spec.Volumes = []corev1.Volume{
		{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}}},
		{Name: "sec", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "sec"}}},
		{Name: "info", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{Items: []corev1.DownwardAPIVolumeFile{
			{Path: "labels", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels"}}}}}},
	}
	p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "cfg", MountPath: "/etc/cfg"}, {Name: "sec", MountPath: "/etc/sec"}, {Name: "info", MountPath: "/etc/info"}}
	codec.AdmitServiceAccount(p)
	return p
}

func TestVolumesMissingConfigMapWaitsThenStarts(t *testing.T) {
	u, calls := configUTest(t)
	u.ctl.syncServiceAccounts(context.Background(), "default")
	p := u.create(configPod())
	p = u.sync("web")
	if n := len(u.ctrs(p, "app")); n != 0 {
		t.Fatalf("container created without its ConfigMap")
	}
	if w := waiting(p, "app"); w != "ContainerCreating" {
		t.Fatalf("waiting %q, want ContainerCreating", w)
	}
	if !hasEvent(u.events("web"), "FailedMount", `MountVolume.SetUp failed for volume "cfg" : configmap "cfg" not found`) {
		t.Fatalf("no FailedMount event: %+v", u.events("web"))
	}
	u.ctl.mu.Lock()
	waits := u.ctl.waitCfg["default/web"]
	u.ctl.mu.Unlock()
	if !waits {
		t.Fatal("pod does not wait for the ConfigMap")
	}

	u.put(kindCM, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg"}, Data: map[string]string{"app.conf": "v1"}})
	p = u.sync("web")
	if !hasEvent(u.events("web"), "FailedMount", `MountVolume.SetUp failed for volume "sec" : secret "sec" not found`) {
		t.Fatal("no FailedMount event for the secret")
	}
	u.put(kindSecret, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "sec"}, Data: map[string][]byte{"password": []byte("s3cret")}})
	p = u.sync("web")
	cs := u.ctrs(p, "app")
	if len(cs) != 1 || !cs[0].State.Running {
		t.Fatalf("app not started once its objects exist: %s", waiting(p, "app"))
	}
	mounts := u.mountsOf(p, "app")
	cfg, sec := mounts["/etc/cfg"], mounts["/etc/sec"]
	if cfg.Type != mount.TypeBind || !cfg.ReadOnly || !strings.HasPrefix(cfg.Source, u.ctl.o.DataDir+"/pods/"+string(p.UID)+"/volumes/kubernetes.io~configmap/cfg") {
		t.Fatalf("configMap mount: %+v", cfg)
	}
	if !strings.HasPrefix(sec.Source, u.ctl.o.RunDir+"/pods/"+string(p.UID)+"/volumes/kubernetes.io~secret/sec") || !inMemory(sec.Source) {
		t.Fatalf("secret mount not on the tmpfs: %+v", sec)
	}
	if b, _ := os.ReadFile(filepath.Join(sec.Source, "password")); string(b) != "s3cret" {
		t.Fatalf("secret file: %q", b)
	}
	if hits := grepTree(t, u.ctl.o.DataDir, "s3cret"); len(hits) > 0 {
		t.Fatalf("secret written under the data dir: %v", hits)
	}
	sa := mounts[codec.ServiceAccountMountPath]
	for name, want := range map[string]string{"ca.crt": "CA PEM", "namespace": "default", "token": "jwt-web-1"} {
		if b, _ := os.ReadFile(filepath.Join(sa.Source, name)); string(b) != want {
			t.Errorf("service account %s: %q, want %q", name, b, want)
		}
	}
	if len(*calls) != 1 || (*calls)[0].req.PodUID != string(p.UID) || (*calls)[0].req.ServiceAccount != "default" || (*calls)[0].req.ExpirationSeconds != 3607 {
		t.Fatalf("token requests: %+v", *calls)
	}
}

func grepTree(t *testing.T, dir, s string) []string {
	t.Helper()
	var hits []string
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			if b, _ := os.ReadFile(p); strings.Contains(string(b), s) {
				hits = append(hits, p)
			}
		}
		return nil
	})
	return hits
}

// recordQueue replaces the files queue by one that records keys.
func recordQueue(u *utest) func() []string {
	var mu sync.Mutex
	var keys []string
	q := newQueue(context.Background(), "test", 1, u.ctl.log, func(_ context.Context, k string) {
		mu.Lock()
		keys = append(keys, k)
		mu.Unlock()
	})
	u.t.Cleanup(q.Close)
	u.ctl.cfg.mu.Lock()
	u.ctl.cfg.files = q
	u.ctl.cfg.mu.Unlock()
	return func() []string {
		deadline := time.Now().Add(2 * time.Second)
		for {
			mu.Lock()
			out := append([]string(nil), keys...)
			mu.Unlock()
			if len(out) > 0 || time.Now().After(deadline) {
				sort.Strings(out)
				return out
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

func TestVolumesFollowChanges(t *testing.T) {
	u, calls := configUTest(t)
	u.ctl.syncServiceAccounts(context.Background(), "default")
	u.put(kindCM, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg"}, Data: map[string]string{"app.conf": "v1"}})
	u.put(kindSecret, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "sec"}, Data: map[string][]byte{"password": []byte("one")}})
	u.c.Subscribe(u.ctl.onConfigChange)
	p := u.create(configPod())
	p = u.sync("web")
	mounts := u.mountsOf(p, "app")
	read := func(target, file string) string {
		b, _ := os.ReadFile(filepath.Join(mounts[target].Source, file))
		return string(b)
	}

	// A ConfigMap edit enqueues the pod (and only it) for the files worker.
	keys := recordQueue(u)
	u.put(kindCM, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "other"}, Data: map[string]string{"x": "y"}})
	u.put(kindCM, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg"}, Data: map[string]string{"app.conf": "v2"}})
	if got := keys(); len(got) != 1 || got[0] != "default/web" {
		t.Fatalf("enqueued %v", got)
	}
	u.ctl.syncFiles(context.Background(), "default/web")
	if got := read("/etc/cfg", "app.conf"); got != "v2" {
		t.Fatalf("configMap file after edit: %q", got)
	}
	u.put(kindSecret, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "sec"}, Data: map[string][]byte{"password": []byte("two")}})
	u.ctl.syncFiles(context.Background(), "default/web")
	if got := read("/etc/sec", "password"); got != "two" {
		t.Fatalf("secret file after edit: %q", got)
	}

	// A label change reaches the downwardAPI file.
	keys = recordQueue(u)
	if _, err := u.c.Mutate(kindPod, "default", "web", func(obj runtime.Object) (bool, error) {
		obj.(*corev1.Pod).Labels["tier"] = "front"
		return true, nil
	}); err != nil {
		t.Fatal(err)
	}
	if got := keys(); len(got) != 1 {
		t.Fatalf("label change enqueued %v", got)
	}
	u.ctl.syncFiles(context.Background(), "default/web")
	if got := read("/etc/info", "labels"); got != "app=\"web\"\ntier=\"front\"" {
		t.Fatalf("labels file: %q", got)
	}

	// A deleted ConfigMap keeps the last content, with a FailedMount event.
	if _, err := u.c.Delete(kindCM, "default", "cfg", "", ""); err != nil {
		t.Fatal(err)
	}
	u.ctl.syncFiles(context.Background(), "default/web")
	if got := read("/etc/cfg", "app.conf"); got != "v2" {
		t.Fatalf("file after the ConfigMap was deleted: %q", got)
	}

	// Tokens: reused while fresh, refreshed by the timer, none once the pod has finished.
	u.ctl.cfg.mu.Lock()
	pf := u.ctl.cfg.pods[p.UID]
	u.ctl.cfg.mu.Unlock()
	pf.mu.Lock()
	armed := pf.timer != nil
	pf.mu.Unlock()
	if len(*calls) != 1 || !armed {
		t.Fatalf("token requests %d, refresh timer armed %v", len(*calls), armed)
	}
	u.clock.Advance(2900 * time.Second) // past 80 % of 3607 s
	u.ctl.syncFiles(context.Background(), "default/web")
	if len(*calls) != 2 || read(codec.ServiceAccountMountPath, "token") != "jwt-web-2" {
		t.Fatalf("token not refreshed: %d calls, %q", len(*calls), read(codec.ServiceAccountMountPath, "token"))
	}
	if _, err := u.c.Mutate(kindPod, "default", "web", func(obj runtime.Object) (bool, error) {
		obj.(*corev1.Pod).Status.Phase = corev1.PodSucceeded
		return true, nil
	}); err != nil {
		t.Fatal(err)
	}
	u.ctl.syncFiles(context.Background(), "default/web")
	pf.mu.Lock()
	armed = pf.timer != nil
	pf.mu.Unlock()
	if armed {
		t.Fatal("refresh timer still armed for a finished pod")
	}

	u.ctl.cleanupPodFiles(string(p.UID))
	for _, root := range []string{u.ctl.o.DataDir, u.ctl.o.RunDir} {
		if _, err := os.Stat(filepath.Join(root, "pods", string(p.UID))); !os.IsNotExist(err) {
			t.Errorf("files of the pod remain under %s: %v", root, err)
		}
	}
}

func TestVolumesSubPathMountsTheFile(t *testing.T) {
	u, _ := configUTest(t)
	u.put(kindCM, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg"}, Data: map[string]string{"app.conf": "v1"}})
	pod := podSpec("web", 30, nil, busybox("app", "sleep", "1d"))
	pod.Spec.AutomountServiceAccountToken = ptr(false)
	pod.Spec.Volumes = []corev1.Volume{{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}}}}
	pod.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "cfg", MountPath: "/etc/app.conf", SubPath: "app.conf"}}
	codec.AdmitServiceAccount(pod)
	p := u.create(pod)
	p = u.sync("web")
	m := u.mountsOf(p, "app")
	if len(m) != 1 {
		t.Fatalf("mounts: %+v (automount off must add none)", m)
	}
	src := m["/etc/app.conf"].Source
	if !strings.HasSuffix(src, "/kubernetes.io~configmap/cfg/app.conf") {
		t.Fatalf("subPath source %q", src)
	}
	if b, err := os.ReadFile(src); err != nil || string(b) != "v1" {
		t.Fatalf("subPath file: %q %v", b, err)
	}
}

func TestServiceAccountController(t *testing.T) {
	u, _ := configUTest(t)
	ctx := context.Background()
	u.ctl.syncServiceAccounts(ctx, "default")
	if _, ok := u.c.Get(resServiceAccounts, "default", "default"); !ok {
		t.Fatal("no default service account")
	}
	e, ok := u.c.Get(resConfigMap, "default", "kube-root-ca.crt")
	if !ok || e.Obj.(*corev1.ConfigMap).Data["ca.crt"] != "CA PEM" || e.Meta().GetAnnotations()["kubernetes.io/description"] == "" {
		t.Fatalf("kube-root-ca.crt: %v", e)
	}
	// Deleted or edited: put back. Idle: nothing written.
	rv := u.c.RV()
	u.ctl.syncServiceAccounts(ctx, "default")
	if u.c.RV() != rv {
		t.Fatal("an idle sync wrote")
	}
	if _, err := u.c.Delete(kindServiceAccount, "default", "default", "", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := u.c.Mutate(kindConfigMap, "default", "kube-root-ca.crt", func(obj runtime.Object) (bool, error) {
		obj.(*corev1.ConfigMap).Data["ca.crt"] = "tampered"
		return true, nil
	}); err != nil {
		t.Fatal(err)
	}
	u.ctl.syncServiceAccounts(ctx, "default")
	if _, ok := u.c.Get(resServiceAccounts, "default", "default"); !ok {
		t.Fatal("default service account not re-created")
	}
	if e, _ := u.c.Get(resConfigMap, "default", "kube-root-ca.crt"); e.Obj.(*corev1.ConfigMap).Data["ca.crt"] != "CA PEM" {
		t.Fatal("kube-root-ca.crt not restored")
	}
	// The hooks enqueue the namespace for those changes.
	var mu sync.Mutex
	var got []string
	q := newQueue(ctx, "t", 1, u.ctl.log, func(_ context.Context, k string) { mu.Lock(); got = append(got, k); mu.Unlock() })
	defer q.Close()
	u.ctl.cfg.sas = q
	u.ctl.onConfigChange(cache.Event{Type: cache.Deleted, Resource: resServiceAccounts, Entry: &cache.Entry{Obj: &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: "x"}}}})
	u.ctl.onConfigChange(cache.Event{Type: cache.Added, Resource: resNS, Entry: &cache.Entry{Obj: &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "y"}}}})
	time.Sleep(50 * time.Millisecond)
	mu.Lock()
	sort.Strings(got)
	if strings.Join(got, ",") != "x,y" {
		t.Fatalf("enqueued %v", got)
	}
	mu.Unlock()

	// A terminating namespace gets nothing new.
	if _, err := u.c.Mutate(kindNS, "", "default", func(obj runtime.Object) (bool, error) {
		now := metav1.Now()
		obj.(*corev1.Namespace).DeletionTimestamp = &now
		return true, nil
	}); err != nil {
		t.Fatal(err)
	}
	u.c.Delete(kindServiceAccount, "default", "default", "", "")
	u.ctl.syncServiceAccounts(ctx, "default")
	if _, ok := u.c.Get(resServiceAccounts, "default", "default"); ok {
		t.Fatal("service account created in a terminating namespace")
	}
}

func TestAdmitServiceAccountReadsTheServiceAccount(t *testing.T) {
	u, _ := configUTest(t)
	no := false
	if _, err := u.c.Create(kindServiceAccount, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "quiet", Namespace: "default"},
		AutomountServiceAccountToken: &no, ImagePullSecrets: []corev1.LocalObjectReference{{Name: "reg"}}}); err != nil {
		t.Fatal(err)
	}
	p := podSpec("x", 1, nil, busybox("app"))
	p.Namespace, p.Spec.ServiceAccountName = "default", "quiet"
	u.ctl.admitServiceAccount(p)
	if len(p.Spec.Volumes) != 0 || len(p.Spec.ImagePullSecrets) != 1 {
		t.Fatalf("volumes %v pull secrets %v", p.Spec.Volumes, p.Spec.ImagePullSecrets)
	}
}
