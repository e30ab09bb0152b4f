"""Python client for the chainverify service (proto/chainverify/v1/verifier.proto).

    import chainverify
    resp = chainverify.verify_chain([leaf_der, inter_der], host="api.example.com")
    sock = chainverify.connect("api.example.com", 443)        # verified SSLSocket
    ctx = chainverify.ChainverifySSLContext()                 # drop-in SSLContext
    http.client.HTTPSConnection("api.example.com", context=ctx)

The generated modules (chainverify.v1.verifier_pb2, ..._pb2_grpc) are produced at
build time by //client/python:chainverify_py_proto; they live in another directory of
the same package (the Bazel runfiles tree merges them, and extend_path below covers a
PYTHONPATH that lists the source and generated directories separately).
"""
import pkgutil

__path__ = pkgutil.extend_path(__path__, __name__)  # noqa: F821

from chainverify.client import (  # noqa: E402
    ChainverifyError,
    ChainverifySSLContext,
    ChainverifyUnavailable,
    connect,
    peer_chain_der,
    verify_chain,
    verify_ssl_socket,
    wrap_socket,
)

__all__ = [
    "ChainverifyError",
    "ChainverifySSLContext",
    "ChainverifyUnavailable",
    "connect",
    "peer_chain_der",
    "verify_chain",
    "verify_ssl_socket",
    "wrap_socket",
]
