package reconcile

// This file: PersistentVolumeClaims, PersistentVolumes and StorageClasses.
// (Placeholder hooks, filled in by the work of issue 3.)

import (
	"context"

	"github.com/k2d-project/k2d/cache"
	"github.com/k2d-project/k2d/translate"
	corev1 "k8s.io/api/core/v1"
)

func (c *Controller) startStorage() {}

func (c *Controller) onStorageChange(ev cache.Event) {}

// claimVolume returns the host side of a persistentVolumeClaim volume of pod.
func (c *Controller) claimVolume(ctx context.Context, pod *corev1.Pod, v *corev1.Volume) (translate.VolumeSource, error) {
	return translate.VolumeSource{}, translate.ErrNoVolumeSource
}
