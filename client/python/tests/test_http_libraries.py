"""HTTP libraries after chainverify.inject_into_ssl(): each verifies through the real
service, fails closed, and the verdict reaches the caller."""
import asyncio
import ssl
import urllib.error
import urllib.request

import aiohttp
import httpx
import pytest
import requests
import urllib3

import chainverify
from chainverify.v1 import verifier_pb2

from conftest import free_port

TRUSTED_CHAIN = ["CN=Py Test leaf", "CN=Py Test inter", "CN=Py Test root"]


def _url(port, host="localhost"):
    return "https://%s:%d/" % (host, port)


def _assert_no_path(exc):
    verdict = chainverify.verdict_of(exc)
    assert verdict is not None, repr(exc)
    assert verdict.verdict == verifier_pb2.REJECTED
    assert verdict.status == verifier_pb2.NO_PATH_TO_TRUSTED_ANCHOR


# --- urllib.request (http.client) --------------------------------------------------

def test_urllib_request_trusted(injected, tls_port):
    with urllib.request.urlopen(_url(tls_port), timeout=20) as resp:
        assert resp.status == 200
        assert b"s_server" in resp.read()


def test_urllib_request_untrusted_carries_the_verdict(injected, untrusted_port):
    with pytest.raises(urllib.error.URLError) as info:
        urllib.request.urlopen(_url(untrusted_port), timeout=20)
    assert isinstance(info.value.reason, ssl.SSLCertVerificationError)
    _assert_no_path(info.value)


def test_urllib_request_wrong_name(injected, tls_port):
    with pytest.raises(urllib.error.URLError) as info:
        urllib.request.urlopen(_url(tls_port, "127.0.0.1"), timeout=20)
    assert info.value.reason.verdict.status == verifier_pb2.NAME_MISMATCH


def test_urllib_request_service_down_fails_closed(tls_port):
    chainverify.inject_into_ssl(target="127.0.0.1:%d" % free_port(), timeout=5)
    try:
        with pytest.raises(urllib.error.URLError) as info:
            urllib.request.urlopen(_url(tls_port), timeout=20)
    finally:
        chainverify.extract_from_ssl()
    assert isinstance(info.value.reason, chainverify.ChainverifyUnavailable)


# --- requests (urllib3) -------------------------------------------------------------

def test_requests_trusted(injected, tls_port):
    resp = requests.get(_url(tls_port), timeout=20)
    assert resp.status_code == 200
    assert "s_server" in resp.text


def test_requests_untrusted_carries_the_verdict(injected, untrusted_port):
    with pytest.raises(requests.exceptions.SSLError) as info:
        requests.get(_url(untrusted_port), timeout=20)
    _assert_no_path(info.value)


def test_requests_ip_host_is_checked_against_the_verified_leaf(injected, tls_port):
    # urllib3 1.x sends no server name for an IP address and matches the name itself
    # against getpeercert(), which describes the leaf the service verified.
    with pytest.raises(requests.exceptions.SSLError, match="127.0.0.1"):
        requests.get(_url(tls_port, "127.0.0.1"), timeout=20)


def test_requests_verify_false_is_an_explicit_opt_out(untrusted_port):
    chainverify.inject_into_ssl(target="127.0.0.1:%d" % free_port())  # down: no RPC
    try:
        with pytest.warns(Warning):  # urllib3's InsecureRequestWarning
            resp = requests.get(_url(untrusted_port), timeout=20, verify=False)
    finally:
        chainverify.extract_from_ssl()
    assert resp.status_code == 200


# --- asyncio ------------------------------------------------------------------------

async def _get(port, host="localhost", **kwargs):
    reader, writer = await asyncio.open_connection(host, port, **kwargs)
    try:
        verdict = writer.get_extra_info("ssl_object").chainverify_verdict
        peercert = writer.get_extra_info("peercert")
        writer.write(b"GET / HTTP/1.0\r\n\r\n")
        body = await reader.read()
        return verdict, peercert, body
    finally:
        writer.close()


def test_asyncio_open_connection_trusted_with_pruned_chain(injected, tls_port):
    verdict, peercert, body = asyncio.run(_get(tls_port, ssl=ssl.create_default_context()))
    assert body.startswith(b"HTTP/1.0 200")
    assert verdict.verdict == verifier_pb2.TRUSTED
    assert [c.subject for c in verdict.verified_chain] == TRUSTED_CHAIN
    assert list(verdict.unused_certificate_indices) == [2]
    assert peercert["subjectAltName"] == (("DNS", "localhost"),)


def test_asyncio_ssl_true_is_verified(injected, untrusted_port):
    with pytest.raises(ssl.SSLCertVerificationError) as info:
        asyncio.run(_get(untrusted_port, ssl=True))
    _assert_no_path(info.value)


def test_asyncio_wrong_name(injected, tls_port):
    with pytest.raises(ssl.SSLCertVerificationError) as info:
        asyncio.run(_get(tls_port, ssl=ssl.create_default_context(),
                         server_hostname="wrong.example.com"))
    assert info.value.verdict.status == verifier_pb2.NAME_MISMATCH


def test_asyncio_context_without_injection(target, tls_port, untrusted_port):
    ctx = chainverify.ChainverifySSLContext(target=target)
    verdict, _, _ = asyncio.run(_get(tls_port, ssl=ctx))
    assert verdict.verdict == verifier_pb2.TRUSTED
    with pytest.raises(ssl.SSLCertVerificationError) as info:
        asyncio.run(_get(untrusted_port, ssl=ctx))
    _assert_no_path(info.value)


def test_asyncio_service_down_fails_closed(tls_port):
    ctx = chainverify.ChainverifySSLContext(target="127.0.0.1:%d" % free_port(), timeout=5)
    with pytest.raises(chainverify.ChainverifyUnavailable):
        asyncio.run(_get(tls_port, ssl=ctx))


# --- httpx (sync: wrap_socket; async: anyio over wrap_bio) ---------------------------

def test_httpx_sync_trusted_and_untrusted(injected, tls_port, untrusted_port):
    with httpx.Client(timeout=20) as client:
        assert client.get(_url(tls_port)).status_code == 200
        with pytest.raises(httpx.ConnectError) as info:
            client.get(_url(untrusted_port))
    _assert_no_path(info.value)


def test_httpx_async_trusted_and_untrusted(injected, tls_port, untrusted_port):
    async def run():
        async with httpx.AsyncClient(timeout=20) as client:
            resp = await client.get(_url(tls_port))
            stream = resp.extensions["network_stream"]
            verdict = stream.get_extra_info("ssl_object").chainverify_verdict
            # httpcore 0.16 passes TLS errors of the async handshake through unwrapped
            # (it does so for OpenSSL's own verification errors too).
            with pytest.raises((httpx.ConnectError, ssl.SSLError)) as info:
                await client.get(_url(untrusted_port))
            return resp.status_code, verdict, info.value

    status, verdict, error = asyncio.run(run())
    assert status == 200
    assert [c.subject for c in verdict.verified_chain] == TRUSTED_CHAIN
    _assert_no_path(error)


# --- aiohttp ------------------------------------------------------------------------

def test_aiohttp_trusted_and_untrusted(injected, tls_port, untrusted_port):
    async def run():
        async with aiohttp.ClientSession() as session:
            async with session.get(_url(tls_port)) as resp:
                body = await resp.text()
                status = resp.status
            with pytest.raises(aiohttp.ClientConnectorCertificateError) as info:
                await session.get(_url(untrusted_port))
            return status, body, info.value

    status, body, error = asyncio.run(run())
    assert status == 200
    assert "s_server" in body
    _assert_no_path(error)


# --- an explicit context, without injection -----------------------------------------

def test_explicit_context_with_urllib3_httpx_and_aiohttp(target, tls_port, untrusted_port):
    ctx = chainverify.ChainverifySSLContext(target=target)
    assert ssl.SSLContext is not type(ctx)  # nothing injected

    pool = urllib3.PoolManager(ssl_context=ctx, retries=False)
    assert pool.request("GET", _url(tls_port)).status == 200
    with pytest.raises(urllib3.exceptions.SSLError) as info:
        pool.request("GET", _url(untrusted_port))
    _assert_no_path(info.value)

    with httpx.Client(verify=ctx, timeout=20) as client:
        assert client.get(_url(tls_port)).status_code == 200
        with pytest.raises(httpx.ConnectError) as info:
            client.get(_url(untrusted_port))
    _assert_no_path(info.value)

    async def run():
        async with aiohttp.ClientSession() as session:
            async with session.get(_url(tls_port), ssl=ctx) as resp:
                status = resp.status
            with pytest.raises(aiohttp.ClientConnectorCertificateError) as info:
                await session.get(_url(untrusted_port), ssl=ctx)
            return status, info.value

    status, error = asyncio.run(run())
    assert status == 200
    _assert_no_path(error)
