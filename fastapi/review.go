package fastapi

import (
	"github.com/k2d-project/k2d/codec"
	"github.com/valyala/fasthttp"
	authorizationv1 "k8s.io/api/authorization/v1"
)

// review answers SelfSubjectAccessReview and SelfSubjectRulesReview (`kubectl auth can-i`,
// k9s). The only identity k2d knows is the holder of its bearer token, who may do anything;
// the answer says so rather than leave clients guessing.
func (s *Server) review(ctx *fasthttp.RequestCtx, rp resourcePath) {
	k := rp.kind
	obj, _, aerr := readObject(ctx, k)
	if aerr != nil {
		writeError(ctx, aerr)
		return
	}
	switch r := obj.(type) {
	case *authorizationv1.SelfSubjectAccessReview:
		r.Status = authorizationv1.SubjectAccessReviewStatus{Allowed: true, Reason: "the k2d token grants full access"}
	case *authorizationv1.SelfSubjectRulesReview:
		r.Status = authorizationv1.SubjectRulesReviewStatus{
			ResourceRules:    []authorizationv1.ResourceRule{{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}}},
			NonResourceRules: []authorizationv1.NonResourceRule{{Verbs: []string{"*"}, NonResourceURLs: []string{"*"}}},
		}
	}
	b, err := codec.EncodeObject(k, obj)
	if err != nil {
		writeError(ctx, errInternal(err))
		return
	}
	writeJSON(ctx, 201, mimeJSON, b)
}
