package fastapi

import (
	"github.com/k2d-project/k2d/codec"
	"github.com/valyala/fasthttp"
)

func allows(k *codec.Kind, verb string) bool {
	for _, v := range k.Verbs {
		if v == verb {
			return true
		}
	}
	return false
}

func subresource(k *codec.Kind, name string) *codec.Subresource {
	for i := range k.Subresources {
		if k.Subresources[i].Name == name {
			return &k.Subresources[i]
		}
	}
	return nil
}

// serveResource routes a request on a resource path by method and subresource.
func (s *Server) serveResource(ctx *fasthttp.RequestCtx, rp resourcePath) {
	k := rp.kind
	if k == nil || (rp.namespace != "" && !k.Namespaced) {
		writeError(ctx, errPathNotFound(string(ctx.Path())))
		return
	}
	method := string(ctx.Method())
	if rp.sub != "" {
		sr := subresource(k, rp.sub)
		if sr == nil {
			writeError(ctx, errPathNotFound(string(ctx.Path())))
			return
		}
		s.serveSubresource(ctx, rp, method)
		return
	}
	a := parseAccept(string(ctx.Request.Header.Peek("Accept")))
	if !a.acceptable() {
		writeError(ctx, errNotAcceptable())
		return
	}
	verb := ""
	switch method {
	case "GET":
		if rp.name != "" {
			verb = "get"
			break
		}
		o, aerr := parseListOptions(ctx)
		if aerr != nil {
			writeError(ctx, aerr)
			return
		}
		if o.watch {
			if !allows(k, "watch") {
				writeError(ctx, errMethodNotAllowed("watch"))
				return
			}
			s.watch(ctx, rp, a, o)
			return
		}
		if !allows(k, "list") {
			writeError(ctx, errMethodNotAllowed("list"))
			return
		}
		s.list(ctx, rp, a, o)
		return
	case "POST":
		if rp.name == "" {
			verb = "create"
		}
	case "PUT":
		if rp.name != "" {
			verb = "update"
		}
	case "PATCH":
		if rp.name != "" {
			verb = "patch"
		}
	case "DELETE":
		verb = "delete"
		if rp.name == "" {
			verb = "deletecollection"
		}
	}
	if verb == "" || !allows(k, verb) {
		writeError(ctx, errMethodNotAllowed(method))
		return
	}
	switch verb {
	case "get":
		s.get(ctx, rp, a)
	case "create":
		if k.Review {
			s.review(ctx, rp)
			return
		}
		s.create(ctx, rp)
	case "update":
		s.update(ctx, rp)
	case "patch":
		s.patch(ctx, rp)
	case "delete":
		s.delete(ctx, rp)
	case "deletecollection":
		s.deleteCollection(ctx, rp)
	}
}

func (s *Server) serveSubresource(ctx *fasthttp.RequestCtx, rp resourcePath, method string) {
	switch rp.sub {
	case "status":
		switch method {
		case "GET":
			s.get(ctx, rp, parseAccept(string(ctx.Request.Header.Peek("Accept"))))
		case "PUT":
			s.update(ctx, rp)
		case "PATCH":
			s.patch(ctx, rp)
		default:
			writeError(ctx, errMethodNotAllowed(method))
		}
	case "log":
		if method != "GET" {
			writeError(ctx, errMethodNotAllowed(method))
			return
		}
		s.podLog(ctx, rp)
	case "exec", "attach":
		if method != "GET" && method != "POST" {
			writeError(ctx, errMethodNotAllowed(method))
			return
		}
		s.podStream(ctx, rp)
	case "portforward":
		if method != "GET" && method != "POST" {
			writeError(ctx, errMethodNotAllowed(method))
			return
		}
		s.podPortForward(ctx, rp)
	case "scale":
		s.serveScale(ctx, rp, method) // scale.go
	default:
		writeError(ctx, errPathNotFound(string(ctx.Path())))
	}
}
