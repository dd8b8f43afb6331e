package reconcile

import (
	"os"
	"strings"
	"syscall"
)

// diskSize returns the size of the filesystem holding Docker's data, when k2d can see it (it
// cannot when Docker is remote or k2d runs in a container without that mount).
func diskSize(dir string) int64 {
	if dir == "" {
		return 0
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0
	}
	return int64(st.Blocks) * int64(st.Bsize)
}

func bootID() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
