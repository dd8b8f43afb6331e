package stream

import (
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// wsProtocol is a channel subprotocol this server speaks over WebSocket.
type wsProtocol struct {
	name       string
	base64     bool // text messages: '0'+channel, then base64
	closeChan  bool // v5: [255, channel] half-closes a channel
	jsonStatus bool // v4+: the error channel carries a metav1.Status
}

// wsProtocols are matched in the client's order of preference, as the kubelet does. "" is a
// client that names no subprotocol: the kubelet treats it as channel.k8s.io.
var wsProtocols = []wsProtocol{
	{name: "v5.channel.k8s.io", closeChan: true, jsonStatus: true},
	{name: "v4.channel.k8s.io", jsonStatus: true},
	{name: "v4.base64.channel.k8s.io", base64: true, jsonStatus: true},
	{name: "channel.k8s.io"},
	{name: "base64.channel.k8s.io", base64: true},
	{name: ""},
}

// Channel numbers of the remotecommand protocol.
const (
	chanStdin  = 0
	chanStdout = 1
	chanStderr = 2
	chanError  = 3
	chanResize = 4
	chanClose  = 255
)

// wsGUID is the RFC 6455 handshake constant.
const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// startPing is the payload of the ping sent when a session starts; startTimeout bounds the
// wait for its pong.
const (
	startPing    = "k2d-stream-start"
	startTimeout = 2 * time.Second
)

// maxBase64Message caps a base64 message, which must be buffered whole to be decoded.
const maxBase64Message = 1 << 20

func isWebSocketRequest(h *fasthttp.RequestHeader) bool {
	return hasToken(h.PeekAll("Upgrade"), "websocket") && hasToken(h.PeekAll("Connection"), "upgrade")
}

// wsAccept computes Sec-WebSocket-Accept for a client key.
func wsAccept(key string) string {
	sum := sha1.Sum([]byte(key + wsGUID))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// negotiateWS picks the first protocol of the client's list this server speaks.
func negotiateWS(offered []string) (wsProtocol, bool) {
	if len(offered) == 0 {
		offered = []string{""}
	}
	for _, o := range offered {
		for _, p := range wsProtocols {
			if o == p.name {
				return p, true
			}
		}
	}
	return wsProtocol{}, false
}

func serveWebSocket(ctx *fasthttp.RequestCtx, opts Options, run func(s *Streams) Result) {
	h := &ctx.Request.Header
	if !h.IsGet() {
		writeErrorStatus(ctx, fasthttp.StatusBadRequest, "BadRequest", "unable to upgrade: websocket needs GET")
		return
	}
	if string(h.Peek("Sec-WebSocket-Version")) != "13" {
		ctx.Response.Header.Set("Sec-WebSocket-Version", "13")
		writeErrorStatus(ctx, fasthttp.StatusUpgradeRequired, "BadRequest",
			"unable to upgrade: unsupported Sec-WebSocket-Version")
		return
	}
	key := string(h.Peek("Sec-WebSocket-Key"))
	if raw, err := base64.StdEncoding.DecodeString(key); err != nil || len(raw) != 16 {
		writeErrorStatus(ctx, fasthttp.StatusBadRequest, "BadRequest", "unable to upgrade: invalid Sec-WebSocket-Key")
		return
	}
	offered := tokens(h.PeekAll("Sec-WebSocket-Protocol"))
	proto, ok := negotiateWS(offered)
	if !ok {
		writeErrorStatus(ctx, fasthttp.StatusForbidden, "Forbidden",
			fmt.Sprintf("unable to upgrade: requested protocol(s) are not supported: %v", offered))
		return
	}
	ctx.SetStatusCode(fasthttp.StatusSwitchingProtocols)
	ctx.Response.Header.Set("Upgrade", "websocket")
	ctx.Response.Header.Set("Connection", "Upgrade")
	ctx.Response.Header.Set("Sec-WebSocket-Accept", wsAccept(key))
	if proto.name != "" {
		ctx.Response.Header.Set("Sec-WebSocket-Protocol", proto.name)
	}
	hijack(ctx, func(c net.Conn) {
		s := newWSSession(c, c, proto, opts)
		s.serve(run)
	})
}

// wsSession is one WebSocket remotecommand session.
type wsSession struct {
	*wsConn // conn is nil in fuzz tests
	proto   wsProtocol
	opts    Options

	started     chan struct{} // closed when the start ping is answered
	startedOnce sync.Once

	stdin  *inbound // nil unless opts.Stdin
	resize *inbound // nil unless opts.TTY
	buf    []byte
}

func newWSSession(conn net.Conn, rw io.ReadWriter, proto wsProtocol, opts Options) *wsSession {
	s := &wsSession{
		wsConn: newWSConn(conn, rw),
		proto:  proto,
		opts:   opts,
		buf:    make([]byte, chunkSize),

		started: make(chan struct{}),
	}
	if opts.Stdin {
		s.stdin = newInbound()
	}
	if opts.TTY {
		s.resize = newInbound()
	}
	return s
}

func (s *wsSession) serve(run func(*Streams) Result) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.readLoop()
	}()

	st := &Streams{}
	if s.stdin != nil {
		st.Stdin = stdinReader{s.stdin}
	}
	if s.opts.Stdout {
		st.Stdout = wsWriter{s, chanStdout}
	}
	if s.opts.Stderr {
		st.Stderr = wsWriter{s, chanStderr}
	}
	if s.resize != nil {
		st.Resize = startResize(s.resize)
	}
	s.awaitClientReader(done)
	// Like the kubelet, tell the client the session is up with an empty message on the first
	// channel it reads; browser consoles wait for it.
	ready := byte(chanError)
	switch {
	case s.opts.Stdout:
		ready = chanStdout
	case s.opts.Stderr:
		ready = chanStderr
	}
	_ = s.writeMessage(ready, nil)

	res := run(st)

	s.abandonInput()
	if p := errorChannelPayload(res, s.proto.jsonStatus); p != nil {
		_ = s.writeMessage(chanError, p)
	}
	_ = s.writeClose(closeNormal)
	waitReader(s.conn, done)
}

// awaitClientReader pings the client and waits for the pong (or startTimeout) before any
// output is sent. kubectl up to 1.32 starts reading the connection while it registers its
// streams, and drops messages for streams it has not registered yet ("Unknown stream id"): a
// fast command's output would be lost. Its pong comes from that reader, after the few map
// inserts of the registration, so waiting for it closes the race in practice. It costs one
// round trip; a client that never answers pings only costs startTimeout.
func (s *wsSession) awaitClientReader(readerDone <-chan struct{}) {
	if err := s.writeFrame(opPing, []byte(startPing), nil); err != nil {
		return
	}
	t := time.NewTimer(startTimeout)
	defer t.Stop()
	select {
	case <-s.started:
	case <-readerDone:
	case <-t.C:
	}
}

// waitReader waits for the connection reader to stop, giving the client closeTimeout to
// acknowledge the end of the session before its reads are cut.
func waitReader(conn net.Conn, done <-chan struct{}) {
	t := time.NewTimer(closeTimeout)
	defer t.Stop()
	select {
	case <-done:
		return
	case <-t.C:
	}
	if conn != nil {
		_ = conn.SetReadDeadline(time.Now())
	}
	<-done
}

func (s *wsSession) abandonInput() {
	if s.stdin != nil {
		s.stdin.abandon()
	}
	if s.resize != nil {
		s.resize.abandon()
	}
}

// wsWriter writes one channel of the session.
type wsWriter struct {
	s  *wsSession
	ch byte
}

func (w wsWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		c := min(len(p), maxDataFrame)
		if err := w.s.writeMessage(w.ch, p[:c]); err != nil {
			return n, err
		}
		n += c
		p = p[c:]
	}
	return n, nil
}

// writeMessage sends one channel message.
func (s *wsSession) writeMessage(ch byte, p []byte) error {
	if s.closed.Load() {
		return errSessionClosed
	}
	if s.proto.base64 {
		enc := make([]byte, 1+base64.StdEncoding.EncodedLen(len(p)))
		enc[0] = '0' + ch
		base64.StdEncoding.Encode(enc[1:], p)
		return s.writeFrame(opText, enc, nil)
	}
	return s.writeFrame(opBinary, []byte{ch}, p)
}

// readLoop reads client frames until the close handshake, an error or a protocol violation,
// then ends the input side of the session.
func (s *wsSession) readLoop() {
	s.closeOnError(s.readFrames())
	s.closed.Store(true)
	if s.stdin != nil {
		s.stdin.closeWrite()
	}
	if s.resize != nil {
		s.resize.closeWrite()
	}
}

// wsMessage is the state of the data message being received.
type wsMessage struct {
	active bool
	ch     int    // channel, -1 until the first payload byte
	acc    []byte // base64 text, or the channels of a v5 close signal
}

// readFrames returns io.EOF after a close frame, or the error that ended the connection.
func (s *wsSession) readFrames() error {
	var msg wsMessage
	for {
		h, err := s.readHeader()
		if err != nil {
			return err
		}
		switch h.opcode {
		case opPing, opPong, opClose:
			p, err := s.readControl(h)
			if err != nil {
				return err
			}
			if h.opcode == opPong && string(p) == startPing {
				s.startedOnce.Do(func() { close(s.started) })
			}
			continue
		case opText, opBinary:
			if msg.active {
				return fmt.Errorf("cannot start a message inside another: %w", errProtocol)
			}
			msg = wsMessage{active: true, ch: -1, acc: msg.acc[:0]}
		case opContinuation:
			if !msg.active {
				return fmt.Errorf("cannot continue a message that did not start: %w", errProtocol)
			}
		}
		pos := 0
		for rem := h.length; rem > 0; {
			c := int(min(rem, int64(len(s.buf))))
			chunk := s.buf[:c]
			if _, err := io.ReadFull(s.br, chunk); err != nil {
				return err
			}
			pos = maskBytes(h.mask, pos, chunk)
			rem -= int64(c)
			if err := s.onPayload(&msg, chunk); err != nil {
				return err
			}
		}
		if h.fin {
			s.onMessageEnd(&msg)
			msg.active = false
		}
	}
}

// onPayload routes a chunk of the current message.
func (s *wsSession) onPayload(m *wsMessage, p []byte) error {
	if s.proto.base64 {
		if len(m.acc)+len(p) > maxBase64Message {
			return fmt.Errorf("cannot buffer a base64 message over %d bytes: %w", maxBase64Message, errTooLarge)
		}
		m.acc = append(m.acc, p...)
		return nil
	}
	if len(p) == 0 {
		return nil
	}
	if m.ch < 0 {
		m.ch = int(p[0])
		p = p[1:]
	}
	if m.ch == chanClose && s.proto.closeChan {
		// A close signal names a few channels; more is not a close signal.
		if len(m.acc)+len(p) <= 8 {
			m.acc = append(m.acc, p...)
		}
		return nil
	}
	s.deliver(m.ch, p)
	return nil
}

func (s *wsSession) onMessageEnd(m *wsMessage) {
	if s.proto.base64 {
		if len(m.acc) == 0 {
			return
		}
		ch := int(m.acc[0]) - '0'
		dec := make([]byte, base64.StdEncoding.DecodedLen(len(m.acc)-1))
		n, err := base64.StdEncoding.Decode(dec, m.acc[1:])
		if err != nil {
			// wsstream drops undecodable messages too.
			return
		}
		s.deliver(ch, dec[:n])
		return
	}
	if m.ch == chanClose && s.proto.closeChan {
		for _, c := range m.acc {
			switch c {
			case chanStdin:
				if s.stdin != nil {
					s.stdin.closeWrite()
				}
			case chanResize:
				if s.resize != nil {
					s.resize.closeWrite()
				}
			}
		}
	}
}

// deliver hands channel data to its reader; data for channels nobody reads is dropped.
func (s *wsSession) deliver(ch int, p []byte) {
	switch ch {
	case chanStdin:
		if s.stdin != nil {
			s.stdin.push(p)
		}
	case chanResize:
		if s.resize != nil {
			s.resize.push(p)
		}
	}
}
