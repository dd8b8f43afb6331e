package fastapi

// This file: the API server's storage admission plugins. DefaultStorageClass gives a claim
// created without storageClassName the default class; StorageObjectInUseProtection puts the
// kubernetes.io/pvc-protection and kubernetes.io/pv-protection finalizers on new claims and
// volumes, which the storage controller (reconcile/storage.go) removes once nothing uses them.

import (
	"slices"

	"github.com/k2d-project/k2d/codec"
	"github.com/k2d-project/k2d/reconcile"
	"github.com/valyala/fasthttp"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

func init() {
	admissions["persistentvolumeclaims"] = append(admissions["persistentvolumeclaims"], admitClaim)
	admissions["persistentvolumes"] = append(admissions["persistentvolumes"], admitVolume)
}

func admitClaim(s *Server, _ *fasthttp.RequestCtx, _ *codec.Kind, obj, old runtime.Object, _ bool) *apiError {
	pvc, ok := obj.(*corev1.PersistentVolumeClaim)
	if !ok || old != nil {
		return nil
	}
	if pvc.Spec.StorageClassName == nil && pvc.Annotations["volume.beta.kubernetes.io/storage-class"] == "" {
		entries, _ := s.cfg.Store.List("storageclasses.storage.k8s.io", "")
		classes := make([]*storagev1.StorageClass, 0, len(entries))
		for _, e := range entries {
			if sc, ok := e.Obj.(*storagev1.StorageClass); ok {
				classes = append(classes, sc)
			}
		}
		if def := reconcile.DefaultStorageClass(classes); def != nil {
			name := def.Name
			pvc.Spec.StorageClassName = &name
		}
	}
	if !slices.Contains(pvc.Finalizers, reconcile.FinalizerPVCProtection) {
		pvc.Finalizers = append(pvc.Finalizers, reconcile.FinalizerPVCProtection)
	}
	return nil
}

func admitVolume(_ *Server, _ *fasthttp.RequestCtx, _ *codec.Kind, obj, old runtime.Object, _ bool) *apiError {
	pv, ok := obj.(*corev1.PersistentVolume)
	if !ok || old != nil {
		return nil
	}
	if !slices.Contains(pv.Finalizers, reconcile.FinalizerPVProtection) {
		pv.Finalizers = append(pv.Finalizers, reconcile.FinalizerPVProtection)
	}
	return nil
}
