"""The Verify RPC: one shared gRPC channel per (target, credentials), and the errors.

Errors (all are ssl.SSLError, so TLS stacks such as asyncio, urllib3, requests, httpx
and aiohttp report them as a failed handshake and close the connection):
  * ssl.SSLCertVerificationError with `.verdict`: the service answered REJECTED
    (raised by the TLS helpers; verify_chain() itself returns REJECTED verdicts).
    Match on `.verdict.status` and `.verdict.errors[i].id`, never on the message.
  * ChainverifyUnavailable (also a ConnectionError): the service could not be reached
    or did not answer in time (gRPC UNAVAILABLE / DEADLINE_EXCEEDED). No answer
    means not trusted.
  * ChainverifyError: any other RPC failure (INVALID_ARGUMENT, NOT_FOUND,
    PERMISSION_DENIED, ...); `.code` is the grpc.StatusCode.
"""
import ssl
import threading

import grpc

from chainverify.v1 import verifier_pb2
from chainverify.v1 import verifier_pb2_grpc

DEFAULT_TARGET = "127.0.0.1:50051"

# The keyword arguments verify_chain() takes besides the chain and the host name;
# ChainverifySSLContext and inject_into_ssl() accept these.
VERIFY_OPTIONS = frozenset(
    ("target", "credentials", "policy", "usage", "timeout", "labels", "request_id"))

_USAGES = {
    "server": verifier_pb2.SERVER_AUTH,
    "client": verifier_pb2.CLIENT_AUTH,
}


class ChainverifyError(ssl.SSLError):
    """The service refused the request (any gRPC error but UNAVAILABLE/DEADLINE)."""

    def __init__(self, message, code=None, details=""):
        # (errno, strerror) like every ssl.SSLError: str() is the message, and code
        # that reads `.strerror` (anyio does) finds a string.
        super().__init__(1, message)
        self.code = code
        self.details = details


class ChainverifyUnavailable(ChainverifyError, ConnectionError):
    """The chainverify service could not be reached (gRPC UNAVAILABLE or deadline).

    The original grpc.RpcError is the exception's __cause__.
    """


class _Channels:
    """Channels and stubs by (target, credentials), made on first use.

    gRPC channels are thread-safe and multiplex concurrent calls over one HTTP/2
    connection; the lock only guards the dictionary. A call that ends UNAVAILABLE
    drops its channel (see drop()).
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._by_key = {}

    def stub(self, target, credentials):
        key = (target, credentials)
        with self._lock:
            entry = self._by_key.get(key)
            if entry is None:
                if credentials is None:
                    channel = grpc.insecure_channel(target)
                else:
                    channel = grpc.secure_channel(target, credentials)
                entry = (channel, verifier_pb2_grpc.ChainVerifierStub(channel))
                self._by_key[key] = entry
            return entry[1]

    def drop(self, target, credentials, stub):
        """Forgets the channel behind `stub` (if still cached) after UNAVAILABLE.

        A channel that failed to connect waits out gRPC's reconnect backoff (up to
        120 s), and a sync Python channel makes progress on a new connection only
        while a call is waiting on it, which fail-fast calls do not: a service that
        is back would stay unused for seconds to minutes. The next call opens a new
        channel and connects at once, as the per-call channels did. The dropped one
        is not closed (that would cancel other threads' calls on it); it goes away
        with its last call.
        """
        with self._lock:
            entry = self._by_key.get((target, credentials))
            if entry is not None and entry[1] is stub:
                del self._by_key[(target, credentials)]

    def close(self):
        with self._lock:
            entries, self._by_key = list(self._by_key.values()), {}
        for channel, _ in entries:
            channel.close()


_channels = _Channels()


def close():
    """Closes every shared channel; the next verification opens a new one.

    gRPC channels do not survive fork(): a process that verified before forking
    calls close() in the child before verifying there.
    """
    _channels.close()


def _usage(usage):
    if isinstance(usage, int):
        return usage
    try:
        return _USAGES[usage]
    except KeyError:
        raise ValueError("usage must be 'server' or 'client', not %r" % (usage,))


def check_options(options):
    """Raises TypeError for a keyword verify_chain() would not accept."""
    unknown = sorted(set(options) - VERIFY_OPTIONS)
    if unknown:
        raise TypeError("unknown chainverify option(s) %s; expected some of %s"
                        % (", ".join(unknown), ", ".join(sorted(VERIFY_OPTIONS))))


def verify_chain(ders, host=None, usage="server", policy="", target=DEFAULT_TARGET,
                 credentials=None, timeout=10, stapled_ocsp=b"", labels=None,
                 request_id=""):
    """Verifies `ders` (DER certificates, leaf first, as the peer sent them).

    host: the name the caller meant to reach (DNS name or IP); None checks no name.
    credentials: grpc.ChannelCredentials for a TLS service; None is plaintext. Calls
    with the same (target, credentials) share one channel (one connection).
    timeout: seconds for this call.
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
    stub = _channels.stub(target, credentials)
    try:
        return stub.Verify(request, timeout=timeout)
    except grpc.RpcError as e:
        code = e.code() if hasattr(e, "code") else None
        details = e.details() if hasattr(e, "details") else str(e)
        message = "chainverify service at %s: %s: %s" % (
            target, code.name if code is not None else "error", details)
        if code == grpc.StatusCode.UNAVAILABLE:
            _channels.drop(target, credentials, stub)
        if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
            raise ChainverifyUnavailable(message, code, details) from e
        raise ChainverifyError(message, code, details) from e


def rejection_error(resp):
    """The ssl.SSLCertVerificationError for a REJECTED VerifyResponse (`.verdict`)."""
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


def verdict_of(exc):
    """The VerifyResponse of a rejection anywhere in `exc`'s chain, else None.

    HTTP libraries wrap the TLS error in their own (requests.exceptions.SSLError,
    httpx.ConnectError, aiohttp.ClientConnectorCertificateError, ...); this follows
    __cause__, __context__ and exception arguments to the chainverify error.
    """
    seen = set()
    todo = [exc]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        verdict = getattr(e, "verdict", None)
        if isinstance(verdict, verifier_pb2.VerifyResponse):
            return verdict
        todo += [e.__cause__, e.__context__]
        todo += [a for a in getattr(e, "args", ()) if isinstance(a, BaseException)]
    return None
