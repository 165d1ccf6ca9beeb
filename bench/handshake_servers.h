// The servers the full-handshake benchmark measures (bench/README.md,
// "handshake"), each behind one interface that runs a whole handshake with
// a fresh client and times only the server's own calls, on the thread's
// CPU clock: dtlsgw's HandshakeTable (and its HandshakeEngine alone), and
// bare OpenSSL with and without its own cookie exchange.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bench/dtls_peers.h"
#include "dtls_record/crypto_context.h"
#include "handshake/cookie.h"
#include "handshake/server_context.h"

namespace dtlsgw::bench {

// The calling thread's CPU time (CLOCK_THREAD_CPUTIME_ID), ns: only the
// benchmark thread's own work, so neither the client's work (which is
// never inside a timed region) nor other processes on this shared machine
// count.
int64_t thread_cpu_ns();

// dtlsgw's engine gives OpenSSL the path MTU less 24 bytes of AEAD room
// (handshake_engine.cc); the bare server gets the same figure.
inline constexpr long kPathMtu = 1200;
inline constexpr long kOpensslMtu = kPathMtu - 24;

// Server CPU of one handshake, by client flight answered: [0] the cookie
// ClientHello (or, without a cookie exchange, the only ClientHello), [1]
// the client's second flight, through completion (and the handover).
struct ServerCpu {
  int64_t flight[2] = {0, 0};
  int64_t total() const { return flight[0] + flight[1]; }
};

// A server under test. Only the server's own calls are timed, each group
// of them in a region between two reads of the thread's CPU clock; the
// client's work never is.
class ServerUnderTest {
 public:
  virtual ~ServerUnderTest() = default;

  // Handshake number n with a fresh client: the server's CPU time goes to
  // `cpu`, less `empty_region_ns` per region (what two clock reads cost by
  // themselves), so that servers timed in more regions pay nothing for it.
  // False (with `why`) if the handshake failed.
  bool handshake(const ClientContext& client_context, size_t n, int64_t empty_region_ns,
                 ServerCpu& cpu, std::string& why);

 protected:
  // Timed (counted with the first flight), for servers whose prepares()
  // is true: what a server does for a peer before its first datagram,
  // e.g. making a listening SSL.
  virtual bool prepares() const { return false; }
  virtual bool prepare(size_t /*n*/) { return true; }
  // Untimed: what happens before the cookie ClientHello reaches the part
  // measured (the stateless cookie exchange). Replaces `to_server` with
  // the client's next flight.
  virtual bool before_timing(size_t n, Client& client, std::vector<Datagram>& to_server) = 0;
  // Timed: the server's handling of one client flight. Sets `complete`
  // once the handshake completed with the expected suite.
  virtual bool serve_flight(size_t n, std::vector<Datagram>& in, std::vector<Datagram>& out,
                            bool& complete) = 0;
};

// The servers; `suite` is the IANA number each handshake must end with.
std::unique_ptr<ServerUnderTest> make_dtlsgw_server(
    handshake::CookieMaker& cookies, std::shared_ptr<handshake::ServerContext> context,
    record::CryptoContext& crypto, uint16_t suite);
std::unique_ptr<ServerUnderTest> make_dtlsgw_engine_server(
    handshake::CookieMaker& cookies, std::shared_ptr<handshake::ServerContext> context,
    record::CryptoContext& crypto, uint16_t suite);
std::unique_ptr<ServerUnderTest> make_bare_listen_server(std::unique_ptr<BareServer> server,
                                                         uint16_t suite);
std::unique_ptr<ServerUnderTest> make_bare_nocookie_server(std::unique_ptr<BareServer> server,
                                                           uint16_t suite);

}  // namespace dtlsgw::bench
