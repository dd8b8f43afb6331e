package fastapi

import (
	"bytes"
	"fmt"
	"strconv"
	"time"

	"github.com/k2d-project/k2d/cache"
	"github.com/k2d-project/k2d/codec"
	"github.com/valyala/fasthttp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// parseDeleteOptions reads DeleteOptions from the body (kubectl sends one) and the query.
func parseDeleteOptions(ctx *fasthttp.RequestCtx) (*metav1.DeleteOptions, *apiError) {
	opts := &metav1.DeleteOptions{}
	if body := ctx.PostBody(); len(body) > 0 {
		if bytes.HasPrefix(ctx.Request.Header.ContentType(), []byte(codec.MimeProtobuf)) {
			if err := codec.DecodeProtobufInto(body, opts); err != nil {
				return nil, errBadRequest(err.Error())
			}
		} else if err := codec.Unmarshal(body, opts); err != nil {
			return nil, errBadRequest(decodeMessage(err))
		}
	}
	q := ctx.QueryArgs()
	if v := q.Peek("gracePeriodSeconds"); len(v) > 0 {
		n, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil {
			return nil, errBadRequest("invalid gracePeriodSeconds: " + string(v))
		}
		opts.GracePeriodSeconds = &n
	}
	if v := q.Peek("propagationPolicy"); len(v) > 0 {
		p := metav1.DeletionPropagation(v)
		opts.PropagationPolicy = &p
	}
	for _, v := range q.PeekMulti("dryRun") {
		opts.DryRun = append(opts.DryRun, string(v))
	}
	for _, v := range opts.DryRun {
		if v != "All" {
			return nil, errBadRequest(fmt.Sprintf("Invalid dry run value: %q; the only valid value is All", v))
		}
	}
	if p := opts.PropagationPolicy; p != nil {
		switch *p {
		case metav1.DeletePropagationOrphan, metav1.DeletePropagationBackground, metav1.DeletePropagationForeground:
		default:
			return nil, errBadRequest(fmt.Sprintf("DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: Unsupported value: %q", *p))
		}
	}
	return opts, nil
}

// protectedNamespaces may not be deleted, as on Kubernetes.
var protectedNamespaces = map[string]bool{"default": true, "kube-system": true, "kube-public": true}

func (s *Server) delete(ctx *fasthttp.RequestCtx, rp resourcePath) {
	opts, aerr := parseDeleteOptions(ctx)
	if aerr != nil {
		writeError(ctx, aerr)
		return
	}
	b, aerr := s.deleteOne(rp.kind, rp.namespace, rp.name, opts)
	if aerr != nil {
		writeError(ctx, aerr)
		return
	}
	writeJSON(ctx, 200, mimeJSON, b)
}

// deleteOne deletes one object and returns what the API answers: the object, with
// deletionTimestamp set while its deletion is in progress.
func (s *Server) deleteOne(k *codec.Kind, ns, name string, opts *metav1.DeleteOptions) ([]byte, *apiError) {
	cur, ok := s.cfg.Store.Get(k.GroupResource(), ns, name)
	if !ok {
		return nil, errNotFound(k, name)
	}
	var precondRV, precondUID string
	if p := opts.Preconditions; p != nil {
		if p.ResourceVersion != nil {
			precondRV = *p.ResourceVersion
		}
		if p.UID != nil {
			precondUID = string(*p.UID)
		}
	}
	if precondRV != "" && precondRV != strconv.FormatUint(cur.RV, 10) {
		return nil, errConflict(k, name, fmt.Sprintf("Precondition failed: ResourceVersion in precondition: %s, ResourceVersion in object meta: %d", precondRV, cur.RV))
	}
	if precondUID != "" && precondUID != string(cur.Meta().GetUID()) {
		return nil, errConflict(k, name, fmt.Sprintf("Precondition failed: UID in precondition: %s, UID in object meta: %s", precondUID, cur.Meta().GetUID()))
	}
	if k.Group == "" && k.Resource == "namespaces" && protectedNamespaces[name] {
		return nil, errForbidden(k, name, "this namespace may not be deleted")
	}
	if len(opts.DryRun) > 0 {
		return cur.JSON, nil
	}
	graceful, grace := gracefulDeletion(k, cur, opts)
	if !graceful {
		e, err := s.cfg.Store.Delete(k, ns, name, precondRV, precondUID)
		if err != nil {
			return nil, toStatus(k, err)
		}
		return e.JSON, nil
	}
	e, err := s.cfg.Store.Mutate(k, ns, name, func(obj runtime.Object) (bool, error) {
		m := obj.(metav1.Object)
		if dt := m.GetDeletionTimestamp(); dt != nil {
			// Already being deleted: a shorter grace period may still speed it up.
			if g := m.GetDeletionGracePeriodSeconds(); g == nil || grace >= *g {
				return false, nil
			}
		}
		now := metav1.NewTime(time.Now().Add(time.Duration(grace) * time.Second))
		m.SetDeletionTimestamp(&now)
		m.SetDeletionGracePeriodSeconds(&grace)
		if n, ok := obj.(*corev1.Namespace); ok {
			n.Status.Phase = corev1.NamespaceTerminating
		}
		return true, nil
	})
	if err != nil {
		return nil, toStatus(k, err)
	}
	if e == nil {
		e, _ = s.cfg.Store.Get(k.GroupResource(), ns, name)
		if e == nil {
			return nil, errNotFound(k, name)
		}
	}
	return e.JSON, nil
}

// gracefulDeletion decides whether an object is marked for deletion (a controller or its
// finalizers finish the job) or removed at once, and with which grace period.
func gracefulDeletion(k *codec.Kind, cur *cache.Entry, opts *metav1.DeleteOptions) (bool, int64) {
	m := cur.Meta()
	switch {
	case k.Group == "" && k.Resource == "pods":
		pod := cur.Obj.(*corev1.Pod)
		grace := int64(corev1.DefaultTerminationGracePeriodSeconds)
		if pod.Spec.TerminationGracePeriodSeconds != nil {
			grace = *pod.Spec.TerminationGracePeriodSeconds
		}
		if opts.GracePeriodSeconds != nil {
			grace = *opts.GracePeriodSeconds
		}
		if grace < 0 {
			grace = 0
		}
		// A force delete (grace 0) removes the Pod at once; its containers are then removed.
		return grace > 0 || len(m.GetFinalizers()) > 0, grace
	case k.Group == "" && k.Resource == "namespaces":
		return true, 0
	default:
		return len(m.GetFinalizers()) > 0, 0
	}
}

// deleteCollection deletes every object that matches the list options.
func (s *Server) deleteCollection(ctx *fasthttp.RequestCtx, rp resourcePath) {
	k := rp.kind
	opts, aerr := parseDeleteOptions(ctx)
	if aerr != nil {
		writeError(ctx, aerr)
		return
	}
	lo, aerr := parseListOptions(ctx)
	if aerr != nil {
		writeError(ctx, aerr)
		return
	}
	all, rv := s.cfg.Store.List(k.GroupResource(), rp.namespace)
	b := []byte(`{"kind":"` + k.ListKind + `","apiVersion":"` + k.APIVersion() + `","metadata":{"resourceVersion":"` + strconv.FormatUint(rv, 10) + `"},"items":[`)
	n := 0
	for _, e := range all {
		if !lo.matches(e) {
			continue
		}
		m := e.Meta()
		out, aerr := s.deleteOne(k, m.GetNamespace(), m.GetName(), opts)
		if aerr != nil {
			if aerr.status.Code == 404 {
				continue
			}
			writeError(ctx, aerr)
			return
		}
		if n > 0 {
			b = append(b, ',')
		}
		b = append(b, out...)
		n++
	}
	writeJSON(ctx, 200, mimeJSON, append(b, "]}"...))
}
