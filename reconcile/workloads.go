package reconcile

// This file: Deployment and ReplicaSet controllers.
// (Placeholder hooks, filled in by the work of issue 3.)

import (
	"github.com/k2d-project/k2d/cache"
)

func (c *Controller) startWorkloads() {}

func (c *Controller) onWorkloadChange(ev cache.Event) {}
