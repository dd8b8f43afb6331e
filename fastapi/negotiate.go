package fastapi

import (
	"strings"
)

// Media types k2d produces.
const (
	mimeJSON            = "application/json"
	mimeTableV1         = "application/json;as=Table;v=v1;g=meta.k8s.io"
	mimeTableV1beta1    = "application/json;as=Table;v=v1beta1;g=meta.k8s.io"
	mimeDiscoveryV2     = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
	mimeDiscoveryV2beta = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"
)

// accepted is what the client's Accept header lets k2d answer with.
type accepted struct {
	table        string // "" or the Table version asked for: "v1" or "v1beta1"
	discovery    string // "" or the aggregated discovery version: "v2" or "v2beta1"
	json         bool   // plain JSON (or anything) is acceptable
	partialMeta  bool   // as=PartialObjectMetadata(List)
	partialMetaV string
}

// parseAccept reads an Accept header: a comma-separated list of media types with parameters,
// in the client's order of preference. Quality values are ignored: Kubernetes clients order
// their alternatives instead.
func parseAccept(h string) accepted {
	var a accepted
	if strings.TrimSpace(h) == "" {
		a.json = true
		return a
	}
	for _, part := range strings.Split(h, ",") {
		typ, params, _ := strings.Cut(part, ";")
		typ = strings.ToLower(strings.TrimSpace(typ))
		var as, g, v string
		for _, p := range strings.Split(params, ";") {
			k, val, _ := strings.Cut(p, "=")
			switch strings.TrimSpace(k) {
			case "as":
				as = strings.TrimSpace(val)
			case "g":
				g = strings.TrimSpace(val)
			case "v":
				v = strings.TrimSpace(val)
			}
		}
		switch typ {
		case "application/json", "*/*", "application/*":
		default:
			continue // protobuf, yaml, cbor: k2d answers in JSON only
		}
		switch {
		case as == "":
			a.json = true
		case as == "Table" && g == "meta.k8s.io" && (v == "v1" || v == "v1beta1"):
			if a.table == "" {
				a.table = v
			}
		case as == "APIGroupDiscoveryList" && g == "apidiscovery.k8s.io" && (v == "v2" || v == "v2beta1"):
			if a.discovery == "" {
				a.discovery = v
			}
		case (as == "PartialObjectMetadata" || as == "PartialObjectMetadataList") && g == "meta.k8s.io":
			if !a.partialMeta {
				a.partialMeta, a.partialMetaV = true, v
			}
		}
	}
	return a
}

// acceptable reports whether any form k2d can produce is acceptable.
func (a accepted) acceptable() bool {
	return a.json || a.table != "" || a.discovery != "" || a.partialMeta
}
