package reconcile

// This file: the pod side of persistentVolumeClaim volumes (claimVolume) and the pods that
// wait for a claim to bind.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/volume"
	"github.com/k2d-project/k2d/cache"
	"github.com/k2d-project/k2d/translate"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
)

// MountError is a volume a container cannot mount yet: the container waits as
// ContainerCreating and a FailedMount event says why. Whoever returns it enqueues the pod
// again when the volume can be mounted.
type MountError struct{ Message string }

func (e *MountError) Error() string { return e.Message }

// claimVolume returns the host side of a persistentVolumeClaim volume of pod: the Docker volume
// of a provisioned volume, or the path of a hostPath or local one. While the claim is missing,
// unbound or (for a pod created after its deletion began) being deleted, it returns a
// *MountError in the kubelet's words and the pod is enqueued again when the claim changes.
func (c *Controller) claimVolume(ctx context.Context, pod *corev1.Pod, v *corev1.Volume) (translate.VolumeSource, error) {
	claimName := v.PersistentVolumeClaim.ClaimName
	podKey := pod.Namespace + "/" + pod.Name
	claimKey := pod.Namespace + "/" + claimName
	wait := func(format string, args ...any) (translate.VolumeSource, error) {
		c.waitForClaim(claimKey, podKey)
		return translate.VolumeSource{}, &MountError{Message: fmt.Sprintf(
			"Unable to attach or mount volumes: unmounted volumes=[%s], unattached volumes=[%s], failed to process volumes=[%s]: error processing PVC %s: %s",
			v.Name, v.Name, v.Name, claimKey, fmt.Sprintf(format, args...))}
	}
	e, ok := c.c.Get(resPVC, pod.Namespace, claimName)
	if !ok {
		return wait("failed to fetch PVC from API server: persistentvolumeclaims %q not found", claimName)
	}
	pvc := e.Obj.(*corev1.PersistentVolumeClaim)
	if pvc.DeletionTimestamp != nil && !podAdmittedBefore(pod, pvc.DeletionTimestamp) {
		return wait("persistentvolumeclaim %q is being deleted", claimName)
	}
	if pvc.Status.Phase != corev1.ClaimBound || pvc.Spec.VolumeName == "" {
		return wait("PVC is not bound")
	}
	ve, ok := c.c.Get(resPV, "", pvc.Spec.VolumeName)
	if !ok {
		return wait("failed to fetch PV %s from API server: persistentvolumes %q not found", pvc.Spec.VolumeName, pvc.Spec.VolumeName)
	}
	pv := ve.Obj.(*corev1.PersistentVolume)
	if ref := pv.Spec.ClaimRef; ref == nil || ref.UID != pvc.UID {
		return wait("expected volume %s to be bound to claim %s (uid %s)", pv.Name, claimKey, pvc.UID)
	}
	c.claimReady(claimKey, podKey)
	src, err := c.volumeSourceOf(ctx, pod, v.Name, pv, pvc)
	if err != nil {
		c.pods.AddAfter(podKey, backoffInitial)
		return translate.VolumeSource{}, &MountError{Message: fmt.Sprintf("MountVolume.SetUp failed for volume %q : %v", pv.Name, err)}
	}
	src.ReadOnly = v.PersistentVolumeClaim.ReadOnly
	if src.Type == mount.TypeBind {
		if err := makeSubPaths(pod, v.Name, src.Source); err != nil {
			c.pods.AddAfter(podKey, backoffInitial)
			return translate.VolumeSource{}, &MountError{Message: fmt.Sprintf("MountVolume.SetUp failed for volume %q : %v", pv.Name, err)}
		}
	}
	return src, nil
}

// volumeSourceOf maps a bound volume to what Docker mounts for the pod's volume volName.
func (c *Controller) volumeSourceOf(ctx context.Context, pod *corev1.Pod, volName string, pv *corev1.PersistentVolume, pvc *corev1.PersistentVolumeClaim) (translate.VolumeSource, error) {
	switch {
	case pv.Annotations[AnnotationDockerVolume] != "":
		name := pv.Annotations[AnnotationDockerVolume]
		vol, err := c.ensureDockerVolume(ctx, name, pv, pvc)
		if err != nil {
			return translate.VolumeSource{}, err
		}
		return dockerVolumeSource(name, vol.Mountpoint, usesSubPath(pod, volName), dirExists), nil
	case pv.Spec.HostPath != nil:
		// The kubelet's hostPath type checks and creations, as for a pod's own hostPath volume.
		fake := &corev1.Pod{Spec: corev1.PodSpec{Volumes: []corev1.Volume{{Name: pv.Name,
			VolumeSource: corev1.VolumeSource{HostPath: pv.Spec.HostPath}}}}}
		if err := prepareHostPaths(fake); err != nil {
			return translate.VolumeSource{}, err
		}
		return translate.VolumeSource{Type: mount.TypeBind, Source: pv.Spec.HostPath.Path}, nil
	case pv.Spec.Local != nil:
		if _, err := os.Stat(pv.Spec.Local.Path); err != nil {
			return translate.VolumeSource{}, fmt.Errorf("path %q does not exist", pv.Spec.Local.Path)
		}
		return translate.VolumeSource{Type: mount.TypeBind, Source: pv.Spec.Local.Path}, nil
	}
	return translate.VolumeSource{}, fmt.Errorf("k2d mounts only hostPath, local and its own Docker volumes, not %s volumes", volumeSourceKind(pv))
}

// ensureDockerVolume returns a provisioned volume's Docker volume. One that someone removed
// is made again, labelled, with its class's options (Docker would otherwise make an unlabelled
// one on first mount, which neither `k2d reset` nor the reclaim would find by label).
func (c *Controller) ensureDockerVolume(ctx context.Context, name string, pv *corev1.PersistentVolume, pvc *corev1.PersistentVolumeClaim) (volume.Volume, error) {
	va, err := c.volumes()
	if err != nil {
		return volume.Volume{}, err
	}
	vol, err := va.VolumeInspect(ctx, name)
	if err == nil || !isNotFound(err) {
		return vol, err
	}
	opts := volume.CreateOptions{Name: name, Driver: "local"}
	if e, ok := c.c.Get(resSC, "", volumeClass(pv)); ok {
		opts = dockerVolumeOptions(pvc, e.Obj.(*storagev1.StorageClass))
		opts.Name = name
	}
	opts.Labels = dockerVolumeLabels(pv, pvc)
	c.rec.record(pvRef(pv), componentPVController, corev1.EventTypeWarning, "VolumeMissing",
		fmt.Sprintf("Docker volume %s was removed outside k2d; it is created again, empty", name))
	return va.VolumeCreate(ctx, opts)
}

func dirExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// waitForClaim remembers that a pod waits for a claim.
func (c *Controller) waitForClaim(claimKey, podKey string) {
	st := &c.storage
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.waiting == nil {
		st.waiting = map[string]map[string]bool{}
	}
	if st.waiting[claimKey] == nil {
		st.waiting[claimKey] = map[string]bool{}
	}
	st.waiting[claimKey][podKey] = true
}

func (c *Controller) claimReady(claimKey, podKey string) {
	st := &c.storage
	st.mu.Lock()
	defer st.mu.Unlock()
	if w := st.waiting[claimKey]; w != nil {
		delete(w, podKey)
		if len(w) == 0 {
			delete(st.waiting, claimKey)
		}
	}
}

// wakeClaimWaiters enqueues the pods waiting for a claim. Called with the cache lock held.
func (c *Controller) wakeClaimWaiters(claimKey string) {
	st := &c.storage
	st.mu.Lock()
	var keys []string
	for k := range st.waiting[claimKey] {
		keys = append(keys, k)
	}
	st.mu.Unlock()
	for _, k := range keys {
		c.pods.Add(k)
	}
}

func (c *Controller) forgetClaimWaiter(podKey string) {
	st := &c.storage
	st.mu.Lock()
	defer st.mu.Unlock()
	for ck, w := range st.waiting {
		delete(w, podKey)
		if len(w) == 0 {
			delete(st.waiting, ck)
		}
	}
}

// makeSubPaths creates, as the kubelet does, the directories that the pod's static subPaths
// name inside a bind-mounted claim (Docker refuses a bind mount whose source is missing).
func makeSubPaths(pod *corev1.Pod, volName, root string) error {
	for _, ctrs := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for i := range ctrs {
			for _, vm := range ctrs[i].VolumeMounts {
				if vm.Name != volName || vm.SubPath == "" || !filepath.IsLocal(vm.SubPath) {
					continue
				}
				p := filepath.Join(root, vm.SubPath)
				if _, err := os.Lstat(p); err == nil {
					continue
				}
				if err := os.MkdirAll(p, 0o755); err != nil {
					return fmt.Errorf("cannot create subPath %q: %w", vm.SubPath, err)
				}
			}
		}
	}
	return nil
}

// ---- small helpers ----

func pvcRef(pvc *corev1.PersistentVolumeClaim) corev1.ObjectReference {
	return corev1.ObjectReference{Kind: "PersistentVolumeClaim", APIVersion: "v1", Namespace: pvc.Namespace, Name: pvc.Name,
		UID: pvc.UID, ResourceVersion: pvc.ResourceVersion}
}

func pvRef(pv *corev1.PersistentVolume) corev1.ObjectReference {
	return corev1.ObjectReference{Kind: "PersistentVolume", APIVersion: "v1", Name: pv.Name, UID: pv.UID, ResourceVersion: pv.ResourceVersion}
}

func pvsOf(list []*cache.Entry) []*corev1.PersistentVolume {
	out := make([]*corev1.PersistentVolume, 0, len(list))
	for _, e := range list {
		out = append(out, e.Obj.(*corev1.PersistentVolume))
	}
	return out
}

func classesOf(list []*cache.Entry) []*storagev1.StorageClass {
	out := make([]*storagev1.StorageClass, 0, len(list))
	for _, e := range list {
		out = append(out, e.Obj.(*storagev1.StorageClass))
	}
	return out
}

func podsOf(list []*cache.Entry) []*corev1.Pod {
	out := make([]*corev1.Pod, 0, len(list))
	for _, e := range list {
		out = append(out, e.Obj.(*corev1.Pod))
	}
	return out
}

func withoutString(list []string, s string) []string {
	out := list[:0:0]
	for _, x := range list {
		if x != s {
			out = append(out, x)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
