// Package translate is where a Pod becomes Docker containers and Docker state becomes a Pod
// status. It is pure: no I/O, no clock, no globals. The controller (package reconcile) gathers
// facts, calls these functions, and talks to Docker through dockerio.
//
// # Conventions
//
// labels.go holds every name and label k2d puts on Docker objects. All carry io.k2d.managed=true
// (`k2d reset` removes exactly those). Containers follow the kubelet's dockershim convention:
// k8s_<container>_<pod>_<namespace>_<uid>_<attempt>, with "POD" for the sandbox, and the labels
// io.kubernetes.pod.{name,namespace,uid}, io.kubernetes.container.name,
// io.kubernetes.docker.type plus io.k2d.container.{kind,index} and io.k2d.pod.attempt. A namespace
// is the bridge network k2d-<namespace> (Network); an emptyDir is the Docker volume
// k2d-<pod uid>-<volume> (EmptyDirVolumeName).
//
// # Creating a pod
//
//  1. Unsupported(pod) lists the fields k2d cannot honour; the API layer warns or rejects.
//  2. Network(ns) once per namespace.
//  3. Sandbox(pod, pauseImage, pauseCmd, attempt): create and start it. It owns the pod's
//     network (IP, aliases, hostPorts, DNS, /etc/hosts), IPC and, with shareProcessNamespace, PID
//     namespaces, and holds memory-backed emptyDirs so their tmpfs lives as long as the pod.
//  4. For each init container in order, then each app container: check hostPaths (HostPaths) and
//     runAsNonRoot (VerifyRunAsNonRoot, with the image's user), fill an EnvContext (pod IP,
//     ConfigMap/Secret resolvers, volume sources, termination message file), call Container, create
//     and start the result. Init containers must exit 0 before the next one starts.
//  5. Restarts are the controller's: translate sets Docker's restart policy to "no". A restart is
//     a new container with attempt+1, so the attempt is the restart count, names stay unique and
//     the previous instance remains for lastState and `kubectl logs --previous`.
//  6. PodStatus(pod, sandbox, containers, now, observed) after every Docker event. The controller
//     passes what inspect cannot show (image pull and backoff reasons, probe verdicts, hostIP,
//     termination messages) in Observed. pod.Status is read as the previous status, so
//     transition times, terminal phases and statuses of removed containers are kept.
//
// Containers started outside k2d (IsManaged false) appear as Pods through PodFromContainer.
//
// # Mapping decisions (where k2d differs from a literal reading of the spec, and why)
//
//   - command/args: Entrypoint = command, Cmd = args, both nil when unset. Docker keeps the
//     image ENTRYPOINT for a null Entrypoint (and clears it for []), takes the image CMD when Cmd
//     is null or [] and Entrypoint is null, and never inherits the image CMD once Entrypoint is
//     set. That is exactly Kubernetes' rule (checked on Docker 20.10); encoders must keep null.
//   - $(VAR) expansion (Expand) follows Kubernetes: undefined references stay, $$ escapes,
//     no recursion; env values see only variables defined before them.
//   - limits.cpu becomes a CFS quota over a 100 ms period (as the kubelet writes it), not
//     NanoCpus: Docker refuses NanoCpus above the host's CPU count. requests.cpu becomes
//     CPUShares (1024 per CPU, minimum 2). limits.memory sets Memory and MemorySwap (no swap).
//   - OomScoreAdj ranks BestEffort 1000, Burstable 2..999, Guaranteed 0. The kubelet uses -997
//     and -998 for sandboxes, but lowering the score needs CAP_SYS_RESOURCE, and under rootless or
//     nested Docker runc then fails every start; k2d never goes below 0.
//   - IPC is always shared between a pod's containers (Kubernetes semantics): the sandbox is
//     IpcMode "shareable" and containers join it. PID is shared only with shareProcessNamespace.
//   - DNS: with ClusterFirst the sandbox gets the cluster DNS ClusterIP (SandboxWithDNS), search
//     <ns>.svc.<domain> svc.<domain> <domain> and ndots:5. On a user network Docker keeps its
//     embedded server 127.0.0.11 as the only nameserver; it answers container names and aliases
//     and forwards the rest to the cluster DNS from the pod's network namespace (checked on
//     Docker 20.10, also through the search list). dnsConfig nameservers are forwarded to as
//     well. hostNetwork pods get the node's resolv.conf, or with ClusterFirstWithHostNet the
//     cluster DNS itself (its ClusterIP is a local address of the node).
//   - Sandbox aliases: the pod name, and with a subdomain <hostname>.<subdomain> and its FQDN,
//     the names a headless Service gives StatefulSet pods.
//   - emptyDir: a Docker volume per pod uid with NoCopy (an emptyDir starts empty). Memory medium:
//     a local-driver tmpfs volume (shared by all containers, unlike a per-container tmpfs mount),
//     sized by sizeLimit, held by the sandbox. subPath on it needs a host path: Docker API 1.41 has
//     no volume subpath, so the controller passes the volume's Mountpoint in EnvContext.Volumes.
//   - hostPath: a bind mount via HostConfig.Mounts, which fails on a missing source (Binds would
//     silently create a directory): the controller applies the hostPath type checks first.
//   - seccomp: unset keeps Docker's default profile (the kubelet's default is Unconfined unless
//     --seccomp-default); Unconfined maps to seccomp=unconfined. AppArmor Localhost profiles are
//     passed by name.
//   - Terminated reason OOMKilled comes from Docker's OOMKilled flag, which can lose a race with
//     the exit on cgroup v1: such a kill shows as Error, exit code 137.
//   - A container that failed to start (Docker leaves it "created" with State.Error) reports as
//     terminated with reason StartError and Docker's message, as containerd-based kubelets do.
//
// Unsupported's comment lists the fields k2d ignores.
//
// # Caveats
//
// Functions keep no state and are safe for concurrent use. They do not retain their arguments,
// except that ContainerSpec shares strings (not slices) with the pod. A PodStatus result may share
// pointers with pod.Status (kept conditions, start time): deep-copy before mutating either.
// EmptyDirVolumeName and the labels are part of the on-disk contract with existing Docker objects:
// changing them orphans volumes and containers of running pods.
package translate
