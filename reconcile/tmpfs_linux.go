package reconcile

import (
	"os"
	"syscall"
)

// tmpfsMagic is TMPFS_MAGIC from linux/magic.h; ramfs (RAMFS_MAGIC) keeps files in memory too.
const (
	tmpfsMagic = 0x01021994
	ramfsMagic = 0x858458f6
)

// inMemory reports whether dir lives on a filesystem kept in memory (tmpfs or ramfs), so that
// secret files written there never reach the disk.
func inMemory(dir string) bool {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return false
	}
	// Type is int32 on 32-bit ARM and int64 elsewhere; the magic numbers are 32 bits.
	return uint32(st.Type) == tmpfsMagic || uint32(st.Type) == ramfsMagic
}

// mountTmpfs mounts a private tmpfs on dir (root only), for hosts without a tmpfs at /run or
// /dev/shm. Its size is capped: secrets and tokens are small.
func mountTmpfs(dir string) error {
	return syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV|syscall.MS_NOEXEC, "mode=0700,size=64m")
}

// unmount detaches the tmpfs mountTmpfs made.
func unmount(dir string) error { return syscall.Unmount(dir, 0) }

// fileOwner returns the uid that owns a file.
func fileOwner(fi os.FileInfo) (int, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Uid), true
}
