package dockerio

import (
	"bytes"
	"errors"
	"net/http"
	"strconv"

	"encoding/json"
)

// Sentinel errors. An *Error matches them with errors.Is by its status code, so they work
// through any amount of fmt.Errorf wrapping.
var (
	// ErrNotModified matches a 304 answer: the container was already started or stopped.
	ErrNotModified = errors.New("not modified")
	// ErrBadRequest matches a 400 answer (bad parameter, unsupported option).
	ErrBadRequest = errors.New("bad request")
	// ErrForbidden matches a 403 answer (e.g. removing a network that is in use by Swarm).
	ErrForbidden = errors.New("forbidden")
	// ErrNotFound matches a 404 answer: no such container, image, network, volume or exec.
	ErrNotFound = errors.New("not found")
	// ErrConflict matches a 409 answer: name in use, container running or not running,
	// volume in use.
	ErrConflict = errors.New("conflict")
	// ErrUnsupportedHost is returned by New for host strings other than unix:// and tcp://.
	ErrUnsupportedHost = errors.New("unsupported docker host")
	// ErrStreamTooLong is returned when a single line of a JSON stream exceeds maxLineBytes.
	ErrStreamTooLong = errors.New("stream line too long")
)

// Error is a non-2xx answer from the engine, or an error reported inside a progress stream
// (image pull and import), where StatusCode is the stream's error code and often 0.
type Error struct {
	StatusCode int
	Message    string
}

func (e *Error) Error() string {
	if e.StatusCode == 0 {
		return "docker: " + e.Message
	}
	return "docker: " + e.Message + " (HTTP " + strconv.Itoa(e.StatusCode) + ")"
}

// Is makes errors.Is(err, ErrNotFound) and friends true for the matching status code.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrNotModified:
		return e.StatusCode == http.StatusNotModified
	case ErrBadRequest:
		return e.StatusCode == http.StatusBadRequest
	case ErrForbidden:
		return e.StatusCode == http.StatusForbidden
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	case ErrConflict:
		return e.StatusCode == http.StatusConflict
	}
	return false
}

// IsNotFound reports whether err is (or wraps) a 404 from the engine.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// IsConflict reports whether err is (or wraps) a 409 from the engine.
func IsConflict(err error) bool { return errors.Is(err, ErrConflict) }

// IsNotModified reports whether err is (or wraps) a 304 from the engine.
func IsNotModified(err error) bool { return errors.Is(err, ErrNotModified) }

// StatusCode returns the engine's HTTP status carried by err, or 0 if err is not an *Error.
func StatusCode(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.StatusCode
	}
	return 0
}

// decodeError builds an *Error from a non-2xx answer. Docker answers {"message": "..."};
// Podman adds "cause" and "response"; proxies and very old engines answer plain text.
func decodeError(code int, body []byte) *Error {
	e := &Error{StatusCode: code}
	body = bytes.TrimSpace(body)
	if len(body) > 0 && body[0] == '{' {
		var m struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(body, &m) == nil && m.Message != "" {
			e.Message = m.Message
			return e
		}
	}
	if len(body) > 0 {
		e.Message = string(body)
		return e
	}
	e.Message = http.StatusText(code)
	if e.Message == "" {
		e.Message = "status " + strconv.Itoa(code)
	}
	return e
}
