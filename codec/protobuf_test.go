package codec

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	eventsv1 "k8s.io/api/events/v1"
	storagev1 "k8s.io/api/storage/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/randfill"
)

// envelope wraps obj the way client-go's protobuf serializer does.
func envelope(t testing.TB, apiVersion, kind string, raw []byte) []byte {
	t.Helper()
	u := runtime.Unknown{TypeMeta: runtime.TypeMeta{APIVersion: apiVersion, Kind: kind}, Raw: raw}
	b, err := u.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return append(append([]byte{}, protobufMagic...), b...)
}

func TestDecodeProtobuf(t *testing.T) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "plant-a", Labels: map[string]string{"site": "x"}}}
	raw, err := ns.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	k := KindFor("", "v1", "namespaces")
	obj, err := DecodeProtobuf(k, envelope(t, "v1", "Namespace", raw))
	if err != nil {
		t.Fatal(err)
	}
	got := obj.(*corev1.Namespace)
	if got.Name != "plant-a" || got.Labels["site"] != "x" || got.Kind != "Namespace" || got.APIVersion != "v1" {
		t.Fatalf("decoded %+v", got)
	}
	for _, bad := range [][]byte{
		nil, []byte("{}"),
		append(append([]byte{}, protobufMagic...), 0xff, 0xff),                   // truncated envelope tag
		append(append([]byte{}, protobufMagic...), 0x12, 0x05, 0x0a, 0x01),       // raw longer than the body
		envelope(t, "v1", "Namespace", []byte{0x0a, 0x02, 0x0a, 0x05}),           // metadata longer than its message
		envelope(t, "v1", "Namespace", []byte{0x08, 0x01}),                       // metadata with a varint wire type
		envelope(t, "a/b/c", "Namespace", raw),                                   // bad apiVersion
		append(append([]byte{}, protobufMagic...), 0x0a, 0x02, 0x08, 0x01, 0x00), // TypeMeta.apiVersion as a varint
	} {
		if _, err := DecodeProtobuf(k, bad); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
	if err := DecodeProtobufInto(envelope(t, "v1", "Namespace", raw), &runtime.Unknown{}); err != nil {
		t.Errorf("runtime.Unknown is a protobuf type: %v", err)
	}
	if err := DecodeProtobufInto(envelope(t, "v1", "Status", nil), &metav1.List{}); err != nil {
		t.Errorf("metav1.List is a protobuf type: %v", err)
	}
}

// TestDecodeProtobufNoForm checks the error for an object without protobuf tags.
func TestDecodeProtobufNoForm(t *testing.T) {
	type plain struct{ runtime.Object }
	err := DecodeProtobufInto(envelope(t, "v1", "X", nil), &plain{})
	if err == nil || !strings.Contains(err.Error(), "has no protobuf form") {
		t.Fatalf("got %v", err)
	}
}

// TestDecodeProtobufEnvelopeOracle compares the decoding of the envelope with the generated one.
func TestDecodeProtobufEnvelopeOracle(t *testing.T) {
	u := &runtime.Unknown{TypeMeta: runtime.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"}, Raw: []byte{1, 2, 3},
		ContentEncoding: "gzip", ContentType: "application/vnd.kubernetes.protobuf"}
	pbOracle(t, "Unknown", u)
	pbOracle(t, "empty Unknown", &runtime.Unknown{Raw: []byte{}})
}

type pbGenerated interface {
	Marshal() ([]byte, error)
	Unmarshal([]byte) error
}

// pbAgree decodes b with the generated Unmarshal of typ's pointer and with pbUnmarshal, and
// fails unless both fail or both succeed with DeepEqual values. It returns the decoded value.
// A panic of the generated code (resource.Quantity.Unmarshal has no overflow check on string
// lengths) counts as an error of the generated code.
func pbAgree(t testing.TB, name string, typ reflect.Type, b []byte) (any, bool) {
	t.Helper()
	want := reflect.New(typ).Interface()
	werr := pbGeneratedUnmarshal(want.(pbGenerated), b)
	got := reflect.New(typ).Interface()
	gerr := pbUnmarshal(b, got)
	switch {
	case werr == nil && gerr != nil:
		t.Fatalf("%s: generated decoder accepts %s, pbUnmarshal fails: %v", name, pbShort(b), gerr)
	case werr != nil && gerr == nil:
		t.Fatalf("%s: generated decoder fails on %s (%v), pbUnmarshal accepts it: %s", name, pbShort(b), werr, pbShort(got))
	case werr == nil && !reflect.DeepEqual(got, want):
		t.Fatalf("%s: decoders disagree on %s:\n got %s\nwant %s", name, pbShort(b), pbShort(got), pbShort(want))
	}
	return got, werr == nil
}

// pbShort formats v for a failure message, cut to a readable length.
func pbShort(v any) string {
	s := fmt.Sprintf("%+v", v)
	if b, ok := v.([]byte); ok {
		s = fmt.Sprintf("%x", b)
	}
	if len(s) > 3000 {
		s = s[:3000] + "..."
	}
	return s
}

func pbGeneratedUnmarshal(m pbGenerated, b []byte) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return m.Unmarshal(b)
}

// pbOracle marshals obj with the generated code and checks that pbUnmarshal decodes it as the
// generated Unmarshal does, and (semantically) as the original object.
func pbOracle(t testing.TB, name string, obj pbGenerated) []byte {
	t.Helper()
	b, err := obj.Marshal()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	got, ok := pbAgree(t, name, reflect.TypeOf(obj).Elem(), b)
	if !ok {
		t.Fatalf("%s: the generated decoder rejects its own encoding", name)
	}
	if !apiequality.Semantic.DeepEqual(got, obj) {
		t.Fatalf("%s: decoded %#v\nwant %#v", name, got, obj)
	}
	return b
}

var (
	pbT0    = metav1.NewTime(time.Unix(1700000000, 0))
	pbT1    = metav1.NewTime(time.Unix(1700003600, 0))
	pbMicro = metav1.NewMicroTime(time.Unix(1700000001, 123456000))
)

func pbPtr[T any](v T) *T { return &v }

func pbMeta(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name: name, GenerateName: name + "-", Namespace: "default", UID: "6a1c2b9e-0000-4000-8000-000000000001",
		ResourceVersion: "42", Generation: 3, CreationTimestamp: pbT0, DeletionTimestamp: &pbT1,
		DeletionGracePeriodSeconds: pbPtr(int64(30)),
		Labels:                     map[string]string{"app": name, "tier": "edge", "": "empty-key"},
		Annotations:                map[string]string{"note": "", "kubectl.kubernetes.io/last-applied-configuration": `{"a":1}`},
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "rs", UID: "u1",
			Controller: pbPtr(true), BlockOwnerDeletion: pbPtr(false)}},
		Finalizers: []string{"a/b", "c"},
		ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl", Operation: metav1.ManagedFieldsOperationApply,
			APIVersion: "v1", Time: &pbT0, FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:metadata":{}}`)},
			Subresource: "status"}},
	}
}

func pbContainer(name string) corev1.Container {
	probe := &corev1.Probe{
		ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromString("http"),
			Host: "h", Scheme: corev1.URISchemeHTTPS, HTTPHeaders: []corev1.HTTPHeader{{Name: "X", Value: "y"}}}},
		InitialDelaySeconds: 5, TimeoutSeconds: 2, PeriodSeconds: 10, SuccessThreshold: 1, FailureThreshold: 3,
		TerminationGracePeriodSeconds: pbPtr(int64(-1)),
	}
	return corev1.Container{
		Name: name, Image: "nginx:1.27", Command: []string{"/bin/sh", "-c"}, Args: []string{"echo hi", ""}, WorkingDir: "/w",
		Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 80, HostPort: 8080, Protocol: corev1.ProtocolTCP, HostIP: "0.0.0.0"}},
		EnvFrom: []corev1.EnvFromSource{{Prefix: "P_", ConfigMapRef: &corev1.ConfigMapEnvSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}, Optional: pbPtr(true)}}},
		Env: []corev1.EnvVar{
			{Name: "A", Value: "1"},
			{Name: "B", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}, Key: "k"}}},
			{Name: "C", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.name"}}},
			{Name: "D", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.cpu", Divisor: resource.MustParse("1m")}}},
			{Name: "E", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "c"}, Key: "k", Optional: pbPtr(false)}}},
		},
		Resources: corev1.ResourceRequirements{
			Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1500m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("0.25"), "example.com/gpu": resource.MustParse("1e3")},
			Claims:   []corev1.ResourceClaim{{Name: "gpu", Request: "r"}},
		},
		ResizePolicy:  []corev1.ContainerResizePolicy{{ResourceName: corev1.ResourceCPU, RestartPolicy: corev1.NotRequired}},
		RestartPolicy: pbPtr(corev1.ContainerRestartPolicyAlways),
		RestartPolicyRules: []corev1.ContainerRestartRule{{Action: "Restart", ExitCodes: &corev1.ContainerRestartRuleOnExitCodes{
			Operator: "In", Values: []int32{1, -2, 300, 0}}}},
		VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data", ReadOnly: true, SubPath: "x",
			MountPropagation: pbPtr(corev1.MountPropagationHostToContainer), RecursiveReadOnly: pbPtr(corev1.RecursiveReadOnlyIfPossible)}},
		VolumeDevices:  []corev1.VolumeDevice{{Name: "dev", DevicePath: "/dev/x"}},
		LivenessProbe:  probe,
		ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(8080)}}},
		StartupProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{
			Exec: &corev1.ExecAction{Command: []string{"true"}}, GRPC: &corev1.GRPCAction{Port: 9000, Service: pbPtr("svc")}}},
		Lifecycle: &corev1.Lifecycle{
			PostStart:  &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: 2}},
			PreStop:    &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"stop"}}},
			StopSignal: pbPtr(corev1.SIGTERM),
		},
		TerminationMessagePath: "/dev/termination-log", TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
		ImagePullPolicy: corev1.PullIfNotPresent,
		SecurityContext: &corev1.SecurityContext{
			Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"NET_ADMIN"}, Drop: []corev1.Capability{"ALL"}},
			Privileged:   pbPtr(false), SELinuxOptions: &corev1.SELinuxOptions{User: "u", Role: "r", Type: "t", Level: "l"},
			WindowsOptions: &corev1.WindowsSecurityContextOptions{RunAsUserName: pbPtr("x"), HostProcess: pbPtr(true)},
			RunAsUser:      pbPtr(int64(1000)), RunAsGroup: pbPtr(int64(-5)), RunAsNonRoot: pbPtr(true),
			ReadOnlyRootFilesystem: pbPtr(true), AllowPrivilegeEscalation: pbPtr(false), ProcMount: pbPtr(corev1.DefaultProcMount),
			SeccompProfile:  &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeLocalhost, LocalhostProfile: pbPtr("p.json")},
			AppArmorProfile: &corev1.AppArmorProfile{Type: corev1.AppArmorProfileTypeRuntimeDefault},
		},
		Stdin: true, StdinOnce: true, TTY: true,
	}
}

func pbVolumes() []corev1.Volume {
	mode := pbPtr(int32(0o644))
	items := []corev1.KeyToPath{{Key: "k", Path: "p", Mode: pbPtr(int32(0o400))}}
	ref := corev1.LocalObjectReference{Name: "ref"}
	sources := []corev1.VolumeSource{
		{HostPath: &corev1.HostPathVolumeSource{Path: "/var/data", Type: pbPtr(corev1.HostPathDirectoryOrCreate)}},
		{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory, SizeLimit: pbPtr(resource.MustParse("64Mi"))}},
		{EmptyDir: &corev1.EmptyDirVolumeSource{}},
		{GCEPersistentDisk: &corev1.GCEPersistentDiskVolumeSource{PDName: "pd", FSType: "ext4", Partition: 1, ReadOnly: true}},
		{AWSElasticBlockStore: &corev1.AWSElasticBlockStoreVolumeSource{VolumeID: "vol", Partition: -1}},
		{GitRepo: &corev1.GitRepoVolumeSource{Repository: "r", Revision: "v", Directory: "."}},
		{Secret: &corev1.SecretVolumeSource{SecretName: "s", Items: items, DefaultMode: mode, Optional: pbPtr(true)}},
		{NFS: &corev1.NFSVolumeSource{Server: "nfs", Path: "/x", ReadOnly: true}},
		{ISCSI: &corev1.ISCSIVolumeSource{TargetPortal: "t", IQN: "iqn", Lun: 2, Portals: []string{"a", "b"}, SecretRef: &ref, InitiatorName: pbPtr("i")}},
		{Glusterfs: &corev1.GlusterfsVolumeSource{EndpointsName: "e", Path: "p"}},
		{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "claim", ReadOnly: true}},
		{RBD: &corev1.RBDVolumeSource{CephMonitors: []string{"m"}, RBDImage: "img", SecretRef: &ref}},
		{FlexVolume: &corev1.FlexVolumeSource{Driver: "d", Options: map[string]string{"a": "b"}, SecretRef: &ref}},
		{Cinder: &corev1.CinderVolumeSource{VolumeID: "c", SecretRef: &ref}},
		{CephFS: &corev1.CephFSVolumeSource{Monitors: []string{"m"}, Path: "/"}},
		{Flocker: &corev1.FlockerVolumeSource{DatasetName: "d"}},
		{DownwardAPI: &corev1.DownwardAPIVolumeSource{Items: []corev1.DownwardAPIVolumeFile{{Path: "labels",
			FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels"}, Mode: mode}}, DefaultMode: mode}},
		{FC: &corev1.FCVolumeSource{TargetWWNs: []string{"w"}, Lun: pbPtr(int32(0)), WWIDs: []string{"id"}}},
		{AzureFile: &corev1.AzureFileVolumeSource{SecretName: "s", ShareName: "sh"}},
		{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: ref, Items: items, DefaultMode: mode, Optional: pbPtr(false)}},
		{VsphereVolume: &corev1.VsphereVirtualDiskVolumeSource{VolumePath: "p"}},
		{Quobyte: &corev1.QuobyteVolumeSource{Registry: "r", Volume: "v"}},
		{AzureDisk: &corev1.AzureDiskVolumeSource{DiskName: "d", DataDiskURI: "u", ReadOnly: pbPtr(true), CachingMode: pbPtr(corev1.AzureDataDiskCachingNone)}},
		{PhotonPersistentDisk: &corev1.PhotonPersistentDiskVolumeSource{PdID: "p"}},
		{Projected: &corev1.ProjectedVolumeSource{DefaultMode: mode, Sources: []corev1.VolumeProjection{
			{Secret: &corev1.SecretProjection{LocalObjectReference: ref, Items: items}},
			{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: ref, Optional: pbPtr(true)}},
			{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Audience: "a", ExpirationSeconds: pbPtr(int64(3600)), Path: "token"}},
			{ClusterTrustBundle: &corev1.ClusterTrustBundleProjection{Name: pbPtr("b"), Path: "p",
				LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"a": "b"}}}},
		}}},
		{PortworxVolume: &corev1.PortworxVolumeSource{VolumeID: "p"}},
		{ScaleIO: &corev1.ScaleIOVolumeSource{Gateway: "g", System: "s", SecretRef: &ref, SSLEnabled: true}},
		{StorageOS: &corev1.StorageOSVolumeSource{VolumeName: "v", SecretRef: &ref}},
		{CSI: &corev1.CSIVolumeSource{Driver: "csi", ReadOnly: pbPtr(true), FSType: pbPtr("xfs"),
			VolumeAttributes: map[string]string{"k": "v"}, NodePublishSecretRef: &ref}},
		{Ephemeral: &corev1.EphemeralVolumeSource{VolumeClaimTemplate: &corev1.PersistentVolumeClaimTemplate{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"a": "b"}},
			Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}},
		}}},
		{Image: &corev1.ImageVolumeSource{Reference: "img", PullPolicy: corev1.PullAlways}},
	}
	vols := make([]corev1.Volume, len(sources))
	for i, s := range sources {
		vols[i] = corev1.Volume{Name: fmt.Sprintf("v%d", i), VolumeSource: s}
	}
	return vols
}

func pbPod() *corev1.Pod {
	init := pbContainer("init")
	init.RestartPolicy = pbPtr(corev1.ContainerRestartPolicyAlways)
	eph := pbContainer("debug")
	eph.Lifecycle, eph.LivenessProbe, eph.ReadinessProbe, eph.StartupProbe, eph.Ports, eph.Resources, eph.ResizePolicy = nil, nil, nil, nil, nil, corev1.ResourceRequirements{}, nil
	eph.RestartPolicy, eph.RestartPolicyRules = nil, nil
	term := corev1.NodeSelectorTerm{
		MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "zone", Operator: corev1.NodeSelectorOpIn, Values: []string{"a", "b"}}},
		MatchFields:      []corev1.NodeSelectorRequirement{{Key: "metadata.name", Operator: corev1.NodeSelectorOpNotIn, Values: []string{"n"}}},
	}
	podTerm := corev1.PodAffinityTerm{
		LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "x"},
			MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "k", Operator: metav1.LabelSelectorOpExists}}},
		Namespaces: []string{"a"}, TopologyKey: "kubernetes.io/hostname", MatchLabelKeys: []string{"pod-template-hash"},
	}
	return &corev1.Pod{
		ObjectMeta: pbMeta("web"),
		Spec: corev1.PodSpec{
			Volumes:             pbVolumes(),
			InitContainers:      []corev1.Container{init},
			Containers:          []corev1.Container{pbContainer("app"), {Name: "side", Image: "busybox"}},
			EphemeralContainers: []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon(eph), TargetContainerName: "app"}},
			RestartPolicy:       corev1.RestartPolicyAlways, TerminationGracePeriodSeconds: pbPtr(int64(30)),
			ActiveDeadlineSeconds: pbPtr(int64(600)), DNSPolicy: corev1.DNSClusterFirst,
			NodeSelector:       map[string]string{"kubernetes.io/arch": "arm"},
			ServiceAccountName: "sa", DeprecatedServiceAccount: "sa", AutomountServiceAccountToken: pbPtr(false),
			NodeName: "node-1", HostNetwork: true, HostPID: true, HostIPC: true, ShareProcessNamespace: pbPtr(true),
			SecurityContext: &corev1.PodSecurityContext{
				RunAsUser: pbPtr(int64(1000)), RunAsGroup: pbPtr(int64(3000)), RunAsNonRoot: pbPtr(true),
				SupplementalGroups: []int64{4000, -1, 1 << 40}, SupplementalGroupsPolicy: pbPtr(corev1.SupplementalGroupsPolicyStrict),
				FSGroup: pbPtr(int64(2000)), FSGroupChangePolicy: pbPtr(corev1.FSGroupChangeOnRootMismatch),
				Sysctls:        []corev1.Sysctl{{Name: "net.core.somaxconn", Value: "1024"}},
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
			},
			ImagePullSecrets: []corev1.LocalObjectReference{{Name: "regcred"}},
			Hostname:         "web-0", Subdomain: "web",
			Affinity: &corev1.Affinity{
				NodeAffinity: &corev1.NodeAffinity{
					RequiredDuringSchedulingIgnoredDuringExecution:  &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{term}},
					PreferredDuringSchedulingIgnoredDuringExecution: []corev1.PreferredSchedulingTerm{{Weight: 10, Preference: term}},
				},
				PodAffinity: &corev1.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{podTerm}},
				PodAntiAffinity: &corev1.PodAntiAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{
					{Weight: 100, PodAffinityTerm: podTerm}}},
			},
			SchedulerName: "default-scheduler",
			Tolerations: []corev1.Toleration{
				{Key: "node.kubernetes.io/not-ready", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: pbPtr(int64(300))},
				{Key: "k", Operator: corev1.TolerationOpEqual, Value: "v", Effect: corev1.TaintEffectNoSchedule},
			},
			HostAliases:       []corev1.HostAlias{{IP: "10.0.0.1", Hostnames: []string{"a", "b"}}},
			PriorityClassName: "high", Priority: pbPtr(int32(-10)),
			DNSConfig: &corev1.PodDNSConfig{Nameservers: []string{"1.1.1.1"}, Searches: []string{"svc.cluster.local"},
				Options: []corev1.PodDNSConfigOption{{Name: "ndots", Value: pbPtr("2")}, {Name: "edns0"}}},
			ReadinessGates:   []corev1.PodReadinessGate{{ConditionType: "x/ready"}},
			RuntimeClassName: pbPtr("runc"), EnableServiceLinks: pbPtr(false), PreemptionPolicy: pbPtr(corev1.PreemptNever),
			Overhead: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m")},
			TopologySpreadConstraints: []corev1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: "zone",
				WhenUnsatisfiable: corev1.DoNotSchedule, LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"a": "b"}},
				MinDomains: pbPtr(int32(2)), NodeAffinityPolicy: pbPtr(corev1.NodeInclusionPolicyHonor)}},
			SetHostnameAsFQDN: pbPtr(true), OS: &corev1.PodOS{Name: corev1.Linux}, HostUsers: pbPtr(false),
			SchedulingGates: []corev1.PodSchedulingGate{{Name: "gate"}},
			ResourceClaims:  []corev1.PodResourceClaim{{Name: "c", ResourceClaimName: pbPtr("rc")}},
			Resources:       &corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")}},
		},
		Status: corev1.PodStatus{
			Phase: corev1.PodRunning, ObservedGeneration: 3,
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastProbeTime: pbT0,
				LastTransitionTime: pbT1, Reason: "r", Message: "m"}},
			HostIP: "192.168.1.2", HostIPs: []corev1.HostIP{{IP: "192.168.1.2"}}, PodIP: "10.1.0.5",
			PodIPs: []corev1.PodIP{{IP: "10.1.0.5"}, {IP: "fd00::5"}}, StartTime: &pbT0, QOSClass: corev1.PodQOSBurstable,
			ContainerStatuses: []corev1.ContainerStatus{{
				Name: "app", Ready: true, RestartCount: 2, Image: "nginx", ImageID: "sha", ContainerID: "docker://x", Started: pbPtr(true),
				State:                corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: pbT0}},
				LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: -1, Signal: 9, Reason: "OOMKilled", StartedAt: pbT0, FinishedAt: pbT1}},
				AllocatedResources:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")},
				User:                 &corev1.ContainerUser{Linux: &corev1.LinuxContainerUser{UID: 1, GID: 2, SupplementalGroups: []int64{3, 4}}},
			}},
			InitContainerStatuses: []corev1.ContainerStatus{{Name: "init", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "PodInitializing"}}}},
		},
	}
}

// pbObjects returns rich objects of every kind the registry serves, and the envelope types.
func pbObjects() map[string]pbGenerated {
	selector := &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"},
		MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpIn, Values: []string{"edge", "core"}}}}
	pod := pbPod()
	template := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}}, Spec: pod.Spec}
	maxSurge, maxUnavail := intstr.FromString("25%"), intstr.FromInt32(0)
	ns := &corev1.Namespace{ObjectMeta: pbMeta("ns"), Spec: corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{corev1.FinalizerKubernetes}},
		Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive, Conditions: []corev1.NamespaceCondition{{Type: "T", Status: "True", LastTransitionTime: pbT0}}}}
	pvSource := corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/mnt/data", Type: pbPtr(corev1.HostPathDirectory)}}
	objs := map[string]pbGenerated{
		"Pod":       pod,
		"Namespace": ns,
		"Node": &corev1.Node{ObjectMeta: pbMeta("node"), Spec: corev1.NodeSpec{PodCIDR: "10.1.0.0/24", PodCIDRs: []string{"10.1.0.0/24"},
			Taints: []corev1.Taint{{Key: "k", Effect: corev1.TaintEffectNoSchedule, TimeAdded: &pbT0}}, Unschedulable: true},
			Status: corev1.NodeStatus{Capacity: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("110")},
				Allocatable: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("3800m")}, Phase: corev1.NodeRunning,
				Conditions:      []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, LastHeartbeatTime: pbT0, LastTransitionTime: pbT1}},
				Addresses:       []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "192.168.1.2"}},
				DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: 10250}},
				NodeInfo:        corev1.NodeSystemInfo{Architecture: "arm", OperatingSystem: "linux", KubeletVersion: "v1.37.2"},
				Images:          []corev1.ContainerImage{{Names: []string{"nginx"}, SizeBytes: 1 << 33}},
				Features:        &corev1.NodeFeatures{SupplementalGroupsPolicy: pbPtr(true)}}},
		"Event": &corev1.Event{ObjectMeta: pbMeta("ev"), InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web", UID: "u", FieldPath: "spec.containers{app}"},
			Reason: "Pulled", Message: "pulled", Source: corev1.EventSource{Component: "kubelet", Host: "node"}, FirstTimestamp: pbT0, LastTimestamp: pbT1,
			Count: 3, Type: corev1.EventTypeNormal, EventTime: pbMicro, Series: &corev1.EventSeries{Count: 2, LastObservedTime: pbMicro},
			Action: "Pull", Related: &corev1.ObjectReference{Kind: "Node", Name: "node"}, ReportingController: "k2d", ReportingInstance: "k2d-1"},
		"events.k8s.io Event": &eventsv1.Event{ObjectMeta: pbMeta("ev2"), EventTime: pbMicro, Series: &eventsv1.EventSeries{Count: 5, LastObservedTime: pbMicro},
			ReportingController: "k2d", ReportingInstance: "i", Action: "A", Reason: "R", Regarding: corev1.ObjectReference{Kind: "Pod", Name: "p"},
			Note: "n", Type: "Warning", DeprecatedSource: corev1.EventSource{Component: "c"}, DeprecatedFirstTimestamp: pbT0, DeprecatedLastTimestamp: pbT1, DeprecatedCount: 7},
		"ConfigMap": &corev1.ConfigMap{ObjectMeta: pbMeta("cm"), Data: map[string]string{"a": "1", "empty": "", "multi": "x\ny\n"},
			BinaryData: map[string][]byte{"bin": {0, 1, 2, 0xff}, "none": {}}, Immutable: pbPtr(true)},
		"Secret": &corev1.Secret{ObjectMeta: pbMeta("s"), Data: map[string][]byte{"password": []byte("hunter2"), "empty": {}},
			StringData: map[string]string{"user": "admin"}, Type: corev1.SecretTypeOpaque, Immutable: pbPtr(false)},
		"ServiceAccount": &corev1.ServiceAccount{ObjectMeta: pbMeta("sa"), Secrets: []corev1.ObjectReference{{Name: "tok"}},
			ImagePullSecrets: []corev1.LocalObjectReference{{Name: "reg"}}, AutomountServiceAccountToken: pbPtr(true)},
		"Service": &corev1.Service{ObjectMeta: pbMeta("svc"), Spec: corev1.ServiceSpec{
			Ports: []corev1.ServicePort{{Name: "http", Protocol: corev1.ProtocolTCP, AppProtocol: pbPtr("http"), Port: 80, TargetPort: intstr.FromString("http"), NodePort: 30080},
				{Name: "metrics", Port: 9090, TargetPort: intstr.FromInt32(9090)}},
			Selector: map[string]string{"app": "web"}, ClusterIP: "10.96.0.10", ClusterIPs: []string{"10.96.0.10", "fd00::10"},
			Type: corev1.ServiceTypeNodePort, ExternalIPs: []string{"1.2.3.4"}, SessionAffinity: corev1.ServiceAffinityClientIP,
			SessionAffinityConfig:    &corev1.SessionAffinityConfig{ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: pbPtr(int32(10800))}},
			LoadBalancerSourceRanges: []string{"0.0.0.0/0"}, ExternalTrafficPolicy: corev1.ServiceExternalTrafficPolicyLocal, HealthCheckNodePort: 32000,
			PublishNotReadyAddresses: true, IPFamilies: []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol},
			IPFamilyPolicy: pbPtr(corev1.IPFamilyPolicyPreferDualStack), AllocateLoadBalancerNodePorts: pbPtr(false),
			InternalTrafficPolicy: pbPtr(corev1.ServiceInternalTrafficPolicyCluster), TrafficDistribution: pbPtr("PreferClose")},
			Status: corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: []corev1.LoadBalancerIngress{{IP: "1.2.3.4",
				IPMode: pbPtr(corev1.LoadBalancerIPModeVIP), Ports: []corev1.PortStatus{{Port: 80, Protocol: "TCP", Error: pbPtr("e")}}}}}}},
		"Endpoints": &corev1.Endpoints{ObjectMeta: pbMeta("ep"), Subsets: []corev1.EndpointSubset{{
			Addresses:         []corev1.EndpointAddress{{IP: "10.1.0.5", Hostname: "h", NodeName: pbPtr("node"), TargetRef: &corev1.ObjectReference{Kind: "Pod", Name: "web"}}},
			NotReadyAddresses: []corev1.EndpointAddress{{IP: "10.1.0.6"}},
			Ports:             []corev1.EndpointPort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP, AppProtocol: pbPtr("h2c")}}}}},
		"PersistentVolumeClaim": &corev1.PersistentVolumeClaim{ObjectMeta: pbMeta("pvc"), Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce, corev1.ReadOnlyMany}, Selector: selector,
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("5Gi")},
				Limits: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("10Gi")}},
			VolumeName: "pv", StorageClassName: pbPtr("local-path"), VolumeMode: pbPtr(corev1.PersistentVolumeFilesystem),
			DataSource:    &corev1.TypedLocalObjectReference{APIGroup: pbPtr("snapshot.storage.k8s.io"), Kind: "VolumeSnapshot", Name: "snap"},
			DataSourceRef: &corev1.TypedObjectReference{Kind: "PersistentVolumeClaim", Name: "src", Namespace: pbPtr("ns")}},
			Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound, AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Capacity:                  corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("5Gi")},
				Conditions:                []corev1.PersistentVolumeClaimCondition{{Type: "Resizing", Status: "True", LastProbeTime: pbT0}},
				AllocatedResourceStatuses: map[corev1.ResourceName]corev1.ClaimResourceStatus{corev1.ResourceStorage: corev1.PersistentVolumeClaimControllerResizeInProgress}}},
		"PersistentVolume": &corev1.PersistentVolume{ObjectMeta: pbMeta("pv"), Spec: corev1.PersistentVolumeSpec{
			Capacity:               corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("10Gi")},
			PersistentVolumeSource: pvSource, AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			ClaimRef:                      &corev1.ObjectReference{Kind: "PersistentVolumeClaim", Namespace: "default", Name: "pvc", UID: "u"},
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimDelete, StorageClassName: "local-path",
			MountOptions: []string{"ro"}, VolumeMode: pbPtr(corev1.PersistentVolumeBlock),
			NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
				MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "kubernetes.io/hostname", Operator: corev1.NodeSelectorOpIn, Values: []string{"node"}}}}}}}},
			Status: corev1.PersistentVolumeStatus{Phase: corev1.VolumeBound, Message: "m", LastPhaseTransitionTime: &pbT0}},
		"Deployment": &appsv1.Deployment{ObjectMeta: pbMeta("deploy"), Spec: appsv1.DeploymentSpec{
			Replicas: pbPtr(int32(3)), Selector: selector, Template: template,
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: &maxSurge, MaxUnavailable: &maxUnavail}},
			MinReadySeconds: 5, RevisionHistoryLimit: pbPtr(int32(10)), Paused: true, ProgressDeadlineSeconds: pbPtr(int32(600))},
			Status: appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 3, UpdatedReplicas: 3, ReadyReplicas: 2, AvailableReplicas: 2,
				UnavailableReplicas: 1, TerminatingReplicas: pbPtr(int32(0)), CollisionCount: pbPtr(int32(1)),
				Conditions: []appsv1.DeploymentCondition{{Type: appsv1.DeploymentAvailable, Status: "True", LastUpdateTime: pbT0, LastTransitionTime: pbT1, Reason: "r"}}}},
		"ReplicaSet": &appsv1.ReplicaSet{ObjectMeta: pbMeta("rs"), Spec: appsv1.ReplicaSetSpec{Replicas: pbPtr(int32(0)), MinReadySeconds: 1,
			Selector: selector, Template: template},
			Status: appsv1.ReplicaSetStatus{Replicas: 1, FullyLabeledReplicas: 1, ReadyReplicas: 1, AvailableReplicas: 1, ObservedGeneration: 9,
				Conditions: []appsv1.ReplicaSetCondition{{Type: appsv1.ReplicaSetReplicaFailure, Status: "False", LastTransitionTime: pbT0}}}},
		"EndpointSlice": &discoveryv1.EndpointSlice{ObjectMeta: pbMeta("eps"), AddressType: discoveryv1.AddressTypeIPv4,
			Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.1.0.5"},
				Conditions: discoveryv1.EndpointConditions{Ready: pbPtr(true), Serving: pbPtr(true), Terminating: pbPtr(false)},
				Hostname:   pbPtr("h"), TargetRef: &corev1.ObjectReference{Kind: "Pod", Name: "web"}, DeprecatedTopology: map[string]string{"a": "b"},
				NodeName: pbPtr("node"), Zone: pbPtr("z"), Hints: &discoveryv1.EndpointHints{ForZones: []discoveryv1.ForZone{{Name: "z"}}}}},
			Ports: []discoveryv1.EndpointPort{{Name: pbPtr("http"), Protocol: pbPtr(corev1.ProtocolTCP), Port: pbPtr(int32(80)), AppProtocol: pbPtr("http")}}},
		"StorageClass": &storagev1.StorageClass{ObjectMeta: pbMeta("sc"), Provisioner: "k2d.io/local", Parameters: map[string]string{"path": "/opt"},
			ReclaimPolicy: pbPtr(corev1.PersistentVolumeReclaimRetain), MountOptions: []string{"noatime"}, AllowVolumeExpansion: pbPtr(true),
			VolumeBindingMode: pbPtr(storagev1.VolumeBindingWaitForFirstConsumer),
			AllowedTopologies: []corev1.TopologySelectorTerm{{MatchLabelExpressions: []corev1.TopologySelectorLabelRequirement{{Key: "zone", Values: []string{"a"}}}}}},
		"DeleteOptions": &metav1.DeleteOptions{GracePeriodSeconds: pbPtr(int64(0)), Preconditions: &metav1.Preconditions{UID: pbPtr(types.UID("u")),
			ResourceVersion: pbPtr("1")}, OrphanDependents: pbPtr(false), PropagationPolicy: pbPtr(metav1.DeletePropagationForeground),
			DryRun: []string{metav1.DryRunAll}, IgnoreStoreReadErrorWithClusterBreakingPotential: pbPtr(true)},
		"Scale": &autoscalingv1.Scale{ObjectMeta: pbMeta("deploy"), Spec: autoscalingv1.ScaleSpec{Replicas: 5},
			Status: autoscalingv1.ScaleStatus{Replicas: 4, Selector: "app=web"}},
		"PodList": &corev1.PodList{ListMeta: metav1.ListMeta{ResourceVersion: "7", Continue: "c", RemainingItemCount: pbPtr(int64(-1))},
			Items: []corev1.Pod{*pod, {}}},
		"Status": &metav1.Status{Status: "Failure", Message: "m", Reason: metav1.StatusReasonNotFound, Code: 404,
			Details: &metav1.StatusDetails{Name: "n", Causes: []metav1.StatusCause{{Type: "t", Message: "m", Field: "f"}}, RetryAfterSeconds: 1}},
		"Condition": &metav1.Condition{Type: "Ready", Status: "True", ObservedGeneration: -3, LastTransitionTime: pbT0, Reason: "R", Message: "M"},
		"Duration":  &metav1.Duration{Duration: -90 * time.Second},
	}
	for i, v := range pod.Spec.Volumes {
		objs[fmt.Sprintf("Volume %d", i)] = &v
	}
	return objs
}

// TestProtobufOracleRichObjects decodes rich objects of every served kind as the generated
// Unmarshal does, and checks that the result semantically equals the encoded object.
func TestProtobufOracleRichObjects(t *testing.T) {
	covered := map[reflect.Type]bool{}
	for name, obj := range pbObjects() {
		pbOracle(t, name, obj)
		covered[reflect.TypeOf(obj)] = true
	}
	for _, k := range Kinds {
		if obj, ok := k.New().(pbGenerated); !ok || (!covered[reflect.TypeOf(obj)] && !k.Review) {
			t.Errorf("kind %s/%s has no rich object in pbObjects", k.Group, k.Kind)
		}
	}
}

// TestProtobufEnvelopeRichObject decodes a full envelope and sets apiVersion and kind.
func TestProtobufEnvelopeRichObject(t *testing.T) {
	pod := pbPod()
	raw, err := pod.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	obj, err := DecodeProtobuf(KindFor("", "v1", "pods"), envelope(t, "v1", "Pod", raw))
	if err != nil {
		t.Fatal(err)
	}
	pod.APIVersion, pod.Kind = "v1", "Pod"
	if !apiequality.Semantic.DeepEqual(obj, pod) {
		t.Fatalf("decoded %#v", obj)
	}
}

// pbFill fills objects with random values that the generated Marshal can encode.
func pbFill(seed uint64) *randfill.Filler {
	return randfill.NewWithSeed(int64(seed)).NilChance(0.2).NumElements(0, 3).MaxDepth(14).Funcs(
		func(t *metav1.Time, c randfill.Continue) {
			if c.Bool() {
				*t = metav1.NewTime(time.Unix(c.Int63n(4e9)-1e9, c.Int63n(1e9)))
			}
		},
		func(t *metav1.MicroTime, c randfill.Continue) {
			if c.Bool() {
				*t = metav1.NewMicroTime(time.Unix(c.Int63n(4e9)-1e9, c.Int63n(1e9)))
			}
		},
		func(q *resource.Quantity, c randfill.Continue) {
			*q = *resource.NewMilliQuantity(c.Int63n(2e12)-1e12, []resource.Format{resource.DecimalSI, resource.BinarySI, resource.DecimalExponent}[c.Intn(3)])
		},
		func(v *intstr.IntOrString, c randfill.Continue) {
			if c.Bool() {
				*v = intstr.FromInt32(c.Int31() - c.Int31())
			} else {
				*v = intstr.FromString(c.String(8))
			}
		},
		func(r *runtime.RawExtension, c randfill.Continue) {
			if c.Bool() {
				r.Raw = []byte(c.String(20))
			}
		},
		func(i *int64, c randfill.Continue) { *i = int64(c.Uint64()) },
		func(i *int32, c randfill.Continue) { *i = int32(c.Uint32()) },
	)
}

// pbRoots are the types DecodeProtobufInto is used with: every served kind and list, the
// scale subresource, DeleteOptions and the envelope.
func pbRoots() []reflect.Type {
	roots := []reflect.Type{reflect.TypeFor[autoscalingv1.Scale](), reflect.TypeFor[metav1.DeleteOptions](), reflect.TypeFor[runtime.Unknown]()}
	for _, k := range Kinds {
		roots = append(roots, reflect.TypeOf(k.New()).Elem())
		if k.NewList != nil {
			roots = append(roots, reflect.TypeOf(k.NewList()).Elem())
		}
	}
	return roots
}

// TestProtobufOracleRandomObjects round-trips randomly filled objects of every root type
// through the generated Marshal and compares pbUnmarshal with the generated Unmarshal.
func TestProtobufOracleRandomObjects(t *testing.T) {
	n := 40
	if testing.Short() {
		n = 5
	}
	for _, root := range pbRoots() {
		for i := 0; i < n; i++ {
			seed := rand.Uint64()
			v := reflect.New(root).Interface()
			pbFill(seed).Fill(v)
			b, err := v.(pbGenerated).Marshal()
			if err != nil {
				t.Fatalf("%v seed %d: %v", root, seed, err)
			}
			if _, ok := pbAgree(t, fmt.Sprintf("%v seed %d", root, seed), root, b); !ok {
				t.Fatalf("%v seed %d: the generated decoder rejects its own encoding", root, seed)
			}
		}
	}
}

// TestProtobufShapesSupported walks every type reachable from pbRoots and fails on a tagged
// field that pbUnmarshal cannot decode as the generated code does: a named slice type (a
// message wrapping a repeated field, like metav1.Verbs), a map with a non-scalar key, or a
// kind with no wire form.
func TestProtobufShapesSupported(t *testing.T) {
	seen := map[reflect.Type]bool{}
	var walk func(t reflect.Type, path string) []string
	walk = func(typ reflect.Type, path string) (bad []string) {
		switch typ.Kind() {
		case reflect.Pointer, reflect.Slice:
			if typ.Kind() == reflect.Slice && typ.Name() != "" && typ.Elem().Kind() != reflect.Uint8 {
				bad = append(bad, path+": named slice "+typ.String())
			}
			return append(bad, walk(typ.Elem(), path)...)
		case reflect.Map:
			if pbWireType(typ.Key()) == 2 && typ.Key().Kind() != reflect.String {
				bad = append(bad, path+": map key "+typ.Key().String())
			}
			return append(walk(typ.Key(), path), walk(typ.Elem(), path)...)
		case reflect.Interface, reflect.Func, reflect.Chan, reflect.Complex64, reflect.Complex128, reflect.UnsafePointer, reflect.Uintptr:
			return []string{path + ": " + typ.String()}
		case reflect.Struct:
		default:
			return nil
		}
		if seen[typ] || typ == pbTimeType || typ == pbMicroType || typ == pbQuantityType {
			return nil
		}
		seen[typ] = true
		for num, i := range pbTable(typ) {
			f := typ.Field(i)
			bad = append(bad, walk(f.Type, fmt.Sprintf("%s.%s(%d)", typ, f.Name, num))...)
		}
		return bad
	}
	for _, root := range pbRoots() {
		for _, b := range walk(root, root.String()) {
			t.Error(b)
		}
	}
	if len(seen) < 200 {
		t.Errorf("walked only %d types", len(seen))
	}
}

// pbw builds protobuf bytes by hand.
type pbw []byte

func (w pbw) tag(num, wt int) pbw { return binary.AppendUvarint(w, uint64(num)<<3|uint64(wt)) }
func (w pbw) varint(num int, x uint64) pbw {
	return binary.AppendUvarint(w.tag(num, 0), x)
}
func (w pbw) bytes(num int, b []byte) pbw {
	return append(binary.AppendUvarint(w.tag(num, 2), uint64(len(b))), b...)
}
func (w pbw) str(num int, s string) pbw { return w.bytes(num, []byte(s)) }
func (w pbw) fixed64(num int, x uint64) pbw {
	return binary.LittleEndian.AppendUint64(w.tag(num, 1), x)
}
func (w pbw) fixed32(num int, x uint32) pbw {
	return binary.LittleEndian.AppendUint32(w.tag(num, 5), x)
}
func (w pbw) group(num int, inner pbw) pbw {
	return append(append(w.tag(num, 3), inner...), pbw{}.tag(num, 4)...)
}

// pbUnknowns are unknown fields of all wire types, groups included, nested groups too.
func pbUnknowns() pbw {
	return pbw{}.varint(900, 1<<63).fixed64(901, 7).str(902, "junk").fixed32(903, 9).
		group(904, pbw{}.varint(1, 5).group(2, pbw{}.str(3, "x")).fixed32(4, 1))
}

func pbNeg(x int64) uint64 { return uint64(x) }

// pbHandPod hand-encodes a pod with what the generated Marshal never writes: negative
// values, packed and unpacked repeated ints, unknown fields of every wire type in messages
// and map entries, repeated and merged messages, odd map entries.
func pbHandPod() []byte {
	u := pbUnknowns()
	ports := pbw{}.str(1, "app").str(2, "nginx").
		bytes(6, append(pbw{}.varint(2, pbNeg(-5)).varint(3, pbNeg(-80)), u...)). // ContainerPort: hostPort -5, containerPort -80
		bytes(25, pbw{}.str(1, "Restart").bytes(2, pbw{}.str(1, "In").
			bytes(2, nil).                                                                           // empty packed run: nothing
			bytes(2, binary.AppendUvarint(binary.AppendUvarint(nil, pbNeg(-1)), 7)).varint(2, 300))) // packed -1,7 then unpacked 300
	secCtx := pbw{}.varint(3, 2). // runAsNonRoot: any non-zero varint is true
					bytes(4, binary.AppendUvarint(binary.AppendUvarint(nil, pbNeg(-2)), 1<<40)). // packed supplementalGroups
					varint(4, pbNeg(-3)).                                                        // unpacked
					varint(2, pbNeg(-1000))                                                      // runAsUser *int64
	spec := pbw{}.bytes(2, append(ports, u...)).bytes(14, append(secCtx, u...)).
		bytes(7, pbw{}.str(1, "k").str(2, "v")).                                   // nodeSelector
		bytes(7, pbw{}.str(2, "only-value")).                                      // missing key: ""
		bytes(7, pbw{}.str(1, "only-key")).                                        // missing value: ""
		bytes(7, append(pbw{}.str(1, "x").str(1, "y").str(2, "1"), u...)).         // repeated key, unknown entry fields
		bytes(32, pbw{}.str(1, "cpu").bytes(2, pbw{}.str(1, "250m"))).             // overhead Quantity
		bytes(32, pbw{}.str(1, "memory")).                                         // Quantity value missing: zero
		bytes(32, pbw{}.str(1, "pods").bytes(2, pbw{}.str(1, "1")).bytes(2, nil)). // second value replaces the first
		varint(25, pbNeg(-7)).                                                     // priority *int32
		varint(11, 1).varint(11, 0)                                                // hostNetwork: last wins
	meta := pbw{}.str(1, "a").varint(7, pbNeg(-9)).bytes(8, pbw{}.varint(1, 1700000000).varint(2, 999)).
		bytes(9, nil). // deletionTimestamp: empty Time message is the zero time
		bytes(11, pbw{}.str(1, "l").str(2, "1"))
	meta2 := pbw{}.str(3, "ns").bytes(11, pbw{}.str(1, "m").str(2, "2")) // merges into the first metadata
	pod := pbw{}.bytes(1, append(meta, u...)).bytes(2, spec).bytes(1, meta2).
		bytes(2, pbw{}.bytes(2, pbw{}.str(1, "second"))). // a second spec appends a container
		bytes(3, pbw{}.str(1, "Running"))
	pod = append(pod, u...)
	return pod
}

// TestProtobufWireShapes decodes hand-encoded input (pbHandPod and others): both decoders
// must agree, and the values must be the expected ones.
func TestProtobufWireShapes(t *testing.T) {
	pod := pbHandPod()
	got, ok := pbAgree(t, "hand-encoded pod", reflect.TypeFor[corev1.Pod](), pod)
	if !ok {
		t.Fatal("the generated decoder rejects the hand-encoded pod:", new(corev1.Pod).Unmarshal(pod))
	}
	p := got.(*corev1.Pod)
	sc, c := p.Spec.SecurityContext, p.Spec.Containers
	switch {
	case p.Name != "a" || p.Namespace != "ns" || p.Generation != -9 || len(p.Labels) != 2 || p.DeletionTimestamp == nil || !p.DeletionTimestamp.IsZero():
		t.Errorf("metadata %+v", p.ObjectMeta)
	case len(c) != 2 || c[0].Ports[0].HostPort != -5 || c[0].Ports[0].ContainerPort != -80 || c[1].Name != "second":
		t.Errorf("containers %+v", c)
	case !reflect.DeepEqual(c[0].RestartPolicyRules[0].ExitCodes.Values, []int32{-1, 7, 300}):
		t.Errorf("exit codes %v", c[0].RestartPolicyRules[0].ExitCodes.Values)
	case !reflect.DeepEqual(sc.SupplementalGroups, []int64{-2, 1 << 40, -3}) || !*sc.RunAsNonRoot || *sc.RunAsUser != -1000:
		t.Errorf("security context %+v", sc)
	case *p.Spec.Priority != -7 || p.Spec.HostNetwork || len(p.Spec.NodeSelector) != 4 || p.Spec.NodeSelector["y"] != "1":
		t.Errorf("spec %+v", p.Spec)
	case p.Spec.Overhead.Cpu().MilliValue() != 250 || !p.Spec.Overhead.Pods().IsZero() || p.CreationTimestamp.Unix() != 1700000000:
		t.Errorf("overhead %v, creation %v", p.Spec.Overhead, p.CreationTimestamp)
	}

	// Secret data: bytes values, a missing value is []byte{}, not nil.
	secret := pbw{}.bytes(2, pbw{}.str(1, "k").bytes(2, []byte{0, 1})).bytes(2, pbw{}.str(1, "empty"))
	got, _ = pbAgree(t, "secret", reflect.TypeFor[corev1.Secret](), secret)
	if d := got.(*corev1.Secret).Data; d["empty"] == nil || len(d["k"]) != 2 {
		t.Errorf("secret data %#v", d)
	}
	// Event times: MicroTime keeps microseconds, Time whole seconds.
	ev := pbw{}.bytes(7, pbw{}.varint(1, pbNeg(-5)).varint(2, 123456789)).bytes(10, pbw{}.varint(1, 10).varint(2, 987654321))
	got, _ = pbAgree(t, "event", reflect.TypeFor[corev1.Event](), ev)
	if e := got.(*corev1.Event); e.EventTime.Nanosecond() != 987654000 || e.LastTimestamp.Nanosecond() != 0 || e.LastTimestamp.Unix() != -5 {
		t.Errorf("event times %v %v", e.EventTime, e.LastTimestamp)
	}
	// IntOrString (maxUnavailable 1, maxSurge 2), a negative *int32.
	deploy := pbw{}.bytes(2, pbw{}.varint(1, pbNeg(-1)).bytes(4, pbw{}.str(1, "RollingUpdate").
		bytes(2, pbw{}.bytes(1, pbw{}.varint(1, 1).str(3, "25%")).bytes(2, pbw{}.varint(2, pbNeg(-3))))))
	got, _ = pbAgree(t, "deployment", reflect.TypeFor[appsv1.Deployment](), deploy)
	if d := got.(*appsv1.Deployment).Spec; *d.Replicas != -1 || d.Strategy.RollingUpdate.MaxUnavailable.StrVal != "25%" || d.Strategy.RollingUpdate.MaxSurge.IntVal != -3 {
		t.Errorf("deployment spec %+v", d)
	}
	pbAgree(t, "duration", reflect.TypeFor[metav1.Duration](), pbw{}.varint(1, pbNeg(-int64(time.Hour))))
	// Floats and unsigned ints: no served kind has them, so there is no oracle.
	type floats struct {
		F  float64   `protobuf:"fixed64,1,opt,name=f"`
		G  float32   `protobuf:"fixed32,2,opt,name=g"`
		U  uint32    `protobuf:"varint,3,opt,name=u"`
		Fs []float64 `protobuf:"fixed64,4,rep,name=fs"`
	}
	var fl floats
	b := pbw{}.fixed64(1, math.Float64bits(-1.5)).fixed32(2, math.Float32bits(2.5)).varint(3, 1<<32+7).
		fixed64(4, math.Float64bits(1)).bytes(4, binary.LittleEndian.AppendUint64(nil, math.Float64bits(2)))
	if err := pbUnmarshal(b, &fl); err != nil || !reflect.DeepEqual(fl, floats{-1.5, 2.5, 7, []float64{1, 2}}) {
		t.Errorf("floats %+v %v", fl, err)
	}
	for _, bad := range []pbw{pbw{}.varint(1, 1), pbw{}.fixed64(2, 1), pbw{}.tag(1, 1).varint(0, 0), pbw{}.tag(2, 5)} {
		if err := pbUnmarshal(bad, &floats{}); err == nil {
			t.Errorf("%x: want an error", bad)
		}
	}
	// Field numbers beyond int32 wrap as in the generated code (field 1 + 2^32 is field 1).
	pbAgree(t, "wrapped field number", reflect.TypeFor[corev1.Namespace](), binary.AppendUvarint(binary.AppendUvarint(nil, (1<<32+1)<<3|2), 0))
}

// TestProtobufErrors checks malformed input: both decoders fail.
func TestProtobufErrors(t *testing.T) {
	pod := reflect.TypeFor[corev1.Pod]()
	for name, b := range map[string][]byte{
		"truncated tag":              {0x8a},
		"varint of 11 bytes":         append(pbw{}.tag(1, 2), 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01),
		"length past the end":        pbw{}.tag(1, 2).varint(0, 0)[:1],
		"huge length":                binary.AppendUvarint(pbw{}.tag(1, 2), 1<<62),
		"negative length":            binary.AppendUvarint(pbw{}.tag(1, 2), 1<<63),
		"metadata as varint":         pbw{}.varint(1, 1),
		"name as varint":             pbw{}.bytes(1, pbw{}.varint(1, 1)),
		"generation as bytes":        pbw{}.bytes(1, pbw{}.str(7, "x")),
		"generation as fixed64":      pbw{}.bytes(1, pbw{}.fixed64(7, 1)),
		"labels as fixed32":          pbw{}.bytes(1, pbw{}.fixed32(11, 1)),
		"supplementalGroups fixed64": pbw{}.bytes(2, pbw{}.bytes(14, pbw{}.fixed64(4, 1))),
		"packed varint truncated":    pbw{}.bytes(2, pbw{}.bytes(14, pbw{}.bytes(4, []byte{0x80}))),
		"end group":                  pbw{}.tag(5, 4),
		"field 0":                    pbw{}.varint(0, 1),
		"unbalanced group":           pbw{}.tag(900, 3).varint(1, 1),
		"group with illegal wire":    pbw{}.tag(900, 3).tag(1, 7),
		"illegal wire type 6":        pbw{}.tag(900, 6),
		"unknown fixed64 truncated":  pbw{}.tag(900, 1).varint(0, 0)[:3],
		"bad quantity":               pbw{}.bytes(2, pbw{}.bytes(32, pbw{}.str(1, "cpu").bytes(2, pbw{}.str(1, "1.2.3")))),
		"quantity as varint":         pbw{}.bytes(2, pbw{}.bytes(32, pbw{}.str(1, "cpu").bytes(2, pbw{}.varint(1, 1)))),
		"map entry end group":        pbw{}.bytes(1, pbw{}.bytes(11, pbw{}.tag(3, 4))),
		"map entry skip past entry":  pbw{}.bytes(1, pbw{}.bytes(11, pbw{}.tag(3, 2))).str(1, "n"),
		"time seconds as bytes":      pbw{}.bytes(1, pbw{}.bytes(8, pbw{}.str(1, "x"))),
		"time truncated":             pbw{}.bytes(1, pbw{}.bytes(8, []byte{0x08})),
	} {
		if _, ok := pbAgree(t, name, pod, b); ok {
			t.Errorf("%s: both decoders accept %x", name, b)
		}
	}
}

// TestProtobufTruncated decodes every prefix of a rich pod and of its envelope: no panic,
// and the same outcome as the generated decoder.
func TestProtobufTruncated(t *testing.T) {
	raw, err := pbPod().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	typ := reflect.TypeFor[corev1.Pod]()
	for n := 0; n <= len(raw); n++ {
		pbAgree(t, fmt.Sprintf("prefix %d", n), typ, raw[:n])
	}
	// A prefix that ends between envelope fields is a valid envelope: only check for panics.
	body := envelope(t, "v1", "Pod", raw)
	k := KindFor("", "v1", "pods")
	for n := 0; n < len(body); n++ {
		_, _ = DecodeProtobuf(k, body[:n])
	}
}

// TestProtobufTableCached checks that field tables are built once per type.
func TestProtobufTableCached(t *testing.T) {
	a, b := pbTable(reflect.TypeFor[corev1.PodSpec]()), pbTable(reflect.TypeFor[corev1.PodSpec]())
	if reflect.ValueOf(a).UnsafePointer() != reflect.ValueOf(b).UnsafePointer() || a[2] != 2 {
		t.Fatalf("tables %v %v", a, b)
	}
	raw, _ := pbPod().Marshal()
	allocs := testing.AllocsPerRun(20, func() { _ = pbUnmarshal(raw, &corev1.Pod{}) })
	t.Logf("%d bytes, %.0f allocations per decode", len(raw), allocs)
}

func FuzzDecodeProtobuf(f *testing.F) {
	f.Add(append(append([]byte{}, protobufMagic...), 0x0a, 0x00))
	raw, _ := pbPod().Marshal()
	f.Add(envelope(f, "v1", "Pod", raw))
	k := KindFor("", "v1", "pods")
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = DecodeProtobuf(k, b)
	})
}

// pbSlowQuantity matches the quantities ("1.1e-9999999") on which resource.ParseQuantity,
// called by both decoders (and by JSON decoding), spends seconds: the fuzzer skips them.
var pbSlowQuantity = regexp.MustCompile(`[eE]-0*[1-9][0-9]{5}`)

// FuzzProtobufOracle compares pbUnmarshal with the generated corev1.Pod Unmarshal on arbitrary
// bytes: both fail, or both succeed with DeepEqual pods. The only excused disagreement is a
// panic of the generated code (resource.Quantity.Unmarshal overflows on huge string lengths).
func FuzzProtobufOracle(f *testing.F) {
	raw, _ := pbPod().Marshal()
	f.Add(raw)
	for i := 0; i < 8; i++ { // small pods: the fuzzer minimizes large inputs slowly
		var p corev1.Pod
		pbFill(uint64(i)).NilChance(0.6).NumElements(1, 1).MaxDepth(8).Fill(&p)
		b, _ := p.Marshal()
		f.Add(b)
	}
	f.Add([]byte(pbUnknowns()))
	f.Add(pbHandPod())
	typ := reflect.TypeFor[corev1.Pod]()
	f.Fuzz(func(t *testing.T, b []byte) {
		if pbSlowQuantity.Match(b) {
			t.Skip("resource.ParseQuantity takes seconds on a fraction with a large negative exponent")
		}
		pbAgree(t, "fuzz", typ, b)
	})
}

func BenchmarkProtobufDecodePod(b *testing.B) {
	raw, _ := pbPod().Marshal()
	b.Run("pbUnmarshal", func(b *testing.B) {
		for b.Loop() {
			if err := pbUnmarshal(raw, &corev1.Pod{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("generated", func(b *testing.B) {
		for b.Loop() {
			if err := (&corev1.Pod{}).Unmarshal(raw); err != nil {
				b.Fatal(err)
			}
		}
	})
}
