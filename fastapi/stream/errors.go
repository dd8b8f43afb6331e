package stream

import "errors"

var (
	// errSessionClosed is returned by writes after the session ended (client gone, close
	// frame exchanged, or run returned).
	errSessionClosed = errors.New("stream session is closed")
	// errStreamReset is returned by writes to a SPDY stream the client reset.
	errStreamReset = errors.New("stream was reset by the client")
	// errProtocol marks a peer that broke the framing rules; the session ends.
	errProtocol = errors.New("protocol error")
	// errNeedMore is returned by frame header parsers when the input is too short.
	errNeedMore = errors.New("need more bytes")
	// errTooLarge marks a frame or header block over this package's limits.
	errTooLarge = errors.New("frame too large")
)
