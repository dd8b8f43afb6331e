package dockerio

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/docker/docker/api/types"
)

// HijackedConn is the raw stream of an attach or exec session once the engine has taken the
// connection over. Reads return what the process writes: multiplexed frames (see Demux) for
// a non-TTY session, raw bytes for a TTY. Writes go to the process's stdin. It is closed when
// the caller calls Close or when the context given to ContainerAttach or ExecStart ends.
//
// One goroutine may Read while another Writes; Close may be called from any goroutine.
type HijackedConn struct {
	cn *conn
}

var _ io.ReadWriteCloser = (*HijackedConn)(nil)

// Read reads from the session, starting with any bytes that arrived with the answer's
// headers (the engine often sends the first output in the same packet).
func (h *HijackedConn) Read(p []byte) (int, error) {
	n, err := h.cn.br.Read(p)
	if err != nil && err != io.EOF {
		err = h.cn.ctxErr(err)
	}
	return n, err
}

// Write writes to the process's stdin.
func (h *HijackedConn) Write(p []byte) (int, error) {
	n, err := h.cn.nc.Write(p)
	if err != nil {
		err = h.cn.ctxErr(err)
	}
	return n, err
}

// CloseWrite half-closes the connection. Without a TTY the process sees EOF on stdin while
// its output keeps flowing until it exits (for attach, only if the container has StdinOnce).
// With a TTY the engine instead ends the output stream and leaves the process running, as a
// terminal has no EOF of its own: write ^D (0x04) first to end a TTY process's input.
func (h *HijackedConn) CloseWrite() error {
	switch c := h.cn.nc.(type) {
	case *net.UnixConn:
		return c.CloseWrite()
	case *net.TCPConn:
		return c.CloseWrite()
	case interface{ CloseWrite() error }:
		return c.CloseWrite()
	}
	return errors.New("cannot half-close: connection does not support CloseWrite")
}

// Close closes the connection. It is safe to call more than once.
func (h *HijackedConn) Close() error {
	h.cn.close()
	return nil
}

// MediaType returns the answer's Content-Type: types.MediaTypeRawStream (TTY) or
// types.MediaTypeMultiplexedStream (API 1.42+ engines say which); "" if the engine did not
// say, in which case the session's TTY setting decides.
func (h *HijackedConn) MediaType() string { return h.cn.contentType }

// Multiplexed reports whether the engine said the stream carries Demux frames. Engines before
// API 1.42 do not say; callers then use the session's TTY setting.
func (h *HijackedConn) Multiplexed() bool {
	return h.cn.contentType == types.MediaTypeMultiplexedStream
}

// LocalAddr and RemoteAddr make HijackedConn usable where a net.Conn-like value is logged.
func (h *HijackedConn) LocalAddr() net.Addr { return h.cn.nc.LocalAddr() }

// RemoteAddr returns the engine's address.
func (h *HijackedConn) RemoteAddr() net.Addr { return h.cn.nc.RemoteAddr() }

// SetReadDeadline sets the underlying connection's read deadline.
func (h *HijackedConn) SetReadDeadline(t time.Time) error { return h.cn.nc.SetReadDeadline(t) }

// SetWriteDeadline sets the underlying connection's write deadline.
func (h *HijackedConn) SetWriteDeadline(t time.Time) error { return h.cn.nc.SetWriteDeadline(t) }

// Buffered returns the reader holding bytes received past the answer's headers; Read uses
// it, and callers that want bufio's helpers may too (but not both at once).
func (h *HijackedConn) Buffered() *bufio.Reader { return h.cn.br }

// hijack sends r with an upgrade request and returns the connection once the engine answers
// 101 Switching Protocols (Docker, Podman) or 200 OK (engines that hijack without upgrade).
func (c *Client) hijack(ctx context.Context, r *streamRequest) (*HijackedConn, error) {
	r.upgrade = true
	cn, err := c.open(ctx, r)
	if err != nil {
		return nil, err
	}
	return &HijackedConn{cn: cn}, nil
}

// AttachOptions selects the streams of ContainerAttach.
type AttachOptions struct {
	Stdin  bool
	Stdout bool
	Stderr bool
	// Stream keeps the connection open for live output; without it only Logs is sent.
	Stream bool
	// Logs replays the container's output so far before the live output.
	Logs bool
	// DetachKeys overrides the engine's detach sequence (e.g. "ctrl-p,ctrl-q").
	DetachKeys string
}

// ContainerAttach attaches to a container's stdio (POST /containers/{id}/attach, hijacked).
func (c *Client) ContainerAttach(ctx context.Context, id string, o AttachOptions) (*HijackedConn, error) {
	q := query(nil).bool("stream", o.Stream).bool("stdin", o.Stdin).
		bool("stdout", o.Stdout).bool("stderr", o.Stderr).bool("logs", o.Logs)
	if o.DetachKeys != "" {
		q = q.add("detachKeys", o.DetachKeys)
	}
	h, err := c.hijack(ctx, &streamRequest{
		method: "POST",
		path:   "/containers/" + escapePath(id, false) + "/attach",
		query:  q,
	})
	if err != nil {
		return nil, fmt.Errorf("cannot attach to container %q: %w", id, err)
	}
	return h, nil
}

// ExecStart starts an exec instance and returns its hijacked stdio
// (POST /exec/{id}/start). tty must match the exec's Tty setting.
func (c *Client) ExecStart(ctx context.Context, execID string, tty bool) (*HijackedConn, error) {
	body := []byte(`{"Detach":false,"Tty":false}`)
	if tty {
		body = []byte(`{"Detach":false,"Tty":true}`)
	}
	h, err := c.hijack(ctx, &streamRequest{
		method: "POST",
		path:   "/exec/" + escapePath(execID, false) + "/start",
		json:   body,
	})
	if err != nil {
		return nil, fmt.Errorf("cannot start exec %q: %w", execID, err)
	}
	return h, nil
}
