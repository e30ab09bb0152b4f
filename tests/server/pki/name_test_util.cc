#include "tests/server/pki/name_test_util.h"

#include <arpa/inet.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <openssl/asn1.h>
#include <openssl/evp.h>
#include <openssl/objects.h>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace chainverify::pki::name_testing {
namespace {

[[noreturn]] void Die(const std::string& why) {
  std::fprintf(stderr, "name_test_util: %s\n", why.c_str());
  std::abort();
}

void Check(bool ok, const std::string& why) {
  if (!ok) Die(why + ": " + DrainOpenSslErrors());
}

ASN1_IA5STRING* Ia5(absl::string_view value) {
  ASN1_IA5STRING* s = ASN1_IA5STRING_new();
  Check(s != nullptr && ASN1_STRING_set(s, value.data(),
                                        static_cast<int>(value.size())) == 1,
        "ASN1_STRING_set");
  return s;
}

ASN1_OCTET_STRING* Octets(absl::string_view value) {
  ASN1_OCTET_STRING* s = ASN1_OCTET_STRING_new();
  Check(s != nullptr &&
            ASN1_OCTET_STRING_set(s, reinterpret_cast<const unsigned char*>(value.data()),
                                  static_cast<int>(value.size())) == 1,
        "ASN1_OCTET_STRING_set");
  return s;
}

// "10.0.0.1" -> 4 bytes; "10.0.0.0/8" -> 8 bytes (address then mask).
std::string IpBytes(absl::string_view text) {
  std::string address_text(text);
  int prefix = -1;
  const size_t slash = text.find('/');
  if (slash != absl::string_view::npos) {
    address_text = std::string(text.substr(0, slash));
    if (!absl::SimpleAtoi(text.substr(slash + 1), &prefix)) Die("bad prefix");
  }
  unsigned char buf[16];
  std::string address;
  if (inet_pton(AF_INET, address_text.c_str(), buf) == 1) {
    address.assign(reinterpret_cast<char*>(buf), 4);
  } else if (inet_pton(AF_INET6, address_text.c_str(), buf) == 1) {
    address.assign(reinterpret_cast<char*>(buf), 16);
  } else {
    Die("bad IP " + address_text);
  }
  if (prefix < 0) return address;
  std::string mask(address.size(), '\0');
  for (int bit = 0; bit < prefix; ++bit) {
    mask[bit / 8] = static_cast<char>(mask[bit / 8] | (0x80 >> (bit % 8)));
  }
  return address + mask;
}

EVP_PKEY* SigningKey() {
  static EVP_PKEY* key = [] {
    EVP_PKEY* k = EVP_EC_gen("P-256");
    Check(k != nullptr, "EVP_EC_gen");
    return k;
  }();
  return key;
}

}  // namespace

GeneralNamePtr MakeGeneralName(const std::string& spec) {
  const size_t colon = spec.find(':');
  if (colon == std::string::npos) Die("no type in " + spec);
  const std::string type = spec.substr(0, colon);
  const std::string value = spec.substr(colon + 1);
  GeneralNamePtr gen(GENERAL_NAME_new());
  Check(gen != nullptr, "GENERAL_NAME_new");
  if (type == "DNS") {
    GENERAL_NAME_set0_value(gen.get(), GEN_DNS, Ia5(value));
  } else if (type == "email") {
    GENERAL_NAME_set0_value(gen.get(), GEN_EMAIL, Ia5(value));
  } else if (type == "URI") {
    GENERAL_NAME_set0_value(gen.get(), GEN_URI, Ia5(value));
  } else if (type == "IP") {
    GENERAL_NAME_set0_value(gen.get(), GEN_IPADD, Octets(IpBytes(value)));
  } else if (type == "IPHEX") {
    std::string bytes = absl::HexStringToBytes(value);
    GENERAL_NAME_set0_value(gen.get(), GEN_IPADD, Octets(bytes));
  } else if (type == "dirName") {
    GENERAL_NAME_set0_value(gen.get(), GEN_DIRNAME, MakeName(value).release());
  } else if (type == "otherName") {
    ASN1_OBJECT* oid = OBJ_txt2obj(value.c_str(), 1);
    ASN1_TYPE* null_value = ASN1_TYPE_new();
    Check(oid != nullptr && null_value != nullptr, "otherName");
    ASN1_TYPE_set(null_value, V_ASN1_NULL, nullptr);
    Check(GENERAL_NAME_set0_othername(gen.get(), oid, null_value) == 1,
          "GENERAL_NAME_set0_othername");
  } else if (type == "RID") {
    ASN1_OBJECT* oid = OBJ_txt2obj(value.c_str(), 1);
    Check(oid != nullptr, "RID");
    GENERAL_NAME_set0_value(gen.get(), GEN_RID, oid);
  } else {
    Die("unknown GeneralName type " + type);
  }
  return gen;
}

GeneralNamesPtr MakeGeneralNames(const std::vector<std::string>& specs) {
  GeneralNamesPtr names(GENERAL_NAMES_new());
  Check(names != nullptr, "GENERAL_NAMES_new");
  for (const std::string& spec : specs) {
    Check(sk_GENERAL_NAME_push(names.get(), MakeGeneralName(spec).release()) > 0,
          "push");
  }
  return names;
}

X509NamePtr MakeName(const std::string& spec) {
  X509NamePtr name(X509_NAME_new());
  Check(name != nullptr, "X509_NAME_new");
  if (spec.empty()) return name;
  for (absl::string_view rdn : absl::StrSplit(spec, '/')) {
    bool first = true;
    for (absl::string_view ava : absl::StrSplit(rdn, '+')) {
      const size_t eq = ava.find('=');
      if (eq == absl::string_view::npos) Die("bad AVA in " + spec);
      const std::string field(ava.substr(0, eq));
      const std::string value(ava.substr(eq + 1));
      Check(X509_NAME_add_entry_by_txt(
                name.get(), field.c_str(), MBSTRING_UTF8,
                reinterpret_cast<const unsigned char*>(value.data()),
                static_cast<int>(value.size()), -1, first ? 0 : -1) == 1,
            "X509_NAME_add_entry_by_txt " + field);
      first = false;
    }
  }
  return name;
}

NameConstraintsPtr MakeNameConstraints(const std::vector<std::string>& permitted,
                                       const std::vector<std::string>& excluded) {
  NameConstraintsPtr nc(NAME_CONSTRAINTS_new());
  Check(nc != nullptr, "NAME_CONSTRAINTS_new");
  auto fill = [](const std::vector<std::string>& specs) -> STACK_OF(GENERAL_SUBTREE)* {
    if (specs.empty()) return nullptr;
    STACK_OF(GENERAL_SUBTREE)* stack = sk_GENERAL_SUBTREE_new_null();
    Check(stack != nullptr, "sk_GENERAL_SUBTREE_new_null");
    for (const std::string& spec : specs) {
      GENERAL_SUBTREE* subtree = GENERAL_SUBTREE_new();
      Check(subtree != nullptr, "GENERAL_SUBTREE_new");
      GENERAL_NAME_free(subtree->base);
      subtree->base = MakeGeneralName(spec).release();
      Check(sk_GENERAL_SUBTREE_push(stack, subtree) > 0, "push");
    }
    return stack;
  };
  nc->permittedSubtrees = fill(permitted);
  nc->excludedSubtrees = fill(excluded);
  return nc;
}

CertificatePtr MakeCert(const CertSpec& spec) {
  X509Ptr x509(X509_new());
  X509* x = x509.get();
  Check(x != nullptr && X509_set_version(x, 2) == 1, "X509_set_version");
  Check(ASN1_INTEGER_set(X509_get_serialNumber(x), 4242) == 1, "serial");
  Check(X509_set_issuer_name(x, MakeName("CN=Name Test Issuer").get()) == 1,
        "issuer");
  Check(X509_set_subject_name(x, MakeName(spec.subject).get()) == 1, "subject");
  Check(X509_gmtime_adj(X509_getm_notBefore(x), -3600) != nullptr &&
            X509_gmtime_adj(X509_getm_notAfter(x), 3600) != nullptr,
        "validity");
  Check(X509_set_pubkey(x, SigningKey()) == 1, "pubkey");
  if (spec.is_ca) {
    BASIC_CONSTRAINTS* bc = BASIC_CONSTRAINTS_new();
    bc->ca = 0xff;
    Check(X509_add1_ext_i2d(x, NID_basic_constraints, bc, 1, X509V3_ADD_DEFAULT) == 1,
          "basicConstraints");
    BASIC_CONSTRAINTS_free(bc);
  }
  if (spec.sans.has_value()) {
    GeneralNamesPtr names = MakeGeneralNames(*spec.sans);
    Check(X509_add1_ext_i2d(x, NID_subject_alt_name, names.get(), 0,
                            X509V3_ADD_DEFAULT) == 1,
          "subjectAltName");
  }
  if (spec.name_constraints != nullptr) {
    Check(X509_add1_ext_i2d(x, NID_name_constraints,
                            const_cast<NAME_CONSTRAINTS*>(spec.name_constraints),
                            1, X509V3_ADD_DEFAULT) == 1,
          "nameConstraints");
  }
  Check(X509_sign(x, SigningKey(), EVP_sha256()) > 0, "X509_sign");

  unsigned char* der = nullptr;
  const int len = i2d_X509(x, &der);
  Check(len > 0, "i2d_X509");
  std::string der_string(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  ParseError error{};
  CertificatePtr cert = Certificate::Parse(der_string, &error);
  if (cert == nullptr) {
    Die(std::string("Certificate::Parse: ") + error.id->name + ": " +
        error.diagnostic);
  }
  return cert;
}

}  // namespace chainverify::pki::name_testing
