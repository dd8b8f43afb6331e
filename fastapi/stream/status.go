package stream

import (
	"encoding/json"
	"errors"
	"strconv"

	"github.com/valyala/fasthttp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// apiStatus is implemented by errors that carry their own Kubernetes Status (the shape of
// apimachinery's APIStatus), so a caller can report NotFound or Forbidden instead of a 500.
type apiStatus interface{ Status() metav1.Status }

// resultStatus turns a Result into the Status written on the error channel, shaped as the
// kubelet writes it: remotecommand v4 clients read the exit code from the ExitCode cause.
func resultStatus(r Result) metav1.Status {
	if r.Err != nil {
		var as apiStatus
		if errors.As(r.Err, &as) {
			st := as.Status()
			if st.Status == "" {
				st.Status = metav1.StatusFailure
			}
			return st
		}
		return metav1.Status{
			Status:  metav1.StatusFailure,
			Code:    fasthttp.StatusInternalServerError,
			Reason:  metav1.StatusReasonInternalError,
			Message: "Internal error occurred: " + r.Err.Error(),
			Details: &metav1.StatusDetails{Causes: []metav1.StatusCause{{Message: r.Err.Error()}}},
		}
	}
	if r.ExitCode == 0 {
		return metav1.Status{Status: metav1.StatusSuccess}
	}
	code := r.ExitCode
	if code < 0 || code > 255 {
		// kubectl parses the cause as a uint8 and rejects anything else; 255 still fails.
		code = 255
	}
	s := strconv.Itoa(code)
	return metav1.Status{
		Status:  metav1.StatusFailure,
		Reason:  "NonZeroExitCode",
		Message: "command terminated with non-zero exit code: exit status " + s,
		Details: &metav1.StatusDetails{Causes: []metav1.StatusCause{{Type: "ExitCode", Message: s}}},
	}
}

// statusJSON encodes st; a metav1.Status always marshals.
func statusJSON(st *metav1.Status) []byte {
	b, err := json.Marshal(st)
	if err != nil {
		return []byte(`{"metadata":{},"status":"Failure","message":"cannot encode status"}`)
	}
	return b
}

// errorChannelPayload is what goes on the error channel at the end of a session. Protocols
// before v4 carry plain text and nothing at all on success.
func errorChannelPayload(r Result, jsonStatus bool) []byte {
	st := resultStatus(r)
	if jsonStatus {
		return statusJSON(&st)
	}
	if st.Status == metav1.StatusSuccess {
		return nil
	}
	return []byte(st.Message)
}

// writeErrorStatus answers a refused upgrade with a Status body that kubectl prints.
func writeErrorStatus(ctx *fasthttp.RequestCtx, code int, reason metav1.StatusReason, msg string) {
	st := metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   metav1.StatusFailure,
		Message:  msg,
		Reason:   reason,
		Code:     int32(code),
	}
	ctx.SetStatusCode(code)
	ctx.SetContentType("application/json")
	ctx.SetBody(statusJSON(&st))
}
