package codec

import (
	"encoding/json"
	"fmt"
	"path"
	"reflect"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// PersistentVolume, PersistentVolumeClaim (pkg/apis/core/validation) and StorageClass
// (pkg/apis/storage/validation) validation, as a v1.32 server with its default feature gates
// has it: RecoverVolumeExpansionFailure on, VolumeAttributesClass off (the strategies drop
// volumeAttributesClassName, see fastapi/strategy.go).

func init() {
	vldKinds["persistentvolumes"] = vldTyped(vldPVCreate, vldPVUpdate)
	vldKinds["persistentvolumeclaims"] = vldTyped(vldPVCCreate, vldPVCUpdate)
	vldKinds["storageclasses.storage.k8s.io"] = vldTyped(vldStorageClassCreate, vldStorageClassUpdate)
}

var (
	vldAccessModes      = []string{"ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"}
	vldPVReclaim        = []string{"Delete", "Recycle", "Retain"}
	vldSCReclaim        = []string{"Delete", "Retain"}
	vldVolumeModes      = []string{"Block", "Filesystem"}
	vldBindingModes     = []string{"Immediate", "WaitForFirstConsumer"}
	vldNotPositive      = "must be greater than zero"
	vldMaxProvParams    = 512
	vldMaxProvParamSize = 256 * (1 << 10)
)

const vldBetaStorageClassAnnotation = "volume.beta.kubernetes.io/storage-class"

// vldAccessModesOf checks a list of access modes; empty reports required with msg.
func vldAccessModesOf(modes []corev1.PersistentVolumeAccessMode, msg string, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(modes) == 0 {
		errs = append(errs, field.Required(fld, msg))
	}
	rwop, other := false, false
	for _, m := range modes {
		if !slices.Contains(vldAccessModes, string(m)) {
			errs = append(errs, field.NotSupported(fld, m, vldAccessModes))
			continue
		}
		if m == corev1.ReadWriteOncePod {
			rwop = true
		} else {
			other = true
		}
	}
	if rwop && other {
		errs = append(errs, field.Forbidden(fld, "may not use ReadWriteOncePod with other access modes"))
	}
	return errs
}

// ---- persistent volumes ----

func vldPVCreate(pv *corev1.PersistentVolume) field.ErrorList {
	errs := vldKubeObjectMeta(&pv.ObjectMeta, false, vldDNSSubdomainName, field.NewPath("metadata"))
	return append(errs, vldPVSpec(&pv.Spec, field.NewPath("spec"))...)
}

func vldPVSpec(spec *corev1.PersistentVolumeSpec, fld *field.Path) field.ErrorList {
	errs := vldAccessModesOf(spec.AccessModes, "", fld.Child("accessModes"))
	capPath := fld.Child("capacity")
	if len(spec.Capacity) == 0 {
		errs = append(errs, field.Required(capPath, ""))
	}
	if _, ok := spec.Capacity[corev1.ResourceStorage]; !ok || len(spec.Capacity) > 1 {
		errs = append(errs, field.NotSupported(capPath, spec.Capacity, []string{"storage"}))
	}
	for _, name := range vldSortedResourceNames(spec.Capacity) {
		q := spec.Capacity[name]
		p := capPath.Key(string(name))
		if q.Value() < 0 {
			errs = append(errs, field.Invalid(p, q.Value(), "must be a valid resource quantity"))
		}
		if q.Sign() <= 0 {
			errs = append(errs, field.Invalid(p, q.String(), vldNotPositive))
		}
	}
	if r := spec.PersistentVolumeReclaimPolicy; r != "" && !slices.Contains(vldPVReclaim, string(r)) {
		errs = append(errs, field.NotSupported(fld.Child("persistentVolumeReclaimPolicy"), r, vldPVReclaim))
	}
	affinity := false
	if na := spec.NodeAffinity; na != nil {
		affinity = true
		if na.Required != nil {
			errs = append(errs, vldNodeSelector(na.Required, fld.Child("nodeAffinity", "required"))...)
		} else {
			errs = append(errs, field.Required(fld.Child("nodeAffinity", "required"), "must specify required node constraints"))
		}
	}
	errs = append(errs, vldPVSource(&spec.PersistentVolumeSource, affinity, fld)...)
	if spec.HostPath != nil && path.Clean(spec.HostPath.Path) == "/" && spec.PersistentVolumeReclaimPolicy == corev1.PersistentVolumeReclaimRecycle {
		errs = append(errs, field.Forbidden(fld.Child("persistentVolumeReclaimPolicy"), "may not be 'recycle' for a hostPath mount of '/'"))
	}
	if spec.StorageClassName != "" {
		for _, msg := range vldDNSSubdomainName(spec.StorageClassName, false) {
			errs = append(errs, field.Invalid(fld.Child("storageClassName"), spec.StorageClassName, msg))
		}
	}
	if m := spec.VolumeMode; m != nil && !slices.Contains(vldVolumeModes, string(*m)) {
		errs = append(errs, field.NotSupported(fld.Child("volumeMode"), *m, vldVolumeModes))
	}
	return errs
}

// vldPVSource requires exactly one volume source, checked in the server's order and under
// its path names. The in-tree cloud and network sources k2d cannot mount are counted but
// their fields are not checked.
func vldPVSource(src *corev1.PersistentVolumeSource, affinity bool, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	n := 0
	one := func(set bool, child string, check func(p *field.Path) field.ErrorList) {
		if !set {
			return
		}
		if n > 0 {
			errs = append(errs, field.Forbidden(fld.Child(child), vldMultipleVolume))
			return
		}
		n++
		if check != nil {
			errs = append(errs, check(fld.Child(child))...)
		}
	}
	one(src.HostPath != nil, "hostPath", func(p *field.Path) field.ErrorList { return vldHostPath(src.HostPath, p) })
	one(src.GCEPersistentDisk != nil, "gcePersistentDisk", nil)
	one(src.AWSElasticBlockStore != nil, "awsElasticBlockStore", nil)
	one(src.Glusterfs != nil, "glusterfs", nil)
	one(src.Flocker != nil, "flocker", nil)
	one(src.NFS != nil, "nfs", func(p *field.Path) field.ErrorList {
		var e field.ErrorList
		if src.NFS.Server == "" {
			e = append(e, field.Required(p.Child("server"), ""))
		}
		if src.NFS.Path == "" {
			e = append(e, field.Required(p.Child("path"), ""))
		}
		if !path.IsAbs(src.NFS.Path) {
			e = append(e, field.Invalid(p.Child("path"), src.NFS.Path, "must be an absolute path"))
		}
		return e
	})
	one(src.RBD != nil, "rbd", nil)
	one(src.Quobyte != nil, "quobyte", nil)
	one(src.CephFS != nil, "cephFS", nil)
	one(src.ISCSI != nil, "iscsi", nil)
	one(src.Cinder != nil, "cinder", nil)
	one(src.FC != nil, "fc", nil)
	if src.FlexVolume != nil {
		n++ // the server never reports flexVolume as a second source
	}
	one(src.AzureFile != nil, "azureFile", nil)
	one(src.VsphereVolume != nil, "vsphereVolume", nil)
	one(src.PhotonPersistentDisk != nil, "photonPersistentDisk", nil)
	one(src.PortworxVolume != nil, "portworxVolume", nil)
	one(src.AzureDisk != nil, "azureDisk", nil)
	one(src.ScaleIO != nil, "scaleIO", nil)
	one(src.Local != nil, "local", func(p *field.Path) field.ErrorList {
		var e field.ErrorList
		if src.Local.Path == "" {
			e = append(e, field.Required(p.Child("path"), ""))
		} else {
			e = append(e, vldNoBacksteps(src.Local.Path, p.Child("path"))...)
		}
		if !affinity {
			e = append(e, field.Required(fld.Child("nodeAffinity"), "Local volume requires node affinity"))
		}
		return e
	})
	one(src.StorageOS != nil, "storageos", nil)
	one(src.CSI != nil, "csi", func(p *field.Path) field.ErrorList { return vldCSIPersistentSource(src.CSI, p) })
	if n == 0 {
		errs = append(errs, field.Required(fld, "must specify a volume type"))
	}
	return errs
}

func vldCSIDriverName(name string, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	if name == "" {
		errs = append(errs, field.Required(fld, ""))
	}
	if len(name) > 63 {
		errs = append(errs, field.TooLong(fld, "", 63))
	}
	for _, msg := range validation.IsDNS1123Subdomain(strings.ToLower(name)) {
		errs = append(errs, field.Invalid(fld, name, msg))
	}
	return errs
}

func vldCSIPersistentSource(csi *corev1.CSIPersistentVolumeSource, fld *field.Path) field.ErrorList {
	errs := vldCSIDriverName(csi.Driver, fld.Child("driver"))
	if csi.VolumeHandle == "" {
		errs = append(errs, field.Required(fld.Child("volumeHandle"), ""))
	}
	for _, r := range []struct {
		name string
		ref  *corev1.SecretReference
	}{
		{"controllerPublishSecretRef", csi.ControllerPublishSecretRef},
		{"controllerExpandSecretRef", csi.ControllerExpandSecretRef},
		{"nodePublishSecretRef", csi.NodePublishSecretRef},
		{"nodeExpandSecretRef", csi.NodeExpandSecretRef},
	} {
		if r.ref == nil {
			continue
		}
		p := fld.Child(r.name)
		if r.ref.Name == "" {
			errs = append(errs, field.Required(p.Child("name"), ""))
		} else {
			for _, msg := range validation.IsDNS1123Subdomain(r.ref.Name) {
				errs = append(errs, field.Invalid(p.Child("name"), r.ref.Name, msg))
			}
		}
		if r.ref.Namespace == "" {
			errs = append(errs, field.Required(p.Child("namespace"), ""))
		} else {
			errs = append(errs, vldDNS1123Label(r.ref.Namespace, p.Child("namespace"))...)
		}
	}
	return errs
}

// vldNodeSelector is ValidateNodeSelector, for the required node affinity of volumes.
func vldNodeSelector(ns *corev1.NodeSelector, fld *field.Path) field.ErrorList {
	tp := fld.Child("nodeSelectorTerms")
	if len(ns.NodeSelectorTerms) == 0 {
		return field.ErrorList{field.Required(tp, "must have at least one node selector term")}
	}
	var errs field.ErrorList
	for i, term := range ns.NodeSelectorTerms {
		p := tp.Index(i)
		for j, r := range term.MatchExpressions {
			rp := p.Child("matchExpressions").Index(j)
			switch r.Operator {
			case corev1.NodeSelectorOpIn, corev1.NodeSelectorOpNotIn:
				if len(r.Values) == 0 {
					errs = append(errs, field.Required(rp.Child("values"), "must be specified when `operator` is 'In' or 'NotIn'"))
				}
			case corev1.NodeSelectorOpExists, corev1.NodeSelectorOpDoesNotExist:
				if len(r.Values) > 0 {
					errs = append(errs, field.Forbidden(rp.Child("values"), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
				}
			case corev1.NodeSelectorOpGt, corev1.NodeSelectorOpLt:
				if len(r.Values) != 1 {
					errs = append(errs, field.Required(rp.Child("values"), "must be specified single value when `operator` is 'Lt' or 'Gt'"))
				}
			default:
				errs = append(errs, field.Invalid(rp.Child("operator"), r.Operator, "not a valid selector operator"))
			}
			errs = append(errs, vldLabelName(r.Key, rp.Child("key"))...)
			for k, v := range r.Values {
				for _, msg := range validation.IsValidLabelValue(v) {
					errs = append(errs, field.Invalid(rp.Child("values").Index(k), v, msg))
				}
			}
		}
		for j, r := range term.MatchFields {
			rp := p.Child("matchFields").Index(j)
			switch r.Operator {
			case corev1.NodeSelectorOpIn, corev1.NodeSelectorOpNotIn:
				if len(r.Values) != 1 {
					errs = append(errs, field.Required(rp.Child("values"), "must be only one value when `operator` is 'In' or 'NotIn' for node field selector"))
				}
			default:
				errs = append(errs, field.Invalid(rp.Child("operator"), r.Operator, "not a valid selector operator"))
			}
			if r.Key != "metadata.name" {
				errs = append(errs, field.Invalid(rp.Child("key"), r.Key, "not a valid field selector key"))
				continue
			}
			for k, v := range r.Values {
				for _, msg := range vldDNSSubdomainName(v, false) {
					errs = append(errs, field.Invalid(rp.Child("values").Index(k), v, msg))
				}
			}
		}
	}
	return errs
}

// vldPVUpdate is the strategy's ValidatePersistentVolume plus ValidatePersistentVolumeUpdate,
// which validates the new volume once more: the server reports those causes twice.
func vldPVUpdate(pv, old *corev1.PersistentVolume) field.ErrorList {
	errs := append(vldPVCreate(pv), vldPVCreate(pv)...)
	src := pv.Spec.PersistentVolumeSource
	// A controllerExpandSecretRef may be added to a CSI volume that had none.
	if old.Spec.CSI != nil && old.Spec.CSI.ControllerExpandSecretRef == nil && src.CSI != nil && src.CSI.ControllerExpandSecretRef != nil {
		csi := *src.CSI
		csi.ControllerExpandSecretRef = nil
		src.CSI = &csi
	}
	if !vldSemanticEqual(src, old.Spec.PersistentVolumeSource) {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "persistentvolumesource"),
			"spec.persistentvolumesource is immutable after creation\n"+vldDiff("core.PersistentVolumeSource", old.Spec.PersistentVolumeSource, src)))
	}
	if !vldSemanticEqual(pv.Spec.VolumeMode, old.Spec.VolumeMode) {
		errs = append(errs, field.Invalid(field.NewPath("volumeMode"), pv.Spec.VolumeMode, vldImmutable)) // sic: no "spec."
	}
	if old.Spec.NodeAffinity != nil && !vldNodeAffinityEqual(pv.Spec.NodeAffinity, old.Spec.NodeAffinity) {
		errs = append(errs, field.Invalid(field.NewPath("nodeAffinity"), pv.Spec.NodeAffinity, vldImmutable+", except for updating from beta label to GA"))
	}
	return errs
}

// vldBetaToGA are the node labels whose beta keys a volume's node affinity may move to the
// GA key on update.
var vldBetaToGA = map[string]string{
	"failure-domain.beta.kubernetes.io/zone":   "topology.kubernetes.io/zone",
	"failure-domain.beta.kubernetes.io/region": "topology.kubernetes.io/region",
	"beta.kubernetes.io/os":                    "kubernetes.io/os",
	"beta.kubernetes.io/arch":                  "kubernetes.io/arch",
	"beta.kubernetes.io/instance-type":         "node.kubernetes.io/instance-type",
}

func vldNodeAffinityEqual(cur, old *corev1.VolumeNodeAffinity) bool {
	if cur == nil || old == nil || cur.Required == nil || old.Required == nil {
		return vldSemanticEqual(cur, old)
	}
	masked := old.DeepCopy()
	ct, ot := cur.Required.NodeSelectorTerms, masked.Required.NodeSelectorTerms
	for i := range ot {
		if i >= len(ct) {
			break
		}
		for j := range ot[i].MatchExpressions {
			if j < len(ct[i].MatchExpressions) {
				if k := ct[i].MatchExpressions[j].Key; vldBetaToGA[ot[i].MatchExpressions[j].Key] == k {
					ot[i].MatchExpressions[j].Key = k
				}
			}
		}
	}
	return vldSemanticEqual(cur, masked)
}

// ---- persistent volume claims ----

func vldPVCCreate(pvc *corev1.PersistentVolumeClaim) field.ErrorList {
	errs := vldKubeObjectMeta(&pvc.ObjectMeta, true, vldDNSSubdomainName, field.NewPath("metadata"))
	return append(errs, vldPVCSpec(&pvc.Spec, false, field.NewPath("spec"))...)
}

// vldPVCSpec is ValidatePersistentVolumeClaimSpec. oldGroups keeps an API group the old claim
// already had in a data source, valid or not.
func vldPVCSpec(spec *corev1.PersistentVolumeClaimSpec, oldGroups bool, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(spec.AccessModes) == 0 {
		errs = append(errs, field.Required(fld.Child("accessModes"), "at least 1 access mode is required"))
	}
	if spec.Selector != nil {
		errs = append(errs, vldLabelSelector(spec.Selector, fld.Child("selector"))...)
	}
	if len(spec.AccessModes) > 0 {
		errs = append(errs, vldAccessModesOf(spec.AccessModes, "", fld.Child("accessModes"))...)
	}
	sp := fld.Child("resources").Key(string(corev1.ResourceStorage)) // sic: resources[storage]
	if q, ok := spec.Resources.Requests[corev1.ResourceStorage]; !ok {
		errs = append(errs, field.Required(sp, ""))
	} else if q.Sign() <= 0 {
		errs = append(errs, field.Invalid(sp, q.String(), vldNotPositive))
	}
	if c := spec.StorageClassName; c != nil && *c != "" {
		for _, msg := range vldDNSSubdomainName(*c, false) {
			errs = append(errs, field.Invalid(fld.Child("storageClassName"), *c, msg))
		}
	}
	if m := spec.VolumeMode; m != nil && !slices.Contains(vldVolumeModes, string(*m)) {
		errs = append(errs, field.NotSupported(fld.Child("volumeMode"), *m, vldVolumeModes))
	}
	dataSource := func(name, kind string, group *string, fp *field.Path) {
		if name == "" {
			errs = append(errs, field.Required(fp.Child("name"), ""))
		}
		if kind == "" {
			errs = append(errs, field.Required(fp.Child("kind"), ""))
		}
		g := ""
		if group != nil {
			g = *group
		}
		if g == "" && kind != "PersistentVolumeClaim" {
			errs = append(errs, field.Invalid(fp, kind, "must be 'PersistentVolumeClaim' when referencing the default apiGroup"))
		}
		if g != "" && !oldGroups {
			for _, msg := range validation.IsDNS1123Subdomain(g) {
				errs = append(errs, field.Invalid(fp.Child("apiGroup"), g, msg))
			}
		}
	}
	if ds := spec.DataSource; ds != nil {
		dataSource(ds.Name, ds.Kind, ds.APIGroup, fld.Child("dataSource"))
	}
	if ref := spec.DataSourceRef; ref != nil {
		fp := fld.Child("dataSourceRef")
		dataSource(ref.Name, ref.Kind, ref.APIGroup, fp)
		if ref.Namespace != nil && *ref.Namespace != "" {
			for _, msg := range vldDNSLabelName(*ref.Namespace, false) {
				errs = append(errs, field.Invalid(fp.Child("namespace"), *ref.Namespace, msg))
			}
		}
	}
	if ref := spec.DataSourceRef; ref != nil && ref.Namespace != nil && *ref.Namespace != "" {
		if spec.DataSource != nil {
			errs = append(errs, field.Invalid(fld, fld.Child("dataSource"), "may not be specified when dataSourceRef.namespace is specified"))
		}
	} else if ds := spec.DataSource; ds != nil && ref != nil {
		if !reflect.DeepEqual(ds.APIGroup, ref.APIGroup) || ds.Kind != ref.Kind || ds.Name != ref.Name {
			errs = append(errs, field.Invalid(fld, fld.Child("dataSource"), "must match dataSourceRef"))
		}
	}
	return errs
}

// vldPVCUpdate is the strategy's ValidatePersistentVolumeClaim plus
// ValidatePersistentVolumeClaimUpdate: the spec is immutable but for a bigger storage request
// of a bound claim and the one-time binding to a volume (volumeName).
func vldPVCUpdate(pvc, old *corev1.PersistentVolumeClaim) field.ErrorList {
	oldGroups := (old.Spec.DataSource != nil && old.Spec.DataSource.APIGroup != nil) ||
		(old.Spec.DataSourceRef != nil && old.Spec.DataSourceRef.APIGroup != nil)
	meta := field.NewPath("metadata")
	create := func() field.ErrorList {
		errs := vldKubeObjectMeta(&pvc.ObjectMeta, true, vldDNSSubdomainName, meta)
		return append(errs, vldPVCSpec(&pvc.Spec, oldGroups, field.NewPath("spec"))...)
	}
	errs := create()
	errs = append(errs, vldKubeObjectMetaUpdate(&pvc.ObjectMeta, &old.ObjectMeta, meta)...)
	errs = append(errs, create()...)

	cur, prev := pvc.Spec.DeepCopy(), old.Spec.DeepCopy()
	if old.Spec.VolumeName == "" {
		prev.VolumeName = cur.VolumeName // the binder may set it once
	}
	oldAnn, oldHasAnn := old.Annotations[vldBetaStorageClassAnnotation]
	newAnn, newHasAnn := pvc.Annotations[vldBetaStorageClassAnnotation]
	if oldHasAnn && old.Spec.StorageClassName == nil && cur.StorageClassName != nil && *cur.StorageClassName == oldAnn && (!newHasAnn || newAnn == oldAnn) {
		// The class moves from the beta annotation to the field.
		cur.StorageClassName = nil
	} else {
		if newAnn != oldAnn {
			errs = append(errs, field.Invalid(meta.Child("annotations", vldBetaStorageClassAnnotation), newAnn, vldImmutable))
		}
		if cur.StorageClassName != nil && old.Spec.StorageClassName == nil && (!oldHasAnn || *cur.StorageClassName == oldAnn) {
			cur.StorageClassName = prev.StorageClassName // nil may be set once
		}
	}
	if pvc.Status.Phase == corev1.ClaimBound && cur.Resources.Requests != nil {
		if q, ok := old.Spec.Resources.Requests[corev1.ResourceStorage]; ok {
			cur.Resources.Requests[corev1.ResourceStorage] = q
		} else {
			delete(cur.Resources.Requests, corev1.ResourceStorage)
		}
	}
	if pvc.Status.Phase == corev1.ClaimBound && cur.VolumeAttributesClassName != nil {
		cur.VolumeAttributesClassName = prev.VolumeAttributesClassName
	}
	if !vldSemanticEqual(cur, prev) {
		errs = append(errs, field.Forbidden(field.NewPath("spec"),
			"spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims\n"+vldDiff("core.PersistentVolumeClaimSpec", *prev, *cur)))
	}
	newSize := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
	oldSize := old.Spec.Resources.Requests[corev1.ResourceStorage]
	if newSize.Cmp(oldSize) < 0 {
		// RecoverVolumeExpansionFailure: shrinking back is allowed down to above what the
		// volume has.
		if statusSize := old.Status.Capacity[corev1.ResourceStorage]; newSize.Cmp(statusSize) <= 0 {
			errs = append(errs, field.Forbidden(field.NewPath("spec", "resources", "requests", "storage"), "field can not be less than status.capacity"))
		}
	}
	if !vldSemanticEqual(pvc.Spec.VolumeMode, old.Spec.VolumeMode) {
		errs = append(errs, field.Invalid(field.NewPath("volumeMode"), pvc.Spec.VolumeMode, vldImmutable)) // sic
	}
	return errs
}

// ---- storage classes ----

func vldStorageClassCreate(sc *storagev1.StorageClass) field.ErrorList {
	errs := vldKubeObjectMeta(&sc.ObjectMeta, false, vldDNSSubdomainName, field.NewPath("metadata"))
	prov := field.NewPath("provisioner")
	if sc.Provisioner == "" {
		errs = append(errs, field.Required(prov, ""))
	} else {
		for _, msg := range validation.IsQualifiedName(strings.ToLower(sc.Provisioner)) {
			errs = append(errs, field.Invalid(prov, sc.Provisioner, msg))
		}
	}
	params := field.NewPath("parameters")
	if len(sc.Parameters) > vldMaxProvParams {
		errs = append(errs, field.TooLong(params, "", vldMaxProvParams))
	} else {
		size := 0
		for _, k := range vldSortedKeys(sc.Parameters) {
			if k == "" {
				errs = append(errs, field.Invalid(params, k, "field can not be empty."))
			}
			size += len(k) + len(sc.Parameters[k])
		}
		if size > vldMaxProvParamSize {
			errs = append(errs, field.TooLong(params, "", vldMaxProvParamSize))
		}
	}
	if r := sc.ReclaimPolicy; r != nil && *r != "" && !slices.Contains(vldSCReclaim, string(*r)) {
		errs = append(errs, field.NotSupported(field.NewPath("reclaimPolicy"), r, vldSCReclaim))
	}
	switch m := sc.VolumeBindingMode; {
	case m == nil:
		errs = append(errs, field.Required(field.NewPath("volumeBindingMode"), ""))
	case !slices.Contains(vldBindingModes, string(*m)):
		errs = append(errs, field.NotSupported(field.NewPath("volumeBindingMode"), m, vldBindingModes))
	}
	var seen []map[string][]string
	for i, term := range sc.AllowedTopologies {
		p := field.NewPath("allowedTopologies").Index(i)
		exprs := map[string][]string{}
		for j, r := range term.MatchLabelExpressions {
			rp := p.Child("matchLabelExpressions").Index(j)
			if len(r.Values) == 0 {
				errs = append(errs, field.Required(rp.Child("values"), ""))
			}
			var vals []string
			for k, v := range r.Values {
				if slices.Contains(vals, v) {
					errs = append(errs, field.Duplicate(rp.Child("values").Index(k), v))
				}
				vals = append(vals, v)
			}
			errs = append(errs, vldLabelName(r.Key, rp.Child("key"))...)
			if _, dup := exprs[r.Key]; dup {
				errs = append(errs, field.Duplicate(rp.Child("key"), r.Key))
			}
			slices.Sort(vals)
			exprs[r.Key] = slices.Compact(vals)
		}
		for _, prev := range seen {
			if reflect.DeepEqual(prev, exprs) {
				errs = append(errs, field.Duplicate(p.Child("matchLabelExpressions"), ""))
			}
		}
		seen = append(seen, exprs)
	}
	return errs
}

// vldStorageClassUpdate is the strategy's ValidateStorageClass plus
// ValidateStorageClassUpdate: parameters, provisioner, reclaimPolicy and volumeBindingMode
// are fixed at creation.
func vldStorageClassUpdate(sc, old *storagev1.StorageClass) field.ErrorList {
	errs := vldStorageClassCreate(sc)
	errs = append(errs, vldKubeObjectMetaUpdate(&sc.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))...)
	if !reflect.DeepEqual(sc.Parameters, old.Parameters) {
		errs = append(errs, field.Forbidden(field.NewPath("parameters"), "updates to parameters are forbidden."))
	}
	if sc.Provisioner != old.Provisioner {
		errs = append(errs, field.Forbidden(field.NewPath("provisioner"), "updates to provisioner are forbidden."))
	}
	if !vldSemanticEqual(sc.ReclaimPolicy, old.ReclaimPolicy) {
		errs = append(errs, field.Forbidden(field.NewPath("reclaimPolicy"), "updates to reclaimPolicy are forbidden."))
	}
	if !vldSemanticEqual(sc.VolumeBindingMode, old.VolumeBindingMode) {
		errs = append(errs, field.Invalid(field.NewPath("volumeBindingMode"), sc.VolumeBindingMode, vldImmutable))
	}
	return errs
}

// vldDiff lists the top-level fields of a struct that changed, after the server's go-cmp
// diff; that format is deliberately unstable and no client parses it.
func vldDiff(typeName string, old, cur any) string {
	ov, cv := reflect.ValueOf(old), reflect.ValueOf(cur)
	if ov.Kind() != reflect.Struct || cv.Type() != ov.Type() {
		return ""
	}
	out := "  " + typeName + "{\n"
	same := 0
	for i := 0; i < ov.NumField(); i++ {
		a, c := ov.Field(i).Interface(), cv.Field(i).Interface()
		if vldSemanticEqual(a, c) {
			same++
			continue
		}
		name := ov.Type().Field(i).Name
		ja, _ := json.Marshal(a)
		jc, _ := json.Marshal(c)
		out += fmt.Sprintf("- \t%s: %s,\n+ \t%s: %s,\n", name, ja, name, jc)
	}
	return out + fmt.Sprintf("  \t... // %d identical fields\n  }\n", same)
}
