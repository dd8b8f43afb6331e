package reconcile

// This file: PersistentVolumeClaims, PersistentVolumes and StorageClasses, as the
// persistentvolume controller, the pvc/pv-protection controllers and a local volume
// provisioner do it on a cluster: the default `local` class, dynamic provisioning onto Docker
// named volumes, static binding (by volumeName, or by class, size and access modes), the
// reclaim policies, the protection finalizers, and the host side of persistentVolumeClaim pod
// volumes (claimVolume). The decisions are pure functions in storage_match.go.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/docker/docker/api/types/volume"
	"github.com/k2d-project/k2d/cache"
	"github.com/k2d-project/k2d/codec"
	"github.com/k2d-project/k2d/dockerio"
	"github.com/k2d-project/k2d/translate"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

const (
	// StorageClassLocal is the default StorageClass k2d creates at start when it is missing,
	// as a cluster add-on in EnsureExists mode would: a deleted class comes back at the next
	// start, an edited one is left as it is.
	StorageClassLocal = "local"
	// Provisioner provisions PersistentVolumes as Docker named volumes of the local driver.
	Provisioner = "k2d.io/local-volume"

	// AnnotationDefaultClass marks the default StorageClass.
	AnnotationDefaultClass     = "storageclass.kubernetes.io/is-default-class"
	annotationBetaDefaultClass = "storageclass.beta.kubernetes.io/is-default-class"
	// FinalizerPVCProtection keeps a claim while a pod uses it.
	FinalizerPVCProtection = "kubernetes.io/pvc-protection"
	// FinalizerPVProtection keeps a volume while it is bound.
	FinalizerPVProtection = "kubernetes.io/pv-protection"
	// AnnotationDockerVolume names the Docker volume behind a PersistentVolume k2d provisioned.
	AnnotationDockerVolume = "k2d.io/docker-volume"

	annBindCompleted          = "pv.kubernetes.io/bind-completed"
	annBoundByController      = "pv.kubernetes.io/bound-by-controller"
	annProvisionedBy          = "pv.kubernetes.io/provisioned-by"
	annStorageProvisioner     = "volume.kubernetes.io/storage-provisioner"
	annBetaStorageProvisioner = "volume.beta.kubernetes.io/storage-provisioner"
	annSelectedNode           = "volume.kubernetes.io/selected-node"
	annBetaStorageClass       = "volume.beta.kubernetes.io/storage-class"
	labelHostname             = "kubernetes.io/hostname"

	// Labels of the Docker volumes k2d provisions (besides io.k2d.managed=true): `docker volume
	// ls --filter label=io.k2d.pv.name` lists them. They carry no pod uid or namespace label,
	// so neither pod nor namespace cleanup ever touches them.
	LabelPV           = "io.k2d.pv.name"
	LabelPVCNamespace = "io.k2d.pvc.namespace"
	LabelPVCName      = "io.k2d.pvc.name"
	LabelPVCUID       = "io.k2d.pvc.uid"
	LabelStorageClass = "io.k2d.storageclass"

	componentPVController = "persistentvolume-controller"
	componentPVCProtect   = "pvc-protection-controller"
)

var (
	kindPVC = codec.KindFor("", "v1", "persistentvolumeclaims")
	kindPV  = codec.KindFor("", "v1", "persistentvolumes")
	kindSC  = codec.KindFor("storage.k8s.io", "v1", "storageclasses")
	resPVC  = kindPVC.GroupResource()
	resPV   = kindPV.GroupResource()
	resSC   = kindSC.GroupResource()
)

// volumeAPI is the part of the Docker API only the storage controller needs.
type volumeAPI interface {
	VolumeCreate(ctx context.Context, opts volume.CreateOptions) (volume.Volume, error)
	VolumeInspect(ctx context.Context, name string) (volume.Volume, error)
}

var _ volumeAPI = (*dockerio.Client)(nil)

func (c *Controller) volumes() (volumeAPI, error) {
	if va, ok := c.d.(volumeAPI); ok {
		return va, nil
	}
	return nil, errors.New("the Docker client cannot create volumes")
}

// storageState is the storage controller's memory; its zero value is ready (the queue is
// made on first use). mu is never held while calling the cache.
type storageState struct {
	mu      sync.Mutex
	q       *queue
	waiting map[string]map[string]bool          // "ns/claim" -> keys of pods waiting for it to bind
	gone    map[string]*corev1.PersistentVolume // deleted PVs whose Docker volume is still to remove
	retries map[string]time.Duration            // key -> current retry delay of a failing Docker call
}

// Retry delays of the storage queue's Docker calls (a volume still used by a container being
// removed is the usual cause): short at first, as the container is seconds from gone.
const (
	storageRetryInitial = time.Second
	storageRetryMax     = 5 * time.Minute
)

func (c *Controller) storageQueue() *queue {
	st := &c.storage
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.q == nil {
		// One worker, as the persistentvolume controller: two syncs at once could bind two
		// claims to one volume.
		st.q = newQueue(c.ctx, "storage", 1, c.log, c.syncStorage)
	}
	return st.q
}

// startStorage creates the default StorageClass when it is missing and syncs every claim and
// volume once: what changed while k2d was down (a claim deleted, a pod gone) is acted on now.
func (c *Controller) startStorage() {
	if err := c.ensureDefaultStorageClass(); err != nil {
		c.log.Warn("cannot create the default storage class", "err", err)
	}
	q := c.storageQueue()
	pvcs, _ := c.c.List(resPVC, "")
	for _, e := range pvcs {
		q.Add("c/" + e.Meta().GetNamespace() + "/" + e.Meta().GetName())
	}
	pvs, _ := c.c.List(resPV, "")
	for _, e := range pvs {
		q.Add("v/" + e.Meta().GetName())
	}
	c.wg.Add(1)
	go func() {
		// Blocked, not polling: it only closes the queue (waiting for a running sync) on Stop.
		defer c.wg.Done()
		<-c.ctx.Done()
		q.Close()
	}()
}

// ensureDefaultStorageClass creates the `local` class if no class of that name exists. It is
// the default class unless another class already is.
func (c *Controller) ensureDefaultStorageClass() error {
	if _, ok := c.c.Get(resSC, "", StorageClassLocal); ok {
		return nil
	}
	classes, _ := c.c.List(resSC, "")
	sc := localStorageClass(DefaultStorageClass(classesOf(classes)) == nil)
	if _, err := c.c.Create(kindSC, sc); err != nil {
		var exists *cache.AlreadyExistsError
		if !errors.As(err, &exists) {
			return err
		}
	}
	return nil
}

// localStorageClass is the class k2d ships.
func localStorageClass(isDefault bool) *storagev1.StorageClass {
	del := corev1.PersistentVolumeReclaimDelete
	// Immediate: there is one node, so there is no topology to wait for; claims bind as soon
	// as they are created, as `kubectl get pvc` and `helm --wait` expect.
	mode := storagev1.VolumeBindingImmediate
	sc := &storagev1.StorageClass{
		ObjectMeta: metav1.ObjectMeta{
			Name:   StorageClassLocal,
			Labels: map[string]string{"addonmanager.kubernetes.io/mode": "EnsureExists"},
		},
		Provisioner:       Provisioner,
		ReclaimPolicy:     &del,
		VolumeBindingMode: &mode,
	}
	if isDefault {
		sc.Annotations = map[string]string{AnnotationDefaultClass: "true"}
	}
	return sc
}

// onStorageChange enqueues the storage work a change calls for, and wakes pods that wait for
// a claim. It runs with the cache lock held.
func (c *Controller) onStorageChange(ev cache.Event) {
	m := ev.Entry.Meta()
	switch ev.Resource {
	case resPVC:
		q := c.storageQueue()
		q.Add("c/" + m.GetNamespace() + "/" + m.GetName())
		pvc := ev.Entry.Obj.(*corev1.PersistentVolumeClaim)
		if pvc.Spec.VolumeName != "" {
			q.Add("v/" + pvc.Spec.VolumeName)
		}
		if ev.Old != nil {
			if old := ev.Old.Obj.(*corev1.PersistentVolumeClaim); old.Spec.VolumeName != "" && old.Spec.VolumeName != pvc.Spec.VolumeName {
				q.Add("v/" + old.Spec.VolumeName)
			}
		}
		c.wakeClaimWaiters(m.GetNamespace() + "/" + m.GetName())
	case resPV:
		q := c.storageQueue()
		q.Add("v/" + m.GetName())
		pv := ev.Entry.Obj.(*corev1.PersistentVolume)
		if ref := pv.Spec.ClaimRef; ref != nil {
			q.Add("c/" + ref.Namespace + "/" + ref.Name)
			c.wakeClaimWaiters(ref.Namespace + "/" + ref.Name)
		}
		if ev.Type == cache.Deleted && pv.Annotations[AnnotationDockerVolume] != "" &&
			pv.Spec.PersistentVolumeReclaimPolicy == corev1.PersistentVolumeReclaimDelete {
			c.storage.mu.Lock()
			if c.storage.gone == nil {
				c.storage.gone = map[string]*corev1.PersistentVolume{}
			}
			c.storage.gone[pv.Name] = pv
			c.storage.mu.Unlock()
		}
	case resSC:
		c.storageQueue().Add("s/" + m.GetName())
	case resPods:
		if ev.Type == cache.Modified && (ev.Old == nil || ev.Old.Meta().GetDeletionTimestamp() != nil || m.GetDeletionTimestamp() == nil) {
			return // status writes: nothing storage cares about
		}
		pod := ev.Entry.Obj.(*corev1.Pod)
		var q *queue
		for i := range pod.Spec.Volumes {
			if v := pod.Spec.Volumes[i].PersistentVolumeClaim; v != nil {
				if q == nil {
					q = c.storageQueue()
				}
				// A first consumer for a WaitForFirstConsumer claim, or the last user of a
				// claim being deleted.
				q.Add("c/" + pod.Namespace + "/" + v.ClaimName)
			}
		}
		if ev.Type == cache.Deleted {
			c.forgetClaimWaiter(pod.Namespace + "/" + pod.Name)
		}
	}
}

// syncStorage is the storage queue's worker: "c/<ns>/<name>" claims, "v/<name>" volumes,
// "s/<name>" classes.
func (c *Controller) syncStorage(ctx context.Context, key string) {
	if len(key) < 3 {
		return
	}
	switch key[:2] {
	case "c/":
		ns, name := splitKey(key[2:])
		c.syncClaim(ctx, key, ns, name)
	case "v/":
		c.syncVolume(ctx, key, key[2:])
	case "s/":
		// A new or changed class may let waiting claims be provisioned (or get the default).
		pvcs, _ := c.c.List(resPVC, "")
		q := c.storageQueue()
		for _, e := range pvcs {
			if pvc := e.Obj.(*corev1.PersistentVolumeClaim); pvc.Status.Phase != corev1.ClaimBound {
				q.Add("c/" + pvc.Namespace + "/" + pvc.Name)
			}
		}
	}
}

// storageRetry schedules key again after a failed Docker call, backing off.
func (c *Controller) storageRetry(key string) {
	st := &c.storage
	st.mu.Lock()
	if st.retries == nil {
		st.retries = map[string]time.Duration{}
	}
	d := st.retries[key]
	if d == 0 {
		d = storageRetryInitial
	} else {
		d = min(2*d, storageRetryMax)
	}
	st.retries[key] = d
	st.mu.Unlock()
	c.storageQueue().AddAfter(key, d)
}

func (c *Controller) storageRetryDone(key string) {
	st := &c.storage
	st.mu.Lock()
	delete(st.retries, key)
	st.mu.Unlock()
}

// ---- claims ----

func (c *Controller) syncClaim(ctx context.Context, key, ns, name string) {
	e, ok := c.c.Get(resPVC, ns, name)
	if !ok {
		return
	}
	pvc := e.Obj.(*corev1.PersistentVolumeClaim)
	if pvc.DeletionTimestamp != nil {
		c.finishClaimDeletion(pvc)
		return // a claim being deleted is neither bound nor provisioned
	}
	if !slices.Contains(pvc.Finalizers, FinalizerPVCProtection) || (pvc.Spec.StorageClassName == nil && pvc.Annotations[annBetaStorageClass] == "") {
		// The protection finalizer (normally added on create), and the default class for a
		// claim made before there was one (retroactive default class assignment).
		def := c.defaultClass()
		ne, err := c.c.Mutate(kindPVC, ns, name, func(obj runtime.Object) (bool, error) {
			p := obj.(*corev1.PersistentVolumeClaim)
			if p.UID != pvc.UID {
				return false, nil
			}
			changed := false
			if !slices.Contains(p.Finalizers, FinalizerPVCProtection) {
				p.Finalizers = append(p.Finalizers, FinalizerPVCProtection)
				changed = true
			}
			if p.Spec.StorageClassName == nil && p.Annotations[annBetaStorageClass] == "" && def != nil && p.Spec.VolumeName == "" {
				n := def.Name
				p.Spec.StorageClassName = &n
				changed = true
			}
			return changed, nil
		})
		if err != nil {
			return
		}
		if ne != nil {
			pvc = ne.Obj.(*corev1.PersistentVolumeClaim)
		}
	}
	if pvc.Spec.VolumeName == "" {
		c.syncUnboundClaim(ctx, key, pvc)
		return
	}
	c.syncNamedClaim(pvc)
}

// syncUnboundClaim finds a volume for a claim that names none, or provisions one.
func (c *Controller) syncUnboundClaim(ctx context.Context, key string, pvc *corev1.PersistentVolumeClaim) {
	ref := pvcRef(pvc)
	className := claimClass(pvc)
	var class *storagev1.StorageClass
	if className != "" {
		if e, ok := c.c.Get(resSC, "", className); ok {
			class = e.Obj.(*storagev1.StorageClass)
		}
	}
	if class != nil && class.VolumeBindingMode != nil && *class.VolumeBindingMode == storagev1.VolumeBindingWaitForFirstConsumer &&
		pvc.Annotations[annSelectedNode] == "" {
		if !c.hasConsumer(pvc) {
			c.rec.record(ref, componentPVController, corev1.EventTypeNormal, "WaitForFirstConsumer", "waiting for first consumer to be created before binding")
			c.setClaimPending(pvc)
			return
		}
		node := c.NodeName()
		e, err := c.c.Mutate(kindPVC, pvc.Namespace, pvc.Name, func(obj runtime.Object) (bool, error) {
			p := obj.(*corev1.PersistentVolumeClaim)
			if p.UID != pvc.UID || p.Annotations[annSelectedNode] != "" {
				return false, nil
			}
			metav1.SetMetaDataAnnotation(&p.ObjectMeta, annSelectedNode, node)
			return true, nil
		})
		if err != nil {
			return
		}
		if e != nil {
			pvc = e.Obj.(*corev1.PersistentVolumeClaim)
		}
	}
	pvs, _ := c.c.List(resPV, "")
	if pv := bestVolumeForClaim(pvc, pvsOf(pvs)); pv != nil {
		c.bindPV(pv, pvc)
		return
	}
	switch {
	case className == "":
		c.rec.record(ref, componentPVController, corev1.EventTypeNormal, "FailedBinding", "no persistent volumes available for this claim and no storage class is set")
	case class == nil:
		c.rec.record(ref, componentPVController, corev1.EventTypeWarning, "ProvisioningFailed", fmt.Sprintf("storageclass.storage.k8s.io %q not found", className))
	default:
		pvc = c.markProvisioner(pvc, class.Provisioner)
		if pvc == nil {
			return
		}
		c.rec.record(ref, componentPVController, corev1.EventTypeNormal, "ExternalProvisioning",
			fmt.Sprintf("Waiting for a volume to be created either by the external provisioner '%s' or manually by the system administrator. "+
				"If volume creation is delayed, please verify that the provisioner is running and correctly registered.", class.Provisioner))
		if class.Provisioner == Provisioner {
			c.provision(ctx, key, pvc, class)
			return
		}
	}
	c.setClaimPending(pvc)
}

// markProvisioner sets the annotations by which the persistentvolume controller hands a claim
// to a provisioner; nil when the claim is gone.
func (c *Controller) markProvisioner(pvc *corev1.PersistentVolumeClaim, provisioner string) *corev1.PersistentVolumeClaim {
	if pvc.Annotations[annStorageProvisioner] == provisioner && pvc.Annotations[annBetaStorageProvisioner] == provisioner {
		return pvc
	}
	e, err := c.c.Mutate(kindPVC, pvc.Namespace, pvc.Name, func(obj runtime.Object) (bool, error) {
		p := obj.(*corev1.PersistentVolumeClaim)
		if p.UID != pvc.UID {
			return false, nil
		}
		metav1.SetMetaDataAnnotation(&p.ObjectMeta, annStorageProvisioner, provisioner)
		metav1.SetMetaDataAnnotation(&p.ObjectMeta, annBetaStorageProvisioner, provisioner)
		return true, nil
	})
	if err != nil || e == nil {
		return nil
	}
	return e.Obj.(*corev1.PersistentVolumeClaim)
}

// provision creates a Docker named volume for the claim, then its PersistentVolume, bound to
// the claim from the start. Both names derive from the claim's uid, so a provisioning cut
// short (k2d stopped, Docker failed) is simply done again: the volume create is idempotent.
func (c *Controller) provision(ctx context.Context, key string, pvc *corev1.PersistentVolumeClaim, class *storagev1.StorageClass) {
	ref := pvcRef(pvc)
	component := Provisioner + "_" + c.NodeName()
	if err := provisionable(pvc); err != nil {
		c.rec.record(ref, component, corev1.EventTypeWarning, "ProvisioningFailed", "failed to provision volume with StorageClass \""+class.Name+"\": "+err.Error())
		c.setClaimPending(pvc)
		return
	}
	name := pvName(pvc)
	if e, ok := c.c.Get(resPV, "", name); ok {
		// Provisioned before the claim could be bound (k2d stopped in between).
		c.bindPV(e.Obj.(*corev1.PersistentVolume), pvc)
		return
	}
	c.rec.record(ref, component, corev1.EventTypeNormal, "Provisioning", fmt.Sprintf("External provisioner is provisioning volume for claim %q", pvc.Namespace+"/"+pvc.Name))
	vol, err := c.createDockerVolume(ctx, pvc, class)
	if err != nil {
		c.rec.record(ref, component, corev1.EventTypeWarning, "ProvisioningFailed", "failed to provision volume with StorageClass \""+class.Name+"\": "+err.Error())
		c.setClaimPending(pvc)
		c.storageRetry(key)
		return
	}
	c.storageRetryDone(key)
	pv := provisionedVolume(pvc, class, c.nodeHostname(), vol, c.now())
	e, err := c.c.Create(kindPV, pv)
	if err != nil {
		var exists *cache.AlreadyExistsError
		if !errors.As(err, &exists) {
			c.log.Warn("cannot store provisioned volume", "pv", name, "err", err)
			c.storageRetry(key)
			return
		}
		if e, _ = c.c.Get(resPV, "", name); e == nil {
			return
		}
	}
	c.rec.record(ref, component, corev1.EventTypeNormal, "ProvisioningSucceeded", "Successfully provisioned volume "+name)
	c.bindPV(e.Obj.(*corev1.PersistentVolume), pvc)
}

// createDockerVolume creates (or finds) the claim's Docker volume. The class's parameters are
// the local driver's options (type, device, o: a tmpfs or NFS volume), except "driver", which
// picks another volume driver.
func (c *Controller) createDockerVolume(ctx context.Context, pvc *corev1.PersistentVolumeClaim, class *storagev1.StorageClass) (volume.Volume, error) {
	va, err := c.volumes()
	if err != nil {
		return volume.Volume{}, err
	}
	opts := dockerVolumeOptions(pvc, class)
	vol, err := va.VolumeCreate(ctx, opts)
	if err != nil {
		return volume.Volume{}, err
	}
	if vol.Labels[LabelPVCUID] != string(pvc.UID) {
		// A volume of that name exists and is not this claim's: never take over its data.
		return volume.Volume{}, fmt.Errorf("docker volume %q exists and does not belong to this claim (label %s=%q)", opts.Name, LabelPVCUID, vol.Labels[LabelPVCUID])
	}
	return vol, nil
}

// bindPV binds a volume and a claim as the persistentvolume controller does: the volume's
// claimRef and phase first, then the claim's volumeName, annotations and status. Either write
// may be the last one before a stop; the next sync finishes the other.
func (c *Controller) bindPV(pv *corev1.PersistentVolume, pvc *corev1.PersistentVolumeClaim) {
	now := metav1.NewTime(c.now().Truncate(time.Second))
	e, err := c.c.Mutate(kindPV, "", pv.Name, func(obj runtime.Object) (bool, error) {
		v := obj.(*corev1.PersistentVolume)
		return bindVolume(v, pvc, now), nil
	})
	if err != nil {
		return
	}
	if e != nil {
		pv = e.Obj.(*corev1.PersistentVolume)
	}
	if ref := pv.Spec.ClaimRef; ref == nil || ref.UID != pvc.UID {
		return // claimed by another claim meanwhile
	}
	_, _ = c.c.Mutate(kindPVC, pvc.Namespace, pvc.Name, func(obj runtime.Object) (bool, error) {
		p := obj.(*corev1.PersistentVolumeClaim)
		if p.UID != pvc.UID {
			return false, nil
		}
		return bindClaim(p, pv), nil
	})
}

// syncNamedClaim handles a claim whose spec.volumeName is set: bound, or asking for a volume.
func (c *Controller) syncNamedClaim(pvc *corev1.PersistentVolumeClaim) {
	ref := pvcRef(pvc)
	e, ok := c.c.Get(resPV, "", pvc.Spec.VolumeName)
	if !ok {
		if pvc.Annotations[annBindCompleted] != "" {
			if pvc.Status.Phase != corev1.ClaimLost {
				c.rec.record(ref, componentPVController, corev1.EventTypeWarning, "ClaimLost", "Bound claim has lost its PersistentVolume. Data on the volume is lost!")
			}
			c.setClaimPhase(pvc, corev1.ClaimLost)
			return
		}
		c.setClaimPending(pvc) // asks for a volume that does not exist (yet)
		return
	}
	pv := e.Obj.(*corev1.PersistentVolume)
	switch {
	case pv.Spec.ClaimRef == nil:
		if err := volumeSatisfiesClaim(pv, pvc); err != nil {
			c.rec.record(ref, componentPVController, corev1.EventTypeWarning, "VolumeMismatch",
				fmt.Sprintf("Cannot bind to requested volume %q: %v", pv.Name, err))
			c.setClaimPending(pvc)
			return
		}
		c.bindPV(pv, pvc)
	case claimRefMatches(pv.Spec.ClaimRef, pvc):
		c.bindPV(pv, pvc)
	case pvc.Annotations[annBindCompleted] != "":
		if pvc.Status.Phase != corev1.ClaimLost {
			c.rec.record(ref, componentPVController, corev1.EventTypeWarning, "ClaimMisbound", "Two claims are bound to the same volume, this one is bound incorrectly")
		}
		c.setClaimPhase(pvc, corev1.ClaimLost)
	default:
		c.rec.record(ref, componentPVController, corev1.EventTypeWarning, "FailedBinding", fmt.Sprintf("volume %q already bound to a different claim.", pv.Name))
		c.setClaimPending(pvc)
	}
}

func (c *Controller) setClaimPending(pvc *corev1.PersistentVolumeClaim) {
	c.setClaimPhase(pvc, corev1.ClaimPending)
}

func (c *Controller) setClaimPhase(pvc *corev1.PersistentVolumeClaim, phase corev1.PersistentVolumeClaimPhase) {
	if pvc.Status.Phase == phase {
		return
	}
	_, _ = c.c.Mutate(kindPVC, pvc.Namespace, pvc.Name, func(obj runtime.Object) (bool, error) {
		p := obj.(*corev1.PersistentVolumeClaim)
		if p.UID != pvc.UID || p.Status.Phase == phase {
			return false, nil
		}
		p.Status.Phase = phase
		if phase == corev1.ClaimPending {
			p.Status.AccessModes, p.Status.Capacity = nil, nil
		}
		return true, nil
	})
}

// finishClaimDeletion removes the pvc-protection finalizer once no pod uses the claim, and
// then the claim; its volume is released by the volume's sync.
func (c *Controller) finishClaimDeletion(pvc *corev1.PersistentVolumeClaim) {
	pods, _ := c.c.List(resPods, pvc.Namespace)
	if slices.Contains(pvc.Finalizers, FinalizerPVCProtection) {
		if users := claimUsers(pvc, podsOf(pods)); len(users) > 0 {
			return // the deletion of the last user enqueues the claim again
		}
	}
	e, err := c.c.Mutate(kindPVC, pvc.Namespace, pvc.Name, func(obj runtime.Object) (bool, error) {
		p := obj.(*corev1.PersistentVolumeClaim)
		if p.UID != pvc.UID {
			return false, nil
		}
		n := len(p.Finalizers)
		p.Finalizers = withoutString(p.Finalizers, FinalizerPVCProtection)
		return len(p.Finalizers) != n, nil
	})
	if err != nil {
		return
	}
	if e != nil {
		pvc = e.Obj.(*corev1.PersistentVolumeClaim)
	}
	if len(pvc.Finalizers) == 0 {
		_, _ = c.c.Delete(kindPVC, pvc.Namespace, pvc.Name, "", string(pvc.UID))
	}
}

// hasConsumer reports whether a pod that will run uses the claim (WaitForFirstConsumer).
func (c *Controller) hasConsumer(pvc *corev1.PersistentVolumeClaim) bool {
	pods, _ := c.c.List(resPods, pvc.Namespace)
	for _, p := range podsOf(pods) {
		if p.DeletionTimestamp == nil && p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed && podUsesClaim(p, pvc.Name) {
			return true
		}
	}
	return false
}

// defaultClass returns the default StorageClass, or nil.
func (c *Controller) defaultClass() *storagev1.StorageClass {
	classes, _ := c.c.List(resSC, "")
	return DefaultStorageClass(classesOf(classes))
}

// nodeHostname is the node's kubernetes.io/hostname label, which provisioned volumes' node
// affinity names.
func (c *Controller) nodeHostname() string {
	name := c.NodeName()
	if e, ok := c.c.Get(resNodes, "", name); ok {
		if h := e.Meta().GetLabels()[labelHostname]; h != "" {
			return h
		}
	}
	return name
}

// ---- volumes ----

func (c *Controller) syncVolume(ctx context.Context, key, name string) {
	e, ok := c.c.Get(resPV, "", name)
	if !ok {
		c.removeGoneVolume(ctx, key, name)
		return
	}
	pv := e.Obj.(*corev1.PersistentVolume)
	var claim *corev1.PersistentVolumeClaim
	if ref := pv.Spec.ClaimRef; ref != nil {
		if ce, ok := c.c.Get(resPVC, ref.Namespace, ref.Name); ok {
			claim = ce.Obj.(*corev1.PersistentVolumeClaim)
		}
	}
	st := volumeState(pv, claim)
	switch st {
	case volumeBound, volumeBinding:
		if st == volumeBinding {
			c.storageQueue().Add("c/" + pv.Spec.ClaimRef.Namespace + "/" + pv.Spec.ClaimRef.Name)
		}
		c.setVolumePhase(pv, corev1.VolumeBound, "")
		return
	case volumeMisbound:
		// The claim went to another volume; a binding the controller made is undone.
		if pv.Annotations[annBoundByController] != "" {
			_, _ = c.c.Mutate(kindPV, "", pv.Name, func(obj runtime.Object) (bool, error) {
				v := obj.(*corev1.PersistentVolume)
				if v.UID != pv.UID || v.Spec.ClaimRef == nil || v.Spec.ClaimRef.UID != pv.Spec.ClaimRef.UID {
					return false, nil
				}
				v.Spec.ClaimRef = nil
				delete(v.Annotations, annBoundByController)
				setPVPhase(v, corev1.VolumeAvailable, "", metav1.NewTime(c.now().Truncate(time.Second)))
				return true, nil
			})
		}
		return
	case volumeAvailable:
		if pv.DeletionTimestamp != nil {
			c.finishVolumeDeletion(ctx, key, pv)
			return
		}
		if pv.Spec.ClaimRef != nil {
			// Reserved for a claim by name: that claim binds to it.
			c.storageQueue().Add("c/" + pv.Spec.ClaimRef.Namespace + "/" + pv.Spec.ClaimRef.Name)
		} else {
			c.wakeUnboundClaims()
		}
		c.setVolumePhase(pv, corev1.VolumeAvailable, "")
		return
	}
	// Released: its claim is gone.
	if pv.Status.Phase != corev1.VolumeReleased && pv.Status.Phase != corev1.VolumeFailed {
		pv = c.setVolumePhase(pv, corev1.VolumeReleased, "")
		if pv == nil {
			return
		}
	}
	switch pv.Spec.PersistentVolumeReclaimPolicy {
	case corev1.PersistentVolumeReclaimDelete:
		if pv.Annotations[AnnotationDockerVolume] == "" {
			if pv.Status.Phase != corev1.VolumeFailed {
				msg := "k2d deletes only the Docker volumes it provisioned; reclaim policy Delete cannot delete " + volumeSourceKind(pv) + " volume " + pv.Name
				c.rec.record(pvRef(pv), componentPVController, corev1.EventTypeWarning, "VolumeFailedDelete", msg)
				c.setVolumePhase(pv, corev1.VolumeFailed, msg)
			}
			if pv.DeletionTimestamp != nil {
				c.finishVolumeDeletion(ctx, key, pv)
			}
			return
		}
		if !c.removeDockerVolume(ctx, key, pv) {
			return
		}
		_, _ = c.c.Delete(kindPV, "", pv.Name, "", string(pv.UID))
	case corev1.PersistentVolumeReclaimRecycle:
		if pv.Status.Phase != corev1.VolumeFailed {
			msg := "No recycler plugin found for the volume!"
			c.rec.record(pvRef(pv), componentPVController, corev1.EventTypeWarning, "VolumeFailedRecycle", msg)
			c.setVolumePhase(pv, corev1.VolumeFailed, msg)
		}
		if pv.DeletionTimestamp != nil {
			c.finishVolumeDeletion(ctx, key, pv)
		}
	default: // Retain (the default of volumes made by hand): the data stays, and so does the volume
		if pv.DeletionTimestamp != nil {
			c.finishVolumeDeletion(ctx, key, pv)
		}
	}
}

// finishVolumeDeletion completes `kubectl delete pv` of a volume that is not bound: the
// Docker volume of a Delete policy goes too (as the provisioner's finalizer does it on a
// cluster), then the pv-protection finalizer, then the object.
func (c *Controller) finishVolumeDeletion(ctx context.Context, key string, pv *corev1.PersistentVolume) {
	if pv.Spec.PersistentVolumeReclaimPolicy == corev1.PersistentVolumeReclaimDelete && pv.Annotations[AnnotationDockerVolume] != "" {
		if !c.removeDockerVolume(ctx, key, pv) {
			return
		}
	}
	e, err := c.c.Mutate(kindPV, "", pv.Name, func(obj runtime.Object) (bool, error) {
		v := obj.(*corev1.PersistentVolume)
		if v.UID != pv.UID {
			return false, nil
		}
		n := len(v.Finalizers)
		v.Finalizers = withoutString(v.Finalizers, FinalizerPVProtection)
		return len(v.Finalizers) != n, nil
	})
	if err != nil {
		return
	}
	if e != nil {
		pv = e.Obj.(*corev1.PersistentVolume)
	}
	if len(pv.Finalizers) == 0 {
		_, _ = c.c.Delete(kindPV, "", pv.Name, "", string(pv.UID))
	}
}

// removeDockerVolume removes the Docker volume of a Delete-policy volume, found by its
// annotation and by label. It reports false (and schedules a retry) while Docker refuses, e.g.
// because a container being removed still holds the volume.
func (c *Controller) removeDockerVolume(ctx context.Context, key string, pv *corev1.PersistentVolume) bool {
	names := map[string]bool{}
	if n := pv.Annotations[AnnotationDockerVolume]; n != "" {
		names[n] = true
	}
	vols, err := c.d.VolumeList(ctx, translate.LabelManaged+"=true", LabelPV+"="+pv.Name)
	if err != nil {
		c.storageRetry(key)
		return false
	}
	for _, v := range vols {
		names[v.Name] = true
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	for _, n := range sorted {
		if err := c.d.VolumeRemove(ctx, n, false); err != nil && !isNotFound(err) {
			c.rec.record(pvRef(pv), componentPVController, corev1.EventTypeWarning, "VolumeFailedDelete", err.Error())
			c.storageRetry(key)
			return false
		}
	}
	c.storageRetryDone(key)
	return true
}

// removeGoneVolume removes the Docker volume of a Delete-policy volume that left the API
// without k2d's reclaim (its finalizers were removed by hand).
func (c *Controller) removeGoneVolume(ctx context.Context, key, name string) {
	st := &c.storage
	st.mu.Lock()
	pv := st.gone[name]
	st.mu.Unlock()
	if pv == nil {
		return
	}
	if c.removeDockerVolume(ctx, key, pv) {
		st.mu.Lock()
		delete(st.gone, name)
		st.mu.Unlock()
	}
}

// setVolumePhase writes the volume's phase (and message); it returns the stored volume, or
// nil when it is gone.
func (c *Controller) setVolumePhase(pv *corev1.PersistentVolume, phase corev1.PersistentVolumePhase, msg string) *corev1.PersistentVolume {
	if pv.Status.Phase == phase && pv.Status.Message == msg {
		return pv
	}
	now := metav1.NewTime(c.now().Truncate(time.Second))
	e, err := c.c.Mutate(kindPV, "", pv.Name, func(obj runtime.Object) (bool, error) {
		v := obj.(*corev1.PersistentVolume)
		if v.UID != pv.UID {
			return false, nil
		}
		return setPVPhase(v, phase, msg, now), nil
	})
	if err != nil {
		return nil
	}
	if e == nil {
		if e, _ = c.c.Get(resPV, "", pv.Name); e == nil {
			return nil
		}
	}
	return e.Obj.(*corev1.PersistentVolume)
}

// wakeUnboundClaims enqueues the claims still looking for a volume: an Available volume may
// suit them.
func (c *Controller) wakeUnboundClaims() {
	pvcs, _ := c.c.List(resPVC, "")
	q := c.storageQueue()
	for _, e := range pvcs {
		if pvc := e.Obj.(*corev1.PersistentVolumeClaim); pvc.Spec.VolumeName == "" && pvc.DeletionTimestamp == nil {
			q.Add("c/" + pvc.Namespace + "/" + pvc.Name)
		}
	}
}
