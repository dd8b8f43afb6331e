package bench

import (
	"debug/buildinfo"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Modules the server binary must not link: each costs megabytes and memory on a 512 MB device,
// and k2d has its own answer for what they do (ARCHITECTURE.md, "Footprint rules").
var forbiddenModules = map[string]string{
	"k8s.io/kubernetes":                 "the Kubernetes code base",
	"k8s.io/client-go":                  "a Kubernetes client; k2d is the server",
	"github.com/emicklei/go-restful":    "go-restful; fastapi routes requests itself",
	"github.com/emicklei/go-restful/v3": "go-restful; fastapi routes requests itself",
	"go.uber.org/zap":                   "a logger; k2d logs with log/slog",
	"github.com/sirupsen/logrus":        "a logger; k2d logs with log/slog",
}

// Packages the server must not import, from modules it may otherwise use.
var forbiddenPackages = map[string]string{
	"github.com/docker/docker/client": "the Docker client; dockerio speaks the Engine API itself",
}

// TestServerDependencies builds the server as `make build` does and reads the modules it
// links from the binary (what `go version -m bin/k2d` prints), and its packages from go list.
func TestServerDependencies(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the server binary")
	}
	bin := filepath.Join(t.TempDir(), "k2d")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, "../cmd/k2d")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	info, err := buildinfo.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Deps) == 0 {
		t.Fatal("the binary lists no modules: the check would prove nothing")
	}
	for _, d := range info.Deps {
		if why, bad := forbiddenModules[d.Path]; bad {
			t.Errorf("the server links %s %s (%s)", d.Path, d.Version, why)
		}
	}

	out, err := exec.Command("go", "list", "-deps", "../cmd/k2d").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	pkgs := strings.Fields(string(out))
	if len(pkgs) < 10 {
		t.Fatalf("go list -deps found only %d packages", len(pkgs))
	}
	for _, p := range pkgs {
		for bad, why := range forbiddenPackages {
			if p == bad || strings.HasPrefix(p, bad+"/") {
				t.Errorf("the server imports %s (%s)", p, why)
			}
		}
	}
}

// TestForbiddenListIsEffective makes sure the check can fail: a module that the binary does
// link, put on the list, is reported.
func TestForbiddenListIsEffective(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "../cmd/k2d").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	if !strings.Contains(string(out), "github.com/valyala/fasthttp\n") {
		t.Fatal("go list -deps does not show fasthttp: the package check reads the wrong output")
	}
}
