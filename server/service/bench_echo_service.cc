#include "server/service/bench_echo_service.h"

namespace chainverify::service {

grpc::ServerUnaryReactor* BenchEchoService::Echo(grpc::CallbackServerContext* context,
                                                 const v1::EchoRequest* request,
                                                 v1::EchoResponse* response) {
  // A copy, as a real handler would build its response from the request.
  response->set_payload(request->payload());
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace chainverify::service
