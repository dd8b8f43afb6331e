package reconcile

// This file: one probe run, as the kubelet's probers do it. exec goes through Docker exec;
// httpGet and tcpSocket go from the host (k2d runs there) to the pod's IP. grpc probes are
// not run (see grpcUnsupported).

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/k2d-project/k2d/dockerio"
	"github.com/valyala/fasthttp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// probeOutputLimit bounds what a probe keeps of an exec's output or an HTTP body: the
// kubelet's 10 KiB.
const probeOutputLimit = 10 << 10

// runProbe runs one probe of a container; it is the manager's probeRunner.
func (c *Controller) runProbe(ctx context.Context, call *probeCall) probeOutcome {
	p := call.probe
	timeout := time.Duration(max(p.TimeoutSeconds, 1)) * time.Second
	switch {
	case p.Exec != nil:
		return c.execProbe(ctx, call.id, p.Exec.Command, timeout)
	case p.HTTPGet != nil:
		return httpProbe(ctx, p.HTTPGet, call.ctr, call.podIP, timeout, c.probeUserAgent())
	case p.TCPSocket != nil:
		return tcpProbe(ctx, p.TCPSocket, call.ctr, call.podIP, timeout)
	case p.GRPC != nil:
		return probeOutcome{probeUnsupported, grpcUnsupported}
	}
	return probeOutcome{probeError, "missing probe handler for " + call.ctr.Name}
}

// grpcUnsupported is the warning about a grpc probe. Running one needs an HTTP/2 client:
// net/http's adds about a megabyte to the binary, golang.org/x/net/http2's framer about
// 200 KB, for probes few edge workloads use. The probe counts as succeeded instead, and the
// user is told, by a warning when the pod is written and by an event.
const grpcUnsupported = "gRPC probes are not supported by k2d: the probe is not run and counts as a success"

// probeUserAgent is the kubelet's "kube-probe/<major>.<minor>" for the served version.
func (c *Controller) probeUserAgent() string { return probeUserAgent(c.o.KubeletVersion) }

func probeUserAgent(version string) string {
	v := strings.TrimPrefix(version, "v")
	major, rest, _ := strings.Cut(v, ".")
	minor, _, _ := strings.Cut(rest, ".")
	if _, err := strconv.Atoi(major); err != nil {
		return "kube-probe"
	}
	if _, err := strconv.Atoi(minor); err != nil {
		return "kube-probe/" + major
	}
	return "kube-probe/" + major + "." + minor
}

// cappedBuffer keeps the first probeOutputLimit bytes written to it and drops the rest
// without failing, so that the writer runs to its end.
type cappedBuffer struct{ b []byte }

func (c *cappedBuffer) Write(p []byte) (int, error) {
	if room := probeOutputLimit - len(c.b); room > 0 {
		c.b = append(c.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

// execProbe runs cmd in the container with Docker exec: exit code 0 is a success; the
// combined output is the message. A command still running at the timeout fails the probe
// (Docker cannot kill an exec: the process runs on, as it did under the dockershim).
func (c *Controller) execProbe(ctx context.Context, id string, cmd []string, timeout time.Duration) probeOutcome {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	timedOut := func() bool { return errors.Is(ctx.Err(), context.DeadlineExceeded) }
	timeoutOutcome := probeOutcome{probeFailure, fmt.Sprintf("command %q timed out", strings.Join(cmd, " "))}
	execID, err := c.d.ExecCreate(ctx, id, container.ExecOptions{Cmd: cmd, AttachStdout: true, AttachStderr: true})
	if err != nil {
		if timedOut() {
			return timeoutOutcome
		}
		return probeOutcome{probeError, err.Error()}
	}
	hc, err := c.d.ExecStart(ctx, execID, false)
	if err != nil {
		if timedOut() {
			return timeoutOutcome
		}
		return probeOutcome{probeError, err.Error()}
	}
	var out cappedBuffer
	err = dockerio.Demux(hc, &out, &out) // the stream ends when the process exits, or at the timeout
	hc.Close()
	if timedOut() {
		return timeoutOutcome
	}
	if err != nil {
		return probeOutcome{probeError, err.Error()}
	}
	// Docker records the exit code as the stream ends; give it a moment if it has not yet.
	ictx, icancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer icancel()
	for i := 0; ; i++ {
		ei, err := c.d.ExecInspect(ictx, execID)
		if err != nil {
			return probeOutcome{probeError, err.Error()}
		}
		if !ei.Running {
			if ei.ExitCode == 0 {
				return probeOutcome{probeSuccess, string(out.b)}
			}
			return probeOutcome{probeFailure, string(out.b)}
		}
		if i >= 50 {
			return timeoutOutcome
		}
		select {
		case <-time.After(10 * time.Millisecond):
		case <-ictx.Done():
			return timeoutOutcome
		}
	}
}

// probePort resolves a probe's port: a number, or the name of one of the container's ports
// (the kubelet then tries the name as a number, whose error it reports).
func probePort(p intstr.IntOrString, ctr *corev1.Container) (int, error) {
	port := -1
	switch p.Type {
	case intstr.Int:
		port = p.IntValue()
	case intstr.String:
		found := false
		for _, cp := range ctr.Ports {
			if cp.Name == p.StrVal {
				port, found = int(cp.ContainerPort), true
				break
			}
		}
		if !found {
			n, err := strconv.Atoi(p.StrVal)
			if err != nil {
				return n, err
			}
			port = n
		}
	default:
		return port, fmt.Errorf("intOrString had no kind: %+v", p)
	}
	if port > 0 && port < 65536 {
		return port, nil
	}
	return port, fmt.Errorf("invalid port number: %v", port)
}

// errNoPodIP stops a network probe of a pod whose address is not known yet: an empty host
// would probe k2d's own host instead.
var errNoPodIP = errors.New("the pod has no IP address yet")

// probeMaxRedirects is net/http's limit, which the kubelet's probes keep.
const probeMaxRedirects = 10

// httpProbe sends GET scheme://host:port/path with the probe's headers, as the kubelet's HTTP
// prober does: 200-399 is a success; redirects are followed to the same host only (a redirect
// elsewhere ends the probe with a warning, counted as success); the failure messages are
// net/http's and the kubelet's (the body never appears in them). The requests go out with
// fasthttp's codec on a connection of their own, closed after each probe: net/http's client
// would add about a megabyte to the binary.
func httpProbe(ctx context.Context, h *corev1.HTTPGetAction, ctr *corev1.Container, podIP string, timeout time.Duration, userAgent string) probeOutcome {
	scheme := strings.ToLower(string(h.Scheme))
	if scheme == "" {
		scheme = "http"
	}
	host := h.Host
	if host == "" {
		host = podIP
	}
	if host == "" {
		return probeOutcome{probeError, errNoPodIP.Error()}
	}
	port, err := probePort(h.Port, ctr)
	if err != nil {
		return probeOutcome{probeError, err.Error()}
	}
	u, err := url.Parse(h.Path)
	if err != nil {
		u = &url.URL{Path: h.Path}
	}
	u.Scheme = scheme
	u.Host = net.JoinHostPort(host, strconv.Itoa(port))
	if u.Scheme != "http" && u.Scheme != "https" {
		return probeOutcome{probeFailure, fmt.Sprintf("Get %q: unsupported protocol scheme %q", u.String(), u.Scheme)}
	}

	req := probeRequest{headers: make([][2]string, 0, len(h.HTTPHeaders)+2)}
	hasUA, hasAccept, accept := false, false, ""
	for _, x := range h.HTTPHeaders {
		switch {
		case strings.EqualFold(x.Name, "Host"):
			if req.host == "" {
				req.host = x.Value
			}
			continue
		case strings.EqualFold(x.Name, "User-Agent"):
			hasUA = true
		case strings.EqualFold(x.Name, "Accept"):
			if !hasAccept {
				hasAccept, accept = true, x.Value
			}
			if accept == "" {
				continue // an empty Accept removes the header
			}
		}
		req.headers = append(req.headers, [2]string{x.Name, x.Value})
	}
	if !hasUA {
		req.headers = append(req.headers, [2]string{"User-Agent", userAgent})
	}
	if !hasAccept {
		req.headers = append(req.headers, [2]string{"Accept", "*/*"})
	}

	deadline := time.Now().Add(timeout) // like net/http's Client.Timeout: for every redirect
	origHost := u.Hostname()
	for n := 0; ; n++ {
		res, err := req.do(ctx, u, deadline)
		if err != nil {
			return probeOutcome{probeFailure, fmt.Sprintf("Get %q: %s", u.String(), err)}
		}
		if loc := res.location; loc != "" && isFollowedRedirect(res.status) {
			next, err := u.Parse(loc)
			if err != nil {
				return probeOutcome{probeFailure, fmt.Sprintf("Get %q: failed to parse Location header %q: %v", u.String(), loc, err)}
			}
			if next.Hostname() == origHost {
				if n+1 >= probeMaxRedirects {
					return probeOutcome{probeFailure, fmt.Sprintf("Get %q: stopped after %d redirects", next.String(), probeMaxRedirects)}
				}
				if next.IsAbs() && req.host != "" && req.host != u.Host {
					req.host = "" // net/http keeps a Host override through relative redirects only
				}
				u = next
				continue
			}
		}
		if res.status >= 200 && res.status < 400 {
			if res.status >= 300 {
				return probeOutcome{probeWarning, "Probe terminated redirects, Response body: " + string(res.body)}
			}
			return probeOutcome{probeSuccess, string(res.body)}
		}
		return probeOutcome{probeFailure, fmt.Sprintf("HTTP probe failed with statuscode: %d", res.status)}
	}
}

// isFollowedRedirect reports the statuses net/http follows.
func isFollowedRedirect(code int) bool {
	switch code {
	case 301, 302, 303, 307, 308:
		return true
	}
	return false
}

// probeRequest is an HTTP probe's request: its headers in order and the Host override.
type probeRequest struct {
	headers [][2]string
	host    string
}

// probeResponse is what a probe keeps of a response.
type probeResponse struct {
	status   int
	location string
	body     []byte // at most probeOutputLimit bytes
}

// errAwaitingHeaders is net/http's wording for a Client.Timeout before the response came.
var errAwaitingHeaders = errors.New("context deadline exceeded (Client.Timeout exceeded while awaiting headers)")

// do sends one GET on a fresh connection (closed after the response, as the kubelet's probes
// disable keep-alive) and reads the response head and at most probeOutputLimit of its body.
func (r *probeRequest) do(ctx context.Context, u *url.URL, deadline time.Time) (probeResponse, error) {
	var res probeResponse
	d := net.Dialer{Deadline: deadline}
	conn, err := d.DialContext(ctx, "tcp", u.Host)
	if err != nil {
		if isTimeout(err) {
			return res, errAwaitingHeaders
		}
		return res, err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if err := conn.SetDeadline(deadline); err != nil {
		return res, err
	}
	if u.Scheme == "https" {
		cfg := &tls.Config{InsecureSkipVerify: true} //nolint:gosec // probes check health, not identity
		if net.ParseIP(u.Hostname()) == nil {
			cfg.ServerName = u.Hostname()
		}
		tc := tls.Client(conn, cfg)
		if err := tc.Handshake(); err != nil {
			if isTimeout(err) {
				return res, errAwaitingHeaders
			}
			return res, err
		}
		conn = tc
	}

	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	req.Header.DisableNormalizing() // header names go out as the probe spells them
	req.SetRequestURI(u.String())
	req.URI().DisablePathNormalizing = true // parses it, so the request line is origin-form
	req.Header.SetMethod(fasthttp.MethodGet)
	if r.host != "" {
		req.Header.SetHost(r.host)
		req.UseHostHeader = true
	}
	for _, h := range r.headers {
		req.Header.Add(h[0], h[1])
	}
	req.SetConnectionClose()
	bw := bufio.NewWriterSize(conn, 1024)
	if err := req.Write(bw); err != nil {
		return res, probeNetError(err)
	}
	if err := bw.Flush(); err != nil {
		return res, probeNetError(err)
	}

	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseResponse(resp)
	resp.StreamBody = true
	resp.SkipBody = false
	if err := resp.Read(bufio.NewReaderSize(conn, 4096)); err != nil {
		return res, probeNetError(err)
	}
	res.status = resp.StatusCode()
	res.location = string(resp.Header.Peek(fasthttp.HeaderLocation))
	if s := resp.BodyStream(); s != nil {
		res.body, err = io.ReadAll(io.LimitReader(s, probeOutputLimit))
		_ = resp.CloseBodyStream()
		if err != nil && isTimeout(err) {
			return res, errors.New("context deadline exceeded (Client.Timeout or context cancellation while reading body)")
		}
	} else {
		res.body = append([]byte(nil), resp.Body()[:min(len(resp.Body()), probeOutputLimit)]...)
	}
	return res, nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// probeNetError words an error of the exchange as net/http would.
func probeNetError(err error) error {
	switch {
	case isTimeout(err) || errors.Is(err, fasthttp.ErrTimeout):
		return errAwaitingHeaders
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, fasthttp.ErrConnectionClosed):
		return io.EOF
	}
	return err
}

// tcpProbe succeeds when a connection opens within the timeout.
func tcpProbe(ctx context.Context, t *corev1.TCPSocketAction, ctr *corev1.Container, podIP string, timeout time.Duration) probeOutcome {
	port, err := probePort(t.Port, ctr)
	if err != nil {
		return probeOutcome{probeError, err.Error()}
	}
	host := t.Host
	if host == "" {
		host = podIP
	}
	if host == "" {
		return probeOutcome{probeError, errNoPodIP.Error()}
	}
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return probeOutcome{probeFailure, err.Error()}
	}
	_ = conn.Close()
	return probeOutcome{probeSuccess, ""}
}
