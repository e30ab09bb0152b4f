// Package chainverify lets a Go program hand its TLS trust decisions to the
// chainverify service (proto/chainverify/v1/verifier.proto).
//
// crypto/tls finishes the handshake without verifying the peer
// (InsecureSkipVerify), then calls the Verifier's hook, which uploads the
// certificates the peer sent (raw DER, in the order received), the OCSP response
// it stapled and the server name, and fails the handshake unless the verdict is
// TRUSTED. A service switches over by changing its tls.Config:
//
//	v, err := chainverify.New(chainverify.Config{Target: "127.0.0.1:50051"})
//	...
//	defer v.Close()
//	client := &http.Client{Transport: &http.Transport{TLSClientConfig: v.TLSConfig(nil)}}
//	// or tls.Dial("tcp", addr, v.TLSConfig(nil)),
//	// or grpc.WithTransportCredentials(credentials.NewTLS(v.TLSConfig(nil))).
//
// which is the same as
//
//	&tls.Config{InsecureSkipVerify: true, VerifyConnection: v.VerifyConnection}
//
// InsecureSkipVerify only turns off crypto/tls's own verification; the hook then
// rejects every connection the service does not call TRUSTED.
//
// Errors. A handshake the service rejects fails with a *VerificationError
// carrying the VerifyResponse; when the service gives no verdict (unreachable, too
// slow, or it refused the request) the handshake fails with a *ServiceError.
// There is no fallback to local verification: no verdict, no connection. Both
// come back through net/http and tls.Dial unchanged or wrapped, so errors.As finds
// them:
//
//	var verr *chainverify.VerificationError
//	if errors.As(err, &verr) { log.Print(verr.Response.GetStatus()) }
//
// Verdicts. After a successful handshake, Verdict(conn.ConnectionState()) (or
// Verdict(*resp.TLS) for net/http) returns the TRUSTED VerifyResponse, with the
// pruned chain the service built. See Verifier.Verdict for how it is kept.
//
// Servers verifying their clients use ServerTLSConfig (or the
// VerifyClientConnection / VerifyPeerCertificate hooks): the client's certificates
// are verified with usage CLIENT_AUTH and no name, and ClientVerdict returns the
// verdict in the handler.
//
// One Verifier holds one gRPC connection to the service, shared by every
// handshake and call; it is safe for concurrent use. Create one per service target
// and Close it when done.
package chainverify
