package main

import (
	"runtime"
	"testing"
	"time"
)

// fakeGC records what quiet does to the runtime; timers fire only when the test says so.
type fakeGC struct {
	gcPct  int
	limit  int64
	inUse  int64
	frees  int
	timers []func()
	onGC   []func()
}

func (f *fakeGC) runtime() gcRuntime {
	return gcRuntime{
		freeOSMemory: func() { f.frees++ },
		setGCPercent: func(p int) int { old := f.gcPct; f.gcPct = p; return old },
		setMemoryLimit: func(l int64) int64 {
			old := f.limit
			if l >= 0 {
				f.limit = l
			}
			return old
		},
		inUse: func() int64 { return f.inUse },
		afterFunc: func(d time.Duration, fn func()) {
			if d != trimQuiet {
				panic("unexpected delay")
			}
			f.timers = append(f.timers, fn)
		},
		onNextGC: func(fn func()) { f.onGC = append(f.onGC, fn) },
	}
}

// fire runs the oldest armed timer.
func (f *fakeGC) fire(t *testing.T) {
	t.Helper()
	if len(f.timers) == 0 {
		t.Fatal("no timer is armed")
	}
	fn := f.timers[0]
	f.timers = f.timers[1:]
	fn()
}

func TestQuietParksAfterQuietAndUnparksOnActivity(t *testing.T) {
	f := &fakeGC{gcPct: 50, limit: 64 << 20, inUse: 5 << 20}
	q := newQuiet(f.runtime())
	if f.gcPct != 50 || f.limit != 64<<20 {
		t.Fatalf("newQuiet changed the settings: GOGC %d, limit %d", f.gcPct, f.limit)
	}
	if len(f.timers) != 0 {
		t.Fatal("a timer is armed before any activity")
	}

	q.Touch()
	q.Touch() // busy: no second timer
	if len(f.timers) != 1 {
		t.Fatalf("%d timers armed, want 1", len(f.timers))
	}
	f.fire(t) // touched since arming: wait another period
	if q.Parked() || f.frees != 0 || len(f.timers) != 1 {
		t.Fatalf("parked %v, frees %d, timers %d after a busy period", q.Parked(), f.frees, len(f.timers))
	}
	f.fire(t) // quiet for a whole period: trim and park
	if !q.Parked() || f.frees != 1 {
		t.Fatalf("parked %v, frees %d after a quiet period", q.Parked(), f.frees)
	}
	if f.gcPct != -1 || f.limit != 9<<20 {
		t.Fatalf("parked with GOGC %d and limit %d MiB, want off and in use + 4 MiB", f.gcPct, f.limit>>20)
	}
	if len(f.timers) != 0 {
		t.Fatal("a timer is armed while parked: an idle k2d would wake up")
	}
	if len(f.onGC) != 1 {
		t.Fatal("no watch on the next collection while parked")
	}

	q.Touch() // an API request or a write
	if q.Parked() || f.gcPct != 50 || f.limit != 64<<20 {
		t.Fatalf("after activity: parked %v, GOGC %d, limit %d", q.Parked(), f.gcPct, f.limit)
	}
	if len(f.timers) != 1 {
		t.Fatal("activity did not arm the quiet timer")
	}
}

func TestQuietCollectionWhileParkedCountsAsActivity(t *testing.T) {
	f := &fakeGC{gcPct: 50, limit: 64 << 20, inUse: 5 << 20}
	q := newQuiet(f.runtime())
	q.Touch()
	f.fire(t)
	f.fire(t)
	if !q.Parked() {
		t.Fatal("not parked")
	}
	f.onGC[0]() // memory grew by the headroom and a collection ran
	if q.Parked() || f.gcPct != 50 || len(f.timers) != 1 {
		t.Fatalf("after a parked collection: parked %v, GOGC %d, timers %d", q.Parked(), f.gcPct, len(f.timers))
	}
	f.fire(t)
	f.fire(t)
	if !q.Parked() || f.frees != 2 {
		t.Fatalf("quiet again: parked %v, frees %d", q.Parked(), f.frees)
	}
	// The first park's sentinel again (the collection that started the second park found
	// it): not activity.
	f.onGC[0]()
	if !q.Parked() || len(f.timers) != 0 {
		t.Fatalf("a stale sentinel unparked: parked %v, timers %d", q.Parked(), len(f.timers))
	}
	f.onGC[1]()
	if q.Parked() {
		t.Fatal("a collection during the second park did not unpark")
	}
}

func TestQuietKeepsALowerUserLimit(t *testing.T) {
	f := &fakeGC{gcPct: 100, limit: 6 << 20, inUse: 5 << 20}
	q := newQuiet(f.runtime())
	q.Touch()
	f.fire(t)
	f.fire(t)
	if f.limit != 6<<20 {
		t.Fatalf("parked limit %d MiB, want the user's 6 MiB", f.limit>>20)
	}
}

func TestQuietLeavesGOGCOffAlone(t *testing.T) {
	f := &fakeGC{gcPct: -1, limit: 64 << 20, inUse: 5 << 20}
	q := newQuiet(f.runtime())
	q.Touch()
	f.fire(t)
	f.fire(t)
	if q.Parked() || f.limit != 64<<20 || f.frees != 1 {
		t.Fatalf("GOGC=off: parked %v, limit %d, frees %d", q.Parked(), f.limit, f.frees)
	}
}

func TestRealInUse(t *testing.T) {
	if n := realGC.inUse(); n <= 0 {
		t.Fatalf("in use = %d", n)
	}
}

func TestRealOnNextGCRunsAfterACollection(t *testing.T) {
	done := make(chan struct{})
	realGC.onNextGC(func() { close(done) })
	for i := 0; i < 10; i++ {
		runtime.GC()
		select {
		case <-done:
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
	t.Fatal("the cleanup did not run after ten collections")
}
