#ifndef CHAINVERIFY_TESTS_TESTUTIL_PARSED_CERTIFICATE_H_
#define CHAINVERIFY_TESTS_TESTUTIL_PARSED_CERTIFICATE_H_

#include "server/pki/certificate.h"
#include "tests/testutil/test_pki.h"

namespace chainverify::testing {

// `cert` parsed by pki::Certificate::Parse; a test failure (and null) when it
// does not parse.
pki::CertificatePtr Parsed(const TestCert& cert);

}  // namespace chainverify::testing

#endif  // CHAINVERIFY_TESTS_TESTUTIL_PARSED_CERTIFICATE_H_
