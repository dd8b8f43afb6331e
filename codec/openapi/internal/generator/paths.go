package generator

import (
	"fmt"
	"reflect"
	"strings"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/version"

	"github.com/k2d-project/k2d/codec"
)

// param is a path or query parameter.
type param struct {
	name, in, desc, typ string
	required            bool
}

// response is one status code of an operation; a nil schema means a plain string body.
type response struct {
	code, desc string
	schema     reflect.Type
}

// operation is one method on one path, in a form both dialects are rendered from.
type operation struct {
	method, id, desc, action, tag string
	gvk                           *gvk
	params                        []param
	body                          reflect.Type
	bodyRequired                  bool
	consumes, produces            []string
	responses                     []response
}

type pathItem struct {
	path   string
	gv     string // "api/v1", "apis/events.k8s.io/v1"; "" for paths outside any group-version
	params []param
	ops    []*operation
}

const (
	mimeJSON      = "application/json"
	mimeJSONWatch = "application/json;stream=watch"
)

// patchTypes are the PATCH body types the server accepts.
var patchTypes = []string{
	"application/json-patch+json",
	"application/merge-patch+json",
	"application/strategic-merge-patch+json",
	"application/apply-patch+yaml",
}

var (
	typeStatus          = reflect.TypeFor[metav1.Status]()
	typeDeleteOptions   = reflect.TypeFor[metav1.DeleteOptions]()
	typeWatchEvent      = reflect.TypeFor[metav1.WatchEvent]()
	typePatch           = reflect.TypeFor[metav1.Patch]()
	typeAPIResourceList = reflect.TypeFor[metav1.APIResourceList]()
	typeAPIVersions     = reflect.TypeFor[metav1.APIVersions]()
	typeAPIGroupList    = reflect.TypeFor[metav1.APIGroupList]()
	typeAPIGroup        = reflect.TypeFor[metav1.APIGroup]()
	typeVersionInfo     = reflect.TypeFor[version.Info]()
)

// deleteReturnsObject lists kinds whose DELETE answers with the object rather than a Status:
// the ones with graceful deletion, which stay visible (with deletionTimestamp) for a while.
var deleteReturnsObject = map[string]bool{"Pod": true}

// connectOptions are the option types of the connect subresources; their fields are the query
// parameters, exactly as the API server derives them.
var connectOptions = map[string]reflect.Type{
	"exec":        reflect.TypeFor[corev1.PodExecOptions](),
	"attach":      reflect.TypeFor[corev1.PodAttachOptions](),
	"portforward": reflect.TypeFor[corev1.PodPortForwardOptions](),
}

// subresourceTypes maps the group/version/kind of a subresource that has its own type.
var subresourceTypes = map[string]reflect.Type{
	"autoscaling/v1/Scale": reflect.TypeFor[autoscalingv1.Scale](),
}

func gvPath(group, ver string) string {
	if group == "" {
		return "api/" + ver
	}
	return "apis/" + group + "/" + ver
}

// groupWords splits "events.k8s.io" into ["events"] and "rbac.authorization.k8s.io" into
// ["rbac", "authorization"]: the API server builds operation IDs and tags from them.
func groupWords(group string) []string {
	if group == "" {
		return []string{"core"}
	}
	g := strings.TrimSuffix(strings.TrimSuffix(group, ".k8s.io"), ".x-k8s.io")
	return strings.FieldsFunc(g, func(r rune) bool { return r == '.' || r == '-' })
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// opGV is the group-version part of an operation ID: "CoreV1", "EventsV1".
func opGV(group, ver string) string {
	var b strings.Builder
	for _, w := range groupWords(group) {
		b.WriteString(upperFirst(w))
	}
	return b.String() + upperFirst(ver)
}

// tag is the operation tag: "core_v1", "events_v1", "rbacAuthorization_v1".
func tag(group, ver string) string {
	words := groupWords(group)
	for i := 1; i < len(words); i++ {
		words[i] = upperFirst(words[i])
	}
	return strings.Join(words, "") + "_" + ver
}

func groupTag(group string) string {
	words := groupWords(group)
	for i := 1; i < len(words); i++ {
		words[i] = upperFirst(words[i])
	}
	return strings.Join(words, "")
}

func article(word string) string {
	if word != "" && strings.ContainsRune("AEIOU", rune(word[0])) {
		return "an " + word
	}
	return "a " + word
}

var (
	paramPretty = param{name: "pretty", in: "query", typ: "string", desc: "If 'true', then the output is pretty printed."}
	paramNS     = param{name: "namespace", in: "path", typ: "string", required: true, desc: "object name and auth scope, such as for teams and projects"}
)

func paramName(kind string) param {
	return param{name: "name", in: "path", typ: "string", required: true, desc: "name of the " + kind}
}

// optionParams derives query parameters from an options struct the way the API server does:
// one per JSON field of a scalar or scalar-list type, described by the type's SwaggerDoc;
// struct-valued fields (preconditions, sinceTime) cannot be query parameters and are skipped.
func optionParams(t reflect.Type, exclude ...string) ([]param, error) {
	skip := map[string]bool{}
	for _, e := range exclude {
		skip[e] = true
	}
	var out []param
	for _, fl := range jsonFields(t) {
		if fl.owner == reflect.TypeFor[metav1.TypeMeta]() || skip[fl.name] {
			continue
		}
		ft := fl.sf.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Slice {
			ft = ft.Elem()
		}
		var typ string
		switch ft.Kind() {
		case reflect.String:
			typ = "string"
		case reflect.Bool:
			typ = "boolean"
		case reflect.Int, reflect.Int32, reflect.Int64, reflect.Uint32, reflect.Uint64:
			typ = "integer"
		case reflect.Struct, reflect.Interface, reflect.Map:
			continue
		default:
			return nil, fmt.Errorf("option %s.%s: no query parameter type for %s", t, fl.name, ft)
		}
		out = append(out, param{name: fl.name, in: "query", typ: typ, desc: swaggerDoc(fl.owner)[fl.name]})
	}
	return out, nil
}

// mustParams is optionParams for the fixed option types below: a failure means k8s.io changed
// an option struct, and the generator cannot run at all until optionParams learns the new type.
func mustParams(t reflect.Type, exclude ...string) []param {
	p, err := optionParams(t, exclude...)
	if err != nil {
		panic(err)
	}
	return p
}

var (
	listParams     = mustParams(reflect.TypeFor[metav1.ListOptions]())
	createParams   = mustParams(reflect.TypeFor[metav1.CreateOptions]())
	updateParams   = mustParams(reflect.TypeFor[metav1.UpdateOptions]())
	patchParams    = mustParams(reflect.TypeFor[metav1.PatchOptions]())
	deleteParams   = mustParams(typeDeleteOptions)
	deleteColParam = append(append([]param(nil), deleteParams...),
		mustParams(reflect.TypeFor[metav1.ListOptions](), "watch", "allowWatchBookmarks", "sendInitialEvents")...)
	logParams = mustParams(reflect.TypeFor[corev1.PodLogOptions]())
)

func has(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// kindPaths returns the paths and operations of one served kind.
func kindPaths(k *codec.Kind) ([]*pathItem, error) {
	obj := reflect.TypeOf(k.New()).Elem()
	var list reflect.Type
	if k.NewList != nil {
		list = reflect.TypeOf(k.NewList()).Elem()
	}
	g := &gvk{Group: k.Group, Version: k.Version, Kind: k.Kind}
	gv := gvPath(k.Group, k.Version)
	prefix := "/" + gv
	id := opGV(k.Group, k.Version)
	tg := tag(k.Group, k.Version)
	ns := ""
	collection := prefix + "/" + k.Resource
	collParams := []param{paramPretty}
	if k.Namespaced {
		ns = "Namespaced"
		collection = prefix + "/namespaces/{namespace}/" + k.Resource
		collParams = []param{paramNS, paramPretty}
	}
	item := collection + "/{name}"
	itemParams := append([]param{paramName(k.Kind)}, collParams...)

	coll := &pathItem{path: collection, gv: gv, params: collParams}
	one := &pathItem{path: item, gv: gv, params: itemParams}
	var out []*pathItem

	objResp := func(codes ...string) []response {
		var rs []response
		for _, c := range codes {
			rs = append(rs, response{code: c, desc: statusText[c], schema: obj})
		}
		return rs
	}
	listOp := func(opID string) *operation {
		return &operation{
			method: "get", id: opID, desc: "list or watch objects of kind " + k.Kind, action: "list", tag: tg, gvk: g,
			params: listParams, produces: []string{mimeJSON, mimeJSONWatch},
			responses: []response{{code: "200", desc: "OK", schema: list}},
		}
	}
	if has(k.Verbs, "list") {
		coll.ops = append(coll.ops, listOp("list"+id+ns+k.Kind))
		if k.Namespaced {
			out = append(out, &pathItem{
				path: prefix + "/" + k.Resource, gv: gv, params: []param{paramPretty},
				ops: []*operation{listOp("list" + id + k.Kind + "ForAllNamespaces")},
			})
		}
	}
	if has(k.Verbs, "create") {
		coll.ops = append(coll.ops, &operation{
			method: "post", id: "create" + id + ns + k.Kind, desc: "create " + article(k.Kind), action: "post", tag: tg, gvk: g,
			params: createParams, body: obj, bodyRequired: true, consumes: []string{"*/*"}, produces: []string{mimeJSON},
			responses: objResp("200", "201", "202"),
		})
	}
	if has(k.Verbs, "deletecollection") {
		coll.ops = append(coll.ops, &operation{
			method: "delete", id: "delete" + id + "Collection" + ns + k.Kind, desc: "delete collection of " + k.Kind,
			action: "deletecollection", tag: tg, gvk: g,
			params: deleteColParam, body: typeDeleteOptions, consumes: []string{"*/*"}, produces: []string{mimeJSON},
			responses: []response{{code: "200", desc: "OK", schema: typeStatus}},
		})
	}
	if has(k.Verbs, "get") {
		one.ops = append(one.ops, &operation{
			method: "get", id: "read" + id + ns + k.Kind, desc: "read the specified " + k.Kind, action: "get", tag: tg, gvk: g,
			produces: []string{mimeJSON}, responses: objResp("200"),
		})
	}
	if has(k.Verbs, "update") {
		one.ops = append(one.ops, &operation{
			method: "put", id: "replace" + id + ns + k.Kind, desc: "replace the specified " + k.Kind, action: "put", tag: tg, gvk: g,
			params: updateParams, body: obj, bodyRequired: true, consumes: []string{"*/*"}, produces: []string{mimeJSON},
			responses: objResp("200", "201"),
		})
	}
	if has(k.Verbs, "patch") {
		one.ops = append(one.ops, &operation{
			method: "patch", id: "patch" + id + ns + k.Kind, desc: "partially update the specified " + k.Kind, action: "patch", tag: tg, gvk: g,
			params: patchParams, body: typePatch, bodyRequired: true, consumes: patchTypes, produces: []string{mimeJSON},
			responses: objResp("200", "201"),
		})
	}
	if has(k.Verbs, "delete") {
		del := typeStatus
		if deleteReturnsObject[k.Kind] {
			del = obj
		}
		one.ops = append(one.ops, &operation{
			method: "delete", id: "delete" + id + ns + k.Kind, desc: "delete " + article(k.Kind), action: "delete", tag: tg, gvk: g,
			params: deleteParams, body: typeDeleteOptions, consumes: []string{"*/*"}, produces: []string{mimeJSON},
			responses: []response{{code: "200", desc: "OK", schema: del}, {code: "202", desc: "Accepted", schema: del}},
		})
	}
	for _, p := range []*pathItem{coll, one} {
		if len(p.ops) > 0 {
			out = append(out, p)
		}
	}

	for _, sub := range k.Subresources {
		items, err := subresourcePath(k, sub, obj, item, itemParams, id, ns, tg, g, gv)
		if err != nil {
			return nil, err
		}
		out = append(out, items)
	}
	return out, nil
}

var statusText = map[string]string{"200": "OK", "201": "Created", "202": "Accepted"}

func subresourcePath(k *codec.Kind, sub codec.Subresource, parent reflect.Type, item string, itemParams []param,
	id, ns, tg string, g *gvk, gv string) (*pathItem, error) {
	p := &pathItem{path: item + "/" + sub.Name, gv: gv, params: itemParams}
	suffix := upperFirst(sub.Name)
	switch sub.Name {
	case "log":
		if !has(sub.Verbs, "get") || len(sub.Verbs) != 1 {
			return nil, fmt.Errorf("%s/log: only get is supported, have %v", k.Resource, sub.Verbs)
		}
		p.ops = append(p.ops, &operation{
			method: "get", id: "read" + id + ns + k.Kind + "Log", desc: "read log of the specified " + k.Kind, action: "get", tag: tg, gvk: g,
			params: logParams, produces: []string{"text/plain"},
			responses: []response{{code: "200", desc: "OK"}},
		})
		return p, nil
	case "exec", "attach", "portforward":
		opts := connectOptions[sub.Name]
		params, err := optionParams(opts)
		if err != nil {
			return nil, err
		}
		og := &gvk{Group: k.Group, Version: k.Version, Kind: opts.Name()}
		p.params = append([]param{paramName(opts.Name())}, itemParams[1:]...)
		p.params = p.params[:len(p.params)-1] // connect paths take no "pretty"
		for _, verb := range sub.Verbs {
			method := map[string]string{"get": "get", "create": "post"}[verb]
			if method == "" {
				return nil, fmt.Errorf("%s/%s: verb %q cannot connect", k.Resource, sub.Name, verb)
			}
			p.ops = append(p.ops, &operation{
				method: method, id: "connect" + id + upperFirst(method) + ns + k.Kind + suffix,
				desc: "connect " + strings.ToUpper(method) + " requests to " + sub.Name + " of " + k.Kind, action: "connect", tag: tg, gvk: og,
				params: params, consumes: []string{"*/*"}, produces: []string{"*/*"},
				responses: []response{{code: "200", desc: "OK"}},
			})
		}
		return p, nil
	}

	// status, scale and the like: the object (or the subresource's own kind) read and written
	// through the subresource path.
	typ := parent
	sg := g
	if sub.Kind != "" && sub.Kind != k.Kind {
		grp, ver := sub.Group, sub.Ver
		if ver == "" {
			grp, ver = k.Group, k.Version
		}
		t, ok := subresourceTypes[grp+"/"+ver+"/"+sub.Kind]
		if !ok {
			return nil, fmt.Errorf("%s/%s: no Go type known for %s/%s %s", k.Resource, sub.Name, grp, ver, sub.Kind)
		}
		typ = t
		sg = &gvk{Group: grp, Version: ver, Kind: sub.Kind}
	}
	for _, verb := range sub.Verbs {
		var op *operation
		switch verb {
		case "get":
			op = &operation{method: "get", id: "read" + id + ns + k.Kind + suffix, desc: "read " + sub.Name + " of the specified " + k.Kind,
				action: "get", produces: []string{mimeJSON}, responses: []response{{code: "200", desc: "OK", schema: typ}}}
		case "update":
			op = &operation{method: "put", id: "replace" + id + ns + k.Kind + suffix, desc: "replace " + sub.Name + " of the specified " + k.Kind,
				action: "put", params: updateParams, body: typ, bodyRequired: true, consumes: []string{"*/*"}, produces: []string{mimeJSON},
				responses: []response{{code: "200", desc: "OK", schema: typ}, {code: "201", desc: "Created", schema: typ}}}
		case "patch":
			op = &operation{method: "patch", id: "patch" + id + ns + k.Kind + suffix, desc: "partially update " + sub.Name + " of the specified " + k.Kind,
				action: "patch", params: patchParams, body: typePatch, bodyRequired: true, consumes: patchTypes, produces: []string{mimeJSON},
				responses: []response{{code: "200", desc: "OK", schema: typ}, {code: "201", desc: "Created", schema: typ}}}
		default:
			return nil, fmt.Errorf("%s/%s: verb %q is not supported on a subresource", k.Resource, sub.Name, verb)
		}
		op.tag, op.gvk = tg, sg
		p.ops = append(p.ops, op)
	}
	return p, nil
}

// discoveryPaths are the discovery endpoints: the resource list of each group-version (in its
// own v3 document too) and, in v2 only, the group and version lists and /version.
func discoveryPaths(gvs []gvKey) []*pathItem {
	var out []*pathItem
	groups := map[string]bool{}
	for _, gv := range gvs {
		p := gvPath(gv.group, gv.version)
		out = append(out, &pathItem{path: "/" + p + "/", gv: p, ops: []*operation{{
			method: "get", id: "get" + opGV(gv.group, gv.version) + "APIResources", desc: "get available resources",
			tag: tag(gv.group, gv.version), consumes: []string{mimeJSON}, produces: []string{mimeJSON},
			responses: []response{{code: "200", desc: "OK", schema: typeAPIResourceList}},
		}}})
		if gv.group != "" && !groups[gv.group] {
			groups[gv.group] = true
			out = append(out, &pathItem{path: "/apis/" + gv.group + "/", ops: []*operation{{
				method: "get", id: "get" + opGV(gv.group, "") + "APIGroup", desc: "get information of a group",
				tag: groupTag(gv.group), consumes: []string{mimeJSON}, produces: []string{mimeJSON},
				responses: []response{{code: "200", desc: "OK", schema: typeAPIGroup}},
			}}})
		}
	}
	out = append(out,
		&pathItem{path: "/api/", ops: []*operation{{
			method: "get", id: "getCoreAPIVersions", desc: "get available API versions", tag: "core",
			consumes: []string{mimeJSON}, produces: []string{mimeJSON},
			responses: []response{{code: "200", desc: "OK", schema: typeAPIVersions}},
		}}},
		&pathItem{path: "/apis/", ops: []*operation{{
			method: "get", id: "getAPIVersions", desc: "get available API versions", tag: "apis",
			consumes: []string{mimeJSON}, produces: []string{mimeJSON},
			responses: []response{{code: "200", desc: "OK", schema: typeAPIGroupList}},
		}}},
		&pathItem{path: "/version/", ops: []*operation{{
			method: "get", id: "getCodeVersion", desc: "get the version information for this server", tag: "version",
			consumes: []string{mimeJSON}, produces: []string{mimeJSON},
			responses: []response{{code: "200", desc: "OK", schema: typeVersionInfo}},
		}}},
	)
	return out
}

type gvKey struct{ group, version string }
