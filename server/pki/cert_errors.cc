#include "server/pki/cert_errors.h"

namespace chainverify::pki {

bool CertErrors::HasError() const {
  for (const CertError& e : errors_) {
    if (e.severity == Severity::kError) return true;
  }
  return false;
}

bool CertErrors::Contains(const CertErrorId& id) const {
  for (const CertError& e : errors_) {
    if (e.id == &id) return true;
  }
  return false;
}

Status CertErrors::PrimaryStatus() const {
  for (const CertError& e : errors_) {
    if (e.severity == Severity::kError) return e.id->status;
  }
  return ::chainverify::v1::OK;
}

}  // namespace chainverify::pki
