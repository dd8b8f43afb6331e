package stream

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// execPath builds an exec URL as kubectl does.
func execPath(cmd []string, opts Options) string {
	q := url.Values{}
	for _, c := range cmd {
		q.Add("command", c)
	}
	q.Set("container", "c")
	set := func(k string, v bool) {
		if v {
			q.Set(k, "true")
		}
	}
	set("stdin", opts.Stdin)
	set("stdout", opts.Stdout)
	set("stderr", opts.Stderr)
	set("tty", opts.TTY)
	return "/api/v1/namespaces/default/pods/p/exec?" + q.Encode()
}

func decodeStatus(t *testing.T, b []byte) metav1.Status {
	t.Helper()
	var st metav1.Status
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatalf("error channel %q: %v", b, err)
	}
	return st
}

var allOut = Options{Stdout: true, Stderr: true}

func TestWebSocketExecChannels(t *testing.T) {
	ts := startTestServer(t)
	tests := []struct {
		name       string
		cmd        []string
		opts       Options
		wantOut    string
		wantErr    string
		wantStatus string
		wantCode   string // ExitCode cause
		wantReason metav1.StatusReason
	}{
		{name: "echo", cmd: []string{"echo", "hi"}, opts: allOut, wantOut: "hi\n", wantStatus: "Success"},
		{name: "stderr", cmd: []string{"stderr", "oops"}, opts: allOut, wantOut: "out\n", wantErr: "oops\n", wantStatus: "Success"},
		{name: "exit 3", cmd: []string{"exit", "3"}, opts: allOut, wantOut: "exiting 3\n", wantStatus: "Failure", wantCode: "3", wantReason: "NonZeroExitCode"},
		{name: "not found", cmd: []string{"nope"}, opts: allOut, wantErr: "nope: not found\n", wantStatus: "Failure", wantCode: "127", wantReason: "NonZeroExitCode"},
		{name: "run error", cmd: []string{"fail"}, opts: allOut, wantStatus: "Failure", wantReason: metav1.StatusReasonInternalError},
		{name: "stdout only", cmd: []string{"stderr", "dropped"}, opts: Options{Stdout: true}, wantOut: "out\n", wantStatus: "Success"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, resp := dialWS(t, ts.addr, execPath(tc.cmd, tc.opts), "v5.channel.k8s.io", "v4.channel.k8s.io")
			if c == nil {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if c.protocol != "v5.channel.k8s.io" {
				t.Fatalf("protocol %q", c.protocol)
			}
			r := c.collect()
			if got := string(r.channels[chanStdout]); got != tc.wantOut {
				t.Errorf("stdout %q, want %q", got, tc.wantOut)
			}
			if got := string(r.channels[chanStderr]); got != tc.wantErr {
				t.Errorf("stderr %q, want %q", got, tc.wantErr)
			}
			st := decodeStatus(t, r.channels[chanError])
			if string(st.Status) != tc.wantStatus || st.Reason != tc.wantReason {
				t.Errorf("status %+v", st)
			}
			if tc.wantCode != "" {
				if st.Details == nil || len(st.Details.Causes) != 1 || st.Details.Causes[0].Type != "ExitCode" || st.Details.Causes[0].Message != tc.wantCode {
					t.Errorf("exit code cause: %+v", st.Details)
				}
				if !strings.HasPrefix(st.Message, "command terminated with non-zero exit code: ") {
					t.Errorf("message %q", st.Message)
				}
			}
			if !r.closed || r.closeCode != closeNormal {
				t.Errorf("close frame: closed=%v code=%d", r.closed, r.closeCode)
			}
			if c.pings != 1 {
				t.Errorf("%d start pings", c.pings)
			}
			// The error channel is written once, after everything else, exactly once.
			n := 0
			for i, m := range r.messages {
				if ch, _ := c.decode(m); ch == chanError {
					n++
					if i != len(r.messages)-1 {
						t.Errorf("error channel message %d of %d is not last", i, len(r.messages))
					}
				}
			}
			if n != 1 {
				t.Errorf("%d error channel messages", n)
			}
		})
	}
}

// TestWebSocketStartPing: output waits for the answer to the start ping, and a client that
// does not answer only delays the session.
func TestWebSocketStartPing(t *testing.T) {
	ts := startTestServer(t)
	c, _ := dialWS(t, ts.addr, execPath([]string{"echo", "late"}, allOut), "v5.channel.k8s.io")
	start := time.Now()
	f, err := c.readAnyFrame()
	if err != nil || f.opcode != opPing || string(f.payload) != startPing {
		t.Fatalf("first frame %+v, %v", f, err)
	}
	// No answer: the server goes on after startTimeout.
	r := c.collect()
	if d := time.Since(start); d < startTimeout-100*time.Millisecond {
		t.Fatalf("output after %v, before the start timeout", d)
	}
	if string(r.channels[chanStdout]) != "late\n" {
		t.Fatalf("stdout %q", r.channels[chanStdout])
	}
}

// TestServerTimeoutsDoNotCutSessions: fasthttp's ReadTimeout, WriteTimeout and IdleTimeout
// must not apply to a hijacked session, over either transport.
func TestServerTimeoutsDoNotCutSessions(t *testing.T) {
	ts := startTestServerTimeouts(t, 300*time.Millisecond)
	path := execPath([]string{"sleep", "1s"}, Options{Stdin: true, Stdout: true})
	t.Run("websocket", func(t *testing.T) {
		t.Parallel()
		c, _ := dialWS(t, ts.addr, path, "v5.channel.k8s.io")
		time.Sleep(500 * time.Millisecond)
		c.send(chanStdin, []byte("idle past the timeouts"), 0)
		r := c.collect()
		if string(r.channels[chanStdout]) != "slept\n" || decodeStatus(t, r.channels[chanError]).Status != metav1.StatusSuccess {
			t.Fatalf("result %+v", r)
		}
	})
	t.Run("spdy", func(t *testing.T) {
		t.Parallel()
		c, _ := dialSPDY(t, ts.addr, path, "v4.channel.k8s.io")
		for i, typ := range []string{"error", "stdin", "stdout"} {
			c.synStream(uint32(2*i+1), 0, "streamtype", typ)
			c.expectReply(uint32(2*i + 1))
		}
		time.Sleep(500 * time.Millisecond)
		c.data(3, 0, []byte("idle past the timeouts"))
		r := c.collect()
		if string(r.data[5]) != "slept\n" || decodeStatus(t, r.data[1]).Status != metav1.StatusSuccess {
			t.Fatalf("result %+v", r)
		}
	})
}

func TestWebSocketSuccessStatusBytes(t *testing.T) {
	ts := startTestServer(t)
	c, _ := dialWS(t, ts.addr, execPath([]string{"echo"}, allOut), "v5.channel.k8s.io")
	r := c.collect()
	if got, want := string(r.channels[chanError]), `{"metadata":{},"status":"Success"}`; got != want {
		t.Fatalf("error channel %s, want %s", got, want)
	}
}

// TestWebSocketStdinHalfClose sends stdin in fragments with pings in between, then the v5
// close signal, and expects cat to end with everything echoed.
func TestWebSocketStdinHalfClose(t *testing.T) {
	ts := startTestServer(t)
	c, _ := dialWS(t, ts.addr, execPath([]string{"cat"}, Options{Stdin: true, Stdout: true, Stderr: true}), "v5.channel.k8s.io")
	data := bigPayload(300 << 10)
	go func() {
		// A fragmented message with control frames between its fragments.
		msg := append([]byte{chanStdin}, data[:1000]...)
		c.writeFrame(false, opBinary, msg[:1]) // only the channel byte
		c.writeFrame(false, opContinuation, nil)
		c.writeFrame(true, opPing, []byte("ping-1"))
		c.writeFrame(false, opContinuation, msg[1:500])
		c.writeFrame(true, opPing, []byte("ping-2"))
		c.writeFrame(true, opContinuation, msg[500:])
		// The rest in large messages: beyond the inbound buffer, so the reader must wait
		// for cat, and 64-bit lengths.
		c.send(chanStdin, data[1000:200<<10], 0)
		c.send(chanStdin, data[200<<10:], 4096)
		c.writeFrame(true, opBinary, []byte{chanClose, chanStdin})
	}()
	r := c.collect()
	if !bytes.Equal(r.channels[chanStdout], data) {
		t.Fatalf("echoed %d bytes, want %d (equal prefix: %v)", len(r.channels[chanStdout]), len(data),
			bytes.HasPrefix(data, r.channels[chanStdout]))
	}
	if st := decodeStatus(t, r.channels[chanError]); st.Status != metav1.StatusSuccess {
		t.Fatalf("status %+v", st)
	}
	if len(r.pongs) != 2 || string(r.pongs[0]) != "ping-1" || string(r.pongs[1]) != "ping-2" {
		t.Fatalf("pongs %q", r.pongs)
	}
}

// TestWebSocketClientClose: a client close frame ends stdin, the server answers the close
// and the command sees EOF.
func TestWebSocketClientClose(t *testing.T) {
	ts := startTestServer(t)
	c, _ := dialWS(t, ts.addr, execPath([]string{"cat"}, Options{Stdin: true, Stdout: true}), "v5.channel.k8s.io")
	c.send(chanStdin, []byte("before close\n"), 0)
	var got []byte
	for len(got) < len("before close\n") {
		f, err := c.readFrame()
		if err != nil {
			t.Fatal(err)
		}
		if ch, d := c.decode(f); ch == chanStdout {
			got = append(got, d...)
		}
	}
	c.writeFrame(true, opClose, []byte{0x03, 0xe8, 'b', 'y', 'e'})
	for {
		f, err := c.readFrame()
		if err != nil {
			t.Fatalf("no close answer: %v", err)
		}
		if f.opcode == opClose {
			if !bytes.Equal(f.payload, []byte{0x03, 0xe8}) {
				t.Fatalf("close answer %v", f.payload)
			}
			break
		}
	}
	// After the close handshake the server sends nothing more and closes the connection.
	if f, err := c.readFrame(); err != io.EOF {
		t.Fatalf("after close: frame %+v err %v", f, err)
	}
}

func TestWebSocketTTYResize(t *testing.T) {
	ts := startTestServer(t)
	c, _ := dialWS(t, ts.addr, execPath([]string{"resizes"}, Options{Stdin: true, Stdout: true, Stderr: true, TTY: true}), "v5.channel.k8s.io")
	// kubectl writes each size with a json.Encoder; one message may also hold a partial value.
	c.send(chanResize, []byte(`{"Width":80,"Height":24}`+"\n"), 0)
	c.send(chanResize, []byte(`{"Width":100,`), 0)
	c.send(chanResize, []byte(`"Height":40}`+"\n"+`{"Width":0,"Height":0}`+"\n"), 0)
	r := c.collect()
	if got, want := string(r.channels[chanStdout]), "80x24\n100x40\n0x0\n"; got != want {
		t.Fatalf("stdout %q, want %q", got, want)
	}
	if len(r.channels[chanStderr]) != 0 {
		t.Fatalf("stderr used with a TTY: %q", r.channels[chanStderr])
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if !ts.lastOpts.TTY {
		t.Fatal("tty not requested")
	}
}

func TestWebSocketTTYHasNoStderr(t *testing.T) {
	ts := startTestServer(t)
	c, _ := dialWS(t, ts.addr, execPath([]string{"tty"}, Options{Stdout: true, Stderr: true, TTY: true}), "v5.channel.k8s.io")
	c.send(chanResize, []byte(`{"Width":120,"Height":50}`), 0)
	r := c.collect()
	if got, want := string(r.channels[chanStdout]), "tty=true stderr=false\r\nsize=120x50 ok=true\r\n"; got != want {
		t.Fatalf("stdout %q, want %q", got, want)
	}
}

func TestWebSocketProtocols(t *testing.T) {
	ts := startTestServer(t)
	t.Run("v4 binary", func(t *testing.T) {
		c, _ := dialWS(t, ts.addr, execPath([]string{"exit", "4"}, allOut), "v4.channel.k8s.io")
		if c.protocol != "v4.channel.k8s.io" {
			t.Fatalf("protocol %q", c.protocol)
		}
		r := c.collect()
		st := decodeStatus(t, r.channels[chanError])
		if st.Details == nil || st.Details.Causes[0].Message != "4" {
			t.Fatalf("status %+v", st)
		}
	})
	t.Run("v4 ignores close signal", func(t *testing.T) {
		c, _ := dialWS(t, ts.addr, execPath([]string{"cat"}, Options{Stdin: true, Stdout: true}), "v4.channel.k8s.io")
		c.send(chanStdin, []byte("abc"), 0)
		c.writeFrame(true, opBinary, []byte{chanClose, chanStdin}) // not a signal in v4
		c.send(chanStdin, []byte("def"), 0)
		var got []byte
		for len(got) < 6 {
			f, err := c.readFrame()
			if err != nil {
				t.Fatal(err)
			}
			if ch, d := c.decode(f); ch == chanStdout {
				got = append(got, d...)
			}
		}
		if string(got) != "abcdef" {
			t.Fatalf("stdout %q", got)
		}
		// v4 has no half-close: stdin ends with the connection.
		c.writeFrame(true, opClose, []byte{0x03, 0xe8})
		c.collect()
	})
	t.Run("v4 base64", func(t *testing.T) {
		c, _ := dialWS(t, ts.addr, execPath([]string{"cat"}, Options{Stdin: true, Stdout: true}), "v4.base64.channel.k8s.io")
		if c.protocol != "v4.base64.channel.k8s.io" {
			t.Fatalf("protocol %q", c.protocol)
		}
		c.writeFrame(true, opText, []byte("0aGVsbG8=")) // "hello" on stdin
		var got []byte
		for len(got) < 5 {
			f, err := c.readFrame()
			if err != nil {
				t.Fatal(err)
			}
			if f.opcode != opText {
				t.Fatalf("base64 protocol sent opcode %d", f.opcode)
			}
			if ch, d := c.decode(f); ch == chanStdout {
				got = append(got, d...)
			}
		}
		if string(got) != "hello" {
			t.Fatalf("stdout %q", got)
		}
		// Without a half-close, the client's close frame ends stdin; nothing may follow the
		// close handshake, so no status is sent.
		c.writeFrame(true, opClose, []byte{0x03, 0xe8})
		r := c.collect()
		if !r.closed || len(r.channels[chanError]) != 0 {
			t.Fatalf("after client close: %+v", r)
		}
	})
	t.Run("v4 base64 status", func(t *testing.T) {
		c, _ := dialWS(t, ts.addr, execPath([]string{"exit", "6"}, allOut), "v4.base64.channel.k8s.io")
		r := c.collect()
		if st := decodeStatus(t, r.channels[chanError]); st.Details == nil || st.Details.Causes[0].Message != "6" {
			t.Fatalf("status %+v", st)
		}
		if got := string(r.channels[chanStdout]); got != "exiting 6\n" {
			t.Fatalf("stdout %q", got)
		}
	})
	t.Run("channel.k8s.io has text errors", func(t *testing.T) {
		c, _ := dialWS(t, ts.addr, execPath([]string{"exit", "5"}, allOut), "channel.k8s.io")
		r := c.collect()
		if got := string(r.channels[chanError]); got != "command terminated with non-zero exit code: exit status 5" {
			t.Fatalf("error channel %q", got)
		}
	})
	t.Run("client preference wins", func(t *testing.T) {
		c, _ := dialWS(t, ts.addr, execPath([]string{"echo"}, allOut), "x.unknown", "v4.channel.k8s.io", "v5.channel.k8s.io")
		if c.protocol != "v4.channel.k8s.io" {
			t.Fatalf("protocol %q", c.protocol)
		}
		c.collect()
	})
	t.Run("no match is 403", func(t *testing.T) {
		c, resp := tryDialWS(t, ts.addr, execPath([]string{"echo"}, allOut), "v9.channel.k8s.io")
		if c != nil || resp.StatusCode != http.StatusForbidden {
			t.Fatalf("status %d", resp.StatusCode)
		}
		body, _ := io.ReadAll(resp.Body)
		st := decodeStatus(t, body)
		if st.Kind != "Status" || st.Code != 403 || !strings.Contains(st.Message, "v9.channel.k8s.io") {
			t.Fatalf("status %+v", st)
		}
	})
}

func TestWebSocketHandshakeErrors(t *testing.T) {
	ts := startTestServer(t)
	send := func(t *testing.T, req string) *http.Response {
		t.Helper()
		c, resp := dialRaw(t, ts.addr, req)
		_ = c
		return resp
	}
	path := execPath([]string{"echo"}, allOut)
	t.Run("bad version", func(t *testing.T) {
		resp := send(t, "GET "+path+" HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n")
		if resp.StatusCode != http.StatusUpgradeRequired || resp.Header.Get("Sec-WebSocket-Version") != "13" {
			t.Fatalf("status %d headers %v", resp.StatusCode, resp.Header)
		}
	})
	t.Run("bad key", func(t *testing.T) {
		resp := send(t, "GET "+path+" HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n\r\n")
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})
	t.Run("no streams", func(t *testing.T) {
		resp := send(t, "GET "+execPath([]string{"echo"}, Options{})+" HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})
	t.Run("RFC example key", func(t *testing.T) {
		// RFC 6455 section 1.3.
		if got := wsAccept("dGhlIHNhbXBsZSBub25jZQ=="); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
			t.Fatalf("accept %q", got)
		}
	})
}

func TestWebSocketProtocolViolations(t *testing.T) {
	ts := startTestServer(t)
	tests := []struct {
		name string
		send func(c *wsClient)
		code int
	}{
		{"unmasked frame", func(c *wsClient) { c.writeRaw(true, opBinary, []byte{0, 'x'}, false) }, closeProtocolError},
		{"reserved bits", func(c *wsClient) {
			_, _ = c.conn.Write([]byte{0x80 | 0x40 | opBinary, 0x80, 1, 2, 3, 4})
		}, closeProtocolError},
		{"unknown opcode", func(c *wsClient) { c.writeFrame(true, 0x3, nil) }, closeProtocolError},
		{"continuation first", func(c *wsClient) { c.writeFrame(true, opContinuation, []byte{0}) }, closeProtocolError},
		{"nested message", func(c *wsClient) {
			c.writeFrame(false, opBinary, []byte{0})
			c.writeFrame(true, opBinary, []byte{0})
		}, closeProtocolError},
		{"fragmented ping", func(c *wsClient) { c.writeFrame(false, opPing, nil) }, closeProtocolError},
		{"long ping", func(c *wsClient) { c.writeFrame(true, opPing, make([]byte, 126)) }, closeProtocolError},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := dialWS(t, ts.addr, execPath([]string{"cat"}, Options{Stdin: true, Stdout: true}), "v5.channel.k8s.io")
			tc.send(c)
			r := c.collect()
			if !r.closed || r.closeCode != tc.code {
				t.Fatalf("closed=%v code=%d, want %d", r.closed, r.closeCode, tc.code)
			}
		})
	}
}

func TestWebSocketBase64TooBig(t *testing.T) {
	ts := startTestServer(t)
	c, _ := dialWS(t, ts.addr, execPath([]string{"cat"}, Options{Stdin: true, Stdout: true}), "v4.base64.channel.k8s.io")
	c.writeFrame(false, opText, bytes.Repeat([]byte("A"), maxBase64Message))
	c.writeFrame(true, opContinuation, []byte("AAAA"))
	r := c.collect()
	if r.closeCode != closeTooBig {
		t.Fatalf("close code %d", r.closeCode)
	}
}

func TestIsUpgrade(t *testing.T) {
	ts := startTestServer(t)
	// A plain GET of the exec endpoint is not an upgrade.
	_, resp := dialRaw(t, ts.addr, "GET /api/v1/namespaces/default/pods/p/exec?command=echo HTTP/1.1\r\nHost: x\r\n\r\n")
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusBadRequest || !bytes.Contains(body, []byte("upgrade request required")) {
		t.Fatalf("status %d body %s", resp.StatusCode, body)
	}
	// Token lists and case are honoured.
	c, _ := dialRaw(t, ts.addr, "GET "+execPath([]string{"echo", "x"}, allOut)+" HTTP/1.1\r\nHost: x\r\nUpgrade: WebSocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: v5.channel.k8s.io\r\n\r\n")
	if c == nil {
		t.Fatal("token list upgrade refused")
	}
	c.collect()
}

// dialRaw sends a raw request and reads the response; for 101 it returns a client.
func dialRaw(t *testing.T, addr, req string) (*wsClient, *http.Response) {
	t.Helper()
	conn, err := netDial(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	br := newBufReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return nil, resp
	}
	return &wsClient{t: t, conn: conn, br: br, resp: resp, protocol: resp.Header.Get("Sec-WebSocket-Protocol")}, resp
}
