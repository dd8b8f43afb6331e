// Package cache holds k2d's in-memory state: every API object by resource, namespace and
// name, each with its pre-encoded JSON, a strictly increasing resourceVersion, and a bounded
// change log that feeds watches.
//
// Data flow: API writes (fastapi) and observed Docker state (reconcile) call Create, Update,
// Mutate and Delete; each change gets the next resourceVersion, is encoded once, is appended
// to the history ring and is fanned out to watchers and subscribers. Reads (Get, List, Watch)
// never leave memory.
//
// Persistence: objects of the resources named in Options.Persist are written to the data
// dir, one file per object, atomically and only when their persisted form (everything but
// status and resourceVersion) changes. Status changes reach no disk. The rv file reserves
// blocks of versions so that versions keep increasing across restarts and power cuts.
// Resources covered by Options.Encryption (Secrets) are written encrypted with AES-256-GCM
// (crypt.go); a file that does not decrypt is reported by Load and left in place.
//
// Caveats: entries are immutable once published; callers deep-copy before changing an
// object. Subscribers run with the lock held and must only enqueue work. A watcher that falls
// watchBuffer events behind is dropped (its channel closes) rather than slowing every write.
// Memory is bounded by the objects themselves plus Options.History events.
package cache
