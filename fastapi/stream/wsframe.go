package stream

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// RFC 6455 opcodes.
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xA
)

// RFC 6455 close codes used here.
const (
	closeNormal        = 1000
	closeProtocolError = 1002
	closeTooBig        = 1009
)

// maxControlPayload is the RFC 6455 limit for ping, pong and close payloads.
const maxControlPayload = 125

// wsHeader is a decoded frame header.
type wsHeader struct {
	fin    bool
	opcode byte
	masked bool
	mask   [4]byte
	length int64 // payload length; int64 so 64-bit lengths survive on 32-bit ARM
}

// wsHeaderSize returns the full header size announced by the first two header bytes.
func wsHeaderSize(b0, b1 byte) int {
	n := 2
	switch b1 & 0x7f {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if b1&0x80 != 0 {
		n += 4
	}
	return n
}

// parseWSHeader decodes a frame header at the start of b. It returns the header and its size,
// errNeedMore if b is shorter than the header, or an error wrapping errProtocol for headers no
// client may send: reserved bits (no extension is negotiated), unknown opcodes, fragmented or
// oversized control frames, and 64-bit lengths with the top bit set.
func parseWSHeader(b []byte) (wsHeader, int, error) {
	var h wsHeader
	if len(b) < 2 {
		return h, 0, errNeedMore
	}
	n := wsHeaderSize(b[0], b[1])
	if len(b) < n {
		return h, 0, errNeedMore
	}
	if b[0]&0x70 != 0 {
		return h, 0, fmt.Errorf("cannot accept reserved bits 0x%x: %w", b[0]&0x70, errProtocol)
	}
	h.fin = b[0]&0x80 != 0
	h.opcode = b[0] & 0x0f
	switch h.opcode {
	case opContinuation, opText, opBinary, opClose, opPing, opPong:
	default:
		return h, 0, fmt.Errorf("cannot accept opcode 0x%x: %w", h.opcode, errProtocol)
	}
	h.masked = b[1]&0x80 != 0
	p := 2
	switch l := b[1] & 0x7f; l {
	case 126:
		h.length = int64(binary.BigEndian.Uint16(b[2:4]))
		p = 4
	case 127:
		u := binary.BigEndian.Uint64(b[2:10])
		if u>>63 != 0 {
			return h, 0, fmt.Errorf("cannot accept payload length %d: %w", u, errProtocol)
		}
		h.length = int64(u)
		p = 10
	default:
		h.length = int64(l)
	}
	if h.opcode >= opClose && (!h.fin || h.length > maxControlPayload) {
		return h, 0, fmt.Errorf("cannot accept fragmented or long control frame: %w", errProtocol)
	}
	if h.masked {
		copy(h.mask[:], b[p:p+4])
	}
	return h, n, nil
}

// appendWSHeader appends the header of an unmasked (server to client) frame.
func appendWSHeader(dst []byte, fin bool, opcode byte, length int) []byte {
	b0 := opcode
	if fin {
		b0 |= 0x80
	}
	switch {
	case length < 126:
		return append(dst, b0, byte(length))
	case length <= 0xffff:
		return append(dst, b0, 126, byte(length>>8), byte(length))
	default:
		dst = append(dst, b0, 127)
		return binary.BigEndian.AppendUint64(dst, uint64(length))
	}
}

// maskBytes XORs b with the masking key, starting at key offset pos, and returns the offset
// for the next chunk of the same payload.
func maskBytes(key [4]byte, pos int, b []byte) int {
	for i := range b {
		b[i] ^= key[pos&3]
		pos++
	}
	return pos & 3
}

// wsConn is the frame layer of a server-side WebSocket connection, shared by exec sessions
// and port-forward tunnels: it reads client frame headers (which must be masked), reads and
// answers control frames, and writes frames one at a time, none after a close frame.
type wsConn struct {
	conn net.Conn // deadlines only; nil in fuzz tests and in a tunnel, whose SPDY layer sets them
	br   *bufio.Reader
	hb   [14]byte                // reader only: the frame header
	cb   [maxControlPayload]byte // reader only: the control payload

	wmu       sync.Mutex // serialises frames on the wire
	bw        *bufio.Writer
	hdr       []byte
	closeSent bool        // under wmu: nothing may follow a close frame
	closed    atomic.Bool // fast check for data writers; owners set it too when their reader ends
}

func newWSConn(conn net.Conn, rw io.ReadWriter) *wsConn {
	return &wsConn{
		conn: conn,
		br:   bufio.NewReaderSize(rw, readBufferSize),
		bw:   bufio.NewWriterSize(rw, readBufferSize),
	}
}

// readHeader reads the next client frame header. Frames no client may send, unmasked ones
// included, give an error wrapping errProtocol; closeOnError answers it.
func (c *wsConn) readHeader() (wsHeader, error) {
	if _, err := io.ReadFull(c.br, c.hb[:2]); err != nil {
		return wsHeader{}, err
	}
	n := wsHeaderSize(c.hb[0], c.hb[1])
	if _, err := io.ReadFull(c.br, c.hb[2:n]); err != nil {
		return wsHeader{}, err
	}
	h, _, err := parseWSHeader(c.hb[:n])
	if err != nil {
		return h, err
	}
	if !h.masked {
		return h, fmt.Errorf("cannot accept unmasked client frame: %w", errProtocol)
	}
	if c.conn != nil {
		_ = c.conn.SetReadDeadline(time.Now().Add(idleTimeout))
	}
	return h, nil
}

// readControl reads and unmasks the payload of control frame h, and answers it: a ping with a
// pong carrying the same payload, a close by echoing the client's code (1000 when it sent
// none). It returns the payload, valid until the next read, and io.EOF after a close.
func (c *wsConn) readControl(h wsHeader) ([]byte, error) {
	p := c.cb[:h.length]
	if _, err := io.ReadFull(c.br, p); err != nil {
		return nil, err
	}
	maskBytes(h.mask, 0, p)
	switch h.opcode {
	case opPing:
		// kubectl's heartbeat: without pongs it drops the session after a minute.
		return p, c.writeFrame(opPong, p, nil)
	case opClose:
		code := []byte{closeNormal >> 8, closeNormal & 0xff}
		if len(p) >= 2 {
			code = p[:2]
		}
		// Answer the client's close unless this side closed first.
		_ = c.writeFrame(opClose, code, nil)
		return p, io.EOF
	}
	return p, nil
}

// closeOnError sends the close frame a read error calls for: 1002 for a protocol violation,
// 1009 for a message over a limit, none for a connection that failed or ended.
func (c *wsConn) closeOnError(err error) {
	switch {
	case errors.Is(err, errProtocol):
		_ = c.writeClose(closeProtocolError)
	case errors.Is(err, errTooLarge):
		_ = c.writeClose(closeTooBig)
	}
}

// writeClose sends a close frame with code; nothing is written after it.
func (c *wsConn) writeClose(code uint16) error {
	return c.writeFrame(opClose, []byte{byte(code >> 8), byte(code)}, nil)
}

// writeFrame writes and flushes one unfragmented frame whose payload is prefix followed by p.
// After a close frame, or a failed write, it returns errSessionClosed.
func (c *wsConn) writeFrame(opcode byte, prefix, p []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closeSent {
		return errSessionClosed
	}
	if opcode == opClose {
		c.closeSent = true
		c.closed.Store(true)
	}
	if c.conn != nil {
		_ = c.conn.SetWriteDeadline(time.Now().Add(idleTimeout))
	}
	c.hdr = appendWSHeader(c.hdr[:0], true, opcode, len(prefix)+len(p))
	c.hdr = append(c.hdr, prefix...)
	_, _ = c.bw.Write(c.hdr)
	_, _ = c.bw.Write(p)
	if err := c.bw.Flush(); err != nil {
		c.closeSent = true
		c.closed.Store(true)
		return fmt.Errorf("cannot write websocket frame: %w", err)
	}
	return nil
}
