package dockerio

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// LogsOptions selects what ContainerLogs returns. With neither Stdout nor Stderr set, both
// are returned (the engine would otherwise refuse the request).
type LogsOptions struct {
	Stdout     bool
	Stderr     bool
	Follow     bool
	Timestamps bool
	// Tail is the number of lines from the end, or "all"/"" for everything.
	Tail string
	// Since and Until bound the lines by time: Unix seconds ("1700000000" or with a
	// fraction), RFC 3339, or a Go duration meaning that long ago ("10m").
	Since string
	Until string
}

// ContainerLogs returns a container's output (GET /containers/{id}/logs) on a dedicated
// connection. For a container without TTY the stream is multiplexed: pass it to Demux. With
// Follow it lasts until the container stops, ctx ends or the caller closes it.
func (c *Client) ContainerLogs(ctx context.Context, id string, o LogsOptions) (io.ReadCloser, error) {
	stdout, stderr := o.Stdout, o.Stderr
	if !stdout && !stderr {
		stdout, stderr = true, true
	}
	q := query(nil).bool("stdout", stdout).bool("stderr", stderr)
	if o.Follow {
		q = q.add("follow", "1")
	}
	if o.Timestamps {
		q = q.add("timestamps", "1")
	}
	if o.Tail != "" {
		q = q.add("tail", o.Tail)
	}
	now := time.Now()
	for _, p := range [...]struct{ key, val string }{{"since", o.Since}, {"until", o.Until}} {
		ts, err := apiTimestamp(p.val, now)
		if err != nil {
			return nil, fmt.Errorf("cannot get logs of container %q: %w", id, err)
		}
		if ts != "" {
			q = q.add(p.key, ts)
		}
	}
	s, err := c.openStream(ctx, &streamRequest{
		method: "GET",
		path:   "/containers/" + escapePath(id, false) + "/logs",
		query:  q,
	})
	if err != nil {
		return nil, fmt.Errorf("cannot get logs of container %q: %w", id, err)
	}
	return s, nil
}

// Stream identifiers in the 8-byte frame header of a multiplexed stream.
const (
	streamStdin  = 0
	streamStdout = 1
	streamStderr = 2
	// streamSystemErr carries an error from the engine itself (API 1.42+).
	streamSystemErr = 3
)

// demuxBufSize is the copy buffer of Demux; frames are usually one write of the process.
const demuxBufSize = 32 << 10

var demuxPool = sync.Pool{New: func() any { b := make([]byte, 8+demuxBufSize); return &b }}

// Demux splits a multiplexed stream (containers and execs without TTY) into stdout and
// stderr; either may be nil to discard that stream. Each frame is an 8-byte header (stream
// byte, three zero bytes, big-endian uint32 length) and its payload. It returns nil at a
// clean end of r, io.ErrUnexpectedEOF if r ends inside a frame, the engine's message if a
// system-error frame arrives, and the first write error otherwise. A TTY stream is raw and
// must not be passed here.
func Demux(r io.Reader, stdout, stderr io.Writer) error {
	bp := demuxPool.Get().(*[]byte)
	defer demuxPool.Put(bp)
	// The header lives in the pooled buffer too: a local array would escape through the
	// io.Reader interface and cost an allocation per call.
	hdr, buf := (*bp)[:8], (*bp)[8:]
	for {
		if _, err := io.ReadFull(r, hdr); err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
		size := int64(binary.BigEndian.Uint32(hdr[4:]))
		var dst io.Writer
		switch hdr[0] {
		case streamStdin, streamStdout:
			// Stream 0 appears when the engine echoes stdin; it belongs with stdout.
			dst = stdout
		case streamStderr:
			dst = stderr
		case streamSystemErr:
			msg, err := readFrame(r, size, buf)
			if err != nil {
				return err
			}
			return &Error{Message: string(msg)}
		default:
			return fmt.Errorf("cannot demultiplex stream: unknown stream %d in frame header %x", hdr[0], hdr)
		}
		if err := copyFrame(dst, r, size, buf); err != nil {
			return err
		}
	}
}

// copyFrame copies size bytes from r to dst (nil: discard) through buf.
func copyFrame(dst io.Writer, r io.Reader, size int64, buf []byte) error {
	for size > 0 {
		n := int64(len(buf))
		if size < n {
			n = size
		}
		m, err := io.ReadFull(r, buf[:n])
		if m > 0 && dst != nil {
			if _, werr := dst.Write(buf[:m]); werr != nil {
				return werr
			}
		}
		size -= int64(m)
		if err != nil {
			if err == io.EOF {
				return io.ErrUnexpectedEOF
			}
			return err
		}
	}
	return nil
}

// readFrame reads a system-error payload, keeping at most len(buf) bytes of it.
func readFrame(r io.Reader, size int64, buf []byte) ([]byte, error) {
	keep := size
	if keep > int64(len(buf)) {
		keep = int64(len(buf))
	}
	if _, err := io.ReadFull(r, buf[:keep]); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, io.ErrUnexpectedEOF
		}
		return nil, err
	}
	if err := copyFrame(nil, r, size-keep, buf); err != nil {
		return nil, err
	}
	return buf[:keep], nil
}

// AppendFrame appends one multiplexed frame (stream 1 stdout, 2 stderr) to dst: the inverse
// of Demux, for tests and for serving Docker-style streams.
func AppendFrame(dst []byte, stream byte, payload []byte) []byte {
	dst = append(dst, stream, 0, 0, 0)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(payload)))
	return append(dst, payload...)
}
