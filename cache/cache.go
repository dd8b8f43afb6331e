package cache

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/k2d-project/k2d/codec"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
)

// Entry is one stored object. Entries are immutable once published: readers may hold them
// without locks, writers replace them.
type Entry struct {
	Obj  runtime.Object // never mutated after it is stored; DeepCopyObject before changing
	JSON []byte         // the object encoded with apiVersion and kind
	RV   uint64

	diskSum uint64 // checksum of the persisted form, to skip writes that change nothing on disk
}

// Meta returns the object's metadata accessor.
func (e *Entry) Meta() metav1.Object { return e.Obj.(metav1.Object) }

// Event types, as in the Kubernetes watch protocol.
const (
	Added    = "ADDED"
	Modified = "MODIFIED"
	Deleted  = "DELETED"
)

// Event is one change to the store.
type Event struct {
	Type     string
	Resource string // group-resource key: "pods", "events.events.k8s.io"
	Entry    *Entry // the new state (for Deleted: the last state, with a new resourceVersion)
	Old      *Entry // the previous state, nil for Added
}

// Options configure a Cache.
type Options struct {
	// Dir is the data directory for persisted objects; "" keeps everything in memory.
	Dir string
	// History is how many events are kept for watches that resume from an old resourceVersion.
	History int
	// Persisted reports whether an object of a group-resource is written to Dir; nil persists
	// nothing. Objects observed from Docker (plain `docker run` containers) are not persisted:
	// Docker is their source of truth.
	Persisted func(resource string, obj runtime.Object) bool
	// Limits caps the number of objects of a group-resource; the oldest are evicted (events).
	Limits map[string]int
	// Encryption encrypts the persisted files of the resources it covers (Secrets) and
	// decrypts them on Load; nil writes every object as plain JSON.
	Encryption *Encryption
}

// Cache is k2d's in-memory state: every API object by resource, namespace and name, with a
// strictly increasing resourceVersion and a bounded change log for watches.
type Cache struct {
	mu        sync.RWMutex
	rv        uint64
	tables    map[string]map[string]*Entry // resource -> "ns/name" -> entry
	log       []Event                      // ring of the last History events
	logStart  int                          // index of the oldest event in log
	logLen    int
	floor     uint64 // history is complete for resourceVersions > floor
	watchers  map[*Watcher]struct{}
	subs      []func(Event)
	disk      *disk
	persisted func(resource string, obj runtime.Object) bool
	limits    map[string]int
	now       func() time.Time
}

// New returns an empty cache. Call Load to read persisted objects.
func New(o Options) (*Cache, error) {
	if o.History <= 0 {
		o.History = 2048
	}
	c := &Cache{
		tables:    map[string]map[string]*Entry{},
		log:       make([]Event, o.History),
		watchers:  map[*Watcher]struct{}{},
		persisted: o.Persisted,
		limits:    o.Limits,
		now:       time.Now,
	}
	if o.Dir != "" {
		d, err := openDisk(o.Dir)
		if err != nil {
			return nil, err
		}
		d.enc = o.Encryption
		c.disk = d
		c.rv = d.rvBase
	}
	c.floor = c.rv
	return c, nil
}

// Subscribe registers fn to be called for every change, in order, while the cache lock is held:
// fn must not block or call back into the cache (controllers enqueue a key and return).
func (c *Cache) Subscribe(fn func(Event)) {
	c.mu.Lock()
	c.subs = append(c.subs, fn)
	c.mu.Unlock()
}

// RV returns the current resourceVersion.
func (c *Cache) RV() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.rv
}

func key(ns, name string) string { return ns + "/" + name }

// Get returns the object resource/ns/name.
func (c *Cache) Get(resource, ns, name string) (*Entry, bool) {
	c.mu.RLock()
	e, ok := c.tables[resource][key(ns, name)]
	c.mu.RUnlock()
	return e, ok
}

// List returns the objects of resource in namespace ns ("" for all), sorted by namespace and
// name, and the resourceVersion the list is consistent with.
func (c *Cache) List(resource, ns string) ([]*Entry, uint64) {
	c.mu.RLock()
	t := c.tables[resource]
	out := make([]*Entry, 0, len(t))
	for _, e := range t {
		if ns == "" || e.Meta().GetNamespace() == ns {
			out = append(out, e)
		}
	}
	rv := c.rv
	c.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].Meta(), out[j].Meta()
		if a.GetNamespace() != b.GetNamespace() {
			return a.GetNamespace() < b.GetNamespace()
		}
		return a.GetName() < b.GetName()
	})
	return out, rv
}

// Create stores a new object. It assigns uid, creationTimestamp, resourceVersion and
// generation, and a name from generateName when the name is empty.
func (c *Cache) Create(k *codec.Kind, obj runtime.Object) (*Entry, error) {
	m := obj.(metav1.Object)
	res := k.GroupResource()
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.table(res)
	if m.GetName() == "" {
		if m.GetGenerateName() == "" {
			return nil, ErrNameRequired
		}
		for i := 0; ; i++ {
			n := m.GetGenerateName() + randSuffix()
			if _, taken := t[key(m.GetNamespace(), n)]; !taken {
				m.SetName(n)
				break
			}
			if i > 16 {
				return nil, &AlreadyExistsError{Resource: k.Resource, Name: n}
			}
		}
	}
	if _, exists := t[key(m.GetNamespace(), m.GetName())]; exists {
		return nil, &AlreadyExistsError{Resource: k.Resource, Name: m.GetName()}
	}
	if m.GetUID() == "" {
		m.SetUID(types.UID(newUID()))
	}
	if ts := m.GetCreationTimestamp(); ts.IsZero() {
		m.SetCreationTimestamp(metav1.NewTime(c.now().Truncate(time.Second)))
	}
	if m.GetGeneration() == 0 && codec.TracksGeneration(k) {
		m.SetGeneration(1)
	}
	e, err := c.commit(k, res, obj, nil)
	if err != nil {
		return nil, err
	}
	c.evict(k, res)
	return e, nil
}

// Update replaces an object. A non-empty resourceVersion in obj must equal the stored one
// (optimistic concurrency); an empty one updates unconditionally.
func (c *Cache) Update(k *codec.Kind, obj runtime.Object) (*Entry, error) {
	m := obj.(metav1.Object)
	res := k.GroupResource()
	c.mu.Lock()
	defer c.mu.Unlock()
	old, ok := c.tables[res][key(m.GetNamespace(), m.GetName())]
	if !ok {
		return nil, &NotFoundError{Resource: k.Resource, Name: m.GetName()}
	}
	if rv := m.GetResourceVersion(); rv != "" && rv != strconv.FormatUint(old.RV, 10) {
		return nil, &ConflictError{Resource: k.Resource, Name: m.GetName()}
	}
	keepIdentity(m, old.Meta())
	return c.commit(k, res, obj, old)
}

// Mutate applies fn to a deep copy of the stored object and stores the result, retrying
// nothing: the lock is held while fn runs, so fn must be quick and must not call the cache.
// It returns (nil, nil) when fn reports no change by returning false.
func (c *Cache) Mutate(k *codec.Kind, ns, name string, fn func(obj runtime.Object) (changed bool, err error)) (*Entry, error) {
	res := k.GroupResource()
	c.mu.Lock()
	defer c.mu.Unlock()
	old, ok := c.tables[res][key(ns, name)]
	if !ok {
		return nil, &NotFoundError{Resource: k.Resource, Name: name}
	}
	obj := old.Obj.DeepCopyObject()
	changed, err := fn(obj)
	if err != nil || !changed {
		return nil, err
	}
	keepIdentity(obj.(metav1.Object), old.Meta())
	return c.commit(k, res, obj, old)
}

// Delete removes an object. A non-empty precondition resourceVersion or uid must match.
func (c *Cache) Delete(k *codec.Kind, ns, name, precondRV, precondUID string) (*Entry, error) {
	res := k.GroupResource()
	c.mu.Lock()
	defer c.mu.Unlock()
	old, ok := c.tables[res][key(ns, name)]
	if !ok {
		return nil, &NotFoundError{Resource: k.Resource, Name: name}
	}
	if precondRV != "" && precondRV != strconv.FormatUint(old.RV, 10) {
		return nil, &ConflictError{Resource: k.Resource, Name: name}
	}
	if precondUID != "" && precondUID != string(old.Meta().GetUID()) {
		return nil, &ConflictError{Resource: k.Resource, Name: name, UID: true}
	}
	return c.remove(k, res, old)
}

func (c *Cache) remove(k *codec.Kind, res string, old *Entry) (*Entry, error) {
	m := old.Meta()
	if c.persists(res, old.Obj) {
		if err := c.disk.remove(res, m.GetNamespace(), m.GetName()); err != nil {
			return nil, err
		}
	}
	c.rv++
	c.disk.reserve(c.rv)
	obj := old.Obj.DeepCopyObject()
	obj.(metav1.Object).SetResourceVersion(strconv.FormatUint(c.rv, 10))
	data, err := codec.EncodeObject(k, obj)
	if err != nil {
		return nil, fmt.Errorf("cannot encode %s %q: %w", k.Kind, m.GetName(), err)
	}
	e := &Entry{Obj: obj, JSON: data, RV: c.rv}
	delete(c.tables[res], key(m.GetNamespace(), m.GetName()))
	c.publish(Event{Type: Deleted, Resource: res, Entry: e, Old: old})
	return e, nil
}

// commit stores obj as the new state of its key; c.mu is held.
func (c *Cache) commit(k *codec.Kind, res string, obj runtime.Object, old *Entry) (*Entry, error) {
	m := obj.(metav1.Object)
	codec.SetTypeMeta(k, obj)
	var sum uint64
	if c.persists(res, obj) {
		var err error
		sum, err = c.disk.write(k, res, obj, old)
		if err != nil {
			return nil, err
		}
	}
	c.rv++
	c.disk.reserve(c.rv)
	m.SetResourceVersion(strconv.FormatUint(c.rv, 10))
	data, err := codec.EncodeObject(k, obj)
	if err != nil {
		return nil, fmt.Errorf("cannot encode %s %q: %w", k.Kind, m.GetName(), err)
	}
	e := &Entry{Obj: obj, JSON: data, RV: c.rv, diskSum: sum}
	c.table(res)[key(m.GetNamespace(), m.GetName())] = e
	typ := Modified
	if old == nil {
		typ = Added
	}
	c.publish(Event{Type: typ, Resource: res, Entry: e, Old: old})
	return e, nil
}

// evict drops the oldest objects of a resource over its limit (Events are bounded like this).
func (c *Cache) evict(k *codec.Kind, res string) {
	limit := c.limits[res]
	t := c.tables[res]
	if limit <= 0 || len(t) <= limit {
		return
	}
	var oldest *Entry
	for _, e := range t {
		if oldest == nil || e.RV < oldest.RV {
			oldest = e
		}
	}
	c.remove(k, res, oldest) //nolint:errcheck // only fails on disk errors, and limited kinds are not persisted
}

func (c *Cache) table(res string) map[string]*Entry {
	t := c.tables[res]
	if t == nil {
		t = map[string]*Entry{}
		c.tables[res] = t
	}
	return t
}

// keepIdentity carries the fields a client cannot change over from the stored object.
func keepIdentity(m, old metav1.Object) {
	m.SetUID(old.GetUID())
	m.SetCreationTimestamp(old.GetCreationTimestamp())
	if m.GetGeneration() == 0 {
		m.SetGeneration(old.GetGeneration())
	}
	if old.GetDeletionTimestamp() != nil && m.GetDeletionTimestamp() == nil {
		m.SetDeletionTimestamp(old.GetDeletionTimestamp())
		m.SetDeletionGracePeriodSeconds(old.GetDeletionGracePeriodSeconds())
	}
}

func newUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// randSuffix returns 5 characters from the alphabet the API server uses for generateName.
func randSuffix() string {
	const alphabet = "bcdfghjklmnpqrstvwxz2456789"
	var b [5]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b[:])
}

func (c *Cache) persists(res string, obj runtime.Object) bool {
	return c.disk != nil && c.persisted != nil && c.persisted(res, obj)
}
