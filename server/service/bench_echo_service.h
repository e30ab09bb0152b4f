// BenchEcho (proto/chainverify/v1/bench.proto): the echo RPC that
// //bench:service measures next to Verify. chainverifyd registers it only with
// --enable_bench_echo.
#ifndef CHAINVERIFY_SERVER_SERVICE_BENCH_ECHO_SERVICE_H_
#define CHAINVERIFY_SERVER_SERVICE_BENCH_ECHO_SERVICE_H_

#include "chainverify/v1/bench.grpc.pb.h"

namespace chainverify::service {

class BenchEchoService final : public v1::BenchEcho::CallbackService {
 public:
  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* context,
                                 const v1::EchoRequest* request,
                                 v1::EchoResponse* response) override;
};

}  // namespace chainverify::service

#endif  // CHAINVERIFY_SERVER_SERVICE_BENCH_ECHO_SERVICE_H_
