package reconcile

// This file: readiness, liveness and startup probes.
// (Placeholder hooks, filled in by the work of issue 3.)

import (
	"github.com/k2d-project/k2d/cache"
)

func (c *Controller) startProbes() {}

func (c *Controller) onProbesChange(ev cache.Event) {}

func (c *Controller) stopProbes() {}
