"""Verifications per second through the installed chainverify wheel: the shared
channel of verify_chain() against a new channel per call (what verify_chain did
before), interleaved round by round, one call at a time, against the same
chainverifyd: once over plaintext, once over TLS. Run by bench/clients/run.sh.

Usage: python_bench.py CHAIN_PEM HOST SECONDS PLAINTEXT_TARGET TLS_TARGET TLS_CA_PEM
"""
import ssl
import sys
import time

import grpc

import chainverify
from chainverify.v1 import verifier_pb2
from chainverify.v1 import verifier_pb2_grpc

ROUNDS = 10


def read_chain(path):
    with open(path) as f:
        text = f.read()
    end = "-----END CERTIFICATE-----"
    return [ssl.PEM_cert_to_DER_cert(block[block.index("-----BEGIN"):] + end)
            for block in text.split(end) if "BEGIN" in block]


def measure(ders, host, seconds, target, credentials):
    """{variant: verifications/s} for the shared and the per-call channel."""

    def shared():
        return chainverify.verify_chain(ders, host=host, target=target,
                                        credentials=credentials)

    def per_call():
        request = verifier_pb2.VerifyRequest(certificates=ders, peer_name=host,
                                             usage=verifier_pb2.SERVER_AUTH)
        if credentials is None:
            channel = grpc.insecure_channel(target)
        else:
            channel = grpc.secure_channel(target, credentials)
        try:
            return verifier_pb2_grpc.ChainVerifierStub(channel).Verify(request, timeout=10)
        finally:
            channel.close()

    variants = {"per_call": per_call, "shared": shared}
    for name, fn in variants.items():  # warm-up, and both must say TRUSTED
        for _ in range(100):
            resp = fn()
            if resp.verdict != verifier_pb2.TRUSTED:
                sys.exit("python %s: expected TRUSTED, got %s" % (name, resp))
    calls = dict.fromkeys(variants, 0)
    spent = dict.fromkeys(variants, 0.0)
    slice_s = seconds / (2 * ROUNDS)
    for _ in range(ROUNDS):
        for name, fn in variants.items():
            start = time.perf_counter()
            while time.perf_counter() - start < slice_s:
                fn()
                calls[name] += 1
            spent[name] += time.perf_counter() - start
    return {name: calls[name] / spent[name] for name in variants}


def main():
    chain_pem, host, seconds, plain_target, tls_target, ca_pem = sys.argv[1:]
    ders = read_chain(chain_pem)
    with open(ca_pem, "rb") as f:
        tls_credentials = grpc.ssl_channel_credentials(root_certificates=f.read())
    rates = {}
    for transport, target, credentials in (("plaintext", plain_target, None),
                                           ("tls", tls_target, tls_credentials)):
        rates[transport] = measure(ders, host, float(seconds), target, credentials)
        r = rates[transport]
        print("python %-9s per-call %7.0f/s  shared %7.0f/s  shared/per-call %.2f"
              % (transport, r["per_call"], r["shared"], r["shared"] / r["per_call"]))
    tls = rates["tls"]
    print("ratio python_shared_channel_vs_per_call = %.2f (target >= 3)"
          % (tls["shared"] / tls["per_call"]))
    chainverify.close()


if __name__ == "__main__":
    main()
