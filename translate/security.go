package translate

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/container"
	corev1 "k8s.io/api/core/v1"
)

// appArmorAnnotationPrefix is the pre-1.30 way to set a container's AppArmor profile, still
// honoured by the kubelet when the field is unset.
const appArmorAnnotationPrefix = "container.apparmor.security.beta.kubernetes.io/"

// effectiveSecurity merges the pod's securityContext into the container's: container fields win.
type effectiveSecurity struct {
	runAsUser, runAsGroup *int64
	runAsNonRoot          *bool
	seLinux               *corev1.SELinuxOptions
	seccomp               *corev1.SeccompProfile
	appArmor              *corev1.AppArmorProfile
}

func effective(pod *corev1.Pod, c *corev1.Container) effectiveSecurity {
	var e effectiveSecurity
	if ps := pod.Spec.SecurityContext; ps != nil {
		e = effectiveSecurity{ps.RunAsUser, ps.RunAsGroup, ps.RunAsNonRoot, ps.SELinuxOptions, ps.SeccompProfile, ps.AppArmorProfile}
	}
	if a, ok := pod.Annotations[appArmorAnnotationPrefix+c.Name]; ok {
		e.appArmor = appArmorFromAnnotation(a)
	}
	if cs := c.SecurityContext; cs != nil {
		if cs.RunAsUser != nil {
			e.runAsUser = cs.RunAsUser
		}
		if cs.RunAsGroup != nil {
			e.runAsGroup = cs.RunAsGroup
		}
		if cs.RunAsNonRoot != nil {
			e.runAsNonRoot = cs.RunAsNonRoot
		}
		if cs.SELinuxOptions != nil {
			e.seLinux = cs.SELinuxOptions
		}
		if cs.SeccompProfile != nil {
			e.seccomp = cs.SeccompProfile
		}
		if cs.AppArmorProfile != nil {
			e.appArmor = cs.AppArmorProfile
		}
	}
	return e
}

func appArmorFromAnnotation(v string) *corev1.AppArmorProfile {
	switch {
	case v == "runtime/default":
		return &corev1.AppArmorProfile{Type: corev1.AppArmorProfileTypeRuntimeDefault}
	case v == "unconfined":
		return &corev1.AppArmorProfile{Type: corev1.AppArmorProfileTypeUnconfined}
	case strings.HasPrefix(v, "localhost/"):
		name := strings.TrimPrefix(v, "localhost/")
		return &corev1.AppArmorProfile{Type: corev1.AppArmorProfileTypeLocalhost, LocalhostProfile: &name}
	}
	return nil
}

// applySecurity maps the securityContext onto Docker's user, groups, privileges and security
// options.
func applySecurity(pod *corev1.Pod, c *corev1.Container, ec *EnvContext, cfg *container.Config, host *container.HostConfig) {
	e := effective(pod, c)
	switch {
	case e.runAsUser != nil:
		cfg.User = strconv.FormatInt(*e.runAsUser, 10)
		if e.runAsGroup != nil {
			cfg.User += ":" + strconv.FormatInt(*e.runAsGroup, 10)
		}
	case e.runAsGroup != nil:
		// Docker takes "user:group" whole; keep the image's user and replace its group.
		user, _, _ := strings.Cut(ec.ImageUser, ":")
		if user == "" {
			user = "0"
		}
		cfg.User = user + ":" + strconv.FormatInt(*e.runAsGroup, 10)
	}

	if ps := pod.Spec.SecurityContext; ps != nil {
		// fsGroup joins the supplemental groups so files the pod writes to shared volumes stay
		// accessible. (The kubelet also chowns volumes to it; k2d does not.)
		var groups []int64
		if ps.FSGroup != nil {
			groups = append(groups, *ps.FSGroup)
		}
		groups = append(groups, ps.SupplementalGroups...)
		for _, g := range groups {
			host.GroupAdd = appendUnique(host.GroupAdd, strconv.FormatInt(g, 10))
		}
	}

	if cs := c.SecurityContext; cs != nil {
		host.Privileged = cs.Privileged != nil && *cs.Privileged
		host.ReadonlyRootfs = cs.ReadOnlyRootFilesystem != nil && *cs.ReadOnlyRootFilesystem
		if caps := cs.Capabilities; caps != nil {
			for _, a := range caps.Add {
				host.CapAdd = append(host.CapAdd, string(a))
			}
			for _, d := range caps.Drop {
				host.CapDrop = append(host.CapDrop, string(d))
			}
		}
		if cs.AllowPrivilegeEscalation != nil && !*cs.AllowPrivilegeEscalation {
			host.SecurityOpt = append(host.SecurityOpt, "no-new-privileges")
		}
		if cs.ProcMount != nil && *cs.ProcMount == corev1.UnmaskedProcMount {
			// Non-nil empty lists replace Docker's defaults; nil would keep them.
			host.MaskedPaths, host.ReadonlyPaths = []string{}, []string{}
		}
	}

	// seccomp: unset or RuntimeDefault keeps Docker's default profile. The kubelet's own default
	// is Unconfined unless --seccomp-default; k2d shares its host with other workloads, so it
	// keeps the safer runtime default, and a pod that needs more asks for Unconfined.
	if e.seccomp != nil && e.seccomp.Type == corev1.SeccompProfileTypeUnconfined {
		host.SecurityOpt = append(host.SecurityOpt, "seccomp=unconfined")
	}
	if e.appArmor != nil {
		switch e.appArmor.Type {
		case corev1.AppArmorProfileTypeUnconfined:
			host.SecurityOpt = append(host.SecurityOpt, "apparmor=unconfined")
		case corev1.AppArmorProfileTypeLocalhost:
			if e.appArmor.LocalhostProfile != nil && *e.appArmor.LocalhostProfile != "" {
				// A profile loaded on the host, referenced by name, as Docker expects it.
				host.SecurityOpt = append(host.SecurityOpt, "apparmor="+*e.appArmor.LocalhostProfile)
			}
		}
	}
	if se := e.seLinux; se != nil {
		for _, kv := range [...][2]string{{"user", se.User}, {"role", se.Role}, {"type", se.Type}, {"level", se.Level}} {
			if kv[1] != "" {
				host.SecurityOpt = append(host.SecurityOpt, "label="+kv[0]+":"+kv[1])
			}
		}
	}
}

// VerifyRunAsNonRoot applies runAsNonRoot as the kubelet does before starting a container.
// imageUser is the image's Config.User ("" means root). It returns an error wrapping
// ErrRunAsRoot when the container would run as uid 0, or when the user is a name whose uid
// cannot be checked without reading the image's /etc/passwd. The controller reports the error
// as CreateContainerConfigError.
func VerifyRunAsNonRoot(pod *corev1.Pod, c *corev1.Container, imageUser string) error {
	e := effective(pod, c)
	if e.runAsNonRoot == nil || !*e.runAsNonRoot {
		return nil
	}
	if e.runAsUser != nil {
		if *e.runAsUser == 0 {
			return fmt.Errorf("container %q: runAsUser 0 breaks runAsNonRoot: %w", c.Name, ErrRunAsRoot)
		}
		return nil
	}
	user, _, _ := strings.Cut(imageUser, ":")
	if user == "" {
		return fmt.Errorf("container %q has runAsNonRoot and the image runs as root: %w", c.Name, ErrRunAsRoot)
	}
	uid, err := strconv.ParseInt(user, 10, 64)
	if err != nil {
		return fmt.Errorf("container %q has runAsNonRoot and the image has non-numeric user %q: %w", c.Name, user, ErrRunAsRoot)
	}
	if uid == 0 {
		return fmt.Errorf("container %q has runAsNonRoot and the image runs as root: %w", c.Name, ErrRunAsRoot)
	}
	return nil
}
