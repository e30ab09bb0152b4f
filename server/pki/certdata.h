// A root program as a trust source: NSS's certdata.txt
// (nss/lib/ckfw/builtins/certdata.txt), Mozilla's root store, the file every
// Linux distribution derives its CA bundle from. Unlike the PEM bundle derived
// from it, it says per purpose what the root program decided.
//
// Format (after the "BEGINDATA" line; '#' lines are comments): objects are
// runs of attribute lines separated by blank lines, each starting with
// CKA_CLASS. An attribute line is "NAME TYPE VALUE"; a MULTILINE_OCTAL value
// follows on lines of \ooo escapes up to a line "END".
//
// What is read:
//   - CKO_CERTIFICATE: CKA_VALUE (the DER certificate, which must agree with
//     CKA_ISSUER, CKA_SERIAL_NUMBER and CKA_SUBJECT), CKA_LABEL, and
//     CKA_NSS_SERVER_DISTRUST_AFTER / CKA_NSS_EMAIL_DISTRUST_AFTER: CK_BBOOL
//     CK_FALSE for none, or a MULTILINE_OCTAL UTCTime "YYMMDDHHMMSSZ".
//   - CKO_NSS_TRUST: matched to its certificate by CKA_ISSUER and
//     CKA_SERIAL_NUMBER, its CKA_CERT_SHA1_HASH and CKA_CERT_MD5_HASH checked
//     against the certificate. Per purpose (CKA_TRUST_SERVER_AUTH,
//     CKA_TRUST_EMAIL_PROTECTION, CKA_TRUST_CLIENT_AUTH):
//       CKT_NSS_TRUSTED_DELEGATOR  an anchor for that purpose;
//       CKT_NSS_NOT_TRUSTED        explicitly distrusted: wins over every other
//                                  source of the policy, and applies to any
//                                  certificate with that issuer and serial;
//       CKT_NSS_MUST_VERIFY_TRUST, CKT_NSS_TRUST_UNKNOWN, CKT_NSS_VALID_DELEGATOR,
//       CKT_NSS_TRUSTED (a trusted leaf, which chainverify never accepts without
//       a path), or no attribute: not an anchor for that purpose.
//     A distrust-after attribute on the trust object counts too (the earlier
//     date wins when both objects carry one).
//   - Other classes (CKO_NSS_BUILTIN_ROOT_LIST, ...) and unknown attributes are
//     skipped.
//   - CLIENT_AUTH: Mozilla's program decides server authentication and email;
//     what client authentication trusts is the policy's choice
//     (CertdataClientAuth).
//
// Refused, with the line number: a value not terminated by END (a truncated
// file), a bad octal escape, an unknown CK_TRUST or CK_BBOOL value, a bad
// distrust-after time, a duplicate attribute or object, a certificate that does
// not parse or disagrees with its attributes, a certificate without a trust
// object, a trust object that trusts a certificate the file does not hold (a
// trust object without a certificate is kept only as a distrust record), a
// hash mismatch, and anything over the limits below.
#ifndef CHAINVERIFY_SERVER_PKI_CERTDATA_H_
#define CHAINVERIFY_SERVER_PKI_CERTDATA_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/pki/trust_source.h"

namespace chainverify::pki {

// Limits, checked before the work they bound. Mozilla's file of May 2026 is
// 1.3 MB, 24,570 lines, 335 objects, certificates up to 2 KB.
// The whole file: refused above 16 MiB without being read.
inline constexpr size_t kCertdataMaxBytes = 16 << 20;
// One line (certdata.txt's longest are comments of about 200 bytes).
inline constexpr size_t kCertdataMaxLineBytes = 4096;
// Objects of any class.
inline constexpr size_t kCertdataMaxObjects = 10000;
// One MULTILINE_OCTAL value, decoded (the largest certificate the service
// accepts in a request, --max_certificate_bytes' default).
inline constexpr size_t kCertdataMaxValueBytes = 65536;

// What CLIENT_AUTH requests trust from the file (policy.proto TrustStore
// certdata_client_auth).
enum class CertdataClientAuth {
  // The server-auth decisions (CKA_TRUST_SERVER_AUTH and the server
  // distrust-after), as the OS bundle derived from the same file is used.
  kAsServerAuth,
  // CKA_TRUST_CLIENT_AUTH of each trust object (absent: not an anchor).
  // Mozilla's file sets none, so none of its roots is then an anchor.
  kClientAuthAttribute,
  // None of the file's certificates is an anchor for (or distrusted for)
  // CLIENT_AUTH.
  kNone,
};

struct CertdataOptions {
  // Named in errors and as the source's path.
  std::string path;
  CertdataClientAuth client_auth = CertdataClientAuth::kAsServerAuth;
};

// Parses certdata.txt text (at most kCertdataMaxBytes).
absl::StatusOr<LoadedTrustSource> ParseCertdata(absl::string_view text,
                                                const CertdataOptions& options);
// Reads options.path, refusing a file over kCertdataMaxBytes before reading
// it, and parses it.
absl::StatusOr<LoadedTrustSource> LoadCertdataFile(const CertdataOptions& options);

}  // namespace chainverify::pki

#endif  // CHAINVERIFY_SERVER_PKI_CERTDATA_H_
