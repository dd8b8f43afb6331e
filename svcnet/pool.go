package svcnet

import (
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// maxSticky bounds the client IPs a pool remembers for session affinity; past it, expired
// entries are dropped, and if none expired the oldest go.
const maxSticky = 4096

// pool is the ready endpoints of one service port, picked round-robin, or per client IP
// with session affinity. The endpoint list never changes: new endpoints make a new pool
// (which keeps the affinity of clients whose endpoint is still there), so picking needs no
// lock unless affinity is on.
type pool struct {
	addrs    []netip.AddrPort
	next     atomic.Uint32
	affinity time.Duration // sessionAffinity ClientIP timeout; 0 is none

	mu     sync.Mutex
	sticky map[netip.Addr]stickyEntry
}

type stickyEntry struct {
	to   netip.AddrPort
	last int64 // mono() of the last connection
}

func newPool(addrs []netip.AddrPort, affinity time.Duration) *pool {
	p := &pool{addrs: append([]netip.AddrPort(nil), addrs...), affinity: affinity}
	if affinity > 0 {
		p.sticky = map[netip.Addr]stickyEntry{}
	}
	return p
}

// with returns the pool for new endpoints or affinity: p itself when nothing changed.
func (p *pool) with(addrs []netip.AddrPort, affinity time.Duration) *pool {
	if p.affinity == affinity && slices.Equal(p.addrs, addrs) {
		return p
	}
	np := newPool(addrs, affinity)
	if affinity > 0 && p.affinity > 0 {
		p.mu.Lock()
		for c, e := range p.sticky {
			if slices.Contains(np.addrs, e.to) {
				np.sticky[c] = e
			}
		}
		p.mu.Unlock()
	}
	return np
}

// order returns the endpoints to try for one new connection from client: all of them,
// starting with the client's endpoint under affinity, else the next in turn, so that a
// refusing endpoint is skipped and the load still spreads.
func (p *pool) order(client netip.Addr) []netip.AddrPort {
	n := len(p.addrs)
	if n == 0 {
		return nil
	}
	if p.affinity > 0 && client.IsValid() {
		p.mu.Lock()
		e, ok := p.sticky[client]
		p.mu.Unlock()
		if ok && time.Duration(mono()-e.last) < p.affinity {
			if i := slices.Index(p.addrs, e.to); i >= 0 {
				return p.rotate(i)
			}
		}
	}
	return p.rotate(int((p.next.Add(1) - 1) % uint32(n)))
}

func (p *pool) rotate(start int) []netip.AddrPort {
	if start == 0 {
		return p.addrs
	}
	out := make([]netip.AddrPort, 0, len(p.addrs))
	out = append(out, p.addrs[start:]...)
	return append(out, p.addrs[:start]...)
}

// chose records that client was served by to, for session affinity.
func (p *pool) chose(client netip.Addr, to netip.AddrPort) {
	if p.affinity <= 0 || !client.IsValid() {
		return
	}
	now := mono()
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.sticky[client]; !ok && len(p.sticky) >= maxSticky {
		oldest, at := netip.Addr{}, now
		for c, e := range p.sticky {
			if time.Duration(now-e.last) >= p.affinity {
				delete(p.sticky, c)
			} else if e.last < at {
				oldest, at = c, e.last
			}
		}
		if len(p.sticky) >= maxSticky {
			delete(p.sticky, oldest)
		}
	}
	p.sticky[client] = stickyEntry{to: to, last: now}
}
