package stream

import (
	"fmt"
	"io"
	"net"
	"time"

	"github.com/valyala/fasthttp"
)

// spdyProtocol is a remotecommand version negotiated with X-Stream-Protocol-Version.
type spdyProtocol struct {
	name       string
	resize     bool // v3+: a resize stream comes with a TTY
	jsonStatus bool // v4+: the error stream carries a metav1.Status
}

// spdyProtocols are matched in the client's order of preference, as httpstream.Handshake does.
// v5 only adds the WebSocket close signal, so over SPDY it is v4. v1 is left out: its streams
// differ (stdin is closed at once) and no supported kubectl speaks only v1.
var spdyProtocols = []spdyProtocol{
	{name: "v5.channel.k8s.io", resize: true, jsonStatus: true},
	{name: "v4.channel.k8s.io", resize: true, jsonStatus: true},
	{name: "v3.channel.k8s.io", resize: true},
	{name: "v2.channel.k8s.io"},
}

// Stream types of the remotecommand protocol (the streamtype header).
const (
	streamError  = "error"
	streamStdin  = "stdin"
	streamStdout = "stdout"
	streamStderr = "stderr"
	streamResize = "resize"
)

func isSPDYRequest(h *fasthttp.RequestHeader) bool {
	return hasToken(h.PeekAll("Upgrade"), "SPDY/3.1") && hasToken(h.PeekAll("Connection"), "upgrade")
}

func negotiateSPDY(offered []string) (spdyProtocol, bool) {
	for _, o := range offered {
		for _, p := range spdyProtocols {
			if o == p.name {
				return p, true
			}
		}
	}
	return spdyProtocol{}, false
}

func serveSPDY(ctx *fasthttp.RequestCtx, opts Options, run func(s *Streams) Result) {
	offered := tokens(ctx.Request.Header.PeekAll("X-Stream-Protocol-Version"))
	if len(offered) == 0 {
		writeErrorStatus(ctx, fasthttp.StatusBadRequest, "BadRequest",
			"unable to upgrade: X-Stream-Protocol-Version is required")
		return
	}
	proto, ok := negotiateSPDY(offered)
	if !ok {
		for _, p := range spdyProtocols {
			ctx.Response.Header.Add("X-Accepted-Stream-Protocol-Versions", p.name)
		}
		writeErrorStatus(ctx, fasthttp.StatusForbidden, "Forbidden",
			fmt.Sprintf("unable to upgrade: unable to negotiate protocol: client supports %v", offered))
		return
	}
	ctx.SetStatusCode(fasthttp.StatusSwitchingProtocols)
	ctx.Response.Header.Set("Connection", "Upgrade")
	ctx.Response.Header.Set("Upgrade", "SPDY/3.1")
	ctx.Response.Header.Set("X-Stream-Protocol-Version", proto.name)
	hijack(ctx, func(c net.Conn) {
		s := newSPDYSession(c, c, opts, proto.resize)
		s.serve(run, proto.jsonStatus)
	})
}

// spdySession is one remote-command session over a SPDY connection: it waits for the streams
// the options imply and routes stdin and resize data.
type spdySession struct {
	*spdyConn
	opts Options

	// Filled by the reader in opened, read by serve after ready is closed.
	byKind   map[string]*spdyStream
	expected map[string]bool
	ready    chan struct{}

	stdin  *inbound
	resize *inbound
}

func newSPDYSession(conn net.Conn, rw io.ReadWriter, opts Options, resize bool) *spdySession {
	s := &spdySession{
		opts:     opts,
		byKind:   make(map[string]*spdyStream),
		expected: map[string]bool{streamError: true},
		ready:    make(chan struct{}),
	}
	s.spdyConn = newSPDYConn(conn, rw, s)
	if opts.Stdin {
		s.expected[streamStdin] = true
		s.stdin = newInbound()
	}
	if opts.Stdout {
		s.expected[streamStdout] = true
	}
	if opts.Stderr {
		s.expected[streamStderr] = true
	}
	if opts.TTY && resize {
		s.expected[streamResize] = true
		s.resize = newInbound()
	}
	return s
}

// opened implements spdyHandler: the first stream of each expected kind is the session's.
// Others are replied to, as the kubelet does, and their data dropped.
func (s *spdySession) opened(st *spdyStream) {
	if _, dup := s.byKind[st.kind]; dup || !s.expected[st.kind] {
		return
	}
	switch st.kind {
	case streamStdin:
		st.in = s.stdin
	case streamResize:
		st.in = s.resize
	}
	s.mu.Lock()
	s.byKind[st.kind] = st
	all := len(s.byKind) == len(s.expected)
	s.mu.Unlock()
	if all {
		close(s.ready)
	}
}

func (s *spdySession) serve(run func(*Streams) Result, jsonStatus bool) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.readLoop()
	}()

	t := time.NewTimer(streamCreationTimeout)
	select {
	case <-s.ready:
		t.Stop()
	case <-done:
		t.Stop()
		s.abandonInput()
		return
	case <-t.C:
		// The client never opened the streams it asked for: there is no session to run.
		s.abandonInput()
		_ = s.writeGoAway(goAwayOK)
		waitReader(s.conn, done)
		return
	}

	st := &Streams{}
	if s.stdin != nil {
		st.Stdin = stdinReader{s.stdin}
	}
	if s.opts.Stdout {
		st.Stdout = spdyWriter{s.spdyConn, s.byKind[streamStdout]}
	}
	if s.opts.Stderr {
		st.Stderr = spdyWriter{s.spdyConn, s.byKind[streamStderr]}
	}
	if s.opts.TTY {
		if s.resize != nil {
			st.Resize = startResize(s.resize)
		} else {
			// v2 has no resize stream; the channel still ends with the session.
			ch := make(chan Size)
			close(ch)
			st.Resize = ch
		}
	}

	res := run(st)

	s.abandonInput()
	if p := errorChannelPayload(res, jsonStatus); p != nil {
		_ = s.writeData(s.byKind[streamError], p, false)
	}
	// Half-close every stream this side still has open, in id order, then go away: the
	// client's copies end on the FINs, and spdystream closes the connection once both sides
	// of every stream are finished.
	for _, st := range s.openStreams() {
		_ = s.writeData(st, nil, true)
	}
	_ = s.writeGoAway(goAwayOK)
	waitReader(s.conn, done)
}

// readLoop runs the connection's reader and ends the session's input with it, including
// input whose stream never opened.
func (s *spdySession) readLoop() {
	s.spdyConn.readLoop()
	if s.stdin != nil {
		s.stdin.closeWrite()
	}
	if s.resize != nil {
		s.resize.closeWrite()
	}
}

func (s *spdySession) abandonInput() {
	if s.stdin != nil {
		s.stdin.abandon()
	}
	if s.resize != nil {
		s.resize.abandon()
	}
}
