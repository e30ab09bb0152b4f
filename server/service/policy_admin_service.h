// The PolicyAdmin gRPC service (callback API): reload and describe the serving
// trust policy, over PolicyHolder.
//
// Only admins may call it: callers matching the serving bundle's
// authorization.admin_identities. A bundle without an authorization section
// admits only plaintext loopback callers (the development setup), never TLS
// ones; everyone else gets PERMISSION_DENIED.
#ifndef CHAINVERIFY_SERVER_SERVICE_POLICY_ADMIN_SERVICE_H_
#define CHAINVERIFY_SERVER_SERVICE_POLICY_ADMIN_SERVICE_H_

#include "chainverify/v1/admin.grpc.pb.h"
#include "server/policy/policy_holder.h"

namespace chainverify::service {

class PolicyAdminService final : public v1::PolicyAdmin::CallbackService {
 public:
  // `holder` (not owned) must outlive the service. `plaintext_loopback`: the
  // server listens without TLS on a loopback address.
  PolicyAdminService(policy::PolicyHolder* holder, bool plaintext_loopback)
      : holder_(holder), plaintext_loopback_(plaintext_loopback) {}

  grpc::ServerUnaryReactor* ReloadPolicy(grpc::CallbackServerContext* context,
                                         const v1::ReloadPolicyRequest* request,
                                         v1::ReloadPolicyResponse* response) override;

  grpc::ServerUnaryReactor* GetPolicy(grpc::CallbackServerContext* context,
                                      const v1::GetPolicyRequest* request,
                                      v1::GetPolicyResponse* response) override;

 private:
  // OK, or PERMISSION_DENIED (logged) when the caller is not an admin under the
  // serving policy's authorization section.
  grpc::Status Authorize(const grpc::CallbackServerContext& context, const char* method) const;

  policy::PolicyHolder* holder_;
  const bool plaintext_loopback_;
};

}  // namespace chainverify::service

#endif  // CHAINVERIFY_SERVER_SERVICE_POLICY_ADMIN_SERVICE_H_
