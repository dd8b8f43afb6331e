package fastapi

// This file: the registry strategies of ServiceAccount, PersistentVolumeClaim,
// PersistentVolume and EndpointSlice (and the Service status part the service storage does
// not own), as a v1.32 server with its default feature gates runs them, and the warnings the
// Secret and ServiceAccount strategies return.

import (
	"crypto/tls"
	"time"

	"github.com/k2d-project/k2d/codec"
	"github.com/valyala/fasthttp"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

func init() {
	admissions["secrets"] = append(admissions["secrets"], warnSecret)
	admissions["serviceaccounts"] = append(admissions["serviceaccounts"], warnServiceAccount)
}

// strategyNow is the clock of the strategies, replaced by tests.
var strategyNow = time.Now

// annotationEnforceMountableSecrets is deprecated since v1.32.
const annotationEnforceMountableSecrets = "kubernetes.io/enforce-mountable-secrets"

// prepareCoreCreate is PrepareForCreate of the kinds in this file.
func prepareCoreCreate(obj runtime.Object) {
	switch o := obj.(type) {
	case *corev1.ServiceAccount:
		cleanSecretReferences(o)
	case *corev1.PersistentVolumeClaim:
		// Default sets the phase (Pending) afterwards, as reads do on the server.
		o.Status = corev1.PersistentVolumeClaimStatus{}
		preparePVCSpec(&o.Spec, nil)
	case *corev1.PersistentVolume:
		// Pending until the storage controller makes it Available.
		now := metav1.NewTime(strategyNow().Truncate(time.Second))
		o.Status = corev1.PersistentVolumeStatus{Phase: corev1.VolumePending, LastPhaseTransitionTime: &now}
		if o.Spec.VolumeAttributesClassName != nil {
			o.Spec.VolumeAttributesClassName = nil // VolumeAttributesClass is off
		}
	case *discoveryv1.EndpointSlice:
		// v1 requests clear the deprecated topology.
		for i := range o.Endpoints {
			o.Endpoints[i].DeprecatedTopology = nil
		}
	}
}

// prepareCoreUpdate is PrepareForUpdate of the kinds in this file, after status and the old
// generation were copied. It reports whether it decided the generation.
func prepareCoreUpdate(obj, old runtime.Object) bool {
	switch o := obj.(type) {
	case *corev1.ServiceAccount:
		cleanSecretReferences(o)
	case *corev1.PersistentVolumeClaim:
		if oo, ok := old.(*corev1.PersistentVolumeClaim); ok {
			preparePVCSpec(&o.Spec, &oo.Spec)
		}
	case *corev1.PersistentVolume:
		if oo, ok := old.(*corev1.PersistentVolume); ok && oo.Spec.VolumeAttributesClassName == nil {
			o.Spec.VolumeAttributesClassName = nil
		}
	case *corev1.Service:
		// dropTypeDependentFields: load-balancer status only for LoadBalancer services.
		if o.Spec.Type != corev1.ServiceTypeLoadBalancer {
			o.Status.LoadBalancer = corev1.LoadBalancerStatus{}
		}
	case *discoveryv1.EndpointSlice:
		oo, ok := old.(*discoveryv1.EndpointSlice)
		if !ok {
			return false
		}
		if !equality.Semantic.DeepEqual(o.Endpoints, oo.Endpoints) {
			for i := range o.Endpoints {
				o.Endpoints[i].DeprecatedTopology = nil
			}
		}
		// A slice has no spec: any change but to metadata, or a change of labels, is a
		// new generation.
		a, b := *o, *oo
		a.ObjectMeta, b.ObjectMeta = metav1.ObjectMeta{}, metav1.ObjectMeta{}
		a.TypeMeta, b.TypeMeta = metav1.TypeMeta{}, metav1.TypeMeta{}
		if !equality.Semantic.DeepEqual(a, b) || !equality.Semantic.DeepEqual(o.Labels, oo.Labels) {
			o.Generation = oo.Generation + 1
		}
		return true
	}
	return false
}

// prepareCoreStatusUpdate is PrepareForUpdate of the status strategies: out carries the new
// status over old's object. A PersistentVolume's lastPhaseTransitionTime moves with its phase
// unless the client set it.
func prepareCoreStatusUpdate(out, old runtime.Object) {
	pv, ok1 := out.(*corev1.PersistentVolume)
	opv, ok2 := old.(*corev1.PersistentVolume)
	if !ok1 || !ok2 {
		return
	}
	st, ost := &pv.Status, &opv.Status
	switch {
	case st.Phase == ost.Phase && st.LastPhaseTransitionTime == nil:
		st.LastPhaseTransitionTime = ost.LastPhaseTransitionTime
	case st.Phase != ost.Phase && (st.LastPhaseTransitionTime == nil || st.LastPhaseTransitionTime.Equal(ost.LastPhaseTransitionTime)):
		now := metav1.NewTime(strategyNow().Truncate(time.Second))
		st.LastPhaseTransitionTime = &now
	}
}

// cleanSecretReferences keeps only the name of each secret reference.
func cleanSecretReferences(sa *corev1.ServiceAccount) {
	for i, s := range sa.Secrets {
		sa.Secrets[i] = corev1.ObjectReference{Name: s.Name}
	}
}

// preparePVCSpec drops what disabled features would carry (volumeAttributesClassName,
// dataSourceRef.namespace) unless old used it, and fills dataSource and dataSourceRef from
// each other as NormalizeDataSources does. old is nil on create.
func preparePVCSpec(spec, old *corev1.PersistentVolumeClaimSpec) {
	if old == nil || old.VolumeAttributesClassName == nil {
		spec.VolumeAttributesClassName = nil
	}
	if ref := spec.DataSourceRef; ref != nil && ref.Namespace != nil {
		if old == nil || old.DataSourceRef == nil || old.DataSourceRef.Namespace == nil {
			r := *ref
			r.Namespace = nil
			spec.DataSourceRef = &r
		}
	}
	switch ds, ref := spec.DataSource, spec.DataSourceRef; {
	case ds != nil && ref == nil:
		spec.DataSourceRef = &corev1.TypedObjectReference{APIGroup: ds.APIGroup, Kind: ds.Kind, Name: ds.Name}
	case ref != nil && ds == nil && (ref.Namespace == nil || *ref.Namespace == ""):
		spec.DataSource = &corev1.TypedLocalObjectReference{APIGroup: ref.APIGroup, Kind: ref.Kind, Name: ref.Name}
	}
}

// warnSecret warns, as the Secret strategy does, when a TLS secret's key does not match its
// certificate (or either does not parse).
func warnSecret(_ *Server, ctx *fasthttp.RequestCtx, _ *codec.Kind, obj, _ runtime.Object, _ bool) *apiError {
	s, ok := obj.(*corev1.Secret)
	if !ok || ctx == nil || s.Type != corev1.SecretTypeTLS {
		return nil
	}
	if _, err := tls.X509KeyPair(s.Data[corev1.TLSCertKey], s.Data[corev1.TLSPrivateKeyKey]); err != nil {
		addWarning(ctx, err.Error())
	}
	return nil
}

// warnServiceAccount warns when the deprecated enforce-mountable-secrets annotation is set.
func warnServiceAccount(_ *Server, ctx *fasthttp.RequestCtx, _ *codec.Kind, obj, old runtime.Object, _ bool) *apiError {
	sa, ok := obj.(*corev1.ServiceAccount)
	if !ok || ctx == nil {
		return nil
	}
	if o, ok := old.(*corev1.ServiceAccount); ok {
		if _, had := o.Annotations[annotationEnforceMountableSecrets]; had {
			return nil
		}
	}
	if _, has := sa.Annotations[annotationEnforceMountableSecrets]; has {
		addWarning(ctx, "metadata.annotations["+annotationEnforceMountableSecrets+"]: deprecated in v1.32+; prefer separate namespaces to isolate access to mounted secrets")
	}
	return nil
}
