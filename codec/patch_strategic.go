package codec

// Strategic merge patch, application/strategic-merge-patch+json: what `kubectl apply` (client-side),
// `kubectl edit`, `kubectl set image|env|resources`, `kubectl rollout restart|pause` and
// `kubectl patch` (its default type) send, and what Helm 3 upgrades compute.
//
// A JSON merge patch whose lists may be merged: a list field tagged patchStrategy:"merge" merges
// maps by their patchMergeKey (containers by name, ports by containerPort, volumeMounts by
// mountPath...) and primitives as a set; other lists are replaced. Directives:
//   - {"$patch": "replace"} replaces a map; {"$patch": "delete"} empties it;
//   - list element {"$patch": "replace"} replaces the list, {"<key>": v, "$patch": "delete"}
//     removes the elements whose merge key is v;
//   - "$deleteFromPrimitiveList/<field>": [...] removes values from a primitive merge list;
//   - "$setElementOrder/<field>": [...] gives the order of a merge list (patch items first, then
//     server-only items where they fit);
//   - "$retainKeys": [...] clears every key of the map not listed (union types such as a
//     Deployment strategy or a volume source);
//   - null deletes a key.
//
// The behaviour follows k8s.io/apimachinery/pkg/util/strategicpatch (StrategicMergeMapPatch with
// the API server's options), including the order of merged lists and the error texts. Where that
// code panics (a list whose first element is null, merge keys that are maps) k2d returns an error,
// and it accepts {"$patch": "merge"} on a map as the no-op the design document describes. Values
// added by the patch lose their directive keys and nulls; lists taken whole from the patch (no
// merge strategy) are kept as sent, as upstream does.

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
)

const (
	patchDirective        = "$patch"
	patchRetainKeysKey    = "$retainKeys"
	patchDeleteFromPrefix = "$deleteFromPrimitiveList"
	patchSetOrderPrefix   = "$setElementOrder"
)

// Errors the API server answers with 400 (mergepatch.ErrBadPatchFormat*) or 422 (ErrNoListOfLists).
var (
	errPatchBadPrimitiveList = errors.New("invalid patch format of primitive list")
	errPatchBadRetainKeys    = errors.New("invalid patch format of retainKeys")
	errPatchBadSetOrder      = errors.New("invalid patch format of setElementOrder list")
	errPatchListOfLists      = errors.New("lists of lists are not supported")
)

// patchApplyStrategic applies a strategic merge patch; t is the Go type of the object.
func patchApplyStrategic(current, patch []byte, t reflect.Type) ([]byte, error) {
	doc, err := patchDecodeCurrent(current)
	if err != nil {
		return nil, err
	}
	p, err := patchDecode(patch)
	if err != nil {
		return nil, &PatchError{Code: 400, Msg: err.Error()}
	}
	var pm map[string]any
	switch v := p.(type) {
	case map[string]any:
		pm = v
	case nil: // null unmarshals into a nil map: nothing to do
	default:
		return nil, patchErrorf(400, "json: cannot unmarshal %s into Go value of type map[string]interface {}", patchJSONKind(v))
	}
	res, err := patchSMP{directives: true}.mergeMap(doc, pm, patchSchema{t})
	if err != nil {
		return nil, patchSMPError(err)
	}
	return patchEncode(res)
}

// patchSMPError gives a merge error the API server's status. Upstream answers 500 for errors it
// does not classify (unknown fields, missing merge keys, bad directives): all are the client's
// fault, so k2d answers 422 with the same message.
func patchSMPError(err error) error {
	switch {
	case errors.Is(err, errPatchBadPrimitiveList), errors.Is(err, errPatchBadRetainKeys), errors.Is(err, errPatchBadSetOrder):
		return &PatchError{Code: 400, Msg: err.Error()}
	}
	return &PatchError{Code: 422, Msg: err.Error()}
}

// patchSMP merges a patch into an object. directives is false for server-side apply, whose body is
// plain data: "$" keys are not interpreted.
type patchSMP struct {
	directives bool
}

func patchBadArgType(expected string, actual any) error {
	return fmt.Errorf("expected a %s, but received a %s", expected, patchTypeName(actual))
}

func patchNoMergeKey(m map[string]any, key string) error {
	return fmt.Errorf("map: %v does not contain declared merge key: %s", m, key)
}

// mergeMap merges patch into original (both edited in place) and returns the result.
func (s patchSMP) mergeMap(original, patch map[string]any, schema patchSchema) (map[string]any, error) {
	if s.directives {
		if d, ok := patch[patchDirective]; ok {
			switch d {
			case "replace":
				delete(patch, patchDirective)
				v, _ := s.clean(patch)
				return v.(map[string]any), nil
			case "delete":
				return map[string]any{}, nil
			case "merge":
				delete(patch, patchDirective)
			default:
				return nil, fmt.Errorf("unknown patch type: %s in map: %v", d, patch)
			}
		}
	}
	if original == nil {
		original = map[string]any{}
	}
	if s.directives {
		if err := patchApplyRetainKeys(original, patch); err != nil {
			return nil, err
		}
		if err := s.applySetElementOrder(original, patch, schema); err != nil {
			return nil, err
		}
	}
	// Deletion lists go last, so that a patch adding to and deleting from the same primitive list
	// gives the same result every time (upstream's order is Go's map order).
	var deletions []string
	for k, pv := range patch {
		if s.directives && strings.HasPrefix(k, patchDeleteFromPrefix) {
			deletions = append(deletions, k)
			continue
		}
		if err := s.mergeKey(original, k, pv, schema, false); err != nil {
			return nil, err
		}
	}
	sort.Strings(deletions)
	for _, k := range deletions {
		key, err := patchExtractKey(k, patchDeleteFromPrefix)
		if err != nil {
			return nil, err
		}
		if key == "" {
			continue // upstream then looks for the directive key itself in original: a no-op
		}
		if err := s.mergeKey(original, key, patch[k], schema, true); err != nil {
			return nil, err
		}
	}
	return original, nil
}

// mergeKey merges patch value pv of key k into original.
func (s patchSMP) mergeKey(original map[string]any, k string, pv any, schema patchSchema, isDeleteList bool) error {
	if pv == nil {
		delete(original, k)
		return nil
	}
	ov, ok := original[k]
	if !ok || reflect.TypeOf(ov) != reflect.TypeOf(pv) {
		if !isDeleteList {
			if v, keep := s.clean(pv); keep {
				original[k] = v
			} else {
				delete(original, k)
			}
		}
		return nil
	}
	switch ov := ov.(type) {
	case map[string]any:
		sub, meta, err := schema.lookupStruct(k)
		if err != nil {
			return err
		}
		_, strategy, err := patchRetainKeysStrategy(meta.strategies)
		if err != nil {
			return err
		}
		if strategy == "replace" {
			v, _ := s.clean(pv)
			original[k] = v
			return nil
		}
		merged, err := s.mergeMap(ov, pv.(map[string]any), sub)
		if err != nil {
			return err
		}
		original[k] = merged
	case []any:
		sub, meta, err := schema.lookupSlice(k)
		if err != nil {
			return err
		}
		_, strategy, err := patchRetainKeysStrategy(meta.strategies)
		if err != nil {
			return err
		}
		merged, err := s.mergeSliceHandler(ov, pv.([]any), sub, strategy, meta.mergeKey, isDeleteList)
		if err != nil {
			return err
		}
		original[k] = merged
	default:
		original[k] = pv
	}
	return nil
}

// clean prepares a value the patch adds as a whole: nulls in maps are dropped, maps carrying
// "$patch" are dropped, and directive keys are removed. keep is false when v itself is a directive.
func (s patchSMP) clean(v any) (any, bool) {
	switch t := v.(type) {
	case map[string]any:
		if s.directives {
			if _, ok := t[patchDirective]; ok {
				return nil, false
			}
		}
		for k, e := range t {
			if e == nil || (s.directives && patchIsDirectiveKey(k)) {
				delete(t, k)
				continue
			}
			if c, keep := s.clean(e); keep {
				t[k] = c
			} else {
				delete(t, k)
			}
		}
		return t, true
	case []any:
		res := make([]any, 0, len(t))
		for _, e := range t {
			if c, keep := s.clean(e); keep {
				res = append(res, c)
			}
		}
		return res, true
	}
	return v, true
}

func patchIsDirectiveKey(k string) bool {
	return k == patchRetainKeysKey || strings.HasPrefix(k, patchSetOrderPrefix+"/") ||
		strings.HasPrefix(k, patchDeleteFromPrefix+"/")
}

// patchExtractKey returns the field name of a "$prefix/field" key.
func patchExtractKey(s, prefix string) (string, error) {
	head, tail, ok := strings.Cut(s, "/")
	if !ok || head != prefix {
		switch prefix {
		case patchDeleteFromPrefix:
			return "", errPatchBadPrimitiveList
		case patchSetOrderPrefix:
			return "", errPatchBadSetOrder
		}
		return "", fmt.Errorf("fail to find unknown prefix %q in %s", prefix, s)
	}
	return tail, nil
}

// patchRetainKeysStrategy splits a patchStrategy tag into retainKeys and the other strategy.
func patchRetainKeysStrategy(strategies []string) (bool, string, error) {
	switch len(strategies) {
	case 0:
		return false, "", nil
	case 1:
		if strategies[0] == "retainKeys" {
			return true, "", nil
		}
		return false, strategies[0], nil
	case 2:
		switch {
		case strategies[0] == "retainKeys":
			return true, strategies[1], nil
		case strategies[1] == "retainKeys":
			return true, strategies[0], nil
		}
	}
	return false, "", fmt.Errorf("unexpected patch strategy: %v", strategies)
}

// patchApplyRetainKeys applies a "$retainKeys" directive: keys of original missing from the list are
// cleared, and every key the patch sets must be listed.
func patchApplyRetainKeys(original, patch map[string]any) error {
	v, ok := patch[patchRetainKeysKey]
	if !ok {
		return nil
	}
	delete(patch, patchRetainKeysKey)
	list, ok := v.([]any)
	if !ok {
		return errPatchBadRetainKeys
	}
	keep := make(map[string]bool, len(list))
	for _, e := range list {
		switch k := e.(type) {
		case string:
			keep[k] = true
		case map[string]any, []any:
			return errPatchBadRetainKeys
		}
	}
	for k, pv := range patch {
		if pv == nil || strings.HasPrefix(k, patchDeleteFromPrefix) || strings.HasPrefix(k, patchSetOrderPrefix) {
			continue
		}
		if !keep[k] {
			return errPatchBadRetainKeys
		}
	}
	for k := range original {
		if !keep[k] {
			delete(original, k)
		}
	}
	return nil
}

// applySetElementOrder processes the "$setElementOrder/<field>" directives of one map, merging each
// with its list and ordering the result. The lists handled are removed from patch.
func (s patchSMP) applySetElementOrder(original, patch map[string]any, schema patchSchema) error {
	var keys []string
	for k := range patch {
		if strings.HasPrefix(k, patchSetOrderPrefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, key := range keys {
		orderV := patch[key]
		delete(patch, key)
		order, ok := orderV.([]any)
		if !ok {
			return patchBadArgType("[]interface {}", orderV)
		}
		field, err := patchExtractKey(key, patchSetOrderPrefix)
		if err != nil {
			return err
		}
		origV, foundOrig := original[field]
		patchV, foundPatch := patch[field]
		var origList, patchList []any
		if foundOrig {
			if origList, ok = origV.([]any); !ok {
				return patchBadArgType("[]interface {}", origV)
			}
		}
		if foundPatch {
			if patchList, ok = patchV.([]any); !ok {
				return patchBadArgType("[]interface {}", patchV)
			}
		}
		sub, meta, err := schema.lookupSlice(field)
		if err != nil {
			return err
		}
		_, strategy, err := patchRetainKeysStrategy(meta.strategies)
		if err != nil {
			return err
		}
		if err := patchValidateSetOrder(patchList, order, meta.mergeKey); err != nil {
			return err
		}
		var merged []any
		switch {
		case foundOrig && !foundPatch:
			merged = origList
		case !foundOrig && foundPatch:
			v, _ := s.clean(patchList)
			merged = v.([]any)
		case foundOrig && foundPatch:
			// Upstream merges in the backing array of the original list, deleting by shifting and
			// appending into the freed slots, and then orders by that array: its order depends on
			// these side effects. Replaying them on a copy of the list's exact capacity (as the API
			// server's unstructured conversion allocates it) gives the same order.
			work := make([]any, len(origList))
			copy(work, origList)
			if merged, err = s.mergeSliceHandler(work, patchList, sub, strategy, meta.mergeKey, false); err != nil {
				return err
			}
			origList = work
		default:
			continue
		}
		var inOrder, serverOnly []any
		if meta.mergeKey == "" {
			inOrder, serverOnly = patchPartitionPrimitives(merged, order)
		} else if inOrder, serverOnly, err = patchPartitionMaps(merged, order, meta.mergeKey); err != nil {
			return err
		}
		isMap, err := patchSliceElemIsMap(origList, patchList)
		if err != nil {
			return err
		}
		all, err := patchNormalizeOrder(inOrder, serverOnly, order, origList, meta.mergeKey, isMap)
		if err != nil {
			return err
		}
		original[field] = all
		delete(patch, field)
	}
	return nil
}

// patchValidateSetOrder checks that the patch list's items appear in the $setElementOrder list, in
// the same relative order (deletions and directives aside).
func patchValidateSetOrder(patchList, order []any, mergeKey string) error {
	if len(order) == 0 || len(patchList) == 0 {
		return nil
	}
	items := patchList
	if mergeKey != "" {
		var err error
		if items, _, err = patchSplitDeletes(patchList); err != nil {
			return err
		}
	}
	pi, oi := 0, 0
	for pi < len(items) && oi < len(order) {
		if m, ok := items[pi].(map[string]any); ok {
			if _, ok := m[patchDirective]; ok {
				pi++
				continue
			}
		}
		eq, err := patchMergeKeyEqual(items[pi], order[oi], mergeKey)
		if err != nil {
			return err
		}
		if eq {
			pi++
		}
		oi++
	}
	if pi < len(items) && oi >= len(order) {
		return fmt.Errorf("The order in patch list:\n%v\n doesn't match %s list:\n%v\n", patchList, patchSetOrderPrefix, order)
	}
	return nil
}

func patchMergeKeyEqual(left, right any, mergeKey string) (bool, error) {
	if mergeKey == "" {
		return patchScalarEqual(left, right), nil
	}
	l, ok := left.(map[string]any)
	if !ok {
		return false, patchBadArgType("map[string]interface {}", left)
	}
	r, ok := right.(map[string]any)
	if !ok {
		return false, patchBadArgType("map[string]interface {}", right)
	}
	lv, ok := l[mergeKey]
	if !ok {
		return false, patchNoMergeKey(l, mergeKey)
	}
	rv, ok := r[mergeKey]
	if !ok {
		return false, patchNoMergeKey(r, mergeKey)
	}
	return patchScalarEqual(lv, rv), nil
}

// patchSplitDeletes separates the {"$patch": "delete"} items of a list of maps.
func patchSplitDeletes(l []any) (keep, del []any, err error) {
	for _, v := range l {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, nil, patchBadArgType("map[string]interface {}", v)
		}
		if d, ok := m[patchDirective]; ok && d == "delete" {
			del = append(del, v)
		} else {
			keep = append(keep, v)
		}
	}
	return keep, del, nil
}

// mergeSliceHandler merges a list field according to its strategy: merge lists (and deletion
// lists) merge, other lists are replaced by the patch as sent.
func (s patchSMP) mergeSliceHandler(original, patch []any, schema patchSchema, strategy, mergeKey string, isDeleteList bool) ([]any, error) {
	if strategy == "merge" || isDeleteList {
		return s.mergeSlice(original, patch, schema, mergeKey, isDeleteList)
	}
	return patch, nil
}

// patchSliceElemIsMap checks that the items of the lists share one JSON type and tells whether it
// is an object. Upstream refuses lists of lists and mixed lists, and panics on a leading null.
func patchSliceElemIsMap(lists ...[]any) (bool, error) {
	var first any
	found := false
	for _, l := range lists {
		for _, v := range l {
			if !found {
				if _, ok := v.([]any); ok {
					return false, errPatchListOfLists
				}
				if v == nil {
					return false, fmt.Errorf("list element types are not identical: %v", fmt.Sprint(lists))
				}
				first, found = v, true
				continue
			}
			if reflect.TypeOf(v) != reflect.TypeOf(first) {
				return false, fmt.Errorf("list element types are not identical: %v", fmt.Sprint(lists))
			}
		}
	}
	if !found {
		return false, errors.New("no elements in any of the given slices")
	}
	_, isMap := first.(map[string]any)
	return isMap, nil
}

// mergeSlice merges two lists with the merge strategy.
func (s patchSMP) mergeSlice(original, patch []any, schema patchSchema, mergeKey string, isDeleteList bool) ([]any, error) {
	if len(original) == 0 && len(patch) == 0 {
		return original, nil
	}
	isMap, err := patchSliceElemIsMap(original, patch)
	if err != nil {
		return nil, err
	}
	if !isMap {
		if isDeleteList {
			return patchDeleteValues(original, patch), nil
		}
		merged := patchDedupScalars(original, patch)
		inPatch, serverOnly := patchPartitionPrimitives(merged, patch)
		return patchNormalizeOrder(inPatch, serverOnly, patch, original, "", false)
	}
	if mergeKey == "" {
		return nil, fmt.Errorf("cannot merge lists without merge key for %s", schema.kindName())
	}
	if s.directives {
		if original, patch, err = patchSpecialElements(original, patch, mergeKey); err != nil {
			return nil, err
		}
	}
	serverOrder := original // appends below do not change this view
	merged, err := s.mergeByKey(original, patch, mergeKey, schema)
	if err != nil {
		return nil, err
	}
	inPatch, serverOnly, err := patchPartitionMaps(merged, patch, mergeKey)
	if err != nil {
		return nil, err
	}
	return patchNormalizeOrder(inPatch, serverOnly, patch, serverOrder, mergeKey, true)
}

// patchSpecialElements applies the directive items of a patch list of maps: deletions by merge key
// and "replace" (the list becomes the other patch items). It returns the new original and the
// patch without directive items.
func patchSpecialElements(original, patch []any, mergeKey string) ([]any, []any, error) {
	rest := make([]any, 0, len(patch))
	replace := false
	for _, v := range patch {
		m := v.(map[string]any) // patchSliceElemIsMap checked every item
		d, ok := m[patchDirective]
		if !ok {
			rest = append(rest, v)
			continue
		}
		switch d {
		case "delete":
			kv, ok := m[mergeKey]
			if !ok {
				return nil, nil, patchNoMergeKey(m, mergeKey)
			}
			// In place, shifting the tail left, as upstream does (see applySetElementOrder).
			for i := 0; i < len(original); {
				om, ok := original[i].(map[string]any)
				if !ok {
					return nil, nil, fmt.Errorf("value for key %v is not a map", i)
				}
				if ov, ok := om[mergeKey]; ok && patchScalarEqual(ov, kv) {
					original = append(original[:i], original[i+1:]...)
					continue
				}
				i++
			}
		case "replace":
			replace = true // keep scanning: later directive items are dropped too
		case "merge":
			return nil, nil, errors.New("merging lists cannot yet be specified in the patch")
		default:
			return nil, nil, fmt.Errorf("unknown patch type: %s in map: %v", d, m)
		}
	}
	if replace {
		return rest, nil, nil
	}
	return original, rest, nil
}

// patchKeyIndex finds list items by merge key value (or by value for primitives) in O(1); values
// Go cannot hash (maps, lists) never match, where upstream's == would panic.
type patchKeyIndex map[any]int

func (ix patchKeyIndex) addFirst(k any, i int) {
	if patchHashable(k) {
		if _, dup := ix[k]; !dup {
			ix[k] = i
		}
	}
}

func (ix patchKeyIndex) find(k any) int {
	if !patchHashable(k) {
		return -1
	}
	if i, ok := ix[k]; ok {
		return i
	}
	return -1
}

// mergeByKey merges each patch map into the first original map with the same merge key value, or
// appends it to original (in place when capacity allows, as upstream). Appended items are found
// again by later patch items, as upstream does.
func (s patchSMP) mergeByKey(original, patch []any, mergeKey string, schema patchSchema) ([]any, error) {
	merged := original
	ix := make(patchKeyIndex, len(merged))
	for i, o := range merged {
		om, ok := o.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("value for key %v is not a map", i)
		}
		if v, ok := om[mergeKey]; ok {
			ix.addFirst(v, i)
		}
	}
	for _, p := range patch {
		pm := p.(map[string]any)
		kv, ok := pm[mergeKey]
		if !ok {
			return nil, patchNoMergeKey(pm, mergeKey)
		}
		if i := ix.find(kv); i >= 0 {
			m, err := s.mergeMap(merged[i].(map[string]any), pm, schema)
			if err != nil {
				return nil, err
			}
			merged[i] = m
			continue
		}
		ix.addFirst(kv, len(merged))
		merged = append(merged, p)
	}
	return merged, nil
}

// patchDedupScalars returns the distinct values of a then b.
func patchDedupScalars(a, b []any) []any {
	out := make([]any, 0, len(a)+len(b))
	seen := make(map[any]bool, len(a)+len(b))
	for _, l := range [][]any{a, b} {
		for _, v := range l {
			if !patchHashable(v) {
				out = append(out, v)
				continue
			}
			if !seen[v] {
				seen[v] = true
				out = append(out, v)
			}
		}
	}
	return out
}

// patchDeleteValues removes from current every value listed in del ($deleteFromPrimitiveList).
func patchDeleteValues(current, del []any) []any {
	drop := make(map[any]bool, len(del))
	for _, v := range del {
		if patchHashable(v) {
			drop[v] = true
		}
	}
	out := make([]any, 0, len(current))
	for _, v := range current {
		if patchHashable(v) && drop[v] {
			continue
		}
		out = append(out, v)
	}
	return out
}

// patchPartitionPrimitives splits l into the values present in by and the others.
func patchPartitionPrimitives(l, by []any) (in, out []any) {
	set := make(map[any]bool, len(by))
	for _, v := range by {
		if patchHashable(v) {
			set[v] = true
		}
	}
	in = make([]any, 0, len(l))
	out = make([]any, 0, len(l))
	for _, v := range l {
		if patchHashable(v) && set[v] {
			in = append(in, v)
		} else {
			out = append(out, v)
		}
	}
	return in, out
}

// patchPartitionMaps splits l into the maps whose merge key value appears in by and the others.
func patchPartitionMaps(l, by []any, mergeKey string) (in, out []any, err error) {
	ix := make(patchKeyIndex, len(by))
	for i, v := range by {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, nil, fmt.Errorf("value for key %v is not a map", i)
		}
		if kv, ok := m[mergeKey]; ok {
			ix.addFirst(kv, i)
		}
	}
	in = make([]any, 0, len(l))
	out = make([]any, 0, len(l))
	for _, v := range l {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, nil, patchBadArgType("map[string]interface {}", v)
		}
		kv, ok := m[mergeKey]
		if !ok {
			return nil, nil, patchNoMergeKey(m, mergeKey)
		}
		if ix.find(kv) >= 0 {
			in = append(in, v)
		} else {
			out = append(out, v)
		}
	}
	return in, out, nil
}

// patchOrderKey is what ordering compares: the merge key value of a map, or the value itself.
func patchOrderKey(v any, mergeKey string, isMap bool) any {
	if !isMap {
		return v
	}
	m, _ := v.(map[string]any)
	return m[mergeKey] // nil for a non-map, as upstream's index()
}

func patchOrderIndex(l []any, mergeKey string, isMap bool) patchKeyIndex {
	ix := make(patchKeyIndex, len(l))
	for i, v := range l {
		ix.addFirst(patchOrderKey(v, mergeKey, isMap), i)
	}
	return ix
}

// patchNormalizeOrder orders a merged list: the items in the patch by patchOrder, the server-only
// items by serverOrder, then interleaves the two, placing each server-only item before the first
// patch item that comes after it in serverOrder (upstream's normalizeElementOrder).
func patchNormalizeOrder(inPatch, serverOnly, patchOrder, serverOrder []any, mergeKey string, isMap bool) ([]any, error) {
	inPatch, err := patchSortByOrder(inPatch, patchOrder, mergeKey, isMap)
	if err != nil {
		return nil, err
	}
	if serverOnly, err = patchSortByOrder(serverOnly, serverOrder, mergeKey, isMap); err != nil {
		return nil, err
	}
	ix := patchOrderIndex(serverOrder, mergeKey, isMap)
	out := make([]any, 0, len(inPatch)+len(serverOnly))
	i, j := 0, 0
	for i < len(serverOnly) || j < len(inPatch) {
		switch {
		case i >= len(serverOnly):
			out = append(out, inPatch[j])
			j++
		case j >= len(inPatch):
			out = append(out, serverOnly[i])
			i++
		default:
			li := ix.find(patchOrderKey(serverOnly[i], mergeKey, isMap))
			ri := ix.find(patchOrderKey(inPatch[j], mergeKey, isMap))
			if li >= 0 && ri >= 0 && li < ri {
				out = append(out, serverOnly[i])
				i++
			} else {
				out = append(out, inPatch[j])
				j++
			}
		}
	}
	return out, nil
}

// patchSortByOrder sorts l stably by the position of each item in order, with upstream's comparison
// (an item missing from order sorts first) and the same sort, so that even inconsistent inputs give
// upstream's result. Deletion directives go last.
func patchSortByOrder(l, order []any, mergeKey string, isMap bool) ([]any, error) {
	var del []any
	if isMap {
		for _, list := range [][]any{l, order} {
			for _, v := range list {
				m, ok := v.(map[string]any)
				if !ok {
					return nil, patchBadArgType("map[string]interface {}", v)
				}
				if _, ok := m[mergeKey]; !ok {
					return nil, patchNoMergeKey(m, mergeKey)
				}
			}
		}
		var err error
		if l, del, err = patchSplitDeletes(l); err != nil {
			return nil, err
		}
	}
	ix := patchOrderIndex(order, mergeKey, isMap)
	type item struct {
		v   any
		pos int
	}
	items := make([]item, len(l))
	for i, v := range l {
		items[i] = item{v, ix.find(patchOrderKey(v, mergeKey, isMap))}
	}
	sort.SliceStable(items, func(i, j int) bool {
		if items[i].pos >= 0 && items[j].pos >= 0 {
			return items[i].pos < items[j].pos
		}
		return true
	})
	out := make([]any, 0, len(items)+len(del))
	for _, it := range items {
		out = append(out, it.v)
	}
	return append(out, del...), nil
}
