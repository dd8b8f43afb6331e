package reconcile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/system"
	"github.com/docker/docker/api/types/volume"
	"github.com/k2d-project/k2d/dockerio"
	"github.com/k2d-project/k2d/translate"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
)

// fakeDocker is an in-memory engine with just enough behaviour for the controllers'
// decisions: containers with labels and states, images, networks, volumes, and an event
// stream the test drives.
type fakeDocker struct {
	mu         sync.Mutex
	now        func() time.Time
	seq        int
	containers map[string]*fakeContainer
	images     map[string]image.InspectResponse
	networks   map[string]network.Inspect
	volumes    map[string]*volume.Volume
	calls      []string
	pullErr    error
	createErr  error
	down       bool
	evs        chan events.Message
	evErr      chan error
}

type fakeContainer struct {
	name  string
	cfg   container.Config
	host  container.HostConfig
	state container.State
	at    time.Time
}

var errFakeDown = errors.New("cannot connect to the Docker daemon")

func newFake() *fakeDocker {
	return &fakeDocker{
		now:        time.Now,
		containers: map[string]*fakeContainer{},
		images:     map[string]image.InspectResponse{},
		networks:   map[string]network.Inspect{},
		volumes:    map[string]*volume.Volume{},
	}
}

var _ docker = (*fakeDocker)(nil)

func notFound(what string) error {
	return fmt.Errorf("cannot find %s: %w", what, &dockerio.Error{StatusCode: 404, Message: "No such " + what})
}

func (f *fakeDocker) call(format string, args ...any) error {
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
	if f.down {
		return errFakeDown
	}
	return nil
}

// countCalls counts recorded calls starting with prefix.
func (f *fakeDocker) countCalls(prefix string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		if strings.HasPrefix(c, prefix) {
			n++
		}
	}
	return n
}

func (f *fakeDocker) Ping(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.call("ping")
}

func (f *fakeDocker) Info(context.Context) (system.Info, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("info"); err != nil {
		return system.Info{}, err
	}
	return system.Info{ID: "ID1", Name: "Pi-Node", NCPU: 4, MemTotal: 512 << 20, Architecture: "armv7l", OSType: "linux",
		OperatingSystem: "Raspbian GNU/Linux 12", KernelVersion: "6.1.0-rpi", ServerVersion: "20.10.24",
		SystemTime: f.now().Format(time.RFC3339Nano)}, nil
}

func (f *fakeDocker) Version(context.Context) (types.Version, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return types.Version{Version: "20.10.24", APIVersion: "1.41"}, f.call("version")
}

func (f *fakeDocker) Events(ctx context.Context, since string) (<-chan events.Message, <-chan error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "events "+since)
	msgs, errc := make(chan events.Message, 16), make(chan error, 1)
	if f.down {
		errc <- errFakeDown
		close(msgs)
		return msgs, errc
	}
	f.evs, f.evErr = msgs, errc
	return msgs, errc
}

// breakStream ends the event stream as a Docker restart would.
func (f *fakeDocker) breakStream() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = true
	if f.evErr != nil {
		f.evErr <- io.EOF
		close(f.evs)
		f.evs, f.evErr = nil, nil
	}
}

func (f *fakeDocker) Calls() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return uint64(len(f.calls))
}

func (f *fakeDocker) ContainerCreate(_ context.Context, name string, cfg *container.Config, host *container.HostConfig, _ *network.NetworkingConfig) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("create %s", name); err != nil {
		return "", err
	}
	if f.createErr != nil {
		return "", f.createErr
	}
	if _, ok := f.images[cfg.Image]; !ok {
		return "", notFound("image: " + cfg.Image)
	}
	for _, c := range f.containers {
		if c.name == name {
			return "", &dockerio.Error{StatusCode: 409, Message: "Conflict. The container name is already in use"}
		}
	}
	f.seq++
	id := fmt.Sprintf("%064d", f.seq)
	fc := &fakeContainer{name: name, cfg: *cfg, state: container.State{Status: container.StateCreated}, at: f.now().Add(time.Duration(f.seq) * time.Microsecond)}
	if host != nil {
		fc.host = *host
	}
	f.containers[id] = fc
	return id, nil
}

func (f *fakeDocker) find(idOrName string) (string, *fakeContainer) {
	if c, ok := f.containers[idOrName]; ok {
		return idOrName, c
	}
	for id, c := range f.containers {
		if c.name == idOrName {
			return id, c
		}
	}
	return "", nil
}

func (f *fakeDocker) ContainerStart(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("start %s", id); err != nil {
		return err
	}
	_, c := f.find(id)
	if c == nil {
		return notFound("container")
	}
	c.state = container.State{Status: container.StateRunning, Running: true, Pid: 42, StartedAt: f.now().Format(time.RFC3339Nano)}
	return nil
}

// exit makes a running container exit with code.
func (f *fakeDocker) exit(id string, code int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.containers[id]
	c.state.Running, c.state.Status, c.state.ExitCode, c.state.Pid = false, container.StateExited, code, 0
	c.state.FinishedAt = f.now().Format(time.RFC3339Nano)
}

func (f *fakeDocker) ContainerStop(_ context.Context, id string, timeout *int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := -1
	if timeout != nil {
		t = *timeout
	}
	if err := f.call("stop %s %d", id, t); err != nil {
		return err
	}
	_, c := f.find(id)
	if c == nil {
		return notFound("container")
	}
	if c.state.Running {
		c.state.Running, c.state.Status, c.state.ExitCode = false, container.StateExited, 143
		c.state.FinishedAt = f.now().Format(time.RFC3339Nano)
	}
	return nil
}

func (f *fakeDocker) ContainerRemove(_ context.Context, id string, force, _ bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("remove %s", id); err != nil {
		return err
	}
	key, c := f.find(id)
	if c == nil {
		return notFound("container")
	}
	if c.state.Running && !force {
		return &dockerio.Error{StatusCode: 409, Message: "container is running"}
	}
	delete(f.containers, key)
	return nil
}

func (f *fakeDocker) inspect(id string, c *fakeContainer) container.InspectResponse {
	cfg := c.cfg
	st := c.state
	host := c.host
	ins := container.InspectResponse{
		ContainerJSONBase: &container.ContainerJSONBase{ID: id, Name: "/" + c.name, Created: c.at.UTC().Format(time.RFC3339Nano),
			State: &st, Image: "sha256:" + cfg.Image, HostConfig: &host},
		Config:          &cfg,
		NetworkSettings: &container.NetworkSettings{Networks: map[string]*network.EndpointSettings{}},
	}
	if st.Running && !host.NetworkMode.IsContainer() {
		ins.NetworkSettings.Networks[string(host.NetworkMode)] = &network.EndpointSettings{IPAddress: "10.0.0." + strconv.Itoa(len(id)%200+2)}
	}
	return ins
}

func (f *fakeDocker) ContainerInspect(_ context.Context, id string) (container.InspectResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("inspect %s", id); err != nil {
		return container.InspectResponse{}, err
	}
	key, c := f.find(id)
	if c == nil {
		return container.InspectResponse{}, notFound("container")
	}
	return f.inspect(key, c), nil
}

func matchLabels(labels map[string]string, filters []string) bool {
	for _, fl := range filters {
		k, v, hasV := strings.Cut(fl, "=")
		got, ok := labels[k]
		if !ok || (hasV && got != v) {
			return false
		}
	}
	return true
}

func (f *fakeDocker) ContainerList(_ context.Context, all bool, filters ...string) ([]container.Summary, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("list %v", filters); err != nil {
		return nil, err
	}
	var out []container.Summary
	for id, c := range f.containers {
		if (!all && !c.state.Running) || !matchLabels(c.cfg.Labels, filters) {
			continue
		}
		out = append(out, container.Summary{ID: id, Names: []string{"/" + c.name}, Labels: c.cfg.Labels, State: c.state.Status, Created: c.at.Unix()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// byLabels returns the containers carrying every label filter, oldest first.
func (f *fakeDocker) byLabels(filters ...string) []container.InspectResponse {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []container.InspectResponse
	for id, c := range f.containers {
		if matchLabels(c.cfg.Labels, filters) {
			out = append(out, f.inspect(id, c))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func (f *fakeDocker) ContainerResize(context.Context, string, uint, uint) error { return nil }

func (f *fakeDocker) ContainerAttach(context.Context, string, dockerio.AttachOptions) (*dockerio.HijackedConn, error) {
	return nil, errors.New("not in the fake")
}

func (f *fakeDocker) ContainerLogs(context.Context, string, dockerio.LogsOptions) (io.ReadCloser, error) {
	return nil, errors.New("not in the fake")
}

func (f *fakeDocker) ImageInspect(_ context.Context, ref string) (image.InspectResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("image inspect %s", ref); err != nil {
		return image.InspectResponse{}, err
	}
	img, ok := f.images[ref]
	if !ok {
		return image.InspectResponse{}, notFound("image: " + ref)
	}
	return img, nil
}

func (f *fakeDocker) addImage(ref string) {
	f.mu.Lock()
	f.images[ref] = image.InspectResponse{ID: "sha256:" + ref, RepoTags: []string{ref}, Config: &dockerspec.DockerOCIImageConfig{}}
	f.mu.Unlock()
}

func (f *fakeDocker) ImagePull(_ context.Context, ref, auth string, _ func(dockerio.JSONMessage)) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("pull %s auth=%s", ref, auth); err != nil {
		return err
	}
	if f.pullErr != nil {
		return f.pullErr
	}
	f.images[ref] = image.InspectResponse{ID: "sha256:" + ref, RepoTags: []string{ref}, RepoDigests: []string{ref + "@sha256:abc"}, Config: &dockerspec.DockerOCIImageConfig{}}
	return nil
}

func (f *fakeDocker) ImageImport(_ context.Context, src io.Reader, repo, tag string, changes []string) error {
	b, err := io.ReadAll(src)
	f.mu.Lock()
	defer f.mu.Unlock()
	if err != nil {
		return err
	}
	if err := f.call("import %s:%s %d bytes %v", repo, tag, len(b), changes); err != nil {
		return err
	}
	f.images[repo+":"+tag] = image.InspectResponse{ID: "sha256:pause", Config: &dockerspec.DockerOCIImageConfig{}}
	return nil
}

func (f *fakeDocker) ImageRemove(_ context.Context, ref string, _ bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("image remove %s", ref); err != nil {
		return err
	}
	if _, ok := f.images[ref]; !ok {
		return notFound("image")
	}
	delete(f.images, ref)
	return nil
}

func (f *fakeDocker) NetworkCreate(_ context.Context, name string, opts network.CreateOptions) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("network create %s", name); err != nil {
		return "", err
	}
	f.seq++
	id := "net" + strconv.Itoa(f.seq)
	f.networks[id] = network.Inspect{ID: id, Name: name, Labels: opts.Labels, Created: f.now()}
	return id, nil
}

func (f *fakeDocker) NetworkInspect(_ context.Context, idOrName string) (network.Inspect, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("network inspect %s", idOrName); err != nil {
		return network.Inspect{}, err
	}
	for id, n := range f.networks {
		if id == idOrName || n.Name == idOrName {
			return n, nil
		}
	}
	return network.Inspect{}, notFound("network")
}

func (f *fakeDocker) NetworkList(_ context.Context, filters ...string) ([]network.Summary, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("network list %v", filters); err != nil {
		return nil, err
	}
	var out []network.Summary
	for _, n := range f.networks {
		if matchLabels(n.Labels, filters) {
			out = append(out, n)
		}
	}
	return out, nil
}

func (f *fakeDocker) NetworkRemove(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("network remove %s", id); err != nil {
		return err
	}
	if _, ok := f.networks[id]; !ok {
		return notFound("network")
	}
	delete(f.networks, id)
	return nil
}

func (f *fakeDocker) hasNetwork(name string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, n := range f.networks {
		if n.Name == name {
			return true
		}
	}
	return false
}

func (f *fakeDocker) VolumeList(_ context.Context, filters ...string) ([]*volume.Volume, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*volume.Volume
	for _, v := range f.volumes {
		if matchLabels(v.Labels, filters) {
			out = append(out, v)
		}
	}
	return out, f.call("volume list %v", filters)
}

func (f *fakeDocker) VolumeRemove(_ context.Context, name string, _ bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("volume remove %s", name); err != nil {
		return err
	}
	delete(f.volumes, name)
	return nil
}

func (f *fakeDocker) ExecCreate(context.Context, string, container.ExecOptions) (string, error) {
	return "", errors.New("not in the fake")
}

func (f *fakeDocker) ExecStart(context.Context, string, bool) (*dockerio.HijackedConn, error) {
	return nil, errors.New("not in the fake")
}

func (f *fakeDocker) ExecResize(context.Context, string, uint, uint) error { return nil }

func (f *fakeDocker) ExecInspect(context.Context, string) (container.ExecInspect, error) {
	return container.ExecInspect{}, errors.New("not in the fake")
}

// managedLabel filters k2d's containers of a pod uid.
func uidLabel(uid string) string { return translate.LabelPodUID + "=" + uid }
