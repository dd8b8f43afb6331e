package codec

import (
	"reflect"
	"sort"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func TestValidateAppsStatus(t *testing.T) {
	deploy := KindFor("apps", "v1", "deployments")
	ptr := func(v int32) *int32 { return &v }
	old := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", ResourceVersion: "5"},
		Status: appsv1.DeploymentStatus{CollisionCount: ptr(2)}}
	cur := old.DeepCopy()
	cur.Status = appsv1.DeploymentStatus{Replicas: 2, UpdatedReplicas: 3, ReadyReplicas: 1, AvailableReplicas: 2, UnavailableReplicas: -1, CollisionCount: ptr(1)}
	got := InvalidMessage(QualifiedKind(deploy), "web", ValidateStatusUpdate(deploy, cur, old))
	want := `Deployment.apps "web" is invalid: [status.unavailableReplicas: Invalid value: -1: must be greater than or equal to 0, ` +
		`status.updatedReplicas: Invalid value: 3: cannot be greater than status.replicas, ` +
		`status.availableReplicas: Invalid value: 2: cannot be greater than readyReplicas, ` +
		`status.collisionCount: Invalid value: 1: cannot be decremented]`
	if got != want {
		t.Errorf("deployment status:\n got %s\nwant %s", got, want)
	}
	cur.Status = appsv1.DeploymentStatus{Replicas: 3, UpdatedReplicas: 3, ReadyReplicas: 2, AvailableReplicas: 2, CollisionCount: ptr(2), ObservedGeneration: 4}
	if c := ValidateStatusUpdate(deploy, cur, old); c != nil {
		t.Errorf("valid status: %v", c)
	}

	rs := KindFor("apps", "v1", "replicasets")
	r := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "default"},
		Status: appsv1.ReplicaSetStatus{Replicas: 1, FullyLabeledReplicas: 2, ReadyReplicas: 1, ObservedGeneration: -1}}
	got = InvalidMessage(QualifiedKind(rs), "web-1", ValidateStatusUpdate(rs, r, r.DeepCopy()))
	want = `ReplicaSet.apps "web-1" is invalid: [status.observedGeneration: Invalid value: -1: must be greater than or equal to 0, status.fullyLabeledReplicas: Invalid value: 2: cannot be greater than status.replicas]`
	if got != want {
		t.Errorf("replicaset status:\n got %s\nwant %s", got, want)
	}
	// Kinds without status rules accept anything.
	if c := ValidateStatusUpdate(KindFor("", "v1", "configmaps"), &corev1.ConfigMap{}, &corev1.ConfigMap{}); c != nil {
		t.Errorf("configmap status: %v", c)
	}
}

func TestScale(t *testing.T) {
	three := int32(3)
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", UID: "u1", ResourceVersion: "42", Labels: map[string]string{"a": "b"}},
		Spec: appsv1.DeploymentSpec{Replicas: &three, Selector: &metav1.LabelSelector{
			MatchLabels:      map[string]string{"app": "web"},
			MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "env", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"dev"}}}}},
		Status: appsv1.DeploymentStatus{Replicas: 2},
	}
	s, err := ScaleOf(d)
	if err != nil {
		t.Fatal(err)
	}
	want := &autoscalingv1.Scale{
		TypeMeta:   metav1.TypeMeta{Kind: "Scale", APIVersion: "autoscaling/v1"},
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", UID: "u1", ResourceVersion: "42"},
		Spec:       autoscalingv1.ScaleSpec{Replicas: 3},
		Status:     autoscalingv1.ScaleStatus{Replicas: 2, Selector: "app=web,env notin (dev)"},
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("scale of deployment:\n got %+v\nwant %+v", s, want)
	}
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "web-1"}, Spec: appsv1.ReplicaSetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"x": "y"}}}}
	if err := SetScaleReplicas(rs, 7); err != nil || *rs.Spec.Replicas != 7 {
		t.Errorf("set replicas: %v", err)
	}
	if s, err := ScaleOf(rs); err != nil || s.Spec.Replicas != 7 || s.Status.Selector != "x=y" {
		t.Errorf("scale of replicaset: %+v %v", s, err)
	}
	if _, err := ScaleOf(&corev1.Pod{}); err == nil {
		t.Error("a pod has no scale")
	}

	s.Spec.Replicas = -1
	got := InvalidMessage(QualifiedKind(ScaleKind), "web", ValidateScale(s))
	if want := `Scale.autoscaling "web" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0`; got != want {
		t.Errorf("negative scale: %s", got)
	}
	s.Spec.Replicas = 0
	if c := ValidateScale(s); c != nil {
		t.Errorf("scale to zero: %v", c)
	}
}

func TestDeletionFinalizers(t *testing.T) {
	deploy := KindFor("apps", "v1", "deployments")
	events := KindFor("", "v1", "events")
	jobs := &Kind{Group: "batch", Version: "v1", Resource: "jobs"}
	pol := func(p metav1.DeletionPropagation) *metav1.DeleteOptions {
		return &metav1.DeleteOptions{PropagationPolicy: &p}
	}
	orphan := func(b bool) *metav1.DeleteOptions { return &metav1.DeleteOptions{OrphanDependents: &b} }
	cases := []struct {
		name    string
		kind    *Kind
		have    []string
		opts    *metav1.DeleteOptions
		changed bool
		want    []string
	}{
		{"no options: background", deploy, nil, &metav1.DeleteOptions{}, false, nil},
		{"background keeps other finalizers", deploy, []string{"example.com/x"}, pol(metav1.DeletePropagationBackground), false, []string{"example.com/x"}},
		{"foreground", deploy, []string{"example.com/x"}, pol(metav1.DeletePropagationForeground), true, []string{"example.com/x", "foregroundDeletion"}},
		{"orphan", deploy, nil, pol(metav1.DeletePropagationOrphan), true, []string{"orphan"}},
		{"orphan replaces foreground", deploy, []string{"foregroundDeletion"}, pol(metav1.DeletePropagationOrphan), true, []string{"orphan"}},
		{"background drops orphan", deploy, []string{"orphan", "example.com/x"}, pol(metav1.DeletePropagationBackground), true, []string{"example.com/x"}},
		{"existing finalizer wins over the default", deploy, []string{"foregroundDeletion"}, &metav1.DeleteOptions{}, false, []string{"foregroundDeletion"}},
		{"deprecated orphanDependents=true", deploy, nil, orphan(true), true, []string{"orphan"}},
		{"deprecated orphanDependents=false", deploy, []string{"orphan"}, orphan(false), true, []string{}},
		{"batch/v1 jobs orphan by default", jobs, nil, nil, true, []string{"orphan"}},
		{"jobs with an explicit policy", jobs, nil, pol(metav1.DeletePropagationBackground), false, nil},
		{"events take no part", events, nil, pol(metav1.DeletePropagationForeground), false, nil},
	}
	for _, tc := range cases {
		m := &metav1.ObjectMeta{Finalizers: tc.have}
		changed, got := DeletionFinalizers(tc.kind, m, tc.opts)
		if changed != tc.changed || len(got) != len(tc.want) || (len(got) > 0 && !reflect.DeepEqual(got, tc.want)) {
			t.Errorf("%s: got %v %q, want %v %q", tc.name, changed, got, tc.changed, tc.want)
		}
	}
}

// TestLabelSelectorMatchesAPI checks vldLabelSelector, which validates workload and claim
// selectors, against ValidateLabelSelector of k8s.io/apimachinery with default options. The
// API walks matchLabels in map order, so the errors are compared as sets.
func TestLabelSelectorMatchesAPI(t *testing.T) {
	long := strings.Repeat("a", 64)
	sels := []*metav1.LabelSelector{
		{},
		{MatchLabels: map[string]string{"app": "web", "example.com/tier": "front"}},
		{MatchLabels: map[string]string{"-bad": "x", "ok": "-bad", long: long, "a/b/c": "", "Example.com/x": "y"}},
		{MatchExpressions: []metav1.LabelSelectorRequirement{
			{Key: "env", Operator: metav1.LabelSelectorOpIn, Values: []string{"dev", "prod"}},
			{Key: "env", Operator: metav1.LabelSelectorOpNotIn},
			{Key: "tier", Operator: metav1.LabelSelectorOpExists, Values: []string{"x"}},
			{Key: "tier", Operator: metav1.LabelSelectorOpDoesNotExist},
			{Key: "", Operator: "Gt", Values: []string{"1", "-x", long}},
			{Key: "a b", Operator: metav1.LabelSelectorOpIn, Values: []string{"ok", "not ok"}},
		}},
		{MatchLabels: map[string]string{"": ""}, MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "x/", Operator: ""}}},
	}
	errSet := func(errs field.ErrorList) []string {
		var out []string
		for _, e := range errs {
			out = append(out, e.Error())
		}
		sort.Strings(out)
		return out
	}
	for i, sel := range sels {
		fld := field.NewPath("spec", "selector")
		got := errSet(vldLabelSelector(sel, fld))
		want := errSet(metav1validation.ValidateLabelSelector(sel, metav1validation.LabelSelectorValidationOptions{}, fld))
		if !reflect.DeepEqual(got, want) {
			t.Errorf("selector %d:\n got %q\nwant %q", i, got, want)
		}
	}
}
