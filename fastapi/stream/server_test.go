package stream

import (
	"archive/tar"
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// testServer is a fasthttp server whose exec/attach endpoints run scripted commands, plus just
// enough of the API (discovery, one pod) for kubectl to reach them.
type testServer struct {
	addr string
	srv  *fasthttp.Server
	ln   net.Listener

	mu       sync.Mutex
	upgrades []string          // Upgrade header of each exec/attach request, in order
	uploads  map[string]string // files received by "tar x"
	lastOpts Options
	refuseWS bool         // answer WebSocket upgrades with 400, as a server without WebSocket support
	running  atomic.Int64 // commands still running
	echoAddr string       // target of port 80 for port-forward
}

func startTestServer(t *testing.T) *testServer {
	t.Helper()
	// Generous limits: on a loaded 2-core machine under -race a 1s ReadTimeout can expire
	// before the request is read. startTestServerTimeouts tests the short ones.
	return startTestServerTimeouts(t, 10*time.Second)
}

// startTestServerTimeouts starts a server whose read, write and idle timeouts are d: sessions
// must outlive them once hijacked.
func startTestServerTimeouts(t *testing.T, d time.Duration) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{addr: ln.Addr().String(), ln: ln, uploads: map[string]string{}}
	ts.srv = &fasthttp.Server{
		Handler:      ts.handle,
		ReadTimeout:  d,
		WriteTimeout: d,
		IdleTimeout:  d,
	}
	go func() { _ = ts.srv.Serve(ln) }()
	t.Cleanup(func() {
		_ = ts.srv.Shutdown()
		for deadline := time.Now().Add(10 * time.Second); ts.running.Load() > 0; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Error("commands still running after the test")
				break
			}
		}
	})
	return ts
}

func (ts *testServer) upgradeLog() []string {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]string(nil), ts.upgrades...)
}

func queryBool(ctx *fasthttp.RequestCtx, name string) bool {
	v := string(ctx.QueryArgs().Peek(name))
	return v == "true" || v == "1"
}

const testPodJSON = `{"kind":"Pod","apiVersion":"v1","metadata":{"name":"p","namespace":"default","uid":"6b1b4d7e-0000-4000-8000-000000000001","resourceVersion":"7","creationTimestamp":"2024-01-01T00:00:00Z"},` +
	`"spec":{"containers":[{"name":"c","image":"k2d-test/busybox:1"}]},` +
	`"status":{"phase":"Running","containerStatuses":[{"name":"c","ready":true,"restartCount":0,"image":"k2d-test/busybox:1","imageID":"","started":true,"state":{"running":{"startedAt":"2024-01-01T00:00:00Z"}}}]}}`

const testResourcesJSON = `{"kind":"APIResourceList","apiVersion":"v1","groupVersion":"v1","resources":[` +
	`{"name":"pods","singularName":"pod","namespaced":true,"kind":"Pod","verbs":["get","list"],"shortNames":["po"]},` +
	`{"name":"pods/exec","singularName":"","namespaced":true,"kind":"PodExecOptions","verbs":["create","get"]},` +
	`{"name":"pods/attach","singularName":"","namespaced":true,"kind":"PodAttachOptions","verbs":["create","get"]},` +
	`{"name":"pods/portforward","singularName":"","namespaced":true,"kind":"PodPortForwardOptions","verbs":["create","get"]}]}`

func (ts *testServer) handle(ctx *fasthttp.RequestCtx) {
	path := string(ctx.Path())
	json := func(body string) {
		ctx.SetContentType("application/json")
		ctx.SetBodyString(body)
	}
	switch path {
	case "/api":
		json(`{"kind":"APIVersions","versions":["v1"],"serverAddressByClientCIDRs":[{"clientCIDR":"0.0.0.0/0","serverAddress":"` + ts.addr + `"}]}`)
	case "/apis":
		json(`{"kind":"APIGroupList","apiVersion":"v1","groups":[]}`)
	case "/api/v1":
		json(testResourcesJSON)
	case "/api/v1/namespaces/default/pods/p":
		json(testPodJSON)
	case "/api/v1/namespaces/default/pods/p/portforward":
		ts.mu.Lock()
		ts.upgrades = append(ts.upgrades, string(ctx.Request.Header.Peek("Upgrade")))
		refuse := ts.refuseWS
		ts.mu.Unlock()
		if refuse && isWebSocketRequest(&ctx.Request.Header) {
			writeErrorStatus(ctx, fasthttp.StatusBadRequest, "BadRequest", "websocket not supported here")
			return
		}
		ServePortForward(ctx, []uint16{80, 81}, ts.dialTarget)
	case "/api/v1/namespaces/default/pods/p/exec", "/api/v1/namespaces/default/pods/p/attach":
		if !IsUpgrade(ctx) {
			writeErrorStatus(ctx, fasthttp.StatusBadRequest, "BadRequest", "upgrade request required")
			return
		}
		opts := Options{
			Stdin:  queryBool(ctx, "stdin"),
			Stdout: queryBool(ctx, "stdout"),
			Stderr: queryBool(ctx, "stderr"),
			TTY:    queryBool(ctx, "tty"),
		}
		var cmd []string
		for _, c := range ctx.QueryArgs().PeekMulti("command") {
			cmd = append(cmd, string(c))
		}
		if strings.HasSuffix(path, "/attach") {
			cmd = []string{"attach"}
		}
		ts.mu.Lock()
		ts.upgrades = append(ts.upgrades, string(ctx.Request.Header.Peek("Upgrade")))
		ts.lastOpts = opts
		refuse := ts.refuseWS
		ts.mu.Unlock()
		if refuse && isWebSocketRequest(&ctx.Request.Header) {
			writeErrorStatus(ctx, fasthttp.StatusBadRequest, "BadRequest", "websocket not supported here")
			return
		}
		Serve(ctx, opts, func(s *Streams) Result {
			ts.running.Add(1)
			defer ts.running.Add(-1)
			return ts.run(cmd, opts, s)
		})
	default:
		writeErrorStatus(ctx, fasthttp.StatusNotFound, "NotFound", "no route for "+path)
	}
}

// dialTarget stands in for the container's network: port 80 is a line echo server, 81
// refuses connections (82 is not exposed at all).
func (ts *testServer) dialTarget(port uint16) (net.Conn, error) {
	if port != 80 {
		return nil, fmt.Errorf("dial tcp 10.0.0.2:%d: connect: connection refused", port)
	}
	ts.mu.Lock()
	addr := ts.echoAddr
	ts.mu.Unlock()
	return net.Dial("tcp", addr)
}

// startEcho serves "echo: <line>" for each line, and closes once the client half-closes.
func (ts *testServer) startEcho(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ts.mu.Lock()
	ts.echoAddr = ln.Addr().String()
	ts.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				sc := bufio.NewScanner(c)
				sc.Buffer(make([]byte, 1<<20), 1<<20)
				for sc.Scan() {
					if _, err := fmt.Fprintf(c, "echo: %s\n", sc.Text()); err != nil {
						return
					}
				}
			}()
		}
	}()
}

// run interprets a tiny command language standing in for a container.
func (ts *testServer) run(cmd []string, opts Options, s *Streams) Result {
	if len(cmd) == 0 {
		return Result{Err: errors.New("no command")}
	}
	args := cmd[1:]
	if s.Stderr == nil {
		// As a runtime would: without a stderr stream the output goes nowhere.
		s2 := *s
		s2.Stderr = io.Discard
		s = &s2
	}
	switch cmd[0] {
	case "echo":
		fmt.Fprintln(s.Stdout, strings.Join(args, " "))
	case "cat":
		if _, err := io.Copy(s.Stdout, s.Stdin); err != nil {
			return Result{Err: err}
		}
	case "stderr":
		fmt.Fprintln(s.Stderr, strings.Join(args, " "))
		fmt.Fprintln(s.Stdout, "out")
	case "exit":
		code, _ := strconv.Atoi(args[0])
		fmt.Fprintln(s.Stdout, "exiting", code)
		return Result{ExitCode: code}
	case "fail":
		return Result{Err: errors.New("boom")}
	case "sleep":
		d, _ := time.ParseDuration(args[0])
		time.Sleep(d)
		fmt.Fprintln(s.Stdout, "slept")
	case "tty":
		// Answers whether it got a terminal, then the first terminal size.
		fmt.Fprintf(s.Stdout, "tty=%v stderr=%v\r\n", opts.TTY, s.Stderr != io.Discard)
		select {
		case sz, ok := <-s.Resize:
			fmt.Fprintf(s.Stdout, "size=%dx%d ok=%v\r\n", sz.Width, sz.Height, ok)
		case <-time.After(10 * time.Second):
			fmt.Fprint(s.Stdout, "no size\r\n")
		}
	case "resizes":
		// Reports sizes until the resize channel closes (end of session) or stdin ends.
		go func() { _, _ = io.Copy(io.Discard, s.Stdin) }()
		for sz := range s.Resize {
			fmt.Fprintf(s.Stdout, "%dx%d\n", sz.Width, sz.Height)
			if sz.Width == 0 {
				break
			}
		}
	case "attach":
		fmt.Fprintln(s.Stdout, "attached")
	case "tar":
		return ts.tar(args, s)
	default:
		fmt.Fprintf(s.Stderr, "%s: not found\n", cmd[0])
		return Result{ExitCode: 127}
	}
	return Result{}
}

// tar plays the part of tar inside the container for kubectl cp: "x" reads an archive from
// stdin, "c" writes one file whose content names its path.
func (ts *testServer) tar(args []string, s *Streams) Result {
	if len(args) == 0 {
		return Result{ExitCode: 2}
	}
	if strings.Contains(args[0], "x") {
		tr := tar.NewReader(s.Stdin)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				return Result{}
			}
			if err != nil {
				fmt.Fprintln(s.Stderr, "tar:", err)
				return Result{ExitCode: 2}
			}
			b, err := io.ReadAll(tr)
			if err != nil {
				return Result{ExitCode: 2}
			}
			ts.mu.Lock()
			ts.uploads[h.Name] = string(b)
			ts.mu.Unlock()
		}
	}
	src := strings.TrimPrefix(args[len(args)-1], "/")
	tw := tar.NewWriter(s.Stdout)
	body := "content of " + src + "\n"
	if err := tw.WriteHeader(&tar.Header{Name: src, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
		return Result{Err: err}
	}
	if _, err := io.WriteString(tw, body); err != nil {
		return Result{Err: err}
	}
	if err := tw.Close(); err != nil {
		return Result{Err: err}
	}
	return Result{}
}

// bigPayload returns n deterministic bytes that are not all alike.
func bigPayload(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

var _ = bytes.Equal
