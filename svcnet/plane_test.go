package svcnet

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// fakeVIPs records VIPs instead of touching the host: tests use 127.0.0.0/8 addresses, which
// are all local on Linux already.
type fakeVIPs struct {
	mu   sync.Mutex
	set  map[netip.Addr]bool
	fail map[netip.Addr]error
	log  []string
}

func newFakeVIPs() *fakeVIPs {
	return &fakeVIPs{set: map[netip.Addr]bool{}, fail: map[netip.Addr]error{}}
}

func (f *fakeVIPs) Add(a netip.Addr) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.fail[a]; err != nil {
		return err
	}
	f.set[a] = true
	f.log = append(f.log, "+"+a.String())
	return nil
}

func (f *fakeVIPs) Remove(a netip.Addr) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.set, a)
	f.log = append(f.log, "-"+a.String())
	return nil
}

func (f *fakeVIPs) List() ([]netip.Addr, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []netip.Addr
	for a := range f.set {
		out = append(out, a)
	}
	return out, nil
}

func (f *fakeVIPs) has(a netip.Addr) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.set[a]
}

// loopIP returns a random 127/8 address: a ClusterIP stand-in no other test run uses.
func loopIP() netip.Addr {
	return netip.AddrFrom4([4]byte{127, byte(10 + rand.IntN(200)), byte(rand.IntN(256)), byte(2 + rand.IntN(250))})
}

// freePort returns a port free for TCP and UDP on a.
func freePort(t *testing.T, a netip.Addr) uint16 {
	t.Helper()
	for range 50 {
		ln, err := net.Listen("tcp", netip.AddrPortFrom(a, 0).String())
		if err != nil {
			t.Fatal(err)
		}
		port := uint16(ln.Addr().(*net.TCPAddr).Port)
		ln.Close()
		if pc, err := net.ListenPacket("udp", netip.AddrPortFrom(a, port).String()); err == nil {
			pc.Close()
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}

func testPlane(t *testing.T) (*Plane, *fakeVIPs) {
	t.Helper()
	v := newFakeVIPs()
	p := NewPlane(Config{VIPs: v, ServiceCIDR: netip.MustParsePrefix("10.96.0.0/12"), UDPTimeout: 200 * time.Millisecond,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	t.Cleanup(p.Close)
	return p, v
}

// tcpBackend serves "<id>:<what the client sent until it half-closed>" and then closes.
func tcpBackend(t *testing.T, id string) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				in, _ := io.ReadAll(c)
				fmt.Fprintf(c, "%s:%s", id, in)
			}()
		}
	}()
	return netip.MustParseAddrPort(ln.Addr().String())
}

// refused returns an address where nothing listens.
func refused(t *testing.T) netip.AddrPort {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := netip.MustParseAddrPort(ln.Addr().String())
	ln.Close()
	return a
}

// askTCP sends msg, half-closes, and returns the whole answer.
func askTCP(addr netip.AddrPort, msg string) (string, error) {
	c, err := net.DialTimeout("tcp", addr.String(), 2*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, msg); err != nil {
		return "", err
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		return "", err
	}
	b, err := io.ReadAll(c)
	return string(b), err
}

func TestPoolRoundRobin(t *testing.T) {
	p := newPool([]netip.AddrPort{ap("10.0.0.1:80"), ap("10.0.0.2:80"), ap("10.0.0.3:80")}, 0)
	var firsts []string
	for range 6 {
		o := p.order(ip("192.0.2.9"))
		if len(o) != 3 {
			t.Fatalf("order %v", o)
		}
		firsts = append(firsts, o[0].Addr().String())
		seen := map[netip.AddrPort]bool{}
		for _, a := range o {
			seen[a] = true
		}
		if len(seen) != 3 {
			t.Errorf("order repeats an endpoint: %v", o)
		}
		p.chose(ip("192.0.2.9"), o[0]) // no affinity: remembered nowhere
	}
	want := "10.0.0.1 10.0.0.2 10.0.0.3 10.0.0.1 10.0.0.2 10.0.0.3"
	if got := strings.Join(firsts, " "); got != want {
		t.Errorf("first picks %s, want %s", got, want)
	}
	if p.sticky != nil {
		t.Error("a pool without affinity keeps clients")
	}
	if o := newPool(nil, 0).order(netip.Addr{}); o != nil {
		t.Errorf("empty pool order %v", o)
	}
	// The caller's slice is copied: changing it later changes nothing.
	in := []netip.AddrPort{ap("10.0.0.1:80")}
	q := newPool(in, 0)
	in[0] = ap("10.0.0.9:80")
	if q.order(netip.Addr{})[0] != ap("10.0.0.1:80") {
		t.Error("pool shares the caller's slice")
	}
	if q.with([]netip.AddrPort{ap("10.0.0.1:80")}, 0) != q {
		t.Error("an unchanged pool was replaced (its round-robin restarts)")
	}
}

func TestPoolAffinity(t *testing.T) {
	eps := []netip.AddrPort{ap("10.0.0.1:80"), ap("10.0.0.2:80"), ap("10.0.0.3:80")}
	p := newPool(eps, time.Hour)
	a, b := ip("192.0.2.1"), ip("192.0.2.2")
	first := p.order(a)[0]
	p.chose(a, first)
	p.chose(b, p.order(b)[0])
	for range 5 {
		if got := p.order(a)[0]; got != first {
			t.Fatalf("client a moved from %s to %s", first, got)
		}
	}
	// New endpoints keep a client on its endpoint while it is still there.
	np := p.with([]netip.AddrPort{eps[2], eps[1], eps[0], ap("10.0.0.4:80")}, time.Hour)
	if got := np.order(a)[0]; got != first {
		t.Errorf("after an endpoint change a went from %s to %s", first, got)
	}
	np = p.with(slices.DeleteFunc(slices.Clone(eps), func(e netip.AddrPort) bool { return e == first }), time.Hour)
	if got := np.order(a); got[0] == first || len(got) != 2 {
		t.Errorf("a still sent to its removed endpoint: %v", got)
	}
	// Past the timeout the client is spread again.
	short := newPool(eps, time.Nanosecond)
	short.chose(a, eps[2])
	time.Sleep(time.Millisecond)
	if got := short.order(a)[0]; got != eps[0] {
		t.Errorf("expired affinity still applies: %s", got)
	}
	// The table is bounded.
	big := newPool(eps, time.Hour)
	for i := range maxSticky + 10 {
		big.chose(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), eps[0])
	}
	if len(big.sticky) > maxSticky {
		t.Errorf("%d clients remembered", len(big.sticky))
	}
}

func TestProxyTCP(t *testing.T) {
	p, vips := testPlane(t)
	vip := loopIP()
	port := freePort(t, vip)
	bs := []netip.AddrPort{refused(t), tcpBackend(t, "b1"), tcpBackend(t, "b2"), tcpBackend(t, "b3")}
	svc := &Service{Namespace: "shop", Name: "web", ClusterIPs: []netip.Addr{vip},
		Ports: []Port{{Name: "http", Protocol: TCP, Port: port, Backends: bs}}}
	if err := p.Apply(svc); err != nil {
		t.Fatal(err)
	}
	if !vips.has(vip) {
		t.Fatal("VIP not added")
	}
	addr := netip.AddrPortFrom(vip, port)
	hits := map[string]int{}
	for i := range 8 {
		got, err := askTCP(addr, fmt.Sprintf("req%d", i))
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		id, body, _ := strings.Cut(got, ":")
		if body != fmt.Sprintf("req%d", i) {
			t.Errorf("request %d answered %q", i, got)
		}
		hits[id]++
	}
	if len(hits) != 3 || hits["b1"] < 2 || hits["b2"] < 2 || hits["b3"] < 2 {
		t.Errorf("spread %v: want every live endpoint, the refusing one skipped", hits)
	}

	// With sessionAffinity ClientIP one client stays on one endpoint.
	sticky := *svc
	sticky.Affinity = time.Hour
	if err := p.Apply(&sticky); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for range 4 {
		got, err := askTCP(addr, "s")
		if err != nil {
			t.Fatal(err)
		}
		id, _, _ := strings.Cut(got, ":")
		ids = append(ids, id)
	}
	if ids[0] != ids[1] || ids[1] != ids[2] || ids[2] != ids[3] {
		t.Errorf("affinity: answered by %v", ids)
	}

	// A large transfer both ways, half-closed by the client.
	big := strings.Repeat("0123456789", 200_000)
	got, err := askTCP(addr, big)
	if err != nil || !strings.HasSuffix(got, ":"+big) {
		t.Errorf("large transfer: %d bytes, %v", len(got), err)
	}

	// New endpoints take effect for new connections.
	b4 := tcpBackend(t, "b4")
	svc2 := *svc
	svc2.Ports = []Port{{Name: "http", Protocol: TCP, Port: port, Backends: []netip.AddrPort{b4}}}
	if err := p.Apply(&svc2); err != nil {
		t.Fatal(err)
	}
	if got, err := askTCP(addr, "x"); err != nil || got != "b4:x" {
		t.Errorf("after update: %q %v", got, err)
	}

	// No endpoint: the connection is reset at once.
	svc3 := *svc
	svc3.Ports = []Port{{Name: "http", Protocol: TCP, Port: port}}
	if err := p.Apply(&svc3); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	if got, err := askTCP(addr, "x"); err == nil && got != "" || time.Since(t0) > time.Second {
		t.Errorf("no endpoints: %q %v after %s", got, err, time.Since(t0))
	}

	// Removal closes the listener and takes the VIP away.
	if err := p.Remove("shop", "web"); err != nil {
		t.Fatal(err)
	}
	if c, err := net.DialTimeout("tcp", addr.String(), time.Second); err == nil {
		c.Close()
		t.Error("listener still open after Remove")
	}
	if vips.has(vip) {
		t.Error("VIP still there after Remove")
	}
}

// Live connections end with their Service, and no goroutine stays behind.
func TestProxyTCPCloseEndsConnections(t *testing.T) {
	base := runtime.NumGoroutine()
	p, _ := testPlane(t)
	vip := loopIP()
	port := freePort(t, vip)
	hold, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := hold.Accept()
		if err == nil {
			accepted <- c
		}
	}()
	svc := &Service{Namespace: "a", Name: "b", ClusterIPs: []netip.Addr{vip},
		Ports: []Port{{Protocol: TCP, Port: port, Backends: []netip.AddrPort{netip.MustParseAddrPort(hold.Addr().String())}}}}
	if err := p.Apply(svc); err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", netip.AddrPortFrom(vip, port).String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	be := <-accepted
	defer be.Close()
	if err := p.Remove("a", "b"); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	var ne net.Error
	if _, err := c.Read(make([]byte, 1)); err == nil || errors.As(err, &ne) && ne.Timeout() {
		t.Errorf("client connection survived its Service: %v", err)
	}
	p.Close()
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > base+1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > base+1 {
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines after Close, %d before:\n%s", n, base, buf[:runtime.Stack(buf, true)])
	}
}

// udpBackend answers each datagram with "<id>:<datagram>".
func udpBackend(t *testing.T, id string) netip.AddrPort {
	t.Helper()
	pc, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(ap("127.0.0.1:0")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := pc.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			_, _ = pc.WriteToUDPAddrPort([]byte(id+":"+string(buf[:n])), from)
		}
	}()
	return netip.MustParseAddrPort(pc.LocalAddr().String())
}

// askUDP sends from a connected socket, which accepts answers only from addr.
func askUDP(addr netip.AddrPort, msg string) (string, error) {
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(addr))
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte(msg)); err != nil {
		return "", err
	}
	buf := make([]byte, 2048)
	n, err := c.Read(buf)
	return string(buf[:n]), err
}

func TestProxyUDP(t *testing.T) {
	p, _ := testPlane(t)
	vip := loopIP()
	port := freePort(t, vip)
	node := freePort(t, netip.IPv4Unspecified())
	svc := &Service{Namespace: "shop", Name: "dns", ClusterIPs: []netip.Addr{vip},
		Ports: []Port{{Name: "dns", Protocol: UDP, Port: port, NodePort: node, Backends: []netip.AddrPort{udpBackend(t, "u1"), udpBackend(t, "u2")}}}}
	if err := p.Apply(svc); err != nil {
		t.Fatal(err)
	}
	hits := map[string]int{}
	for i := range 4 {
		got, err := askUDP(netip.AddrPortFrom(vip, port), fmt.Sprint("q", i))
		if err != nil {
			t.Fatalf("datagram %d: %v", i, err)
		}
		id, body, _ := strings.Cut(got, ":")
		if body != fmt.Sprint("q", i) {
			t.Errorf("answer %q", got)
		}
		hits[id]++
	}
	if hits["u1"] != 2 || hits["u2"] != 2 {
		t.Errorf("spread %v", hits)
	}
	// The NodePort listens on every address and answers from the one the client used.
	for _, a := range []string{"127.0.0.1", "127.0.0.2"} {
		got, err := askUDP(netip.AddrPortFrom(ip(a), node), "n")
		if err != nil || !strings.HasSuffix(got, ":n") {
			t.Errorf("NodePort via %s: %q %v", a, got, err)
		}
	}
	// Several datagrams of one client stay on one endpoint (one session).
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(vip, port)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var first string
	for i := range 3 {
		_ = c.SetDeadline(time.Now().Add(2 * time.Second))
		c.Write([]byte("s"))
		buf := make([]byte, 64)
		n, err := c.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		id, _, _ := strings.Cut(string(buf[:n]), ":")
		if i == 0 {
			first = id
		} else if id != first {
			t.Errorf("session moved from %s to %s", first, id)
		}
	}
	// Sessions end once idle: nothing is left running.
	u := p.lns[lkey{UDP, netip.AddrPortFrom(vip, port)}].l.(*udpProxy)
	deadline := time.Now().Add(3 * time.Second)
	for {
		u.mu.Lock()
		n := len(u.sessions)
		u.mu.Unlock()
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d sessions still open after the idle timeout", n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestPlaneConflictsAndPrune(t *testing.T) {
	p, vips := testPlane(t)
	vip1, vip2 := loopIP(), loopIP()
	node := freePort(t, netip.IPv4Unspecified())
	a := &Service{Namespace: "n", Name: "a", ClusterIPs: []netip.Addr{vip1}, Ports: []Port{{Protocol: TCP, Port: 80, NodePort: node}}}
	if err := p.Apply(a); err != nil {
		t.Fatalf("a: %v", err)
	}
	b := &Service{Namespace: "n", Name: "b", ClusterIPs: []netip.Addr{vip2}, Ports: []Port{{Protocol: TCP, Port: 80, NodePort: node}, {Protocol: SCTP, Port: 90}}}
	err := p.Apply(b)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("port %d/TCP on 0.0.0.0 is already used by service n/a", node)) ||
		!strings.Contains(err.Error(), "port 90/SCTP: the SCTP protocol is not supported") {
		t.Errorf("conflict: %v", err)
	}
	if !p.Listening("n", "b", TCP, netip.AddrPortFrom(vip2, 80)) {
		t.Error("b's own ClusterIP port should still be served")
	}
	c := &Service{Namespace: "n", Name: "c", ClusterIPs: []netip.Addr{vip1}, Ports: []Port{{Protocol: TCP, Port: 81}}}
	if err := p.Apply(c); err == nil || !strings.Contains(err.Error(), "ClusterIP "+vip1.String()+" is already used by service n/a") {
		t.Errorf("ClusterIP conflict: %v", err)
	}
	// Once a is gone, b gets the NodePort on its next Apply.
	if err := p.Remove("n", "a"); err != nil {
		t.Fatal(err)
	}
	if err := p.Apply(&Service{Namespace: "n", Name: "b", ClusterIPs: []netip.Addr{vip2}, Ports: []Port{{Protocol: TCP, Port: 80, NodePort: node}}}); err != nil {
		t.Errorf("retry: %v", err)
	}
	// A VIP that failed leaves the rest working and is reported.
	vip3 := loopIP()
	vips.fail[vip3] = errors.New("operation not permitted")
	node2 := freePort(t, netip.IPv4Unspecified())
	err = p.Apply(&Service{Namespace: "n", Name: "d", ClusterIPs: []netip.Addr{vip3}, Ports: []Port{{Protocol: TCP, Port: 80, NodePort: node2}}})
	if err == nil || !strings.Contains(err.Error(), "operation not permitted") {
		t.Errorf("VIP failure: %v", err)
	}
	if p.Listening("n", "d", TCP, netip.AddrPortFrom(vip3, 80)) || !p.Listening("n", "d", TCP, netip.AddrPortFrom(netip.IPv4Unspecified(), node2)) {
		t.Error("d: no ClusterIP listener without its VIP, but its NodePort")
	}
	// Prune removes VIPs nobody owns (left by an earlier run), and keeps the others.
	stale := loopIP()
	vips.set[stale] = true
	if err := p.Prune(); err != nil {
		t.Fatal(err)
	}
	if vips.has(stale) || !vips.has(vip2) {
		t.Errorf("after Prune: %v", vips.set)
	}
	// Headless and ExternalName Services need no VIP and no listener.
	if err := p.Apply(&Service{Namespace: "n", Name: "h", Headless: true, Ports: []Port{{Protocol: TCP, Port: 80}}}); err != nil {
		t.Error(err)
	}
	if err := p.Apply(&Service{Namespace: "n", Name: "x", ExternalName: "example.org", Ports: []Port{{Protocol: TCP, Port: 80}}}); err != nil {
		t.Error(err)
	}
	if len(p.svcs["n/h"].lns)+len(p.svcs["n/x"].lns)+len(p.svcs["n/h"].vips) != 0 {
		t.Error("headless or ExternalName got listeners")
	}
	// Close keeps VIPs for the next start.
	p.Close()
	if !vips.has(vip2) {
		t.Error("Close removed a VIP")
	}
	if err := p.Apply(a); err == nil {
		t.Error("Apply after Close succeeded")
	}
}

// dnsAsk sends a query over UDP or TCP and parses the answer with the oracle.
func dnsAsk(t *testing.T, addr netip.AddrPort, tcp bool, name string, qtype dnsmessage.Type, edns int) (dnsmessage.Header, []dnsmessage.Resource) {
	t.Helper()
	q := buildQuery(t, name, qtype, edns, nil)
	var out []byte
	if tcp {
		c, err := net.DialTimeout("tcp", addr.String(), 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		if err := writeTCPMsg(c, q); err != nil {
			t.Fatal(err)
		}
		if out, err = readTCPMsg(bufio.NewReader(c)); err != nil {
			t.Fatal(err)
		}
	} else {
		c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(addr))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Write(q); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 65535)
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out = buf[:n]
	}
	var p dnsmessage.Parser
	h, err := p.Start(out)
	if err != nil {
		t.Fatal(err)
	}
	if h.ID != 0xBEEF {
		t.Errorf("id %x", h.ID)
	}
	if _, err := p.AllQuestions(); err != nil {
		t.Fatal(err)
	}
	ans, err := p.AllAnswers()
	if err != nil {
		t.Fatal(err)
	}
	return h, ans
}

func answerStrings(ans []dnsmessage.Resource) []string {
	var out []string
	for _, a := range ans {
		switch b := a.Body.(type) {
		case *dnsmessage.AResource:
			out = append(out, a.Header.Name.String()+" A "+netip.AddrFrom4(b.A).String())
		case *dnsmessage.CNAMEResource:
			out = append(out, a.Header.Name.String()+" CNAME "+b.CNAME.String())
		default:
			out = append(out, a.Header.Name.String()+" "+a.Header.Type.String())
		}
	}
	return out
}

func TestDNSServer(t *testing.T) {
	p, _ := testPlane(t)
	// The upstream stands in for the host's nameservers: it knows www.example.org.
	var upstreamCalls int
	var mu sync.Mutex
	p.dns.exchange = func(msg []byte, tcp bool) ([]byte, error) {
		mu.Lock()
		upstreamCalls++
		mu.Unlock()
		q, err := parseQuery(msg)
		if err != nil {
			return nil, err
		}
		if strings.EqualFold(q.name, "fail.example.org") {
			return nil, errors.New("timeout")
		}
		r := &response{rcode: rcodeNXDomain}
		if strings.EqualFold(q.name, "www.example.org") && q.qtype == typeA {
			r = &response{answer: []rr{{typ: typeCNAME, ttl: 60, host: "cdn.example.org"}, {name: "cdn.example.org", typ: typeA, ttl: 60, addr: ip("192.0.2.80")}}}
		}
		return r.encode(q, 0), nil
	}
	dnsIP := loopIP()
	port := freePort(t, dnsIP)
	if err := p.Apply(&Service{Namespace: "kube-system", Name: "kube-dns", ClusterIPs: []netip.Addr{dnsIP}, DNS: true,
		Ports: []Port{{Name: "dns", Protocol: UDP, Port: port}, {Name: "dns-tcp", Protocol: TCP, Port: port}}}); err != nil {
		t.Fatal(err)
	}
	if err := p.Apply(&Service{Namespace: "shop", Name: "web", ClusterIPs: ips("10.96.0.20"), Ports: []Port{{Protocol: TCP, Port: 80}}}); err == nil {
		// 10.96.0.20 is not local in tests: its listener fails, its DNS record exists all the same.
		t.Log("10.96.0.20 was bindable")
	}
	if err := p.Apply(&Service{Namespace: "ext", Name: "www", ExternalName: "www.example.org"}); err != nil {
		t.Fatal(err)
	}
	addr := netip.AddrPortFrom(dnsIP, port)
	for _, tcp := range []bool{false, true} {
		h, ans := dnsAsk(t, addr, tcp, "web.shop.svc.cluster.local.", dnsmessage.TypeA, 0)
		if got := answerStrings(ans); h.RCode != dnsmessage.RCodeSuccess || !h.Authoritative || !slices.Equal(got, []string{"web.shop.svc.cluster.local. A 10.96.0.20"}) {
			t.Errorf("tcp=%v service: %v %v", tcp, h, got)
		}
		h, _ = dnsAsk(t, addr, tcp, "nope.shop.svc.cluster.local.", dnsmessage.TypeA, 1232)
		if h.RCode != dnsmessage.RCodeNameError {
			t.Errorf("tcp=%v unknown: %v", tcp, h.RCode)
		}
		h, ans = dnsAsk(t, addr, tcp, "www.example.org.", dnsmessage.TypeA, 0)
		if got := answerStrings(ans); h.RCode != dnsmessage.RCodeSuccess || len(got) != 2 {
			t.Errorf("tcp=%v forwarded: %v %v", tcp, h, got)
		}
		h, ans = dnsAsk(t, addr, tcp, "www.ext.svc.cluster.local.", dnsmessage.TypeA, 0)
		want := []string{"www.ext.svc.cluster.local. CNAME www.example.org.", "www.example.org. CNAME cdn.example.org.", "cdn.example.org. A 192.0.2.80"}
		if got := answerStrings(ans); h.RCode != dnsmessage.RCodeSuccess || !slices.Equal(got, want) {
			t.Errorf("tcp=%v ExternalName: %v\n got %q\nwant %q", tcp, h, got, want)
		}
		h, _ = dnsAsk(t, addr, tcp, "fail.example.org.", dnsmessage.TypeA, 0)
		if h.RCode != dnsmessage.RCodeServerFailure {
			t.Errorf("tcp=%v upstream failure: %v", tcp, h.RCode)
		}
	}
	mu.Lock()
	calls := upstreamCalls
	mu.Unlock()
	if calls != 6 {
		t.Errorf("%d upstream calls, want 6 (cluster names never go upstream)", calls)
	}
	// Garbage gets FORMERR over UDP and does not stop the server.
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	c.Write([]byte{0xAB, 0xCD, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0})
	buf := make([]byte, 512)
	if n, err := c.Read(buf); err != nil || n != 12 || buf[3]&0xF != rcodeFormErr || buf[0] != 0xAB {
		t.Errorf("garbage: %x %v", buf[:n], err)
	}
	if h, _ := dnsAsk(t, addr, false, "web.shop.svc.cluster.local.", dnsmessage.TypeA, 0); h.RCode != dnsmessage.RCodeSuccess {
		t.Error("server stopped after garbage")
	}
}

func TestParseResolvConf(t *testing.T) {
	conf := "# comment\nsearch example.org\nnameserver 192.0.2.53\nnameserver 10.96.0.10\nnameserver fe80::1%eth0\noptions ndots:2\nnameserver ::1\nnameserver 8.8.8.8\n"
	got := parseResolvConf(conf, netip.MustParsePrefix("10.96.0.0/12"))
	want := []string{"192.0.2.53:53", "[fe80::1%eth0]:53", "[::1]:53"}
	var s []string
	for _, a := range got {
		s = append(s, a.String())
	}
	if !slices.Equal(s, want) {
		t.Errorf("servers %v, want %v", s, want)
	}
	if d := parseResolvConf("", netip.Prefix{}); len(d) != 2 || d[0].String() != "127.0.0.1:53" {
		t.Errorf("default %v", d)
	}
}
