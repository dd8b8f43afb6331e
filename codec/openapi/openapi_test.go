package openapi_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/k2d-project/k2d/codec"
	"github.com/k2d-project/k2d/codec/openapi"
	"github.com/k2d-project/k2d/codec/openapi/internal/generator"
)

type obj = map[string]any

func gunzip(t *testing.T, gz []byte) []byte {
	t.Helper()
	r, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatalf("not gzip: %v", err)
	}
	if !r.ModTime.IsZero() || r.Name != "" {
		t.Errorf("gzip header carries mtime %v name %q: output would not be reproducible", r.ModTime, r.Name)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decode(t *testing.T, b []byte) obj {
	t.Helper()
	var o obj
	if err := json.Unmarshal(b, &o); err != nil {
		t.Fatalf("invalid JSON: %v", err)
	}
	return o
}

func v2Doc(t *testing.T) obj { return decode(t, gunzip(t, openapi.V2Gzip())) }

func v3Doc(t *testing.T, gv string) obj {
	gz, _, ok := openapi.V3Gzip(gv)
	if !ok {
		t.Fatalf("no v3 document for %s", gv)
	}
	return decode(t, gunzip(t, gz))
}

func gvPath(k *codec.Kind) string {
	if k.Group == "" {
		return "api/" + k.Version
	}
	return "apis/" + k.Group + "/" + k.Version
}

func servedGVs() []string {
	seen := map[string]bool{}
	var out []string
	for _, k := range codec.Kinds {
		if p := gvPath(k); !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// TestCommittedFilesUpToDate fails when codec.Kinds (or k8s.io/api) changed without running
// the generator. It compares the documents, not the compressed bytes: a Go release may
// compress differently without the documents changing.
func TestCommittedFilesUpToDate(t *testing.T) {
	out, err := generator.Build(codec.Kinds)
	if err != nil {
		t.Fatalf("generator: %v", err)
	}
	files, err := generator.Files(out)
	if err != nil {
		t.Fatal(err)
	}
	docs := map[string][]byte{generator.FileName(""): out.V2.JSON}
	for _, d := range out.V3 {
		docs[generator.FileName(d.Path)] = d.JSON
	}
	const hint = "; run: go run ./codec/openapi/gen"
	for _, f := range files {
		have, err := os.ReadFile(filepath.FromSlash(f.Name))
		if err != nil {
			t.Errorf("%s: %v%s", f.Name, err, hint)
			continue
		}
		if want, ok := docs[f.Name]; ok {
			if !bytes.Equal(gunzip(t, have), want) {
				t.Errorf("%s is stale%s", f.Name, hint)
			}
			continue
		}
		if !bytes.Equal(have, f.Data) {
			t.Errorf("%s is stale%s", f.Name, hint)
		}
	}
	stale, _ := filepath.Glob(filepath.Join("v3", "*.json.gz"))
	for _, s := range stale {
		if _, ok := docs[filepath.ToSlash(s)]; !ok {
			t.Errorf("%s is not generated any more%s", s, hint)
		}
	}
}

func TestGeneratorDeterministic(t *testing.T) {
	a, err := generator.Build(codec.Kinds)
	if err != nil {
		t.Fatal(err)
	}
	b, err := generator.Build(codec.Kinds)
	if err != nil {
		t.Fatal(err)
	}
	fa, _ := generator.Files(a)
	fb, _ := generator.Files(b)
	if len(fa) != len(fb) {
		t.Fatal("different file sets")
	}
	for i := range fa {
		if fa[i].Name != fb[i].Name || !bytes.Equal(fa[i].Data, fb[i].Data) {
			t.Errorf("%s differs between two runs", fa[i].Name)
		}
	}
}

// walkRefs calls fn with every $ref in v.
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

func TestNoDanglingRefs(t *testing.T) {
	check := func(name string, doc obj, prefix string, defs obj) {
		n := 0
		walkRefs(doc, func(ref string) {
			n++
			if !strings.HasPrefix(ref, prefix) {
				t.Errorf("%s: $ref %q is not local", name, ref)
				return
			}
			if _, ok := defs[strings.TrimPrefix(ref, prefix)]; !ok {
				t.Errorf("%s: dangling $ref %q", name, ref)
			}
		})
		if n == 0 {
			t.Errorf("%s: no $ref at all", name)
		}
	}
	d2 := v2Doc(t)
	check("v2", d2, "#/definitions/", d2["definitions"].(obj))
	for _, gv := range servedGVs() {
		d3 := v3Doc(t, gv)
		check(gv, d3, "#/components/schemas/", d3["components"].(obj)["schemas"].(obj))
	}
}

func TestV3Index(t *testing.T) {
	var index struct {
		Paths map[string]struct {
			ServerRelativeURL string `json:"serverRelativeURL"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(openapi.V3IndexJSON(), &index); err != nil {
		t.Fatalf("index: %v", err)
	}
	var got []string
	for p, e := range index.Paths {
		got = append(got, p)
		_, hash, ok := openapi.V3Gzip(p)
		if !ok {
			t.Errorf("index lists %s but V3Gzip has no document", p)
			continue
		}
		if len(hash) != 128 || strings.ToUpper(hash) != hash {
			t.Errorf("%s: hash %q is not upper-case hex SHA-512", p, hash)
		}
		if want := "/openapi/v3/" + p + "?hash=" + hash; e.ServerRelativeURL != want {
			t.Errorf("%s: serverRelativeURL %q, want %q", p, e.ServerRelativeURL, want)
		}
	}
	sort.Strings(got)
	if strings.Join(got, " ") != strings.Join(servedGVs(), " ") {
		t.Errorf("index lists %v, served group-versions are %v", got, servedGVs())
	}
	if _, _, ok := openapi.V3Gzip("apis/batch/v1"); ok {
		t.Error("V3Gzip answers for a group-version k2d does not serve")
	}
	if !bytes.Equal(openapi.V3IndexJSON(), openapi.V3IndexJSON()) {
		t.Error("index changes between calls")
	}
}

func gvkOf(v any) (g, ver, k string, ok bool) {
	m, isObj := v.(obj)
	if !isObj || len(m) != 3 {
		return "", "", "", false
	}
	g, ok1 := m["group"].(string)
	ver, ok2 := m["version"].(string)
	k, ok3 := m["kind"].(string)
	return g, ver, k, ok1 && ok2 && ok3
}

func hasParam(op obj, name string) bool {
	params, _ := op["parameters"].([]any)
	for _, p := range params {
		if p.(obj)["name"] == name {
			return true
		}
	}
	return false
}

// TestFieldValidationDetected repeats kubectl's check (QueryParamVerifierV3 in cli-runtime):
// the first PATCH operation whose x-kubernetes-group-version-kind is the kind must declare the
// fieldValidation parameter, or kubectl validates on the client against /openapi/v2 in
// protobuf. Paths are a map, so every PATCH of the kind must declare it. The v2 document is
// checked the same way (QueryParamVerifier, the fallback).
func TestFieldValidationDetected(t *testing.T) {
	check := func(doc obj, name string, k *codec.Kind) {
		found := 0
		for path, item := range doc["paths"].(obj) {
			for method, op := range item.(obj) {
				o, ok := op.(obj)
				if !ok {
					continue
				}
				g, v, kind, ok := gvkOf(o["x-kubernetes-group-version-kind"])
				if !ok || g != k.Group || v != k.Version || kind != k.Kind {
					continue
				}
				switch method {
				case "patch":
					found++
					fallthrough
				case "post", "put":
					for _, p := range []string{"fieldValidation", "dryRun", "fieldManager"} {
						if !hasParam(o, p) {
							t.Errorf("%s: %s %s has no %s parameter", name, method, path, p)
						}
					}
				}
			}
		}
		if found == 0 && has(k.Verbs, "patch") {
			t.Errorf("%s: no PATCH operation for %s: kubectl would fall back to client-side validation", name, k.GroupResource())
		}
	}
	d2 := v2Doc(t)
	for _, k := range codec.Kinds {
		check(v3Doc(t, gvPath(k)), gvPath(k), k)
		check(d2, "v2", k)
	}
}

func has(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// TestExplainFindsKinds repeats what kubectl explain's template does: take the GVK of the
// resource's list or get operation, then find the one schema that carries it.
func TestExplainFindsKinds(t *testing.T) {
	for _, k := range codec.Kinds {
		doc := v3Doc(t, gvPath(k))
		prefix := "/" + gvPath(k)
		var candidates []string
		if k.Namespaced {
			candidates = []string{prefix + "/namespaces/{namespace}/" + k.Resource, prefix + "/namespaces/{namespace}/" + k.Resource + "/{name}"}
		} else {
			candidates = []string{prefix + "/" + k.Resource, prefix + "/" + k.Resource + "/{name}"}
		}
		var gvk obj
		for _, c := range candidates {
			item, ok := doc["paths"].(obj)[c].(obj)
			if !ok {
				continue
			}
			for _, m := range []string{"get", "post", "put", "patch", "delete"} {
				if op, ok := item[m].(obj); ok && op["x-kubernetes-group-version-kind"] != nil {
					gvk = op["x-kubernetes-group-version-kind"].(obj)
					break
				}
			}
			if gvk != nil {
				break
			}
		}
		if gvk == nil {
			t.Errorf("%s: no operation carries x-kubernetes-group-version-kind", k.GroupResource())
			continue
		}
		matches := 0
		for name, s := range doc["components"].(obj)["schemas"].(obj) {
			list, _ := s.(obj)["x-kubernetes-group-version-kind"].([]any)
			for _, e := range list {
				if equalJSON(e, gvk) {
					matches++
					props, _ := s.(obj)["properties"].(obj)
					for _, f := range []string{"apiVersion", "kind", "metadata"} {
						if props[f] == nil {
							t.Errorf("%s: schema %s has no %s", k.GroupResource(), name, f)
						}
					}
				}
			}
		}
		if matches != 1 {
			t.Errorf("%s: %d schemas carry GVK %v, want 1", k.GroupResource(), matches, gvk)
		}
	}
}

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

func TestOperations(t *testing.T) {
	actions := map[string]bool{"get": true, "list": true, "post": true, "put": true, "patch": true, "delete": true,
		"deletecollection": true, "connect": true}
	for name, doc := range map[string]obj{"v2": v2Doc(t), "api/v1": v3Doc(t, "api/v1")} {
		ids := map[string]string{}
		for path, item := range doc["paths"].(obj) {
			for method, op := range item.(obj) {
				if method == "parameters" {
					continue
				}
				o := op.(obj)
				id, _ := o["operationId"].(string)
				if id == "" {
					t.Errorf("%s: %s %s has no operationId", name, method, path)
				}
				if other, dup := ids[id]; dup {
					t.Errorf("%s: operationId %s on %s and %s", name, id, other, path)
				}
				ids[id] = path
				if a, ok := o["x-kubernetes-action"].(string); ok && !actions[a] {
					t.Errorf("%s: %s %s: unknown action %q", name, method, path, a)
				}
				if _, ok := o["responses"].(obj)["200"]; !ok {
					t.Errorf("%s: %s %s has no 200 response", name, method, path)
				}
			}
		}
		for _, want := range []string{"listCoreV1NamespacedPod", "createCoreV1NamespacedPod", "readCoreV1NamespacedPod",
			"replaceCoreV1NamespacedPod", "patchCoreV1NamespacedPod", "deleteCoreV1NamespacedPod",
			"deleteCoreV1CollectionNamespacedPod", "listCoreV1PodForAllNamespaces", "readCoreV1NamespacedPodStatus",
			"readCoreV1NamespacedPodLog", "connectCoreV1PostNamespacedPodExec", "listCoreV1Namespace", "readCoreV1Node"} {
			if _, ok := ids[want]; !ok {
				t.Errorf("%s: no operation %s", name, want)
			}
		}
	}
	d := v2Doc(t)
	pods := d["paths"].(obj)["/api/v1/namespaces/{namespace}/pods"].(obj)
	list := pods["get"].(obj)
	for _, p := range []string{"labelSelector", "fieldSelector", "watch", "resourceVersion", "limit", "continue", "allowWatchBookmarks", "timeoutSeconds"} {
		if !hasParam(list, p) {
			t.Errorf("list pods: no %s parameter", p)
		}
	}
	if got := list["x-kubernetes-action"]; got != "list" {
		t.Errorf("list pods: action %v", got)
	}
	exec := d["paths"].(obj)["/api/v1/namespaces/{namespace}/pods/{name}/exec"].(obj)["post"].(obj)
	for _, p := range []string{"command", "container", "stdin", "stdout", "stderr", "tty"} {
		if !hasParam(exec, p) {
			t.Errorf("exec: no %s parameter", p)
		}
	}
	if g, _, k, _ := gvkOf(exec["x-kubernetes-group-version-kind"]); g != "" || k != "PodExecOptions" {
		t.Errorf("exec: GVK %v", exec["x-kubernetes-group-version-kind"])
	}
	log := d["paths"].(obj)["/api/v1/namespaces/{namespace}/pods/{name}/log"].(obj)["get"].(obj)
	if hasParam(log, "sinceTime") || !hasParam(log, "tailLines") || !hasParam(log, "follow") {
		t.Error("log parameters differ from the API server's")
	}
}

// TestSchemas spot-checks what clients rely on.
func TestSchemas(t *testing.T) {
	d2 := v2Doc(t)["definitions"].(obj)
	d3 := v3Doc(t, "api/v1")["components"].(obj)["schemas"].(obj)
	def := func(defs obj, n string) obj {
		t.Helper()
		s, ok := defs[n].(obj)
		if !ok {
			t.Fatalf("no definition %s", n)
		}
		return s
	}
	prop := func(s obj, n string) obj {
		t.Helper()
		p, ok := s["properties"].(obj)[n].(obj)
		if !ok {
			t.Fatalf("no property %s", n)
		}
		return p
	}
	for _, defs := range []obj{d2, d3} {
		pod := def(defs, "io.k8s.api.core.v1.Pod")
		if pod["description"] == "" || pod["type"] != "object" {
			t.Errorf("Pod: %v", pod)
		}
		spec := def(defs, "io.k8s.api.core.v1.PodSpec")
		containers := prop(spec, "containers")
		if containers["x-kubernetes-patch-merge-key"] != "name" || containers["x-kubernetes-patch-strategy"] != "merge" ||
			containers["x-kubernetes-list-type"] != "map" || !equalJSON(containers["x-kubernetes-list-map-keys"], []any{"name"}) {
			t.Errorf("PodSpec.containers merge semantics: %v", containers)
		}
		if !equalJSON(spec["required"], []any{"containers"}) {
			t.Errorf("PodSpec.required = %v", spec["required"])
		}
		if !equalJSON(def(defs, "io.k8s.api.core.v1.Container")["required"], []any{"name"}) {
			t.Error("Container.required")
		}
		if def(defs, "io.k8s.api.core.v1.ObjectReference")["x-kubernetes-map-type"] != "atomic" {
			t.Error("ObjectReference is +structType=atomic")
		}
		if _, ok := def(defs, "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta")["required"]; ok {
			t.Error("ObjectMeta has no required field")
		}
		ipp := prop(def(defs, "io.k8s.api.core.v1.Container"), "imagePullPolicy")
		if !equalJSON(ipp["enum"], []any{"Always", "IfNotPresent", "Never"}) ||
			!strings.Contains(ipp["description"].(string), "\n\nPossible enum values:\n - `\"Always\"` means") {
			t.Errorf("imagePullPolicy enum: %v", ipp)
		}
		tm := def(defs, "io.k8s.apimachinery.pkg.apis.meta.v1.Time")
		if tm["type"] != "string" || tm["format"] != "date-time" {
			t.Errorf("Time: %v", tm)
		}
		ios := def(defs, "io.k8s.apimachinery.pkg.util.intstr.IntOrString")
		if ios["format"] != "int-or-string" || ios["x-kubernetes-int-or-string"] != true {
			t.Errorf("IntOrString: %v", ios)
		}
		if _, ok := def(defs, "io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent")["x-kubernetes-group-version-kind"]; !ok {
			t.Error("WatchEvent has no GVK")
		}
		labels := prop(def(defs, "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"), "labels")
		if labels["type"] != "object" || labels["additionalProperties"].(obj)["type"] != "string" {
			t.Errorf("labels: %v", labels)
		}
	}
	if q := def(d2, "io.k8s.apimachinery.pkg.api.resource.Quantity"); q["type"] != "string" {
		t.Errorf("v2 Quantity: %v", q)
	}
	if q := def(d3, "io.k8s.apimachinery.pkg.api.resource.Quantity"); q["oneOf"] == nil {
		t.Errorf("v3 Quantity: %v", q)
	}
	// v3 carries defaults as openapi-gen writes them; v2 never does.
	if p := prop(def(d3, "io.k8s.api.core.v1.Container"), "name"); p["default"] != "" {
		t.Errorf("v3 Container.name default = %v", p["default"])
	}
	if p := prop(def(d3, "io.k8s.api.core.v1.ContainerPort"), "protocol"); p["default"] != "TCP" {
		t.Errorf("v3 ContainerPort.protocol default = %v (+default marker)", p["default"])
	}
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case obj:
			if _, ok := x["default"]; ok {
				t.Errorf("v2 carries a default: %v", x)
			}
			for _, y := range x {
				walk(y)
			}
		case []any:
			for _, y := range x {
				walk(y)
			}
		}
	}
	walk(d2)
}
