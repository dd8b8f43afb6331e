package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The one server every test talks to; set by TestMain.
var (
	suite *harness
	// skipReason, when set, skips every test (a tool is missing outside CI).
	skipReason string
	// setupErr, when set, fails every test (the binary did not build or start).
	setupErr error
	// resetDone is set by TestZZReset so TestMain does not reset a second time.
	resetDone bool
	// crashes records each time k2d was found to have exited without being stopped.
	crashes []string
)

const (
	testImage     = "k2d-test/busybox:1"
	managedLabel  = "io.k2d.managed=true"
	readyTimeout  = 60 * time.Second
	stopTimeout   = 30 * time.Second
	kubectlTimout = 60 * time.Second
)

// harness owns the k2d process under test and what is needed to talk to it.
type harness struct {
	root        string // the repository
	bin         string // the k2d binary
	kubectlPath string
	workDir     string // logs, kubectl cache and HOME; removed at the end unless K2D_E2E_KEEP=1
	dataDir     string // K2D_DATA_PATH
	cacheDir    string // kubectl --cache-dir: fresh for this run, so discovery is today's
	homeDir     string
	port        int
	logPath     string // k2d's stderr, all starts appended

	mu       sync.Mutex
	cmd      *exec.Cmd
	exited   chan struct{} // closed when cmd has exited
	exitErr  error
	starts   int
	stdouts  []string // stdout file of each start
	server   string   // https://127.0.0.1:<port>
	token    string
	caPEM    []byte
	client   *http.Client // CA-verified, with a request timeout
	streamer *http.Client // CA-verified, no timeout: for watches and streams
}

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(runSuite(m))
}

func runSuite(m *testing.M) int {
	if testing.Short() {
		skipReason = "end-to-end tests are skipped with -short"
		return m.Run()
	}
	h, err := newHarness()
	if err != nil {
		if skipReason == "" {
			setupErr = err
		}
		code := m.Run()
		if h != nil {
			h.cleanupWorkDir(code)
		}
		return code
	}
	suite = h
	code := m.Run()
	if code != 0 {
		h.printLogTail(120)
	}
	h.mu.Lock()
	running := h.cmd != nil
	h.mu.Unlock()
	if running {
		if _, err := h.stop(syscall.SIGTERM); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: stopping k2d: %v\n", err)
		}
	}
	if !resetDone {
		// A -run filter skipped TestZZReset: still leave the engine as we found it.
		if out, err := h.reset(); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: k2d reset failed: %v\n%s\n", err, out)
			code = 1
		}
		if left := leftovers(); left != "" {
			fmt.Fprintf(os.Stderr, "e2e: objects labelled %s remain after k2d reset:\n%s\n", managedLabel, left)
			code = 1
		}
	}
	h.cleanupWorkDir(code)
	return code
}

// newHarness checks the tools, builds and starts k2d. A nil harness with a nil error never happens;
// a missing tool sets skipReason (outside CI) and returns an error.
func newHarness() (*harness, error) {
	ci := os.Getenv("CI") == "true"
	missing := func(what string) error {
		err := fmt.Errorf("%s: end-to-end tests need it", what)
		if !ci {
			skipReason = err.Error()
		}
		return err
	}
	if _, err := exec.LookPath("docker"); err != nil {
		return nil, missing("the docker CLI is not installed (run scripts/ensure-docker.sh)")
	}
	kubectlPath := os.Getenv("K2D_KUBECTL")
	if kubectlPath == "" {
		kubectlPath = "/usr/bin/kubectl"
		if _, err := os.Stat(kubectlPath); err != nil {
			kubectlPath = "kubectl"
		}
	}
	kubectlPath, err := exec.LookPath(kubectlPath)
	if err != nil {
		return nil, missing("kubectl is not installed (set K2D_KUBECTL)")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		return nil, err
	}
	workDir, err := os.MkdirTemp("", "k2d-e2e-")
	if err != nil {
		return nil, err
	}
	h := &harness{
		root:        root,
		kubectlPath: kubectlPath,
		workDir:     workDir,
		dataDir:     filepath.Join(workDir, "data"),
		cacheDir:    filepath.Join(workDir, "kube-cache"),
		homeDir:     filepath.Join(workDir, "home"),
		logPath:     filepath.Join(workDir, "k2d.log"),
	}
	for _, d := range []string{h.cacheDir, h.homeDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return h, err
		}
	}
	if out, err := exec.Command("docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		return h, fmt.Errorf("docker does not answer (run scripts/ensure-docker.sh): %v\n%s", err, out)
	}
	if out, err := exec.Command("docker", "image", "inspect", testImage).CombinedOutput(); err != nil {
		return h, fmt.Errorf("test image %s is missing (run scripts/test-images.sh): %v\n%s", testImage, err, bytes.TrimSpace(out))
	}
	if h.bin = os.Getenv("K2D_BIN"); h.bin == "" {
		h.bin = filepath.Join(root, "bin", "k2d")
		fmt.Fprintf(os.Stderr, "e2e: building %s\n", h.bin)
		build := exec.Command("go", "build", "-trimpath",
			"-ldflags", "-X github.com/k2d-project/k2d/cmd/k2d.version=e2e -X main.version=e2e",
			"-o", h.bin, "./cmd/k2d")
		build.Dir = root
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			return h, fmt.Errorf("cannot build k2d: %v\n%s", err, out)
		}
	}
	if _, err := os.Stat(h.bin); err != nil {
		return h, fmt.Errorf("k2d binary: %w", err)
	}
	if os.Getenv("K2D_E2E_CLEAN_START") == "1" {
		// A failure here is only a warning: TestZZReset judges reset; this only tidies up.
		if out, err := h.reset(); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: warning: clean start: k2d reset failed: %v\n%s\n", err, out)
		}
		if left := leftovers(); left != "" {
			fmt.Fprintf(os.Stderr, "e2e: warning: after the clean-start reset these remain:\n%s\n", left)
		}
	} else if left := leftovers(); left != "" {
		fmt.Fprintf(os.Stderr, "e2e: warning: the engine already holds objects labelled %s (another k2d, or an earlier run); "+
			"they will be adopted and then removed by the final reset:\n%s\n", managedLabel, left)
	}
	if h.port, err = freePort(); err != nil {
		return h, err
	}
	fmt.Fprintf(os.Stderr, "e2e: k2d %s, data %s, port %d, log %s, kubectl %s\n", h.bin, h.dataDir, h.port, h.logPath, kubectlPath)
	if err := h.start(); err != nil {
		return h, err
	}
	return h, nil
}

func (h *harness) cleanupWorkDir(code int) {
	if os.Getenv("K2D_E2E_KEEP") == "1" || code != 0 {
		fmt.Fprintf(os.Stderr, "e2e: work dir kept: %s\n", h.workDir)
		return
	}
	os.RemoveAll(h.workDir)
}

// freePort asks the kernel for a free TCP port on loopback.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("cannot find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// k2dEnv is the environment of every k2d process we start: ours without K2D_* (a developer's
// settings must not leak in), plus the test's configuration.
func (h *harness) k2dEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "K2D_") {
			env = append(env, kv)
		}
	}
	return append(env,
		"K2D_PORT="+strconv.Itoa(h.port),
		"K2D_DATA_PATH="+h.dataDir,
		"K2D_LOG_LEVEL=debug", // the most talkative level: the token must not show even here
	)
}

// start starts `k2d serve` and waits until /readyz answers 200.
func (h *harness) start() error {
	h.mu.Lock()
	if h.cmd != nil {
		h.mu.Unlock()
		return errors.New("k2d is already running")
	}
	h.starts++
	n := h.starts
	stdoutPath := filepath.Join(h.workDir, fmt.Sprintf("stdout-%d.log", n))
	h.stdouts = append(h.stdouts, stdoutPath)
	h.mu.Unlock()

	stdout, err := os.Create(stdoutPath)
	if err != nil {
		return err
	}
	defer stdout.Close()
	logf, err := os.OpenFile(h.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	fmt.Fprintf(logf, "==== e2e: start #%d at %s ====\n", n, time.Now().Format(time.RFC3339Nano))

	cmd := exec.Command(h.bin, "serve")
	cmd.Env = h.k2dEnv()
	cmd.Stdout = stdout
	cmd.Stderr = logf
	// Its own process group: a Ctrl-C on the test does not reach it before we stop it in order.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("cannot start k2d: %w", err)
	}
	exited := make(chan struct{})
	h.mu.Lock()
	h.cmd, h.exited, h.exitErr = cmd, exited, nil
	h.mu.Unlock()
	go func() {
		err := cmd.Wait()
		h.mu.Lock()
		h.exitErr = err
		h.mu.Unlock()
		close(exited)
	}()
	return h.waitReady(exited)
}

// waitReady waits for the kubeconfig, loads it, then polls /readyz until it answers 200.
func (h *harness) waitReady(exited chan struct{}) error {
	deadline := time.Now().Add(readyTimeout)
	var last string
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			h.mu.Lock()
			err := h.exitErr
			h.cmd = nil
			h.mu.Unlock()
			return fmt.Errorf("k2d exited while starting (%v); its log:\n%s", err, h.logTail(40))
		default:
		}
		if err := h.loadKubeconfig(); err != nil {
			last = err.Error()
		} else if code, body, err := h.get("/readyz", h.token); err != nil {
			last = err.Error()
		} else if code == http.StatusOK {
			return nil
		} else {
			last = fmt.Sprintf("/readyz: %d %s", code, strings.TrimSpace(string(body)))
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("k2d not ready after %s: %s; its log:\n%s", readyTimeout, last, h.logTail(40))
}

func (h *harness) kubeconfigPath() string { return filepath.Join(h.dataDir, "kubeconfig") }

// kubeconfigFields is what we read from a kubeconfig, via `kubectl config view --raw -o json`
// (so the tests need no YAML parser, and read it as kubectl does).
type kubeconfigFields struct {
	Server string
	Token  string
	CA     []byte
}

func (h *harness) parseKubeconfig(path string) (kubeconfigFields, error) {
	var kf kubeconfigFields
	if _, err := os.Stat(path); err != nil {
		return kf, err
	}
	cmd := exec.Command(h.kubectlPath, "config", "view", "--raw", "-o", "json", "--kubeconfig", path)
	cmd.Env = append(os.Environ(), "HOME="+h.homeDir)
	out, err := cmd.Output()
	if err != nil {
		return kf, fmt.Errorf("kubectl config view %s: %w", path, err)
	}
	var cfg struct {
		CurrentContext string `json:"current-context"`
		Clusters       []struct {
			Name    string `json:"name"`
			Cluster struct {
				Server string `json:"server"`
				CAData string `json:"certificate-authority-data"`
			} `json:"cluster"`
		} `json:"clusters"`
		Users []struct {
			Name string `json:"name"`
			User struct {
				Token string `json:"token"`
			} `json:"user"`
		} `json:"users"`
		Contexts []struct {
			Name    string `json:"name"`
			Context struct {
				Cluster string `json:"cluster"`
				User    string `json:"user"`
			} `json:"context"`
		} `json:"contexts"`
	}
	if err := json.Unmarshal(out, &cfg); err != nil {
		return kf, fmt.Errorf("kubeconfig %s: %w", path, err)
	}
	var clusterName, userName string
	for _, c := range cfg.Contexts {
		if c.Name == cfg.CurrentContext {
			clusterName, userName = c.Context.Cluster, c.Context.User
		}
	}
	for _, c := range cfg.Clusters {
		if c.Name == clusterName {
			kf.Server = c.Cluster.Server
			if kf.CA, err = base64.StdEncoding.DecodeString(c.Cluster.CAData); err != nil {
				return kf, fmt.Errorf("kubeconfig %s: certificate-authority-data: %w", path, err)
			}
		}
	}
	for _, u := range cfg.Users {
		if u.Name == userName {
			kf.Token = u.User.Token
		}
	}
	if kf.Server == "" || kf.Token == "" || len(kf.CA) == 0 {
		return kf, fmt.Errorf("kubeconfig %s: current context %q lacks a server, a token or a CA", path, cfg.CurrentContext)
	}
	return kf, nil
}

// loadKubeconfig reads <data>/kubeconfig and builds HTTP clients that verify the server with its CA.
func (h *harness) loadKubeconfig() error {
	kf, err := h.parseKubeconfig(h.kubeconfigPath())
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(kf.CA) {
		return errors.New("kubeconfig: certificate-authority-data holds no PEM certificate")
	}
	mk := func(timeout time.Duration) *http.Client {
		return &http.Client{
			Timeout: timeout,
			Transport: &http.Transport{
				TLSClientConfig:     &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
				MaxIdleConnsPerHost: 32,
				ForceAttemptHTTP2:   false,
			},
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.server, h.token, h.caPEM = kf.Server, kf.Token, kf.CA
	h.client, h.streamer = mk(30*time.Second), mk(0)
	return nil
}

// get is a bare GET used while starting; tests use the helpers in helpers_test.go.
func (h *harness) get(path, token string) (int, []byte, error) {
	h.mu.Lock()
	server, client := h.server, h.client
	h.mu.Unlock()
	req, err := http.NewRequest(http.MethodGet, server+path, nil)
	if err != nil {
		return 0, nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := client.Do(req.WithContext(ctx))
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, err = buf.ReadFrom(resp.Body)
	return resp.StatusCode, buf.Bytes(), err
}

// stop sends sig to k2d and waits until it exits; it returns how long that took. After SIGTERM
// it waits stopTimeout, then kills it and reports an error.
func (h *harness) stop(sig syscall.Signal) (time.Duration, error) {
	h.mu.Lock()
	cmd, exited := h.cmd, h.exited
	h.mu.Unlock()
	if cmd == nil {
		return 0, errors.New("k2d is not running")
	}
	t0 := time.Now()
	if err := cmd.Process.Signal(sig); err != nil {
		return 0, fmt.Errorf("cannot signal k2d: %w", err)
	}
	var err error
	select {
	case <-exited:
	case <-time.After(stopTimeout):
		_ = cmd.Process.Kill()
		<-exited
		err = fmt.Errorf("k2d did not exit within %s of %v; killed", stopTimeout, sig)
	}
	h.mu.Lock()
	h.cmd = nil
	h.mu.Unlock()
	return time.Since(t0), err
}

// exitError is how the last k2d process ended (nil: exit status 0).
func (h *harness) exitError() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.exitErr
}

// running reports whether k2d is running.
func (h *harness) running() bool {
	h.mu.Lock()
	cmd, exited := h.cmd, h.exited
	h.mu.Unlock()
	if cmd == nil {
		return false
	}
	select {
	case <-exited:
		return false
	default:
		return true
	}
}

// reset runs `k2d reset --yes` on our data dir; k2d must not be running.
func (h *harness) reset() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, h.bin, "reset", "--data-path", h.dataDir, "--yes")
	cmd.Env = h.k2dEnv()
	out, err := cmd.CombinedOutput()
	if f, ferr := os.OpenFile(h.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); ferr == nil {
		fmt.Fprintf(f, "==== e2e: k2d reset (err=%v) ====\n%s", err, out)
		f.Close()
	}
	return string(out), err
}

// leftovers lists the containers, networks and volumes labelled io.k2d.managed=true ("" if none).
func leftovers() string {
	var b strings.Builder
	for _, args := range [][]string{
		{"ps", "-a", "--filter", "label=" + managedLabel, "--format", "container {{.ID}} {{.Names}} {{.Status}}"},
		{"network", "ls", "--filter", "label=" + managedLabel, "--format", "network {{.ID}} {{.Name}}"},
		{"volume", "ls", "--filter", "label=" + managedLabel, "--format", "volume {{.Name}}"},
	} {
		out, err := exec.Command("docker", args...).CombinedOutput()
		if err != nil {
			fmt.Fprintf(&b, "docker %s: %v %s\n", strings.Join(args, " "), err, out)
			continue
		}
		b.Write(bytes.TrimSpace(out))
		if len(bytes.TrimSpace(out)) > 0 {
			b.WriteByte('\n')
		}
	}
	return strings.TrimSpace(b.String())
}

func (h *harness) logTail(n int) string {
	data, err := os.ReadFile(h.logPath)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func (h *harness) printLogTail(n int) {
	fmt.Fprintf(os.Stderr, "\n==== e2e: last %d lines of the k2d log (%s) ====\n%s\n==== end of k2d log ====\n", n, h.logPath, h.logTail(n))
}

// start gives a test the running server: it skips when a tool is missing, fails when the suite
// could not start k2d, and starts k2d again if an earlier test left it stopped.
func start(t *testing.T) *harness {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
	if setupErr != nil {
		t.Fatalf("suite setup failed: %v", setupErr)
	}
	if !suite.running() {
		suite.mu.Lock()
		if suite.cmd != nil {
			// It exited without being asked: TestZZReset reports these crashes.
			crash := fmt.Sprintf("k2d exited on its own (%v), noticed before %s", suite.exitErr, t.Name())
			crashes = append(crashes, crash)
			t.Log(crash)
		}
		suite.cmd = nil
		suite.mu.Unlock()
		t.Logf("k2d is not running; starting it again")
		if err := suite.start(); err != nil {
			t.Fatalf("cannot start k2d again: %v", err)
		}
	}
	return suite
}

// restartK2D stops k2d with sig (syscall.SIGTERM or syscall.SIGKILL) and starts it again with the
// same data dir and port, waiting for /readyz. For SIGTERM it also asserts a clean exit (status 0).
func restartK2D(t *testing.T, sig syscall.Signal) {
	t.Helper()
	stopK2D(t, sig)
	startK2D(t)
}

// stopK2D stops k2d with sig; for SIGTERM it asserts exit status 0 within stopTimeout.
func stopK2D(t *testing.T, sig syscall.Signal) {
	t.Helper()
	took, err := suite.stop(sig)
	if err != nil {
		t.Fatalf("stopping k2d with %v: %v", sig, err)
	}
	t.Logf("k2d stopped by %v in %s", sig, took.Round(time.Millisecond))
	if sig == syscall.SIGTERM {
		if err := suite.exitError(); err != nil {
			t.Errorf("k2d should exit with status 0 on SIGTERM, got: %v; log:\n%s", err, suite.logTail(20))
		}
	}
}

// startK2D starts k2d again after stopK2D.
func startK2D(t *testing.T) {
	t.Helper()
	t0 := time.Now()
	if err := suite.start(); err != nil {
		t.Fatalf("cannot start k2d again: %v", err)
	}
	t.Logf("k2d ready again in %s", time.Since(t0).Round(time.Millisecond))
}
