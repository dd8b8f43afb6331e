package dockerio

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/strslice"
	"github.com/docker/docker/api/types/system"
)

func TestParseHost(t *testing.T) {
	for _, tc := range []struct {
		in, network, addr string
		bad               bool
	}{
		{in: "unix:///var/run/docker.sock", network: "unix", addr: "/var/run/docker.sock"},
		{in: "/run/podman/podman.sock", network: "unix", addr: "/run/podman/podman.sock"},
		{in: "tcp://10.0.0.1:2375", network: "tcp", addr: "10.0.0.1:2375"},
		{in: "tcp://docker.local", network: "tcp", addr: "docker.local:2375"},
		{in: "tcp://[::1]:2376/", network: "tcp", addr: "[::1]:2376"},
		{in: "http://127.0.0.1:2375", network: "tcp", addr: "127.0.0.1:2375"},
		{in: "unix://", bad: true},
		{in: "npipe:////./pipe/docker_engine", bad: true},
		{in: "ssh://user@host", bad: true},
		{in: "https://host:2376", bad: true},
	} {
		network, addr, err := parseHost(tc.in)
		if tc.bad {
			if !errors.Is(err, ErrUnsupportedHost) {
				t.Errorf("parseHost(%q) = %v, want ErrUnsupportedHost", tc.in, err)
			}
			continue
		}
		if err != nil || network != tc.network || addr != tc.addr {
			t.Errorf("parseHost(%q) = %q, %q, %v; want %q, %q", tc.in, network, addr, err, tc.network, tc.addr)
		}
	}
}

func TestNewDefaultsToDockerHost(t *testing.T) {
	t.Setenv("DOCKER_HOST", "tcp://192.0.2.1:1234")
	c, err := New("")
	if err != nil {
		t.Fatal(err)
	}
	if c.network != "tcp" || c.addr != "192.0.2.1:1234" {
		t.Fatalf("got %s %s", c.network, c.addr)
	}
	t.Setenv("DOCKER_HOST", "")
	if c, err = New(""); err != nil || c.addr != "/var/run/docker.sock" {
		t.Fatalf("got %v %v", c, err)
	}
}

func TestNegotiateVersion(t *testing.T) {
	for _, tc := range []struct {
		server, min, want string
		bad               bool
	}{
		{server: "1.41", min: "1.12", want: "1.41"}, // Docker 20.10
		{server: "1.52", min: "1.24", want: "1.47"}, // newer Docker: capped at ours
		{server: "1.47", want: "1.47"},
		{server: "1.40", min: "1.24", want: "1.40"}, // Podman 2/3 compat API
		{server: "v1.41", want: "1.41"},
		{server: " 1.43 ", want: "1.43"},
		{server: "1.41.0", want: "1.41"},
		{server: "1.60", min: "1.50", want: "1.50"}, // engine refuses anything older than 1.50
		{server: "", bad: true},
		{server: "latest", bad: true},
		{server: "1", bad: true},
	} {
		got, err := negotiateVersion(tc.server, tc.min)
		if tc.bad {
			if err == nil {
				t.Errorf("negotiateVersion(%q) = %q, want error", tc.server, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("negotiateVersion(%q, %q) = %q, %v; want %q", tc.server, tc.min, got, err, tc.want)
		}
	}
}

func TestNegotiatePrefixesPaths(t *testing.T) {
	for _, tc := range []struct {
		name string
		body string
		want string
	}{
		{"docker-20.10", `{"Version":"20.10.24","ApiVersion":"1.41","MinAPIVersion":"1.12","Os":"linux"}`, "1.41"},
		{"docker-28", `{"Version":"28.5.2","ApiVersion":"1.51","MinAPIVersion":"1.24"}`, "1.47"},
		// Podman 5's compat /version: Docker-style top level, libpod versions in Components.
		{"podman-5", `{"Platform":{"Name":"linux/arm/debian-12"},"Components":[{"Name":"Podman Engine","Version":"5.2.2","Details":{"APIVersion":"5.2.2","MinAPIVersion":"4.0.0"}}],"Version":"5.2.2","ApiVersion":"1.41","MinAPIVersion":"1.24"}`, "1.41"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t)
			f.handle("GET /version", func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, tc.body)
			})
			f.handle("GET /info", func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, 200, map[string]any{"ID": "abc", "NCPU": 4, "MemTotal": 512 << 20})
			})
			c := f.client(t)
			ctx := context.Background()
			if c.APIVersion() != "" {
				t.Fatalf("APIVersion before Negotiate = %q", c.APIVersion())
			}
			if err := c.Negotiate(ctx); err != nil {
				t.Fatal(err)
			}
			if r := f.last(); r.Version != "" || r.Path != "/version" {
				t.Fatalf("Negotiate sent %+v, want unversioned /version", r)
			}
			if c.APIVersion() != tc.want {
				t.Fatalf("APIVersion = %q, want %q", c.APIVersion(), tc.want)
			}
			info, err := c.Info(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if info.NCPU != 4 || info.MemTotal != 512<<20 {
				t.Fatalf("Info = %+v", info)
			}
			if r := f.last(); r.Version != tc.want || r.Path != "/info" {
				t.Fatalf("Info sent %+v, want /v%s/info", r, tc.want)
			}
		})
	}
}

func TestErrorMapping(t *testing.T) {
	f := newFake(t)
	f.handle("GET /containers/{id}/json", func(w http.ResponseWriter, r *http.Request) {
		switch r.PathValue("id") {
		case "missing":
			writeMessage(w, 404, "No such container: missing")
		case "podman":
			writeJSON(w, 404, map[string]any{"cause": "no such container", "message": "no container with name or ID \"podman\" found: no such container", "response": 404})
		case "text":
			w.WriteHeader(500)
			io.WriteString(w, "boom\n")
		case "empty":
			w.WriteHeader(503)
		default:
			writeJSON(w, 200, map[string]any{"Id": r.PathValue("id"), "Name": "/x", "State": map[string]any{"Running": true, "Pid": 42}})
		}
	})
	f.handle("POST /containers/{id}/start", func(w http.ResponseWriter, r *http.Request) {
		switch r.PathValue("id") {
		case "running":
			w.WriteHeader(304)
		case "busy":
			writeMessage(w, 409, "Conflict. The container name is in use")
		default:
			w.WriteHeader(204)
		}
	})
	f.handle("POST /containers/{id}/stop", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("t") != "5" {
			writeMessage(w, 400, "want t=5, got "+r.URL.RawQuery)
			return
		}
		w.WriteHeader(304)
	})
	c := f.client(t)
	ctx := context.Background()

	_, err := c.ContainerInspect(ctx, "missing")
	if !IsNotFound(err) || IsConflict(err) || StatusCode(err) != 404 {
		t.Fatalf("missing: %v", err)
	}
	var de *Error
	if !errors.As(err, &de) || de.Message != "No such container: missing" {
		t.Fatalf("missing: %#v", err)
	}
	if !strings.Contains(err.Error(), `cannot inspect container "missing"`) {
		t.Fatalf("missing: error lacks context: %v", err)
	}
	if _, err = c.ContainerInspect(ctx, "podman"); !IsNotFound(err) || !strings.Contains(err.Error(), "no such container") {
		t.Fatalf("podman: %v", err)
	}
	if _, err = c.ContainerInspect(ctx, "text"); StatusCode(err) != 500 || !errors.As(err, &de) || de.Message != "boom" {
		t.Fatalf("text: %v", err)
	}
	if _, err = c.ContainerInspect(ctx, "empty"); StatusCode(err) != 503 || !errors.As(err, &de) || de.Message != "Service Unavailable" {
		t.Fatalf("empty: %v", err)
	}
	got, err := c.ContainerInspect(ctx, "abc")
	if err != nil || got.ID != "abc" || got.State == nil || got.State.Pid != 42 {
		t.Fatalf("abc: %+v %v", got, err)
	}
	if err := c.ContainerStart(ctx, "running"); err != nil {
		t.Fatalf("start of a running container: %v", err)
	}
	if err := c.ContainerStart(ctx, "fresh"); err != nil {
		t.Fatal(err)
	}
	if err := c.ContainerStart(ctx, "busy"); !IsConflict(err) {
		t.Fatalf("busy: %v", err)
	}
	five := 5
	if err := c.ContainerStop(ctx, "stopped", &five); err != nil {
		t.Fatalf("stop of a stopped container: %v", err)
	}
	if !errors.Is(&Error{StatusCode: 304}, ErrNotModified) || errors.Is(&Error{StatusCode: 404}, ErrConflict) {
		t.Fatal("Error.Is")
	}
}

func TestCallsCountsEveryRequest(t *testing.T) {
	f := newFake(t)
	f.handle("GET /_ping", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "OK") })
	f.handle("GET /containers/{id}/logs", func(w http.ResponseWriter, r *http.Request) {})
	c := f.client(t)
	ctx := context.Background()
	if c.Calls() != 0 {
		t.Fatal(c.Calls())
	}
	for i := 0; i < 3; i++ {
		if err := c.Ping(ctx); err != nil {
			t.Fatal(err)
		}
	}
	rc, err := c.ContainerLogs(ctx, "x", LogsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rc.Close()
	if c.Calls() != 4 {
		t.Fatalf("Calls = %d, want 4", c.Calls())
	}
}

func TestPooledCallHonoursContext(t *testing.T) {
	f := newFake(t)
	release := make(chan struct{})
	f.handle("GET /containers/{id}/json", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") == "slow" {
			<-release
		}
		writeJSON(w, 200, map[string]any{"Id": r.PathValue("id")})
	})
	c := f.client(t)

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	_, err := c.ContainerInspect(ctx, "slow")
	if !errors.Is(err, context.Canceled) || time.Since(start) > 2*time.Second {
		t.Fatalf("cancel: %v after %v", err, time.Since(start))
	}

	ctx, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	start = time.Now()
	_, err = c.ContainerInspect(ctx, "slow")
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
		t.Fatalf("deadline: %v after %v", err, time.Since(start))
	}
	close(release)

	// The pool still works after abandoned calls.
	for i := 0; i < 5; i++ {
		got, err := c.ContainerInspect(context.Background(), "fast")
		if err != nil || got.ID != "fast" {
			t.Fatalf("after cancel: %+v %v", got, err)
		}
	}
}

func TestContainerCreateBody(t *testing.T) {
	f := newFake(t)
	var got container.CreateRequest
	var raw []byte
	f.handle("POST /containers/create", func(w http.ResponseWriter, r *http.Request) {
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			writeMessage(w, 400, "Content-Type "+ct)
			return
		}
		raw, _ = io.ReadAll(r.Body)
		if err := json.Unmarshal(raw, &got); err != nil {
			writeMessage(w, 400, err.Error())
			return
		}
		if r.URL.Query().Get("name") != "k8s_app_web-0_default_uid_0" {
			writeMessage(w, 400, "name "+r.URL.RawQuery)
			return
		}
		writeJSON(w, 201, map[string]any{"Id": "c0ffee", "Warnings": []string{}})
	})
	c := f.client(t)
	cfg := &container.Config{
		Image:  "k2d-test/busybox:1",
		Cmd:    strslice.StrSlice{"sh", "-c", "echo \"<hi>\" & sleep 1"},
		Env:    []string{"A=b"},
		Labels: map[string]string{"io.k2d.managed": "true", "io.kubernetes.pod.name": "web-0"},
	}
	stop := 3
	cfg.StopTimeout = &stop
	host := &container.HostConfig{
		NetworkMode:   "container:sandbox",
		RestartPolicy: container.RestartPolicy{Name: "on-failure", MaximumRetryCount: 2},
		Resources:     container.Resources{Memory: 64 << 20, NanoCPUs: 500_000_000},
	}
	netcfg := &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{
		"k2d-default": {Aliases: []string{"web"}},
	}}
	id, err := c.ContainerCreate(context.Background(), "k8s_app_web-0_default_uid_0", cfg, host, netcfg)
	if err != nil || id != "c0ffee" {
		t.Fatalf("%q %v", id, err)
	}
	if got.Config == nil || !reflect.DeepEqual(got.Config.Cmd, cfg.Cmd) || got.Labels["io.k2d.managed"] != "true" ||
		got.HostConfig.NetworkMode != "container:sandbox" || got.HostConfig.Memory != 64<<20 ||
		got.HostConfig.RestartPolicy.MaximumRetryCount != 2 || *got.StopTimeout != 3 ||
		got.NetworkingConfig.EndpointsConfig["k2d-default"].Aliases[0] != "web" {
		t.Fatalf("engine got %s", raw)
	}
	// The body must mean exactly what encoding/json writes for the engine's request type.
	want, _ := json.Marshal(container.CreateRequest{Config: cfg, HostConfig: host, NetworkingConfig: netcfg})
	var a, b any
	json.Unmarshal(raw, &a)
	json.Unmarshal(want, &b)
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("request body differs from encoding/json's:\n%s\n%s", raw, want)
	}
}

func TestListFilters(t *testing.T) {
	f := newFake(t)
	var filters string
	f.handle("GET /containers/json", func(w http.ResponseWriter, r *http.Request) {
		filters = r.URL.Query().Get("filters")
		if r.URL.Query().Get("all") != "1" {
			writeMessage(w, 400, "all")
			return
		}
		writeJSON(w, 200, []map[string]any{{"Id": "a", "Names": []string{"/a"}, "Labels": map[string]string{"io.k2d.managed": "true"}}})
	})
	f.handle("GET /volumes", func(w http.ResponseWriter, r *http.Request) {
		filters = r.URL.Query().Get("filters")
		writeJSON(w, 200, map[string]any{"Volumes": []map[string]any{{"Name": "v1", "Driver": "local"}}, "Warnings": nil})
	})
	f.handle("GET /networks", func(w http.ResponseWriter, r *http.Request) {
		filters = r.URL.Query().Get("filters")
		writeJSON(w, 200, []map[string]any{{"Name": "n1", "Id": "n1id", "Driver": "bridge"}})
	})
	c := f.client(t)
	ctx := context.Background()
	list, err := c.ContainerList(ctx, true, "io.k2d.managed=true", "io.k2d.ns")
	if err != nil || len(list) != 1 || list[0].ID != "a" {
		t.Fatalf("%+v %v", list, err)
	}
	var m map[string]map[string]bool
	if err := json.Unmarshal([]byte(filters), &m); err != nil || !m["label"]["io.k2d.managed=true"] || !m["label"]["io.k2d.ns"] {
		t.Fatalf("filters %q", filters)
	}
	vols, err := c.VolumeList(ctx, "a=b")
	if err != nil || len(vols) != 1 || vols[0].Name != "v1" || !strings.Contains(filters, `"a=b":true`) {
		t.Fatalf("%+v %v %q", vols, err, filters)
	}
	nets, err := c.NetworkList(ctx)
	if err != nil || len(nets) != 1 || nets[0].ID != "n1id" || filters != "" {
		t.Fatalf("%+v %v %q", nets, err, filters)
	}
}

func TestNetworkCreateCheckDuplicate(t *testing.T) {
	f := newFake(t)
	var body map[string]any
	f.handle("GET /version", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"ApiVersion": "1.41"})
	})
	f.handle("POST /networks/create", func(w http.ResponseWriter, r *http.Request) {
		json.NewDecoder(r.Body).Decode(&body)
		writeJSON(w, 201, map[string]any{"Id": "net1", "Warning": ""})
	})
	c := f.client(t)
	ctx := context.Background()
	if err := c.Negotiate(ctx); err != nil {
		t.Fatal(err)
	}
	id, err := c.NetworkCreate(ctx, "k2d-default", network.CreateOptions{Driver: "bridge", Labels: map[string]string{"io.k2d.ns": "default"}})
	if err != nil || id != "net1" {
		t.Fatal(id, err)
	}
	if body["Name"] != "k2d-default" || body["CheckDuplicate"] != true || body["Driver"] != "bridge" {
		t.Fatalf("body %v", body)
	}
}

func TestEscapePath(t *testing.T) {
	f := newFake(t)
	var raw string
	f.handle("/images/", func(w http.ResponseWriter, r *http.Request) {
		raw = f.last().RawPath
		writeJSON(w, 200, map[string]any{"Id": "sha256:1"})
	})
	c := f.client(t)
	if _, err := c.ImageInspect(context.Background(), "k2d-test/busybox:1"); err != nil {
		t.Fatal(err)
	}
	if raw != "/images/k2d-test/busybox:1/json" {
		t.Fatalf("raw path %q", raw)
	}
	if _, err := c.ImageInspect(context.Background(), "reg.local:5000/a b@sha256:00"); err != nil {
		t.Fatal(err)
	}
	if raw != "/images/reg.local:5000/a%20b@sha256:00/json" {
		t.Fatalf("raw path %q", raw)
	}
	if got := escapePath("a/b c", false); got != "a%2Fb%20c" {
		t.Fatal(got)
	}
}

func TestSplitRef(t *testing.T) {
	for _, tc := range [][3]string{
		{"busybox", "busybox", "latest"},
		{"busybox:1.36", "busybox", "1.36"},
		{"reg.local:5000/team/app", "reg.local:5000/team/app", "latest"},
		{"reg.local:5000/team/app:v2", "reg.local:5000/team/app", "v2"},
		{"app@sha256:abcd", "app", "sha256:abcd"},
	} {
		repo, tag := splitRef(tc[0])
		if repo != tc[1] || tag != tc[2] {
			t.Errorf("splitRef(%q) = %q, %q", tc[0], repo, tag)
		}
	}
}

func TestAPITimestamp(t *testing.T) {
	now := time.Unix(1700000000, 0)
	for _, tc := range [][2]string{
		{"", ""},
		{"1700000000", "1700000000"},
		{"1700000000.5", "1700000000.5"},
		{"2023-11-14T22:13:20Z", "1700000000.000000000"},
		{"2023-11-14T22:13:20.25+00:00", "1700000000.250000000"},
		{"10m", "1699999400.000000000"},
	} {
		got, err := apiTimestamp(tc[0], now)
		if err != nil || got != tc[1] {
			t.Errorf("apiTimestamp(%q) = %q, %v; want %q", tc[0], got, err, tc[1])
		}
	}
	if _, err := apiTimestamp("yesterday", now); err == nil {
		t.Error("want error")
	}
}

func TestDecodesEngineFixtures(t *testing.T) {
	// Real engine answers decode into the engine's types, and the fields k2d reads are set.
	for _, tc := range []struct {
		file  string
		new   func() any
		check func(v any) bool
	}{
		{"container-inspect.json", func() any { return new(container.InspectResponse) },
			func(v any) bool {
				c := v.(*container.InspectResponse)
				return c.ID != "" && c.State != nil && c.Config != nil
			}},
		{"container-list.json", func() any { return new([]container.Summary) },
			func(v any) bool { l := *v.(*[]container.Summary); return len(l) > 0 && l[0].ID != "" }},
		{"network-inspect.json", func() any { return new(network.Inspect) },
			func(v any) bool { return v.(*network.Inspect).ID != "" }},
		{"info.json", func() any { return new(system.Info) },
			func(v any) bool { i := v.(*system.Info); return i.Name != "" && i.MemTotal > 0 }},
		{"image-inspect.json", func() any { return new(image.InspectResponse) },
			func(v any) bool { return v.(*image.InspectResponse).ID != "" }},
	} {
		t.Run(tc.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			v := tc.new()
			if err := json.Unmarshal(b, v); err != nil {
				t.Fatal(err)
			}
			if !tc.check(v) {
				t.Fatalf("%s decoded without the fields k2d reads: %+v", tc.file, v)
			}
		})
	}
}
