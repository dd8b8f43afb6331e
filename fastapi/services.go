package fastapi

// This file: the Service REST strategy's stateful part, as the API server's service storage
// does it: ClusterIP and NodePort allocation on create and update, the IP family fields, and
// on update the carry-over of allocated values a client left out (kubectl replace and apply
// send manifests without them).

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/k2d-project/k2d/codec"
	"github.com/valyala/fasthttp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Defaults of Config.ServiceCIDR and Config.NodePortRange, those of kube-apiserver.
const (
	DefaultServiceCIDR   = "10.96.0.0/12"
	DefaultNodePortRange = "30000-32767"
)

// Offsets in the service range that k2d's own Services hold: the `kubernetes` Service takes
// the first address and the cluster DNS the tenth, as kubeadm clusters have them. Dynamic
// allocation never hands them out and API clients may not request them; k2d's controllers
// store those Services directly.
const (
	kubernetesIPOffset = 1
	dnsIPOffset        = 10
)

// reservationTTL is how long an allocation made by an admitted request is held while the
// request has not stored its Service yet. A create that fails after admission (the name
// exists, the disk fails) gives its values back when the reservation lapses; a stored
// Service holds them through the store, which is the truth across restarts.
const reservationTTL = 30 * time.Second

func init() {
	admissions["services"] = append(admissions["services"], admitServiceAllocation)
}

// Allocation errors, worded as the API server's allocators word them.
var (
	errRangeFull     = errors.New("range is full")
	errIPAllocated   = errors.New("provided IP is already allocated")
	errPortAllocated = errors.New("provided port is already allocated")
)

// ParseServiceCIDR checks a service range as kube-apiserver does for
// --service-cluster-ip-range: a CIDR of at most 2^20 addresses (an IPv4 mask of at least
// /12, an IPv6 one of at least /108) with room for one Service besides the network address.
func ParseServiceCIDR(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(strings.TrimSpace(s))
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("invalid service CIDR %q: %w", s, err)
	}
	p = p.Masked()
	host := p.Addr().BitLen() - p.Bits()
	if host > 20 {
		if p.Addr().Is4() {
			return netip.Prefix{}, fmt.Errorf("service CIDR %s is too large; for 32-bit addresses, the mask must be >= 12", p)
		}
		return netip.Prefix{}, fmt.Errorf("service CIDR %s is too large; for 128-bit addresses, the mask must be >= 108", p)
	}
	if host < 2 {
		return netip.Prefix{}, fmt.Errorf("service CIDR %s is too small: it holds no address for Services", p)
	}
	return p, nil
}

// ParseNodePortRange parses "30000-32767" (or a single port) as --service-node-port-range.
func ParseNodePortRange(s string) (lo, hi int, err error) {
	a, b, found := strings.Cut(strings.TrimSpace(s), "-")
	if !found {
		b = a
	}
	lo, err1 := strconv.Atoi(strings.TrimSpace(a))
	hi, err2 := strconv.Atoi(strings.TrimSpace(b))
	if err1 != nil || err2 != nil || lo < 1 || hi > 65535 || lo > hi {
		return 0, 0, fmt.Errorf("invalid node port range %q: want e.g. 30000-32767", s)
	}
	return lo, hi, nil
}

// ServiceIP returns the address at offset n of the range: 1 is the `kubernetes` Service's,
// 10 the cluster DNS Service's.
func ServiceIP(p netip.Prefix, n uint64) netip.Addr {
	b := p.Masked().Addr().As16()
	v := uint64(b[8])<<56 | uint64(b[9])<<48 | uint64(b[10])<<40 | uint64(b[11])<<32 |
		uint64(b[12])<<24 | uint64(b[13])<<16 | uint64(b[14])<<8 | uint64(b[15])
	v += n
	for i := 0; i < 8; i++ {
		b[15-i] = byte(v >> (8 * i))
	}
	a := netip.AddrFrom16(b)
	if p.Addr().Is4() {
		return a.Unmap()
	}
	return a
}

// svcAllocator hands out ClusterIPs and NodePorts. Free values are those no stored Service
// holds and no admitted-but-unstored request reserved: the store is scanned under mu, so two
// concurrent creates never get the same value, and a restart loses nothing.
type svcAllocator struct {
	cidr     netip.Prefix
	family   corev1.IPFamily
	first    uint64 // first and last allocatable offsets: the network address (and the
	last     uint64 // IPv4 broadcast address) are never Service addresses
	portLo   int
	portHi   int
	portSpec string
	now      func() time.Time

	seq     atomic.Uint64
	mu      sync.Mutex
	pending map[string]reservation // "ip:10.96.0.5" or "port:30080"
}

type reservation struct {
	owner string // "ns/name" of the Service the value was allocated for
	until time.Time
}

func newSvcAllocator(cidr, ports string) (*svcAllocator, error) {
	if cidr == "" {
		cidr = DefaultServiceCIDR
	}
	if ports == "" {
		ports = DefaultNodePortRange
	}
	p, err := ParseServiceCIDR(cidr)
	if err != nil {
		return nil, err
	}
	lo, hi, err := ParseNodePortRange(ports)
	if err != nil {
		return nil, err
	}
	size := uint64(1) << (p.Addr().BitLen() - p.Bits())
	a := &svcAllocator{cidr: p, family: corev1.IPv4Protocol, first: 1, last: size - 1,
		portLo: lo, portHi: hi, portSpec: fmt.Sprintf("%d-%d", lo, hi), now: time.Now, pending: map[string]reservation{}}
	if p.Addr().Is4() {
		a.last = size - 2
	} else {
		a.family = corev1.IPv6Protocol
	}
	return a, nil
}

// allocators holds one allocator per store and configuration: the reservations belong
// with the state they guard, whichever Server admits the request.
var allocators sync.Map // allocKey -> *svcAllocator

type allocKey struct {
	store       Store
	cidr, ports string
}

func (s *Server) serviceAllocator() (*svcAllocator, error) {
	key := allocKey{s.cfg.Store, s.cfg.ServiceCIDR, s.cfg.NodePortRange}
	if a, ok := allocators.Load(key); ok {
		return a.(*svcAllocator), nil
	}
	a, err := newSvcAllocator(s.cfg.ServiceCIDR, s.cfg.NodePortRange)
	if err != nil {
		return nil, err
	}
	got, _ := allocators.LoadOrStore(key, a)
	return got.(*svcAllocator), nil
}

func admitServiceAllocation(s *Server, _ *fasthttp.RequestCtx, k *codec.Kind, obj, old runtime.Object, dryRun bool) *apiError {
	svc, ok := obj.(*corev1.Service)
	if !ok {
		return nil
	}
	var oldSvc *corev1.Service
	if old != nil {
		oldSvc, _ = old.(*corev1.Service)
	}
	a, err := s.serviceAllocator()
	if err != nil {
		return errInternal(err)
	}
	return a.admit(s.cfg.Store, k, svc, oldSvc, dryRun)
}

// usage is what the stored Services (other than the one being written) and the pending
// reservations hold.
type usage struct {
	ips   map[netip.Addr]bool
	ports map[int]bool
}

// used scans the store; a.mu is held. Lapsed reservations, and those the store now covers,
// are dropped on the way.
func (a *svcAllocator) used(store Store, self string) usage {
	u := usage{ips: map[netip.Addr]bool{}, ports: map[int]bool{}}
	list, _ := store.List("services", "")
	held := map[string]string{} // value key -> owner
	for _, e := range list {
		svc, ok := e.Obj.(*corev1.Service)
		if !ok {
			continue
		}
		owner := svc.Namespace + "/" + svc.Name
		for _, v := range heldValues(svc) {
			held[v] = owner
		}
		if owner == self {
			continue
		}
		for _, v := range heldValues(svc) {
			a.mark(u, v)
		}
	}
	now := a.now()
	for v, r := range a.pending {
		if now.After(r.until) || held[v] == r.owner {
			delete(a.pending, v)
			continue
		}
		if r.owner != self {
			a.mark(u, v)
		}
	}
	return u
}

func (a *svcAllocator) mark(u usage, v string) {
	if ip, ok := strings.CutPrefix(v, "ip:"); ok {
		if addr, err := netip.ParseAddr(ip); err == nil {
			u.ips[addr] = true
		}
		return
	}
	if p, ok := strings.CutPrefix(v, "port:"); ok {
		if n, err := strconv.Atoi(p); err == nil {
			u.ports[n] = true
		}
	}
}

// heldValues lists the allocated values a stored Service holds.
func heldValues(svc *corev1.Service) []string {
	var out []string
	if svc.Spec.Type != corev1.ServiceTypeExternalName {
		ips := svc.Spec.ClusterIPs
		if len(ips) == 0 && svc.Spec.ClusterIP != "" {
			ips = []string{svc.Spec.ClusterIP}
		}
		for _, ip := range ips {
			if ip != "" && ip != corev1.ClusterIPNone {
				out = append(out, ipKey(ip))
			}
		}
	}
	for _, p := range svc.Spec.Ports {
		if p.NodePort != 0 {
			out = append(out, portKey(int(p.NodePort)))
		}
	}
	if svc.Spec.HealthCheckNodePort != 0 {
		out = append(out, portKey(int(svc.Spec.HealthCheckNodePort)))
	}
	return out
}

func ipKey(ip string) string {
	if a, err := netip.ParseAddr(ip); err == nil {
		return "ip:" + a.Unmap().String()
	}
	return "ip:" + ip
}

func portKey(p int) string { return "port:" + strconv.Itoa(p) }

// txn collects what one request allocates, committed as reservations only when the whole
// admission succeeds and the request is not a dry run.
type txn struct {
	a     *svcAllocator
	u     usage
	taken []string
}

func (t *txn) takeIP(ip netip.Addr) {
	t.u.ips[ip] = true
	t.taken = append(t.taken, "ip:"+ip.String())
}

func (t *txn) takePort(p int) {
	t.u.ports[p] = true
	t.taken = append(t.taken, portKey(p))
}

// admit allocates what svc needs; old is nil on create. It runs after defaulting and
// validation, so the fields are well formed.
func (a *svcAllocator) admit(store Store, k *codec.Kind, svc, old *corev1.Service, dryRun bool) *apiError {
	if errs := a.initIPFamilies(svc, old); len(errs) > 0 {
		return errInvalid(k, svc.Name, causesOf(errs))
	}
	self, owner := "", ""
	if svc.Name != "" {
		self = svc.Namespace + "/" + svc.Name
		owner = self
	} else {
		// generateName: the name comes when the cache stores the object, so the reservation
		// cannot be matched to it; it lapses instead.
		owner = fmt.Sprintf("%s/%s*%d", svc.Namespace, svc.GenerateName, a.seq.Add(1))
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	t := &txn{a: a, u: a.used(store, self)}
	if aerr := a.allocClusterIP(t, k, svc, old); aerr != nil {
		return aerr
	}
	if aerr := a.allocNodePorts(t, k, svc, old); aerr != nil {
		return aerr
	}
	if aerr := a.allocHealthCheckNodePort(t, svc, old); aerr != nil {
		return aerr
	}
	if !dryRun {
		until := a.now().Add(reservationTTL)
		for _, v := range t.taken {
			a.pending[v] = reservation{owner: owner, until: until}
		}
	}
	return nil
}

// causesOf turns field errors into causes. Invalid values print as the v1.32 API server
// prints them (Go syntax for lists: []string{"10.96.0.5"}); apimachinery now prints JSON.
func causesOf(errs field.ErrorList) []codec.Cause {
	out := make([]codec.Cause, len(errs))
	for i, e := range errs {
		msg := e.ErrorBody()
		if e.Type == field.ErrorTypeInvalid {
			msg = e.Type.String() + ": " + badValue(e.BadValue)
			if e.Detail != "" {
				msg += ": " + e.Detail
			}
		}
		out[i] = codec.Cause{Type: string(e.Type), Field: e.Field, Message: msg}
	}
	return out
}

// badValue formats a value as field.Error.ErrorBody did in v1.32.
func badValue(v any) string {
	if v == nil {
		return "null"
	}
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return "null"
		}
		v = rv.Elem().Interface()
	}
	switch t := v.(type) {
	case int64, int32, float64, float32, bool:
		return fmt.Sprintf("%v", t)
	case string:
		return strconv.Quote(t)
	case fmt.Stringer:
		return t.String()
	}
	return fmt.Sprintf("%#v", v)
}

func needsClusterIP(svc *corev1.Service) bool { return svc.Spec.Type != corev1.ServiceTypeExternalName }

func needsNodePort(svc *corev1.Service) bool {
	return svc.Spec.Type == corev1.ServiceTypeNodePort || svc.Spec.Type == corev1.ServiceTypeLoadBalancer
}

func needsHealthCheckNodePort(svc *corev1.Service) bool {
	return svc.Spec.Type == corev1.ServiceTypeLoadBalancer && svc.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal
}

func shouldAllocateNodePorts(svc *corev1.Service) bool {
	switch svc.Spec.Type {
	case corev1.ServiceTypeNodePort:
		return true
	case corev1.ServiceTypeLoadBalancer:
		return svc.Spec.AllocateLoadBalancerNodePorts == nil || *svc.Spec.AllocateLoadBalancerNodePorts
	}
	return false
}

func isHeadless(svc *corev1.Service) bool {
	return svc.Spec.ClusterIP == corev1.ClusterIPNone || (len(svc.Spec.ClusterIPs) > 0 && svc.Spec.ClusterIPs[0] == corev1.ClusterIPNone)
}

// initIPFamilies defaults ipFamilyPolicy and ipFamilies for a single-stack cluster and
// refuses what this cluster cannot give, as the allocator's initIPFamilyFields does.
func (a *svcAllocator) initIPFamilies(svc, old *corev1.Service) field.ErrorList {
	if !needsClusterIP(svc) {
		return nil
	}
	spec := &svc.Spec
	if spec.IPFamilyPolicy == nil {
		var p corev1.IPFamilyPolicy
		switch {
		case old != nil && old.Spec.IPFamilyPolicy != nil:
			p = *old.Spec.IPFamilyPolicy
		case spec.ClusterIP == corev1.ClusterIPNone && len(spec.Selector) == 0:
			p = corev1.IPFamilyPolicyRequireDualStack // headless and selectorless: both families
		default:
			p = corev1.IPFamilyPolicySingleStack
		}
		spec.IPFamilyPolicy = &p
	}
	policy := *spec.IPFamilyPolicy
	var errs field.ErrorList
	fldPolicy := field.NewPath("spec", "ipFamilyPolicy")
	if old != nil && policy == corev1.IPFamilyPolicySingleStack {
		if slices.Equal(old.Spec.ClusterIPs, spec.ClusterIPs) && len(spec.ClusterIPs) > 1 {
			spec.ClusterIPs = spec.ClusterIPs[:1]
		}
		if slices.Equal(old.Spec.IPFamilies, spec.IPFamilies) && len(spec.IPFamilies) > 1 {
			spec.IPFamilies = spec.IPFamilies[:1]
		}
	} else if old != nil {
		if len(spec.ClusterIPs) > 0 && len(spec.ClusterIPs) < len(old.Spec.ClusterIPs) {
			errs = append(errs, field.Invalid(fldPolicy, spec.IPFamilyPolicy, "must be 'SingleStack' to release the secondary cluster IP"))
		}
		if len(spec.IPFamilies) > 0 && len(spec.IPFamilies) < len(old.Spec.IPFamilies) {
			errs = append(errs, field.Invalid(fldPolicy, spec.IPFamilyPolicy, "must be 'SingleStack' to release the secondary IP family"))
		}
	}
	if policy == corev1.IPFamilyPolicySingleStack {
		if len(spec.ClusterIPs) == 2 {
			errs = append(errs, field.Invalid(fldPolicy, spec.IPFamilyPolicy, "must be 'RequireDualStack' or 'PreferDualStack' when multiple cluster IPs are specified"))
		}
		if len(spec.IPFamilies) == 2 {
			errs = append(errs, field.Invalid(fldPolicy, spec.IPFamilyPolicy, "must be 'RequireDualStack' or 'PreferDualStack' when multiple IP families are specified"))
		}
	}
	for i, ip := range spec.ClusterIPs {
		if ip == corev1.ClusterIPNone {
			break
		}
		if i < len(spec.IPFamilies) {
			continue
		}
		fam := familyOf(ip)
		if fam != a.family {
			errs = append(errs, field.Invalid(field.NewPath("spec", "clusterIPs").Index(i), spec.ClusterIPs, fmt.Sprintf("%s is not configured on this cluster", fam)))
			continue
		}
		spec.IPFamilies = append(spec.IPFamilies, fam)
	}
	if len(errs) > 0 {
		return errs
	}
	if spec.ClusterIP == corev1.ClusterIPNone && len(spec.Selector) == 0 {
		if len(spec.IPFamilies) == 0 {
			spec.IPFamilies = []corev1.IPFamily{a.family}
		}
		if len(spec.IPFamilies) < 2 && policy != corev1.IPFamilyPolicySingleStack {
			spec.IPFamilies = append(spec.IPFamilies, otherFamily(spec.IPFamilies[0]))
		}
		return nil
	}
	if policy == corev1.IPFamilyPolicyRequireDualStack {
		errs = append(errs, field.Invalid(fldPolicy, spec.IPFamilyPolicy, "this cluster is not configured for dual-stack services"))
	}
	for i, fam := range spec.IPFamilies {
		if fam != a.family {
			errs = append(errs, field.Invalid(field.NewPath("spec", "ipFamilies").Index(i), fam, "not configured on this cluster"))
		}
	}
	if len(errs) > 0 {
		return errs
	}
	if len(spec.IPFamilies) == 0 {
		spec.IPFamilies = []corev1.IPFamily{a.family}
	}
	return nil
}

func familyOf(ip string) corev1.IPFamily {
	a, err := netip.ParseAddr(ip)
	switch {
	case err != nil:
		return "unknown"
	case a.Unmap().Is4():
		return corev1.IPv4Protocol
	}
	return corev1.IPv6Protocol
}

func otherFamily(f corev1.IPFamily) corev1.IPFamily {
	if f == corev1.IPv4Protocol {
		return corev1.IPv6Protocol
	}
	return corev1.IPv4Protocol
}

// allocClusterIP gives svc its address: on create, and on an update that turns an
// ExternalName Service into one that needs an address. Releases need nothing: a value no
// stored Service holds is free.
func (a *svcAllocator) allocClusterIP(t *txn, k *codec.Kind, svc, old *corev1.Service) *apiError {
	if !needsClusterIP(svc) || isHeadless(svc) {
		return nil
	}
	if old != nil && needsClusterIP(old) && (isHeadless(old) || old.Spec.ClusterIP != "") {
		return nil // kept: validation holds clusterIP immutable
	}
	if svc.Spec.ClusterIP == "" {
		ip, ok := a.nextIP(t.u)
		if !ok {
			return errInternal(fmt.Errorf("failed to allocate a serviceIP: %w", errRangeFull))
		}
		t.takeIP(ip)
		svc.Spec.ClusterIP = ip.String()
		if len(svc.Spec.ClusterIPs) == 0 {
			svc.Spec.ClusterIPs = []string{svc.Spec.ClusterIP}
		} else {
			svc.Spec.ClusterIPs[0] = svc.Spec.ClusterIP
		}
		return nil
	}
	if len(svc.Spec.ClusterIPs) == 0 {
		svc.Spec.ClusterIPs = []string{svc.Spec.ClusterIP}
	}
	req := svc.Spec.ClusterIP
	ip, err := a.checkIP(t.u, req)
	if err != nil {
		errs := field.ErrorList{field.Invalid(field.NewPath("spec", "clusterIPs"), svc.Spec.ClusterIPs,
			fmt.Sprintf("failed to allocate IP %s: %v", req, err))}
		return errInvalid(k, svc.Name, causesOf(errs))
	}
	t.takeIP(ip)
	return nil
}

// offset returns the address's position in the range, or false when it is outside the
// allocatable part (the network and broadcast addresses are outside).
func (a *svcAllocator) offset(ip netip.Addr) (uint64, bool) {
	ip = ip.Unmap()
	if !a.cidr.Contains(ip) {
		return 0, false
	}
	b, base := ip.As16(), a.cidr.Addr().As16()
	var off uint64
	for i := 8; i < 16; i++ {
		off = off<<8 | uint64(b[i]-base[i])
	}
	return off, off >= a.first && off <= a.last
}

func (a *svcAllocator) checkIP(u usage, req string) (netip.Addr, error) {
	ip, err := netip.ParseAddr(req)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("the provided IP (%s) is not in the valid range. The range of valid IPs is %s", req, a.cidr)
	}
	ip = ip.Unmap()
	off, ok := a.offset(ip)
	if !ok {
		return netip.Addr{}, fmt.Errorf("the provided IP (%s) is not in the valid range. The range of valid IPs is %s", ip, a.cidr)
	}
	if u.ips[ip] || off == kubernetesIPOffset || off == dnsIPOffset {
		return netip.Addr{}, errIPAllocated
	}
	return ip, nil
}

// nextIP picks a free address at random, preferring the upper part of the range: the lower
// band is left for addresses users request, as the API server's allocator does.
func (a *svcAllocator) nextIP(u usage) (netip.Addr, bool) {
	n := a.last - a.first + 1
	band := min(max(16, n/16), 256)
	free := func(off uint64) bool {
		if off == kubernetesIPOffset || off == dnsIPOffset {
			return false
		}
		return !u.ips[ServiceIP(a.cidr, off)]
	}
	if n > band {
		if off, ok := probe(a.first+band, a.last, free); ok {
			return ServiceIP(a.cidr, off), true
		}
		if off, ok := probe(a.first, a.first+band-1, free); ok {
			return ServiceIP(a.cidr, off), true
		}
		return netip.Addr{}, false
	}
	if off, ok := probe(a.first, a.last, free); ok {
		return ServiceIP(a.cidr, off), true
	}
	return netip.Addr{}, false
}

// probe returns a value of [lo, hi] for which free holds, starting at a random one.
func probe(lo, hi uint64, free func(uint64) bool) (uint64, bool) {
	if lo > hi {
		return 0, false
	}
	n := hi - lo + 1
	start := rand.N(n)
	for i := uint64(0); i < n; i++ {
		v := lo + (start+i)%n
		if free(v) {
			return v, true
		}
	}
	return 0, false
}

func (a *svcAllocator) checkPort(u usage, p int) error {
	if p < a.portLo || p > a.portHi {
		return fmt.Errorf("provided port is not in the valid range. The range of valid ports is %s", a.portSpec)
	}
	if u.ports[p] {
		return errPortAllocated
	}
	return nil
}

func (a *svcAllocator) nextPort(u usage) (int, bool) {
	n := uint64(a.portHi - a.portLo + 1)
	band := min(max(16, n/32), 128)
	free := func(v uint64) bool { return !u.ports[int(v)] }
	lo, hi := uint64(a.portLo), uint64(a.portHi)
	if n > band {
		if v, ok := probe(lo+band, hi, free); ok {
			return int(v), true
		}
		v, ok := probe(lo, lo+band-1, free)
		return int(v), ok
	}
	v, ok := probe(lo, hi, free)
	return int(v), ok
}

func nodePortInvalid(k *codec.Kind, svc *corev1.Service, i int, value any, err error) *apiError {
	errs := field.ErrorList{field.Invalid(field.NewPath("spec", "ports").Index(i).Child("nodePort"), value, err.Error())}
	return errInvalid(k, svc.Name, causesOf(errs))
}

// allocNodePorts gives the ports of a NodePort or LoadBalancer Service their nodePorts. On
// create, ports with the same number (TCP and UDP) share one; on update, nodePorts the
// Service already held stay its own.
func (a *svcAllocator) allocNodePorts(t *txn, k *codec.Kind, svc, old *corev1.Service) *apiError {
	if !needsNodePort(svc) {
		return nil
	}
	if old == nil {
		// Requested nodePorts first, as the API server's allocator does: a random pick for
		// one port must not take the number another port of the same Service asks for.
		explicit := map[int32]bool{}
		for i := range svc.Spec.Ports {
			np := svc.Spec.Ports[i].NodePort
			if np == 0 || explicit[np] {
				continue
			}
			if err := a.checkPort(t.u, int(np)); err != nil {
				return nodePortInvalid(k, svc, i, int(np), err)
			}
			t.takePort(int(np))
			explicit[np] = true
		}
		byPort := map[int32]int32{}
		for i := range svc.Spec.Ports {
			sp := &svc.Spec.Ports[i]
			if sp.NodePort == 0 && !shouldAllocateNodePorts(svc) {
				continue
			}
			shared := byPort[sp.Port]
			switch {
			case shared == 0:
				np := requestedNodePort(sp.Port, svc.Spec.Ports)
				if np != 0 && !explicit[np] {
					if err := a.checkPort(t.u, int(np)); err != nil {
						return nodePortInvalid(k, svc, i, int(np), err)
					}
					t.takePort(int(np))
				} else if np == 0 {
					p, ok := a.nextPort(t.u)
					if !ok {
						return errInternal(fmt.Errorf("failed to allocate a nodePort: %w", errRangeFull))
					}
					t.takePort(p)
					np = int32(p)
				}
				sp.NodePort = np
				byPort[sp.Port] = np
			case sp.NodePort == 0:
				sp.NodePort = shared
			case sp.NodePort != shared && !explicit[sp.NodePort]:
				if err := a.checkPort(t.u, int(sp.NodePort)); err != nil {
					return nodePortInvalid(k, svc, i, sp.NodePort, err)
				}
				t.takePort(int(sp.NodePort))
			}
		}
		return nil
	}
	had := map[int32]bool{}
	for _, p := range old.Spec.Ports {
		if p.NodePort != 0 {
			had[p.NodePort] = true
		}
	}
	if !needsNodePort(old) {
		had = map[int32]bool{} // ClusterIP -> NodePort: nothing was held
	}
	got := map[int32]bool{}
	for i := range svc.Spec.Ports {
		sp := &svc.Spec.Ports[i]
		if sp.NodePort == 0 && !shouldAllocateNodePorts(svc) {
			continue
		}
		if sp.NodePort != 0 {
			if had[sp.NodePort] || got[sp.NodePort] {
				continue
			}
			if err := a.checkPort(t.u, int(sp.NodePort)); err != nil {
				return nodePortInvalid(k, svc, i, sp.NodePort, err)
			}
			t.takePort(int(sp.NodePort))
			got[sp.NodePort] = true
			continue
		}
		p, ok := a.nextPort(t.u)
		if !ok {
			return errInternal(fmt.Errorf("failed to allocate a nodePort: %w", errRangeFull))
		}
		t.takePort(p)
		sp.NodePort = int32(p)
	}
	return nil
}

func requestedNodePort(port int32, ports []corev1.ServicePort) int32 {
	for _, p := range ports {
		if p.Port == port && p.NodePort != 0 {
			return p.NodePort
		}
	}
	return 0
}

// allocHealthCheckNodePort serves LoadBalancer Services with externalTrafficPolicy Local.
func (a *svcAllocator) allocHealthCheckNodePort(t *txn, svc, old *corev1.Service) *apiError {
	if !needsHealthCheckNodePort(svc) || (old != nil && needsHealthCheckNodePort(old)) {
		return nil
	}
	if hc := svc.Spec.HealthCheckNodePort; hc != 0 {
		if err := a.checkPort(t.u, int(hc)); err != nil {
			return errInternal(fmt.Errorf("failed to allocate requested HealthCheck NodePort %d: %w", hc, err))
		}
		t.takePort(int(hc))
		return nil
	}
	p, ok := a.nextPort(t.u)
	if !ok {
		return errInternal(fmt.Errorf("failed to allocate a HealthCheck NodePort 0: %w", errRangeFull))
	}
	t.takePort(p)
	svc.Spec.HealthCheckNodePort = int32(p)
	return nil
}
