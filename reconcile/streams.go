package reconcile

import (
	"context"
	"errors"
	"io"
	"sort"
	"strconv"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/k2d-project/k2d/dockerio"
	"github.com/k2d-project/k2d/translate"
	corev1 "k8s.io/api/core/v1"
)

// LogOptions are the parameters of pods/log.
type LogOptions struct {
	Container                           string
	Follow, Previous, Timestamps        bool
	TailLines, LimitBytes, SinceSeconds *int64
	SinceTime                           *time.Time
}

// ExecIO are the streams of an exec or attach session. A nil Stdin, Stdout or Stderr is not
// attached. With TTY, the process's stderr arrives on Stdout, as on a terminal.
type ExecIO struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	TTY            bool
	// Resize carries terminal size changes; closing it (or ending the session) stops reading.
	Resize <-chan TermSize
}

// TermSize is a terminal's size in characters.
type TermSize struct{ Width, Height uint16 }

// DefaultContainerAnnotation names the container kubectl (and k2d, when the request names
// none) uses by default.
const DefaultContainerAnnotation = "kubectl.kubernetes.io/default-container"

// target is the Docker container a stream request resolved to.
type target struct {
	pod  *corev1.Pod
	name string
	id   string
	ins  container.InspectResponse
}

// pickContainer resolves the requested container name: the given one (an app or init
// container), else the default-container annotation, else the first container.
func pickContainer(pod *corev1.Pod, name string) (string, error) {
	if name == "" {
		if a := pod.Annotations[DefaultContainerAnnotation]; a != "" && hasContainer(pod, a) {
			return a, nil
		}
		if len(pod.Spec.Containers) == 0 {
			return "", errContainerNotValid("", pod.Name)
		}
		return pod.Spec.Containers[0].Name, nil
	}
	if !hasContainer(pod, name) {
		return "", errContainerNotValid(name, pod.Name)
	}
	return name, nil
}

func hasContainer(pod *corev1.Pod, name string) bool {
	for i := range pod.Spec.Containers {
		if pod.Spec.Containers[i].Name == name {
			return true
		}
	}
	for i := range pod.Spec.InitContainers {
		if pod.Spec.InitContainers[i].Name == name {
			return true
		}
	}
	for i := range pod.Spec.EphemeralContainers {
		if pod.Spec.EphemeralContainers[i].Name == name {
			return true
		}
	}
	return false
}

// waitingReason is the container's waiting reason in the pod's status, ContainerCreating
// when the status says nothing yet.
func waitingReason(pod *corev1.Pod, name string) string {
	for _, list := range [][]corev1.ContainerStatus{pod.Status.ContainerStatuses, pod.Status.InitContainerStatuses} {
		for _, st := range list {
			if st.Name == name && st.State.Waiting != nil && st.State.Waiting.Reason != "" {
				return st.State.Waiting.Reason
			}
		}
	}
	if len(pod.Spec.InitContainers) > 0 {
		return translate.ReasonPodInitializing
	}
	return translate.ReasonContainerCreating
}

// resolve finds the Docker container behind ns/pod/container: the newest instance, or with
// previous the one before it.
func (c *Controller) resolve(ctx context.Context, ns, podName, name string, previous bool) (*target, error) {
	e, ok := c.c.Get(resPods, ns, podName)
	if !ok {
		return nil, &PodNotFoundError{Namespace: ns, Name: podName}
	}
	pod := e.Obj.(*corev1.Pod)
	name, err := pickContainer(pod, name)
	if err != nil {
		return nil, err
	}
	t := &target{pod: pod, name: name}
	if pod.Annotations[AnnotationSource] == SourceDocker {
		if previous {
			return nil, errNoPrevious(name, podName)
		}
		t.id = pod.Annotations[AnnotationContainerID]
	} else {
		list, err := c.d.ContainerList(ctx, true, translate.LabelPodUID+"="+string(pod.UID), translate.LabelContainerName+"="+name)
		if err != nil {
			return nil, err
		}
		sort.Slice(list, func(i, j int) bool {
			a, _ := strconv.Atoi(list[i].Labels[translate.LabelAttempt])
			b, _ := strconv.Atoi(list[j].Labels[translate.LabelAttempt])
			if a != b {
				return a > b
			}
			return list[i].Created > list[j].Created
		})
		idx := 0
		if previous {
			idx = 1
		}
		if len(list) <= idx {
			if previous {
				return nil, errNoPrevious(name, podName)
			}
			return nil, errContainerWaiting(name, podName, waitingReason(pod, name))
		}
		t.id = list[idx].ID
	}
	ins, err := c.d.ContainerInspect(ctx, t.id)
	if err != nil {
		if isNotFound(err) {
			return nil, errContainerWaiting(name, podName, waitingReason(pod, name))
		}
		return nil, err
	}
	if s := ins.State; !previous && s != nil && s.Status == container.StateCreated && s.Error == "" {
		return nil, errContainerWaiting(name, podName, waitingReason(pod, name))
	}
	t.ins = ins
	return t, nil
}

// errLimitReached ends a log stream at limitBytes.
var errLimitReached = errors.New("limit reached")

type limitWriter struct {
	w    io.Writer
	left int64
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if l.left <= 0 {
		return 0, errLimitReached
	}
	if int64(len(p)) > l.left {
		n, err := l.w.Write(p[:l.left])
		l.left = 0
		if err != nil {
			return n, err
		}
		return n, errLimitReached
	}
	n, err := l.w.Write(p)
	l.left -= int64(n)
	return n, err
}

// Logs writes a container's log to w: pods/log. With Follow it streams until the container
// stops or ctx ends.
func (c *Controller) Logs(ctx context.Context, ns, pod string, o LogOptions, w io.Writer) error {
	t, err := c.resolve(ctx, ns, pod, o.Container, o.Previous)
	if err != nil {
		return err
	}
	lo := dockerio.LogsOptions{Stdout: true, Stderr: true, Follow: o.Follow && !o.Previous, Timestamps: o.Timestamps}
	if o.TailLines != nil {
		lo.Tail = strconv.FormatInt(max(*o.TailLines, 0), 10)
	}
	switch {
	case o.SinceTime != nil:
		lo.Since = strconv.FormatInt(o.SinceTime.Unix(), 10)
	case o.SinceSeconds != nil:
		lo.Since = strconv.FormatInt(c.now().Unix()-*o.SinceSeconds, 10)
	}
	if o.LimitBytes != nil {
		w = &limitWriter{w: w, left: *o.LimitBytes}
	}
	rc, err := c.d.ContainerLogs(ctx, t.id, lo)
	if err != nil {
		return err
	}
	defer rc.Close()
	if t.ins.Config != nil && t.ins.Config.Tty {
		_, err = io.Copy(w, rc)
	} else {
		err = dockerio.Demux(rc, w, w)
	}
	if errors.Is(err, errLimitReached) || ctx.Err() != nil {
		return nil
	}
	return err
}

// Exec runs cmd in a running container: pods/exec. It returns the command's exit code.
func (c *Controller) Exec(ctx context.Context, ns, pod, ctr string, cmd []string, sio ExecIO) (int, error) {
	t, err := c.resolve(ctx, ns, pod, ctr, false)
	if err != nil {
		return 0, err
	}
	if t.ins.State == nil || !t.ins.State.Running {
		return 0, errNotRunning(t.name, pod)
	}
	execID, err := c.d.ExecCreate(ctx, t.id, container.ExecOptions{
		Cmd:          cmd,
		Tty:          sio.TTY,
		AttachStdin:  sio.Stdin != nil,
		AttachStdout: sio.Stdout != nil,
		AttachStderr: sio.Stderr != nil || (sio.TTY && sio.Stdout != nil),
	})
	if err != nil {
		return 0, err
	}
	hc, err := c.d.ExecStart(ctx, execID, sio.TTY)
	if err != nil {
		return 0, err
	}
	stop := make(chan struct{})
	defer close(stop)
	if sio.TTY && sio.Resize != nil {
		go c.forwardResize(ctx, stop, sio.Resize, func(s TermSize) error {
			return c.d.ExecResize(ctx, execID, uint(s.Height), uint(s.Width))
		})
	}
	if err := pump(ctx, hc, sio); err != nil && ctx.Err() == nil {
		return 0, err
	}
	// The stream ends when the process exits; Docker records the exit code just before.
	for i := 0; i < 50; i++ {
		ei, err := c.d.ExecInspect(context.WithoutCancel(ctx), execID)
		if err != nil {
			return 0, err
		}
		if !ei.Running {
			return ei.ExitCode, nil
		}
		if ctx.Err() != nil {
			return 0, nil // the client went away; the process goes on as it would on a kubelet
		}
		time.Sleep(20 * time.Millisecond)
	}
	return 0, nil
}

// Attach connects to the main process of a running container: pods/attach. It returns the
// container's exit code when the process ended, 0 when the client detached.
func (c *Controller) Attach(ctx context.Context, ns, pod, ctr string, sio ExecIO) (int, error) {
	t, err := c.resolve(ctx, ns, pod, ctr, false)
	if err != nil {
		return 0, err
	}
	if t.ins.State == nil || !t.ins.State.Running {
		return 0, errNotRunning(t.name, pod)
	}
	tty := t.ins.Config != nil && t.ins.Config.Tty
	sio.TTY = tty
	hc, err := c.d.ContainerAttach(ctx, t.id, dockerio.AttachOptions{
		Stdin: sio.Stdin != nil, Stdout: sio.Stdout != nil, Stderr: sio.Stderr != nil || (tty && sio.Stdout != nil), Stream: true,
	})
	if err != nil {
		return 0, err
	}
	stop := make(chan struct{})
	defer close(stop)
	if tty && sio.Resize != nil {
		go c.forwardResize(ctx, stop, sio.Resize, func(s TermSize) error {
			return c.d.ContainerResize(ctx, t.id, uint(s.Height), uint(s.Width))
		})
	}
	if err := pump(ctx, hc, sio); err != nil && ctx.Err() == nil {
		return 0, err
	}
	ins, err := c.d.ContainerInspect(context.WithoutCancel(ctx), t.id)
	if err == nil && ins.State != nil && !ins.State.Running {
		return ins.State.ExitCode, nil
	}
	return 0, nil
}

// pump copies stdin to the session (half-closing it at EOF, which `kubectl cp` relies on)
// and the session's output to stdout and stderr until the output ends.
func pump(ctx context.Context, hc *dockerio.HijackedConn, sio ExecIO) error {
	defer hc.Close()
	if sio.Stdin != nil {
		go func() {
			if _, err := io.Copy(hc, sio.Stdin); err == nil {
				_ = hc.CloseWrite()
			}
		}()
	}
	stdout, stderr := sio.Stdout, sio.Stderr
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil {
		stderr = io.Discard
	}
	done := make(chan error, 1)
	go func() {
		if sio.TTY {
			_, err := io.Copy(stdout, hc)
			done <- err
			return
		}
		done <- dockerio.Demux(hc, stdout, stderr)
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		hc.Close()
		<-done
		return ctx.Err()
	}
}

// forwardResize applies terminal size changes until the session ends.
func (c *Controller) forwardResize(ctx context.Context, stop <-chan struct{}, ch <-chan TermSize, apply func(TermSize) error) {
	for {
		select {
		case s, ok := <-ch:
			if !ok {
				return
			}
			if s.Width > 0 && s.Height > 0 {
				_ = apply(s)
			}
		case <-stop:
			return
		case <-ctx.Done():
			return
		}
	}
}
