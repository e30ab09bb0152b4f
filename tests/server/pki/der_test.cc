#include "server/pki/der.h"

#include <string>

#include <openssl/asn1.h>

#include "gtest/gtest.h"

namespace chainverify::pki {
namespace {

// The header bytes DerTlv puts before `content_size` bytes of content.
std::string Header(uint8_t tag, size_t content_size) {
  const std::string tlv = DerTlv(tag, std::string(content_size, 'x'));
  return tlv.substr(0, tlv.size() - content_size);
}

TEST(DerTlvTest, LengthsUseTheShortestForm) {
  struct Case {
    size_t size;
    std::string header;
  };
  const Case cases[] = {
      {0, std::string("\x04\x00", 2)},
      {1, "\x04\x01"},
      {127, "\x04\x7f"},
      {128, "\x04\x81\x80"},
      {255, "\x04\x81\xff"},
      {256, std::string("\x04\x82\x01\x00", 4)},
      {65535, "\x04\x82\xff\xff"},
      {65536, std::string("\x04\x83\x01\x00\x00", 5)},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(Header(0x04, c.size), c.header) << c.size << " content bytes";
  }
}

TEST(DerTlvTest, KeepsTheTagAndTheContent) {
  const std::string tlv = DerTlv(0xa0, std::string("\x05\x00", 2));  // [0] { NULL }
  EXPECT_EQ(tlv, std::string("\xa0\x02\x05\x00", 4));
}

// OpenSSL's own DER reader agrees on every length form.
TEST(DerTlvTest, OpenSslReadsWhatItWrites) {
  for (size_t size : {0, 5, 127, 128, 200, 255, 256, 1000, 70000}) {
    const std::string content(size, 'a');
    const std::string der = DerTlv(0x04, content);  // OCTET STRING
    const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
    ASN1_OCTET_STRING* parsed = d2i_ASN1_OCTET_STRING(nullptr, &p, static_cast<long>(der.size()));
    ASSERT_NE(parsed, nullptr) << size;
    EXPECT_EQ(static_cast<size_t>(ASN1_STRING_length(parsed)), size);
    EXPECT_EQ(p, reinterpret_cast<const unsigned char*>(der.data()) + der.size());
    ASN1_OCTET_STRING_free(parsed);
  }
}

}  // namespace
}  // namespace chainverify::pki
