// Package reconcile holds k2d's controllers: they carry the desired state that API writes
// store in the cache out on Docker, and feed what Docker observes back into the cache.
//
// Data flow:
//
//   - Cache -> Docker. Start subscribes to the cache. A change of a Pod or Namespace enqueues
//     its key on a deduplicating work queue (queue.go); the pod worker (pods.go, one sync at a
//     time per pod, a few pods at once) creates the namespace network, pulls images per
//     imagePullPolicy, starts the sandbox (k2d/pause, built from k2d's own binary: sandbox.go),
//     runs init containers in order, then the app containers, restarts them per restartPolicy
//     with the kubelet's CrashLoopBackOff, and carries out graceful deletion (terminate.go).
//     The namespace worker (namespaces.go) keeps one bridge network per namespace and empties a
//     terminating namespace before removing it.
//   - Docker -> cache. The observer (observer.go) lists everything at start and after every
//     reconnect, then follows /events; a container event enqueues the pod it belongs to (by
//     its io.kubernetes.* labels), whose worker inspects only that pod's containers and writes
//     the status translate.PodStatus computes (status only, with cache.Mutate). Containers k2d
//     did not create appear as Pods (plain.go), marked with AnnotationSource and never
//     persisted (Persisted). The Node (node.go) is written from `docker info` at start and on
//     reconnect; its Ready condition is False while Docker is unreachable.
//   - Everything the controllers do or fail to do is reported as Events (events.go), in both
//     core/v1 and events.k8s.io/v1 form, with repeats folded into a count.
//   - The API's streams (pods/log, exec, attach) go straight to Docker (streams.go); they are
//     the only requests that do.
//
// Docker access goes through the narrow docker interface (docker.go), which *dockerio.Client
// satisfies; unit tests use an in-memory fake, integration tests the real engine.
//
// Caveats:
//   - Nothing runs at idle: queues start a goroutine only while a key has work and hold no
//     timers but the back-off, grace-period and retry ones, which end. There is no polling and
//     no periodic status write.
//   - A cache subscriber runs under the cache lock, so onChange only enqueues; the controller's
//     own mutex is never held while calling the cache.
//   - Containers of pods that are not in the cache are removed (a pod deleted while k2d was
//     down): one k2d per Docker engine.
//   - hostPath directories are prepared with k2d's view of the filesystem: k2d must run on the
//     host, not in a container without those paths.
//   - Memory: per pod a small record of waiting reasons and back-off entries, dropped with the
//     pod; the event correlator remembers at most correlateMax keys; Events are bounded by the
//     cache's Limits (EventLimits).
package reconcile
