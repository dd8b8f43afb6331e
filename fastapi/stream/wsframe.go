package stream

import (
	"encoding/binary"
	"fmt"
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
