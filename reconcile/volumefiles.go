package reconcile

// This file: writing the files of configMap, secret, downwardAPI and projected volumes the
// way the kubelet's atomic writer does, so that a running container sees an update all at
// once (never half of the new files next to half of the old ones):
//
//	<volume dir>/..2025_01_02_15_04_05.123456789   the files of one version (a data dir)
//	<volume dir>/..data -> ..2025_01_02_15_04_05.123456789
//	<volume dir>/<key>  -> ..data/<key>             what users see
//
// An update writes a new data dir, points a new ..data symlink at it and renames that over the
// old one (atomic), then removes the old data dir. A subPath mount resolves <key> when the
// container starts and so keeps the version it started with, as in Kubernetes.

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

const (
	dataDirName    = "..data"
	newDataDirName = "..data_tmp"
)

// fileProjection is one file of a volume.
type fileProjection struct {
	data   []byte
	mode   int32
	fsUser *int64 // owner of the file when set (a projected token for a pod's common runAsUser)
}

// payload maps paths relative to the volume to their files.
type payload map[string]fileProjection

// checkPayloadPath refuses what the atomic writer refuses: absolute paths, "..", and
// elements starting with ".." (reserved for the data dirs).
func checkPayloadPath(p string) error {
	if p == "" {
		return errors.New("invalid path: must not be empty")
	}
	if filepath.IsAbs(p) {
		return fmt.Errorf("invalid path %q: must be relative", p)
	}
	for _, el := range strings.Split(p, "/") {
		if el == "" || el == "." {
			return fmt.Errorf("invalid path %q: empty or '.' element", p)
		}
		if strings.HasPrefix(el, "..") {
			return fmt.Errorf("invalid path %q: must not contain '..' or start with '..'", p)
		}
	}
	return nil
}

// effectiveMode is the mode a file ends up with once fsGroup ownership is applied: the
// kubelet adds group read (0440) to the files of read-only volumes.
func effectiveMode(mode int32, fsGroup *int64) fs.FileMode {
	m := fs.FileMode(mode) & fs.ModePerm
	if fsGroup != nil {
		m |= 0o440
	}
	return m
}

// writeVolumeDir makes dir hold exactly files. It reports whether it wrote a new version;
// when the current version already holds the same files with the same modes it only
// repairs missing user-visible links.
func writeVolumeDir(dir string, files payload, fsGroup *int64, now time.Time) (bool, error) {
	for p := range files {
		if err := checkPayloadPath(p); err != nil {
			return false, err
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, err
	}
	// The volume's root is world-writable like the kubelet's (an emptyDir wraps it); the
	// container mounts it read-only in any case.
	if err := os.Chmod(dir, 0o777); err != nil {
		return false, err
	}
	oldTs := currentDataDir(dir)
	top := topLevel(files)
	if oldTs != "" && sameFiles(filepath.Join(dir, oldTs), files, fsGroup) {
		return false, linkVisible(dir, top)
	}

	tsDir, err := os.MkdirTemp(dir, now.UTC().Format("..2006_01_02_15_04_05."))
	if err != nil {
		return false, err
	}
	tsName := filepath.Base(tsDir)
	if err := writeDataDir(tsDir, files, fsGroup); err != nil {
		os.RemoveAll(tsDir)
		return false, err
	}
	if err := linkVisible(dir, top); err != nil {
		os.RemoveAll(tsDir)
		return false, err
	}
	tmp := filepath.Join(dir, newDataDirName)
	os.Remove(tmp)
	if err := os.Symlink(tsName, tmp); err != nil {
		os.RemoveAll(tsDir)
		return false, err
	}
	if err := os.Rename(tmp, filepath.Join(dir, dataDirName)); err != nil {
		os.Remove(tmp)
		os.RemoveAll(tsDir)
		return false, err
	}
	// Links of entries the new version no longer has go; so do stale data dirs (a crash
	// between the steps above may have left one).
	entries, err := os.ReadDir(dir)
	if err != nil {
		return true, err
	}
	for _, e := range entries {
		n := e.Name()
		switch {
		case n == dataDirName || n == tsName:
		case strings.HasPrefix(n, ".."):
			if err := os.RemoveAll(filepath.Join(dir, n)); err != nil {
				return true, err
			}
		case !top[n]:
			if err := os.RemoveAll(filepath.Join(dir, n)); err != nil {
				return true, err
			}
		}
	}
	return true, nil
}

// currentDataDir returns the name ..data points to, or "" when there is none (a first write,
// or a tmpfs emptied by a reboot).
func currentDataDir(dir string) string {
	target, err := os.Readlink(filepath.Join(dir, dataDirName))
	if err != nil || strings.Contains(target, "/") || !strings.HasPrefix(target, "..") {
		return ""
	}
	if fi, err := os.Lstat(filepath.Join(dir, target)); err != nil || !fi.IsDir() {
		return ""
	}
	return target
}

func topLevel(files payload) map[string]bool {
	top := make(map[string]bool, len(files))
	for p := range files {
		el, _, _ := strings.Cut(p, "/")
		top[el] = true
	}
	return top
}

// linkVisible makes the user-visible link <name> -> ..data/<name> for each top-level entry.
func linkVisible(dir string, top map[string]bool) error {
	for name := range top {
		p := filepath.Join(dir, name)
		want := filepath.Join(dataDirName, name)
		if cur, err := os.Readlink(p); err == nil && cur == want {
			continue
		}
		if err := os.RemoveAll(p); err != nil {
			return err
		}
		if err := os.Symlink(want, p); err != nil {
			return err
		}
	}
	return nil
}

// sameFiles reports whether the data dir holds exactly files, with the same content and mode.
func sameFiles(tsDir string, files payload, fsGroup *int64) bool {
	seen := 0
	err := filepath.WalkDir(tsDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(tsDir, p)
		if err != nil {
			return err
		}
		f, ok := files[filepath.ToSlash(rel)]
		if !ok || !d.Type().IsRegular() {
			return errFilesDiffer
		}
		fi, err := d.Info()
		if err != nil || fi.Mode().Perm() != effectiveMode(f.mode, fsGroup) || fi.Size() != int64(len(f.data)) {
			return errFilesDiffer
		}
		b, err := os.ReadFile(p)
		if err != nil || !bytes.Equal(b, f.data) {
			return errFilesDiffer
		}
		seen++
		return nil
	})
	return err == nil && seen == len(files)
}

var errFilesDiffer = errors.New("stale")

// writeDataDir writes the files of one version, with their modes and owners.
func writeDataDir(tsDir string, files payload, fsGroup *int64) error {
	if err := os.Chmod(tsDir, 0o755); err != nil {
		return err
	}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		f := files[p]
		full := filepath.Join(tsDir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(full, f.data, 0o600); err != nil {
			return err
		}
		if err := os.Chmod(full, fs.FileMode(f.mode)&fs.ModePerm); err != nil {
			return err
		}
		if f.fsUser != nil {
			if err := os.Lchown(full, int(*f.fsUser), -1); err != nil {
				return err
			}
		}
	}
	if fsGroup == nil {
		return nil
	}
	// The kubelet's SetVolumeOwnership for read-only volumes: group fsGroup, group-readable
	// files, setgid directories.
	gid := int(*fsGroup)
	return filepath.WalkDir(tsDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := os.Lchown(p, -1, gid); err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		mode := fi.Mode().Perm() | 0o440
		if d.IsDir() {
			mode |= 0o110 | fs.ModeSetgid
		}
		return os.Chmod(p, mode)
	})
}
