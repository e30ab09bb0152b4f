package chainverify_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"chainverify"
	v1 "chainverify/v1"
)

func newVerifier(t *testing.T, cfg chainverify.Config) *chainverify.Verifier {
	t.Helper()
	if cfg.Target == "" {
		cfg.Target = env.target
	}
	v, err := chainverify.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

// startHTTPS serves "hello" over TLS with cert; returns its address,
// 127.0.0.1:PORT.
func startHTTPS(t *testing.T, cert tls.Certificate) string {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello")
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.Config.ErrorLog = quietLog // the refused handshakes are the tests' point
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

var quietLog = log.New(io.Discard, "", 0)

// httpsURL is the URL of the server at addr under host name host.
func httpsURL(host, addr string) string {
	_, port, _ := net.SplitHostPort(addr)
	return "https://" + net.JoinHostPort(host, port) + "/"
}

func httpClient(v *chainverify.Verifier) *http.Client {
	return &http.Client{
		Transport: &http.Transport{TLSClientConfig: v.TLSConfig(nil)},
		Timeout:   30 * time.Second,
	}
}

func subjects(chain []*v1.CertificateDetails) []string {
	var out []string
	for _, c := range chain {
		out = append(out, c.GetSubject())
	}
	return out
}

func errorIDs(r *v1.VerifyResponse) []string {
	var out []string
	for _, e := range r.GetErrors() {
		out = append(out, e.GetId())
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// checkTrustedChain checks a verdict on serverCert(env.good, ...) as sent: the
// leaf and intermediate from the upload, the root from the policy, the unrelated
// certificate (upload #2) left out.
func checkTrustedChain(t *testing.T, r *v1.VerifyResponse) {
	t.Helper()
	if r.GetVerdict() != v1.Verdict_TRUSTED || r.GetStatus() != v1.Status_OK {
		t.Fatalf("verdict %v %v, errors %v", r.GetVerdict(), r.GetStatus(), errorIDs(r))
	}
	want := []string{"CN=localhost", "CN=Go Test Intermediate", "CN=Go Test Root"}
	if got := subjects(r.GetVerifiedChain()); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("verified chain %q, want %q", got, want)
	}
	wantSources := []v1.CertificateSource{v1.CertificateSource_REQUEST, v1.CertificateSource_REQUEST,
		v1.CertificateSource_TRUST_STORE}
	for i, c := range r.GetVerifiedChain() {
		if i < len(wantSources) && c.GetSource() != wantSources[i] {
			t.Errorf("chain[%d] source %v, want %v", i, c.GetSource(), wantSources[i])
		}
		if bytes.Equal(c.GetDer(), env.extra.der()) {
			t.Errorf("chain[%d] is the unrelated extra certificate", i)
		}
	}
	if got := fmt.Sprint(r.GetUnusedCertificateIndices()); got != "[2]" {
		t.Errorf("unused uploads %s, want [2] (the extra certificate)", got)
	}
	if r.GetPolicyName() != "p" || !strings.HasPrefix(r.GetPolicyVersion(), "go") {
		t.Errorf("policy %q version %q", r.GetPolicyName(), r.GetPolicyVersion())
	}
}

func TestHTTPSTrustedVerdictHasPrunedChain(t *testing.T) {
	v := newVerifier(t, chainverify.Config{Labels: map[string]string{"lang": "go"}})
	addr := startHTTPS(t, serverCert(env.good, env.goodOCSP))
	resp, err := httpClient(v).Get(httpsURL("localhost", addr))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "hello" {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
	verdict, ok := v.Verdict(*resp.TLS)
	if !ok {
		t.Fatal("no verdict for the connection")
	}
	checkTrustedChain(t, verdict)
	// The stapled response reached the service and answered for the leaf.
	rev := verdict.GetRevocation()
	if len(rev) == 0 || rev[0].GetChainIndex() != 0 || rev[0].GetState() != v1.RevocationResult_GOOD ||
		!strings.HasPrefix(rev[0].GetSource(), "stapled-ocsp:") {
		t.Errorf("leaf revocation %v, want GOOD from stapled-ocsp", rev)
	}
	// The decision is in the audit log, with the Config's labels.
	audit, err := os.ReadFile(filepath.Join(env.dir, "plain-audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(audit), "\n") {
		if strings.Contains(line, verdict.GetDecisionId()) {
			if !strings.Contains(line, `"lang":"go"`) {
				t.Errorf("audit record without the label: %s", line)
			}
			return
		}
	}
	t.Errorf("decision %s not in the audit log", verdict.GetDecisionId())
}

func TestRejectedHandshakeCarriesVerdict(t *testing.T) {
	v := newVerifier(t, chainverify.Config{})
	cases := []struct {
		name   string
		cert   tls.Certificate
		host   string
		status v1.Status
		errID  string
	}{
		{"wrong host name", serverCert(env.good, env.goodOCSP), "wrong.example.com",
			v1.Status_NAME_MISMATCH, "name.mismatch"},
		{"expired leaf", serverCert(env.expired, nil), "localhost",
			v1.Status_EXPIRED, "validity.expired"},
		{"revoked leaf (stapled OCSP)", serverCert(env.revoked, env.revokedOCSP), "localhost",
			v1.Status_REVOKED, "revocation.revoked"},
	}
	for _, tc := range cases {
		tc := tc
		t.Run(tc.name, func(t *testing.T) {
			addr := startHTTPS(t, tc.cert)
			client := httpClient(v)
			// Whatever the name in the URL, connect to the test server.
			client.Transport.(*http.Transport).DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, addr)
			}
			resp, err := client.Get(httpsURL(tc.host, addr))
			if err == nil {
				resp.Body.Close()
				t.Fatal("the request succeeded")
			}
			var verr *chainverify.VerificationError
			if !errors.As(err, &verr) {
				t.Fatalf("error %v (%T) is not a *VerificationError", err, err)
			}
			r := verr.Response
			if r.GetVerdict() != v1.Verdict_REJECTED || r.GetStatus() != tc.status {
				t.Errorf("verdict %v %v, want REJECTED %v", r.GetVerdict(), r.GetStatus(), tc.status)
			}
			if !contains(errorIDs(r), tc.errID) {
				t.Errorf("error ids %v, want %s", errorIDs(r), tc.errID)
			}
			if verr.PeerName != tc.host || !strings.Contains(err.Error(), tc.status.String()) {
				t.Errorf("peer name %q, message %q", verr.PeerName, err)
			}
		})
	}
	// The same through plain tls.Dial: the handshake itself fails.
	t.Run("tls.Dial wrong host name", func(t *testing.T) {
		addr := startHTTPS(t, serverCert(env.good, env.goodOCSP))
		conn, err := tls.Dial("tcp", addr, v.TLSConfig(&tls.Config{ServerName: "wrong.example.com"}))
		if err == nil {
			conn.Close()
			t.Fatal("handshake succeeded")
		}
		var verr *chainverify.VerificationError
		if !errors.As(err, &verr) || verr.Response.GetStatus() != v1.Status_NAME_MISMATCH {
			t.Fatalf("error %v, want NAME_MISMATCH", err)
		}
	})
}

func TestServerNameAndIPAddresses(t *testing.T) {
	v := newVerifier(t, chainverify.Config{})
	addr := startHTTPS(t, serverCert(env.good, env.goodOCSP))
	// The form, dialed by IP: crypto/tls gives the hook no name, so it
	// refuses rather than verify without one.
	_, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, VerifyConnection: v.VerifyConnection})
	if err == nil || !strings.Contains(err.Error(), "no server name") {
		t.Fatalf("dial by IP with VerifyConnection: %v, want a missing-name error", err)
	}
	// VerifyConnectionFor names the peer: the leaf has no IP SAN, so 127.0.0.1
	// does not match, "localhost" does.
	_, err = tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, VerifyConnection: v.VerifyConnectionFor("127.0.0.1")})
	var verr *chainverify.VerificationError
	if !errors.As(err, &verr) || verr.Response.GetStatus() != v1.Status_NAME_MISMATCH {
		t.Fatalf("VerifyConnectionFor(127.0.0.1): %v, want NAME_MISMATCH", err)
	}
	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, VerifyConnection: v.VerifyConnectionFor("localhost")})
	if err != nil {
		t.Fatalf("VerifyConnectionFor(localhost): %v", err)
	}
	conn.Close()
	// TLSConfig with ServerName set does the same.
	conn, err = tls.Dial("tcp", addr, v.TLSConfig(&tls.Config{ServerName: "localhost"}))
	if err != nil {
		t.Fatalf("TLSConfig(ServerName localhost): %v", err)
	}
	defer conn.Close()
	verdict, ok := v.Verdict(conn.ConnectionState())
	if !ok {
		t.Fatal("no verdict for the connection")
	}
	checkTrustedChain(t, verdict)
}

func TestServiceDownFailsClosed(t *testing.T) {
	down := closedPort(t)
	v := newVerifier(t, chainverify.Config{Target: down})
	addr := startHTTPS(t, serverCert(env.good, env.goodOCSP))
	resp, err := httpClient(v).Get(httpsURL("localhost", addr))
	if err == nil {
		resp.Body.Close()
		t.Fatal("the request succeeded with the service down")
	}
	var serr *chainverify.ServiceError
	if !errors.As(err, &serr) {
		t.Fatalf("error %v (%T) is not a *ServiceError", err, err)
	}
	if serr.Code != codes.Unavailable || serr.Target != down {
		t.Errorf("code %v target %q, want Unavailable %q", serr.Code, serr.Target, down)
	}
	if msg := err.Error(); !strings.Contains(msg, down) || !strings.Contains(msg, "no verdict") {
		t.Errorf("unclear message: %s", msg)
	}
	var verr *chainverify.VerificationError
	if errors.As(err, &verr) {
		t.Errorf("a verdict without a service: %v", verr)
	}
	// The raw call fails the same way, and status.Code reads it.
	_, err = v.VerifyChain(context.Background(), [][]byte{env.good.der()}, chainverify.VerifyOptions{})
	if status.Code(err) != codes.Unavailable {
		t.Errorf("VerifyChain: %v, want Unavailable", err)
	}
}

func TestTimeoutAndCancellation(t *testing.T) {
	hang := startBlackHole(t)
	ders := [][]byte{env.good.der(), env.inter.der()}
	t.Run("Config.Timeout bounds VerifyChain", func(t *testing.T) {
		v := newVerifier(t, chainverify.Config{Target: hang, Timeout: 300 * time.Millisecond})
		start := time.Now()
		_, err := v.VerifyChain(context.Background(), ders, chainverify.VerifyOptions{})
		var serr *chainverify.ServiceError
		if !errors.As(err, &serr) || serr.Code != codes.DeadlineExceeded {
			t.Fatalf("%v, want DeadlineExceeded", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("took %v", d)
		}
	})
	t.Run("Config.Timeout bounds a handshake", func(t *testing.T) {
		v := newVerifier(t, chainverify.Config{Target: hang, Timeout: 300 * time.Millisecond})
		addr := startHTTPS(t, serverCert(env.good, env.goodOCSP))
		_, err := tls.Dial("tcp", addr, v.TLSConfig(&tls.Config{ServerName: "localhost"}))
		var serr *chainverify.ServiceError
		if !errors.As(err, &serr) || serr.Code != codes.DeadlineExceeded {
			t.Fatalf("%v, want DeadlineExceeded", err)
		}
	})
	t.Run("context cancellation", func(t *testing.T) {
		v := newVerifier(t, chainverify.Config{Target: hang})
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(200*time.Millisecond, cancel)
		start := time.Now()
		_, err := v.VerifyChain(ctx, ders, chainverify.VerifyOptions{})
		if status.Code(err) != codes.Canceled {
			t.Fatalf("%v, want Canceled", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("took %v (the default timeout is %v)", d, chainverify.DefaultTimeout)
		}
	})
	t.Run("context deadline", func(t *testing.T) {
		v := newVerifier(t, chainverify.Config{Target: hang})
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		if _, err := v.VerifyChain(ctx, ders, chainverify.VerifyOptions{}); status.Code(err) != codes.DeadlineExceeded {
			t.Fatalf("%v, want DeadlineExceeded", err)
		}
	})
}

func TestVerifyChain(t *testing.T) {
	v := newVerifier(t, chainverify.Config{Labels: map[string]string{"lang": "go"}})
	ctx := context.Background()
	ders := [][]byte{env.good.der(), env.inter.der(), env.extra.der()}
	t.Run("trusted", func(t *testing.T) {
		r, err := v.VerifyChain(ctx, ders, chainverify.VerifyOptions{
			PeerName: "localhost", StapledOCSP: env.goodOCSP, RequestID: "go-raw"})
		if err != nil {
			t.Fatal(err)
		}
		checkTrustedChain(t, r)
		if r.GetRequestId() != "go-raw" {
			t.Errorf("request id %q", r.GetRequestId())
		}
	})
	t.Run("rejected is an answer, not an error", func(t *testing.T) {
		r, err := v.VerifyChain(ctx, ders, chainverify.VerifyOptions{PeerName: "wrong.example.com"})
		if err != nil || r.GetStatus() != v1.Status_NAME_MISMATCH {
			t.Fatalf("%v, %v", r.GetStatus(), err)
		}
	})
	t.Run("client certificate with usage CLIENT_AUTH", func(t *testing.T) {
		client := [][]byte{env.client.der(), env.inter.der()}
		r, err := v.VerifyChain(ctx, client, chainverify.VerifyOptions{Usage: v1.Usage_CLIENT_AUTH})
		if err != nil || r.GetVerdict() != v1.Verdict_TRUSTED {
			t.Fatalf("CLIENT_AUTH: %v %v %v", r.GetStatus(), errorIDs(r), err)
		}
		r, err = v.VerifyChain(ctx, client, chainverify.VerifyOptions{Usage: v1.Usage_SERVER_AUTH})
		if err != nil || r.GetStatus() != v1.Status_USAGE_NOT_ALLOWED {
			t.Fatalf("SERVER_AUTH: %v %v", r.GetStatus(), err)
		}
	})
	t.Run("unknown policy", func(t *testing.T) {
		_, err := v.VerifyChain(ctx, ders, chainverify.VerifyOptions{Policy: "no-such-policy"})
		var serr *chainverify.ServiceError
		if !errors.As(err, &serr) || serr.Code != codes.NotFound {
			t.Fatalf("%v, want NotFound", err)
		}
	})
	t.Run("bad input", func(t *testing.T) {
		if _, err := v.VerifyChain(ctx, nil, chainverify.VerifyOptions{}); err == nil ||
			!strings.Contains(err.Error(), "at least one certificate") {
			t.Errorf("no certificates: %v", err)
		}
		if _, err := v.VerifyChain(ctx, [][]byte{env.good.der(), nil}, chainverify.VerifyOptions{}); err == nil ||
			!strings.Contains(err.Error(), "certificate 1 is empty") {
			t.Errorf("empty certificate: %v", err)
		}
		if _, err := chainverify.New(chainverify.Config{}); err == nil {
			t.Error("New without a target succeeded")
		}
	})
	t.Run("closed verifier", func(t *testing.T) {
		closed, err := chainverify.New(chainverify.Config{Target: env.target})
		if err != nil {
			t.Fatal(err)
		}
		closed.Close()
		_, err = closed.VerifyChain(ctx, ders, chainverify.VerifyOptions{})
		var serr *chainverify.ServiceError
		if !errors.As(err, &serr) || serr.Code != codes.Canceled {
			t.Fatalf("%v, want Canceled", err)
		}
	})
}

// serveOnce accepts one TLS connection with cfg, handshakes, and reports the
// handshake error or the client's verdict.
type serverResult struct {
	err     error
	verdict *v1.VerifyResponse
	found   bool
}

func serveOnce(t *testing.T, v *chainverify.Verifier, cfg *tls.Config) (string, <-chan serverResult) {
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	results := make(chan serverResult, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			results <- serverResult{err: err}
			return
		}
		defer conn.Close()
		tc := conn.(*tls.Conn)
		if err := tc.Handshake(); err != nil {
			results <- serverResult{err: err}
			return
		}
		verdict, found := v.ClientVerdict(tc.ConnectionState())
		io.WriteString(tc, "ok\n")
		results <- serverResult{verdict: verdict, found: found}
	}()
	return ln.Addr().String(), results
}

func TestClientAuthentication(t *testing.T) {
	v := newVerifier(t, chainverify.Config{})
	serverTLS := &tls.Config{Certificates: []tls.Certificate{serverCert(env.good, env.goodOCSP)}}
	configs := map[string]*tls.Config{
		"ServerTLSConfig": v.ServerTLSConfig(serverTLS),
		"VerifyPeerCertificate": {
			Certificates:          serverTLS.Certificates,
			ClientAuth:            tls.RequireAnyClientCert,
			VerifyPeerCertificate: v.VerifyPeerCertificate,
		},
	}
	clients := []struct {
		name   string
		cert   tls.Certificate
		status v1.Status
	}{
		{"trusted client", clientCert(env.client, env.inter), v1.Status_OK},
		{"server certificate as client", clientCert(env.good, env.inter), v1.Status_USAGE_NOT_ALLOWED},
		{"untrusted issuer", clientCert(env.stranger), v1.Status_NO_PATH_TO_TRUSTED_ANCHOR},
	}
	for _, hook := range []string{"ServerTLSConfig", "VerifyPeerCertificate"} {
		for _, c := range clients {
			hook, c := hook, c
			t.Run(hook+"/"+c.name, func(t *testing.T) {
				addr, results := serveOnce(t, v, configs[hook])
				conn, err := tls.Dial("tcp", addr, v.TLSConfig(&tls.Config{
					ServerName: "localhost", Certificates: []tls.Certificate{c.cert}}))
				if err == nil {
					// TLS 1.3: the server checks the client after the client's
					// handshake is done; its verdict shows on the first read.
					_, err = bufio.NewReader(conn).ReadString('\n')
					conn.Close()
				}
				var res serverResult
				select {
				case res = <-results:
				case <-time.After(30 * time.Second):
					t.Fatal("the server did not finish its handshake")
				}
				if c.status == v1.Status_OK {
					if err != nil || res.err != nil {
						t.Fatalf("client: %v, server: %v", err, res.err)
					}
					if !res.found {
						t.Fatal("no verdict for the client connection")
					}
					if got := subjects(res.verdict.GetVerifiedChain()); len(got) != 3 || got[0] != "CN=Go Test Client" {
						t.Errorf("client chain %q", got)
					}
					return
				}
				if err == nil {
					t.Error("the client was not refused")
				}
				var verr *chainverify.VerificationError
				if !errors.As(res.err, &verr) {
					t.Fatalf("server error %v (%T) is not a *VerificationError", res.err, res.err)
				}
				if verr.Response.GetStatus() != c.status || verr.PeerName != "" {
					t.Errorf("status %v peer name %q, want %v and none", verr.Response.GetStatus(), verr.PeerName, c.status)
				}
			})
		}
	}
	// An http.Handler reads its client's verdict from r.TLS.
	t.Run("http handler", func(t *testing.T) {
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			verdict, ok := v.ClientVerdict(*r.TLS)
			if !ok {
				http.Error(w, "no verdict", http.StatusForbidden)
				return
			}
			fmt.Fprintf(w, "%v %s", verdict.GetVerdict(), verdict.GetVerifiedChain()[0].GetSubject())
		}))
		srv.TLS = v.ServerTLSConfig(serverTLS)
		srv.Config.ErrorLog = quietLog
		srv.StartTLS()
		defer srv.Close()
		client := &http.Client{Transport: &http.Transport{TLSClientConfig: v.TLSConfig(&tls.Config{
			Certificates: []tls.Certificate{clientCert(env.client, env.inter)}})}}
		resp, err := client.Get(strings.Replace(srv.URL, "127.0.0.1", "localhost", 1))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != "TRUSTED CN=Go Test Client" {
			t.Errorf("handler saw %d %q", resp.StatusCode, body)
		}
	})
}

func TestConcurrentHandshakesShareOneConnection(t *testing.T) {
	const handshakes = 50
	fwd := startForwarder(t, env.target)
	v := newVerifier(t, chainverify.Config{Target: fwd.addr()})
	addr := startHTTPS(t, serverCert(env.good, env.goodOCSP))
	// No session cache: every handshake is a full one.
	cfg := v.TLSConfig(&tls.Config{ServerName: "localhost"})
	start := make(chan struct{})
	errs := make(chan error, handshakes)
	var wg sync.WaitGroup
	for i := 0; i < handshakes; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			conn, err := tls.Dial("tcp", addr, cfg)
			if err != nil {
				errs <- err
				return
			}
			defer conn.Close()
			if _, ok := v.Verdict(conn.ConnectionState()); !ok {
				errs <- errors.New("no verdict for a connection")
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := fwd.accepted.Load(); n != 1 {
		t.Errorf("the service accepted %d TCP connections for %d handshakes, want 1", n, handshakes)
	}
}

func TestServiceOverTLS(t *testing.T) {
	policy := writeFile(env.dir, "tls-policy.textproto", fmt.Sprintf(
		"version: \"go-tls\"\ndefault_policy: \"p\"\n"+
			"policies { name: \"p\" trust_stores { pem_file: %q } profile: RFC5280 }\n"+
			"authorization { grants { identities: %q policies: \"p\" } }\n",
		filepath.Join(env.dir, "root.pem"), clientSPIFFE))
	svc, err := startService(env.dir, "tls", "--policy_file="+policy,
		"--tls_cert="+filepath.Join(env.dir, "service-chain.pem"),
		"--tls_key="+filepath.Join(env.dir, "good.key"),
		"--tls_client_ca="+filepath.Join(env.dir, "root.pem"))
	if err != nil {
		t.Fatal(err)
	}
	defer svc.stop()
	ders := [][]byte{env.good.der(), env.inter.der()}
	ask := func(t *testing.T, tlsCfg *tls.Config) (*v1.VerifyResponse, error) {
		v := newVerifier(t, chainverify.Config{Target: svc.target, TLS: tlsCfg, Timeout: 5 * time.Second})
		return v.VerifyChain(context.Background(), ders, chainverify.VerifyOptions{PeerName: "localhost"})
	}
	client := []tls.Certificate{clientCert(env.client, env.inter)}
	t.Run("mutual TLS", func(t *testing.T) {
		r, err := ask(t, &tls.Config{ServerName: "localhost", RootCAs: rootPool(), Certificates: client})
		if err != nil || r.GetVerdict() != v1.Verdict_TRUSTED {
			t.Fatalf("%v %v", r.GetStatus(), err)
		}
	})
	t.Run("without a client certificate", func(t *testing.T) {
		_, err := ask(t, &tls.Config{ServerName: "localhost", RootCAs: rootPool()})
		var serr *chainverify.ServiceError
		if !errors.As(err, &serr) || serr.Code != codes.Unavailable {
			t.Fatalf("%v, want Unavailable", err)
		}
	})
	// The service's own certificate checked by chainverify (the plaintext
	// service) through grpc-go's credentials.NewTLS.
	plain := newVerifier(t, chainverify.Config{})
	t.Run("grpc credentials verified by chainverify", func(t *testing.T) {
		r, err := ask(t, plain.TLSConfig(&tls.Config{ServerName: "localhost", Certificates: client}))
		if err != nil || r.GetVerdict() != v1.Verdict_TRUSTED {
			t.Fatalf("%v %v", r.GetStatus(), err)
		}
	})
	t.Run("grpc credentials rejected by chainverify", func(t *testing.T) {
		_, err := ask(t, plain.TLSConfig(&tls.Config{ServerName: "wrong.example.com", Certificates: client}))
		var serr *chainverify.ServiceError
		if !errors.As(err, &serr) || serr.Code != codes.Unavailable {
			t.Fatalf("%v, want Unavailable", err)
		}
		if !strings.Contains(err.Error(), "NAME_MISMATCH") {
			t.Errorf("the rejection is not in the message: %v", err)
		}
	})
}

func TestTLSVersionsAndResumption(t *testing.T) {
	v := newVerifier(t, chainverify.Config{})
	good := startHTTPS(t, serverCert(env.good, env.goodOCSP))
	revoked := startHTTPS(t, serverCert(env.revoked, env.revokedOCSP))
	for _, version := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		version := version
		name := map[uint16]string{tls.VersionTLS12: "TLS 1.2", tls.VersionTLS13: "TLS 1.3"}[version]
		t.Run(name, func(t *testing.T) {
			cfg := v.TLSConfig(&tls.Config{ServerName: "localhost", MaxVersion: version,
				ClientSessionCache: tls.NewLRUClientSessionCache(4)})
			_, err := tls.Dial("tcp", revoked, cfg)
			var verr *chainverify.VerificationError
			if !errors.As(err, &verr) || verr.Response.GetStatus() != v1.Status_REVOKED {
				t.Fatalf("revoked leaf: %v, want REVOKED", err)
			}
			var decisions []string
			for i := 0; i < 2; i++ {
				conn, err := tls.Dial("tcp", good, cfg)
				if err != nil {
					t.Fatal(err)
				}
				// TLS 1.3 delivers the session ticket after the handshake: read
				// the response so that it arrives before the next dial.
				io.WriteString(conn, "GET / HTTP/1.0\r\n\r\n")
				io.ReadAll(conn)
				conn.Close()
				cs := conn.ConnectionState()
				if cs.Version != version || cs.DidResume != (i == 1) {
					t.Fatalf("dial %d: version %x, resumed %v", i, cs.Version, cs.DidResume)
				}
				verdict, ok := v.Verdict(cs)
				if !ok {
					t.Fatalf("dial %d: no verdict", i)
				}
				checkTrustedChain(t, verdict)
				if rev := verdict.GetRevocation(); len(rev) == 0 || rev[0].GetState() != v1.RevocationResult_GOOD {
					t.Errorf("dial %d: leaf revocation %v, want GOOD (stapled)", i, rev)
				}
				decisions = append(decisions, verdict.GetDecisionId())
			}
			// The resumed handshake was verified again: a new decision.
			if decisions[0] == decisions[1] {
				t.Errorf("the resumed connection reused decision %s", decisions[0])
			}
		})
	}
}
