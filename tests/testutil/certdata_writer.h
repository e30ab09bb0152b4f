// Writes NSS certdata.txt files (server/pki/certdata.h) around generated
// certificates, for tests that need specific root-program records: NOT_TRUSTED,
// email-only, distrust-after dates, trust objects without their certificate.
#ifndef CHAINVERIFY_TESTS_TESTUTIL_CERTDATA_WRITER_H_
#define CHAINVERIFY_TESTS_TESTUTIL_CERTDATA_WRITER_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace chainverify::testing {

// One certificate and its trust object.
struct CertdataEntry {
  std::string der;  // The certificate.
  std::string label;
  // CK_TRUST values; an empty string leaves the attribute out.
  std::string server_auth = "CKT_NSS_TRUSTED_DELEGATOR";
  std::string email_protection = "CKT_NSS_MUST_VERIFY_TRUST";
  std::string client_auth;
  // UTCTime "YYMMDDHHMMSSZ" for CKA_NSS_SERVER/EMAIL_DISTRUST_AFTER on the
  // certificate object; nullopt writes CK_BBOOL CK_FALSE.
  std::optional<std::string> server_distrust_after;
  std::optional<std::string> email_distrust_after;
  // false: only the trust object (NSS's form for distrusting a certificate
  // it does not ship).
  bool include_certificate = true;
};

// A whole file: the license-free header, BEGINDATA, the root list object, then
// each entry's certificate and trust objects, formatted as NSS formats them.
std::string CertdataFile(const std::vector<CertdataEntry>& entries);

// MULTILINE_OCTAL lines for `bytes`, 16 escapes a line, ending with "END\n".
std::string CertdataOctal(absl::string_view bytes);

}  // namespace chainverify::testing

#endif  // CHAINVERIFY_TESTS_TESTUTIL_CERTDATA_WRITER_H_
