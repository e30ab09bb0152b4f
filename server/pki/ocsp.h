// OCSP (RFC 6960): checking a DER OCSPResponse about one certificate, whether
// stapled by a TLS server or fetched from the responder named in the
// certificate's authorityInfoAccess, and building the request to fetch one.
//
// An answer is a RevocationCheck (crl.h) whose source is
// "ocsp:<responder name>", so that callers treat CRL and OCSP answers alike.
//
// Scope and decisions where RFC 6960 leaves room:
//  - Only id-pkix-ocsp-basic responses (4.2.1) are understood.
//  - Authorized responders (4.2.2.2): the certificate's issuer itself, named by
//    the responderID (byName or byKey), or a delegated responder certificate
//    carried in the response's `certs`, named by the responderID, issued
//    directly by the issuer (its issuer name is the issuer's subject and its
//    signature verifies with the issuer's key), with extKeyUsage
//    id-kp-OCSPSigning (anyExtendedKeyUsage does not count), valid at the
//    time, without keyUsage or with digitalSignature (RFC 5280 4.2.1.3), and
//    without unhandled critical extensions. The answer carries the
//    responder's certificate (RevocationCheck::delegated_responder) and
//    whether it has id-pkix-ocsp-nocheck (4.2.2.2.1), for the caller to judge
//    the responder; ChainValidator does. Locally configured responders are
//    not supported.
//  - A SingleResponse applies when its CertID (4.1.1) matches the certificate
//    under the CertID's own hash algorithm (SHA-1, SHA-256, or any digest
//    OpenSSL knows).
//  - Freshness (4.2.2.1): thisUpdate must not be after the time (plus the
//    allowed clock skew); with nextUpdate the time must not be after it (plus
//    skew); without nextUpdate, thisUpdate must be no older than
//    OcspOptions::max_age_without_next_update.
//  - Revocation is sticky, as in crl.h: an authentic "revoked" answer for the
//    certificate gives kRevoked even when stale. A response whose thisUpdate is
//    after the time is not used at all.
//  - Responses with an unrecognized critical extension (4.4; the nonce is the
//    only one recognized), or a SingleResponse with one, are not used.
//  - The algorithm policy (SHA-1, key sizes) is not applied to the response's
//    signature.
//  - kInvalidCrl is never returned: every OCSP failure is kUnknown, with the
//    reason in `diagnostic`.
#ifndef CHAINVERIFY_SERVER_PKI_OCSP_H_
#define CHAINVERIFY_SERVER_PKI_OCSP_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/pki/certificate.h"
#include "server/pki/crl.h"

namespace chainverify::pki {

// Larger responses are refused without being decoded. Real responses are a few
// kilobytes, delegated responder certificates included.
inline constexpr size_t kMaxOcspResponseBytes = 64 * 1024;

struct OcspOptions {
  // How old thisUpdate may be when the response has no nextUpdate (RFC 6960
  // 4.2.2.1: "newer information is available all the time").
  absl::Duration max_age_without_next_update = absl::Hours(24);
  // Tolerance for clock differences with the responder, applied to thisUpdate
  // and nextUpdate.
  absl::Duration clock_skew = absl::Minutes(5);
};

// Checks a DER OCSPResponse about `cert` (issued by `issuer`, the next
// certificate of the path) at `time`. kGood and kRevoked come only from an
// authentic SingleResponse for `cert`; everything else (garbage, oversized
// input, an unsuccessful responseStatus, an unauthorized signer, no matching
// SingleResponse, a stale "good") is kUnknown with the reason in `diagnostic`.
RevocationCheck CheckOcspResponse(absl::string_view ocsp_response_der,
                                  const Certificate& cert,
                                  const Certificate& issuer, absl::Time time,
                                  const OcspOptions& options = {});

// The DER OCSPRequest (RFC 6960 4.1.1) for `cert` issued by `issuer`: one
// Request with a SHA-1 CertID, as RFC 5019 2.1.1 requires and as responders
// expect; unsigned, without requestorName and without a nonce (RFC 5019
// responders serve pre-produced responses and ignore it). InvalidArgument when
// `cert` does not name `issuer` as its issuer.
absl::StatusOr<std::string> BuildOcspRequest(const Certificate& cert,
                                             const Certificate& issuer);

// The OCSP responder URLs of `cert`: the id-ad-ocsp accessLocations of its
// authorityInfoAccess extension (RFC 5280 4.2.2.1) that are http:// or https://
// URIs (RFC 6960 A.1), in certificate order. Empty when there are none.
std::vector<std::string> OcspResponderUrls(const Certificate& cert);

}  // namespace chainverify::pki

#endif  // CHAINVERIFY_SERVER_PKI_OCSP_H_
