package stream

import (
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// Port-forward protocol names: the SPDY protocol version, and the WebSocket subprotocol with
// which kubectl 1.31+ tunnels that SPDY connection inside binary WebSocket messages.
const (
	portForwardProtocol       = "portforward.k8s.io"
	portForwardTunnelProtocol = "SPDY/3.1+" + portForwardProtocol
	streamData                = "data"
)

// ServePortForward answers a port-forward upgrade on ctx: a WebSocket upgrade with subprotocol
// SPDY/3.1+portforward.k8s.io (SPDY tunnelled in binary messages), or a SPDY/3.1 upgrade with
// X-Stream-Protocol-Version portforward.k8s.io; anything else gets a 400/403 Status, on which
// kubectl falls back from WebSocket to SPDY. Once hijacked, each forwarded connection arrives
// as a pair of streams (error and data) naming a port: dial is called for it, in its own
// goroutine, and bytes are copied both ways until either side is done. ports lists the ports
// that may be forwarded; empty allows any. A dial or copy error is reported on the pair's
// error stream, which kubectl prints. The connection closes when the client leaves; every
// connection dial returned is closed by then. Nothing from ctx is used after it returns.
func ServePortForward(ctx *fasthttp.RequestCtx, ports []uint16, dial func(port uint16) (net.Conn, error)) {
	allowed := slices.Clone(ports)
	h := &ctx.Request.Header
	switch {
	case isWebSocketRequest(h):
		if !h.IsGet() {
			writeErrorStatus(ctx, fasthttp.StatusBadRequest, "BadRequest", "unable to upgrade: websocket needs GET")
			return
		}
		key := string(h.Peek("Sec-WebSocket-Key"))
		offered := tokens(h.PeekAll("Sec-WebSocket-Protocol"))
		if string(h.Peek("Sec-WebSocket-Version")) != "13" || key == "" || !slices.Contains(offered, portForwardTunnelProtocol) {
			writeErrorStatus(ctx, fasthttp.StatusForbidden, "Forbidden",
				fmt.Sprintf("unable to upgrade: requested protocol(s) are not supported: %v", offered))
			return
		}
		ctx.SetStatusCode(fasthttp.StatusSwitchingProtocols)
		ctx.Response.Header.Set("Upgrade", "websocket")
		ctx.Response.Header.Set("Connection", "Upgrade")
		ctx.Response.Header.Set("Sec-WebSocket-Accept", wsAccept(key))
		ctx.Response.Header.Set("Sec-WebSocket-Protocol", portForwardTunnelProtocol)
		hijack(ctx, func(c net.Conn) {
			t := newWSTunnel(c)
			servePortForward(c, t, allowed, dial)
			_ = t.close()
		})
	case isSPDYRequest(h):
		offered := tokens(h.PeekAll("X-Stream-Protocol-Version"))
		if !slices.Contains(offered, portForwardProtocol) {
			ctx.Response.Header.Add("X-Accepted-Stream-Protocol-Versions", portForwardProtocol)
			writeErrorStatus(ctx, fasthttp.StatusForbidden, "Forbidden",
				fmt.Sprintf("unable to upgrade: unable to negotiate protocol: client supports %v", offered))
			return
		}
		ctx.SetStatusCode(fasthttp.StatusSwitchingProtocols)
		ctx.Response.Header.Set("Connection", "Upgrade")
		ctx.Response.Header.Set("Upgrade", "SPDY/3.1")
		ctx.Response.Header.Set("X-Stream-Protocol-Version", portForwardProtocol)
		hijack(ctx, func(c net.Conn) { servePortForward(c, c, allowed, dial) })
	default:
		writeErrorStatus(ctx, fasthttp.StatusBadRequest, "BadRequest",
			"unable to upgrade: missing upgrade headers in request")
	}
}

// pfPair is one forwarded connection: its two streams, matched by request id.
type pfPair struct {
	id      string
	errSt   *spdyStream
	dataSt  *spdyStream
	timeout *time.Timer
}

// pfSession forwards the pairs of one connection.
type pfSession struct {
	*spdyConn
	allowed []uint16
	dial    func(port uint16) (net.Conn, error)

	pairs   map[string]*pfPair // incomplete pairs; reader goroutine only, and timeouts under pmu
	pmu     sync.Mutex
	targets map[net.Conn]struct{} // open dialled connections, under pmu
	ended   bool                  // under pmu: the client is gone, dial no more
	wg      sync.WaitGroup
}

func servePortForward(conn net.Conn, rw io.ReadWriter, allowed []uint16, dial func(uint16) (net.Conn, error)) {
	s := &pfSession{
		allowed: allowed,
		dial:    dial,
		pairs:   make(map[string]*pfPair),
		targets: make(map[net.Conn]struct{}),
	}
	s.spdyConn = newSPDYConn(conn, rw, s)
	// The reader runs in the hijack goroutine: the session lives as long as the client.
	s.readLoop()
	s.pmu.Lock()
	s.ended = true
	for t := range s.targets {
		_ = t.Close()
	}
	for _, p := range s.pairs {
		if p.timeout.Stop() {
			s.wg.Done()
		}
	}
	s.pmu.Unlock()
	// Forwarders write to the connection: they must be gone before fasthttp reuses it.
	s.wg.Wait()
}

// opened implements spdyHandler: it pairs streams by request id and starts forwarding when a
// pair is complete.
func (s *pfSession) opened(st *spdyStream) {
	port, err := strconv.ParseUint(st.headers["port"], 10, 16)
	if err != nil || port == 0 || (st.kind != streamError && st.kind != streamData) {
		_ = s.writeRst(st.id, rstProtocolError)
		s.forget(st)
		return
	}
	id := st.headers["requestid"]
	if id == "" {
		// Clients older than request ids open error then data streams with consecutive
		// ids; the kubelet pairs them the same way.
		n := st.id
		if st.kind == streamData {
			n -= 2
		}
		id = strconv.FormatUint(uint64(n), 10)
	}
	if st.kind == streamData {
		st.in = newInbound()
	}
	s.pmu.Lock()
	defer s.pmu.Unlock()
	p := s.pairs[id]
	if p == nil {
		p = &pfPair{id: id}
		s.pairs[id] = p
		// The timer is counted in wg until it fires or is stopped: it may write.
		s.wg.Add(1)
		p.timeout = time.AfterFunc(streamCreationTimeout, func() { s.expire(p) })
	}
	switch {
	case st.kind == streamError && p.errSt == nil:
		p.errSt = st
	case st.kind == streamData && p.dataSt == nil:
		p.dataSt = st
	default:
		_ = s.writeRst(st.id, rstProtocolError)
		s.forget(st)
		return
	}
	if p.errSt == nil || p.dataSt == nil {
		return
	}
	if p.timeout.Stop() {
		s.wg.Done()
	}
	delete(s.pairs, id)
	if s.ended {
		return
	}
	s.wg.Add(1)
	go s.forward(p, uint16(port))
}

// expire reports a pair whose second stream never came.
func (s *pfSession) expire(p *pfPair) {
	defer s.wg.Done()
	s.pmu.Lock()
	if s.pairs[p.id] != p || s.ended {
		s.pmu.Unlock()
		return
	}
	delete(s.pairs, p.id)
	s.pmu.Unlock()
	for _, st := range []*spdyStream{p.errSt, p.dataSt} {
		if st == nil {
			continue
		}
		if st == p.errSt {
			_ = s.writeData(st, []byte("timed out waiting for the data stream of request "+p.id), false)
		}
		_ = s.writeData(st, nil, true)
		s.forget(st)
	}
}

// forward copies between the data stream and a connection to port until the target is done
// (or fails), then half-closes both streams: kubectl waits for the error stream's FIN before it
// closes the local connection.
func (s *pfSession) forward(p *pfPair, port uint16) {
	defer s.wg.Done()
	defer func() {
		p.dataSt.in.abandon()
		_ = s.writeData(p.dataSt, nil, true)
		_ = s.writeData(p.errSt, nil, true)
		s.forget(p.dataSt)
		s.forget(p.errSt)
	}()
	fail := func(err error) {
		_ = s.writeData(p.errSt, []byte(fmt.Sprintf("error forwarding port %d: %v", port, err)), false)
	}
	if len(s.allowed) > 0 && !slices.Contains(s.allowed, port) {
		fail(fmt.Errorf("port %d is not exposed", port))
		return
	}
	target, err := s.dial(port)
	if err != nil {
		fail(err)
		return
	}
	s.pmu.Lock()
	if s.ended {
		s.pmu.Unlock()
		_ = target.Close()
		return
	}
	s.targets[target] = struct{}{}
	s.pmu.Unlock()
	defer func() {
		s.pmu.Lock()
		delete(s.targets, target)
		s.pmu.Unlock()
		_ = target.Close()
	}()

	// Client to target: ends with the client's FIN (or reset, or the connection's end); the
	// target then sees a half-close and may still answer.
	up := make(chan struct{})
	go func() {
		defer close(up)
		_, _ = io.Copy(target, p.dataSt.in)
		if cw, ok := target.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
		}
	}()
	_, err = io.Copy(spdyWriter{s.spdyConn, p.dataSt}, target)
	if err != nil && !s.closed.Load() && !p.dataSt.reset.Load() {
		fail(err)
	}
	// The target is done: stop the other direction too.
	_ = target.Close()
	p.dataSt.in.abandon()
	<-up
}

// wsTunnel presents the payload of a WebSocket connection's data messages as one byte stream
// (the tunnelled SPDY connection), and writes each Write as one binary message. Pings are
// answered; a close frame ends the stream.
type wsTunnel struct {
	*wsConn

	rem  int64 // payload bytes left in the current data frame
	mask [4]byte
	pos  int
	err  error
}

// newWSTunnel tunnels over c. The SPDY layer sets the deadlines on c, so the frame layer does not.
func newWSTunnel(c net.Conn) *wsTunnel {
	return &wsTunnel{wsConn: newWSConn(nil, c)}
}

func (t *wsTunnel) Read(p []byte) (int, error) {
	if t.err != nil {
		return 0, t.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	for t.rem == 0 {
		if err := t.nextFrame(); err != nil {
			t.err = err
			return 0, err
		}
	}
	n, err := t.br.Read(p[:min(int64(len(p)), t.rem)])
	t.pos = maskBytes(t.mask, t.pos, p[:n])
	t.rem -= int64(n)
	if err != nil {
		// Errors stick: the stream is over once the connection fails.
		t.err = err
		if n == 0 {
			return 0, err
		}
	}
	return n, nil
}

// nextFrame reads frames until a data frame with payload starts; control frames are handled.
// A close frame ends the stream with io.EOF.
func (t *wsTunnel) nextFrame() error {
	h, err := t.readHeader()
	if err != nil {
		t.closeOnError(err)
		return err
	}
	switch h.opcode {
	case opPing, opPong, opClose:
		_, err := t.readControl(h)
		return err
	}
	// Data frames of any kind, fragmented or not, carry the next bytes of the stream.
	t.rem, t.mask, t.pos = h.length, h.mask, 0
	return nil
}

func (t *wsTunnel) Write(p []byte) (int, error) {
	if err := t.writeFrame(opBinary, nil, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// close ends the tunnel with a normal close frame, unless one was exchanged already.
func (t *wsTunnel) close() error {
	return t.writeClose(closeNormal)
}
