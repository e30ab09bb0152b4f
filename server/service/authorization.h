// Caller authorization: who may use which trust policy and PolicyAdmin, from
// the `authorization` section of the policy bundle (proto/chainverify/v1/
// policy.proto, message Authorization). Transport-free: the gRPC layer turns
// the peer's verified client certificate into a Caller.
#ifndef CHAINVERIFY_SERVER_SERVICE_AUTHORIZATION_H_
#define CHAINVERIFY_SERVER_SERVICE_AUTHORIZATION_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "chainverify/v1/policy.pb.h"

namespace chainverify::service {

// What the transport authenticated about a caller.
struct Caller {
  // subjectAltName URIs and DNS names of the verified client certificate;
  // both empty for a caller without one.
  std::vector<std::string> uris;
  std::vector<std::string> dns_names;
  // Another identity the transport vouched for (e.g. an email SAN or the
  // subject CN of a certificate without URI or DNS SANs). Never matched by
  // patterns; only for the audit log.
  std::string other;

  // The stable string for audit records: the first SPIFFE URI, else the first
  // URI, else the first DNS name, else `other`, else "unauthenticated".
  std::string ToString() const;
};

inline constexpr char kUnauthenticated[] = "unauthenticated";

// One identity pattern (syntax in policy.proto, message Authorization).
class IdentityPattern {
 public:
  // INVALID_ARGUMENT for an empty pattern, a "*" anywhere but as a whole
  // pattern, a trailing "/*" of a URI or a leading "*." of a DNS name, or a DNS
  // pattern that is not a DNS name.
  static absl::StatusOr<IdentityPattern> Parse(absl::string_view pattern);

  bool Matches(const Caller& caller) const;
  const std::string& text() const { return text_; }

 private:
  enum class Kind { kAny, kUriExact, kUriPrefix, kDnsExact, kDnsSuffix };
  IdentityPattern(Kind kind, std::string text, std::string value)
      : kind_(kind), text_(std::move(text)), value_(std::move(value)) {}

  Kind kind_;
  std::string text_;   // As written.
  std::string value_;  // What is compared: the URI, the prefix ("…/"), the
                       // lowercased DNS name or suffix (".billing.internal").
};

// The compiled authorization section. Immutable; part of a PolicySet, so a
// reload swaps it together with the policies it names.
class Authorization {
 public:
  // `policy_names`: the bundle's policies, which grants must name (or "*").
  static absl::StatusOr<Authorization> Compile(const v1::Authorization& config,
                                               absl::Span<const std::string> policy_names);

  // Whether `caller` may verify with the policy named `policy` (already
  // resolved: the default policy's name for a request naming none).
  bool MayUsePolicy(const Caller& caller, absl::string_view policy) const;
  // Whether `caller` may call PolicyAdmin.
  bool IsAdmin(const Caller& caller) const;

 private:
  struct Grant {
    std::vector<IdentityPattern> identities;
    std::vector<std::string> policies;  // Names, or "*".
  };
  std::vector<Grant> grants_;
  std::vector<IdentityPattern> admins_;
};

}  // namespace chainverify::service

#endif  // CHAINVERIFY_SERVER_SERVICE_AUTHORIZATION_H_
