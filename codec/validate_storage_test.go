package codec

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func pvc(mut func(*corev1.PersistentVolumeClaim)) *corev1.PersistentVolumeClaim {
	p := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "data", Namespace: "default", ResourceVersion: "1"},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	}
	if mut != nil {
		mut(p)
	}
	return p
}

func bound(p *corev1.PersistentVolumeClaim) *corev1.PersistentVolumeClaim {
	p.Spec.VolumeName = "pv-1"
	p.Status = corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound,
		Capacity: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}
	return p
}

func TestValidatePVC(t *testing.T) {
	local := "local"
	runVldCases(t, "persistentvolumeclaims", []vldCase{
		{name: "valid", obj: pvc(nil)},
		{name: "access modes and size required", obj: pvc(func(p *corev1.PersistentVolumeClaim) {
			p.Spec.AccessModes, p.Spec.Resources.Requests = nil, nil
		}), want: `PersistentVolumeClaim "data" is invalid: [spec.accessModes: Required value: at least 1 access mode is required, spec.resources[storage]: Required value]`},
		{name: "bad access mode and size", obj: pvc(func(p *corev1.PersistentVolumeClaim) {
			p.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{"ReadWriteSometimes", corev1.ReadWriteOncePod, corev1.ReadOnlyMany}
			p.Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse("0")
		}), want: `PersistentVolumeClaim "data" is invalid: [spec.accessModes: Unsupported value: "ReadWriteSometimes": supported values: "ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod", spec.accessModes: Forbidden: may not use ReadWriteOncePod with other access modes, spec.resources[storage]: Invalid value: "0": must be greater than zero]`},
		{name: "volume mode", obj: pvc(func(p *corev1.PersistentVolumeClaim) {
			m := corev1.PersistentVolumeMode("Raw")
			p.Spec.VolumeMode = &m
		}), want: `PersistentVolumeClaim "data" is invalid: spec.volumeMode: Unsupported value: "Raw": supported values: "Block", "Filesystem"`},
		{name: "data source kind", obj: pvc(func(p *corev1.PersistentVolumeClaim) {
			p.Spec.DataSource = &corev1.TypedLocalObjectReference{Kind: "Pod", Name: "x"}
		}), want: `PersistentVolumeClaim "data" is invalid: spec.dataSource: Invalid value: "Pod": must be 'PersistentVolumeClaim' when referencing the default apiGroup`},
		{name: "selector", obj: pvc(func(p *corev1.PersistentVolumeClaim) {
			p.Spec.Selector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: "In"}}}
		}), want: `PersistentVolumeClaim "data" is invalid: spec.selector.matchExpressions[0].values: Required value: must be specified when ` + "`operator`" + ` is 'In' or 'NotIn'`},

		// Updates.
		{name: "binding sets volumeName once", obj: bound(pvc(nil)), old: pvc(nil)},
		{name: "spec is immutable", obj: pvc(func(p *corev1.PersistentVolumeClaim) {
			p.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany}
		}), old: pvc(nil), want: "PersistentVolumeClaim \"data\" is invalid: spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims\n  core.PersistentVolumeClaimSpec{\n- \tAccessModes: [\"ReadWriteOnce\"],\n+ \tAccessModes: [\"ReadWriteMany\"],\n..."},
		{name: "unbound claims cannot grow", obj: pvc(func(p *corev1.PersistentVolumeClaim) {
			p.Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse("2Gi")
		}), old: pvc(nil), want: `PersistentVolumeClaim "data" is invalid: spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims...`},
		{name: "bound claims grow", obj: bound(pvc(func(p *corev1.PersistentVolumeClaim) {
			p.Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse("2Gi")
		})), old: bound(pvc(nil))},
		{name: "bound claims do not shrink below capacity", obj: bound(pvc(func(p *corev1.PersistentVolumeClaim) {
			p.Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse("512Mi")
		})), old: bound(pvc(nil)), want: `PersistentVolumeClaim "data" is invalid: spec.resources.requests.storage: Forbidden: field can not be less than status.capacity`},
		{name: "volumeName only once", obj: bound(pvc(func(p *corev1.PersistentVolumeClaim) {})), old: bound(pvc(func(p *corev1.PersistentVolumeClaim) {})),
			want: ""},
		{name: "rebinding is refused", obj: func() *corev1.PersistentVolumeClaim {
			p := bound(pvc(nil))
			p.Spec.VolumeName = "pv-2"
			return p
		}(), old: bound(pvc(nil)), want: `PersistentVolumeClaim "data" is invalid: spec: Forbidden: spec is immutable after creation...`},
		{name: "a class may be set once", obj: pvc(func(p *corev1.PersistentVolumeClaim) { p.Spec.StorageClassName = &local }), old: pvc(nil)},
		{name: "volume mode is immutable", obj: pvc(func(p *corev1.PersistentVolumeClaim) {
			m := corev1.PersistentVolumeBlock
			p.Spec.VolumeMode = &m
		}), old: pvc(nil), want: "PersistentVolumeClaim \"data\" is invalid: [spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims\n  core.PersistentVolumeClaimSpec{\n- \tVolumeMode: \"Filesystem\",\n+ \tVolumeMode: \"Block\",\n  \t... // 8 identical fields\n  }\n, volumeMode: Invalid value: \"Block\": field is immutable]"},
	})
}

func pv(mut func(*corev1.PersistentVolume)) *corev1.PersistentVolume {
	p := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: "pv-1", ResourceVersion: "1"},
		Spec: corev1.PersistentVolumeSpec{
			AccessModes:            []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Capacity:               corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
			PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/srv/data"}},
		},
	}
	if mut != nil {
		mut(p)
	}
	return p
}

func TestValidatePV(t *testing.T) {
	runVldCases(t, "persistentvolumes", []vldCase{
		{name: "valid", obj: pv(nil)},
		{name: "capacity and access modes required", obj: pv(func(p *corev1.PersistentVolume) {
			p.Spec.AccessModes, p.Spec.Capacity = nil, nil
		}), want: `PersistentVolume "pv-1" is invalid: [spec.accessModes: Required value, spec.capacity: Required value, spec.capacity: Unsupported value: null: supported values: "storage"]`},
		{name: "only storage", obj: pv(func(p *corev1.PersistentVolume) {
			p.Spec.Capacity[corev1.ResourceCPU] = resource.MustParse("1")
		}), want: `PersistentVolume "pv-1" is invalid: spec.capacity: Unsupported value: {"cpu":"1","storage":"1Gi"}: supported values: "storage"`},
		{name: "a volume source is required", obj: pv(func(p *corev1.PersistentVolume) { p.Spec.HostPath = nil }),
			want: `PersistentVolume "pv-1" is invalid: spec: Required value: must specify a volume type`},
		{name: "exactly one volume source", obj: pv(func(p *corev1.PersistentVolume) {
			p.Spec.NFS = &corev1.NFSVolumeSource{Server: "nas", Path: "/export"}
		}), want: `PersistentVolume "pv-1" is invalid: spec.nfs: Forbidden: may not specify more than 1 volume type`},
		{name: "local volumes need node affinity", obj: pv(func(p *corev1.PersistentVolume) {
			p.Spec.HostPath, p.Spec.Local = nil, &corev1.LocalVolumeSource{Path: "/mnt/disk"}
		}), want: `PersistentVolume "pv-1" is invalid: spec.nodeAffinity: Required value: Local volume requires node affinity`},
		{name: "local volume with affinity", obj: pv(func(p *corev1.PersistentVolume) {
			p.Spec.HostPath, p.Spec.Local = nil, &corev1.LocalVolumeSource{Path: "/mnt/disk"}
			p.Spec.NodeAffinity = &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
				MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "kubernetes.io/hostname", Operator: corev1.NodeSelectorOpIn, Values: []string{"k2d"}}}}}}}
		})},
		{name: "csi", obj: pv(func(p *corev1.PersistentVolume) {
			p.Spec.HostPath, p.Spec.CSI = nil, &corev1.CSIPersistentVolumeSource{Driver: "Bad_Driver"}
		}), want: `PersistentVolume "pv-1" is invalid: [spec.csi.driver: Invalid value: "Bad_Driver": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*'), spec.csi.volumeHandle: Required value]`},
		{name: "reclaim policy", obj: pv(func(p *corev1.PersistentVolume) { p.Spec.PersistentVolumeReclaimPolicy = "Keep" }),
			want: `PersistentVolume "pv-1" is invalid: spec.persistentVolumeReclaimPolicy: Unsupported value: "Keep": supported values: "Delete", "Recycle", "Retain"`},
		{name: "no recycling of /", obj: pv(func(p *corev1.PersistentVolume) {
			p.Spec.HostPath.Path, p.Spec.PersistentVolumeReclaimPolicy = "/", corev1.PersistentVolumeReclaimRecycle
		}), want: `PersistentVolume "pv-1" is invalid: spec.persistentVolumeReclaimPolicy: Forbidden: may not be 'recycle' for a hostPath mount of '/'`},

		// Updates.
		{name: "claimRef and capacity may change", obj: pv(func(p *corev1.PersistentVolume) {
			p.Spec.ClaimRef = &corev1.ObjectReference{Namespace: "default", Name: "data"}
			p.Spec.Capacity[corev1.ResourceStorage] = resource.MustParse("2Gi")
		}), old: pv(nil)},
		{name: "source is immutable", obj: pv(func(p *corev1.PersistentVolume) { p.Spec.HostPath.Path = "/srv/other" }), old: pv(nil),
			want: "PersistentVolume \"pv-1\" is invalid: spec.persistentvolumesource: Forbidden: spec.persistentvolumesource is immutable after creation\n  core.PersistentVolumeSource{\n- \tHostPath: {\"path\":\"/srv/data\",\"type\":\"\"},\n+ \tHostPath: {\"path\":\"/srv/other\",\"type\":\"\"},\n..."},
	})
}

func sc(mut func(*storagev1.StorageClass)) *storagev1.StorageClass {
	s := &storagev1.StorageClass{
		ObjectMeta:  metav1.ObjectMeta{Name: "local", ResourceVersion: "1"},
		Provisioner: "k2d.io/local-volume",
		Parameters:  map[string]string{"type": "volume"},
	}
	if mut != nil {
		mut(s)
	}
	return s
}

func TestValidateStorageClass(t *testing.T) {
	runVldCases(t, "storageclasses.storage.k8s.io", []vldCase{
		{name: "valid", obj: sc(nil)},
		{name: "provisioner required", obj: sc(func(s *storagev1.StorageClass) { s.Provisioner = "" }),
			want: `StorageClass.storage.k8s.io "local" is invalid: provisioner: Required value`},
		{name: "provisioner is a qualified name", obj: sc(func(s *storagev1.StorageClass) { s.Provisioner = "k2d.io/local volume" }),
			want: `StorageClass.storage.k8s.io "local" is invalid: provisioner: Invalid value: "k2d.io/local volume": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`},
		{name: "reclaim policy", obj: sc(func(s *storagev1.StorageClass) {
			r := corev1.PersistentVolumeReclaimRecycle
			s.ReclaimPolicy = &r
		}), want: `StorageClass.storage.k8s.io "local" is invalid: reclaimPolicy: Unsupported value: "Recycle": supported values: "Delete", "Retain"`},
		{name: "binding mode", obj: sc(func(s *storagev1.StorageClass) {
			m := storagev1.VolumeBindingMode("Later")
			s.VolumeBindingMode = &m
		}), want: `StorageClass.storage.k8s.io "local" is invalid: volumeBindingMode: Unsupported value: "Later": supported values: "Immediate", "WaitForFirstConsumer"`},
		{name: "annotations and expansion may change", obj: sc(func(s *storagev1.StorageClass) {
			t := true
			s.AllowVolumeExpansion = &t
			s.Annotations = map[string]string{"storageclass.kubernetes.io/is-default-class": "true"}
		}), old: sc(nil)},
		{name: "the rest is fixed", obj: sc(func(s *storagev1.StorageClass) {
			r, m := corev1.PersistentVolumeReclaimRetain, storagev1.VolumeBindingWaitForFirstConsumer
			s.Provisioner, s.Parameters, s.ReclaimPolicy, s.VolumeBindingMode = "example.com/nfs", nil, &r, &m
		}), old: sc(nil), want: `StorageClass.storage.k8s.io "local" is invalid: [parameters: Forbidden: updates to parameters are forbidden., provisioner: Forbidden: updates to provisioner are forbidden., reclaimPolicy: Forbidden: updates to reclaimPolicy are forbidden., volumeBindingMode: Invalid value: "WaitForFirstConsumer": field is immutable]`},
	})
}

func TestDefaultStorage(t *testing.T) {
	c := sc(nil)
	Default(c)
	if *c.ReclaimPolicy != corev1.PersistentVolumeReclaimDelete || *c.VolumeBindingMode != storagev1.VolumeBindingImmediate {
		t.Errorf("StorageClass defaults: %v %v", *c.ReclaimPolicy, *c.VolumeBindingMode)
	}
	v := pv(nil)
	Default(v)
	if v.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimRetain || *v.Spec.VolumeMode != corev1.PersistentVolumeFilesystem ||
		v.Status.Phase != corev1.VolumePending || v.Spec.HostPath.Type == nil || *v.Spec.HostPath.Type != "" {
		t.Errorf("PV defaults: %+v %+v", v.Spec, v.Status)
	}
	p := pvc(nil)
	Default(p)
	if *p.Spec.VolumeMode != corev1.PersistentVolumeFilesystem || p.Status.Phase != corev1.ClaimPending {
		t.Errorf("PVC defaults: %+v %+v", p.Spec, p.Status)
	}
}

func TestTracksGeneration(t *testing.T) {
	for _, k := range Kinds {
		if k.New == nil || k.Review {
			continue
		}
		if TracksGeneration(k) != TracksGenerationOf(k.New()) {
			t.Errorf("%s: TracksGeneration and TracksGenerationOf disagree", k.GroupResource())
		}
	}
	for res, want := range map[string]bool{"configmaps": false, "services": false, "persistentvolumeclaims": false,
		"storageclasses.storage.k8s.io": false, "endpointslices.discovery.k8s.io": true, "deployments.apps": true} {
		if got := TracksGeneration(kindByGroupResource(t, res)); got != want {
			t.Errorf("%s: TracksGeneration %v", res, got)
		}
	}
}
