// Command k2d serves the Kubernetes API on a Docker host.
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/k2d-project/k2d/cache"
	"github.com/k2d-project/k2d/dockerio"
	"github.com/k2d-project/k2d/fastapi"
	"github.com/k2d-project/k2d/reconcile"
	"go.uber.org/automaxprocs/maxprocs"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// kubeVersion is the Kubernetes API version k2d serves.
const kubeMajor, kubeMinor = "1", "32"

func usage() {
	fmt.Fprintf(os.Stderr, `k2d serves the Kubernetes API on a Docker host.

Usage:
  k2d [serve] [flags]        run the API server (default)
  k2d kubeconfig [flags]     print the kubeconfig
  k2d reset [--yes] [flags]  remove everything k2d created and its data
  k2d version                print the version
  k2d pause                  the pod sandbox process (used inside containers)

Run "k2d serve -h" for the flags; each has a K2D_* environment variable.
`)
}

func main() {
	args := os.Args[1:]
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "serve":
		err = serve(args)
	case "kubeconfig":
		err = printKubeconfig(args)
	case "reset":
		err = reset(args)
	case "version":
		fmt.Printf("k2d %s (Kubernetes API v%s.%s, %s/%s, %s)\n", version, kubeMajor, kubeMinor, runtime.GOOS, runtime.GOARCH, runtime.Version())
	case "pause":
		reconcile.Pause()
	case "help", "-h", "--help":
		usage()
	default:
		usage()
		err = fmt.Errorf("unknown command %q", cmd)
	}
	if err != nil && !errors.Is(err, errHelp) {
		fmt.Fprintln(os.Stderr, "k2d:", err)
		os.Exit(1)
	}
}

var errHelp = errors.New("help")

func newLogger(level, format string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("invalid log level %q", level)
	}
	o := &slog.HandlerOptions{Level: l}
	switch format {
	case "text", "":
		return slog.New(slog.NewTextHandler(os.Stderr, o)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, o)), nil
	}
	return nil, fmt.Errorf("invalid log format %q: want text or json", format)
}

// tuneMemory sets defaults for a 512 MB device unless the user set GOMEMLIMIT/GOGC: a soft
// limit makes the GC work harder before the heap grows past it, and GOGC=50 keeps the heap
// close to the live data at little CPU cost for a mostly idle process.
func tuneMemory() {
	// Heap profiling samples every 512 KiB allocated and keeps its buckets forever: about
	// 0.7 MiB of a device's memory for a profile nobody reads.
	runtime.MemProfileRate = 0
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(64 << 20)
	}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(50)
	}
}

// loadToken returns the configured token, or the one kept in the data dir (made on first start).
func loadToken(cfg *config) (string, error) {
	if cfg.Secret != "" {
		return cfg.Secret, nil
	}
	p := filepath.Join(cfg.DataPath, "token")
	b, err := os.ReadFile(p)
	if err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b)), nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("cannot read token: %w", err)
	}
	var raw [24]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", err
	}
	tok := hex.EncodeToString(raw[:])
	if err := os.WriteFile(p, []byte(tok+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("cannot write token: %w", err)
	}
	return tok, nil
}

// loadEncryption returns the encryption of Secrets at rest, with the key of
// --encryption-key-file (which must exist) or the one kept in <data>/pki (made on first start).
func loadEncryption(cfg *config) (*cache.Encryption, error) {
	var key []byte
	var err error
	if cfg.EncryptionKeyFile != "" {
		key, err = cache.LoadKey(cfg.EncryptionKeyFile)
	} else {
		key, err = cache.LoadOrCreateKey(filepath.Join(cfg.DataPath, "pki", "encryption.key"))
	}
	if err != nil {
		return nil, err
	}
	return cache.NewEncryption(key, "secrets")
}

func serve(args []string) error {
	cfg, _, err := parseConfig("serve", args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return err
	}
	log, err := newLogger(cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		return err
	}
	slog.SetDefault(log)
	_, _ = maxprocs.Set()
	tuneMemory()
	if err := os.MkdirAll(cfg.DataPath, 0o700); err != nil {
		return fmt.Errorf("cannot create data path: %w", err)
	}
	token, err := loadToken(cfg)
	if err != nil {
		return err
	}

	docker, err := dockerio.New(cfg.DockerHost)
	if err != nil {
		return err
	}
	defer docker.Close()

	enc, err := loadEncryption(cfg)
	if err != nil {
		return err
	}
	store, err := cache.New(cache.Options{
		Dir:        filepath.Join(cfg.DataPath, "state"),
		Persisted:  reconcile.Persisted,
		Limits:     reconcile.EventLimits,
		Encryption: enc,
	})
	if err != nil {
		return err
	}
	idle := newQuiet(realGC)
	idle.Touch()
	store.Subscribe(func(cache.Event) { idle.Touch() }) // called with the store's lock held: Touch only arms a timer
	skipped, err := store.Load()
	if err != nil {
		return err
	}
	for _, e := range skipped {
		log.Warn("skipped a stored object", "err", e)
	}

	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer cancel()

	ips := []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1"), net.ParseIP(cfg.AdvertiseAddr)}
	if kip, err := reconcile.KubernetesServiceIP(cfg.ServiceCIDR); err == nil {
		ips = append(ips, net.IP(kip.AsSlice())) // in-cluster clients dial the kubernetes Service
	}
	names := []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc." + cfg.ClusterDomain}
	if h, err := os.Hostname(); err == nil {
		names = append(names, h)
	}
	certs, err := fastapi.LoadOrCreateCertificates(filepath.Join(cfg.DataPath, "pki"), ips, names)
	if err != nil {
		return err
	}
	// Service account tokens: signed for pods, accepted from them (never the admin token).
	saTokens, err := fastapi.LoadOrCreateServiceAccountKey(filepath.Join(cfg.DataPath, "pki"))
	if err != nil {
		return err
	}

	ctrl := reconcile.New(store, docker, reconcile.Options{
		NodeName:       cfg.NodeName,
		HostIP:         cfg.AdvertiseAddr,
		SandboxImage:   cfg.SandboxImage,
		KubeletVersion: kubeGitVersion(),
		Log:            log,
		ServiceCIDR:    cfg.ServiceCIDR,
		ClusterDomain:  cfg.ClusterDomain,
		APIPort:        cfg.Port,
		DataDir:        cfg.DataPath,
		RunDir:         cfg.RunPath,
		CACert:         certs.CAPEM,
		IssueToken:     saTokens.Issue,
	})
	ctrlErr := make(chan error, 1)
	go func() {
		if err := waitForDocker(ctx, docker, log); err != nil {
			ctrlErr <- err
			return
		}
		ctrlErr <- ctrl.Start(ctx)
	}()

	port := strconv.Itoa(cfg.Port)
	local := kubeconfig("https://127.0.0.1:"+port, certs.CAPEM, token)
	remote := kubeconfig("https://"+net.JoinHostPort(cfg.AdvertiseAddr, port), certs.CAPEM, token)
	if err := writeKubeconfig(cfg.DataPath, local); err != nil {
		return err
	}

	api := fastapi.New(fastapi.Config{
		TLS:   certs.Config,
		Token: token,
		Version: fastapi.Version{
			Major: kubeMajor, Minor: kubeMinor, GitVersion: kubeGitVersion(), GitCommit: version,
			BuildDate: "1970-01-01T00:00:00Z", GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH,
		},
		Store:      store,
		Runtime:    ctrl,
		Kubeconfig: func() []byte { return remote },
		Ready:      ctrl.Ready,
		Log:        log,

		ServiceCIDR:   cfg.ServiceCIDR,
		NodePortRange: cfg.NodePortRange,
		Authenticate:  saTokens.Authenticator(store),
		Activity:      idle.Touch,
	})
	ln, err := net.Listen("tcp", ":"+port)
	if err != nil {
		return fmt.Errorf("cannot listen on port %s: %w", port, err)
	}
	srvErr := make(chan error, 1)
	go func() { srvErr <- api.Serve(ln) }()
	log.Info("k2d is serving", "version", version, "port", cfg.Port, "advertise", cfg.AdvertiseAddr, "data", cfg.DataPath)
	w := bufio.NewWriter(os.Stdout)
	fmt.Fprintf(w, "export KUBECONFIG=%s\n", kubeconfigPath(cfg.DataPath))
	w.Flush()

	select {
	case <-ctx.Done():
	case err := <-srvErr:
		cancel()
		ctrl.Stop()
		return fmt.Errorf("API server stopped: %w", err)
	case err := <-ctrlErr:
		if err != nil && ctx.Err() == nil {
			// Without controllers nothing would happen: exit, and let the supervisor restart k2d.
			sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer scancel()
			_ = api.Shutdown(sctx)
			ctrl.Stop()
			return fmt.Errorf("cannot start controllers: %w", err)
		}
		<-ctx.Done()
	}
	log.Info("shutting down")
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	_ = api.Shutdown(sctx)
	ctrl.Stop()
	return nil
}

// waitForDocker retries until the Docker engine answers, so that k2d may start before Docker
// (boot order on a device) and serve /readyz 503 meanwhile.
func waitForDocker(ctx context.Context, docker *dockerio.Client, log *slog.Logger) error {
	delay := 500 * time.Millisecond
	for {
		err := docker.Negotiate(ctx)
		if err == nil {
			return nil
		}
		log.Warn("waiting for Docker", "err", err, "retry_in", delay)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		if delay *= 2; delay > 30*time.Second {
			delay = 30 * time.Second
		}
	}
}

func kubeGitVersion() string {
	v := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' {
			return r
		}
		return '-'
	}, strings.TrimPrefix(version, "v"))
	return "v" + kubeMajor + "." + kubeMinor + ".0+k2d." + v
}

func printKubeconfig(args []string) error {
	cfg, _, err := parseConfig("kubeconfig", args)
	if err != nil {
		return err
	}
	b, err := os.ReadFile(kubeconfigPath(cfg.DataPath))
	if err != nil {
		return fmt.Errorf("cannot read the kubeconfig (has k2d serve run with this data path?): %w", err)
	}
	_, err = os.Stdout.Write(b)
	return err
}

func reset(args []string) error {
	var yes bool
	var rest []string
	for _, a := range args {
		if a == "--yes" || a == "-yes" || a == "-y" {
			yes = true
			continue
		}
		rest = append(rest, a)
	}
	cfg, _, err := parseConfig("reset", rest)
	if err != nil {
		return err
	}
	if !yes {
		fmt.Printf("This removes every container, network and volume k2d created, and %s.\nType yes to go on: ", cfg.DataPath)
		line, _ := bufio.NewReader(os.Stdin).ReadString('\n')
		if strings.TrimSpace(line) != "yes" {
			return errors.New("reset cancelled")
		}
	}
	docker, err := dockerio.New(cfg.DockerHost)
	if err != nil {
		return err
	}
	defer docker.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := docker.Negotiate(ctx); err != nil {
		return err
	}
	if err := reconcile.Reset(ctx, docker); err != nil {
		return err
	}
	if err := reconcile.RemoveVolumeFiles(cfg.DataPath, cfg.RunPath); err != nil {
		return fmt.Errorf("cannot remove volume files: %w", err)
	}
	if err := os.RemoveAll(cfg.DataPath); err != nil {
		return fmt.Errorf("cannot remove %s: %w", cfg.DataPath, err)
	}
	fmt.Println("k2d reset: done")
	return nil
}
