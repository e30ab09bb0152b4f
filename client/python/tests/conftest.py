"""Fixtures for the end-to-end tests of the installed chainverify wheel.

A test PKI made with the openssl CLI, the real chainverifyd ($CHAINVERIFYD), and two
`openssl s_server -www`: one presenting leaf (DNS:localhost) + intermediate + an
unrelated certificate, one presenting a self-signed certificate the policy does not
trust. run_tests.sh runs these from a copy outside the repository, in a virtual
environment where only the wheel provides `chainverify`.
"""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

import pytest

import chainverify


def _run(*args, cwd):
    subprocess.run(args, cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE)


def free_port():
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
    # "extra" also names localhost: served alone, it fails only for want of trust.
    for name, san in (("root", ()), ("extra", ("-addext", "subjectAltName=DNS:localhost"))):
        _run("openssl", "req", "-x509", *key, "-keyout", name + ".key", "-out",
             name + ".pem", "-days", "30", "-subj", "/CN=Py Test %s" % name,
             "-addext", "basicConstraints=critical,CA:true",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", *san, cwd=d)
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


def _stop(proc):
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _wait_for_port(port, proc, what):
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("%s did not start" % what)
            time.sleep(0.05)


@pytest.fixture(scope="session")
def pki():
    d = tempfile.mkdtemp(prefix="chainverify-py-")
    make_pki(d)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def start_chainverifyd(pki, listen="127.0.0.1:0"):
    """Starts chainverifyd trusting the test root; returns (process, target)."""
    policy = os.path.join(pki, "policy.textproto")
    with open(policy, "w") as f:
        f.write('version: "py" default_policy: "p" policies { name: "p" '
                'trust_stores { pem_file: "%s" } profile: RFC5280 }\n'
                % os.path.join(pki, "root.pem"))
    proc = subprocess.Popen(
        [os.environ["CHAINVERIFYD"], "--listen=" + listen, "--metrics_listen=",
         "--audit_log=" + os.path.join(pki, "audit-%d.log" % time.monotonic_ns()),
         "--policy_file=" + policy],
        cwd=pki, stdout=subprocess.PIPE, stderr=sys.stderr, text=True)
    line = proc.stdout.readline()
    if not line.startswith("listening on "):
        _stop(proc)
        raise RuntimeError("chainverifyd did not start: %r" % line)
    return proc, line[len("listening on "):].split(" ", 1)[0]


@pytest.fixture(scope="session")
def target(pki):
    """host:port of a running chainverifyd."""
    proc, addr = start_chainverifyd(pki)
    yield addr
    chainverify.close()
    _stop(proc)
    proc.stdout.close()


def _s_server(pki, *cert_args):
    port = free_port()
    proc = subprocess.Popen(
        ["openssl", "s_server", "-accept", "127.0.0.1:%d" % port, *cert_args,
         "-www", "-quiet"],
        cwd=pki, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=sys.stderr)
    _wait_for_port(port, proc, "openssl s_server")
    return proc, port


@pytest.fixture(scope="session")
def tls_port(pki):
    """A TLS server sending leaf (DNS:localhost), intermediate and an unrelated cert."""
    proc, port = _s_server(pki, "-cert", "leaf.pem", "-key", "leaf.key", "-cert_chain",
                           "chain_with_extra.pem")
    yield port
    _stop(proc)


@pytest.fixture(scope="session")
def untrusted_port(pki):
    """A TLS server with a self-signed certificate for localhost the policy lacks."""
    proc, port = _s_server(pki, "-cert", "extra.pem", "-key", "extra.key")
    yield port
    _stop(proc)


@pytest.fixture
def injected(target):
    """chainverify.inject_into_ssl() for one test, undone afterwards."""
    chainverify.inject_into_ssl(target=target, timeout=10)
    yield target
    chainverify.extract_from_ssl()


class CountingForwarder:
    """A loopback TCP listener that forwards each connection to `upstream` (a real
    byte pipe) and counts the connections it accepted."""

    def __init__(self, upstream, port=0):
        host, _, up_port = upstream.rpartition(":")
        self._upstream = (host, int(up_port))
        self._listener = socket.create_server(("127.0.0.1", port))
        self.target = "127.0.0.1:%d" % self._listener.getsockname()[1]
        self.accepted = 0
        self._socks = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return  # closed
            up = socket.create_connection(self._upstream)
            with self._lock:
                self.accepted += 1
                self._socks += [conn, up]
            for src, dst in ((conn, up), (up, conn)):
                threading.Thread(target=self._pipe, args=(src, dst), daemon=True).start()

    @staticmethod
    def _pipe(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def close(self):
        self._listener.close()
        with self._lock:
            for s in self._socks:
                s.close()


@pytest.fixture
def forwarder(target):
    """A CountingForwarder in front of chainverifyd; close() is left to the test."""
    made = []

    def make(port=0):
        made.append(CountingForwarder(target, port))
        return made[-1]

    yield make
    for f in made:
        f.close()
