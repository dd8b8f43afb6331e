package fastapi

import (
	"bufio"
	"errors"
	"strconv"
	"time"

	"github.com/k2d-project/k2d/cache"
	"github.com/k2d-project/k2d/codec"
	"github.com/valyala/fasthttp"
)

const (
	// defaultWatchTimeout ends watches that did not ask for a timeout, as the API server's
	// min-request-timeout does; clients re-watch from their last resourceVersion.
	defaultWatchTimeout = 30 * time.Minute
	// bookmarkInterval is how often a live watcher that allows bookmarks gets one.
	bookmarkInterval = time.Minute
)

// watch streams changes as newline-delimited watch events. It runs entirely from the cache.
func (s *Server) watch(ctx *fasthttp.RequestCtx, rp resourcePath, a accepted, o listOptions) {
	k := rp.kind
	if len(o.fields) > 0 {
		if err := o.fields.check(k.GroupResource(), k.New()); err != nil {
			writeError(ctx, errBadRequest(err.Error()))
			return
		}
	}
	var from uint64
	if !o.initialEvents && o.rv != "" && o.rv != "0" {
		from, _ = strconv.ParseUint(o.rv, 10, 64)
	}
	contentType := mimeJSON
	if a.table != "" {
		contentType = tableMime(a.table)
	}
	w, backlog, rv, err := s.cfg.Store.Watch(k.GroupResource(), rp.namespace, from)
	ctx.Response.Header.Set("Cache-Control", "no-cache, private")
	ctx.SetContentType(contentType)
	ctx.SetStatusCode(200)
	if err != nil {
		// The API server answers a too-old version with an ERROR event in a 200 stream.
		if !errors.Is(err, cache.ErrExpired) {
			writeError(ctx, toStatus(k, err))
			return
		}
		st := errGone("too old resource version: " + o.rv + " (" + strconv.FormatUint(s.cfg.Store.RV(), 10) + ")")
		body, _ := codec.Marshal(&st.status)
		ctx.SetBody(append(append([]byte(`{"type":"ERROR","object":`), body...), "}\n"...))
		return
	}
	timeout := defaultWatchTimeout
	if o.timeoutSeconds > 0 {
		timeout = time.Duration(o.timeoutSeconds) * time.Second
	}
	ws := &watchStream{k: k, o: o, table: a.table}
	done := s.ctx.Done()
	ctx.SetBodyStreamWriter(func(bw *bufio.Writer) {
		defer w.Stop()
		for _, ev := range backlog {
			ws.frame(bw, ev)
		}
		if o.initialEvents {
			ws.bookmark(bw, rv, true)
		}
		if bw.Buffered() == 0 {
			// fasthttp sends the response headers with the first chunk of the body. A client
			// waits for the headers before it counts a watch as established, so send one
			// newline at once: JSON stream decoders skip whitespace between objects.
			_ = bw.WriteByte('\n')
		}
		if bw.Flush() != nil {
			return
		}
		stop := time.NewTimer(timeout)
		defer stop.Stop()
		var tick <-chan time.Time
		if o.bookmarks {
			t := time.NewTicker(bookmarkInterval)
			defer t.Stop()
			tick = t.C
		}
		for {
			select {
			case ev, ok := <-w.Events():
				if !ok {
					return // fell behind or stopped: the client re-watches from its last version
				}
				ws.frame(bw, ev)
				// Drain what is already queued before flushing: one syscall for a burst.
				for n := len(w.Events()); n > 0; n-- {
					ev, ok := <-w.Events()
					if !ok {
						break
					}
					ws.frame(bw, ev)
				}
			case <-tick:
				rv := s.cfg.Store.RV()
				if len(w.Events()) > 0 {
					continue // a bookmark must not overtake queued events
				}
				ws.bookmark(bw, rv, false)
			case <-stop.C:
				return
			case <-done:
				return
			}
			if bw.Flush() != nil {
				return
			}
		}
	})
}

type watchStream struct {
	k        *codec.Kind
	o        listOptions
	table    string
	sentCols bool
	buf      []byte
}

// frame writes ev if it is visible through the selectors. An object that starts or stops
// matching is reported as ADDED or DELETED, as the API server does.
func (ws *watchStream) frame(bw *bufio.Writer, ev cache.Event) {
	typ := ev.Type
	now := ws.o.matches(ev.Entry)
	switch ev.Type {
	case cache.Modified:
		was := ev.Old != nil && ws.o.matches(ev.Old)
		switch {
		case now && !was:
			typ = cache.Added
		case !now && was:
			typ = cache.Deleted
		case !now:
			return
		}
	case cache.Deleted:
		if !(ev.Old != nil && ws.o.matches(ev.Old)) && !now {
			return
		}
	default:
		if !now {
			return
		}
	}
	b := ws.buf[:0]
	b = append(b, `{"type":"`...)
	b = append(b, typ...)
	b = append(b, `","object":`...)
	if ws.table != "" {
		b = ws.appendTableEvent(b, ev.Entry)
	} else {
		b = append(b, ev.Entry.JSON...)
	}
	b = append(b, "}\n"...)
	_, _ = bw.Write(b)
	ws.buf = b
}

func (ws *watchStream) appendTableEvent(b []byte, e *cache.Entry) []byte {
	rv := strconv.FormatUint(e.RV, 10)
	if !ws.sentCols {
		ws.sentCols = true
		return appendTable(b, ws.k, ws.table, []*cache.Entry{e}, rv, "", ws.o.includeObject)
	}
	// Later events leave out the column definitions, as the API server does.
	b = append(b, `{"kind":"Table","apiVersion":"meta.k8s.io/`...)
	b = append(b, ws.table...)
	b = append(b, `","metadata":{"resourceVersion":"`...)
	b = append(b, rv...)
	b = append(b, `"},"columnDefinitions":null,"rows":[`...)
	b = appendRow(b, ws.k, e, time.Now(), ws.o.includeObject)
	return append(b, "]}"...)
}

func (ws *watchStream) bookmark(bw *bufio.Writer, rv uint64, initialEnd bool) {
	b := ws.buf[:0]
	b = append(b, `{"type":"BOOKMARK","object":{"kind":"`...)
	b = append(b, ws.k.Kind...)
	b = append(b, `","apiVersion":"`...)
	b = append(b, ws.k.APIVersion()...)
	b = append(b, `","metadata":{"resourceVersion":"`...)
	b = strconv.AppendUint(b, rv, 10)
	b = append(b, '"')
	if initialEnd {
		b = append(b, `,"annotations":{"k8s.io/initial-events-end":"true"}`...)
	}
	b = append(b, "}}}\n"...)
	_, _ = bw.Write(b)
	ws.buf = b
}
