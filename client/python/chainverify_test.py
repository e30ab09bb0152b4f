"""End-to-end test of the Python client against the real chainverifyd."""
import http.client
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

import chainverify
from chainverify.v1 import verifier_pb2


def _run(*args, cwd):
    subprocess.run(args, cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE)


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_CA_EXT = """[ext]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
"""
_LEAF_EXT = """[ext]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
"""


def make_pki(d):
    """root -> intermediate -> leaf (localhost), plus an unrelated self-signed cert."""
    for name, ext in (("ca.ext", _CA_EXT), ("leaf.ext", _LEAF_EXT)):
        with open(os.path.join(d, name), "w") as f:
            f.write(ext)
    key = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes")
    for name in ("root", "extra"):
        _run("openssl", "req", "-x509", *key, "-keyout", name + ".key", "-out",
             name + ".pem", "-days", "30", "-subj", "/CN=Py Test %s" % name,
             "-addext", "basicConstraints=critical,CA:true",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    for name, issuer, ext in (("inter", "root", "ca.ext"), ("leaf", "inter", "leaf.ext")):
        _run("openssl", "req", "-new", *key, "-keyout", name + ".key", "-out",
             name + ".csr", "-subj", "/CN=Py Test %s" % name, cwd=d)
        _run("openssl", "x509", "-req", "-in", name + ".csr", "-CA", issuer + ".pem",
             "-CAkey", issuer + ".key", "-CAcreateserial", "-days", "20",
             "-extfile", ext, "-extensions", "ext", "-out", name + ".pem", cwd=d)
    with open(os.path.join(d, "chain_with_extra.pem"), "w") as out:
        for name in ("inter", "extra"):
            with open(os.path.join(d, name + ".pem")) as f:
                out.write(f.read())


class ChainverifyEndToEnd(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))
        cls.procs = []
        make_pki(cls.dir)
        policy = os.path.join(cls.dir, "policy.textproto")
        with open(policy, "w") as f:
            f.write('version: "py" default_policy: "p" policies { name: "p" '
                    'trust_stores { pem_file: "%s" } profile: RFC5280 }\n'
                    % os.path.join(cls.dir, "root.pem"))
        server = os.path.join(os.environ["TEST_SRCDIR"], "chainverify", "server",
                              "chainverifyd")
        cls.server = subprocess.Popen(
            [server, "--listen=127.0.0.1:0", "--metrics_listen=",
             "--audit_log=" + os.path.join(cls.dir, "audit.log"),
             "--policy_file=" + policy],
            cwd=cls.dir, stdout=subprocess.PIPE, stderr=sys.stderr, text=True)
        cls.procs.append(cls.server)
        line = cls.server.stdout.readline()
        if not line.startswith("listening on "):
            raise RuntimeError("chainverifyd did not start: %r" % line)
        cls.target = line[len("listening on "):].split(" ", 1)[0]

        cls.tls_port = _free_port()
        cls.s_server = subprocess.Popen(
            ["openssl", "s_server", "-accept", "127.0.0.1:%d" % cls.tls_port,
             "-cert", "leaf.pem", "-key", "leaf.key", "-cert_chain",
             "chain_with_extra.pem", "-www", "-quiet"],
            cwd=cls.dir, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=sys.stderr)
        cls.procs.append(cls.s_server)
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", cls.tls_port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or cls.s_server.poll() is not None:
                    raise RuntimeError("openssl s_server did not start")
                time.sleep(0.05)

    @classmethod
    def tearDownClass(cls):
        for p in cls.procs:
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if cls.server.stdout:
            cls.server.stdout.close()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def test_connect_trusted_prunes_extra_certificate(self):
        sock = chainverify.connect("127.0.0.1", self.tls_port,
                                   server_hostname="localhost", target=self.target,
                                   labels={"lang": "python"}, request_id="py-1")
        try:
            resp = sock.chainverify_verdict
            self.assertEqual(resp.verdict, verifier_pb2.TRUSTED)
            self.assertEqual(resp.status, verifier_pb2.OK)
            self.assertEqual(resp.request_id, "py-1")
            self.assertEqual(resp.policy_name, "p")
            self.assertTrue(resp.policy_version.startswith("py"), resp.policy_version)
            # leaf (uploaded #0), intermediate (#1), root from the trust store.
            self.assertEqual([c.subject for c in resp.verified_chain],
                             ["CN=Py Test leaf", "CN=Py Test inter", "CN=Py Test root"])
            self.assertEqual(resp.verified_chain[2].source, verifier_pb2.TRUST_STORE)
            self.assertEqual(list(resp.unused_certificate_indices), [2])
            # The socket is usable.
            sock.sendall(b"GET / HTTP/1.0\r\n\r\n")
            self.assertTrue(sock.recv(100).startswith(b"HTTP/1.0 200"))
        finally:
            sock.close()

    def test_wrong_host_is_rejected(self):
        with self.assertRaises(ssl.SSLCertVerificationError) as cm:
            chainverify.connect("127.0.0.1", self.tls_port,
                                server_hostname="wrong.example.com", target=self.target)
        err = cm.exception
        self.assertEqual(err.verdict.verdict, verifier_pb2.REJECTED)
        self.assertEqual(err.verdict.status, verifier_pb2.NAME_MISMATCH)
        self.assertIn("NAME_MISMATCH", str(err))
        self.assertIn(err.verdict.errors[0].id, str(err))

    def test_https_connection_with_context(self):
        ctx = chainverify.ChainverifySSLContext(target=self.target)
        conn = http.client.HTTPSConnection("localhost", self.tls_port, context=ctx,
                                           timeout=20)
        try:
            conn.connect()
            self.assertEqual(conn.sock.chainverify_verdict.verdict, verifier_pb2.TRUSTED)
            conn.request("GET", "/")
            resp = conn.getresponse()
            self.assertEqual(resp.status, 200)
            self.assertIn(b"s_server", resp.read())
        finally:
            conn.close()

    def test_https_connection_wrong_name_fails(self):
        ctx = chainverify.ChainverifySSLContext(target=self.target)
        # 127.0.0.1 is not in the leaf's SAN (DNS:localhost only).
        conn = http.client.HTTPSConnection("127.0.0.1", self.tls_port, context=ctx,
                                           timeout=20)
        with self.assertRaises(ssl.SSLCertVerificationError) as cm:
            conn.request("GET", "/")
        conn.close()
        self.assertEqual(cm.exception.verdict.status, verifier_pb2.NAME_MISMATCH)

    def test_service_down_is_unavailable(self):
        down = "127.0.0.1:%d" % _free_port()
        with open(os.path.join(self.dir, "leaf.pem")) as f:
            der = ssl.PEM_cert_to_DER_cert(f.read())
        with self.assertRaises(chainverify.ChainverifyUnavailable) as cm:
            chainverify.verify_chain([der], host="localhost", target=down, timeout=5)
        self.assertIsInstance(cm.exception, ConnectionError)
        self.assertEqual(cm.exception.code.name, "UNAVAILABLE")
        self.assertIn(down, str(cm.exception))
        # connect(): the TLS connection is closed, the same exception surfaces.
        with self.assertRaises(chainverify.ChainverifyUnavailable):
            chainverify.connect("127.0.0.1", self.tls_port,
                                server_hostname="localhost", target=down, timeout=5)


if __name__ == "__main__":
    unittest.main()
