package fastapi

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"io"
	"strings"

	"github.com/k2d-project/k2d/codec/openapi"
	"github.com/valyala/fasthttp"
)

// serveOpenAPI answers /openapi/v2, /openapi/v3 and /openapi/v3/{api/v1|apis/g/v}. The
// documents are embedded gzip-compressed and sent as they are to clients that accept gzip
// (every Go client does); others get them inflated as a stream, never whole in the heap.
func (s *Server) serveOpenAPI(ctx *fasthttp.RequestCtx, path string) {
	switch {
	case path == "/openapi/v2":
		accept := string(ctx.Request.Header.Peek("Accept"))
		if strings.Contains(accept, "protobuf") && !strings.Contains(accept, "json") && !strings.Contains(accept, "*/*") {
			writeError(ctx, errNotAcceptable())
			return
		}
		writeGzip(ctx, openapi.V2Gzip(), "")
	case path == "/openapi/v3" || path == "/openapi/v3/":
		writeJSON(ctx, 200, mimeJSON, openapi.V3IndexJSON())
	case strings.HasPrefix(path, "/openapi/v3/"):
		gz, hash, ok := openapi.V3Gzip(strings.TrimPrefix(path, "/openapi/v3/"))
		if !ok {
			writeError(ctx, errPathNotFound(path))
			return
		}
		if h := ctx.QueryArgs().Peek("hash"); len(h) > 0 && string(h) == hash {
			// The hash names this exact document: clients may cache it for good.
			ctx.Response.Header.Set("Cache-Control", "public, immutable")
		}
		ctx.Response.Header.Set("Etag", `"`+hash+`"`)
		writeGzip(ctx, gz, "public, immutable")
	default:
		writeError(ctx, errPathNotFound(path))
	}
}

func writeGzip(ctx *fasthttp.RequestCtx, gz []byte, cacheControl string) {
	ctx.SetContentType(mimeJSON)
	if cacheControl == "" {
		ctx.Response.Header.Set("Cache-Control", "no-cache, private")
	}
	if bytes.Contains(ctx.Request.Header.Peek("Accept-Encoding"), []byte("gzip")) {
		ctx.Response.Header.Set("Content-Encoding", "gzip")
		ctx.Response.Header.Set("Vary", "Accept-Encoding")
		ctx.SetBody(gz)
		return
	}
	ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
		zr, err := gzip.NewReader(bytes.NewReader(gz))
		if err != nil {
			return
		}
		_, _ = io.Copy(w, zr)
	})
}
