// Package generator builds k2d's OpenAPI documents from codec.Kinds: one swagger 2.0 document
// for /openapi/v2 and one OpenAPI 3.0 document per group-version for /openapi/v3/<gv>.
//
// Schemas are reflected from the k8s.io/api Go types (json tags for names and optionality,
// SwaggerDoc for descriptions, OpenAPIModelName for definition names, patch tags for strategic
// merge), completed by the comment markers openapi-gen reads from their source (+optional,
// +required, +listType, +listMapKey, +mapType, +structType, +enum, +default). Operations
// follow the API server's layout: paths, operation IDs, x-kubernetes-action,
// x-kubernetes-group-version-kind and query parameters derived from the option structs.
//
// It runs at development time only (go run ./codec/openapi/gen and the package test); the
// server embeds its compressed output and never links this package.
package generator

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"go/format"
	"reflect"
	"sort"
	"strings"

	"github.com/k2d-project/k2d/codec"
)

// Doc is one generated document.
type Doc struct {
	Path string // group-version path for v3 ("api/v1"); "" for v2
	JSON []byte
}

// Output holds the generated documents.
type Output struct {
	V2 Doc
	V3 []Doc // sorted by Path
}

// Build generates the documents for kinds.
func Build(kinds []*codec.Kind) (*Output, error) {
	r := newRegistry(newSourceIndex())

	var gvs []gvKey
	seen := map[gvKey]bool{}
	var items []*pathItem
	for _, k := range kinds {
		key := gvKey{k.Group, k.Version}
		if !seen[key] {
			seen[key] = true
			gvs = append(gvs, key)
		}
		if err := r.addGVK(reflect.TypeOf(k.New()).Elem(), gvk{k.Group, k.Version, k.Kind}); err != nil {
			return nil, err
		}
		if k.NewList != nil {
			if err := r.addGVK(reflect.TypeOf(k.NewList()).Elem(), gvk{k.Group, k.Version, k.ListKind}); err != nil {
				return nil, err
			}
		}
		p, err := kindPaths(k)
		if err != nil {
			return nil, fmt.Errorf("cannot build paths of %s: %w", k.GroupResource(), err)
		}
		items = append(items, p...)
	}
	sort.Slice(gvs, func(i, j int) bool {
		return gvPath(gvs[i].group, gvs[i].version) < gvPath(gvs[j].group, gvs[j].version)
	})
	items = append(items, discoveryPaths(gvs)...)

	// Meta kinds: Status belongs to the core group; DeleteOptions and WatchEvent are registered
	// in every group-version, as the API server does.
	core := []struct {
		t    reflect.Type
		kind string
	}{{typeStatus, "Status"}, {typeAPIResourceList, "APIResourceList"}, {typeAPIVersions, "APIVersions"},
		{typeAPIGroupList, "APIGroupList"}, {typeAPIGroup, "APIGroup"}}
	for _, c := range core {
		if err := r.addGVK(c.t, gvk{"", "v1", c.kind}); err != nil {
			return nil, err
		}
	}
	for _, gv := range gvs {
		for _, t := range []reflect.Type{typeDeleteOptions, typeWatchEvent} {
			if err := r.addGVK(t, gvk{gv.group, gv.version, t.Name()}); err != nil {
				return nil, err
			}
		}
	}
	// Always present, even where no path refers to them: clients look them up by kind.
	roots := []reflect.Type{typeStatus, typeDeleteOptions, typeWatchEvent}

	out := &Output{}
	// v2: every path in one document.
	paths2, err := renderPaths(r, items, v2, "")
	if err != nil {
		return nil, err
	}
	// v3: one document per group-version.
	paths3 := map[string]obj{}
	for _, gv := range gvs {
		p := gvPath(gv.group, gv.version)
		if paths3[p], err = renderPaths(r, items, v3, p); err != nil {
			return nil, err
		}
	}
	defs2, defs3, err := buildDefinitions(r)
	if err != nil {
		return nil, err
	}
	var rootNames []string
	for _, t := range roots {
		n, _ := r.ref(t)
		rootNames = append(rootNames, n)
	}

	doc2 := obj{
		"swagger":             "2.0",
		"info":                obj{"title": "Kubernetes", "version": "unversioned"},
		"paths":               paths2,
		"definitions":         reachable(paths2, defs2, rootNames, v2),
		"securityDefinitions": obj{"BearerToken": bearer()},
		"security":            []any{obj{"BearerToken": []any{}}},
	}
	if out.V2.JSON, err = encode(doc2); err != nil {
		return nil, err
	}
	for _, gv := range gvs {
		p := gvPath(gv.group, gv.version)
		doc3 := obj{
			"openapi": "3.0.0",
			"info":    obj{"title": "Kubernetes", "version": "unversioned"},
			"paths":   paths3[p],
			"components": obj{
				"schemas":         reachable(paths3[p], defs3, rootNames, v3),
				"securitySchemes": obj{"BearerToken": bearer()},
			},
			"security": []any{obj{"BearerToken": []any{}}},
		}
		b, err := encode(doc3)
		if err != nil {
			return nil, err
		}
		out.V3 = append(out.V3, Doc{Path: p, JSON: b})
	}
	return out, nil
}

func bearer() obj {
	return obj{"type": "apiKey", "name": "authorization", "in": "header", "description": "Bearer Token authentication"}
}

// buildDefinitions builds both dialects of every registered definition, including those
// registered while building others.
func buildDefinitions(r *registry) (obj, obj, error) {
	d2, d3 := obj{}, obj{}
	for {
		var todo []string
		for n := range r.types {
			if _, ok := d2[n]; !ok {
				todo = append(todo, n)
			}
		}
		if len(todo) == 0 {
			return d2, d3, nil
		}
		sort.Strings(todo)
		for _, n := range todo {
			s2, err := r.definition(n, v2)
			if err != nil {
				return nil, nil, err
			}
			s3, err := r.definition(n, v3)
			if err != nil {
				return nil, nil, err
			}
			d2[n], d3[n] = s2, s3
		}
	}
}

// reachable returns the definitions referred to, directly or not, from paths and roots.
func reachable(paths obj, defs obj, roots []string, f flavor) obj {
	out := obj{}
	var queue []string
	add := func(ref string) {
		n := strings.TrimPrefix(ref, f.refPrefix())
		if _, ok := out[n]; ok {
			return
		}
		if d, ok := defs[n]; ok {
			out[n] = d
			queue = append(queue, n)
		}
	}
	for _, n := range roots {
		add(f.refPrefix() + n)
	}
	walkRefs(paths, add)
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		walkRefs(defs[n], add)
	}
	return out
}

func walkRefs(v any, fn func(string)) {
	switch t := v.(type) {
	case obj:
		for k, x := range t {
			if s, ok := x.(string); ok && k == "$ref" {
				fn(s)
				continue
			}
			walkRefs(x, fn)
		}
	case []any:
		for _, x := range t {
			walkRefs(x, fn)
		}
	}
}

// renderPaths renders the path items of group-version gv ("" for all) in dialect f.
func renderPaths(r *registry, items []*pathItem, f flavor, gv string) (obj, error) {
	out := obj{}
	for _, it := range items {
		if gv != "" && it.gv != gv {
			continue
		}
		if _, dup := out[it.path]; dup {
			return nil, fmt.Errorf("path %s is declared twice", it.path)
		}
		p := obj{}
		if len(it.params) > 0 {
			p["parameters"] = renderParams(it.params, f)
		}
		for _, op := range it.ops {
			if _, dup := p[op.method]; dup {
				return nil, fmt.Errorf("path %s has two %s operations", it.path, op.method)
			}
			o, err := renderOp(r, op, f)
			if err != nil {
				return nil, fmt.Errorf("path %s %s: %w", it.path, op.method, err)
			}
			p[op.method] = o
		}
		out[it.path] = p
	}
	return out, nil
}

func renderParams(ps []param, f flavor) []any {
	out := make([]any, 0, len(ps))
	for _, p := range ps {
		o := obj{"name": p.name, "in": p.in}
		if p.desc != "" {
			o["description"] = p.desc
		}
		if p.required {
			o["required"] = true
		}
		// uniqueItems is what the API server's go-restful builder writes on every parameter.
		if f == v2 {
			o["type"] = p.typ
			o["uniqueItems"] = true
		} else {
			o["schema"] = obj{"type": p.typ, "uniqueItems": true}
		}
		out = append(out, o)
	}
	return out
}

func renderOp(r *registry, op *operation, f flavor) (obj, error) {
	o := obj{
		"description": op.desc,
		"operationId": op.id,
		"tags":        []any{op.tag},
	}
	if op.action != "" {
		o["x-kubernetes-action"] = op.action
	}
	if op.gvk != nil {
		o["x-kubernetes-group-version-kind"] = op.gvk.json()
	}
	params := renderParams(op.params, f)
	schemaOf := func(t reflect.Type) (obj, error) {
		if t == nil {
			return obj{"type": "string"}, nil
		}
		return r.refSchema(t, f)
	}
	responses := obj{}
	if f == v2 {
		o["schemes"] = []any{"https"}
		if len(op.consumes) > 0 {
			o["consumes"] = strs(op.consumes)
		}
		o["produces"] = strs(op.produces)
		if op.body != nil {
			s, err := schemaOf(op.body)
			if err != nil {
				return nil, err
			}
			b := obj{"name": "body", "in": "body", "schema": s}
			if op.bodyRequired {
				b["required"] = true
			}
			params = append([]any{b}, params...)
		}
		for _, rs := range op.responses {
			s, err := schemaOf(rs.schema)
			if err != nil {
				return nil, err
			}
			responses[rs.code] = obj{"description": rs.desc, "schema": s}
		}
	} else {
		if op.body != nil {
			s, err := schemaOf(op.body)
			if err != nil {
				return nil, err
			}
			content := obj{}
			for _, ct := range op.consumes {
				content[ct] = obj{"schema": s}
			}
			b := obj{"content": content}
			if op.bodyRequired {
				b["required"] = true
			}
			o["requestBody"] = b
		}
		for _, rs := range op.responses {
			s, err := schemaOf(rs.schema)
			if err != nil {
				return nil, err
			}
			content := obj{}
			for _, pt := range op.produces {
				content[pt] = obj{"schema": s}
			}
			responses[rs.code] = obj{"description": rs.desc, "content": content}
		}
	}
	if len(params) > 0 {
		o["parameters"] = params
	}
	o["responses"] = responses
	return o, nil
}

func strs(s []string) []any {
	out := make([]any, len(s))
	for i := range s {
		out[i] = s[i]
	}
	return out
}

// encode writes compact JSON with sorted keys and without HTML escaping, as the API server does.
func encode(v any) ([]byte, error) {
	var b bytes.Buffer
	e := json.NewEncoder(&b)
	e.SetEscapeHTML(false)
	if err := e.Encode(v); err != nil {
		return nil, fmt.Errorf("cannot encode document: %w", err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// File is one file the generator writes into codec/openapi.
type File struct {
	Name string // slash-separated, relative to codec/openapi
	Data []byte
}

// FileName returns the name of the compressed v3 document of group-version path p:
// "v3/api__v1.json.gz", "v3/apis__events.k8s.io__v1.json.gz".
func FileName(p string) string {
	if p == "" {
		return "v2.json.gz"
	}
	return "v3/" + strings.ReplaceAll(p, "/", "__") + ".json.gz"
}

// EmbedFile is the name of the generated Go file that embeds the documents.
const EmbedFile = "zz_generated.embed.go"

// Files returns the files to write: the gzip-compressed documents and the Go file that embeds
// them. Compression is deterministic: no name, no modification time, fixed level.
func Files(out *Output) ([]File, error) {
	var files []File
	gz, err := Gzip(out.V2.JSON)
	if err != nil {
		return nil, err
	}
	files = append(files, File{Name: FileName(""), Data: gz})
	var src bytes.Buffer
	src.WriteString("// Code generated by \"go run ./codec/openapi/gen\"; DO NOT EDIT.\n\npackage openapi\n\nimport _ \"embed\"\n\n")
	src.WriteString("//go:embed " + FileName("") + "\nvar v2Gzip []byte\n\n")
	for i, d := range out.V3 {
		gz, err := Gzip(d.JSON)
		if err != nil {
			return nil, err
		}
		files = append(files, File{Name: FileName(d.Path), Data: gz})
		fmt.Fprintf(&src, "//go:embed %s\nvar v3Gzip%d []byte\n\n", FileName(d.Path), i)
	}
	src.WriteString("// v3Docs lists the OpenAPI v3 documents by group-version path, sorted.\nvar v3Docs = []v3Doc{\n")
	for i, d := range out.V3 {
		fmt.Fprintf(&src, "{path: %q, gz: v3Gzip%d},\n", d.Path, i)
	}
	src.WriteString("}\n")
	formatted, err := format.Source(src.Bytes())
	if err != nil {
		return nil, fmt.Errorf("cannot format %s: %w", EmbedFile, err)
	}
	files = append(files, File{Name: EmbedFile, Data: formatted})
	return files, nil
}

// Gzip compresses b at the best level with an empty header, so equal input gives equal output.
func Gzip(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	w, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(b); err != nil {
		return nil, fmt.Errorf("cannot compress: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("cannot compress: %w", err)
	}
	return buf.Bytes(), nil
}
