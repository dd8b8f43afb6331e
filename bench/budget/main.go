// Command budget measures k2d's memory as a 512 MB ARM device would see it and fails when a
// budget is exceeded. It runs the armv7 binary under qemu-arm-static against the real Docker
// engine, and a hello-world Go HTTP server the same way for comparison. bench/README.md
// explains the method; `make budget` runs it (CI does, after the tests).
//
// Budgets (MiB), each overridable by its environment variable:
//
//	K2D_BUDGET_BINARY_MIB   12  armv7 binary, stripped
//	K2D_BUDGET_IDLE_GO_MIB   6  idle, no objects: Go runtime memory in use (runtime/metrics
//	                            /memory/classes/total minus heap/released, read inside k2d)
//	K2D_BUDGET_IDLE_RSS_MIB 12  idle: qemu process RSS minus the hello-world server's RSS
//	K2D_BUDGET_LOAD_GO_MIB  10  after starting 100 pods: Go runtime memory in use
//
// Idle means idle: over K2D_BUDGET_IDLE_WINDOW (60s) of a native k2d with no objects, no
// watchers and no requests, budget idle_ticks (0 CPU clock ticks: under 10 ms of CPU time, summed
// in nanoseconds over the threads' /proc/PID/task/*/schedstat) and idle_writes (0 bytes written
// to storage, /proc/PID/io write_bytes) must hold.
//
// K2D_BUDGET_ENFORCE lists the budgets whose breach fails the run (comma separated names:
// binary, idle_go, idle_rss, load_go; default all). The others are measured and reported.
package main

import (
	"archive/tar"
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
	"strconv"
	"strings"
	"time"

	"github.com/k2d-project/k2d/bench/internal/procfs"
)

type budget struct {
	name, env, what string
	limitMiB        float64
	got             float64 // MiB (ticks, bytes for the idle budgets); negative: not measured
	unit            string
}

func main() {
	var (
		k2dArm  = flag.String("k2d", "bin/k2d-armv7", "armv7 k2d binary (make armv7)")
		k2dHost = flag.String("k2d-native", "bin/k2d", "native k2d binary (make build), for the native figures and cleanup")
		floor   = flag.String("floor", "", "armv7 bench/floor binary built with k2d's flags: its size and RSS are printed (not budgeted)")
		qemu    = flag.String("qemu", "qemu-arm-static", "QEMU user-mode emulator for armv7")
		pods    = flag.Int("pods", 100, "pods started for the load figure")
		image   = flag.String("image", "k2d-test/busybox:1", "local image the pods run")
		settle  = flag.Duration("settle", 15*time.Second, "wait before each reading (k2d returns free memory 5 s after writes pause)")
	)
	flag.Parse()
	r := &runner{qemu: *qemu, settle: *settle}
	if err := r.run(*k2dArm, *k2dHost, *floor, *pods, *image); err != nil {
		fmt.Fprintln(os.Stderr, "budget:", err)
		os.Exit(2)
	}
	if r.report() {
		os.Exit(1)
	}
}

type runner struct {
	qemu          string
	settle        time.Duration
	budgets       []*budget
	notes         []string
	ticks, writes *budget
}

func (r *runner) add(name, env, what string, def float64) *budget {
	b := &budget{name: name, env: env, what: what, limitMiB: def, got: -1, unit: "MiB"}
	if v := os.Getenv(env); v != "" {
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			b.limitMiB = f
		}
	}
	r.budgets = append(r.budgets, b)
	return b
}

func (r *runner) note(format string, a ...any) {
	s := fmt.Sprintf(format, a...)
	r.notes = append(r.notes, s)
	fmt.Println("budget:", s)
}

const mib = 1 << 20

func (r *runner) run(k2dArm, k2dHost, floor string, pods int, image string) error {
	binB := r.add("binary", "K2D_BUDGET_BINARY_MIB", "armv7 binary, stripped", 12)
	idleGo := r.add("idle_go", "K2D_BUDGET_IDLE_GO_MIB", "idle: Go memory in use (runtime/metrics)", 6)
	idleRSS := r.add("idle_rss", "K2D_BUDGET_IDLE_RSS_MIB", "idle: qemu RSS minus hello-world RSS", 12)
	loadGo := r.add("load_go", "K2D_BUDGET_LOAD_GO_MIB", fmt.Sprintf("%d pods: Go memory in use", pods), 10)
	r.ticks = r.add("idle_ticks", "K2D_BUDGET_IDLE_TICKS", "native, 60 s idle: CPU clock ticks", 0)
	r.ticks.unit = "ticks"
	r.writes = r.add("idle_writes", "K2D_BUDGET_IDLE_WRITES", "native, 60 s idle: bytes written to storage", 0)
	r.writes.unit = "B"

	fi, err := os.Stat(k2dArm)
	if err != nil {
		return err
	}
	binB.got = float64(fi.Size()) / mib

	hello, err := buildHello()
	if err != nil {
		return err
	}
	defer os.RemoveAll(filepath.Dir(hello))
	helloRSS, err := r.serverRSS(hello, "http")
	if err != nil {
		return fmt.Errorf("hello-world under %s: %w", r.qemu, err)
	}
	r.note("hello-world Go HTTP server under %s: VmRSS %.1f MiB", r.qemu, float64(helloRSS)/mib)
	if floor != "" {
		if err := r.floor(floor, helloRSS); err != nil {
			return fmt.Errorf("bench/floor under %s: %w", r.qemu, err)
		}
	}

	sandbox, err := nativeSandboxImage(k2dHost)
	if err != nil {
		return err
	}

	// Native first: the figures an amd64 host shows, and the amd64 sandbox image k2d under
	// emulation uses (its own image would hold the ARM binary, which this host cannot run).
	if err := r.native(k2dHost, sandbox); err != nil {
		return err
	}

	k, err := startK2D(r.qemu, k2dArm, sandbox)
	if err != nil {
		return err
	}
	defer k.stop(k2dHost)
	time.Sleep(r.settle)
	inUse, err := k.goInUse()
	if err != nil {
		return err
	}
	rss, hwm := k.rss()
	idleGo.got = float64(inUse) / mib
	idleRSS.got = float64(rss-helloRSS) / mib
	r.note("k2d under %s, idle: Go in use %.2f MiB, VmRSS %.1f MiB (VmHWM %.1f MiB)", r.qemu, idleGo.got, float64(rss)/mib, float64(hwm)/mib)

	t0 := time.Now()
	if err := k.startPods(pods, image); err != nil {
		return err
	}
	r.note("%d pods Running after %s", pods, time.Since(t0).Round(time.Second))
	time.Sleep(r.settle)
	inUse, err = k.goInUse()
	if err != nil {
		return err
	}
	rss, hwm = k.rss()
	loadGo.got = float64(inUse) / mib
	r.note("k2d under %s, %d pods: Go in use %.2f MiB, VmRSS %.1f MiB (VmHWM %.1f MiB)", r.qemu, pods, loadGo.got, float64(rss)/mib, float64(hwm)/mib)
	return nil
}

// quietTail is how long k2d may still work after the last request (see native).
const quietTail = 35 * time.Second

// native runs the native binary idle, for the amd64 figures the README quotes.
func (r *runner) native(bin, sandbox string) error {
	k, err := startK2D("", bin, sandbox)
	if err != nil {
		return err
	}
	defer k.stop(bin)
	time.Sleep(r.settle)
	inUse, err := k.goInUse()
	if err != nil {
		return err
	}
	rss, hwm := k.rss()
	r.note("k2d native (%s), idle: Go in use %.2f MiB, VmRSS %.1f MiB, VmHWM %.1f MiB", bin, float64(inUse)/mib, float64(rss)/mib, float64(hwm)/mib)

	window := 60 * time.Second
	if v, err := time.ParseDuration(os.Getenv("K2D_BUDGET_IDLE_WINDOW")); err == nil {
		window = v
	}
	k.client.CloseIdleConnections()
	// Idle starts when k2d has finished reacting to the last request: it returns its free
	// memory and parks its collector 5 to 10 s after it, and closes idle Docker connections
	// 30 s after its last Docker call.
	time.Sleep(quietTail)
	pid := k.cmd.Process.Pid
	c0, s0, w0 := procfs.CPUNanos(pid), procfs.Switches(pid), procfs.WriteBytes(pid)
	time.Sleep(window)
	used := procfs.CPUNanos(pid) - c0
	// Whole ticks of the CPU time used in the window, from nanoseconds (procfs.CPUNanos).
	r.ticks.got = float64(used / procfs.TickNanos)
	r.writes.got = float64(procfs.WriteBytes(pid) - w0)
	r.note("k2d native, %s idle: %.3f ms of CPU (%.0f ticks), %d context switches, %.0f bytes written",
		window, float64(used)/1e6, r.ticks.got, procfs.Switches(pid)-s0, r.writes.got)
	return nil
}

// report prints the table and returns whether an enforced budget was exceeded.
func (r *runner) report() bool {
	enforced := map[string]bool{}
	if e := os.Getenv("K2D_BUDGET_ENFORCE"); e != "" {
		for _, n := range strings.Split(e, ",") {
			enforced[strings.TrimSpace(n)] = true
		}
	} else {
		for _, b := range r.budgets {
			enforced[b.name] = true
		}
	}
	failed := false
	fmt.Println()
	fmt.Printf("%-11s %-48s %14s %12s  %s\n", "BUDGET", "WHAT", "MEASURED", "LIMIT", "RESULT")
	for _, b := range r.budgets {
		res := "ok"
		switch {
		case b.got < 0:
			res = "not measured"
		case b.got > b.limitMiB && enforced[b.name]:
			res = "EXCEEDED"
			failed = true
		case b.got > b.limitMiB:
			res = "over (not enforced)"
		}
		fmt.Printf("%-11s %-48s %8.2f %-5s %6.2f %-5s  %s\n", b.name, b.what, b.got, b.unit, b.limitMiB, b.unit, res)
	}
	for _, b := range r.budgets {
		if b.got > b.limitMiB && enforced[b.name] {
			fmt.Fprintf(os.Stderr, "budget: %s exceeded: %s is %.2f %s, the budget is %.2f %s (%s)\n", b.name, b.what, b.got, b.unit, b.limitMiB, b.unit, b.env)
		}
	}
	return failed
}

// buildHello builds the comparison server: the smallest useful Go HTTP server.
func buildHello() (string, error) {
	dir, err := os.MkdirTemp("", "k2d-hello")
	if err != nil {
		return "", err
	}
	src := `package main

import (
	"net/http"
	"os"
)

func main() {
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("hello\n")) })
	http.ListenAndServe("127.0.0.1:"+os.Args[1], nil)
}
`
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module hello\n\ngo 1.22\n"), 0o644); err != nil {
		return "", err
	}
	out := filepath.Join(dir, "hello")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", out, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm", "GOARM=7", "GOWORK=off", "GOFLAGS=")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build hello-world: %v\n%s", err, b)
	}
	return out, nil
}

// serverRSS runs a server binary under the emulator with a free port as its argument, waits
// until it answers GET / (over TLS when scheme is https, any certificate accepted), and returns
// its VmRSS after the settle time.
func (r *runner) serverRSS(bin, scheme string) (int64, error) {
	port, err := freePort()
	if err != nil {
		return 0, err
	}
	cmd := exec.Command(r.qemu, bin, strconv.Itoa(port))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	defer c.CloseIdleConnections()
	url := scheme + "://127.0.0.1:" + strconv.Itoa(port) + "/"
	if err := waitFor(time.Minute, func() error {
		resp, err := c.Get(url)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}); err != nil {
		return 0, fmt.Errorf("%w (%s)", err, strings.TrimSpace(stderr.String()))
	}
	time.Sleep(r.settle)
	rss, _ := procfs.Mem(cmd.Process.Pid)
	return rss, nil
}

// floor prints the size and the RSS over hello-world of bench/floor, the design card's
// dependencies doing what every k2d does at start and nothing of k2d's own: the share of the
// binary and idle_rss budgets that k2d's own code cannot remove.
func (r *runner) floor(bin string, helloRSS int64) error {
	fi, err := os.Stat(bin)
	if err != nil {
		return err
	}
	rss, err := r.serverRSS(bin, "https")
	if err != nil {
		return err
	}
	r.note("design-card floor (bench/floor, no k2d code) under %s: binary %.2f MiB, VmRSS %.1f MiB, %.2f MiB over hello-world",
		r.qemu, float64(fi.Size())/mib, float64(rss)/mib, float64(rss-helloRSS)/mib)
	return nil
}

// nativeSandboxImage makes an amd64 sandbox image from the native binary, as k2d makes its
// own: a one-file root filesystem imported with `docker import`.
func nativeSandboxImage(bin string) (string, error) {
	const ref = "k2d/pause:budget-native"
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	data, err := os.ReadFile(bin)
	if err != nil {
		return "", err
	}
	if err := tw.WriteHeader(&tar.Header{Name: "k2d", Mode: 0o755, Size: int64(len(data)), ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg}); err != nil {
		return "", err
	}
	tw.Write(data)
	tw.Close()
	cmd := exec.Command("docker", "import", "--change", `CMD ["/k2d","pause"]`, "--change", "LABEL io.k2d.managed=true", "-", ref)
	cmd.Stdin = &buf
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("docker import: %v: %s", err, b)
	}
	return ref, nil
}

type k2d struct {
	cmd    *exec.Cmd
	data   string
	port   int
	token  string
	client *http.Client
	log    *os.File
}

func startK2D(qemu, bin, sandbox string) (*k2d, error) {
	data, err := os.MkdirTemp("", "k2d-budget")
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	args := []string{"serve"}
	name := bin
	if qemu != "" {
		name, args = qemu, append([]string{bin}, args...)
	}
	log, err := os.Create(filepath.Join(data, "k2d.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "K2D_DATA_PATH="+data, "K2D_PORT="+strconv.Itoa(port), "K2D_SANDBOX_IMAGE="+sandbox, "K2D_LOG_LEVEL=warn")
	cmd.Stdout, cmd.Stderr = io.Discard, log
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	k := &k2d{cmd: cmd, data: data, port: port, log: log, client: &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, MaxIdleConnsPerHost: 16},
	}}
	err = waitFor(3*time.Minute, func() error {
		if cmd.ProcessState != nil {
			return errors.New("k2d exited")
		}
		resp, err := k.client.Get(k.url("/readyz"))
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("/readyz: %d", resp.StatusCode)
		}
		return nil
	})
	if err == nil {
		var b []byte
		b, err = os.ReadFile(filepath.Join(data, "token"))
		k.token = strings.TrimSpace(string(b))
	}
	if err != nil {
		tail, _ := os.ReadFile(log.Name())
		k.stop("")
		return nil, fmt.Errorf("k2d did not become ready: %v\n%s", err, tail)
	}
	return k, nil
}

func (k *k2d) url(p string) string { return "https://127.0.0.1:" + strconv.Itoa(k.port) + p }

func (k *k2d) do(method, p string, body []byte) ([]byte, int, error) {
	req, err := http.NewRequest(method, k.url(p), bytes.NewReader(body))
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Authorization", "Bearer "+k.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := k.client.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return b, resp.StatusCode, err
}

// goInUse reads k2d_go_memory_in_use_bytes three times, 3 s apart, and returns the least:
// the figure of a settled process, not of the moment a collection is due.
func (k *k2d) goInUse() (int64, error) {
	least := int64(-1)
	for i := 0; i < 3; i++ {
		if i > 0 {
			time.Sleep(3 * time.Second)
		}
		v, err := k.goInUseOnce()
		if err != nil {
			return 0, err
		}
		if least < 0 || v < least {
			least = v
		}
	}
	return least, nil
}

// goInUseOnce reads k2d_go_memory_in_use_bytes from /metrics: the runtime's own figure, read
// inside the process.
func (k *k2d) goInUseOnce() (int64, error) {
	b, code, err := k.do("GET", "/metrics", nil)
	if err != nil || code != 200 {
		return 0, fmt.Errorf("/metrics: %d %v", code, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "k2d_go_memory_in_use_bytes "); ok {
			return strconv.ParseInt(v, 10, 64)
		}
	}
	return 0, errors.New("/metrics has no k2d_go_memory_in_use_bytes")
}

func (k *k2d) rss() (rss, hwm int64) { return procfs.Mem(k.cmd.Process.Pid) }

func (k *k2d) startPods(n int, image string) error {
	ns := "budget"
	if _, code, err := k.do("POST", "/api/v1/namespaces", []byte(`{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"`+ns+`"}}`)); err != nil || (code != 201 && code != 409) {
		return fmt.Errorf("create namespace: %d %v", code, err)
	}
	for i := 0; i < n; i++ {
		pod := fmt.Sprintf(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p%03d","labels":{"app":"budget"}},"spec":{"terminationGracePeriodSeconds":0,"containers":[{"name":"c","image":%q,"imagePullPolicy":"Never","command":["sleep","3600"]}]}}`, i, image)
		if b, code, err := k.do("POST", "/api/v1/namespaces/"+ns+"/pods", []byte(pod)); err != nil || code != 201 {
			return fmt.Errorf("create pod %d: %d %v %s", i, code, err, b)
		}
	}
	return waitFor(8*time.Minute, func() error {
		b, code, err := k.do("GET", "/api/v1/namespaces/"+ns+"/pods", nil)
		if err != nil || code != 200 {
			return fmt.Errorf("list: %d %v", code, err)
		}
		var list struct {
			Items []struct {
				Status struct{ Phase string } `json:"status"`
			} `json:"items"`
		}
		if err := json.Unmarshal(b, &list); err != nil {
			return err
		}
		running := 0
		for _, p := range list.Items {
			if p.Status.Phase == "Running" {
				running++
			}
		}
		if running < n {
			return fmt.Errorf("%d of %d pods Running", running, n)
		}
		return nil
	})
}

// stop ends k2d and, with native set, removes what it made with `k2d reset`.
func (k *k2d) stop(native string) {
	if k.cmd.ProcessState == nil {
		k.cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { k.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			k.cmd.Process.Kill()
			<-done
		}
	}
	if native != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, native, "reset", "--yes")
		cmd.Env = append(os.Environ(), "K2D_DATA_PATH="+k.data)
		if b, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "budget: k2d reset: %v\n%s", err, b)
		}
	}
	k.log.Close()
	os.RemoveAll(k.data)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func waitFor(d time.Duration, fn func() error) error {
	deadline := time.Now().Add(d)
	for {
		err := fn()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(250 * time.Millisecond)
	}
}
