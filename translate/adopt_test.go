package translate

import (
	"reflect"
	"regexp"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func TestPodFromContainerPlainWeb(t *testing.T) {
	c := loadOne(t, "plain-web.json")
	pod := PodFromContainer(c)

	if pod.Name != "my-web.app-"+c.ID[:5] || pod.Namespace != "team-a" {
		t.Errorf("name %s/%s", pod.Namespace, pod.Name)
	}
	if want := c.ID[0:8] + "-" + c.ID[8:12] + "-" + c.ID[12:16] + "-" + c.ID[16:20] + "-" + c.ID[20:32]; string(pod.UID) != want {
		t.Errorf("uid %s, want %s", pod.UID, want)
	}
	if again := PodFromContainer(loadOne(t, "plain-web.json")); !reflect.DeepEqual(again, pod) {
		t.Error("PodFromContainer is not deterministic")
	}
	// Valid labels are kept (Services can select them), others dropped.
	if pod.Labels["app"] != "web" || pod.Labels[LabelNamespace] != "team-a" || pod.Labels["io.k2d.test"] != "translate" {
		t.Errorf("labels %v", pod.Labels)
	}
	if _, ok := pod.Labels["com.example.path"]; ok {
		t.Errorf("invalid label value kept: %v", pod.Labels)
	}
	if pod.CreationTimestamp.IsZero() || pod.Kind != "Pod" || pod.APIVersion != "v1" {
		t.Errorf("meta %+v", pod.TypeMeta)
	}

	spec := pod.Spec
	if spec.RestartPolicy != corev1.RestartPolicyAlways || spec.HostNetwork || spec.DNSPolicy != corev1.DNSDefault ||
		*spec.TerminationGracePeriodSeconds != 10 {
		t.Errorf("spec %s", toJSON(spec))
	}
	if len(spec.Containers) != 1 {
		t.Fatalf("containers %d", len(spec.Containers))
	}
	ctr := spec.Containers[0]
	if ctr.Name != "my-web-app-"+c.ID[:5] || ctr.Image != "k2d-test/busybox:1" || ctr.WorkingDir != "/tmp" ||
		!reflect.DeepEqual(ctr.Args, []string{"sleep", "3600"}) || len(ctr.Command) != 0 {
		t.Errorf("container %s", toJSON(ctr))
	}
	env := map[string]string{}
	for _, e := range ctr.Env {
		env[e.Name] = e.Value
	}
	if env["A"] != "1" || env["B"] != "x=y" || env["PATH"] != "/bin" {
		t.Errorf("env %v", ctr.Env)
	}
	wantPorts := []corev1.ContainerPort{
		{ContainerPort: 53, Protocol: corev1.ProtocolUDP, HostPort: 38472, HostIP: "127.0.0.1"},
		{ContainerPort: 80, Protocol: corev1.ProtocolTCP, HostPort: 38471},
	}
	if !reflect.DeepEqual(ctr.Ports, wantPorts) {
		t.Errorf("ports %s", toJSON(ctr.Ports))
	}
	mem, cpu := ctr.Resources.Limits[corev1.ResourceMemory], ctr.Resources.Limits[corev1.ResourceCPU]
	if mem.Cmp(resource.MustParse("64Mi")) != 0 || cpu.Cmp(resource.MustParse("500m")) != 0 ||
		!reflect.DeepEqual(ctr.Resources.Requests, ctr.Resources.Limits) {
		t.Errorf("resources %s", toJSON(ctr.Resources))
	}
	if ctr.SecurityContext == nil || ctr.SecurityContext.Capabilities == nil ||
		!reflect.DeepEqual(ctr.SecurityContext.Capabilities.Add, []corev1.Capability{"NET_ADMIN"}) {
		t.Errorf("security %s", toJSON(ctr.SecurityContext))
	}
	mounts := map[string]corev1.VolumeMount{}
	for _, m := range ctr.VolumeMounts {
		mounts[m.MountPath] = m
	}
	if m, ok := mounts["/host-tmp"]; !ok || !m.ReadOnly {
		t.Errorf("bind mount %s", toJSON(ctr.VolumeMounts))
	}
	if len(spec.Volumes) != len(ctr.VolumeMounts) {
		t.Errorf("volumes %s", toJSON(spec.Volumes))
	}

	st := pod.Status
	if st.Phase != corev1.PodRunning || st.PodIP == "" || st.PodIP != c.NetworkSettings.Networks["bridge"].IPAddress ||
		st.QOSClass != corev1.PodQOSGuaranteed || st.StartTime == nil {
		t.Errorf("status %s", toJSON(st))
	}
	cs := st.ContainerStatuses[0]
	if cs.Name != ctr.Name || cs.State.Running == nil || !cs.Ready || cs.ContainerID != "docker://"+c.ID ||
		cs.ImageID != "docker://"+c.Image || cs.RestartCount != 0 {
		t.Errorf("container status %s", toJSON(cs))
	}
	if cond(st, corev1.PodReady).Status != corev1.ConditionTrue || cond(st, corev1.PodReadyToStartContainers).Status != corev1.ConditionTrue {
		t.Errorf("conditions %s", toJSON(st.Conditions))
	}
	for _, cd := range st.Conditions {
		if cd.LastTransitionTime.IsZero() {
			t.Errorf("condition %s without a transition time", cd.Type)
		}
	}
}

func TestPodFromContainerStates(t *testing.T) {
	cases := []struct {
		fixture  string
		name     string
		phase    corev1.PodPhase
		policy   corev1.RestartPolicy
		restarts int32
		waiting  string
		hostNet  bool
	}{
		{"running.json", "k2dt-running", corev1.PodRunning, corev1.RestartPolicyNever, 0, "", false},
		{"exited0.json", "k2dt-exited0", corev1.PodSucceeded, corev1.RestartPolicyNever, 0, "", false},
		{"exited1.json", "k2dt-exited1", corev1.PodFailed, corev1.RestartPolicyNever, 0, "", false},
		{"oomkilled.json", "k2dt-oomkilled", corev1.PodFailed, corev1.RestartPolicyNever, 0, "", false},
		{"created.json", "k2dt-created", corev1.PodPending, corev1.RestartPolicyNever, 0, ReasonContainerCreating, false},
		{"starterror.json", "k2dt-starterror", corev1.PodFailed, corev1.RestartPolicyNever, 0, "", false},
		{"restarting.json", "k2dt-restarting", corev1.PodRunning, corev1.RestartPolicyAlways, -1, ReasonCrashLoopBackOff, false},
		{"hostnet.json", "k2dt-hostnet", corev1.PodRunning, corev1.RestartPolicyNever, 0, "", true},
	}
	for _, c := range cases {
		ins := loadOne(t, c.fixture)
		pod := PodFromContainer(ins)
		if pod.Name != c.name || pod.Namespace != "default" {
			t.Errorf("%s: %s/%s", c.fixture, pod.Namespace, pod.Name)
		}
		if pod.Status.Phase != c.phase || pod.Spec.RestartPolicy != c.policy || pod.Spec.HostNetwork != c.hostNet {
			t.Errorf("%s: phase %s policy %s hostNetwork %v", c.fixture, pod.Status.Phase, pod.Spec.RestartPolicy, pod.Spec.HostNetwork)
		}
		cs := pod.Status.ContainerStatuses[0]
		want := c.restarts
		if want < 0 {
			want = int32(ins.RestartCount)
		}
		if cs.RestartCount != want {
			t.Errorf("%s: restarts %d, want %d", c.fixture, cs.RestartCount, want)
		}
		if c.waiting != "" && (cs.State.Waiting == nil || cs.State.Waiting.Reason != c.waiting) {
			t.Errorf("%s: state %s", c.fixture, toJSON(cs.State))
		}
		if c.waiting == ReasonCrashLoopBackOff && (cs.LastTerminationState.Terminated == nil || cs.LastTerminationState.Terminated.ExitCode != 3) {
			t.Errorf("%s: last state %s", c.fixture, toJSON(cs.LastTerminationState))
		}
		if c.hostNet && pod.Status.PodIP != "" {
			t.Errorf("%s: host network pod IP comes from the caller's hostIP", c.fixture)
		}
		if !c.hostNet && cs.State.Running != nil && pod.Status.PodIP == "" {
			t.Errorf("%s: no pod IP", c.fixture)
		}
	}
}

func TestPodNameFromContainer(t *testing.T) {
	id := "1a2b3c4d5e6f"
	cases := map[string]string{
		"/nginx":        "nginx",
		"web.1":         "web.1",
		"/My_App":       "my-app-1a2b3",
		"compose_web_1": "compose-web-1-1a2b3",
		"_x_":           "x-1a2b3",
		"__":            "container-1a2b3",
		"a..b":          "a.b-1a2b3",
		"UPPER":         "upper-1a2b3",
		"-lead":         "lead-1a2b3",
		"trail-":        "trail-1a2b3",
	}
	valid := regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
	for in, want := range cases {
		got := PodNameFromContainer(in, id)
		if got != want {
			t.Errorf("PodNameFromContainer(%q) = %q, want %q", in, got, want)
		}
		if !valid.MatchString(got) || len(got) > 253 {
			t.Errorf("%q is not a DNS-1123 subdomain", got)
		}
	}
	long := PodNameFromContainer(strings.Repeat("Ab_", 120), id)
	if len(long) > 253 || !valid.MatchString(long) || !strings.HasSuffix(long, "-1a2b3") {
		t.Errorf("long name %q (%d)", long, len(long))
	}
	if n := containerNameFor(strings.Repeat("a", 70) + ".b"); len(n) > 63 || strings.Contains(n, ".") {
		t.Errorf("container name %q", n)
	}
	if uidFromID("abc") != "abc00000-0000-0000-0000-000000000000" {
		t.Errorf("short id: %s", uidFromID("abc"))
	}
}

func TestValidLabels(t *testing.T) {
	in := map[string]string{
		"app":                        "web",
		"app.kubernetes.io/name":     "web",
		"com.docker.compose.project": "shop",
		"empty":                      "",
		"bad key":                    "x",
		"/x":                         "x",
		"Example.COM/x":              "x",
		"path":                       "/a/b",
		"long":                       strings.Repeat("v", 64),
		strings.Repeat("k", 64):      "v",
		"-dash":                      "v",
		"ok_under.score-1":           "A_b.c-1",
	}
	got := validLabels(in)
	want := map[string]string{
		"app": "web", "app.kubernetes.io/name": "web", "com.docker.compose.project": "shop", "empty": "",
		"ok_under.score-1": "A_b.c-1",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("validLabels = %v", got)
	}
}
