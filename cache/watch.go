package cache

import "sync"

// watchBuffer is how many events a watcher may fall behind before it is dropped: a dropped
// watcher's stream ends and the client re-watches from the last resourceVersion it saw.
const watchBuffer = 256

// Watcher receives the changes to one resource (optionally one namespace) in order.
type Watcher struct {
	c        *Cache
	resource string
	ns       string
	ch       chan Event
	once     sync.Once
	dropped  bool // set under c.mu when the buffer overflowed
}

// Events returns the channel of live events; it is closed when the watcher is stopped or
// dropped because it fell behind.
func (w *Watcher) Events() <-chan Event { return w.ch }

// Stop unregisters the watcher and closes its channel.
func (w *Watcher) Stop() {
	w.c.mu.Lock()
	w.close()
	w.c.mu.Unlock()
}

// close runs with c.mu held.
func (w *Watcher) close() {
	w.once.Do(func() {
		delete(w.c.watchers, w)
		close(w.ch)
	})
}

// Watch starts a watch on resource in namespace ns ("" for all). With fromRV == 0 the backlog
// holds an ADDED event for every current object (a watch "from now, with initial state");
// otherwise it holds every change after fromRV, or ErrExpired when the history no longer
// reaches back that far. Live events follow on the watcher's channel. rv is the
// resourceVersion the backlog is consistent with: every live event is newer.
func (c *Cache) Watch(resource, ns string, fromRV uint64) (w *Watcher, backlog []Event, rv uint64, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if fromRV == 0 {
		for _, e := range c.tables[resource] {
			if ns == "" || e.Meta().GetNamespace() == ns {
				backlog = append(backlog, Event{Type: Added, Resource: resource, Entry: e})
			}
		}
		sortEvents(backlog)
	} else {
		if fromRV < c.floor {
			return nil, nil, 0, ErrExpired
		}
		for i := 0; i < c.logLen; i++ {
			ev := c.log[(c.logStart+i)%len(c.log)]
			if ev.Entry.RV > fromRV && ev.Resource == resource && (ns == "" || ev.Entry.Meta().GetNamespace() == ns) {
				backlog = append(backlog, ev)
			}
		}
	}
	w = &Watcher{c: c, resource: resource, ns: ns, ch: make(chan Event, watchBuffer)}
	c.watchers[w] = struct{}{}
	return w, backlog, c.rv, nil
}

// publish records ev in the history and fans it out; c.mu is held.
func (c *Cache) publish(ev Event) {
	n := len(c.log)
	if c.logLen < n {
		c.log[(c.logStart+c.logLen)%n] = ev
		c.logLen++
	} else {
		// The oldest event falls out of the history: resuming from before it is no longer possible.
		c.floor = c.log[c.logStart].Entry.RV
		c.log[c.logStart] = ev
		c.logStart = (c.logStart + 1) % n
	}
	for w := range c.watchers {
		if w.resource != ev.Resource || (w.ns != "" && w.ns != ev.Entry.Meta().GetNamespace()) {
			continue
		}
		select {
		case w.ch <- ev:
		default:
			w.dropped = true
			w.close()
		}
	}
	for _, fn := range c.subs {
		fn(ev)
	}
}

func sortEvents(evs []Event) {
	// Insertion order of a map is random; clients expect a stable order (namespace, name).
	for i := 1; i < len(evs); i++ {
		for j := i; j > 0 && less(evs[j].Entry, evs[j-1].Entry); j-- {
			evs[j], evs[j-1] = evs[j-1], evs[j]
		}
	}
}

func less(a, b *Entry) bool {
	am, bm := a.Meta(), b.Meta()
	if am.GetNamespace() != bm.GetNamespace() {
		return am.GetNamespace() < bm.GetNamespace()
	}
	return am.GetName() < bm.GetName()
}
