package dockerio

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"

	"encoding/json"
	"github.com/docker/docker/api/types/image"
)

// JSONMessage is one line of the engine's progress stream (image pull and import).
type JSONMessage struct {
	Status         string         `json:"status,omitempty"`
	ID             string         `json:"id,omitempty"`
	Progress       string         `json:"progress,omitempty"`
	ProgressDetail ProgressDetail `json:"progressDetail"`
	// Error is the older form of ErrorDetail.Message.
	Error       string     `json:"error,omitempty"`
	ErrorDetail *JSONError `json:"errorDetail,omitempty"`
}

// ProgressDetail is the byte count behind JSONMessage.Progress.
type ProgressDetail struct {
	Current int64 `json:"current,omitempty"`
	Total   int64 `json:"total,omitempty"`
}

// JSONError is the error reported inside a progress stream.
type JSONError struct {
	Code    int    `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
}

// ImageInspect returns an image's details (GET /images/{ref}/json).
func (c *Client) ImageInspect(ctx context.Context, ref string) (image.InspectResponse, error) {
	var r image.InspectResponse
	if err := c.do(ctx, "GET", "/images/"+escapePath(ref, true)+"/json", nil, nil, &r); err != nil {
		return image.InspectResponse{}, fmt.Errorf("cannot inspect image %q: %w", ref, err)
	}
	return r, nil
}

// ImagePull pulls ref (POST /images/create?fromImage=...) on a dedicated connection, calling
// progress (if not nil) for each message. registryAuthB64 is the X-Registry-Auth header
// (base64url JSON of the registry credentials), or "" for anonymous pulls. A reference
// without tag or digest means ":latest", never "all tags". An error reported inside the
// stream is returned as *Error.
func (c *Client) ImagePull(ctx context.Context, ref string, registryAuthB64 string, progress func(jsonmessage JSONMessage)) error {
	repo, tag := splitRef(ref)
	q := query(nil).add("fromImage", repo).add("tag", tag)
	var hdr []string
	if registryAuthB64 != "" {
		hdr = []string{"X-Registry-Auth", registryAuthB64}
	}
	s, err := c.openStream(ctx, &streamRequest{method: "POST", path: "/images/create", query: q, headers: hdr})
	if err != nil {
		return fmt.Errorf("cannot pull image %q: %w", ref, err)
	}
	defer s.Close()
	if _, err := readProgress(s, progress); err != nil {
		return fmt.Errorf("cannot pull image %q: %w", ref, err)
	}
	return nil
}

// splitRef splits an image reference into the fromImage and tag parameters: the tag after
// the last ':' that follows the last '/', or the digest after '@' (the engine accepts a
// digest in the tag parameter).
func splitRef(ref string) (repo, tag string) {
	if i := strings.IndexByte(ref, '@'); i >= 0 {
		return ref[:i], ref[i+1:]
	}
	slash := strings.LastIndexByte(ref, '/')
	if i := strings.LastIndexByte(ref, ':'); i > slash {
		return ref[:i], ref[i+1:]
	}
	return ref, "latest"
}

// ImageImport creates an image from a tar of a root filesystem read from src
// (POST /images/create?fromSrc=-), tagged repo:tag, with Dockerfile-style changes applied
// ("CMD [\"/pause\"]", "ENV A=b"). k2d builds its sandbox image this way from its own
// binary, without a registry.
func (c *Client) ImageImport(ctx context.Context, src io.Reader, repo, tag string, changes []string) error {
	q := query(nil).add("fromSrc", "-")
	if repo != "" {
		q = q.add("repo", repo)
		if tag != "" {
			q = q.add("tag", tag)
		}
	}
	for _, ch := range changes {
		q = q.add("changes", ch)
	}
	name := repo
	if tag != "" {
		name += ":" + tag
	}
	s, err := c.openStream(ctx, &streamRequest{
		method:  "POST",
		path:    "/images/create",
		query:   q,
		headers: []string{"Content-Type", "application/x-tar"},
		body:    src,
	})
	if err != nil {
		return fmt.Errorf("cannot import image %q: %w", name, err)
	}
	last, err := readProgress(s, nil)
	s.Close()
	if err != nil {
		return fmt.Errorf("cannot import image %q: %w", name, err)
	}
	if repo == "" {
		return nil
	}
	// Older Podman versions ignore repo and tag on import and leave the image untagged; the
	// last status line is the new image's ID, so tag it here when the name is missing.
	id := strings.TrimSpace(last.Status)
	if !strings.HasPrefix(id, "sha256:") {
		return nil
	}
	if _, err := c.ImageInspect(ctx, name); err == nil || !IsNotFound(err) {
		return nil
	}
	if tag == "" {
		tag = "latest"
	}
	if err := c.ImageTag(ctx, id, repo, tag); err != nil {
		return fmt.Errorf("cannot import image %q: %w", name, err)
	}
	return nil
}

// ImageTag adds the name repo:tag to an existing image.
func (c *Client) ImageTag(ctx context.Context, source, repo, tag string) error {
	q := query(nil).add("repo", repo)
	if tag != "" {
		q = q.add("tag", tag)
	}
	if err := c.do(ctx, "POST", "/images/"+escapePath(source, true)+"/tag", q, nil, nil); err != nil {
		return fmt.Errorf("cannot tag image %q as %s:%s: %w", source, repo, tag, err)
	}
	return nil
}

// ImageRemove removes an image; force also removes it when containers use it or it has
// several names.
func (c *Client) ImageRemove(ctx context.Context, ref string, force bool) error {
	q := query(nil).bool("force", force)
	if err := c.do(ctx, "DELETE", "/images/"+escapePath(ref, true), q, nil, nil); err != nil {
		return fmt.Errorf("cannot remove image %q: %w", ref, err)
	}
	return nil
}

// readProgress reads a JSON-lines progress stream to its end, passing each message to fn
// (if not nil), and returns the last message. A message carrying an error ends the read with
// that error.
func readProgress(r io.Reader, fn func(JSONMessage)) (JSONMessage, error) {
	lr := newLineReader(r)
	var last JSONMessage
	for {
		line, err := lr.next()
		if err == io.EOF {
			return last, nil
		}
		if err != nil {
			return last, err
		}
		var m JSONMessage
		if err := json.Unmarshal(line, &m); err != nil {
			return last, fmt.Errorf("cannot decode progress message: %w", err)
		}
		if m.ErrorDetail != nil && (m.ErrorDetail.Message != "" || m.Error == "") {
			return last, &Error{StatusCode: m.ErrorDetail.Code, Message: m.ErrorDetail.Message}
		}
		if m.Error != "" {
			return last, &Error{Message: m.Error}
		}
		if fn != nil {
			fn(m)
		}
		last = m
	}
}

// maxLineBytes bounds one JSON line of a stream (an event carries all of a container's
// labels; 1 MiB is far beyond any real one).
const maxLineBytes = 1 << 20

// lineReader splits a stream into non-blank newline-terminated lines. Docker and Podman
// write events and progress with a JSON encoder, one value per line.
type lineReader struct {
	br  *bufio.Reader
	buf []byte
}

func newLineReader(r io.Reader) *lineReader {
	return &lineReader{br: bufio.NewReaderSize(r, 4096)}
}

// next returns the next line; it is valid until the following call.
func (l *lineReader) next() ([]byte, error) {
	for {
		line, err := l.br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			l.buf = append(l.buf[:0], line...)
			for err == bufio.ErrBufferFull {
				line, err = l.br.ReadSlice('\n')
				l.buf = append(l.buf, line...)
				if len(l.buf) > maxLineBytes {
					return nil, ErrStreamTooLong
				}
			}
			line = l.buf
		}
		if len(bytes.TrimSpace(line)) > 0 {
			if err == io.EOF {
				// A last line without newline is still a value; EOF comes on the next call.
				err = nil
			}
			return line, err
		}
		if err != nil {
			return nil, err
		}
	}
}
