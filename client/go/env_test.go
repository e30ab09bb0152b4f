package chainverify_test

// The end-to-end environment: a test PKI made with crypto/x509, real OCSP
// responses made by `openssl ocsp` from the intermediate CA, the real chainverifyd
// ($CHAINVERIFYD, default ../../bazel-bin/server/chainverifyd) on a free loopback
// port, and helpers for TLS servers and a counting TCP forwarder.

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// issued is a certificate with its key.
type issued struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func (c *issued) der() []byte { return c.cert.Raw }

// env is built once by TestMain.
var env struct {
	dir    string
	target string // the plaintext chainverifyd, host:port

	root, inter, extra *issued
	good, expired      *issued // server leaves for "localhost"
	revoked            *issued
	client             *issued // CLIENT_AUTH leaf, URI SAN spiffe://test/go-client
	stranger           *issued // self-signed client certificate, not trusted

	goodOCSP, revokedOCSP []byte // DER OCSP responses signed by the intermediate
}

const clientSPIFFE = "spiffe://test/go-client"

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "chainverify-go-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	env.dir = dir
	if err := makePKI(dir); err != nil {
		fmt.Fprintln(os.Stderr, "test PKI:", err)
		return 1
	}
	policy := writeFile(dir, "policy.textproto", fmt.Sprintf(
		"version: \"go\"\ndefault_policy: \"p\"\n"+
			"policies { name: \"p\" trust_stores { pem_file: %q } profile: RFC5280 }\n",
		filepath.Join(dir, "root.pem")))
	svc, err := startService(dir, "plain", "--policy_file="+policy)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer svc.stop()
	env.target = svc.target
	return m.Run()
}

func writeFile(dir, name, content string) string {
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		panic(err)
	}
	return path
}

func pemBlock(typ string, der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
}

// issue signs tmpl with parent (nil: self-signed) for a new P-256 key.
func issue(tmpl *x509.Certificate, parent *issued) (*issued, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	spki, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	// RFC 5280 4.2.1.2 method (1), over the whole SPKI: unique is all it needs.
	ski := sha1.Sum(spki)
	tmpl.SubjectKeyId = ski[:]
	tmpl.BasicConstraintsValid = true
	if tmpl.NotBefore.IsZero() {
		tmpl.NotBefore = time.Now().Add(-time.Hour)
		tmpl.NotAfter = time.Now().Add(30 * 24 * time.Hour)
	}
	signer, signerCert := key, tmpl
	if parent != nil {
		signer, signerCert = parent.key, parent.cert
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signerCert, &key.PublicKey, signer)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &issued{cert: cert, key: key}, nil
}

func caTemplate(serial int64, cn string) *x509.Certificate {
	return &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: cn},
		IsCA:         true,
		KeyUsage:     x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
}

func leafTemplate(serial int64, cn string, usage x509.ExtKeyUsage) *x509.Certificate {
	t := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: cn},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
	}
	if usage == x509.ExtKeyUsageServerAuth {
		t.DNSNames = []string{"localhost"}
	}
	return t
}

func makePKI(dir string) error {
	var err error
	step := func(f func() error) {
		if err == nil {
			err = f()
		}
	}
	mk := func(dst **issued, tmpl *x509.Certificate, parent **issued) {
		step(func() error {
			var p *issued
			if parent != nil {
				p = *parent
			}
			var e error
			*dst, e = issue(tmpl, p)
			return e
		})
	}
	mk(&env.root, caTemplate(1, "Go Test Root"), nil)
	mk(&env.inter, caTemplate(2, "Go Test Intermediate"), &env.root)
	mk(&env.extra, caTemplate(3, "Go Test Unrelated"), nil)
	mk(&env.good, leafTemplate(0x1001, "localhost", x509.ExtKeyUsageServerAuth), &env.inter)
	expired := leafTemplate(0x1002, "localhost", x509.ExtKeyUsageServerAuth)
	expired.NotBefore = time.Now().Add(-72 * time.Hour)
	expired.NotAfter = time.Now().Add(-24 * time.Hour)
	mk(&env.expired, expired, &env.inter)
	mk(&env.revoked, leafTemplate(0x1003, "localhost", x509.ExtKeyUsageServerAuth), &env.inter)
	client := leafTemplate(0x2001, "Go Test Client", x509.ExtKeyUsageClientAuth)
	client.URIs = []*url.URL{{Scheme: "spiffe", Host: "test", Path: "/go-client"}}
	mk(&env.client, client, &env.inter)
	mk(&env.stranger, leafTemplate(0x3001, "Go Test Stranger", x509.ExtKeyUsageClientAuth), nil)
	if err != nil {
		return err
	}

	interKey, err := x509.MarshalPKCS8PrivateKey(env.inter.key)
	if err != nil {
		return err
	}
	goodKey, err := x509.MarshalPKCS8PrivateKey(env.good.key)
	if err != nil {
		return err
	}
	writeFile(dir, "root.pem", pemBlock("CERTIFICATE", env.root.der()))
	writeFile(dir, "inter.pem", pemBlock("CERTIFICATE", env.inter.der()))
	writeFile(dir, "inter.key", pemBlock("PRIVATE KEY", interKey))
	writeFile(dir, "good.pem", pemBlock("CERTIFICATE", env.good.der()))
	writeFile(dir, "good.key", pemBlock("PRIVATE KEY", goodKey))
	writeFile(dir, "revoked.pem", pemBlock("CERTIFICATE", env.revoked.der()))
	// chainverifyd's own TLS certificate (the TLS-to-the-service tests): the good
	// leaf and its intermediate.
	writeFile(dir, "service-chain.pem",
		pemBlock("CERTIFICATE", env.good.der())+pemBlock("CERTIFICATE", env.inter.der()))

	// `openssl ocsp` answers from an index in the format of `openssl ca`:
	// status, expiry, revocation time, serial (hex), file name, subject.
	const asn1Time = "060102150405Z"
	expiry := time.Now().Add(30 * 24 * time.Hour).UTC().Format(asn1Time)
	revokedAt := time.Now().Add(-time.Hour).UTC().Format(asn1Time)
	writeFile(dir, "index.txt", fmt.Sprintf("V\t%s\t\t1001\tunknown\t/CN=localhost\n"+
		"R\t%s\t%s,keyCompromise\t1003\tunknown\t/CN=localhost\n", expiry, expiry, revokedAt))
	if env.goodOCSP, err = ocspResponse(dir, "good"); err != nil {
		return err
	}
	env.revokedOCSP, err = ocspResponse(dir, "revoked")
	return err
}

// ocspResponse has `openssl ocsp` answer for NAME.pem, signed by the intermediate.
func ocspResponse(dir, name string) ([]byte, error) {
	run := func(args ...string) error {
		cmd := exec.Command("openssl", args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	if err := run("ocsp", "-issuer", "inter.pem", "-cert", name+".pem", "-no_nonce",
		"-reqout", name+".req.der"); err != nil {
		return nil, err
	}
	if err := run("ocsp", "-index", "index.txt", "-rsigner", "inter.pem", "-rkey", "inter.key",
		"-CA", "inter.pem", "-reqin", name+".req.der", "-respout", name+".ocsp.der",
		"-ndays", "1"); err != nil {
		return nil, err
	}
	return os.ReadFile(filepath.Join(dir, name+".ocsp.der"))
}

// serverCert is what a TLS server presents: the leaf, its intermediate and an
// unrelated certificate the service must leave out, with a stapled OCSP response.
func serverCert(leaf *issued, staple []byte) tls.Certificate {
	return tls.Certificate{
		Certificate: [][]byte{leaf.der(), env.inter.der(), env.extra.der()},
		PrivateKey:  leaf.key,
		OCSPStaple:  staple,
	}
}

// clientCert is a client's certificate with its chain.
func clientCert(leaf *issued, chain ...*issued) tls.Certificate {
	c := tls.Certificate{Certificate: [][]byte{leaf.der()}, PrivateKey: leaf.key}
	for _, ca := range chain {
		c.Certificate = append(c.Certificate, ca.der())
	}
	return c
}

func rootPool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(env.root.cert)
	return p
}

// service is a running chainverifyd.
type service struct {
	cmd    *exec.Cmd
	target string
	log    string
}

var listeningLine = regexp.MustCompile(`^listening on (\S+:\d+) `)

func chainverifyd() string {
	if p := os.Getenv("CHAINVERIFYD"); p != "" {
		return p
	}
	return filepath.Join("..", "..", "bazel-bin", "server", "chainverifyd")
}

// startService starts chainverifyd on a free loopback port and waits for its
// "listening on HOST:PORT" line. Its stderr goes to DIR/NAME.log.
func startService(dir, name string, flags ...string) (*service, error) {
	bin := chainverifyd()
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("chainverifyd not found (set CHAINVERIFYD): %v", err)
	}
	logPath := filepath.Join(dir, name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	args := append([]string{"--listen=127.0.0.1:0", "--metrics_listen=",
		"--audit_log=" + filepath.Join(dir, name+"-audit.log")}, flags...)
	cmd := exec.Command(bin, args...)
	cmd.Stderr = logFile
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &service{cmd: cmd, log: logPath}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		io.Copy(io.Discard, stdout)
	}()
	select {
	case line := <-lines:
		m := listeningLine.FindStringSubmatch(line)
		if m == nil {
			s.stop()
			logText, _ := os.ReadFile(logPath)
			return nil, fmt.Errorf("chainverifyd did not start (first line %q):\n%s", line, logText)
		}
		s.target = m[1]
		return s, nil
	case <-time.After(30 * time.Second):
		s.stop()
		return nil, fmt.Errorf("chainverifyd printed nothing in 30 s (log %s)", logPath)
	}
}

func (s *service) stop() {
	s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-done
	}
}

// forwarder is a TCP proxy in front of the service that counts the connections
// it accepts: the number of TCP connections a client opened to the service.
type forwarder struct {
	ln       net.Listener
	accepted atomic.Int32
	mu       sync.Mutex
	conns    []net.Conn
}

func startForwarder(t *testing.T, target string) *forwarder {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &forwarder{ln: ln}
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			f.accepted.Add(1)
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			f.mu.Lock()
			f.conns = append(f.conns, in, out)
			f.mu.Unlock()
			go func() { io.Copy(out, in); out.Close() }()
			go func() { io.Copy(in, out); in.Close() }()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, c := range f.conns {
			c.Close()
		}
	})
	return f
}

func (f *forwarder) addr() string { return f.ln.Addr().String() }

// startBlackHole listens and accepts connections but never answers: a service
// that hangs.
func startBlackHole(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			go io.Copy(io.Discard, c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

// closedPort is a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
