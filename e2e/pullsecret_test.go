package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// localRegistry is a Docker registry (Debian's docker-registry) on 127.0.0.1 with htpasswd
// authentication. Docker speaks plain HTTP to registries on 127.0.0.0/8 without any daemon
// configuration.
type localRegistry struct {
	host      string // 127.0.0.1:<port>
	user      string
	password  string
	dockerEnv []string // the docker CLI's environment, with a private DOCKER_CONFIG
}

// needTool finds a program the test needs; outside CI a missing one skips the test loudly,
// in CI (CI=true, where scripts/ensure-docker.sh installs it) it fails the test.
func needTool(t *testing.T, name, pkg string, paths ...string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	msg := fmt.Sprintf("%s is not installed (Debian package %s; scripts/ensure-docker.sh installs it)", name, pkg)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip("SKIPPED, NOT TESTED: " + msg)
	return ""
}

// startRegistry runs a registry until the test ends.
func startRegistry(t *testing.T) *localRegistry {
	t.Helper()
	bin := needTool(t, "docker-registry", "docker-registry", "/usr/bin/docker-registry")
	htpasswd := needTool(t, "htpasswd", "apache2-utils", "/usr/bin/htpasswd")
	dir := t.TempDir()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	r := &localRegistry{host: "127.0.0.1:" + strconv.Itoa(port), user: "k2d", password: "s3cret-" + randSuffix(8)}
	r.dockerEnv = append(os.Environ(), "DOCKER_CONFIG="+filepath.Join(dir, "docker-config"))

	// bcrypt, the only hash the registry's htpasswd auth accepts.
	out, err := exec.Command(htpasswd, "-Bbn", r.user, r.password).Output()
	if err != nil {
		t.Fatalf("htpasswd: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "htpasswd"), out, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: %s
http:
  addr: %s
auth:
  htpasswd:
    realm: k2d-e2e
    path: %s
`, filepath.Join(dir, "data"), r.host, filepath.Join(dir, "htpasswd"))
	cfgPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "registry.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", cfgPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("cannot start %s: %v", bin, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) // the group we started, by its id
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		logf.Close()
	})
	logTail := func() string { b, _ := os.ReadFile(logf.Name()); return string(b) }
	eventually(t, 20*time.Second, func() error {
		select {
		case <-exited:
			t.Fatalf("the registry exited at start:\n%s", logTail())
		default:
		}
		resp, err := http.Get("http://" + r.host + "/v2/")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			return fmt.Errorf("GET /v2/ without credentials: %d, want 401", resp.StatusCode)
		}
		return nil
	})
	return r
}

// dockerCLI runs the docker CLI with the registry's private client configuration, so that no
// login reaches the user's ~/.docker/config.json.
func (r *localRegistry) dockerCLI(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var in io.Reader
	if stdin != "" {
		in = strings.NewReader(stdin)
	}
	res := runCmd(t, 2*time.Minute, in, r.dockerEnv, "docker", args...)
	t.Logf("$ docker %s  # exit %d, %s", strings.Join(args, " "), res.Code, res.Took.Round(time.Millisecond))
	return res
}

func (r *localRegistry) dockerOK(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	res := r.dockerCLI(t, stdin, args...)
	if res.Code != 0 {
		t.Fatalf("docker %s: %s", strings.Join(args, " "), res)
	}
	return res.Stdout
}

func pullPodYAML(name, image, secret string) string {
	y := fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %s
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: %s
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
`, name, image)
	if secret != "" {
		y += "  imagePullSecrets:\n  - name: " + secret + "\n"
	}
	return y
}

// waitPullFails waits until the pod's container waits with ErrImagePull or ImagePullBackOff.
func waitPullFails(t *testing.T, ns, name string) corev1.ContainerStateWaiting {
	t.Helper()
	var w corev1.ContainerStateWaiting
	eventually(t, 60*time.Second, func() error {
		p, err := podState(t, ns, name)
		if err != nil {
			return err
		}
		if len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].State.Waiting != nil {
			w = *p.Status.ContainerStatuses[0].State.Waiting
			if w.Reason == "ErrImagePull" || w.Reason == "ImagePullBackOff" {
				return nil
			}
		}
		return fmt.Errorf("want ErrImagePull or ImagePullBackOff: %s", describePod(p))
	})
	return w
}

// failedPullMessages joins the messages of the pod's Failed events.
func failedPullMessages(t *testing.T, ns, name string) string {
	t.Helper()
	var evs corev1.EventList
	kubectlJSON(t, &evs, "get", "events", "-n", ns, "--field-selector", "involvedObject.name="+name)
	var msgs []string
	for _, ev := range evs.Items {
		if ev.Reason == "Failed" && ev.Type == corev1.EventTypeWarning {
			msgs = append(msgs, ev.Message)
		}
	}
	return strings.Join(msgs, "\n")
}

// TestPullSecret: an image in a registry that requires a login is pulled with the pod's
// kubernetes.io/dockerconfigjson imagePullSecrets, and only with right credentials.
func TestPullSecret(t *testing.T) {
	start(t)
	reg := startRegistry(t)
	image := reg.host + "/k2d-test/busybox:1"
	// Registered before the namespace, so that it runs after the namespace (and its pods) is gone.
	t.Cleanup(func() { docker(t, "rmi", image) })
	ns := newNamespace(t, "pull")

	reg.dockerOK(t, reg.password, "login", reg.host, "-u", reg.user, "--password-stdin")
	reg.dockerOK(t, "", "tag", testImage, image)
	reg.dockerOK(t, "", "push", image)
	reg.dockerOK(t, "", "logout", reg.host)
	reg.dockerOK(t, "", "rmi", image) // only the tag: the image stays as k2d-test/busybox:1
	if r := docker(t, "image", "inspect", image); r.Code == 0 {
		t.Fatalf("%s is still present locally: the pull would not be tested", image)
	}

	t.Run("without_secret", func(t *testing.T) {
		kubectlInOK(t, pullPodYAML("nosecret", image, ""), "apply", "-n", ns, "-f", "-")
		waitPullFails(t, ns, "nosecret")
		// As on Kubernetes, the waiting message of ImagePullBackOff only says "Back-off pulling
		// image"; the Failed event carries the registry's answer.
		if msgs := failedPullMessages(t, ns, "nosecret"); !strings.Contains(strings.ToLower(msgs), "auth") {
			t.Errorf("the Failed events should say why the pull failed (credentials): %q", msgs)
		}
		kubectlOK(t, "delete", "pod", "nosecret", "-n", ns, "--wait=true")
	})

	t.Run("wrong_password", func(t *testing.T) {
		kubectlOK(t, "create", "secret", "docker-registry", "badcred", "-n", ns,
			"--docker-server="+reg.host, "--docker-username="+reg.user, "--docker-password=not-"+reg.password)
		kubectlInOK(t, pullPodYAML("badcred", image, "badcred"), "apply", "-n", ns, "-f", "-")
		waitPullFails(t, ns, "badcred")
		if msgs := failedPullMessages(t, ns, "badcred"); !strings.Contains(strings.ToLower(msgs), "unauthorized") {
			t.Errorf("the Failed events should carry the registry's refusal: %q", msgs)
		}
		kubectlOK(t, "delete", "pod", "badcred", "-n", ns, "--wait=true")
	})

	t.Run("with_secret", func(t *testing.T) {
		kubectlOK(t, "create", "secret", "docker-registry", "regcred", "-n", ns,
			"--docker-server="+reg.host, "--docker-username="+reg.user, "--docker-password="+reg.password,
			"--docker-email=e2e@k2d.invalid")
		var sec corev1.Secret
		kubectlJSON(t, &sec, "get", "secret", "regcred", "-n", ns)
		if sec.Type != corev1.SecretTypeDockerConfigJson {
			t.Fatalf("secret type %q", sec.Type)
		}
		applyPod(t, ns, "withsecret", pullPodYAML("withsecret", image, "regcred"))
		var evs corev1.EventList
		kubectlJSON(t, &evs, "get", "events", "-n", ns, "--field-selector", "involvedObject.name=withsecret")
		pulled := false
		for _, ev := range evs.Items {
			pulled = pulled || (ev.Reason == "Pulled" && strings.Contains(ev.Message, "Successfully pulled image \""+image+"\""))
		}
		if !pulled {
			t.Errorf("no Pulled event for %s: %+v", image, evs.Items)
		}
		if r := docker(t, "image", "inspect", image); r.Code != 0 {
			t.Errorf("%s is not present after the pull", image)
		}
	})
}
