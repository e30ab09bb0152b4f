"""C++ protobuf + gRPC code generation with the system protoc and grpc_cpp_plugin.

Bazel's native proto rules need @com_google_protobuf as source, which cannot be
downloaded here, so a genrule runs Debian's protoc directly.
"""

# Debian's protobuf-compiler and protobuf-compiler-grpc.
_PROTOC = "protoc"
_GRPC_PLUGIN = "/usr/bin/grpc_cpp_plugin"
_WELL_KNOWN_TYPES = "/usr/include"

def cc_grpc_proto_library(name, srcs, deps = [], visibility = None):
    """Generates and compiles C++ message and gRPC code for `srcs`.

    Imports resolve relative to the package directory, so `proto/chainverify/v1/x.proto`
    is imported as "chainverify/v1/x.proto" and its headers are "chainverify/v1/x.pb.h"
    (target `name`: messages only, no gRPC) and "chainverify/v1/x.grpc.pb.h"
    (target `name_grpc`: service stubs).
    """
    root = native.package_name()
    pb = []
    grpc = []
    for src in srcs:
        base = src[:-len(".proto")]
        pb += [base + ".pb.h", base + ".pb.cc"]
        grpc += [base + ".grpc.pb.h", base + ".grpc.pb.cc"]

    native.genrule(
        name = name + "_codegen",
        srcs = srcs,
        outs = pb + grpc,
        cmd = ("%s -I%s -I%s --cpp_out=$(RULEDIR) --grpc_out=$(RULEDIR) " +
               "--plugin=protoc-gen-grpc=%s $(SRCS)") %
              (_PROTOC, root or ".", _WELL_KNOWN_TYPES, _GRPC_PLUGIN),
    )
    native.cc_library(
        name = name,
        srcs = [f for f in pb if f.endswith(".cc")],
        hdrs = [f for f in pb if f.endswith(".h")],
        includes = ["."],
        deps = deps + ["@system//:protobuf"],
        visibility = visibility,
    )
    native.cc_library(
        name = name + "_grpc",
        srcs = [f for f in grpc if f.endswith(".cc")],
        hdrs = [f for f in grpc if f.endswith(".h")],
        deps = [":" + name, "@system//:grpc"],
        visibility = visibility,
    )
