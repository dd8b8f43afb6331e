package dockerio

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
)

// Integration tests against the real engine at /var/run/docker.sock. Everything they create
// carries testLabel and is removed at the end, also after a failure.

const (
	dockerSock = "/var/run/docker.sock"
	testImage  = "k2d-test/busybox:1"
	testLabel  = "io.k2d.test=dockerio"
)

var testLabels = map[string]string{"io.k2d.test": "dockerio"}

// slow bounds each wait for the engine. The engine is shared with other work and can be
// slow under load; these bounds only turn a hang into a failure.
const slow = 45 * time.Second

func integrationClient(t *testing.T) (*Client, context.Context) {
	t.Helper()
	if _, err := os.Stat(dockerSock); err != nil {
		t.Skipf("no docker engine: %v", err)
	}
	c, err := New("unix://" + dockerSock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	if err := c.Negotiate(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cleanup(t, c)
		c.Close()
	})
	return c, ctx
}

// cleanup removes every container, network and volume carrying testLabel.
func cleanup(t *testing.T, c *Client) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	list, err := c.ContainerList(ctx, true, testLabel)
	if err != nil {
		t.Errorf("cleanup: %v", err)
	}
	for _, ct := range list {
		if err := c.ContainerRemove(ctx, ct.ID, true, true); err != nil && !IsNotFound(err) {
			t.Errorf("cleanup: %v", err)
		}
	}
	nets, _ := c.NetworkList(ctx, testLabel)
	for _, n := range nets {
		if err := c.NetworkRemove(ctx, n.ID); err != nil && !IsNotFound(err) {
			t.Errorf("cleanup: %v", err)
		}
	}
	vols, _ := c.VolumeList(ctx, testLabel)
	for _, v := range vols {
		if err := c.VolumeRemove(ctx, v.Name, true); err != nil && !IsNotFound(err) {
			t.Errorf("cleanup: %v", err)
		}
	}
}

func uniqueName(prefix string) string {
	return prefix + "-" + strconv.FormatInt(time.Now().UnixNano()%1e12, 36)
}

// eventLog collects events in the background so that tests can wait for one.
type eventLog struct {
	mu   sync.Mutex
	msgs []events.Message
	cond chan struct{} // closed and replaced on every event
	err  error
}

func watchEvents(ctx context.Context, c *Client) *eventLog {
	l := &eventLog{cond: make(chan struct{})}
	msgs, errc := c.EventsFiltered(ctx, "", Filters{"label": {testLabel}})
	go func() {
		for m := range msgs {
			l.mu.Lock()
			l.msgs = append(l.msgs, m)
			close(l.cond)
			l.cond = make(chan struct{})
			l.mu.Unlock()
		}
		err := <-errc
		l.mu.Lock()
		l.err = err
		close(l.cond)
		l.mu.Unlock()
	}()
	return l
}

func (l *eventLog) waitFor(t *testing.T, id string, action events.Action, timeout time.Duration) events.Message {
	t.Helper()
	deadline := time.After(timeout)
	for {
		l.mu.Lock()
		for _, m := range l.msgs {
			if m.Actor.ID == id && m.Action == action {
				l.mu.Unlock()
				return m
			}
		}
		cond, err := l.cond, l.err
		l.mu.Unlock()
		if err != nil {
			t.Fatalf("event stream ended before %s of %.12s: %v", action, id, err)
		}
		select {
		case <-cond:
		case <-deadline:
			t.Fatalf("no %s event for %.12s within %v", action, id, timeout)
		}
	}
}

func TestIntegrationEngine(t *testing.T) {
	c, ctx := integrationClient(t)
	t.Logf("API version %s", c.APIVersion())
	if err := c.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	info, err := c.Info(ctx)
	if err != nil || info.ID == "" || info.NCPU == 0 || info.MemTotal == 0 {
		t.Fatalf("Info: %+v %v", info, err)
	}
	v, err := c.Version(ctx)
	if err != nil || v.APIVersion == "" {
		t.Fatalf("Version: %+v %v", v, err)
	}
	if _, err := c.ContainerInspect(ctx, "k2d-dockerio-no-such-container"); !IsNotFound(err) {
		t.Fatalf("missing container: %v", err)
	}
	if _, err := c.ImageInspect(ctx, "k2d-test/no-such-image:0"); !IsNotFound(err) {
		t.Fatalf("missing image: %v", err)
	}
	if _, err := c.NetworkInspect(ctx, "k2d-dockerio-no-such-network"); !IsNotFound(err) {
		t.Fatalf("missing network: %v", err)
	}
	if _, err := c.VolumeInspect(ctx, "k2d-dockerio-no-such-volume"); !IsNotFound(err) {
		t.Fatalf("missing volume: %v", err)
	}
	img, err := c.ImageInspect(ctx, testImage)
	if err != nil || img.ID == "" {
		t.Fatalf("image %s: %+v %v", testImage, img, err)
	}
	before := c.Calls()
	c.ContainerList(ctx, false, testLabel)
	if c.Calls() != before+1 {
		t.Fatalf("Calls went from %d to %d for one request", before, c.Calls())
	}
}

func TestIntegrationContainers(t *testing.T) {
	c, ctx := integrationClient(t)
	evs := watchEvents(ctx, c)

	// Network and volume.
	netName := uniqueName("k2d-dio-net")
	netID, err := c.NetworkCreate(ctx, netName, network.CreateOptions{Driver: "bridge", Labels: testLabels})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.NetworkCreate(ctx, netName, network.CreateOptions{Driver: "bridge", Labels: testLabels}); !IsConflict(err) {
		t.Fatalf("duplicate network name: %v", err)
	}
	nets, err := c.NetworkList(ctx, testLabel)
	if err != nil || !containsNetwork(nets, netID) {
		t.Fatalf("NetworkList: %v %v", nets, err)
	}
	volName := uniqueName("k2d-dio-vol")
	vol, err := c.VolumeCreate(ctx, volume.CreateOptions{Name: volName, Labels: testLabels})
	if err != nil || vol.Name != volName {
		t.Fatalf("VolumeCreate: %+v %v", vol, err)
	}
	if v, err := c.VolumeInspect(ctx, volName); err != nil || v.Labels["io.k2d.test"] != "dockerio" {
		t.Fatalf("VolumeInspect: %+v %v", v, err)
	}
	vols, err := c.VolumeList(ctx, testLabel)
	if err != nil || len(vols) == 0 {
		t.Fatalf("VolumeList: %v %v", vols, err)
	}

	// A long-running container on the network with the volume.
	script := `echo out1; echo err1 >&2; echo vol > /data/f; i=0; while [ $i -lt 3 ]; do echo tick$i; i=$((i+1)); sleep 0.2; done; exec sleep 3600`
	main, err := c.ContainerCreate(ctx, uniqueName("k2d-dio-main"),
		&container.Config{Image: testImage, Cmd: []string{"sh", "-c", script}, Labels: testLabels},
		&container.HostConfig{
			NetworkMode: container.NetworkMode(netName),
			Mounts:      []mount.Mount{{Type: mount.TypeVolume, Source: volName, Target: "/data"}},
		},
		&network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{netName: {Aliases: []string{"web"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.ContainerStart(ctx, main); err != nil {
		t.Fatal(err)
	}
	if err := c.ContainerStart(ctx, main); err != nil {
		t.Fatalf("second start: %v", err)
	}
	evs.waitFor(t, main, events.ActionStart, slow)
	ci, err := c.ContainerInspect(ctx, main)
	if err != nil || ci.State == nil || !ci.State.Running || ci.Config.Labels["io.k2d.test"] != "dockerio" {
		t.Fatalf("ContainerInspect: %+v %v", ci.State, err)
	}
	if ep := ci.NetworkSettings.Networks[netName]; ep == nil || ep.IPAddress == "" {
		t.Fatalf("no IP on %s: %+v", netName, ci.NetworkSettings.Networks)
	}
	if len(ci.Mounts) != 1 || ci.Mounts[0].Name != volName {
		t.Fatalf("mounts %+v", ci.Mounts)
	}
	if ni, err := c.NetworkInspect(ctx, netID); err != nil || ni.Containers[main].IPv4Address == "" {
		t.Fatalf("NetworkInspect: %+v %v", ni.Containers, err)
	}
	list, err := c.ContainerList(ctx, false, testLabel)
	if err != nil || !containsContainer(list, main) {
		t.Fatalf("ContainerList: %v", err)
	}

	t.Run("logs", func(t *testing.T) { testLogs(t, ctx, c, main) })
	t.Run("exec", func(t *testing.T) { testExec(t, ctx, c, main) })
	t.Run("exec-tty", func(t *testing.T) { testExecTTY(t, ctx, c, main) })
	t.Run("attach", func(t *testing.T) { testAttach(t, ctx, c, evs, netName) })
	t.Run("tty-container", func(t *testing.T) { testTTYContainer(t, ctx, c, netName) })
	if err := c.NetworkRemove(ctx, netID); !errors.Is(err, ErrForbidden) {
		t.Fatalf("remove of a network in use: %v", err)
	}

	// Stop, wait, kill and remove.
	one := 1
	if err := c.ContainerStop(ctx, main, &one); err != nil {
		t.Fatal(err)
	}
	if err := c.ContainerStop(ctx, main, &one); err != nil {
		t.Fatalf("second stop: %v", err)
	}
	if code, err := c.ContainerWait(ctx, main, "not-running"); err != nil || code == 0 {
		t.Fatalf("ContainerWait after stop: %d %v", code, err)
	}
	evs.waitFor(t, main, events.ActionDie, slow)
	if err := c.ContainerKill(ctx, main, "SIGKILL"); !IsConflict(err) {
		t.Fatalf("kill of a stopped container: %v", err)
	}
	if err := c.ContainerRemove(ctx, main, false, false); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ContainerInspect(ctx, main); !IsNotFound(err) {
		t.Fatalf("inspect after remove: %v", err)
	}
	if err := c.ContainerRemove(ctx, main, true, false); !IsNotFound(err) {
		t.Fatalf("second remove: %v", err)
	}
	if err := c.NetworkRemove(ctx, netID); err != nil {
		t.Fatal(err)
	}
	if err := c.VolumeRemove(ctx, volName, false); err != nil {
		t.Fatal(err)
	}
	if _, err := c.VolumeInspect(ctx, volName); !IsNotFound(err) {
		t.Fatalf("volume after remove: %v", err)
	}
}

var tsLine = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z (.*)$`)

func testLogs(t *testing.T, ctx context.Context, c *Client, id string) {
	// Follow with timestamps: read until the last tick, then cancel.
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rc, err := c.ContainerLogs(lctx, id, LogsOptions{Follow: true, Timestamps: true})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	outR, outW := io.Pipe()
	var stderr lockedBuffer
	demuxErr := make(chan error, 1)
	go func() {
		err := Demux(rc, outW, &stderr)
		outW.CloseWithError(err)
		demuxErr <- err
	}()
	sc := bufio.NewScanner(outR)
	var lines []string
	for sc.Scan() {
		m := tsLine.FindStringSubmatch(sc.Text())
		if m == nil {
			t.Fatalf("line without timestamp: %q", sc.Text())
		}
		lines = append(lines, m[1])
		if m[1] == "tick2" {
			break
		}
	}
	if strings.Join(lines, ",") != "out1,tick0,tick1,tick2" {
		t.Fatalf("stdout lines %q (%v)", lines, sc.Err())
	}
	if !strings.Contains(stderr.String(), " err1\n") {
		t.Fatalf("stderr %q", stderr.String())
	}
	cancel()
	go io.Copy(io.Discard, outR)
	select {
	case err := <-demuxErr:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("follow after cancel: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("cancel did not end the log stream")
	}

	// Tail without follow ends by itself.
	rc2, err := c.ContainerLogs(ctx, id, LogsOptions{Stdout: true, Tail: "2"})
	if err != nil {
		t.Fatal(err)
	}
	defer rc2.Close()
	var out bytes.Buffer
	if err := Demux(rc2, &out, nil); err != nil || out.String() != "tick1\ntick2\n" {
		t.Fatalf("tail: %q %v", out.String(), err)
	}

	// Since the future: nothing.
	rc3, err := c.ContainerLogs(ctx, id, LogsOptions{Since: time.Now().Add(time.Hour).Format(time.RFC3339)})
	if err != nil {
		t.Fatal(err)
	}
	defer rc3.Close()
	out.Reset()
	if err := Demux(rc3, &out, &out); err != nil || out.Len() != 0 {
		t.Fatalf("since future: %q %v", out.String(), err)
	}
}

func testExec(t *testing.T, ctx context.Context, c *Client, id string) {
	execID, err := c.ExecCreate(ctx, id, container.ExecOptions{
		Cmd: []string{"cat"}, AttachStdin: true, AttachStdout: true, AttachStderr: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	hc, err := c.ExecStart(ctx, execID, false)
	if err != nil {
		t.Fatal(err)
	}
	defer hc.Close()
	if _, err := io.WriteString(hc, "hello\nworld\n"); err != nil {
		t.Fatal(err)
	}
	if err := hc.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if err := Demux(hc, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if stdout.String() != "hello\nworld\n" || stderr.Len() != 0 {
		t.Fatalf("stdout %q stderr %q", stdout.String(), stderr.String())
	}
	if code := waitExec(t, ctx, c, execID); code != 0 {
		t.Fatalf("cat exit code %d", code)
	}

	// A failing command: stderr and its exit code.
	execID, err = c.ExecCreate(ctx, id, container.ExecOptions{
		Cmd: []string{"sh", "-c", "cat /data/f; echo bad >&2; exit 3"}, AttachStdout: true, AttachStderr: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	hc2, err := c.ExecStart(ctx, execID, false)
	if err != nil {
		t.Fatal(err)
	}
	defer hc2.Close()
	stdout.Reset()
	stderr.Reset()
	if err := Demux(hc2, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if stdout.String() != "vol\n" || stderr.String() != "bad\n" {
		t.Fatalf("stdout %q stderr %q", stdout.String(), stderr.String())
	}
	if code := waitExec(t, ctx, c, execID); code != 3 {
		t.Fatalf("exit code %d, want 3", code)
	}
	if _, err := c.ExecInspect(ctx, "no-such-exec"); !IsNotFound(err) {
		t.Fatalf("missing exec: %v", err)
	}
}

func testExecTTY(t *testing.T, ctx context.Context, c *Client, id string) {
	execID, err := c.ExecCreate(ctx, id, container.ExecOptions{
		Cmd: []string{"cat"}, Tty: true, AttachStdin: true, AttachStdout: true, AttachStderr: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	hc, err := c.ExecStart(ctx, execID, true)
	if err != nil {
		t.Fatal(err)
	}
	defer hc.Close()
	if err := c.ExecResize(ctx, execID, 40, 120); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(hc, "ping\n"); err != nil {
		t.Fatal(err)
	}
	// The TTY echoes the input and cat repeats it: raw bytes, CRLF line ends, no frames.
	var got bytes.Buffer
	buf := make([]byte, 256)
	hc.SetReadDeadline(time.Now().Add(slow))
	for strings.Count(got.String(), "ping\r\n") < 2 {
		n, err := hc.Read(buf)
		got.Write(buf[:n])
		if err != nil {
			t.Fatalf("tty output %q: %v", got.String(), err)
		}
	}
	// A TTY has no stdin EOF of its own: the engine keeps the terminal open when the client
	// half-closes. ^D (EOT) is how a terminal says end-of-input, then the half-close.
	if _, err := hc.Write([]byte{4}); err != nil {
		t.Fatal(err)
	}
	if err := hc.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, hc); err != nil {
		t.Fatalf("tty stream end: %v", err)
	}
	if code := waitExec(t, ctx, c, execID); code != 0 {
		t.Fatalf("tty cat exit code %d", code)
	}
}

func testAttach(t *testing.T, ctx context.Context, c *Client, evs *eventLog, netName string) {
	id, err := c.ContainerCreate(ctx, uniqueName("k2d-dio-attach"),
		&container.Config{
			Image: testImage, Cmd: []string{"cat"}, Labels: testLabels,
			OpenStdin: true, StdinOnce: true, AttachStdin: true, AttachStdout: true, AttachStderr: true,
		}, &container.HostConfig{NetworkMode: container.NetworkMode(netName)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	hc, err := c.ContainerAttach(ctx, id, AttachOptions{Stdin: true, Stdout: true, Stderr: true, Stream: true})
	if err != nil {
		t.Fatal(err)
	}
	defer hc.Close()
	if err := c.ContainerStart(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(hc, "attached\n"); err != nil {
		t.Fatal(err)
	}
	// StdinOnce: the engine closes the container's stdin when the client half-closes.
	if err := hc.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	var stdout bytes.Buffer
	if err := Demux(hc, &stdout, io.Discard); err != nil || stdout.String() != "attached\n" {
		t.Fatalf("attach stdout %q %v", stdout.String(), err)
	}
	if code, err := c.ContainerWait(ctx, id, "not-running"); err != nil || code != 0 {
		t.Fatalf("wait: %d %v", code, err)
	}
	evs.waitFor(t, id, events.ActionStart, slow)
	die := evs.waitFor(t, id, events.ActionDie, slow)
	if die.Actor.Attributes["exitCode"] != "0" || die.Actor.Attributes["io.k2d.test"] != "dockerio" {
		t.Fatalf("die event %+v", die)
	}
	if err := c.ContainerRemove(ctx, id, false, true); err != nil {
		t.Fatal(err)
	}
	evs.waitFor(t, id, events.ActionDestroy, slow)
}

func testTTYContainer(t *testing.T, ctx context.Context, c *Client, netName string) {
	// A second network to connect to and disconnect from. (This engine has no default
	// bridge, so every container starts on the test network.)
	netID, err := c.NetworkCreate(ctx, uniqueName("k2d-dio-net2"), network.CreateOptions{Driver: "bridge", Labels: testLabels})
	if err != nil {
		t.Fatal(err)
	}
	defer c.NetworkRemove(ctx, netID)
	id, err := c.ContainerCreate(ctx, uniqueName("k2d-dio-tty"),
		&container.Config{Image: testImage, Cmd: []string{"sh", "-c", "echo ttyout; exec sleep 3600"}, Tty: true, Labels: testLabels},
		&container.HostConfig{NetworkMode: container.NetworkMode(netName)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.ContainerStart(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := c.NetworkConnect(ctx, netID, id, &network.EndpointSettings{Aliases: []string{"tty-alias"}}); err != nil {
		t.Fatal(err)
	}
	ci, err := c.ContainerInspect(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	var joined *network.EndpointSettings
	for _, ep := range ci.NetworkSettings.Networks {
		if ep.NetworkID == netID {
			joined = ep
		}
	}
	if joined == nil || joined.IPAddress == "" || !containsString(joined.Aliases, "tty-alias") {
		t.Fatalf("after NetworkConnect: %+v", joined)
	}
	if err := c.NetworkDisconnect(ctx, netID, id, false); err != nil {
		t.Fatal(err)
	}
	if ni, err := c.NetworkInspect(ctx, netID); err != nil || ni.Containers[id].Name != "" {
		t.Fatalf("after NetworkDisconnect: %+v %v", ni.Containers, err)
	}
	if err := c.ContainerResize(ctx, id, 30, 100); err != nil {
		t.Fatal(err)
	}
	// TTY logs are raw: no frame headers.
	deadline := time.Now().Add(slow)
	for {
		rc, err := c.ContainerLogs(ctx, id, LogsOptions{})
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if string(b) == "ttyout\r\n" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("tty logs %q", b)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Kill with an explicit signal, wait for the exit code it causes.
	waitCh := make(chan int64, 1)
	go func() {
		// not-running rather than next-exit: the kill below may beat the wait's registration.
		code, err := c.ContainerWait(ctx, id, "not-running")
		if err != nil {
			t.Error(err)
		}
		waitCh <- code
	}()
	if err := c.ContainerKill(ctx, id, "SIGKILL"); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-waitCh:
		if code != 137 {
			t.Fatalf("exit code after SIGKILL %d", code)
		}
	case <-time.After(slow):
		t.Fatal("wait did not return")
	}
	if err := c.ContainerRemove(ctx, id, true, true); err != nil {
		t.Fatal(err)
	}
}

// waitExec polls ExecInspect until the exec has finished: its exit code is recorded a moment
// after the stream ends.
func waitExec(t *testing.T, ctx context.Context, c *Client, execID string) int {
	t.Helper()
	for i := 0; ; i++ {
		ei, err := c.ExecInspect(ctx, execID)
		if err != nil {
			t.Fatal(err)
		}
		if !ei.Running {
			return ei.ExitCode
		}
		if i == int(slow/(50*time.Millisecond)) {
			t.Fatalf("exec %s still running", execID)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestIntegrationImageImport(t *testing.T) {
	c, ctx := integrationClient(t)
	var tarball bytes.Buffer
	tw := tar.NewWriter(&tarball)
	content := []byte("k2d dockerio import test\n")
	if err := tw.WriteHeader(&tar.Header{Name: "hello.txt", Mode: 0o644, Size: int64(len(content)), ModTime: time.Unix(1700000000, 0)}); err != nil {
		t.Fatal(err)
	}
	tw.Write(content)
	tw.Close()

	repo, tag := "k2d-test/dockerio-import", uniqueName("t")
	ref := repo + ":" + tag
	t.Cleanup(func() { c.ImageRemove(context.Background(), ref, true) })
	err := c.ImageImport(ctx, &tarball, repo, tag, []string{`CMD ["/hello.txt"]`, "LABEL io.k2d.test=dockerio"})
	if err != nil {
		t.Fatal(err)
	}
	img, err := c.ImageInspect(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if img.Config == nil || len(img.Config.Cmd) != 1 || img.Config.Cmd[0] != "/hello.txt" || img.Config.Labels["io.k2d.test"] != "dockerio" {
		t.Fatalf("imported image config %+v", img.Config)
	}
	if !containsString(img.RepoTags, ref) {
		t.Fatalf("RepoTags %v", img.RepoTags)
	}
	if err := c.ImageRemove(ctx, ref, false); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ImageInspect(ctx, ref); !IsNotFound(err) {
		t.Fatalf("inspect after remove: %v", err)
	}
	if err := c.ImageRemove(ctx, ref, false); !IsNotFound(err) {
		t.Fatalf("second remove: %v", err)
	}
	// A corrupt archive is reported with the engine's message.
	err = c.ImageImport(ctx, strings.NewReader(strings.Repeat("not a tar", 100)), repo, tag+"x", nil)
	if err == nil {
		c.ImageRemove(ctx, ref+"x", true)
		t.Fatal("imported garbage")
	}
	t.Logf("garbage import: %v", err)
}

func TestIntegrationEventsCancel(t *testing.T) {
	c, ctx := integrationClient(t)
	ectx, cancel := context.WithCancel(ctx)
	msgs, errc := c.Events(ectx, "")
	time.Sleep(100 * time.Millisecond)
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("events did not end on cancel")
	}
	for range msgs {
	}
}

func containsNetwork(list []network.Summary, id string) bool {
	for _, n := range list {
		if n.ID == id {
			return true
		}
	}
	return false
}

func containsContainer(list []container.Summary, id string) bool {
	for _, c := range list {
		if c.ID == id {
			return true
		}
	}
	return false
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
