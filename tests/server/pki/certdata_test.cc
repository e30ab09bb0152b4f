// The certdata.txt trust source (server/pki/certdata.h): Mozilla's real file
// from ../shared, malformed files refused with their line, and hand-written
// files around generated certificates driving verdicts through VerifyChain.
#include "server/pki/certdata.h"

#include <unistd.h>

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "server/pki/hostname_match.h"
#include "server/pki/trust_store.h"
#include "server/pki/verifier.h"
#include "tests/testutil/certdata_writer.h"
#include "tests/testutil/shared_data.h"
#include "tests/testutil/test_pki.h"

namespace chainverify::pki {
namespace {

using ::chainverify::testing::CertdataEntry;
using ::chainverify::testing::CertdataFile;
using ::chainverify::testing::IntermediateSpec;
using ::chainverify::testing::LeafSpec;
using ::chainverify::testing::MustIssue;
using ::chainverify::testing::RootSpec;
using ::chainverify::testing::TestCert;
using Level = PurposeTrust::Level;

const absl::Time kNow = absl::FromUnixSeconds(1800000000);  // 2027-01-15

absl::Time Utc(int y, int m, int d, int hh, int mm, int ss) {
  return absl::FromCivil(absl::CivilSecond(y, m, d, hh, mm, ss), absl::UTCTimeZone());
}

absl::StatusOr<LoadedTrustSource> Parse(const std::string& text,
                                        CertdataClientAuth client_auth =
                                            CertdataClientAuth::kAsServerAuth) {
  CertdataOptions options;
  options.path = "test-certdata.txt";
  options.client_auth = client_auth;
  return ParseCertdata(text, options);
}

// ---- Mozilla's file (../shared/trust-data/mozilla/certdata.txt) ----

class MozillaCertdataTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string why;
    path_ = new std::string(::chainverify::testing::LocateMozillaCertdata(&why));
    if (path_->empty()) {
      absent_ = new std::string(absl::StrCat(
          "MOZILLA certdata.txt NOT FOUND, these tests did not run: ", why));
      return;
    }
    CertdataOptions options;
    options.path = *path_;
    auto loaded = LoadCertdataFile(options);
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    loaded_ = new LoadedTrustSource(*std::move(loaded));
  }
  void SetUp() override {
    if (absent_ != nullptr) GTEST_SKIP() << *absent_;
  }

  const SourceCertificate* ByLabel(const std::string& label) const {
    for (const SourceCertificate& c : loaded_->certificates) {
      if (c.label == label) return &c;
    }
    return nullptr;
  }

  static std::string* path_;
  static std::string* absent_;
  static LoadedTrustSource* loaded_;
};
std::string* MozillaCertdataTest::path_ = nullptr;
std::string* MozillaCertdataTest::absent_ = nullptr;
LoadedTrustSource* MozillaCertdataTest::loaded_ = nullptr;

TEST_F(MozillaCertdataTest, LoadsEveryCertificateWithItsTrust) {
  EXPECT_EQ(loaded_->certificates.size(), 167u);
  EXPECT_TRUE(loaded_->distrust.empty());  // No CKT_NSS_NOT_TRUSTED in the May 2026 file.
  int server = 0, email_only = 0;
  for (const SourceCertificate& c : loaded_->certificates) {
    const bool s = c.server_auth.level == Level::kTrusted;
    const bool e = c.email_protection.level == Level::kTrusted;
    server += s;
    email_only += e && !s;
    // CLIENT_AUTH follows the server-auth decisions by default.
    EXPECT_EQ(c.client_auth, c.server_auth) << c.label;
  }
  EXPECT_EQ(server, 121);
  EXPECT_EQ(email_only, 44);
  EXPECT_EQ(loaded_->source.kind, TrustSource::Kind::kMozillaCertdata);
}

TEST_F(MozillaCertdataTest, EntrustRootsCarryTheServerDistrustAfter) {
  const absl::Time entrust = Utc(2024, 11, 30, 23, 59, 59);
  for (const char* label :
       {"Entrust.net Premium 2048 Secure Server CA", "Entrust Root Certification Authority",
        "Entrust Root Certification Authority - G2",
        "Entrust Root Certification Authority - EC1"}) {
    const SourceCertificate* c = ByLabel(label);
    ASSERT_NE(c, nullptr) << label;
    EXPECT_EQ(c->server_auth.distrust_after, entrust) << label;
  }
  // Since then three of them lost the websites trust bit too (email only).
  EXPECT_EQ(ByLabel("Entrust Root Certification Authority")->server_auth.level, Level::kTrusted);
  EXPECT_EQ(ByLabel("Entrust Root Certification Authority - G2")->server_auth.level,
            Level::kNotTrusted);
  // On the certificate object (Chunghwa) and on the trust object (Izenpe).
  EXPECT_EQ(ByLabel("ePKI Root Certification Authority")->server_auth.distrust_after,
            Utc(2025, 4, 15, 23, 59, 59));
  EXPECT_EQ(ByLabel("Izenpe.com")->server_auth.distrust_after, Utc(2026, 4, 15, 23, 59, 59));
  int with_date = 0;
  for (const SourceCertificate& c : loaded_->certificates) {
    with_date += c.server_auth.distrust_after.has_value();
    EXPECT_FALSE(c.email_protection.distrust_after.has_value()) << c.label;
  }
  EXPECT_EQ(with_date, 6);
}

TEST_F(MozillaCertdataTest, ClientAuthModes) {
  CertdataOptions options;
  options.path = *path_;
  options.client_auth = CertdataClientAuth::kClientAuthAttribute;
  auto attribute = LoadCertdataFile(options);
  ASSERT_TRUE(attribute.ok()) << attribute.status();
  options.client_auth = CertdataClientAuth::kNone;
  auto none = LoadCertdataFile(options);
  ASSERT_TRUE(none.ok()) << none.status();
  for (const auto* loaded : {&*attribute, &*none}) {
    for (const SourceCertificate& c : loaded->certificates) {
      EXPECT_EQ(c.client_auth.level, Level::kNotTrusted) << c.label;  // No CKA_TRUST_CLIENT_AUTH.
    }
  }
}

TEST_F(MozillaCertdataTest, FileOverTheLimitIsRefusedBeforeReading) {
  // The real file, extended (sparse) to 50 MB: a well-formed start, so only
  // the size can refuse it; the message says it was refused for its size.
  std::ifstream in(*path_, std::ios::binary);
  const std::string one((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string big_path = absl::StrCat(std::getenv("TEST_TMPDIR"), "/big-certdata.txt");
  {
    std::ofstream out(big_path, std::ios::binary);
    out << one;
  }
  ASSERT_EQ(truncate(big_path.c_str(), 50 << 20), 0);
  CertdataOptions options;
  options.path = big_path;
  auto loaded = LoadCertdataFile(options);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(loaded.status().message(), "over the limit of 16777216"))
      << loaded.status();
}

// ---- Verdicts from hand-written files around generated certificates ----

class CertdataVerdictTest : public ::testing::Test {
 protected:
  CertdataVerdictTest()
      : root_(MustIssue(RootSpec("Program Root"), nullptr)),
        inter_(MustIssue(IntermediateSpec("Program CA"), &root_)) {}

  // A leaf issued (notBefore) at `issued`.
  TestCert Leaf(absl::Time issued) {
    auto spec = LeafSpec("www.example.com", {"www.example.com"});
    spec.not_before = issued;
    return MustIssue(spec, &inter_);
  }

  VerifyResult Verify(std::shared_ptr<const TrustStore> store, const TestCert& leaf,
                      KeyPurpose purpose = KeyPurpose::kServerAuth) {
    VerifyInput input;
    input.certificates = {leaf.der, inter_.der};
    input.peer_name = *ParsePeerName("www.example.com");
    input.purpose = purpose;
    input.time = kNow;
    VerifyPolicy policy;
    policy.trust_store = std::move(store);
    return VerifyChain(input, policy);
  }

  std::shared_ptr<TrustStore> Store(const std::vector<CertdataEntry>& entries,
                                    CertdataClientAuth client_auth =
                                        CertdataClientAuth::kAsServerAuth) {
    auto loaded = Parse(CertdataFile(entries), client_auth);
    EXPECT_TRUE(loaded.ok()) << loaded.status();
    auto store = std::make_shared<TrustStore>();
    if (loaded.ok()) store->AddSource(*loaded);
    return store;
  }

  CertdataEntry RootEntry() {
    CertdataEntry e;
    e.der = root_.der;
    e.label = "Program Root";
    return e;
  }

  static bool HasError(const VerifyResult& r, const CertErrorId& id, int chain_index) {
    for (const CertError& e : r.errors) {
      if (e.id == &id && e.chain_index == chain_index) return true;
    }
    return false;
  }

  TestCert root_, inter_;
};

TEST_F(CertdataVerdictTest, TrustedDelegatorIsAnAnchorNamingItsSource) {
  auto store = Store({RootEntry()});
  VerifyResult r = Verify(store, Leaf(absl::FromUnixSeconds(1700000000)));
  ASSERT_TRUE(r.trusted) << (r.errors.empty() ? "" : r.errors[0].diagnostic);
  ASSERT_EQ(r.chain.size(), 3u);
  ASSERT_NE(r.chain[2].anchor, nullptr);
  ASSERT_EQ(r.chain[2].anchor->origins.size(), 1u);
  EXPECT_EQ(r.chain[2].anchor->origins[0].source->kind, TrustSource::Kind::kMozillaCertdata);
  EXPECT_EQ(r.chain[2].anchor->origins[0].label, "Program Root");
}

TEST_F(CertdataVerdictTest, DistrustAfterSplitsLeavesByIssuance) {
  CertdataEntry e = RootEntry();
  e.server_distrust_after = "241130235959Z";
  auto store = Store({e});
  VerifyResult before = Verify(store, Leaf(Utc(2024, 11, 30, 23, 59, 59)));
  EXPECT_TRUE(before.trusted);
  VerifyResult after = Verify(store, Leaf(Utc(2024, 12, 1, 0, 0, 0)));
  EXPECT_FALSE(after.trusted);
  EXPECT_EQ(after.status, v1::POLICY_DENIED);
  EXPECT_TRUE(HasError(after, kAnchorDistrustAfter, 2));
  // The date is for server authentication; CLIENT_AUTH follows it by default.
  EXPECT_EQ(Verify(store, Leaf(Utc(2025, 1, 1, 0, 0, 0)), KeyPurpose::kClientAuth).status,
            v1::POLICY_DENIED);
  // A date in the future rejects nothing yet.
  e.server_distrust_after = "300101000000Z";
  EXPECT_TRUE(Verify(Store({e}), Leaf(Utc(2026, 6, 1, 0, 0, 0))).trusted);
}

TEST_F(CertdataVerdictTest, EmailOnlyRootIsNoServerAuthAnchor) {
  CertdataEntry e = RootEntry();
  e.server_auth = "CKT_NSS_MUST_VERIFY_TRUST";
  e.email_protection = "CKT_NSS_TRUSTED_DELEGATOR";
  auto store = Store({e});
  EXPECT_EQ(store->anchor_count(), 0u);
  VerifyResult r = Verify(store, Leaf(absl::FromUnixSeconds(1700000000)));
  EXPECT_EQ(r.status, v1::POLICY_DENIED);
  EXPECT_TRUE(HasError(r, kAnchorNotTrustedForUsage, 2));
}

TEST_F(CertdataVerdictTest, NotTrustedBeatsAPemFileTrustingTheSameRoot) {
  CertdataEntry e = RootEntry();
  e.server_auth = "CKT_NSS_NOT_TRUSTED";
  auto certdata = Parse(CertdataFile({e}));
  ASSERT_TRUE(certdata.ok()) << certdata.status();
  auto pem = LoadPem(root_.pem(), {TrustSource::Kind::kPemFile, "root.pem"});
  ASSERT_TRUE(pem.ok()) << pem.status();
  for (bool pem_first : {true, false}) {
    auto store = std::make_shared<TrustStore>();
    store->AddSource(pem_first ? *pem : *certdata);
    store->AddSource(pem_first ? *certdata : *pem);
    ASSERT_EQ(store->size(), 1u);
    EXPECT_EQ(store->anchors()[0]->origins.size(), 2u);
    VerifyResult r = Verify(store, Leaf(absl::FromUnixSeconds(1700000000)));
    EXPECT_EQ(r.status, v1::POLICY_DENIED) << "pem first: " << pem_first;
    EXPECT_TRUE(HasError(r, kTrustDistrusted, 2)) << "pem first: " << pem_first;
  }
}

TEST_F(CertdataVerdictTest, UnionOfSourcesDropsADistrustAfterOnlyOneSets) {
  CertdataEntry e = RootEntry();
  e.server_distrust_after = "200101000000Z";
  auto certdata = Parse(CertdataFile({e}));
  ASSERT_TRUE(certdata.ok());
  auto pem = LoadPem(root_.pem(), {TrustSource::Kind::kPemFile, "root.pem"});
  ASSERT_TRUE(pem.ok());
  auto store = std::make_shared<TrustStore>();
  store->AddSource(*certdata);
  EXPECT_EQ(Verify(store, Leaf(absl::FromUnixSeconds(1700000000))).status, v1::POLICY_DENIED);
  store->AddSource(*pem);
  EXPECT_TRUE(Verify(store, Leaf(absl::FromUnixSeconds(1700000000))).trusted);
}

TEST_F(CertdataVerdictTest, TrustObjectWithoutCertificateDistrustsByIssuerAndSerial) {
  // NSS's form for distrusting a certificate it does not ship: here the
  // intermediate, which a peer would upload.
  CertdataEntry distrust;
  distrust.der = inter_.der;
  distrust.label = "Distrusted CA";
  distrust.server_auth = "CKT_NSS_NOT_TRUSTED";
  distrust.include_certificate = false;
  auto loaded = Parse(CertdataFile({RootEntry(), distrust}));
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->certificates.size(), 1u);
  ASSERT_EQ(loaded->distrust.size(), 1u);
  auto store = std::make_shared<TrustStore>();
  store->AddSource(*loaded);
  VerifyResult r = Verify(store, Leaf(absl::FromUnixSeconds(1700000000)));
  EXPECT_EQ(r.status, v1::POLICY_DENIED);
  EXPECT_TRUE(HasError(r, kTrustDistrusted, 1));
  // Only for server authentication, the purpose the record names... which
  // CLIENT_AUTH follows under the default mode; not with kNone.
  auto none = std::make_shared<TrustStore>();
  auto loaded_none = Parse(CertdataFile({RootEntry(), distrust}), CertdataClientAuth::kNone);
  ASSERT_TRUE(loaded_none.ok());
  none->AddSource(*loaded_none);
  ParseError error;
  none->Add(Certificate::Parse(root_.der, &error), "client roots");
  EXPECT_TRUE(Verify(none, Leaf(absl::FromUnixSeconds(1700000000)), KeyPurpose::kClientAuth)
                  .trusted);
}

TEST_F(CertdataVerdictTest, ClientAuthAttributeMode) {
  CertdataEntry e = RootEntry();
  e.client_auth = "CKT_NSS_TRUSTED_DELEGATOR";
  e.server_auth = "CKT_NSS_MUST_VERIFY_TRUST";
  auto store = Store({e}, CertdataClientAuth::kClientAuthAttribute);
  const TestCert leaf = Leaf(absl::FromUnixSeconds(1700000000));
  EXPECT_TRUE(Verify(store, leaf, KeyPurpose::kClientAuth).trusted);
  EXPECT_EQ(Verify(store, leaf, KeyPurpose::kServerAuth).status, v1::POLICY_DENIED);
}

// ---- Malformed files: refused with the line ----

class MalformedCertdataTest : public ::testing::Test {
 protected:
  MalformedCertdataTest() : root_(MustIssue(RootSpec("Malformed Root"), nullptr)) {
    CertdataEntry e;
    e.der = root_.der;
    e.label = "Malformed Root";
    good_ = CertdataFile({e});
  }

  // The 1-based line of the first line starting with `prefix` after line `after`.
  int LineOf(const std::string& text, const std::string& prefix, int after = 0) const {
    int n = 0;
    for (absl::string_view line : absl::StrSplit(text, '\n')) {
      ++n;
      if (n > after && absl::StartsWith(line, prefix)) return n;
    }
    return -1;
  }

  // Expects `text` refused with a message holding "test-certdata.txt:LINE:"
  // and `words`.
  void ExpectRefused(const std::string& text, int line, const std::string& words) {
    auto loaded = Parse(text);
    ASSERT_FALSE(loaded.ok()) << "accepted";
    EXPECT_EQ(loaded.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(absl::StrContains(loaded.status().message(),
                                  absl::StrCat("test-certdata.txt:", line, ": ")))
        << loaded.status() << " (want line " << line << ")";
    EXPECT_TRUE(absl::StrContains(loaded.status().message(), words)) << loaded.status();
  }

  TestCert root_;
  std::string good_;
};

TEST_F(MalformedCertdataTest, TheGoodFileLoads) {
  auto loaded = Parse(good_);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->certificates.size(), 1u);
  // Blanks between the words may be runs of spaces and tabs; lines may end in CRLF.
  const std::string spaced = absl::StrReplaceAll(
      good_, {{"CKA_TRUST_SERVER_AUTH CK_TRUST ", "CKA_TRUST_SERVER_AUTH \t CK_TRUST   "},
              {"CKA_LABEL UTF8 ", "CKA_LABEL  UTF8\t"},
              {"\n", "\r\n"}});
  auto same = Parse(spaced);
  ASSERT_TRUE(same.ok()) << same.status();
  EXPECT_EQ(same->certificates[0].label, "Malformed Root");
  EXPECT_EQ(same->certificates[0].server_auth.level, Level::kTrusted);
}

TEST_F(MalformedCertdataTest, TruncatedInsideAValue) {
  const int value = LineOf(good_, "CKA_VALUE");
  // Cut after the second line of CKA_VALUE's octal lines.
  std::vector<absl::string_view> lines = absl::StrSplit(good_, '\n');
  lines.resize(value + 2);
  ExpectRefused(absl::StrJoin(lines, "\n"), value, "has no END line: the file is truncated");
}

TEST_F(MalformedCertdataTest, TruncatedBeforeTheTrustObject) {
  const std::string cut = good_.substr(0, good_.find("# Trust for"));
  ExpectRefused(cut, LineOf(cut, "CKA_CLASS CK_OBJECT_CLASS CKO_CERTIFICATE"),
                "has no CKO_NSS_TRUST object");
}

TEST_F(MalformedCertdataTest, BadOctalEscape) {
  const int value = LineOf(good_, "CKA_VALUE");
  std::vector<std::string> lines = absl::StrSplit(good_, '\n');
  lines[value + 1 - 1] = absl::StrReplaceAll(lines[value + 1 - 1], {{"\\0", "\\9"}});
  ExpectRefused(absl::StrJoin(lines, "\n"), value + 1, "bad octal escape");
  lines = absl::StrSplit(good_, '\n');
  lines[value] = "\\400" + lines[value].substr(4);  // Above \377.
  ExpectRefused(absl::StrJoin(lines, "\n"), value + 1, "bad octal escape");
  lines = absl::StrSplit(good_, '\n');
  lines[value] += "\\01";  // Two digits.
  ExpectRefused(absl::StrJoin(lines, "\n"), value + 1, "bad octal escape");
}

TEST_F(MalformedCertdataTest, TrustObjectWithoutCertificate) {
  const std::string trust_only = good_.substr(0, good_.find("\n# Certificate")) + "\n" +
                                 good_.substr(good_.find("# Trust for"));
  ExpectRefused(trust_only, LineOf(trust_only, "CKA_CLASS CK_OBJECT_CLASS CKO_NSS_TRUST"),
                "trusts a certificate the file does not contain");
}

TEST_F(MalformedCertdataTest, UnknownTrustValue) {
  const std::string text = absl::StrReplaceAll(
      good_, {{"CKA_TRUST_SERVER_AUTH CK_TRUST CKT_NSS_TRUSTED_DELEGATOR",
               "CKA_TRUST_SERVER_AUTH CK_TRUST CKT_NSS_TRUSTED_DELEGATE"}});
  ExpectRefused(text, LineOf(text, "CKA_TRUST_SERVER_AUTH"),
                "unknown trust value \"CKT_NSS_TRUSTED_DELEGATE\"");
  const std::string wrong_type = absl::StrReplaceAll(
      good_, {{"CKA_TRUST_SERVER_AUTH CK_TRUST CKT_NSS_TRUSTED_DELEGATOR",
               "CKA_TRUST_SERVER_AUTH CK_BBOOL CK_TRUE"}});
  ExpectRefused(wrong_type, LineOf(wrong_type, "CKA_TRUST_SERVER_AUTH"), "must be of type CK_TRUST");
}

TEST_F(MalformedCertdataTest, BadDistrustAfter) {
  CertdataEntry e;
  e.der = root_.der;
  e.label = "Malformed Root";
  e.server_distrust_after = "241331235959Z";  // Month 13.
  const std::string text = CertdataFile({e});
  ExpectRefused(text, LineOf(text, "CKA_NSS_SERVER_DISTRUST_AFTER"), "is not a UTCTime");
  const std::string bbool_true = absl::StrReplaceAll(
      good_, {{"CKA_NSS_SERVER_DISTRUST_AFTER CK_BBOOL CK_FALSE",
               "CKA_NSS_SERVER_DISTRUST_AFTER CK_BBOOL CK_TRUE"}});
  ExpectRefused(bbool_true, LineOf(bbool_true, "CKA_NSS_SERVER_DISTRUST_AFTER"),
                "CK_TRUE names no date");
}

TEST_F(MalformedCertdataTest, HashMismatch) {
  const int sha1 = LineOf(good_, "CKA_CERT_SHA1_HASH");
  std::vector<std::string> lines = absl::StrSplit(good_, '\n');
  lines[sha1] = "\\000" + lines[sha1].substr(4);
  ExpectRefused(absl::StrJoin(lines, "\n"), sha1, "CKA_CERT_SHA1_HASH does not match");
}

TEST_F(MalformedCertdataTest, StructureErrors) {
  ExpectRefused("CKA_CLASS CK_OBJECT_CLASS CKO_CERTIFICATE\n", 1, "no BEGINDATA line");
  const std::string dup = absl::StrReplaceAll(
      good_, {{"CKA_TOKEN CK_BBOOL CK_TRUE\nCKA_LABEL UTF8 \"Malformed Root\"\nCKA_CERTIFICATE_TYPE",
               "CKA_TOKEN CK_BBOOL CK_TRUE\nCKA_TOKEN CK_BBOOL CK_TRUE\nCKA_LABEL UTF8 \"Malformed "
               "Root\"\nCKA_CERTIFICATE_TYPE"}});
  ExpectRefused(dup, LineOf(dup, "CKA_CLASS CK_OBJECT_CLASS CKO_CERTIFICATE") + 2,
                "duplicate attribute CKA_TOKEN");
  ExpectRefused("BEGINDATA\nCKA_LABEL UTF8 \"x\"\n", 2, "must start with CKA_CLASS");
  ExpectRefused("BEGINDATA\nnonsense here\n", 2, "expected an attribute line");
  ExpectRefused(absl::StrCat("BEGINDATA\nCKA_CLASS CK_OBJECT_CLASS CKO_CERTIFICATE\nCKA_LABEL UTF8 \"",
                             std::string(5000, 'x'), "\"\n"),
                3, "line longer than 4096 bytes");
  ExpectRefused("BEGINDATA\nCKA_CLASS CK_OBJECT_CLASS CKO_CERTIFICATE\nCKA_LABEL UTF8 \"\xff\"\n", 3,
                "not valid UTF-8");
}

TEST_F(MalformedCertdataTest, CertificateMustAgreeWithItsAttributes) {
  const int serial = LineOf(good_, "CKA_SERIAL_NUMBER");
  std::vector<std::string> lines = absl::StrSplit(good_, '\n');
  int end = serial;
  while (lines[end] != "END") ++end;
  lines.erase(lines.begin() + serial, lines.begin() + end);
  lines.insert(lines.begin() + serial, "\\002\\001\\001");  // INTEGER 1
  ExpectRefused(absl::StrJoin(lines, "\n"), serial, "CKA_SERIAL_NUMBER of \"Malformed Root\" differs");
  // A CKA_VALUE that is no certificate.
  const int value = LineOf(good_, "CKA_VALUE");
  lines = absl::StrSplit(good_, '\n');
  end = value;
  while (lines[end] != "END") ++end;
  lines.erase(lines.begin() + value, lines.begin() + end);
  lines.insert(lines.begin() + value, "\\060\\000");
  ExpectRefused(absl::StrJoin(lines, "\n"), value, "does not parse");
}

TEST_F(MalformedCertdataTest, LimitsOnValuesAndObjects) {
  // A value over 64 KiB.
  std::string big = "BEGINDATA\nCKA_CLASS CK_OBJECT_CLASS CKO_CERTIFICATE\nCKA_VALUE MULTILINE_OCTAL\n";
  std::string line;
  for (int i = 0; i < 16; ++i) line += "\\101";
  for (int i = 0; i < 4100; ++i) big += line + "\n";
  big += "END\n";
  ExpectRefused(big, 4 + 4096, "MULTILINE_OCTAL value longer than 65536 bytes");
  // More objects than allowed.
  std::string many = "BEGINDATA\n";
  for (int i = 0; i < 10001; ++i) many += "CKA_CLASS CK_OBJECT_CLASS CKO_NSS_BUILTIN_ROOT_LIST\n\n";
  ExpectRefused(many, 2 + 2 * 10000, "more than 10000 objects");
  // A 50 MB text is refused by size alone.
  auto loaded = Parse(std::string(50u << 20, '#'));
  ASSERT_FALSE(loaded.ok());
  EXPECT_TRUE(absl::StrContains(loaded.status().message(), "over the limit")) << loaded.status();
}

}  // namespace
}  // namespace chainverify::pki
