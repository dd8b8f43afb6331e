package stream

import (
	"bytes"
	"io"
	"net"
	"time"

	"github.com/valyala/fasthttp"
)

// Options says which streams the client asked for (the exec/attach query parameters stdin, stdout,
// stderr and tty).
type Options struct{ Stdin, Stdout, Stderr, TTY bool }

// Size is a terminal size sent by the client on the resize channel.
type Size struct{ Width, Height uint16 }

// Streams are the session's streams as seen by the command.
type Streams struct {
	Stdin  io.Reader   // nil unless Options.Stdin; returns io.EOF when the client half-closes stdin or the connection ends
	Stdout io.Writer   // nil unless Options.Stdout
	Stderr io.Writer   // nil unless Options.Stderr (and !TTY)
	Resize <-chan Size // nil unless TTY; closed when the session ends
}

// Result of the command: exit code (0 = success) or an error to report on the error channel.
type Result struct {
	ExitCode int
	Err      error
}

// Server-side limits of a session, in one place.
const (
	// idleTimeout bounds how long a session may see no traffic in either direction; it is the
	// kubelet's default streaming-connection-idle-timeout. kubectl pings every 5s, so only dead
	// peers hit it.
	idleTimeout = 4 * time.Hour
	// streamCreationTimeout bounds the wait for a SPDY client to open the streams it asked
	// for (the kubelet's value).
	streamCreationTimeout = 30 * time.Second
	// closeTimeout bounds the wait for the client to acknowledge the end of the session, so
	// that closing the socket with unread input does not reset what was sent last.
	closeTimeout = 5 * time.Second
	// inboundLimit is how many bytes of stdin (or resize JSON) are buffered before the reader
	// stops reading the connection: TCP then pushes back on the client.
	inboundLimit = 64 << 10
	// readBufferSize and chunkSize size the per-session read buffer and the payload chunks
	// copied from it.
	readBufferSize = 4 << 10
	chunkSize      = 16 << 10
	// maxDataFrame caps one outgoing data frame so that one large write does not hold the
	// connection's write lock for long.
	maxDataFrame = 64 << 10
)

// IsUpgrade reports whether the request asks for a WebSocket or SPDY upgrade this package can serve.
func IsUpgrade(ctx *fasthttp.RequestCtx) bool {
	return isWebSocketRequest(&ctx.Request.Header) || isSPDYRequest(&ctx.Request.Header)
}

// Serve answers the upgrade on ctx (101 with the negotiated protocol, or a 400/403 Status if no protocol
// matches) and, once the connection is hijacked, calls run in the hijack goroutine with the streams. When run
// returns, the Result is written on the error channel and the connection is closed. run must not keep the
// streams after it returns. Nothing from ctx may be used after Serve returns (copy what you need).
func Serve(ctx *fasthttp.RequestCtx, opts Options, run func(s *Streams) Result) {
	if opts.TTY {
		// With a terminal, stderr is merged into stdout by the runtime and kubectl opens no
		// stderr stream: waiting for one would hang the session.
		opts.Stderr = false
	}
	if !opts.Stdin && !opts.Stdout && !opts.Stderr {
		writeErrorStatus(ctx, fasthttp.StatusBadRequest, "BadRequest",
			"you must specify at least 1 of stdin, stdout, stderr")
		return
	}
	h := &ctx.Request.Header
	switch {
	case isWebSocketRequest(h):
		serveWebSocket(ctx, opts, run)
	case isSPDYRequest(h):
		serveSPDY(ctx, opts, run)
	default:
		writeErrorStatus(ctx, fasthttp.StatusBadRequest, "BadRequest",
			"unable to upgrade: missing upgrade headers in request")
	}
}

// hasToken reports whether any of the comma-separated values holds token (ASCII case-insensitive).
func hasToken(values [][]byte, token string) bool {
	for _, v := range values {
		for len(v) > 0 {
			var item []byte
			if i := bytes.IndexByte(v, ','); i >= 0 {
				item, v = v[:i], v[i+1:]
			} else {
				item, v = v, nil
			}
			if bytes.EqualFold(bytes.TrimSpace(item), []byte(token)) {
				return true
			}
		}
	}
	return false
}

// tokens splits comma-separated header values into trimmed, non-empty items, copied.
func tokens(values [][]byte) []string {
	var out []string
	for _, v := range values {
		for _, item := range bytes.Split(v, []byte{','}) {
			if item = bytes.TrimSpace(item); len(item) > 0 {
				out = append(out, string(item))
			}
		}
	}
	return out
}

// hijack registers h to run on the upgraded connection once fasthttp has written the 101.
// It wraps the connection in the deadlines this package manages and closes it at the end,
// which matters when the server keeps hijacked connections (KeepHijackedConns).
func hijack(ctx *fasthttp.RequestCtx, h func(c net.Conn)) {
	ctx.HijackSetNoResponse(false)
	ctx.Hijack(func(c net.Conn) {
		// fasthttp clears its own deadlines before the hijack; clear them again so a server
		// ReadTimeout/IdleTimeout can never cut a session, whatever the fasthttp version.
		_ = c.SetDeadline(time.Time{})
		defer c.Close()
		h(c)
	})
}
