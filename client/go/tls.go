package chainverify

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"

	v1 "chainverify/v1"
)

var (
	errNoServerName = errors.New("chainverify: no server name to verify: set tls.Config.ServerName " +
		"(crypto/tls reports no name for an IP address: use Verifier.VerifyConnectionFor, or " +
		"TLSConfig with ServerName set)")
	errNoCertificate = errors.New("chainverify: the peer sent no certificate")
)

// TLSConfig returns a copy of base (nil: an empty config) whose certificate
// checking is done by the service: InsecureSkipVerify turns crypto/tls's own off,
// and VerifyConnection is set to v.VerifyConnection (to VerifyConnectionFor
// base.ServerName when base names the server, which is how an IP address is
// verified). A VerifyConnection already in base runs after a TRUSTED verdict.
// RootCAs is not used. Use it for tls.Dial, http.Transport.TLSClientConfig and
// grpc-go's credentials.NewTLS.
func (v *Verifier) TLSConfig(base *tls.Config) *tls.Config {
	cfg := cloneConfig(base)
	cfg.InsecureSkipVerify = true
	verify := v.VerifyConnection
	if cfg.ServerName != "" {
		verify = v.VerifyConnectionFor(cfg.ServerName)
	}
	cfg.VerifyConnection = then(verify, cfg.VerifyConnection)
	return cfg
}

// ServerTLSConfig returns a copy of base (nil: an empty config) for a TLS server
// that verifies its clients through the service: a client certificate is required
// (tls.RequireAnyClientCert, so crypto/tls does not verify it itself) and
// VerifyClientConnection decides. A VerifyConnection already in base runs after a
// TRUSTED verdict. ClientCAs is not used.
func (v *Verifier) ServerTLSConfig(base *tls.Config) *tls.Config {
	cfg := cloneConfig(base)
	cfg.ClientAuth = tls.RequireAnyClientCert
	cfg.VerifyConnection = then(v.VerifyClientConnection, cfg.VerifyConnection)
	return cfg
}

// VerifyConnection is a tls.Config.VerifyConnection hook for TLS clients (use it
// with InsecureSkipVerify: true). It uploads the certificates the server sent, in
// order, its stapled OCSP response and cs.ServerName, usage SERVER_AUTH, and
// returns a *VerificationError unless the verdict is TRUSTED, a *ServiceError when
// there is no verdict. crypto/tls calls it on every handshake, resumed ones
// included. It fails when cs.ServerName is empty, as it is for an IP address:
// use VerifyConnectionFor then.
func (v *Verifier) VerifyConnection(cs tls.ConnectionState) error {
	if cs.ServerName == "" {
		return errNoServerName
	}
	return v.verifyServer(cs, cs.ServerName)
}

// VerifyConnectionFor is VerifyConnection checking the server against peerName (a
// DNS name or an IP address) instead of cs.ServerName.
func (v *Verifier) VerifyConnectionFor(peerName string) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		if peerName == "" {
			return errNoServerName
		}
		return v.verifyServer(cs, peerName)
	}
}

func (v *Verifier) verifyServer(cs tls.ConnectionState, peerName string) error {
	ders := rawCertificates(cs.PeerCertificates)
	return v.verifyHandshake(ders, VerifyOptions{
		PeerName:    peerName,
		Usage:       v1.Usage_SERVER_AUTH,
		StapledOCSP: cs.OCSPResponse,
	}, makeVerdictKey(v1.Usage_SERVER_AUTH, cs.ServerName, ders, cs.OCSPResponse))
}

// VerifyClientConnection is a tls.Config.VerifyConnection hook for TLS servers
// that verify their clients: the certificates the client sent go to the service
// with usage CLIENT_AUTH and no name. Errors as for VerifyConnection; a client
// that sent no certificate is refused. crypto/tls calls it on resumed sessions
// too, so a resumption is verified again.
func (v *Verifier) VerifyClientConnection(cs tls.ConnectionState) error {
	return v.verifyClient(rawCertificates(cs.PeerCertificates))
}

// VerifyPeerCertificate is a tls.Config.VerifyPeerCertificate hook for TLS
// servers that verify their clients (ClientAuth: tls.RequireAnyClientCert): as
// VerifyClientConnection, from the raw certificates. crypto/tls does not call
// this hook on resumed sessions; VerifyClientConnection runs on every handshake.
func (v *Verifier) VerifyPeerCertificate(rawCerts [][]byte, _ [][]*x509.Certificate) error {
	return v.verifyClient(rawCerts)
}

func (v *Verifier) verifyClient(ders [][]byte) error {
	return v.verifyHandshake(ders, VerifyOptions{Usage: v1.Usage_CLIENT_AUTH},
		makeVerdictKey(v1.Usage_CLIENT_AUTH, "", ders, nil))
}

// verifyHandshake asks the service and keeps a TRUSTED verdict under key.
func (v *Verifier) verifyHandshake(ders [][]byte, opts VerifyOptions, key verdictKey) error {
	if len(ders) == 0 {
		return errNoCertificate
	}
	// crypto/tls passes no context to its hooks: Config.Timeout bounds the call.
	resp, err := v.VerifyChain(context.Background(), ders, opts)
	if err != nil {
		return err
	}
	if resp.GetVerdict() != v1.Verdict_TRUSTED {
		return &VerificationError{PeerName: opts.PeerName, Response: resp}
	}
	v.verdicts.put(key, resp)
	return nil
}

// Verdict returns the TRUSTED verdict of a connection this Verifier verified as a
// client (VerifyConnection, VerifyConnectionFor, TLSConfig): pass
// conn.ConnectionState(), or *resp.TLS for net/http. The verdict carries the
// pruned chain (VerifiedChain), the unused uploads, the revocation answers, the
// policy version and the decision id.
//
// Verdicts are kept by what the handshake asked (the certificates as sent, the
// stapled OCSP response and cs.ServerName), the latest Config.VerdictCacheSize of
// them; so a connection whose verdict was pushed out by newer ones, or which
// another Verifier verified, has none (false). Two connections that sent the same
// chain and staple under the same name share the latest verdict.
func (v *Verifier) Verdict(cs tls.ConnectionState) (*v1.VerifyResponse, bool) {
	return v.verdicts.get(makeVerdictKey(v1.Usage_SERVER_AUTH, cs.ServerName,
		rawCertificates(cs.PeerCertificates), cs.OCSPResponse))
}

// ClientVerdict is Verdict for a TLS server's view of its client (ServerTLSConfig,
// VerifyClientConnection, VerifyPeerCertificate): pass *r.TLS in an http.Handler.
func (v *Verifier) ClientVerdict(cs tls.ConnectionState) (*v1.VerifyResponse, bool) {
	return v.verdicts.get(makeVerdictKey(v1.Usage_CLIENT_AUTH, "",
		rawCertificates(cs.PeerCertificates), nil))
}

func rawCertificates(certs []*x509.Certificate) [][]byte {
	ders := make([][]byte, len(certs))
	for i, c := range certs {
		ders[i] = c.Raw
	}
	return ders
}

func cloneConfig(base *tls.Config) *tls.Config {
	if base == nil {
		return &tls.Config{}
	}
	return base.Clone()
}

// then runs first and, when it accepts, next (if any).
func then(first, next func(tls.ConnectionState) error) func(tls.ConnectionState) error {
	if next == nil {
		return first
	}
	return func(cs tls.ConnectionState) error {
		if err := first(cs); err != nil {
			return err
		}
		return next(cs)
	}
}
