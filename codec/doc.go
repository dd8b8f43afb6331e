// Package codec turns bytes into Kubernetes objects and back, without I/O: the registry of
// served kinds (kinds.go), JSON and protobuf decoding, strict field checking, defaulting and
// validation as the API server does them, Table rows for kubectl get, and patch application
// (JSON merge, JSON patch, strategic merge, and a single-manager server-side apply).
//
// Data flow: fastapi decodes a write's body here (Unmarshal or DecodeProtobuf, after
// UnknownFields for fieldValidation), applies Default and Validate, then stores the object
// in the cache, which encodes it once with EncodeObject. Patches are applied to the stored
// JSON and the result goes through the same path.
//
// Caveats: decoding of the large Kubernetes types uses reflection (goccy/go-json) for now;
// hand-written codecs for the hot kinds are planned with benchmarks. The OpenAPI documents
// live in the openapi subpackage, generated from the same registry.
package codec
