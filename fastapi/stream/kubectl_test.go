package stream

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const kubectlPath = "/usr/bin/kubectl"

type kubectlRun struct {
	stdout, stderr string
	code           int
}

// kubectl runs the real kubectl against ts with a fresh cache and no user configuration.
// websockets selects the transport through KUBECTL_REMOTE_COMMAND_WEBSOCKETS.
func kubectl(t *testing.T, ts *testServer, websockets bool, stdin []byte, args ...string) kubectlRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	home := t.TempDir()
	full := append([]string{"--server", "http://" + ts.addr, "--cache-dir", filepath.Join(home, "cache")}, args...)
	cmd := exec.CommandContext(ctx, kubectlPath, full...)
	cmd.Env = kubectlEnv(home, websockets)
	cmd.Dir = home
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := kubectlRun{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("kubectl %v: %v", args, err)
	}
	if ctx.Err() != nil {
		t.Fatalf("kubectl %v timed out; stderr: %s", args, r.stderr)
	}
	shown := r.stdout
	if len(shown) > 200 {
		shown = shown[:200] + "..."
	}
	t.Logf("kubectl %s -> exit %d\nstdout: %q\nstderr: %q", strings.Join(args, " "), r.code, shown, r.stderr)
	return r
}

func kubectlEnv(home string, websockets bool) []string {
	ws := "false"
	if websockets {
		ws = "true"
	}
	return []string{
		"HOME=" + home,
		"PATH=/usr/bin:/bin",
		"KUBECONFIG=" + filepath.Join(home, "no-kubeconfig"),
		"KUBECTL_REMOTE_COMMAND_WEBSOCKETS=" + ws,
	}
}

func needKubectl(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(kubectlPath); err != nil {
		t.Skip("kubectl not installed at " + kubectlPath)
	}
}

func TestKubectl(t *testing.T) {
	needKubectl(t)
	for _, mode := range []struct {
		name    string
		ws      bool
		upgrade string
	}{{"websocket", true, "websocket"}, {"spdy", false, "SPDY/3.1"}} {
		t.Run(mode.name, func(t *testing.T) {
			ts := startTestServer(t)
			check := func(t *testing.T) {
				t.Helper()
				log := ts.upgradeLog()
				if len(log) == 0 || log[len(log)-1] != mode.upgrade {
					t.Fatalf("upgrades %q, want last %q", log, mode.upgrade)
				}
			}
			t.Run("exec echo", func(t *testing.T) {
				r := kubectl(t, ts, mode.ws, nil, "exec", "p", "--", "echo", "hi")
				if r.code != 0 || r.stdout != "hi\n" {
					t.Fatalf("exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
				}
				check(t)
			})
			t.Run("exec -i cat", func(t *testing.T) {
				r := kubectl(t, ts, mode.ws, []byte("data\n"), "exec", "-i", "p", "--", "cat")
				if r.code != 0 || r.stdout != "data\n" {
					t.Fatalf("exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
				}
				check(t)
			})
			t.Run("exec -i cat large", func(t *testing.T) {
				data := bigPayload(2 << 20)
				r := kubectl(t, ts, mode.ws, data, "exec", "-i", "p", "--", "cat")
				if r.code != 0 || r.stdout != string(data) {
					t.Fatalf("exit %d, %d bytes back of %d; stderr %q", r.code, len(r.stdout), len(data), r.stderr)
				}
			})
			t.Run("exec exit code", func(t *testing.T) {
				r := kubectl(t, ts, mode.ws, nil, "exec", "p", "--", "exit", "3")
				if r.code != 3 || r.stdout != "exiting 3\n" || !strings.Contains(r.stderr, "command terminated with exit code 3") {
					t.Fatalf("exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
				}
			})
			t.Run("exec stderr", func(t *testing.T) {
				r := kubectl(t, ts, mode.ws, nil, "exec", "p", "--", "stderr", "oops")
				if r.code != 0 || r.stdout != "out\n" || r.stderr != "oops\n" {
					t.Fatalf("exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
				}
			})
			t.Run("exec run error", func(t *testing.T) {
				r := kubectl(t, ts, mode.ws, nil, "exec", "p", "--", "fail")
				if r.code != 1 || !strings.Contains(r.stderr, "Internal error occurred: boom") {
					t.Fatalf("exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
				}
			})
			t.Run("attach", func(t *testing.T) {
				r := kubectl(t, ts, mode.ws, nil, "attach", "p")
				if r.code != 0 || !strings.Contains(r.stdout, "attached\n") {
					t.Fatalf("exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
				}
				check(t)
			})
			t.Run("cp to pod", func(t *testing.T) {
				dir := t.TempDir()
				src := filepath.Join(dir, "local.txt")
				if err := os.WriteFile(src, []byte("uploaded by kubectl cp\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				r := kubectl(t, ts, mode.ws, nil, "cp", src, "p:/tmp/remote.txt")
				if r.code != 0 {
					t.Fatalf("exit %d stderr %q", r.code, r.stderr)
				}
				ts.mu.Lock()
				defer ts.mu.Unlock()
				found := false
				for name, body := range ts.uploads {
					if strings.HasSuffix(name, "remote.txt") && body == "uploaded by kubectl cp\n" {
						found = true
					}
				}
				if !found {
					t.Fatalf("uploads %v", ts.uploads)
				}
				ts.uploads = map[string]string{}
			})
			t.Run("cp from pod", func(t *testing.T) {
				dst := filepath.Join(t.TempDir(), "got.txt")
				r := kubectl(t, ts, mode.ws, nil, "cp", "p:/tmp/remote.txt", dst)
				if r.code != 0 {
					t.Fatalf("exit %d stderr %q", r.code, r.stderr)
				}
				b, err := os.ReadFile(dst)
				if err != nil || string(b) != "content of tmp/remote.txt\n" {
					t.Fatalf("downloaded %q, %v", b, err)
				}
			})
			t.Run("exec -it", func(t *testing.T) {
				script, err := exec.LookPath("script")
				if err != nil {
					t.Skip("script (util-linux) not installed; TTY covered by the WebSocket client tests")
				}
				home := t.TempDir()
				line := "stty rows 40 cols 100; " + kubectlPath + " --server http://" + ts.addr +
					" --cache-dir " + filepath.Join(home, "cache") + " exec -it p -- tty"
				ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
				defer cancel()
				cmd := exec.CommandContext(ctx, script, "-qec", line, "/dev/null")
				cmd.Env = kubectlEnv(home, mode.ws)
				out, err := cmd.CombinedOutput()
				t.Logf("script kubectl exec -it: %q, %v", out, err)
				if err != nil {
					t.Fatalf("kubectl exec -it: %v: %q", err, out)
				}
				if !bytes.Contains(out, []byte("tty=true stderr=false")) || !bytes.Contains(out, []byte("size=100x40 ok=true")) {
					t.Fatalf("output %q", out)
				}
				ts.mu.Lock()
				opts := ts.lastOpts
				ts.mu.Unlock()
				if !opts.TTY || !opts.Stdin {
					t.Fatalf("options %+v", opts)
				}
				check(t)
			})
		})
	}
}

// TestKubectlFallback: a server that refuses the WebSocket upgrade gets the same exec over
// SPDY, with kubectl's default settings.
func TestKubectlFallback(t *testing.T) {
	needKubectl(t)
	ts := startTestServer(t)
	ts.mu.Lock()
	ts.refuseWS = true
	ts.mu.Unlock()
	r := kubectl(t, ts, true, []byte("via fallback\n"), "exec", "-i", "p", "--", "cat")
	if r.code != 0 || r.stdout != "via fallback\n" {
		t.Fatalf("exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	if log := ts.upgradeLog(); len(log) != 2 || log[0] != "websocket" || log[1] != "SPDY/3.1" {
		t.Fatalf("upgrades %q", log)
	}
}
