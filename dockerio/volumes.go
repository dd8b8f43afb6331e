package dockerio

import (
	"context"
	"fmt"

	"github.com/docker/docker/api/types/volume"
)

// VolumeCreate creates a named volume. Creating an existing name returns that volume (the
// engine's behaviour), so callers compare labels when ownership matters.
func (c *Client) VolumeCreate(ctx context.Context, opts volume.CreateOptions) (volume.Volume, error) {
	var v volume.Volume
	if err := c.do(ctx, "POST", "/volumes/create", nil, &opts, &v); err != nil {
		return volume.Volume{}, fmt.Errorf("cannot create volume %q: %w", opts.Name, err)
	}
	return v, nil
}

// VolumeInspect returns a volume (GET /volumes/{name}).
func (c *Client) VolumeInspect(ctx context.Context, name string) (volume.Volume, error) {
	var v volume.Volume
	if err := c.do(ctx, "GET", "/volumes/"+escapePath(name, false), nil, nil, &v); err != nil {
		return volume.Volume{}, fmt.Errorf("cannot inspect volume %q: %w", name, err)
	}
	return v, nil
}

// VolumeList lists volumes carrying every given label filter ("key=value" or "key").
func (c *Client) VolumeList(ctx context.Context, labelFilters ...string) ([]*volume.Volume, error) {
	q, err := query(nil).addFilters(labelFilter(labelFilters))
	if err != nil {
		return nil, fmt.Errorf("cannot list volumes: %w", err)
	}
	var r volume.ListResponse
	if err := c.do(ctx, "GET", "/volumes", q, nil, &r); err != nil {
		return nil, fmt.Errorf("cannot list volumes: %w", err)
	}
	return r.Volumes, nil
}

// VolumeRemove removes a volume. force makes the engine forget the volume even if its driver
// fails to remove it; a volume used by any container is a conflict either way.
func (c *Client) VolumeRemove(ctx context.Context, name string, force bool) error {
	q := query(nil).bool("force", force)
	if err := c.do(ctx, "DELETE", "/volumes/"+escapePath(name, false), q, nil, nil); err != nil {
		return fmt.Errorf("cannot remove volume %q: %w", name, err)
	}
	return nil
}
