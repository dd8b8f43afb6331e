package fastapi

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/k2d-project/k2d/cache"
	"github.com/k2d-project/k2d/codec"
	"github.com/k2d-project/k2d/translate"
	"github.com/valyala/fasthttp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// writeOptions are the query parameters of a write.
type writeOptions struct {
	dryRun          bool
	fieldValidation string // Strict, Warn (the default) or Ignore
	fieldManager    string
	force           bool
}

func parseWriteOptions(ctx *fasthttp.RequestCtx) (writeOptions, *apiError) {
	q := ctx.QueryArgs()
	var o writeOptions
	for _, v := range q.PeekMulti("dryRun") {
		if string(v) != "All" {
			return o, errBadRequest(fmt.Sprintf("Invalid dry run value: %q; the only valid value is All", v))
		}
		o.dryRun = true
	}
	o.fieldValidation = string(q.Peek("fieldValidation"))
	switch o.fieldValidation {
	case "":
		o.fieldValidation = "Warn"
	case "Strict", "Warn", "Ignore":
	default:
		return o, errBadRequest(fmt.Sprintf("fieldValidation must be one of Strict, Warn, Ignore; got %q", o.fieldValidation))
	}
	o.fieldManager = string(q.Peek("fieldManager"))
	f := string(q.Peek("force"))
	o.force = f == "true" || f == "1"
	return o, nil
}

// readBody returns the request body, checking its media type.
func readBody(ctx *fasthttp.RequestCtx, allowed ...string) ([]byte, string, *apiError) {
	ct := string(ctx.Request.Header.ContentType())
	mt, _, _ := strings.Cut(ct, ";")
	mt = strings.TrimSpace(strings.ToLower(mt))
	if mt == "" {
		mt = mimeJSON
	}
	ok := false
	for _, a := range allowed {
		ok = ok || a == mt
	}
	if !ok {
		return nil, mt, errUnsupportedMediaType(ct)
	}
	body := ctx.PostBody()
	if len(body) > codec.MaxBodyBytes {
		return nil, mt, errTooLarge()
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, mt, errBadRequest("the body of the request was empty")
	}
	return body, mt, nil
}

// decodeBody decodes a JSON or protobuf body.
func decodeBody(ctx *fasthttp.RequestCtx, k *codec.Kind, body []byte, mt string, o writeOptions) (runtime.Object, *apiError) {
	if !strings.HasPrefix(mt, codec.MimeProtobuf) {
		return decodeChecked(ctx, k, body, o)
	}
	obj, err := codec.DecodeProtobuf(k, body)
	if err != nil {
		return nil, errBadRequest(err.Error())
	}
	if gvk := obj.GetObjectKind().GroupVersionKind(); gvk.Kind != "" && (gvk.Kind != k.Kind || gvk.GroupVersion().String() != k.APIVersion()) {
		return nil, errBadRequest(fmt.Sprintf("the kind in the data (%s) does not match the expected kind (%s)", gvk.Kind, k.Kind))
	}
	return obj, nil
}

// decodeChecked decodes body as an object of kind k, applying field validation and checking
// apiVersion and kind. Warnings for unknown fields are added as Warning headers.
func decodeChecked(ctx *fasthttp.RequestCtx, k *codec.Kind, body []byte, o writeOptions) (runtime.Object, *apiError) {
	obj := k.New()
	if o.fieldValidation != "Ignore" {
		unknown, dup, err := codec.UnknownFields(body, obj)
		if err != nil {
			return nil, errBadRequest(decodeMessage(err))
		}
		if len(unknown)+len(dup) > 0 {
			if o.fieldValidation == "Strict" {
				return nil, errBadRequest(fmt.Sprintf("%s in version %q cannot be handled as a %s: %s", k.Kind, k.APIVersion(), k.Kind, codec.StrictError(unknown, dup)))
			}
			for _, f := range unknown {
				addWarning(ctx, fmt.Sprintf("unknown field %q", f))
			}
			for _, f := range dup {
				addWarning(ctx, fmt.Sprintf("duplicate field %q", f))
			}
		}
	}
	if err := codec.Unmarshal(body, obj); err != nil {
		return nil, errBadRequest(fmt.Sprintf("%s in version %q cannot be handled as a %s: %s", k.Kind, k.APIVersion(), k.Kind, strings.TrimPrefix(err.Error(), "cannot decode JSON: ")))
	}
	gvk := obj.GetObjectKind().GroupVersionKind()
	if gvk.Kind != "" && gvk.Kind != k.Kind {
		return nil, errBadRequest(fmt.Sprintf("the kind in the data (%s) does not match the expected kind (%s)", gvk.Kind, k.Kind))
	}
	if av := gvk.GroupVersion().String(); gvk.Version != "" && av != k.APIVersion() {
		return nil, errBadRequest(fmt.Sprintf("the API version in the data (%s) does not match the expected API version (%s)", av, k.APIVersion()))
	}
	return obj, nil
}

func decodeMessage(err error) string {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "cannot decode JSON: ")
	return "the object provided is unrecognized or malformed: " + msg
}

func addWarning(ctx *fasthttp.RequestCtx, msg string) {
	ctx.Response.Header.Add("Warning", `299 - `+strconv.Quote(msg))
}

// checkNamespace makes sure a namespaced write targets an existing, active namespace and
// that the object's namespace agrees with the URL.
func (s *Server) checkNamespace(k *codec.Kind, rp resourcePath, obj runtime.Object, creating bool) *apiError {
	m := obj.(metav1.Object)
	if !k.Namespaced {
		m.SetNamespace("")
		return nil
	}
	if m.GetNamespace() == "" {
		m.SetNamespace(rp.namespace)
	}
	if m.GetNamespace() != rp.namespace {
		return errBadRequest("the namespace of the provided object does not match the namespace sent on the request")
	}
	e, ok := s.cfg.Store.Get("namespaces", "", rp.namespace)
	if !ok {
		return errNamespaceNotFound(rp.namespace)
	}
	if creating && e.Meta().GetDeletionTimestamp() != nil {
		return errForbidden(k, m.GetName(), fmt.Sprintf("unable to create new content in namespace %s because it is being terminated", rp.namespace))
	}
	return nil
}

// admit defaults and validates obj; old is nil on create.
func admit(ctx *fasthttp.RequestCtx, k *codec.Kind, obj, old runtime.Object) *apiError {
	codec.Default(obj)
	var causes []codec.Cause
	if old == nil {
		causes = codec.Validate(k, obj)
	} else {
		causes = codec.ValidateUpdate(k, obj, old)
	}
	if len(causes) > 0 {
		name := objectName(obj)
		if name == "" {
			name = obj.(metav1.Object).GetGenerateName()
		}
		return errInvalid(k, name, causes)
	}
	if pod, ok := obj.(*corev1.Pod); ok {
		for _, c := range translate.Unsupported(pod) {
			addWarning(ctx, fmt.Sprintf("%s: %s (k2d ignores this field)", c.Field, c.Message))
		}
	}
	return nil
}

// readObject reads the options and the JSON or protobuf object of a create or update.
func readObject(ctx *fasthttp.RequestCtx, k *codec.Kind) (runtime.Object, writeOptions, *apiError) {
	o, aerr := parseWriteOptions(ctx)
	if aerr != nil {
		return nil, o, aerr
	}
	body, mt, aerr := readBody(ctx, mimeJSON, codec.MimeProtobuf)
	if aerr != nil {
		return nil, o, aerr
	}
	obj, aerr := decodeBody(ctx, k, body, mt, o)
	return obj, o, aerr
}

func (s *Server) create(ctx *fasthttp.RequestCtx, rp resourcePath) {
	obj, o, aerr := readObject(ctx, rp.kind)
	if aerr != nil {
		writeError(ctx, aerr)
		return
	}
	b, aerr := s.storeCreate(ctx, rp, obj, o)
	if aerr != nil {
		writeError(ctx, aerr)
		return
	}
	writeJSON(ctx, 201, mimeJSON, b)
}

// storeCreate admits and stores a new object, returning its encoding.
func (s *Server) storeCreate(ctx *fasthttp.RequestCtx, rp resourcePath, obj runtime.Object, o writeOptions) ([]byte, *apiError) {
	k := rp.kind
	if aerr := s.checkNamespace(k, rp, obj, true); aerr != nil {
		return nil, aerr
	}
	prepareCreate(obj)
	if aerr := admit(ctx, k, obj, nil); aerr != nil {
		return nil, aerr
	}
	if aerr := s.admitState(ctx, k, obj, nil, o.dryRun); aerr != nil {
		return nil, aerr
	}
	m := obj.(metav1.Object)
	if o.dryRun {
		if _, exists := s.cfg.Store.Get(k.GroupResource(), m.GetNamespace(), m.GetName()); exists && m.GetName() != "" {
			return nil, errAlreadyExists(k, m.GetName())
		}
		m.SetCreationTimestamp(metav1.Now())
		if codec.TracksGeneration(k) {
			m.SetGeneration(1)
		}
		b, err := codec.EncodeObject(k, obj)
		if err != nil {
			return nil, errInternal(err)
		}
		return b, nil
	}
	e, err := s.cfg.Store.Create(k, obj)
	if err != nil {
		return nil, toStatus(k, err)
	}
	return e.JSON, nil
}

// update answers PUT on the main resource or the status subresource.
func (s *Server) update(ctx *fasthttp.RequestCtx, rp resourcePath) {
	obj, o, aerr := readObject(ctx, rp.kind)
	if aerr != nil {
		writeError(ctx, aerr)
		return
	}
	m := obj.(metav1.Object)
	if m.GetName() != rp.name {
		writeError(ctx, errBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", m.GetName(), rp.name)))
		return
	}
	b, aerr := s.storeUpdate(ctx, rp, obj, o)
	if aerr != nil {
		writeError(ctx, aerr)
		return
	}
	writeJSON(ctx, 200, mimeJSON, b)
}

// storeUpdate admits and stores obj as the new state of rp, as PUT and PATCH do.
func (s *Server) storeUpdate(ctx *fasthttp.RequestCtx, rp resourcePath, obj runtime.Object, o writeOptions) ([]byte, *apiError) {
	k := rp.kind
	if aerr := s.checkNamespace(k, rp, obj, false); aerr != nil {
		return nil, aerr
	}
	cur, ok := s.cfg.Store.Get(k.GroupResource(), rp.namespace, rp.name)
	if !ok {
		return nil, errNotFound(k, rp.name)
	}
	m := obj.(metav1.Object)
	if rv := m.GetResourceVersion(); rv != "" && rv != strconv.FormatUint(cur.RV, 10) {
		return nil, errConflict(k, rp.name, (&cache.ConflictError{Resource: k.GroupResource(), Name: rp.name}).Error())
	} else if rv == "" {
		// An unconditional update applies to the current object, as the storage layer does.
		m.SetResourceVersion(strconv.FormatUint(cur.RV, 10))
	}
	if uid := m.GetUID(); uid != "" && uid != cur.Meta().GetUID() {
		return nil, errConflict(k, rp.name, fmt.Sprintf("Precondition failed: UID in precondition: %s, UID in object meta: %s", uid, cur.Meta().GetUID()))
	}
	if rp.sub == "status" {
		obj = prepareStatusUpdate(obj, cur.Obj)
		if causes := codec.ValidateStatusUpdate(k, obj, cur.Obj); len(causes) > 0 {
			return nil, errInvalid(k, rp.name, causes)
		}
	} else {
		prepareUpdate(obj, cur.Obj)
		if aerr := admit(ctx, k, obj, cur.Obj); aerr != nil {
			return nil, aerr
		}
		if aerr := s.admitState(ctx, k, obj, cur.Obj, o.dryRun); aerr != nil {
			return nil, aerr
		}
	}
	if o.dryRun {
		b, err := codec.EncodeObject(k, obj)
		if err != nil {
			return nil, errInternal(err)
		}
		return b, nil
	}
	e, err := s.cfg.Store.Update(k, obj)
	if err != nil {
		return nil, toStatus(k, err)
	}
	// An object whose deletion waited only for its finalizers goes once they are gone.
	if m := e.Meta(); m.GetDeletionTimestamp() != nil && len(m.GetFinalizers()) == 0 && !hasOwnDeletion(k) {
		if d, err := s.cfg.Store.Delete(k, m.GetNamespace(), m.GetName(), "", ""); err == nil {
			e = d
		}
	}
	return e.JSON, nil
}

// patch answers PATCH with any of the four patch types.
func (s *Server) patch(ctx *fasthttp.RequestCtx, rp resourcePath) {
	k := rp.kind
	o, aerr := parseWriteOptions(ctx)
	if aerr != nil {
		writeError(ctx, aerr)
		return
	}
	body, pt, aerr := readBody(ctx, codec.PatchJSON, codec.PatchMerge, codec.PatchStrategic, codec.PatchApply)
	if aerr != nil {
		writeError(ctx, aerr)
		return
	}
	if pt == codec.PatchApply && o.fieldManager == "" {
		writeError(ctx, errBadRequest("PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch"))
		return
	}
	for attempt := 0; ; attempt++ {
		cur, ok := s.cfg.Store.Get(k.GroupResource(), rp.namespace, rp.name)
		if !ok {
			if pt == codec.PatchApply && rp.sub == "" {
				// Server-side apply creates what does not exist yet.
				merged, err := codec.ApplyPatch(pt, []byte("{}"), body, k.New())
				if err != nil {
					writeError(ctx, errBadRequest(err.Error()))
					return
				}
				obj, aerr := decodeChecked(ctx, k, merged, o)
				if aerr != nil {
					writeError(ctx, aerr)
					return
				}
				if obj.(metav1.Object).GetName() == "" {
					obj.(metav1.Object).SetName(rp.name)
				}
				b, aerr := s.storeCreate(ctx, rp, obj, o)
				if aerr != nil {
					writeError(ctx, aerr)
					return
				}
				writeJSON(ctx, 201, mimeJSON, b)
				return
			}
			writeError(ctx, errNotFound(k, rp.name))
			return
		}
		merged, err := codec.ApplyPatch(pt, cur.JSON, body, k.New())
		if err != nil {
			writeError(ctx, patchError(k, rp.name, err))
			return
		}
		obj, aerr := decodeChecked(ctx, k, merged, o)
		if aerr != nil {
			writeError(ctx, aerr)
			return
		}
		m := obj.(metav1.Object)
		if m.GetName() != rp.name || (k.Namespaced && m.GetNamespace() != rp.namespace) {
			writeError(ctx, errBadRequest("the name or namespace of the patched object does not match the request"))
			return
		}
		// A patch that did not name a resourceVersion applies to whatever is current:
		// retry when another write slipped in between reading and storing.
		pinned := bytes.Contains(body, []byte(`"resourceVersion"`))
		b, aerr := s.storeUpdate(ctx, rp, obj, o)
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

func patchError(k *codec.Kind, name string, err error) *apiError {
	var pe *codec.PatchError
	if errors.As(err, &pe) {
		switch pe.Code {
		case 413:
			return newStatus(413, metav1.StatusReasonRequestEntityTooLarge, pe.Msg)
		case 415:
			return newStatus(415, metav1.StatusReasonUnsupportedMediaType, pe.Msg)
		case 422:
			return withDetails(newStatus(422, metav1.StatusReasonInvalid, pe.Msg), k.Group, k.Kind, name)
		case 500:
			return errInternal(err)
		}
		return errBadRequest(pe.Msg)
	}
	return errBadRequest(err.Error())
}

// hasOwnDeletion reports whether a controller finishes deleting objects of k (pods stop their
// containers, namespaces empty themselves) rather than the API.
func hasOwnDeletion(k *codec.Kind) bool {
	return k.Group == "" && (k.Resource == "pods" || k.Resource == "namespaces")
}
