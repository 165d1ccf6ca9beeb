#include "handshake/status.h"

#include <openssl/err.h>

namespace dtlsgw::handshake {

std::string drain_openssl_errors() {
  std::string out;
  const char* file = nullptr;
  const char* data = nullptr;
  int line = 0;
  int flags = 0;
  while (const unsigned long e = ERR_get_error_all(&file, &line, nullptr, &data, &flags)) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    if (!out.empty()) {
      out += "; ";
    }
    out += buf;
    if ((flags & ERR_TXT_STRING) != 0 && data != nullptr && *data != '\0') {
      out += " (";
      out += data;
      out += ")";
    }
  }
  return out.empty() ? std::string("no OpenSSL error") : out;
}

}  // namespace dtlsgw::handshake
