package chainverify

import (
	"errors"
	"fmt"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	v1 "chainverify/v1"
)

// VerificationError is the error a handshake fails with when the service's
// verdict is not TRUSTED. Match on Response.Status and Response.Errors[i].Id;
// the message (which includes the unstable diagnostic) is for humans.
type VerificationError struct {
	// The name that was checked against the leaf ("" for CLIENT_AUTH).
	PeerName string
	// The service's answer: REJECTED (or an unknown verdict, also not trusted).
	Response *v1.VerifyResponse
}

func (e *VerificationError) Error() string {
	r := e.Response
	var b strings.Builder
	fmt.Fprintf(&b, "chainverify: %s %s", r.GetVerdict(), r.GetStatus())
	if first := firstError(r); first != nil {
		fmt.Fprintf(&b, " (%s: %s)", first.GetId(), first.GetDiagnostic())
	}
	if e.PeerName != "" {
		fmt.Fprintf(&b, " for %q", e.PeerName)
	}
	if id := r.GetDecisionId(); id != "" {
		fmt.Fprintf(&b, ", decision %s", id)
	}
	return b.String()
}

// firstError is the first error of severity ERROR, else the first finding.
func firstError(r *v1.VerifyResponse) *v1.CertificateError {
	for _, e := range r.GetErrors() {
		if e.GetSeverity() == v1.CertificateError_ERROR {
			return e
		}
	}
	if len(r.GetErrors()) > 0 {
		return r.GetErrors()[0]
	}
	return nil
}

// ServiceError means there is no verdict: the service could not be reached, did
// not answer within the deadline, the call was canceled, or the service refused
// the request (INVALID_ARGUMENT, NOT_FOUND for an unknown policy,
// PERMISSION_DENIED, UNAVAILABLE when it could not audit-log the decision). A
// handshake that gets one fails: nothing is verified locally instead.
type ServiceError struct {
	// The gRPC target of the service.
	Target string
	// The gRPC status code, e.g. codes.Unavailable or codes.DeadlineExceeded.
	Code codes.Code
	// The gRPC status message.
	Message string
	err     error
}

func (e *ServiceError) Error() string {
	return fmt.Sprintf("chainverify: no verdict from the service at %s: %s: %s (not trusted: "+
		"there is no local fallback)", e.Target, e.Code, e.Message)
}

// Unwrap returns the gRPC status error.
func (e *ServiceError) Unwrap() error { return e.err }

// GRPCStatus lets status.FromError and status.Code read the gRPC status.
func (e *ServiceError) GRPCStatus() *status.Status { return status.New(e.Code, e.Message) }

func serviceError(target string, err error) error {
	if err == nil {
		return nil
	}
	var se *ServiceError
	if errors.As(err, &se) {
		return err
	}
	st := status.Convert(err)
	return &ServiceError{Target: target, Code: st.Code(), Message: st.Message(), err: err}
}
