package fastapi

import (
	"github.com/k2d-project/k2d/codec"
	"github.com/valyala/fasthttp"
)

// writeError answers with the Status of err.
func writeError(ctx *fasthttp.RequestCtx, e *apiError) {
	b, err := codec.Marshal(&e.status)
	if err != nil {
		b = []byte(`{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"internal error","reason":"InternalError","code":500}`)
	}
	ctx.Response.Header.Set("Cache-Control", "no-cache, private")
	ctx.SetContentType(mimeJSON)
	ctx.SetStatusCode(int(e.status.Code))
	ctx.SetBody(b)
}

// writeJSON answers with code and an already-encoded JSON body.
func writeJSON(ctx *fasthttp.RequestCtx, code int, contentType string, body []byte) {
	ctx.Response.Header.Set("Cache-Control", "no-cache, private")
	ctx.SetContentType(contentType)
	ctx.SetStatusCode(code)
	ctx.SetBody(body)
}

// writeValue encodes v and answers with it.
func writeValue(ctx *fasthttp.RequestCtx, code int, contentType string, v any) {
	b, err := codec.Marshal(v)
	if err != nil {
		writeError(ctx, errInternal(err))
		return
	}
	writeJSON(ctx, code, contentType, b)
}
