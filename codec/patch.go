package codec

// Patch application: the four PATCH content types the Kubernetes API server accepts, applied to the
// JSON of the current object. Bytes go in, bytes come out; in between the documents are decoded into
// map[string]any / []any with json.Number leaves, so integers of any size survive unchanged.
//
// Files: patch.go (entry point, decoding, errors, Go-type schema walk), patch_merge.go (RFC 7386),
// patch_json.go (RFC 6902), patch_strategic.go (strategic merge patch), patch_apply.go (server-side
// apply, minimal).
//
// Caveats: every function here owns the trees it decodes and mutates them in place; nothing is
// retained after ApplyPatch returns. Memory is bounded by the input sizes, except JSON patch "copy",
// which is capped like the API server caps it (patchMaxCopyBytes).

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"sync"
)

// PatchType values are the Content-Type strings.
const (
	PatchJSON      = "application/json-patch+json"
	PatchMerge     = "application/merge-patch+json"
	PatchStrategic = "application/strategic-merge-patch+json"
	PatchApply     = "application/apply-patch+yaml"
)

// PatchError is a patch the API server would refuse. Code is the HTTP status to answer with
// (400 BadRequest, 413 RequestEntityTooLarge, 415 UnsupportedMediaType, 422 Invalid, 500 for a
// corrupt current object); Msg is the API server's message for the same input.
type PatchError struct {
	Code int
	Msg  string
}

func (e *PatchError) Error() string { return e.Msg }

func patchErrorf(code int, format string, args ...any) *PatchError {
	return &PatchError{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// patchUnsupportedMediaType is the API server's answer to an unknown patch Content-Type, and to a
// strategic merge patch on a kind without Go struct tags (custom resources).
func patchUnsupportedMediaType() error {
	return &PatchError{Code: 415, Msg: "the body of the request was in an unknown format - accepted media types include: " +
		PatchJSON + ", " + PatchMerge + ", " + PatchStrategic + ", " + PatchApply}
}

// ApplyPatch applies patch of the given type to the current object's JSON. schema is a pointer to the Go type
// (e.g. &corev1.Pod{}) whose struct tags (patchStrategy, patchMergeKey) drive strategic merge.
//
// patchType may carry parameters ("; charset=utf-8"), which are ignored. An empty current is taken
// as {} (server-side apply creating an object). A nil schema refuses strategic merge with 415, as the
// API server does for custom resources, and makes server-side apply treat every list as atomic.
// Errors the client caused are *PatchError. The result must still be decoded into the typed object
// (strictly if fieldValidation=Strict) and validated by the caller.
func ApplyPatch(patchType string, current, patch []byte, schema any) ([]byte, error) {
	mt := patchType
	if i := strings.IndexByte(mt, ';'); i >= 0 {
		mt = mt[:i]
	}
	mt = strings.ToLower(strings.TrimSpace(mt))
	var st reflect.Type
	if schema != nil {
		st = reflect.TypeOf(schema)
	}
	switch mt {
	case PatchJSON:
		return patchApplyJSON(current, patch)
	case PatchMerge:
		return patchApplyMerge(current, patch)
	case PatchStrategic:
		if st == nil {
			return nil, patchUnsupportedMediaType()
		}
		return patchApplyStrategic(current, patch, st)
	case PatchApply:
		return patchApplyServerSide(current, patch, st)
	}
	return nil, patchUnsupportedMediaType()
}

// patchDecode decodes one JSON value the way encoding/json.Unmarshal would (same error texts, which
// are the API server's), keeping numbers as json.Number.
func patchDecode(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, errors.New("unexpected end of JSON input")
		}
		return nil, err
	}
	// Decode stops after the first value; Unmarshal refuses anything but white space after it.
	for _, c := range data[dec.InputOffset():] {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return nil, fmt.Errorf("invalid character %s after top-level value", patchQuoteChar(c))
	}
	return v, nil
}

// patchQuoteChar formats a byte as encoding/json does in its syntax errors.
func patchQuoteChar(c byte) string {
	switch c {
	case '\'':
		return `'\''`
	case '"':
		return `'"'`
	}
	s := strconv.Quote(string(rune(c)))
	return "'" + s[1:len(s)-1] + "'"
}

// patchDecodeCurrent decodes the stored object. It is ours, so a failure is a server fault (500).
func patchDecodeCurrent(current []byte) (map[string]any, error) {
	if len(bytes.TrimSpace(current)) == 0 {
		return map[string]any{}, nil
	}
	v, err := patchDecode(current)
	if err != nil {
		return nil, &PatchError{Code: 500, Msg: "Invalid JSON Document"}
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, &PatchError{Code: 500, Msg: "Invalid JSON Document"}
	}
	return m, nil
}

// patchEncode encodes a decoded tree as compact JSON. HTML characters are not escaped: the bytes
// are decoded again by the caller, and annotations (last-applied-configuration) stay readable.
func patchEncode(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("cannot encode patched object: %w", err)
	}
	b := buf.Bytes()
	return b[:len(b)-1], nil // Encode appends a newline
}

// patchTypeName names the Go type the API server would have decoded v into (int64/float64 for
// numbers), for error messages that quote it.
func patchTypeName(v any) string {
	switch t := v.(type) {
	case nil:
		return "%!s(<nil>)"
	case map[string]any:
		return "map[string]interface {}"
	case []any:
		return "[]interface {}"
	case string:
		return "string"
	case bool:
		return "bool"
	case json.Number:
		if _, err := t.Int64(); err == nil {
			return "int64"
		}
		return "float64"
	}
	return reflect.TypeOf(v).String()
}

// patchEqual reports whether two decoded JSON values are equal. Numbers compare by value, as
// RFC 6902 "test" requires; maps and lists compare deeply (Go's == would panic on them).
func patchEqual(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case string:
		y, ok := b.(string)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case json.Number:
		y, ok := b.(json.Number)
		return ok && patchNumberEqual(x, y)
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, xv := range x {
			yv, ok := y[k]
			if !ok || !patchEqual(xv, yv) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !patchEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	return false
}

func patchNumberEqual(x, y json.Number) bool {
	if x == y {
		return true
	}
	isInt := func(s string) bool { return !strings.ContainsAny(s, ".eE") }
	if isInt(string(x)) && isInt(string(y)) {
		// Integer literals have no leading zeros in JSON: only the sign of zero can differ.
		return (x == "0" || x == "-0") && (y == "0" || y == "-0")
	}
	fx, err1 := strconv.ParseFloat(string(x), 64)
	fy, err2 := strconv.ParseFloat(string(y), 64)
	return err1 == nil && err2 == nil && fx == fy
}

// patchScalarEqual is Go's == on decoded values, as strategic merge uses it for merge keys and
// primitive lists, except that maps and lists never match instead of panicking.
func patchScalarEqual(a, b any) bool {
	switch a.(type) {
	case map[string]any, []any:
		return false
	}
	switch b.(type) {
	case map[string]any, []any:
		return false
	}
	return a == b
}

// patchHashable reports whether v may be a Go map key.
func patchHashable(v any) bool {
	switch v.(type) {
	case map[string]any, []any:
		return false
	}
	return true
}

// patchDeepCopy copies a decoded tree so that later in-place edits do not alias it.
func patchDeepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[k] = patchDeepCopy(e)
		}
		return m
	case []any:
		s := make([]any, len(t))
		for i, e := range t {
			s[i] = patchDeepCopy(e)
		}
		return s
	}
	return v
}

// Schema walk: strategic merge reads patchStrategy and patchMergeKey from the Go struct reached by
// following the JSON path through the schema type, as the API server's PatchMetaFromStruct does.

// patchMeta is the strategic-merge metadata of one field.
type patchMeta struct {
	strategies []string // patchStrategy split on ","
	mergeKey   string
}

// patchSchema is a position in the Go type walk. A nil t means "no type information": maps merge
// and lists are atomic (server-side apply of a kind without a Go type, or inside interface{}).
type patchSchema struct{ t reflect.Type }

type patchField struct {
	name string
	typ  reflect.Type
	meta patchMeta
}

type patchStructFields struct {
	byName map[string]*patchField
	list   []*patchField // declaration order, for the case-insensitive fallback
}

// patchFieldCache maps a struct type to its JSON fields. Types are few and immutable: never evicted.
var patchFieldCache sync.Map // reflect.Type -> *patchStructFields

func patchFieldsOf(t reflect.Type) *patchStructFields {
	if v, ok := patchFieldCache.Load(t); ok {
		return v.(*patchStructFields)
	}
	fs := &patchStructFields{byName: map[string]*patchField{}}
	type cand struct {
		f      *patchField
		depth  int
		tagged bool
		dup    bool
	}
	found := map[string]*cand{}
	var order []string
	var walk func(t reflect.Type, depth int, seen map[reflect.Type]bool)
	walk = func(t reflect.Type, depth int, seen map[reflect.Type]bool) {
		if seen[t] {
			return
		}
		seen[t] = true
		for i := 0; i < t.NumField(); i++ {
			sf := t.Field(i)
			tag := sf.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, _, _ := strings.Cut(tag, ",")
			ft := sf.Type
			if sf.Anonymous && name == "" {
				// Embedded struct without a JSON name: its fields are promoted, as encoding/json does.
				et := ft
				if et.Kind() == reflect.Pointer {
					et = et.Elem()
				}
				if et.Kind() == reflect.Struct {
					walk(et, depth+1, seen)
					continue
				}
			}
			if !sf.IsExported() {
				continue
			}
			tagged := name != ""
			if !tagged {
				name = sf.Name
			}
			f := &patchField{name: name, typ: ft, meta: patchMeta{
				strategies: strings.Split(sf.Tag.Get("patchStrategy"), ","),
				mergeKey:   sf.Tag.Get("patchMergeKey"),
			}}
			c, ok := found[name]
			switch {
			case !ok:
				found[name] = &cand{f: f, depth: depth, tagged: tagged}
				order = append(order, name)
			case depth < c.depth || (depth == c.depth && tagged && !c.tagged):
				*c = cand{f: f, depth: depth, tagged: tagged}
			case depth == c.depth && tagged == c.tagged:
				c.dup = true // ambiguous at the same depth: encoding/json drops the name
			}
		}
		delete(seen, t)
	}
	walk(t, 0, map[reflect.Type]bool{})
	for _, name := range order {
		if c := found[name]; !c.dup {
			fs.byName[name] = c.f
			fs.list = append(fs.list, c.f)
		}
	}
	v, _ := patchFieldCache.LoadOrStore(t, fs)
	return v.(*patchStructFields)
}

// lookupStruct returns the schema and metadata of field key of a struct (LookupPatchMetadataForStruct).
func (s patchSchema) lookupStruct(key string) (patchSchema, patchMeta, error) {
	t := s.t
	if t == nil {
		return patchSchema{}, patchMeta{}, nil
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
	case reflect.Map:
		// The API server refuses to descend into Go maps; a map's values share one type, so k2d
		// follows it (only reachable with maps of structs, which core kinds do not have).
		return patchSchema{t.Elem()}, patchMeta{}, nil
	case reflect.Interface:
		return patchSchema{}, patchMeta{}, nil
	default:
		return patchSchema{}, patchMeta{}, fmt.Errorf("merging an object in json but data type is not struct, instead is: %s", t.Kind())
	}
	fs := patchFieldsOf(t)
	f := fs.byName[key]
	if f == nil {
		for _, c := range fs.list {
			if strings.EqualFold(c.name, key) {
				f = c
				break
			}
		}
	}
	if f == nil {
		return patchSchema{}, patchMeta{}, fmt.Errorf("unable to find api field in struct %s for the json field %q", t.Name(), key)
	}
	return patchSchema{f.typ}, f.meta, nil
}

// lookupSlice returns the element schema and the metadata of list field key (LookupPatchMetadataForSlice).
func (s patchSchema) lookupSlice(key string) (patchSchema, patchMeta, error) {
	sub, meta, err := s.lookupStruct(key)
	if err != nil || sub.t == nil {
		return sub, meta, err
	}
	t := sub.t
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		et := t.Elem()
		if et.Kind() == reflect.Slice || et.Kind() == reflect.Array {
			return patchSchema{}, patchMeta{}, errors.New("unexpected slice of slice")
		}
		return patchSchema{et}, meta, nil
	case reflect.Pointer:
		t = t.Elem()
		if t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
			t = t.Elem()
		}
		return patchSchema{t}, meta, nil
	case reflect.Interface:
		return patchSchema{}, meta, nil
	}
	return patchSchema{}, patchMeta{}, fmt.Errorf("expected slice or array type, but got: %s", s.kindName())
}

// kindName is the schema's Name() in the API server's messages: the Go kind of the type.
func (s patchSchema) kindName() string {
	if s.t == nil {
		return "interface"
	}
	return s.t.Kind().String()
}
