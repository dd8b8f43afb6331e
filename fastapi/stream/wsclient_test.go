package stream

import (
	"bufio"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// wsClient is a minimal RFC 6455 client written for these tests: it masks every frame, can
// fragment messages and reports every frame it receives.
type wsClient struct {
	t        *testing.T
	conn     net.Conn
	br       *bufio.Reader
	resp     *http.Response
	protocol string
	pings    int // server pings answered
}

type wsFrame struct {
	fin     bool
	opcode  byte
	payload []byte
}

// dialWS performs the opening handshake for path with the offered subprotocols and fails the
// test unless the server switches protocols.
func dialWS(t *testing.T, addr, path string, protocols ...string) (*wsClient, *http.Response) {
	t.Helper()
	c, resp := tryDialWS(t, addr, path, protocols...)
	if c == nil {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("upgrade refused: %s %s", resp.Status, body)
	}
	return c, resp
}

// tryDialWS is dialWS for handshakes that may be refused: the client is nil then.
func tryDialWS(t *testing.T, addr, path string, protocols ...string) (*wsClient, *http.Response) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	var keyRaw [16]byte
	_, _ = rand.Read(keyRaw[:])
	key := base64.StdEncoding.EncodeToString(keyRaw[:])
	var req strings.Builder
	fmt.Fprintf(&req, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n", path, addr)
	fmt.Fprintf(&req, "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n", key)
	if len(protocols) > 0 {
		fmt.Fprintf(&req, "Sec-WebSocket-Protocol: %s\r\n", strings.Join(protocols, ", "))
	}
	req.WriteString("\r\n")
	if _, err := io.WriteString(conn, req.String()); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		conn.Close()
		return nil, resp
	}
	if got, want := resp.Header.Get("Sec-WebSocket-Accept"), wsAcceptRef(key); got != want {
		t.Fatalf("Sec-WebSocket-Accept = %q, want %q", got, want)
	}
	if !strings.EqualFold(resp.Header.Get("Upgrade"), "websocket") || !strings.EqualFold(resp.Header.Get("Connection"), "upgrade") {
		t.Fatalf("bad upgrade headers: %v", resp.Header)
	}
	c := &wsClient{t: t, conn: conn, br: br, resp: resp, protocol: resp.Header.Get("Sec-WebSocket-Protocol")}
	t.Cleanup(func() { conn.Close() })
	return c, resp
}

// wsAcceptRef is the RFC 6455 section 1.3 computation, written out independently.
func wsAcceptRef(key string) string {
	h := sha1.New()
	h.Write([]byte(key))
	h.Write([]byte("258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// writeFrame sends one masked frame.
func (c *wsClient) writeFrame(fin bool, opcode byte, payload []byte) {
	c.t.Helper()
	c.writeRaw(fin, opcode, payload, true)
}

func (c *wsClient) writeRaw(fin bool, opcode byte, payload []byte, mask bool) {
	c.t.Helper()
	if err := c.tryWriteRaw(fin, opcode, payload, mask); err != nil {
		c.t.Fatalf("write frame: %v", err)
	}
}

// tryWriteRaw writes a frame and reports the error: automatic answers (pong, close) may race
// with a server that already closed the connection.
func (c *wsClient) tryWriteRaw(fin bool, opcode byte, payload []byte, mask bool) error {
	b0 := opcode
	if fin {
		b0 |= 0x80
	}
	var mbit byte
	if mask {
		mbit = 0x80
	}
	hdr := []byte{b0}
	switch n := len(payload); {
	case n < 126:
		hdr = append(hdr, mbit|byte(n))
	case n <= 0xffff:
		hdr = append(hdr, mbit|126, byte(n>>8), byte(n))
	default:
		hdr = append(hdr, mbit|127)
		hdr = binary.BigEndian.AppendUint64(hdr, uint64(n))
	}
	p := append([]byte(nil), payload...)
	if mask {
		var key [4]byte
		_, _ = rand.Read(key[:])
		hdr = append(hdr, key[:]...)
		for i := range p {
			p[i] ^= key[i%4]
		}
	}
	_, err := c.conn.Write(append(hdr, p...))
	return err
}

// send writes a binary channel message, split in fragments of at most frag bytes (0: whole).
func (c *wsClient) send(ch byte, data []byte, frag int) {
	c.t.Helper()
	msg := append([]byte{ch}, data...)
	if frag <= 0 || frag >= len(msg) {
		c.writeFrame(true, opBinary, msg)
		return
	}
	op := byte(opBinary)
	for len(msg) > 0 {
		n := min(frag, len(msg))
		c.writeFrame(n == len(msg), op, msg[:n])
		op = opContinuation
		msg = msg[n:]
	}
}

// readFrame reads one server frame, answering pings as any client must (the server pings once
// at the start and waits for the pong); server frames must not be masked.
func (c *wsClient) readFrame() (wsFrame, error) {
	for {
		f, err := c.readAnyFrame()
		if err != nil || f.opcode != opPing {
			return f, err
		}
		c.pings++
		_ = c.tryWriteRaw(true, opPong, f.payload, true)
	}
}

func (c *wsClient) readAnyFrame() (wsFrame, error) {
	var h [2]byte
	if _, err := io.ReadFull(c.br, h[:]); err != nil {
		return wsFrame{}, err
	}
	if h[1]&0x80 != 0 {
		return wsFrame{}, fmt.Errorf("server frame is masked")
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(c.br, b[:]); err != nil {
			return wsFrame{}, err
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err := io.ReadFull(c.br, b[:]); err != nil {
			return wsFrame{}, err
		}
		n = binary.BigEndian.Uint64(b[:])
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(c.br, p); err != nil {
		return wsFrame{}, err
	}
	return wsFrame{fin: h[0]&0x80 != 0, opcode: h[0] & 0x0f, payload: p}, nil
}

// wsResult is everything the server sent in a session, by channel.
type wsResult struct {
	channels  map[int][]byte
	messages  []wsFrame
	pongs     [][]byte
	closeCode int
	closed    bool // a close frame arrived
}

// collect reads frames until the server's close frame (answering it) or EOF. decode turns a
// data message into channel and bytes.
func (c *wsClient) collect() wsResult {
	c.t.Helper()
	r := wsResult{channels: map[int][]byte{}, closeCode: -1}
	for {
		f, err := c.readFrame()
		if err != nil {
			return r
		}
		switch f.opcode {
		case opPong:
			r.pongs = append(r.pongs, f.payload)
		case opClose:
			r.closed = true
			if len(f.payload) >= 2 {
				r.closeCode = int(binary.BigEndian.Uint16(f.payload))
			}
			_ = c.tryWriteRaw(true, opClose, f.payload, true)
			return r
		case opBinary, opText:
			r.messages = append(r.messages, f)
			ch, data := c.decode(f)
			if ch >= 0 {
				r.channels[ch] = append(r.channels[ch], data...)
			}
		}
	}
}

func (c *wsClient) decode(f wsFrame) (int, []byte) {
	if len(f.payload) == 0 {
		return -1, nil
	}
	if strings.Contains(c.protocol, "base64") {
		d, err := base64.StdEncoding.DecodeString(string(f.payload[1:]))
		if err != nil {
			c.t.Errorf("bad base64 message %q: %v", f.payload, err)
		}
		return int(f.payload[0] - '0'), d
	}
	return int(f.payload[0]), f.payload[1:]
}

func netDial(addr string) (net.Conn, error) { return net.Dial("tcp", addr) }

func newBufReader(r io.Reader) *bufio.Reader { return bufio.NewReader(r) }
