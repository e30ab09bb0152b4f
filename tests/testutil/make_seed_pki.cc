// Writes the seed example's PKI to a folder, for trying the service by hand:
// leaf L signed by A; A and B signed by root C. Produces chain.pem (L, A, B, C
// in that order, as a peer might send them), root.pem, and policy.textproto
// trusting only C (with request verification times allowed, for replay).
//
//   bazel run //tests/testutil:make_seed_pki -- /tmp/seed
#include <fstream>
#include <iostream>
#include <string>

#include "tests/testutil/test_pki.h"

using ::chainverify::testing::IntermediateSpec;
using ::chainverify::testing::LeafSpec;
using ::chainverify::testing::MustIssue;
using ::chainverify::testing::RootSpec;
using ::chainverify::testing::TestCert;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: make_seed_pki OUTPUT_DIR\n";
    return 2;
  }
  const std::string dir = argv[1];
  TestCert c = MustIssue(RootSpec("Root C"), nullptr);
  TestCert a = MustIssue(IntermediateSpec("Intermediate A"), &c);
  TestCert b = MustIssue(IntermediateSpec("Intermediate B"), &c);
  TestCert l = MustIssue(LeafSpec("L", {"service.example.com"}), &a);
  std::ofstream(dir + "/chain.pem") << l.pem() << a.pem() << b.pem() << c.pem();
  std::ofstream(dir + "/root.pem") << c.pem();
  std::ofstream(dir + "/policy.textproto")
      << "version: \"seed-1\"\n"
         "default_policy: \"seed\"\n"
         "policies {\n"
         "  name: \"seed\"\n"
         "  trust_stores { pem_file: \"root.pem\" }\n"
         "  allow_request_verification_time: true\n"
         "}\n";
  if (!std::ofstream(dir + "/chain.pem", std::ios::app)) {
    std::cerr << "cannot write to " << dir << "\n";
    return 1;
  }
  std::cout << "wrote " << dir << "/{chain.pem,root.pem,policy.textproto}; peer name "
            << "service.example.com\n";
  return 0;
}
