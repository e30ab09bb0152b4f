// Checks that a message the service would send can be read back by a client:
// proto3 `string` fields must hold UTF-8, and Debian's protobuf only logs an
// error when serializing one that does not, after which every client's parse
// of the response fails. A fuzz finding when violated.
#ifndef CHAINVERIFY_FUZZ_PROTO_CHECK_H_
#define CHAINVERIFY_FUZZ_PROTO_CHECK_H_

#include <cstdio>
#include <cstdlib>
#include <string>

#include "google/protobuf/message.h"
#include "google/protobuf/stubs/logging.h"

namespace chainverify::fuzz {

// Protobuf logs every rejected text-format or invalid-UTF-8 input; at
// thousands of inputs a second that is all a log would hold.
inline void SilenceProtobufLogs() { google::protobuf::SetLogHandler(nullptr); }

inline void CheckRoundTrip(const google::protobuf::Message& message) {
  std::string bytes;
  if (!message.SerializeToString(&bytes)) {
    std::fprintf(stderr, "cannot serialize %s\n", message.GetTypeName().c_str());
    std::abort();
  }
  std::unique_ptr<google::protobuf::Message> copy(message.New());
  if (!copy->ParseFromString(bytes)) {
    std::fprintf(stderr, "a client cannot parse this %s:\n%s\n",
                 message.GetTypeName().c_str(), message.DebugString().c_str());
    std::abort();
  }
}

}  // namespace chainverify::fuzz

#endif  // CHAINVERIFY_FUZZ_PROTO_CHECK_H_
