// Package openapi holds k2d's OpenAPI documents, generated at development time from codec.Kinds
// and the k8s.io/api types, and embedded gzip-compressed:
//
//   - /openapi/v2: one swagger 2.0 document (V2Gzip), JSON only;
//   - /openapi/v3: an index of group-versions (V3IndexJSON), each pointing at
//     /openapi/v3/<gv>?hash=<hash>, one OpenAPI 3.0 document per group-version (V3Gzip).
//
// Clients need them for more than documentation. kubectl explain reads v3 (the index, then the
// group-version document) and finds a kind by the x-kubernetes-group-version-kind of the
// resource's operations and schemas. kubectl create/apply/replace (and Helm, through the same
// code) read the v3 document of the object's group-version and look for the fieldValidation
// query parameter on its PATCH operations: when it is declared they send fieldValidation=Strict
// and leave unknown and duplicate fields to the server (codec.UnknownFields); when it is not,
// they validate on the client against /openapi/v2 in protobuf, which k2d does not produce.
// kubectl apply takes strategic-merge metadata (x-kubernetes-patch-merge-key,
// x-kubernetes-patch-strategy) from the v3 schemas.
//
// Data flow: go run ./codec/openapi/gen reflects over the Go types (json tags, SwaggerDoc,
// OpenAPIModelName, patch tags, comment markers read from their source), writes v2.json.gz,
// v3/*.json.gz and zz_generated.embed.go here; the package test fails while they are stale.
// The server serves the bytes as they are, with Content-Encoding: gzip (kubectl and client-go
// always accept gzip); it must inflate on the fly only for a client that refuses gzip.
//
// Caveats:
//   - Returned slices are the embedded data itself: never modify them. They live in the
//     binary's data segment, not the heap.
//   - The v3 hash is the upper-case hex SHA-512 of the compressed document, computed once on
//     first use. A request carrying the current hash may be answered with a long
//     "Cache-Control: public, immutable" and the hash as ETag, as the API server does.
//   - /openapi/v2 is JSON only. client-go asks for it only in protobuf
//     (application/com.github.proto-openapi.spec.v2@v1.0+protobuf): answer that Accept with
//     406 Not Acceptable rather than JSON, which it would fail to parse. kubectl 1.32 asks for
//     it only for client-side validation (avoided by the fieldValidation parameter), for
//     kubectl explain --output=plaintext-openapiv2, and as a fallback for strategic merge
//     metadata in client-side apply (which then falls back to the compiled-in types).
//   - Only what k2d serves is described: kinds and verbs from codec.Kinds, application/json
//     (and the JSON watch stream); no deprecated /watch/ paths, no protobuf or YAML bodies.
package openapi
