package codec

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// tableNow is the instant the fixtures' ages are measured from.
var tableNow = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

func loadTableFixture(t *testing.T, k *Kind, name string) runtime.Object {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "tables", name))
	if err != nil {
		t.Fatal(err)
	}
	obj := k.New()
	// encoding/json is the oracle here: fixtures must decode as the real types do.
	if err := json.Unmarshal(data, obj); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return obj
}

func TestTableRowFixtures(t *testing.T) {
	pods := KindFor("", "v1", "pods")
	cases := []struct {
		kind    *Kind
		fixture string
		want    []any
	}{
		{pods, "pod-running.json", []any{"web", "1/1", "Running", "0", "90m", "172.17.0.3", "k2d-node", "<none>", "<none>"}},
		{pods, "pod-crashloop.json", []any{"worker", "0/1", "CrashLoopBackOff", "5 (2m30s ago)", "24h", "172.17.0.4", "k2d-node", "<none>", "<none>"}},
		{pods, "pod-init-running.json", []any{"migrate", "0/1", "Init:1/2", "0", "45s", "172.17.0.5", "k2d-node", "<none>", "<none>"}},
		{pods, "pod-init-error.json", []any{"setup", "0/1", "Init:Error", "3 (5m ago)", "10m", "172.17.0.6", "k2d-node", "<none>", "<none>"}},
		{pods, "pod-creating.json", []any{"fresh", "0/1", "ContainerCreating", "0", "2s", "<none>", "k2d-node", "<none>", "<none>"}},
		{pods, "pod-errimagepull.json", []any{"typo", "0/1", "ErrImagePull", "0", "5m", "172.17.0.7", "k2d-node", "<none>", "<none>"}},
		{pods, "pod-completed.json", []any{"job-once", "0/1", "Completed", "0", "3d", "172.17.0.8", "k2d-node", "<none>", "<none>"}},
		{pods, "pod-error.json", []any{"failing", "0/1", "Error", "0", "3h", "<none>", "k2d-node", "<none>", "<none>"}},
		{pods, "pod-terminating.json", []any{"going", "1/1", "Terminating", "0", "60m", "172.17.0.9", "k2d-node", "<none>", "<none>"}},
		{pods, "pod-notready.json", []any{"half", "1/2", "NotReady", "0", "20m", "172.17.0.10", "k2d-node", "<none>", "<none>"}},
		{pods, "pod-sidecar.json", []any{"with-sidecar", "2/2", "Running", "1 (24h ago)", "30d", "172.17.0.11", "k2d-node", "k2d-node", "1/2"}},
		{pods, "pod-gated.json", []any{"gated", "0/1", "SchedulingGated", "0", "60s", "<none>", "<none>", "<none>", "<none>"}},
		{pods, "pod-evicted.json", []any{"evicted", "0/1", "Evicted", "0", "10d", "<none>", "k2d-node", "<none>", "<none>"}},
		{KindFor("", "v1", "nodes"), "node.json", []any{"k2d-node", "Ready,SchedulingDisabled", "control-plane,edge", "90d", "v1.32.0-k2d", "192.168.1.20", "<none>", "Raspbian GNU/Linux 11 (bullseye)", "6.1.21-v7+", "docker://20.10.24"}},
		{KindFor("", "v1", "nodes"), "node-bare.json", []any{"bare", "NotReady", "<none>", "1s", "", "<none>", "<none>", "<unknown>", "<unknown>", "<unknown>"}},
		{KindFor("", "v1", "namespaces"), "namespace.json", []any{"kube-system", "Active", "366d"}},
		{KindFor("", "v1", "events"), "event-core.json", []any{"2m30s", "Warning", "BackOff", "pod/worker", "spec.containers{worker}", "kubelet, k2d-node", "Back-off restarting failed container worker in pod worker_default(0e3b6a52-6b52-4b8a-a7a0-2c1f2f0c0a02)", "120m", int64(7), "worker.17cb2f2b1a2f0a11"}},
		{KindFor("", "v1", "events"), "event-new.json", []any{"9s", "Normal", "Starting", "node/k2d-node", "", "k2d, k2d-node", "Starting k2d.", "9s", int64(1), "k2d-node.17cb2f2b1a2f0a12"}},
		{KindFor("events.k8s.io", "v1", "events"), "event-v1.json", []any{"2m", "Normal", "Pulling", "pod/web", "spec.containers{web}", "k2d.io/controller, k2d-node", `Pulling image "nginx:1.25"`, "10m", int64(3), "web.17cb2f2b1a2f0a13"}},
	}
	for _, tc := range cases {
		t.Run(tc.fixture, func(t *testing.T) {
			obj := loadTableFixture(t, tc.kind, tc.fixture)
			got := TableRow(tc.kind, obj, tableNow)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("row\n got %#v\nwant %#v", got, tc.want)
			}
			if n := len(TableColumns(tc.kind)); n != len(got) {
				t.Errorf("%d cells for %d columns", len(got), n)
			}
		})
	}
}

func TestTableColumns(t *testing.T) {
	cases := []struct {
		kind  *Kind
		names string // "*" marks a priority-1 (wide) column
	}{
		{KindFor("", "v1", "pods"), "Name Ready Status Restarts Age *IP *Node *Nominated_Node *Readiness_Gates"},
		{KindFor("", "v1", "namespaces"), "Name Status Age"},
		{KindFor("", "v1", "nodes"), "Name Status Roles Age Version *Internal-IP *External-IP *OS-Image *Kernel-Version *Container-Runtime"},
		{KindFor("", "v1", "events"), "Last_Seen Type Reason Object *Subobject *Source Message *First_Seen *Count *Name"},
		{KindFor("events.k8s.io", "v1", "events"), "Last_Seen Type Reason Object *Subobject *Source Message *First_Seen *Count *Name"},
		{&Kind{Version: "v1", Resource: "limitranges", Kind: "LimitRange"}, "Name Created_At"},
	}
	for _, tc := range cases {
		var names []string
		for _, c := range TableColumns(tc.kind) {
			n := strings.ReplaceAll(c.Name, " ", "_")
			if c.Priority == 1 {
				n = "*" + n
			}
			names = append(names, n)
			if c.Description == "" && !strings.HasPrefix(tc.kind.Resource, "node") {
				t.Errorf("%s: column %q has no description", tc.kind.Resource, c.Name)
			}
		}
		if got := strings.Join(names, " "); got != tc.names {
			t.Errorf("%s columns\n got %s\nwant %s", tc.kind.GroupResource(), got, tc.names)
		}
	}
	pod := TableColumns(KindFor("", "v1", "pods"))
	if pod[0].Format != "name" || pod[0].Description != (metav1.ObjectMeta{}).SwaggerDoc()["name"] {
		t.Errorf("pod name column %+v", pod[0])
	}
	if def := TableColumns(&Kind{Resource: "widgets"}); def[1].Type != "date" {
		t.Errorf("default Created At column %+v", def[1])
	}
}

func TestTableDefaultRow(t *testing.T) {
	k := &Kind{Version: "v1", Resource: "limitranges", Kind: "LimitRange"}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg", CreationTimestamp: metav1.NewTime(time.Date(2024, 5, 1, 14, 0, 0, 0, time.FixedZone("CEST", 2*3600)))}}
	got := TableRow(k, cm, tableNow)
	want := []any{"cfg", "2024-05-01T12:00:00Z"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v, want %#v", got, want)
	}
}

func TestTablePodStatusReasons(t *testing.T) {
	pods := KindFor("", "v1", "pods")
	start := metav1.NewTime(tableNow.Add(-time.Hour))
	running := corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: start}}
	cases := []struct {
		name   string
		pod    corev1.Pod
		status string
		ready  string
	}{
		{"phase only", corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodPending}}, "Pending", "0/1"},
		{"unknown phase", corev1.Pod{}, "", "0/1"},
		{"signal", corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodFailed, ContainerStatuses: []corev1.ContainerStatus{
			{State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Signal: 9, ExitCode: 137}}}}}}, "Signal:9", "0/1"},
		{"exit code", corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodFailed, ContainerStatuses: []corev1.ContainerStatus{
			{State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 2}}}}}}, "ExitCode:2", "0/1"},
		{"init exit code", corev1.Pod{
			Spec: corev1.PodSpec{InitContainers: []corev1.Container{{Name: "i"}}},
			Status: corev1.PodStatus{Phase: corev1.PodPending, InitContainerStatuses: []corev1.ContainerStatus{
				{Name: "i", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 3}}}}}}, "Init:ExitCode:3", "0/1"},
		{"init signal", corev1.Pod{
			Spec: corev1.PodSpec{InitContainers: []corev1.Container{{Name: "i"}}},
			Status: corev1.PodStatus{Phase: corev1.PodPending, InitContainerStatuses: []corev1.ContainerStatus{
				{Name: "i", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Signal: 15, ExitCode: 143}}}}}}, "Init:Signal:15", "0/1"},
		{"init waiting", corev1.Pod{
			Spec: corev1.PodSpec{InitContainers: []corev1.Container{{Name: "i"}}},
			Status: corev1.PodStatus{Phase: corev1.PodPending, InitContainerStatuses: []corev1.ContainerStatus{
				{Name: "i", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff"}}}}}}, "Init:ImagePullBackOff", "0/1"},
		{"init PodInitializing", corev1.Pod{
			Spec: corev1.PodSpec{InitContainers: []corev1.Container{{Name: "i"}, {Name: "j"}}},
			Status: corev1.PodStatus{Phase: corev1.PodPending, InitContainerStatuses: []corev1.ContainerStatus{
				{Name: "i", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "PodInitializing"}}}}}}, "Init:0/2", "0/1"},
		{"initialized, app waiting", corev1.Pod{
			Spec: corev1.PodSpec{InitContainers: []corev1.Container{{Name: "i"}}, Containers: []corev1.Container{{Name: "a"}}},
			Status: corev1.PodStatus{Phase: corev1.PodPending,
				Conditions:            []corev1.PodCondition{{Type: corev1.PodInitialized, Status: corev1.ConditionTrue}},
				InitContainerStatuses: []corev1.ContainerStatus{{Name: "i", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Completed"}}}},
				ContainerStatuses:     []corev1.ContainerStatus{{Name: "a", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "PodInitializing"}}}}}}, "PodInitializing", "0/1"},
		{"completed but running and ready", corev1.Pod{
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "a"}, {Name: "b"}}},
			Status: corev1.PodStatus{Phase: corev1.PodRunning,
				Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}},
				ContainerStatuses: []corev1.ContainerStatus{
					{Name: "a", Ready: true, State: running},
					{Name: "b", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Completed"}}}}}}, "Running", "1/2"},
		{"node lost", corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{DeletionTimestamp: &start},
			Status:     corev1.PodStatus{Phase: corev1.PodRunning, Reason: "NodeLost"}}, "Unknown", "0/1"},
		{"deleted after success", corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{DeletionTimestamp: &start},
			Status:     corev1.PodStatus{Phase: corev1.PodSucceeded}}, "Succeeded", "0/1"},
	}
	for _, tc := range cases {
		if len(tc.pod.Spec.Containers) == 0 {
			tc.pod.Spec.Containers = []corev1.Container{{Name: "c"}}
		}
		row := TableRow(pods, &tc.pod, tableNow)
		if row[2] != tc.status || row[1] != tc.ready {
			t.Errorf("%s: READY %v STATUS %v, want %s %s", tc.name, row[1], row[2], tc.ready, tc.status)
		}
	}
}

func TestTableRowConditions(t *testing.T) {
	pods := KindFor("", "v1", "pods")
	done := loadTableFixture(t, pods, "pod-completed.json")
	if c := TableRowConditions(pods, done); len(c) != 1 || c[0].Type != metav1.RowCompleted || c[0].Reason != "Succeeded" {
		t.Errorf("succeeded pod conditions %+v", c)
	}
	failed := loadTableFixture(t, pods, "pod-error.json")
	if c := TableRowConditions(pods, failed); len(c) != 1 || c[0].Reason != "Failed" || c[0].Message != "The pod failed." {
		t.Errorf("failed pod conditions %+v", c)
	}
	if c := TableRowConditions(pods, loadTableFixture(t, pods, "pod-running.json")); c != nil {
		t.Errorf("running pod conditions %+v", c)
	}
}

func TestTableAge(t *testing.T) {
	cases := map[time.Duration]string{
		-5 * time.Second:          "<invalid>",
		59 * time.Second:          "59s",
		119 * time.Second:         "119s",
		150 * time.Second:         "2m30s",
		3 * time.Hour:             "3h",
		3*time.Hour + time.Minute: "3h1m",
		47 * time.Hour:            "47h",
		50 * time.Hour:            "2d2h",
		400 * 24 * time.Hour:      "400d",
	}
	for d, want := range cases {
		if got := tblAge(tableNow.Add(-d), tableNow); got != want {
			t.Errorf("age %v: got %q, want %q", d, got, want)
		}
	}
	if got := tblAge(time.Time{}, tableNow); got != "<unknown>" {
		t.Errorf("zero time: %q", got)
	}
}
