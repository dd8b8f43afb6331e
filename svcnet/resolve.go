package svcnet

import (
	"net/netip"
	"strconv"
	"strings"
	"sync"
)

// ttl is the time to live of cluster records, and of the SOA's negative answers: short, so
// that a new Service resolves at once even where a resolver caches.
const ttl = 5

// Resolver answers names of the cluster domain from the Services it holds, as the Kubernetes
// DNS specification describes them (github.com/kubernetes/dns, docs/specification.md):
//
//	<svc>.<ns>.svc.<domain>                  A/AAAA: the ClusterIPs; headless: the ready endpoints
//	                                         CNAME: the externalName of an ExternalName Service
//	_<port>._<proto>.<svc>.<ns>.svc.<domain> SRV: the named port
//	<host>.<svc>.<ns>.svc.<domain>           A/AAAA: an endpoint of a headless Service, by its
//	                                         hostname or its dashed address (10-1-2-3)
//	<a-b-c-d>.<ns>.pod.<domain>              A: the address itself
//	<reversed ip>.in-addr.arpa               PTR: ClusterIPs and named headless endpoints
//
// Names in the domain that match nothing are NXDOMAIN (names that are a prefix of some
// record, like <ns>.svc.<domain>, have no data but exist), with the SOA for negative caching.
// It is safe for concurrent use.
type Resolver struct {
	domain string       // lower case, no final dot
	cidr   netip.Prefix // the service range: reverse names in it are ours

	mu   sync.RWMutex
	svcs map[string]*Service     // "<svc>.<ns>" -> service
	nss  map[string]int          // namespace -> number of services
	ptr  map[netip.Addr]string   // address -> name, for reverse lookups
	own  map[string][]netip.Addr // "<svc>.<ns>" -> the addresses it put in ptr
}

// NewResolver returns a resolver for domain ("" is cluster.local) whose reverse zone covers cidr.
func NewResolver(domain string, cidr netip.Prefix) *Resolver {
	domain = strings.ToLower(strings.Trim(domain, "."))
	if domain == "" {
		domain = "cluster.local"
	}
	return &Resolver{
		domain: domain,
		cidr:   cidr,
		svcs:   map[string]*Service{},
		nss:    map[string]int{},
		ptr:    map[netip.Addr]string{},
		own:    map[string][]netip.Addr{},
	}
}

// Domain returns the cluster domain.
func (r *Resolver) Domain() string { return r.domain }

// Set adds or replaces a Service. The resolver keeps s: the caller must not change it.
func (r *Resolver) Set(s *Service) {
	key := strings.ToLower(s.Name + "." + s.Namespace)
	fqdn := key + ".svc." + r.domain
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.svcs[key]; !ok {
		r.nss[strings.ToLower(s.Namespace)]++
	}
	r.svcs[key] = s
	r.dropPTR(key)
	var own []netip.Addr
	add := func(a netip.Addr, name string) {
		if _, taken := r.ptr[a]; !taken {
			r.ptr[a] = name
			own = append(own, a)
		}
	}
	for _, a := range s.ClusterIPs {
		add(a, fqdn)
	}
	if s.Headless {
		for _, e := range s.Endpoints {
			if e.Hostname != "" {
				add(e.Addr, strings.ToLower(e.Hostname)+"."+fqdn)
			}
		}
	}
	if own != nil {
		r.own[key] = own
	}
}

// Delete removes a Service.
func (r *Resolver) Delete(ns, name string) {
	key := strings.ToLower(name + "." + ns)
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.svcs[key]; !ok {
		return
	}
	delete(r.svcs, key)
	r.dropPTR(key)
	nsKey := strings.ToLower(ns)
	if r.nss[nsKey]--; r.nss[nsKey] <= 0 {
		delete(r.nss, nsKey)
	}
}

func (r *Resolver) dropPTR(key string) {
	for _, a := range r.own[key] {
		delete(r.ptr, a)
	}
	delete(r.own, key)
}

// lookup is the resolver's decision for one question.
type lookup struct {
	response
	forward bool   // not ours: ask the upstream servers
	chase   string // a CNAME target whose records the answer should carry (ExternalName)
}

// Lookup decides the answer to a question: a name, a record type.
func (r *Resolver) Lookup(name string, qtype uint16) lookup {
	lname := strings.ToLower(strings.TrimSuffix(name, "."))
	switch {
	case lname == r.domain:
		return r.apex(qtype)
	case strings.HasSuffix(lname, "."+r.domain):
		return r.cluster(lname[:len(lname)-len(r.domain)-1], qtype)
	case strings.HasSuffix(lname, ".in-addr.arpa"), strings.HasSuffix(lname, ".ip6.arpa"):
		return r.reverse(lname, qtype)
	}
	return lookup{forward: true}
}

func (r *Resolver) soa() rr {
	return rr{
		name: r.domain, typ: typeSOA, ttl: ttl,
		host: "ns.dns." + r.domain, mbox: "hostmaster." + r.domain,
		// serial, refresh, retry, expire, minimum (the negative caching TTL)
		soa: [5]uint32{1, 7200, 1800, 86400, ttl},
	}
}

func (r *Resolver) noData() lookup {
	return lookup{response: response{aa: true, auth: []rr{r.soa()}}}
}

func (r *Resolver) nxDomain() lookup {
	return lookup{response: response{rcode: rcodeNXDomain, aa: true, auth: []rr{r.soa()}}}
}

func (r *Resolver) apex(qtype uint16) lookup {
	if qtype == typeSOA || qtype == typeANY {
		return lookup{response: response{aa: true, answer: []rr{r.soa()}}}
	}
	return r.noData()
}

// cluster answers a name of the cluster domain, given without the domain.
func (r *Resolver) cluster(rest string, qtype uint16) lookup {
	labels := strings.Split(rest, ".")
	n := len(labels)
	switch labels[n-1] {
	case "svc":
		return r.services(labels[:n-1], qtype)
	case "pod":
		return r.pod(labels[:n-1], qtype)
	}
	return r.nxDomain()
}

func (r *Resolver) pod(labels []string, qtype uint16) lookup {
	switch len(labels) {
	case 0, 1: // pod.<domain>, <ns>.pod.<domain>
		return r.noData()
	case 2:
		a, err := netip.ParseAddr(strings.ReplaceAll(labels[0], "-", "."))
		if err != nil || !a.Is4() {
			return r.nxDomain()
		}
		return r.addrs(qtype, []netip.Addr{a}, "")
	}
	return r.nxDomain()
}

// services answers <labels>.svc.<domain>.
func (r *Resolver) services(labels []string, qtype uint16) lookup {
	r.mu.RLock()
	defer r.mu.RUnlock()
	n := len(labels)
	switch n {
	case 0: // svc.<domain>
		return r.noData()
	case 1: // <ns>.svc.<domain>
		if r.nss[labels[0]] > 0 {
			return r.noData()
		}
		return r.nxDomain()
	}
	s := r.svcs[labels[n-2]+"."+labels[n-1]]
	if s == nil {
		return r.nxDomain()
	}
	fqdn := labels[n-2] + "." + labels[n-1] + ".svc." + r.domain
	switch n {
	case 2:
		return r.service(s, fqdn, qtype)
	case 3:
		if strings.HasPrefix(labels[0], "_") { // _<proto>.<svc>...: the parent of SRV names
			if hasProto(s, labels[0][1:]) {
				return r.noData()
			}
			return r.nxDomain()
		}
		return r.endpoint(s, labels[0], qtype)
	case 4:
		if !strings.HasPrefix(labels[0], "_") || !strings.HasPrefix(labels[1], "_") {
			return r.nxDomain()
		}
		return r.srv(s, fqdn, labels[0][1:], labels[1][1:], qtype)
	}
	return r.nxDomain()
}

func (r *Resolver) service(s *Service, fqdn string, qtype uint16) lookup {
	if s.ExternalName != "" {
		target := strings.TrimSuffix(s.ExternalName, ".")
		l := lookup{response: response{aa: true, answer: []rr{{typ: typeCNAME, ttl: ttl, host: target}}}}
		if qtype != typeCNAME {
			l.chase = target
		}
		return l
	}
	if qtype == typeSRV {
		return r.srvAll(s, fqdn)
	}
	if s.Headless {
		return r.addrs(qtype, endpointAddrs(s), "")
	}
	return r.addrs(qtype, s.ClusterIPs, "")
}

// addrs answers A, AAAA or ANY with the addresses of that family; other types have no data.
func (r *Resolver) addrs(qtype uint16, list []netip.Addr, owner string) lookup {
	l := lookup{response: response{aa: true}}
	for _, a := range list {
		switch {
		case a.Is4() && (qtype == typeA || qtype == typeANY):
			l.answer = append(l.answer, rr{name: owner, typ: typeA, ttl: ttl, addr: a})
		case a.Is6() && (qtype == typeAAAA || qtype == typeANY):
			l.answer = append(l.answer, rr{name: owner, typ: typeAAAA, ttl: ttl, addr: a})
		}
	}
	if len(l.answer) == 0 {
		l.auth = []rr{r.soa()}
	}
	return l
}

// endpointAddrs returns the distinct ready endpoint addresses of s, in order.
func endpointAddrs(s *Service) []netip.Addr {
	out := make([]netip.Addr, 0, len(s.Endpoints))
	for _, e := range s.Endpoints {
		dup := false
		for _, a := range out {
			if a == e.Addr {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, e.Addr)
		}
	}
	return out
}

// endpointLabel is the name of an endpoint under a headless Service: its hostname, or its
// address with dashes.
func endpointLabel(e Endpoint) string {
	if e.Hostname != "" {
		return strings.ToLower(e.Hostname)
	}
	return dashed(e.Addr)
}

func dashed(a netip.Addr) string {
	if a.Is4() {
		return strings.ReplaceAll(a.String(), ".", "-")
	}
	return strings.ReplaceAll(a.StringExpanded(), ":", "-")
}

func (r *Resolver) endpoint(s *Service, label string, qtype uint16) lookup {
	if !s.Headless {
		return r.nxDomain()
	}
	var found []netip.Addr
	for _, e := range s.Endpoints {
		if endpointLabel(e) == label || dashed(e.Addr) == label {
			found = append(found, e.Addr)
		}
	}
	if found == nil {
		return r.nxDomain()
	}
	return r.addrs(qtype, found, "")
}

func hasProto(s *Service, proto string) bool {
	for _, p := range s.Ports {
		if p.Protocol.lower() == proto {
			return true
		}
	}
	return false
}

// srv answers _<port>._<proto>.<svc>.<ns>.svc.<domain>.
func (r *Resolver) srv(s *Service, fqdn, port, proto string, qtype uint16) lookup {
	for i := range s.Ports {
		p := &s.Ports[i]
		if p.Name == "" || strings.ToLower(p.Name) != port || p.Protocol.lower() != proto {
			continue
		}
		if qtype != typeSRV && qtype != typeANY {
			return r.noData()
		}
		l := lookup{response: response{aa: true}}
		r.appendSRV(&l, s, fqdn, p, "")
		return l
	}
	return r.nxDomain()
}

// srvAll answers SRV at the service name: one record per port.
func (r *Resolver) srvAll(s *Service, fqdn string) lookup {
	l := lookup{response: response{aa: true}}
	for i := range s.Ports {
		r.appendSRV(&l, s, fqdn, &s.Ports[i], "")
	}
	if len(l.answer) == 0 {
		l.auth = []rr{r.soa()}
	}
	return l
}

// appendSRV adds the SRV records of one port and the addresses of their targets: the service
// name for a ClusterIP, each endpoint for a headless Service.
func (r *Resolver) appendSRV(l *lookup, s *Service, fqdn string, p *Port, owner string) {
	if !s.Headless {
		if len(s.ClusterIPs) == 0 {
			return
		}
		l.answer = append(l.answer, rr{name: owner, typ: typeSRV, ttl: ttl, prio: 0, wt: 100, port: p.Port, host: fqdn})
		if !hasExtra(l.extra, fqdn) {
			for _, a := range s.ClusterIPs {
				l.extra = append(l.extra, addrRR(fqdn, a))
			}
		}
		return
	}
	byAddr := map[netip.Addr]string{}
	for _, e := range s.Endpoints {
		if _, ok := byAddr[e.Addr]; !ok {
			byAddr[e.Addr] = endpointLabel(e)
		}
	}
	n := len(p.Backends)
	if n == 0 {
		return
	}
	wt := uint16(100 / n)
	if wt == 0 {
		wt = 1
	}
	for _, b := range p.Backends {
		label, ok := byAddr[b.Addr()]
		if !ok {
			label = dashed(b.Addr())
		}
		target := label + "." + fqdn
		l.answer = append(l.answer, rr{name: owner, typ: typeSRV, ttl: ttl, prio: 0, wt: wt, port: b.Port(), host: target})
		if !hasExtra(l.extra, target) {
			l.extra = append(l.extra, addrRR(target, b.Addr()))
		}
	}
}

func hasExtra(extra []rr, name string) bool {
	for i := range extra {
		if extra[i].name == name {
			return true
		}
	}
	return false
}

func addrRR(name string, a netip.Addr) rr {
	if a.Is4() {
		return rr{name: name, typ: typeA, ttl: ttl, addr: a}
	}
	return rr{name: name, typ: typeAAAA, ttl: ttl, addr: a}
}

// reverse answers PTR questions: names of ClusterIPs and named headless endpoints; other
// addresses of the service range do not exist; the rest is the upstream servers' business.
func (r *Resolver) reverse(lname string, qtype uint16) lookup {
	a, ok := parseReverse(lname)
	if !ok {
		return lookup{forward: true}
	}
	r.mu.RLock()
	name, found := r.ptr[a]
	r.mu.RUnlock()
	if found {
		if qtype != typePTR && qtype != typeANY {
			return lookup{response: response{aa: true}}
		}
		return lookup{response: response{aa: true, answer: []rr{{typ: typePTR, ttl: ttl, host: name}}}}
	}
	if r.cidr.IsValid() && r.cidr.Contains(a) {
		return lookup{response: response{rcode: rcodeNXDomain, aa: true}}
	}
	return lookup{forward: true}
}

// parseReverse reads the address of a full in-addr.arpa or ip6.arpa name.
func parseReverse(lname string) (netip.Addr, bool) {
	if v4, ok := strings.CutSuffix(lname, ".in-addr.arpa"); ok {
		parts := strings.Split(v4, ".")
		if len(parts) != 4 {
			return netip.Addr{}, false
		}
		var b [4]byte
		for i, p := range parts {
			n, err := strconv.ParseUint(p, 10, 8)
			if err != nil || (len(p) > 1 && p[0] == '0') {
				return netip.Addr{}, false
			}
			b[3-i] = byte(n)
		}
		return netip.AddrFrom4(b), true
	}
	v6, _ := strings.CutSuffix(lname, ".ip6.arpa")
	nibbles := strings.Split(v6, ".")
	if len(nibbles) != 32 {
		return netip.Addr{}, false
	}
	var b [16]byte
	for i, nb := range nibbles {
		if len(nb) != 1 {
			return netip.Addr{}, false
		}
		v, err := strconv.ParseUint(nb, 16, 8)
		if err != nil {
			return netip.Addr{}, false
		}
		pos := 31 - i
		if pos%2 == 0 {
			b[pos/2] |= byte(v) << 4
		} else {
			b[pos/2] |= byte(v)
		}
	}
	return netip.AddrFrom16(b), true
}
