package reconcile

import "time"

// The kubelet's back-off for crash-looping containers and failing image pulls: 10 s, doubled
// at each failure up to 5 min, forgotten after twice the maximum without a failure (a
// container that ran 10 minutes starts over at 10 s).
const (
	backoffInitial = 10 * time.Second
	backoffMax     = 5 * time.Minute
)

type backoffEntry struct {
	d    time.Duration
	last time.Time
}

func backoffExpired(at, last time.Time) bool { return at.Sub(last) > 2*backoffMax }

// inBackoff reports whether key must still wait after an event at since (a container's
// finish time), and for how long; cur is the current back-off period.
func (c *Controller) inBackoff(key string, since time.Time) (wait, cur time.Duration) {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.backoff[key]
	if !ok || backoffExpired(now, e.last) {
		return 0, 0
	}
	if el := now.Sub(since); el < e.d {
		return e.d - el, e.d
	}
	return 0, e.d
}

// nextBackoff records a failure of key: the first starts the back-off, later ones double it.
func (c *Controller) nextBackoff(key string, at time.Time) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.backoff[key]
	if !ok || backoffExpired(at, e.last) {
		e = &backoffEntry{d: backoffInitial}
		c.backoff[key] = e
	} else {
		e.d = min(e.d*2, backoffMax)
	}
	e.last = c.now()
	return e.d
}

// forgetBackoff drops every back-off entry of a pod uid.
func (c *Controller) forgetBackoff(uid string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.backoff {
		if len(k) > len(uid) && k[:len(uid)] == uid && k[len(uid)] == '/' {
			delete(c.backoff, k)
		}
	}
}
