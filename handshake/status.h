// The result of a control-process operation that can fail for a reason an
// operator must read (a bad configuration file, OpenSSL refusing a key):
// ok, or a message saying what and where. The handshake layer reports with
// these, never with exceptions (STYLE.md rule 2).
#pragma once

#include <string>
#include <utility>

namespace dtlsgw::handshake {

class [[nodiscard]] Status {
 public:
  static Status ok() { return Status(); }
  static Status error(std::string message) { return Status(std::move(message)); }

  bool is_ok() const { return message_.empty(); }
  explicit operator bool() const { return is_ok(); }
  const std::string& message() const { return message_; }

 private:
  Status() = default;
  explicit Status(std::string message)
      : message_(message.empty() ? std::string("unspecified error") : std::move(message)) {}
  std::string message_;
};

// Every error OpenSSL queued on this thread, oldest first, joined with
// "; " (and the queue cleared); "no OpenSSL error" when empty.
std::string drain_openssl_errors();

}  // namespace dtlsgw::handshake
