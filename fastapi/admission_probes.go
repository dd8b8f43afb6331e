package fastapi

// This file: the warning for probes k2d does not run (grpc), on the writes of pods and of the
// workloads whose pod template has them. The pod's events say it again at run time.

import (
	"fmt"

	"github.com/k2d-project/k2d/codec"
	"github.com/valyala/fasthttp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

func init() {
	for _, gr := range []string{"pods", "deployments.apps", "replicasets.apps", "statefulsets.apps", "daemonsets.apps"} {
		admissions[gr] = append(admissions[gr], warnUnsupportedProbes)
	}
}

// Jobs and CronJobs are left out until they are served: their types would add 700 KB.

// warnUnsupportedProbes adds a Warning header (kubectl prints "Warning: ...") per grpc probe.
func warnUnsupportedProbes(_ *Server, ctx *fasthttp.RequestCtx, _ *codec.Kind, obj, _ runtime.Object, _ bool) *apiError {
	for _, w := range unsupportedProbes(obj) {
		addWarning(ctx, w)
	}
	return nil
}

// unsupportedProbes lists the grpc probes of a pod or of a workload's pod template.
func unsupportedProbes(obj runtime.Object) []string {
	var spec *corev1.PodSpec
	path := "spec"
	switch o := obj.(type) {
	case *corev1.Pod:
		spec = &o.Spec
	case *appsv1.Deployment:
		spec, path = &o.Spec.Template.Spec, "spec.template.spec"
	case *appsv1.ReplicaSet:
		spec, path = &o.Spec.Template.Spec, "spec.template.spec"
	case *appsv1.StatefulSet:
		spec, path = &o.Spec.Template.Spec, "spec.template.spec"
	case *appsv1.DaemonSet:
		spec, path = &o.Spec.Template.Spec, "spec.template.spec"
	default:
		return nil
	}
	var out []string
	check := func(list []corev1.Container, field string) {
		for i := range list {
			c := &list[i]
			for _, p := range []struct {
				name  string
				probe *corev1.Probe
			}{{"livenessProbe", c.LivenessProbe}, {"readinessProbe", c.ReadinessProbe}, {"startupProbe", c.StartupProbe}} {
				if p.probe != nil && p.probe.GRPC != nil {
					out = append(out, fmt.Sprintf("%s.%s[%d].%s.grpc: gRPC probes are not run by k2d; the probe counts as a success (k2d ignores this field)",
						path, field, i, p.name))
				}
			}
		}
	}
	check(spec.InitContainers, "initContainers")
	check(spec.Containers, "containers")
	return out
}
