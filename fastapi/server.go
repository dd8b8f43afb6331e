package fastapi

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/k2d-project/k2d/cache"
	"github.com/k2d-project/k2d/codec"
	"github.com/k2d-project/k2d/reconcile"
	"github.com/valyala/fasthttp"
	"k8s.io/apimachinery/pkg/runtime"
)

// Store is the state the API serves: the cache. Reads never reach Docker.
type Store interface {
	Get(resource, ns, name string) (*cache.Entry, bool)
	List(resource, ns string) ([]*cache.Entry, uint64)
	Create(k *codec.Kind, obj runtime.Object) (*cache.Entry, error)
	Update(k *codec.Kind, obj runtime.Object) (*cache.Entry, error)
	Mutate(k *codec.Kind, ns, name string, fn func(obj runtime.Object) (bool, error)) (*cache.Entry, error)
	Delete(k *codec.Kind, ns, name, precondRV, precondUID string) (*cache.Entry, error)
	Watch(resource, ns string, fromRV uint64) (*cache.Watcher, []cache.Event, uint64, error)
	RV() uint64
}

var _ Store = (*cache.Cache)(nil)

// Runtime runs the streams of pods: logs, exec and attach. It is the only part of the API
// that talks to Docker, because these requests are about live processes.
type Runtime interface {
	Logs(ctx context.Context, ns, pod string, o reconcile.LogOptions, w io.Writer) error
	Exec(ctx context.Context, ns, pod, container string, cmd []string, io reconcile.ExecIO) (int, error)
	Attach(ctx context.Context, ns, pod, container string, io reconcile.ExecIO) (int, error)
	DockerCalls() uint64
}

var _ Runtime = (*reconcile.Controller)(nil)

// Version is what /version reports.
type Version struct {
	Major, Minor, GitVersion, GitCommit, BuildDate, GoVersion, Platform string
}

// Config configures the API server.
type Config struct {
	Addr    string      // listen address, ":6443"
	TLS     *tls.Config // nil serves plain HTTP (tests only)
	Token   string      // the bearer token every non-health request must carry
	Version Version
	Store   Store
	Runtime Runtime
	// Kubeconfig returns the kubeconfig served at /k2d/kubeconfig.
	Kubeconfig func() []byte
	// Ready reports whether the Docker state has been loaded (for /readyz).
	Ready func() bool
	Log   *slog.Logger

	// ServiceCIDR is the range Service ClusterIPs are allocated from, e.g. "10.96.0.0/12";
	// NodePortRange the range of NodePorts, e.g. "30000-32767".
	ServiceCIDR   string
	NodePortRange string
	// Authenticate resolves a bearer token other than Token (a service account's): it returns
	// the user name, e.g. "system:serviceaccount:default:default", or ok false. nil accepts
	// only Token.
	Authenticate func(token string) (user string, ok bool)
	// Activity, when set, is called at the start of every request (k2d unparks its garbage
	// collector); it must be cheap.
	Activity func()
}

// Server is the Kubernetes API server.
type Server struct {
	cfg   Config
	srv   *fasthttp.Server
	token []byte
	log   *slog.Logger
	ctx   context.Context
	stop  context.CancelFunc
}

// Server limits, in one place.
const (
	// readBufferSize bounds request headers; kubectl's are well under 2 KiB.
	readBufferSize = 16 << 10
	// readTimeout bounds how long a client may take to send a request; watches and streams
	// are responses, which writeTimeout does not cover for hijacked connections.
	readTimeout = 60 * time.Second
	// idleTimeout closes idle keep-alive connections, so a device does not keep sockets forever.
	idleTimeout = 5 * time.Minute
	// maxConns caps concurrent connections on a 512 MB device.
	maxConns = 1024
	// maxIdleWorker is how long an idle fasthttp worker goroutine lives; the pool's cleaner
	// wakes up once per period, so a long one keeps an idle k2d asleep.
	maxIdleWorker = 10 * time.Minute
)

// New returns a server for cfg.
func New(cfg Config) *Server {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{cfg: cfg, token: []byte(cfg.Token), log: cfg.Log, ctx: ctx, stop: cancel}
	s.srv = &fasthttp.Server{
		Handler:                       s.handle,
		ErrorHandler:                  s.handleParseError,
		Name:                          "k2d",
		ReadBufferSize:                readBufferSize,
		MaxRequestBodySize:            codec.MaxBodyBytes,
		ReadTimeout:                   readTimeout,
		IdleTimeout:                   idleTimeout,
		Concurrency:                   maxConns,
		DisablePreParseMultipartForm:  true,
		NoDefaultContentType:          true,
		DisableHeaderNamesNormalizing: false,
		CloseOnShutdown:               true,
		// The Date header would start fasthttp's once-a-second clock goroutine: k2d must not
		// wake up at idle, and no Kubernetes client reads the header.
		NoDefaultDate:         true,
		MaxIdleWorkerDuration: maxIdleWorker,
		Logger:                quietLogger{},
	}
	return s
}

// Serve accepts connections on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	if s.cfg.TLS != nil {
		ln = tls.NewListener(ln, s.cfg.TLS)
	}
	return s.srv.Serve(ln)
}

// Shutdown ends watches and streams and stops the server.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stop()
	return s.srv.ShutdownWithContext(ctx)
}

// Handler returns the request handler, for tests over an in-memory listener.
func (s *Server) Handler() fasthttp.RequestHandler { return s.handle }

type quietLogger struct{}

func (quietLogger) Printf(string, ...any) {}

func (s *Server) handleParseError(ctx *fasthttp.RequestCtx, err error) {
	if strings.Contains(err.Error(), "body size exceeds") || strings.Contains(err.Error(), "too large") {
		writeError(ctx, errTooLarge())
		return
	}
	writeError(ctx, errBadRequest("cannot parse request: "+err.Error()))
}

// authorized compares the bearer token in constant time.
func (s *Server) authorized(ctx *fasthttp.RequestCtx) bool {
	h := ctx.Request.Header.Peek("Authorization")
	const prefix = "Bearer "
	if len(h) <= len(prefix) || !strings.EqualFold(string(h[:len(prefix)]), prefix) {
		return false
	}
	return subtle.ConstantTimeCompare(h[len(prefix):], s.token) == 1
}

func (s *Server) handle(ctx *fasthttp.RequestCtx) {
	if s.cfg.Activity != nil {
		s.cfg.Activity()
	}
	path := string(ctx.Path())
	switch path {
	case "/healthz", "/livez":
		ctx.SetContentType("text/plain; charset=utf-8")
		ctx.SetBodyString("ok")
		return
	case "/readyz":
		ctx.SetContentType("text/plain; charset=utf-8")
		if s.cfg.Ready != nil && !s.cfg.Ready() {
			ctx.SetStatusCode(503)
			ctx.SetBodyString("not ready: Docker state is loading")
			return
		}
		ctx.SetBodyString("ok")
		return
	case "/version", "/version/":
		s.serveVersion(ctx)
		return
	}
	if !s.authorized(ctx) {
		// A service account's token: discovery and self reviews only (auth_sa.go).
		if user, ok := s.authenticateToken(ctx); ok {
			s.serveServiceAccount(ctx, path, user)
			return
		}
		writeError(ctx, errUnauthorized())
		return
	}
	switch {
	case path == "/api" || path == "/api/":
		s.serveCoreGroup(ctx)
	case path == "/apis" || path == "/apis/":
		s.serveGroups(ctx)
	case strings.HasPrefix(path, "/openapi/"):
		s.serveOpenAPI(ctx, path)
	case path == "/k2d/kubeconfig":
		ctx.SetContentType("application/yaml")
		ctx.SetBody(s.cfg.Kubeconfig())
	case path == "/metrics":
		s.serveMetrics(ctx)
	default:
		if s.serveGroupVersion(ctx, path) {
			return
		}
		rp, ok := parseResourcePath(path)
		if !ok {
			writeError(ctx, errPathNotFound(path))
			return
		}
		s.serveResource(ctx, rp)
	}
}
