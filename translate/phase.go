package translate

import (
	"fmt"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// podPhase is the kubelet's phase rule. Regular init containers must all exit 0 first (a
// failure fails the pod under restartPolicy Never); then Running while any container runs,
// and once all have stopped: Succeeded/Failed by exit codes, except that restartPolicy Always
// (or OnFailure with a failure) keeps the pod Running while the controller restarts them.
// terminal is true once the pod is being deleted: stopped containers then end the pod whatever
// the restart policy.
func podPhase(pod *corev1.Pod, initStatuses, statuses []corev1.ContainerStatus, terminal bool) corev1.PodPhase {
	pendingInit, failedInit := 0, 0
	unknown, running, waiting, stopped, succeeded := 0, 0, 0, 0, 0
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		st := findStatus(initStatuses, c.Name)
		if restartable(c) {
			switch {
			case st == nil:
				unknown++
			case st.State.Running != nil:
				if st.Started == nil || !*st.Started {
					pendingInit++
				}
				running++
			case st.State.Terminated != nil:
				// stopped sidecars do not count
			case st.State.Waiting != nil:
				if st.LastTerminationState.Terminated == nil {
					pendingInit++
					waiting++
				}
			default:
				pendingInit++
				unknown++
			}
			continue
		}
		switch {
		case st == nil, st.State.Running != nil:
			pendingInit++
		case st.State.Terminated != nil:
			if st.State.Terminated.ExitCode != 0 {
				failedInit++
			}
		case st.State.Waiting != nil:
			if t := st.LastTerminationState.Terminated; t != nil {
				if t.ExitCode != 0 {
					failedInit++
				}
			} else {
				pendingInit++
			}
		default:
			pendingInit++
		}
	}
	for i := range pod.Spec.Containers {
		st := findStatus(statuses, pod.Spec.Containers[i].Name)
		switch {
		case st == nil:
			unknown++
		case st.State.Running != nil:
			running++
		case st.State.Terminated != nil:
			stopped++
			if st.State.Terminated.ExitCode == 0 {
				succeeded++
			}
		case st.State.Waiting != nil:
			if st.LastTerminationState.Terminated != nil {
				stopped++
			} else {
				waiting++
			}
		default:
			unknown++
		}
	}

	policy := pod.Spec.RestartPolicy
	if policy == "" {
		policy = corev1.RestartPolicyAlways
	}
	if failedInit > 0 && policy == corev1.RestartPolicyNever {
		return corev1.PodFailed
	}
	switch {
	case pendingInit > 0 && !anyRegularStarted(pod, statuses), waiting > 0:
		return corev1.PodPending
	case running > 0 && unknown == 0:
		return corev1.PodRunning
	case running == 0 && stopped > 0 && unknown == 0:
		if terminal {
			if stopped == succeeded {
				return corev1.PodSucceeded
			}
			return corev1.PodFailed
		}
		if policy == corev1.RestartPolicyAlways {
			return corev1.PodRunning // all are being restarted
		}
		if stopped == succeeded {
			return corev1.PodSucceeded
		}
		if policy == corev1.RestartPolicyNever {
			return corev1.PodFailed
		}
		return corev1.PodRunning // OnFailure: the failed ones are being restarted
	}
	return corev1.PodPending
}

// anyRegularStarted reports whether an app container ever started: the pod was initialized
// before, even if a sidecar is restarting now.
func anyRegularStarted(pod *corev1.Pod, statuses []corev1.ContainerStatus) bool {
	for i := range pod.Spec.Containers {
		st := findStatus(statuses, pod.Spec.Containers[i].Name)
		if st == nil {
			continue
		}
		if st.State.Running != nil || st.State.Terminated != nil || st.LastTerminationState.Terminated != nil {
			return true
		}
	}
	return false
}

// kubeletConditions are the condition types the kubelet owns; others (readiness gates,
// DisruptionTarget) are kept as the pod has them.
var kubeletConditions = map[corev1.PodConditionType]bool{
	corev1.PodReadyToStartContainers: true,
	corev1.PodInitialized:            true,
	corev1.PodReady:                  true,
	corev1.ContainersReady:           true,
	corev1.PodScheduled:              true,
}

func podConditions(pod *corev1.Pod, sandbox *container.InspectResponse, s *corev1.PodStatus, now time.Time) []corev1.PodCondition {
	old := pod.Status.Conditions
	var out []corev1.PodCondition
	for _, c := range old {
		if !kubeletConditions[c.Type] {
			out = append(out, c)
		}
	}
	mk := func(t corev1.PodConditionType, ok bool, reason, msg string) corev1.PodCondition {
		c := corev1.PodCondition{Type: t, Status: corev1.ConditionFalse, Reason: reason, Message: msg, ObservedGeneration: pod.Generation}
		if ok {
			c.Status = corev1.ConditionTrue
		}
		c.LastTransitionTime = metav1.NewTime(now)
		for _, o := range old {
			if o.Type == t && o.Status == c.Status && !o.LastTransitionTime.IsZero() {
				c.LastTransitionTime = o.LastTransitionTime
			}
		}
		return c
	}

	sandboxUp := sandbox != nil && sandbox.State != nil && sandbox.State.Running
	out = append(out, mk(corev1.PodReadyToStartContainers, sandboxUp, "", ""))

	// Initialized
	var incomplete []string
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		st := findStatus(s.InitContainerStatuses, c.Name)
		done := st != nil && st.Ready
		if restartable(c) {
			done = st != nil && st.Started != nil && *st.Started
		}
		if !done {
			incomplete = append(incomplete, c.Name)
		}
	}
	switch {
	case s.Phase == corev1.PodSucceeded:
		out = append(out, mk(corev1.PodInitialized, true, reasonPodCompleted, ""))
	case len(incomplete) == 0 || anyRegularStarted(pod, s.ContainerStatuses):
		out = append(out, mk(corev1.PodInitialized, true, "", ""))
	default:
		out = append(out, mk(corev1.PodInitialized, false, reasonContainersNotInitialized,
			fmt.Sprintf("containers with incomplete status: [%s]", strings.Join(incomplete, " "))))
	}

	// ContainersReady, then Ready (which adds readiness gates)
	var unready []string
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		if st := findStatus(s.InitContainerStatuses, c.Name); restartable(c) && (st == nil || !st.Ready) {
			unready = append(unready, c.Name)
		}
	}
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		if st := findStatus(s.ContainerStatuses, c.Name); st == nil || !st.Ready {
			unready = append(unready, c.Name)
		}
	}
	var cr corev1.PodCondition
	switch {
	case s.Phase == corev1.PodSucceeded:
		cr = mk(corev1.ContainersReady, false, reasonPodCompleted, "")
	case s.Phase == corev1.PodFailed:
		cr = mk(corev1.ContainersReady, false, reasonPodFailed, "")
	case len(unready) > 0:
		cr = mk(corev1.ContainersReady, false, reasonContainersNotReady,
			fmt.Sprintf("containers with unready status: [%s]", strings.Join(unready, " ")))
	default:
		cr = mk(corev1.ContainersReady, true, "", "")
	}
	ready := mk(corev1.PodReady, cr.Status == corev1.ConditionTrue, cr.Reason, cr.Message)
	if cr.Status == corev1.ConditionTrue {
		var gates []string
		for _, g := range pod.Spec.ReadinessGates {
			var found *corev1.PodCondition
			for i := range old {
				if old[i].Type == g.ConditionType {
					found = &old[i]
				}
			}
			switch {
			case found == nil:
				gates = append(gates, fmt.Sprintf("corresponding condition of pod readiness gate %q does not exist.", string(g.ConditionType)))
			case found.Status != corev1.ConditionTrue:
				gates = append(gates, fmt.Sprintf("the status of pod readiness gate %q is not \"True\", but %v", string(g.ConditionType), found.Status))
			}
		}
		if len(gates) > 0 {
			ready = mk(corev1.PodReady, false, reasonReadinessGatesNotReady, strings.Join(gates, ", "))
		}
	}
	out = append(out, ready, cr)

	scheduled := mk(corev1.PodScheduled, true, "", "")
	if !hasCondition(old, corev1.PodScheduled) && !pod.CreationTimestamp.IsZero() {
		scheduled.LastTransitionTime = pod.CreationTimestamp // k2d binds pods when they are created
	}
	return append(out, scheduled)
}

func hasCondition(list []corev1.PodCondition, t corev1.PodConditionType) bool {
	for _, c := range list {
		if c.Type == t {
			return true
		}
	}
	return false
}
