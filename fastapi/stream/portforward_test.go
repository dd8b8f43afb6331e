package stream

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"context"
	"fmt"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// portForward starts `kubectl port-forward p` for remotes and returns the local port of each,
// and the process's stderr so far (read it after stop).
type pfProcess struct {
	cmd    *exec.Cmd
	local  map[string]string // remote port -> local address
	stderr *syncBuffer
	cancel context.CancelFunc
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var forwardingRE = regexp.MustCompile(`Forwarding from (127\.0\.0\.1:\d+) -> (\d+)`)

func startPortForward(t *testing.T, ts *testServer, websockets bool, remotes ...string) *pfProcess {
	t.Helper()
	home := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	args := []string{"--server", "http://" + ts.addr, "--cache-dir", filepath.Join(home, "cache"), "port-forward", "--address", "127.0.0.1", "p"}
	for _, r := range remotes {
		args = append(args, ":"+r)
	}
	cmd := exec.CommandContext(ctx, kubectlPath, args...)
	ws := "false"
	if websockets {
		ws = "true"
	}
	cmd.Env = append(kubectlEnv(home, websockets), "KUBECTL_PORT_FORWARD_WEBSOCKETS="+ws)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &pfProcess{cmd: cmd, local: map[string]string{}, stderr: &syncBuffer{}, cancel: cancel}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.stop)
	sc := bufio.NewScanner(out)
	for len(p.local) < len(remotes) && sc.Scan() {
		t.Logf("kubectl port-forward: %s", sc.Text())
		if m := forwardingRE.FindStringSubmatch(sc.Text()); m != nil {
			p.local[m[2]] = m[1]
		}
	}
	if len(p.local) < len(remotes) {
		t.Fatalf("kubectl port-forward did not start: %s", p.stderr.String())
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	return p
}

// stop ends the kubectl this test started, by its own process handle.
func (p *pfProcess) stop() {
	if p.cmd.ProcessState == nil {
		_ = p.cmd.Process.Kill()
		_ = p.cmd.Wait()
	}
	p.cancel()
}

// echoRoundTrip sends lines through addr and expects them echoed, then half-closes and
// expects the remote end to close too.
func echoRoundTrip(t *testing.T, addr string, lines ...string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	br := bufio.NewReader(c)
	for _, l := range lines {
		if _, err := fmt.Fprintf(c, "%s\n", l); err != nil {
			t.Fatal(err)
		}
		got, err := br.ReadString('\n')
		if err != nil || got != "echo: "+l+"\n" {
			t.Fatalf("echo of %q: %q, %v", l, got, err)
		}
	}
	_ = c.(*net.TCPConn).CloseWrite()
	if rest, err := io.ReadAll(br); err != nil || len(rest) != 0 {
		t.Fatalf("after half-close: %q, %v", rest, err)
	}
}

func TestKubectlPortForward(t *testing.T) {
	needKubectl(t)
	for _, mode := range []struct {
		name    string
		ws      bool
		upgrade string
	}{{"websocket", true, "websocket"}, {"spdy", false, "SPDY/3.1"}} {
		t.Run(mode.name, func(t *testing.T) {
			ts := startTestServer(t)
			ts.startEcho(t)
			pf := startPortForward(t, ts, mode.ws, "80")
			addr := pf.local["80"]
			echoRoundTrip(t, addr, "hello", strings.Repeat("x", 100<<10))
			// Several connections at once share the one upgraded connection.
			var wg sync.WaitGroup
			for i := range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					echoRoundTrip(t, addr, fmt.Sprintf("conn %d", i), "again")
				}()
			}
			wg.Wait()
			if log := ts.upgradeLog(); len(log) != 1 || log[0] != mode.upgrade {
				t.Fatalf("upgrades %q", log)
			}
			if s := pf.stderr.String(); s != "" {
				t.Fatalf("kubectl stderr: %s", s)
			}
		})
	}
}

// TestKubectlPortForwardErrors: a refused dial and a port that is not exposed are reported on
// the error stream, and kubectl prints them.
func TestKubectlPortForwardErrors(t *testing.T) {
	needKubectl(t)
	for _, tc := range []struct{ port, want string }{
		{"81", "error forwarding port 81: dial tcp 10.0.0.2:81: connect: connection refused"},
		{"82", "error forwarding port 82: port 82 is not exposed"},
	} {
		t.Run(tc.port, func(t *testing.T) {
			ts := startTestServer(t)
			pf := startPortForward(t, ts, true, tc.port)
			c, err := net.Dial("tcp", pf.local[tc.port])
			if err != nil {
				t.Fatal(err)
			}
			_ = c.SetDeadline(time.Now().Add(20 * time.Second))
			// kubectl closes the local connection once the error stream ends.
			if b, err := io.ReadAll(c); err != nil || len(b) != 0 {
				t.Fatalf("read %q, %v", b, err)
			}
			c.Close()
			deadline := time.Now().Add(10 * time.Second)
			for !strings.Contains(pf.stderr.String(), tc.want) && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			if s := pf.stderr.String(); !strings.Contains(s, tc.want) {
				t.Fatalf("kubectl stderr %q, want %q", s, tc.want)
			}
			t.Logf("kubectl stderr: %s", pf.stderr.String())
		})
	}
}

// TestKubectlPortForwardFallback: refused WebSocket, same forward over SPDY.
func TestKubectlPortForwardFallback(t *testing.T) {
	needKubectl(t)
	ts := startTestServer(t)
	ts.startEcho(t)
	ts.mu.Lock()
	ts.refuseWS = true
	ts.mu.Unlock()
	pf := startPortForward(t, ts, true, "80")
	echoRoundTrip(t, pf.local["80"], "fallback")
	if log := ts.upgradeLog(); len(log) != 2 || log[0] != "websocket" || log[1] != "SPDY/3.1" {
		t.Fatalf("upgrades %q", log)
	}
}

func TestPortForwardRefusals(t *testing.T) {
	ts := startTestServer(t)
	path := "/api/v1/namespaces/default/pods/p/portforward"
	t.Run("legacy websocket protocol", func(t *testing.T) {
		c, resp := tryDialWS(t, ts.addr, path, "portforward.k8s.io", "v4.channel.k8s.io")
		if c != nil || resp.StatusCode != 403 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})
	t.Run("spdy without portforward.k8s.io", func(t *testing.T) {
		c, resp := dialSPDY(t, ts.addr, path, "v4.channel.k8s.io")
		if c != nil || resp.StatusCode != 403 || resp.Header.Get("X-Accepted-Stream-Protocol-Versions") != "portforward.k8s.io" {
			t.Fatalf("status %d %v", resp.StatusCode, resp.Header)
		}
	})
	t.Run("no upgrade", func(t *testing.T) {
		_, resp := dialRaw(t, ts.addr, "POST "+path+" HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
		if resp.StatusCode != 400 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})
}

// TestPortForwardTunnelWithOwnClients speaks SPDY inside WebSocket frames with this package's
// test clients: the pair is forwarded, pings are answered at both layers.
func TestPortForwardTunnelWithOwnClients(t *testing.T) {
	ts := startTestServer(t)
	ts.startEcho(t)
	ws, _ := dialWS(t, ts.addr, "/api/v1/namespaces/default/pods/p/portforward", portForwardTunnelProtocol)
	if ws.protocol != portForwardTunnelProtocol {
		t.Fatalf("protocol %q", ws.protocol)
	}
	// A SPDY client whose bytes travel in binary messages, fragmented at random sizes.
	pr, pw := io.Pipe()
	sc := &spdyClient{t: t, br: bufio.NewReader(pr), frames: make(chan spdyTestFrame, 64)}
	sc.zw, _ = zlib.NewWriterLevelDict(&sc.zbuf, zlib.BestCompression, spdyDictionary)
	sc.conn = tunnelConn{ws}
	go func() {
		for {
			f, err := ws.readFrame()
			if err != nil || f.opcode == opClose {
				pw.CloseWithError(io.EOF)
				return
			}
			if f.opcode == opBinary {
				_, _ = pw.Write(f.payload)
			}
		}
	}()
	go sc.readLoop()
	sc.synStream(1, 0, "streamtype", "error", "port", "80", "requestid", "7")
	sc.expectReply(1)
	sc.data(1, flagFin, nil)
	sc.synStream(3, 0, "streamtype", "data", "port", "80", "requestid", "7")
	sc.expectReply(3)
	ws.writeFrame(true, opPing, []byte("ws-ping"))
	sc.control(typePing, 9)
	sc.data(3, 0, []byte("one\ntwo\n"))
	sc.data(3, flagFin, nil)
	var got []byte
	fins := map[uint32]bool{}
	pings := 0
	for !fins[1] || !fins[3] || pings == 0 {
		f, ok := sc.next()
		if !ok {
			t.Fatal("tunnel closed")
		}
		switch {
		case !f.control && f.streamID == 3:
			got = append(got, f.data...)
		case !f.control && f.streamID == 1 && len(f.data) > 0:
			t.Fatalf("error stream: %q", f.data)
		case f.control && f.typ == typePing:
			pings++
		}
		if !f.control && f.flags&flagFin != 0 {
			fins[f.streamID] = true
		}
	}
	if string(got) != "echo: one\necho: two\n" {
		t.Fatalf("forwarded %q", got)
	}
}

// tunnelConn sends the SPDY client's writes as masked binary WebSocket messages.
type tunnelConn struct{ ws *wsClient }

func (c tunnelConn) Write(p []byte) (int, error) {
	for len(p) > 0 {
		n := min(len(p), 7)
		c.ws.writeFrame(true, opBinary, p[:n])
		p = p[n:]
	}
	return 0, nil
}
func (c tunnelConn) Read([]byte) (int, error)         { return 0, io.EOF }
func (c tunnelConn) Close() error                     { return c.ws.conn.Close() }
func (c tunnelConn) LocalAddr() net.Addr              { return c.ws.conn.LocalAddr() }
func (c tunnelConn) RemoteAddr() net.Addr             { return c.ws.conn.RemoteAddr() }
func (c tunnelConn) SetDeadline(time.Time) error      { return nil }
func (c tunnelConn) SetReadDeadline(time.Time) error  { return nil }
func (c tunnelConn) SetWriteDeadline(time.Time) error { return nil }
