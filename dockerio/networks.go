package dockerio

import (
	"context"
	"fmt"

	"github.com/docker/docker/api/types/network"
)

// NetworkCreate creates a network and returns its ID. Engines before API 1.44 are asked to
// refuse a duplicate name (they allowed two networks with one name by default), so that
// creating a namespace's network twice fails with a conflict instead of splitting it.
func (c *Client) NetworkCreate(ctx context.Context, name string, opts network.CreateOptions) (string, error) {
	req := network.CreateRequest{CreateOptions: opts, Name: name}
	if !c.apiAtLeast(1, 44) {
		yes := true
		req.CheckDuplicate = &yes //nolint:staticcheck // deprecated in 1.44, needed before it
	}
	var resp network.CreateResponse
	if err := c.do(ctx, "POST", "/networks/create", nil, &req, &resp); err != nil {
		return "", fmt.Errorf("cannot create network %q: %w", name, err)
	}
	return resp.ID, nil
}

// NetworkInspect returns a network with its connected containers (GET /networks/{id}).
func (c *Client) NetworkInspect(ctx context.Context, idOrName string) (network.Inspect, error) {
	var r network.Inspect
	if err := c.do(ctx, "GET", "/networks/"+escapePath(idOrName, false), nil, nil, &r); err != nil {
		return network.Inspect{}, fmt.Errorf("cannot inspect network %q: %w", idOrName, err)
	}
	return r, nil
}

// NetworkList lists networks carrying every given label filter ("key=value" or "key").
func (c *Client) NetworkList(ctx context.Context, labelFilters ...string) ([]network.Summary, error) {
	q, err := query(nil).addFilters(labelFilter(labelFilters))
	if err != nil {
		return nil, fmt.Errorf("cannot list networks: %w", err)
	}
	var list []network.Summary
	if err := c.do(ctx, "GET", "/networks", q, nil, &list); err != nil {
		return nil, fmt.Errorf("cannot list networks: %w", err)
	}
	return list, nil
}

// NetworkRemove removes a network.
func (c *Client) NetworkRemove(ctx context.Context, id string) error {
	if err := c.do(ctx, "DELETE", "/networks/"+escapePath(id, false), nil, nil, nil); err != nil {
		return fmt.Errorf("cannot remove network %q: %w", id, err)
	}
	return nil
}

// NetworkConnect connects a container to a network; es (may be nil) sets aliases and
// addresses.
func (c *Client) NetworkConnect(ctx context.Context, netID, containerID string, es *network.EndpointSettings) error {
	body := network.ConnectOptions{Container: containerID, EndpointConfig: es}
	if err := c.do(ctx, "POST", "/networks/"+escapePath(netID, false)+"/connect", nil, &body, nil); err != nil {
		return fmt.Errorf("cannot connect container %q to network %q: %w", containerID, netID, err)
	}
	return nil
}

// NetworkDisconnect disconnects a container from a network.
func (c *Client) NetworkDisconnect(ctx context.Context, netID, containerID string, force bool) error {
	body := network.DisconnectOptions{Container: containerID, Force: force}
	if err := c.do(ctx, "POST", "/networks/"+escapePath(netID, false)+"/disconnect", nil, &body, nil); err != nil {
		return fmt.Errorf("cannot disconnect container %q from network %q: %w", containerID, netID, err)
	}
	return nil
}
