// Package procfs reads what the benchmarks measure of a running process from Linux's /proc.
// Every reader returns -1 when the process or the file is gone.
package procfs

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// TickNanos is one clock tick: USER_HZ is 100 on Linux.
const TickNanos = int64(10 * time.Millisecond)

// CPUNanos is the CPU time all of pid's threads have run, in nanoseconds: the sum of the first
// field of /proc/PID/task/*/schedstat. Differences of /proc/PID/stat's utime+stime are not
// used: they count a tick whenever the process's running total crosses a 10 ms boundary, so
// 0.1 ms of work could read as a tick. The Go runtime does not end its threads, so the sum
// only grows.
func CPUNanos(pid int) int64 {
	files := taskFiles(pid, "schedstat")
	if files == nil {
		return -1
	}
	var sum int64
	for _, f := range files {
		if fields := strings.Fields(f); len(fields) > 0 {
			n, _ := strconv.ParseInt(fields[0], 10, 64)
			sum += n
		}
	}
	return sum
}

// Switches is how often pid's threads were switched out, the sum of voluntary_ctxt_switches
// and nonvoluntary_ctxt_switches of /proc/PID/task/*/status: each wake-up costs at least one.
func Switches(pid int) int64 {
	files := taskFiles(pid, "status")
	if files == nil {
		return -1
	}
	var sum int64
	for _, f := range files {
		for _, line := range strings.Split(f, "\n") {
			if fields := strings.Fields(line); len(fields) == 2 && strings.HasSuffix(fields[0], "ctxt_switches:") {
				n, _ := strconv.ParseInt(fields[1], 10, 64)
				sum += n
			}
		}
	}
	return sum
}

// WriteBytes is what pid caused to be written to storage (/proc/PID/io write_bytes).
func WriteBytes(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/io")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "write_bytes: "); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return -1
}

// Mem returns pid's resident set and its peak (VmRSS, VmHWM) in bytes.
func Mem(pid int) (rss, hwm int64) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return -1, -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		v, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			rss = v << 10
		case "VmHWM:":
			hwm = v << 10
		}
	}
	return rss, hwm
}

// taskFiles reads file of each of pid's threads; nil when pid is gone.
func taskFiles(pid int, file string) []string {
	dir := "/proc/" + strconv.Itoa(pid) + "/task"
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	out := []string{}
	for _, e := range ents {
		if b, err := os.ReadFile(filepath.Join(dir, e.Name(), file)); err == nil {
			out = append(out, string(b))
		}
	}
	return out
}
