package dockerio

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/volume"
)

// hijackHandler answers like the engine's exec start and attach: it takes the connection
// over, sends the status line with early output in the same write, echoes what the client
// writes framed as stdout until the client half-closes, then says goodbye and closes.
func hijackHandler(t *testing.T, upgrade bool, seen chan<- http.Header) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Clone()
		body, _ := io.ReadAll(r.Body)
		h.Set("X-Body", string(body))
		seen <- h
		conn, brw, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		head := "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\n\r\n"
		if upgrade {
			head = "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
		}
		out := AppendFrame([]byte(head), 1, []byte("early;"))
		if _, err := conn.Write(out); err != nil {
			t.Error(err)
			return
		}
		in, _ := io.ReadAll(brw) // until the client's CloseWrite
		out = AppendFrame(nil, 1, in)
		out = AppendFrame(out, 2, []byte("bye"))
		conn.Write(out)
	}
}

func TestHijack(t *testing.T) {
	for _, upgrade := range []bool{true, false} {
		t.Run(fmt.Sprintf("upgrade=%v", upgrade), func(t *testing.T) {
			f := newFake(t)
			seen := make(chan http.Header, 2)
			f.handle("POST /exec/{id}/start", hijackHandler(t, upgrade, seen))
			f.handle("POST /containers/{id}/attach", hijackHandler(t, upgrade, seen))
			c := f.client(t)
			ctx := context.Background()

			hc, err := c.ExecStart(ctx, "e1", true)
			if err != nil {
				t.Fatal(err)
			}
			h := <-seen
			if h.Get("Connection") != "Upgrade" || h.Get("Upgrade") != "tcp" || h.Get("Content-Type") != "application/json" ||
				h.Get("X-Body") != `{"Detach":false,"Tty":true}` {
				t.Fatalf("exec start request headers %v", h)
			}
			if !hc.Multiplexed() {
				t.Fatalf("media type %q", hc.MediaType())
			}
			if _, err := io.WriteString(hc, "hello"); err != nil {
				t.Fatal(err)
			}
			if err := hc.CloseWrite(); err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			if err := Demux(hc, &stdout, &stderr); err != nil {
				t.Fatal(err)
			}
			hc.Close()
			hc.Close() // twice is fine
			if stdout.String() != "early;hello" || stderr.String() != "bye" {
				t.Fatalf("stdout %q stderr %q", stdout.String(), stderr.String())
			}

			hc, err = c.ContainerAttach(ctx, "c1", AttachOptions{Stdin: true, Stdout: true, Stderr: true, Stream: true})
			if err != nil {
				t.Fatal(err)
			}
			defer hc.Close()
			<-seen
			if q := f.last().Query; q != "stream=1&stdin=1&stdout=1&stderr=1&logs=0" {
				t.Fatalf("attach query %q", q)
			}
			hc.CloseWrite()
			stdout.Reset()
			if err := Demux(hc, &stdout, nil); err != nil || stdout.String() != "early;" {
				t.Fatalf("attach: %q %v", stdout.String(), err)
			}
		})
	}
}

func TestHijackErrors(t *testing.T) {
	f := newFake(t)
	f.handle("POST /exec/{id}/start", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") == "gone" {
			writeMessage(w, 404, "No such exec instance: gone")
			return
		}
		writeMessage(w, 409, "Container abc is not running")
	})
	c := f.client(t)
	if _, err := c.ExecStart(context.Background(), "gone", false); !IsNotFound(err) || !strings.Contains(err.Error(), "No such exec instance") {
		t.Fatal(err)
	}
	if _, err := c.ExecStart(context.Background(), "x", false); !IsConflict(err) {
		t.Fatal(err)
	}
}

func TestLogsFollowAndCancel(t *testing.T) {
	f := newFake(t)
	handlerDone := make(chan struct{})
	var gotQuery url.Values
	f.handle("GET /containers/{id}/logs", func(w http.ResponseWriter, r *http.Request) {
		gotQuery = r.URL.Query()
		if r.PathValue("id") == "missing" {
			writeMessage(w, 404, "No such container: missing")
			return
		}
		if r.URL.Query().Get("follow") != "1" {
			// A finished log with a known length.
			b := AppendFrame(nil, 1, []byte("one\n"))
			b = AppendFrame(b, 2, []byte("two\n"))
			w.Header().Set("Content-Length", fmt.Sprint(len(b)))
			w.Write(b)
			return
		}
		defer close(handlerDone)
		w.WriteHeader(200)
		w.Write(AppendFrame(nil, 1, []byte("line1\n")))
		w.(http.Flusher).Flush() // chunked from here
		w.Write(AppendFrame(nil, 2, []byte("oops\n")))
		w.(http.Flusher).Flush()
		<-r.Context().Done() // the client must close the connection
	})
	c := f.client(t)

	rc, err := c.ContainerLogs(context.Background(), "done", LogsOptions{Stdout: true, Tail: "5"})
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if err := Demux(rc, &stdout, &stderr); err != nil || stdout.String() != "one\n" || stderr.String() != "two\n" {
		t.Fatalf("%q %q %v", stdout.String(), stderr.String(), err)
	}
	rc.Close()
	if gotQuery.Get("stdout") != "1" || gotQuery.Get("stderr") != "0" || gotQuery.Get("tail") != "5" {
		t.Fatalf("query %v", gotQuery)
	}

	if _, err := c.ContainerLogs(context.Background(), "missing", LogsOptions{}); !IsNotFound(err) {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	rc, err = c.ContainerLogs(ctx, "live", LogsOptions{Follow: true, Timestamps: true, Since: "2023-11-14T22:13:20Z"})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if gotQuery.Get("since") != "1700000000.000000000" || gotQuery.Get("timestamps") != "1" ||
		gotQuery.Get("stdout") != "1" || gotQuery.Get("stderr") != "1" {
		t.Fatalf("query %v", gotQuery)
	}
	pr, pw := io.Pipe()
	demuxErr := make(chan error, 1)
	go func() { demuxErr <- Demux(rc, pw, pw) }()
	br := bufio.NewReader(pr)
	for _, want := range []string{"line1\n", "oops\n"} {
		if line, err := br.ReadString('\n'); err != nil || line != want {
			t.Fatalf("got %q %v, want %q", line, err, want)
		}
	}
	cancel()
	select {
	case err := <-demuxErr:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Demux after cancel: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("cancel did not end the stream")
	}
	select {
	case <-handlerDone:
	case <-time.After(2 * time.Second):
		t.Fatal("cancel did not close the connection")
	}
}

func TestStreamCloseAbortsRead(t *testing.T) {
	f := newFake(t)
	f.handle("GET /containers/{id}/logs", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	c := f.client(t)
	rc, err := c.ContainerLogs(context.Background(), "x", LogsOptions{Follow: true})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := rc.Read(make([]byte, 10)); done <- err }()
	time.Sleep(20 * time.Millisecond)
	rc.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("Read after Close returned no error")
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Close did not abort Read")
	}
}

func TestEvents(t *testing.T) {
	f := newFake(t)
	var gotQuery url.Values
	f.handle("GET /events", func(w http.ResponseWriter, r *http.Request) {
		gotQuery = r.URL.Query()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		enc := json.NewEncoder(w)
		for _, a := range []string{"start", "die"} {
			enc.Encode(map[string]any{"status": a, "id": "c1", "Type": "container", "Action": a,
				"Actor": map[string]any{"ID": "c1", "Attributes": map[string]string{"name": "web", "exitCode": "0"}},
				"scope": "local", "time": 1700000000, "timeNano": int64(1700000000000000001)})
			w.(http.Flusher).Flush()
		}
		if r.URL.Query().Get("since") == "" {
			<-r.Context().Done() // a live stream: only the client ends it
		}
	})
	c := f.client(t)

	// A stream the engine ends.
	msgs, errc := c.EventsFiltered(context.Background(), "1700000000", Filters{"type": {"container"}})
	var got []string
	for m := range msgs {
		got = append(got, string(m.Action)+"/"+m.Actor.ID+"/"+m.Actor.Attributes["name"])
		if m.TimeNano != 1700000000000000001 {
			t.Fatalf("TimeNano %d", m.TimeNano)
		}
	}
	if err := <-errc; err != io.EOF {
		t.Fatalf("end: %v", err)
	}
	if strings.Join(got, ",") != "start/c1/web,die/c1/web" {
		t.Fatal(got)
	}
	if gotQuery.Get("since") != "1700000000" || !strings.Contains(gotQuery.Get("filters"), `"type":{"container":true}`) {
		t.Fatalf("query %v", gotQuery)
	}

	// A live stream ended by ctx.
	ctx, cancel := context.WithCancel(context.Background())
	msgs, errc = c.Events(ctx, "")
	<-msgs
	<-msgs
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("end: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("cancel did not end the event stream")
	}
	if _, ok := <-msgs; ok {
		t.Fatal("message channel not closed")
	}

	// A stream that cannot start.
	bad, err := New("unix://" + f.sock + ".nope")
	if err != nil {
		t.Fatal(err)
	}
	msgs, errc = bad.Events(context.Background(), "")
	if err := <-errc; err == nil {
		t.Fatal("want dial error")
	}
	if _, ok := <-msgs; ok {
		t.Fatal("message channel not closed")
	}
}

func TestImagePull(t *testing.T) {
	f := newFake(t)
	f.handle("POST /images/create", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("fromImage") == "private/app" {
			writeMessage(w, 404, "pull access denied for private/app, repository does not exist or may require 'docker login'")
			return
		}
		if r.Header.Get("X-Registry-Auth") != "e30=" {
			writeMessage(w, 400, "auth")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(200)
		fmt.Fprintf(w, "{\"status\":\"Pulling from library/%s\",\"id\":\"%s\"}\r\n", q.Get("fromImage"), q.Get("tag"))
		w.(http.Flusher).Flush()
		io.WriteString(w, "{\"status\":\"Downloading\",\"progressDetail\":{\"current\":512,\"total\":1024},\"progress\":\"[=>  ]\",\"id\":\"abc\"}\r\n\r\n")
		w.(http.Flusher).Flush()
		if q.Get("tag") == "broken" {
			io.WriteString(w, "{\"errorDetail\":{\"message\":\"unexpected EOF\"},\"error\":\"unexpected EOF\"}\r\n")
			return
		}
		io.WriteString(w, "{\"status\":\"Status: Downloaded newer image for busybox:1.36\"}")
	})
	c := f.client(t)
	ctx := context.Background()
	var msgs []JSONMessage
	if err := c.ImagePull(ctx, "busybox:1.36", "e30=", func(m JSONMessage) { msgs = append(msgs, m) }); err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 3 || msgs[0].Status != "Pulling from library/busybox" || msgs[0].ID != "1.36" ||
		msgs[1].ProgressDetail.Current != 512 || msgs[1].ProgressDetail.Total != 1024 {
		t.Fatalf("%+v", msgs)
	}
	err := c.ImagePull(ctx, "busybox:broken", "e30=", nil)
	var de *Error
	if !errors.As(err, &de) || de.Message != "unexpected EOF" {
		t.Fatalf("broken: %v", err)
	}
	if err := c.ImagePull(ctx, "private/app", "", nil); !IsNotFound(err) {
		t.Fatalf("private: %v", err)
	}
}

func TestImageImport(t *testing.T) {
	for _, podmanIgnoresTag := range []bool{false, true} {
		t.Run(fmt.Sprintf("podmanIgnoresTag=%v", podmanIgnoresTag), func(t *testing.T) {
			f := newFake(t)
			data := make([]byte, 100<<10+7) // several upload chunks
			rand.Read(data)
			var got []byte
			var q url.Values
			var ctype, te string
			tagged := ""
			f.handle("POST /images/create", func(w http.ResponseWriter, r *http.Request) {
				q = r.URL.Query()
				ctype = r.Header.Get("Content-Type")
				te = strings.Join(r.TransferEncoding, ",")
				got, _ = io.ReadAll(r.Body)
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, "{\"status\":\"sha256:0123\"}\r\n")
			})
			f.handle("/images/", func(w http.ResponseWriter, r *http.Request) {
				switch {
				case r.Method == "GET" && strings.HasSuffix(r.URL.Path, "/json"):
					if podmanIgnoresTag && tagged == "" {
						writeMessage(w, 404, "No such image")
						return
					}
					writeJSON(w, 200, map[string]any{"Id": "sha256:0123"})
				case r.Method == "POST" && r.URL.Path == "/images/sha256:0123/tag":
					tagged = r.URL.RawQuery
					w.WriteHeader(201)
				default:
					writeMessage(w, 400, r.Method+" "+r.URL.Path)
				}
			})
			c := f.client(t)
			err := c.ImageImport(context.Background(), bytes.NewReader(data), "k2d/sandbox", "v1", []string{`CMD ["/k2d","pause"]`, "ENV A=b"})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, data) || te != "chunked" || ctype != "application/x-tar" {
				t.Fatalf("body %d bytes (want %d), TE %q, CT %q", len(got), len(data), te, ctype)
			}
			if q.Get("fromSrc") != "-" || q.Get("repo") != "k2d/sandbox" || q.Get("tag") != "v1" ||
				!reflect.DeepEqual(q["changes"], []string{`CMD ["/k2d","pause"]`, "ENV A=b"}) {
				t.Fatalf("query %v", q)
			}
			if podmanIgnoresTag != (tagged == "repo=k2d%2Fsandbox&tag=v1") {
				t.Fatalf("tagged %q", tagged)
			}
		})
	}
}

func TestImportUploadError(t *testing.T) {
	f := newFake(t)
	f.handle("POST /images/create", func(w http.ResponseWriter, r *http.Request) {
		writeMessage(w, 500, "archive/tar: invalid tar header")
	})
	c := f.client(t)
	err := c.ImageImport(context.Background(), io.LimitReader(rand.Reader, 64<<10), "x", "y", nil)
	if StatusCode(err) != 500 || !strings.Contains(err.Error(), "invalid tar header") {
		t.Fatalf("got %v", err)
	}
	// A failing source ends the upload at once, without waiting for an answer the engine
	// cannot give before the body is complete.
	srcErr := errors.New("disk on fire")
	err = c.ImageImport(context.Background(), io.MultiReader(strings.NewReader("abc"), &errReader{srcErr}), "x", "y", nil)
	if !errors.Is(err, srcErr) {
		t.Fatalf("got %v", err)
	}
}

type errReader struct{ err error }

func (r *errReader) Read([]byte) (int, error) { return 0, r.err }

func TestContainerWait(t *testing.T) {
	f := newFake(t)
	f.handle("POST /containers/{id}/wait", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(200)
		w.(http.Flusher).Flush() // Docker sends the header at once, the body at exit
		switch r.PathValue("id") {
		case "slow":
			<-r.Context().Done()
		case "bad":
			io.WriteString(w, `{"StatusCode":-1,"Error":{"Message":"container removed"}}`)
		default:
			if r.URL.Query().Get("condition") != "next-exit" {
				io.WriteString(w, `{"StatusCode":99}`)
				return
			}
			io.WriteString(w, `{"StatusCode":3,"Error":null}`)
		}
	})
	c := f.client(t)
	code, err := c.ContainerWait(context.Background(), "c1", "next-exit")
	if err != nil || code != 3 {
		t.Fatal(code, err)
	}
	if _, err := c.ContainerWait(context.Background(), "bad", ""); err == nil || !strings.Contains(err.Error(), "container removed") {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.ContainerWait(ctx, "slow", ""); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatal(err)
	}
}

func TestExecAndVolumeRoundTrip(t *testing.T) {
	f := newFake(t)
	f.handle("POST /containers/{id}/exec", func(w http.ResponseWriter, r *http.Request) {
		var o container.ExecOptions
		json.NewDecoder(r.Body).Decode(&o)
		if !o.AttachStdin || !o.Tty || o.Cmd[0] != "sh" {
			writeMessage(w, 400, "bad exec")
			return
		}
		writeJSON(w, 201, map[string]string{"Id": "exec1"})
	})
	f.handle("GET /exec/{id}/json", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"ID": r.PathValue("id"), "Running": false, "ExitCode": 7, "ContainerID": "c1", "Pid": 0})
	})
	f.handle("POST /exec/{id}/resize", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.RawQuery != "h=24&w=80" {
			writeMessage(w, 400, r.URL.RawQuery)
			return
		}
		w.WriteHeader(201)
	})
	f.handle("POST /volumes/create", func(w http.ResponseWriter, r *http.Request) {
		var o map[string]any
		json.NewDecoder(r.Body).Decode(&o)
		writeJSON(w, 201, map[string]any{"Name": o["Name"], "Driver": "local", "Mountpoint": "/var/lib/docker/volumes/x/_data", "Labels": o["Labels"], "Scope": "local"})
	})
	f.handle("DELETE /volumes/{name}", func(w http.ResponseWriter, r *http.Request) {
		writeMessage(w, 409, "remove x: volume is in use")
	})
	c := f.client(t)
	ctx := context.Background()
	id, err := c.ExecCreate(ctx, "c1", container.ExecOptions{Cmd: []string{"sh"}, Tty: true, AttachStdin: true, AttachStdout: true})
	if err != nil || id != "exec1" {
		t.Fatal(id, err)
	}
	if err := c.ExecResize(ctx, id, 24, 80); err != nil {
		t.Fatal(err)
	}
	ei, err := c.ExecInspect(ctx, id)
	if err != nil || ei.ExitCode != 7 || ei.Running || ei.ExecID != "exec1" {
		t.Fatalf("%+v %v", ei, err)
	}
	v, err := c.VolumeCreate(ctx, volume.CreateOptions{Name: "x", Labels: map[string]string{"a": "b"}})
	if err != nil || v.Name != "x" || v.Labels["a"] != "b" {
		t.Fatalf("%+v %v", v, err)
	}
	if err := c.VolumeRemove(ctx, "x", false); !IsConflict(err) {
		t.Fatal(err)
	}
}
