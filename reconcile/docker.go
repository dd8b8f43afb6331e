package reconcile

import (
	"context"
	"io"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/system"
	"github.com/docker/docker/api/types/volume"
	"github.com/k2d-project/k2d/dockerio"
)

// docker is the part of the Docker Engine API the controllers use: *dockerio.Client in
// production, a fake in unit tests, so that decisions are tested without an engine.
type docker interface {
	Ping(ctx context.Context) error
	Info(ctx context.Context) (system.Info, error)
	Version(ctx context.Context) (types.Version, error)
	Events(ctx context.Context, since string) (<-chan events.Message, <-chan error)
	Calls() uint64

	ContainerCreate(ctx context.Context, name string, cfg *container.Config, host *container.HostConfig, netcfg *network.NetworkingConfig) (string, error)
	ContainerStart(ctx context.Context, id string) error
	ContainerStop(ctx context.Context, id string, timeoutSeconds *int) error
	ContainerRemove(ctx context.Context, id string, force, removeVolumes bool) error
	ContainerInspect(ctx context.Context, id string) (container.InspectResponse, error)
	ContainerList(ctx context.Context, all bool, labelFilters ...string) ([]container.Summary, error)
	ContainerResize(ctx context.Context, id string, h, w uint) error
	ContainerAttach(ctx context.Context, id string, o dockerio.AttachOptions) (*dockerio.HijackedConn, error)
	ContainerLogs(ctx context.Context, id string, o dockerio.LogsOptions) (io.ReadCloser, error)

	ImageInspect(ctx context.Context, ref string) (image.InspectResponse, error)
	ImagePull(ctx context.Context, ref string, registryAuthB64 string, progress func(dockerio.JSONMessage)) error
	ImageImport(ctx context.Context, src io.Reader, repo, tag string, changes []string) error
	ImageRemove(ctx context.Context, ref string, force bool) error

	NetworkCreate(ctx context.Context, name string, opts network.CreateOptions) (string, error)
	NetworkInspect(ctx context.Context, idOrName string) (network.Inspect, error)
	NetworkList(ctx context.Context, labelFilters ...string) ([]network.Summary, error)
	NetworkRemove(ctx context.Context, id string) error

	VolumeList(ctx context.Context, labelFilters ...string) ([]*volume.Volume, error)
	VolumeRemove(ctx context.Context, name string, force bool) error

	ExecCreate(ctx context.Context, containerID string, cfg container.ExecOptions) (string, error)
	ExecStart(ctx context.Context, execID string, tty bool) (*dockerio.HijackedConn, error)
	ExecResize(ctx context.Context, execID string, h, w uint) error
	ExecInspect(ctx context.Context, execID string) (container.ExecInspect, error)
}

var _ docker = (*dockerio.Client)(nil)

func isNotFound(err error) bool { return dockerio.IsNotFound(err) }
func isConflict(err error) bool { return dockerio.IsConflict(err) }
