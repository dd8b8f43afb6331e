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
// Encoding uses generated append-style encoders (zz_generated.encode.go, written by
// "go run ./codec/encgen"), one plain function per type reachable from the served kinds, that
// write exactly what encoding/json writes (an oracle test checks it on randomly filled
// objects). Decoding uses encoding/json. goccy/go-json is not used: it keeps per-type
// program tables indexed by type address, which on this binary cost 3.7 MiB (encoder) and
// 7.5 MiB (decoder) of heap under qemu-arm at idle, more than k2d's whole idle budget. The
// OpenAPI documents live in the openapi subpackage, generated from the same registry.
package codec
