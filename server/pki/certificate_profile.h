// Rules on a single certificate's encoding and extensions, by the role it
// plays in a path: what RFC 5280 section 4 says conforming CAs MUST do, and,
// for the Web PKI profile, the CA/Browser Forum Baseline Requirements 7.1.
//
// Checked per path (the role depends on the path), after parsing, so a
// certificate that breaks a rule only fails the paths that use it. These are
// rules about how a certificate was issued: a trust anchor is held to them
// only under ValidationOptions::strict_anchor_checks (ARCHITECTURE.md
// "Trust anchors").
#ifndef CHAINVERIFY_SERVER_PKI_CERTIFICATE_PROFILE_H_
#define CHAINVERIFY_SERVER_PKI_CERTIFICATE_PROFILE_H_

#include "server/pki/cert_errors.h"
#include "server/pki/certificate.h"
#include "server/pki/validation_options.h"

namespace chainverify::pki {

enum class CertRole { kLeaf, kIntermediate, kAnchor };

void CheckCertificateProfile(const Certificate& cert, CertRole role, Profile profile,
                             int chain_index, CertErrors* errors);

}  // namespace chainverify::pki

#endif  // CHAINVERIFY_SERVER_PKI_CERTIFICATE_PROFILE_H_
