package reconcile

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/docker/docker/api/types/image"
	corev1 "k8s.io/api/core/v1"
)

// imageResult is the outcome of ensureImage: the image, or the waiting reason and message
// the container shows while it cannot have it.
type imageResult struct {
	img     image.InspectResponse
	reason  string // translate.ReasonErrImagePull, ...; "" when the image is there
	message string
	retry   time.Duration // when to try again; 0: wait for an event
}

// pullCall is one image pull in flight; pods that need the same image wait for it.
type pullCall struct {
	done chan struct{}
	err  error
}

// ensureImage makes the container's image available per its imagePullPolicy, as the
// kubelet's image manager does: Never only looks, IfNotPresent pulls when absent, Always
// pulls. Failures back off per pod and image (10 s doubling to 5 min).
func (c *Controller) ensureImage(ctx context.Context, pod *corev1.Pod, ctr *corev1.Container, init bool) imageResult {
	ref := podRef(pod, ctr.Name, init)
	img, err := c.d.ImageInspect(ctx, ctr.Image)
	present := err == nil
	if err != nil && !isNotFound(err) {
		msg := fmt.Sprintf("Failed to inspect image %q: %v", ctr.Image, err)
		c.rec.Event(ref, corev1.EventTypeWarning, "InspectFailed", msg)
		return imageResult{reason: "ImageInspectError", message: msg, retry: backoffInitial}
	}
	policy := ctr.ImagePullPolicy
	if policy == "" {
		policy = defaultPullPolicy(ctr.Image)
	}
	pull := policy == corev1.PullAlways || (policy == corev1.PullIfNotPresent && !present)
	if !pull {
		if present {
			c.rec.Eventf(ref, corev1.EventTypeNormal, ReasonPulled, "Container image %q already present on machine", ctr.Image)
			return imageResult{img: img}
		}
		msg := fmt.Sprintf("Container image %q is not present with pull policy of Never", ctr.Image)
		c.rec.Event(ref, corev1.EventTypeWarning, ReasonErrImageNeverPull, msg)
		c.rec.Event(ref, corev1.EventTypeWarning, ReasonFailed, "Error: ErrImageNeverPull")
		return imageResult{reason: "ErrImageNeverPull", message: msg}
	}
	key := string(pod.UID) + "/image/" + ctr.Image
	if wait, _ := c.inBackoffSinceUpdate(key); wait > 0 {
		msg := fmt.Sprintf("Back-off pulling image %q", ctr.Image)
		c.rec.Event(ref, corev1.EventTypeNormal, ReasonBackOff, msg)
		c.rec.Event(ref, corev1.EventTypeWarning, ReasonFailed, "Error: ImagePullBackOff")
		return imageResult{reason: "ImagePullBackOff", message: msg, retry: wait}
	}
	c.rec.Eventf(ref, corev1.EventTypeNormal, ReasonPulling, "Pulling image %q", ctr.Image)
	start := c.now()
	auth := c.pullAuth(pod, ctr.Image)
	err = c.pull(ctx, ctr.Image, auth)
	if err == nil {
		img, err = c.d.ImageInspect(ctx, ctr.Image)
	}
	if err != nil {
		d := c.nextBackoff(key, c.now())
		c.rec.Eventf(ref, corev1.EventTypeWarning, ReasonFailed, "Failed to pull image %q: %v", ctr.Image, err)
		c.rec.Event(ref, corev1.EventTypeWarning, ReasonFailed, "Error: ErrImagePull")
		// Half-way through the back-off the container shows ImagePullBackOff, as on a
		// kubelet, whose next sync comes well before the back-off ends.
		return imageResult{reason: "ErrImagePull", message: err.Error(), retry: d / 2}
	}
	took := c.now().Sub(start).Round(time.Millisecond)
	c.rec.Eventf(ref, corev1.EventTypeNormal, ReasonPulled, "Successfully pulled image %q in %v (%v including waiting). Image size: %d bytes.",
		ctr.Image, took, took, img.Size)
	return imageResult{img: img}
}

// inBackoffSinceUpdate is the image manager's check: the back-off runs from the last failure.
func (c *Controller) inBackoffSinceUpdate(key string) (wait, cur time.Duration) {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.backoff[key]
	if !ok || backoffExpired(now, e.last) {
		return 0, 0
	}
	if el := now.Sub(e.last); el < e.d {
		return e.d - el, e.d
	}
	return 0, e.d
}

// pull pulls ref once for every pod that needs it at the same time. The wait does not hold a
// worker slot: a pull on a slow link may take minutes.
func (c *Controller) pull(ctx context.Context, ref, auth string) error {
	c.mu.Lock()
	call, inFlight := c.pulls[ref]
	if !inFlight {
		call = &pullCall{done: make(chan struct{})}
		c.pulls[ref] = call
	}
	c.mu.Unlock()
	if inFlight {
		idle(ctx, func() {
			select {
			case <-call.done:
			case <-ctx.Done():
			}
		})
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return call.err
	}
	idle(ctx, func() { call.err = c.d.ImagePull(ctx, ref, auth, nil) })
	c.mu.Lock()
	delete(c.pulls, ref)
	c.mu.Unlock()
	close(call.done)
	return call.err
}

// defaultPullPolicy is the API server's default: Always for :latest or no tag, else
// IfNotPresent. The API defaults it on create; this covers objects that skipped defaulting.
func defaultPullPolicy(ref string) corev1.PullPolicy {
	if strings.Contains(ref, "@") {
		return corev1.PullIfNotPresent
	}
	slash := strings.LastIndexByte(ref, '/')
	i := strings.LastIndexByte(ref, ':')
	if i <= slash || ref[i+1:] == "latest" {
		return corev1.PullAlways
	}
	return corev1.PullIfNotPresent
}

// registryHost returns the registry an image reference pulls from, as Docker reads it.
func registryHost(ref string) string {
	first, _, found := strings.Cut(ref, "/")
	if !found || (!strings.ContainsAny(first, ".:") && first != "localhost") {
		return "docker.io"
	}
	return first
}

// normalizeRegistry reduces a docker config key ("https://index.docker.io/v1/") to a host.
func normalizeRegistry(key string) string {
	key = strings.TrimPrefix(strings.TrimPrefix(key, "https://"), "http://")
	key, _, _ = strings.Cut(key, "/")
	switch key {
	case "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com":
		return "docker.io"
	}
	return key
}

// dockerConfig is the content of a kubernetes.io/dockerconfigjson Secret (.dockercfg has the
// auths map at the top level).
type dockerConfig struct {
	Auths map[string]dockerAuth `json:"auths"`
}

type dockerAuth struct {
	Username      string `json:"username,omitempty"`
	Password      string `json:"password,omitempty"`
	Auth          string `json:"auth,omitempty"`
	IdentityToken string `json:"identitytoken,omitempty"`
	RegistryToken string `json:"registrytoken,omitempty"`
}

// pullAuth returns the X-Registry-Auth header for ref from the pod's imagePullSecrets, or ""
// when none applies. Secrets are read from the cache only when k2d serves them.
func (c *Controller) pullAuth(pod *corev1.Pod, ref string) string {
	host := registryHost(ref)
	for _, ps := range pod.Spec.ImagePullSecrets {
		e, ok := c.c.Get(resSecrets, pod.Namespace, ps.Name)
		if !ok {
			continue
		}
		sec, ok := e.Obj.(*corev1.Secret)
		if !ok {
			continue
		}
		auths := map[string]dockerAuth{}
		if b := sec.Data[corev1.DockerConfigJsonKey]; len(b) > 0 {
			var cfg dockerConfig
			if json.Unmarshal(b, &cfg) == nil {
				auths = cfg.Auths
			}
		} else if b := sec.Data[corev1.DockerConfigKey]; len(b) > 0 {
			_ = json.Unmarshal(b, &auths)
		}
		for k, a := range auths {
			if normalizeRegistry(k) != host {
				continue
			}
			if a.Auth != "" && a.Username == "" {
				if raw, err := base64.StdEncoding.DecodeString(a.Auth); err == nil {
					a.Username, a.Password, _ = strings.Cut(string(raw), ":")
				}
			}
			b, _ := json.Marshal(struct {
				Username      string `json:"username,omitempty"`
				Password      string `json:"password,omitempty"`
				IdentityToken string `json:"identitytoken,omitempty"`
				RegistryToken string `json:"registrytoken,omitempty"`
				ServerAddress string `json:"serveraddress,omitempty"`
			}{a.Username, a.Password, a.IdentityToken, a.RegistryToken, k})
			return base64.URLEncoding.EncodeToString(b)
		}
	}
	return ""
}
