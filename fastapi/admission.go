package fastapi

import (
	"github.com/k2d-project/k2d/codec"
	"github.com/valyala/fasthttp"
	"k8s.io/apimachinery/pkg/runtime"
)

// admission is one admission step that needs server state, run after defaulting and
// validation and before the object is stored: allocating ClusterIPs and NodePorts, adding a
// pod's service account volume... old is nil on create. A dry run must change no state.
type admission func(s *Server, ctx *fasthttp.RequestCtx, k *codec.Kind, obj, old runtime.Object, dryRun bool) *apiError

// admissions holds the steps by group-resource; each kind's file registers its own in an init
// func.
var admissions = map[string][]admission{}

// admitState runs the kind's admission steps.
func (s *Server) admitState(ctx *fasthttp.RequestCtx, k *codec.Kind, obj, old runtime.Object, dryRun bool) *apiError {
	for _, a := range admissions[k.GroupResource()] {
		if aerr := a(s, ctx, k, obj, old, dryRun); aerr != nil {
			return aerr
		}
	}
	return nil
}
