package codec

import (
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

func TestTableCoreColumns(t *testing.T) {
	cases := map[string]string{
		"services":                        "Name Type Cluster-IP External-IP Port(s) Age *Selector",
		"endpoints":                       "Name Endpoints Age",
		"endpointslices.discovery.k8s.io": "Name AddressType Ports Endpoints Age",
		"persistentvolumes":               "Name Capacity Access_Modes Reclaim_Policy Status Claim StorageClass VolumeAttributesClass Reason Age *VolumeMode",
		"persistentvolumeclaims":          "Name Status Volume Capacity Access_Modes StorageClass VolumeAttributesClass Age *VolumeMode",
		"storageclasses.storage.k8s.io":   "Name Provisioner ReclaimPolicy VolumeBindingMode AllowVolumeExpansion Age",
	}
	for res, want := range cases {
		var names []string
		for _, c := range TableColumns(kindByGroupResource(t, res)) {
			n := strings.ReplaceAll(c.Name, " ", "_")
			if c.Priority == 1 {
				n = "*" + n
			}
			names = append(names, n)
			if c.Description == "" {
				t.Errorf("%s: column %q has no description", res, c.Name)
			}
		}
		if got := strings.Join(names, " "); got != want {
			t.Errorf("%s columns\n got %s\nwant %s", res, got, want)
		}
	}
}

func TestTableCoreRows(t *testing.T) {
	created := metav1.NewTime(tableNow.Add(-90 * time.Minute))
	meta := func(name string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Namespace: "default", CreationTimestamp: created}
	}
	port, name := int32(80), "http"
	ip := func(s string) corev1.EndpointAddress { return corev1.EndpointAddress{IP: s} }
	rwo := []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce, corev1.ReadWriteMany, corev1.ReadWriteOnce}
	local, vac := "local", "fast"
	fs := corev1.PersistentVolumeFilesystem
	deleting := metav1.NewTime(tableNow)
	yes := true
	retain, wffc := corev1.PersistentVolumeReclaimRetain, storagev1.VolumeBindingWaitForFirstConsumer

	cases := []struct {
		name string
		res  string
		obj  runtime.Object
		want []any
	}{
		{"ClusterIP", "services", &corev1.Service{ObjectMeta: meta("web"), Spec: corev1.ServiceSpec{
			Type: corev1.ServiceTypeClusterIP, ClusterIPs: []string{"10.96.0.20"}, Selector: map[string]string{"app": "web", "tier": "fe"},
			Ports: []corev1.ServicePort{{Port: 80, Protocol: "TCP"}, {Port: 53, Protocol: "UDP"}}}},
			[]any{"web", "ClusterIP", "10.96.0.20", "<none>", "80/TCP,53/UDP", "90m", "app=web,tier=fe"}},
		{"NodePort", "services", &corev1.Service{ObjectMeta: meta("web"), Spec: corev1.ServiceSpec{
			Type: corev1.ServiceTypeNodePort, ClusterIPs: []string{"10.96.0.21"}, ExternalIPs: []string{"192.168.1.5"},
			Ports: []corev1.ServicePort{{Port: 80, NodePort: 30080, Protocol: "TCP"}}}},
			[]any{"web", "NodePort", "10.96.0.21", "192.168.1.5", "80:30080/TCP", "90m", "<none>"}},
		{"LoadBalancer pending", "services", &corev1.Service{ObjectMeta: meta("lb"), Spec: corev1.ServiceSpec{
			Type: corev1.ServiceTypeLoadBalancer, ClusterIPs: []string{"10.96.0.22"}, Ports: []corev1.ServicePort{{Port: 443, NodePort: 31443, Protocol: "TCP"}}}},
			[]any{"lb", "LoadBalancer", "10.96.0.22", "<pending>", "443:31443/TCP", "90m", "<none>"}},
		{"LoadBalancer ingress", "services", &corev1.Service{ObjectMeta: meta("lb"), Spec: corev1.ServiceSpec{
			Type: corev1.ServiceTypeLoadBalancer, ClusterIPs: []string{"10.96.0.22"}, ExternalIPs: []string{"10.0.0.9"}},
			Status: corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: []corev1.LoadBalancerIngress{{IP: "192.168.1.20"}, {Hostname: "lb.local"}, {IP: "192.168.1.20"}}}}},
			[]any{"lb", "LoadBalancer", "10.96.0.22", "192.168.1.20,lb.local,10.0.0.9", "<none>", "90m", "<none>"}},
		{"ExternalName", "services", &corev1.Service{ObjectMeta: meta("ext"), Spec: corev1.ServiceSpec{
			Type: corev1.ServiceTypeExternalName, ExternalName: "example.com"}},
			[]any{"ext", "ExternalName", "<none>", "example.com", "<none>", "90m", "<none>"}},
		{"headless", "services", &corev1.Service{ObjectMeta: meta("db"), Spec: corev1.ServiceSpec{
			Type: corev1.ServiceTypeClusterIP, ClusterIPs: []string{"None"}, Selector: map[string]string{"app": "db"}}},
			[]any{"db", "ClusterIP", "None", "<none>", "<none>", "90m", "app=db"}},

		{"no endpoints", "endpoints", &corev1.Endpoints{ObjectMeta: meta("web")}, []any{"web", "<none>", "90m"}},
		{"endpoints and more", "endpoints", &corev1.Endpoints{ObjectMeta: meta("web"), Subsets: []corev1.EndpointSubset{
			{Addresses: []corev1.EndpointAddress{ip("10.0.0.1"), ip("10.0.0.2")}, Ports: []corev1.EndpointPort{{Port: 80}, {Port: 443}}},
		}}, []any{"web", "10.0.0.1:80,10.0.0.2:80,10.0.0.1:443 + 1 more...", "90m"}},
		{"endpoints without ports, IPv6", "endpoints", &corev1.Endpoints{ObjectMeta: meta("db"), Subsets: []corev1.EndpointSubset{
			{Addresses: []corev1.EndpointAddress{ip("10.0.0.3")}},
			{Addresses: []corev1.EndpointAddress{ip("fd00::1")}, Ports: []corev1.EndpointPort{{Port: 5432}}},
		}}, []any{"db", "10.0.0.3,[fd00::1]:5432", "90m"}},
		{"endpoints only not ready", "endpoints", &corev1.Endpoints{ObjectMeta: meta("web"), Subsets: []corev1.EndpointSubset{
			{NotReadyAddresses: []corev1.EndpointAddress{ip("10.0.0.4")}, Ports: []corev1.EndpointPort{{Port: 80}}},
		}}, []any{"web", "", "90m"}},

		{"slice", "endpointslices.discovery.k8s.io", &discoveryv1.EndpointSlice{ObjectMeta: meta("web-x7k2p"), AddressType: discoveryv1.AddressTypeIPv4,
			Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.0.0.1"}}, {Addresses: []string{"10.0.0.2"}}, {Addresses: []string{"10.0.0.3"}}, {Addresses: []string{"10.0.0.4"}}, {Addresses: []string{"10.0.0.5"}}},
			Ports:     []discoveryv1.EndpointPort{{Name: &name, Port: &port}, {Name: &name}, {}}},
			[]any{"web-x7k2p", "IPv4", "80,http,*", "10.0.0.1,10.0.0.2,10.0.0.3 + 2 more...", "90m"}},
		{"empty slice", "endpointslices.discovery.k8s.io", &discoveryv1.EndpointSlice{ObjectMeta: meta("web-empty"), AddressType: discoveryv1.AddressTypeIPv4},
			[]any{"web-empty", "IPv4", "<unset>", "<unset>", "90m"}},

		{"pv bound", "persistentvolumes", &corev1.PersistentVolume{ObjectMeta: meta("pv-1"), Spec: corev1.PersistentVolumeSpec{
			Capacity: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("5Gi")}, AccessModes: rwo,
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain, ClaimRef: &corev1.ObjectReference{Namespace: "default", Name: "data"},
			StorageClassName: "local", VolumeMode: &fs},
			Status: corev1.PersistentVolumeStatus{Phase: corev1.VolumeBound}},
			[]any{"pv-1", "5Gi", "RWO,RWX", "Retain", "Bound", "default/data", "local", "<unset>", "", "90m", "Filesystem"}},
		{"pv terminating, beta class", "persistentvolumes", &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv-2", CreationTimestamp: created,
			DeletionTimestamp: &deleting, Annotations: map[string]string{"volume.beta.kubernetes.io/storage-class": "slow"}},
			Spec:   corev1.PersistentVolumeSpec{PersistentVolumeReclaimPolicy: "Delete", VolumeAttributesClassName: &vac},
			Status: corev1.PersistentVolumeStatus{Phase: corev1.VolumeFailed, Reason: "Recycle failed"}},
			[]any{"pv-2", "0", "", "Delete", "Terminating", "", "slow", "fast", "Recycle failed", "90m", "<unset>"}},

		{"pvc pending", "persistentvolumeclaims", &corev1.PersistentVolumeClaim{ObjectMeta: meta("data"), Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: rwo, StorageClassName: &local, VolumeMode: &fs,
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}},
			Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending}},
			[]any{"data", "Pending", "", "", "", "local", "<unset>", "90m", "Filesystem"}},
		{"pvc bound", "persistentvolumeclaims", &corev1.PersistentVolumeClaim{ObjectMeta: meta("data"), Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: rwo, StorageClassName: &local, VolumeMode: &fs, VolumeName: "pvc-1234"},
			Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound, AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Capacity: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("2Gi")}}},
			[]any{"data", "Bound", "pvc-1234", "2Gi", "RWO", "local", "<unset>", "90m", "Filesystem"}},

		{"default class", "storageclasses.storage.k8s.io", &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "local", CreationTimestamp: created,
			Annotations: map[string]string{"storageclass.kubernetes.io/is-default-class": "true"}}, Provisioner: "k2d.io/local-volume"},
			[]any{"local (default)", "k2d.io/local-volume", "Delete", "Immediate", false, "90m"}},
		{"beta default class", "storageclasses.storage.k8s.io", &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "nfs", CreationTimestamp: created,
			Annotations: map[string]string{"storageclass.beta.kubernetes.io/is-default-class": "true"}}, Provisioner: "example.com/nfs",
			ReclaimPolicy: &retain, VolumeBindingMode: &wffc, AllowVolumeExpansion: &yes},
			[]any{"nfs (default)", "example.com/nfs", "Retain", "WaitForFirstConsumer", true, "90m"}},
		{"not default", "storageclasses.storage.k8s.io", &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "slow", CreationTimestamp: created,
			Annotations: map[string]string{"storageclass.kubernetes.io/is-default-class": "false"}}, Provisioner: "example.com/slow"},
			[]any{"slow", "example.com/slow", "Delete", "Immediate", false, "90m"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k := kindByGroupResource(t, tc.res)
			got := TableRow(k, tc.obj, tableNow)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("row\n got %#v\nwant %#v", got, tc.want)
			}
			if n := len(TableColumns(k)); n != len(got) {
				t.Errorf("%d cells for %d columns", len(got), n)
			}
		})
	}
}
