// The PolicyAdmin gRPC service (callback API): reload and describe the serving
// trust policy, over PolicyHolder.
//
// PolicyAdmin must be restricted to admin identities. Caller authorization is a
// later change; until then main.cc serves it only where it is safe to (loopback
// by default, see --enable_policy_admin).
#ifndef CHAINVERIFY_SERVER_SERVICE_POLICY_ADMIN_SERVICE_H_
#define CHAINVERIFY_SERVER_SERVICE_POLICY_ADMIN_SERVICE_H_

#include "chainverify/v1/admin.grpc.pb.h"
#include "server/policy/policy_holder.h"

namespace chainverify::service {

class PolicyAdminService final : public v1::PolicyAdmin::CallbackService {
 public:
  // `holder` (not owned) must outlive the service.
  explicit PolicyAdminService(policy::PolicyHolder* holder) : holder_(holder) {}

  grpc::ServerUnaryReactor* ReloadPolicy(grpc::CallbackServerContext* context,
                                         const v1::ReloadPolicyRequest* request,
                                         v1::ReloadPolicyResponse* response) override;

  grpc::ServerUnaryReactor* GetPolicy(grpc::CallbackServerContext* context,
                                      const v1::GetPolicyRequest* request,
                                      v1::GetPolicyResponse* response) override;

 private:
  policy::PolicyHolder* holder_;
};

}  // namespace chainverify::service

#endif  // CHAINVERIFY_SERVER_SERVICE_POLICY_ADMIN_SERVICE_H_
