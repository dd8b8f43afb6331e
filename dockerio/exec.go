package dockerio

import (
	"context"
	"fmt"

	"github.com/docker/docker/api/types/common"
	"github.com/docker/docker/api/types/container"
)

// ExecCreate creates an exec instance in a running container and returns its ID; start it
// with ExecStart.
func (c *Client) ExecCreate(ctx context.Context, containerID string, cfg container.ExecOptions) (string, error) {
	var resp common.IDResponse
	if err := c.do(ctx, "POST", "/containers/"+escapePath(containerID, false)+"/exec", nil, &cfg, &resp); err != nil {
		return "", fmt.Errorf("cannot create exec in container %q: %w", containerID, err)
	}
	return resp.ID, nil
}

// ExecResize sets the TTY size of an exec started with Tty.
func (c *Client) ExecResize(ctx context.Context, execID string, h, w uint) error {
	q := query(nil).uint("h", uint64(h)).uint("w", uint64(w))
	if err := c.do(ctx, "POST", "/exec/"+escapePath(execID, false)+"/resize", q, nil, nil); err != nil {
		return fmt.Errorf("cannot resize exec %q: %w", execID, err)
	}
	return nil
}

// ExecInspect returns an exec's state; ExitCode is valid once Running is false.
func (c *Client) ExecInspect(ctx context.Context, execID string) (container.ExecInspect, error) {
	var r container.ExecInspect
	if err := c.do(ctx, "GET", "/exec/"+escapePath(execID, false)+"/json", nil, nil, &r); err != nil {
		return container.ExecInspect{}, fmt.Errorf("cannot inspect exec %q: %w", execID, err)
	}
	return r, nil
}
