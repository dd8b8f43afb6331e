package generator

import (
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// flavor selects the dialect a schema is written in: swagger 2.0 or OpenAPI 3.0.
type flavor int

const (
	v2 flavor = iota
	v3
)

func (f flavor) refPrefix() string {
	if f == v2 {
		return "#/definitions/"
	}
	return "#/components/schemas/"
}

// obj is a JSON object; encoding/json sorts its keys, which makes the output deterministic.
type obj = map[string]any

// gvk is an x-kubernetes-group-version-kind entry.
type gvk struct{ Group, Version, Kind string }

func (g gvk) json() obj { return obj{"group": g.Group, "version": g.Version, "kind": g.Kind} }

// opaque types marshal themselves; their schema cannot be reflected from their fields. Every
// type with its own JSON methods must be listed here, or the generator fails: a silently wrong
// schema would make clients reject valid objects.
type opaqueSchema struct {
	v2, v3 obj
}

var (
	typeTime        = reflect.TypeFor[metav1.Time]()
	typeMicroTime   = reflect.TypeFor[metav1.MicroTime]()
	typeQuantity    = reflect.TypeFor[resource.Quantity]()
	typeIntOrString = reflect.TypeFor[intstr.IntOrString]()
	typeRawExt      = reflect.TypeFor[runtime.RawExtension]()
	typeFieldsV1    = reflect.TypeFor[metav1.FieldsV1]()
	typeDuration    = reflect.TypeFor[metav1.Duration]()
)

var opaqueTypes = map[reflect.Type]opaqueSchema{
	typeTime:      {obj{"type": "string", "format": "date-time"}, obj{"type": "string", "format": "date-time"}},
	typeMicroTime: {obj{"type": "string", "format": "date-time"}, obj{"type": "string", "format": "date-time"}},
	// A Quantity is sent as a string but accepted as a number too; v3 can say so.
	typeQuantity: {obj{"type": "string"}, obj{"oneOf": []any{obj{"type": "string"}, obj{"type": "number"}}}},
	typeIntOrString: {
		obj{"type": "string", "format": "int-or-string", "x-kubernetes-int-or-string": true},
		obj{"format": "int-or-string", "oneOf": []any{obj{"type": "integer"}, obj{"type": "string"}}, "x-kubernetes-int-or-string": true},
	},
	typeRawExt:   {obj{"type": "object"}, obj{"type": "object"}},
	typeFieldsV1: {obj{"type": "object"}, obj{"type": "object"}},
	typeDuration: {obj{"type": "string"}, obj{"type": "string"}},
}

var (
	jsonMarshaler   = reflect.TypeFor[json.Marshaler]()
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

func customJSON(t reflect.Type) bool {
	pt := reflect.PointerTo(t)
	return t.Implements(jsonMarshaler) || pt.Implements(jsonMarshaler) ||
		pt.Implements(jsonUnmarshaler) || pt.Implements(textUnmarshaler)
}

// registry collects the named definitions reached from the served kinds.
type registry struct {
	src   *sourceIndex
	names map[reflect.Type]string
	types map[string]reflect.Type
	gvks  map[string][]gvk
}

func newRegistry(src *sourceIndex) *registry {
	return &registry{src: src, names: map[reflect.Type]string{}, types: map[string]reflect.Type{}, gvks: map[string][]gvk{}}
}

type modelNamer interface{ OpenAPIModelName() string }

// modelName returns the definition name Kubernetes uses for t, e.g. io.k8s.api.core.v1.Pod.
func modelName(t reflect.Type) string {
	if n, ok := reflect.Zero(t).Interface().(modelNamer); ok {
		return n.OpenAPIModelName()
	}
	// The openapi-gen convention: the import path with its host reversed, then the type name.
	path := t.PkgPath()
	host, rest, _ := strings.Cut(path, "/")
	parts := strings.Split(host, ".")
	for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	name := strings.Join(parts, ".")
	if rest != "" {
		name += "." + strings.ReplaceAll(rest, "/", ".")
	}
	return name + "." + t.Name()
}

// ref registers t as a definition and returns its name.
func (r *registry) ref(t reflect.Type) (string, error) {
	if n, ok := r.names[t]; ok {
		return n, nil
	}
	if t.Name() == "" || t.PkgPath() == "" {
		return "", fmt.Errorf("cannot name anonymous type %s", t)
	}
	n := modelName(t)
	if other, ok := r.types[n]; ok && other != t {
		return "", fmt.Errorf("definition %s names both %s and %s", n, other, t)
	}
	r.names[t] = n
	r.types[n] = t
	return n, nil
}

// addGVK records that definition t is served as group/version/kind.
func (r *registry) addGVK(t reflect.Type, g gvk) error {
	n, err := r.ref(t)
	if err != nil {
		return err
	}
	for _, have := range r.gvks[n] {
		if have == g {
			return nil
		}
	}
	r.gvks[n] = append(r.gvks[n], g)
	sort.Slice(r.gvks[n], func(i, j int) bool {
		a, b := r.gvks[n][i], r.gvks[n][j]
		if a.Group != b.Group {
			return a.Group < b.Group
		}
		if a.Version != b.Version {
			return a.Version < b.Version
		}
		return a.Kind < b.Kind
	})
	return nil
}

func (r *registry) refSchema(t reflect.Type, f flavor) (obj, error) {
	n, err := r.ref(t)
	if err != nil {
		return nil, err
	}
	return obj{"$ref": f.refPrefix() + n}, nil
}

// typeSchema returns the schema of a value of type t as it appears inside a property, an array
// item or a map value: a $ref for named structs and opaque types, inline for everything else.
func (r *registry) typeSchema(t reflect.Type, f flavor) (obj, error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if _, ok := opaqueTypes[t]; ok {
		return r.refSchema(t, f)
	}
	if customJSON(t) {
		return nil, fmt.Errorf("type %s has its own JSON encoding and no schema in opaqueTypes", t)
	}
	switch t.Kind() {
	case reflect.String:
		return obj{"type": "string"}, nil
	case reflect.Bool:
		return obj{"type": "boolean"}, nil
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int, reflect.Uint8, reflect.Uint16:
		return obj{"type": "integer", "format": "int32"}, nil
	case reflect.Int64, reflect.Uint32, reflect.Uint64, reflect.Uint:
		return obj{"type": "integer", "format": "int64"}, nil
	case reflect.Float32:
		return obj{"type": "number", "format": "float"}, nil
	case reflect.Float64:
		return obj{"type": "number", "format": "double"}, nil
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return obj{"type": "string", "format": "byte"}, nil
		}
		items, err := r.elemSchema(t.Elem(), f)
		if err != nil {
			return nil, err
		}
		return obj{"type": "array", "items": items}, nil
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return nil, fmt.Errorf("map %s: only string keys have a JSON schema", t)
		}
		values, err := r.elemSchema(t.Elem(), f)
		if err != nil {
			return nil, err
		}
		return obj{"type": "object", "additionalProperties": values}, nil
	case reflect.Struct:
		return r.refSchema(t, f)
	}
	return nil, fmt.Errorf("type %s (%s) has no JSON schema mapping", t, t.Kind())
}

// elemSchema is typeSchema for array items and map values, which in v3 carry the zero value as
// default when they are not pointers, as openapi-gen writes them.
func (r *registry) elemSchema(t reflect.Type, f flavor) (obj, error) {
	s, err := r.typeSchema(t, f)
	if err != nil {
		return nil, err
	}
	if f == v3 {
		if d, ok := zeroDefault(t); ok {
			s["default"] = d
		}
	}
	return s, nil
}

// zeroDefault is the default openapi-gen enforces on a non-pointer value that JSON always
// carries: the Go zero value for scalars, {} for objects. Quantity and IntOrString get none,
// since {} is not a valid value of either.
func zeroDefault(t reflect.Type) (any, bool) {
	switch t.Kind() {
	case reflect.String:
		return "", true
	case reflect.Bool:
		return false, true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return 0, true
	case reflect.Struct:
		if t == typeQuantity || t == typeIntOrString {
			return nil, false
		}
		return obj{}, true
	}
	return nil, false
}

// field is one JSON property of a struct, after inlining embedded structs.
type field struct {
	owner     reflect.Type // the struct that declares the Go field
	sf        reflect.StructField
	name      string
	omitempty bool
}

// jsonFields lists the JSON properties of struct t in declaration order, flattening embedded
// structs without a JSON name (TypeMeta, VolumeSource, ...) the way encoding/json does.
func jsonFields(t reflect.Type) []field {
	var out []field
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		tag := sf.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		if tag == "-" {
			continue
		}
		if sf.Anonymous && name == "" {
			et := sf.Type
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				out = append(out, jsonFields(et)...)
				continue
			}
		}
		if !sf.IsExported() {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		out = append(out, field{owner: t, sf: sf, name: name, omitempty: hasOpt(opts, "omitempty")})
	}
	return out
}

func hasOpt(opts, want string) bool {
	for opts != "" {
		var o string
		o, opts, _ = strings.Cut(opts, ",")
		if o == want {
			return true
		}
	}
	return false
}

type swaggerDoccer interface{ SwaggerDoc() map[string]string }

func swaggerDoc(t reflect.Type) map[string]string {
	if d, ok := reflect.Zero(t).Interface().(swaggerDoccer); ok {
		return d.SwaggerDoc()
	}
	return nil
}

// typeDescription returns the description of a named type: its SwaggerDoc when k8s.io
// generated one, its Go doc comment otherwise.
func (r *registry) typeDescription(t reflect.Type) (string, error) {
	if d := swaggerDoc(t); d != nil {
		if s, ok := d[""]; ok {
			return s, nil
		}
	}
	p, err := r.src.pkg(t.PkgPath())
	if err != nil {
		return "", err
	}
	return docText(p.typeDoc[t.Name()]), nil
}

// definition builds the schema of the named type n.
func (r *registry) definition(n string, f flavor) (obj, error) {
	t := r.types[n]
	desc, err := r.typeDescription(t)
	if err != nil {
		return nil, err
	}
	var s obj
	if o, ok := opaqueTypes[t]; ok {
		base := o.v2
		if f == v3 {
			base = o.v3
		}
		s = copyObj(base)
	} else {
		if s, err = r.structSchema(t, f); err != nil {
			return nil, fmt.Errorf("cannot build schema of %s: %w", n, err)
		}
	}
	if desc != "" {
		s["description"] = desc
	}
	if g := r.gvks[n]; len(g) > 0 {
		list := make([]any, len(g))
		for i := range g {
			list[i] = g[i].json()
		}
		s["x-kubernetes-group-version-kind"] = list
	}
	return s, nil
}

func (r *registry) structSchema(t reflect.Type, f flavor) (obj, error) {
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("%s is not a struct", t)
	}
	p, err := r.src.pkg(t.PkgPath())
	if err != nil {
		return nil, err
	}
	s := obj{"type": "object"}
	if mt := markers(p.typeDoc[t.Name()]); len(mt["structType"]) > 0 {
		s["x-kubernetes-map-type"] = mt["structType"][0]
	}
	props := obj{}
	var required []any
	for _, fl := range jsonFields(t) {
		prop, optional, err := r.property(fl, f)
		if err != nil {
			return nil, fmt.Errorf("field %s: %w", fl.name, err)
		}
		props[fl.name] = prop
		if !optional {
			required = append(required, fl.name)
		}
	}
	if len(props) > 0 {
		s["properties"] = props
	}
	if len(required) > 0 {
		s["required"] = required
	}
	return s, nil
}

// property builds the schema of one struct field and says whether the field is optional.
func (r *registry) property(fl field, f flavor) (obj, bool, error) {
	p, err := r.src.pkg(fl.owner.PkgPath())
	if err != nil {
		return nil, false, err
	}
	docLines := p.fieldDoc[fl.owner.Name()][fl.sf.Name]
	mk := markers(docLines)

	// openapi-gen's rule: +required or +optional decide; otherwise omitempty means optional.
	optional := fl.omitempty
	switch {
	case len(mk["required"]) > 0 || len(mk["k8s:required"]) > 0:
		optional = false
	case len(mk["optional"]) > 0 || len(mk["k8s:optional"]) > 0:
		optional = true
	}

	s, err := r.typeSchema(fl.sf.Type, f)
	if err != nil {
		return nil, false, err
	}
	desc, ok := swaggerDoc(fl.owner)[fl.name]
	if !ok {
		desc = docText(docLines)
	}

	// Enums: the field's type is a named string type marked +enum; its constants are the values.
	et := fl.sf.Type
	if et.Kind() == reflect.Pointer {
		et = et.Elem()
	}
	if values, lines, err := r.enum(et); err != nil {
		return nil, false, err
	} else if len(values) > 0 {
		if et.Kind() == reflect.String {
			s["enum"] = values
			desc = strings.TrimSpace(desc + "\n\n" + strings.Join(lines, "\n"))
		}
	} else if et.Kind() == reflect.Slice {
		if values, _, err := r.enum(et.Elem()); err != nil {
			return nil, false, err
		} else if len(values) > 0 && et.Elem().Kind() == reflect.String {
			s["items"].(obj)["enum"] = values
		}
	}
	if desc != "" {
		s["description"] = desc
	}

	// Merge and list semantics: the patch tags drive strategic merge patch, the markers drive
	// server-side apply. Both are read by clients from these extensions.
	if v := fl.sf.Tag.Get("patchStrategy"); v != "" {
		s["x-kubernetes-patch-strategy"] = v
	}
	if v := fl.sf.Tag.Get("patchMergeKey"); v != "" {
		s["x-kubernetes-patch-merge-key"] = v
	}
	if v := mk["listType"]; len(v) > 0 {
		s["x-kubernetes-list-type"] = v[0]
	}
	if v := mk["listMapKey"]; len(v) > 0 {
		keys := make([]any, len(v))
		for i := range v {
			keys[i] = v[i]
		}
		s["x-kubernetes-list-map-keys"] = keys
	}
	if v := mk["mapType"]; len(v) > 0 {
		s["x-kubernetes-map-type"] = v[0]
	}

	// Defaults exist in v3 only (the v2 document never had them): a +default marker wins (its
	// value is JSON; ref(...) forms are skipped), else openapi-gen's enforced zero values: {}
	// for every struct-valued field, the scalar zero for a scalar that is always serialized.
	if f == v3 {
		ft := fl.sf.Type
		if v := mk["default"]; len(v) > 0 {
			var d any
			if err := json.Unmarshal([]byte(v[0]), &d); err == nil {
				s["default"] = d
			}
		} else if ft.Kind() == reflect.Struct || (!fl.omitempty && ft.Kind() != reflect.Pointer) {
			if d, ok := zeroDefault(ft); ok {
				s["default"] = d
			}
		}
	}
	return s, optional, nil
}

// enum returns the values of t when its declaration is marked +enum, sorted, and the
// "Possible enum values" lines openapi-gen appends to the description.
func (r *registry) enum(t reflect.Type) ([]any, []string, error) {
	if t.Name() == "" || t.PkgPath() == "" || t.Kind() != reflect.String {
		return nil, nil, nil
	}
	p, err := r.src.pkg(t.PkgPath())
	if err != nil {
		return nil, nil, err
	}
	if len(markers(p.typeDoc[t.Name()])["enum"]) == 0 {
		return nil, nil, nil
	}
	consts := append([]constValue(nil), p.consts[t.Name()]...)
	sort.SliceStable(consts, func(i, j int) bool { return consts[i].value < consts[j].value })
	var values []any
	lines := []string{"Possible enum values:"}
	seen := map[string]bool{}
	for _, c := range consts {
		if seen[c.value] {
			continue
		}
		seen[c.value] = true
		values = append(values, c.value)
		comment := strings.Join(strings.Fields(strings.TrimPrefix(strings.TrimSpace(docText(c.doc)), c.name)), " ")
		line := fmt.Sprintf(" - `%q`", c.value)
		if comment != "" {
			line += " " + comment
		}
		lines = append(lines, line)
	}
	if len(values) == 0 {
		return nil, nil, nil
	}
	return values, lines, nil
}

func copyObj(o obj) obj {
	c := make(obj, len(o))
	for k, v := range o {
		c[k] = v
	}
	return c
}
