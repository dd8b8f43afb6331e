package reconcile

// This file: configMap, secret, downwardAPI, projected and service account volumes.
// (Placeholder hooks, filled in by the work of issue 3.)

import (
	"context"

	"github.com/k2d-project/k2d/cache"
	"github.com/k2d-project/k2d/translate"
	corev1 "k8s.io/api/core/v1"
)

func (c *Controller) startConfig() {}

func (c *Controller) onConfigChange(ev cache.Event) {}

// prepareVolumes fills ec.Volumes with the host side of the volumes k2d materialises for the
// container, writing their files first.
func (c *Controller) prepareVolumes(ctx context.Context, pod *corev1.Pod, ctr *corev1.Container, ec *translate.EnvContext) error {
	return nil
}

// cleanupPodFiles removes the volume files written for a pod uid.
func (c *Controller) cleanupPodFiles(uid string) {}
