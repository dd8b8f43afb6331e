//go:build !linux

package reconcile

import (
	"errors"
	"os"
)

// inMemory cannot tell a tmpfs outside Linux: secret volumes then fail rather than write to
// a disk.
func inMemory(string) bool { return false }

func mountTmpfs(string) error { return errors.New("mounting a tmpfs needs Linux") }

func unmount(string) error { return nil }

func fileOwner(os.FileInfo) (int, bool) { return 0, false }
