"""TLS connections whose trust decision is made by the chainverify service.

ChainverifySSLContext is an ssl.SSLContext whose client handshakes complete without
OpenSSL's verification; when a handshake completes, the chain the peer sent goes to
the service with the server name, and anything but TRUSTED fails the handshake. The
check sits in the handshake itself (the context's sslsocket_class and
sslobject_class), so it covers blocking sockets (wrap_socket) and memory BIOs
(wrap_bio: asyncio, anyio/httpx, aiohttp) alike, whoever drives the handshake.

inject_into_ssl() replaces ssl.SSLContext with it, so ssl.create_default_context()
and every library that builds its contexts through the ssl module verify through
the service (the approach of the `truststore` package, which does the same for the
operating system's verifier).

Stapled OCSP: Python's ssl module does not expose the OCSP response a server
staples, so these helpers send none; policies that check revocation then rely on
their own CRL/OCSP sources. verify_chain() accepts one if you have it.
"""
import socket
import ssl
import time
import types

import _ssl

from chainverify.client import check_options
from chainverify.client import rejection_error
from chainverify.client import verify_chain
from chainverify.v1 import verifier_pb2

# The class inject_into_ssl() replaces, captured before any replacement.
_SSLContext = ssl.SSLContext
# The C-level attributes: OpenSSL's own verification settings.
_OPENSSL_VERIFY_MODE = _ssl._SSLContext.verify_mode
_OPENSSL_CHECK_HOSTNAME = _ssl._SSLContext.check_hostname


def peer_chain_der(tls):
    """The certificates the peer sent in the handshake, DER, leaf first (unverified).

    `tls` is an SSLSocket or SSLObject whose handshake has completed.
    """
    if hasattr(tls, "get_unverified_chain"):  # Python 3.13+
        chain = tls.get_unverified_chain()
    else:  # Python 3.10-3.12: the method exists on the internal _ssl object.
        sslobj = getattr(tls, "_sslobj", None)
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


def verify_ssl_socket(ssl_sock, host, **verify_kwargs):
    """Verifies the chain of a handshaken SSLSocket; returns the VerifyResponse.

    On anything but TRUSTED (or when the service cannot answer) the socket is closed
    and SSLCertVerificationError (`.verdict` = the response) or ChainverifyError is
    raised.
    """
    try:
        return _verify_peer(ssl_sock, host, verify_kwargs)
    except BaseException:
        ssl_sock.close()
        raise


def _verify_peer(tls, host, verify_kwargs):
    ders = peer_chain_der(tls)
    if not ders:
        raise ssl.SSLCertVerificationError(1, "chainverify: the peer sent no certificate")
    resp = verify_chain(ders, host=host, **verify_kwargs)
    if resp.verdict != verifier_pb2.TRUSTED:
        raise rejection_error(resp)
    return resp


def _check_handshake(tls):
    """Runs once a client handshake of a ChainverifySSLContext has completed."""
    ctx = tls.context
    if tls.server_side or ctx.verify_mode == ssl.CERT_NONE:
        return  # Server side: OpenSSL's settings apply. CERT_NONE: asked for no check.
    # The name is checked whenever there is one, even with check_hostname False:
    # urllib3 1.x turns it off to match names itself, and the service's per-name
    # rules (pins) must see the name.
    tls.chainverify_verdict = _verify_peer(tls, tls.server_hostname,
                                           ctx.chainverify_kwargs)


# getpeercert() layout (ssl's _decode_certificate) for the SAN kinds it names.
_SAN_NAMES = {
    verifier_pb2.SubjectAltName.DNS: "DNS",
    verifier_pb2.SubjectAltName.IP_ADDRESS: "IP Address",
    verifier_pb2.SubjectAltName.URI: "URI",
    verifier_pb2.SubjectAltName.EMAIL: "email",
}
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
           "Dec")


def _long_name(short):
    try:
        return _ssl.txt2obj(short, name=True)[2]  # "CN" -> "commonName", as ssl does
    except ValueError:
        return short  # a dotted OID


def _asn1_time(timestamp):
    t = time.gmtime(timestamp.seconds)
    return "%s %2d %02d:%02d:%02d %d GMT" % (_MONTHS[t.tm_mon - 1], t.tm_mday, t.tm_hour,
                                            t.tm_min, t.tm_sec, t.tm_year)


def peercert_dict(details):
    """A CertificateDetails in the layout of SSLSocket.getpeercert().

    One attribute per RDN; SANs of kind DNS, IP Address (in the service's textual
    form), URI and email; directoryName and otherName SANs are left out.
    """
    def name(attrs):
        return tuple(((_long_name(a.type), a.value),) for a in attrs)

    out = {
        "subject": name(details.subject_attributes),
        "issuer": name(details.issuer_attributes),
        "version": details.version,
        "serialNumber": details.serial_number,
        "notBefore": _asn1_time(details.not_before),
        "notAfter": _asn1_time(details.not_after),
    }
    sans = tuple((_SAN_NAMES[s.kind], s.value) for s in details.subject_alt_names
                 if s.kind in _SAN_NAMES)
    if sans:
        out["subjectAltName"] = sans
    for key, urls in (("OCSP", details.ocsp_urls), ("caIssuers", details.ca_issuers_urls),
                      ("crlDistributionPoints", details.crl_distribution_points)):
        if urls:
            out[key] = tuple(urls)
    return out


class _VerifiedPeer:
    """Shared by the socket and the BIO object: the verdict and getpeercert()."""

    # The VerifyResponse once the service said TRUSTED (None before, or with CERT_NONE).
    chainverify_verdict = None

    def getpeercert(self, binary_form=False):
        # OpenSSL verified nothing, so ssl would return {}: describe the leaf the
        # service verified instead (urllib3 1.x matches host names against it).
        if binary_form or self.chainverify_verdict is None:
            return super().getpeercert(binary_form)
        return peercert_dict(self.chainverify_verdict.verified_chain[0])


class ChainverifySSLSocket(_VerifiedPeer, ssl.SSLSocket):
    """An SSLSocket that asks the service when its handshake completes."""

    def do_handshake(self, block=False):
        super().do_handshake(block)
        if self.chainverify_verdict is None:
            try:
                _check_handshake(self)
            except BaseException:
                self.close()
                raise


class ChainverifySSLObject(_VerifiedPeer, ssl.SSLObject):
    """An SSLObject (wrap_bio: asyncio, anyio) that asks the service when its
    handshake completes, before the client's last handshake flight is sent.

    The RPC is a blocking call: it holds the event loop for one round trip to the
    service (bounded by the `timeout` option).
    """

    def do_handshake(self):
        super().do_handshake()
        if self.chainverify_verdict is None:
            _check_handshake(self)


def _setters_naming_the_original_class(cls):
    """Copies of ssl.SSLContext's property setters that still work after injection.

    Several (options, minimum_version, verify_flags, ...) reach OpenSSL through
    `super(SSLContext, SSLContext)`, naming the class through the ssl module's
    globals: once inject_into_ssl() has replaced ssl.SSLContext with a subclass, they
    would call themselves forever. The copies run the same code with globals in
    which SSLContext is the original class.
    """
    namespace = dict(vars(ssl), SSLContext=_SSLContext)
    for name, prop in vars(_SSLContext).items():
        if (isinstance(prop, property) and prop.fset is not None and name not in vars(cls)
                and "SSLContext" in prop.fset.__code__.co_names):
            f = prop.fset
            fset = types.FunctionType(f.__code__, namespace, f.__name__, f.__defaults__,
                                      f.__closure__)
            setattr(cls, name, property(prop.fget, fset, prop.fdel, prop.__doc__))
    return cls


@_setters_naming_the_original_class
class ChainverifySSLContext(_SSLContext):
    """An SSLContext whose client connections are verified by the chainverify service.

        ctx = ChainverifySSLContext(target="127.0.0.1:50051", policy="default")
        http.client.HTTPSConnection("api.example.com", context=ctx)
        urllib3.PoolManager(ssl_context=ctx)
        await asyncio.open_connection("api.example.com", 443, ssl=ctx)

    Keyword arguments go to verify_chain (target, credentials, policy, usage, timeout,
    labels, request_id). With verify_mode CERT_REQUIRED (or CERT_OPTIONAL) the
    service verifies the chain and server_hostname, when there is one (also with
    check_hostname False, which then only lifts ssl's rule that server_hostname be
    given); CERT_NONE checks nothing, an explicit opt-out as with ssl
    (requests' verify=False). OpenSSL's own verification stays off; CA files loaded
    into the context are not used. getpeercert() describes the leaf the service
    verified. Contexts for PROTOCOL_TLS_SERVER are plain OpenSSL contexts (client
    certificates cannot go to the service: Python cannot finish a handshake that
    requested one without OpenSSL verifying it); a client context refuses
    server-side use unless verify_mode is CERT_NONE.
    """

    sslsocket_class = ChainverifySSLSocket
    sslobject_class = ChainverifySSLObject
    # Options for verify_chain that inject_into_ssl() sets for every context.
    chainverify_defaults = {}

    def __new__(cls, protocol=ssl.PROTOCOL_TLS_CLIENT, **verify_kwargs):
        return super().__new__(cls, protocol)

    def __init__(self, protocol=ssl.PROTOCOL_TLS_CLIENT, **verify_kwargs):
        super().__init__()
        check_options(verify_kwargs)
        self.chainverify_kwargs = {**self.chainverify_defaults, **verify_kwargs}
        # Start from OpenSSL's defaults for this protocol (CLIENT: CERT_REQUIRED and
        # check_hostname; the generic PROTOCOL_TLS: neither, like ssl.SSLContext).
        self._verify_mode = ssl.VerifyMode(_OPENSSL_VERIFY_MODE.__get__(self))
        self._check_hostname = _OPENSSL_CHECK_HOSTNAME.__get__(self)
        if self._client:
            _OPENSSL_CHECK_HOSTNAME.__set__(self, False)
            _OPENSSL_VERIFY_MODE.__set__(self, ssl.CERT_NONE)

    @property
    def _client(self):
        return self.protocol != ssl.PROTOCOL_TLS_SERVER

    @property
    def verify_mode(self):
        return self._verify_mode

    @verify_mode.setter
    def verify_mode(self, value):
        value = ssl.VerifyMode(value)
        if value == ssl.CERT_NONE and self._check_hostname:
            raise ValueError("Cannot set verify_mode to CERT_NONE when check_hostname "
                             "is enabled.")
        self._verify_mode = value
        if not self._client:
            _OPENSSL_VERIFY_MODE.__set__(self, value)

    @property
    def check_hostname(self):
        return self._check_hostname

    @check_hostname.setter
    def check_hostname(self, value):
        value = bool(value)
        if value and self._verify_mode == ssl.CERT_NONE:
            self._verify_mode = ssl.CERT_REQUIRED  # as ssl does
        self._check_hostname = value
        if not self._client:
            _OPENSSL_CHECK_HOSTNAME.__set__(self, value)

    def _check_side(self, server_side):
        if server_side and self._client and self._verify_mode != ssl.CERT_NONE:
            raise ValueError("ChainverifySSLContext verifies servers only; use "
                             "PROTOCOL_TLS_SERVER for a server-side context")

    def wrap_socket(self, sock, server_side=False, *args, **kwargs):
        self._check_side(server_side)
        return super().wrap_socket(sock, server_side, *args, **kwargs)

    def wrap_bio(self, incoming, outgoing, server_side=False, *args, **kwargs):
        self._check_side(server_side)
        return super().wrap_bio(incoming, outgoing, server_side, *args, **kwargs)


def inject_into_ssl(**verify_kwargs):
    """Makes ssl.SSLContext a ChainverifySSLContext for the rest of the process.

    One line at program start, before the HTTP libraries are imported and before
    any context is made:

        import chainverify; chainverify.inject_into_ssl(target="127.0.0.1:50051")

    ssl.create_default_context() then returns contexts verified by the service, and
    so do urllib.request, http.client, urllib3, requests, asyncio, httpx and aiohttp,
    which make theirs through the ssl module (urllib3 keeps its own reference, which
    is replaced too). Contexts made before the call are unchanged. Keyword arguments
    are verify_chain's options for every injected context.
    """
    check_options(verify_kwargs)
    injected = type("ChainverifySSLContext", (ChainverifySSLContext,),
                     {"chainverify_defaults": dict(verify_kwargs),
                      "__module__": __name__})
    ssl.SSLContext = injected
    urllib3_ssl = _urllib3_ssl()
    if urllib3_ssl is not None:
        urllib3_ssl.SSLContext = injected


def extract_from_ssl():
    """Undoes inject_into_ssl(): ssl.SSLContext is the original class again."""
    ssl.SSLContext = _SSLContext
    urllib3_ssl = _urllib3_ssl()
    if urllib3_ssl is not None:
        urllib3_ssl.SSLContext = _SSLContext


def _urllib3_ssl():
    """urllib3.util.ssl_ if urllib3 is installed (it binds ssl.SSLContext at import)."""
    try:
        import urllib3.util.ssl_ as urllib3_ssl
    except ImportError:
        return None
    return urllib3_ssl if hasattr(urllib3_ssl, "SSLContext") else None


def _unverified_context():
    ctx = _SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def wrap_socket(sock, server_hostname, context=None, **verify_kwargs):
    """Handshakes on connected `sock` without verifying, then asks the service.

    server_hostname is sent as SNI and checked by the service against the leaf.
    Returns the SSLSocket when TRUSTED (the VerifyResponse is `.chainverify_verdict`);
    otherwise closes it and raises (see chainverify.client). `context`: an
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
