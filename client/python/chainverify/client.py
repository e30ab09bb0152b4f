"""chainverify client: ask the service whether a TLS peer's chain is trusted.

Errors:
  * ssl.SSLCertVerificationError: the service answered REJECTED (connect, wrap_socket,
    ChainverifySSLContext). Its message names the status and the first error id; the
    VerifyResponse is attached as `.verdict`. Match on `.verdict.status` and
    `.verdict.errors[i].id`, never on the message text.
  * ChainverifyUnavailable (a ConnectionError): the service could not be reached or
    did not answer in time (gRPC UNAVAILABLE / DEADLINE_EXCEEDED). The connection to
    the peer is closed: no answer means not trusted.
  * ChainverifyError: any other RPC failure (INVALID_ARGUMENT, NOT_FOUND,
    PERMISSION_DENIED, ...); `.code` is the grpc.StatusCode.

Stapled OCSP: Python's ssl module does not expose the OCSP response a server staples,
so these helpers send none (`stapled_ocsp=b""`); policies that check revocation then
rely on their own CRL/OCSP sources. verify_chain() accepts one if you have it.
"""
import socket
import ssl

import _ssl
import grpc

from chainverify.v1 import verifier_pb2
from chainverify.v1 import verifier_pb2_grpc

DEFAULT_TARGET = "127.0.0.1:50051"

_USAGES = {
    "server": verifier_pb2.SERVER_AUTH,
    "client": verifier_pb2.CLIENT_AUTH,
}


class ChainverifyError(Exception):
    """The service refused the request (any gRPC error but UNAVAILABLE/DEADLINE)."""

    def __init__(self, message, code=None, details=""):
        super().__init__(message)
        self.code = code
        self.details = details


class ChainverifyUnavailable(ChainverifyError, ConnectionError):
    """The chainverify service could not be reached (gRPC UNAVAILABLE or deadline).

    The original grpc.RpcError is the exception's __cause__.
    """


def _usage(usage):
    if isinstance(usage, int):
        return usage
    try:
        return _USAGES[usage]
    except KeyError:
        raise ValueError("usage must be 'server' or 'client', not %r" % (usage,))


def verify_chain(ders, host=None, usage="server", policy="", target=DEFAULT_TARGET,
                 credentials=None, timeout=10, stapled_ocsp=b"", labels=None,
                 request_id=""):
    """Verifies `ders` (DER certificates, leaf first, as the peer sent them).

    host: the name the caller meant to reach (DNS name or IP); None checks no name.
    credentials: grpc.ChannelCredentials for a TLS service; None is plaintext.
    Returns the VerifyResponse (REJECTED is a normal answer, not an exception).
    Raises ChainverifyUnavailable / ChainverifyError on RPC failure.
    """
    request = verifier_pb2.VerifyRequest(
        certificates=[bytes(d) for d in ders],
        peer_name=host or "",
        usage=_usage(usage),
        policy=policy or "",
        stapled_ocsp_response=stapled_ocsp or b"",
        request_id=request_id or "",
        labels=dict(labels or {}),
    )
    if credentials is None:
        channel = grpc.insecure_channel(target)
    else:
        channel = grpc.secure_channel(target, credentials)
    try:
        stub = verifier_pb2_grpc.ChainVerifierStub(channel)
        return stub.Verify(request, timeout=timeout)
    except grpc.RpcError as e:
        code = e.code() if hasattr(e, "code") else None
        details = e.details() if hasattr(e, "details") else str(e)
        message = "chainverify service at %s: %s: %s" % (
            target, code.name if code is not None else "error", details)
        if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
            raise ChainverifyUnavailable(message, code, details) from e
        raise ChainverifyError(message, code, details) from e
    finally:
        channel.close()


def peer_chain_der(ssl_sock):
    """The certificates the peer sent in the handshake, DER, leaf first (unverified)."""
    if hasattr(ssl_sock, "get_unverified_chain"):  # Python 3.13+
        chain = ssl_sock.get_unverified_chain()
    else:  # Python 3.10-3.12: the method exists on the internal _ssl object.
        sslobj = getattr(ssl_sock, "_sslobj", None)
        if sslobj is None or not hasattr(sslobj, "get_unverified_chain"):
            raise RuntimeError("this Python cannot return the peer's certificate chain "
                               "(needs 3.10+)")
        chain = sslobj.get_unverified_chain()
    out = []
    for cert in chain or []:
        if isinstance(cert, (bytes, bytearray)):
            out.append(bytes(cert))
        else:
            out.append(cert.public_bytes(_ssl.ENCODING_DER))
    return out


def _rejection(resp):
    status = verifier_pb2.Status.Name(resp.status) if resp.status in \
        verifier_pb2.Status.values() else str(resp.status)
    first = resp.errors[0].id if resp.errors else "no error id"
    message = "chainverify: %s %s (%s)" % (
        verifier_pb2.Verdict.Name(resp.verdict) if resp.verdict in
        verifier_pb2.Verdict.values() else str(resp.verdict), status, first)
    err = ssl.SSLCertVerificationError(1, message)
    err.verify_code = resp.status
    err.verify_message = message
    err.verdict = resp
    return err


def verify_ssl_socket(ssl_sock, host, **verify_kwargs):
    """Verifies the chain of a handshaken SSLSocket; returns the VerifyResponse.

    On anything but TRUSTED (or when the service cannot answer) the socket is closed
    and SSLCertVerificationError (`.verdict` = the response) or ChainverifyError is
    raised.
    """
    try:
        ders = peer_chain_der(ssl_sock)
        if not ders:
            raise ssl.SSLCertVerificationError(1, "chainverify: peer sent no certificate")
        resp = verify_chain(ders, host=host, **verify_kwargs)
        if resp.verdict != verifier_pb2.TRUSTED:
            raise _rejection(resp)
        return resp
    except BaseException:
        ssl_sock.close()
        raise


def _unverified_context():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def wrap_socket(sock, server_hostname, context=None, **verify_kwargs):
    """Handshakes on connected `sock` without verifying, then asks the service.

    server_hostname is sent as SNI and checked by the service against the leaf.
    Returns the SSLSocket when TRUSTED (the VerifyResponse is `.chainverify_verdict`);
    otherwise closes it and raises (see the module docstring). `context`: an
    SSLContext with check_hostname False and CERT_NONE (default: a fresh one).
    verify_kwargs go to verify_chain (target, credentials, policy, usage, ...).
    """
    ctx = context or _unverified_context()
    ssl_sock = ctx.wrap_socket(sock, server_hostname=server_hostname,
                               do_handshake_on_connect=True)
    resp = verify_ssl_socket(ssl_sock, server_hostname, **verify_kwargs)
    ssl_sock.chainverify_verdict = resp
    return ssl_sock


def connect(host, port, server_hostname=None, connect_timeout=None, **verify_kwargs):
    """Opens a TCP connection to host:port and returns a verified SSLSocket.

    server_hostname defaults to `host`: the name sent as SNI and verified.
    """
    sock = socket.create_connection((host, port), timeout=connect_timeout)
    try:
        return wrap_socket(sock, server_hostname or host, **verify_kwargs)
    except BaseException:
        sock.close()
        raise


class ChainverifySSLContext(ssl.SSLContext):
    """An SSLContext whose client connections are verified by the chainverify service.

        ctx = ChainverifySSLContext(target="127.0.0.1:50051", policy="default")
        http.client.HTTPSConnection("api.example.com", context=ctx)
        urllib3.PoolManager(ssl_context=ctx)

    OpenSSL's own verification is off (check_hostname False, CERT_NONE; do not turn it
    back on); wrap_socket() handshakes, then asks the service with server_hostname as
    the peer name and raises SSLCertVerificationError unless the verdict is TRUSTED.
    urllib3 emits InsecureRequestWarning (it sees CERT_NONE) although every connection
    is verified by the service. Only connected client sockets are supported: wrap_bio (asyncio) and server_side
    raise NotImplementedError rather than connect unverified.
    """

    def __new__(cls, protocol=ssl.PROTOCOL_TLS_CLIENT, **_verify_kwargs):
        return super().__new__(cls, protocol)

    def __init__(self, protocol=ssl.PROTOCOL_TLS_CLIENT, **verify_kwargs):
        super().__init__()
        self.check_hostname = False
        self.verify_mode = ssl.CERT_NONE
        # Passed to verify_chain: target, credentials, policy, usage, timeout, labels.
        self.chainverify_kwargs = dict(verify_kwargs)

    def wrap_socket(self, sock, server_side=False, do_handshake_on_connect=True,
                    suppress_ragged_eofs=True, server_hostname=None, session=None):
        if server_side:
            raise NotImplementedError("ChainverifySSLContext verifies servers only")
        if not server_hostname:
            raise ValueError("ChainverifySSLContext needs server_hostname (the name to "
                             "verify)")
        try:
            sock.getpeername()
        except OSError:
            raise ValueError("ChainverifySSLContext.wrap_socket needs a connected socket")
        ssl_sock = super().wrap_socket(
            sock, server_side=False, do_handshake_on_connect=True,
            suppress_ragged_eofs=suppress_ragged_eofs,
            server_hostname=server_hostname, session=session)
        ssl_sock.chainverify_verdict = verify_ssl_socket(
            ssl_sock, server_hostname, **self.chainverify_kwargs)
        return ssl_sock

    def wrap_bio(self, *args, **kwargs):
        raise NotImplementedError("ChainverifySSLContext does not verify wrap_bio "
                                  "(asyncio) connections; use wrap_socket")
