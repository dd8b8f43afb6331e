package svcnet

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"strings"
)

// DNS wire format (RFC 1035, EDNS0 from RFC 6891): just what a cluster DNS server needs. Queries
// are parsed (one question, EDNS0 OPT); answers are built with name compression.

// Record types and classes.
const (
	typeA     uint16 = 1
	typeNS    uint16 = 2
	typeCNAME uint16 = 5
	typeSOA   uint16 = 6
	typePTR   uint16 = 12
	typeAAAA  uint16 = 28
	typeSRV   uint16 = 33
	typeOPT   uint16 = 41
	typeANY   uint16 = 255
	classIN   uint16 = 1
	classANY  uint16 = 255
)

// Response codes.
const (
	rcodeSuccess  = 0
	rcodeFormErr  = 1
	rcodeServFail = 2
	rcodeNXDomain = 3
	rcodeNotImp   = 4
	rcodeRefused  = 5
)

// Header flag bits.
const (
	flagQR = 1 << 15
	flagAA = 1 << 10
	flagTC = 1 << 9
	flagRD = 1 << 8
	flagRA = 1 << 7
)

const (
	headerLen   = 12
	maxNameLen  = 255 // wire length, RFC 1035 2.3.4
	maxLabelLen = 63
	// minUDPSize is what a client without EDNS0 accepts over UDP.
	minUDPSize = 512
	// ednsUDPSize is the payload size k2d advertises and caps EDNS0 answers at: the DNS flag
	// day 2020 value, safe from fragmentation.
	ednsUDPSize = 1232
)

var (
	errShort    = errors.New("dns: message too short")
	errName     = errors.New("dns: malformed name")
	errPointer  = errors.New("dns: bad compression pointer")
	errNotQuery = errors.New("dns: not a query")
)

// query is a parsed DNS query.
type query struct {
	id       uint16
	flags    uint16 // as received: opcode and RD matter
	name     string // the question name as sent (case kept), dotted, without the final dot
	qtype    uint16
	qclass   uint16
	question []byte // the question section as received (name uncompressed), echoed in answers
	edns     bool   // an OPT record came with it
	udpSize  int    // the client's EDNS0 payload size, or 512
}

func (q *query) opcode() int { return int(q.flags>>11) & 0xF }

// parseQuery reads a query: the header, exactly one question, and an OPT record if any.
func parseQuery(msg []byte) (*query, error) {
	if len(msg) < headerLen {
		return nil, errShort
	}
	be := binary.BigEndian
	q := &query{id: be.Uint16(msg[0:2]), flags: be.Uint16(msg[2:4]), udpSize: minUDPSize}
	if q.flags&flagQR != 0 {
		return nil, errNotQuery
	}
	qd, an, ns, ar := be.Uint16(msg[4:6]), be.Uint16(msg[6:8]), be.Uint16(msg[8:10]), be.Uint16(msg[10:12])
	if qd != 1 {
		return q, errNotQuery
	}
	name, off, err := readName(msg, headerLen)
	if err != nil {
		return q, err
	}
	if off+4 > len(msg) {
		return q, errShort
	}
	q.name = name
	q.qtype, q.qclass = be.Uint16(msg[off:]), be.Uint16(msg[off+2:])
	off += 4
	q.question = appendName(make([]byte, 0, len(name)+6), name)
	q.question = be.AppendUint16(q.question, q.qtype)
	q.question = be.AppendUint16(q.question, q.qclass)
	// Skip answer and authority records (a query has none, but a pointer may refer to them).
	for i := 0; i < int(an)+int(ns); i++ {
		if off, err = skipRR(msg, off); err != nil {
			return q, err
		}
	}
	for i := 0; i < int(ar); i++ {
		_, next, err := readName(msg, off)
		if err != nil {
			return q, err
		}
		if next+10 > len(msg) {
			return q, errShort
		}
		if be.Uint16(msg[next:]) == typeOPT {
			q.edns = true
			if size := int(be.Uint16(msg[next+2:])); size > minUDPSize {
				q.udpSize = size
			}
		}
		if off, err = skipRR(msg, off); err != nil {
			return q, err
		}
	}
	return q, nil
}

func skipRR(msg []byte, off int) (int, error) {
	_, off, err := readName(msg, off)
	if err != nil {
		return 0, err
	}
	if off+10 > len(msg) {
		return 0, errShort
	}
	off += 10 + int(binary.BigEndian.Uint16(msg[off+8:]))
	if off > len(msg) {
		return 0, errShort
	}
	return off, nil
}

// readName reads a possibly compressed name at off. It returns the dotted name (no final
// dot; "" is the root) and the offset after the name where it started. Pointers must point
// backwards, which also rules out loops. Labels holding a dot or bytes outside printable
// ASCII are refused: no name k2d answers for has them, and forwarding needs no parse.
func readName(msg []byte, off int) (string, int, error) {
	var b strings.Builder
	end := -1 // offset after the name in the original position, once a pointer is followed
	wire := 1
	ptrLimit := off
	for {
		if off >= len(msg) {
			return "", 0, errShort
		}
		l := int(msg[off])
		switch {
		case l == 0:
			if end < 0 {
				end = off + 1
			}
			return b.String(), end, nil
		case l&0xC0 == 0xC0:
			if off+1 >= len(msg) {
				return "", 0, errShort
			}
			ptr := int(binary.BigEndian.Uint16(msg[off:]) & 0x3FFF)
			if ptr >= ptrLimit {
				return "", 0, errPointer
			}
			if end < 0 {
				end = off + 2
			}
			ptrLimit = ptr
			off = ptr
		case l&0xC0 != 0:
			return "", 0, errName // extended label types are obsolete
		default:
			if off+1+l > len(msg) {
				return "", 0, errShort
			}
			if wire += l + 1; wire > maxNameLen {
				return "", 0, errName
			}
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			for _, c := range msg[off+1 : off+1+l] {
				if c <= ' ' || c >= 0x7F || c == '.' {
					return "", 0, errName
				}
				b.WriteByte(c)
			}
			off += 1 + l
		}
	}
}

// appendName appends a dotted name uncompressed. The name was checked (or built) by k2d.
func appendName(b []byte, name string) []byte {
	for name != "" {
		label, rest, _ := strings.Cut(name, ".")
		if len(label) > maxLabelLen {
			label = label[:maxLabelLen]
		}
		b = append(b, byte(len(label)))
		b = append(b, label...)
		name = rest
	}
	return append(b, 0)
}

// rr is one resource record of an answer.
type rr struct {
	name  string // owner; "" is the question name (written as a pointer to it)
	typ   uint16
	ttl   uint32
	addr  netip.Addr // A, AAAA
	host  string     // CNAME, PTR, SRV target, SOA mname
	mbox  string     // SOA rname
	prio  uint16     // SRV
	wt    uint16     // SRV
	port  uint16     // SRV
	soa   [5]uint32  // SOA serial, refresh, retry, expire, minimum
	rdata []byte     // any other type: raw RDATA without names (records relayed from upstream)
}

// msgWriter builds a message, compressing names against the ones already written.
type msgWriter struct {
	b     []byte
	names map[string]int // suffix -> offset
}

func (w *msgWriter) name(name string) {
	// Suffixes match by exact case: compressing "db.shop" against a question "Web.Shop"
	// would be valid DNS, but would show the client's case in names it did not ask for.
	for name != "" {
		if off, ok := w.names[name]; ok {
			w.b = binary.BigEndian.AppendUint16(w.b, 0xC000|uint16(off))
			return
		}
		if len(w.b) < 0x3FFF {
			if w.names == nil {
				w.names = map[string]int{}
			}
			w.names[name] = len(w.b)
		}
		label, rest, _ := strings.Cut(name, ".")
		if len(label) > maxLabelLen {
			label = label[:maxLabelLen]
		}
		w.b = append(w.b, byte(len(label)))
		w.b = append(w.b, label...)
		name = rest
	}
	w.b = append(w.b, 0)
}

func (w *msgWriter) rr(r *rr, qname string) {
	be := binary.BigEndian
	if r.name == "" {
		w.name(qname)
	} else {
		w.name(r.name)
	}
	w.b = be.AppendUint16(w.b, r.typ)
	w.b = be.AppendUint16(w.b, classIN)
	w.b = be.AppendUint32(w.b, r.ttl)
	lenAt := len(w.b)
	w.b = append(w.b, 0, 0)
	switch r.typ {
	case typeA, typeAAAA:
		w.b = append(w.b, r.addr.AsSlice()...)
	case typeCNAME, typePTR, typeNS:
		w.name(r.host)
	case typeSRV:
		w.b = be.AppendUint16(w.b, r.prio)
		w.b = be.AppendUint16(w.b, r.wt)
		w.b = be.AppendUint16(w.b, r.port)
		w.name(r.host) // RFC 2782 forbids compressing the target; resolvers accept it, but do not
	case typeSOA:
		w.name(r.host)
		w.name(r.mbox)
		for _, v := range r.soa {
			w.b = be.AppendUint32(w.b, v)
		}
	default:
		w.b = append(w.b, r.rdata...)
	}
	be.PutUint16(w.b[lenAt:], uint16(len(w.b)-lenAt-2))
}

// response is an answer to a query, before encoding.
type response struct {
	rcode  int
	aa     bool // authoritative: names in the cluster domain
	answer []rr
	auth   []rr
	extra  []rr
}

// encode builds the answer to q. Over UDP (maxSize > 0) an answer larger than the client
// accepts is sent empty with TC set, and the client asks again over TCP.
func (r *response) encode(q *query, maxSize int) []byte {
	b := r.encodeAll(q, true)
	if maxSize > 0 && len(b) > maxSize {
		b = r.encodeAll(q, false)
		b[2] |= flagTC >> 8
	}
	return b
}

func (r *response) encodeAll(q *query, records bool) []byte {
	be := binary.BigEndian
	w := msgWriter{b: make([]byte, headerLen, 512)}
	flags := uint16(flagQR|flagRA) | q.flags&(0xF<<11|flagRD) | uint16(r.rcode&0xF)
	if r.aa {
		flags |= flagAA
	}
	be.PutUint16(w.b[0:], q.id)
	be.PutUint16(w.b[2:], flags)
	if q.question != nil {
		be.PutUint16(w.b[4:], 1)
		w.name(q.name) // registers the question name for compression
		w.b = be.AppendUint16(w.b, q.qtype)
		w.b = be.AppendUint16(w.b, q.qclass)
	}
	var an, ns, ar int
	if records {
		for i := range r.answer {
			w.rr(&r.answer[i], q.name)
		}
		for i := range r.auth {
			w.rr(&r.auth[i], q.name)
		}
		for i := range r.extra {
			w.rr(&r.extra[i], q.name)
		}
		an, ns, ar = len(r.answer), len(r.auth), len(r.extra)
	}
	if q.edns {
		// OPT: root name, our payload size, extended rcode 0, version 0, no options.
		w.b = append(w.b, 0)
		w.b = be.AppendUint16(w.b, typeOPT)
		w.b = be.AppendUint16(w.b, ednsUDPSize)
		w.b = be.AppendUint32(w.b, 0)
		w.b = be.AppendUint16(w.b, 0)
		ar++
	}
	be.PutUint16(w.b[6:], uint16(an))
	be.PutUint16(w.b[8:], uint16(ns))
	be.PutUint16(w.b[10:], uint16(ar))
	return w.b
}

// errorReply answers a message that could not be parsed as a query, when its header can be.
func errorReply(msg []byte, rcode int) []byte {
	if len(msg) < headerLen || msg[2]&(flagQR>>8) != 0 {
		return nil
	}
	out := make([]byte, headerLen)
	copy(out, msg[:4])
	out[2] = out[2]&(0x78|flagRD>>8) | flagQR>>8
	out[3] = flagRA | byte(rcode&0xF)
	return out
}

// parseAnswers reads the rcode and the answer records of an upstream response, decompressing
// the names of CNAME records and keeping A and AAAA records; other types are left out.
func parseAnswers(msg []byte) (rcode int, out []rr, err error) {
	if len(msg) < headerLen {
		return 0, nil, errShort
	}
	be := binary.BigEndian
	rcode = int(msg[3] & 0xF)
	qd, an := int(be.Uint16(msg[4:6])), int(be.Uint16(msg[6:8]))
	off := headerLen
	for range qd {
		if _, off, err = readName(msg, off); err != nil {
			return rcode, nil, err
		}
		if off += 4; off > len(msg) {
			return rcode, nil, errShort
		}
	}
	for range an {
		name, next, err := readName(msg, off)
		if err != nil {
			return rcode, out, err
		}
		if next+10 > len(msg) {
			return rcode, out, errShort
		}
		typ, class, ttl := be.Uint16(msg[next:]), be.Uint16(msg[next+2:]), be.Uint32(msg[next+4:])
		dlen := int(be.Uint16(msg[next+8:]))
		data := next + 10
		if data+dlen > len(msg) {
			return rcode, out, errShort
		}
		off = data + dlen
		if class != classIN {
			continue
		}
		r := rr{name: name, typ: typ, ttl: ttl}
		switch typ {
		case typeA, typeAAAA:
			a, ok := netip.AddrFromSlice(msg[data:off])
			if !ok {
				continue
			}
			r.addr = a
		case typeCNAME:
			if r.host, _, err = readName(msg, data); err != nil {
				return rcode, out, err
			}
		default:
			continue
		}
		out = append(out, r)
	}
	return rcode, out, nil
}
