package reconcile

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/k2d-project/k2d/translate"
	corev1 "k8s.io/api/core/v1"
)

// envContext gathers what translate.Container needs that only the controller knows: the
// pod's IP from its sandbox, the node's facts, and ConfigMap and Secret values from the cache
// (when k2d serves those kinds; without them a reference fails as
// CreateContainerConfigError, as on a cluster where the object is missing).
func (c *Controller) envContext(pod *corev1.Pod, sb *inst) translate.EnvContext {
	ec := translate.EnvContext{HostIP: c.o.HostIP, NodeName: c.NodeName()}
	if c.o.HostIP != "" {
		ec.HostIPs = []string{c.o.HostIP}
	}
	if pod.Spec.HostNetwork {
		ec.PodIP = c.o.HostIP
	} else if ns := sb.ins.NetworkSettings; ns != nil {
		if ep := ns.Networks[translate.NetworkName(pod.Namespace)]; ep != nil {
			ec.PodIP = ep.IPAddress
			if ep.GlobalIPv6Address != "" {
				ec.PodIPs = []string{ep.IPAddress, ep.GlobalIPv6Address}
			}
		}
	}
	if e, ok := c.c.Get(resNodes, "", c.NodeName()); ok {
		ec.NodeAllocatable = e.Obj.(*corev1.Node).Status.Allocatable
	}
	ec.ServiceEnv = c.serviceEnv(pod) // endpoints_env.go
	ec.Resolve = func(ref *corev1.EnvVarSource) (string, bool, error) {
		switch {
		case ref.ConfigMapKeyRef != nil:
			data, ok := c.configMapData(pod.Namespace, ref.ConfigMapKeyRef.Name)
			if !ok {
				return "", false, nil
			}
			v, ok := data[ref.ConfigMapKeyRef.Key]
			return v, ok, nil
		case ref.SecretKeyRef != nil:
			data, ok := c.secretData(pod.Namespace, ref.SecretKeyRef.Name)
			if !ok {
				return "", false, nil
			}
			v, ok := data[ref.SecretKeyRef.Key]
			return v, ok, nil
		}
		return "", false, nil
	}
	ec.ResolveFrom = func(src *corev1.EnvFromSource) (map[string]string, bool, error) {
		switch {
		case src.ConfigMapRef != nil:
			d, ok := c.configMapData(pod.Namespace, src.ConfigMapRef.Name)
			return d, ok, nil
		case src.SecretRef != nil:
			d, ok := c.secretData(pod.Namespace, src.SecretRef.Name)
			return d, ok, nil
		}
		return nil, false, nil
	}
	return ec
}

func (c *Controller) configMapData(ns, name string) (map[string]string, bool) {
	e, ok := c.c.Get(resConfigMap, ns, name)
	if !ok {
		return nil, false
	}
	cm, ok := e.Obj.(*corev1.ConfigMap)
	if !ok {
		return nil, false
	}
	out := make(map[string]string, len(cm.Data)+len(cm.BinaryData))
	for k, v := range cm.Data {
		out[k] = v
	}
	for k, v := range cm.BinaryData {
		out[k] = string(v)
	}
	return out, true
}

func (c *Controller) secretData(ns, name string) (map[string]string, bool) {
	e, ok := c.c.Get(resSecrets, ns, name)
	if !ok {
		return nil, false
	}
	s, ok := e.Obj.(*corev1.Secret)
	if !ok {
		return nil, false
	}
	out := make(map[string]string, len(s.Data)+len(s.StringData))
	for k, v := range s.Data {
		out[k] = string(v)
	}
	for k, v := range s.StringData {
		out[k] = v
	}
	return out, true
}

// prepareHostPaths does the kubelet's hostPath type checks and creations. Docker refuses a
// bind mount whose source is missing, so an unset type creates a directory, as `docker run
// -v` would. Paths are as k2d sees them: k2d must run on the host (not in a container
// without those paths) for this to hold.
func prepareHostPaths(pod *corev1.Pod) error {
	for _, hp := range translate.HostPaths(pod) {
		fi, err := os.Stat(hp.Path)
		missing := err != nil && os.IsNotExist(err)
		if err != nil && !missing {
			return fmt.Errorf("volume %q : hostPath %s: %w", hp.Volume, hp.Path, err)
		}
		switch hp.Type {
		case corev1.HostPathUnset, corev1.HostPathDirectoryOrCreate:
			if missing {
				if err := os.MkdirAll(hp.Path, 0o755); err != nil {
					return fmt.Errorf("volume %q : cannot create hostPath directory %s: %w", hp.Volume, hp.Path, err)
				}
			} else if hp.Type == corev1.HostPathDirectoryOrCreate && !fi.IsDir() {
				return typeCheck(hp, "is not a directory")
			}
		case corev1.HostPathFileOrCreate:
			if missing {
				if err := os.MkdirAll(filepath.Dir(hp.Path), 0o755); err != nil {
					return fmt.Errorf("volume %q : cannot create hostPath file %s: %w", hp.Volume, hp.Path, err)
				}
				f, err := os.OpenFile(hp.Path, os.O_CREATE|os.O_WRONLY, 0o644)
				if err != nil {
					return fmt.Errorf("volume %q : cannot create hostPath file %s: %w", hp.Volume, hp.Path, err)
				}
				f.Close()
			} else if !fi.Mode().IsRegular() {
				return typeCheck(hp, "is not a file")
			}
		case corev1.HostPathDirectory:
			if missing || !fi.IsDir() {
				return typeCheck(hp, "is not a directory")
			}
		case corev1.HostPathFile:
			if missing || !fi.Mode().IsRegular() {
				return typeCheck(hp, "is not a file")
			}
		case corev1.HostPathSocket:
			if missing || fi.Mode()&fs.ModeSocket == 0 {
				return typeCheck(hp, "is not a socket file")
			}
		case corev1.HostPathCharDev:
			if missing || fi.Mode()&fs.ModeCharDevice == 0 {
				return typeCheck(hp, "is not a character device")
			}
		case corev1.HostPathBlockDev:
			if missing || fi.Mode()&fs.ModeDevice == 0 || fi.Mode()&fs.ModeCharDevice != 0 {
				return typeCheck(hp, "is not a block device")
			}
		}
	}
	return nil
}

func typeCheck(hp translate.HostPath, what string) error {
	return fmt.Errorf("volume %q : hostPath type check failed: %s %s", hp.Volume, hp.Path, what)
}
