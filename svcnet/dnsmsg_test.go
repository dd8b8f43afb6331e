package svcnet

import (
	"encoding/binary"
	"net/netip"
	"strings"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

// buildQuery makes a query with x/net's builder (the oracle), compressing names.
func buildQuery(t testing.TB, name string, qtype dnsmessage.Type, edns int, extra func(b *dnsmessage.Builder)) []byte {
	t.Helper()
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: 0xBEEF, RecursionDesired: true})
	b.EnableCompression()
	must(t, b.StartQuestions())
	must(t, b.Question(dnsmessage.Question{Name: dnsmessage.MustNewName(name), Type: qtype, Class: dnsmessage.ClassINET}))
	must(t, b.StartAdditionals())
	if extra != nil {
		extra(&b)
	}
	if edns > 0 {
		var opt dnsmessage.ResourceHeader
		must(t, opt.SetEDNS0(edns, dnsmessage.RCodeSuccess, false))
		must(t, b.OPTResource(opt, dnsmessage.OPTResource{}))
	}
	msg, err := b.Finish()
	must(t, err)
	return msg
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestParseQuery(t *testing.T) {
	msg := buildQuery(t, "Web.Shop.svc.cluster.local.", dnsmessage.TypeA, 4096, nil)
	q, err := parseQuery(msg)
	if err != nil {
		t.Fatal(err)
	}
	if q.id != 0xBEEF || q.name != "Web.Shop.svc.cluster.local" || q.qtype != typeA || q.qclass != classIN || !q.edns || q.udpSize != 4096 || q.flags&flagRD == 0 {
		t.Errorf("parsed %+v", q)
	}
	plain, err := parseQuery(buildQuery(t, "example.com.", dnsmessage.TypeAAAA, 0, nil))
	if err != nil || plain.edns || plain.udpSize != 512 || plain.qtype != typeAAAA {
		t.Errorf("plain query %+v %v", plain, err)
	}
}

// A name in the additional section compressed against the question must parse, as must a
// question that points back into itself.
func TestParseQueryCompression(t *testing.T) {
	msg := buildQuery(t, "a.shop.svc.cluster.local.", dnsmessage.TypeSRV, 1232, func(b *dnsmessage.Builder) {
		must(t, b.AResource(dnsmessage.ResourceHeader{Name: dnsmessage.MustNewName("b.shop.svc.cluster.local."), Class: dnsmessage.ClassINET},
			dnsmessage.AResource{A: [4]byte{10, 0, 0, 1}}))
	})
	// The builder compressed "shop.svc.cluster.local." of the additional name to a pointer.
	if !strings.Contains(string(msg), "\x01b\xc0") {
		t.Fatalf("the oracle did not compress: %q", msg)
	}
	q, err := parseQuery(msg)
	if err != nil || q.name != "a.shop.svc.cluster.local" || q.qtype != typeSRV || !q.edns || q.udpSize != 1232 {
		t.Fatalf("parsed %+v %v", q, err)
	}

	// Hand-made: the question is "x" then a pointer to an earlier copy of "svc.cluster.local"
	// placed in an answer record before it is impossible, so point into the question itself.
	hdr := []byte{0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0}
	name := append([]byte{3, 'w', 'e', 'b'}, 0xC0, 12) // "web" then a pointer to itself: a loop
	loop := append(append(append([]byte{}, hdr...), name...), 0, 1, 0, 1)
	if _, err := parseQuery(loop); err == nil {
		t.Error("a pointer loop parsed")
	}
	fwd := append(append(append([]byte{}, hdr...), 3, 'w', 'e', 'b', 0xC0, 40), 0, 1, 0, 1)
	if _, err := parseQuery(fwd); err == nil {
		t.Error("a forward pointer parsed")
	}
}

func TestParseQueryRejects(t *testing.T) {
	good := buildQuery(t, "web.shop.svc.cluster.local.", dnsmessage.TypeA, 0, nil)
	long := strings.Repeat(strings.Repeat("a", 63)+".", 4) // 256 bytes on the wire
	raw := []byte{0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0}
	for _, l := range strings.Split(strings.TrimSuffix(long, "."), ".") {
		raw = append(append(raw, byte(len(l))), l...)
	}
	raw = append(raw, 0, 0, 1, 0, 1)
	resp := append([]byte{}, good...)
	resp[2] |= 0x80
	two := append([]byte{}, good...)
	two[5] = 2
	cases := map[string][]byte{
		"short":         good[:8],
		"truncated":     good[:len(good)-3],
		"too long":      raw,
		"a response":    resp,
		"two questions": two,
		"dot in label":  append(append([]byte{0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0}, 3, 'a', '.', 'b', 0), 0, 1, 0, 1),
	}
	for name, msg := range cases {
		if _, err := parseQuery(msg); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
	if out := errorReply(good, rcodeFormErr); len(out) != 12 || out[0] != good[0] || out[1] != good[1] || out[2]&0x80 == 0 || out[3]&0xF != rcodeFormErr || out[2]&1 == 0 {
		t.Errorf("FORMERR reply %x", out)
	}
	if errorReply(resp, rcodeFormErr) != nil {
		t.Error("a response got an error reply")
	}
}

// The oracle must read every record of an encoded response back as written.
func TestEncodeRoundTrip(t *testing.T) {
	q, err := parseQuery(buildQuery(t, "Web.Shop.svc.cluster.local.", dnsmessage.TypeA, 1232, nil))
	must(t, err)
	r := &response{aa: true,
		answer: []rr{
			{typ: typeA, ttl: 5, addr: netip.MustParseAddr("10.96.0.20")},
			{typ: typeCNAME, ttl: 5, host: "db.shop.svc.cluster.local"},
			{name: "x.shop.svc.cluster.local", typ: typeAAAA, ttl: 7, addr: netip.MustParseAddr("fd00::1")},
			{typ: typeSRV, ttl: 5, prio: 1, wt: 50, port: 8080, host: "web-0.web.shop.svc.cluster.local"},
			{name: "10.0.96.10.in-addr.arpa", typ: typePTR, ttl: 5, host: "kube-dns.kube-system.svc.cluster.local"},
		},
		auth: []rr{{name: "cluster.local", typ: typeSOA, ttl: 5, host: "ns.dns.cluster.local", mbox: "hostmaster.cluster.local", soa: [5]uint32{1, 2, 3, 4, 5}}},
	}
	msg := r.encode(q, 1232)
	var p dnsmessage.Parser
	h, err := p.Start(msg)
	must(t, err)
	if h.ID != 0xBEEF || !h.Response || !h.Authoritative || !h.RecursionDesired || !h.RecursionAvailable || h.Truncated || h.RCode != dnsmessage.RCodeSuccess {
		t.Errorf("header %+v", h)
	}
	qs, err := p.AllQuestions()
	must(t, err)
	if len(qs) != 1 || qs[0].Name.String() != "Web.Shop.svc.cluster.local." || qs[0].Type != dnsmessage.TypeA {
		t.Errorf("questions %+v", qs)
	}
	ans, err := p.AllAnswers()
	must(t, err)
	if len(ans) != 5 {
		t.Fatalf("%d answers", len(ans))
	}
	if a := ans[0]; a.Header.Name.String() != "Web.Shop.svc.cluster.local." || a.Body.(*dnsmessage.AResource).A != [4]byte{10, 96, 0, 20} || a.Header.TTL != 5 {
		t.Errorf("A %v", a)
	}
	if c := ans[1].Body.(*dnsmessage.CNAMEResource); c.CNAME.String() != "db.shop.svc.cluster.local." {
		t.Errorf("CNAME %v", c)
	}
	if a := ans[2]; a.Header.Name.String() != "x.shop.svc.cluster.local." || a.Body.(*dnsmessage.AAAAResource).AAAA != netip.MustParseAddr("fd00::1").As16() || a.Header.TTL != 7 {
		t.Errorf("AAAA %v", a)
	}
	if s := ans[3].Body.(*dnsmessage.SRVResource); s.Priority != 1 || s.Weight != 50 || s.Port != 8080 || s.Target.String() != "web-0.web.shop.svc.cluster.local." {
		t.Errorf("SRV %v", s)
	}
	if a := ans[4]; a.Header.Name.String() != "10.0.96.10.in-addr.arpa." || a.Body.(*dnsmessage.PTRResource).PTR.String() != "kube-dns.kube-system.svc.cluster.local." {
		t.Errorf("PTR %v", a)
	}
	auth, err := p.AllAuthorities()
	must(t, err)
	if s, ok := auth[0].Body.(*dnsmessage.SOAResource); !ok || s.NS.String() != "ns.dns.cluster.local." || s.MBox.String() != "hostmaster.cluster.local." || s.MinTTL != 5 || s.Expire != 4 {
		t.Errorf("SOA %v", auth)
	}
	add, err := p.AllAdditionals()
	must(t, err)
	if len(add) != 1 || add[0].Header.Type != dnsmessage.TypeOPT || add[0].Header.Class != ednsUDPSize {
		t.Errorf("additionals %v", add)
	}
	// Names were compressed: the answers' owners point at the question.
	if n, m := strings.Count(string(msg), "\x04shop"), strings.Count(string(msg), "\x07cluster"); n != 1 || m != 1 {
		t.Errorf("shop written %d times, cluster %d times", n, m)
	}
	// parseAnswers reads what it needs back: A, AAAA, CNAME.
	rcode, rrs, err := parseAnswers(msg)
	if err != nil || rcode != 0 || len(rrs) != 3 || rrs[1].host != "db.shop.svc.cluster.local" || rrs[0].name != "Web.Shop.svc.cluster.local" || rrs[2].addr != netip.MustParseAddr("fd00::1") {
		t.Errorf("parseAnswers %d %+v %v", rcode, rrs, err)
	}
}

func TestEncodeTruncates(t *testing.T) {
	q, err := parseQuery(buildQuery(t, "big.shop.svc.cluster.local.", dnsmessage.TypeA, 0, nil))
	must(t, err)
	r := &response{aa: true}
	for i := range 40 {
		r.answer = append(r.answer, rr{typ: typeA, ttl: 5, addr: netip.AddrFrom4([4]byte{10, 0, 0, byte(i)})})
	}
	udp := r.encode(q, 512)
	if len(udp) > 512 || udp[2]&(flagTC>>8) == 0 || binary.BigEndian.Uint16(udp[6:]) != 0 {
		t.Errorf("UDP answer: %d bytes, flags %x, %d answers", len(udp), udp[2:4], binary.BigEndian.Uint16(udp[6:]))
	}
	tcp := r.encode(q, 0)
	if tcp[2]&(flagTC>>8) != 0 || binary.BigEndian.Uint16(tcp[6:]) != 40 {
		t.Errorf("TCP answer truncated")
	}
	// 40 answers of 16 bytes each fit when the client accepts 1232 bytes.
	qe, _ := parseQuery(buildQuery(t, "big.shop.svc.cluster.local.", dnsmessage.TypeA, 4096, nil))
	if e := r.encode(qe, min(qe.udpSize, ednsUDPSize)); e[2]&(flagTC>>8) != 0 {
		t.Errorf("EDNS answer truncated at %d bytes", len(e))
	}
}

// Upstream answers come compressed: a CNAME chain must be decompressed into names.
func TestParseAnswersCompressed(t *testing.T) {
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: 7, Response: true, RCode: dnsmessage.RCodeSuccess})
	b.EnableCompression()
	must(t, b.StartQuestions())
	must(t, b.Question(dnsmessage.Question{Name: dnsmessage.MustNewName("www.example.org."), Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET}))
	must(t, b.StartAnswers())
	must(t, b.CNAMEResource(dnsmessage.ResourceHeader{Name: dnsmessage.MustNewName("www.example.org."), Class: dnsmessage.ClassINET, TTL: 60},
		dnsmessage.CNAMEResource{CNAME: dnsmessage.MustNewName("cdn.example.org.")}))
	must(t, b.AResource(dnsmessage.ResourceHeader{Name: dnsmessage.MustNewName("cdn.example.org."), Class: dnsmessage.ClassINET, TTL: 30},
		dnsmessage.AResource{A: [4]byte{192, 0, 2, 7}}))
	must(t, b.MXResource(dnsmessage.ResourceHeader{Name: dnsmessage.MustNewName("cdn.example.org."), Class: dnsmessage.ClassINET, TTL: 30},
		dnsmessage.MXResource{Pref: 1, MX: dnsmessage.MustNewName("mx.example.org.")}))
	msg, err := b.Finish()
	must(t, err)
	rcode, rrs, err := parseAnswers(msg)
	if err != nil || rcode != 0 || len(rrs) != 2 {
		t.Fatalf("%d %+v %v", rcode, rrs, err)
	}
	if rrs[0].typ != typeCNAME || rrs[0].name != "www.example.org" || rrs[0].host != "cdn.example.org" || rrs[0].ttl != 60 {
		t.Errorf("CNAME %+v", rrs[0])
	}
	if rrs[1].typ != typeA || rrs[1].name != "cdn.example.org" || rrs[1].addr != netip.MustParseAddr("192.0.2.7") {
		t.Errorf("A %+v", rrs[1])
	}
}

func TestNewQuery(t *testing.T) {
	msg := newQuery("db.example.org", typeAAAA)
	q, err := parseQuery(msg)
	if err != nil || q.name != "db.example.org" || q.qtype != typeAAAA || q.flags&flagRD == 0 {
		t.Errorf("%+v %v", q, err)
	}
}

func FuzzParseQuery(f *testing.F) {
	f.Add(buildQuery(f, "web.shop.svc.cluster.local.", dnsmessage.TypeA, 1232, nil))
	f.Add(buildQuery(f, "_http._tcp.web.shop.svc.cluster.local.", dnsmessage.TypeSRV, 0, nil))
	f.Add([]byte{0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, 'w', 'e', 'b', 0xC0, 12, 0, 1, 0, 1})
	res := NewResolver("", netip.MustParsePrefix("10.96.0.0/12"))
	res.Set(&Service{Namespace: "shop", Name: "web", ClusterIPs: []netip.Addr{netip.MustParseAddr("10.96.0.20")}})
	f.Fuzz(func(t *testing.T, msg []byte) {
		q, err := parseQuery(msg)
		_ = errorReply(msg, rcodeFormErr)
		_, _, _ = parseAnswers(msg)
		if err != nil {
			return
		}
		l := res.Lookup(q.name, q.qtype)
		out := l.response.encode(q, 512)
		var p dnsmessage.Parser
		if _, err := p.Start(out); err != nil {
			t.Fatalf("answer to %q does not parse: %v", q.name, err)
		}
		if _, err := p.AllQuestions(); err != nil {
			t.Fatalf("question of the answer to %q does not parse: %v", q.name, err)
		}
		if _, err := p.AllAnswers(); err != nil {
			t.Fatalf("answers to %q do not parse: %v", q.name, err)
		}
	})
}
