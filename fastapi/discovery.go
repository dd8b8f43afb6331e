package fastapi

import (
	"strings"

	"github.com/k2d-project/k2d/codec"
	"github.com/valyala/fasthttp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func (s *Server) serveVersion(ctx *fasthttp.RequestCtx) {
	v := s.cfg.Version
	writeValue(ctx, 200, mimeJSON, map[string]string{
		"major": v.Major, "minor": v.Minor, "gitVersion": v.GitVersion, "gitCommit": v.GitCommit,
		"gitTreeState": "clean", "buildDate": v.BuildDate, "goVersion": v.GoVersion,
		"compiler": "gc", "platform": v.Platform,
	})
}

// groupVersions returns the served group/versions in discovery order; "" group is core.
func groupVersions() (core []string, groups []metav1.APIGroup) {
	seen := map[string]int{}
	for _, k := range codec.Kinds {
		if k.Group == "" {
			if len(core) == 0 || core[len(core)-1] != k.Version {
				core = append(core, k.Version)
			}
			continue
		}
		gv := metav1.GroupVersionForDiscovery{GroupVersion: k.Group + "/" + k.Version, Version: k.Version}
		i, ok := seen[k.Group]
		if !ok {
			seen[k.Group] = len(groups)
			groups = append(groups, metav1.APIGroup{
				TypeMeta: metav1.TypeMeta{Kind: "APIGroup", APIVersion: "v1"},
				Name:     k.Group, Versions: []metav1.GroupVersionForDiscovery{gv}, PreferredVersion: gv,
			})
			continue
		}
		found := false
		for _, v := range groups[i].Versions {
			found = found || v.Version == k.Version
		}
		if !found {
			groups[i].Versions = append(groups[i].Versions, gv)
		}
	}
	return core, groups
}

func (s *Server) serveCoreGroup(ctx *fasthttp.RequestCtx) {
	a := parseAccept(string(ctx.Request.Header.Peek("Accept")))
	if a.discovery != "" {
		s.serveAggregated(ctx, a.discovery, true)
		return
	}
	core, _ := groupVersions()
	writeValue(ctx, 200, mimeJSON, &metav1.APIVersions{
		TypeMeta: metav1.TypeMeta{Kind: "APIVersions"},
		Versions: core,
		ServerAddressByClientCIDRs: []metav1.ServerAddressByClientCIDR{
			{ClientCIDR: "0.0.0.0/0", ServerAddress: string(ctx.Host())},
		},
	})
}

func (s *Server) serveGroups(ctx *fasthttp.RequestCtx) {
	a := parseAccept(string(ctx.Request.Header.Peek("Accept")))
	if a.discovery != "" {
		s.serveAggregated(ctx, a.discovery, false)
		return
	}
	_, groups := groupVersions()
	writeValue(ctx, 200, mimeJSON, &metav1.APIGroupList{
		TypeMeta: metav1.TypeMeta{Kind: "APIGroupList", APIVersion: "v1"},
		Groups:   groups,
	})
}

// serveGroupVersion answers /api/v1, /apis/{g} and /apis/{g}/{v}; it reports whether path was one.
func (s *Server) serveGroupVersion(ctx *fasthttp.RequestCtx, path string) bool {
	p := strings.TrimSuffix(path, "/")
	var group, version string
	switch {
	case strings.HasPrefix(p, "/api/") && strings.Count(p, "/") == 2:
		version = p[len("/api/"):]
	case strings.HasPrefix(p, "/apis/") && strings.Count(p, "/") == 2:
		group = p[len("/apis/"):]
		_, groups := groupVersions()
		for i := range groups {
			if groups[i].Name == group {
				writeValue(ctx, 200, mimeJSON, &groups[i])
				return true
			}
		}
		writeError(ctx, errPathNotFound(path))
		return true
	case strings.HasPrefix(p, "/apis/") && strings.Count(p, "/") == 3:
		group, version, _ = strings.Cut(p[len("/apis/"):], "/")
	default:
		return false
	}
	list := &metav1.APIResourceList{
		TypeMeta:     metav1.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"},
		GroupVersion: version,
	}
	if group != "" {
		list.GroupVersion = group + "/" + version
	}
	for _, k := range codec.Kinds {
		if k.Group != group || k.Version != version {
			continue
		}
		list.APIResources = append(list.APIResources, metav1.APIResource{
			Name: k.Resource, SingularName: k.Singular, Namespaced: k.Namespaced, Kind: k.Kind,
			Verbs: k.Verbs, ShortNames: k.ShortNames, Categories: k.Categories,
		})
		for _, sr := range k.Subresources {
			list.APIResources = append(list.APIResources, metav1.APIResource{
				Name: k.Resource + "/" + sr.Name, Namespaced: k.Namespaced, Kind: sr.Kind,
				Group: sr.Group, Version: sr.Ver, Verbs: sr.Verbs,
			})
		}
	}
	if len(list.APIResources) == 0 {
		writeError(ctx, errPathNotFound(path))
		return true
	}
	writeValue(ctx, 200, mimeJSON, list)
	return true
}

// The aggregated discovery document (apidiscovery.k8s.io/v2 and v2beta1, which share one
// schema). These types mirror k8s.io/api/apidiscovery/v2 member for member, with the same JSON
// names and omitempty options, so encoding/json writes the same bytes; k2d does not import that
// package because its init registers its types with a scheme and so links their generated
// methods (about 22 KB on armv7) for this one response. TestDiscoveryTypesMatchAPI checks the
// shapes against the API package.
type discoveryList struct {
	metav1.TypeMeta `json:""`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []discoveryGroup `json:"items"`
}

type discoveryGroup struct {
	metav1.TypeMeta   `json:""`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Versions          []discoveryVersion `json:"versions,omitempty"`
}

type discoveryVersion struct {
	Version   string              `json:"version"`
	Resources []discoveryResource `json:"resources,omitempty"`
	Freshness string              `json:"freshness,omitempty"` // "Current" or "Stale"
}

type discoveryResource struct {
	Resource         string                   `json:"resource"`
	ResponseKind     *metav1.GroupVersionKind `json:"responseKind,omitempty"`
	Scope            string                   `json:"scope"` // "Cluster" or "Namespaced"
	SingularResource string                   `json:"singularResource"`
	Verbs            []string                 `json:"verbs"`
	ShortNames       []string                 `json:"shortNames,omitempty"`
	Categories       []string                 `json:"categories,omitempty"`
	Subresources     []discoverySubresource   `json:"subresources,omitempty"`
}

type discoverySubresource struct {
	Subresource   string                    `json:"subresource"`
	ResponseKind  *metav1.GroupVersionKind  `json:"responseKind,omitempty"`
	AcceptedTypes []metav1.GroupVersionKind `json:"acceptedTypes,omitempty"`
	Verbs         []string                  `json:"verbs"`
}

// serveAggregated answers /api or /apis with the aggregated discovery document, which saves
// clients one request per group-version.
func (s *Server) serveAggregated(ctx *fasthttp.RequestCtx, version string, core bool) {
	doc := discoveryList{
		TypeMeta: metav1.TypeMeta{Kind: "APIGroupDiscoveryList", APIVersion: "apidiscovery.k8s.io/" + version},
	}
	idx := map[string]int{}
	for _, k := range codec.Kinds {
		if (k.Group == "") != core {
			continue
		}
		gi, ok := idx[k.Group]
		if !ok {
			gi = len(doc.Items)
			idx[k.Group] = gi
			g := discoveryGroup{}
			g.Name = k.Group
			doc.Items = append(doc.Items, g)
		}
		g := &doc.Items[gi]
		vi := -1
		for i := range g.Versions {
			if g.Versions[i].Version == k.Version {
				vi = i
			}
		}
		if vi < 0 {
			g.Versions = append(g.Versions, discoveryVersion{Version: k.Version, Freshness: "Current"})
			vi = len(g.Versions) - 1
		}
		scope := "Cluster"
		if k.Namespaced {
			scope = "Namespaced"
		}
		r := discoveryResource{
			Resource: k.Resource, SingularResource: k.Singular, Scope: scope,
			ResponseKind: &metav1.GroupVersionKind{Group: k.Group, Version: k.Version, Kind: k.Kind},
			Verbs:        k.Verbs, ShortNames: k.ShortNames, Categories: k.Categories,
		}
		for _, sr := range k.Subresources {
			g, v := k.Group, k.Version
			if sr.Group != "" || sr.Ver != "" {
				g, v = sr.Group, sr.Ver
			}
			r.Subresources = append(r.Subresources, discoverySubresource{
				Subresource: sr.Name, Verbs: sr.Verbs,
				ResponseKind: &metav1.GroupVersionKind{Group: g, Version: v, Kind: sr.Kind},
			})
		}
		g.Versions[vi].Resources = append(g.Versions[vi].Resources, r)
	}
	ct := mimeDiscoveryV2
	if version == "v2beta1" {
		ct = mimeDiscoveryV2beta
	}
	writeValue(ctx, 200, ct, &doc)
}
