// Command load is `make bench-load`: it starts the real k2d binary against the real Docker
// engine and runs one bounded scenario (under three minutes), printing one table:
//
//   - GET of a pod and LIST of 100 pods (JSON and Table): requests/s, p50 and p99 at
//     concurrency 1 and 16, over TLS with keep-alive connections;
//   - watch fan-out: the time from a write until each of 100 watchers has the event;
//   - `kubectl apply` of a pod until it is Running, as a ratio to `docker run -d` of the same
//     image measured in the same run;
//   - CPU time over 60 s idle, with no watches and with 10 open watches (as informers open them,
//     with bookmarks), and the bytes written to the data dir meanwhile;
//   - RSS idle and with 100 pods.
//
// bench/README.md explains the method; bench/RESULTS.md holds a committed run.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/k2d-project/k2d/bench/internal/procfs"
)

func main() {
	var (
		bin     = flag.String("k2d", "bin/k2d", "k2d binary")
		kubectl = flag.String("kubectl", "kubectl", "kubectl binary")
		image   = flag.String("image", "k2d-test/busybox:1", "local image the pods run")
		pods    = flag.Int("pods", 100, "pods in the LIST and RSS figures")
		dur     = flag.Duration("duration", 1500*time.Millisecond, "length of each request run")
		idle    = flag.Duration("idle", 60*time.Second, "length of each idle window")
	)
	flag.Parse()
	s := &scenario{bin: *bin, kubectl: *kubectl, image: *image, pods: *pods, dur: *dur, idle: *idle}
	if err := s.run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench-load:", err)
		s.cleanup()
		os.Exit(1)
	}
	s.cleanup()
	s.print()
}

type row struct{ what, value string }

type scenario struct {
	bin, kubectl, image string
	pods                int
	dur, idle           time.Duration

	cmd    *exec.Cmd
	data   string
	port   int
	token  string
	client *http.Client
	rows   []row
	start  time.Time
}

func (s *scenario) add(what, format string, a ...any) {
	s.rows = append(s.rows, row{what, fmt.Sprintf(format, a...)})
	fmt.Fprintf(os.Stderr, "bench-load: %s: %s\n", what, fmt.Sprintf(format, a...))
}

const ns = "bench-load"

func (s *scenario) run() error {
	s.start = time.Now()
	if err := s.startK2D(); err != nil {
		return err
	}
	rss, _ := procfs.Mem(s.cmd.Process.Pid)
	s.add("RSS idle, no objects", "%.1f MiB", float64(rss)/(1<<20))

	if _, code, err := s.do("POST", "/api/v1/namespaces", `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"`+ns+`"}}`); err != nil || code != 201 {
		return fmt.Errorf("create namespace: %d %v", code, err)
	}
	t0 := time.Now()
	for i := 0; i < s.pods; i++ {
		body := fmt.Sprintf(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p%03d","labels":{"app":"load"}},"spec":{"terminationGracePeriodSeconds":0,"containers":[{"name":"c","image":%q,"imagePullPolicy":"Never","command":["sleep","3600"]}]}}`, i, s.image)
		if b, code, err := s.do("POST", "/api/v1/namespaces/"+ns+"/pods", body); err != nil || code != 201 {
			return fmt.Errorf("create pod: %d %v %s", code, err, b)
		}
	}
	if err := s.waitRunning(s.pods, 3*time.Minute); err != nil {
		return err
	}
	s.add(fmt.Sprintf("%d pods created and Running", s.pods), "%.1f s", time.Since(t0).Seconds())
	time.Sleep(2 * time.Second)
	rss, _ = procfs.Mem(s.cmd.Process.Pid)
	s.add(fmt.Sprintf("RSS with %d pods", s.pods), "%.1f MiB", float64(rss)/(1<<20))

	const tableAccept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
	for _, r := range []struct{ name, path, accept string }{
		{"GET pod", "/api/v1/namespaces/" + ns + "/pods/p042", "application/json"},
		{fmt.Sprintf("LIST %d pods (JSON)", s.pods), "/api/v1/namespaces/" + ns + "/pods", "application/json"},
		{fmt.Sprintf("LIST %d pods (Table)", s.pods), "/api/v1/namespaces/" + ns + "/pods", tableAccept},
	} {
		for _, c := range []int{1, 16} {
			rps, p50, p99, err := s.load(r.path, r.accept, c)
			if err != nil {
				return err
			}
			s.add(fmt.Sprintf("%s, concurrency %d", r.name, c), "%.0f req/s, p50 %s, p99 %s", rps, p50, p99)
		}
	}

	if err := s.fanout(100); err != nil {
		return err
	}
	if err := s.applyVsDocker(3); err != nil {
		return err
	}

	// Idle: no pods changing, no API requests.
	if _, code, err := s.do("DELETE", "/api/v1/namespaces/"+ns+"/pods?gracePeriodSeconds=0", ""); err != nil || code != 200 {
		return fmt.Errorf("delete pods: %d %v", code, err)
	}
	if err := s.waitCount(0, 2*time.Minute); err != nil {
		return err
	}
	s.client.CloseIdleConnections()
	// Let the removals of the pods' containers, their Docker events and the runtime's return of
	// the freed heap to the OS finish: the window measures a k2d with nothing to do.
	time.Sleep(15 * time.Second)
	cpu, written := s.idleWindow()
	s.add(fmt.Sprintf("CPU over %s idle, no watches", s.idle), "%.2f ms (%d ticks), disk writes %d B", float64(cpu)/1e6, int64(cpu)/procfs.TickNanos, written)
	stop := s.openWatches(10)
	cpu, written = s.idleWindow()
	stop()
	s.add(fmt.Sprintf("CPU over %s idle, 10 watches (bookmarks on)", s.idle), "%.2f ms (%d ticks), disk writes %d B", float64(cpu)/1e6, int64(cpu)/procfs.TickNanos, written)
	s.add("scenario duration", "%.0f s", time.Since(s.start).Seconds())
	return nil
}

func (s *scenario) startK2D() error {
	var err error
	if s.data, err = os.MkdirTemp("", "k2d-bench-load"); err != nil {
		return err
	}
	if s.port, err = freePort(); err != nil {
		return err
	}
	log, err := os.Create(filepath.Join(s.data, "k2d.log"))
	if err != nil {
		return err
	}
	s.cmd = exec.Command(s.bin, "serve")
	s.cmd.Env = append(os.Environ(), "K2D_DATA_PATH="+filepath.Join(s.data, "state"), "K2D_PORT="+strconv.Itoa(s.port), "K2D_LOG_LEVEL=warn")
	s.cmd.Stdout, s.cmd.Stderr = io.Discard, log
	if err := s.cmd.Start(); err != nil {
		return err
	}
	s.client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64,
	}}
	err = poll(2*time.Minute, func() error {
		resp, err := s.client.Get(s.url("/readyz"))
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("/readyz %d", resp.StatusCode)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("k2d did not become ready: %w", err)
	}
	b, err := os.ReadFile(filepath.Join(s.data, "state", "token"))
	s.token = strings.TrimSpace(string(b))
	time.Sleep(2 * time.Second)
	return err
}

func (s *scenario) url(p string) string { return "https://127.0.0.1:" + strconv.Itoa(s.port) + p }

func (s *scenario) do(method, p, body string) ([]byte, int, error) {
	return s.doAccept(method, p, body, "application/json")
}

func (s *scenario) doAccept(method, p, body, accept string) ([]byte, int, error) {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.url(p), r)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Accept", accept)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return b, resp.StatusCode, err
}

// load runs GETs of p from c goroutines for s.dur and returns requests/s and latency quantiles.
func (s *scenario) load(p, accept string, c int) (float64, time.Duration, time.Duration, error) {
	var mu sync.Mutex
	var lat []time.Duration
	var failed atomic.Value
	deadline := time.Now().Add(s.dur)
	var wg sync.WaitGroup
	t0 := time.Now()
	for i := 0; i < c; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for time.Now().Before(deadline) {
				t := time.Now()
				_, code, err := s.doAccept("GET", p, "", accept)
				if err != nil || code != 200 {
					failed.Store(fmt.Errorf("GET %s: %d %v", p, code, err))
					return
				}
				mine = append(mine, time.Since(t))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		return 0, 0, 0, err
	}
	elapsed := time.Since(t0)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	q := func(f float64) time.Duration { return lat[int(f*float64(len(lat)-1))].Round(10 * time.Microsecond) }
	return float64(len(lat)) / elapsed.Seconds(), q(0.5), q(0.99), nil
}

// fanout opens n watches, changes one pod and measures when each watcher has the change.
func (s *scenario) fanout(n int) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rv := ""
	b, _, err := s.do("GET", "/api/v1/namespaces/"+ns+"/pods?limit=1", "")
	if err != nil {
		return err
	}
	var list struct {
		Metadata struct{ ResourceVersion string } `json:"metadata"`
	}
	json.Unmarshal(b, &list)
	rv = list.Metadata.ResourceVersion
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, MaxConnsPerHost: 0, MaxIdleConnsPerHost: n}
	defer tr.CloseIdleConnections()
	wc := &http.Client{Transport: tr}
	got := make(chan time.Time, n)
	var ready sync.WaitGroup
	for i := 0; i < n; i++ {
		ready.Add(1)
		go func() {
			req, _ := http.NewRequestWithContext(ctx, "GET", s.url("/api/v1/namespaces/"+ns+"/pods?watch=true&resourceVersion="+rv+"&fieldSelector=metadata.name%3Dp007"), nil)
			req.Header.Set("Authorization", "Bearer "+s.token)
			resp, err := wc.Do(req)
			ready.Done()
			if err != nil {
				return
			}
			defer resp.Body.Close()
			sc := bufio.NewScanner(resp.Body)
			sc.Buffer(make([]byte, 64<<10), 4<<20)
			for sc.Scan() {
				if bytes.Contains(sc.Bytes(), []byte(`"fanout":"yes"`)) {
					got <- time.Now()
					return
				}
			}
		}()
	}
	ready.Wait()
	time.Sleep(time.Second) // let every watch reach the server's loop
	t0 := time.Now()
	if b, code, err := s.doPatch("/api/v1/namespaces/"+ns+"/pods/p007", `{"metadata":{"labels":{"fanout":"yes"}}}`); err != nil || code != 200 {
		return fmt.Errorf("patch: %d %v %s", code, err, b)
	}
	var lat []time.Duration
	timeout := time.After(30 * time.Second)
	for len(lat) < n {
		select {
		case t := <-got:
			lat = append(lat, t.Sub(t0))
		case <-timeout:
			return fmt.Errorf("watch fan-out: only %d of %d watchers saw the change", len(lat), n)
		}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	s.add(fmt.Sprintf("watch fan-out to %d watchers", n), "p50 %s, p99 %s, last %s", lat[n/2].Round(10*time.Microsecond), lat[n*99/100].Round(10*time.Microsecond), lat[n-1].Round(10*time.Microsecond))
	return nil
}

func (s *scenario) doPatch(p, body string) ([]byte, int, error) {
	req, _ := http.NewRequest("PATCH", s.url(p), strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Content-Type", "application/merge-patch+json")
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return b, resp.StatusCode, err
}

// applyVsDocker times `kubectl apply` of a pod until it is Running against `docker run -d`
// of the same image and command, runs times each, and reports the medians and their ratio.
func (s *scenario) applyVsDocker(runs int) error {
	kubeconfig := filepath.Join(s.data, "state", "kubeconfig")
	var k8s, dock []time.Duration
	for i := 0; i < runs; i++ {
		name := fmt.Sprintf("apply-%d", i)
		manifest := fmt.Sprintf("apiVersion: v1\nkind: Pod\nmetadata:\n  name: %s\n  namespace: %s\nspec:\n  terminationGracePeriodSeconds: 0\n  containers:\n  - name: c\n    image: %s\n    imagePullPolicy: Never\n    command: [sleep, \"3600\"]\n", name, ns, s.image)
		t0 := time.Now()
		cmd := exec.Command(s.kubectl, "--kubeconfig", kubeconfig, "apply", "-f", "-")
		cmd.Stdin = strings.NewReader(manifest)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("kubectl apply: %v: %s", err, out)
		}
		if err := poll(time.Minute, func() error {
			b, _, err := s.do("GET", "/api/v1/namespaces/"+ns+"/pods/"+name, "")
			if err != nil {
				return err
			}
			if !bytes.Contains(b, []byte(`"phase":"Running"`)) {
				return errors.New("not running")
			}
			return nil
		}); err != nil {
			return err
		}
		k8s = append(k8s, time.Since(t0))

		t0 = time.Now()
		out, err := exec.Command("docker", "run", "-d", "--rm", "--label", "k2d-bench=1", s.image, "sleep", "3600").CombinedOutput()
		if err != nil {
			return fmt.Errorf("docker run: %v: %s", err, out)
		}
		dock = append(dock, time.Since(t0))
		exec.Command("docker", "rm", "-f", strings.TrimSpace(string(out))).Run()
	}
	med := func(d []time.Duration) time.Duration {
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		return d[len(d)/2]
	}
	mk, md := med(k8s), med(dock)
	s.add("kubectl apply -> Running vs docker run -d", "%s vs %s: ratio %.2f (median of %d)", mk.Round(time.Millisecond), md.Round(time.Millisecond), mk.Seconds()/md.Seconds(), runs)
	return nil
}

// openWatches opens n watches as client-go informers do (bookmarks on) and returns a stop func.
func (s *scenario) openWatches(n int) func() {
	ctx, cancel := context.WithCancel(context.Background())
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	wc := &http.Client{Transport: tr}
	for i := 0; i < n; i++ {
		go func() {
			req, _ := http.NewRequestWithContext(ctx, "GET", s.url("/api/v1/pods?watch=true&allowWatchBookmarks=true&timeoutSeconds=600"), nil)
			req.Header.Set("Authorization", "Bearer "+s.token)
			resp, err := wc.Do(req)
			if err != nil {
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}()
	}
	time.Sleep(2 * time.Second)
	return func() { cancel(); tr.CloseIdleConnections() }
}

// idleWindow returns the CPU time k2d used (nanoseconds, procfs.CPUNanos) and the bytes it
// wrote over s.idle.
func (s *scenario) idleWindow() (cpu time.Duration, written int64) {
	pid := s.cmd.Process.Pid
	c0, w0 := procfs.CPUNanos(pid), procfs.WriteBytes(pid)
	time.Sleep(s.idle)
	return time.Duration(procfs.CPUNanos(pid) - c0), procfs.WriteBytes(pid) - w0
}

func (s *scenario) waitRunning(n int, d time.Duration) error {
	return poll(d, func() error {
		b, _, err := s.do("GET", "/api/v1/namespaces/"+ns+"/pods", "")
		if err != nil {
			return err
		}
		if c := bytes.Count(b, []byte(`"phase":"Running"`)); c < n {
			return fmt.Errorf("%d of %d Running", c, n)
		}
		return nil
	})
}

func (s *scenario) waitCount(n int, d time.Duration) error {
	return poll(d, func() error {
		b, _, err := s.do("GET", "/api/v1/namespaces/"+ns+"/pods", "")
		if err != nil {
			return err
		}
		var l struct{ Items []json.RawMessage }
		json.Unmarshal(b, &l)
		if len(l.Items) != n {
			return fmt.Errorf("%d pods, want %d", len(l.Items), n)
		}
		return nil
	})
}

func (s *scenario) cleanup() {
	if s.cmd != nil && s.cmd.Process != nil && s.cmd.ProcessState == nil {
		s.cmd.Process.Signal(os.Interrupt)
		s.cmd.Wait()
	}
	if s.data != "" {
		cmd := exec.Command(s.bin, "reset", "--yes")
		cmd.Env = append(os.Environ(), "K2D_DATA_PATH="+filepath.Join(s.data, "state"))
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "bench-load: reset: %v: %s\n", err, out)
		}
		os.RemoveAll(s.data)
	}
}

func (s *scenario) print() {
	host, _ := os.Hostname()
	fmt.Printf("k2d bench-load (%s, %s/%s, %d CPUs, %s)\n\n", s.bin, runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), host)
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "MEASURE\tRESULT")
	for _, r := range s.rows {
		fmt.Fprintf(w, "%s\t%s\n", r.what, r.value)
	}
	w.Flush()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func poll(d time.Duration, fn func() error) error {
	deadline := time.Now().Add(d)
	for {
		err := fn()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(200 * time.Millisecond)
	}
}
