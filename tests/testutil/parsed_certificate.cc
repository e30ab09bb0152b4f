#include "tests/testutil/parsed_certificate.h"

#include "gtest/gtest.h"

namespace chainverify::testing {

pki::CertificatePtr Parsed(const TestCert& cert) {
  pki::ParseError error;
  pki::CertificatePtr parsed = pki::Certificate::Parse(cert.der, &error);
  EXPECT_NE(parsed, nullptr) << error.diagnostic;
  return parsed;
}

}  // namespace chainverify::testing
