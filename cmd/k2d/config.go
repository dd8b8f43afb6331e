package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/k2d-project/k2d/fastapi"
)

// config is k2d's configuration: each setting from a flag, else its K2D_* variable, else
// the default. The names of the variables are those of the earlier k2d, so existing
// deployments keep working.
type config struct {
	Port          int
	DataPath      string
	AdvertiseAddr string
	Secret        string
	LogLevel      string
	LogFormat     string
	DockerHost    string
	NodeName      string
	SandboxImage  string
	ServiceCIDR   string // Service ClusterIPs come from it
	NodePortRange string // Service NodePorts come from it
	ClusterDomain string // DNS domain of Services and pods

	RunPath           string // tmpfs directory for secret volume files and tokens; "" picks one
	EncryptionKeyFile string // key of Secrets at rest; "" keeps one in <data>/pki
}

func envOr(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}

// parseConfig parses args (without the subcommand) into a config.
func parseConfig(name string, args []string) (*config, *flag.FlagSet, error) {
	c := &config{}
	fs := flag.NewFlagSet("k2d "+name, flag.ContinueOnError)
	port, err := strconv.Atoi(envOr("K2D_PORT", "6443"))
	if err != nil {
		return nil, nil, fmt.Errorf("cannot parse K2D_PORT: %w", err)
	}
	fs.IntVar(&c.Port, "port", port, "HTTPS port of the Kubernetes API (K2D_PORT)")
	fs.StringVar(&c.DataPath, "data-path", envOr("K2D_DATA_PATH", "/var/lib/k2d"), "directory for state, certificates and the kubeconfig (K2D_DATA_PATH)")
	fs.StringVar(&c.AdvertiseAddr, "advertise-addr", envOr("K2D_ADVERTISE_ADDR", ""), "IP address clients reach k2d on; default: the first non-loopback IPv4 (K2D_ADVERTISE_ADDR)")
	fs.StringVar(&c.Secret, "secret", envOr("K2D_SECRET", ""), "bearer token clients must send; default: generated once and kept in the data path (K2D_SECRET)")
	fs.StringVar(&c.LogLevel, "log-level", envOr("K2D_LOG_LEVEL", "info"), "debug, info, warn or error (K2D_LOG_LEVEL)")
	fs.StringVar(&c.LogFormat, "log-format", envOr("K2D_LOG_FORMAT", "text"), "text or json (K2D_LOG_FORMAT)")
	fs.StringVar(&c.DockerHost, "docker-host", envOr("DOCKER_HOST", ""), "Docker Engine API address; default unix:///var/run/docker.sock (DOCKER_HOST)")
	fs.StringVar(&c.NodeName, "node-name", envOr("K2D_NODE_NAME", ""), "name of the Node; default: the Docker host's name (K2D_NODE_NAME)")
	fs.StringVar(&c.SandboxImage, "sandbox-image", envOr("K2D_SANDBOX_IMAGE", ""), "image of the pod sandbox container; default: built locally from this binary (K2D_SANDBOX_IMAGE)")
	fs.StringVar(&c.ServiceCIDR, "service-cidr", envOr("K2D_SERVICE_CIDR", fastapi.DefaultServiceCIDR), "range of Service ClusterIPs; the first address is the kubernetes Service's, the tenth the cluster DNS's (K2D_SERVICE_CIDR)")
	fs.StringVar(&c.NodePortRange, "nodeport-range", envOr("K2D_NODEPORT_RANGE", fastapi.DefaultNodePortRange), "range of Service NodePorts (K2D_NODEPORT_RANGE)")
	fs.StringVar(&c.ClusterDomain, "cluster-domain", envOr("K2D_CLUSTER_DOMAIN", defaultClusterDomain), "DNS domain of Services and pods, answered by k2d's cluster DNS (K2D_CLUSTER_DOMAIN)")
	fs.StringVar(&c.RunPath, "run-path", envOr("K2D_RUN_PATH", ""), "tmpfs directory for secret volume files and service account tokens, never written to disk; default: under /run or /dev/shm, whichever is a tmpfs (K2D_RUN_PATH)")
	fs.StringVar(&c.EncryptionKeyFile, "encryption-key-file", envOr("K2D_ENCRYPTION_KEY_FILE", ""), "file holding the base64 of the 32-byte AES key that encrypts Secrets at rest; default: <data-path>/pki/encryption.key, made on first start (K2D_ENCRYPTION_KEY_FILE)")
	if err := fs.Parse(args); err != nil {
		return nil, nil, err
	}
	if _, err := fastapi.ParseServiceCIDR(c.ServiceCIDR); err != nil {
		return nil, nil, err
	}
	if _, _, err := fastapi.ParseNodePortRange(c.NodePortRange); err != nil {
		return nil, nil, err
	}
	if c.ClusterDomain, err = checkClusterDomain(c.ClusterDomain); err != nil {
		return nil, nil, err
	}
	if c.Port <= 0 || c.Port > 65535 {
		return nil, nil, fmt.Errorf("invalid port %d", c.Port)
	}
	if c.AdvertiseAddr == "" {
		c.AdvertiseAddr = firstIPv4()
	}
	if net.ParseIP(c.AdvertiseAddr) == nil {
		return nil, nil, fmt.Errorf("invalid advertise address %q: want an IP address", c.AdvertiseAddr)
	}
	return c, fs, nil
}

func firstIPv4() string {
	ifaces, err := net.Interfaces()
	if err == nil {
		for _, ifc := range ifaces {
			if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagLoopback != 0 {
				continue
			}
			if strings.HasPrefix(ifc.Name, "docker") || strings.HasPrefix(ifc.Name, "br-") || strings.HasPrefix(ifc.Name, "veth") {
				continue
			}
			addrs, _ := ifc.Addrs()
			for _, a := range addrs {
				if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil {
					return n.IP.String()
				}
			}
		}
	}
	return "127.0.0.1"
}
