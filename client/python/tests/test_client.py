"""The client API against the real chainverifyd: verify_chain, connect, the SSL
context, the shared channel."""
import concurrent.futures
import http.client
import os
import socket
import ssl
import sys
import urllib.request

import pytest
import urllib3

import chainverify
from chainverify.v1 import verifier_pb2

from conftest import free_port


def _der(pki, name):
    with open(os.path.join(pki, name + ".pem")) as f:
        return ssl.PEM_cert_to_DER_cert(f.read())


def test_package_comes_from_the_installed_wheel():
    # run_tests.sh installs the wheel into a fresh venv and runs from outside the
    # repository: the package and its generated stubs must come from site-packages.
    site = os.path.join(sys.prefix, "lib")
    assert chainverify.__file__.startswith(site), chainverify.__file__
    assert verifier_pb2.__file__.startswith(site), verifier_pb2.__file__
    assert "site-packages" in chainverify.__file__


def test_connect_trusted_prunes_extra_certificate(target, tls_port):
    sock = chainverify.connect("127.0.0.1", tls_port, server_hostname="localhost",
                               target=target, labels={"lang": "python"},
                               request_id="py-1")
    try:
        resp = sock.chainverify_verdict
        assert resp.verdict == verifier_pb2.TRUSTED
        assert resp.status == verifier_pb2.OK
        assert resp.request_id == "py-1"
        assert resp.policy_name == "p"
        assert resp.policy_version.startswith("py")
        # leaf (uploaded #0), intermediate (#1), root from the trust store.
        assert [c.subject for c in resp.verified_chain] == \
            ["CN=Py Test leaf", "CN=Py Test inter", "CN=Py Test root"]
        assert resp.verified_chain[2].source == verifier_pb2.TRUST_STORE
        assert list(resp.unused_certificate_indices) == [2]
        sock.sendall(b"GET / HTTP/1.0\r\n\r\n")
        assert sock.recv(100).startswith(b"HTTP/1.0 200")
    finally:
        sock.close()


def test_wrong_host_is_rejected(target, tls_port):
    with pytest.raises(ssl.SSLCertVerificationError) as info:
        chainverify.connect("127.0.0.1", tls_port, server_hostname="wrong.example.com",
                            target=target)
    err = info.value
    assert err.verdict.verdict == verifier_pb2.REJECTED
    assert err.verdict.status == verifier_pb2.NAME_MISMATCH
    assert "NAME_MISMATCH" in str(err)
    assert err.verdict.errors[0].id in str(err)


def test_verify_chain_returns_rejected_as_a_verdict(target, pki):
    resp = chainverify.verify_chain([_der(pki, "leaf")], host="localhost", target=target)
    assert resp.verdict == verifier_pb2.REJECTED
    assert resp.status == verifier_pb2.NO_PATH_TO_TRUSTED_ANCHOR
    assert resp.errors[0].id


def test_https_connection_with_context(target, tls_port):
    ctx = chainverify.ChainverifySSLContext(target=target)
    conn = http.client.HTTPSConnection("localhost", tls_port, context=ctx, timeout=20)
    try:
        conn.connect()
        assert conn.sock.chainverify_verdict.verdict == verifier_pb2.TRUSTED
        conn.request("GET", "/")
        resp = conn.getresponse()
        assert resp.status == 200
        assert b"s_server" in resp.read()
    finally:
        conn.close()


def test_https_connection_wrong_name_fails(target, tls_port):
    ctx = chainverify.ChainverifySSLContext(target=target)
    # 127.0.0.1 is not in the leaf's SAN (DNS:localhost only).
    conn = http.client.HTTPSConnection("127.0.0.1", tls_port, context=ctx, timeout=20)
    with pytest.raises(ssl.SSLCertVerificationError) as info:
        conn.request("GET", "/")
    conn.close()
    assert info.value.verdict.status == verifier_pb2.NAME_MISMATCH


def test_getpeercert_describes_the_verified_leaf_as_ssl_would(target, tls_port, pki):
    ctx = chainverify.ChainverifySSLContext(target=target)
    with ctx.wrap_socket(socket.create_connection(("127.0.0.1", tls_port)),
                         server_hostname="localhost") as sock:
        got = sock.getpeercert()
        assert sock.getpeercert(binary_form=True) == _der(pki, "leaf")
    # What ssl itself reports for the same certificate (its decoder, from the file).
    want = ssl._ssl._test_decode_cert(os.path.join(pki, "leaf.pem"))
    for key in ("subject", "issuer", "version", "serialNumber", "notBefore", "notAfter",
                "subjectAltName"):
        assert got[key] == want[key], key


def test_service_down_is_unavailable(tls_port, pki):
    down = "127.0.0.1:%d" % free_port()
    with pytest.raises(chainverify.ChainverifyUnavailable) as info:
        chainverify.verify_chain([_der(pki, "leaf")], host="localhost", target=down,
                                 timeout=5)
    assert isinstance(info.value, ConnectionError)
    assert isinstance(info.value, ssl.SSLError)  # TLS stacks fail the handshake
    assert info.value.code.name == "UNAVAILABLE"
    assert down in str(info.value)
    # connect(): the TLS connection is closed, the same exception surfaces.
    with pytest.raises(chainverify.ChainverifyUnavailable):
        chainverify.connect("127.0.0.1", tls_port, server_hostname="localhost",
                            target=down, timeout=5)
    # The SSL context too: no answer means not trusted.
    ctx = chainverify.ChainverifySSLContext(target=down, timeout=5)
    conn = http.client.HTTPSConnection("localhost", tls_port, context=ctx, timeout=20)
    with pytest.raises(chainverify.ChainverifyUnavailable):
        conn.connect()
    conn.close()


def test_cert_none_is_an_explicit_opt_out(untrusted_port):
    # CERT_NONE asks for no verification, as with ssl: no RPC (the target is down).
    ctx = chainverify.ChainverifySSLContext(target="127.0.0.1:%d" % free_port())
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    conn = http.client.HTTPSConnection("localhost", untrusted_port, context=ctx,
                                       timeout=20)
    try:
        conn.connect()
        assert conn.sock.chainverify_verdict is None
        conn.request("GET", "/")
        assert conn.getresponse().status == 200
    finally:
        conn.close()


def test_bad_options_and_server_side_are_refused():
    with pytest.raises(TypeError, match="targt"):
        chainverify.ChainverifySSLContext(targt="127.0.0.1:1")
    with pytest.raises(TypeError, match="polcy"):
        chainverify.inject_into_ssl(polcy="p")
    assert ssl.SSLContext is not chainverify.ChainverifySSLContext
    ctx = chainverify.ChainverifySSLContext()
    with pytest.raises(ValueError, match="servers only"):
        ctx.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), server_side=True)
    # Python's own rules hold: a name is needed while check_hostname is on.
    with socket.socket() as sock, pytest.raises(ValueError, match="server_hostname"):
        ctx.wrap_socket(sock)
    with pytest.raises(ValueError, match="check_hostname"):
        ctx.verify_mode = ssl.CERT_NONE


def test_inject_and_extract_replace_the_ssl_and_urllib3_classes(target):
    original = ssl.SSLContext
    chainverify.inject_into_ssl(target=target, policy="p")
    try:
        ctx = ssl.create_default_context()
        assert isinstance(ctx, chainverify.ChainverifySSLContext)
        assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
        assert ctx.chainverify_kwargs == {"target": target, "policy": "p"}
        assert urllib3.util.ssl_.SSLContext is ssl.SSLContext
        assert isinstance(urllib3.util.ssl_.create_urllib3_context(),
                          chainverify.ChainverifySSLContext)
    finally:
        chainverify.extract_from_ssl()
    assert ssl.SSLContext is original
    assert urllib3.util.ssl_.SSLContext is original
    assert type(ssl.create_default_context()) is original


def test_200_verifications_from_8_threads_use_one_connection(forwarder, tls_port):
    fwd = forwarder()
    chainverify.inject_into_ssl(target=fwd.target)
    try:
        def fetch(_):
            with urllib.request.urlopen("https://localhost:%d/" % tls_port,
                                        timeout=30) as resp:
                return resp.status

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(fetch, range(200)))
    finally:
        chainverify.extract_from_ssl()
    assert statuses == [200] * 200
    assert fwd.accepted == 1


def test_first_call_after_the_service_is_back_succeeds(forwarder, pki):
    # A channel that failed to connect sits in gRPC's reconnect backoff; an
    # UNAVAILABLE call drops it, so the next call connects at once.
    port = free_port()
    addr = "127.0.0.1:%d" % port
    chain = [_der(pki, "leaf"), _der(pki, "inter")]
    with pytest.raises(chainverify.ChainverifyUnavailable):
        chainverify.verify_chain(chain, host="localhost", target=addr, timeout=5)
    fwd = forwarder(port)  # the service is reachable at that address from now on
    resp = chainverify.verify_chain(chain, host="localhost", target=addr, timeout=5)
    assert resp.verdict == verifier_pb2.TRUSTED
    assert fwd.accepted == 1
