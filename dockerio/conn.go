package dockerio

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"

	"github.com/valyala/fasthttp"
)

// Dedicated connections: streams (logs, events, pull, import, wait) and hijacks (attach,
// exec) do not use the pool. Each dials its own connection, writes one HTTP/1.1 request by
// hand and reads the answer with its own framing reader, so a stream that lasts for hours
// never holds a pooled connection and a cancelled context can close exactly that socket.

const (
	// Read buffer of a dedicated connection: one log line or event fits many times over.
	streamBufSize = 8 << 10
	// Upload chunk for ImageImport.
	uploadChunk = 32 << 10
)

// streamRequest describes a request on a dedicated connection.
type streamRequest struct {
	method  string
	path    string // escaped, unversioned
	query   query
	headers []string // name, value pairs
	json    []byte   // JSON body, or nil
	body    io.Reader
	upgrade bool // ask for a hijack (Connection: Upgrade, Upgrade: tcp)
}

// conn is one dedicated connection after the answer's header has been read.
type conn struct {
	nc            net.Conn
	br            *bufio.Reader
	ctx           context.Context
	stop          func() bool // unregisters the close-on-cancel hook
	status        int
	contentLength int // as fasthttp reports it: -1 chunked, -2 until EOF
	contentType   string
	once          sync.Once
}

var _ io.ReadCloser = (*stream)(nil)

func (c *conn) close() {
	c.once.Do(func() {
		c.stop()
		_ = c.nc.Close()
	})
}

// ctxErr prefers the context's error: once ctx ends the socket is closed under the reader,
// and "use of closed network connection" would hide why.
func (c *conn) ctxErr(err error) error {
	if cerr := c.ctx.Err(); cerr != nil {
		return cerr
	}
	return err
}

// dial opens a dedicated connection that is closed as soon as ctx ends.
func (c *Client) dial(ctx context.Context) (net.Conn, func() bool, error) {
	nc, err := c.dialer.DialContext(ctx, c.network, c.addr)
	if err != nil {
		return nil, nil, err
	}
	stop := context.AfterFunc(ctx, func() { _ = nc.Close() })
	return nc, stop, nil
}

// open dials, sends r and reads the answer's status line and headers. A non-2xx answer
// (other than 101 and 304) is read, the connection closed, and *Error returned. On success
// the caller owns the connection and must close it.
func (c *Client) open(ctx context.Context, r *streamRequest) (*conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.calls.Add(1)
	nc, stop, err := c.dial(ctx)
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return nil, cerr
		}
		return nil, err
	}
	cn := &conn{nc: nc, ctx: ctx, stop: stop}
	werr := c.writeRequest(nc, r)
	var serr *sourceError
	if werr != nil && (r.body == nil || errors.As(werr, &serr)) {
		// The request is incomplete; the engine would wait for the rest of it.
		cn.close()
		return nil, cn.ctxErr(werr)
	}
	// An upload may fail because the engine refused it and closed early: its answer says
	// why, so read it before reporting the write error.
	cn.br = bufio.NewReaderSize(nc, streamBufSize)
	var h fasthttp.ResponseHeader
	for {
		if err := h.Read(cn.br); err != nil {
			cn.close()
			if werr != nil {
				return nil, cn.ctxErr(werr)
			}
			return nil, cn.ctxErr(fmt.Errorf("cannot read answer: %w", err))
		}
		// Skip 100 Continue and friends; 101 is the hijack.
		if code := h.StatusCode(); code >= 200 || code == fasthttp.StatusSwitchingProtocols {
			break
		}
	}
	cn.status = h.StatusCode()
	cn.contentLength = h.ContentLength()
	cn.contentType = string(h.ContentType())
	if cn.status == fasthttp.StatusSwitchingProtocols || (cn.status >= 200 && cn.status <= 299) {
		if werr != nil {
			cn.close()
			return nil, cn.ctxErr(werr)
		}
		return cn, nil
	}
	defer cn.close()
	var b []byte
	if cn.status != fasthttp.StatusNotModified && cn.status != fasthttp.StatusNoContent {
		body := newBodyReader(cn.br, h.ContentLength())
		b, _ = io.ReadAll(io.LimitReader(body, maxErrorBody))
	}
	return nil, decodeError(cn.status, b)
}

// writeRequest writes the request head and body. A JSON body goes out in the same write as
// the head; a streamed body is sent chunked.
func (c *Client) writeRequest(nc net.Conn, r *streamRequest) error {
	b := make([]byte, 0, 512+len(r.json))
	b = append(b, r.method...)
	b = append(b, ' ')
	b = c.appendPath(b, r.path, r.query, true)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, c.host...)
	b = append(b, "\r\nUser-Agent: "+userAgent+"\r\n"...)
	for i := 0; i+1 < len(r.headers); i += 2 {
		b = append(b, r.headers[i]...)
		b = append(b, ": "...)
		b = append(b, r.headers[i+1]...)
		b = append(b, "\r\n"...)
	}
	if r.upgrade {
		b = append(b, "Connection: Upgrade\r\nUpgrade: tcp\r\n"...)
	}
	switch {
	case r.body != nil:
		b = append(b, "Transfer-Encoding: chunked\r\n"...)
	case r.json != nil:
		b = append(b, "Content-Type: application/json\r\nContent-Length: "...)
		b = strconv.AppendInt(b, int64(len(r.json)), 10)
		b = append(b, "\r\n"...)
	case r.method == "POST" || r.method == "PUT":
		b = append(b, "Content-Length: 0\r\n"...)
	}
	b = append(b, "\r\n"...)
	b = append(b, r.json...)
	if _, err := nc.Write(b); err != nil {
		return err
	}
	if r.body != nil {
		return writeChunked(nc, r.body)
	}
	return nil
}

// writeChunked copies r to w with chunked transfer encoding, one write per chunk.
func writeChunked(w io.Writer, r io.Reader) error {
	const room = 10 // hex length (up to 8 digits) + CRLF
	buf := make([]byte, room+uploadChunk+2)
	for {
		n, rerr := r.Read(buf[room : room+uploadChunk])
		if n > 0 {
			var hb [10]byte
			h := strconv.AppendInt(hb[:0], int64(n), 16)
			h = append(h, '\r', '\n')
			start := room - len(h)
			copy(buf[start:], h)
			buf[room+n], buf[room+n+1] = '\r', '\n'
			if _, err := w.Write(buf[start : room+n+2]); err != nil {
				return err
			}
		}
		if rerr == io.EOF {
			_, err := io.WriteString(w, "0\r\n\r\n")
			return err
		}
		if rerr != nil {
			return &sourceError{rerr}
		}
	}
}

// sourceError is a failure to read the caller's upload, as opposed to a failure to send it.
type sourceError struct{ err error }

func (e *sourceError) Error() string { return "cannot read upload: " + e.err.Error() }
func (e *sourceError) Unwrap() error { return e.err }

// bodyReader reads one response body framed by Content-Length (n >= 0), chunked encoding
// (n == -1) or the end of the connection (n == -2), as fasthttp reports ContentLength.
type bodyReader struct {
	br      *bufio.Reader
	mode    int   // >= 0: length, -1: chunked, -2: until EOF
	left    int64 // bytes left in the body (length) or current chunk (chunked)
	inChunk bool
	eof     bool
}

func newBodyReader(br *bufio.Reader, contentLength int) *bodyReader {
	r := &bodyReader{br: br, mode: contentLength}
	if contentLength >= 0 {
		r.left = int64(contentLength)
		r.eof = contentLength == 0
	} else if contentLength != -1 {
		r.mode = -2
	}
	return r
}

var errBadChunk = errors.New("malformed chunked encoding")

func (r *bodyReader) Read(p []byte) (int, error) {
	if r.eof {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	switch r.mode {
	case -2:
		n, err := r.br.Read(p)
		if err == io.EOF {
			r.eof = true
		}
		return n, err
	case -1:
		if !r.inChunk {
			size, err := r.chunkSize()
			if err != nil {
				return 0, err
			}
			if size == 0 {
				if err := r.trailer(); err != nil {
					return 0, err
				}
				r.eof = true
				return 0, io.EOF
			}
			r.left, r.inChunk = size, true
		}
		if int64(len(p)) > r.left {
			p = p[:r.left]
		}
		n, err := r.br.Read(p)
		r.left -= int64(n)
		if err == io.EOF {
			return n, io.ErrUnexpectedEOF
		}
		if err == nil && r.left == 0 {
			r.inChunk = false
			err = r.crlf()
		}
		return n, err
	default:
		if int64(len(p)) > r.left {
			p = p[:r.left]
		}
		n, err := r.br.Read(p)
		r.left -= int64(n)
		if r.left == 0 {
			r.eof = true
			if err == nil || err == io.EOF {
				if n == 0 {
					return 0, io.EOF
				}
				return n, nil
			}
		}
		if err == io.EOF {
			return n, io.ErrUnexpectedEOF
		}
		return n, err
	}
}

// chunkSize reads "hex[;ext]\r\n".
func (r *bodyReader) chunkSize() (int64, error) {
	line, err := r.line()
	if err != nil {
		return 0, err
	}
	var size int64
	digits := 0
	for _, c := range line {
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		case c == ';' || c == ' ' || c == '\t':
			if digits == 0 {
				return 0, errBadChunk
			}
			return size, nil
		default:
			return 0, errBadChunk
		}
		if digits == 15 {
			return 0, errBadChunk
		}
		size = size<<4 | int64(d)
		digits++
	}
	if digits == 0 {
		return 0, errBadChunk
	}
	return size, nil
}

// line reads one CRLF- (or LF-) terminated line without the terminator. Lines in chunk
// framing are short; a long one is malformed.
func (r *bodyReader) line() ([]byte, error) {
	line, err := r.br.ReadSlice('\n')
	if err != nil {
		if err == io.EOF {
			return nil, io.ErrUnexpectedEOF
		}
		if err == bufio.ErrBufferFull {
			return nil, errBadChunk
		}
		return nil, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

func (r *bodyReader) crlf() error {
	line, err := r.line()
	if err != nil {
		return err
	}
	if len(line) != 0 {
		return errBadChunk
	}
	return nil
}

// trailer skips trailer fields up to the empty line.
func (r *bodyReader) trailer() error {
	for {
		line, err := r.line()
		if err != nil {
			return err
		}
		if len(line) == 0 {
			return nil
		}
	}
}

// stream is a response body on a dedicated connection, returned to callers as io.ReadCloser.
// Close may be called from another goroutine to abort a blocked Read.
type stream struct {
	cn   *conn
	body *bodyReader
}

func (c *Client) openStream(ctx context.Context, r *streamRequest) (*stream, error) {
	cn, err := c.open(ctx, r)
	if err != nil {
		return nil, err
	}
	return cn.stream(), nil
}

func (cn *conn) stream() *stream {
	cl := cn.contentLength
	if cn.status == fasthttp.StatusNoContent || cn.status == fasthttp.StatusNotModified {
		cl = 0
	}
	return &stream{cn: cn, body: newBodyReader(cn.br, cl)}
}

func (s *stream) Read(p []byte) (int, error) {
	n, err := s.body.Read(p)
	if err != nil && err != io.EOF {
		err = s.cn.ctxErr(err)
	}
	return n, err
}

func (s *stream) Close() error {
	s.cn.close()
	return nil
}
