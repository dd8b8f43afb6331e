package reconcile

import (
	"fmt"
	"sync"
	"time"

	"github.com/k2d-project/k2d/cache"
	"github.com/k2d-project/k2d/codec"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
)

// Event reasons, as the kubelet and the scheduler report them.
const (
	ReasonScheduled         = "Scheduled"
	ReasonPulling           = "Pulling"
	ReasonPulled            = "Pulled"
	ReasonCreated           = "Created"
	ReasonStarted           = "Started"
	ReasonKilling           = "Killing"
	ReasonBackOff           = "BackOff"
	ReasonFailed            = "Failed"
	ReasonOOMKilled         = "OOMKilled"
	ReasonErrImageNeverPull = "ErrImageNeverPull"
	ReasonDied              = "Died"
	ReasonNodeReady         = "NodeReady"
	ReasonNodeNotReady      = "NodeNotReady"
	ReasonStarting          = "Starting"
)

// Components that report events.
const (
	componentKubelet   = "kubelet"
	componentScheduler = "default-scheduler"
	componentDocker    = "docker"
)

// EventLimits are the cache limits (cache.Options.Limits) k2d needs for events: both forms
// of every event are stored, and the oldest are evicted once a form holds this many.
var EventLimits = map[string]int{
	"events":               1000,
	"events.events.k8s.io": 1000,
}

// correlateMax bounds the correlator's memory: keys beyond it forget the oldest.
const correlateMax = 1024

var (
	kindEvent    = codec.KindFor("", "v1", "events")
	kindEventV1  = codec.KindFor("events.k8s.io", "v1", "events")
	kindPod      = codec.KindFor("", "v1", "pods")
	kindNode     = codec.KindFor("", "v1", "nodes")
	kindNS       = codec.KindFor("", "v1", "namespaces")
	resEvents    = kindEvent.GroupResource()
	resEventsV1  = kindEventV1.GroupResource()
	resPods      = kindPod.GroupResource()
	resNodes     = kindNode.GroupResource()
	resNS        = kindNS.GroupResource()
	resSecrets   = "secrets"
	resConfigMap = "configmaps"
)

// Recorder writes Events into the cache in both API forms, core/v1 and events.k8s.io/v1, and
// folds repeats of the same event into one object with a count, as the API server's event
// correlator does on a cluster.
type Recorder struct {
	c    *cache.Cache
	host string
	now  func() time.Time

	mu    sync.Mutex
	seen  map[string]string // correlation key -> "ns/name" of the stored event
	order []string          // ring of keys in insertion order, to bound seen
	next  int
	last  int64 // the last name stamp handed out
}

// NewRecorder returns a recorder that reports as host (the node name).
func NewRecorder(c *cache.Cache, host string) *Recorder {
	return &Recorder{c: c, host: host, now: time.Now, seen: map[string]string{}}
}

// setHost sets the node name events report as their source host.
func (r *Recorder) setHost(host string) {
	r.mu.Lock()
	r.host = host
	r.mu.Unlock()
}

// podRef returns a reference to the pod, or to one of its containers when container is set
// (fieldPath "spec.containers{app}"), as kubectl describe shows it.
func podRef(pod *corev1.Pod, container string, init bool) corev1.ObjectReference {
	ref := corev1.ObjectReference{
		Kind:            "Pod",
		APIVersion:      "v1",
		Namespace:       pod.Namespace,
		Name:            pod.Name,
		UID:             pod.UID,
		ResourceVersion: pod.ResourceVersion,
	}
	switch {
	case container == "":
	case init:
		ref.FieldPath = "spec.initContainers{" + container + "}"
	default:
		ref.FieldPath = "spec.containers{" + container + "}"
	}
	return ref
}

func nodeRef(name string) corev1.ObjectReference {
	// The kubelet refers to its node by name with the name as uid.
	return corev1.ObjectReference{Kind: "Node", Name: name, UID: types.UID(name)}
}

// Event records an event about ref reported by the kubelet.
func (r *Recorder) Event(ref corev1.ObjectReference, typ, reason, msg string) {
	r.record(ref, componentKubelet, typ, reason, msg)
}

// Eventf is Event with a format.
func (r *Recorder) Eventf(ref corev1.ObjectReference, typ, reason, format string, args ...any) {
	r.record(ref, componentKubelet, typ, reason, fmt.Sprintf(format, args...))
}

// record stores the event or, when the same object+reason+message was recorded before and is
// still stored, increments its count. Errors are not returned: an event that cannot be
// stored must not stop the work it reports on.
func (r *Recorder) record(ref corev1.ObjectReference, component, typ, reason, msg string) {
	if r == nil || r.c == nil {
		return
	}
	ns := ref.Namespace
	if ns == "" {
		ns = metav1.NamespaceDefault // events about cluster-scoped objects live in default
	}
	now := r.now()
	key := ref.Kind + "\x00" + ref.Namespace + "\x00" + ref.Name + "\x00" + string(ref.UID) + "\x00" + ref.FieldPath + "\x00" +
		component + "\x00" + typ + "\x00" + reason + "\x00" + msg

	r.mu.Lock()
	defer r.mu.Unlock() // serialises event writes, so two repeats cannot both create
	if name, ok := r.seen[key]; ok {
		if r.bump(ns, name, now) {
			return
		}
		delete(r.seen, key) // evicted from the cache meanwhile: start a new one
	}
	// Names are <object>.<hex nanoseconds> as client-go makes them; the stamp is made unique
	// because a coarse clock (or a burst) can give two events the same nanosecond.
	stamp := now.UnixNano()
	if stamp <= r.last {
		stamp = r.last + 1
	}
	r.last = stamp
	name := fmt.Sprintf("%s.%x", ref.Name, stamp)
	if err := r.create(ns, name, ref, component, typ, reason, msg, now); err != nil {
		return
	}
	r.remember(key, ns+"/"+name)
}

func (r *Recorder) remember(key, nsName string) {
	if len(r.order) < correlateMax {
		r.order = append(r.order, key)
	} else {
		delete(r.seen, r.order[r.next])
		r.order[r.next] = key
		r.next = (r.next + 1) % correlateMax
	}
	r.seen[key] = nsName
}

func (r *Recorder) create(ns, name string, ref corev1.ObjectReference, component, typ, reason, msg string, now time.Time) error {
	ts := metav1.NewTime(now.Truncate(time.Second))
	src := corev1.EventSource{Component: component}
	if component == componentKubelet || component == componentDocker { // node agents name their host; the scheduler and controllers do not
		src.Host = r.host
	}
	ev := &corev1.Event{
		ObjectMeta:          metav1.ObjectMeta{Name: name, Namespace: ns},
		InvolvedObject:      ref,
		Reason:              reason,
		Message:             msg,
		Source:              src,
		FirstTimestamp:      ts,
		LastTimestamp:       ts,
		Count:               1,
		Type:                typ,
		EventTime:           metav1.MicroTime{},
		ReportingController: component,
		ReportingInstance:   src.Host,
	}
	if _, err := r.c.Create(kindEvent, ev); err != nil {
		return err
	}
	evv1 := &eventsv1.Event{
		ObjectMeta:               metav1.ObjectMeta{Name: name, Namespace: ns},
		EventTime:                metav1.NewMicroTime(now),
		ReportingController:      component,
		ReportingInstance:        src.Host,
		Action:                   reason,
		Reason:                   reason,
		Regarding:                ref,
		Note:                     msg,
		Type:                     typ,
		DeprecatedSource:         src,
		DeprecatedFirstTimestamp: ts,
		DeprecatedLastTimestamp:  ts,
		DeprecatedCount:          1,
	}
	_, _ = r.c.Create(kindEventV1, evv1)
	return nil
}

// bump increments the count of a stored event; false when it is gone.
func (r *Recorder) bump(ns, nsName string, now time.Time) bool {
	name := nsName[len(ns)+1:]
	ts := metav1.NewTime(now.Truncate(time.Second))
	e, err := r.c.Mutate(kindEvent, ns, name, func(obj runtime.Object) (bool, error) {
		ev := obj.(*corev1.Event)
		ev.Count++
		ev.LastTimestamp = ts
		return true, nil
	})
	if err != nil || e == nil {
		return false
	}
	count := e.Obj.(*corev1.Event).Count
	_, _ = r.c.Mutate(kindEventV1, ns, name, func(obj runtime.Object) (bool, error) {
		ev := obj.(*eventsv1.Event)
		ev.DeprecatedCount = count
		ev.DeprecatedLastTimestamp = ts
		ev.Series = &eventsv1.EventSeries{Count: count, LastObservedTime: metav1.NewMicroTime(now)}
		return true, nil
	})
	return true
}
