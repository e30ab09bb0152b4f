package chainverify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "chainverify/v1"
)

// DefaultTimeout bounds each call to the service when Config.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// DefaultVerdictCacheSize is how many TRUSTED verdicts Verdict and ClientVerdict
// can look up when Config.VerdictCacheSize is zero.
const DefaultVerdictCacheSize = 1024

// Config says how to reach the service and what to ask it.
type Config struct {
	// Target is the service's gRPC target, e.g. "127.0.0.1:50051" or
	// "dns:///chainverify.internal:50051". Required.
	Target string

	// TLS, when not nil, secures the connection to the service: set RootCAs (or
	// leave nil for the system roots) and ServerName, and Certificates for mutual
	// TLS. Nil means plaintext, which the server accepts on loopback only.
	TLS *tls.Config

	// Timeout bounds every call: each handshake's verification and each
	// VerifyChain whose context has no earlier deadline. Zero means
	// DefaultTimeout. crypto/tls gives VerifyConnection no context, so this (and
	// Close) is what ends a handshake's wait for the service.
	Timeout time.Duration

	// Policy is the trust policy to ask for by name; empty means the server's
	// default policy.
	Policy string

	// Labels are copied into every request's audit record, e.g.
	// {"service": "billing"}. The server allows at most 16.
	Labels map[string]string

	// VerdictCacheSize is how many of the latest TRUSTED verdicts are kept for
	// Verdict and ClientVerdict. Zero means DefaultVerdictCacheSize; negative keeps
	// none. It is never used to skip a call: every handshake asks the service.
	VerdictCacheSize int

	// DialOptions are added to the gRPC dial (interceptors, keepalive, a
	// custom dialer). They must not set transport credentials: use TLS.
	DialOptions []grpc.DialOption
}

// VerifyOptions are the per-call fields of VerifyChain.
type VerifyOptions struct {
	// PeerName is the DNS name or IP address the leaf must name. Empty checks no
	// name, which is only right when the caller checks identity itself.
	PeerName string
	// Usage is SERVER_AUTH (the zero value is treated so by the server) or
	// CLIENT_AUTH.
	Usage v1.Usage
	// Policy overrides Config.Policy when not empty.
	Policy string
	// StapledOCSP is the DER OCSP response the peer stapled, if any.
	StapledOCSP []byte
	// RequestID is echoed in the response and the audit record.
	RequestID string
	// Labels override Config.Labels when not nil.
	Labels map[string]string
	// VerificationTime verifies as of this instant instead of now; zero means now.
	// The policy must set allow_request_verification_time.
	VerificationTime time.Time
}

// Verifier asks one chainverify service for verdicts over one shared gRPC
// connection. It is safe for concurrent use; create one per service and Close it
// when done.
type Verifier struct {
	target   string
	timeout  time.Duration
	policy   string
	labels   map[string]string
	conn     *grpc.ClientConn
	client   v1.ChainVerifierClient
	verdicts *verdictCache
}

// New returns a Verifier for cfg.Target. It does not wait for the connection:
// gRPC connects in the background and reconnects as needed, and a call made while
// the service is unreachable fails at once with a *ServiceError (Unavailable).
func New(cfg Config) (*Verifier, error) {
	if cfg.Target == "" {
		return nil, errors.New("chainverify: Config.Target is required (e.g. \"127.0.0.1:50051\")")
	}
	transport := grpc.WithInsecure()
	if cfg.TLS != nil {
		transport = grpc.WithTransportCredentials(credentials.NewTLS(cfg.TLS))
	}
	opts := append([]grpc.DialOption{
		transport,
		grpc.WithDefaultCallOptions(grpc.ForceCodec(protoCodec{})),
	}, cfg.DialOptions...)
	conn, err := grpc.Dial(cfg.Target, opts...)
	if err != nil {
		return nil, fmt.Errorf("chainverify: dial %s: %w", cfg.Target, err)
	}
	v := &Verifier{
		target:   cfg.Target,
		timeout:  cfg.Timeout,
		policy:   cfg.Policy,
		labels:   copyLabels(cfg.Labels),
		conn:     conn,
		client:   v1.NewChainVerifierClient(conn),
		verdicts: newVerdictCache(cfg.VerdictCacheSize),
	}
	if v.timeout <= 0 {
		v.timeout = DefaultTimeout
	}
	return v, nil
}

// Close closes the connection to the service; calls in flight fail with a
// *ServiceError (Canceled), and so do hooks and calls made afterwards.
func (v *Verifier) Close() error {
	return v.conn.Close()
}

// Target is the service's gRPC target.
func (v *Verifier) Target() string { return v.target }

// VerifyChain asks the service about ders (DER certificates, leaf first, as the
// peer sent them). It returns the VerifyResponse whatever the verdict: a
// REJECTED chain is an answer, not an error. The error is a *ServiceError when
// the service gave no verdict (ctx canceled or past its deadline included). The
// call is bounded by ctx and by Config.Timeout, whichever ends first.
func (v *Verifier) VerifyChain(ctx context.Context, ders [][]byte, opts VerifyOptions) (*v1.VerifyResponse, error) {
	if len(ders) == 0 {
		return nil, errors.New("chainverify: VerifyChain needs at least one certificate")
	}
	for i, der := range ders {
		if len(der) == 0 {
			return nil, fmt.Errorf("chainverify: certificate %d is empty", i)
		}
	}
	req := &v1.VerifyRequest{
		Certificates:        ders,
		PeerName:            opts.PeerName,
		Usage:               opts.Usage,
		Policy:              v.policy,
		StapledOcspResponse: opts.StapledOCSP,
		RequestId:           opts.RequestID,
		Labels:              v.labels,
	}
	if opts.Policy != "" {
		req.Policy = opts.Policy
	}
	if opts.Labels != nil {
		req.Labels = opts.Labels
	}
	if !opts.VerificationTime.IsZero() {
		req.VerificationTime = timestamppb.New(opts.VerificationTime)
	}
	ctx, cancel := context.WithTimeout(ctx, v.timeout)
	defer cancel()
	resp, err := v.client.Verify(ctx, req)
	if err != nil {
		return nil, serviceError(v.target, err)
	}
	return resp, nil
}

func copyLabels(in map[string]string) map[string]string {
	if in == nil {
		return nil
	}
	out := make(map[string]string, len(in))
	for k, val := range in {
		out[k] = val
	}
	return out
}
