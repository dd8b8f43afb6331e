package svcnet

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// dialTimeout bounds one connection attempt to an endpoint; a refused one fails at once and
// the next endpoint is tried.
const dialTimeout = 2 * time.Second

// tcpProxy accepts connections on one address and splices each to a ready endpoint. Its
// goroutines: one blocked in accept, and two per live connection.
type tcpProxy struct {
	ln   *net.TCPListener
	pool atomic.Pointer[pool]
	log  *slog.Logger

	mu     sync.Mutex
	conns  map[*net.TCPConn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// listenTCP listens on addr; an unspecified IPv4 address listens on every address, IPv6 too.
func listenTCP(addr netip.AddrPort) (*net.TCPListener, error) {
	network, laddr := "tcp", addr.String()
	if addr.Addr() == netip.IPv4Unspecified() {
		laddr = ":" + strconv.Itoa(int(addr.Port()))
	}
	ln, err := net.Listen(network, laddr)
	if err != nil {
		return nil, err
	}
	return ln.(*net.TCPListener), nil
}

func newTCPProxy(addr netip.AddrPort, backends []netip.AddrPort, affinity time.Duration, log *slog.Logger) (*tcpProxy, error) {
	ln, err := listenTCP(addr)
	if err != nil {
		return nil, err
	}
	p := &tcpProxy{ln: ln, log: log, conns: map[*net.TCPConn]struct{}{}}
	p.pool.Store(newPool(backends, affinity))
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

func (p *tcpProxy) update(b []netip.AddrPort, affinity time.Duration) {
	if cur := p.pool.Load(); cur != nil {
		if np := cur.with(b, affinity); np != cur {
			p.pool.Store(np)
		}
	}
}

// close stops accepting and ends the live connections: the address they were made to is
// going away with its Service.
func (p *tcpProxy) close() {
	p.mu.Lock()
	p.closed = true
	_ = p.ln.Close()
	for c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *tcpProxy) accept() {
	defer p.wg.Done()
	var delay time.Duration
	for {
		c, err := p.ln.AcceptTCP()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: wait a little, as net/http does.
			if delay == 0 {
				delay = 5 * time.Millisecond
			} else if delay *= 2; delay > time.Second {
				delay = time.Second
			}
			p.log.Warn("service proxy cannot accept", "addr", p.ln.Addr().String(), "err", err)
			time.Sleep(delay)
			continue
		}
		delay = 0
		if !p.track(c) {
			_ = c.Close()
			return
		}
		p.wg.Add(1)
		go p.serve(c)
	}
}

func (p *tcpProxy) track(c *net.TCPConn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *tcpProxy) untrack(cs ...*net.TCPConn) {
	p.mu.Lock()
	for _, c := range cs {
		delete(p.conns, c)
	}
	p.mu.Unlock()
}

func (p *tcpProxy) serve(c *net.TCPConn) {
	defer p.wg.Done()
	b := dialFirst(p.pool.Load(), c.RemoteAddr().(*net.TCPAddr).AddrPort().Addr().Unmap())
	if b == nil {
		// No endpoint took it: a reset tells the client at once, as a refused connection would.
		_ = c.SetLinger(0)
		_ = c.Close()
		p.untrack(c)
		return
	}
	if !p.track(b) {
		_ = b.Close()
		_ = c.Close()
		p.untrack(c)
		return
	}
	done := make(chan struct{})
	go func() {
		splice(b, c)
		close(done)
	}()
	splice(c, b)
	<-done
	_ = c.Close()
	_ = b.Close()
	p.untrack(c, b)
}

// dialFirst connects to the endpoints of p in turn and returns the first connection made.
func dialFirst(p *pool, client netip.Addr) *net.TCPConn {
	for _, a := range p.order(client) {
		c, err := net.DialTimeout("tcp", a.String(), dialTimeout)
		if err == nil {
			p.chose(client, a)
			return c.(*net.TCPConn)
		}
	}
	return nil
}

// splice copies src to dst until src ends (io.Copy between TCP sockets uses splice(2) on
// Linux: no user-space buffer), then half-closes dst so the peer sees the end too. On an error
// both are closed, which ends the other direction.
func splice(dst, src *net.TCPConn) {
	if _, err := io.Copy(dst, src); err != nil {
		_ = dst.SetLinger(0)
		_ = dst.Close()
		_ = src.Close()
		return
	}
	_ = dst.CloseWrite()
}
