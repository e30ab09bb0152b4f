// Builds GeneralNames, NAME_CONSTRAINTS and certificates for the name tests
// from short text specs, with OpenSSL directly:
//
//   "DNS:a.example"  "email:a@b.example"  "URI:https://a.example/"
//   "IP:10.0.0.1"    "IP:10.0.0.0/8" (address + mask, for constraints)
//   "IPHEX:0a000001" (raw octets, for malformed cases)
//   "dirName:C=US/O=Example+OU=Unit/CN=leaf" ('/' between RDNs, '+' inside one)
//   "otherName:1.2.3.4"  "RID:1.2.3.4"
#ifndef CHAINVERIFY_TESTS_SERVER_PKI_NAME_TEST_UTIL_H_
#define CHAINVERIFY_TESTS_SERVER_PKI_NAME_TEST_UTIL_H_

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "server/pki/certificate.h"
#include "server/pki/openssl_util.h"

namespace chainverify::pki::name_testing {

using GeneralNamePtr =
    std::unique_ptr<GENERAL_NAME, OpenSslDeleter<GENERAL_NAME, GENERAL_NAME_free>>;
using GeneralNamesPtr =
    std::unique_ptr<GENERAL_NAMES, OpenSslDeleter<GENERAL_NAMES, GENERAL_NAMES_free>>;
using NameConstraintsPtr =
    std::unique_ptr<NAME_CONSTRAINTS,
                    OpenSslDeleter<NAME_CONSTRAINTS, NAME_CONSTRAINTS_free>>;

// One GENERAL_NAME from a spec (see above); aborts on a bad spec.
GeneralNamePtr MakeGeneralName(const std::string& spec);

// GENERAL_NAMES from specs.
GeneralNamesPtr MakeGeneralNames(const std::vector<std::string>& specs);

// An X509_NAME from "C=US/O=Example+OU=Unit/CN=leaf" ("" gives an empty name).
X509NamePtr MakeName(const std::string& spec);

// nameConstraints with the given subtrees; an empty list leaves that field
// absent.
NameConstraintsPtr MakeNameConstraints(const std::vector<std::string>& permitted,
                                       const std::vector<std::string>& excluded);

struct CertSpec {
  std::string subject;  // MakeName() syntax
  // subjectAltName entries; nullopt: no extension.
  std::optional<std::vector<std::string>> sans;
  // nameConstraints to embed (critical), or null.
  const NAME_CONSTRAINTS* name_constraints = nullptr;
  bool is_ca = false;
};

// A certificate signed by a throwaway P-256 key, parsed with
// Certificate::Parse; aborts if it does not parse.
CertificatePtr MakeCert(const CertSpec& spec);

}  // namespace chainverify::pki::name_testing

#endif  // CHAINVERIFY_TESTS_SERVER_PKI_NAME_TEST_UTIL_H_
