// Package svcnet is the Service data plane k2d runs on the host, in place of kube-proxy and
// CoreDNS: no extra container, no iptables rules.
//
// What it owns:
//   - VIPs (vip_linux.go): each ClusterIP becomes a /32 address on the loopback interface,
//     labelled "lo:k2d", added and removed with NETLINK_ROUTE messages. Packets from the host
//     and from containers (which route to the host through their bridge gateway) to a ClusterIP
//     are then delivered to local sockets.
//   - Proxies (tcp.go, udp.go): one listener per ClusterIP and port (and per NodePort on every
//     address, and per LoadBalancer port on the node address). TCP connections go to the next
//     ready endpoint in turn (or, with sessionAffinity ClientIP, to the client's last one),
//     skipping those that refuse, and are spliced both ways with half-close; UDP datagrams go
//     through per-client sessions that end when idle.
//   - Cluster DNS (resolve.go, dnsmsg.go, dnsserver.go): the DNS Service's listeners answer
//     the Kubernetes DNS names of Services from a Resolver and forward other names to the
//     host's resolv.conf nameservers.
//
// How data flows: the reconcile package translates a Service and its Endpoints into a Service
// value and calls Plane.Apply, which diffs it against what it holds: new VIPs and listeners
// open, old ones close, kept ones get the new endpoints (an atomic swap, no lock on the
// connection path). Plane.Remove takes everything of a Service away.
//
// Caveats:
//   - Idle cost: one goroutine blocked in accept or read per listener, nothing else; no timer
//     runs at idle. Each live TCP connection has two goroutines (one per direction); each live
//     UDP session one goroutine and one read deadline; each UDP proxy listener a 64 KiB buffer
//     (a DNS listener 4 KiB).
//   - VIPs outlive the process on purpose: a restarted k2d takes them again (Apply, then Prune
//     removes those of Services deleted meanwhile), and RemoveAllVIPs (`k2d reset`) removes
//     them. IPv6 addresses cannot carry the label, so Prune and RemoveAllVIPs see IPv4 only.
//   - Adding addresses needs CAP_NET_ADMIN: without it Apply reports the error for each
//     ClusterIP, and NodePorts (unprivileged ports) still work. No firewall rule is made: a
//     host firewall that drops input from the Docker bridges also drops pods' Service traffic.
//   - The proxies see connections, not packets: backends see the host's bridge address as
//     the client, not the pod's. externalIPs are not served; SCTP ports are refused. Session
//     affinity remembers at most 4096 client IPs per listener.
package svcnet
