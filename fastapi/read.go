package fastapi

import (
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/k2d-project/k2d/cache"
	"github.com/k2d-project/k2d/codec"
	"github.com/valyala/fasthttp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// listOptions are the query parameters of a list or watch.
type listOptions struct {
	labels         labelSelector
	fields         fieldSelector
	limit          int
	continueKey    string
	watch          bool
	rv             string
	rvMatch        string
	timeoutSeconds int
	bookmarks      bool
	initialEvents  bool
	includeObject  string
}

func parseListOptions(ctx *fasthttp.RequestCtx) (listOptions, *apiError) {
	q := ctx.QueryArgs()
	var o listOptions
	var err error
	if o.labels, err = parseLabelSelector(string(q.Peek("labelSelector"))); err != nil {
		return o, errBadRequest(err.Error())
	}
	if o.fields, err = parseFieldSelector(string(q.Peek("fieldSelector"))); err != nil {
		return o, errBadRequest(err.Error())
	}
	if v := q.Peek("limit"); len(v) > 0 {
		n, err := strconv.Atoi(string(v))
		if err != nil || n < 0 {
			return o, errBadRequest("invalid limit: " + string(v))
		}
		o.limit = n
	}
	if v := q.Peek("continue"); len(v) > 0 {
		raw, err := base64.RawURLEncoding.DecodeString(string(v))
		if err != nil {
			return o, errBadRequest("continue key is not valid: " + err.Error())
		}
		_, key, ok := strings.Cut(string(raw), "|")
		if !ok {
			return o, errBadRequest("continue key is not valid")
		}
		o.continueKey = key
	}
	w := string(q.Peek("watch"))
	o.watch = w == "true" || w == "1"
	o.rv = string(q.Peek("resourceVersion"))
	o.rvMatch = string(q.Peek("resourceVersionMatch"))
	if v := q.Peek("timeoutSeconds"); len(v) > 0 {
		o.timeoutSeconds, _ = strconv.Atoi(string(v))
	}
	b := string(q.Peek("allowWatchBookmarks"))
	o.bookmarks = b == "true" || b == "1"
	ie := string(q.Peek("sendInitialEvents"))
	o.initialEvents = ie == "true" || ie == "1"
	o.includeObject = string(q.Peek("includeObject"))
	if o.rv != "" && o.rv != "0" {
		if _, err := strconv.ParseUint(o.rv, 10, 64); err != nil {
			return o, errBadRequest("invalid resourceVersion: " + o.rv)
		}
	}
	if ie != "" && !o.watch {
		return o, errBadRequest("sendInitialEvents is only supported for watch requests")
	}
	if o.initialEvents && o.rvMatch != string(metav1.ResourceVersionMatchNotOlderThan) {
		return o, invalidQuery("resourceVersionMatch", "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan")
	}
	return o, nil
}

func invalidQuery(field, msg string) *apiError {
	e := newStatus(422, metav1.StatusReasonInvalid, "ListOptions.meta.k8s.io \"\" is invalid: "+field+": Forbidden: "+msg)
	e.status.Details = &metav1.StatusDetails{Group: "meta.k8s.io", Kind: "ListOptions",
		Causes: []metav1.StatusCause{{Type: metav1.CauseType("FieldValueForbidden"), Message: "Forbidden: " + msg, Field: field}}}
	return e
}

func (o *listOptions) matches(e *cache.Entry) bool {
	if o.labels != nil && !o.labels.matches(e.Meta().GetLabels()) {
		return false
	}
	return o.fields == nil || o.fields.matches(e.Obj)
}

func (s *Server) get(ctx *fasthttp.RequestCtx, rp resourcePath, a accepted) {
	e, ok := s.cfg.Store.Get(rp.kind.GroupResource(), rp.namespace, rp.name)
	if !ok {
		writeError(ctx, errNotFound(rp.kind, rp.name))
		return
	}
	switch {
	case a.table != "":
		writeJSON(ctx, 200, tableMime(a.table), appendTable(nil, rp.kind, a.table, []*cache.Entry{e}, strconv.FormatUint(e.RV, 10), "", string(ctx.QueryArgs().Peek("includeObject"))))
	case a.partialMeta && !a.json:
		writeJSON(ctx, 200, mimeJSON, appendPartial(nil, e))
	default:
		writeJSON(ctx, 200, mimeJSON, e.JSON)
	}
}

func tableMime(v string) string {
	if v == "v1beta1" {
		return mimeTableV1beta1
	}
	return mimeTableV1
}

func (s *Server) list(ctx *fasthttp.RequestCtx, rp resourcePath, a accepted, o listOptions) {
	k := rp.kind
	if len(o.fields) > 0 {
		if err := o.fields.check(k.GroupResource(), k.New()); err != nil {
			writeError(ctx, errBadRequest(err.Error()))
			return
		}
	}
	all, rv := s.cfg.Store.List(k.GroupResource(), rp.namespace)
	items := all[:0:0]
	next := ""
	for _, e := range all {
		if o.continueKey != "" && entryKey(e) <= o.continueKey {
			continue
		}
		if !o.matches(e) {
			continue
		}
		if o.limit > 0 && len(items) == o.limit {
			next = base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatUint(rv, 10) + "|" + entryKey(items[len(items)-1])))
			break
		}
		items = append(items, e)
	}
	rvs := strconv.FormatUint(rv, 10)
	switch {
	case a.table != "":
		writeJSON(ctx, 200, tableMime(a.table), appendTable(nil, k, a.table, items, rvs, next, o.includeObject))
	case a.partialMeta && !a.json:
		b := append([]byte(`{"kind":"PartialObjectMetadataList","apiVersion":"meta.k8s.io/v1","metadata":`), listMeta(rvs, next)...)
		b = append(b, `,"items":[`...)
		for i, e := range items {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendPartial(b, e)
		}
		writeJSON(ctx, 200, mimeJSON, append(b, "]}"...))
	default:
		b := make([]byte, 0, 128+listSize(items))
		b = append(b, `{"kind":"`...)
		b = append(b, k.ListKind...)
		b = append(b, `","apiVersion":"`...)
		b = append(b, k.APIVersion()...)
		b = append(b, `","metadata":`...)
		b = append(b, listMeta(rvs, next)...)
		b = append(b, `,"items":[`...)
		for i, e := range items {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, e.JSON...)
		}
		writeJSON(ctx, 200, mimeJSON, append(b, "]}"...))
	}
}

func listSize(items []*cache.Entry) int {
	n := 0
	for _, e := range items {
		n += len(e.JSON) + 1
	}
	return n
}

func listMeta(rv, next string) []byte {
	b := append([]byte(`{"resourceVersion":"`), rv...)
	if next != "" {
		b = append(b, `","continue":"`...)
		b = append(b, next...)
	}
	return append(b, `"}`...)
}

func entryKey(e *cache.Entry) string {
	m := e.Meta()
	return m.GetNamespace() + "/" + m.GetName()
}

// appendPartial appends e as a PartialObjectMetadata.
func appendPartial(b []byte, e *cache.Entry) []byte {
	pm := metav1.PartialObjectMetadata{
		TypeMeta: metav1.TypeMeta{Kind: "PartialObjectMetadata", APIVersion: "meta.k8s.io/v1"},
	}
	if a, ok := e.Obj.(metav1.ObjectMetaAccessor); ok {
		if om, ok := a.GetObjectMeta().(*metav1.ObjectMeta); ok {
			pm.ObjectMeta = *om
		}
	}
	enc, err := codec.Marshal(&pm)
	if err != nil {
		return append(b, "null"...)
	}
	return append(b, enc...)
}

// appendTable appends a meta.k8s.io Table of items, as `kubectl get` asks for.
func appendTable(b []byte, k *codec.Kind, version string, items []*cache.Entry, rv, next, includeObject string) []byte {
	now := time.Now()
	b = append(b, `{"kind":"Table","apiVersion":"meta.k8s.io/`...)
	b = append(b, version...)
	b = append(b, `","metadata":`...)
	b = append(b, listMeta(rv, next)...)
	cols, _ := codec.Marshal(codec.TableColumns(k))
	b = append(b, `,"columnDefinitions":`...)
	b = append(b, cols...)
	b = append(b, `,"rows":[`...)
	for i, e := range items {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendRow(b, k, e, now, includeObject)
	}
	return append(b, "]}"...)
}

func appendRow(b []byte, k *codec.Kind, e *cache.Entry, now time.Time, includeObject string) []byte {
	cells, err := codec.Marshal(codec.TableRow(k, e.Obj, now))
	if err != nil {
		cells = []byte("[]")
	}
	b = append(b, `{"cells":`...)
	b = append(b, cells...)
	switch includeObject {
	case "None":
	case "Object":
		b = append(b, `,"object":`...)
		b = append(b, e.JSON...)
	default:
		b = append(b, `,"object":`...)
		b = appendPartial(b, e)
	}
	return append(b, '}')
}

// objectName is used in messages.
func objectName(obj runtime.Object) string {
	if m, ok := obj.(metav1.Object); ok {
		return m.GetName()
	}
	return ""
}
