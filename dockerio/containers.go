package dockerio

import (
	"context"
	"fmt"
	"io"
	"strconv"

	"encoding/json"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
)

// ContainerCreate creates a container (POST /containers/create) and returns its ID. name may
// be empty for an engine-chosen name.
func (c *Client) ContainerCreate(ctx context.Context, name string, cfg *container.Config, host *container.HostConfig, netcfg *network.NetworkingConfig) (string, error) {
	if cfg == nil {
		cfg = &container.Config{}
	}
	var q query
	if name != "" {
		q = q.add("name", name)
	}
	body := container.CreateRequest{Config: cfg, HostConfig: host, NetworkingConfig: netcfg}
	var resp container.CreateResponse
	if err := c.do(ctx, "POST", "/containers/create", q, &body, &resp); err != nil {
		return "", fmt.Errorf("cannot create container %q: %w", name, err)
	}
	return resp.ID, nil
}

// ContainerStart starts a container. Starting a running container is not an error.
func (c *Client) ContainerStart(ctx context.Context, id string) error {
	err := c.do(ctx, "POST", "/containers/"+escapePath(id, false)+"/start", nil, nil, nil)
	if err != nil && !IsNotModified(err) {
		return fmt.Errorf("cannot start container %q: %w", id, err)
	}
	return nil
}

// ContainerStop stops a container, killing it after timeoutSeconds (nil: the container's
// own StopTimeout, or the engine's default of 10 s). Stopping a stopped container is not an
// error. The call returns once the container has stopped, so ctx should allow for the
// timeout.
func (c *Client) ContainerStop(ctx context.Context, id string, timeoutSeconds *int) error {
	var q query
	if timeoutSeconds != nil {
		q = q.add("t", strconv.Itoa(*timeoutSeconds))
	}
	err := c.do(ctx, "POST", "/containers/"+escapePath(id, false)+"/stop", q, nil, nil)
	if err != nil && !IsNotModified(err) {
		return fmt.Errorf("cannot stop container %q: %w", id, err)
	}
	return nil
}

// ContainerKill sends signal ("SIGKILL", "TERM", "9"; "" means SIGKILL) to a container.
func (c *Client) ContainerKill(ctx context.Context, id, signal string) error {
	var q query
	if signal != "" {
		q = q.add("signal", signal)
	}
	if err := c.do(ctx, "POST", "/containers/"+escapePath(id, false)+"/kill", q, nil, nil); err != nil {
		return fmt.Errorf("cannot kill container %q: %w", id, err)
	}
	return nil
}

// ContainerRemove removes a container; force kills it first if running, removeVolumes also
// removes its anonymous volumes.
func (c *Client) ContainerRemove(ctx context.Context, id string, force, removeVolumes bool) error {
	q := query(nil).bool("force", force).bool("v", removeVolumes)
	if err := c.do(ctx, "DELETE", "/containers/"+escapePath(id, false), q, nil, nil); err != nil {
		return fmt.Errorf("cannot remove container %q: %w", id, err)
	}
	return nil
}

// ContainerInspect returns a container's full state (GET /containers/{id}/json).
func (c *Client) ContainerInspect(ctx context.Context, id string) (container.InspectResponse, error) {
	var r container.InspectResponse
	if err := c.do(ctx, "GET", "/containers/"+escapePath(id, false)+"/json", nil, nil, &r); err != nil {
		return container.InspectResponse{}, fmt.Errorf("cannot inspect container %q: %w", id, err)
	}
	return r, nil
}

// ContainerList lists containers (all: stopped ones too) carrying every given label filter
// ("key=value" or "key").
func (c *Client) ContainerList(ctx context.Context, all bool, labelFilters ...string) ([]container.Summary, error) {
	return c.ContainerListFiltered(ctx, all, labelFilter(labelFilters))
}

// ContainerListFiltered lists containers matching arbitrary filters ("label", "name",
// "status", "id", ...).
func (c *Client) ContainerListFiltered(ctx context.Context, all bool, f Filters) ([]container.Summary, error) {
	var q query
	if all {
		q = q.add("all", "1")
	}
	q, err := q.addFilters(f)
	if err != nil {
		return nil, fmt.Errorf("cannot list containers: %w", err)
	}
	var list []container.Summary
	if err := c.do(ctx, "GET", "/containers/json", q, nil, &list); err != nil {
		return nil, fmt.Errorf("cannot list containers: %w", err)
	}
	return list, nil
}

// ContainerWait waits for a container to reach condition ("not-running" when empty,
// "next-exit", "removed") and returns its exit code. It holds a dedicated connection for
// as long as it waits; cancel ctx to stop waiting.
func (c *Client) ContainerWait(ctx context.Context, id, condition string) (int64, error) {
	var q query
	if condition != "" {
		q = q.add("condition", condition)
	}
	s, err := c.openStream(ctx, &streamRequest{
		method: "POST",
		path:   "/containers/" + escapePath(id, false) + "/wait",
		query:  q,
	})
	if err != nil {
		return 0, fmt.Errorf("cannot wait for container %q: %w", id, err)
	}
	defer s.Close()
	b, err := io.ReadAll(io.LimitReader(s, maxErrorBody))
	if err != nil {
		return 0, fmt.Errorf("cannot wait for container %q: %w", id, err)
	}
	var resp container.WaitResponse
	if err := json.Unmarshal(b, &resp); err != nil {
		return 0, fmt.Errorf("cannot wait for container %q: cannot decode answer: %w", id, err)
	}
	if resp.Error != nil && resp.Error.Message != "" {
		return resp.StatusCode, fmt.Errorf("cannot wait for container %q: %w", id, &Error{Message: resp.Error.Message})
	}
	return resp.StatusCode, nil
}

// ContainerResize sets the TTY size of a container started with Tty.
func (c *Client) ContainerResize(ctx context.Context, id string, h, w uint) error {
	q := query(nil).uint("h", uint64(h)).uint("w", uint64(w))
	if err := c.do(ctx, "POST", "/containers/"+escapePath(id, false)+"/resize", q, nil, nil); err != nil {
		return fmt.Errorf("cannot resize container %q: %w", id, err)
	}
	return nil
}
