package reconcile

import (
	"context"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"
)

// queue runs a sync function for keys. Adds of a key that is already waiting or running are
// merged: a running key that is added again runs once more when it finishes, so the function
// always sees the latest state and never runs twice at once for the same key. Goroutines exist
// only while there is work: an idle queue holds no goroutine and no timer.
type queue struct {
	name string
	fn   func(ctx context.Context, key string)
	log  *slog.Logger
	sem  chan struct{} // bounds concurrent syncs: a burst of pods must not open a burst of Docker calls

	mu     sync.Mutex
	state  map[string]bool // key -> added again while running
	timers map[string]*delayed
	closed bool
	ctx    context.Context
	wg     sync.WaitGroup
}

type delayed struct {
	t  *time.Timer
	at time.Time
}

func newQueue(ctx context.Context, name string, workers int, log *slog.Logger, fn func(ctx context.Context, key string)) *queue {
	return &queue{
		name:   name,
		fn:     fn,
		log:    log,
		sem:    make(chan struct{}, workers),
		state:  map[string]bool{},
		timers: map[string]*delayed{},
		ctx:    ctx,
	}
}

// Add schedules key. It never blocks, so cache subscribers may call it with the cache lock held.
func (q *queue) Add(key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return
	}
	if _, running := q.state[key]; running {
		q.state[key] = true
		return
	}
	q.state[key] = false
	q.wg.Add(1)
	go q.run(key)
}

// AddAfter schedules key after d; an earlier pending schedule of the same key wins. The timer
// ends when it fires: this is the only timer a queue owns (back-off and grace-period waits).
func (q *queue) AddAfter(key string, d time.Duration) {
	if d <= 0 {
		q.Add(key)
		return
	}
	at := time.Now().Add(d)
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return
	}
	if old, ok := q.timers[key]; ok {
		if !old.at.After(at) {
			return
		}
		old.t.Stop()
	}
	dl := &delayed{at: at}
	dl.t = time.AfterFunc(d, func() {
		q.mu.Lock()
		if q.timers[key] == dl {
			delete(q.timers, key)
		}
		q.mu.Unlock()
		q.Add(key)
	})
	q.timers[key] = dl
}

// Forget drops a pending delayed add of key.
func (q *queue) Forget(key string) {
	q.mu.Lock()
	if dl, ok := q.timers[key]; ok {
		dl.t.Stop()
		delete(q.timers, key)
	}
	q.mu.Unlock()
}

func (q *queue) run(key string) {
	defer q.wg.Done()
	for {
		if q.ctx.Err() != nil {
			q.mu.Lock()
			delete(q.state, key)
			q.mu.Unlock()
			return
		}
		select {
		case q.sem <- struct{}{}:
		case <-q.ctx.Done():
			q.mu.Lock()
			delete(q.state, key)
			q.mu.Unlock()
			return
		}
		q.call(key)
		<-q.sem
		q.mu.Lock()
		if q.state[key] && !q.closed {
			q.state[key] = false
			q.mu.Unlock()
			continue
		}
		delete(q.state, key)
		q.mu.Unlock()
		return
	}
}

// call runs fn and keeps a panic in one object's sync from taking the whole process down
// (the predecessor crashed on a Pod without labels).
func (q *queue) call(key string) {
	defer func() {
		if r := recover(); r != nil {
			q.log.Error("sync panicked", "queue", q.name, "key", key, "panic", r, "stack", string(debug.Stack()))
		}
	}()
	q.fn(context.WithValue(q.ctx, slotKey{}, q), key)
}

// slotKey marks a context whose goroutine holds a worker slot of the queue stored under it.
type slotKey struct{}

// idle runs fn without holding the caller's worker slot, if it holds one: for waits that may
// last a grace period or an image pull, so that one slow pod does not stall every other.
func idle(ctx context.Context, fn func()) {
	q, _ := ctx.Value(slotKey{}).(*queue)
	if q == nil {
		fn()
		return
	}
	<-q.sem
	defer func() { q.sem <- struct{}{} }()
	fn()
}

// Close stops accepting keys, cancels pending timers and waits for running syncs.
func (q *queue) Close() {
	q.mu.Lock()
	q.closed = true
	for k, dl := range q.timers {
		dl.t.Stop()
		delete(q.timers, k)
	}
	q.mu.Unlock()
	q.wg.Wait()
}
