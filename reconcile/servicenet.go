package reconcile

// This file: the Service data plane: ClusterIPs, proxies, NodePorts and cluster DNS.
// (Placeholder hooks, filled in by the work of issue 3.)

import (
	"context"

	"github.com/k2d-project/k2d/cache"
)

func (c *Controller) startServiceNet(ctx context.Context) error { return nil }

func (c *Controller) onServiceNetChange(ev cache.Event) {}

func (c *Controller) stopServiceNet() {}
