package reconcile

// This file: the storage controller's decisions as pure functions (storage.go carries them
// out): which volume suits a claim, what binding writes, what a provisioned volume looks like,
// which state a volume is in, who still uses a claim.

import (
	"errors"
	"slices"
	"sort"
	"time"

	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/volume"
	"github.com/k2d-project/k2d/translate"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// DefaultStorageClass returns the default class among classes, as the API server's admission
// picks it: of those annotated as default, the newest (then the first by name); nil if none.
func DefaultStorageClass(classes []*storagev1.StorageClass) *storagev1.StorageClass {
	var defs []*storagev1.StorageClass
	for _, sc := range classes {
		if sc.Annotations[AnnotationDefaultClass] == "true" || sc.Annotations[annotationBetaDefaultClass] == "true" {
			defs = append(defs, sc)
		}
	}
	if len(defs) == 0 {
		return nil
	}
	sort.Slice(defs, func(i, j int) bool {
		a, b := defs[i].CreationTimestamp, defs[j].CreationTimestamp
		if !a.Equal(&b) {
			return b.Before(&a)
		}
		return defs[i].Name < defs[j].Name
	})
	return defs[0]
}

// claimClass is the class a claim asks for; "" is "no class" (static binding only).
func claimClass(pvc *corev1.PersistentVolumeClaim) string {
	if pvc.Spec.StorageClassName != nil {
		return *pvc.Spec.StorageClassName
	}
	return pvc.Annotations[annBetaStorageClass]
}

func volumeClass(pv *corev1.PersistentVolume) string {
	if pv.Spec.StorageClassName != "" {
		return pv.Spec.StorageClassName
	}
	return pv.Annotations[annBetaStorageClass]
}

func claimRequest(pvc *corev1.PersistentVolumeClaim) resource.Quantity {
	return pvc.Spec.Resources.Requests[corev1.ResourceStorage]
}

func volumeCapacity(pv *corev1.PersistentVolume) resource.Quantity {
	return pv.Spec.Capacity[corev1.ResourceStorage]
}

// The volumeMode default (Filesystem) is applied here too: objects may skip defaulting.
func claimVolumeMode(pvc *corev1.PersistentVolumeClaim) corev1.PersistentVolumeMode {
	if pvc.Spec.VolumeMode != nil && *pvc.Spec.VolumeMode != "" {
		return *pvc.Spec.VolumeMode
	}
	return corev1.PersistentVolumeFilesystem
}

func volumeMode(pv *corev1.PersistentVolume) corev1.PersistentVolumeMode {
	if pv.Spec.VolumeMode != nil && *pv.Spec.VolumeMode != "" {
		return *pv.Spec.VolumeMode
	}
	return corev1.PersistentVolumeFilesystem
}

// pvName is the name of the volume provisioned for a claim, as on a cluster.
func pvName(pvc *corev1.PersistentVolumeClaim) string { return "pvc-" + string(pvc.UID) }

// DockerVolumeName is the Docker volume behind the volume provisioned for a claim.
func DockerVolumeName(pvc *corev1.PersistentVolumeClaim) string { return "k2d-" + pvName(pvc) }

// claimRefMatches reports whether a volume's claimRef names the claim: by namespace and name,
// and by uid once the binding filled it in.
func claimRefMatches(ref *corev1.ObjectReference, pvc *corev1.PersistentVolumeClaim) bool {
	return ref != nil && ref.Namespace == pvc.Namespace && ref.Name == pvc.Name && (ref.UID == "" || ref.UID == pvc.UID)
}

// Errors of volumeSatisfiesClaim, in the persistentvolume controller's words.
var (
	errVolumeTooSmall     = errors.New("requested PV is too small")
	errClassMismatch      = errors.New("storageClassName does not match")
	errVolumeModeMismatch = errors.New("incompatible volumeMode")
	errAccessModeMismatch = errors.New("incompatible accessMode")
)

// volumeSatisfiesClaim checks a volume a claim asks for by name.
func volumeSatisfiesClaim(pv *corev1.PersistentVolume, pvc *corev1.PersistentVolumeClaim) error {
	req, capacity := claimRequest(pvc), volumeCapacity(pv)
	if capacity.Cmp(req) < 0 {
		return errVolumeTooSmall
	}
	if volumeClass(pv) != claimClass(pvc) {
		return errClassMismatch
	}
	if volumeMode(pv) != claimVolumeMode(pvc) {
		return errVolumeModeMismatch
	}
	if !hasAccessModes(pv.Spec.AccessModes, pvc.Spec.AccessModes) {
		return errAccessModeMismatch
	}
	return nil
}

func hasAccessModes(have, want []corev1.PersistentVolumeAccessMode) bool {
	for _, w := range want {
		found := false
		for _, h := range have {
			found = found || h == w
		}
		if !found {
			return false
		}
	}
	return true
}

// bestVolumeForClaim picks the volume a claim without volumeName binds to: a volume reserved
// for it (claimRef) that is large enough, else the smallest available volume of the claim's
// class that is large enough, has its access modes and volume mode and matches its selector.
func bestVolumeForClaim(pvc *corev1.PersistentVolumeClaim, pvs []*corev1.PersistentVolume) *corev1.PersistentVolume {
	req := claimRequest(pvc)
	var best *corev1.PersistentVolume
	for _, pv := range pvs {
		if pv.DeletionTimestamp != nil {
			continue
		}
		if claimRefMatches(pv.Spec.ClaimRef, pvc) {
			capacity := volumeCapacity(pv)
			if capacity.Cmp(req) >= 0 && volumeMode(pv) == claimVolumeMode(pvc) {
				return pv
			}
			continue
		}
		if pv.Spec.ClaimRef != nil {
			continue
		}
		switch pv.Status.Phase {
		case corev1.VolumeReleased, corev1.VolumeFailed, corev1.VolumeBound:
			continue
		}
		if volumeSatisfiesClaim(pv, pvc) != nil || !selectorMatches(pvc.Spec.Selector, pv.Labels) {
			continue
		}
		if best == nil {
			best = pv
			continue
		}
		a, b := volumeCapacity(pv), volumeCapacity(best)
		if a.Cmp(b) < 0 {
			best = pv
		}
	}
	return best
}

// selectorMatches evaluates a label selector (nil matches everything).
func selectorMatches(sel *metav1.LabelSelector, labels map[string]string) bool {
	if sel == nil {
		return true
	}
	for k, v := range sel.MatchLabels {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	for _, r := range sel.MatchExpressions {
		v, ok := labels[r.Key]
		switch r.Operator {
		case metav1.LabelSelectorOpIn:
			if !ok || !slices.Contains(r.Values, v) {
				return false
			}
		case metav1.LabelSelectorOpNotIn:
			if ok && slices.Contains(r.Values, v) {
				return false
			}
		case metav1.LabelSelectorOpExists:
			if !ok {
				return false
			}
		case metav1.LabelSelectorOpDoesNotExist:
			if ok {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// provisionable reports what k2d's provisioner cannot do for a claim.
func provisionable(pvc *corev1.PersistentVolumeClaim) error {
	switch {
	case pvc.Spec.Selector != nil:
		return errors.New("claim Selector is not supported")
	case claimVolumeMode(pvc) != corev1.PersistentVolumeFilesystem:
		return errors.New(Provisioner + " provisions only volumeMode Filesystem")
	case pvc.Spec.DataSource != nil || pvc.Spec.DataSourceRef != nil:
		return errors.New(Provisioner + " cannot populate a volume from a data source")
	}
	return nil
}

// dockerVolumeOptions is the Docker volume create request for a claim of class.
func dockerVolumeOptions(pvc *corev1.PersistentVolumeClaim, class *storagev1.StorageClass) volume.CreateOptions {
	opts := volume.CreateOptions{
		Name:   DockerVolumeName(pvc),
		Driver: "local",
		Labels: map[string]string{
			translate.LabelManaged: "true",
			LabelPV:                pvName(pvc),
			LabelPVCNamespace:      pvc.Namespace,
			LabelPVCName:           pvc.Name,
			LabelPVCUID:            string(pvc.UID),
			LabelStorageClass:      class.Name,
		},
	}
	for k, v := range class.Parameters {
		if k == "driver" {
			opts.Driver = v
			continue
		}
		if opts.DriverOpts == nil {
			opts.DriverOpts = map[string]string{}
		}
		opts.DriverOpts[k] = v
	}
	return opts
}

// dockerVolumeLabels are the labels of a provisioned volume's Docker volume, from the volume.
func dockerVolumeLabels(pv *corev1.PersistentVolume, pvc *corev1.PersistentVolumeClaim) map[string]string {
	return map[string]string{
		translate.LabelManaged: "true",
		LabelPV:                pv.Name,
		LabelPVCNamespace:      pvc.Namespace,
		LabelPVCName:           pvc.Name,
		LabelPVCUID:            string(pvc.UID),
		LabelStorageClass:      volumeClass(pv),
	}
}

// provisionedVolume is the PersistentVolume of a claim's new Docker volume: already bound to
// the claim (claimRef with uid, phase Bound), with the claim's size, access modes and volume
// mode and the class's reclaim policy (Delete when unset) and mount options. Its source is
// `local`, the volume's path on the node, with the node affinity local volumes need.
func provisionedVolume(pvc *corev1.PersistentVolumeClaim, class *storagev1.StorageClass, hostname string, vol volume.Volume, now time.Time) *corev1.PersistentVolume {
	policy := corev1.PersistentVolumeReclaimDelete
	if class.ReclaimPolicy != nil && *class.ReclaimPolicy != "" {
		policy = *class.ReclaimPolicy
	}
	mode := claimVolumeMode(pvc)
	ts := metav1.NewTime(now.Truncate(time.Second))
	path := vol.Mountpoint
	if path == "" {
		path = "/var/lib/docker/volumes/" + vol.Name + "/_data"
	}
	return &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{
			Name: pvName(pvc),
			Annotations: map[string]string{
				annProvisionedBy:       Provisioner,
				AnnotationDockerVolume: vol.Name,
			},
			Finalizers: []string{FinalizerPVProtection},
		},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: claimRequest(pvc)},
			AccessModes:                   append([]corev1.PersistentVolumeAccessMode(nil), pvc.Spec.AccessModes...),
			PersistentVolumeReclaimPolicy: policy,
			StorageClassName:              class.Name,
			VolumeMode:                    &mode,
			MountOptions:                  append([]string(nil), class.MountOptions...),
			ClaimRef: &corev1.ObjectReference{
				Kind: "PersistentVolumeClaim", APIVersion: "v1",
				Namespace: pvc.Namespace, Name: pvc.Name, UID: pvc.UID, ResourceVersion: pvc.ResourceVersion,
			},
			PersistentVolumeSource: corev1.PersistentVolumeSource{Local: &corev1.LocalVolumeSource{Path: path}},
			NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
				MatchExpressions: []corev1.NodeSelectorRequirement{{Key: labelHostname, Operator: corev1.NodeSelectorOpIn, Values: []string{hostname}}},
			}}}},
		},
		Status: corev1.PersistentVolumeStatus{Phase: corev1.VolumeBound, LastPhaseTransitionTime: &ts},
	}
}

// setPVPhase sets a volume's phase and message; lastPhaseTransitionTime moves with the phase.
func setPVPhase(v *corev1.PersistentVolume, phase corev1.PersistentVolumePhase, msg string, now metav1.Time) bool {
	if v.Status.Phase == phase && v.Status.Message == msg {
		return false
	}
	if v.Status.Phase != phase {
		v.Status.LastPhaseTransitionTime = &now
	}
	v.Status.Phase, v.Status.Message = phase, msg
	if phase != corev1.VolumeFailed {
		v.Status.Reason = ""
	}
	return true
}

// bindVolume is the volume's half of a binding: claimRef (marked bound-by-controller when the
// controller chose the volume) and phase Bound. It refuses a volume reserved for another claim.
func bindVolume(v *corev1.PersistentVolume, pvc *corev1.PersistentVolumeClaim, now metav1.Time) bool {
	if v.Spec.ClaimRef != nil && !claimRefMatches(v.Spec.ClaimRef, pvc) {
		return false
	}
	changed := false
	if ref := v.Spec.ClaimRef; ref == nil || ref.UID != pvc.UID {
		if ref == nil {
			metav1.SetMetaDataAnnotation(&v.ObjectMeta, annBoundByController, "yes")
		}
		v.Spec.ClaimRef = &corev1.ObjectReference{
			Kind: "PersistentVolumeClaim", APIVersion: "v1",
			Namespace: pvc.Namespace, Name: pvc.Name, UID: pvc.UID, ResourceVersion: pvc.ResourceVersion,
		}
		changed = true
	}
	return setPVPhase(v, corev1.VolumeBound, "", now) || changed
}

// bindClaim is the claim's half: volumeName (marked bound-by-controller when the controller
// chose it), bind-completed, and status Bound with the volume's access modes and capacity.
func bindClaim(p *corev1.PersistentVolumeClaim, pv *corev1.PersistentVolume) bool {
	changed := false
	if p.Spec.VolumeName != pv.Name {
		if p.Spec.VolumeName != "" {
			return false
		}
		p.Spec.VolumeName = pv.Name
		metav1.SetMetaDataAnnotation(&p.ObjectMeta, annBoundByController, "yes")
		changed = true
	}
	if p.Annotations[annBindCompleted] != "yes" {
		metav1.SetMetaDataAnnotation(&p.ObjectMeta, annBindCompleted, "yes")
		changed = true
	}
	modes := append([]corev1.PersistentVolumeAccessMode(nil), pv.Spec.AccessModes...)
	capacity := corev1.ResourceList{}
	for k, v := range pv.Spec.Capacity {
		capacity[k] = v.DeepCopy()
	}
	if p.Status.Phase != corev1.ClaimBound || !equality.Semantic.DeepEqual(p.Status.AccessModes, modes) ||
		!equality.Semantic.DeepEqual(p.Status.Capacity, capacity) {
		p.Status.Phase = corev1.ClaimBound
		p.Status.AccessModes = modes
		p.Status.Capacity = capacity
		changed = true
	}
	return changed
}

// States of a volume as its sync sees them.
const (
	volumeAvailable = iota // no claim, or reserved for a claim by name that has not bound yet
	volumeBinding          // claimed; the claim has not recorded the binding yet
	volumeBound
	volumeMisbound // claimed by a claim that is bound to another volume
	volumeReleased // its claim is gone (or was re-created: another uid)
)

func volumeState(pv *corev1.PersistentVolume, claim *corev1.PersistentVolumeClaim) int {
	ref := pv.Spec.ClaimRef
	switch {
	case ref == nil || ref.UID == "":
		return volumeAvailable
	case claim == nil || claim.UID != ref.UID:
		return volumeReleased
	case claim.Spec.VolumeName == pv.Name:
		return volumeBound
	case claim.Spec.VolumeName == "":
		return volumeBinding
	}
	return volumeMisbound
}

// podUsesClaim reports whether a pod has a persistentVolumeClaim volume of the claim.
func podUsesClaim(p *corev1.Pod, claim string) bool {
	for i := range p.Spec.Volumes {
		if v := p.Spec.Volumes[i].PersistentVolumeClaim; v != nil && v.ClaimName == claim {
			return true
		}
	}
	return false
}

// podAdmittedBefore reports whether a pod existed before a claim's deletion began: such pods
// keep the claim (pvc-protection) and may mount it; newer ones may not, as the scheduler
// refuses a claim being deleted.
func podAdmittedBefore(p *corev1.Pod, deletion *metav1.Time) bool {
	return deletion == nil || p.CreationTimestamp.Before(deletion)
}

// claimUsers returns the pods that keep a claim being deleted.
func claimUsers(pvc *corev1.PersistentVolumeClaim, pods []*corev1.Pod) []*corev1.Pod {
	var out []*corev1.Pod
	for _, p := range pods {
		if podUsesClaim(p, pvc.Name) && podAdmittedBefore(p, pvc.DeletionTimestamp) {
			out = append(out, p)
		}
	}
	return out
}

// usesSubPath reports whether any container mounts the pod volume with a subPath.
func usesSubPath(pod *corev1.Pod, volName string) bool {
	for _, ctrs := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for i := range ctrs {
			for _, vm := range ctrs[i].VolumeMounts {
				if vm.Name == volName && (vm.SubPath != "" || vm.SubPathExpr != "") {
					return true
				}
			}
		}
	}
	return false
}

// dockerVolumeSource mounts a provisioned volume: as the Docker volume, or, when a container
// mounts it with a subPath (volume subpaths need Docker API 1.45), as a bind of the volume's
// directory when k2d can see it.
func dockerVolumeSource(name, mountpoint string, subPath bool, isDir func(string) bool) translate.VolumeSource {
	if subPath && mountpoint != "" && isDir(mountpoint) {
		return translate.VolumeSource{Type: mount.TypeBind, Source: mountpoint}
	}
	return translate.VolumeSource{Type: mount.TypeVolume, Source: name}
}

// volumeSourceKind names a volume's source for messages.
func volumeSourceKind(pv *corev1.PersistentVolume) string {
	s := &pv.Spec.PersistentVolumeSource
	switch {
	case s.HostPath != nil:
		return "hostPath"
	case s.Local != nil:
		return "local"
	case s.NFS != nil:
		return "nfs"
	case s.CSI != nil:
		return "csi"
	case s.ISCSI != nil:
		return "iscsi"
	case s.FC != nil:
		return "fc"
	}
	return "unknown"
}
