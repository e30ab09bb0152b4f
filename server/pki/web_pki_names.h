// Rules on the names in a leaf certificate itself (not on matching them to a
// peer name: that is hostname_match.h):
//
//   CheckSanDnsSyntax      RFC 5280 4.2.1.6: dNSName in preferred name syntax.
//                          Meant for both profiles.
//   CheckWebPkiLeafNames   CheckSanDnsSyntax plus the CA/Browser Forum
//                          Baseline Requirements' rules on a Subscriber
//                          (leaf) Certificate's names (BR 3.2.2.6, 7.1.4.1,
//                          7.1.4.3, 7.1.2.7.12). Meant for the Web PKI
//                          profile, server certificates.
//
// Both return OK or the first violation, as an InvalidArgument status whose
// message names the rule and the offending value; WebPkiNameErrorId() gives
// the matching CertErrorId.
//
// The subject commonName rule (BR 7.1.4.3), and how it is scoped
// ---------------------------------------------------------------------------
// BR 7.1.4.3: "If present, this attribute MUST contain exactly one entry that
// is one of the values contained in the Certificate's subjectAltName
// extension", an IPv4 address in RFC 3986 3.2.2 form, an IPv6 address in RFC
// 5952 section 4 form, a domain name as "a character-for-character copy of
// the dNSName entry value" (A-labels stay A-labels). Applied literally this
// rejects hundreds of certificates that verifiers are expected to accept
// (x509-limbo's BetterTLS suite and most of its other leaves carry a CN that
// is no SAN: "bad.example.com" beside the SAN "test.localhost", "1.1.1.1"
// beside 127.0.0.1, "example.com" beside "*.example.com"). The rule is
// therefore split by what it protects:
//
//   (1) One, unambiguous CN, always. At most one commonName attribute
//       (BR 7.1.4.1: no attribute type twice); and a CN that names one of the
//       SAN identities - the same IP address in any textual form (hex,
//       leading zeros, upper case, uncompressed), or the same DNS name up to
//       ASCII case, a trailing dot, or a Unicode (U-label) spelling - must be
//       its exact canonical text. Such a CN is the same identity written a
//       second way, and software that reads the CN (logs, UIs, RFC 6125 6.4.4
//       CN-ID fallback) must not see it differently from the SAN.
//   (2) No name beyond the SAN, for publicly-issued leaves. A CN that looks
//       like a host (an IP address, or at least two dot-separated labels)
//       must name an identity the CA validated: a SAN iPAddress, a SAN
//       dNSName, or one of that dNSName's Authorization Domain Names (BR
//       1.6.1: the name with "*." removed, pruned label by label down to its
//       Base Domain Name - so "example.com" beside "*.example.com" is
//       accepted). This binds only a certificate whose SAN names a public
//       identity and nothing else: at least one dNSName or iPAddress, and no
//       Internal Name (a TLD outside the IANA root zone, e.g. "localhost",
//       BR 1.6.1) and no Reserved IP Address (IANA special-purpose registries,
//       BR 1.6.1). The BR forbid those in every publicly-trusted certificate
//       (BR 7.1.2.7.12), so a leaf carrying one was issued by a private PKI,
//       to which the BR's issuance rules do not apply.
//
// Wildcards over a public suffix (BR 3.2.2.6)
// ---------------------------------------------------------------------------
// "*.X" is refused when X is a public suffix of the ICANN section ("*.com",
// "*.co.uk") or unknown TLD, and when X is a public suffix of the PRIVATE
// section ("*.s3.amazonaws.com") unless the certificate also names X itself:
// only the operator of a private suffix can validate its apex, which is the
// proof of "rightful control of the entire Domain Namespace" 3.2.2.6 asks
// for (Amazon's own s3.amazonaws.com certificate names both). Without a list,
// X must have at least two labels.
#ifndef CHAINVERIFY_SERVER_PKI_WEB_PKI_NAMES_H_
#define CHAINVERIFY_SERVER_PKI_WEB_PKI_NAMES_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "server/pki/cert_errors.h"
#include "server/pki/certificate.h"
#include "server/pki/public_suffix_list.h"

namespace chainverify::pki {

// RFC 5280 4.2.1.6: every SAN dNSName "MUST be in the 'preferred name
// syntax', as specified by Section 3.5 of [RFC1034] and as modified by
// Section 2.1 of [RFC1123]": labels of letters, digits and '-', 1-63
// characters, not starting or ending with '-', at most 253 characters in all,
// no empty label (so no trailing dot), no underscore, and a right-most label
// that is not all digits (RFC 1123 2.1: "8.8.8.8" is an address, not a name).
// A left-most label of exactly "*" is allowed (RFC 6125 6.4.3, BR 1.6.1
// Wildcard Domain Name) when a name follows it.
absl::Status CheckSanDnsSyntax(const Certificate& cert);

// CheckSanDnsSyntax, then the BR wildcard and commonName rules described at
// the top of this file. `psl` may be null (PublicSuffixList::Default() is
// null when the system has no list): a wildcard must then be followed by at
// least two labels, Base Domain Names are taken to have at least two labels,
// and Internal Names are recognised only by the special-use TLDs ("localhost",
// "local", "test", "example", "invalid", "internal", "home.arpa").
absl::Status CheckWebPkiLeafNames(const Certificate& leaf,
                                  const PublicSuffixList* psl);

// The CertErrorId a non-OK status of the two functions above stands for
// (kNameSanDnsSyntax, kNameWildcardPublicSuffix or kNameCommonNameMismatch);
// nullptr for any other status.
const CertErrorId* WebPkiNameErrorId(const absl::Status& status);

// The canonical text of an iPAddress SAN value (4 or 16 bytes): IPv4 dotted
// decimal without leading zeros (RFC 3986 3.2.2); IPv6 per RFC 5952 section 4
// (lowercase hex, no leading zeros, the longest run of two or more zero
// groups - the first of equal runs - as "::"). nullopt for other lengths.
std::optional<std::string> CanonicalIpText(absl::string_view ip_bytes);

}  // namespace chainverify::pki

#endif  // CHAINVERIFY_SERVER_PKI_WEB_PKI_NAMES_H_
