package fastapi

import (
	"bytes"
	"fmt"
	"strconv"

	"github.com/k2d-project/k2d/cache"
	"github.com/k2d-project/k2d/codec"
	"github.com/valyala/fasthttp"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// The scale subresource of Deployments and ReplicaSets: an autoscaling/v1 Scale read from and
// written to the owner's spec.replicas. `kubectl scale` PATCHes it with a merge patch; HPAs and
// client-go's scale client GET and PUT it. A write is an update of the owner (its strategy,
// validation and resourceVersion), so conflicts are reported on the owner's resource, while a
// missing owner is "deployments/scale.apps ... not found" as on the API server.

func (s *Server) serveScale(ctx *fasthttp.RequestCtx, rp resourcePath, method string) {
	switch method {
	case "GET":
		s.getScale(ctx, rp)
	case "PUT", "PATCH":
		s.writeScale(ctx, rp, method)
	default:
		writeError(ctx, errMethodNotAllowed(method))
	}
}

// scaleResource is the qualified resource errors about the subresource name.
func scaleResource(k *codec.Kind) string { return k.Resource + "/scale" }

func errScaleNotFound(k *codec.Kind, name string) *apiError {
	r := scaleResource(k)
	return withDetails(newStatus(404, metav1.StatusReasonNotFound,
		fmt.Sprintf("%s.%s %q not found", r, k.Group, name)), k.Group, r, name)
}

func (s *Server) getScale(ctx *fasthttp.RequestCtx, rp resourcePath) {
	a := parseAccept(string(ctx.Request.Header.Peek("Accept")))
	if !a.acceptable() {
		writeError(ctx, errNotAcceptable())
		return
	}
	cur, ok := s.cfg.Store.Get(rp.kind.GroupResource(), rp.namespace, rp.name)
	if !ok {
		writeError(ctx, errScaleNotFound(rp.kind, rp.name))
		return
	}
	sc, err := codec.ScaleOf(cur.Obj)
	if err != nil {
		writeError(ctx, errBadRequest(err.Error()))
		return
	}
	b, aerr := encodeScale(sc)
	if aerr != nil {
		writeError(ctx, aerr)
		return
	}
	switch {
	case a.table != "":
		e := &cache.Entry{Obj: sc, JSON: b, RV: cur.RV}
		writeJSON(ctx, 200, tableMime(a.table), appendTable(nil, codec.ScaleKind, a.table, []*cache.Entry{e},
			strconv.FormatUint(cur.RV, 10), "", string(ctx.QueryArgs().Peek("includeObject"))))
	case a.partialMeta && !a.json:
		writeJSON(ctx, 200, mimeJSON, appendPartial(nil, &cache.Entry{Obj: sc}))
	default:
		writeJSON(ctx, 200, mimeJSON, b)
	}
}

// writeScale answers PUT and PATCH: the new Scale is validated, its spec.replicas (and
// resourceVersion, as a precondition) copied onto the owner, and the owner updated.
func (s *Server) writeScale(ctx *fasthttp.RequestCtx, rp resourcePath, method string) {
	o, aerr := parseWriteOptions(ctx)
	if aerr != nil {
		writeError(ctx, aerr)
		return
	}
	var (
		body []byte
		mt   string
		put  *autoscalingv1.Scale
	)
	if method == "PUT" {
		body, mt, aerr = readBody(ctx, mimeJSON, codec.MimeProtobuf)
		if aerr == nil {
			var obj runtime.Object
			if obj, aerr = decodeBody(ctx, codec.ScaleKind, body, mt, o); aerr == nil {
				put = obj.(*autoscalingv1.Scale)
			}
		}
	} else {
		body, mt, aerr = readBody(ctx, codec.PatchJSON, codec.PatchMerge, codec.PatchStrategic, codec.PatchApply)
		if aerr == nil && mt == codec.PatchApply && o.fieldManager == "" {
			aerr = errBadRequest("PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch")
		}
	}
	if aerr != nil {
		writeError(ctx, aerr)
		return
	}
	// A patch that names no resourceVersion applies to whatever is current: retry when another
	// write slipped in between reading and storing.
	pinned := put != nil || bytes.Contains(body, []byte(`"resourceVersion"`))
	for attempt := 0; ; attempt++ {
		b, aerr := s.writeScaleOnce(ctx, rp, method, body, mt, put, o)
		if aerr != nil && aerr.status.Reason == metav1.StatusReasonConflict && !pinned && attempt < 5 {
			continue
		}
		if aerr != nil {
			writeError(ctx, aerr)
			return
		}
		writeJSON(ctx, 200, mimeJSON, b)
		return
	}
}

func (s *Server) writeScaleOnce(ctx *fasthttp.RequestCtx, rp resourcePath, method string, body []byte, mt string, put *autoscalingv1.Scale, o writeOptions) ([]byte, *apiError) {
	k := rp.kind
	cur, ok := s.cfg.Store.Get(k.GroupResource(), rp.namespace, rp.name)
	if !ok {
		return nil, errScaleNotFound(k, rp.name)
	}
	old, err := codec.ScaleOf(cur.Obj)
	if err != nil {
		return nil, errBadRequest(err.Error())
	}
	sc := put
	if method == "PATCH" {
		oldJSON, err := codec.EncodeObject(codec.ScaleKind, old)
		if err != nil {
			return nil, errInternal(err)
		}
		merged, err := codec.ApplyPatch(mt, oldJSON, body, &autoscalingv1.Scale{})
		if err != nil {
			return nil, patchError(codec.ScaleKind, rp.name, err)
		}
		obj, aerr := decodeChecked(ctx, codec.ScaleKind, merged, o)
		if aerr != nil {
			return nil, aerr
		}
		sc = obj.(*autoscalingv1.Scale)
	}
	if sc.Name != rp.name {
		return nil, errBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", sc.Name, rp.name))
	}
	if sc.Namespace != "" && sc.Namespace != rp.namespace {
		return nil, errBadRequest(fmt.Sprintf("the namespace of the object (%s) does not match the namespace on the request (%s)", sc.Namespace, rp.namespace))
	}
	sc.Namespace = rp.namespace
	if causes := codec.ValidateScale(sc); len(causes) > 0 {
		return nil, errInvalid(codec.ScaleKind, rp.name, causes)
	}
	uid := cur.Meta().GetUID()
	if sc.UID != "" && sc.UID != uid {
		r := scaleResource(k)
		return nil, withDetails(newStatus(409, metav1.StatusReasonConflict,
			fmt.Sprintf("Operation cannot be fulfilled on %s.%s %q: Precondition failed: UID in precondition: %s, UID in object meta: %s", r, k.Group, rp.name, sc.UID, uid)),
			k.Group, r, rp.name)
	}
	rv := strconv.FormatUint(cur.RV, 10)
	if sc.ResourceVersion == "" {
		sc.ResourceVersion = rv // unconditional, as the owner's strategy allows
	}
	if sc.Spec.Replicas == old.Spec.Replicas && sc.ResourceVersion == rv {
		// Nothing changes: the API server writes nothing and answers with the current Scale.
		return encodeScale(old)
	}
	obj := cur.Obj.DeepCopyObject()
	if err := codec.SetScaleReplicas(obj, sc.Spec.Replicas); err != nil {
		return nil, errBadRequest(err.Error())
	}
	obj.(metav1.Object).SetResourceVersion(sc.ResourceVersion)
	owner := rp
	owner.sub = ""
	b, aerr := s.storeUpdate(ctx, owner, obj, o)
	if aerr != nil {
		return nil, aerr
	}
	stored := k.New()
	if err := codec.Unmarshal(b, stored); err != nil {
		return nil, errInternal(err)
	}
	out, err := codec.ScaleOf(stored)
	if err != nil {
		return nil, errInternal(err)
	}
	return encodeScale(out)
}

func encodeScale(sc *autoscalingv1.Scale) ([]byte, *apiError) {
	b, err := codec.EncodeObject(codec.ScaleKind, sc)
	if err != nil {
		return nil, errInternal(err)
	}
	return b, nil
}
