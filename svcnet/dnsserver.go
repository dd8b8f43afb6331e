package svcnet

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"
)

const (
	// upstreamTimeout bounds one exchange with one upstream server; the next is tried after.
	upstreamTimeout = 2 * time.Second
	// maxForwards bounds the queries forwarded at once: a flood gets SERVFAIL, not goroutines.
	maxForwards = 64
	// tcpIdle closes a DNS-over-TCP connection that sends no query for this long.
	tcpIdle = 10 * time.Second
	// maxChase bounds the CNAME chain followed inside the cluster domain.
	maxChase = 8
)

// dnsServer answers queries on the listeners the Plane opens for the cluster DNS Service:
// cluster names from the Resolver, everything else by the upstream servers.
type dnsServer struct {
	res *Resolver
	up  *upstreams
	log *slog.Logger
	sem chan struct{}
	// exchange asks the upstream servers; a field so tests can stand in for them.
	exchange func(msg []byte, tcp bool) ([]byte, error)
}

func newDNSServer(res *Resolver, up *upstreams, log *slog.Logger) *dnsServer {
	s := &dnsServer{res: res, up: up, log: log, sem: make(chan struct{}, maxForwards)}
	s.exchange = s.forward
	return s
}

// dnsUDP serves DNS on one UDP address.
type dnsUDP struct {
	s  *dnsServer
	pc *net.UDPConn
	wg sync.WaitGroup
}

func (s *dnsServer) listenUDP(addr netip.AddrPort) (listener, error) {
	pc, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(addr))
	if err != nil {
		return nil, err
	}
	l := &dnsUDP{s: s, pc: pc}
	l.wg.Add(1)
	go l.serve()
	return l, nil
}

func (l *dnsUDP) update([]netip.AddrPort, time.Duration) {}

func (l *dnsUDP) close() {
	_ = l.pc.Close()
	l.wg.Wait()
}

// maxQuery is the largest query read over UDP: a query is one question and an OPT record,
// far below it; a longer datagram is cut and answered FORMERR.
const maxQuery = 4096

func (l *dnsUDP) serve() {
	defer l.wg.Done()
	buf := make([]byte, maxQuery)
	for {
		n, from, err := l.pc.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		msg := buf[:n]
		q, err := parseQuery(msg)
		if err != nil {
			// Malformed queries get FORMERR; responses (QR set) get nothing, so no loop.
			if out := errorReply(msg, rcodeFormErr); out != nil {
				_, _ = l.pc.WriteToUDPAddrPort(out, from)
			}
			continue
		}
		size := min(q.udpSize, ednsUDPSize)
		if !q.edns {
			size = minUDPSize
		}
		if out, done := l.s.answerLocal(q, size); done {
			_, _ = l.pc.WriteToUDPAddrPort(out, from)
			continue
		}
		// Forwarding waits on the network: it gets its own goroutine, within a bound.
		select {
		case l.s.sem <- struct{}{}:
		default:
			_, _ = l.pc.WriteToUDPAddrPort((&response{rcode: rcodeServFail}).encode(q, size), from)
			continue
		}
		// Not waited for on close: it ends within the upstream timeouts, and its answer then
		// goes nowhere.
		own := append([]byte(nil), msg...)
		go func() {
			defer func() { <-l.s.sem }()
			_, _ = l.pc.WriteToUDPAddrPort(l.s.answerRemote(q, own, size, false), from)
		}()
	}
}

// dnsTCP serves DNS over TCP on one address: length-prefixed messages, answered in order.
type dnsTCP struct {
	s  *dnsServer
	ln *net.TCPListener

	mu     sync.Mutex
	conns  map[*net.TCPConn]struct{}
	closed bool
	wg     sync.WaitGroup
}

func (s *dnsServer) listenTCP(addr netip.AddrPort) (listener, error) {
	ln, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(addr))
	if err != nil {
		return nil, err
	}
	l := &dnsTCP{s: s, ln: ln, conns: map[*net.TCPConn]struct{}{}}
	l.wg.Add(1)
	go l.accept()
	return l, nil
}

func (l *dnsTCP) update([]netip.AddrPort, time.Duration) {}

func (l *dnsTCP) close() {
	l.mu.Lock()
	l.closed = true
	_ = l.ln.Close()
	for c := range l.conns {
		_ = c.Close()
	}
	l.mu.Unlock()
	l.wg.Wait()
}

func (l *dnsTCP) accept() {
	defer l.wg.Done()
	for {
		c, err := l.ln.AcceptTCP()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		l.mu.Lock()
		if l.closed {
			l.mu.Unlock()
			_ = c.Close()
			return
		}
		l.conns[c] = struct{}{}
		l.wg.Add(1)
		l.mu.Unlock()
		go l.serve(c)
	}
}

func (l *dnsTCP) serve(c *net.TCPConn) {
	defer l.wg.Done()
	defer func() {
		l.mu.Lock()
		delete(l.conns, c)
		l.mu.Unlock()
		_ = c.Close()
	}()
	r := bufio.NewReaderSize(c, 512)
	for {
		_ = c.SetReadDeadline(time.Now().Add(tcpIdle))
		msg, err := readTCPMsg(r)
		if err != nil {
			return
		}
		var out []byte
		q, err := parseQuery(msg)
		switch {
		case err != nil:
			out = errorReply(msg, rcodeFormErr)
		default:
			var done bool
			if out, done = l.s.answerLocal(q, 0); !done {
				out = l.s.answerRemote(q, msg, 0, true)
			}
		}
		if out == nil {
			return
		}
		_ = c.SetWriteDeadline(time.Now().Add(tcpIdle))
		if err := writeTCPMsg(c, out); err != nil {
			return
		}
	}
}

func readTCPMsg(r io.Reader) ([]byte, error) {
	var l [2]byte
	if _, err := io.ReadFull(r, l[:]); err != nil {
		return nil, err
	}
	msg := make([]byte, binary.BigEndian.Uint16(l[:]))
	if _, err := io.ReadFull(r, msg); err != nil {
		return nil, err
	}
	return msg, nil
}

func writeTCPMsg(w io.Writer, msg []byte) error {
	b := make([]byte, 2, 2+len(msg))
	binary.BigEndian.PutUint16(b, uint16(len(msg)))
	_, err := w.Write(append(b, msg...))
	return err
}

// answerLocal answers what needs no upstream server: cluster names, and opcodes other than
// QUERY. done is false when the query needs answerRemote.
func (s *dnsServer) answerLocal(q *query, size int) (out []byte, done bool) {
	if q.opcode() != 0 {
		return (&response{rcode: rcodeNotImp}).encode(q, size), true
	}
	l := s.lookup(q)
	if l.forward || l.chase != "" {
		return nil, false
	}
	return l.response.encode(q, size), true
}

// lookup asks the resolver about class IN (or ANY) questions; other classes (CHAOS) are
// the upstream servers' business.
func (s *dnsServer) lookup(q *query) lookup {
	if q.qclass != classIN && q.qclass != classANY {
		return lookup{forward: true}
	}
	return s.res.Lookup(q.name, q.qtype)
}

// answerRemote answers a query that needs the upstream servers: a name outside the cluster,
// or the target of an ExternalName CNAME.
func (s *dnsServer) answerRemote(q *query, msg []byte, size int, tcp bool) []byte {
	l := s.lookup(q)
	switch {
	case l.forward:
		out, err := s.exchange(msg, tcp)
		if err != nil {
			s.log.Debug("dns: no upstream answer", "name", q.name, "err", err)
			return (&response{rcode: rcodeServFail}).encode(q, size)
		}
		return out
	case l.chase != "":
		s.chase(&l, q.qtype, tcp)
	}
	return l.response.encode(q, size)
}

// chase appends the records of a CNAME target: from the resolver inside the cluster domain,
// else from the upstream servers. Failures leave the CNAME alone: the client can follow it.
func (s *dnsServer) chase(l *lookup, qtype uint16, tcp bool) {
	target := l.chase
	for range maxChase {
		next := s.res.Lookup(target, qtype)
		if next.forward {
			break
		}
		for _, r := range next.answer {
			if r.name == "" {
				r.name = target
			}
			l.answer = append(l.answer, r)
		}
		if next.chase == "" {
			l.rcode = next.rcode
			return
		}
		target = next.chase
	}
	if !s.res.Lookup(target, qtype).forward {
		return // a CNAME loop inside the cluster domain
	}
	out, err := s.exchange(newQuery(target, qtype), tcp)
	if err != nil {
		return
	}
	rcode, rrs, err := parseAnswers(out)
	if err != nil {
		return
	}
	l.answer = append(l.answer, rrs...)
	if rcode == rcodeNXDomain {
		l.rcode = rcodeNXDomain
	}
}

// newQuery builds a recursive query for name and qtype with a random id.
func newQuery(name string, qtype uint16) []byte {
	b := make([]byte, headerLen, headerLen+len(name)+6)
	binary.BigEndian.PutUint16(b[0:], uint16(rand.Uint32()))
	binary.BigEndian.PutUint16(b[2:], flagRD)
	binary.BigEndian.PutUint16(b[4:], 1)
	b = appendName(b, name)
	b = binary.BigEndian.AppendUint16(b, qtype)
	return binary.BigEndian.AppendUint16(b, classIN)
}

// forward sends msg to the upstream servers in turn and returns the first answer. Over UDP a
// truncated answer is asked again over TCP when the client came over TCP.
func (s *dnsServer) forward(msg []byte, tcp bool) ([]byte, error) {
	servers := s.up.servers()
	if len(servers) == 0 {
		return nil, errors.New("no upstream nameserver")
	}
	var last error
	for _, srv := range servers {
		out, err := exchangeUDP(srv, msg)
		if err == nil && tcp && len(out) > 2 && out[2]&(flagTC>>8) != 0 {
			out, err = exchangeTCP(srv, msg)
		}
		if err == nil {
			return out, nil
		}
		last = err
	}
	return nil, last
}

func exchangeUDP(srv netip.AddrPort, msg []byte) ([]byte, error) {
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(srv))
	if err != nil {
		return nil, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(upstreamTimeout))
	if _, err := c.Write(msg); err != nil {
		return nil, err
	}
	bp := bufs.Get().(*[]byte)
	defer bufs.Put(bp)
	buf := *bp
	for {
		n, err := c.Read(buf)
		if err != nil {
			return nil, err
		}
		// A stray or spoofed datagram is not the answer: the id and QR bit must match.
		if n >= headerLen && buf[0] == msg[0] && buf[1] == msg[1] && buf[2]&(flagQR>>8) != 0 {
			return append([]byte(nil), buf[:n]...), nil
		}
	}
}

func exchangeTCP(srv netip.AddrPort, msg []byte) ([]byte, error) {
	c, err := net.DialTimeout("tcp", srv.String(), upstreamTimeout)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * upstreamTimeout))
	if err := writeTCPMsg(c, msg); err != nil {
		return nil, err
	}
	return readTCPMsg(c)
}

// upstreams are the nameservers of the host's resolv.conf, read again when the file changes
// (DHCP rewrites it); the check is made when a query is forwarded, never on a timer.
type upstreams struct {
	path string
	skip netip.Prefix // k2d's own service range: forwarding there would loop

	mu      sync.Mutex
	list    []netip.AddrPort
	mtime   time.Time
	size    int64
	checked time.Time
}

func newUpstreams(path string, skip netip.Prefix) *upstreams {
	if path == "" {
		path = "/etc/resolv.conf"
	}
	return &upstreams{path: path, skip: skip}
}

// resolvRecheck is how often the file's mtime is looked at, at most.
const resolvRecheck = 5 * time.Second

func (u *upstreams) servers() []netip.AddrPort {
	u.mu.Lock()
	defer u.mu.Unlock()
	now := time.Now()
	if !u.checked.IsZero() && now.Sub(u.checked) < resolvRecheck {
		return u.list
	}
	u.checked = now
	st, err := os.Stat(u.path)
	if err == nil && st.ModTime().Equal(u.mtime) && st.Size() == u.size && u.list != nil {
		return u.list
	}
	data, rerr := os.ReadFile(u.path)
	if rerr != nil {
		data = nil
	}
	if err == nil {
		u.mtime, u.size = st.ModTime(), st.Size()
	}
	u.list = parseResolvConf(string(data), u.skip)
	return u.list
}

// parseResolvConf returns the nameservers of a resolv.conf, port 53, at most three as libc
// uses; with none, the local resolver as libc assumes. Servers in skip are left out.
func parseResolvConf(data string, skip netip.Prefix) []netip.AddrPort {
	var out []netip.AddrPort
	for _, line := range strings.Split(data, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != "nameserver" {
			continue
		}
		a, err := netip.ParseAddr(f[1])
		if err != nil || skip.IsValid() && skip.Contains(a.Unmap()) {
			continue
		}
		if len(out) < 3 {
			out = append(out, netip.AddrPortFrom(a.Unmap(), 53))
		}
	}
	if out == nil {
		out = []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:53"), netip.MustParseAddrPort("[::1]:53")}
	}
	return out
}
