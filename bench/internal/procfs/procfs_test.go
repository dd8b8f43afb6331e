package procfs

import (
	"os"
	"testing"
	"time"
)

func TestSelf(t *testing.T) {
	pid := os.Getpid()
	c0, s0 := CPUNanos(pid), Switches(pid)
	// Burn a little CPU and sleep a little, so both figures must grow.
	for end := time.Now().Add(20 * time.Millisecond); time.Now().Before(end); {
	}
	time.Sleep(5 * time.Millisecond)
	if c1 := CPUNanos(pid); c0 <= 0 || c1-c0 < int64(10*time.Millisecond) {
		t.Errorf("CPUNanos: %d then %d after 20 ms of work", c0, c1)
	}
	if s1 := Switches(pid); s0 < 0 || s1 <= s0 {
		t.Errorf("Switches: %d then %d after a sleep", s0, s1)
	}
	if rss, hwm := Mem(pid); rss <= 0 || hwm < rss {
		t.Errorf("Mem: rss %d hwm %d", rss, hwm)
	}
	if w := WriteBytes(pid); w < 0 {
		t.Errorf("WriteBytes: %d", w)
	}
}

func TestGone(t *testing.T) {
	const pid = 1 << 30 // above pid_max
	if CPUNanos(pid) != -1 || Switches(pid) != -1 || WriteBytes(pid) != -1 {
		t.Error("a missing process should read -1")
	}
	if rss, hwm := Mem(pid); rss != -1 || hwm != -1 {
		t.Error("a missing process should read -1")
	}
}
