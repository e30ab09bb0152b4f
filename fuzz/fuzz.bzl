"""chainverify_fuzz_target: one libFuzzer target.

Under --config=fuzz (which sets --define=chainverify_fuzz=1) the binary links
libFuzzer's main (-fsanitize=fuzzer). Otherwise it links replay_main.cc, which
runs the target once on each file it is given, so every target still builds
with the normal toolchain under `bazel test //...` and can replay inputs.
"""

load("@rules_cc//cc:defs.bzl", "cc_binary")

def chainverify_fuzz_target(name, srcs, deps):
    cc_binary(
        name = name,
        testonly = True,
        srcs = srcs,
        linkopts = select({
            "//fuzz:fuzzing": ["-fsanitize=fuzzer"],
            "//conditions:default": [],
        }),
        deps = deps + select({
            "//fuzz:fuzzing": [],
            "//conditions:default": ["//fuzz:replay_main"],
        }),
    )
