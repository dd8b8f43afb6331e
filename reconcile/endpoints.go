package reconcile

// This file: Endpoints and EndpointSlices of Services, following pod readiness.
// (Placeholder hooks, filled in by the work of issue 3.)

import (
	"github.com/k2d-project/k2d/cache"
)

func (c *Controller) startEndpoints() {}

func (c *Controller) onEndpointsChange(ev cache.Event) {}
