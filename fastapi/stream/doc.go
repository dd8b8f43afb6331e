// Package stream serves the Kubernetes streaming protocols behind `kubectl exec`,
// `kubectl exec -it`, `kubectl attach`, `kubectl cp` and `kubectl port-forward` on a fasthttp
// connection upgrade.
//
// # What it owns
//
// The wire side of a session, from the upgrade request to the closed connection:
//
//   - WebSocket (RFC 6455, written here): subprotocols v5.channel.k8s.io (what kubectl 1.30+
//     asks for first), v4.channel.k8s.io, v4.base64.channel.k8s.io, and the legacy
//     channel.k8s.io and base64.channel.k8s.io. Every message starts with a channel byte:
//     0 stdin, 1 stdout, 2 stderr, 3 error, 4 resize; in v5, [255, c] half-closes channel c.
//
//   - SPDY/3.1 (written here), which kubectl falls back to when the WebSocket upgrade is refused
//     or KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false: X-Stream-Protocol-Version v5 (same as v4 over
//     SPDY), v4, v3 and v2. The client opens one stream per streamtype header (error, stdin,
//     stdout, stderr, resize); header blocks are zlib-compressed with the SPDY/3 dictionary.
//
//   - Port-forward (ServePortForward): SPDY/3.1 with X-Stream-Protocol-Version
//     portforward.k8s.io, or the same SPDY connection tunnelled in binary WebSocket messages
//     (subprotocol SPDY/3.1+portforward.k8s.io, kubectl 1.31+). Each forwarded connection is a
//     pair of streams (error, data) with port and requestid headers; the caller's dial function
//     opens the target.
//
// What runs in the container is not its business: the caller passes a run function, gets the
// streams, and returns a Result that becomes the Status on the error channel (v4+: a JSON
// metav1.Status; exit codes as reason NonZeroExitCode with an ExitCode cause, which kubectl
// turns into its own exit code; before v4: plain text).
//
// # Data flow
//
// Serve validates the request and negotiates the protocol while the request is still an HTTP
// request, answering refusals with a Status body (400, 403, 426). On success it sets the 101
// headers and hijacks the connection: fasthttp writes the 101, clears its deadlines and calls the
// hijack handler in its own goroutine. There one session runs:
//
//   - a reader goroutine parses frames, answers pings, and feeds stdin and resize bytes into
//     bounded buffers (inbound); resize JSON is decoded by a small goroutine into Streams.Resize;
//   - run is called in the hijack goroutine; its writes to Stdout and Stderr become frames written
//     directly under the session's write lock (no extra goroutine, no copy beyond bufio);
//   - when run returns, input is dropped, the status goes on the error channel, and the session
//     ends the protocol's way (WebSocket close 1000; SPDY FIN on every stream, then GOAWAY). The
//     client gets closeTimeout to answer before the socket is closed, so that unread input does
//     not make the kernel reset the connection before the client has read the status.
//
// For SPDY, run is only called once the client has opened every stream its options imply
// (streamCreationTimeout, as the kubelet); if it never does, or leaves first, run is not called.
//
// # Caveats
//
//   - Lifetimes: nothing from the RequestCtx is used after Serve returns. run must not keep the
//     Streams after it returns: writes then fail with a closed-session error and input is gone.
//   - Concurrency: Stdout and Stderr may be written from different goroutines; Stdin has one
//     reader. A session ends the input side (Stdin returns io.EOF, Resize is closed) when the
//     client half-closes stdin (v5 close signal or SPDY FIN), closes, or disappears. v4 WebSocket
//     has no half-close: stdin then ends with the connection. There is no other cancellation
//     signal: a command that neither reads stdin nor writes will run until it exits.
//   - Memory per session: two 4 KiB bufio buffers, a 16 KiB read chunk, up to inboundLimit
//     (64 KiB) buffered per input stream before TCP pushes back on the client, base64 messages up
//     to 1 MiB, SPDY control frames up to 64 KiB and one flate window (32 KiB) for SPDY header
//     decompression. Outgoing data frames are at most 64 KiB.
//   - Flow control: kubectl's SPDY library neither sends WINDOW_UPDATE nor honours windows, so
//     windows are neither enforced nor sent (as with the kubelet); TCP does the flow control.
//     The server's header blocks are zlib stored blocks: valid for any SPDY/3 peer, and free of a
//     compressor's half-megabyte of state.
//   - Timeouts: idleTimeout (4h, the kubelet's default) bounds silence in either direction; kubectl
//     pings every 5s over both transports and the session answers.
//   - kubectl up to 1.32 may drop WebSocket output that arrives before it has registered its
//     streams (fixed upstream in 1.33). A session therefore pings the client first and sends
//     output only after the pong, or after startTimeout (2s) for clients that do not answer.
//   - Port-forward: all forwarded connections share the upgraded connection and its one reader,
//     so a target that stops reading stalls the others once its 64 KiB buffer is full (as with
//     the kubelet). Each forwarded connection costs two goroutines while it is open; dialled
//     connections are closed when the client leaves, and ServePortForward's hijack handler
//     returns only once its forwarders are gone. Errors go on the error stream as plain text,
//     which every kubectl version prints.
package stream
