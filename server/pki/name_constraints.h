// The nameConstraints extension of one CA certificate (RFC 5280 4.2.1.10) and
// the check of a subsequent certificate against it (RFC 5280 6.1.3 (b)(c),
// 6.1.4 (g)).
//
// Rather than intersecting permitted subtrees along the path as RFC 5280 6.1
// describes, the chain validator keeps one NameConstraints per constraining CA
// and checks every certificate below it against each of them; the outcome is
// the same (a name must lie within every CA's permitted subtrees and outside
// every CA's excluded subtrees).
#ifndef CHAINVERIFY_SERVER_PKI_NAME_CONSTRAINTS_H_
#define CHAINVERIFY_SERVER_PKI_NAME_CONSTRAINTS_H_

#include <string>
#include <vector>

#include <openssl/x509v3.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/pki/certificate.h"
#include "server/pki/openssl_util.h"
#include "server/pki/validation_options.h"

namespace chainverify::pki {

class NameConstraints {
 public:
  // Validates and copies OpenSSL's decoded extension (nothing is borrowed).
  // Fails with InvalidArgument when the extension is malformed:
  //   - both permittedSubtrees and excludedSubtrees absent, or either present
  //     but empty (RFC 5280 4.2.1.10: "MUST NOT" be empty; SIZE (1..MAX));
  //   - a GeneralSubtree with minimum other than 0 or with a maximum
  //     (RFC 5280 4.2.1.10: "MUST be zero" / "MUST be absent");
  //   - an iPAddress that is not 8 or 32 octets, or whose mask is not a
  //     contiguous prefix (CIDR, RFC 4632);
  //   - a dNSName that is not a host/domain name (letters, digits, '-', '_',
  //     labels of 1-63; no '*'), except that one leading '.' is accepted
  //     (meaning "subdomains only", as Chrome, Go and OpenSSL read it) and ""
  //     is accepted (it matches every name);
  //   - an rfc822Name that is not a mailbox, a host, or ".domain";
  //   - a uniformResourceIdentifier that is not a host or ".domain";
  //   - a non-ASCII or non-IA5 string anywhere.
  // otherName, x400Address, ediPartyName and registeredID subtrees are
  // accepted; a certificate that has a name of such a type is then refused
  // (fail closed, RFC 5280 4.2.1.10 "MUST either process the constraint or
  // reject the certificate").
  static absl::StatusOr<NameConstraints> Create(const NAME_CONSTRAINTS* nc);

  NameConstraints(NameConstraints&&) = default;
  NameConstraints& operator=(NameConstraints&&) = default;

  // Checks the names of `cert`, a certificate issued below the CA that carries
  // these constraints. The chain validator calls it for every certificate
  // below the constrained CA except self-issued intermediates, which RFC 5280
  // 6.1.4 (g) exempts (a self-issued leaf is checked); this function does not
  // look at self-issuance.
  //
  // Names checked, each against the subtrees of its own type only (a name
  // type that has no subtree is unaffected, RFC 5280 4.2.1.10):
  //   - every subjectAltName entry;
  //   - the subject DN, when non-empty, against directoryName subtrees (as a
  //     prefix of RDNs, attribute values compared the way X509_NAME_cmp
  //     canonicalises them: case-insensitive, whitespace-folded);
  //   - every emailAddress attribute of the subject, against rfc822Name
  //     subtrees (RFC 5280 4.2.1.10; checked even when a SAN is present, the
  //     stricter reading, as OpenSSL does);
  //   - for a leaf without any subjectAltName extension, each subject Common
  //     Name that reads as an IP address or as a multi-label host name,
  //     against iPAddress / dNSName subtrees, so that a host-like CN cannot
  //     escape the constraints (Chrome's and Go's legacy rule). CNs are not
  //     checked when a SAN is present: the CN then names nothing a client may
  //     use (we never fall back to it), and BetterTLS expects such a
  //     certificate to be accepted.
  // A name that is malformed for its type (e.g. dNSName ".example.com", an
  // rfc822Name with two '@', a URI without a DNS host) is refused whenever
  // subtrees of that type exist, since it cannot be shown to be inside them.
  //
  // Under Profile::kRfc5280 a dNSName subtree with a leading '.' makes the
  // constraints unusable (RFC 5280 4.2.1.10 defines the leading-period form
  // only for rfc822Name and URI; x509-limbo rfc5280::nc::invalid-dnsname-
  // leading-period); under kWebPki it means "proper subdomains only".
  //
  // Returns OK; PermissionDenied naming the offending name on a violation; or
  // InvalidArgument when the constraints are unusable under `profile`.
  // `is_leaf` only selects the Common Name rule above.
  absl::Status IsPermitted(const Certificate& cert, bool is_leaf,
                           Profile profile) const;

 private:
  enum NameType : int {
    kDnsType = 1 << 0,
    kIpType = 1 << 1,
    kEmailType = 1 << 2,
    kUriType = 1 << 3,
    kDirectoryType = 1 << 4,
    kOtherType = 1 << 5,  // otherName, x400Address, ediPartyName
    kRegisteredIdType = 1 << 6,
  };

  struct IpSubtree {
    std::string address;  // 4 or 16 bytes, already masked
    std::string mask;     // same length
  };
  struct DirectorySubtree {
    X509NamePtr name;  // never empty (an empty DN is `matches_all`)
    int rdn_count = 0;
  };
  struct Subtrees {
    int types = 0;  // NameType bits present
    // Lowercase, trailing dot removed; "" matches everything; a leading '.'
    // means proper subdomains only.
    std::vector<std::string> dns;
    std::vector<IpSubtree> ips;
    // Lowercase domain parts. Mailboxes: local part as encoded.
    std::vector<std::string> email_mailboxes;  // "local@domain"
    std::vector<std::string> email_hosts;      // "example.com"
    std::vector<std::string> email_domains;    // ".example.com"
    bool email_matches_all = false;            // "" constraint
    std::vector<std::string> uri_hosts;        // "" matches every URI host
    std::vector<DirectorySubtree> directories;
    bool directory_matches_all = false;        // empty DN constraint
  };

  NameConstraints() = default;

  static absl::Status AddSubtrees(const STACK_OF(GENERAL_SUBTREE)* stack,
                                  const char* which, Subtrees* out);

  absl::Status CheckDns(absl::string_view name, absl::string_view what) const;
  absl::Status CheckIp(absl::string_view ip, absl::string_view what) const;
  absl::Status CheckEmail(absl::string_view email, absl::string_view what) const;
  absl::Status CheckUri(absl::string_view uri) const;
  absl::Status CheckDirectoryName(const X509_NAME* name,
                                  absl::string_view what) const;

  Subtrees permitted_;
  Subtrees excluded_;
  bool has_leading_dot_dns_ = false;
};

}  // namespace chainverify::pki

#endif  // CHAINVERIFY_SERVER_PKI_NAME_CONSTRAINTS_H_
