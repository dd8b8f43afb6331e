package codec

import (
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// Server-side field validation (the fieldValidation query parameter, "Strict" from kubectl,
// "Warn" by default) rejects or warns about fields the Go type does not have and fields given
// twice. The API server finds them while decoding with sigs.k8s.io/json in strict mode; k2d
// decodes leniently and asks UnknownFields for the same list, walking the body once more.
//
// With fieldValidation=Strict the API server answers 400 Bad Request with a Status of reason
// BadRequest whose message is
//
//	<kind> in version "<version>" cannot be handled as a <kind>: strict decoding error: unknown field "spec.foo", duplicate field "metadata.name"
//
// for example
//
//	Pod in version "v1" cannot be handled as a Pod: strict decoding error: unknown field "spec.containers[0].foo"
//
// (the kind and version are those named in the body; StrictError returns the part from
// "strict decoding error:" on). With fieldValidation=Warn the request succeeds and each problem
// becomes one Warning header, `299 - "unknown field \"spec.foo\""`; with Ignore nothing is
// checked. The API server lists at most 100 problems, each once.

// maxStrictErrors is the API server's cap on reported problems per request.
const maxStrictErrors = 100

// maxStrictDepth is the nesting limit of Go's JSON scanner, which the API server inherits.
const maxStrictDepth = 10000

var errStrictSyntax = errors.New("invalid JSON")

// UnknownFields walks the JSON document body against the Go type of obj (a pointer to a
// k8s.io/api struct) and returns the JSON paths of unknown fields ("spec.containers[0].foo"
// style, as the API server's strict decoding error prints them) and of duplicate fields, in
// document order.
//
// It follows the API server's strict decoder: field names match case-sensitively; a field is
// known when encoding/json would decode it (json tags, embedded structs inlined, "-" ignored);
// map keys are free but may not repeat; values of types that decode themselves (Quantity,
// IntOrString, Time, RawExtension, FieldsV1, ...) are opaque, as are values whose JSON type does
// not match the Go type (the decoder reports those itself). "apiVersion" and "kind" are always
// allowed at the top level. err is non-nil only when body is not one valid JSON value; then
// the lists are nil.
//
// Call it once the body has decoded: when a value does not fit its Go type (a string for a
// list, a malformed quantity), the API server answers with that decoding error and reports no
// strict problems. Bodies that arrive as YAML must be checked after conversion to JSON; the API
// server also reports keys repeated in the YAML itself, which a converter may have merged.
func UnknownFields(body []byte, obj any) (unknown, duplicate []string, err error) {
	t := reflect.TypeOf(obj)
	if t == nil {
		return nil, nil, errors.New("cannot check fields against a nil object")
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	// Sized so that typical manifests walk without growing them: three allocations per call.
	w := strictWalker{data: body, root: true,
		path: make([]byte, 0, 128), mapKeys: make([]byte, 0, 256), mapEnds: make([]int, 0, 32)}
	w.skipSpace()
	if w.pos >= len(w.data) {
		return nil, nil, fmt.Errorf("cannot check fields: %w: empty document", errStrictSyntax)
	}
	if err := w.value(strictTypeOf(t), 0); err != nil {
		return nil, nil, fmt.Errorf("cannot check fields: %w", err)
	}
	w.skipSpace()
	if w.pos < len(w.data) {
		return nil, nil, fmt.Errorf("cannot check fields: %w: data after top-level value at offset %d", errStrictSyntax, w.pos)
	}
	return w.unknown, w.duplicate, nil
}

// StrictError returns the message of the API server's strict decoding error for the given
// problems: `strict decoding error: unknown field "spec.foo", duplicate field "metadata.name"`.
// The API server lists problems of both kinds interleaved in document order; this lists the
// unknown fields first, then the duplicates (each list in document order). It returns "" when
// both lists are empty.
func StrictError(unknown, duplicate []string) string {
	if len(unknown) == 0 && len(duplicate) == 0 {
		return ""
	}
	b := make([]byte, 0, 32+24*(len(unknown)+len(duplicate)))
	b = append(b, "strict decoding error: "...)
	n := 0
	for _, group := range [2]struct {
		what  string
		paths []string
	}{{"unknown field ", unknown}, {"duplicate field ", duplicate}} {
		for _, p := range group.paths {
			if n > 0 {
				b = append(b, ", "...)
			}
			n++
			b = append(b, group.what...)
			b = strconv.AppendQuote(b, p)
		}
	}
	return string(b)
}

// strictKind says how a JSON value is checked against a Go type.
type strictKind uint8

const (
	strictOpaque strictKind = iota // decodes itself, or a scalar: nothing to check inside
	strictAny                      // interface{}: any value, but object keys may not repeat
	strictStruct
	strictMap
	strictSlice
	strictArray // fixed length: elements past the end are dropped unchecked
)

// strictType is the cached field table of one Go type.
type strictType struct {
	kind   strictKind
	fields map[string]strictField // strictStruct: JSON name -> field
	n      int                    // strictStruct: number of fields
	elem   *strictType            // strictMap, strictSlice, strictArray
	length int                    // strictArray
}

type strictField struct {
	index int
	typ   *strictType
}

var (
	strictTypes      sync.Map // reflect.Type -> *strictType
	strictBuild      sync.Mutex
	strictOpaqueType = &strictType{kind: strictOpaque}
	strictAnyType    = &strictType{kind: strictAny}

	typeJSONUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	typeTextUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// strictTypeOf returns the field table of t, building and caching it (and the tables of every
// type reachable from it) on first use, so later calls do not reflect again.
func strictTypeOf(t reflect.Type) *strictType {
	if st, ok := strictTypes.Load(t); ok {
		return st.(*strictType)
	}
	// One builder at a time: recursive types are built through a shared in-progress map, and
	// tables are published only when complete.
	strictBuild.Lock()
	defer strictBuild.Unlock()
	if st, ok := strictTypes.Load(t); ok {
		return st.(*strictType)
	}
	building := map[reflect.Type]*strictType{}
	st := buildStrictType(t, building)
	for bt, bst := range building {
		strictTypes.Store(bt, bst)
	}
	return st
}

func buildStrictType(t reflect.Type, building map[reflect.Type]*strictType) *strictType {
	if st, ok := strictTypes.Load(t); ok {
		return st.(*strictType)
	}
	if st, ok := building[t]; ok {
		return st
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	// Types that decode themselves (json.Unmarshaler) swallow their value whole; types that
	// only decode from text (encoding.TextUnmarshaler) reject objects and arrays.
	if pt := reflect.PointerTo(t); pt.Implements(typeJSONUnmarshaler) || pt.Implements(typeTextUnmarshaler) {
		return strictOpaqueType
	}
	switch t.Kind() {
	case reflect.Interface:
		if t.NumMethod() == 0 {
			return strictAnyType
		}
		return strictOpaqueType
	case reflect.Struct:
		st := &strictType{kind: strictStruct}
		building[t] = st
		fields := jsonStructFields(t)
		st.fields = make(map[string]strictField, len(fields))
		st.n = len(fields)
		for i, f := range fields {
			st.fields[f.name] = strictField{index: i, typ: buildStrictType(f.typ, building)}
		}
		return st
	case reflect.Map:
		switch t.Key().Kind() {
		case reflect.String, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		default:
			if !reflect.PointerTo(t.Key()).Implements(typeTextUnmarshaler) {
				return strictOpaqueType
			}
		}
		st := &strictType{kind: strictMap}
		building[t] = st
		st.elem = buildStrictType(t.Elem(), building)
		return st
	case reflect.Slice:
		st := &strictType{kind: strictSlice}
		building[t] = st
		st.elem = buildStrictType(t.Elem(), building)
		return st
	case reflect.Array:
		st := &strictType{kind: strictArray, length: t.Len()}
		building[t] = st
		st.elem = buildStrictType(t.Elem(), building)
		return st
	}
	return strictOpaqueType
}

type jsonField struct {
	name   string
	tagged bool
	index  []int
	typ    reflect.Type
}

// jsonStructFields lists the fields encoding/json decodes into for struct t: exported fields
// named by their json tag or Go name, fields of embedded structs promoted unless the embedding
// field has a name, and among fields of the same name the shallowest (then the tagged) one,
// none when that is ambiguous.
func jsonStructFields(t reflect.Type) []jsonField {
	type level struct {
		typ   reflect.Type
		index []int
	}
	var all []jsonField
	next := []level{{typ: t}}
	visited := map[reflect.Type]bool{}
	count := map[reflect.Type]int{}
	for len(next) > 0 {
		current := next
		next = nil
		nextCount := map[reflect.Type]int{}
		for _, lv := range current {
			if visited[lv.typ] {
				continue
			}
			visited[lv.typ] = true
			for i := 0; i < lv.typ.NumField(); i++ {
				sf := lv.typ.Field(i)
				if sf.Anonymous {
					et := sf.Type
					if et.Kind() == reflect.Pointer {
						et = et.Elem()
					}
					if !sf.IsExported() && et.Kind() != reflect.Struct {
						continue
					}
				} else if !sf.IsExported() {
					continue
				}
				tag := sf.Tag.Get("json")
				if tag == "-" {
					continue
				}
				name, _, _ := strings.Cut(tag, ",")
				index := make([]int, len(lv.index)+1)
				copy(index, lv.index)
				index[len(lv.index)] = i
				ft := sf.Type
				if ft.Name() == "" && ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if name != "" || !sf.Anonymous || ft.Kind() != reflect.Struct {
					f := jsonField{name: name, tagged: name != "", index: index, typ: sf.Type}
					if f.name == "" {
						f.name = sf.Name
					}
					all = append(all, f)
					if count[lv.typ] > 1 {
						// The same embedded type reached twice at this depth: the copy makes
						// its fields ambiguous below, as encoding/json does.
						all = append(all, f)
					}
					continue
				}
				nextCount[ft]++
				if nextCount[ft] == 1 {
					next = append(next, level{typ: ft, index: index})
				}
			}
		}
		count = nextCount
	}
	sort.SliceStable(all, func(i, j int) bool {
		if all[i].name != all[j].name {
			return all[i].name < all[j].name
		}
		if len(all[i].index) != len(all[j].index) {
			return len(all[i].index) < len(all[j].index)
		}
		return all[i].tagged && !all[j].tagged
	})
	var out []jsonField
	for i := 0; i < len(all); {
		j := i + 1
		for j < len(all) && all[j].name == all[i].name {
			j++
		}
		group := all[i:j]
		if len(group) == 1 || len(group[0].index) < len(group[1].index) || group[0].tagged != group[1].tagged {
			out = append(out, group[0])
		}
		i = j
	}
	return out
}

// strictWalker scans one JSON document, validating its syntax as it goes.
type strictWalker struct {
	data               []byte
	pos                int
	root               bool
	path               []byte // "spec.containers[0]" of the value being walked
	unknown, duplicate []string
	seen               map[string]struct{}
	saved              int
	key                []byte // scratch for unquoted keys
	// Keys of the maps being walked, for duplicate detection without a map per object: the
	// keys of each open object are contiguous at the end of mapKeys (nested objects truncate
	// theirs before the parent adds its next key).
	mapKeys []byte
	mapEnds []int
}

// mapKeySet is the set of keys seen in one JSON object decoded into a map or interface{}.
type mapKeySet struct {
	first, base int                 // index of the first key in w.mapEnds, start in w.mapKeys
	big         map[string]struct{} // used instead once the object has many keys
}

// smallKeySet is the number of keys up to which a linear scan beats hashing.
const smallKeySet = 32

// add records key and says whether it was seen before in this object.
func (w *strictWalker) add(s *mapKeySet, key []byte) bool {
	if s.big != nil {
		if _, ok := s.big[string(key)]; ok {
			return true
		}
		s.big[string(key)] = struct{}{}
		return false
	}
	start := s.base
	for i := s.first; i < len(w.mapEnds); i++ {
		if string(w.mapKeys[start:w.mapEnds[i]]) == string(key) {
			return true
		}
		start = w.mapEnds[i]
	}
	if len(w.mapEnds)-s.first >= smallKeySet {
		s.big = make(map[string]struct{}, 2*smallKeySet)
		start = s.base
		for i := s.first; i < len(w.mapEnds); i++ {
			s.big[string(w.mapKeys[start:w.mapEnds[i]])] = struct{}{}
			start = w.mapEnds[i]
		}
		s.big[string(key)] = struct{}{}
		w.mapKeys, w.mapEnds = w.mapKeys[:s.base], w.mapEnds[:s.first]
		return false
	}
	w.mapKeys = append(w.mapKeys, key...)
	w.mapEnds = append(w.mapEnds, len(w.mapKeys))
	return false
}

func (w *strictWalker) syntax(what string) error {
	return fmt.Errorf("%w: %s at offset %d", errStrictSyntax, what, w.pos)
}

func (w *strictWalker) skipSpace() {
	for w.pos < len(w.data) {
		switch w.data[w.pos] {
		case ' ', '\t', '\n', '\r':
			w.pos++
		default:
			return
		}
	}
}

// report records a problem with the field named key of the object at w.path.
func (w *strictWalker) report(dup bool, key []byte) {
	if w.saved >= maxStrictErrors {
		return
	}
	var p string
	if len(w.path) > 0 {
		p = string(w.path) + "." + string(key)
	} else {
		p = string(key)
	}
	id := "u" + p
	if dup {
		id = "d" + p
	}
	if w.seen == nil {
		w.seen = map[string]struct{}{}
	}
	if _, ok := w.seen[id]; ok {
		return
	}
	w.seen[id] = struct{}{}
	w.saved++
	if dup {
		w.duplicate = append(w.duplicate, p)
	} else {
		w.unknown = append(w.unknown, p)
	}
}

// value walks one JSON value against t; a nil t checks nothing but the syntax.
func (w *strictWalker) value(t *strictType, depth int) error {
	w.skipSpace()
	if w.pos >= len(w.data) {
		return w.syntax("unexpected end of input")
	}
	switch c := w.data[w.pos]; c {
	case '{':
		if depth >= maxStrictDepth {
			return w.syntax("nesting too deep")
		}
		if t != nil && (t.kind == strictStruct || t.kind == strictMap || t.kind == strictAny) {
			return w.object(t, depth+1)
		}
		return w.object(nil, depth+1)
	case '[':
		if depth >= maxStrictDepth {
			return w.syntax("nesting too deep")
		}
		if t != nil && (t.kind == strictSlice || t.kind == strictArray || t.kind == strictAny) {
			return w.array(t, depth+1)
		}
		return w.array(nil, depth+1)
	case '"':
		_, err := w.str(false)
		return err
	case 't':
		return w.literal("true")
	case 'f':
		return w.literal("false")
	case 'n':
		return w.literal("null")
	default:
		if c == '-' || (c >= '0' && c <= '9') {
			return w.number()
		}
		return w.syntax(fmt.Sprintf("invalid character %q looking for beginning of value", c))
	}
}

func (w *strictWalker) object(t *strictType, depth int) error {
	w.pos++ // {
	root := w.root
	w.root = false
	base := len(w.path)
	var seenBits uint64
	var seenIdx []bool
	keys := mapKeySet{first: len(w.mapEnds), base: len(w.mapKeys)}
	defer func() { w.mapKeys, w.mapEnds = w.mapKeys[:keys.base], w.mapEnds[:keys.first] }()
	w.skipSpace()
	if w.pos < len(w.data) && w.data[w.pos] == '}' {
		w.pos++
		return nil
	}
	for {
		w.skipSpace()
		if w.pos >= len(w.data) || w.data[w.pos] != '"' {
			return w.syntax("expected string key")
		}
		key, err := w.str(t != nil)
		if err != nil {
			return err
		}
		w.skipSpace()
		if w.pos >= len(w.data) || w.data[w.pos] != ':' {
			return w.syntax("expected ':' after object key")
		}
		w.pos++

		var next *strictType
		if t != nil {
			switch t.kind {
			case strictStruct:
				if f, ok := t.fields[string(key)]; ok {
					dup := false
					if t.n <= 64 {
						dup = seenBits&(1<<uint(f.index)) != 0
						seenBits |= 1 << uint(f.index)
					} else {
						if seenIdx == nil {
							seenIdx = make([]bool, t.n)
						}
						dup = seenIdx[f.index]
						seenIdx[f.index] = true
					}
					if dup {
						w.report(true, key)
					}
					next = f.typ
					w.pushKey(key)
				} else if !(root && (string(key) == "apiVersion" || string(key) == "kind")) {
					w.report(false, key)
				}
			case strictMap, strictAny:
				if w.add(&keys, key) {
					w.report(true, key)
				}
				next = t.elem
				if t.kind == strictAny {
					next = strictAnyType
				}
				w.pushKey(key)
			}
		}
		if err := w.value(next, depth); err != nil {
			return err
		}
		w.path = w.path[:base]
		w.skipSpace()
		if w.pos >= len(w.data) {
			return w.syntax("unexpected end of input in object")
		}
		switch w.data[w.pos] {
		case ',':
			w.pos++
		case '}':
			w.pos++
			return nil
		default:
			return w.syntax("expected ',' or '}' after object value")
		}
	}
}

func (w *strictWalker) pushKey(key []byte) {
	if len(w.path) > 0 {
		w.path = append(w.path, '.')
	}
	w.path = append(w.path, key...)
}

func (w *strictWalker) array(t *strictType, depth int) error {
	w.pos++ // [
	w.root = false
	base := len(w.path)
	w.skipSpace()
	if w.pos < len(w.data) && w.data[w.pos] == ']' {
		w.pos++
		return nil
	}
	for i := 0; ; i++ {
		var next *strictType
		if t != nil {
			next = t.elem
			if t.kind == strictAny {
				next = strictAnyType
			}
			if t.kind == strictArray && i >= t.length {
				next = nil
			}
			if next != nil {
				w.path = append(w.path, '[')
				w.path = strconv.AppendInt(w.path, int64(i), 10)
				w.path = append(w.path, ']')
			}
		}
		if err := w.value(next, depth); err != nil {
			return err
		}
		w.path = w.path[:base]
		w.skipSpace()
		if w.pos >= len(w.data) {
			return w.syntax("unexpected end of input in array")
		}
		switch w.data[w.pos] {
		case ',':
			w.pos++
		case ']':
			w.pos++
			return nil
		default:
			return w.syntax("expected ',' or ']' after array element")
		}
	}
}

func (w *strictWalker) literal(lit string) error {
	if len(w.data)-w.pos < len(lit) || string(w.data[w.pos:w.pos+len(lit)]) != lit {
		return w.syntax("invalid literal")
	}
	w.pos += len(lit)
	return nil
}

// number consumes a JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (w *strictWalker) number() error {
	d := w.data
	i := w.pos
	if d[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
			n++
		}
		return n
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case i < len(d) && d[i] >= '1' && d[i] <= '9':
		digits()
	default:
		w.pos = i
		return w.syntax("invalid number")
	}
	if i < len(d) && d[i] == '.' {
		i++
		if digits() == 0 {
			w.pos = i
			return w.syntax("invalid number")
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if digits() == 0 {
			w.pos = i
			return w.syntax("invalid number")
		}
	}
	w.pos = i
	return nil
}

// str consumes a JSON string. With decode it returns the unquoted value the way encoding/json
// unquotes object keys (invalid UTF-8 and lone surrogates become U+FFFD), in a scratch buffer
// valid until the next call.
func (w *strictWalker) str(decode bool) ([]byte, error) {
	d := w.data
	i := w.pos + 1
	start := i
	simple := true
	for {
		if i >= len(d) {
			w.pos = i
			return nil, w.syntax("unexpected end of input in string")
		}
		c := d[i]
		switch {
		case c == '"':
			w.pos = i + 1
			if !decode {
				return nil, nil
			}
			if simple {
				return d[start:i], nil
			}
			return w.unquote(d[start:i]), nil
		case c == '\\':
			simple = false
			if i+1 >= len(d) {
				w.pos = i
				return nil, w.syntax("unexpected end of input in string escape")
			}
			switch d[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(d) || !isHex4(d[i+2:i+6]) {
					w.pos = i
					return nil, w.syntax("invalid \\u escape in string")
				}
				i += 6
			default:
				w.pos = i
				return nil, w.syntax("invalid escape in string")
			}
		case c < 0x20:
			w.pos = i
			return nil, w.syntax("control character in string")
		default:
			if c >= utf8.RuneSelf {
				simple = false
			}
			i++
		}
	}
}

func isHex4(b []byte) bool {
	for _, c := range b {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

func hex4(b []byte) rune {
	var r rune
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		default:
			c = c - 'A' + 10
		}
		r = r<<4 | rune(c)
	}
	return r
}

// unquote decodes the body of a syntactically valid JSON string.
func (w *strictWalker) unquote(s []byte) []byte {
	b := w.key[:0]
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\':
			switch s[i+1] {
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				r := hex4(s[i+2 : i+6])
				i += 6
				if utf16.IsSurrogate(r) {
					if i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' {
						if dec := utf16.DecodeRune(r, hex4(s[i+2:i+6])); dec != unicode.ReplacementChar {
							i += 6
							b = utf8.AppendRune(b, dec)
							continue
						}
					}
					r = unicode.ReplacementChar
				}
				b = utf8.AppendRune(b, r)
				continue
			default: // '"', '\\', '/'
				b = append(b, s[i+1])
			}
			i += 2
		case c < utf8.RuneSelf:
			b = append(b, c)
			i++
		default:
			r, size := utf8.DecodeRune(s[i:])
			i += size
			b = utf8.AppendRune(b, r)
		}
	}
	w.key = b
	return b
}
