package codec

import (
	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	eventsv1 "k8s.io/api/events/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Kind describes one served resource: the single source of truth for routing, discovery,
// OpenAPI generation and decoding. A kind is listed here only when every verb it
// advertises works end to end.
type Kind struct {
	Group      string // "" for the core group
	Version    string
	Resource   string // plural, lower case: "pods"
	Singular   string
	Kind       string
	ListKind   string
	Namespaced bool
	ShortNames []string
	Categories []string
	Verbs      []string
	// Subresources served under /<resource>/<name>/<sub>, e.g. "status", "log", "exec".
	Subresources []Subresource
	// New returns an empty typed object of this kind.
	New func() runtime.Object
	// NewList returns an empty typed list of this kind; nil for kinds that are never stored.
	NewList func() runtime.Object
	// Review marks create-only kinds that are answered, not stored (access reviews).
	Review bool
}

// Subresource is one subresource of a Kind as discovery reports it.
type Subresource struct {
	Name  string // "status", "log", "exec", "attach", "portforward", "scale"
	Kind  string // the kind it accepts/returns: "Pod", "PodExecOptions", "Scale"
	Group string // for Scale: "autoscaling"
	Ver   string
	Verbs []string
}

// APIVersion returns "v1" or "group/version".
func (k *Kind) APIVersion() string {
	if k.Group == "" {
		return k.Version
	}
	return k.Group + "/" + k.Version
}

// GroupResource returns "pods" or "events.events.k8s.io": the key under which the cache stores it.
func (k *Kind) GroupResource() string {
	if k.Group == "" {
		return k.Resource
	}
	return k.Resource + "." + k.Group
}

var (
	verbsAll      = []string{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}
	verbsReadOnly = []string{"get", "list", "watch"}
)

// Kinds is every kind k2d serves, in discovery order.
var Kinds = []*Kind{
	{
		Version: "v1", Resource: "namespaces", Singular: "namespace", Kind: "Namespace", ListKind: "NamespaceList",
		ShortNames: []string{"ns"}, Verbs: []string{"create", "delete", "get", "list", "patch", "update", "watch"},
		Subresources: []Subresource{{Name: "status", Kind: "Namespace", Verbs: []string{"get", "patch", "update"}}},
		New:          func() runtime.Object { return &corev1.Namespace{} },
		NewList:      func() runtime.Object { return &corev1.NamespaceList{} },
	},
	{
		Version: "v1", Resource: "pods", Singular: "pod", Kind: "Pod", ListKind: "PodList", Namespaced: true,
		ShortNames: []string{"po"}, Categories: []string{"all"}, Verbs: verbsAll,
		Subresources: []Subresource{
			{Name: "status", Kind: "Pod", Verbs: []string{"get", "patch", "update"}},
			{Name: "log", Kind: "Pod", Verbs: []string{"get"}},
			{Name: "exec", Kind: "PodExecOptions", Verbs: []string{"create", "get"}},
			{Name: "attach", Kind: "PodAttachOptions", Verbs: []string{"create", "get"}},
			{Name: "portforward", Kind: "PodPortForwardOptions", Verbs: []string{"create", "get"}},
		},
		New:     func() runtime.Object { return &corev1.Pod{} },
		NewList: func() runtime.Object { return &corev1.PodList{} },
	},
	{
		Version: "v1", Resource: "nodes", Singular: "node", Kind: "Node", ListKind: "NodeList",
		ShortNames: []string{"no"}, Verbs: verbsReadOnly,
		Subresources: []Subresource{{Name: "status", Kind: "Node", Verbs: []string{"get"}}},
		New:          func() runtime.Object { return &corev1.Node{} },
		NewList:      func() runtime.Object { return &corev1.NodeList{} },
	},
	{
		Version: "v1", Resource: "events", Singular: "event", Kind: "Event", ListKind: "EventList", Namespaced: true,
		ShortNames: []string{"ev"}, Verbs: verbsAll,
		New:     func() runtime.Object { return &corev1.Event{} },
		NewList: func() runtime.Object { return &corev1.EventList{} },
	},
	{
		Group: "events.k8s.io", Version: "v1", Resource: "events", Singular: "event", Kind: "Event", ListKind: "EventList",
		Namespaced: true, ShortNames: []string{"ev"}, Verbs: verbsAll,
		New:     func() runtime.Object { return &eventsv1.Event{} },
		NewList: func() runtime.Object { return &eventsv1.EventList{} },
	},
	{
		Version: "v1", Resource: "configmaps", Singular: "configmap", Kind: "ConfigMap", ListKind: "ConfigMapList", Namespaced: true,
		ShortNames: []string{"cm"}, Verbs: verbsAll,
		New:     func() runtime.Object { return &corev1.ConfigMap{} },
		NewList: func() runtime.Object { return &corev1.ConfigMapList{} },
	},
	{
		Version: "v1", Resource: "secrets", Singular: "secret", Kind: "Secret", ListKind: "SecretList", Namespaced: true,
		Verbs:   verbsAll,
		New:     func() runtime.Object { return &corev1.Secret{} },
		NewList: func() runtime.Object { return &corev1.SecretList{} },
	},
	{
		Version: "v1", Resource: "serviceaccounts", Singular: "serviceaccount", Kind: "ServiceAccount", ListKind: "ServiceAccountList",
		Namespaced: true, ShortNames: []string{"sa"}, Verbs: verbsAll,
		New:     func() runtime.Object { return &corev1.ServiceAccount{} },
		NewList: func() runtime.Object { return &corev1.ServiceAccountList{} },
	},
	{
		Version: "v1", Resource: "services", Singular: "service", Kind: "Service", ListKind: "ServiceList", Namespaced: true,
		ShortNames: []string{"svc"}, Categories: []string{"all"}, Verbs: verbsAll,
		Subresources: []Subresource{{Name: "status", Kind: "Service", Verbs: []string{"get", "patch", "update"}}},
		New:          func() runtime.Object { return &corev1.Service{} },
		NewList:      func() runtime.Object { return &corev1.ServiceList{} },
	},
	{
		Version: "v1", Resource: "endpoints", Singular: "endpoints", Kind: "Endpoints", ListKind: "EndpointsList", Namespaced: true,
		ShortNames: []string{"ep"}, Verbs: verbsAll,
		New:     func() runtime.Object { return &corev1.Endpoints{} },
		NewList: func() runtime.Object { return &corev1.EndpointsList{} },
	},
	{
		Version: "v1", Resource: "persistentvolumeclaims", Singular: "persistentvolumeclaim", Kind: "PersistentVolumeClaim",
		ListKind: "PersistentVolumeClaimList", Namespaced: true, ShortNames: []string{"pvc"}, Verbs: verbsAll,
		Subresources: []Subresource{{Name: "status", Kind: "PersistentVolumeClaim", Verbs: []string{"get", "patch", "update"}}},
		New:          func() runtime.Object { return &corev1.PersistentVolumeClaim{} },
		NewList:      func() runtime.Object { return &corev1.PersistentVolumeClaimList{} },
	},
	{
		Version: "v1", Resource: "persistentvolumes", Singular: "persistentvolume", Kind: "PersistentVolume",
		ListKind: "PersistentVolumeList", ShortNames: []string{"pv"}, Verbs: verbsAll,
		Subresources: []Subresource{{Name: "status", Kind: "PersistentVolume", Verbs: []string{"get", "patch", "update"}}},
		New:          func() runtime.Object { return &corev1.PersistentVolume{} },
		NewList:      func() runtime.Object { return &corev1.PersistentVolumeList{} },
	},
	{
		Group: "apps", Version: "v1", Resource: "deployments", Singular: "deployment", Kind: "Deployment", ListKind: "DeploymentList",
		Namespaced: true, ShortNames: []string{"deploy"}, Categories: []string{"all"}, Verbs: verbsAll,
		Subresources: []Subresource{
			{Name: "status", Kind: "Deployment", Verbs: []string{"get", "patch", "update"}},
			{Name: "scale", Kind: "Scale", Group: "autoscaling", Ver: "v1", Verbs: []string{"get", "patch", "update"}},
		},
		New:     func() runtime.Object { return &appsv1.Deployment{} },
		NewList: func() runtime.Object { return &appsv1.DeploymentList{} },
	},
	{
		Group: "apps", Version: "v1", Resource: "replicasets", Singular: "replicaset", Kind: "ReplicaSet", ListKind: "ReplicaSetList",
		Namespaced: true, ShortNames: []string{"rs"}, Categories: []string{"all"}, Verbs: verbsAll,
		Subresources: []Subresource{
			{Name: "status", Kind: "ReplicaSet", Verbs: []string{"get", "patch", "update"}},
			{Name: "scale", Kind: "Scale", Group: "autoscaling", Ver: "v1", Verbs: []string{"get", "patch", "update"}},
		},
		New:     func() runtime.Object { return &appsv1.ReplicaSet{} },
		NewList: func() runtime.Object { return &appsv1.ReplicaSetList{} },
	},
	{
		Group: "discovery.k8s.io", Version: "v1", Resource: "endpointslices", Singular: "endpointslice", Kind: "EndpointSlice",
		ListKind: "EndpointSliceList", Namespaced: true, Verbs: verbsAll,
		New:     func() runtime.Object { return &discoveryv1.EndpointSlice{} },
		NewList: func() runtime.Object { return &discoveryv1.EndpointSliceList{} },
	},
	{
		Group: "storage.k8s.io", Version: "v1", Resource: "storageclasses", Singular: "storageclass", Kind: "StorageClass",
		ListKind: "StorageClassList", ShortNames: []string{"sc"}, Verbs: verbsAll,
		New:     func() runtime.Object { return &storagev1.StorageClass{} },
		NewList: func() runtime.Object { return &storagev1.StorageClassList{} },
	},
	{
		Group: "authorization.k8s.io", Version: "v1", Resource: "selfsubjectaccessreviews", Singular: "selfsubjectaccessreview",
		Kind: "SelfSubjectAccessReview", Verbs: []string{"create"}, Review: true,
		New: func() runtime.Object { return &authorizationv1.SelfSubjectAccessReview{} },
	},
	{
		Group: "authorization.k8s.io", Version: "v1", Resource: "selfsubjectrulesreviews", Singular: "selfsubjectrulesreview",
		Kind: "SelfSubjectRulesReview", Verbs: []string{"create"}, Review: true,
		New: func() runtime.Object { return &authorizationv1.SelfSubjectRulesReview{} },
	},
}

// KindFor returns the kind served at group/version/resource, or nil.
func KindFor(group, version, resource string) *Kind {
	for _, k := range Kinds {
		if k.Group == group && k.Version == version && k.Resource == resource {
			return k
		}
	}
	return nil
}

// KindByName returns the kind with the given group and Kind name, or nil.
func KindByName(group, kind string) *Kind {
	for _, k := range Kinds {
		if k.Group == group && k.Kind == kind {
			return k
		}
	}
	return nil
}

func gvk(k *Kind) schema.GroupVersionKind {
	return schema.GroupVersionKind{Group: k.Group, Version: k.Version, Kind: k.Kind}
}

// SetTypeMeta sets apiVersion and kind on obj.
func SetTypeMeta(k *Kind, obj runtime.Object) { obj.GetObjectKind().SetGroupVersionKind(gvk(k)) }
