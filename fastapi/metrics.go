package fastapi

import (
	"runtime/metrics"
	"strconv"
	"strings"

	"github.com/k2d-project/k2d/codec"
	"github.com/valyala/fasthttp"
)

// serveMetrics answers /metrics in the Prometheus text format: the number of requests sent
// to Docker (tests use it to prove that reads never reach Docker), objects held, and the Go
// runtime's memory in use.
func (s *Server) serveMetrics(ctx *fasthttp.RequestCtx) {
	var b []byte
	b = append(b, "# HELP k2d_docker_requests_total Requests k2d sent to the Docker Engine API.\n# TYPE k2d_docker_requests_total counter\nk2d_docker_requests_total "...)
	var calls uint64
	if s.cfg.Runtime != nil {
		calls = s.cfg.Runtime.DockerCalls()
	}
	b = strconv.AppendUint(b, calls, 10)
	b = append(b, "\n# HELP k2d_objects Objects held in the cache.\n# TYPE k2d_objects gauge\n"...)
	for _, k := range codec.Kinds {
		items, _ := s.cfg.Store.List(k.GroupResource(), "")
		b = append(b, `k2d_objects{resource="`...)
		b = append(b, k.GroupResource()...)
		b = append(b, `"} `...)
		b = strconv.AppendInt(b, int64(len(items)), 10)
		b = append(b, '\n')
	}
	b = append(b, "# HELP k2d_resource_version Current resourceVersion.\n# TYPE k2d_resource_version counter\nk2d_resource_version "...)
	b = strconv.AppendUint(b, s.cfg.Store.RV(), 10)
	inUse := GoMemoryInUse()
	b = append(b, "\n# HELP k2d_go_memory_in_use_bytes Go runtime memory minus released heap.\n# TYPE k2d_go_memory_in_use_bytes gauge\nk2d_go_memory_in_use_bytes "...)
	b = strconv.AppendUint(b, inUse, 10)
	b = append(b, "\n# HELP k2d_go_memory_class_bytes Go runtime memory by class (runtime/metrics /memory/classes).\n# TYPE k2d_go_memory_class_bytes gauge\n"...)
	for _, d := range metrics.All() {
		if !strings.HasPrefix(d.Name, "/memory/classes/") || d.Kind != metrics.KindUint64 {
			continue
		}
		one := []metrics.Sample{{Name: d.Name}}
		metrics.Read(one)
		b = append(b, `k2d_go_memory_class_bytes{class="`...)
		b = append(b, strings.TrimSuffix(strings.TrimPrefix(d.Name, "/memory/classes/"), ":bytes")...)
		b = append(b, `"} `...)
		b = strconv.AppendUint(b, one[0].Value.Uint64(), 10)
		b = append(b, '\n')
	}
	ctx.SetContentType("text/plain; version=0.0.4; charset=utf-8")
	ctx.SetBody(b)
}

// GoMemoryInUse is the memory the Go runtime holds from the OS and has not released
// (runtime/metrics total minus released heap): the figure /metrics reports, the budgets
// measure and the runtime compares with its soft memory limit.
func GoMemoryInUse() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64() - s[1].Value.Uint64()
}
