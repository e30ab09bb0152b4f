#!/usr/bin/env python3
"""Writes fuzz seeds from the x509-limbo suite (limbo.json.gz) into OUT_DIR.

usage: limbo_seeds.py LIMBO_JSON_GZ OUT_DIR [MAX_PER_TARGET]

OUT_DIR/certificate_fuzzer/  every distinct certificate, DER
OUT_DIR/path_builder_fuzzer/ one input per test case, in the layout
                             path_builder_fuzzer.cc documents
OUT_DIR/crl_fuzzer/          the test cases with CRLs (crl_fuzzer.cc layout)

MAX_PER_TARGET keeps that many seeds per target (a deterministic sample, by
hash): a short run should spend its time fuzzing, not replaying 30,000 seeds.
Generated at run time into a scratch directory; never committed.
"""
import base64
import datetime
import gzip
import hashlib
import json
import os
import re
import struct
import sys

PEM_RE = re.compile(
    r"-----BEGIN ([A-Z0-9 ]+)-----\s*(.*?)\s*-----END \1-----", re.S)


def pem_to_der(pem):
    return [base64.b64decode("".join(body.split()))
            for _, body in PEM_RE.findall(pem or "")]


def parts(items):
    out = b""
    for item in items:
        item = item[:0xFFFF]
        out += struct.pack(">H", len(item)) + item
    return out


SEEDS = {}


def write(directory, data):
    SEEDS.setdefault(directory, {})[hashlib.sha1(data).hexdigest()] = data


def flush(limit):
    for directory, seeds in SEEDS.items():
        os.makedirs(directory, exist_ok=True)
        for name in sorted(seeds)[:limit]:
            with open(os.path.join(directory, name), "wb") as f:
                f.write(seeds[name])


def main():
    limbo, out = sys.argv[1], sys.argv[2]
    limit = int(sys.argv[3]) if len(sys.argv) > 3 else None
    with gzip.open(limbo, "rt") as f:
        cases = json.load(f)["testcases"]
    seen = set()
    for case in cases:
        leaf = pem_to_der(case.get("peer_certificate"))
        inters = [d for p in case.get("untrusted_intermediates", []) for d in pem_to_der(p)]
        anchors = [d for p in case.get("trusted_certs", []) for d in pem_to_der(p)]
        for der in leaf + inters + anchors:
            if der not in seen:
                seen.add(der)
                write(os.path.join(out, "certificate_fuzzer"), der)
        when = case.get("validation_time")
        seconds = int(datetime.datetime.fromisoformat(when).timestamp()) if when else 1735689600
        seconds = max(0, min(seconds, 0xFFFFFFFF))
        name = case.get("expected_peer_name") or {}
        uploads = leaf + inters
        n_anchors = min(len(anchors), 15, max(0, 12 - len(uploads) - 1))
        flags = n_anchors
        if case.get("validation_kind") == "CLIENT":
            flags |= 0x10
        items = []
        if name.get("kind") == "DNS":
            flags |= 0x40
            items.append(name["value"].encode())
        items += uploads + anchors[:n_anchors]
        max_depth = case.get("max_chain_depth") or 0
        # max_chain_depth counts intermediates; max_chain_length counts all.
        header = bytes([flags, min(255, max_depth + 2) if max_depth else 0])
        write(os.path.join(out, "path_builder_fuzzer"),
              header + struct.pack(">I", seconds) + parts(items))
        crls = [d for p in case.get("crls", []) for d in pem_to_der(p)]
        if crls and leaf:
            issuer = (inters or anchors)[:1]
            if issuer:
                write(os.path.join(out, "crl_fuzzer"),
                      struct.pack(">I", seconds) + parts(leaf + issuer + crls))
    flush(limit)
    print(f"limbo seeds: {len(cases)} cases, {len(seen)} certificates", file=sys.stderr)


if __name__ == "__main__":
    main()
