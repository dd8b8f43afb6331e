package fastapi

import (
	"strings"

	"github.com/k2d-project/k2d/codec"
)

// resourcePath is a parsed Kubernetes resource URL:
// /api/v1[/namespaces/{ns}]/{resource}[/{name}[/{subresource}]] or the same under /apis/{group}/{version}.
type resourcePath struct {
	group, version string
	namespace      string
	resource       string
	name           string
	sub            string
	kind           *codec.Kind // nil when the group/version/resource is not served
}

// parseResourcePath parses p (already split from its query). ok is false when p is not a
// resource path at all (discovery and other endpoints are routed before this).
func parseResourcePath(p string) (rp resourcePath, ok bool) {
	var rest string
	switch {
	case strings.HasPrefix(p, "/api/"):
		rest = p[len("/api/"):]
		var v string
		v, rest, _ = strings.Cut(rest, "/")
		rp.version = v
	case strings.HasPrefix(p, "/apis/"):
		rest = p[len("/apis/"):]
		var g, v string
		g, rest, _ = strings.Cut(rest, "/")
		v, rest, _ = strings.Cut(rest, "/")
		rp.group, rp.version = g, v
		if v == "" {
			return rp, false
		}
	default:
		return rp, false
	}
	rest = strings.TrimSuffix(rest, "/")
	if rest == "" || rp.version == "" {
		return rp, false
	}
	segs := strings.Split(rest, "/")
	for _, s := range segs {
		if s == "" {
			return rp, false
		}
	}
	if segs[0] == "namespaces" && len(segs) >= 3 {
		// /namespaces/{ns}/{resource}... unless {resource} is a subresource of the namespace itself.
		if !(rp.group == "" && len(segs) == 3 && isNamespaceSub(segs[2])) {
			rp.namespace = segs[1]
			segs = segs[2:]
		}
	}
	if len(segs) > 3 {
		return rp, false
	}
	rp.resource = segs[0]
	if len(segs) > 1 {
		rp.name = segs[1]
	}
	if len(segs) > 2 {
		rp.sub = segs[2]
	}
	rp.kind = codec.KindFor(rp.group, rp.version, rp.resource)
	return rp, true
}

func isNamespaceSub(s string) bool { return s == "status" || s == "finalize" }
