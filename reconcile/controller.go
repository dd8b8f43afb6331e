package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/k2d-project/k2d/cache"
	"github.com/k2d-project/k2d/dockerio"
	"github.com/k2d-project/k2d/translate"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
)

// Annotations k2d puts on the Pods it shows for plain `docker run` containers.
const (
	// AnnotationSource is "docker" on a Pod observed from a container k2d did not create.
	// Such Pods are not persisted: Docker is their source of truth.
	AnnotationSource = "k2d.io/source"
	// SourceDocker is the value of AnnotationSource for observed Pods.
	SourceDocker = "docker"
	// AnnotationContainerID is the Docker container an observed Pod shows.
	AnnotationContainerID = "k2d.io/container-id"
)

// DefaultNamespaces exist on every cluster; k2d creates them when they are missing.
var DefaultNamespaces = []string{"default", "kube-system", "kube-public", "kube-node-lease"}

// Options configure a Controller.
type Options struct {
	// NodeName names the Node; "" takes the Docker host name.
	NodeName string
	// HostIP is the node's InternalIP and every pod's status.hostIP.
	HostIP string
	// SandboxImage overrides the sandbox image; "" builds k2d/pause:<hash> from Binary.
	SandboxImage string
	// PauseCommand overrides the sandbox's command (nil: the image's own, `/k2d pause`).
	PauseCommand []string
	// Binary is the static k2d executable the sandbox image is made of; "" is os.Executable().
	Binary string
	// KubeletVersion is the Node's nodeInfo.kubeletVersion, e.g. "v1.32.0-k2d".
	KubeletVersion string
	// Workers bounds concurrent pod syncs (Docker calls in flight); 0 means 4.
	Workers int
	// Log receives what only an operator needs; users see status and Events.
	Log *slog.Logger

	// DataDir is k2d's data directory; the files of configMap, downwardAPI and projected
	// volumes live under it. "" keeps them under os.TempDir (tests).
	DataDir string
	// RunDir is a tmpfs directory for secret volume files and service account tokens, which
	// must never reach the SD card; "" picks one (see volumes.go).
	RunDir string
	// ServiceCIDR is the range Service ClusterIPs come from, e.g. "10.96.0.0/12".
	ServiceCIDR string
	// ClusterDomain is the DNS domain of Services, "cluster.local" by default.
	ClusterDomain string
	// APIPort is the port k2d's Kubernetes API listens on: the `kubernetes` Service forwards to it.
	APIPort int
	// CACert is the PEM CA certificate mounted in pods as the service account's ca.crt.
	CACert []byte
	// IssueToken returns a token for a service account bound to a pod, and when it expires;
	// it is mounted in pods (kube-api-access volumes). nil mounts none.
	IssueToken func(TokenRequest) (token string, expires time.Time, err error)
}

// Controller carries the desired state stored in the cache out on Docker and feeds Docker's
// observed state back into the cache.
type Controller struct {
	c   *cache.Cache
	d   docker
	o   Options
	log *slog.Logger
	rec *Recorder
	now func() time.Time

	ctx    context.Context
	cancel context.CancelFunc
	pods   *queue // "ns/name" of API pods and observed pods
	nss    *queue // namespace names
	plain  *queue // container IDs of plain `docker run` containers
	wg     sync.WaitGroup

	ready    atomic.Bool
	dockerUp atomic.Bool
	node     atomic.Pointer[string]
	sandbox  atomic.Pointer[string] // the sandbox image reference, once ensured

	netMu     sync.Mutex // serialises network creation
	mu        sync.Mutex
	backoff   map[string]*backoffEntry // crash-loop and image-pull back-off, by pod uid + container/image
	networks  map[string]bool          // namespace networks known to exist
	plainPods map[string]string        // container ID -> "ns/name" of the observed Pod
	waitImage map[string]bool          // pods waiting for an image to appear (pull policy Never)
	waitCfg   map[string]bool          // pods waiting for a ConfigMap or Secret
	pulls     map[string]*pullCall     // image pulls in flight, shared by the pods that need them
	started   map[string]bool          // "uid" of pods whose Scheduled event was recorded
	rt        map[types.UID]*podRuntime
	kicks     map[string]chan struct{} // terminations in progress, by pod key
	doomed    map[string]string        // container ID -> pod key of observed Pods deleted through the API

	probes  probeManager // readiness, liveness and startup probes (probes.go); its own lock
	storage storageState // claims, volumes and classes (storage.go); its own lock

	workloads workloads // Deployment and ReplicaSet controllers (workloads.go); its own queues

	cfg configState // volume files and service accounts (volumes.go, serviceaccounts.go); its own lock

	eps atomic.Pointer[endpointsCtl] // Endpoints and EndpointSlices (endpoints.go), set by startEndpoints

	gc gcState // garbage collection by ownerReferences (gc.go); its own lock

	svcNet *serviceNet // the Service data plane (servicenet.go); nil in unit tests, which must not touch the host's network

	// scope limits the namespaces whose Docker objects this controller touches; nil is all.
	// Tests set it so that they never remove what other k2d instances on the same engine run.
	scope func(ns string) bool
}

// New returns a controller; Start runs it.
func New(c *cache.Cache, d *dockerio.Client, o Options) *Controller {
	ctl := newController(c, d, o)
	ctl.svcNet = ctl.newHostServiceNet()
	return ctl
}

func newController(c *cache.Cache, d docker, o Options) *Controller {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.KubeletVersion == "" {
		o.KubeletVersion = "v0.0.0-k2d"
	}
	ctx, cancel := context.WithCancel(context.Background())
	ctl := &Controller{
		c:         c,
		d:         d,
		o:         o,
		log:       o.Log,
		rec:       NewRecorder(c, o.NodeName),
		now:       time.Now,
		ctx:       ctx,
		cancel:    cancel,
		backoff:   map[string]*backoffEntry{},
		networks:  map[string]bool{},
		plainPods: map[string]string{},
		waitImage: map[string]bool{},
		waitCfg:   map[string]bool{},
		pulls:     map[string]*pullCall{},
		started:   map[string]bool{},
		rt:        map[types.UID]*podRuntime{},
		kicks:     map[string]chan struct{}{},
		doomed:    map[string]string{},
	}
	ctl.pods = newQueue(ctx, "pods", o.Workers, o.Log, ctl.syncPod)
	ctl.nss = newQueue(ctx, "namespaces", 2, o.Log, ctl.syncNamespace)
	ctl.plain = newQueue(ctx, "docker", 2, o.Log, ctl.syncPlain)
	return ctl
}

// Persisted is the cache's Options.Persisted: every object but Events, the Node (rebuilt from
// `docker info` at each start) and Pods observed from plain `docker run` containers (Docker
// is their source of truth) is written to the data dir.
func Persisted(resource string, obj runtime.Object) bool {
	switch resource {
	case "events", "events.events.k8s.io", "nodes":
		return false
	case "pods":
		if m, ok := obj.(metav1.Object); ok && m.GetAnnotations()[AnnotationSource] == SourceDocker {
			return false
		}
	}
	return true
}

// Start connects to Docker and brings the cache and Docker in line: it makes sure the
// sandbox image and the default namespaces exist, writes the Node, adopts the containers of
// persisted Pods, shows plain containers as Pods, then follows Docker's events until Stop.
// Call it after cache.Load. It fails when Docker cannot be reached at all.
func (c *Controller) Start(ctx context.Context) error {
	if err := c.connect(ctx); err != nil {
		return err
	}
	info, err := c.d.Info(ctx)
	if err != nil {
		return fmt.Errorf("cannot start controllers: %w", err)
	}
	c.rec.setHost(c.nodeName(info))
	img, err := c.ensureSandboxImage(ctx)
	if err != nil {
		return fmt.Errorf("cannot start controllers: %w", err)
	}
	c.sandbox.Store(&img)
	if err := c.ensureDefaultNamespaces(); err != nil {
		return fmt.Errorf("cannot start controllers: %w", err)
	}
	// Status is not persisted: give loaded Namespaces their phase before k2d reports ready.
	nss, _ := c.c.List(resNS, "")
	for _, e := range nss {
		c.setNamespacePhase(e.Meta().GetName())
	}
	c.c.Subscribe(c.onChange)
	since, err := c.resync(ctx)
	if err != nil {
		return fmt.Errorf("cannot start controllers: %w", err)
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.observe(since)
	}()
	if err := c.startAreas(ctx); err != nil {
		return fmt.Errorf("cannot start controllers: %w", err)
	}
	return nil
}

// startAreas starts the controllers beyond pods and namespaces, each in its own file, once
// Docker's state is loaded.
func (c *Controller) startAreas(ctx context.Context) error {
	c.startGC()
	c.startWorkloads()
	c.startConfig()
	c.startStorage()
	c.startEndpoints()
	c.startProbes()
	return c.startServiceNet(ctx)
}

// onAreaChange routes a cache change to the other controllers. Like onChange it runs with the
// cache lock held: handlers only enqueue.
func (c *Controller) onAreaChange(ev cache.Event) {
	c.onGCChange(ev)
	c.onWorkloadChange(ev)
	c.onConfigChange(ev)
	c.onStorageChange(ev)
	c.onEndpointsChange(ev)
	c.onProbesChange(ev)
	c.onServiceNetChange(ev)
}

// connect negotiates the API version with the engine.
func (c *Controller) connect(ctx context.Context) error {
	if n, ok := c.d.(interface{ Negotiate(context.Context) error }); ok {
		if err := n.Negotiate(ctx); err != nil {
			return fmt.Errorf("cannot connect to docker: %w", err)
		}
		return nil
	}
	if err := c.d.Ping(ctx); err != nil {
		return fmt.Errorf("cannot connect to docker: %w", err)
	}
	return nil
}

// Stop stops following Docker and waits for running syncs. Containers keep running: a
// restarted k2d adopts them.
func (c *Controller) Stop() {
	c.cancel()
	c.stopProbes()
	c.stopServiceNet()
	c.stopWorkloads()
	c.stopGC()
	c.wg.Wait()
	c.pods.Close()
	c.nss.Close()
	c.plain.Close()
}

// Ready reports whether the Docker state has been loaded and Docker answers.
func (c *Controller) Ready() bool { return c.ready.Load() && c.dockerUp.Load() }

// DockerCalls returns how many requests k2d has sent to Docker.
func (c *Controller) DockerCalls() uint64 { return c.d.Calls() }

// NodeName returns the Node's name, known once Start has run.
func (c *Controller) NodeName() string {
	if p := c.node.Load(); p != nil {
		return *p
	}
	return c.o.NodeName
}

// onChange routes cache changes to the work queues. It runs with the cache lock held: it only
// enqueues.
func (c *Controller) onChange(ev cache.Event) {
	c.onAreaChange(ev)
	m := ev.Entry.Meta()
	switch ev.Resource {
	case resPods:
		key := m.GetNamespace() + "/" + m.GetName()
		if ev.Type == cache.Deleted {
			c.kick(key)
			if id := m.GetAnnotations()[AnnotationContainerID]; id != "" && m.GetAnnotations()[AnnotationSource] == SourceDocker {
				c.mu.Lock()
				if c.plainPods[id] == key {
					c.doomed[id] = key // deleted through the API, not because Docker removed it
				}
				c.mu.Unlock()
			}
		}
		if ev.Type == cache.Modified && ev.Old != nil && ev.Old.Meta().GetDeletionTimestamp() != nil {
			c.kick(key)
		}
		if ev.Type == cache.Modified && ev.Old != nil && !podChangeMatters(ev.Old.Obj.(*corev1.Pod), ev.Entry.Obj.(*corev1.Pod)) {
			return
		}
		c.pods.Add(key)
		if ev.Type == cache.Deleted {
			c.nss.Add(m.GetNamespace()) // a terminating namespace waits for its pods
		}
	case resNS:
		c.nss.Add(m.GetName())
	case resConfigMap, resSecrets:
		c.mu.Lock()
		var keys []string
		for k := range c.waitCfg {
			if nsOf(k) == m.GetNamespace() {
				keys = append(keys, k)
			}
		}
		c.mu.Unlock()
		for _, k := range keys {
			c.pods.Add(k)
		}
	}
}

// podChangeMatters reports whether a change of a Pod needs the pod worker: not the status
// writes the worker itself makes.
func podChangeMatters(old, cur *corev1.Pod) bool {
	if old.Generation != cur.Generation || old.UID != cur.UID {
		return true
	}
	if (old.DeletionTimestamp == nil) != (cur.DeletionTimestamp == nil) {
		return true
	}
	if g1, g2 := old.DeletionGracePeriodSeconds, cur.DeletionGracePeriodSeconds; (g1 == nil) != (g2 == nil) || (g1 != nil && *g1 != *g2) {
		return true
	}
	if len(old.Spec.Containers) != len(cur.Spec.Containers) || len(old.Spec.InitContainers) != len(cur.Spec.InitContainers) {
		return true
	}
	for i := range cur.Spec.Containers {
		if old.Spec.Containers[i].Image != cur.Spec.Containers[i].Image {
			return true
		}
	}
	for i := range cur.Spec.InitContainers {
		if old.Spec.InitContainers[i].Image != cur.Spec.InitContainers[i].Image {
			return true
		}
	}
	return false
}

func nsOf(key string) string {
	for i := 0; i < len(key); i++ {
		if key[i] == '/' {
			return key[:i]
		}
	}
	return ""
}

func splitKey(key string) (ns, name string) {
	ns = nsOf(key)
	return ns, key[len(ns)+1:]
}

// ensureDefaultNamespaces creates the namespaces every cluster has.
func (c *Controller) ensureDefaultNamespaces() error {
	for _, name := range DefaultNamespaces {
		if _, ok := c.c.Get(resNS, "", name); ok {
			continue
		}
		ns := &corev1.Namespace{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/metadata.name": name}},
			Spec:       corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{corev1.FinalizerKubernetes}},
			Status:     corev1.NamespaceStatus{Phase: corev1.NamespaceActive},
		}
		if _, err := c.c.Create(kindNS, ns); err != nil {
			var exists *cache.AlreadyExistsError
			if !errors.As(err, &exists) {
				return fmt.Errorf("cannot create namespace %q: %w", name, err)
			}
		}
	}
	return nil
}

// inScope reports whether the controller manages Docker objects of namespace ns.
func (c *Controller) inScope(ns string) bool { return c.scope == nil || c.scope(ns) }

// isManagedPod reports whether a container belongs to a pod k2d runs.
func isManagedPod(labels map[string]string) bool {
	return translate.IsManaged(labels) && labels[translate.LabelPodUID] != "" && labels[translate.LabelPodName] != ""
}
