package translate

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// TestProbeVerdictsBoundToInstance: a verdict names the container instance it is about; a
// restarted container (a new Docker ID) starts over unready and unstarted until its own probes
// say otherwise, whatever the previous instance's verdict was.
func TestProbeVerdictsBoundToInstance(t *testing.T) {
	sandbox := loadOne(t, "running.json")
	pod, ins := podWith(t, corev1.RestartPolicyAlways, ctr{name: "a", fixture: "running.json"})
	pod.Spec.Containers[0].ReadinessProbe = &corev1.Probe{}
	pod.Spec.Containers[0].StartupProbe = &corev1.Probe{}
	cur := ins[0].ID
	for _, tc := range []struct {
		name           string
		obs            ContainerObservation
		ready, started bool
	}{
		{"no verdict yet", ContainerObservation{}, false, false},
		{"verdicts about this instance", ContainerObservation{ProbedID: cur, Ready: ptr(true), Started: ptr(true)}, true, true},
		{"started, not ready", ContainerObservation{ProbedID: cur, Ready: ptr(false), Started: ptr(true)}, false, true},
		{"verdicts about an earlier instance", ContainerObservation{ProbedID: "0123old", Ready: ptr(true), Started: ptr(true)}, false, false},
		{"unbound verdicts apply", ContainerObservation{Ready: ptr(true), Started: ptr(true)}, true, true},
	} {
		s := PodStatus(pod, sandbox, ins, now, Observed{Containers: map[string]ContainerObservation{"a": tc.obs}})
		st := statusByName(s.ContainerStatuses)["a"]
		if st.Ready != tc.ready || st.Started == nil || *st.Started != tc.started {
			t.Errorf("%s: ready=%v started=%v, want %v %v", tc.name, st.Ready, st.Started, tc.ready, tc.started)
		}
		wantCond := corev1.ConditionFalse
		if tc.ready && tc.started {
			wantCond = corev1.ConditionTrue
		}
		if c := cond(s, corev1.PodReady); c.Status != wantCond {
			t.Errorf("%s: Ready condition %s, want %s", tc.name, c.Status, wantCond)
		}
	}
}
