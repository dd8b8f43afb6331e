// Package dockerio is k2d's client for the Docker Engine API, over the engine's unix socket
// or a plain tcp:// DOCKER_HOST. It speaks to Docker 20.10+ (API 1.41+) and to Podman's
// Docker-compatible socket, uses the request and answer types of
// github.com/docker/docker/api/types and never the Docker client package, and knows nothing
// of Kubernetes.
//
// Data flow: New parses the host; Negotiate asks GET /version (unversioned) and from then on
// every path is prefixed with /v<min(engine, MaxAPIVersion)>. Short calls (inspect, list,
// create, start, stop, remove, ...) go through one fasthttp.HostClient with a small pool of
// keep-alive connections: the request body is JSON-encoded, a 2xx body is decoded into the
// caller's value, and any other answer becomes an *Error carrying the status code and the
// engine's message, which errors.Is matches against ErrNotFound, ErrConflict and
// ErrNotModified. Long or open-ended calls never use the pool: ContainerLogs, Events,
// ImagePull, ImageImport and ContainerWait dial a dedicated connection, write the request by
// hand and read the answer with their own framing (Content-Length, chunked, or until close);
// ContainerAttach and ExecStart do the same with "Connection: Upgrade" and hand the
// connection over as a HijackedConn, including the bytes that arrived with the answer's
// headers. Calls counts every request sent, so tests can prove that a read path made none.
//
// Multiplexed output (containers and execs without TTY) is split with Demux; TTY output is
// raw.
//
// Caveats:
//   - Contexts: every call honours ctx. A pooled call whose ctx is cancelled returns at once,
//     but fasthttp cannot abort a request in flight: it finishes in the background and its
//     connection returns to the pool. A write the engine already received (create, remove)
//     may therefore still happen. Dedicated connections are closed the moment ctx ends, and
//     their readers then return ctx.Err(). The ctx of ContainerAttach, ExecStart,
//     ContainerLogs and Events governs the whole stream, not only its setup.
//   - Lifetimes: a stream (io.ReadCloser, HijackedConn) belongs to the caller, who must close
//     it (or end its ctx); Close may be called from another goroutine to abort a blocked
//     Read. Client.Close closes idle pooled connections only.
//   - Memory: each pooled connection holds fasthttp's 4 KiB buffers and at most 32 exist;
//     whole bodies are capped at 64 MiB, error bodies at 64 KiB, one event or progress line
//     at 1 MiB; each stream holds an 8 KiB read buffer plus a 4 KiB line buffer. Idle pooled
//     connections close after 30 s, after which nothing in this package wakes up.
//   - Podman: only endpoints of its compat API are used; its version string ("1.41") is
//     negotiated like Docker's; filters are sent in the {"label":{"k=v":true}} form both
//     accept; images imported on Podman versions that ignore repo/tag are tagged afterwards.
//   - Not supported: TLS (https://, DOCKER_TLS_VERIFY), ssh:// and npipe:// hosts.
package dockerio
