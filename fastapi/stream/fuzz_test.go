package stream

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
)

// fuzzConn reads the fuzz input and discards what the session writes.
type fuzzConn struct {
	io.Reader
	io.Writer
}

// maskedFrame builds a client frame for the seed corpus.
func maskedFrame(fin bool, opcode byte, payload []byte) []byte {
	b0 := opcode
	if fin {
		b0 |= 0x80
	}
	b := []byte{b0}
	switch n := len(payload); {
	case n < 126:
		b = append(b, 0x80|byte(n))
	case n <= 0xffff:
		b = append(b, 0x80|126, byte(n>>8), byte(n))
	default:
		b = append(b, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	key := [4]byte{0x11, 0x22, 0x33, 0x44}
	b = append(b, key[:]...)
	for i, c := range payload {
		b = append(b, c^key[i%4])
	}
	return b
}

func FuzzWebSocketFrames(f *testing.F) {
	seed := func(frames ...[]byte) []byte { return bytes.Join(frames, nil) }
	f.Add(uint8(0), seed(maskedFrame(true, opBinary, []byte{0, 'h', 'i'}), maskedFrame(true, opBinary, []byte{255, 0})))
	f.Add(uint8(0), seed(
		maskedFrame(false, opBinary, []byte{4}),
		maskedFrame(true, opPing, []byte("p")),
		maskedFrame(true, opContinuation, []byte(`{"Width":1,"Height":2}`)),
		maskedFrame(true, opClose, []byte{3, 232})))
	f.Add(uint8(2), seed(maskedFrame(true, opText, []byte("0aGk=")), maskedFrame(true, opText, []byte("4e30="))))
	f.Add(uint8(1), seed(maskedFrame(true, opBinary, bytes.Repeat([]byte{0}, 300))))
	f.Add(uint8(0), []byte{0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4})
	f.Add(uint8(0), []byte{0x82, 0x7e})
	f.Fuzz(func(t *testing.T, proto uint8, data []byte) {
		if h, n, err := parseWSHeader(data); err == nil {
			if n > len(data) || n != wsHeaderSize(data[0], data[1]) || h.length < 0 ||
				(h.opcode >= opClose && (h.length > maxControlPayload || !h.fin)) {
				t.Fatalf("header %+v size %d from % x", h, n, data[:min(len(data), 14)])
			}
		}
		p := wsProtocols[int(proto)%len(wsProtocols)]
		s := newWSSession(nil, fuzzConn{bytes.NewReader(data), io.Discard}, p,
			Options{Stdin: true, Stdout: true, TTY: true})
		// Nobody reads the input side: drop it instead of blocking the reader.
		s.abandonInput()
		s.readLoop()
	})
}

// spdySeed builds a client byte stream for the seed corpus.
type spdySeed struct {
	buf bytes.Buffer
	z   bytes.Buffer
	zw  *zlib.Writer
}

func newSPDYSeed() *spdySeed {
	s := &spdySeed{}
	s.zw, _ = zlib.NewWriterLevelDict(&s.z, zlib.BestCompression, spdyDictionary)
	return s
}

func (s *spdySeed) block(pairs ...string) []byte {
	var b []byte
	b = binary.BigEndian.AppendUint32(b, uint32(len(pairs)/2))
	for _, p := range pairs {
		b = binary.BigEndian.AppendUint32(b, uint32(len(p)))
		b = append(b, p...)
	}
	s.z.Reset()
	_, _ = s.zw.Write(b)
	_ = s.zw.Flush()
	return append([]byte(nil), s.z.Bytes()...)
}

func (s *spdySeed) syn(id uint32, pairs ...string) *spdySeed {
	blk := s.block(pairs...)
	b := appendControlHeader(nil, typeSynStream, 0, 10+len(blk))
	b = binary.BigEndian.AppendUint32(b, id)
	b = append(b, 0, 0, 0, 0, 0, 0)
	s.buf.Write(append(b, blk...))
	return s
}

func (s *spdySeed) headers(typ uint16, id uint32, pairs ...string) *spdySeed {
	blk := s.block(pairs...)
	b := appendControlHeader(nil, typ, 0, 4+len(blk))
	b = binary.BigEndian.AppendUint32(b, id)
	s.buf.Write(append(b, blk...))
	return s
}

func (s *spdySeed) data(id uint32, flags byte, p string) *spdySeed {
	s.buf.Write(append(appendDataHeader(nil, id, flags, len(p)), p...))
	return s
}

func (s *spdySeed) control(typ uint16, words ...uint32) *spdySeed {
	b := appendControlHeader(nil, typ, 0, 4*len(words))
	for _, w := range words {
		b = binary.BigEndian.AppendUint32(b, w)
	}
	s.buf.Write(b)
	return s
}

func FuzzSPDYFrames(f *testing.F) {
	f.Add(newSPDYSeed().
		syn(1, "streamtype", "error").syn(3, "streamtype", "stdin").syn(5, "streamtype", "stdout").
		control(typePing, 1).data(3, 0, "hello").data(3, flagFin, "").buf.Bytes())
	f.Add(newSPDYSeed().
		syn(1, "streamtype", "resize").data(1, 0, `{"Width":3,"Height":4}`).
		headers(typeHeaders, 1, "x", "y").headers(typeSynReply, 1).
		control(typeRstStream, 1, 5).control(typeWindowUpdate, 1, 100).control(typeSettings, 0).
		control(typeGoAway, 1, 0).data(9, 0, "x").buf.Bytes())
	f.Add(newSPDYSeed().syn(1, "streamtype", "error", "port", "80", "requestid", "0").syn(1, "streamtype", "stdin").buf.Bytes())
	f.Add([]byte{0x80, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x0a, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{0x80, 0x03, 0x00, 0x01, 0x01, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		if h, err := parseSPDYHeader(data); err == nil {
			if h.length > 0xffffff || (!h.control && h.streamID&0x80000000 != 0) {
				t.Fatalf("header %+v", h)
			}
		}
		s := newSPDYSession(nil, fuzzConn{bytes.NewReader(data), io.Discard},
			Options{Stdin: true, Stdout: true, Stderr: true, TTY: true}, true)
		s.abandonInput()
		s.readLoop()
	})
}

func FuzzSPDYHeaderBlock(f *testing.F) {
	seed := newSPDYSeed()
	f.Add(seed.block("streamtype", "stdin"), seed.block("streamtype", "stdout"))
	f.Add(seed.block(), []byte{})
	var e headerEncoder
	first := e.appendBlock(nil, "streamtype", "error")
	f.Add(first, e.appendBlock(nil, "a", "b"))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		var d headerDecoder
		h1, err1 := d.decode(a)
		h2, err2 := d.decode(b)
		if err1 != nil && (err2 == nil || h2 != nil) {
			t.Fatal("decoder recovered from a broken stream")
		}
		for _, h := range []map[string]string{h1, h2} {
			if len(h) > maxHeaderPairs {
				t.Fatalf("%d pairs", len(h))
			}
		}
	})
}

// TestHeaderCodecRoundTrip checks the server's encoder against its own decoder and Go's zlib.
func TestHeaderCodecRoundTrip(t *testing.T) {
	var e headerEncoder
	var d headerDecoder
	stream := []byte{}
	for i, pairs := range [][]string{{}, {"streamtype", "error"}, {"port", "8080", "requestid", "12"}} {
		blk := e.appendBlock(nil, pairs...)
		stream = append(stream, blk...)
		h, err := d.decode(blk)
		if err != nil {
			t.Fatalf("block %d: %v", i, err)
		}
		if len(h) != len(pairs)/2 {
			t.Fatalf("block %d: %v", i, h)
		}
		for j := 0; j < len(pairs); j += 2 {
			if h[pairs[j]] != pairs[j+1] {
				t.Fatalf("block %d: %v", i, h)
			}
		}
	}
	zr, err := zlib.NewReaderDict(bytes.NewReader(stream), spdyDictionary)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 4)
	if _, err := io.ReadFull(zr, got); err != nil || binary.BigEndian.Uint32(got) != 0 {
		t.Fatalf("first block: %v %v", got, err)
	}
}

// FuzzPortForward drives a port-forward session, plain or tunnelled in WebSocket frames, with
// arbitrary client bytes. Dials fail, so no goroutine outlives the input.
func FuzzPortForward(f *testing.F) {
	pair := newSPDYSeed().
		syn(1, "streamtype", "error", "port", "80", "requestid", "0").
		syn(3, "streamtype", "data", "port", "80", "requestid", "0").
		data(3, 0, "GET / HTTP/1.0\r\n\r\n").data(3, flagFin, "").
		syn(5, "streamtype", "data", "port", "81").syn(7, "streamtype", "bogus", "port", "0").
		control(typePing, 3).buf.Bytes()
	f.Add(false, pair)
	f.Add(true, bytes.Join([][]byte{maskedFrame(true, opBinary, pair[:20]), maskedFrame(true, opPing, nil),
		maskedFrame(false, opBinary, pair[20:]), maskedFrame(true, opContinuation, nil), maskedFrame(true, opClose, nil)}, nil))
	f.Fuzz(func(t *testing.T, tunnel bool, data []byte) {
		var rw io.ReadWriter = fuzzConn{bytes.NewReader(data), io.Discard}
		if tunnel {
			rw = &wsTunnel{wsConn: &wsConn{br: bufio.NewReader(bytes.NewReader(data)), bw: bufio.NewWriter(io.Discard)}}
		}
		servePortForward(nil, rw, nil, func(uint16) (net.Conn, error) { return nil, errors.New("refused") })
	})
}
