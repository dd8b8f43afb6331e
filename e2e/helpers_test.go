package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// result is what a command did.
type result struct {
	Stdout, Stderr string
	Code           int // -1 when it could not run or timed out
	Err            error
	Took           time.Duration
}

func (r result) String() string {
	return fmt.Sprintf("exit %d (%v) after %s\nstdout:\n%s\nstderr:\n%s", r.Code, r.Err, r.Took.Round(time.Millisecond), r.Stdout, r.Stderr)
}

// runCmd runs a command with a timeout; stdin may be nil.
func runCmd(t *testing.T, timeout time.Duration, stdin io.Reader, env []string, name string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	cmd.Stdin = stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// A child that keeps our pipes open (a stray process) must not hang the test past the timeout.
	cmd.WaitDelay = 5 * time.Second
	t0 := time.Now()
	err := cmd.Run()
	r := result{Stdout: stdout.String(), Stderr: stderr.String(), Took: time.Since(t0), Err: err}
	switch {
	case ctx.Err() != nil:
		r.Code, r.Err = -1, fmt.Errorf("timed out after %s", timeout)
	case err == nil:
	case cmd.ProcessState != nil && cmd.ProcessState.Exited():
		r.Code = cmd.ProcessState.ExitCode()
	default:
		r.Code = -1
	}
	return r
}

func (h *harness) kubectlEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "KUBECONFIG=") && !strings.HasPrefix(kv, "HOME=") && !strings.HasPrefix(kv, "KUBECACHEDIR=") {
			env = append(env, kv)
		}
	}
	return append(env, "HOME="+h.homeDir)
}

// kubectlArgs are the arguments that point kubectl at our server with a fresh discovery cache.
func (h *harness) kubectlArgs(args ...string) []string {
	return append([]string{"--kubeconfig", h.kubeconfigPath(), "--cache-dir", h.cacheDir}, args...)
}

// kubectl runs /usr/bin/kubectl against the server under test and returns what it did.
func kubectl(t *testing.T, args ...string) result {
	t.Helper()
	return kubectlWith(t, kubectlTimout, "", args...)
}

// kubectlIn runs kubectl with stdin.
func kubectlIn(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	return kubectlWith(t, kubectlTimout, stdin, args...)
}

func kubectlWith(t *testing.T, timeout time.Duration, stdin string, args ...string) result {
	t.Helper()
	var in io.Reader
	if stdin != "" {
		in = strings.NewReader(stdin)
	}
	r := runCmd(t, timeout, in, suite.kubectlEnv(), suite.kubectlPath, suite.kubectlArgs(args...)...)
	t.Logf("$ kubectl %s  # exit %d, %s", strings.Join(args, " "), r.Code, r.Took.Round(time.Millisecond))
	return r
}

// kubectlOK runs kubectl and fails the test unless it exits 0; it returns stdout.
func kubectlOK(t *testing.T, args ...string) string {
	t.Helper()
	r := kubectl(t, args...)
	if r.Code != 0 {
		t.Fatalf("kubectl %s: %s", strings.Join(args, " "), r)
	}
	return r.Stdout
}

// kubectlInOK runs kubectl with stdin and fails the test unless it exits 0.
func kubectlInOK(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	r := kubectlIn(t, stdin, args...)
	if r.Code != 0 {
		t.Fatalf("kubectl %s: %s", strings.Join(args, " "), r)
	}
	return r.Stdout
}

// kubectlJSON runs kubectl ... -o json and decodes stdout into v.
func kubectlJSON(t *testing.T, v any, args ...string) {
	t.Helper()
	out := kubectlOK(t, append(args, "-o", "json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("kubectl %s -o json: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// docker runs the docker CLI against the local engine.
func docker(t *testing.T, args ...string) result {
	t.Helper()
	r := runCmd(t, 2*time.Minute, nil, os.Environ(), "docker", args...)
	t.Logf("$ docker %s  # exit %d, %s", strings.Join(args, " "), r.Code, r.Took.Round(time.Millisecond))
	return r
}

// dockerOK runs docker and fails the test unless it exits 0; it returns stdout.
func dockerOK(t *testing.T, args ...string) string {
	t.Helper()
	r := docker(t, args...)
	if r.Code != 0 {
		t.Fatalf("docker %s: %s", strings.Join(args, " "), r)
	}
	return r.Stdout
}

// eventually calls fn until it returns nil, failing the test with fn's last error after timeout.
// Polling is fine in tests; the server itself must not poll.
func eventually(t *testing.T, timeout time.Duration, fn func() error) {
	t.Helper()
	if err := poll(timeout, fn); err != nil {
		t.Fatalf("not true after %s: %v", timeout, err)
	}
}

// poll calls fn until it returns nil or timeout passes; it returns fn's last error.
func poll(timeout time.Duration, fn func() error) error {
	deadline := time.Now().Add(timeout)
	delay := 100 * time.Millisecond
	for {
		err := fn()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(delay)
		if delay < time.Second {
			delay *= 2
		}
	}
}

// randSuffix returns n random lower-case hex characters, for names no other run uses.
func randSuffix(n int) string {
	b := make([]byte, (n+1)/2)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)[:n]
}

// newNamespace creates a namespace for one test and deletes it (with what is inside) at the end.
func newNamespace(t *testing.T, prefix string) string {
	t.Helper()
	name := "e2e-" + prefix + "-" + randSuffix(5)
	kubectlOK(t, "create", "namespace", name)
	t.Cleanup(func() {
		if !suite.running() {
			return
		}
		r := kubectlWith(t, 2*time.Minute, "", "delete", "namespace", name, "--ignore-not-found", "--timeout=100s")
		if r.Code != 0 {
			t.Logf("cleanup: cannot delete namespace %s: %s", name, r)
		}
	})
	return name
}

// manifest reads testdata/<file> and replaces each old string with its new one (pairs).
func manifest(t *testing.T, file string, oldnew ...string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	return strings.NewReplacer(oldnew...).Replace(string(data))
}

// sleeperPod is a one-container pod that stops at once on SIGTERM.
func sleeperPod(t *testing.T, name string) string {
	t.Helper()
	return manifest(t, "sleeper-pod.yaml", "__NAME__", name)
}

// getPod returns the pod as kubectl get -o json shows it.
func getPod(t *testing.T, ns, name string) *corev1.Pod {
	t.Helper()
	var p corev1.Pod
	kubectlJSON(t, &p, "get", "pod", name, "-n", ns)
	return &p
}

// podState fetches a pod without failing the test.
func podState(t *testing.T, ns, name string) (*corev1.Pod, error) {
	t.Helper()
	r := kubectl(t, "get", "pod", name, "-n", ns, "-o", "json")
	if r.Code != 0 {
		return nil, fmt.Errorf("kubectl get pod %s: %s", name, strings.TrimSpace(r.Stderr))
	}
	var p corev1.Pod
	if err := json.Unmarshal([]byte(r.Stdout), &p); err != nil {
		return nil, fmt.Errorf("pod %s: %v", name, err)
	}
	return &p, nil
}

// describePod summarises a pod's status for error messages.
func describePod(p *corev1.Pod) string {
	var b strings.Builder
	fmt.Fprintf(&b, "phase=%q reason=%q podIP=%q", p.Status.Phase, p.Status.Reason, p.Status.PodIP)
	for _, groups := range [][]corev1.ContainerStatus{p.Status.InitContainerStatuses, p.Status.ContainerStatuses} {
		for _, cs := range groups {
			fmt.Fprintf(&b, " [%s ready=%v restarts=%d", cs.Name, cs.Ready, cs.RestartCount)
			switch {
			case cs.State.Waiting != nil:
				fmt.Fprintf(&b, " waiting %s: %s", cs.State.Waiting.Reason, cs.State.Waiting.Message)
			case cs.State.Running != nil:
				b.WriteString(" running")
			case cs.State.Terminated != nil:
				fmt.Fprintf(&b, " terminated %s exit=%d: %s", cs.State.Terminated.Reason, cs.State.Terminated.ExitCode, cs.State.Terminated.Message)
			}
			b.WriteString("]")
		}
	}
	return b.String()
}

// waitPodRunning waits until the pod is Running with every container ready.
func waitPodRunning(t *testing.T, ns, name string, timeout time.Duration) *corev1.Pod {
	t.Helper()
	var pod *corev1.Pod
	eventually(t, timeout, func() error {
		p, err := podState(t, ns, name)
		if err != nil {
			return err
		}
		pod = p
		if p.Status.Phase != corev1.PodRunning || len(p.Status.ContainerStatuses) != len(p.Spec.Containers) {
			return fmt.Errorf("pod %s/%s not running: %s", ns, name, describePod(p))
		}
		for _, cs := range p.Status.ContainerStatuses {
			if !cs.Ready || cs.State.Running == nil {
				return fmt.Errorf("pod %s/%s: container %s not ready: %s", ns, name, cs.Name, describePod(p))
			}
		}
		return nil
	})
	return pod
}

// applyPod applies a manifest from stdin and waits for the pod to run.
func applyPod(t *testing.T, ns, name, yaml string) *corev1.Pod {
	t.Helper()
	kubectlInOK(t, yaml, "apply", "-n", ns, "-f", "-")
	return waitPodRunning(t, ns, name, 90*time.Second)
}

// dockerContainer is one container as docker ps shows it.
type dockerContainer struct {
	ID, Name, State string
	// Parsed from k8s_<container>_<pod>_<namespace>_<uid>_<attempt>.
	Container, Pod, Namespace, UID, Attempt string
}

var k8sName = regexp.MustCompile(`^k8s_([^_]+)_([^_]+)_([^_]+)_([^_]+)_([0-9]+)$`)

// podContainers lists the Docker containers (running or not) named for a pod in a namespace,
// sandbox included; pod "" means every pod of the namespace.
func podContainers(t *testing.T, ns, pod string) []dockerContainer {
	t.Helper()
	out := dockerOK(t, "ps", "-a", "--no-trunc", "--filter", "name=_"+ns+"_", "--format", "{{.ID}} {{.Names}} {{.State}}")
	var cs []dockerContainer
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		m := k8sName.FindStringSubmatch(f[1])
		if m == nil || m[3] != ns || (pod != "" && m[2] != pod) {
			continue
		}
		cs = append(cs, dockerContainer{ID: f[0], Name: f[1], State: f[2],
			Container: m[1], Pod: m[2], Namespace: m[3], UID: m[4], Attempt: m[5]})
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].Name < cs[j].Name })
	return cs
}

// containerIDs returns the sorted IDs.
func containerIDs(cs []dockerContainer) []string {
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = c.ID
	}
	sort.Strings(ids)
	return ids
}

// dieExitCode returns the exit code Docker's die event reports for a container since t0 (the
// container may be gone by now; its events remain).
func dieExitCode(t *testing.T, id string, t0 time.Time) string {
	t.Helper()
	out := dockerOK(t, "events", "--since", strconv.FormatInt(t0.Add(-time.Second).Unix(), 10),
		"--until", strconv.FormatInt(time.Now().Add(time.Second).Unix(), 10),
		"--filter", "container="+id, "--filter", "event=die", "--format", "{{json .Actor.Attributes}}")
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var attrs map[string]string
		if json.Unmarshal([]byte(line), &attrs) == nil && attrs["exitCode"] != "" {
			return attrs["exitCode"]
		}
	}
	return fmt.Sprintf("no die event (%q)", out)
}

// tableRows splits kubectl's column output into rows of cells (columns are separated by at least
// two spaces; a header such as "NOMINATED NODE" stays one cell).
func tableRows(out string) [][]string {
	var rows [][]string
	sep := regexp.MustCompile(`\s{2,}`)
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimRight(line, " \r")
		if line == "" {
			continue
		}
		rows = append(rows, sep.Split(line, -1))
	}
	return rows
}

// rowFor returns the cells of the first row whose first cell is name.
func rowFor(rows [][]string, name string) []string {
	for _, r := range rows {
		if len(r) > 0 && r[0] == name {
			return r
		}
	}
	return nil
}

// ---- HTTP ----

// apiRequest is one request to the server; token "" means the kubeconfig's token.
type apiRequest struct {
	Method, Path string
	Body         []byte
	ContentType  string
	Accept       string
	Token        string
	NoToken      bool
}

// apiResponse is what came back.
type apiResponse struct {
	Code   int
	Header http.Header
	Body   []byte
}

func (h *harness) do(ctx context.Context, client *http.Client, r apiRequest) (apiResponse, error) {
	h.mu.Lock()
	server, token := h.server, h.token
	h.mu.Unlock()
	var body io.Reader
	if r.Body != nil {
		body = bytes.NewReader(r.Body)
	}
	method := r.Method
	if method == "" {
		method = http.MethodGet
	}
	req, err := http.NewRequestWithContext(ctx, method, server+r.Path, body)
	if err != nil {
		return apiResponse{}, err
	}
	if r.Token != "" {
		token = r.Token
	}
	if !r.NoToken {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if r.ContentType != "" {
		req.Header.Set("Content-Type", r.ContentType)
	}
	if r.Accept != "" {
		req.Header.Set("Accept", r.Accept)
	}
	resp, err := client.Do(req)
	if err != nil {
		return apiResponse{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return apiResponse{Code: resp.StatusCode, Header: resp.Header, Body: data}, err
}

// api sends a request with the CA-verified client and fails the test on a transport error.
func api(t *testing.T, r apiRequest) apiResponse {
	t.Helper()
	suite.mu.Lock()
	client := suite.client
	suite.mu.Unlock()
	resp, err := suite.do(context.Background(), client, r)
	if err != nil {
		t.Fatalf("%s %s: %v", r.Method, r.Path, err)
	}
	return resp
}

// decodeStatus decodes a metav1.Status body and checks the fields every Status has.
func decodeStatus(t *testing.T, resp apiResponse) metav1.Status {
	t.Helper()
	var st metav1.Status
	if err := json.Unmarshal(resp.Body, &st); err != nil {
		t.Fatalf("HTTP %d: body is not a Status: %v\n%.500s", resp.Code, err, resp.Body)
	}
	if st.Kind != "Status" || st.APIVersion != "v1" || st.Status != metav1.StatusFailure {
		t.Errorf("HTTP %d: want kind Status, apiVersion v1, status Failure; got %q %q %q: %.500s", resp.Code, st.Kind, st.APIVersion, st.Status, resp.Body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("HTTP %d: Status with Content-Type %q, want application/json", resp.Code, ct)
	}
	return st
}

// expectStatus asserts an error response: HTTP code, Status code and reason.
func expectStatus(t *testing.T, resp apiResponse, code int, reason metav1.StatusReason) metav1.Status {
	t.Helper()
	if resp.Code != code {
		t.Errorf("want HTTP %d %s, got %d: %.500s", code, reason, resp.Code, resp.Body)
	}
	st := decodeStatus(t, resp)
	if int(st.Code) != code || st.Reason != reason {
		t.Errorf("want Status code %d reason %s, got code %d reason %q message %q", code, reason, st.Code, st.Reason, st.Message)
	}
	return st
}

// rawRequest sends one request on its own TLS connection, writing the body in the background while
// it reads the response, so an early answer (413 before the body is read) is seen even if the
// server then closes the connection.
func rawRequest(t *testing.T, method, path, contentType string, body []byte) (apiResponse, error) {
	t.Helper()
	suite.mu.Lock()
	server, token, ca := suite.server, suite.token, suite.caPEM
	suite.mu.Unlock()
	u, err := url.Parse(server)
	if err != nil {
		return apiResponse{}, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	conn, err := tls.DialWithDialer(dialer, "tcp", u.Host, &tls.Config{RootCAs: pool, ServerName: u.Hostname()})
	if err != nil {
		return apiResponse{}, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(60 * time.Second))
	head := fmt.Sprintf("%s %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: %s\r\nContent-Length: %d\r\nAccept: application/json\r\n\r\n",
		method, path, u.Host, token, contentType, len(body))
	writeErr := make(chan error, 1)
	go func() {
		_, err := conn.Write(append([]byte(head), body...))
		writeErr <- err
	}()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		select {
		case werr := <-writeErr:
			return apiResponse{}, fmt.Errorf("reading the response: %v (writing the request: %v)", err, werr)
		default:
			return apiResponse{}, fmt.Errorf("reading the response: %v", err)
		}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return apiResponse{Code: resp.StatusCode, Header: resp.Header, Body: data}, err
}

// metricValue reads /metrics and returns the sum of the series named name.
func metricValue(t *testing.T, name string) float64 {
	t.Helper()
	resp := api(t, apiRequest{Path: "/metrics"})
	if resp.Code != http.StatusOK {
		t.Fatalf("GET /metrics: HTTP %d: %.300s", resp.Code, resp.Body)
	}
	var sum float64
	found := false
	sc := bufio.NewScanner(bytes.NewReader(resp.Body))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 2 || (f[0] != name && !strings.HasPrefix(f[0], name+"{")) {
			continue
		}
		v, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			t.Fatalf("/metrics: %q: %v", line, err)
		}
		sum += v
		found = true
	}
	if !found {
		t.Fatalf("/metrics has no %s:\n%.2000s", name, resp.Body)
	}
	return sum
}

// parseRV parses a resourceVersion; k2d's are decimal counters, so order is defined.
func parseRV(t *testing.T, what, rv string) uint64 {
	t.Helper()
	n, err := strconv.ParseUint(rv, 10, 64)
	if err != nil || n == 0 {
		t.Fatalf("%s: resourceVersion %q is not a positive decimal integer", what, rv)
	}
	return n
}

// listRV returns metadata.resourceVersion of the list at path, e.g. /api/v1/namespaces. (Not
// through kubectl: `kubectl get -o json` wraps items in a List of its own, without one.)
func listRV(t *testing.T, path string) uint64 {
	t.Helper()
	resp := api(t, apiRequest{Path: path})
	if resp.Code != http.StatusOK {
		t.Fatalf("GET %s: HTTP %d: %.300s", path, resp.Code, resp.Body)
	}
	var l metav1.List
	if err := json.Unmarshal(resp.Body, &l); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return parseRV(t, "list "+path, l.ResourceVersion)
}

// nodeName is the single node's name.
func nodeName(t *testing.T) string {
	t.Helper()
	var nodes corev1.NodeList
	kubectlJSON(t, &nodes, "get", "nodes")
	if len(nodes.Items) != 1 {
		t.Fatalf("want exactly one node, got %d", len(nodes.Items))
	}
	return nodes.Items[0].Name
}

// lineStream runs a long-lived kubectl and hands its stdout lines to a channel; stop ends it.
type lineStream struct {
	Lines  chan string
	cancel context.CancelFunc
	done   chan struct{}
	stderr *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// kubectlStream starts kubectl with args and streams its stdout lines; it is stopped after
// timeout, or by stop.
func kubectlStream(t *testing.T, timeout time.Duration, args ...string) *lineStream {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	cmd := exec.CommandContext(ctx, suite.kubectlPath, suite.kubectlArgs(args...)...)
	cmd.Env = suite.kubectlEnv()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	s := &lineStream{Lines: make(chan string, 1024), cancel: cancel, done: make(chan struct{}), stderr: &syncBuffer{}}
	cmd.Stderr = s.stderr
	t.Logf("$ kubectl %s  # streaming", strings.Join(args, " "))
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	go func() {
		defer close(s.done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case s.Lines <- sc.Text():
			case <-ctx.Done():
			}
		}
		cmd.Wait()
		close(s.Lines)
	}()
	t.Cleanup(s.stop)
	return s
}

func (s *lineStream) stop() {
	s.cancel()
	<-s.done
}

// next returns the next line, or false when the stream ended or timeout passed.
func (s *lineStream) next(timeout time.Duration) (string, bool) {
	select {
	case l, ok := <-s.Lines:
		return l, ok
	case <-time.After(timeout):
		return "", false
	}
}
