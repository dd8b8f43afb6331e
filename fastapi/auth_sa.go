package fastapi

// This file: service account tokens. k2d signs bound tokens (JWT, ES256) for the pods'
// kube-api-access volumes, and a request with such a token authenticates as the service
// account. k2d has no RBAC: a service account may do what every authenticated user may do on
// a cluster with default roles (discovery, /version, /openapi, self reviews) and nothing else.
// The admin token is never mounted anywhere.

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/k2d-project/k2d/codec"
	"github.com/k2d-project/k2d/reconcile"
	"github.com/valyala/fasthttp"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TokenIssuer is the iss claim of service account tokens and their default audience: the API
// server's address inside the cluster, as kubeadm sets both.
const TokenIssuer = "https://kubernetes.default.svc.cluster.local"

const (
	// saKeyFile holds the signing key under the pki directory.
	saKeyFile = "sa.key"
	// tokenLeeway is the clock skew allowed on exp and nbf, as the API server allows.
	tokenLeeway = time.Minute
	// maxTokenBytes bounds what is parsed; bound tokens are about 1 KiB.
	maxTokenBytes = 8 << 10
	// verifiedMax bounds the cache of verified tokens (one per pod volume in practice).
	verifiedMax = 256
	// saUserPrefix starts the user name of a service account.
	saUserPrefix = "system:serviceaccount:"
)

// ServiceAccountTokens issues and verifies service account tokens.
type ServiceAccountTokens struct {
	key *ecdsa.PrivateKey
	kid string
	now func() time.Time

	mu       sync.Mutex
	verified map[string]*tokenClaims // signature checked; bindings are checked at each use
}

// LoadOrCreateServiceAccountKey loads the ECDSA P-256 signing key kept in dir (the pki
// directory), making it on first use.
func LoadOrCreateServiceAccountKey(dir string) (*ServiceAccountTokens, error) {
	p := filepath.Join(dir, saKeyFile)
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		b, err = createSAKey(dir, p)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot load the service account key: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "EC PRIVATE KEY" {
		return nil, fmt.Errorf("service account key %s: no EC PRIVATE KEY block", p)
	}
	key, err := x509.ParseECPrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("service account key %s: %w", p, err)
	}
	return newServiceAccountTokens(key)
}

func createSAKey(dir, p string) ([]byte, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	b := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return os.ReadFile(p) // made by a concurrent start
	}
	if err != nil {
		return nil, err
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(p)
		return nil, err
	}
	return b, nil
}

func newServiceAccountTokens(key *ecdsa.PrivateKey) (*ServiceAccountTokens, error) {
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(der)
	return &ServiceAccountTokens{
		key: key, kid: base64.RawURLEncoding.EncodeToString(sum[:]), now: time.Now,
		verified: map[string]*tokenClaims{},
	}, nil
}

// tokenClaims are the claims of a bound service account token, as the API server writes them.
type tokenClaims struct {
	Issuer     string      `json:"iss"`
	Subject    string      `json:"sub"`
	Audience   []string    `json:"aud"`
	Expiry     int64       `json:"exp"`
	NotBefore  int64       `json:"nbf"`
	IssuedAt   int64       `json:"iat"`
	ID         string      `json:"jti,omitempty"`
	Kubernetes *kubeClaims `json:"kubernetes.io,omitempty"`
}

type kubeClaims struct {
	Namespace      string    `json:"namespace"`
	Node           *claimRef `json:"node,omitempty"`
	Pod            *claimRef `json:"pod,omitempty"`
	ServiceAccount claimRef  `json:"serviceaccount"`
}

type claimRef struct {
	Name string `json:"name"`
	UID  string `json:"uid,omitempty"`
}

var jwtHeaderPrefix = []byte(`{"alg":"ES256",`)

// Issue signs a token for req (reconcile.Options.IssueToken).
func (t *ServiceAccountTokens) Issue(req reconcile.TokenRequest) (string, time.Time, error) {
	if req.Namespace == "" || req.ServiceAccount == "" {
		return "", time.Time{}, errors.New("a token needs a namespace and a service account")
	}
	now := t.now().Truncate(time.Second)
	ttl := time.Duration(req.ExpirationSeconds) * time.Second
	if ttl <= 0 {
		ttl = time.Hour
	}
	exp := now.Add(ttl)
	aud := req.Audiences
	if len(aud) == 0 {
		aud = []string{TokenIssuer}
	}
	var jti [16]byte
	_, _ = rand.Read(jti[:])
	c := tokenClaims{
		Issuer: TokenIssuer, Subject: saUserPrefix + req.Namespace + ":" + req.ServiceAccount, Audience: aud,
		Expiry: exp.Unix(), NotBefore: now.Unix(), IssuedAt: now.Unix(),
		ID: fmt.Sprintf("%x-%x-%x-%x-%x", jti[0:4], jti[4:6], jti[6:8], jti[8:10], jti[10:]),
		Kubernetes: &kubeClaims{
			Namespace:      req.Namespace,
			ServiceAccount: claimRef{Name: req.ServiceAccount, UID: req.ServiceAccountUID},
		},
	}
	if req.PodName != "" {
		c.Kubernetes.Pod = &claimRef{Name: req.PodName, UID: req.PodUID}
	}
	if req.NodeName != "" {
		c.Kubernetes.Node = &claimRef{Name: req.NodeName}
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return "", time.Time{}, err
	}
	header, _ := json.Marshal(map[string]string{"alg": "ES256", "kid": t.kid})
	signing := base64.RawURLEncoding.EncodeToString(header) + "." + base64.RawURLEncoding.EncodeToString(payload)
	sum := sha256.Sum256([]byte(signing))
	r, s, err := ecdsa.Sign(rand.Reader, t.key, sum[:])
	if err != nil {
		return "", time.Time{}, fmt.Errorf("cannot sign token: %w", err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig), exp, nil
}

// verify checks a token's signature and claims (not yet its bindings) and returns them.
func (t *ServiceAccountTokens) verify(token string) (*tokenClaims, bool) {
	if len(token) > maxTokenBytes || strings.Count(token, ".") != 2 {
		return nil, false
	}
	t.mu.Lock()
	c := t.verified[token]
	t.mu.Unlock()
	if c == nil {
		var ok bool
		if c, ok = t.parse(token); !ok {
			return nil, false
		}
		t.mu.Lock()
		if len(t.verified) >= verifiedMax {
			clear(t.verified) // tokens are re-verified on their next use
		}
		t.verified[token] = c
		t.mu.Unlock()
	}
	now := t.now()
	if now.After(time.Unix(c.Expiry, 0).Add(tokenLeeway)) || now.Before(time.Unix(c.NotBefore, 0).Add(-tokenLeeway)) {
		return nil, false
	}
	return c, true
}

func (t *ServiceAccountTokens) parse(token string) (*tokenClaims, bool) {
	h, rest, _ := strings.Cut(token, ".")
	p, s, _ := strings.Cut(rest, ".")
	header, err1 := base64.RawURLEncoding.DecodeString(h)
	payload, err2 := base64.RawURLEncoding.DecodeString(p)
	sig, err3 := base64.RawURLEncoding.DecodeString(s)
	if err1 != nil || err2 != nil || err3 != nil || len(sig) != 64 {
		return nil, false
	}
	var hdr struct{ Alg, Kid string }
	if !bytes.HasPrefix(header, jwtHeaderPrefix) || json.Unmarshal(header, &hdr) != nil || hdr.Alg != "ES256" || hdr.Kid != t.kid {
		return nil, false
	}
	sum := sha256.Sum256([]byte(token[:len(h)+1+len(p)]))
	if !ecdsa.Verify(&t.key.PublicKey, sum[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		return nil, false
	}
	var c tokenClaims
	if json.Unmarshal(payload, &c) != nil || c.Issuer != TokenIssuer || c.Kubernetes == nil {
		return nil, false
	}
	k := c.Kubernetes
	if c.Subject != saUserPrefix+k.Namespace+":"+k.ServiceAccount.Name {
		return nil, false
	}
	for _, a := range c.Audience {
		if a == TokenIssuer {
			return &c, true
		}
	}
	return nil, false // meant for another audience (a projected token for Vault, say)
}

// Authenticator returns fastapi.Config.Authenticate: a valid token authenticates as its
// service account while the service account, and the pod it is bound to, still exist with
// the uids it names (a token outlives neither, as on a cluster).
func (t *ServiceAccountTokens) Authenticator(store Store) func(token string) (string, bool) {
	return func(token string) (string, bool) {
		c, ok := t.verify(token)
		if !ok {
			return "", false
		}
		k := c.Kubernetes
		e, ok := store.Get("serviceaccounts", k.Namespace, k.ServiceAccount.Name)
		if !ok || (k.ServiceAccount.UID != "" && string(e.Meta().GetUID()) != k.ServiceAccount.UID) {
			return "", false
		}
		if k.Pod != nil {
			e, ok := store.Get("pods", k.Namespace, k.Pod.Name)
			if !ok || string(e.Meta().GetUID()) != k.Pod.UID {
				return "", false
			}
		}
		return c.Subject, true
	}
}

// ---- requests of service accounts ----

// authenticateToken resolves a bearer token other than the admin's through Config.Authenticate.
func (s *Server) authenticateToken(ctx *fasthttp.RequestCtx) (string, bool) {
	if s.cfg.Authenticate == nil {
		return "", false
	}
	h := ctx.Request.Header.Peek("Authorization")
	const prefix = "Bearer "
	if len(h) <= len(prefix) || !strings.EqualFold(string(h[:len(prefix)]), prefix) {
		return "", false
	}
	return s.cfg.Authenticate(strings.TrimSpace(string(h[len(prefix):])))
}

// publicPaths are the non-resource URLs every authenticated user may get, by the default
// cluster role that grants them.
var publicPaths = []struct{ path, role string }{
	{"/api", "system:discovery"}, {"/api/*", "system:discovery"},
	{"/apis", "system:discovery"}, {"/apis/*", "system:discovery"},
	{"/healthz", "system:public-info-viewer"}, {"/livez", "system:public-info-viewer"},
	{"/openapi", "system:discovery"}, {"/openapi/*", "system:discovery"},
	{"/readyz", "system:public-info-viewer"},
	{"/version", "system:public-info-viewer"}, {"/version/", "system:public-info-viewer"},
}

// publicRole returns the role that lets any user get path, or "".
func publicRole(path string) string {
	for _, p := range publicPaths {
		if pre, ok := strings.CutSuffix(p.path, "*"); ok && strings.HasPrefix(path, pre) || path == p.path {
			return p.role
		}
	}
	return ""
}

// isSelfReview reports the resources every authenticated user may create.
func isSelfReview(group, resource string) bool {
	return group == "authorization.k8s.io" && (resource == "selfsubjectaccessreviews" || resource == "selfsubjectrulesreviews")
}

// serveServiceAccount answers a request authenticated as a service account: discovery,
// OpenAPI and self reviews are served, everything else is forbidden with the API server's
// message.
func (s *Server) serveServiceAccount(ctx *fasthttp.RequestCtx, path, user string) {
	method := string(ctx.Method())
	switch {
	case path == "/api" || path == "/api/":
		s.serveCoreGroup(ctx)
		return
	case path == "/apis" || path == "/apis/":
		s.serveGroups(ctx)
		return
	case strings.HasPrefix(path, "/openapi/"):
		s.serveOpenAPI(ctx, path)
		return
	}
	rp, ok := parseResourcePath(path)
	if !ok {
		if method == "GET" && publicRole(path) != "" {
			if !s.serveGroupVersion(ctx, path) {
				writeError(ctx, errPathNotFound(path))
			}
			return
		}
		writeError(ctx, forbiddenPath(user, strings.ToLower(method), path))
		return
	}
	if rp.kind != nil && rp.kind.Review && method == "POST" && rp.name == "" && isSelfReview(rp.group, rp.resource) {
		s.reviewServiceAccount(ctx, rp)
		return
	}
	writeError(ctx, forbiddenResource(user, requestVerb(ctx, method, rp), rp))
}

// requestVerb is the authorization verb of a resource request.
func requestVerb(ctx *fasthttp.RequestCtx, method string, rp resourcePath) string {
	switch method {
	case "GET", "HEAD":
		if rp.name != "" {
			return "get"
		}
		if w := string(ctx.QueryArgs().Peek("watch")); w == "true" || w == "1" {
			return "watch"
		}
		return "list"
	case "POST":
		return "create"
	case "PUT":
		return "update"
	case "PATCH":
		return "patch"
	case "DELETE":
		if rp.name != "" {
			return "delete"
		}
		return "deletecollection"
	}
	return strings.ToLower(method)
}

// forbiddenResource is the authorizer's refusal of a resource request (NewForbidden with the
// message of responsewriters.Forbidden).
func forbiddenResource(user, verb string, rp resourcePath) *apiError {
	res := rp.resource
	if rp.sub != "" {
		res += "/" + rp.sub
	}
	reason := fmt.Sprintf("User %q cannot %s resource %q in API group %q", user, verb, res, rp.group)
	if rp.namespace != "" {
		reason += fmt.Sprintf(" in the namespace %q", rp.namespace)
	} else {
		reason += " at the cluster scope"
	}
	qualified := rp.resource
	if rp.group != "" {
		qualified += "." + rp.group
	}
	msg := qualified + " is forbidden: " + reason
	if rp.name != "" {
		msg = fmt.Sprintf("%s %q is forbidden: %s", qualified, rp.name, reason)
	}
	return withDetails(newStatus(403, metav1.StatusReasonForbidden, msg), rp.group, rp.resource, rp.name)
}

// forbiddenPath refuses a non-resource request.
func forbiddenPath(user, verb, path string) *apiError {
	e := newStatus(403, metav1.StatusReasonForbidden, fmt.Sprintf("forbidden: User %q cannot %s path %q", user, verb, path))
	e.status.Details = &metav1.StatusDetails{}
	return e
}

// reviewServiceAccount answers a service account's SelfSubjectAccessReview and
// SelfSubjectRulesReview with what the default cluster roles grant it.
func (s *Server) reviewServiceAccount(ctx *fasthttp.RequestCtx, rp resourcePath) {
	obj, _, aerr := readObject(ctx, rp.kind)
	if aerr != nil {
		writeError(ctx, aerr)
		return
	}
	switch r := obj.(type) {
	case *authorizationv1.SelfSubjectAccessReview:
		r.Status = authorizationv1.SubjectAccessReviewStatus{}
		if ra := r.Spec.ResourceAttributes; ra != nil && ra.Verb == "create" && ra.Subresource == "" && isSelfReview(ra.Group, ra.Resource) {
			r.Status.Allowed = true
			r.Status.Reason = `RBAC: allowed by ClusterRoleBinding "system:basic-user" of ClusterRole "system:basic-user" to Group "system:authenticated"`
		}
		if na := r.Spec.NonResourceAttributes; na != nil && na.Verb == "get" {
			if role := publicRole(na.Path); role != "" {
				r.Status.Allowed = true
				r.Status.Reason = fmt.Sprintf(`RBAC: allowed by ClusterRoleBinding %q of ClusterRole %q to Group "system:authenticated"`, role, role)
			}
		}
	case *authorizationv1.SelfSubjectRulesReview:
		urls := make([]string, len(publicPaths))
		for i, p := range publicPaths {
			urls[i] = p.path
		}
		r.Status = authorizationv1.SubjectRulesReviewStatus{
			ResourceRules: []authorizationv1.ResourceRule{{
				Verbs: []string{"create"}, APIGroups: []string{"authorization.k8s.io"},
				Resources: []string{"selfsubjectaccessreviews", "selfsubjectrulesreviews"},
			}},
			NonResourceRules: []authorizationv1.NonResourceRule{{Verbs: []string{"get"}, NonResourceURLs: urls}},
		}
	}
	b, err := codec.EncodeObject(rp.kind, obj)
	if err != nil {
		writeError(ctx, errInternal(err))
		return
	}
	writeJSON(ctx, 201, mimeJSON, b)
}

// ---- pods ----

// serviceAccountOf returns the ServiceAccount a new pod runs as. The default one is made if it
// is missing (the service account controller makes it for every namespace within
// milliseconds; a pod created right after its namespace must not fail meanwhile, and the API
// server's plugin waits for it for the same reason). A dry run changes nothing.
func (s *Server) serviceAccountOf(ns, name string, dryRun bool) (*corev1.ServiceAccount, bool) {
	if e, ok := s.cfg.Store.Get("serviceaccounts", ns, name); ok {
		sa, _ := e.Obj.(*corev1.ServiceAccount)
		return sa, true
	}
	if name != codec.DefaultServiceAccountName {
		return nil, false
	}
	if dryRun {
		return nil, true
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
	if e, err := s.cfg.Store.Create(kindServiceAccount, sa); err == nil {
		return e.Obj.(*corev1.ServiceAccount), true
	}
	if e, ok := s.cfg.Store.Get("serviceaccounts", ns, name); ok {
		sa, _ := e.Obj.(*corev1.ServiceAccount)
		return sa, true
	}
	return nil, false
}

var kindServiceAccount = codec.KindFor("", "v1", "serviceaccounts")
