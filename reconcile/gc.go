package reconcile

// This file: garbage collection by ownerReferences, honouring propagationPolicy.
// (Placeholder hooks, filled in by the work of issue 3.)

import (
	"github.com/k2d-project/k2d/cache"
)

func (c *Controller) startGC() {}

func (c *Controller) onGCChange(ev cache.Event) {}
