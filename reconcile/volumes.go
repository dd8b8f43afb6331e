package reconcile

// This file: configMap, secret, downwardAPI, projected and service account volumes. Their
// files are written on the host (volumefiles.go) and bind-mounted read-only into containers.
// ConfigMap and downwardAPI files live under <DataDir>/pods/<uid>/volumes; secret and
// projected volumes (which may hold tokens and secrets) only on a tmpfs. When a ConfigMap or
// Secret changes, or a pod's labels or annotations shown by a downwardAPI file, the files of
// every pod that mounts it are rewritten in place within milliseconds, by a worker: cache
// hooks only enqueue.

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/docker/docker/api/types/mount"
	"github.com/k2d-project/k2d/cache"
	"github.com/k2d-project/k2d/translate"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Volume plugin directories, named as the kubelet names them under pods/<uid>/volumes.
const (
	pluginConfigMap = "kubernetes.io~configmap"
	pluginSecret    = "kubernetes.io~secret"
	pluginDownward  = "kubernetes.io~downward-api"
	pluginProjected = "kubernetes.io~projected"
)

// configState is what the volume and service account controllers keep (Controller.cfg).
// Lock order: podFiles.mu, then mu; mu is never held while calling the cache.
type configState struct {
	mu    sync.Mutex
	pods  map[types.UID]*podFiles
	files *queue // "ns/name" of pods whose volume files to bring up to date
	sas   *queue // namespaces whose default ServiceAccount and kube-root-ca.crt to ensure

	dirsOnce sync.Once
	inst     string // this k2d's directory under an automatic run dir
	dataRoot string
	runMu    sync.Mutex // guards runRoot; held while looking for a tmpfs (not mu: hooks take mu)
	runRoot  string     // "" until a tmpfs is found
}

// podFiles is the record of one pod uid whose volume files k2d wrote.
type podFiles struct {
	mu   sync.Mutex // serialises the pod's writes: the pod worker and the files worker
	key  string     // "ns/name"
	uid  types.UID
	gone bool // its files were removed: nothing may be written any more

	// Guarded by configState.mu: what the cache hooks look at.
	refs map[string]bool // "configmaps/<name>", "secrets/<name>": objects whose change rewrites files
	meta bool            // a downwardAPI file shows labels or annotations

	written map[string]bool                   // volumes written at least once
	tokens  map[string]*issuedToken           // by "<volume>/<path>"
	timer   *time.Timer                       // the next token refresh; nil when none is due
	dirs    map[string]translate.VolumeSource // the host side of each written volume
}

// volumeError is a volume whose files could not be set up: the kubelet's FailedMount.
type volumeError struct {
	volume string
	err    error
}

func (e *volumeError) Error() string {
	return fmt.Sprintf("MountVolume.SetUp failed for volume %q : %v", e.volume, e.err)
}

func (e *volumeError) Unwrap() error { return e.err }

// missingError is an object or key a volume needs that does not exist (yet): the pod waits
// for it, and the cache change that brings it enqueues the pod again.
type missingError struct{ msg string }

func (e *missingError) Error() string { return e.msg }

func missingf(format string, args ...any) error {
	return &missingError{msg: fmt.Sprintf(format, args...)}
}

// errNoTmpfs: no in-memory filesystem for secret files was found or could be made.
var errNoTmpfs = errors.New("no tmpfs to keep secret files in memory (k2d never writes them to disk): /run and /dev/shm are not tmpfs and k2d cannot mount one (it is not root); set K2D_RUN_PATH to a tmpfs directory")

// materialised reports whether k2d writes the files of v, and whether they must stay in memory.
func materialised(v *corev1.Volume) (plugin string, inMem, ok bool) {
	switch {
	case v.ConfigMap != nil:
		return pluginConfigMap, false, true
	case v.DownwardAPI != nil:
		return pluginDownward, false, true
	case v.Secret != nil:
		return pluginSecret, true, true
	case v.Projected != nil:
		return pluginProjected, true, true
	}
	return "", false, false
}

func hasMaterialised(pod *corev1.Pod) bool {
	for i := range pod.Spec.Volumes {
		if _, _, ok := materialised(&pod.Spec.Volumes[i]); ok {
			return true
		}
	}
	return false
}

// ---- directories ----

// instanceOf names the directory of the k2d keeping its data in dataDir under an automatic
// run dir, so that a sweep never touches another k2d's files.
func instanceOf(dataDir string) string {
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		abs = dataDir
	}
	sum := sha256.Sum256([]byte(abs))
	return hex.EncodeToString(sum[:6])
}

// instance returns this controller's instance name and data root. Without a DataDir (tests)
// both are private to the controller and removed when it stops.
func (c *Controller) instance() (inst, dataRoot string) {
	s := &c.cfg
	s.dirsOnce.Do(func() {
		if c.o.DataDir != "" {
			s.inst, s.dataRoot = instanceOf(c.o.DataDir), c.o.DataDir
			return
		}
		var b [6]byte
		_, _ = rand.Read(b[:])
		s.inst = hex.EncodeToString(b[:])
		s.dataRoot = filepath.Join(os.TempDir(), "k2d-"+s.inst)
	})
	return s.inst, s.dataRoot
}

// runRoots returns where in-memory files of this instance are or would be, creating nothing.
func (c *Controller) runRoots() []string {
	s := &c.cfg
	s.runMu.Lock()
	root := s.runRoot
	s.runMu.Unlock()
	if root != "" {
		return []string{root}
	}
	if c.o.RunDir != "" {
		return []string{c.o.RunDir}
	}
	inst, _ := c.instance()
	return autoRunRoots(hostRunDirs, inst)
}

// autoRunRoots lists the directories pickRunDir may choose for inst without an explicit one.
func autoRunRoots(env runDirEnv, inst string) []string {
	var out []string
	for _, base := range env.bases {
		out = append(out, filepath.Join(base, "k2d", inst))
	}
	if env.fallback != "" {
		out = append(out, filepath.Join(env.fallback, inst))
	}
	return out
}

// dirs returns the data root and the run root, looking for a tmpfs until one is found.
func (c *Controller) dirs() (dataRoot, runRoot string, runErr error) {
	s := &c.cfg
	inst, dataRoot := c.instance()
	s.runMu.Lock()
	defer s.runMu.Unlock()
	if s.runRoot == "" {
		// Retried until it works: an operator may mount a tmpfs meanwhile.
		if s.runRoot, runErr = pickRunDir(c.o.RunDir, inst, hostRunDirs); runErr != nil {
			c.log.Warn("no tmpfs for secret volumes", "err", runErr)
		}
	}
	return dataRoot, s.runRoot, runErr
}

// runDirEnv is what pickRunDir looks at: the host's candidates (tests pass their own).
type runDirEnv struct {
	bases    []string // directories that may be a tmpfs already, in order of preference
	fallback string   // where k2d mounts a tmpfs itself when none is found
	root     bool     // whether k2d may mount
	inMemory func(dir string) bool
	mount    func(dir string) error
}

var hostRunDirs = runDirEnv{
	bases: []string{"/run", "/dev/shm"}, fallback: "/run/k2d", root: os.Geteuid() == 0,
	inMemory: inMemory, mount: mountTmpfs,
}

// pickRunDir returns the in-memory directory for secret files: explicit if set (a tmpfs is
// mounted on it when it is not one and k2d is root), else <base>/k2d/<inst> with base /run or
// /dev/shm, whichever is a tmpfs, else <fallback>/<inst> on a tmpfs k2d mounts when root.
// Without any, secret volumes fail: their files are never written to a disk.
func pickRunDir(explicit, inst string, env runDirEnv) (string, error) {
	if explicit != "" {
		if err := ensurePrivateDir(explicit); err != nil {
			return "", err
		}
		if !env.inMemory(explicit) && env.root {
			if err := env.mount(explicit); err != nil {
				return "", fmt.Errorf("%s is not a tmpfs and mounting one failed: %w", explicit, err)
			}
		}
		if !env.inMemory(explicit) {
			return "", fmt.Errorf("%s is not a tmpfs: secret files would reach the disk", explicit)
		}
		return explicit, nil
	}
	for _, base := range env.bases {
		if env.inMemory(base) {
			if err := ensurePrivateDir(filepath.Join(base, "k2d")); err != nil {
				return "", err
			}
			dir := filepath.Join(base, "k2d", inst)
			return dir, ensurePrivateDir(dir)
		}
	}
	if env.root && env.fallback != "" {
		if err := ensurePrivateDir(env.fallback); err != nil {
			return "", err
		}
		if !env.inMemory(env.fallback) {
			if err := env.mount(env.fallback); err != nil {
				return "", fmt.Errorf("%w (mount tmpfs on %s: %v)", errNoTmpfs, env.fallback, err)
			}
		}
		dir := filepath.Join(env.fallback, inst)
		return dir, ensurePrivateDir(dir)
	}
	return "", errNoTmpfs
}

// ensurePrivateDir makes dir a directory of ours with mode 0700. /dev/shm is writable by
// everyone: a directory or link planted there by someone else is refused.
func ensurePrivateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	if uid, ok := fileOwner(fi); ok && uid != os.Geteuid() {
		return fmt.Errorf("%s belongs to uid %d, not to k2d", dir, uid)
	}
	return os.Chmod(dir, 0o700)
}

// volumeDir is where the files of volume v of pod uid live.
func volumeDir(root string, uid types.UID, plugin, volume string) string {
	return filepath.Join(root, "pods", string(uid), "volumes", plugin, volume)
}

// ---- controller hooks ----

func (c *Controller) startConfig() {
	s := &c.cfg
	files := newQueue(c.ctx, "volumes", 2, c.log, c.syncFiles)
	sas := newQueue(c.ctx, "serviceaccounts", 1, c.log, c.syncServiceAccounts)
	s.mu.Lock()
	if s.pods == nil {
		s.pods = map[types.UID]*podFiles{}
	}
	s.files, s.sas = files, sas
	s.mu.Unlock()
	c.wg.Add(1)
	context.AfterFunc(c.ctx, func() {
		defer c.wg.Done()
		files.Close()
		sas.Close()
		if c.o.DataDir == "" {
			// Private directories of a controller without a data dir (tests).
			_, dataRoot := c.instance()
			os.RemoveAll(dataRoot)
			if c.o.RunDir == "" {
				for _, dir := range c.runRoots() {
					os.RemoveAll(dir)
				}
			}
		}
		s.mu.Lock()
		pods := make([]*podFiles, 0, len(s.pods))
		for _, pf := range s.pods {
			pods = append(pods, pf)
		}
		s.mu.Unlock()
		for _, pf := range pods {
			pf.mu.Lock()
			if pf.timer != nil {
				pf.timer.Stop()
				pf.timer = nil
			}
			pf.mu.Unlock()
		}
	})

	nss, _ := c.c.List(resNS, "")
	for _, e := range nss {
		sas.Add(e.Meta().GetName())
	}
	// After a restart (or a reboot, which empties the tmpfs) the files of live pods are
	// written again and their tokens get refresh timers; stale pod directories go.
	pods, _ := c.c.List(resPods, "")
	live := map[string]bool{}
	for _, e := range pods {
		pod := e.Obj.(*corev1.Pod)
		live[string(pod.UID)] = true
		if !c.inScope(pod.Namespace) || !hasMaterialised(pod) || podFinished(pod) || pod.Annotations[AnnotationSource] == SourceDocker {
			continue
		}
		c.filesOf(pod)
		files.Add(pod.Namespace + "/" + pod.Name)
	}
	if c.o.DataDir != "" {
		dataRoot, runRoot, _ := c.dirs()
		for _, root := range []string{dataRoot, runRoot} {
			c.sweep(root, live)
		}
	}
}

// sweep removes the pod directories under root whose pod is gone (deleted while k2d was down).
func (c *Controller) sweep(root string, live map[string]bool) {
	if root == "" {
		return
	}
	entries, err := os.ReadDir(filepath.Join(root, "pods"))
	if err != nil {
		return
	}
	for _, e := range entries {
		if e.IsDir() && !live[e.Name()] {
			if err := os.RemoveAll(filepath.Join(root, "pods", e.Name())); err != nil {
				c.log.Warn("cannot remove volume files of a gone pod", "uid", e.Name(), "err", err)
			}
		}
	}
}

func podFinished(pod *corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
}

// onConfigChange enqueues the pods whose files show what changed. It runs with the cache lock
// held: it only reads its own state and enqueues.
func (c *Controller) onConfigChange(ev cache.Event) {
	m := ev.Entry.Meta()
	s := &c.cfg
	switch ev.Resource {
	case resConfigMap, resSecrets:
		ref := ev.Resource + "/" + m.GetName()
		var keys []string
		s.mu.Lock()
		for _, pf := range s.pods {
			if pf.refs[ref] && nsOf(pf.key) == m.GetNamespace() {
				keys = append(keys, pf.key)
			}
		}
		files, sas := s.files, s.sas
		s.mu.Unlock()
		if files != nil {
			for _, k := range keys {
				files.Add(k)
			}
		}
		if ev.Resource == resConfigMap && m.GetName() == rootCAConfigMap && ev.Type != cache.Added && sas != nil {
			sas.Add(m.GetNamespace()) // edited or deleted: the publisher puts it back
		}
	case resPods:
		if ev.Type != cache.Modified || ev.Old == nil {
			return
		}
		old, cur := ev.Old.Meta(), m
		if mapsEqual(old.GetLabels(), cur.GetLabels()) && mapsEqual(old.GetAnnotations(), cur.GetAnnotations()) {
			return
		}
		s.mu.Lock()
		pf := s.pods[cur.GetUID()]
		files := s.files
		s.mu.Unlock()
		if pf != nil && pf.meta && files != nil {
			files.Add(pf.key)
		}
	case resServiceAccounts:
		c.onServiceAccountChange(ev)
	case resNS:
		if ev.Type != cache.Deleted && m.GetDeletionTimestamp() == nil {
			s.mu.Lock()
			sas := s.sas
			s.mu.Unlock()
			if sas != nil {
				sas.Add(m.GetName())
			}
		}
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// filesOf returns the record of pod's files, making it on first use.
func (c *Controller) filesOf(pod *corev1.Pod) *podFiles {
	s := &c.cfg
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pods == nil {
		s.pods = map[types.UID]*podFiles{}
	}
	pf := s.pods[pod.UID]
	if pf == nil {
		pf = &podFiles{
			key: pod.Namespace + "/" + pod.Name, uid: pod.UID,
			written: map[string]bool{}, tokens: map[string]*issuedToken{}, dirs: map[string]translate.VolumeSource{},
		}
		pf.refs, pf.meta = volumeRefs(pod)
		s.pods[pod.UID] = pf
	}
	return pf
}

// volumeRefs lists the ConfigMaps and Secrets pod's volumes show, and whether a downwardAPI
// file shows its labels or annotations.
func volumeRefs(pod *corev1.Pod) (map[string]bool, bool) {
	refs := map[string]bool{}
	meta := false
	downward := func(items []corev1.DownwardAPIVolumeFile) {
		for _, it := range items {
			if it.FieldRef != nil && (hasPrefix(it.FieldRef.FieldPath, "metadata.labels") || hasPrefix(it.FieldRef.FieldPath, "metadata.annotations")) {
				meta = true
			}
		}
	}
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		switch {
		case v.ConfigMap != nil:
			refs[resConfigMap+"/"+v.ConfigMap.Name] = true
		case v.Secret != nil:
			refs[resSecrets+"/"+v.Secret.SecretName] = true
		case v.DownwardAPI != nil:
			downward(v.DownwardAPI.Items)
		case v.Projected != nil:
			for _, src := range v.Projected.Sources {
				switch {
				case src.ConfigMap != nil:
					refs[resConfigMap+"/"+src.ConfigMap.Name] = true
				case src.Secret != nil:
					refs[resSecrets+"/"+src.Secret.Name] = true
				case src.DownwardAPI != nil:
					downward(src.DownwardAPI.Items)
				}
			}
		}
	}
	return refs, meta
}

func hasPrefix(s, p string) bool { return len(s) >= len(p) && s[:len(p)] == p }

// prepareVolumes fills ec.Volumes with the host side of the volumes k2d materialises for the
// container, writing their files first. As the kubelet does, it sets up every volume of the
// pod before the first container, so a missing ConfigMap holds the whole pod.
func (c *Controller) prepareVolumes(ctx context.Context, pod *corev1.Pod, ctr *corev1.Container, ec *translate.EnvContext) error {
	needClaims := false
	for i := range pod.Spec.Volumes {
		needClaims = needClaims || pod.Spec.Volumes[i].PersistentVolumeClaim != nil
	}
	if !needClaims && !hasMaterialised(pod) {
		return nil
	}
	vols := map[string]translate.VolumeSource{}
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		if v.PersistentVolumeClaim == nil {
			continue
		}
		src, err := c.claimVolume(ctx, pod, v)
		if err != nil {
			return err // a *MountError when the claim is not ready: storage enqueues the pod again
		}
		vols[v.Name] = src
	}
	if hasMaterialised(pod) {
		pf := c.filesOf(pod)
		pf.mu.Lock()
		err := c.writePodFiles(pod, pf)
		for name, src := range pf.dirs {
			vols[name] = src
		}
		pf.mu.Unlock()
		if err != nil {
			return c.mountFailed(pod, err)
		}
	}
	if ec.Volumes == nil {
		ec.Volumes = make(map[string]translate.VolumeSource, len(vols))
	} else {
		// The map may be shared with other containers' copies of the context.
		cp := make(map[string]translate.VolumeSource, len(ec.Volumes)+len(vols))
		for k, v := range ec.Volumes {
			cp[k] = v
		}
		ec.Volumes = cp
	}
	for k, v := range vols {
		ec.Volumes[k] = v
	}
	return nil
}

// mountFailed turns a volume that could not be set up into the *MountError the pod worker
// reports as the kubelet does (the containers stay ContainerCreating, a FailedMount event names
// the volume), and arranges the retry: a pod that misses an object waits for it (the change
// that creates it enqueues the pod again); other failures are retried with back-off.
func (c *Controller) mountFailed(pod *corev1.Pod, err error) error {
	key := pod.Namespace + "/" + pod.Name
	var missing *missingError
	if errors.As(err, &missing) {
		c.mu.Lock()
		c.waitCfg[key] = true
		c.mu.Unlock()
	} else {
		c.pods.AddAfter(key, c.nextBackoff(string(pod.UID)+"/mount", c.now()))
	}
	return &MountError{Message: err.Error()}
}

// writePodFiles writes (or brings up to date) the files of every volume k2d materialises for
// pod, and schedules the refresh of its tokens. pf.mu is held.
func (c *Controller) writePodFiles(pod *corev1.Pod, pf *podFiles) error {
	if pf.gone {
		return errors.New("the pod's volume files were removed")
	}
	dataRoot, runRoot, runErr := c.dirs()
	in := c.volumeInputs(pod, pf)
	now := c.now()
	var first error
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		plugin, inMem, ok := materialised(v)
		if !ok {
			continue
		}
		root := dataRoot
		if inMem {
			if runErr != nil {
				first = firstErr(first, &volumeError{volume: v.Name, err: runErr})
				continue
			}
			root = runRoot
		}
		files, err := volumePayload(pod, v, in)
		if err != nil {
			first = firstErr(first, &volumeError{volume: v.Name, err: err})
			continue
		}
		dir := volumeDir(root, pod.UID, plugin, v.Name)
		if _, err := writeVolumeDir(dir, files, fsGroupOf(pod), now); err != nil {
			first = firstErr(first, &volumeError{volume: v.Name, err: fmt.Errorf("cannot write volume files: %w", err)})
			continue
		}
		pf.written[v.Name] = true
		pf.dirs[v.Name] = translate.VolumeSource{Type: mount.TypeBind, Source: dir, ReadOnly: true}
	}
	c.scheduleRefresh(pf)
	return first
}

func firstErr(cur, err error) error {
	if cur != nil {
		return cur
	}
	return err
}

// syncFiles is the files worker: it rewrites the files of a live pod after a change of what
// they show, or when one of its tokens is due for refresh.
func (c *Controller) syncFiles(ctx context.Context, key string) {
	ns, name := splitKey(key)
	if !c.inScope(ns) {
		return
	}
	e, ok := c.c.Get(resPods, ns, name)
	if !ok {
		return // removePodVolumes cleans up
	}
	pod := e.Obj.(*corev1.Pod)
	c.cfg.mu.Lock()
	pf := c.cfg.pods[pod.UID]
	c.cfg.mu.Unlock()
	if pf == nil {
		return // never set up: the pod worker writes the files before the first container
	}
	pf.mu.Lock()
	defer pf.mu.Unlock()
	if pf.gone {
		return
	}
	if podFinished(pod) {
		// Nothing runs any more: no token needs refreshing.
		if pf.timer != nil {
			pf.timer.Stop()
			pf.timer = nil
		}
		return
	}
	// Labels and annotations may have changed since the record was made.
	refs, meta := volumeRefs(pod)
	c.cfg.mu.Lock()
	pf.refs, pf.meta = refs, meta
	c.cfg.mu.Unlock()
	if err := c.writePodFiles(pod, pf); err != nil {
		// The files keep their last content, as with the kubelet.
		var ve *volumeError
		if errors.As(err, &ve) {
			c.rec.Event(podRef(pod, "", false), corev1.EventTypeWarning, "FailedMount", ve.Error())
		}
		c.log.Debug("cannot update volume files", "pod", key, "err", err)
	}
}

// cleanupPodFiles removes the volume files written for a pod uid.
func (c *Controller) cleanupPodFiles(uid string) {
	s := &c.cfg
	s.mu.Lock()
	pf := s.pods[types.UID(uid)]
	delete(s.pods, types.UID(uid))
	s.mu.Unlock()
	if pf != nil {
		pf.mu.Lock()
		pf.gone = true
		if pf.timer != nil {
			pf.timer.Stop()
			pf.timer = nil
		}
		pf.tokens = nil
		pf.mu.Unlock()
	}
	_, dataRoot := c.instance()
	for _, root := range append(c.runRoots(), dataRoot) {
		if err := os.RemoveAll(filepath.Join(root, "pods", uid)); err != nil {
			c.log.Warn("cannot remove volume files", "uid", uid, "err", err)
		}
	}
}

// RemoveVolumeFiles removes the volume files of every pod, for `k2d reset`: those under
// dataDir and the in-memory ones (runDir, or the automatic run dir of dataDir).
func RemoveVolumeFiles(dataDir, runDir string) error {
	var errs []error
	if dataDir != "" {
		errs = append(errs, os.RemoveAll(filepath.Join(dataDir, "pods")))
	}
	if runDir != "" {
		errs = append(errs, os.RemoveAll(filepath.Join(runDir, "pods")))
	} else if dataDir != "" {
		for _, dir := range autoRunRoots(hostRunDirs, instanceOf(dataDir)) {
			errs = append(errs, os.RemoveAll(dir))
		}
	}
	return errors.Join(errs...)
}
