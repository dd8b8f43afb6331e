package fastapi

import (
	"errors"
	"fmt"
	"strings"

	"github.com/k2d-project/k2d/cache"
	"github.com/k2d-project/k2d/codec"
	"github.com/k2d-project/k2d/reconcile"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// apiError is an error that carries the Kubernetes Status it is reported as.
type apiError struct {
	status metav1.Status
}

func (e *apiError) Error() string { return e.status.Message }

func newStatus(code int32, reason metav1.StatusReason, msg string) *apiError {
	return &apiError{status: metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   metav1.StatusFailure, Message: msg, Reason: reason, Code: code,
	}}
}

func withDetails(e *apiError, group, kind, name string) *apiError {
	e.status.Details = &metav1.StatusDetails{Group: group, Kind: kind, Name: name}
	return e
}

// resourceName returns "pods" or "events.events.k8s.io" as the API server prints it.
func resourceName(k *codec.Kind) string { return k.GroupResource() }

func errNotFound(k *codec.Kind, name string) *apiError {
	return withDetails(newStatus(404, metav1.StatusReasonNotFound,
		fmt.Sprintf("%s %q not found", resourceName(k), name)), k.Group, k.Resource, name)
}

func errNamespaceNotFound(ns string) *apiError {
	return withDetails(newStatus(404, metav1.StatusReasonNotFound,
		fmt.Sprintf("namespaces %q not found", ns)), "", "namespaces", ns)
}

func errAlreadyExists(k *codec.Kind, name string) *apiError {
	return withDetails(newStatus(409, metav1.StatusReasonAlreadyExists,
		fmt.Sprintf("%s %q already exists", resourceName(k), name)), k.Group, k.Resource, name)
}

func errConflict(k *codec.Kind, name, msg string) *apiError {
	return withDetails(newStatus(409, metav1.StatusReasonConflict, msg), k.Group, k.Resource, name)
}

func errInvalid(k *codec.Kind, name string, causes []codec.Cause) *apiError {
	e := withDetails(newStatus(422, metav1.StatusReasonInvalid, codec.InvalidMessage(codec.QualifiedKind(k), name, causes)),
		k.Group, k.Kind, name)
	for _, c := range causes {
		e.status.Details.Causes = append(e.status.Details.Causes, metav1.StatusCause{
			Type: metav1.CauseType(c.Type), Message: c.Message, Field: c.Field,
		})
	}
	return e
}

func errBadRequest(msg string) *apiError { return newStatus(400, metav1.StatusReasonBadRequest, msg) }

func errForbidden(k *codec.Kind, name, msg string) *apiError {
	return withDetails(newStatus(403, metav1.StatusReasonForbidden,
		fmt.Sprintf("%s %q is forbidden: %s", resourceName(k), name, msg)), k.Group, k.Resource, name)
}

func errMethodNotAllowed(method string) *apiError {
	return newStatus(405, metav1.StatusReasonMethodNotAllowed,
		fmt.Sprintf("the server does not allow this method on the requested resource (%s)", method))
}

func errUnsupportedMediaType(ct string) *apiError {
	return newStatus(415, metav1.StatusReasonUnsupportedMediaType,
		fmt.Sprintf("the body of the request was in an unknown format - accepted media types include: application/json, application/vnd.kubernetes.protobuf (create and update), application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml (patch); got %q", ct))
}

func errNotAcceptable() *apiError {
	return newStatus(406, metav1.StatusReasonNotAcceptable,
		"only the following media types are accepted: application/json, application/json;as=Table;v=v1;g=meta.k8s.io")
}

func errUnauthorized() *apiError {
	return newStatus(401, metav1.StatusReasonUnauthorized, "Unauthorized")
}

func errTooLarge() *apiError {
	return newStatus(413, metav1.StatusReasonRequestEntityTooLarge,
		fmt.Sprintf("Request entity too large: limit is %d", codec.MaxBodyBytes))
}

func errGone(msg string) *apiError { return newStatus(410, metav1.StatusReasonExpired, msg) }

func errPathNotFound(path string) *apiError {
	return newStatus(404, metav1.StatusReasonNotFound, "the server could not find the requested resource")
}

func errInternal(err error) *apiError {
	return newStatus(500, metav1.StatusReasonInternalError, fmt.Sprintf("Internal error occurred: %v", err))
}

// toStatus maps any error to the Status it is reported as.
func toStatus(k *codec.Kind, err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	var br *reconcile.BadRequestError
	if errors.As(err, &br) {
		return errBadRequest(br.Message)
	}
	var pnf *reconcile.PodNotFoundError
	if errors.As(err, &pnf) {
		return withDetails(newStatus(404, metav1.StatusReasonNotFound, pnf.Error()), "", "pods", pnf.Name)
	}
	var nf *cache.NotFoundError
	var ax *cache.AlreadyExistsError
	var cf *cache.ConflictError
	switch {
	case errors.As(err, &nf) && k != nil:
		return errNotFound(k, nf.Name)
	case errors.As(err, &ax) && k != nil:
		return errAlreadyExists(k, ax.Name)
	case errors.As(err, &cf) && k != nil:
		return errConflict(k, cf.Name, cf.Error())
	case errors.Is(err, cache.ErrExpired):
		return errGone("too old resource version")
	case errors.Is(err, cache.ErrNameRequired) && k != nil:
		return errInvalid(k, "", []codec.Cause{{Type: string(metav1.CauseTypeFieldValueRequired), Field: "metadata.name", Message: "name or generateName is required"}})
	case errors.Is(err, codec.ErrEmptyBody):
		return errBadRequest("the body of the request was empty")
	}
	if strings.HasPrefix(err.Error(), "cannot decode JSON") {
		return errBadRequest(err.Error())
	}
	return errInternal(err)
}
