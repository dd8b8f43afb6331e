package main

import (
	"runtime/debug"
	"sync"
	"time"

	"github.com/k2d-project/k2d/cache"
)

// trimQuiet is how long the store must see no write before k2d returns its free memory.
const trimQuiet = 5 * time.Second

// trimAfterBursts returns free memory to the operating system once a burst of writes is
// over: 100 pods starting leave megabytes of garbage and free heap spans that the runtime
// would otherwise hand back only slowly, and a 512 MB device wants them back. The timer is
// armed by writes and fires once when they pause; an idle k2d never wakes up for it.
func trimAfterBursts(store *cache.Cache) {
	var mu sync.Mutex
	var t *time.Timer
	store.Subscribe(func(cache.Event) {
		// Called with the store's lock held: only (re)arm the timer.
		mu.Lock()
		if t == nil {
			t = time.AfterFunc(trimQuiet, debug.FreeOSMemory)
		} else {
			t.Reset(trimQuiet)
		}
		mu.Unlock()
	})
}
