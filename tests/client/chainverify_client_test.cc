#include "client/chainverify_client.h"

#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "chainverify/v1/verifier.grpc.pb.h"
#include "chainverify/v1/verifier.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace chainverify::client {
namespace {

namespace v1 = ::chainverify::v1;

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;

// A fresh self-signed EC P-256 certificate, DER.
std::string MakeCertificateDer(const std::string& common_name) {
  EvpPkeyPtr key(EVP_EC_gen("P-256"));
  X509Ptr cert(X509_new());
  if (key == nullptr || cert == nullptr) return "";
  X509_NAME* name = X509_get_subject_name(cert.get());
  if (X509_set_version(cert.get(), 2) != 1 ||
      ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1) != 1 ||
      X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600) == nullptr ||
      X509_NAME_add_entry_by_txt(
          name, "CN", MBSTRING_ASC,
          reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
          0) != 1 ||
      X509_set_issuer_name(cert.get(), name) != 1 ||
      X509_set_pubkey(cert.get(), key.get()) != 1 ||
      X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) {
    return "";
  }
  unsigned char* der = nullptr;
  const int length = i2d_X509(cert.get(), &der);
  if (length <= 0) return "";
  std::string out(reinterpret_cast<char*>(der), length);
  OPENSSL_free(der);
  return out;
}

// `der` as one PEM block named `name`.
std::string ToPem(const std::string& der, const char* name = "CERTIFICATE") {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio(bio.get(), name, "",
                reinterpret_cast<const unsigned char*>(der.data()),
                static_cast<long>(der.size()));
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, length);
}

std::string WriteTempFile(const std::string& name,
                          const std::string& contents) {
  const std::string path = absl::StrCat(::testing::TempDir(), "/", name);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << contents;
  return path;
}

class ReadCertificateFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    leaf_ = MakeCertificateDer("leaf.example.com");
    ca_ = MakeCertificateDer("Example CA");
    ASSERT_FALSE(leaf_.empty());
    ASSERT_FALSE(ca_.empty());
    ASSERT_NE(leaf_, ca_);
  }

  std::string leaf_;
  std::string ca_;
};

TEST_F(ReadCertificateFilesTest, PemWithTwoCertificatesKeepsOrder) {
  // Text before a block (as `openssl x509 -text` writes) is allowed.
  const std::string path = WriteTempFile(
      "two.pem", "0 subject=CN=leaf.example.com\n" + ToPem(leaf_) + ToPem(ca_));
  absl::StatusOr<std::vector<std::string>> certs = ReadCertificateFiles({path});
  ASSERT_TRUE(certs.ok()) << certs.status();
  EXPECT_THAT(*certs, ElementsAre(leaf_, ca_));
}

TEST_F(ReadCertificateFilesTest, DerFile) {
  const std::string path = WriteTempFile("leaf.der", leaf_);
  absl::StatusOr<std::vector<std::string>> certs = ReadCertificateFiles({path});
  ASSERT_TRUE(certs.ok()) << certs.status();
  EXPECT_THAT(*certs, ElementsAre(leaf_));
}

TEST_F(ReadCertificateFilesTest, SeveralFilesInArgumentOrder) {
  const std::string der = WriteTempFile("ca.der", ca_);
  const std::string pem = WriteTempFile("leaf.pem", ToPem(leaf_));
  absl::StatusOr<std::vector<std::string>> certs =
      ReadCertificateFiles({pem, der, pem});
  ASSERT_TRUE(certs.ok()) << certs.status();
  EXPECT_THAT(*certs, ElementsAre(leaf_, ca_, leaf_));
}

TEST_F(ReadCertificateFilesTest, GarbageFileIsNamed) {
  const std::string path =
      WriteTempFile("garbage.crt", "this is not a certificate\n");
  absl::StatusOr<std::vector<std::string>> certs = ReadCertificateFiles({path});
  ASSERT_FALSE(certs.ok());
  EXPECT_EQ(certs.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(certs.status().message(), HasSubstr(path));
}

TEST_F(ReadCertificateFilesTest, TruncatedDerIsRejected) {
  const std::string path =
      WriteTempFile("truncated.der", leaf_.substr(0, leaf_.size() - 1));
  absl::StatusOr<std::vector<std::string>> certs = ReadCertificateFiles({path});
  ASSERT_FALSE(certs.ok());
  EXPECT_THAT(certs.status().message(), HasSubstr(path));
}

TEST_F(ReadCertificateFilesTest, DamagedSecondPemBlockIsNotDropped) {
  const std::string second = ToPem(ca_);
  const std::string path = WriteTempFile(
      "damaged.pem", ToPem(leaf_) + second.substr(0, second.size() / 2));
  absl::StatusOr<std::vector<std::string>> certs = ReadCertificateFiles({path});
  ASSERT_FALSE(certs.ok());
  EXPECT_THAT(certs.status().message(), HasSubstr(path));
  EXPECT_THAT(certs.status().message(), HasSubstr("#2"));
}

TEST_F(ReadCertificateFilesTest, NonCertificatePemBlockIsRejected) {
  const std::string path = WriteTempFile(
      "with_key.pem",
      ToPem(leaf_) + ToPem(std::string("\x30\x00", 2), "PRIVATE KEY"));
  absl::StatusOr<std::vector<std::string>> certs = ReadCertificateFiles({path});
  ASSERT_FALSE(certs.ok());
  EXPECT_THAT(certs.status().message(), HasSubstr(path));
  EXPECT_THAT(certs.status().message(), HasSubstr("PRIVATE KEY"));
}

TEST_F(ReadCertificateFilesTest, EmptyFileIsRejected) {
  const std::string path = WriteTempFile("empty.pem", "");
  absl::StatusOr<std::vector<std::string>> certs = ReadCertificateFiles({path});
  ASSERT_FALSE(certs.ok());
  EXPECT_THAT(certs.status().message(), HasSubstr(path));
}

TEST_F(ReadCertificateFilesTest, MissingFileIsNamed) {
  const std::string path = absl::StrCat(::testing::TempDir(), "/no_such.pem");
  absl::StatusOr<std::vector<std::string>> certs =
      ReadCertificateFiles({WriteTempFile("ok.der", leaf_), path});
  ASSERT_FALSE(certs.ok());
  EXPECT_EQ(certs.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(certs.status().message(), HasSubstr(path));
}

TEST(ReadCertificateFilesNoInputTest, NoPathsIsAnError) {
  EXPECT_EQ(ReadCertificateFiles({}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

v1::CertificateDetails MakeDetails(const std::string& subject,
                                   const std::string& issuer,
                                   v1::CertificateSource source,
                                   int request_index) {
  v1::CertificateDetails cert;
  cert.set_subject(subject);
  cert.set_issuer(issuer);
  cert.set_source(source);
  cert.set_request_index(request_index);
  cert.mutable_not_before()->set_seconds(1700000000);  // 2023-11-14T22:13:20Z
  cert.mutable_not_after()->set_seconds(1731536000);   // 2024-11-13T22:13:20Z
  cert.set_sha256(std::string(64, 'a'));
  return cert;
}

v1::VerifyResponse MakeRejectedResponse() {
  v1::VerifyResponse response;
  response.set_verdict(v1::REJECTED);
  response.set_status(v1::EXPIRED);
  response.set_policy_name("default");
  response.set_policy_version("7");
  response.set_decision_id("d-123");
  v1::CertificateDetails* leaf = response.add_best_attempted_chain();
  *leaf = MakeDetails("CN=leaf.example.com", "CN=Example CA", v1::REQUEST, 0);
  v1::SubjectAltName* san = leaf->add_subject_alt_names();
  san->set_kind(v1::SubjectAltName::DNS);
  san->set_value("leaf.example.com");
  *response.add_best_attempted_chain() =
      MakeDetails("CN=Example CA", "CN=Example CA", v1::TRUST_STORE, -1);
  response.add_unused_certificate_indices(2);
  v1::CertificateError* error = response.add_errors();
  error->set_id("validity.expired");
  error->set_status(v1::EXPIRED);
  error->set_severity(v1::CertificateError::ERROR);
  error->set_chain_index(0);
  error->set_request_index(0);
  error->set_diagnostic("notAfter 2024-11-13T22:13:20Z has passed");
  return response;
}

TEST(FormatVerdictTest, RejectedShowsChainAndErrors) {
  const std::string text = FormatVerdict(MakeRejectedResponse());
  EXPECT_THAT(text, HasSubstr("REJECTED (EXPIRED)"));
  EXPECT_THAT(text, HasSubstr("default (version 7)"));
  EXPECT_THAT(text, HasSubstr("d-123"));
  EXPECT_THAT(text, HasSubstr("NOT trusted"));
  EXPECT_THAT(text, HasSubstr("[0] subject: CN=leaf.example.com"));
  EXPECT_THAT(text, HasSubstr("issuer:  CN=Example CA"));
  EXPECT_THAT(text, HasSubstr("uploaded #0"));
  EXPECT_THAT(text, HasSubstr("[1] subject: CN=Example CA"));
  EXPECT_THAT(text, HasSubstr("trust store"));
  EXPECT_THAT(text, HasSubstr("2023-11-14T22:13:20Z to 2024-11-13T22:13:20Z"));
  EXPECT_THAT(text, HasSubstr("DNS:leaf.example.com"));
  EXPECT_THAT(text, HasSubstr(std::string(64, 'a')));
  EXPECT_THAT(text, HasSubstr("Unused uploaded certificates: 2"));
  EXPECT_THAT(text,
              HasSubstr("validity.expired [ERROR, EXPIRED] chain index 0"));
  EXPECT_THAT(text, HasSubstr("notAfter 2024-11-13T22:13:20Z has passed"));
}

TEST(FormatVerdictTest, TrustedShowsVerifiedChain) {
  v1::VerifyResponse response;
  response.set_verdict(v1::TRUSTED);
  response.set_status(v1::OK);
  *response.add_verified_chain() =
      MakeDetails("CN=ok.example.com", "CN=Example CA", v1::REQUEST, 0);
  // An anchor the peer also uploaded.
  *response.add_verified_chain() =
      MakeDetails("CN=Example CA", "CN=Example CA", v1::TRUST_STORE, 1);
  response.mutable_verified_chain(1)->mutable_not_after()->set_nanos(500000000);
  const std::string text = FormatVerdict(response);
  EXPECT_THAT(text, HasSubstr("TRUSTED (OK)"));
  EXPECT_THAT(text, HasSubstr("trust store (also uploaded #1)"));
  EXPECT_THAT(text, HasSubstr("to 2024-11-13T22:13:20.5Z"));
  // The sources that hold the anchor, with a certdata.txt label.
  v1::TrustSource* os = response.mutable_verified_chain(1)->add_trust_sources();
  os->set_kind(v1::TrustSource::SYSTEM);
  os->set_path("/etc/ssl/certs/ca-certificates.crt");
  v1::TrustSource* program = response.mutable_verified_chain(1)->add_trust_sources();
  program->set_kind(v1::TrustSource::MOZILLA_CERTDATA);
  program->set_path("certdata.txt");
  program->set_label("Example CA");
  EXPECT_THAT(FormatVerdict(response),
              HasSubstr("trust store system:/etc/ssl/certs/ca-certificates.crt, "
                        "mozilla_certdata:certdata.txt \"Example CA\" (also uploaded #1)"));
  EXPECT_THAT(text, HasSubstr("Verified chain:"));
  EXPECT_THAT(text, HasSubstr("CN=ok.example.com"));
  EXPECT_THAT(text, Not(HasSubstr("NOT trusted")));
  EXPECT_THAT(text, Not(HasSubstr("Errors:")));
}

TEST(FormatVerdictTest, EscapesControlCharactersAndNamesUnknownEnums) {
  v1::VerifyResponse response = MakeRejectedResponse();
  response.set_status(static_cast<v1::Status>(999));
  response.mutable_best_attempted_chain(0)->set_subject("CN=evil\x1b[2J\n");
  const std::string text = FormatVerdict(response);
  EXPECT_THAT(text, HasSubstr("CN=evil\\x1b[2J\\x0a"));
  EXPECT_THAT(text, Not(HasSubstr("\x1b")));
  EXPECT_THAT(text, HasSubstr("REJECTED (UNKNOWN(999))"));
}

TEST(ExitCodeForTest, OnlyTrustedWithStatusOkIsZero) {
  v1::VerifyResponse response;
  response.set_verdict(v1::TRUSTED);
  response.set_status(v1::OK);
  EXPECT_EQ(ExitCodeFor(response), 0);

  EXPECT_EQ(ExitCodeFor(MakeRejectedResponse()), 1);

  // Unset, unknown or contradictory answers are not trusted.
  EXPECT_EQ(ExitCodeFor(v1::VerifyResponse()), 1);
  response.set_verdict(static_cast<v1::Verdict>(7));
  EXPECT_EQ(ExitCodeFor(response), 1);
  response.set_verdict(v1::TRUSTED);
  response.set_status(v1::EXPIRED);
  EXPECT_EQ(ExitCodeFor(response), 1);
}

TEST(ConnectTest, RejectsInconsistentOptions) {
  ConnectOptions options;
  options.tls_ca_file = "/ca.pem";  // plaintext is still true
  EXPECT_EQ(ChainVerifierClient::Connect(options).status().code(),
            absl::StatusCode::kInvalidArgument);

  options = ConnectOptions();
  options.plaintext = false;
  options.tls_cert_file = "/cert.pem";  // no key
  EXPECT_EQ(ChainVerifierClient::Connect(options).status().code(),
            absl::StatusCode::kInvalidArgument);

  options = ConnectOptions();
  options.deadline = absl::ZeroDuration();
  EXPECT_EQ(ChainVerifierClient::Connect(options).status().code(),
            absl::StatusCode::kInvalidArgument);

  options = ConnectOptions();
  options.target = "";
  EXPECT_EQ(ChainVerifierClient::Connect(options).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ConnectTest, MissingTlsFileIsNamed) {
  ConnectOptions options;
  options.plaintext = false;
  options.tls_ca_file = absl::StrCat(::testing::TempDir(), "/no_such_ca.pem");
  absl::StatusOr<std::unique_ptr<ChainVerifierClient>> client =
      ChainVerifierClient::Connect(options);
  ASSERT_FALSE(client.ok());
  EXPECT_THAT(client.status().message(), HasSubstr(options.tls_ca_file));
}

// A loopback port that is bound but not listening: connections to it are
// refused, and nothing else can take it while the socket is open.
class ReservedPort {
 public:
  ReservedPort() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr = {};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(addr);
    if (fd_ >= 0 &&
        bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
        getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &length) == 0) {
      port_ = ntohs(addr.sin_port);
    }
  }
  ~ReservedPort() {
    if (fd_ >= 0) close(fd_);
  }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

TEST(VerifyTest, UnreachableServerIsUnavailableAndNamesTarget) {
  ReservedPort reserved;
  ASSERT_NE(reserved.port(), 0);
  ConnectOptions options;
  options.target = absl::StrCat("127.0.0.1:", reserved.port());
  options.deadline = absl::Seconds(2);
  absl::StatusOr<std::unique_ptr<ChainVerifierClient>> client =
      ChainVerifierClient::Connect(options);
  ASSERT_TRUE(client.ok()) << client.status();

  v1::VerifyRequest request;
  request.add_certificates(std::string("\x30\x00", 2));
  absl::StatusOr<v1::VerifyResponse> response = (*client)->Verify(request);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(response.status().message(), HasSubstr(options.target));
}

// Answers TRUSTED, or NOT_FOUND for policy "missing", and keeps the last
// request.
class FakeVerifier final : public v1::ChainVerifier::Service {
 public:
  grpc::Status Verify(grpc::ServerContext* context,
                      const v1::VerifyRequest* request,
                      v1::VerifyResponse* response) override {
    absl::MutexLock lock(&mu_);
    last_request_ = *request;
    if (request->policy() == "missing") {
      return grpc::Status(grpc::StatusCode::NOT_FOUND,
                          "no policy named \"missing\"");
    }
    response->set_request_id(request->request_id());
    response->set_verdict(v1::TRUSTED);
    response->set_status(v1::OK);
    return grpc::Status::OK;
  }

  v1::VerifyRequest last_request() {
    absl::MutexLock lock(&mu_);
    return last_request_;
  }

 private:
  absl::Mutex mu_;
  v1::VerifyRequest last_request_;
};

class FakeServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_NE(port, 0);
    ConnectOptions options;
    options.target = absl::StrCat("127.0.0.1:", port);
    options.deadline = absl::Seconds(5);
    absl::StatusOr<std::unique_ptr<ChainVerifierClient>> client =
        ChainVerifierClient::Connect(options);
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = *std::move(client);
  }

  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown();
  }

  FakeVerifier service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<ChainVerifierClient> client_;
};

TEST_F(FakeServerTest, ReturnsResponse) {
  v1::VerifyRequest request;
  request.add_certificates(std::string("\x30\x00", 2));
  request.set_peer_name("api.example.com");
  request.set_request_id("r-1");
  absl::StatusOr<v1::VerifyResponse> response = client_->Verify(request);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->verdict(), v1::TRUSTED);
  EXPECT_EQ(response->request_id(), "r-1");
  EXPECT_EQ(service_.last_request().peer_name(), "api.example.com");
}

TEST_F(FakeServerTest, KeepsServerCodeAndMessage) {
  v1::VerifyRequest request;
  request.add_certificates(std::string("\x30\x00", 2));
  request.set_policy("missing");
  absl::StatusOr<v1::VerifyResponse> response = client_->Verify(request);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(response.status().message(), "no policy named \"missing\"");
}

}  // namespace
}  // namespace chainverify::client
