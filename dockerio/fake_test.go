package dockerio

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"
)

// fakeEngine is an in-process HTTP server on a unix socket that stands in for the engine in
// unit tests of the client. Handlers are registered on unversioned paths; the version prefix
// of each request is recorded and stripped.
type fakeEngine struct {
	sock string
	mux  *http.ServeMux
	srv  *http.Server

	mu       sync.Mutex
	requests []fakeRequest
}

type fakeRequest struct {
	Method, Path, RawPath, Query string
	Version                      string // "1.41" or "" when unversioned
	Header                       http.Header
}

var versionPrefix = regexp.MustCompile(`^/v([0-9]+\.[0-9]+)(/.*)$`)

func newFake(t testing.TB) *fakeEngine {
	t.Helper()
	// A short directory: unix socket paths are limited to 108 bytes and t.TempDir() embeds
	// the test name.
	dir, err := os.MkdirTemp("", "dio")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	f := &fakeEngine{sock: filepath.Join(dir, "d.sock"), mux: http.NewServeMux()}
	ln, err := net.Listen("unix", f.sock)
	if err != nil {
		t.Fatal(err)
	}
	f.srv = &http.Server{Handler: http.HandlerFunc(f.serve)}
	go f.srv.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		f.srv.Shutdown(ctx)
		f.srv.Close()
	})
	return f
}

func (f *fakeEngine) serve(w http.ResponseWriter, r *http.Request) {
	rec := fakeRequest{Method: r.Method, Path: r.URL.Path, RawPath: r.URL.EscapedPath(), Query: r.URL.RawQuery, Header: r.Header.Clone()}
	if m := versionPrefix.FindStringSubmatch(r.URL.Path); m != nil {
		rec.Version = m[1]
		r.URL.Path = m[2]
		r.URL.RawPath = ""
	}
	rec.Path = r.URL.Path
	f.mu.Lock()
	f.requests = append(f.requests, rec)
	f.mu.Unlock()
	f.mux.ServeHTTP(w, r)
}

func (f *fakeEngine) handle(pattern string, h http.HandlerFunc) { f.mux.HandleFunc(pattern, h) }

func (f *fakeEngine) last() fakeRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.requests) == 0 {
		return fakeRequest{}
	}
	return f.requests[len(f.requests)-1]
}

func (f *fakeEngine) client(t testing.TB) *Client {
	t.Helper()
	c, err := New("unix://" + f.sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func writeMessage(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"message": msg})
}
