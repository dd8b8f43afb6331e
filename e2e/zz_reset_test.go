package e2e

import (
	"os"
	"strings"
	"syscall"
	"testing"
)

// TestZZReset runs last: `k2d reset --yes` removes everything k2d created (and only that) and its
// data dir. It also checks that the token never reached a log and that k2d never crashed.
func TestZZReset(t *testing.T) {
	h := start(t)
	token := h.token
	stopK2D(t, syscall.SIGTERM)

	// Objects k2d did not create, named like k2d's own to catch a reset that goes by name.
	name := "k2d-e2e-bystander-" + randSuffix(5)
	dockerOK(t, "create", "--name", name, testImage, "true")
	dockerOK(t, "network", "create", name)
	dockerOK(t, "volume", "create", name)
	t.Cleanup(func() {
		docker(t, "rm", "-f", name)
		docker(t, "network", "rm", name)
		docker(t, "volume", "rm", name)
	})

	out, err := h.reset()
	resetDone = true
	if err != nil {
		t.Fatalf("k2d reset --data-path %s --yes: %v\n%s", h.dataDir, err, out)
	}
	if left := leftovers(); left != "" {
		t.Errorf("objects labelled %s remain after k2d reset:\n%s", managedLabel, left)
	}
	if _, err := os.Stat(h.dataDir); !os.IsNotExist(err) {
		t.Errorf("data dir %s remains after k2d reset (stat: %v)", h.dataDir, err)
	}
	for _, args := range [][]string{{"container", "inspect", name}, {"network", "inspect", name}, {"volume", "inspect", name}} {
		if r := docker(t, args...); r.Code != 0 {
			t.Errorf("k2d reset removed %s %s, which k2d did not create", args[0], name)
		}
	}

	t.Run("token_never_logged", func(t *testing.T) {
		if token == "" {
			t.Skip("no token was read")
		}
		files := append([]string{h.logPath}, h.stdouts...)
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Errorf("%s: %v", f, err)
				continue
			}
			if strings.Contains(string(data), token) {
				t.Errorf("the bearer token appears in %s", f)
			}
		}
	})

	t.Run("no_crash", func(t *testing.T) {
		for _, c := range crashes {
			t.Error(c)
		}
	})
}
