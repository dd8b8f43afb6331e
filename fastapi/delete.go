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
	"k8s.io/apimachinery/pkg/util/validation/field"
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
	if v := q.Peek("orphanDependents"); len(v) > 0 {
		b, err := strconv.ParseBool(string(v))
		if err != nil {
			return nil, errBadRequest("invalid orphanDependents: " + string(v))
		}
		opts.OrphanDependents = &b //nolint:staticcheck // the deprecated field is still honoured
	}
	for _, v := range q.PeekMulti("dryRun") {
		opts.DryRun = append(opts.DryRun, string(v))
	}
	for _, v := range opts.DryRun {
		if v != "All" {
			return nil, errBadRequest(fmt.Sprintf("Invalid dry run value: %q; the only valid value is All", v))
		}
	}
	// ValidateDeleteOptions: a 422 about DeleteOptions.meta.k8s.io.
	var errs field.ErrorList
	policy := field.NewPath("propagationPolicy")
	if opts.OrphanDependents != nil && opts.PropagationPolicy != nil { //nolint:staticcheck
		errs = append(errs, field.Invalid(policy, opts.PropagationPolicy, "orphanDependents and deletionPropagation cannot be both set"))
	}
	if p := opts.PropagationPolicy; p != nil {
		switch *p {
		case metav1.DeletePropagationOrphan, metav1.DeletePropagationBackground, metav1.DeletePropagationForeground:
		default:
			errs = append(errs, field.NotSupported(policy, p, []string{string(metav1.DeletePropagationForeground), string(metav1.DeletePropagationBackground), string(metav1.DeletePropagationOrphan), "nil"}))
		}
	}
	if len(errs) > 0 {
		causes := make([]codec.Cause, len(errs))
		e := newStatus(422, metav1.StatusReasonInvalid, "")
		e.status.Details = &metav1.StatusDetails{Group: "meta.k8s.io", Kind: "DeleteOptions"}
		for i, fe := range errs {
			causes[i] = codec.Cause{Type: string(fe.Type), Field: fe.Field, Message: fe.ErrorBody()}
			e.status.Details.Causes = append(e.status.Details.Causes, metav1.StatusCause{Type: metav1.CauseType(fe.Type), Message: fe.ErrorBody(), Field: fe.Field})
		}
		e.status.Message = codec.InvalidMessage("DeleteOptions.meta.k8s.io", "", causes)
		return nil, e
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
	b, deleted, aerr := s.deleteOne(rp.kind, rp.namespace, rp.name, opts)
	if aerr != nil {
		writeError(ctx, aerr)
		return
	}
	code := 200
	if o := opts.OrphanDependents; o != nil && !*o && !deleted { //nolint:staticcheck
		// The API server's compatibility quirk: 202 only for orphanDependents=false.
		code = 202
	}
	writeJSON(ctx, code, mimeJSON, b)
}

// deleteOne deletes one object and returns what the API answers: the object, with
// deletionTimestamp set while its deletion is in progress; deleted reports whether it is gone.
//
// As the API server's generic store does, the propagation policy (or the kind's default) first
// sets the garbage collector's finalizers: "orphan" (the garbage collector removes the
// ownerReferences pointing here, then the finalizer) or "foregroundDeletion" (it deletes the
// dependents first). An object with finalizers, and a pod or namespace that ends gracefully, is
// only marked with deletionTimestamp; whoever removes the last finalizer (or the pod worker,
// or the namespace controller) finishes the deletion.
func (s *Server) deleteOne(k *codec.Kind, ns, name string, opts *metav1.DeleteOptions) (b []byte, deleted bool, aerr *apiError) {
	cur, ok := s.cfg.Store.Get(k.GroupResource(), ns, name)
	if !ok {
		return nil, false, errNotFound(k, name)
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
		return nil, false, errConflict(k, name, fmt.Sprintf("Precondition failed: ResourceVersion in precondition: %s, ResourceVersion in object meta: %d", precondRV, cur.RV))
	}
	if precondUID != "" && precondUID != string(cur.Meta().GetUID()) {
		return nil, false, errConflict(k, name, fmt.Sprintf("Precondition failed: UID in precondition: %s, UID in object meta: %s", precondUID, cur.Meta().GetUID()))
	}
	if k.Group == "" && k.Resource == "namespaces" && protectedNamespaces[name] {
		return nil, false, errForbidden(k, name, "this namespace may not be deleted")
	}
	if len(opts.DryRun) > 0 {
		return cur.JSON, false, nil
	}
	uid := cur.Meta().GetUID()
	graceful, grace := gracefulDeletion(k, cur, opts)
	if _, fins := codec.DeletionFinalizers(k, cur.Meta(), opts); !graceful && len(fins) == 0 {
		e, err := s.cfg.Store.Delete(k, ns, name, precondRV, precondUID)
		if err != nil {
			return nil, false, toStatus(k, err)
		}
		return e.JSON, true, nil
	}
	deleteNow := false
	e, err := s.cfg.Store.Mutate(k, ns, name, func(obj runtime.Object) (bool, error) {
		m := obj.(metav1.Object)
		if m.GetUID() != uid {
			return false, &cache.ConflictError{Resource: k.Resource, Name: name, UID: true}
		}
		dt := m.GetDeletionTimestamp()
		changed, fins := codec.DeletionFinalizers(k, m, opts)
		if graceful {
			if dt != nil {
				// Already being deleted: a shorter grace period may still speed it up; the
				// finalizers stay as they are.
				if g := m.GetDeletionGracePeriodSeconds(); g == nil || grace >= *g {
					return false, nil
				}
			}
			m.SetFinalizers(fins)
			t := metav1.NewTime(time.Now().Add(time.Duration(grace) * time.Second))
			m.SetDeletionTimestamp(&t)
			m.SetDeletionGracePeriodSeconds(&grace)
			if n, ok := obj.(*corev1.Namespace); ok {
				n.Status.Phase = corev1.NamespaceTerminating
			}
			return true, nil
		}
		if len(fins) == 0 {
			// A new policy dropped the only finalizer (a foreground deletion re-issued in
			// the background): nothing holds the object any more.
			deleteNow = true
			return false, nil
		}
		m.SetFinalizers(fins)
		// markAsDeleting: deletion started now, with no grace period; generation moves on.
		now := metav1.Now()
		if g := m.GetGeneration(); dt == nil && g > 0 && !hasOwnDeletion(k) {
			m.SetGeneration(g + 1)
		}
		if dt == nil || dt.After(now.Time) {
			changed = true
			m.SetDeletionTimestamp(&now)
		}
		if g := m.GetDeletionGracePeriodSeconds(); g == nil || *g != 0 {
			changed = true
			zero := int64(0)
			m.SetDeletionGracePeriodSeconds(&zero)
		}
		return changed, nil
	})
	if err != nil {
		return nil, false, toStatus(k, err)
	}
	if deleteNow {
		e, err := s.cfg.Store.Delete(k, ns, name, "", string(uid))
		if err != nil {
			return nil, false, toStatus(k, err)
		}
		return e.JSON, true, nil
	}
	if e == nil {
		e, _ = s.cfg.Store.Get(k.GroupResource(), ns, name)
		if e == nil {
			return nil, false, errNotFound(k, name)
		}
	}
	return e.JSON, false, nil
}

// gracefulDeletion decides whether an object ends gracefully (a pod worker or the namespace
// controller finishes the job) and with which grace period. Finalizers hold any object.
func gracefulDeletion(k *codec.Kind, cur *cache.Entry, opts *metav1.DeleteOptions) (bool, int64) {
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
		// A force delete (grace 0) removes the Pod at once, unless finalizers hold it; its
		// containers are then removed.
		return grace > 0, grace
	case k.Group == "" && k.Resource == "namespaces":
		return true, 0
	default:
		return false, 0
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
		out, _, aerr := s.deleteOne(k, m.GetNamespace(), m.GetName(), opts)
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
