package codec

// JSON merge patch (RFC 7386), application/merge-patch+json: what `kubectl label`, `kubectl
// annotate`, `kubectl scale` and `kubectl patch --type=merge` send.

// patchApplyMerge applies an RFC 7386 merge patch to the current object.
//
// The patch must be a JSON object. RFC 7386 lets any other value replace the whole target, but a
// Kubernetes object must stay an object: the API server (evanphx/json-patch v4) answers "Invalid JSON
// Patch" for a syntax error, null or a scalar, and fails decoding an array later; k2d refuses all of
// them up front with the same message.
func patchApplyMerge(current, patch []byte) ([]byte, error) {
	doc, err := patchDecodeCurrent(current)
	if err != nil {
		return nil, err
	}
	p, err := patchDecode(patch)
	if err != nil {
		return nil, &PatchError{Code: 400, Msg: "Invalid JSON Patch"}
	}
	if _, ok := p.(map[string]any); !ok {
		return nil, &PatchError{Code: 400, Msg: "Invalid JSON Patch"}
	}
	return patchEncode(patchMergeValue(doc, p))
}

// patchMergeValue is the MergePatch(Target, Patch) function of RFC 7386 section 2. It edits target
// in place when both are objects and returns the result.
func patchMergeValue(target, patch any) any {
	pm, ok := patch.(map[string]any)
	if !ok {
		// Arrays, scalars and null replace the target wholesale, nulls inside arrays included.
		return patch
	}
	tm, ok := target.(map[string]any)
	if !ok {
		tm = make(map[string]any, len(pm))
	}
	for k, v := range pm {
		if v == nil {
			delete(tm, k)
			continue
		}
		tm[k] = patchMergeValue(tm[k], v)
	}
	return tm
}
