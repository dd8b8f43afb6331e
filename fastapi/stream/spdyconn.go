package stream

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// spdyStream is a client-opened stream.
type spdyStream struct {
	id      uint32
	kind    string            // streamtype header
	headers map[string]string // all headers of its SYN_STREAM
	in      *inbound          // where its data goes; nil: dropped. Set by the handler.
	reset   atomic.Bool       // the client reset it
	finSent bool              // under the connection's wmu
}

// spdyHandler gives meaning to the streams of a connection.
type spdyHandler interface {
	// opened is called on the reader goroutine once the stream's SYN_REPLY is on the wire,
	// before any of its data is read: it may set st.in.
	opened(st *spdyStream)
}

// spdyConn is the framing side of a SPDY/3.1 server connection. The client opens every stream
// (odd ids); the server replies to each and only writes data, FINs, RSTs, PING answers and
// GOAWAY.
//
// Flow control: kubectl's spdystream neither sends WINDOW_UPDATE nor honours windows, so
// none are enforced or sent; TCP is the flow control, as with the kubelet.
type spdyConn struct {
	conn    net.Conn // deadlines only; nil in fuzz tests and inside a WebSocket tunnel
	br      *bufio.Reader
	handler spdyHandler

	wmu        sync.Mutex
	bw         *bufio.Writer
	wbuf       []byte
	hbuf       []byte
	henc       headerEncoder
	goAwaySent bool

	closed atomic.Bool

	hdec headerDecoder
	ctrl []byte // control frame payload buffer
	buf  []byte // data chunk buffer

	mu      sync.Mutex
	streams map[uint32]*spdyStream
	lastID  uint32
}

func newSPDYConn(conn net.Conn, rw io.ReadWriter, h spdyHandler) *spdyConn {
	return &spdyConn{
		conn:    conn,
		br:      bufio.NewReaderSize(rw, readBufferSize),
		bw:      bufio.NewWriterSize(rw, readBufferSize),
		handler: h,
		buf:     make([]byte, chunkSize),
		streams: make(map[uint32]*spdyStream),
	}
}

// openStreams returns the streams still known, in id order.
func (c *spdyConn) openStreams() []*spdyStream {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*spdyStream, 0, len(c.streams))
	for _, st := range c.streams {
		out = append(out, st)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].id < out[j-1].id; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// forget drops a finished stream, so long port-forward sessions do not accumulate them.
func (c *spdyConn) forget(st *spdyStream) {
	c.mu.Lock()
	delete(c.streams, st.id)
	c.mu.Unlock()
}

// spdyWriter writes data frames on one stream.
type spdyWriter struct {
	c  *spdyConn
	st *spdyStream
}

func (w spdyWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		c := min(len(p), maxDataFrame)
		if err := w.c.writeData(w.st, p[:c], false); err != nil {
			return n, err
		}
		n += c
		p = p[c:]
	}
	return n, nil
}

// writeData sends a data frame; fin half-closes the stream from this side.
func (c *spdyConn) writeData(st *spdyStream, p []byte, fin bool) error {
	if st == nil {
		return errSessionClosed
	}
	if c.closed.Load() {
		return errSessionClosed
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	switch {
	case c.goAwaySent:
		return errSessionClosed
	case st.reset.Load():
		return errStreamReset
	case st.finSent:
		return errSessionClosed
	}
	var flags byte
	if fin {
		flags = flagFin
		st.finSent = true
	}
	c.wbuf = appendDataHeader(c.wbuf[:0], st.id, flags, len(p))
	return c.flush(p)
}

// writeReply sends the SYN_REPLY that lets the client use a stream it opened.
func (c *spdyConn) writeReply(id uint32) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.goAwaySent {
		return errSessionClosed
	}
	c.hbuf = c.henc.appendBlock(c.hbuf[:0])
	c.wbuf = appendControlHeader(c.wbuf[:0], typeSynReply, 0, 4+len(c.hbuf))
	c.wbuf = binary.BigEndian.AppendUint32(c.wbuf, id)
	return c.flush(c.hbuf)
}

func (c *spdyConn) writeRst(id, status uint32) error {
	return c.writeControl(typeRstStream, id&0x7fffffff, status)
}

func (c *spdyConn) writePing(id uint32) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.goAwaySent {
		return errSessionClosed
	}
	c.wbuf = appendControlHeader(c.wbuf[:0], typePing, 0, 4)
	c.wbuf = binary.BigEndian.AppendUint32(c.wbuf, id)
	return c.flush(nil)
}

// writeGoAway tells the client this side is done; nothing is written after it.
func (c *spdyConn) writeGoAway(status uint32) error {
	c.mu.Lock()
	last := c.lastID
	c.mu.Unlock()
	err := c.writeControl(typeGoAway, last, status)
	c.wmu.Lock()
	c.goAwaySent = true
	c.wmu.Unlock()
	c.closed.Store(true)
	return err
}

// writeControl sends a control frame with two 32-bit words (RST_STREAM, GOAWAY).
func (c *spdyConn) writeControl(typ uint16, a, b uint32) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.goAwaySent {
		return errSessionClosed
	}
	c.wbuf = appendControlHeader(c.wbuf[:0], typ, 0, 8)
	c.wbuf = binary.BigEndian.AppendUint32(c.wbuf, a)
	c.wbuf = binary.BigEndian.AppendUint32(c.wbuf, b)
	return c.flush(nil)
}

// flush writes wbuf and p; callers hold wmu.
func (c *spdyConn) flush(p []byte) error {
	if c.conn != nil {
		_ = c.conn.SetWriteDeadline(time.Now().Add(idleTimeout))
	}
	_, _ = c.bw.Write(c.wbuf)
	_, _ = c.bw.Write(p)
	if err := c.bw.Flush(); err != nil {
		c.goAwaySent = true
		c.closed.Store(true)
		return fmt.Errorf("cannot write spdy frame: %w", err)
	}
	return nil
}

// readLoop reads frames until the connection ends or the client breaks the protocol, then
// ends the input of every stream.
func (c *spdyConn) readLoop() {
	err := c.readFrames()
	if errors.Is(err, errProtocol) || errors.Is(err, errTooLarge) {
		_ = c.writeGoAway(goAwayProtocolError)
	}
	c.closed.Store(true)
	for _, st := range c.openStreams() {
		if st.in != nil {
			st.in.closeWrite()
		}
	}
}

func (c *spdyConn) readFrames() error {
	var hb [8]byte
	for {
		if _, err := io.ReadFull(c.br, hb[:]); err != nil {
			return err
		}
		h, _ := parseSPDYHeader(hb[:])
		if c.conn != nil {
			_ = c.conn.SetReadDeadline(time.Now().Add(idleTimeout))
		}
		if !h.control {
			if err := c.onData(h); err != nil {
				return err
			}
			continue
		}
		if h.version != spdyVersion {
			return fmt.Errorf("cannot speak spdy version %d: %w", h.version, errProtocol)
		}
		if h.length > maxControlFrame {
			return fmt.Errorf("cannot accept %d-byte control frame: %w", h.length, errTooLarge)
		}
		if cap(c.ctrl) < int(h.length) {
			c.ctrl = make([]byte, h.length)
		}
		p := c.ctrl[:h.length]
		if _, err := io.ReadFull(c.br, p); err != nil {
			return err
		}
		if err := c.onControl(h, p); err != nil {
			return err
		}
	}
}

// onData streams a data frame's payload to its stream.
func (c *spdyConn) onData(h spdyHeader) error {
	c.mu.Lock()
	st := c.streams[h.streamID]
	c.mu.Unlock()
	for rem := int(h.length); rem > 0; {
		n := min(rem, len(c.buf))
		chunk := c.buf[:n]
		if _, err := io.ReadFull(c.br, chunk); err != nil {
			return err
		}
		rem -= n
		if st != nil && st.in != nil && !st.reset.Load() {
			st.in.push(chunk)
		}
	}
	if st == nil {
		if h.streamID == 0 {
			return fmt.Errorf("cannot accept data on stream 0: %w", errProtocol)
		}
		// Data for a stream that was never opened (or is forgotten); tell the client, as
		// SPDY asks.
		_ = c.writeRst(h.streamID, rstInvalidStream)
		return nil
	}
	if h.flags&flagFin != 0 && st.in != nil {
		st.in.closeWrite()
	}
	return nil
}

func (c *spdyConn) onControl(h spdyHeader, p []byte) error {
	switch h.typ {
	case typeSynStream:
		if len(p) < 10 {
			return fmt.Errorf("cannot parse %d-byte SYN_STREAM: %w", len(p), errProtocol)
		}
		id := binary.BigEndian.Uint32(p) & 0x7fffffff
		headers, err := c.hdec.decode(p[10:])
		if err != nil {
			return err
		}
		return c.onSynStream(id, h.flags, headers)
	case typeSynReply, typeHeaders:
		if len(p) < 4 {
			return fmt.Errorf("cannot parse %d-byte header frame: %w", len(p), errProtocol)
		}
		// Nothing to act on, but the block must go through the decompressor to keep its
		// state in step with the client's compressor.
		_, err := c.hdec.decode(p[4:])
		return err
	case typeRstStream:
		if len(p) < 8 {
			return fmt.Errorf("cannot parse %d-byte RST_STREAM: %w", len(p), errProtocol)
		}
		c.mu.Lock()
		st := c.streams[binary.BigEndian.Uint32(p)&0x7fffffff]
		c.mu.Unlock()
		if st != nil {
			st.reset.Store(true)
			if st.in != nil {
				st.in.closeWrite()
			}
		}
	case typePing:
		if len(p) < 4 {
			return fmt.Errorf("cannot parse %d-byte PING: %w", len(p), errProtocol)
		}
		// Odd ids come from the client (kubectl pings every few seconds); even ids would
		// answer pings this server never sends.
		if id := binary.BigEndian.Uint32(p); id&1 == 1 {
			return c.writePing(id)
		}
	case typeSettings, typeGoAway, typeWindowUpdate:
		// SETTINGS carry nothing this server uses, windows are not enforced (see
		// spdyConn), and after GOAWAY the client opens no more streams but may still send
		// on open ones.
	default:
		// SPDY asks receivers to ignore unknown control frames.
	}
	return nil
}

func (c *spdyConn) onSynStream(id uint32, flags byte, headers map[string]string) error {
	c.mu.Lock()
	if id == 0 || id&1 == 0 || id <= c.lastID {
		c.mu.Unlock()
		return c.writeRst(id, rstProtocolError)
	}
	c.lastID = id
	st := &spdyStream{id: id, kind: strings.ToLower(headers["streamtype"]), headers: headers}
	c.streams[id] = st
	c.mu.Unlock()

	if err := c.writeReply(id); err != nil {
		return err
	}
	c.handler.opened(st)
	if flags&flagFin != 0 && st.in != nil {
		st.in.closeWrite()
	}
	return nil
}
