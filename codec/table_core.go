package codec

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// Table printers of Service, Endpoints, EndpointSlice, PersistentVolume,
// PersistentVolumeClaim and StorageClass, as pkg/printers/internalversion prints them (the
// server always prints the wide cells). StorageClass's ALLOWVOLUMEEXPANSION cell is a bool,
// as on the server.

func init() {
	meta := metav1.ObjectMeta{}.SwaggerDoc()
	name := metav1.TableColumnDefinition{Name: "Name", Type: "string", Format: "name", Description: meta["name"]}
	age := metav1.TableColumnDefinition{Name: "Age", Type: "string", Description: meta["creationTimestamp"]}
	col := func(n, desc string) metav1.TableColumnDefinition {
		return metav1.TableColumnDefinition{Name: n, Type: "string", Description: desc}
	}
	wide := func(n, desc string) metav1.TableColumnDefinition {
		c := col(n, desc)
		c.Priority = 1
		return c
	}
	svc := corev1.ServiceSpec{}.SwaggerDoc()
	tblKinds["services"] = &tblPrinter{
		columns: []metav1.TableColumnDefinition{name, col("Type", svc["type"]), col("Cluster-IP", svc["clusterIP"]),
			col("External-IP", svc["externalIPs"]), col("Port(s)", svc["ports"]), age, wide("Selector", svc["selector"])},
		row: tblTyped(tblServiceRow),
	}
	tblKinds["endpoints"] = &tblPrinter{
		columns: []metav1.TableColumnDefinition{name, col("Endpoints", corev1.Endpoints{}.SwaggerDoc()["subsets"]), age},
		row: tblTyped(func(ep *corev1.Endpoints, now time.Time) []any {
			return []any{ep.Name, tblEndpoints(ep), tblAge(ep.CreationTimestamp.Time, now)}
		}),
	}
	es := discoveryv1.EndpointSlice{}.SwaggerDoc()
	tblKinds["endpointslices.discovery.k8s.io"] = &tblPrinter{
		columns: []metav1.TableColumnDefinition{name, col("AddressType", es["addressType"]), col("Ports", es["ports"]),
			col("Endpoints", es["endpoints"]), age},
		row: tblTyped(func(s *discoveryv1.EndpointSlice, now time.Time) []any {
			return []any{s.Name, string(s.AddressType), tblSlicePorts(s.Ports), tblSliceEndpoints(s.Endpoints), tblAge(s.CreationTimestamp.Time, now)}
		}),
	}
	pvSpec, pvStatus := corev1.PersistentVolumeSpec{}.SwaggerDoc(), corev1.PersistentVolumeStatus{}.SwaggerDoc()
	tblKinds["persistentvolumes"] = &tblPrinter{
		columns: []metav1.TableColumnDefinition{name, col("Capacity", pvSpec["capacity"]), col("Access Modes", pvSpec["accessModes"]),
			col("Reclaim Policy", pvSpec["persistentVolumeReclaimPolicy"]), col("Status", pvStatus["phase"]),
			col("Claim", pvSpec["claimRef"]), col("StorageClass", "StorageClass of the pv"),
			col("VolumeAttributesClass", "VolumeAttributesClass of the pv"), col("Reason", pvStatus["reason"]), age,
			wide("VolumeMode", pvSpec["volumeMode"])},
		row: tblTyped(tblPVRow),
	}
	pvcSpec, pvcStatus := corev1.PersistentVolumeClaimSpec{}.SwaggerDoc(), corev1.PersistentVolumeClaimStatus{}.SwaggerDoc()
	tblKinds["persistentvolumeclaims"] = &tblPrinter{
		columns: []metav1.TableColumnDefinition{name, col("Status", pvcStatus["phase"]), col("Volume", pvcSpec["volumeName"]),
			col("Capacity", pvcStatus["capacity"]), col("Access Modes", pvcStatus["accessModes"]),
			col("StorageClass", "StorageClass of the pvc"), col("VolumeAttributesClass", "VolumeAttributesClass of the pvc"), age,
			wide("VolumeMode", pvcSpec["volumeMode"])},
		row: tblTyped(tblPVCRow),
	}
	sc := storagev1.StorageClass{}.SwaggerDoc()
	tblKinds["storageclasses.storage.k8s.io"] = &tblPrinter{
		columns: []metav1.TableColumnDefinition{name, col("Provisioner", sc["provisioner"]), col("ReclaimPolicy", sc["reclaimPolicy"]),
			col("VolumeBindingMode", sc["volumeBindingMode"]), col("AllowVolumeExpansion", sc["allowVolumeExpansion"]), age},
		row: tblTyped(tblStorageClassRow),
	}
}

// tblServiceRow is printService: EXTERNAL-IP per type, PORT(S) as port[:nodePort]/protocol.
func tblServiceRow(svc *corev1.Service, now time.Time) []any {
	clusterIP := "<none>"
	if len(svc.Spec.ClusterIPs) > 0 {
		clusterIP = svc.Spec.ClusterIPs[0]
	}
	ports := make([]string, len(svc.Spec.Ports))
	for i, p := range svc.Spec.Ports {
		ports[i] = fmt.Sprintf("%d/%s", p.Port, p.Protocol)
		if p.NodePort > 0 {
			ports[i] = fmt.Sprintf("%d:%d/%s", p.Port, p.NodePort, p.Protocol)
		}
	}
	portStr := strings.Join(ports, ",")
	if portStr == "" {
		portStr = "<none>"
	}
	return []any{svc.Name, string(svc.Spec.Type), clusterIP, tblServiceExternalIP(svc), portStr,
		tblAge(svc.CreationTimestamp.Time, now), labels.FormatLabels(svc.Spec.Selector)}
}

func tblServiceExternalIP(svc *corev1.Service) string {
	switch svc.Spec.Type {
	case corev1.ServiceTypeClusterIP, corev1.ServiceTypeNodePort:
		if len(svc.Spec.ExternalIPs) > 0 {
			return strings.Join(svc.Spec.ExternalIPs, ",")
		}
		return "<none>"
	case corev1.ServiceTypeLoadBalancer:
		// Ingress IPs (or hostnames), sorted and unique, then the external IPs.
		var lb []string
		for _, in := range svc.Status.LoadBalancer.Ingress {
			v := in.IP
			if v == "" {
				v = in.Hostname
			}
			if v != "" && !slices.Contains(lb, v) {
				lb = append(lb, v)
			}
		}
		slices.Sort(lb)
		all := append(lb, svc.Spec.ExternalIPs...)
		if len(all) == 0 {
			return "<pending>"
		}
		return strings.Join(all, ",")
	case corev1.ServiceTypeExternalName:
		return svc.Spec.ExternalName
	}
	return "<unknown>"
}

// tblEndpoints is formatEndpoints: the first three ip:port pairs and how many more.
func tblEndpoints(ep *corev1.Endpoints) string {
	if len(ep.Subsets) == 0 {
		return "<none>"
	}
	const max = 3
	var list []string
	more, count := false, 0
	add := func(s string) {
		if len(list) == max {
			more = true
			return
		}
		list = append(list, s)
	}
	for _, ss := range ep.Subsets {
		if len(ss.Ports) == 0 {
			// Headless services may have no ports.
			count += len(ss.Addresses)
			for _, a := range ss.Addresses {
				if add(a.IP); more {
					break
				}
			}
			continue
		}
		for _, p := range ss.Ports {
			count += len(ss.Addresses)
			for _, a := range ss.Addresses {
				if add(net.JoinHostPort(a.IP, strconv.Itoa(int(p.Port)))); more {
					break
				}
			}
		}
	}
	s := strings.Join(list, ",")
	if more {
		return fmt.Sprintf("%s + %d more...", s, count-max)
	}
	return s
}

func tblSlicePorts(ports []discoveryv1.EndpointPort) string {
	var list []string
	for _, p := range ports {
		if len(list) == 3 {
			break
		}
		v := "*"
		if p.Port != nil {
			v = strconv.Itoa(int(*p.Port))
		} else if p.Name != nil {
			v = *p.Name
		}
		list = append(list, v)
	}
	return tblListWithMore(list, len(ports))
}

func tblSliceEndpoints(eps []discoveryv1.Endpoint) string {
	var list []string
	count := 0
	for _, ep := range eps {
		for _, a := range ep.Addresses {
			if len(list) < 3 {
				list = append(list, a)
			}
			count++
		}
	}
	return tblListWithMore(list, count)
}

// tblListWithMore is listWithMoreString for lists of at most three shown items.
func tblListWithMore(list []string, count int) string {
	s := strings.Join(list, ",")
	if count > 3 {
		return fmt.Sprintf("%s + %d more...", s, count-3)
	}
	if s == "" {
		return "<unset>"
	}
	return s
}

// tblAccessModes is GetAccessModesAsString: RWO, ROX, RWX, RWOP in that order, once each.
func tblAccessModes(modes []corev1.PersistentVolumeAccessMode) string {
	var out []string
	for _, m := range []struct {
		mode  corev1.PersistentVolumeAccessMode
		short string
	}{{corev1.ReadWriteOnce, "RWO"}, {corev1.ReadOnlyMany, "ROX"}, {corev1.ReadWriteMany, "RWX"}, {corev1.ReadWriteOncePod, "RWOP"}} {
		if slices.Contains(modes, m.mode) {
			out = append(out, m.short)
		}
	}
	return strings.Join(out, ",")
}

func tblPVRow(pv *corev1.PersistentVolume, now time.Time) []any {
	claim := ""
	if r := pv.Spec.ClaimRef; r != nil {
		claim = r.Namespace + "/" + r.Name
	}
	size := pv.Spec.Capacity[corev1.ResourceStorage]
	phase := string(pv.Status.Phase)
	if pv.DeletionTimestamp != nil {
		phase = "Terminating"
	}
	class := pv.Spec.StorageClassName
	if c, ok := pv.Annotations[corev1.BetaStorageClassAnnotation]; ok {
		class = c
	}
	return []any{pv.Name, size.String(), tblAccessModes(pv.Spec.AccessModes), string(pv.Spec.PersistentVolumeReclaimPolicy),
		phase, claim, class, tblUnset(pv.Spec.VolumeAttributesClassName), pv.Status.Reason,
		tblAge(pv.CreationTimestamp.Time, now), tblUnsetMode(pv.Spec.VolumeMode)}
}

// tblPVCRow is printPersistentVolumeClaim: capacity and access modes are the bound volume's.
func tblPVCRow(pvc *corev1.PersistentVolumeClaim, now time.Time) []any {
	phase := string(pvc.Status.Phase)
	if pvc.DeletionTimestamp != nil {
		phase = "Terminating"
	}
	capacity, modes := "", ""
	if pvc.Spec.VolumeName != "" {
		modes = tblAccessModes(pvc.Status.AccessModes)
		q := pvc.Status.Capacity[corev1.ResourceStorage]
		capacity = q.String()
	}
	class := ""
	if c, ok := pvc.Annotations[corev1.BetaStorageClassAnnotation]; ok {
		class = c
	} else if pvc.Spec.StorageClassName != nil {
		class = *pvc.Spec.StorageClassName
	}
	return []any{pvc.Name, phase, pvc.Spec.VolumeName, capacity, modes, class, tblUnset(pvc.Spec.VolumeAttributesClassName),
		tblAge(pvc.CreationTimestamp.Time, now), tblUnsetMode(pvc.Spec.VolumeMode)}
}

func tblUnset(s *string) string {
	if s == nil {
		return "<unset>"
	}
	return *s
}

func tblUnsetMode(m *corev1.PersistentVolumeMode) string {
	if m == nil {
		return "<unset>"
	}
	return string(*m)
}

// tblStorageClassRow marks the default class, annotated by either the GA or the beta key.
func tblStorageClassRow(sc *storagev1.StorageClass, now time.Time) []any {
	name := sc.Name
	if sc.Annotations["storageclass.kubernetes.io/is-default-class"] == "true" ||
		sc.Annotations["storageclass.beta.kubernetes.io/is-default-class"] == "true" {
		name += " (default)"
	}
	reclaim := string(corev1.PersistentVolumeReclaimDelete)
	if sc.ReclaimPolicy != nil {
		reclaim = string(*sc.ReclaimPolicy)
	}
	binding := string(storagev1.VolumeBindingImmediate)
	if sc.VolumeBindingMode != nil {
		binding = string(*sc.VolumeBindingMode)
	}
	expand := sc.AllowVolumeExpansion != nil && *sc.AllowVolumeExpansion
	return []any{name, sc.Provisioner, reclaim, binding, expand, tblAge(sc.CreationTimestamp.Time, now)}
}
