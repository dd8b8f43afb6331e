package translate

import (
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Container state reasons, as the kubelet reports them. The waiting reasons from
// ErrImagePull down are the controller's to set (see ContainerObservation); PodStatus derives
// the others from Docker's state.
const (
	ReasonContainerCreating          = "ContainerCreating"
	ReasonPodInitializing            = "PodInitializing"
	ReasonCrashLoopBackOff           = "CrashLoopBackOff"
	ReasonErrImagePull               = "ErrImagePull"
	ReasonImagePullBackOff           = "ImagePullBackOff"
	ReasonErrImageNeverPull          = "ErrImageNeverPull"
	ReasonCreateContainerConfigError = "CreateContainerConfigError"
	ReasonCreateContainerError       = "CreateContainerError"
	ReasonRunContainerError          = "RunContainerError"

	ReasonCompleted  = "Completed"
	ReasonError      = "Error"
	ReasonOOMKilled  = "OOMKilled"
	ReasonStartError = "StartError" // the process could not be started (exec failed)
)

// Pod condition reasons, as the kubelet's status generator sets them.
const (
	reasonContainersNotReady       = "ContainersNotReady"
	reasonContainersNotInitialized = "ContainersNotInitialized"
	reasonReadinessGatesNotReady   = "ReadinessGatesNotReady"
	reasonPodCompleted             = "PodCompleted"
	reasonPodFailed                = "PodFailed"
)

// Observed holds what the controller knows about a pod that Docker's inspect cannot show.
type Observed struct {
	// HostIP (and HostIPs, if several) is the node's address; empty keeps the previous value.
	HostIP  string
	HostIPs []string
	// Containers holds per-container facts by container name (names are unique across init
	// and app containers).
	Containers map[string]ContainerObservation
	// RepoDigests maps an image ID ("sha256:...") to a repo digest ("nginx@sha256:..."), from
	// image inspect, for imageID "docker-pullable://<digest>". Without one the imageID is
	// "docker://<image ID>".
	RepoDigests map[string]string
}

// ContainerObservation is what the controller knows about one container.
type ContainerObservation struct {
	// Reason and Message, when Reason is set, make the container waiting while no instance of
	// it runs: ErrImagePull, ImagePullBackOff, CreateContainerConfigError, CreateContainerError,
	// RunContainerError, or CrashLoopBackOff while the controller waits out a restart backoff
	// (the exited instance then shows as lastState). The controller clears it once the
	// container runs or it gives up restarting.
	Reason, Message string
	// Ready is the readiness probe's last verdict; nil: no verdict yet, so a container with a
	// readinessProbe is not ready and one without is ready once running.
	Ready *bool
	// Started is the startup probe's verdict, with the same nil rule for startupProbe.
	Started *bool
	// ProbedID, when set, is the Docker container (instance) Ready and Started are about:
	// they are ignored for any other instance, so a restarted container starts over unready.
	ProbedID string
	// TerminationMessage is the newest instance's termination message (from its message file,
	// or its log tail with FallbackToLogsOnError), shown once it terminated.
	TerminationMessage string
}

// instance is one Docker container of a pod container; a pod container has one per attempt.
type instance struct {
	c       *container.InspectResponse
	attempt int
}

// PodStatus computes the status a kubelet would report for pod from its sandbox (nil if none)
// and the Docker containers of the pod (all attempts; containers of other pods are ignored),
// at time now. pod.Status is read as the previous status: condition transition times, a
// terminal phase, the start time and the statuses of containers Docker no longer has are kept
// from it.
func PodStatus(pod *corev1.Pod, sandbox *container.InspectResponse, containers []container.InspectResponse, now time.Time, obs Observed) corev1.PodStatus {
	byName := map[string][]instance{}
	for i := range containers {
		c := &containers[i]
		if c.Config == nil {
			continue
		}
		l := c.Config.Labels
		if l[LabelPodUID] != string(pod.UID) || l[LabelContainerKind] == KindSandbox {
			continue
		}
		name, attempt := l[LabelContainerName], -1
		if a, err := strconv.Atoi(l[LabelAttempt]); err == nil {
			attempt = a
		}
		if cn, _, _, _, a, ok := ParseContainerName(c.Name); ok {
			if name == "" {
				name = cn
			}
			if attempt < 0 {
				attempt = a
			}
		}
		if name == "" {
			continue
		}
		if attempt < 0 {
			attempt = 0
		}
		byName[name] = append(byName[name], instance{c: c, attempt: attempt})
	}
	for _, list := range byName {
		sort.SliceStable(list, func(i, j int) bool {
			if list[i].attempt != list[j].attempt {
				return list[i].attempt > list[j].attempt
			}
			ti, tj := parseTime(list[i].c.Created), parseTime(list[j].c.Created)
			return tj.Before(&ti)
		})
	}
	ips := sandboxIPs(sandbox, NetworkName(pod.Namespace))
	return buildStatus(pod, sandbox, ips, byName, now, &obs)
}

// buildStatus assembles the PodStatus from the pod's instances grouped by container name.
func buildStatus(pod *corev1.Pod, sandbox *container.InspectResponse, ips []string, byName map[string][]instance, now time.Time, obs *Observed) corev1.PodStatus {
	old := &pod.Status
	defaultReason := ReasonContainerCreating
	if len(pod.Spec.InitContainers) > 0 {
		defaultReason = ReasonPodInitializing
	}

	var s corev1.PodStatus
	s.ObservedGeneration = pod.Generation
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		s.InitContainerStatuses = append(s.InitContainerStatuses, containerStatus(c, byName[c.Name],
			findStatus(old.InitContainerStatuses, c.Name), obs, defaultReason, !restartable(c)))
	}
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		s.ContainerStatuses = append(s.ContainerStatuses, containerStatus(c, byName[c.Name],
			findStatus(old.ContainerStatuses, c.Name), obs, defaultReason, false))
	}
	// The kubelet sorts app container statuses by name; init ones stay in spec order.
	sort.SliceStable(s.ContainerStatuses, func(i, j int) bool { return s.ContainerStatuses[i].Name < s.ContainerStatuses[j].Name })

	s.Phase = podPhase(pod, s.InitContainerStatuses, s.ContainerStatuses, pod.DeletionTimestamp != nil)
	if old.Phase == corev1.PodSucceeded || old.Phase == corev1.PodFailed {
		s.Phase = old.Phase // terminal phases never change
	}
	if s.Phase == old.Phase {
		s.Reason, s.Message = old.Reason, old.Message
	}

	s.HostIP, s.HostIPs = old.HostIP, old.HostIPs
	if obs.HostIP != "" {
		s.HostIP = obs.HostIP
		s.HostIPs = nil
		for _, ip := range append([]string{obs.HostIP}, obs.HostIPs...) {
			if !containsHostIP(s.HostIPs, ip) {
				s.HostIPs = append(s.HostIPs, corev1.HostIP{IP: ip})
			}
		}
	}
	if pod.Spec.HostNetwork && s.HostIP != "" {
		ips = []string{s.HostIP}
	}
	if len(ips) > 0 {
		s.PodIP = ips[0]
		for _, ip := range ips {
			s.PodIPs = append(s.PodIPs, corev1.PodIP{IP: ip})
		}
	} else {
		// Docker forgets a stopped container's address; a finished pod keeps showing its IP.
		s.PodIP, s.PodIPs = old.PodIP, old.PodIPs
	}

	switch {
	case old.StartTime != nil:
		s.StartTime = old.StartTime
	case sandbox != nil && !parseTime(sandbox.Created).Time.IsZero():
		t := parseTime(sandbox.Created)
		s.StartTime = &t
	default:
		t := metav1.NewTime(now)
		s.StartTime = &t
	}
	s.QOSClass = QOSClass(pod)
	s.Conditions = podConditions(pod, sandbox, &s, now)
	return s
}

// restartable reports whether an init container is a sidecar (restartPolicy Always).
func restartable(c *corev1.Container) bool {
	return c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
}

func findStatus(list []corev1.ContainerStatus, name string) *corev1.ContainerStatus {
	for i := range list {
		if list[i].Name == name {
			return &list[i]
		}
	}
	return nil
}

func containsHostIP(list []corev1.HostIP, ip string) bool {
	for _, h := range list {
		if h.IP == ip {
			return true
		}
	}
	return false
}

// containerStatus reports one container from its instances, newest first. runToCompletion is
// true for regular init containers: ready once they exited 0, never restarted after that.
func containerStatus(spec *corev1.Container, insts []instance, old *corev1.ContainerStatus, obs *Observed, defaultReason string, runToCompletion bool) corev1.ContainerStatus {
	ob := obs.Containers[spec.Name]
	if ob.ProbedID != "" && (len(insts) == 0 || insts[0].c.ID != ob.ProbedID) {
		ob.Ready, ob.Started = nil, nil // verdicts about an earlier instance
	}
	st := corev1.ContainerStatus{
		Name:  spec.Name,
		Image: spec.Image,
		State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: defaultReason}},
	}
	if len(insts) == 0 {
		if old != nil {
			if old.State.Terminated != nil {
				// Docker no longer has it (removed after it finished): the last word stays.
				kept := *old.DeepCopy()
				return kept
			}
			st.RestartCount = old.RestartCount
			st.LastTerminationState = *old.LastTerminationState.DeepCopy()
		}
	} else {
		cur := insts[0].c
		st.RestartCount = int32(insts[0].attempt)
		st.ContainerID = "docker://" + cur.ID
		if cur.Config != nil && cur.Config.Image != "" {
			st.Image = cur.Config.Image
		}
		st.ImageID = imageID(cur.Image, obs.RepoDigests)
		var last *corev1.ContainerStateTerminated
		st.State, last = dockerState(cur, defaultReason)
		if t := st.State.Terminated; t != nil && ob.TerminationMessage != "" {
			t.Message = ob.TerminationMessage
		}
		if last == nil && len(insts) > 1 {
			last = terminated(insts[1].c)
		}
		if last != nil {
			st.LastTerminationState = corev1.ContainerState{Terminated: last}
		}
	}

	completed := st.State.Terminated != nil && st.State.Terminated.ExitCode == 0
	if ob.Reason != "" && st.State.Running == nil && !(runToCompletion && completed) {
		if st.State.Terminated != nil {
			st.LastTerminationState = corev1.ContainerState{Terminated: st.State.Terminated}
		}
		st.State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: ob.Reason, Message: ob.Message}}
	}

	running := st.State.Running != nil
	if runToCompletion {
		st.Started = &running
		st.Ready = st.State.Terminated != nil && st.State.Terminated.ExitCode == 0
		return st
	}
	started := running && verdict(ob.Started, spec.StartupProbe == nil)
	st.Started = &started
	st.Ready = started && verdict(ob.Ready, spec.ReadinessProbe == nil)
	return st
}

func verdict(v *bool, def bool) bool {
	if v != nil {
		return *v
	}
	return def
}

// imageID reports the image as the dockershim did: a pullable digest when known, else the ID.
func imageID(id string, digests map[string]string) string {
	if id == "" {
		return ""
	}
	if d := digests[id]; d != "" {
		return "docker-pullable://" + d
	}
	return "docker://" + id
}

// dockerState maps Docker's state. last is set when the state itself implies a previous
// termination (a container Docker is restarting).
func dockerState(c *container.InspectResponse, defaultReason string) (state corev1.ContainerState, last *corev1.ContainerStateTerminated) {
	s := c.State
	if s == nil {
		return corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: defaultReason}}, nil
	}
	switch {
	case s.Restarting:
		// Only containers run with a Docker restart policy (plain `docker run`) get here: Docker
		// waits out its own backoff, which is what CrashLoopBackOff means.
		return corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{
			Reason:  ReasonCrashLoopBackOff,
			Message: "back-off restarting failed container " + strings.TrimPrefix(c.Name, "/"),
		}}, terminated(c)
	case s.Running: // paused counts as running: Kubernetes has no paused state
		return corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: parseTime(s.StartedAt)}}, nil
	case s.Status == container.StateCreated && s.Error == "":
		return corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: defaultReason}}, nil
	}
	return corev1.ContainerState{Terminated: terminated(c)}, nil
}

// terminated reads an instance that is no longer running as a terminated state; nil if it runs
// or never started.
func terminated(c *container.InspectResponse) *corev1.ContainerStateTerminated {
	s := c.State
	if s == nil || (s.Running && !s.Restarting) {
		return nil
	}
	t := &corev1.ContainerStateTerminated{
		ExitCode:    int32(s.ExitCode),
		StartedAt:   parseTime(s.StartedAt),
		FinishedAt:  parseTime(s.FinishedAt),
		ContainerID: "docker://" + c.ID,
	}
	if t.FinishedAt.Before(&t.StartedAt) {
		// Docker stamps the two from different places; a quick exit can finish "before" it
		// started by a few microseconds (seen on 20.10).
		t.FinishedAt = t.StartedAt
	}
	switch {
	case s.Status == container.StateCreated && s.Error != "":
		// Docker could not start the process (exec failed); it leaves the container "created".
		t.Reason, t.Message = ReasonStartError, s.Error
		if t.ExitCode == 0 {
			t.ExitCode = 128
		}
	case s.Status == container.StateCreated:
		return nil
	case s.OOMKilled:
		// Docker sets the flag from a cgroup event that can lose the race with the exit: an OOM
		// kill may show as a plain Error with exit code 137.
		t.Reason = ReasonOOMKilled
	case s.ExitCode == 0:
		t.Reason = ReasonCompleted
	default:
		t.Reason = ReasonError
	}
	return t
}

// parseTime reads Docker's RFC 3339 timestamps; Docker's zero time ("0001-01-01T00:00:00Z")
// and garbage give the zero metav1.Time, which encodes as null.
func parseTime(s string) metav1.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.IsZero() || t.Year() <= 1 {
		return metav1.Time{}
	}
	return metav1.NewTime(t)
}

// sandboxIPs returns the pod's addresses: those on the namespace network, else on the first
// network (by name) that has one. Docker clears them when the container stops.
func sandboxIPs(sb *container.InspectResponse, preferred string) []string {
	if sb == nil || sb.NetworkSettings == nil || sb.State == nil || !sb.State.Running {
		return nil
	}
	nets := sb.NetworkSettings.Networks
	ep := nets[preferred]
	if ep == nil || ep.IPAddress == "" {
		ep = nil
		for _, name := range sortedKeys(nets) {
			if e := nets[name]; e != nil && e.IPAddress != "" {
				ep = e
				break
			}
		}
	}
	if ep == nil {
		return nil
	}
	ips := []string{ep.IPAddress}
	if ep.GlobalIPv6Address != "" {
		ips = append(ips, ep.GlobalIPv6Address)
	}
	return ips
}
