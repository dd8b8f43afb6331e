package svcnet

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"time"
)

// Protocol is the transport of a service port.
type Protocol uint8

// Protocols.
const (
	TCP Protocol = iota + 1
	UDP
	SCTP
)

func (p Protocol) String() string {
	switch p {
	case TCP:
		return "TCP"
	case UDP:
		return "UDP"
	case SCTP:
		return "SCTP"
	}
	return "unknown"
}

func (p Protocol) lower() string {
	switch p {
	case TCP:
		return "tcp"
	case UDP:
		return "udp"
	case SCTP:
		return "sctp"
	}
	return ""
}

// Service is what the data plane needs of one Kubernetes Service and its ready endpoints.
type Service struct {
	Namespace, Name string
	// ClusterIPs are the virtual addresses: each becomes a VIP with a listener per port.
	// Empty for headless and ExternalName Services.
	ClusterIPs []netip.Addr
	// Headless Services (clusterIP None) resolve to their endpoints.
	Headless bool
	// ExternalName resolves as a CNAME to this name.
	ExternalName string
	// LoadBalancerIP, when valid, is listened on at each service port (type LoadBalancer).
	LoadBalancerIP netip.Addr
	// DNS marks the cluster DNS Service: DNS is served on its ClusterIPs and ports instead of
	// proxying them.
	DNS bool
	// Affinity is sessionAffinity ClientIP: a client IP keeps its endpoint while it comes back
	// within this time. 0 spreads every connection.
	Affinity time.Duration
	Ports    []Port
	// Endpoints are the ready endpoint addresses, with their hostnames (headless records).
	Endpoints []Endpoint
}

// Port is one service port.
type Port struct {
	Name     string
	Protocol Protocol
	Port     uint16
	NodePort uint16 // 0: none
	// Backends are the ready endpoints serving this port (address and target port).
	Backends []netip.AddrPort
}

// Endpoint is one ready endpoint address.
type Endpoint struct {
	Addr     netip.Addr
	Hostname string
}

// VIPs adds and removes the virtual addresses Services listen on.
type VIPs interface {
	Add(netip.Addr) error
	Remove(netip.Addr) error
	// List returns the VIPs present, including ones left by an earlier run.
	List() ([]netip.Addr, error)
}

// Config configures a Plane.
type Config struct {
	// Domain is the cluster domain; "" is cluster.local.
	Domain string
	// ServiceCIDR is the service range: reverse lookups in it are answered, not forwarded,
	// and nameservers in it (k2d's own) are never forwarded to.
	ServiceCIDR netip.Prefix
	// VIPs manages the ClusterIP addresses; nil is LoopbackVIPs.
	VIPs VIPs
	// ResolvConf lists the nameservers other names are forwarded to; "" is /etc/resolv.conf.
	ResolvConf string
	// UDPTimeout ends idle UDP sessions; 0 is DefaultUDPTimeout.
	UDPTimeout time.Duration
	Log        *slog.Logger
}

// Plane is the Service data plane on the host: VIPs, proxies, NodePorts and cluster DNS.
// Apply and Remove are called from one goroutine at a time per Service; all methods are safe
// for concurrent use.
type Plane struct {
	cfg  Config
	log  *slog.Logger
	vips VIPs
	res  *Resolver
	dns  *dnsServer

	mu     sync.Mutex
	svcs   map[string]*applied
	lns    map[lkey]*lentry
	owners map[netip.Addr]string // VIP -> owning Service
	closed bool
}

// lkey identifies a listening socket.
type lkey struct {
	proto Protocol
	addr  netip.AddrPort
}

func (k lkey) String() string { return k.addr.String() + "/" + k.proto.String() }

type lkind uint8

const (
	kindProxy lkind = iota
	kindDNS
)

type listener interface {
	update(backends []netip.AddrPort, affinity time.Duration)
	close()
}

type lentry struct {
	owner string
	kind  lkind
	l     listener
}

// applied is what the plane holds for one Service.
type applied struct {
	vips []netip.Addr
	lns  []lkey
}

// NewPlane returns a plane; nothing is listened on until Apply.
func NewPlane(cfg Config) *Plane {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.VIPs == nil {
		cfg.VIPs = LoopbackVIPs()
	}
	if cfg.UDPTimeout <= 0 {
		cfg.UDPTimeout = DefaultUDPTimeout
	}
	res := NewResolver(cfg.Domain, cfg.ServiceCIDR)
	return &Plane{
		cfg:    cfg,
		log:    cfg.Log,
		vips:   cfg.VIPs,
		res:    res,
		dns:    newDNSServer(res, newUpstreams(cfg.ResolvConf, cfg.ServiceCIDR), cfg.Log),
		svcs:   map[string]*applied{},
		lns:    map[lkey]*lentry{},
		owners: map[netip.Addr]string{},
	}
}

// Resolver returns the plane's DNS resolver.
func (p *Plane) Resolver() *Resolver { return p.res }

// want is one desired listener.
type want struct {
	kind     lkind
	backends []netip.AddrPort
	affinity time.Duration
}

// desired returns the VIPs and listeners a Service needs, and the ports it cannot have.
func desired(s *Service) (vips []netip.Addr, lns map[lkey]want, errs []error) {
	lns = map[lkey]want{}
	if s.ExternalName != "" || s.Headless {
		return nil, lns, nil
	}
	vips = append(vips, s.ClusterIPs...)
	for _, p := range s.Ports {
		if p.Protocol != TCP && p.Protocol != UDP {
			errs = append(errs, fmt.Errorf("port %d/%s: the %s protocol is not supported", p.Port, p.Protocol, p.Protocol))
			continue
		}
		kind := kindProxy
		if s.DNS {
			kind = kindDNS
		}
		for _, ip := range s.ClusterIPs {
			lns[lkey{p.Protocol, netip.AddrPortFrom(ip, p.Port)}] = want{kind, p.Backends, s.Affinity}
		}
		if p.NodePort != 0 {
			lns[lkey{p.Protocol, netip.AddrPortFrom(netip.IPv4Unspecified(), p.NodePort)}] = want{kindProxy, p.Backends, s.Affinity}
		}
		if s.LoadBalancerIP.IsValid() {
			lns[lkey{p.Protocol, netip.AddrPortFrom(s.LoadBalancerIP, p.Port)}] = want{kindProxy, p.Backends, s.Affinity}
		}
	}
	return vips, lns, errs
}

// Apply brings the plane in line with s: its VIPs, listeners, endpoints and DNS records. It
// does all it can and returns what failed (a VIP not permitted, a port already in use): each
// error is about one address or port, and Apply can be called again to retry.
func (p *Plane) Apply(s *Service) error {
	key := s.Namespace + "/" + s.Name
	p.res.Set(s)
	vips, wantLns, errs := desired(s)

	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return errors.New("the service data plane is stopped")
	}
	cur := p.svcs[key]
	if cur == nil {
		cur = &applied{}
		p.svcs[key] = cur
	}
	// Listeners that are no longer wanted go first, freeing their ports for the new ones.
	kept := cur.lns[:0]
	for _, k := range cur.lns {
		e := p.lns[k]
		if w, ok := wantLns[k]; ok && e != nil && e.owner == key && e.kind == w.kind {
			kept = append(kept, k)
			continue
		}
		if e != nil && e.owner == key {
			e.l.close()
			delete(p.lns, k)
		}
	}
	cur.lns = kept
	// VIPs.
	var okVIPs []netip.Addr
	for _, a := range vips {
		if owner, taken := p.owners[a]; taken && owner != key {
			errs = append(errs, fmt.Errorf("ClusterIP %s is already used by service %s", a, owner))
			continue
		}
		if !slices.Contains(cur.vips, a) {
			if err := p.vips.Add(a); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		p.owners[a] = key
		okVIPs = append(okVIPs, a)
	}
	for _, a := range cur.vips {
		if !slices.Contains(okVIPs, a) && p.owners[a] == key {
			delete(p.owners, a)
			if err := p.vips.Remove(a); err != nil {
				errs = append(errs, err)
			}
		}
	}
	cur.vips = okVIPs
	// Listeners: update the kept ones, open the missing ones, in a stable order.
	keys := make([]lkey, 0, len(wantLns))
	for k := range wantLns {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b lkey) int {
		if c := a.addr.Compare(b.addr); c != 0 {
			return c
		}
		return int(a.proto) - int(b.proto)
	})
	for _, k := range keys {
		w := wantLns[k]
		if e := p.lns[k]; e != nil {
			if e.owner != key {
				errs = append(errs, fmt.Errorf("port %d/%s on %s is already used by service %s", k.addr.Port(), k.proto, k.addr.Addr(), e.owner))
				continue
			}
			e.l.update(w.backends, w.affinity)
			continue
		}
		if isVIPAddr(k.addr.Addr(), vips) && !slices.Contains(okVIPs, k.addr.Addr()) {
			continue // its VIP failed, reported above
		}
		l, err := p.open(k, w)
		if err != nil {
			errs = append(errs, fmt.Errorf("cannot listen on %s: %w", k, err))
			continue
		}
		p.lns[k] = &lentry{owner: key, kind: w.kind, l: l}
		cur.lns = append(cur.lns, k)
	}
	return errors.Join(errs...)
}

func isVIPAddr(a netip.Addr, vips []netip.Addr) bool { return slices.Contains(vips, a) }

func (p *Plane) open(k lkey, w want) (listener, error) {
	switch {
	case w.kind == kindDNS && k.proto == UDP:
		return p.dns.listenUDP(k.addr)
	case w.kind == kindDNS:
		return p.dns.listenTCP(k.addr)
	case k.proto == UDP:
		return newUDPProxy(k.addr, w.backends, w.affinity, p.cfg.UDPTimeout, p.log)
	default:
		return newTCPProxy(k.addr, w.backends, w.affinity, p.log)
	}
}

// Remove takes a Service away: its listeners, VIPs and DNS records.
func (p *Plane) Remove(ns, name string) error {
	key := ns + "/" + name
	p.res.Delete(ns, name)
	p.mu.Lock()
	defer p.mu.Unlock()
	cur := p.svcs[key]
	if cur == nil {
		return nil
	}
	delete(p.svcs, key)
	for _, k := range cur.lns {
		if e := p.lns[k]; e != nil && e.owner == key {
			e.l.close()
			delete(p.lns, k)
		}
	}
	var errs []error
	for _, a := range cur.vips {
		if p.owners[a] == key {
			delete(p.owners, a)
			if err := p.vips.Remove(a); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// Prune removes the VIPs no applied Service owns: those of Services deleted while k2d was
// not running. Call it once every Service has been applied.
func (p *Plane) Prune() error {
	list, err := p.vips.List()
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	var errs []error
	for _, a := range list {
		if _, owned := p.owners[a]; !owned {
			if err := p.vips.Remove(a); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// Listening reports whether the Service in ns/name holds an open listener for proto on addr
// (a NodePort is on the unspecified IPv4 address).
func (p *Plane) Listening(ns, name string, proto Protocol, addr netip.AddrPort) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	e := p.lns[lkey{proto, addr}]
	return e != nil && e.owner == ns+"/"+name
}

// Close closes every listener and connection. VIPs stay: a restarted k2d takes them again,
// and `k2d reset` removes them.
func (p *Plane) Close() {
	p.mu.Lock()
	p.closed = true
	lns := p.lns
	p.lns = map[lkey]*lentry{}
	p.svcs = map[string]*applied{}
	p.mu.Unlock()
	for _, e := range lns {
		e.l.close()
	}
}
