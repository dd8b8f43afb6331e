package codec

import (
	"reflect"
	"regexp"
	"slices"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
)

// Default fills what the Kubernetes API server fills in on a write before it validates and
// stores the object: the scheme defaults of pkg/apis/core/v1, the mutations of the admission
// plugins a default cluster runs (ServiceAccount, Priority, DefaultTolerationSeconds) and the
// create-time status the registry strategies set (pod phase Pending and QoS class, namespace
// phase Active and its "kubernetes" finalizer).
//
// Default only fills fields that are unset, so it is idempotent and safe on both create and
// update. Kinds without server-side defaults (events, unknown kinds) are left untouched.
// Server-owned metadata (uid, creationTimestamp, resourceVersion, generation) is the
// handler's business, as is the service account token volume the ServiceAccount plugin would
// add: k2d has no token to mount.
func Default(obj runtime.Object) {
	switch o := obj.(type) {
	case *corev1.Pod:
		dfltPod(o)
	case *corev1.Namespace:
		dfltNamespace(o)
	case *corev1.Node:
		dfltNode(o)
	case *corev1.Event, *eventsv1.Event:
		// Neither events API has scheme defaults, and the event strategy sets nothing.
	default:
		if f := dfltKinds[reflect.TypeOf(obj)]; f != nil {
			f(obj)
		}
	}
}

// dfltKinds holds the defaulting of kinds whose rules live in their own files, by Go type;
// each such file registers its function in an init func.
var dfltKinds = map[reflect.Type]func(runtime.Object){}

// dfltRegister registers typed defaulting for T.
func dfltRegister[T runtime.Object](f func(T)) {
	var zero T
	dfltKinds[reflect.TypeOf(zero)] = func(obj runtime.Object) { f(obj.(T)) }
}

// Values the priority admission plugin resolves without any PriorityClass object: the two
// classes the API server creates at start-up, and 0 when no global default class exists.
var dfltSystemPriorities = map[string]int32{
	"system-node-critical":    2000001000,
	"system-cluster-critical": 2000000000,
}

// dfltTolerationSeconds mirrors the DefaultTolerationSeconds admission plugin's flags.
const dfltTolerationSeconds int64 = 300

func dfltPod(p *corev1.Pod) {
	spec := &p.Spec

	// SetDefaults_Pod: requests default to limits, only on pods (not on templates).
	for i := range spec.Containers {
		dfltRequestsFromLimits(&spec.Containers[i].Resources)
	}
	for i := range spec.InitContainers {
		dfltRequestsFromLimits(&spec.InitContainers[i].Resources)
	}
	if spec.EnableServiceLinks == nil {
		v := corev1.DefaultEnableServiceLinks
		spec.EnableServiceLinks = &v
	}
	if spec.HostNetwork {
		dfltHostNetworkPorts(spec.Containers)
		dfltHostNetworkPorts(spec.InitContainers)
	}

	dfltPodSpec(spec)
	dfltPodAdmission(spec)

	// The pod strategy's PrepareForCreate: a new pod is Pending with a computed QoS class.
	if p.Status.Phase == "" {
		p.Status.Phase = corev1.PodPending
	}
	if p.Status.QOSClass == "" {
		p.Status.QOSClass = dfltPodQOS(p)
	}
	// ... and a pod with scheduling gates says why it is not scheduled.
	if len(spec.SchedulingGates) > 0 && !slices.ContainsFunc(p.Status.Conditions, func(c corev1.PodCondition) bool { return c.Type == corev1.PodScheduled }) {
		p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{
			Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonSchedulingGated,
			Message: "Scheduling is blocked due to non-empty scheduling gates",
		})
	}
}

// dfltPodSpec applies SetDefaults_PodSpec and the defaults of every type inside a pod spec
// (containers, volumes, probes, resource lists). Pods and pod templates (Deployments,
// ReplicaSets...) share it; what SetDefaults_Pod adds and the admission plugins only apply to
// pods.
func dfltPodSpec(spec *corev1.PodSpec) {
	if spec.DNSPolicy == "" {
		spec.DNSPolicy = corev1.DNSClusterFirst
	}
	if spec.RestartPolicy == "" {
		spec.RestartPolicy = corev1.RestartPolicyAlways
	}
	if spec.SecurityContext == nil {
		spec.SecurityContext = &corev1.PodSecurityContext{}
	}
	if spec.TerminationGracePeriodSeconds == nil {
		v := int64(corev1.DefaultTerminationGracePeriodSeconds)
		spec.TerminationGracePeriodSeconds = &v
	}
	if spec.SchedulerName == "" {
		spec.SchedulerName = corev1.DefaultSchedulerName
	}

	for i := range spec.Volumes {
		dfltVolume(&spec.Volumes[i])
	}
	for i := range spec.InitContainers {
		dfltContainer(&spec.InitContainers[i])
	}
	for i := range spec.Containers {
		dfltContainer(&spec.Containers[i])
	}
	for i := range spec.EphemeralContainers {
		dfltContainer((*corev1.Container)(&spec.EphemeralContainers[i].EphemeralContainerCommon))
	}
	dfltRoundResources(spec.Overhead)
	if spec.Resources != nil {
		dfltRoundResources(spec.Resources.Limits)
		dfltRoundResources(spec.Resources.Requests)
	}
}

// dfltPodAdmission applies the mutating admission plugins of a default cluster.
func dfltPodAdmission(spec *corev1.PodSpec) {
	// ServiceAccount plugin; v1 conversion reads the deprecated field when the new one is empty
	// and always writes both.
	if spec.ServiceAccountName == "" {
		spec.ServiceAccountName = spec.DeprecatedServiceAccount
	}
	if spec.ServiceAccountName == "" {
		spec.ServiceAccountName = "default"
	}
	spec.DeprecatedServiceAccount = spec.ServiceAccountName

	// Priority plugin: without PriorityClass objects only the system classes resolve. An
	// explicit priority is left for validation to compare against the old object.
	if spec.Priority == nil {
		v := dfltSystemPriorities[spec.PriorityClassName]
		spec.Priority = &v
	}
	if spec.PreemptionPolicy == nil {
		v := corev1.PreemptLowerPriority
		spec.PreemptionPolicy = &v
	}

	// DefaultTolerationSeconds plugin: an empty key or effect tolerates everything.
	notReady, unreachable := false, false
	for _, t := range spec.Tolerations {
		if t.Effect != corev1.TaintEffectNoExecute && t.Effect != "" {
			continue
		}
		if t.Key == corev1.TaintNodeNotReady || t.Key == "" {
			notReady = true
		}
		if t.Key == corev1.TaintNodeUnreachable || t.Key == "" {
			unreachable = true
		}
	}
	if !notReady {
		spec.Tolerations = append(spec.Tolerations, dfltNoExecuteToleration(corev1.TaintNodeNotReady))
	}
	if !unreachable {
		spec.Tolerations = append(spec.Tolerations, dfltNoExecuteToleration(corev1.TaintNodeUnreachable))
	}
}

func dfltNoExecuteToleration(key string) corev1.Toleration {
	secs := dfltTolerationSeconds
	return corev1.Toleration{Key: key, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: &secs}
}

func dfltRequestsFromLimits(r *corev1.ResourceRequirements) {
	if r.Limits == nil {
		return
	}
	if r.Requests == nil {
		r.Requests = make(corev1.ResourceList, len(r.Limits))
	}
	for name, q := range r.Limits {
		if _, ok := r.Requests[name]; !ok {
			r.Requests[name] = q.DeepCopy()
		}
	}
}

// dfltRoundResources rounds quantities up to milli precision as SetDefaults_ResourceList
// does, so "0.0001" is stored as "1m".
func dfltRoundResources(rl corev1.ResourceList) {
	for name, q := range rl {
		q.RoundUp(resource.Milli)
		rl[name] = q
	}
}

// With host networking every container port is also a host port.
func dfltHostNetworkPorts(containers []corev1.Container) {
	for i := range containers {
		for j := range containers[i].Ports {
			if containers[i].Ports[j].HostPort == 0 {
				containers[i].Ports[j].HostPort = containers[i].Ports[j].ContainerPort
			}
		}
	}
}

func dfltContainer(c *corev1.Container) {
	if c.ImagePullPolicy == "" {
		c.ImagePullPolicy = dfltPullPolicy(c.Image)
	}
	if c.TerminationMessagePath == "" {
		c.TerminationMessagePath = corev1.TerminationMessagePathDefault
	}
	if c.TerminationMessagePolicy == "" {
		c.TerminationMessagePolicy = corev1.TerminationMessageReadFile
	}
	for i := range c.Ports {
		if c.Ports[i].Protocol == "" {
			c.Ports[i].Protocol = corev1.ProtocolTCP
		}
	}
	for i := range c.Env {
		vf := c.Env[i].ValueFrom
		if vf == nil {
			continue
		}
		if vf.FieldRef != nil && vf.FieldRef.APIVersion == "" {
			vf.FieldRef.APIVersion = "v1"
		}
		// FileKeySelector.optional is "+default=false".
		if vf.FileKeyRef != nil && vf.FileKeyRef.Optional == nil {
			f := false
			vf.FileKeyRef.Optional = &f
		}
	}
	dfltRoundResources(c.Resources.Limits)
	dfltRoundResources(c.Resources.Requests)
	dfltProbe(c.LivenessProbe)
	dfltProbe(c.ReadinessProbe)
	dfltProbe(c.StartupProbe)
	if c.Lifecycle != nil {
		if c.Lifecycle.PostStart != nil {
			dfltHTTPGet(c.Lifecycle.PostStart.HTTPGet)
		}
		if c.Lifecycle.PreStop != nil {
			dfltHTTPGet(c.Lifecycle.PreStop.HTTPGet)
		}
	}
}

func dfltProbe(p *corev1.Probe) {
	if p == nil {
		return
	}
	if p.TimeoutSeconds == 0 {
		p.TimeoutSeconds = 1
	}
	if p.PeriodSeconds == 0 {
		p.PeriodSeconds = 10
	}
	if p.SuccessThreshold == 0 {
		p.SuccessThreshold = 1
	}
	if p.FailureThreshold == 0 {
		p.FailureThreshold = 3
	}
	dfltHTTPGet(p.HTTPGet)
	// GRPCAction.service is "+default=\"\"" and not omitempty: a nil pointer becomes "".
	if p.GRPC != nil && p.GRPC.Service == nil {
		s := ""
		p.GRPC.Service = &s
	}
}

func dfltHTTPGet(h *corev1.HTTPGetAction) {
	if h == nil {
		return
	}
	if h.Path == "" {
		h.Path = "/"
	}
	if h.Scheme == "" {
		h.Scheme = corev1.URISchemeHTTP
	}
}

func dfltVolume(v *corev1.Volume) {
	src := &v.VolumeSource
	if dfltNoVolumeSource(src) {
		src.EmptyDir = &corev1.EmptyDirVolumeSource{}
	}
	if src.HostPath != nil && src.HostPath.Type == nil {
		t := corev1.HostPathUnset
		src.HostPath.Type = &t
	}
	if src.Secret != nil {
		dfltMode(&src.Secret.DefaultMode, corev1.SecretVolumeSourceDefaultMode)
	}
	if src.ConfigMap != nil {
		dfltMode(&src.ConfigMap.DefaultMode, corev1.ConfigMapVolumeSourceDefaultMode)
	}
	if src.DownwardAPI != nil {
		dfltMode(&src.DownwardAPI.DefaultMode, corev1.DownwardAPIVolumeSourceDefaultMode)
		dfltDownwardAPIFiles(src.DownwardAPI.Items)
	}
	if src.Projected != nil {
		dfltMode(&src.Projected.DefaultMode, corev1.ProjectedVolumeSourceDefaultMode)
		for i := range src.Projected.Sources {
			s := &src.Projected.Sources[i]
			if s.DownwardAPI != nil {
				dfltDownwardAPIFiles(s.DownwardAPI.Items)
			}
			if s.ServiceAccountToken != nil && s.ServiceAccountToken.ExpirationSeconds == nil {
				hour := int64(3600)
				s.ServiceAccountToken.ExpirationSeconds = &hour
			}
		}
	}
	if src.Image != nil && src.Image.PullPolicy == "" {
		src.Image.PullPolicy = dfltPullPolicy(src.Image.Reference)
	}
	if src.Ephemeral != nil && src.Ephemeral.VolumeClaimTemplate != nil {
		pvc := &src.Ephemeral.VolumeClaimTemplate.Spec
		if pvc.VolumeMode == nil {
			m := corev1.PersistentVolumeFilesystem
			pvc.VolumeMode = &m
		}
		dfltRoundResources(pvc.Resources.Limits)
		dfltRoundResources(pvc.Resources.Requests)
	}
	// Declarative (+default) values of the legacy in-tree sources.
	if src.ISCSI != nil && src.ISCSI.ISCSIInterface == "" {
		src.ISCSI.ISCSIInterface = "default"
	}
	if src.RBD != nil {
		dfltString(&src.RBD.RBDPool, "rbd")
		dfltString(&src.RBD.RadosUser, "admin")
		dfltString(&src.RBD.Keyring, "/etc/ceph/keyring")
	}
	if d := src.AzureDisk; d != nil {
		if d.CachingMode == nil {
			m := corev1.AzureDataDiskCachingReadWrite
			d.CachingMode = &m
		}
		if d.FSType == nil {
			fs := "ext4"
			d.FSType = &fs
		}
		if d.ReadOnly == nil {
			ro := false
			d.ReadOnly = &ro
		}
		if d.Kind == nil {
			k := corev1.AzureSharedBlobDisk
			d.Kind = &k
		}
	}
	if s := src.ScaleIO; s != nil {
		dfltString(&s.StorageMode, "ThinProvisioned")
		dfltString(&s.FSType, "xfs")
	}
}

func dfltDownwardAPIFiles(items []corev1.DownwardAPIVolumeFile) {
	for i := range items {
		if f := items[i].FieldRef; f != nil && f.APIVersion == "" {
			f.APIVersion = "v1"
		}
	}
}

func dfltMode(p **int32, mode int32) {
	if *p == nil {
		m := mode
		*p = &m
	}
}

func dfltString(p *string, v string) {
	if *p == "" {
		*p = v
	}
}

// dfltNoVolumeSource reports whether no source is set. Reflection keeps it right when new
// volume types are added to k8s.io/api (the server uses ptr.AllPtrFieldsNil the same way).
func dfltNoVolumeSource(src *corev1.VolumeSource) bool {
	v := reflect.ValueOf(src).Elem()
	for i := 0; i < v.NumField(); i++ {
		if f := v.Field(i); f.Kind() == reflect.Pointer && !f.IsNil() {
			return false
		}
	}
	return true
}

// dfltPullPolicy is Always for an image tagged (or defaulting to) "latest", IfNotPresent for
// any other tag, a digest, or a reference that does not parse, as SetDefaults_Container does.
func dfltPullPolicy(image string) corev1.PullPolicy {
	if dfltImageTag(image) == "latest" {
		return corev1.PullAlways
	}
	return corev1.PullIfNotPresent
}

// The distribution reference grammar (github.com/distribution/reference), written out so the
// codec does not depend on it. A domain is only recognised before the first '/'.
var dfltReferenceRegexp = func() *regexp.Regexp {
	const (
		alnum       = `[a-z0-9]+`
		separator   = `(?:[._]|__|[-]+)`
		pathComp    = alnum + `(?:` + separator + alnum + `)*`
		domainComp  = `(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])`
		ipv6        = `\[(?:[a-fA-F0-9:]+)\]`
		host        = `(?:` + domainComp + `(?:\.` + domainComp + `)*|` + ipv6 + `)`
		domain      = host + `(?::[0-9]+)?`
		name        = `(?:` + domain + `/)?` + pathComp + `(?:/` + pathComp + `)*`
		tag         = `[\w][\w.-]{0,127}`
		digest      = `[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}`
		fullPattern = `^(` + name + `)(?::(` + tag + `))?(?:@(` + digest + `))?$`
	)
	return regexp.MustCompile(fullPattern)
}()

var dfltHexIDRegexp = regexp.MustCompile(`^[a-f0-9]{64}$`)

// dfltImageTag returns the tag of a normalized image reference: "latest" when neither a tag
// nor a digest is given, "" when only a digest is given or the reference is invalid.
func dfltImageTag(image string) string {
	if image == "" || dfltHexIDRegexp.MatchString(image) {
		return ""
	}
	m := dfltReferenceRegexp.FindStringSubmatch(image)
	// The grammar already keeps repository paths lower case; only a domain may have capitals.
	if m == nil || len(m[1]) > 255 {
		return ""
	}
	if m[2] != "" {
		return m[2]
	}
	if m[3] != "" {
		return ""
	}
	return "latest"
}

// dfltPodQOS computes the QoS class as pkg/apis/core/helper/qos does: pod-level resources
// when set, otherwise the cpu and memory of every app and init container.
func dfltPodQOS(p *corev1.Pod) corev1.PodQOSClass {
	requests := map[corev1.ResourceName]resource.Quantity{}
	limits := map[corev1.ResourceName]resource.Quantity{}
	guaranteed := true
	add := func(dst map[corev1.ResourceName]resource.Quantity, rl corev1.ResourceList) (cpu, mem bool) {
		for name, q := range rl {
			if name != corev1.ResourceCPU && name != corev1.ResourceMemory || q.Sign() <= 0 {
				continue
			}
			if name == corev1.ResourceCPU {
				cpu = true
			} else {
				mem = true
			}
			sum := q.DeepCopy()
			if prev, ok := dst[name]; ok {
				sum.Add(prev)
			}
			dst[name] = sum
		}
		return cpu, mem
	}
	if r := p.Spec.Resources; r != nil {
		add(requests, r.Requests)
		if len(r.Limits) > 0 {
			if cpu, mem := add(limits, r.Limits); !cpu || !mem {
				guaranteed = false
			}
		}
	} else {
		for _, list := range [][]corev1.Container{p.Spec.Containers, p.Spec.InitContainers} {
			for i := range list {
				add(requests, list[i].Resources.Requests)
				if cpu, mem := add(limits, list[i].Resources.Limits); !cpu || !mem {
					guaranteed = false
				}
			}
		}
	}
	if len(requests) == 0 && len(limits) == 0 {
		return corev1.PodQOSBestEffort
	}
	if guaranteed {
		for name, req := range requests {
			if lim, ok := limits[name]; !ok || lim.Cmp(req) != 0 {
				guaranteed = false
				break
			}
		}
	}
	if guaranteed && len(requests) == len(limits) {
		return corev1.PodQOSGuaranteed
	}
	return corev1.PodQOSBurstable
}

func dfltNamespace(ns *corev1.Namespace) {
	// SetDefaults_Namespace; a namespace created with generateName gets its label once the
	// handler has generated the name and calls Default again.
	if ns.Name != "" {
		if ns.Labels == nil {
			ns.Labels = map[string]string{}
		}
		ns.Labels[corev1.LabelMetadataName] = ns.Name
	}
	// The namespace strategy's PrepareForCreate requires the kubernetes finalizer.
	has := false
	for _, f := range ns.Spec.Finalizers {
		if f == corev1.FinalizerKubernetes {
			has = true
			break
		}
	}
	if !has {
		ns.Spec.Finalizers = append(ns.Spec.Finalizers, corev1.FinalizerKubernetes)
	}
	if ns.Status.Phase == "" {
		ns.Status.Phase = corev1.NamespaceActive
	}
}

func dfltNode(n *corev1.Node) {
	if n.Status.Allocatable == nil && n.Status.Capacity != nil {
		n.Status.Allocatable = n.Status.Capacity.DeepCopy()
	}
}
