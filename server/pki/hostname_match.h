// Matching the identity a caller expects against a leaf certificate: RFC 6125
// section 6 with the CA/Browser Forum Baseline Requirements' restrictions on
// wildcards (BR 1.6.1 "Wildcard Domain Name").
//
// Only subjectAltName is consulted. The subject Common Name is never used as a
// fallback, in either profile: RFC 6125 6.4.4 permits it only when the
// certificate has no subjectAltName at all, the Baseline Requirements
// (7.1.4.3) make the CN a mere copy of a SAN entry, and browsers dropped the
// fallback years ago. Accepting it would let a certificate that carries no
// DNS identity at all (e.g. an S/MIME or client certificate whose CN happens
// to look like a host name) authenticate a server.
#ifndef CHAINVERIFY_SERVER_PKI_HOSTNAME_MATCH_H_
#define CHAINVERIFY_SERVER_PKI_HOSTNAME_MATCH_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/pki/certificate.h"
#include "server/pki/validation_options.h"

namespace chainverify::pki {

// Classifies and validates the name a request asks the leaf to have:
//   - ""                               -> kNone
//   - contains '@'                     -> kEmail (local@domain, value as given)
//   - IPv4 dotted quad, IPv6 text, or
//     "[IPv6]"                         -> kIpAddress (raw 4 or 16 bytes)
//   - anything else                    -> kDns, validated: labels of letters,
//     digits, '-' and '_' (underscores appear in many private PKIs), 1-63
//     characters each, not starting or ending with '-', at most 253
//     characters, no empty label, no wildcard, rightmost label not all digits
//     (that is a mistyped IPv4 address). Lowercased, one trailing dot removed.
// Fails with InvalidArgument and a message saying what is wrong.
absl::StatusOr<PeerName> ParsePeerName(absl::string_view text);

// Whether the SAN dNSName `san_dns` (a presented identifier, RFC 6125 6.4)
// matches the reference host name `host`. ASCII case-insensitive; one trailing
// dot on either side is ignored. A wildcard is honoured only as the entire
// left-most label ("*.example.com", RFC 6125 6.4.3 and BR 1.6.1), matches
// exactly one non-empty label, requires at least two labels after it ("*.com"
// never matches), and never matches an IDN A-label ("xn--..."), since the
// wildcard would stand for a Unicode label the CA never saw. Partial-label
// wildcards ("f*.example.com", "xn--*-x.example.com") match nothing.
bool MatchesDnsPattern(absl::string_view san_dns, absl::string_view host);

// Whether `leaf` carries `name` in its subjectAltName:
//   kDns:       some dNSName MatchesDnsPattern(dns, name.value);
//   kIpAddress: some iPAddress has exactly the same bytes (so an IPv4 name
//               never matches an IPv4-mapped IPv6 SAN, nor the reverse);
//   kEmail:     some rfc822Name equal to name.value, the local part compared
//               exactly (RFC 5321 2.4: it is case-sensitive) and the domain
//               case-insensitively;
//   kNone:      true (nothing was asked for).
// The Common Name is never consulted (see the top of this file); `profile`
// therefore changes nothing today and is taken so callers need not change if
// a profile-specific rule is added.
bool LeafMatchesPeerName(const Certificate& leaf, const PeerName& name,
                         Profile profile);

}  // namespace chainverify::pki

#endif  // CHAINVERIFY_SERVER_PKI_HOSTNAME_MATCH_H_
