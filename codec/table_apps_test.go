package codec

import (
	"reflect"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The rows `kubectl get deploy,rs -o wide` shows, as printDeployment and printReplicaSet fill
// them: a Deployment's selector printed by labels.Selector.String(), a ReplicaSet's by
// metav1.FormatLabelSelector.
func TestTableAppsRows(t *testing.T) {
	deploy := KindFor("apps", "v1", "deployments")
	rs := KindFor("apps", "v1", "replicasets")
	cases := []struct {
		kind    *Kind
		fixture string
		want    []any
	}{
		{deploy, "deployment.json", []any{"web", "1/3", int64(2), int64(1), "5m", "web,log", "nginx:1.25,busybox", "app=web,tier in (edge,front)"}},
		{rs, "replicaset.json", []any{"web-5d8f7b9c4", int64(2), int64(2), int64(1), "24h", "web", "nginx:1.25", "app=web,pod-template-hash=5d8f7b9c4"}},
	}
	for _, tc := range cases {
		got := TableRow(tc.kind, loadTableFixture(t, tc.kind, tc.fixture), tableNow)
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s:\n got %#v\nwant %#v", tc.fixture, got, tc.want)
		}
		if n := len(TableColumns(tc.kind)); n != len(tc.want) {
			t.Errorf("%s: %d columns for %d cells", tc.fixture, n, len(tc.want))
		}
	}

	// Empty selectors: "" for a Deployment (labels.Everything), <none> for a ReplicaSet.
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "bare"}, Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{}}}
	if got := TableRow(deploy, d, tableNow); got[1] != "0/0" || got[7] != "" || got[4] != "<unknown>" {
		t.Errorf("bare deployment: %#v", got)
	}
	r := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "bare"}}
	if got := TableRow(rs, r, tableNow); got[1] != int64(0) || got[7] != "<none>" {
		t.Errorf("bare replicaset: %#v", got)
	}
}

func TestTableAppsColumns(t *testing.T) {
	names := func(k *Kind) (out []string) {
		for _, c := range TableColumns(k) {
			if c.Priority == 0 {
				out = append(out, c.Name)
			} else {
				out = append(out, "wide:"+c.Name)
			}
		}
		return out
	}
	if got, want := names(KindFor("apps", "v1", "deployments")), []string{"Name", "Ready", "Up-to-date", "Available", "Age", "wide:Containers", "wide:Images", "wide:Selector"}; !reflect.DeepEqual(got, want) {
		t.Errorf("deployment columns %v", got)
	}
	if got, want := names(KindFor("apps", "v1", "replicasets")), []string{"Name", "Desired", "Current", "Ready", "Age", "wide:Containers", "wide:Images", "wide:Selector"}; !reflect.DeepEqual(got, want) {
		t.Errorf("replicaset columns %v", got)
	}
	cols := TableColumns(ScaleKind)
	if got := names(ScaleKind); !reflect.DeepEqual(got, []string{"Name", "Desired", "Available", "Age"}) || cols[0].Format != "" || cols[1].Type != "integer" {
		t.Errorf("scale columns %+v", cols)
	}
	s := &autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{Name: "web", CreationTimestamp: metav1.NewTime(tableNow.Add(-time.Hour))},
		Spec: autoscalingv1.ScaleSpec{Replicas: 5}, Status: autoscalingv1.ScaleStatus{Replicas: 3}}
	if got := TableRow(ScaleKind, s, tableNow); !reflect.DeepEqual(got, []any{"web", int64(5), int64(3), "60m"}) {
		t.Errorf("scale row %#v", got)
	}
}
