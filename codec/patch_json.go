package codec

// JSON patch (RFC 6902), application/json-patch+json: what `kubectl patch --type=json` and
// `kubectl rollout undo` send.
//
// The API server applies these with gopkg.in/evanphx/json-patch.v4; k2d follows its semantics and
// error texts where clients can observe them, including its departures from the RFC:
//   - "replace" of a missing object member adds it (v4 never checks that the member exists);
//   - negative array indices count from the end (-1 is the last element; for "add", -1 appends);
//   - "add" without "value" adds null;
//   - "test" of a missing member succeeds when "value" is null or absent.
// k2d is stricter than v4 only where v4 is plainly wrong: "copy" from a missing member is an error
// (v4 copies null), a path without a leading "/" is missing (v4 resolves "a/b" as "/b"), "add"
// and "remove" at the root "" are refused as v4 refuses them, and "test" compares numbers by value
// (1 equals 1.0), as RFC 6902 section 4.6 requires.

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

const (
	// patchMaxJSONOps is the API server's maxJSONPatchOperations.
	patchMaxJSONOps = 10000
	// patchMaxCopyBytes caps the growth caused by "copy" operations, as the API server's
	// JSONPatchMaxCopyBytes (3 MiB) does: a few copies of a large subtree would otherwise
	// multiply memory on a 512 MB device.
	patchMaxCopyBytes = 3 << 20
)

// patchOp is one decoded operation object. A missing member and a null one differ ("value" of
// "test"), hence a map rather than a struct.
type patchOp map[string]any

// patchApplyJSON applies an RFC 6902 patch to the current object.
func patchApplyJSON(current, patch []byte) ([]byte, error) {
	ops, err := patchDecodeOps(patch)
	if err != nil {
		return nil, err
	}
	if len(ops) > patchMaxJSONOps {
		return nil, patchErrorf(413, "The allowed maximum operations in a JSON patch is %d, got %d", patchMaxJSONOps, len(ops))
	}
	m, err := patchDecodeCurrent(current)
	if err != nil {
		return nil, err
	}
	var doc any = m
	var copied int64
	for _, op := range ops {
		if err := patchJSONApplyOp(&doc, op, &copied); err != nil {
			return nil, &PatchError{Code: 422, Msg: err.Error()}
		}
	}
	return patchEncode(doc)
}

// patchDecodeOps decodes a patch document with the API server's decoding errors (400).
func patchDecodeOps(patch []byte) ([]patchOp, error) {
	v, err := patchDecode(patch)
	if err != nil {
		return nil, &PatchError{Code: 400, Msg: err.Error()}
	}
	if v == nil {
		return nil, nil // null decodes to an empty patch
	}
	list, ok := v.([]any)
	if !ok {
		return nil, patchErrorf(400, "json: cannot unmarshal %s into Go value of type jsonpatch.Patch", patchJSONKind(v))
	}
	ops := make([]patchOp, len(list))
	for i, e := range list {
		switch t := e.(type) {
		case map[string]any:
			ops[i] = t
		case nil:
			ops[i] = patchOp{}
		default:
			return nil, patchErrorf(400, "json: cannot unmarshal %s into Go value of type jsonpatch.Operation", patchJSONKind(e))
		}
	}
	return ops, nil
}

// patchJSONKind names a JSON value as encoding/json's UnmarshalTypeError does.
func patchJSONKind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case json.Number:
		return "number"
	case bool:
		return "bool"
	}
	return "null"
}

// kind returns the "op" member, or "unknown" when it is absent or not a string.
func (o patchOp) kind() string {
	if s, ok := o["op"].(string); ok {
		return s
	}
	return "unknown"
}

// str returns a string member. A missing or null member is "<missing>: missing value"; a member of
// another type is the decoding error v4 reports.
func (o patchOp) str(name, missing string) (string, error) {
	v, ok := o[name]
	if !ok || v == nil {
		return "", fmt.Errorf("%s: missing value", missing)
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("json: cannot unmarshal %s into Go value of type string", patchJSONKind(v))
	}
	return s, nil
}

func (o patchOp) path() (string, error) { return o.str("path", "operation missing path field") }
func (o patchOp) from() (string, error) { return o.str("from", "operation, missing from field") }

func patchJSONApplyOp(doc *any, op patchOp, copied *int64) error {
	switch k := op.kind(); k {
	case "add":
		path, err := op.path()
		if err != nil {
			return fmt.Errorf("add operation failed to decode path: missing value")
		}
		loc, ok := patchJSONFind(doc, path)
		if !ok {
			return fmt.Errorf("add operation does not apply: doc is missing path: \"%s\": missing value", path)
		}
		if err := loc.add(op["value"]); err != nil {
			return fmt.Errorf("error in add for path: '%s': %w", path, err)
		}
	case "remove":
		path, err := op.path()
		if err != nil {
			return fmt.Errorf("remove operation failed to decode path: missing value")
		}
		loc, ok := patchJSONFind(doc, path)
		if !ok {
			return fmt.Errorf("remove operation does not apply: doc is missing path: \"%s\": missing value", path)
		}
		if _, err := loc.remove(); err != nil {
			return fmt.Errorf("error in remove for path: '%s': %w", path, err)
		}
	case "replace":
		path, err := op.path()
		if err != nil {
			return fmt.Errorf("replace operation failed to decode path: %w", err)
		}
		if path == "" {
			switch v := op["value"].(type) {
			case map[string]any, []any:
				*doc = v
				return nil
			}
			return fmt.Errorf("replace operation value must be object or array")
		}
		loc, ok := patchJSONFind(doc, path)
		if !ok {
			return fmt.Errorf("replace operation does not apply: doc is missing path: %s: missing value", path)
		}
		if _, _, err := loc.get(); err != nil {
			return fmt.Errorf("replace operation does not apply: doc is missing key: %s: missing value", path)
		}
		loc.set(op["value"])
	case "move":
		from, err := op.from()
		if err != nil {
			return fmt.Errorf("move operation failed to decode from: %w", err)
		}
		loc, ok := patchJSONFind(doc, from)
		if !ok {
			return fmt.Errorf("move operation does not apply: doc is missing from path: %s: missing value", from)
		}
		if _, _, err := loc.get(); err != nil {
			return fmt.Errorf("error in move for path: '%s': %w", loc.key, err)
		}
		val, err := loc.remove()
		if err != nil {
			return fmt.Errorf("error in move for path: '%s': %w", loc.key, err)
		}
		path, err := op.path()
		if err != nil {
			return fmt.Errorf("move operation failed to decode path: %w", err)
		}
		loc, ok = patchJSONFind(doc, path)
		if !ok {
			return fmt.Errorf("move operation does not apply: doc is missing destination path: %s: missing value", path)
		}
		if err := loc.add(val); err != nil {
			return fmt.Errorf("error in move for path: '%s': %w", path, err)
		}
	case "test":
		path, err := op.path()
		if err != nil {
			return fmt.Errorf("test operation failed to decode path: %w", err)
		}
		want, hasWant := op["value"]
		if path == "" {
			if hasWant && patchEqual(*doc, want) {
				return nil
			}
			return fmt.Errorf("testing value %s failed: test failed", path)
		}
		loc, ok := patchJSONFind(doc, path)
		if !ok {
			return fmt.Errorf("test operation does not apply: is missing path: %s: missing value", path)
		}
		got, _, err := loc.get()
		if err != nil {
			return fmt.Errorf("error in test for path: '%s': %w", path, err)
		}
		// v4 cannot tell a missing member from a null one: both match an absent or null value.
		if got == nil {
			if want == nil {
				return nil
			}
			return fmt.Errorf("testing value %s failed: test failed", path)
		}
		if !hasWant || !patchEqual(got, want) {
			return fmt.Errorf("testing value %s failed: test failed", path)
		}
	case "copy":
		from, err := op.from()
		if err != nil {
			return fmt.Errorf("copy operation failed to decode from: %w", err)
		}
		loc, ok := patchJSONFind(doc, from)
		if !ok {
			return fmt.Errorf("copy operation does not apply: doc is missing from path: %s: missing value", from)
		}
		val, exists, err := loc.get()
		if err != nil {
			return fmt.Errorf("error in copy for from: '%s': %w", from, err)
		}
		if !exists {
			return fmt.Errorf("copy operation does not apply: doc is missing from path: %s: missing value", from)
		}
		path, err := op.path()
		if err != nil {
			return fmt.Errorf("copy operation failed to decode path: missing value")
		}
		loc, ok = patchJSONFind(doc, path)
		if !ok {
			return fmt.Errorf("copy operation does not apply: doc is missing destination path: %s: missing value", path)
		}
		*copied += patchJSONSize(val)
		if *copied > patchMaxCopyBytes {
			return fmt.Errorf("Unable to complete the copy, the accumulated size increase of copy is %d, exceeding the limit %d", *copied, patchMaxCopyBytes)
		}
		if err := loc.add(patchDeepCopy(val)); err != nil {
			return fmt.Errorf("error while adding value during copy: %w", err)
		}
	default:
		return fmt.Errorf("Unexpected kind: %s", k)
	}
	return nil
}

// patchJSONLoc is the container (object or array) holding the last token of a JSON pointer.
type patchJSONLoc struct {
	obj   map[string]any
	arr   []any
	key   string
	store func(any) // replaces the array in its parent after an insertion or a removal
}

// patchJSONFind resolves every token of path but the last (RFC 6901, with ~1 and ~0 unescaped). It
// fails when a token is missing, null, a scalar, or not a valid index, like v4's findObject.
func patchJSONFind(doc *any, path string) (patchJSONLoc, bool) {
	if !strings.HasPrefix(path, "/") {
		return patchJSONLoc{}, false
	}
	tokens := strings.Split(path[1:], "/")
	cur := *doc
	store := func(v any) { *doc = v }
	for _, raw := range tokens[:len(tokens)-1] {
		tok := patchUnescapeToken(raw)
		var next any
		switch c := cur.(type) {
		case map[string]any:
			next = c[tok]
			store = func(v any) { c[tok] = v }
		case []any:
			i, err := patchJSONIndex(tok, len(c))
			if err != nil {
				return patchJSONLoc{}, false
			}
			next = c[i]
			store = func(v any) { c[i] = v }
		default:
			return patchJSONLoc{}, false
		}
		switch next.(type) {
		case map[string]any, []any:
			cur = next
		default:
			return patchJSONLoc{}, false
		}
	}
	loc := patchJSONLoc{key: patchUnescapeToken(tokens[len(tokens)-1]), store: store}
	switch c := cur.(type) {
	case map[string]any:
		loc.obj = c
	case []any:
		loc.arr = c
	default:
		return patchJSONLoc{}, false
	}
	return loc, true
}

// patchUnescapeToken decodes ~1 and ~0 in one pass, so that "~01" is "~1", not "/".
func patchUnescapeToken(s string) string {
	if !strings.Contains(s, "~") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '~' && i+1 < len(s) {
			switch s[i+1] {
			case '0':
				b.WriteByte('~')
				i++
				continue
			case '1':
				b.WriteByte('/')
				i++
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// patchJSONIndex parses an index of an existing element; negative indices count from the end.
func patchJSONIndex(tok string, n int) (int, error) {
	i, err := strconv.Atoi(tok)
	if err != nil {
		return 0, err
	}
	if i < 0 {
		if i < -n {
			return 0, fmt.Errorf("Unable to access invalid index: %d: invalid index referenced", i)
		}
		i += n
	}
	if i >= n {
		return 0, fmt.Errorf("Unable to access invalid index: %d: invalid index referenced", i)
	}
	return i, nil
}

// get returns the value at the location and whether an object member exists.
func (l patchJSONLoc) get() (any, bool, error) {
	if l.obj != nil {
		v, ok := l.obj[l.key]
		return v, ok, nil
	}
	i, err := patchJSONIndex(l.key, len(l.arr))
	if err != nil {
		return nil, false, err
	}
	return l.arr[i], true, nil
}

// set overwrites an existing element or sets an object member.
func (l patchJSONLoc) set(v any) {
	if l.obj != nil {
		l.obj[l.key] = v
		return
	}
	if i, err := patchJSONIndex(l.key, len(l.arr)); err == nil {
		l.arr[i] = v
	}
}

func (l patchJSONLoc) add(v any) error {
	if l.obj != nil {
		l.obj[l.key] = v
		return nil
	}
	n := len(l.arr)
	i := n
	if l.key != "-" {
		var err error
		i, err = strconv.Atoi(l.key)
		if err != nil {
			return fmt.Errorf("value was not a proper array index: '%s': %w", l.key, err)
		}
		if i > n || i < -(n+1) {
			return fmt.Errorf("Unable to access invalid index: %d: invalid index referenced", i)
		}
		if i < 0 {
			i += n + 1
		}
	}
	arr := make([]any, n+1)
	copy(arr, l.arr[:i])
	arr[i] = v
	copy(arr[i+1:], l.arr[i:])
	l.store(arr)
	return nil
}

// remove deletes the element at the location and returns it.
func (l patchJSONLoc) remove() (any, error) {
	if l.obj != nil {
		v, ok := l.obj[l.key]
		if !ok {
			return nil, fmt.Errorf("Unable to remove nonexistent key: %s: missing value", l.key)
		}
		delete(l.obj, l.key)
		return v, nil
	}
	i, err := patchJSONIndex(l.key, len(l.arr))
	if err != nil {
		return nil, err
	}
	v := l.arr[i]
	arr := make([]any, 0, len(l.arr)-1)
	arr = append(arr, l.arr[:i]...)
	arr = append(arr, l.arr[i+1:]...)
	l.store(arr)
	return v, nil
}

// patchJSONSize estimates the compact JSON size of v, for the copy limit.
func patchJSONSize(v any) int64 {
	switch t := v.(type) {
	case nil:
		return 4
	case bool:
		return 5
	case string:
		return int64(len(t)) + 2
	case json.Number:
		return int64(len(t))
	case []any:
		n := int64(2)
		for _, e := range t {
			n += patchJSONSize(e) + 1
		}
		return n
	case map[string]any:
		n := int64(2)
		for k, e := range t {
			n += int64(len(k)) + 4 + patchJSONSize(e)
		}
		return n
	}
	return 0
}
