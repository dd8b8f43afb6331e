package stream

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
)

// serverFrame is the unmasked frame the server is expected to write.
func serverFrame(opcode byte, payload []byte) []byte {
	return append(appendWSHeader(nil, true, opcode, len(payload)), payload...)
}

// unmaskedFrame is a client frame that breaks RFC 6455 by not being masked.
func unmaskedFrame(opcode byte, payload []byte) []byte {
	return serverFrame(opcode, payload)
}

func join(frames ...[]byte) []byte { return bytes.Join(frames, nil) }

// TestWSControlFrames feeds the same client bytes to an exec session and to a port-forward
// tunnel: both must answer control frames with the same bytes, written by the shared wsConn.
func TestWSControlFrames(t *testing.T) {
	closeFrame := func(code uint16) []byte {
		return serverFrame(opClose, []byte{byte(code >> 8), byte(code)})
	}
	tests := []struct {
		name      string
		in        []byte
		want      []byte
		wantProto bool // the reader ends with an error wrapping errProtocol
	}{
		{name: "ping answered with same payload", in: maskedFrame(true, opPing, []byte("hello")),
			want: serverFrame(opPong, []byte("hello"))},
		{name: "empty ping", in: maskedFrame(true, opPing, nil), want: serverFrame(opPong, nil)},
		{name: "longest ping", in: maskedFrame(true, opPing, bytes.Repeat([]byte{7}, maxControlPayload)),
			want: serverFrame(opPong, bytes.Repeat([]byte{7}, maxControlPayload))},
		{name: "pong ignored", in: maskedFrame(true, opPong, []byte("x"))},
		{name: "close code echoed", in: maskedFrame(true, opClose, []byte{0x0f, 0xa0, 'b', 'y', 'e'}),
			want: closeFrame(4000)},
		{name: "close without code", in: maskedFrame(true, opClose, nil), want: closeFrame(closeNormal)},
		{name: "close with one byte", in: maskedFrame(true, opClose, []byte{1}), want: closeFrame(closeNormal)},
		{name: "nothing read after close",
			in:   join(maskedFrame(true, opClose, []byte{0x03, 0xe9}), maskedFrame(true, opPing, []byte("late"))),
			want: closeFrame(1001)},
		{name: "control frames between data",
			in: join(maskedFrame(false, opBinary, []byte{9, 'a'}), maskedFrame(true, opPing, []byte("p")),
				maskedFrame(true, opContinuation, []byte("b")), maskedFrame(true, opClose, []byte{0x03, 0xe8})),
			want: join(serverFrame(opPong, []byte("p")), closeFrame(closeNormal))},
		{name: "unmasked frame refused", in: unmaskedFrame(opPing, []byte("x")),
			want: closeFrame(closeProtocolError), wantProto: true},
		{name: "oversized ping refused", in: maskedFrame(true, opPing, make([]byte, maxControlPayload+1)),
			want: closeFrame(closeProtocolError), wantProto: true},
		{name: "oversized close refused", in: maskedFrame(true, opClose, make([]byte, 200)),
			want: closeFrame(closeProtocolError), wantProto: true},
		{name: "fragmented ping refused", in: maskedFrame(false, opPing, nil),
			want: closeFrame(closeProtocolError), wantProto: true},
		{name: "reserved bits refused", in: []byte{0x80 | 0x40 | opPing, 0x80, 1, 2, 3, 4},
			want: closeFrame(closeProtocolError), wantProto: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			s := newWSSession(nil, fuzzConn{bytes.NewReader(tc.in), &out}, wsProtocols[0], Options{})
			err := s.readFrames()
			s.closeOnError(err)
			if got := errors.Is(err, errProtocol); got != tc.wantProto {
				t.Errorf("session: error %v", err)
			}
			if !bytes.Equal(out.Bytes(), tc.want) {
				t.Errorf("session wrote % x, want % x", out.Bytes(), tc.want)
			}

			out.Reset()
			tun := &wsTunnel{wsConn: newWSConn(nil, fuzzConn{bytes.NewReader(tc.in), &out})}
			_, err = io.Copy(io.Discard, tun)
			if got := errors.Is(err, errProtocol); got != tc.wantProto {
				t.Errorf("tunnel: error %v", err)
			}
			if !bytes.Equal(out.Bytes(), tc.want) {
				t.Errorf("tunnel wrote % x, want % x", out.Bytes(), tc.want)
			}
		})
	}
}

func TestWSConnReadHeaderErrors(t *testing.T) {
	c := newWSConn(nil, fuzzConn{bytes.NewReader(unmaskedFrame(opBinary, []byte("x"))), io.Discard})
	_, err := c.readHeader()
	if !errors.Is(err, errProtocol) || err.Error() != "cannot accept unmasked client frame: protocol error" {
		t.Fatalf("unmasked frame: %v", err)
	}
	c = newWSConn(nil, fuzzConn{bytes.NewReader([]byte{0x89}), io.Discard})
	if _, err := c.readHeader(); err != io.ErrUnexpectedEOF {
		t.Fatalf("short header: %v", err)
	}
	c = newWSConn(nil, fuzzConn{bytes.NewReader(nil), io.Discard})
	if _, err := c.readHeader(); err != io.EOF {
		t.Fatalf("no header: %v", err)
	}
}

func TestWSConnCloseOnError(t *testing.T) {
	tests := []struct {
		err  error
		want []byte
	}{
		{io.EOF, nil},
		{io.ErrUnexpectedEOF, nil},
		{errors.New("connection reset"), nil},
		{errProtocol, serverFrame(opClose, []byte{0x03, 0xea})},
		{errTooLarge, serverFrame(opClose, []byte{0x03, 0xf1})},
	}
	for _, tc := range tests {
		var out bytes.Buffer
		c := newWSConn(nil, fuzzConn{nil, &out})
		c.closeOnError(tc.err)
		if !bytes.Equal(out.Bytes(), tc.want) {
			t.Errorf("%v: wrote % x, want % x", tc.err, out.Bytes(), tc.want)
		}
	}
}

func TestWSConnNoWriteAfterClose(t *testing.T) {
	t.Run("close sent", func(t *testing.T) {
		var out bytes.Buffer
		c := newWSConn(nil, fuzzConn{nil, &out})
		if err := c.writeFrame(opBinary, []byte{1}, []byte("hi")); err != nil {
			t.Fatal(err)
		}
		// Every frame is flushed before writeFrame returns.
		if want := serverFrame(opBinary, []byte("\x01hi")); !bytes.Equal(out.Bytes(), want) {
			t.Fatalf("wrote % x, want % x", out.Bytes(), want)
		}
		if c.closed.Load() {
			t.Fatal("closed before the close frame")
		}
		if err := c.writeClose(closeNormal); err != nil {
			t.Fatal(err)
		}
		n := out.Len()
		if err := c.writeFrame(opBinary, nil, []byte("late")); err != errSessionClosed {
			t.Fatalf("write after close: %v", err)
		}
		if err := c.writeClose(closeProtocolError); err != errSessionClosed {
			t.Fatalf("second close: %v", err)
		}
		if out.Len() != n || !c.closed.Load() {
			t.Fatalf("wrote %d bytes after the close frame, closed=%v", out.Len()-n, c.closed.Load())
		}
	})
	t.Run("close received", func(t *testing.T) {
		var out bytes.Buffer
		tun := &wsTunnel{wsConn: newWSConn(nil, fuzzConn{bytes.NewReader(maskedFrame(true, opClose, nil)), &out})}
		if _, err := tun.Read(make([]byte, 8)); err != io.EOF {
			t.Fatalf("read: %v", err)
		}
		if n, err := tun.Write([]byte("late")); n != 0 || err != errSessionClosed {
			t.Fatalf("write after close: %d %v", n, err)
		}
		if err := tun.close(); err != errSessionClosed {
			t.Fatalf("close after close: %v", err)
		}
		if want := serverFrame(opClose, []byte{0x03, 0xe8}); !bytes.Equal(out.Bytes(), want) {
			t.Fatalf("wrote % x, want % x", out.Bytes(), want)
		}
	})
	t.Run("write failed", func(t *testing.T) {
		broken := errors.New("broken pipe")
		c := newWSConn(nil, fuzzConn{nil, failWriter{broken}})
		err := c.writeFrame(opPing, nil, nil)
		if !errors.Is(err, broken) || !strings.HasPrefix(err.Error(), "cannot write websocket frame: ") {
			t.Fatalf("write: %v", err)
		}
		if err := c.writeClose(closeNormal); err != errSessionClosed || !c.closed.Load() {
			t.Fatalf("close after failure: %v closed=%v", err, c.closed.Load())
		}
	})
}

// TestWSConnConcurrentWrites: frames from concurrent writers never interleave, and the close
// frame is the last one on the wire.
func TestWSConnConcurrentWrites(t *testing.T) {
	var out bytes.Buffer
	c := newWSConn(nil, fuzzConn{nil, &out})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := bytes.Repeat([]byte{byte(i)}, 300)
			for c.writeFrame(opBinary, []byte{byte(i)}, p) == nil {
			}
		}()
	}
	for out.Len() == 0 {
		_ = c.writeFrame(opPing, nil, nil)
	}
	_ = c.writeClose(closeNormal)
	wg.Wait()
	b := out.Bytes()
	for len(b) > 0 {
		h, n, err := parseWSHeader(b)
		if err != nil {
			t.Fatalf("bad frame: %v", err)
		}
		p := b[n : n+int(h.length)]
		b = b[n+int(h.length):]
		switch h.opcode {
		case opBinary:
			if !bytes.Equal(p, bytes.Repeat(p[:1], 301)) {
				t.Fatal("interleaved frame")
			}
		case opClose:
			if len(b) != 0 {
				t.Fatalf("%d bytes after the close frame", len(b))
			}
		}
	}
}

type failWriter struct{ err error }

func (w failWriter) Write([]byte) (int, error) { return 0, w.err }
