"""Python client for the chainverify service (proto/chainverify/v1/verifier.proto).

    import chainverify
    chainverify.inject_into_ssl(target="127.0.0.1:50051")     # program start: every
                                                              # ssl.create_default_context()
    resp = chainverify.verify_chain([leaf_der, inter_der], host="api.example.com")
    sock = chainverify.connect("api.example.com", 443)        # verified SSLSocket
    ctx = chainverify.ChainverifySSLContext()                 # drop-in SSLContext
    http.client.HTTPSConnection("api.example.com", context=ctx)

The generated modules (chainverify.v1.verifier_pb2, ..._pb2_grpc) are built into
the wheel from proto/ (client/python/build_wheel.sh).
"""
from chainverify.client import (
    ChainverifyError,
    ChainverifyUnavailable,
    close,
    verdict_of,
    verify_chain,
)
from chainverify.tls import (
    ChainverifySSLContext,
    connect,
    extract_from_ssl,
    inject_into_ssl,
    peer_chain_der,
    verify_ssl_socket,
    wrap_socket,
)

__all__ = [
    "ChainverifyError",
    "ChainverifySSLContext",
    "ChainverifyUnavailable",
    "close",
    "connect",
    "extract_from_ssl",
    "inject_into_ssl",
    "peer_chain_der",
    "verdict_of",
    "verify_chain",
    "verify_ssl_socket",
    "wrap_socket",
]
