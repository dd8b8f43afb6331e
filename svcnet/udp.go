package svcnet

import (
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultUDPTimeout ends a UDP session after this long without a datagram either way, as
// conntrack forgets an unanswered UDP flow.
const DefaultUDPTimeout = 30 * time.Second

// maxDatagram is the largest UDP payload.
const maxDatagram = 65535

// bufs holds datagram buffers for UDP sessions, which come and go with their clients.
var bufs = sync.Pool{New: func() any { b := make([]byte, maxDatagram); return &b }}

// epoch makes monotonic timestamps that fit an atomic.Int64.
var epoch = time.Now()

func mono() int64 { return int64(time.Since(epoch)) }

// udpProxy relays datagrams sent to one address to ready endpoints. Each client address gets
// a session: a connected socket to one endpoint, whose answers go back to the client from
// the address it sent to. A session ends after the idle timeout; its deadline is the only
// timer, and it exists only while the session does.
type udpProxy struct {
	pc       *net.UDPConn
	wildcard bool // IP_PKTINFO tells and sets the local address (NodePorts)
	pool     atomic.Pointer[pool]
	timeout  time.Duration
	log      *slog.Logger

	mu       sync.Mutex
	sessions map[netip.AddrPort]*udpSession
	closed   bool
	wg       sync.WaitGroup
}

type udpSession struct {
	p      *udpProxy
	client netip.AddrPort
	oob    []byte // IP_PKTINFO for answers on a wildcard socket
	be     *net.UDPConn
	last   atomic.Int64 // mono() of the last datagram
}

// listenUDP listens on addr; on an unspecified address it asks for each datagram's local address.
func listenUDP(addr netip.AddrPort) (*net.UDPConn, bool, error) {
	if addr.Addr().IsUnspecified() {
		c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(addr))
		if err != nil {
			return nil, false, err
		}
		return c, setPktinfo(c) == nil, nil
	}
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(addr))
	return c, false, err
}

func newUDPProxy(addr netip.AddrPort, backends []netip.AddrPort, affinity, timeout time.Duration, log *slog.Logger) (*udpProxy, error) {
	pc, wildcard, err := listenUDP(addr)
	if err != nil {
		return nil, err
	}
	if timeout <= 0 {
		timeout = DefaultUDPTimeout
	}
	p := &udpProxy{pc: pc, wildcard: wildcard, timeout: timeout, log: log, sessions: map[netip.AddrPort]*udpSession{}}
	p.pool.Store(newPool(backends, affinity))
	p.wg.Add(1)
	go p.read()
	return p, nil
}

func (p *udpProxy) update(b []netip.AddrPort, affinity time.Duration) {
	if cur := p.pool.Load(); cur != nil {
		if np := cur.with(b, affinity); np != cur {
			p.pool.Store(np)
		}
	}
}

func (p *udpProxy) close() {
	p.mu.Lock()
	p.closed = true
	_ = p.pc.Close()
	for _, s := range p.sessions {
		_ = s.be.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *udpProxy) read() {
	defer p.wg.Done()
	buf := make([]byte, maxDatagram)
	var oob []byte
	if p.wildcard {
		oob = make([]byte, oobSize)
	}
	for {
		var n, oobn int
		var from netip.AddrPort
		var err error
		if p.wildcard {
			n, oobn, _, from, err = p.pc.ReadMsgUDPAddrPort(buf, oob)
		} else {
			n, from, err = p.pc.ReadFromUDPAddrPort(buf)
		}
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // an ICMP error reported on the socket: nothing to do
		}
		var local netip.Addr
		if p.wildcard {
			local = pktDst(oob[:oobn])
		}
		p.forward(buf[:n], from, local)
	}
}

// forward sends a client's datagram on its session, opening one if needed. A write refused
// by an endpoint (an ICMP port unreachable came back) ends the session, and the datagram goes
// to the next endpoint.
func (p *udpProxy) forward(b []byte, from netip.AddrPort, local netip.Addr) {
	for range 2 {
		s := p.session(from, local)
		if s == nil {
			return // no ready endpoint: dropped, as a datagram to a closed port would be
		}
		s.last.Store(mono())
		if _, err := s.be.Write(b); err == nil {
			return
		}
		s.end()
	}
}

func (p *udpProxy) session(from netip.AddrPort, local netip.Addr) *udpSession {
	p.mu.Lock()
	s := p.sessions[from]
	p.mu.Unlock()
	if s != nil {
		return s
	}
	var be *net.UDPConn
	pl := p.pool.Load()
	for _, a := range pl.order(from.Addr()) {
		c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(a))
		if err == nil {
			pl.chose(from.Addr(), a)
			be = c
			break
		}
	}
	if be == nil {
		return nil
	}
	s = &udpSession{p: p, client: from, be: be}
	if p.wildcard && local.IsValid() {
		s.oob = pktSrc(local)
	}
	s.last.Store(mono())
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		_ = be.Close()
		return nil
	}
	p.sessions[from] = s
	p.wg.Add(1)
	go s.answer()
	return s
}

// answer relays the endpoint's datagrams to the client until the session idles out.
func (s *udpSession) answer() {
	p := s.p
	defer p.wg.Done()
	defer s.end()
	bp := bufs.Get().(*[]byte)
	defer bufs.Put(bp)
	buf := *bp
	for {
		_ = s.be.SetReadDeadline(time.Now().Add(p.timeout))
		n, err := s.be.Read(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && time.Duration(mono()-s.last.Load()) < p.timeout {
				continue // the client spoke meanwhile
			}
			return
		}
		s.last.Store(mono())
		if s.oob != nil {
			_, _, err = p.pc.WriteMsgUDPAddrPort(buf[:n], s.oob, s.client)
		} else {
			_, err = p.pc.WriteToUDPAddrPort(buf[:n], s.client)
		}
		if errors.Is(err, net.ErrClosed) {
			return
		}
	}
}

func (s *udpSession) end() {
	p := s.p
	p.mu.Lock()
	if p.sessions[s.client] == s {
		delete(p.sessions, s.client)
	}
	p.mu.Unlock()
	_ = s.be.Close()
}
