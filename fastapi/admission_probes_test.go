package fastapi

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

func TestUnsupportedProbes(t *testing.T) {
	grpc := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: 9000}}}
	exec := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}}
	always := corev1.ContainerRestartPolicyAlways
	spec := corev1.PodSpec{
		InitContainers: []corev1.Container{{Name: "side", RestartPolicy: &always, StartupProbe: grpc}},
		Containers:     []corev1.Container{{Name: "a", LivenessProbe: exec}, {Name: "b", ReadinessProbe: grpc, LivenessProbe: grpc}},
	}
	for _, tc := range []struct {
		obj  runtime.Object
		want []string
	}{
		{&corev1.Pod{Spec: spec}, []string{
			"spec.initContainers[0].startupProbe.grpc",
			"spec.containers[1].livenessProbe.grpc",
			"spec.containers[1].readinessProbe.grpc",
		}},
		{&appsv1.Deployment{Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: spec}}}, []string{
			"spec.template.spec.initContainers[0].startupProbe.grpc",
			"spec.template.spec.containers[1].livenessProbe.grpc",
			"spec.template.spec.containers[1].readinessProbe.grpc",
		}},
		{&corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "a", ReadinessProbe: exec}}}}, nil},
		{&corev1.ConfigMap{}, nil},
	} {
		got := unsupportedProbes(tc.obj)
		if len(got) != len(tc.want) {
			t.Errorf("%T: %q, want %d warnings", tc.obj, got, len(tc.want))
			continue
		}
		for i, w := range tc.want {
			if want := w + ": gRPC probes are not run by k2d; the probe counts as a success (k2d ignores this field)"; got[i] != want {
				t.Errorf("%T: warning %q, want %q", tc.obj, got[i], want)
			}
			if !strings.HasPrefix(got[i], "spec.") {
				t.Errorf("warning %q does not start with its field", got[i])
			}
		}
	}
}
