package main

import (
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/k2d-project/k2d/fastapi"
)

const (
	// trimQuiet is how long k2d must see no activity (API request, store write) before it
	// returns its free memory and parks its garbage collector.
	trimQuiet = 5 * time.Second
	// parkedHeadroom is how far memory may grow while parked before a collection runs.
	parkedHeadroom = 4 << 20
)

// gcRuntime is what quiet changes in the Go runtime; tests replace it.
type gcRuntime struct {
	freeOSMemory   func()
	setGCPercent   func(int) int
	setMemoryLimit func(int64) int64
	inUse          func() int64 // memory the runtime holds from the OS, minus what it released
	afterFunc      func(time.Duration, func())
	onNextGC       func(func()) // runs f once after the next collection
}

var realGC = gcRuntime{
	freeOSMemory:   debug.FreeOSMemory,
	setGCPercent:   debug.SetGCPercent,
	setMemoryLimit: debug.SetMemoryLimit,
	inUse:          func() int64 { return int64(fastapi.GoMemoryInUse()) },
	afterFunc:      func(d time.Duration, f func()) { time.AfterFunc(d, f) },
	onNextGC: func(f func()) {
		// An unreachable object (too big for the tiny allocator, which batches objects) whose
		// cleanup runs once a collection has found it unreachable.
		runtime.AddCleanup(new([8]int64), func(f func()) { f() }, f)
	},
}

// quiet makes an idle k2d really idle. Once no activity has been seen for trimQuiet, it returns
// free memory to the operating system (a burst of 100 pods starting leaves megabytes behind)
// and parks the garbage collector: the runtime would otherwise run a forced collection every
// two minutes, the only thing left that wakes an idle process. Parked, the collector runs only
// if memory grows by parkedHeadroom (a soft memory limit with GOGC off), so whatever allocates
// unseen (a probe, a proxied connection) stays bounded, and that collection counts as activity.
// The first activity unparks it, back to the configured GOGC and memory limit.
//
// Touch is called on every API request and store write; when k2d is busy it costs one atomic
// load. quiet keeps no timer while parked.
type quiet struct {
	rt      gcRuntime
	gcPct   int   // GOGC to restore
	limit   int64 // memory limit to restore
	touched atomic.Bool

	mu     sync.Mutex
	parked bool
	parks  int  // parks so far: a collection counts only while its park lasts
	armed  bool // the quiet timer is armed
}

func newQuiet(rt gcRuntime) *quiet {
	q := &quiet{rt: rt}
	q.gcPct = rt.setGCPercent(100)
	rt.setGCPercent(q.gcPct)
	q.limit = rt.setMemoryLimit(-1) // a negative value reads the limit without changing it
	return q
}

// Touch records activity: it unparks the collector and arms the quiet timer if needed.
func (q *quiet) Touch() {
	if q.touched.Load() {
		return
	}
	q.mu.Lock()
	q.touched.Store(true)
	if q.parked {
		q.parked = false
		q.rt.setMemoryLimit(q.limit)
		q.rt.setGCPercent(q.gcPct)
	}
	if !q.armed {
		q.armed = true
		q.rt.afterFunc(trimQuiet, q.fire)
	}
	q.mu.Unlock()
}

// fire runs trimQuiet after the timer was armed: if anything was touched since, it waits
// another trimQuiet; otherwise it trims and parks.
func (q *quiet) fire() {
	q.mu.Lock()
	if q.touched.Swap(false) {
		q.rt.afterFunc(trimQuiet, q.fire) // still armed
		q.mu.Unlock()
		return
	}
	q.armed = false
	q.mu.Unlock()

	// A full collection takes milliseconds: not under mu, which a store write may wait for.
	q.rt.freeOSMemory()
	inUse := q.rt.inUse()
	if q.gcPct < 0 || inUse <= 0 {
		return // GOGC=off by the user's choice, or no reading: leave the collector as it is
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.touched.Load() || q.armed {
		return // touched meanwhile: the timer is armed again
	}
	limit := inUse + parkedHeadroom
	if q.limit < limit {
		limit = q.limit
	}
	q.rt.setMemoryLimit(limit)
	q.rt.setGCPercent(-1)
	q.parked = true
	q.parks++
	// Memory grew by parkedHeadroom unseen: something works, so collect as usual until it is
	// quiet again rather than hold a limit that live data could outgrow.
	park := q.parks
	q.rt.onNextGC(func() { q.collected(park) })
}

// collected runs after the first collection that followed park number park. Only a
// collection while that park lasts is activity: the sentinel of an earlier park is found by
// the collection that starts the next one.
func (q *quiet) collected(park int) {
	q.mu.Lock()
	current := q.parked && q.parks == park
	q.mu.Unlock()
	if current {
		q.Touch()
	}
}

// Parked reports whether the collector is parked.
func (q *quiet) Parked() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.parked
}
