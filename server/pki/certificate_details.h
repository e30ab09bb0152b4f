// Renders core results as API messages: the facts about each certificate
// (what Python's getpeercert() gives, plus fingerprints) and the verdict
// fields of VerifyResponse. Messages only; no gRPC.
#ifndef CHAINVERIFY_SERVER_PKI_CERTIFICATE_DETAILS_H_
#define CHAINVERIFY_SERVER_PKI_CERTIFICATE_DETAILS_H_

#include <memory>

#include "chainverify/v1/verifier.pb.h"
#include "server/pki/verifier.h"

namespace chainverify::pki {

// Fills `out` with a trust source (policy.proto TrustStore) and, for one
// certificate, its label there.
void DescribeTrustSource(const TrustSource& source, const std::string& label,
                         v1::TrustSource* out);

// Fills `out` with the details of `entry`'s certificate (for an anchor, the
// trust sources that hold it).
void DescribeCertificate(const ChainEntry& entry, v1::CertificateDetails* out);

// Fills verdict, status, the chain, unused indices and errors of `response`
// from `result`. Leaves request_id, policy, decision id and time to the caller.
void FillVerdict(const VerifyResult& result, v1::VerifyResponse* response);

// FillVerdict's fields of `result`, serialized (the bytes of the message
// FillVerdict would fill): rendered once per cached result (result.rendered)
// and shared, or afresh for a result that is not cached. The caller's own
// fields (request_id, ...) serialized, followed by these bytes, are the
// serialized VerifyResponse.
std::shared_ptr<const RenderedVerdict> RenderVerdict(const VerifyResult& result);

// The API's names for the core's revocation states and fetch outcomes.
v1::RevocationResult::State ToProto(RevocationNote::State state);
v1::IssuerFetch::Outcome ToProto(IssuerFetchNote::Outcome outcome);

}  // namespace chainverify::pki

#endif  // CHAINVERIFY_SERVER_PKI_CERTIFICATE_DETAILS_H_
