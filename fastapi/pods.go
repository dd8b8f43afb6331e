package fastapi

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/k2d-project/k2d/fastapi/stream"
	"github.com/k2d-project/k2d/reconcile"
	"github.com/valyala/fasthttp"
	corev1 "k8s.io/api/core/v1"
)

// podContainer resolves the container a log/exec/attach request is about, with the API
// server's messages for the cases it rejects.
func (s *Server) podContainer(rp resourcePath, container string) (*corev1.Pod, string, *apiError) {
	e, ok := s.cfg.Store.Get("pods", rp.namespace, rp.name)
	if !ok {
		return nil, "", errNotFound(rp.kind, rp.name)
	}
	pod := e.Obj.(*corev1.Pod)
	var names, inits []string
	for _, c := range pod.Spec.Containers {
		names = append(names, c.Name)
	}
	for _, c := range pod.Spec.InitContainers {
		inits = append(inits, c.Name)
	}
	if container == "" {
		if len(names) == 1 && len(inits) == 0 {
			return pod, names[0], nil
		}
		if d := pod.Annotations["kubectl.kubernetes.io/default-container"]; d != "" && (contains(names, d) || contains(inits, d)) {
			return pod, d, nil
		}
		msg := fmt.Sprintf("a container name must be specified for pod %s, choose one of: [%s]", pod.Name, strings.Join(names, " "))
		if len(inits) > 0 {
			msg += fmt.Sprintf(" or one of the init containers: [%s]", strings.Join(inits, " "))
		}
		return nil, "", errBadRequest(msg)
	}
	if !contains(names, container) && !contains(inits, container) {
		return nil, "", errBadRequest(fmt.Sprintf("container %s is not valid for pod %s", container, pod.Name))
	}
	return pod, container, nil
}

// containerWaiting returns the API server's message when container has not started yet.
func containerWaiting(pod *corev1.Pod, container string) string {
	all := append(append([]corev1.ContainerStatus{}, pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...)
	for _, cs := range all {
		if cs.Name != container {
			continue
		}
		if cs.State.Waiting != nil && cs.LastTerminationState.Terminated == nil && cs.ContainerID == "" {
			return fmt.Sprintf("container %q in pod %q is waiting to start: %s", container, pod.Name, cs.State.Waiting.Reason)
		}
		return ""
	}
	return fmt.Sprintf("container %q in pod %q is waiting to start: ContainerCreating", container, pod.Name)
}

func (s *Server) podLog(ctx *fasthttp.RequestCtx, rp resourcePath) {
	q := ctx.QueryArgs()
	pod, container, aerr := s.podContainer(rp, string(q.Peek("container")))
	if aerr != nil {
		writeError(ctx, aerr)
		return
	}
	o := reconcile.LogOptions{
		Container:  container,
		Follow:     boolArg(q.Peek("follow")),
		Previous:   boolArg(q.Peek("previous")),
		Timestamps: boolArg(q.Peek("timestamps")),
	}
	for name, dst := range map[string]**int64{"tailLines": &o.TailLines, "limitBytes": &o.LimitBytes, "sinceSeconds": &o.SinceSeconds} {
		if v := q.Peek(name); len(v) > 0 {
			n, err := strconv.ParseInt(string(v), 10, 64)
			if err != nil || n < 0 {
				writeError(ctx, errBadRequest(fmt.Sprintf("invalid %s: %s", name, v)))
				return
			}
			*dst = &n
		}
	}
	if v := q.Peek("sinceTime"); len(v) > 0 {
		t, err := time.Parse(time.RFC3339, string(v))
		if err != nil {
			writeError(ctx, errBadRequest("invalid sinceTime: "+string(v)))
			return
		}
		o.SinceTime = &t
	}
	if !o.Previous {
		if msg := containerWaiting(pod, container); msg != "" {
			writeError(ctx, errBadRequest(msg))
			return
		}
	}
	ns, name := rp.namespace, rp.name
	ctx.SetContentType("text/plain")
	ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
		c, cancel := context.WithCancel(s.ctx)
		defer cancel()
		err := s.cfg.Runtime.Logs(c, ns, name, o, &flushWriter{w: w, cancel: cancel})
		if err != nil && c.Err() == nil {
			// The status line is gone; say it in the stream, as the kubelet does.
			_, _ = fmt.Fprintf(w, "error: %v\n", toStatus(nil, err).status.Message)
			_ = w.Flush()
		}
	})
}

// flushWriter flushes every write so that a followed log reaches the client at once; a
// failed write (the client went away) cancels the stream.
type flushWriter struct {
	w      *bufio.Writer
	cancel context.CancelFunc
}

func (f *flushWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	if err == nil {
		err = f.w.Flush()
	}
	if err != nil {
		f.cancel()
	}
	return n, err
}

func boolArg(v []byte) bool { s := string(v); return s == "true" || s == "1" }

// podStream serves exec and attach over a WebSocket or SPDY upgrade.
func (s *Server) podStream(ctx *fasthttp.RequestCtx, rp resourcePath) {
	q := ctx.QueryArgs()
	pod, container, aerr := s.podContainer(rp, string(q.Peek("container")))
	if aerr != nil {
		writeError(ctx, aerr)
		return
	}
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		writeError(ctx, errBadRequest(fmt.Sprintf("cannot exec into a container in a completed pod; current phase is %s", pod.Status.Phase)))
		return
	}
	if msg := containerWaiting(pod, container); msg != "" {
		writeError(ctx, errBadRequest(msg))
		return
	}
	opts := stream.Options{
		Stdin: boolArg(q.Peek("stdin")), Stdout: boolArg(q.Peek("stdout")),
		Stderr: boolArg(q.Peek("stderr")), TTY: boolArg(q.Peek("tty")),
	}
	if len(q.Peek("stdout")) == 0 && len(q.Peek("stderr")) == 0 && rp.sub == "exec" {
		opts.Stdout, opts.Stderr = true, true
	}
	var cmd []string
	for _, c := range q.PeekMulti("command") {
		cmd = append(cmd, string(c))
	}
	if rp.sub == "exec" && len(cmd) == 0 {
		writeError(ctx, errBadRequest("you must specify at least 1 command"))
		return
	}
	if !stream.IsUpgrade(ctx) {
		writeError(ctx, errBadRequest("Upgrade request required"))
		return
	}
	ns, name, sub := rp.namespace, rp.name, rp.sub
	rt, base := s.cfg.Runtime, s.ctx
	stream.Serve(ctx, opts, func(st *stream.Streams) stream.Result {
		eio := reconcile.ExecIO{Stdin: st.Stdin, Stdout: st.Stdout, Stderr: st.Stderr, TTY: opts.TTY}
		if st.Resize != nil {
			ch := make(chan reconcile.TermSize, 1)
			go func() {
				defer close(ch)
				for sz := range st.Resize {
					select {
					case ch <- reconcile.TermSize{Width: sz.Width, Height: sz.Height}:
					default:
					}
				}
			}()
			eio.Resize = ch
		}
		var code int
		var err error
		if sub == "exec" {
			code, err = rt.Exec(base, ns, name, container, cmd, eio)
		} else {
			code, err = rt.Attach(base, ns, name, container, eio)
		}
		return stream.Result{ExitCode: code, Err: err}
	})
}

// podPortForward tunnels connections to the pod's ports. Pods live on Docker bridge networks
// that the host (where k2d runs) reaches directly, so a port is dialled at the pod's IP.
func (s *Server) podPortForward(ctx *fasthttp.RequestCtx, rp resourcePath) {
	e, ok := s.cfg.Store.Get("pods", rp.namespace, rp.name)
	if !ok {
		writeError(ctx, errNotFound(rp.kind, rp.name))
		return
	}
	pod := e.Obj.(*corev1.Pod)
	if pod.Status.Phase != corev1.PodRunning {
		writeError(ctx, errBadRequest(fmt.Sprintf("pod %s is not running; current phase is %s", pod.Name, pod.Status.Phase)))
		return
	}
	ip := pod.Status.PodIP
	if pod.Spec.HostNetwork || ip == "" {
		ip = "127.0.0.1"
	}
	var ports []uint16
	for _, p := range ctx.QueryArgs().PeekMulti("ports") {
		n, err := strconv.ParseUint(string(p), 10, 16)
		if err != nil || n == 0 {
			writeError(ctx, errBadRequest("invalid port: "+string(p)))
			return
		}
		ports = append(ports, uint16(n))
	}
	if !stream.IsUpgrade(ctx) {
		writeError(ctx, errBadRequest("Upgrade request required"))
		return
	}
	stream.ServePortForward(ctx, ports, func(port uint16) (net.Conn, error) {
		return net.DialTimeout("tcp", net.JoinHostPort(ip, strconv.Itoa(int(port))), 10*time.Second)
	})
}
