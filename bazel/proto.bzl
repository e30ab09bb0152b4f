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

# Debian's python3-grpcio-tools is not used: the same protoc with grpc_python_plugin.
_GRPC_PYTHON_PLUGIN = "/usr/bin/grpc_python_plugin"

def py_grpc_proto(name, srcs, protos, proto_root = "proto", visibility = None, testonly = False):
    """Generates Python message (`_pb2.py`) and gRPC (`_pb2_grpc.py`) modules at build time.

    `srcs`: labels of the .proto files (e.g. "//proto:protos"); `protos`: the same files
    relative to `proto_root` (e.g. "chainverify/v1/verifier.proto"). The modules land in
    the calling package as <package>/chainverify/v1/verifier_pb2.py, importable as
    `chainverify.v1.verifier_pb2` from a runfiles tree (py_library `name`, imports ".").
    Needs Debian's python3-protobuf and python3-grpcio at run time.
    """
    outs = []
    for p in protos:
        base = p[:-len(".proto")]
        outs += [base + "_pb2.py", base + "_pb2_grpc.py"]
    native.genrule(
        name = name + "_codegen",
        srcs = srcs,
        outs = outs,
        testonly = testonly,
        cmd = ("%s -I%s -I%s --python_out=$(RULEDIR) --grpc_out=$(RULEDIR) " +
               "--plugin=protoc-gen-grpc=%s $(SRCS)") %
              (_PROTOC, proto_root, _WELL_KNOWN_TYPES, _GRPC_PYTHON_PLUGIN),
    )
    native.py_library(
        name = name,
        srcs = outs,
        imports = ["."],
        srcs_version = "PY3",
        testonly = testonly,
        visibility = visibility,
    )
