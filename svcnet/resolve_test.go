package svcnet

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
)

func ip(s string) netip.Addr       { return netip.MustParseAddr(s) }
func ap(s string) netip.AddrPort   { return netip.MustParseAddrPort(s) }
func ips(s ...string) []netip.Addr { return mapSlice(s, ip) }
func mapSlice[T any](in []string, f func(string) T) []T {
	out := make([]T, len(in))
	for i, s := range in {
		out[i] = f(s)
	}
	return out
}

func testResolver() *Resolver {
	r := NewResolver("", netip.MustParsePrefix("10.96.0.0/12"))
	r.Set(&Service{Namespace: "shop", Name: "web", ClusterIPs: ips("10.96.0.20"),
		Ports: []Port{{Name: "http", Protocol: TCP, Port: 80}, {Name: "dns", Protocol: UDP, Port: 53}, {Protocol: TCP, Port: 9000}}})
	r.Set(&Service{Namespace: "shop", Name: "dual", ClusterIPs: ips("10.96.0.21", "fd00:96::21")})
	r.Set(&Service{Namespace: "shop", Name: "db", Headless: true,
		Ports:     []Port{{Name: "pg", Protocol: TCP, Port: 5432, Backends: []netip.AddrPort{ap("172.18.0.5:5432"), ap("172.18.0.6:5432")}}},
		Endpoints: []Endpoint{{Addr: ip("172.18.0.5"), Hostname: "db-0"}, {Addr: ip("172.18.0.6")}}})
	r.Set(&Service{Namespace: "shop", Name: "empty", Headless: true})
	r.Set(&Service{Namespace: "ext", Name: "search", ExternalName: "www.example.org."})
	r.Set(&Service{Namespace: "ext", Name: "alias", ExternalName: "web.shop.svc.cluster.local"})
	return r
}

// show renders a lookup compactly: rcode, flags, answers, authority, additional.
func show(l lookup) string {
	if l.forward {
		return "forward"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "rcode=%d", l.rcode)
	if l.aa {
		b.WriteString(" aa")
	}
	rrs := func(tag string, list []rr) {
		var parts []string
		for _, r := range list {
			owner := r.name
			if owner == "" {
				owner = "@"
			}
			switch r.typ {
			case typeA, typeAAAA:
				parts = append(parts, owner+" "+r.addr.String())
			case typeCNAME:
				parts = append(parts, owner+" CNAME "+r.host)
			case typePTR:
				parts = append(parts, owner+" PTR "+r.host)
			case typeSRV:
				parts = append(parts, fmt.Sprintf("%s SRV %d %d %d %s", owner, r.prio, r.wt, r.port, r.host))
			case typeSOA:
				parts = append(parts, owner+" SOA")
			}
		}
		if len(parts) > 0 {
			b.WriteString(" " + tag + "[" + strings.Join(parts, ", ") + "]")
		}
	}
	rrs("an", l.answer)
	rrs("ns", l.auth)
	rrs("ar", l.extra)
	if l.chase != "" {
		b.WriteString(" chase=" + l.chase)
	}
	return b.String()
}

func TestResolverLookup(t *testing.T) {
	r := testResolver()
	cases := []struct {
		name  string
		qtype uint16
		want  string
	}{
		// ClusterIP services, in every case.
		{"web.shop.svc.cluster.local", typeA, "rcode=0 aa an[@ 10.96.0.20]"},
		{"WEB.Shop.SVC.Cluster.Local.", typeA, "rcode=0 aa an[@ 10.96.0.20]"},
		{"web.shop.svc.cluster.local", typeAAAA, "rcode=0 aa ns[cluster.local SOA]"},
		{"web.shop.svc.cluster.local", typeANY, "rcode=0 aa an[@ 10.96.0.20]"},
		{"web.shop.svc.cluster.local", 16 /* TXT */, "rcode=0 aa ns[cluster.local SOA]"},
		{"dual.shop.svc.cluster.local", typeAAAA, "rcode=0 aa an[@ fd00:96::21]"},
		{"dual.shop.svc.cluster.local", typeA, "rcode=0 aa an[@ 10.96.0.21]"},
		// Unknown names in the domain; names that only lead to others exist without data.
		{"nope.shop.svc.cluster.local", typeA, "rcode=3 aa ns[cluster.local SOA]"},
		{"web.other.svc.cluster.local", typeA, "rcode=3 aa ns[cluster.local SOA]"},
		{"web.shop.cluster.local", typeA, "rcode=3 aa ns[cluster.local SOA]"},
		{"web.shop.svc.cluster.local.shop.svc.cluster.local", typeA, "rcode=3 aa ns[cluster.local SOA]"},
		{"shop.svc.cluster.local", typeA, "rcode=0 aa ns[cluster.local SOA]"},
		{"gone.svc.cluster.local", typeA, "rcode=3 aa ns[cluster.local SOA]"},
		{"svc.cluster.local", typeA, "rcode=0 aa ns[cluster.local SOA]"},
		{"cluster.local", typeSOA, "rcode=0 aa an[cluster.local SOA]"},
		{"cluster.local", typeA, "rcode=0 aa ns[cluster.local SOA]"},
		// SRV of named ports; the ClusterIP is the target, its address comes along.
		{"_http._tcp.web.shop.svc.cluster.local", typeSRV, "rcode=0 aa an[@ SRV 0 100 80 web.shop.svc.cluster.local] ar[web.shop.svc.cluster.local 10.96.0.20]"},
		{"_dns._udp.web.shop.svc.cluster.local", typeSRV, "rcode=0 aa an[@ SRV 0 100 53 web.shop.svc.cluster.local] ar[web.shop.svc.cluster.local 10.96.0.20]"},
		{"_http._udp.web.shop.svc.cluster.local", typeSRV, "rcode=3 aa ns[cluster.local SOA]"},
		{"_http._tcp.web.shop.svc.cluster.local", typeA, "rcode=0 aa ns[cluster.local SOA]"},
		{"_tcp.web.shop.svc.cluster.local", typeSRV, "rcode=0 aa ns[cluster.local SOA]"},
		{"_sctp.web.shop.svc.cluster.local", typeSRV, "rcode=3 aa ns[cluster.local SOA]"},
		{"web.shop.svc.cluster.local", typeSRV, "rcode=0 aa an[@ SRV 0 100 80 web.shop.svc.cluster.local, @ SRV 0 100 53 web.shop.svc.cluster.local, @ SRV 0 100 9000 web.shop.svc.cluster.local] ar[web.shop.svc.cluster.local 10.96.0.20]"},
		// Headless: the endpoints, by name too; SRV targets each endpoint.
		{"db.shop.svc.cluster.local", typeA, "rcode=0 aa an[@ 172.18.0.5, @ 172.18.0.6]"},
		{"db-0.db.shop.svc.cluster.local", typeA, "rcode=0 aa an[@ 172.18.0.5]"},
		{"172-18-0-6.db.shop.svc.cluster.local", typeA, "rcode=0 aa an[@ 172.18.0.6]"},
		{"db-1.db.shop.svc.cluster.local", typeA, "rcode=3 aa ns[cluster.local SOA]"},
		{"x.web.shop.svc.cluster.local", typeA, "rcode=3 aa ns[cluster.local SOA]"},
		{"_pg._tcp.db.shop.svc.cluster.local", typeSRV, "rcode=0 aa an[@ SRV 0 50 5432 db-0.db.shop.svc.cluster.local, @ SRV 0 50 5432 172-18-0-6.db.shop.svc.cluster.local] " +
			"ar[db-0.db.shop.svc.cluster.local 172.18.0.5, 172-18-0-6.db.shop.svc.cluster.local 172.18.0.6]"},
		{"empty.shop.svc.cluster.local", typeA, "rcode=0 aa ns[cluster.local SOA]"},
		// ExternalName: a CNAME, whose target the server resolves too.
		{"search.ext.svc.cluster.local", typeA, "rcode=0 aa an[@ CNAME www.example.org] chase=www.example.org"},
		{"search.ext.svc.cluster.local", typeCNAME, "rcode=0 aa an[@ CNAME www.example.org]"},
		{"alias.ext.svc.cluster.local", typeAAAA, "rcode=0 aa an[@ CNAME web.shop.svc.cluster.local] chase=web.shop.svc.cluster.local"},
		// Pods by address.
		{"172-18-0-9.shop.pod.cluster.local", typeA, "rcode=0 aa an[@ 172.18.0.9]"},
		{"172-18-0-9.shop.pod.cluster.local", typeAAAA, "rcode=0 aa ns[cluster.local SOA]"},
		{"not-an-ip.shop.pod.cluster.local", typeA, "rcode=3 aa ns[cluster.local SOA]"},
		// Reverse: ClusterIPs and named endpoints; the rest of the range does not exist.
		{"20.0.96.10.in-addr.arpa", typePTR, "rcode=0 aa an[@ PTR web.shop.svc.cluster.local]"},
		{"5.0.18.172.in-addr.arpa", typePTR, "rcode=0 aa an[@ PTR db-0.db.shop.svc.cluster.local]"},
		{"1.2.96.10.in-addr.arpa", typePTR, "rcode=3 aa"},
		{"6.0.18.172.in-addr.arpa", typePTR, "forward"},
		{"1.0.0.127.in-addr.arpa", typePTR, "forward"},
		{"96.10.in-addr.arpa", typePTR, "forward"},
		{"1.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.9.0.0.0.0.d.f.ip6.arpa", typePTR, "rcode=0 aa an[@ PTR dual.shop.svc.cluster.local]"},
		// Everything else goes upstream.
		{"www.example.org", typeA, "forward"},
		{"web.shop", typeA, "forward"},
		{"notcluster.local", typeA, "forward"},
	}
	for _, c := range cases {
		if got := show(r.Lookup(c.name, c.qtype)); got != c.want {
			t.Errorf("%s %d:\n got %s\nwant %s", c.name, c.qtype, got, c.want)
		}
	}
}

func TestResolverUpdates(t *testing.T) {
	r := NewResolver("k2d.internal.", netip.Prefix{})
	if r.Domain() != "k2d.internal" {
		t.Fatalf("domain %q", r.Domain())
	}
	r.Set(&Service{Namespace: "a", Name: "x", ClusterIPs: ips("10.0.0.1")})
	r.Set(&Service{Namespace: "a", Name: "y", ClusterIPs: ips("10.0.0.2")})
	if got := show(r.Lookup("x.a.svc.k2d.internal", typeA)); got != "rcode=0 aa an[@ 10.0.0.1]" {
		t.Errorf("custom domain: %s", got)
	}
	if got := show(r.Lookup("x.a.svc.cluster.local", typeA)); got != "forward" {
		t.Errorf("other domain: %s", got)
	}
	// A changed ClusterIP drops the old reverse record.
	r.Set(&Service{Namespace: "a", Name: "x", ClusterIPs: ips("10.0.0.3")})
	if got := show(r.Lookup("1.0.0.10.in-addr.arpa", typePTR)); got != "forward" {
		t.Errorf("stale PTR: %s", got)
	}
	if got := show(r.Lookup("3.0.0.10.in-addr.arpa", typePTR)); got != "rcode=0 aa an[@ PTR x.a.svc.k2d.internal]" {
		t.Errorf("new PTR: %s", got)
	}
	r.Delete("a", "x")
	if got := show(r.Lookup("x.a.svc.k2d.internal", typeA)); got != "rcode=3 aa ns[k2d.internal SOA]" {
		t.Errorf("deleted: %s", got)
	}
	if got := show(r.Lookup("a.svc.k2d.internal", typeA)); got != "rcode=0 aa ns[k2d.internal SOA]" {
		t.Errorf("namespace with y: %s", got)
	}
	r.Delete("a", "y")
	r.Delete("a", "y")
	if got := show(r.Lookup("a.svc.k2d.internal", typeA)); got != "rcode=3 aa ns[k2d.internal SOA]" {
		t.Errorf("empty namespace: %s", got)
	}
	if len(r.svcs) != 0 || len(r.ptr) != 0 || len(r.own) != 0 || len(r.nss) != 0 {
		t.Errorf("left over: %v %v %v %v", r.svcs, r.ptr, r.own, r.nss)
	}
}
