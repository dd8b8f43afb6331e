package reconcile

// This file: ServiceAccounts. Every namespace gets a `default` ServiceAccount (re-created if
// deleted, as kube-controller-manager's service account controller does) and a
// `kube-root-ca.crt` ConfigMap holding the CA of k2d's API (put back if edited or deleted, as
// the root CA publisher does). Pods mount bound service account tokens, which k2d issues and
// refreshes before they expire, only while the pod runs: one timer per pod with a token, none
// when no pod runs.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/k2d-project/k2d/cache"
	"github.com/k2d-project/k2d/codec"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

var (
	kindServiceAccount = codec.KindFor("", "v1", "serviceaccounts")
	kindConfigMap      = codec.KindFor("", "v1", "configmaps")
	resServiceAccounts = kindServiceAccount.GroupResource()
)

// The root CA publisher's annotation on kube-root-ca.crt.
const (
	rootCAConfigMap      = codec.RootCAConfigMap
	descriptionKey       = "kubernetes.io/description"
	rootCADescription    = "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters."
	tokenMaxRefreshDelay = 24 * time.Hour
)

// TokenRequest asks for a service account token bound to a pod (Options.IssueToken).
type TokenRequest struct {
	Namespace         string
	ServiceAccount    string
	ServiceAccountUID string
	PodName           string
	PodUID            string
	NodeName          string
	// Audiences are the token's audiences; empty means the API server's own.
	Audiences         []string
	ExpirationSeconds int64
}

// issuedToken is a token written into a pod's volume.
type issuedToken struct {
	token   []byte
	expires time.Time
	refresh time.Time // when a new one is due: 80 % of its life, at most a day
}

// syncServiceAccounts makes sure namespace ns has its default ServiceAccount and its
// kube-root-ca.crt ConfigMap.
func (c *Controller) syncServiceAccounts(ctx context.Context, ns string) {
	if !c.inScope(ns) {
		return
	}
	e, ok := c.c.Get(resNS, "", ns)
	if !ok {
		return
	}
	if n := e.Obj.(*corev1.Namespace); n.DeletionTimestamp != nil || n.Status.Phase == corev1.NamespaceTerminating {
		return // being emptied: nothing may be added
	}
	var errs []error
	if _, ok := c.c.Get(resServiceAccounts, ns, codec.DefaultServiceAccountName); !ok {
		sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: codec.DefaultServiceAccountName, Namespace: ns}}
		if _, err := c.c.Create(kindServiceAccount, sa); err != nil && !isAlreadyExists(err) {
			errs = append(errs, fmt.Errorf("cannot create service account %s/default: %w", ns, err))
		}
	}
	if len(c.o.CACert) > 0 {
		errs = append(errs, c.publishRootCA(ns))
	}
	if err := errors.Join(errs...); err != nil {
		c.log.Warn("cannot set up namespace service accounts", "namespace", ns, "err", err)
		c.cfg.sas.AddAfter(ns, 10*time.Second)
	}
}

func isAlreadyExists(err error) bool {
	var ae *cache.AlreadyExistsError
	return errors.As(err, &ae)
}

// publishRootCA creates kube-root-ca.crt in ns, or puts its content back.
func (c *Controller) publishRootCA(ns string) error {
	want := string(c.o.CACert)
	e, ok := c.c.Get(resConfigMap, ns, rootCAConfigMap)
	if !ok {
		cm := &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: rootCAConfigMap, Namespace: ns, Annotations: map[string]string{descriptionKey: rootCADescription}},
			Data:       map[string]string{"ca.crt": want},
		}
		if _, err := c.c.Create(kindConfigMap, cm); err != nil && !isAlreadyExists(err) {
			return fmt.Errorf("cannot create configmap %s/%s: %w", ns, rootCAConfigMap, err)
		}
		return nil
	}
	if cm := e.Obj.(*corev1.ConfigMap); rootCAIntact(cm, want) {
		return nil
	}
	_, err := c.c.Mutate(kindConfigMap, ns, rootCAConfigMap, func(obj runtime.Object) (bool, error) {
		cm := obj.(*corev1.ConfigMap)
		if rootCAIntact(cm, want) {
			return false, nil
		}
		cm.Data = map[string]string{"ca.crt": want}
		cm.BinaryData = nil
		if cm.Annotations == nil {
			cm.Annotations = map[string]string{}
		}
		cm.Annotations[descriptionKey] = rootCADescription
		return true, nil
	})
	var nf *cache.NotFoundError
	if err != nil && !errors.As(err, &nf) {
		return fmt.Errorf("cannot update configmap %s/%s: %w", ns, rootCAConfigMap, err)
	}
	return nil
}

func rootCAIntact(cm *corev1.ConfigMap, want string) bool {
	return len(cm.Data) == 1 && cm.Data["ca.crt"] == want && len(cm.BinaryData) == 0 && cm.Annotations[descriptionKey] == rootCADescription
}

// onServiceAccountChange re-creates a deleted default ServiceAccount and wakes the pods that
// wait for a ServiceAccount's token. It runs with the cache lock held.
func (c *Controller) onServiceAccountChange(ev cache.Event) {
	m := ev.Entry.Meta()
	ns := m.GetNamespace()
	switch ev.Type {
	case cache.Deleted:
		if m.GetName() == codec.DefaultServiceAccountName {
			c.cfg.mu.Lock()
			sas := c.cfg.sas
			c.cfg.mu.Unlock()
			if sas != nil {
				sas.Add(ns)
			}
		}
	case cache.Added:
		c.mu.Lock()
		var keys []string
		for k := range c.waitCfg {
			if nsOf(k) == ns {
				keys = append(keys, k)
			}
		}
		c.mu.Unlock()
		for _, k := range keys {
			c.pods.Add(k)
		}
	}
}

// admitServiceAccount is the ServiceAccount admission for the pods controllers create: it
// reads the pod's ServiceAccount, if it exists, so that its automountServiceAccountToken and
// imagePullSecrets apply. It must not be called with the cache lock held.
func (c *Controller) admitServiceAccount(pod *corev1.Pod) {
	name := pod.Spec.ServiceAccountName
	if name == "" {
		name = pod.Spec.DeprecatedServiceAccount
	}
	if name == "" {
		name = codec.DefaultServiceAccountName
	}
	var sa *corev1.ServiceAccount
	if e, ok := c.c.Get(resServiceAccounts, pod.Namespace, name); ok {
		sa, _ = e.Obj.(*corev1.ServiceAccount)
	}
	codec.AdmitPodServiceAccount(pod, sa)
}

// podToken returns the token of a projection in a pod's volume: the one written before while
// it is fresh, else a new one. ok is false when k2d issues no tokens. pf.mu is held.
func (c *Controller) podToken(pod *corev1.Pod, pf *podFiles, volume string, p *corev1.ServiceAccountTokenProjection) ([]byte, bool, error) {
	if c.o.IssueToken == nil {
		return nil, false, nil
	}
	key := volume + "/" + p.Path
	now := c.now()
	old := pf.tokens[key]
	if old != nil && now.Before(old.refresh) {
		return old.token, true, nil
	}
	name := pod.Spec.ServiceAccountName
	if name == "" {
		name = codec.DefaultServiceAccountName
	}
	fail := func(err error) ([]byte, bool, error) {
		if old != nil && now.Before(old.expires) {
			// As the kubelet's token manager: a token still valid is better than none.
			c.log.Warn("cannot refresh service account token", "pod", pf.key, "err", err)
			return old.token, true, nil
		}
		return nil, false, err
	}
	e, ok := c.c.Get(resServiceAccounts, pod.Namespace, name)
	if !ok {
		return fail(missingf("failed to fetch token: serviceaccounts %q not found", name))
	}
	exp := int64(3600)
	if p.ExpirationSeconds != nil {
		exp = *p.ExpirationSeconds
	}
	req := TokenRequest{
		Namespace: pod.Namespace, ServiceAccount: name, ServiceAccountUID: string(e.Meta().GetUID()),
		PodName: pod.Name, PodUID: string(pod.UID), NodeName: c.NodeName(), ExpirationSeconds: exp,
	}
	if p.Audience != "" {
		req.Audiences = []string{p.Audience}
	}
	tok, expires, err := c.o.IssueToken(req)
	if err != nil {
		return fail(fmt.Errorf("failed to fetch token: %w", err))
	}
	refresh := expires.Add(-expires.Sub(now) / 5)
	if limit := now.Add(tokenMaxRefreshDelay); refresh.After(limit) {
		refresh = limit
	}
	t := &issuedToken{token: []byte(tok), expires: expires, refresh: refresh}
	pf.tokens[key] = t
	return t.token, true, nil
}

// scheduleRefresh arms the pod's timer for its next token refresh, or disarms it when the pod
// has no token. pf.mu is held.
func (c *Controller) scheduleRefresh(pf *podFiles) {
	var next time.Time
	for _, t := range pf.tokens {
		if next.IsZero() || t.refresh.Before(next) {
			next = t.refresh
		}
	}
	if pf.timer != nil {
		pf.timer.Stop()
		pf.timer = nil
	}
	if next.IsZero() || pf.gone || c.ctx.Err() != nil {
		return
	}
	key := pf.key
	pf.timer = time.AfterFunc(max(next.Sub(c.now()), 0)+10*time.Millisecond, func() {
		c.cfg.mu.Lock()
		files := c.cfg.files
		c.cfg.mu.Unlock()
		if files != nil {
			files.Add(key)
		}
	})
}
