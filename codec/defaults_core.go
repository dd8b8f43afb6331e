package codec

import (
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Defaulting of the service and storage kinds: the scheme defaults of pkg/apis/core/v1,
// discovery/v1 and storage/v1. (ConfigMaps, Secrets and ServiceAccounts: config.go.)
func init() {
	dfltRegister(dfltService)
	dfltRegister(dfltEndpoints)
	dfltRegister(dfltEndpointSlice)
	dfltRegister(dfltPersistentVolumeClaim)
	dfltRegister(dfltPersistentVolume)
	dfltRegister(dfltStorageClass)
}

// TracksGeneration reports whether metadata.generation is maintained for objects of k. The
// v1.32 registry strategies of ConfigMap, Secret, ServiceAccount, Service, Endpoints,
// PersistentVolumeClaim, PersistentVolume and StorageClass never set it, so these objects
// have none; EndpointSlice, Deployment and ReplicaSet set 1 on create and bump it. Pods,
// namespaces, nodes and events keep k2d's generation (the pod worker keys on it).
func TracksGeneration(k *Kind) bool {
	switch k.GroupResource() {
	case "configmaps", "secrets", "serviceaccounts", "services", "endpoints",
		"persistentvolumeclaims", "persistentvolumes", "storageclasses.storage.k8s.io":
		return false
	}
	return true
}

// dfltService is SetDefaults_Service. clusterIPs, ipFamilyPolicy and ipFamilies are the
// service REST storage's business (fastapi/services.go), as are ClusterIPs and NodePorts.
func dfltService(svc *corev1.Service) {
	spec := &svc.Spec
	if spec.SessionAffinity == "" {
		spec.SessionAffinity = corev1.ServiceAffinityNone
	}
	switch spec.SessionAffinity {
	case corev1.ServiceAffinityNone:
		spec.SessionAffinityConfig = nil
	case corev1.ServiceAffinityClientIP:
		if c := spec.SessionAffinityConfig; c == nil || c.ClientIP == nil || c.ClientIP.TimeoutSeconds == nil {
			timeout := corev1.DefaultClientIPServiceAffinitySeconds
			spec.SessionAffinityConfig = &corev1.SessionAffinityConfig{ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: &timeout}}
		}
	}
	if spec.Type == "" {
		spec.Type = corev1.ServiceTypeClusterIP
	}
	for i := range spec.Ports {
		p := &spec.Ports[i]
		if p.Protocol == "" {
			p.Protocol = corev1.ProtocolTCP
		}
		if p.TargetPort == intstr.FromInt32(0) || p.TargetPort == intstr.FromString("") {
			p.TargetPort = intstr.FromInt32(p.Port)
		}
	}
	if svcExternallyAccessible(svc) && spec.ExternalTrafficPolicy == "" {
		spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyCluster
	}
	switch spec.Type {
	case corev1.ServiceTypeClusterIP, corev1.ServiceTypeNodePort, corev1.ServiceTypeLoadBalancer:
		if spec.InternalTrafficPolicy == nil {
			p := corev1.ServiceInternalTrafficPolicyCluster
			spec.InternalTrafficPolicy = &p
		}
	case corev1.ServiceTypeExternalName:
		// Dropped on every read by the server (defaultOnReadInternalTrafficPolicy).
		spec.InternalTrafficPolicy = nil
	}
	if spec.Type == corev1.ServiceTypeLoadBalancer && spec.AllocateLoadBalancerNodePorts == nil {
		t := true
		spec.AllocateLoadBalancerNodePorts = &t
	}

}

// svcExternallyAccessible is pkg/api/service.ExternallyAccessible.
func svcExternallyAccessible(svc *corev1.Service) bool {
	switch svc.Spec.Type {
	case corev1.ServiceTypeLoadBalancer, corev1.ServiceTypeNodePort:
		return true
	case corev1.ServiceTypeClusterIP:
		return len(svc.Spec.ExternalIPs) > 0
	}
	return false
}

func dfltEndpoints(ep *corev1.Endpoints) {
	for i := range ep.Subsets {
		for j := range ep.Subsets[i].Ports {
			if p := &ep.Subsets[i].Ports[j]; p.Protocol == "" {
				p.Protocol = corev1.ProtocolTCP
			}
		}
	}
}

func dfltEndpointSlice(es *discoveryv1.EndpointSlice) {
	for i := range es.Ports {
		p := &es.Ports[i]
		if p.Name == nil {
			name := ""
			p.Name = &name
		}
		if p.Protocol == nil {
			proto := corev1.ProtocolTCP
			p.Protocol = &proto
		}
	}
}

func dfltPersistentVolumeClaim(pvc *corev1.PersistentVolumeClaim) {
	if pvc.Status.Phase == "" {
		pvc.Status.Phase = corev1.ClaimPending
	}
	if pvc.Spec.VolumeMode == nil {
		m := corev1.PersistentVolumeFilesystem
		pvc.Spec.VolumeMode = &m
	}
	dfltRoundResources(pvc.Spec.Resources.Limits)
	dfltRoundResources(pvc.Spec.Resources.Requests)
}

func dfltPersistentVolume(pv *corev1.PersistentVolume) {
	if pv.Status.Phase == "" {
		pv.Status.Phase = corev1.VolumePending
	}
	if pv.Spec.PersistentVolumeReclaimPolicy == "" {
		pv.Spec.PersistentVolumeReclaimPolicy = corev1.PersistentVolumeReclaimRetain
	}
	if pv.Spec.VolumeMode == nil {
		m := corev1.PersistentVolumeFilesystem
		pv.Spec.VolumeMode = &m
	}
	dfltRoundResources(pv.Spec.Capacity)
	// The nested sources take the same defaults as their pod volume counterparts.
	src := &pv.Spec.PersistentVolumeSource
	if src.HostPath != nil && src.HostPath.Type == nil {
		t := corev1.HostPathUnset
		src.HostPath.Type = &t
	}
	if src.ISCSI != nil && src.ISCSI.ISCSIInterface == "" {
		src.ISCSI.ISCSIInterface = "default"
	}
	if src.RBD != nil {
		dfltString(&src.RBD.RBDPool, "rbd")
		dfltString(&src.RBD.RadosUser, "admin")
		dfltString(&src.RBD.Keyring, "/etc/ceph/keyring")
	}
	if d := src.AzureDisk; d != nil {
		v := corev1.Volume{VolumeSource: corev1.VolumeSource{AzureDisk: d}}
		dfltVolume(&v)
	}
	if s := src.ScaleIO; s != nil {
		dfltString(&s.StorageMode, "ThinProvisioned")
		dfltString(&s.FSType, "xfs")
	}
}

func dfltStorageClass(sc *storagev1.StorageClass) {
	if sc.ReclaimPolicy == nil {
		p := corev1.PersistentVolumeReclaimDelete
		sc.ReclaimPolicy = &p
	}
	if sc.VolumeBindingMode == nil {
		m := storagev1.VolumeBindingImmediate
		sc.VolumeBindingMode = &m
	}
}

// TracksGenerationOf is TracksGeneration for an object of a served kind.
func TracksGenerationOf(obj runtime.Object) bool {
	switch obj.(type) {
	case *corev1.ConfigMap, *corev1.Secret, *corev1.ServiceAccount, *corev1.Service, *corev1.Endpoints,
		*corev1.PersistentVolumeClaim, *corev1.PersistentVolume, *storagev1.StorageClass:
		return false
	}
	return true
}
