package reconcile

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// hostPort splits a test server's address.
func hostPort(t *testing.T, addr string) (string, int) {
	t.Helper()
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(p)
	return h, n
}

// closedPort returns a local port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, p := hostPort(t, l.Addr().String())
	l.Close()
	return p
}

func TestHTTPProbe(t *testing.T) {
	var mu sync.Mutex
	var seen []*http.Request
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r)
		mu.Unlock()
		fmt.Fprint(w, "fine")
	})
	mux.HandleFunc("/fail", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(500)
		fmt.Fprint(w, "secret stack trace")
	})
	mux.HandleFunc("/here", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/ok", http.StatusFound) })
	mux.HandleFunc("/elsewhere", func(w http.ResponseWriter, r *http.Request) {
		u := *r.URL
		u.Scheme, u.Host, u.Path = "http", "localhost:"+strings.Split(r.Host, ":")[1], "/ok"
		w.Header().Set("Location", u.String())
		w.WriteHeader(http.StatusMovedPermanently)
		fmt.Fprint(w, "moved")
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop", http.StatusTemporaryRedirect)
	})
	mux.HandleFunc("/hangup", func(w http.ResponseWriter, r *http.Request) {
		c, _, _ := w.(http.Hijacker).Hijack()
		c.Close()
	})
	mux.HandleFunc("/chunked", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", "http://localhost:1/")
		w.WriteHeader(http.StatusFound)
		for i := 0; i < 3; i++ {
			fmt.Fprintf(w, "part%d;", i)
			w.(http.Flusher).Flush()
		}
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(3 * time.Second):
		case <-r.Context().Done():
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	tls := httptest.NewTLSServer(mux)
	defer tls.Close()
	host, port := hostPort(t, srv.Listener.Addr().String())
	_, tlsPort := hostPort(t, tls.Listener.Addr().String())
	refused := closedPort(t)
	ctr := &corev1.Container{Name: "app", Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: int32(port)}}}

	get := func(path string, p intstr.IntOrString) *corev1.HTTPGetAction {
		return &corev1.HTTPGetAction{Path: path, Port: p}
	}
	for _, tc := range []struct {
		name    string
		action  *corev1.HTTPGetAction
		podIP   string
		timeout time.Duration
		result  probeResult
		output  string // exact, or a prefix when it ends with "*"
	}{
		{"200 by port number", get("/ok", intstr.FromInt(port)), host, time.Second, probeSuccess, "fine"},
		{"200 by port name", get("/ok", intstr.FromString("http")), host, time.Second, probeSuccess, "fine"},
		{"500 fails without the body", get("/fail", intstr.FromInt(port)), host, time.Second, probeFailure, "HTTP probe failed with statuscode: 500"},
		{"404", get("/missing", intstr.FromInt(port)), host, time.Second, probeFailure, "HTTP probe failed with statuscode: 404"},
		{"redirect on the same host is followed", get("/here", intstr.FromInt(port)), host, time.Second, probeSuccess, "fine"},
		{"redirect to another host is a warning", get("/elsewhere", intstr.FromInt(port)), host, time.Second, probeWarning, "Probe terminated redirects, Response body: moved"},
		{"https without verification", &corev1.HTTPGetAction{Path: "/ok", Port: intstr.FromInt(tlsPort), Scheme: corev1.URISchemeHTTPS}, host, time.Second, probeSuccess, "fine"},
		{"connection refused", get("/ok", intstr.FromInt(refused)), host, time.Second, probeFailure,
			fmt.Sprintf(`Get "http://127.0.0.1:%d/ok": dial tcp 127.0.0.1:%d: connect: connection refused`, refused, refused)},
		{"timeout", get("/slow", intstr.FromInt(port)), host, 300 * time.Millisecond, probeFailure,
			fmt.Sprintf(`Get "http://127.0.0.1:%d/slow": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`, port)},
		{"redirect loop", get("/loop", intstr.FromInt(port)), host, time.Second, probeFailure,
			fmt.Sprintf(`Get "http://127.0.0.1:%d/loop": stopped after 10 redirects`, port)},
		{"connection closed without a response", get("/hangup", intstr.FromInt(port)), host, time.Second, probeFailure,
			fmt.Sprintf(`Get "http://127.0.0.1:%d/hangup": EOF`, port)},
		{"chunked body, decoded", get("/chunked", intstr.FromInt(port)), host, time.Second, probeWarning,
			"Probe terminated redirects, Response body: part0;part1;part2;"},
		{"unknown port name", get("/ok", intstr.FromString("metrics")), host, time.Second, probeError, `strconv.Atoi: parsing "metrics": invalid syntax`},
		{"port out of range", get("/ok", intstr.FromInt(0)), host, time.Second, probeError, "invalid port number: 0"},
		{"no pod IP yet", get("/ok", intstr.FromInt(port)), "", time.Second, probeError, "the pod has no IP address yet"},
		{"host overrides the pod IP", &corev1.HTTPGetAction{Path: "/ok", Port: intstr.FromInt(port), Host: "127.0.0.1"}, "192.0.2.200", time.Second, probeSuccess, "fine"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := httpProbe(context.Background(), tc.action, ctr, tc.podIP, tc.timeout, "kube-probe/1.32")
			if got.result != tc.result || got.output != tc.output {
				t.Errorf("got %d %q, want %d %q", got.result, got.output, tc.result, tc.output)
			}
		})
	}

	// Headers: the kubelet's defaults, the probe's own, and the Host header.
	mu.Lock()
	seen = nil
	mu.Unlock()
	action := get("/ok", intstr.FromInt(port))
	action.HTTPHeaders = []corev1.HTTPHeader{{Name: "X-Probe", Value: "a"}, {Name: "X-Probe", Value: "b"}, {Name: "Host", Value: "web.example"}}
	if got := httpProbe(context.Background(), action, ctr, host, time.Second, "kube-probe/1.32"); got.result != probeSuccess {
		t.Fatalf("probe with headers: %+v", got)
	}
	action.HTTPHeaders = []corev1.HTTPHeader{{Name: "User-Agent", Value: "mine"}, {Name: "Accept", Value: ""}}
	if got := httpProbe(context.Background(), action, ctr, host, time.Second, "kube-probe/1.32"); got.result != probeSuccess {
		t.Fatalf("probe with overrides: %+v", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 2 {
		t.Fatalf("server saw %d requests", len(seen))
	}
	r := seen[0]
	if r.UserAgent() != "kube-probe/1.32" || r.Header.Get("Accept") != "*/*" || r.Host != "web.example" ||
		strings.Join(r.Header.Values("X-Probe"), ",") != "a,b" || r.Method != http.MethodGet {
		t.Errorf("request: %s Host=%s headers %v", r.Method, r.Host, r.Header)
	}
	if r.Header.Get("Connection") != "close" && !r.Close {
		t.Errorf("probe connections must not be kept alive: %v", r.Header)
	}
	r = seen[1]
	if r.UserAgent() != "mine" || r.Header.Values("Accept") != nil || r.Host != host+":"+strconv.Itoa(port) {
		t.Errorf("overridden request: Host=%s headers %v", r.Host, r.Header)
	}
}

func TestHTTPProbeBodyLimit(t *testing.T) {
	big := strings.Repeat("x", 3*probeOutputLimit)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/away" {
			w.Header().Set("Location", "http://localhost:1/")
			w.WriteHeader(http.StatusFound)
		}
		io.WriteString(w, big)
	}))
	defer srv.Close()
	host, port := hostPort(t, srv.Listener.Addr().String())
	ctr := &corev1.Container{Name: "app"}
	got := httpProbe(context.Background(), &corev1.HTTPGetAction{Path: "/away", Port: intstr.FromInt(port)}, ctr, host, time.Second, "kube-probe/1.32")
	want := "Probe terminated redirects, Response body: " + big[:probeOutputLimit]
	if got.result != probeWarning || got.output != want {
		t.Errorf("got %d with %d bytes of output, want a warning with the body cut at %d", got.result, len(got.output), probeOutputLimit)
	}
}

func TestTCPProbe(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	host, port := hostPort(t, l.Addr().String())
	refused := closedPort(t)
	ctr := &corev1.Container{Name: "app", Ports: []corev1.ContainerPort{{Name: "redis", ContainerPort: int32(port)}}}
	for _, tc := range []struct {
		name   string
		port   intstr.IntOrString
		host   string
		result probeResult
		output string
	}{
		{"open", intstr.FromInt(port), "", probeSuccess, ""},
		{"open by name", intstr.FromString("redis"), "", probeSuccess, ""},
		{"refused", intstr.FromInt(refused), "", probeFailure, fmt.Sprintf("dial tcp 127.0.0.1:%d: connect: connection refused", refused)},
		{"host overrides the pod IP", intstr.FromInt(port), "127.0.0.1", probeSuccess, ""},
		{"unknown name", intstr.FromString("nope"), "", probeError, `strconv.Atoi: parsing "nope": invalid syntax`},
		{"number as a string", intstr.FromString(strconv.Itoa(port)), "", probeSuccess, ""},
	} {
		podIP := host
		if tc.host != "" {
			podIP = "192.0.2.200"
		}
		got := tcpProbe(context.Background(), &corev1.TCPSocketAction{Port: tc.port, Host: tc.host}, ctr, podIP, time.Second)
		if got.result != tc.result || got.output != tc.output {
			t.Errorf("%s: got %d %q, want %d %q", tc.name, got.result, got.output, tc.result, tc.output)
		}
	}
	if got := tcpProbe(context.Background(), &corev1.TCPSocketAction{Port: intstr.FromInt(port)}, ctr, "", time.Second); got.result != probeError {
		t.Errorf("no pod IP: %+v", got)
	}
}
