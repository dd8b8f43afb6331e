package cache

import (
	"bytes"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"

	"github.com/k2d-project/k2d/codec"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// rvBlock is how many resourceVersions one write of the rv file reserves. After a restart
// (or a power cut) k2d starts above the last reserved block, so versions strictly increase
// without writing the counter on every change.
const rvBlock = 1 << 20

// clusterDir holds cluster-scoped objects, which have no namespace.
const clusterDir = "_cluster"

// disk persists desired state: one JSON file per object, written atomically (temp file,
// fsync, rename, fsync of the directory), without status or resourceVersion, which are
// runtime state.
type disk struct {
	dir      string
	rvBase   uint64
	reserved uint64
	enc      *Encryption // encrypts the resources it covers (Secrets); nil: plain JSON
}

func openDisk(dir string) (*disk, error) {
	if err := os.MkdirAll(filepath.Join(dir, "objects"), 0o700); err != nil {
		return nil, fmt.Errorf("cannot create data dir: %w", err)
	}
	d := &disk{dir: dir}
	b, err := os.ReadFile(filepath.Join(dir, "rv"))
	switch {
	case err == nil:
		d.rvBase, err = strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("cannot parse %s: %w", filepath.Join(dir, "rv"), err)
		}
	case errors.Is(err, fs.ErrNotExist):
	default:
		return nil, fmt.Errorf("cannot read resourceVersion file: %w", err)
	}
	if err := d.setReserved(d.rvBase + rvBlock); err != nil {
		return nil, err
	}
	return d, nil
}

// reserve makes sure rv lies within the reserved block; it writes only once per block.
func (d *disk) reserve(rv uint64) {
	if d == nil || rv < d.reserved {
		return
	}
	// A failure here is not fatal to the change being made: the next restart then starts
	// from the previous block, which only matters after a million changes without a write.
	_ = d.setReserved(rv + rvBlock)
}

func (d *disk) setReserved(v uint64) error {
	if err := writeAtomic(filepath.Join(d.dir, "rv"), []byte(strconv.FormatUint(v, 10)+"\n")); err != nil {
		return fmt.Errorf("cannot write resourceVersion file: %w", err)
	}
	d.reserved = v
	return nil
}

func (d *disk) path(res, ns, name string) string {
	if ns == "" {
		ns = clusterDir
	}
	return filepath.Join(d.dir, "objects", res, ns, name+".json")
}

// sealKey names an encrypted file's place; its ciphertext is bound to it.
func sealKey(res, ns, name string) string {
	if ns == "" {
		ns = clusterDir
	}
	return res + "/" + ns + "/" + name
}

// persistedForm encodes obj as stored on disk: without resourceVersion and status.
func persistedForm(k *codec.Kind, obj runtime.Object) ([]byte, error) {
	cp := obj.DeepCopyObject()
	cp.(metav1.Object).SetResourceVersion("")
	if v := reflect.ValueOf(cp).Elem(); v.Kind() == reflect.Struct {
		if f := v.FieldByName("Status"); f.IsValid() && f.CanSet() {
			f.Set(reflect.Zero(f.Type()))
		}
	}
	return codec.EncodeObject(k, cp)
}

func checksum(b []byte) uint64 {
	h := fnv.New64a()
	_, _ = h.Write(b)
	return h.Sum64()
}

// write persists obj unless its persisted form equals old's; it returns the form's checksum.
func (d *disk) write(k *codec.Kind, res string, obj runtime.Object, old *Entry) (uint64, error) {
	data, err := persistedForm(k, obj)
	if err != nil {
		return 0, fmt.Errorf("cannot encode %s for disk: %w", k.Kind, err)
	}
	sum := checksum(data)
	if old != nil && old.diskSum == sum {
		return sum, nil
	}
	m := obj.(metav1.Object)
	p := d.path(res, m.GetNamespace(), m.GetName())
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return 0, fmt.Errorf("cannot create %s: %w", filepath.Dir(p), err)
	}
	if d.enc.covers(res) {
		if data, err = d.enc.seal(data, sealKey(res, m.GetNamespace(), m.GetName())); err != nil {
			return 0, fmt.Errorf("cannot encrypt %s %q: %w", k.Kind, m.GetName(), err)
		}
	}
	if err := writeAtomic(p, data); err != nil {
		return 0, fmt.Errorf("cannot persist %s %q: %w", k.Kind, m.GetName(), err)
	}
	return sum, nil
}

func (d *disk) remove(res, ns, name string) error {
	p := d.path(res, ns, name)
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("cannot remove %s: %w", p, err)
	}
	return syncDir(filepath.Dir(p))
}

// writeAtomic replaces path with data so that a power cut leaves either the old or the new
// content, never a torn file.
func writeAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// Load reads every persisted object into the cache. Each gets a fresh resourceVersion above
// every version handed out before the restart. Files that cannot be decoded are reported and
// skipped, so one corrupt file does not keep the device from starting.
func (c *Cache) Load() (skipped []error, err error) {
	if c.disk == nil {
		return nil, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	root := filepath.Join(c.disk.dir, "objects")
	for _, k := range codec.Kinds {
		res := k.GroupResource()
		if c.persisted == nil {
			continue
		}
		base := filepath.Join(root, res)
		err := filepath.WalkDir(base, func(p string, de fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil
				}
				return err
			}
			if de.IsDir() {
				return nil
			}
			if strings.HasSuffix(p, ".tmp") {
				_ = os.Remove(p) // a write interrupted by a crash; the rename never happened
				return nil
			}
			if !strings.HasSuffix(p, ".json") {
				return nil
			}
			data, err := os.ReadFile(p)
			if err != nil {
				skipped = append(skipped, fmt.Errorf("cannot read %s: %w", p, err))
				return nil
			}
			data, migrate, err := c.disk.unseal(res, p, data)
			if err != nil {
				// Kept on disk: with the right key it loads again.
				skipped = append(skipped, fmt.Errorf("cannot load %s: %w", p, err))
				return nil
			}
			obj, err := codec.DecodeObject(k, data)
			if err != nil {
				skipped = append(skipped, fmt.Errorf("cannot decode %s: %w", p, err))
				return nil
			}
			m := obj.(metav1.Object)
			c.rv++
			m.SetResourceVersion(strconv.FormatUint(c.rv, 10))
			enc, err := codec.EncodeObject(k, obj)
			if err != nil {
				skipped = append(skipped, fmt.Errorf("cannot encode %s: %w", p, err))
				return nil
			}
			sum := checksum(bytes.TrimSpace(data))
			if migrate {
				// Written in plain text before k2d encrypted this resource: encrypt it now.
				if sum, err = c.disk.write(k, res, obj, nil); err != nil {
					skipped = append(skipped, fmt.Errorf("cannot encrypt %s: %w", p, err))
					sum = 0
				}
			}
			c.table(res)[key(m.GetNamespace(), m.GetName())] = &Entry{Obj: obj, JSON: enc, RV: c.rv, diskSum: sum}
			return nil
		})
		if err != nil {
			return skipped, fmt.Errorf("cannot load %s: %w", base, err)
		}
	}
	c.disk.reserve(c.rv)
	c.floor = c.rv
	return skipped, nil
}

// unseal returns the JSON of a persisted file of res: decrypted when res is encrypted. A plain
// JSON file of an encrypted resource (written before encryption was enabled) is returned with
// migrate set, to be encrypted again; an encrypted file without a key, or one that does not
// decrypt, is an error.
func (d *disk) unseal(res, path string, data []byte) (plain []byte, migrate bool, err error) {
	if !d.enc.covers(res) {
		if isSealed(data) {
			return nil, false, errors.New("the file is encrypted and no encryption key is configured")
		}
		return data, false, nil
	}
	if isSealed(data) {
		rel, err := filepath.Rel(filepath.Join(d.dir, "objects"), path)
		if err != nil {
			return nil, false, err
		}
		parts := strings.Split(filepath.ToSlash(rel), "/")
		if len(parts) != 3 {
			return nil, false, fmt.Errorf("unexpected place of an encrypted file")
		}
		plain, err := d.enc.open(data, parts[0]+"/"+parts[1]+"/"+strings.TrimSuffix(parts[2], ".json"))
		return plain, false, err
	}
	if isPlainJSON(data) {
		return data, true, nil
	}
	return nil, false, ErrNotSealed
}
