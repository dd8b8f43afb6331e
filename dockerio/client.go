package dockerio

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/system"

	"encoding/json"
	"github.com/valyala/fasthttp"
)

const (
	// DefaultHost is used when neither New's argument nor $DOCKER_HOST names an engine.
	DefaultHost = "unix:///var/run/docker.sock"
	// MaxAPIVersion is the newest Engine API version this package knows. Negotiate uses the
	// engine's version when it is older (Docker 20.10 speaks 1.41, Podman 4/5 speak 1.41).
	MaxAPIVersion = "1.47"

	userAgent = "k2d-dockerio"
	// A dial to a local socket either works at once or not at all; a remote tcp:// engine
	// gets a few seconds.
	dialTimeout = 10 * time.Second
	// Enough connections for the controllers' concurrent calls; streams and hijacked
	// connections are dialled separately and do not count.
	maxPooledConns = 32
	// How long a call waits for a free pooled connection before failing.
	connWaitTimeout = 30 * time.Second
	// Idle pooled connections are closed after this, so that an idle k2d holds no sockets and
	// fasthttp's cleaner goroutine stops.
	idleConnTimeout = 30 * time.Second
	// Bodies the pool reads whole: container lists and inspects are a few KB each; 64 MiB
	// bounds a hostile or broken engine without limiting a host with thousands of containers.
	maxResponseBody = 64 << 20
	// Error bodies are a one-line message; more is not worth holding.
	maxErrorBody = 64 << 10
)

// Client talks to one Docker (or Podman) engine. It is safe for concurrent use. Short calls
// share a small fasthttp connection pool; streams (logs, events, pull, import, wait) and
// hijacked connections (attach, exec) each get their own connection, closed when the call's
// context ends or the caller closes it.
type Client struct {
	network string // "unix" or "tcp"
	addr    string // socket path or host:port
	host    string // Host header and URI authority
	hc      *fasthttp.HostClient
	calls   atomic.Uint64
	version atomic.Pointer[string] // nil until Negotiate
	dialer  net.Dialer
}

// New returns a client for host: "unix:///path", "tcp://host:port", or a bare socket path.
// An empty host means $DOCKER_HOST, or DefaultHost when that is unset too. New does not
// connect; call Negotiate before other calls so that paths carry an API version (until then
// they are unversioned, which the engine treats as its newest version).
func New(host string) (*Client, error) {
	if host == "" {
		host = os.Getenv("DOCKER_HOST")
	}
	if host == "" {
		host = DefaultHost
	}
	network, addr, err := parseHost(host)
	if err != nil {
		return nil, err
	}
	c := &Client{network: network, addr: addr, host: "docker"}
	if network == "tcp" {
		c.host = addr
	}
	c.dialer.Timeout = dialTimeout
	c.hc = &fasthttp.HostClient{
		Addr:                c.host,
		Name:                userAgent,
		DialTimeout:         c.dialPooled,
		MaxConns:            maxPooledConns,
		MaxConnWaitTimeout:  connWaitTimeout,
		MaxIdleConnDuration: idleConnTimeout,
		MaxResponseBodySize: maxResponseBody,
		// Paths are escaped here; fasthttp must not re-normalise "%2F" in names or refs.
		DisablePathNormalizing: true,
	}
	return c, nil
}

func parseHost(host string) (network, addr string, err error) {
	switch {
	case strings.HasPrefix(host, "unix://"):
		network, addr = "unix", host[len("unix://"):]
	case strings.HasPrefix(host, "/"):
		network, addr = "unix", host
	case strings.HasPrefix(host, "tcp://"):
		network, addr = "tcp", host[len("tcp://"):]
	case strings.HasPrefix(host, "http://"):
		network, addr = "tcp", host[len("http://"):]
	default:
		// npipe:// is Windows-only; ssh:// and TLS (https://, DOCKER_TLS_VERIFY) are not
		// implemented: k2d runs next to its engine.
		return "", "", fmt.Errorf("cannot use docker host %q: %w", host, ErrUnsupportedHost)
	}
	if network == "tcp" {
		addr = strings.TrimSuffix(addr, "/")
		if _, _, err := net.SplitHostPort(addr); err != nil {
			addr = net.JoinHostPort(addr, "2375")
		}
	}
	if addr == "" {
		return "", "", fmt.Errorf("cannot use docker host %q: empty address: %w", host, ErrUnsupportedHost)
	}
	return network, addr, nil
}

func (c *Client) dialPooled(_ string, timeout time.Duration) (net.Conn, error) {
	if timeout <= 0 || timeout > dialTimeout {
		timeout = dialTimeout
	}
	return net.DialTimeout(c.network, c.addr, timeout)
}

// Negotiate asks the engine for its API version (GET /version, unversioned) and uses the
// older of it and MaxAPIVersion for all later paths. An engine whose minimum version is newer
// than MaxAPIVersion gets its minimum: newer API versions only add fields, which the
// decoders ignore, whereas a too-old version is refused outright.
func (c *Client) Negotiate(ctx context.Context) error {
	var v types.Version
	if err := c.send(ctx, "GET", "/version", nil, nil, &v, false); err != nil {
		return fmt.Errorf("cannot negotiate API version: %w", err)
	}
	ver, err := negotiateVersion(v.APIVersion, v.MinAPIVersion)
	if err != nil {
		return fmt.Errorf("cannot negotiate API version: %w", err)
	}
	c.version.Store(&ver)
	return nil
}

// negotiateVersion picks the version to speak. It accepts "1.41", "v1.41", "1.41.0" and
// surrounding space, as reported by Docker and by Podman's compat API.
func negotiateVersion(server, serverMin string) (string, error) {
	sMaj, sMin, ok := parseAPIVersion(server)
	if !ok {
		return "", fmt.Errorf("engine reported API version %q", server)
	}
	oMaj, oMin, _ := parseAPIVersion(MaxAPIVersion)
	maj, mnr := sMaj, sMin
	if oMaj < maj || (oMaj == maj && oMin < mnr) {
		maj, mnr = oMaj, oMin
	}
	if lMaj, lMin, ok := parseAPIVersion(serverMin); ok && (lMaj > maj || (lMaj == maj && lMin > mnr)) {
		maj, mnr = lMaj, lMin
	}
	return strconv.Itoa(maj) + "." + strconv.Itoa(mnr), nil
}

func parseAPIVersion(s string) (maj, mnr int, ok bool) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "v")
	a, rest, found := strings.Cut(s, ".")
	if !found {
		return 0, 0, false
	}
	b, _, _ := strings.Cut(rest, ".")
	maj, err1 := strconv.Atoi(a)
	mnr, err2 := strconv.Atoi(b)
	if err1 != nil || err2 != nil || maj < 0 || mnr < 0 {
		return 0, 0, false
	}
	return maj, mnr, true
}

// APIVersion returns the negotiated API version, or "" before Negotiate.
func (c *Client) APIVersion() string {
	if v := c.version.Load(); v != nil {
		return *v
	}
	return ""
}

// apiAtLeast reports whether the negotiated version is at least maj.min. Before Negotiate
// the engine speaks its newest version, so the answer is true.
func (c *Client) apiAtLeast(maj, mnr int) bool {
	v := c.version.Load()
	if v == nil {
		return true
	}
	a, b, _ := parseAPIVersion(*v)
	return a > maj || (a == maj && b >= mnr)
}

// Calls returns how many requests this client has sent to the engine.
func (c *Client) Calls() uint64 { return c.calls.Load() }

// Close closes idle pooled connections. The client stays usable: calling Close after the
// event stream broke (the engine restarted) also drops pooled connections to the old engine,
// whose first reuse would otherwise fail a non-idempotent call. Streams and hijacked
// connections belong to their callers and stay open until closed or their context ends.
func (c *Client) Close() error {
	c.hc.CloseIdleConnections()
	return nil
}

// Ping checks that the engine answers (GET /_ping).
func (c *Client) Ping(ctx context.Context) error {
	if err := c.send(ctx, "GET", "/_ping", nil, nil, nil, false); err != nil {
		return fmt.Errorf("cannot ping docker: %w", err)
	}
	return nil
}

// Info returns the engine's system information (GET /info), the source of the Node object.
func (c *Client) Info(ctx context.Context) (system.Info, error) {
	var info system.Info
	if err := c.do(ctx, "GET", "/info", nil, nil, &info); err != nil {
		return system.Info{}, fmt.Errorf("cannot get docker info: %w", err)
	}
	return info, nil
}

// Version returns the engine's version information (GET /version).
func (c *Client) Version(ctx context.Context) (types.Version, error) {
	var v types.Version
	if err := c.do(ctx, "GET", "/version", nil, nil, &v); err != nil {
		return types.Version{}, fmt.Errorf("cannot get docker version: %w", err)
	}
	return v, nil
}

// do sends a versioned request on the pool; see send.
func (c *Client) do(ctx context.Context, method, path string, q []byte, in, out any) error {
	return c.send(ctx, method, path, q, in, out, true)
}

// send sends one request on the pooled connections. path must be escaped already; q is the
// query without '?'. in, when not nil, is sent as JSON; out, when not nil, receives the
// decoded 2xx body. A non-2xx answer is returned as *Error (304 included).
func (c *Client) send(ctx context.Context, method, path string, q []byte, in, out any, versioned bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var body []byte
	if in != nil {
		// encoding/json, not goccy: goccy's encoder allocates a table sized by the binary's
		// type section on first use (megabytes), and request bodies are small and rare.
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("cannot encode request: %w", err)
		}
		body = b
	}
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	req.Header.SetMethod(method)
	ub := getBuf()
	*ub = c.appendURI(append((*ub)[:0], "http://"...), path, q, versioned)
	req.SetRequestURIBytes(*ub)
	putBuf(ub)
	if body != nil {
		req.Header.SetContentType("application/json")
		req.SetBodyRaw(body)
	}
	c.calls.Add(1)
	owned, err := c.roundTrip(ctx, req, resp)
	if !owned {
		return err
	}
	defer func() {
		fasthttp.ReleaseRequest(req)
		fasthttp.ReleaseResponse(resp)
	}()
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		if err == fasthttp.ErrTimeout {
			if _, ok := ctx.Deadline(); ok {
				return context.DeadlineExceeded
			}
		}
		return err
	}
	code := resp.StatusCode()
	if code < 200 || code > 299 {
		b := resp.Body()
		if len(b) > maxErrorBody {
			b = b[:maxErrorBody]
		}
		return decodeError(code, b)
	}
	if out != nil {
		if b := resp.Body(); len(b) > 0 {
			if err := json.Unmarshal(b, out); err != nil {
				return fmt.Errorf("cannot decode answer to %s %s: %w", method, path, err)
			}
		}
	}
	return nil
}

// roundTrip runs the request so that a cancelled ctx returns at once. fasthttp has no
// cancellation, so with a cancellable ctx the request runs on a goroutine; when the caller
// gives up first, that goroutine finishes the exchange (the connection stays valid for the
// pool) and releases req and resp. owned reports whether the caller still owns them.
func (c *Client) roundTrip(ctx context.Context, req *fasthttp.Request, resp *fasthttp.Response) (owned bool, err error) {
	deadline, hasDeadline := ctx.Deadline()
	run := func() error {
		if hasDeadline {
			return c.hc.DoDeadline(req, resp, deadline)
		}
		return c.hc.Do(req, resp)
	}
	done := ctx.Done()
	if done == nil {
		return true, run()
	}
	ch := make(chan error)
	go func() {
		err := run()
		select {
		case ch <- err:
		case <-done:
			fasthttp.ReleaseRequest(req)
			fasthttp.ReleaseResponse(resp)
		}
	}()
	select {
	case err := <-ch:
		return true, err
	case <-done:
		return false, ctx.Err()
	}
}

// appendURI appends authority, version prefix, path and query.
func (c *Client) appendURI(dst []byte, path string, q []byte, versioned bool) []byte {
	dst = append(dst, c.host...)
	return c.appendPath(dst, path, q, versioned)
}

// appendPath appends the version prefix, path and query: the request-target.
func (c *Client) appendPath(dst []byte, path string, q []byte, versioned bool) []byte {
	if versioned {
		if v := c.version.Load(); v != nil {
			dst = append(dst, "/v"...)
			dst = append(dst, *v...)
		}
	}
	dst = append(dst, path...)
	if len(q) > 0 {
		dst = append(dst, '?')
		dst = append(dst, q...)
	}
	return dst
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

func putBuf(b *[]byte) {
	if cap(*b) <= 4096 {
		bufPool.Put(b)
	}
}
