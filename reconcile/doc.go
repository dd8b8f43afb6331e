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
//   - Volume files (volumes.go, volumefiles.go): configMap, secret, downwardAPI and projected
//     volumes are written on the host the way the kubelet's atomic writer does (a timestamped
//     data dir behind a ..data symlink swapped atomically) and bind-mounted read-only; secret
//     and projected files only on a tmpfs. A change of what they show enqueues the pods that
//     mount it on a files worker; tokens are refreshed by one timer per running pod. Every
//     namespace gets its default ServiceAccount and kube-root-ca.crt (serviceaccounts.go).
//   - Garbage collection (gc.go): every cache change keeps an index owner uid -> dependents;
//     objects whose owners are gone (by uid) are deleted, pods gracefully, and the
//     foregroundDeletion and orphan finalizers a DELETE's propagationPolicy sets are carried out.
//     At start every object is looked at once.
//   - Service data plane (servicenet.go, package svcnet): a change of a Service or its Endpoints
//     enqueues it; the worker puts its ClusterIPs on lo, a proxy per port to the ready
//     endpoints, its NodePorts and LoadBalancer ports, and sets status.loadBalancer. k2d keeps
//     kube-dns in kube-system and answers it itself; pods get it as nameserver (podDNS).
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
//     no periodic status write. The one periodic work is what users ask for: a probe arms one
//     timer per period, only while its container runs (probes.go), and writes status only
//     when a verdict changes.
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
