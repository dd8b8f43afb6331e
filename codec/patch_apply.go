package codec

// Server-side apply, application/apply-patch+yaml: `kubectl apply --server-side` (and Helm 4,
// client-go Apply, controller-runtime client.Apply).
//
// MINIMAL IMPLEMENTATION, enough for one field manager. The applied configuration is merged onto
// the current object like a strategic merge patch without directives: maps merge recursively, lists
// tagged patchStrategy:"merge" merge by their patchMergeKey, other lists are replaced, null deletes a
// key. On create (empty current) the result is the configuration itself.
//
// What full server-side apply (sigs.k8s.io/structured-merge-diff) does and this does not:
//   - metadata.managedFields: recording, per manager and operation (Apply/Update), the set of fields
//     (FieldsV1) each manager owns, and updating it on every write, including PUT and other patches;
//   - conflicts: 409 when the configuration changes a field another manager owns, unless force=true,
//     in which case ownership moves;
//   - removal: a field the manager applied before and no longer applies is deleted (if no other
//     manager owns it). Here it stays, so e.g. dropping `rollingUpdate` while switching a
//     Deployment to `Recreate` leaves an invalid object, and removing a container, env var or label
//     from the manifest does not remove it from the object;
//   - list semantics from OpenAPI (x-kubernetes-list-type map/set/atomic and list-map-keys), which
//     differ from the patch tags in places: container ports are keyed by containerPort+protocol,
//     Service ports by port+protocol;
//   - unions (discriminated fields) normalisation;
//   - YAML bodies: kubectl, Helm and client-go send JSON, which is valid YAML; a YAML body (sent by
//     e.g. Pulumi or curl users) is refused with 400 until a YAML decoder is allowed
//     (sigs.k8s.io/yaml is in go.sum but not required by go.mod);
//   - checking that apiVersion/kind of the body match the endpoint (the caller's job).

import (
	"bytes"
	"reflect"
)

// patchApplyServerSide merges an apply configuration onto the current object; t may be nil.
func patchApplyServerSide(current, body []byte, t reflect.Type) ([]byte, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil, &PatchError{Code: 400, Msg: "error decoding YAML: empty apply configuration"}
	}
	if body[0] != '{' {
		return nil, &PatchError{Code: 400, Msg: "error decoding YAML: only the JSON form of apply configurations is supported by k2d; send the object as JSON"}
	}
	v, err := patchDecode(body)
	if err != nil {
		return nil, patchErrorf(400, "error decoding YAML: %v", err)
	}
	cfg := v.(map[string]any) // a '{' that decodes is an object
	if md, ok := cfg["metadata"].(map[string]any); ok {
		if mf, ok := md["managedFields"]; ok && mf != nil {
			return nil, &PatchError{Code: 400, Msg: "metadata.managedFields must be nil"}
		}
	}
	doc, err := patchDecodeCurrent(current)
	if err != nil {
		return nil, err
	}
	res, err := patchSMP{directives: false}.mergeMap(doc, cfg, patchSchema{t})
	if err != nil {
		return nil, patchSMPError(err)
	}
	return patchEncode(res)
}
