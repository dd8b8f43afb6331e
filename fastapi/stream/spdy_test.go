package stream

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// spdyClient is a minimal SPDY/3 client for these tests. Like spdystream's framer it
// decompresses each header block through a zlib reader limited to the frame, and insists that
// the block is consumed exactly.
type spdyClient struct {
	t    *testing.T
	conn net.Conn
	br   *bufio.Reader
	resp *http.Response

	zbuf bytes.Buffer
	zw   *zlib.Writer

	lim io.LimitedReader
	zr  io.ReadCloser

	frames chan spdyTestFrame
}

type spdyTestFrame struct {
	control  bool
	typ      uint16
	flags    byte
	streamID uint32
	data     []byte
	headers  map[string]string
	a, b     uint32 // first words of RST_STREAM, PING, GOAWAY
	err      error
}

func dialSPDY(t *testing.T, addr, path string, versions ...string) (*spdyClient, *http.Response) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	var req strings.Builder
	fmt.Fprintf(&req, "POST %s HTTP/1.1\r\nHost: %s\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nContent-Length: 0\r\n", path, addr)
	for _, v := range versions {
		fmt.Fprintf(&req, "X-Stream-Protocol-Version: %s\r\n", v)
	}
	req.WriteString("\r\n")
	if _, err := io.WriteString(conn, req.String()); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return nil, resp
	}
	c := &spdyClient{t: t, conn: conn, br: br, resp: resp, frames: make(chan spdyTestFrame, 1024)}
	c.zw, _ = zlib.NewWriterLevelDict(&c.zbuf, zlib.BestCompression, spdyDictionary)
	go c.readLoop()
	return c, resp
}

func (c *spdyClient) headerBlock(pairs ...string) []byte {
	var b []byte
	b = binary.BigEndian.AppendUint32(b, uint32(len(pairs)/2))
	for _, p := range pairs {
		b = binary.BigEndian.AppendUint32(b, uint32(len(p)))
		b = append(b, p...)
	}
	c.zbuf.Reset()
	_, _ = c.zw.Write(b)
	_ = c.zw.Flush()
	return append([]byte(nil), c.zbuf.Bytes()...)
}

func (c *spdyClient) write(b []byte) {
	c.t.Helper()
	if _, err := c.conn.Write(b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

func (c *spdyClient) synStream(id uint32, flags byte, pairs ...string) {
	c.t.Helper()
	block := c.headerBlock(pairs...)
	b := appendControlHeader(nil, typeSynStream, flags, 10+len(block))
	b = binary.BigEndian.AppendUint32(b, id)
	b = append(b, 0, 0, 0, 0, 0, 0) // associated stream, priority, slot
	c.write(append(b, block...))
}

func (c *spdyClient) data(id uint32, flags byte, p []byte) {
	c.t.Helper()
	c.write(append(appendDataHeader(nil, id, flags, len(p)), p...))
}

func (c *spdyClient) control(typ uint16, words ...uint32) {
	c.t.Helper()
	b := appendControlHeader(nil, typ, 0, 4*len(words))
	for _, w := range words {
		b = binary.BigEndian.AppendUint32(b, w)
	}
	c.write(b)
}

func (c *spdyClient) readLoop() {
	defer close(c.frames)
	var hb [8]byte
	for {
		if _, err := io.ReadFull(c.br, hb[:]); err != nil {
			return
		}
		h, _ := parseSPDYHeader(hb[:])
		p := make([]byte, h.length)
		if _, err := io.ReadFull(c.br, p); err != nil {
			return
		}
		f := spdyTestFrame{control: h.control, typ: h.typ, flags: h.flags, streamID: h.streamID, data: p}
		if h.control {
			if h.version != spdyVersion {
				f.err = fmt.Errorf("version %d", h.version)
			}
			if len(p) >= 4 {
				f.a = binary.BigEndian.Uint32(p) & 0x7fffffff
			}
			if len(p) >= 8 {
				f.b = binary.BigEndian.Uint32(p[4:])
			}
			if h.typ == typeSynReply {
				f.streamID = f.a
				f.headers, f.err = c.decodeHeaders(p[4:])
			}
		}
		c.frames <- f
	}
}

// decodeHeaders mirrors spdystream: a zlib reader over a reader limited to the block, which
// must end up fully consumed.
func (c *spdyClient) decodeHeaders(block []byte) (map[string]string, error) {
	src := bytes.NewReader(block)
	c.lim.R, c.lim.N = src, int64(len(block))
	if c.zr == nil {
		zr, err := zlib.NewReaderDict(&c.lim, spdyDictionary)
		if err != nil {
			return nil, err
		}
		c.zr = zr
	}
	var n uint32
	if err := binary.Read(c.zr, binary.BigEndian, &n); err != nil {
		return nil, err
	}
	h := map[string]string{}
	for range n {
		var kv [2]string
		for i := range kv {
			var l uint32
			if err := binary.Read(c.zr, binary.BigEndian, &l); err != nil {
				return nil, err
			}
			b := make([]byte, l)
			if _, err := io.ReadFull(c.zr, b); err != nil {
				return nil, err
			}
			kv[i] = string(b)
		}
		h[kv[0]] = kv[1]
	}
	if c.lim.N != 0 {
		return nil, fmt.Errorf("compressed payload size was incorrect: %d bytes left", c.lim.N)
	}
	return h, nil
}

func (c *spdyClient) next() (spdyTestFrame, bool) {
	select {
	case f, ok := <-c.frames:
		return f, ok
	case <-time.After(15 * time.Second):
		c.t.Fatal("no frame within 15s")
		return spdyTestFrame{}, false
	}
}

// expectReply waits for the SYN_REPLY of id, failing on anything else.
func (c *spdyClient) expectReply(id uint32) {
	c.t.Helper()
	f, ok := c.next()
	if !ok || !f.control || f.typ != typeSynReply || f.streamID != id || f.err != nil || len(f.headers) != 0 {
		c.t.Fatalf("want SYN_REPLY %d, got %+v (ok=%v)", id, f, ok)
	}
}

// spdySessionResult is what the server sent after the streams were set up.
type spdySessionResult struct {
	data   map[uint32][]byte
	fins   map[uint32]bool
	pings  []uint32
	rsts   map[uint32]uint32
	goAway int64 // status, -1 if none
}

func (c *spdyClient) collect() spdySessionResult {
	c.t.Helper()
	r := spdySessionResult{data: map[uint32][]byte{}, fins: map[uint32]bool{}, rsts: map[uint32]uint32{}, goAway: -1}
	for {
		f, ok := c.next()
		if !ok {
			return r
		}
		if f.err != nil {
			c.t.Fatalf("frame %+v: %v", f, f.err)
		}
		switch {
		case !f.control:
			if r.fins[f.streamID] {
				c.t.Errorf("data on stream %d after FIN", f.streamID)
			}
			r.data[f.streamID] = append(r.data[f.streamID], f.data...)
			if f.flags&flagFin != 0 {
				r.fins[f.streamID] = true
			}
		case f.typ == typePing:
			r.pings = append(r.pings, binary.BigEndian.Uint32(f.data))
		case f.typ == typeRstStream:
			r.rsts[f.a] = f.b
		case f.typ == typeGoAway:
			r.goAway = int64(f.b)
			c.conn.Close() // as kubectl does once its copies are done
		}
	}
}

func TestSPDYExec(t *testing.T) {
	ts := startTestServer(t)
	c, resp := dialSPDY(t, ts.addr, execPath([]string{"cat"}, Options{Stdin: true, Stdout: true, Stderr: true}),
		"v4.channel.k8s.io", "v3.channel.k8s.io", "v2.channel.k8s.io")
	if c == nil {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if got := resp.Header.Get("X-Stream-Protocol-Version"); got != "v4.channel.k8s.io" {
		t.Fatalf("protocol %q", got)
	}
	for i, typ := range []string{"error", "stdin", "stdout", "stderr"} {
		id := uint32(2*i + 1)
		c.synStream(id, 0, "streamtype", typ)
		c.expectReply(id)
	}
	c.control(typePing, 7)
	data := bigPayload(200 << 10)
	c.data(3, 0, data[:100])
	c.data(3, 0, data[100:150<<10])
	c.data(99, 0, []byte("nobody")) // unknown stream
	c.data(3, flagFin, data[150<<10:])
	r := c.collect()
	if !bytes.Equal(r.data[5], data) {
		t.Fatalf("stdout %d bytes, want %d", len(r.data[5]), len(data))
	}
	if st := decodeStatus(t, r.data[1]); st.Status != metav1.StatusSuccess {
		t.Fatalf("status %+v", st)
	}
	for _, id := range []uint32{1, 3, 5, 7} {
		if !r.fins[id] {
			t.Errorf("stream %d not half-closed", id)
		}
	}
	if len(r.pings) != 1 || r.pings[0] != 7 {
		t.Errorf("pings %v", r.pings)
	}
	if r.rsts[99] != rstInvalidStream {
		t.Errorf("rsts %v", r.rsts)
	}
	if r.goAway != goAwayOK {
		t.Errorf("goaway %d", r.goAway)
	}
}

func TestSPDYExitCodeAndStderr(t *testing.T) {
	ts := startTestServer(t)
	c, _ := dialSPDY(t, ts.addr, execPath([]string{"nope"}, allOut), "v5.channel.k8s.io", "v4.channel.k8s.io")
	if got := c.resp.Header.Get("X-Stream-Protocol-Version"); got != "v5.channel.k8s.io" {
		t.Fatalf("protocol %q", got)
	}
	// Streams may come in any order; the session starts once all are there.
	c.synStream(1, 0, "streamtype", "stderr")
	c.expectReply(1)
	c.synStream(3, 0, "streamtype", "stdout")
	c.expectReply(3)
	c.synStream(5, 0, "streamtype", "error")
	c.expectReply(5)
	r := c.collect()
	if got := string(r.data[1]); got != "nope: not found\n" {
		t.Fatalf("stderr %q", got)
	}
	st := decodeStatus(t, r.data[5])
	if st.Reason != "NonZeroExitCode" || st.Details.Causes[0].Message != "127" {
		t.Fatalf("status %+v", st)
	}
}

func TestSPDYTTYResize(t *testing.T) {
	ts := startTestServer(t)
	c, _ := dialSPDY(t, ts.addr, execPath([]string{"resizes"}, Options{Stdin: true, Stdout: true, Stderr: true, TTY: true}), "v4.channel.k8s.io")
	// No stderr stream with a TTY; a resize stream instead.
	for i, typ := range []string{"error", "stdin", "stdout", "resize"} {
		id := uint32(2*i + 1)
		c.synStream(id, 0, "streamtype", typ)
		c.expectReply(id)
	}
	c.data(7, 0, []byte(`{"Width":80,"Height":24}`+"\n"+`{"Width":`))
	c.data(7, 0, []byte(`90,"Height":30}`+"\n"))
	c.data(7, flagFin, nil) // the resize channel closes, and with it the command's loop
	r := c.collect()
	if got := string(r.data[5]); got != "80x24\n90x30\n" {
		t.Fatalf("stdout %q", got)
	}
}

func TestSPDYv2TextErrors(t *testing.T) {
	ts := startTestServer(t)
	c, _ := dialSPDY(t, ts.addr, execPath([]string{"exit", "9"}, Options{Stdout: true, TTY: true}), "v2.channel.k8s.io")
	// v2 has no resize stream even with a TTY.
	c.synStream(1, 0, "streamtype", "error")
	c.expectReply(1)
	c.synStream(3, 0, "streamtype", "stdout")
	c.expectReply(3)
	r := c.collect()
	if got := string(r.data[1]); got != "command terminated with non-zero exit code: exit status 9" {
		t.Fatalf("error stream %q", got)
	}
}

func TestSPDYProtocolErrors(t *testing.T) {
	ts := startTestServer(t)
	path := execPath([]string{"cat"}, Options{Stdin: true, Stdout: true})
	t.Run("stream ids must grow", func(t *testing.T) {
		c, _ := dialSPDY(t, ts.addr, path, "v4.channel.k8s.io")
		c.synStream(5, 0, "streamtype", "error")
		c.expectReply(5)
		c.synStream(3, 0, "streamtype", "stdin")
		f, _ := c.next()
		if f.typ != typeRstStream || f.a != 3 || f.b != rstProtocolError {
			t.Fatalf("got %+v", f)
		}
	})
	t.Run("bad version", func(t *testing.T) {
		c, _ := dialSPDY(t, ts.addr, path, "v4.channel.k8s.io")
		c.write([]byte{0x80, 0x02, 0x00, typePing, 0, 0, 0, 4, 0, 0, 0, 1})
		r := c.collect()
		if r.goAway != goAwayProtocolError {
			t.Fatalf("goaway %d", r.goAway)
		}
	})
	t.Run("corrupt header block", func(t *testing.T) {
		c, _ := dialSPDY(t, ts.addr, path, "v4.channel.k8s.io")
		b := appendControlHeader(nil, typeSynStream, 0, 10+6)
		b = binary.BigEndian.AppendUint32(b, 1)
		b = append(b, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6)
		c.write(b)
		r := c.collect()
		if r.goAway != goAwayProtocolError {
			t.Fatalf("goaway %d", r.goAway)
		}
	})
	t.Run("no version header", func(t *testing.T) {
		c, resp := dialSPDY(t, ts.addr, path)
		if c != nil || resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})
	t.Run("no common version", func(t *testing.T) {
		c, resp := dialSPDY(t, ts.addr, path, "v1.channel.k8s.io", "v9.channel.k8s.io")
		if c != nil || resp.StatusCode != http.StatusForbidden {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if got := resp.Header.Values("X-Accepted-Stream-Protocol-Versions"); len(got) != len(spdyProtocols) {
			t.Fatalf("accepted versions %q", got)
		}
		body, _ := io.ReadAll(resp.Body)
		if st := decodeStatus(t, body); st.Code != 403 || st.Kind != "Status" {
			t.Fatalf("status %+v", st)
		}
	})
	t.Run("client goes away before streams", func(t *testing.T) {
		c, _ := dialSPDY(t, ts.addr, path, "v4.channel.k8s.io")
		c.synStream(1, 0, "streamtype", "error")
		c.expectReply(1)
		c.conn.Close()
		// The session ends without calling run; the server cleanup checks nothing leaks.
	})
}

func TestSPDYDictionary(t *testing.T) {
	// The SPDY/3 dictionary is 1423 bytes; zlib identifies it by this Adler-32, which
	// spdystream's framer checks on the first header block.
	if len(spdyDictionary) != 1423 {
		t.Fatalf("dictionary is %d bytes", len(spdyDictionary))
	}
	if got := binary.BigEndian.Uint32(spdyZlibHeader[2:]); got != 0xe3c6a7c2 {
		t.Fatalf("dictionary Adler-32 %08x", got)
	}
}
