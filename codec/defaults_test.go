package codec

import (
	"encoding/json"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// defaultJSON decodes in into a new object of kind k, defaults it and returns it re-encoded
// as a generic map, so that tests compare what a client would read back.
func defaultJSON(t *testing.T, k *Kind, in string) (runtime.Object, map[string]any) {
	t.Helper()
	obj := k.New()
	if err := json.Unmarshal([]byte(in), obj); err != nil {
		t.Fatal(err)
	}
	Default(obj)
	return obj, toMap(t, obj)
}

func toMap(t *testing.T, v any) map[string]any {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func mustMap(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestDefaultPodKubectlRun checks the pod `kubectl run web --image=nginx` sends against what
// a real API server stores (minus the service account token volume k2d does not add).
func TestDefaultPodKubectlRun(t *testing.T) {
	pods := KindFor("", "v1", "pods")
	_, got := defaultJSON(t, pods, `{"apiVersion":"v1","kind":"Pod","metadata":{"labels":{"run":"web"},"name":"web","namespace":"default"},
		"spec":{"containers":[{"image":"nginx","name":"web","resources":{}}],"dnsPolicy":"ClusterFirst","restartPolicy":"Always"},"status":{}}`)
	want := mustMap(t, `{
	  "metadata": {"labels": {"run": "web"}, "name": "web", "namespace": "default"},
	  "spec": {
	    "containers": [{
	      "image": "nginx", "imagePullPolicy": "Always", "name": "web", "resources": {},
	      "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File"
	    }],
	    "dnsPolicy": "ClusterFirst",
	    "enableServiceLinks": true,
	    "preemptionPolicy": "PreemptLowerPriority",
	    "priority": 0,
	    "restartPolicy": "Always",
	    "schedulerName": "default-scheduler",
	    "securityContext": {},
	    "serviceAccount": "default",
	    "serviceAccountName": "default",
	    "terminationGracePeriodSeconds": 30,
	    "tolerations": [
	      {"effect": "NoExecute", "key": "node.kubernetes.io/not-ready", "operator": "Exists", "tolerationSeconds": 300},
	      {"effect": "NoExecute", "key": "node.kubernetes.io/unreachable", "operator": "Exists", "tolerationSeconds": 300}
	    ]
	  },
	  "status": {"phase": "Pending", "qosClass": "BestEffort"}
	}`)
	delete(got, "apiVersion")
	delete(got, "kind")
	if !reflect.DeepEqual(got, want) {
		a, _ := json.MarshalIndent(got, "", "  ")
		t.Errorf("defaulted pod:\n%s", a)
	}
}

func TestDefaultPodDetails(t *testing.T) {
	pods := KindFor("", "v1", "pods")
	obj, _ := defaultJSON(t, pods, `{"metadata":{"name":"p","namespace":"default"},"spec":{
		"hostNetwork": true,
		"serviceAccount": "legacy",
		"priorityClassName": "system-node-critical",
		"tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists"}],
		"initContainers": [{"name": "init", "image": "busybox:1.36", "resources": {"limits": {"cpu": "0.0001", "memory": "64Mi"}}}],
		"containers": [{
			"name": "app", "image": "registry.local:5000/team/app",
			"ports": [{"containerPort": 8080}, {"containerPort": 53, "protocol": "UDP", "hostPort": 5353}],
			"env": [{"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}],
			"resources": {"limits": {"cpu": "1", "memory": "256Mi"}, "requests": {"cpu": "250m"}},
			"livenessProbe": {"httpGet": {"port": 8080}},
			"readinessProbe": {"grpc": {"port": 9090}, "periodSeconds": 5},
			"startupProbe": {"tcpSocket": {"port": 8080}, "failureThreshold": 30},
			"lifecycle": {"preStop": {"httpGet": {"port": 8080, "path": "/stop"}}}
		}],
		"volumes": [
			{"name": "scratch"},
			{"name": "host", "hostPath": {"path": "/var/log"}},
			{"name": "cfg", "configMap": {"name": "cfg"}},
			{"name": "sec", "secret": {"secretName": "sec", "defaultMode": 256}},
			{"name": "info", "downwardAPI": {"items": [{"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]}},
			{"name": "proj", "projected": {"sources": [{"serviceAccountToken": {"path": "token"}}]}}
		]
	}}`)
	pod := obj.(*corev1.Pod)
	spec := &pod.Spec
	c := &spec.Containers[0]
	checks := []struct {
		name      string
		got, want any
	}{
		{"pull policy without tag", c.ImagePullPolicy, corev1.PullAlways},
		{"init pull policy", spec.InitContainers[0].ImagePullPolicy, corev1.PullIfNotPresent},
		{"port protocol", c.Ports[0].Protocol, corev1.ProtocolTCP},
		{"explicit protocol kept", c.Ports[1].Protocol, corev1.ProtocolUDP},
		{"hostNetwork host port", c.Ports[0].HostPort, int32(8080)},
		{"hostNetwork keeps host port", c.Ports[1].HostPort, int32(5353)},
		{"fieldRef apiVersion", c.Env[0].ValueFrom.FieldRef.APIVersion, "v1"},
		{"requests from limits", c.Resources.Requests.Memory().String(), "256Mi"},
		{"explicit request kept", c.Resources.Requests.Cpu().String(), "250m"},
		{"init requests rounded", spec.InitContainers[0].Resources.Requests.Cpu().String(), "1m"},
		{"init limits rounded", spec.InitContainers[0].Resources.Limits.Cpu().String(), "1m"},
		{"liveness timeout", c.LivenessProbe.TimeoutSeconds, int32(1)},
		{"liveness period", c.LivenessProbe.PeriodSeconds, int32(10)},
		{"liveness success", c.LivenessProbe.SuccessThreshold, int32(1)},
		{"liveness failure", c.LivenessProbe.FailureThreshold, int32(3)},
		{"httpGet scheme", c.LivenessProbe.HTTPGet.Scheme, corev1.URISchemeHTTP},
		{"httpGet path", c.LivenessProbe.HTTPGet.Path, "/"},
		{"readiness period kept", c.ReadinessProbe.PeriodSeconds, int32(5)},
		{"grpc service", *c.ReadinessProbe.GRPC.Service, ""},
		{"startup failure kept", c.StartupProbe.FailureThreshold, int32(30)},
		{"preStop scheme", c.Lifecycle.PreStop.HTTPGet.Scheme, corev1.URISchemeHTTP},
		{"preStop path kept", c.Lifecycle.PreStop.HTTPGet.Path, "/stop"},
		{"emptyDir default", spec.Volumes[0].EmptyDir != nil, true},
		{"hostPath type", *spec.Volumes[1].HostPath.Type, corev1.HostPathUnset},
		{"configMap mode", *spec.Volumes[2].ConfigMap.DefaultMode, int32(420)},
		{"secret mode kept", *spec.Volumes[3].Secret.DefaultMode, int32(256)},
		{"downwardAPI mode", *spec.Volumes[4].DownwardAPI.DefaultMode, int32(420)},
		{"downwardAPI fieldRef", spec.Volumes[4].DownwardAPI.Items[0].FieldRef.APIVersion, "v1"},
		{"projected mode", *spec.Volumes[5].Projected.DefaultMode, int32(420)},
		{"token expiry", *spec.Volumes[5].Projected.Sources[0].ServiceAccountToken.ExpirationSeconds, int64(3600)},
		{"deprecated service account wins", spec.ServiceAccountName, "legacy"},
		{"deprecated service account kept", spec.DeprecatedServiceAccount, "legacy"},
		{"system priority", *spec.Priority, int32(2000001000)},
		{"one added toleration", len(spec.Tolerations), 2},
		{"unreachable added", spec.Tolerations[1].Key, corev1.TaintNodeUnreachable},
		{"qos", pod.Status.QOSClass, corev1.PodQOSBurstable},
	}
	for _, ch := range checks {
		if !reflect.DeepEqual(ch.got, ch.want) {
			t.Errorf("%s: got %#v, want %#v", ch.name, ch.got, ch.want)
		}
	}
}

func TestDefaultIdempotent(t *testing.T) {
	for _, tc := range []struct {
		k  *Kind
		in string
	}{
		{KindFor("", "v1", "pods"), `{"metadata":{"name":"p"},"spec":{"containers":[{"name":"a","image":"a:1","resources":{"limits":{"cpu":"1"}}}],"tolerations":[{"operator":"Exists"}]}}`},
		{KindFor("", "v1", "namespaces"), `{"metadata":{"name":"dev"},"spec":{"finalizers":["example.com/keep"]}}`},
	} {
		obj, once := defaultJSON(t, tc.k, tc.in)
		Default(obj)
		if twice := toMap(t, obj); !reflect.DeepEqual(once, twice) {
			t.Errorf("%s: second Default changed the object:\n%v\n%v", tc.k.Resource, once, twice)
		}
	}
}

func TestDefaultTolerations(t *testing.T) {
	cases := []struct {
		name string
		in   []corev1.Toleration
		want int
	}{
		{"none", nil, 2},
		{"match all", []corev1.Toleration{{Operator: corev1.TolerationOpExists}}, 1},
		{"not-ready NoExecute", []corev1.Toleration{{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute}}, 2},
		{"both any effect", []corev1.Toleration{{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists}, {Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists}}, 2},
		{"NoSchedule does not count", []corev1.Toleration{{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}}, 3},
	}
	for _, tc := range cases {
		p := &corev1.Pod{Spec: corev1.PodSpec{Tolerations: tc.in}}
		Default(p)
		if len(p.Spec.Tolerations) != tc.want {
			t.Errorf("%s: %d tolerations, want %d: %+v", tc.name, len(p.Spec.Tolerations), tc.want, p.Spec.Tolerations)
		}
	}
}

func TestDefaultPullPolicy(t *testing.T) {
	digest := "sha256:0d17b565c37bcbd895e9d92315a05c1c3c9a29f762b011a10c54a66cd53c9b31"
	cases := map[string]corev1.PullPolicy{
		"nginx":                            corev1.PullAlways,
		"nginx:latest":                     corev1.PullAlways,
		"nginx:1.25":                       corev1.PullIfNotPresent,
		"library/nginx:1.25-alpine":        corev1.PullIfNotPresent,
		"docker.io/library/nginx":          corev1.PullAlways,
		"localhost:5000/app":               corev1.PullAlways,
		"localhost:5000/app:v1":            corev1.PullIfNotPresent,
		"localhost:5000":                   corev1.PullIfNotPresent, // repository "localhost", tag "5000"
		"[::1]:5000/app:latest":            corev1.PullAlways,
		"Registry.Example.com/team/app":    corev1.PullAlways,
		"k2d-test/busybox:1":               corev1.PullIfNotPresent,
		"busybox@" + digest:                corev1.PullIfNotPresent,
		"busybox:latest@" + digest:         corev1.PullAlways,
		"Nginx":                            corev1.PullIfNotPresent, // invalid: upper-case repository
		"nginx:":                           corev1.PullIfNotPresent, // invalid
		"":                                 corev1.PullIfNotPresent,
		" nginx":                           corev1.PullIfNotPresent,
		digest[len("sha256:"):]:            corev1.PullIfNotPresent, // a bare image ID
		"gcr.io/distroless/static:nonroot": corev1.PullIfNotPresent,
	}
	for image, want := range cases {
		if got := dfltPullPolicy(image); got != want {
			t.Errorf("%q: got %s, want %s", image, got, want)
		}
	}
}

func TestDefaultPodQOS(t *testing.T) {
	rl := func(cpu, mem string) corev1.ResourceList {
		l := corev1.ResourceList{}
		if cpu != "" {
			l[corev1.ResourceCPU] = resource.MustParse(cpu)
		}
		if mem != "" {
			l[corev1.ResourceMemory] = resource.MustParse(mem)
		}
		return l
	}
	cases := []struct {
		name string
		res  []corev1.ResourceRequirements
		want corev1.PodQOSClass
	}{
		{"none", []corev1.ResourceRequirements{{}}, corev1.PodQOSBestEffort},
		{"limits only become requests", []corev1.ResourceRequirements{{Limits: rl("1", "1Gi")}}, corev1.PodQOSGuaranteed},
		{"equal", []corev1.ResourceRequirements{{Limits: rl("1", "1Gi"), Requests: rl("1000m", "1024Mi")}}, corev1.PodQOSGuaranteed},
		{"cpu limit only", []corev1.ResourceRequirements{{Limits: rl("1", "")}}, corev1.PodQOSBurstable},
		{"lower request", []corev1.ResourceRequirements{{Limits: rl("1", "1Gi"), Requests: rl("500m", "1Gi")}}, corev1.PodQOSBurstable},
		{"one of two guaranteed", []corev1.ResourceRequirements{{Limits: rl("1", "1Gi")}, {}}, corev1.PodQOSBurstable},
		{"zero requests are ignored", []corev1.ResourceRequirements{{Requests: rl("0", "0")}}, corev1.PodQOSBestEffort},
	}
	for _, tc := range cases {
		p := &corev1.Pod{}
		for _, r := range tc.res {
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "c", Image: "i", Resources: r})
		}
		Default(p)
		if p.Status.QOSClass != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, p.Status.QOSClass, tc.want)
		}
	}
}

func TestDefaultKeepsSetValues(t *testing.T) {
	grace := int64(5)
	links := false
	prio := int32(7)
	p := &corev1.Pod{
		Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever, DNSPolicy: corev1.DNSDefault, SchedulerName: "custom",
			TerminationGracePeriodSeconds: &grace, EnableServiceLinks: &links, Priority: &prio,
			ServiceAccountName: "robot",
			Containers: []corev1.Container{{Name: "c", Image: "i", ImagePullPolicy: corev1.PullNever,
				TerminationMessagePath: "/tmp/t", TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError}},
		},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, QOSClass: corev1.PodQOSGuaranteed},
	}
	Default(p)
	s := p.Spec
	if s.RestartPolicy != "Never" || s.DNSPolicy != "Default" || s.SchedulerName != "custom" || *s.TerminationGracePeriodSeconds != 5 ||
		*s.EnableServiceLinks || *s.Priority != 7 || s.ServiceAccountName != "robot" || s.DeprecatedServiceAccount != "robot" ||
		s.Containers[0].ImagePullPolicy != "Never" || s.Containers[0].TerminationMessagePath != "/tmp/t" ||
		s.Containers[0].TerminationMessagePolicy != "FallbackToLogsOnError" || p.Status.Phase != "Running" || p.Status.QOSClass != "Guaranteed" {
		t.Errorf("set values were overwritten: %+v %+v", s, p.Status)
	}
}

func TestDefaultNamespace(t *testing.T) {
	nss := KindFor("", "v1", "namespaces")
	_, got := defaultJSON(t, nss, `{"metadata":{"name":"dev","labels":{"team":"a"}}}`)
	want := mustMap(t, `{"metadata":{"name":"dev","labels":{"team":"a","kubernetes.io/metadata.name":"dev"}},
		"spec":{"finalizers":["kubernetes"]},"status":{"phase":"Active"}}`)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v", got)
	}
	// The label follows the name and a user's finalizers are kept.
	_, got = defaultJSON(t, nss, `{"metadata":{"name":"prod","labels":{"kubernetes.io/metadata.name":"dev"}},"spec":{"finalizers":["example.com/x"]},"status":{"phase":"Terminating"}}`)
	want = mustMap(t, `{"metadata":{"name":"prod","labels":{"kubernetes.io/metadata.name":"prod"}},
		"spec":{"finalizers":["example.com/x","kubernetes"]},"status":{"phase":"Terminating"}}`)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v", got)
	}
	// generateName: no label until the name exists.
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "tmp-"}}
	Default(ns)
	if ns.Labels != nil {
		t.Errorf("labels on a nameless namespace: %v", ns.Labels)
	}
}

func TestDefaultNodeAndEvents(t *testing.T) {
	n := &corev1.Node{Status: corev1.NodeStatus{Capacity: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4")}}}
	Default(n)
	if n.Status.Allocatable.Cpu().String() != "4" {
		t.Errorf("allocatable %v", n.Status.Allocatable)
	}
	e := &corev1.Event{Reason: "x"}
	Default(e)
	if !reflect.DeepEqual(e, &corev1.Event{Reason: "x"}) {
		t.Errorf("core event changed: %+v", e)
	}
	ev := &eventsv1.Event{Reason: "x"}
	Default(ev)
	if !reflect.DeepEqual(ev, &eventsv1.Event{Reason: "x"}) {
		t.Errorf("events.k8s.io event changed: %+v", ev)
	}
	Default(&corev1.ConfigMap{}) // kinds without defaults are left alone
}

func TestDefaultSchedulingGated(t *testing.T) {
	p := &corev1.Pod{Spec: corev1.PodSpec{SchedulingGates: []corev1.PodSchedulingGate{{Name: "example.com/wait"}}}}
	Default(p)
	Default(p)
	if len(p.Status.Conditions) != 1 || p.Status.Conditions[0].Reason != corev1.PodReasonSchedulingGated || p.Status.Conditions[0].Status != corev1.ConditionFalse {
		t.Errorf("conditions %+v", p.Status.Conditions)
	}
	row := TableRow(KindFor("", "v1", "pods"), p, tableNow)
	if row[2] != "SchedulingGated" {
		t.Errorf("status %v", row[2])
	}
}
