// Package fastapi is k2d's Kubernetes API server on fasthttp: TLS and bearer-token auth, path
// parsing and routing, content negotiation (JSON, Table, aggregated discovery), the verbs
// (get, list, watch, create, update, patch, delete, deletecollection), subresources (status,
// log, exec, attach), and the mapping of every error to a Kubernetes Status.
//
// Data flow: reads are answered from the cache (Store) alone, lists by concatenating the
// pre-encoded objects; watches subscribe to the cache's change log and stream one frame per
// event. Writes decode, default and validate through codec, then store through the cache and
// answer at once; the reconcile controllers act on the change. Only logs, exec and attach
// reach Docker, through Runtime.
//
// Auth: the admin bearer token may do anything. A service account token (auth_sa.go, signed
// by k2d for pods' kube-api-access volumes) authenticates as the service account, which may
// use discovery, /version, /openapi and self reviews and gets the authorizer's 403 otherwise.
//
// Caveats: nothing from a *fasthttp.RequestCtx outlives its handler except through the body
// stream writer, which copies what it needs first. Server limits live in server.go.
package fastapi
