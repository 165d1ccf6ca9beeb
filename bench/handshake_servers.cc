#include "bench/handshake_servers.h"

#include <algorithm>
#include <ctime>  // clock_gettime
#include <iterator>

#include "handshake/client_hello.h"
#include "handshake/handshake_engine.h"
#include "handshake/handshake_table.h"

namespace dtlsgw::bench {

using handshake::ClientHello;
using handshake::ClientHelloResult;
using handshake::CookieMaker;
using handshake::PeerAddress;

int64_t thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

namespace {

constexpr int kMaxFlights = 6;

void append(std::vector<Datagram>& to, std::vector<Datagram>& from) {
  to.insert(to.end(), std::make_move_iterator(from.begin()), std::make_move_iterator(from.end()));
}

}  // namespace

bool ServerUnderTest::handshake(const ClientContext& client_context, size_t n,
                                int64_t empty_region_ns, ServerCpu& cpu, std::string& why) {
  const auto timed = [&](int flight, const auto& body) {
    const int64_t t0 = thread_cpu_ns();
    const bool ok = body();
    const int64_t t1 = thread_cpu_ns();
    cpu.flight[std::min(flight, 1)] += std::max<int64_t>(0, t1 - t0 - empty_region_ns);
    return ok;
  };
  if (prepares() && !timed(0, [&] { return prepare(n); })) {
    why = "server set-up";
    return false;
  }
  Client client(client_context, server_peer());
  std::vector<Datagram> to_server = client.step();
  if (!client.ok() || !before_timing(n, client, to_server)) {
    why = "cookie exchange before the timed part";
    return false;
  }
  bool complete = false;
  for (int flight = 0; flight < kMaxFlights && !to_server.empty(); ++flight) {
    std::vector<Datagram> to_client;
    if (!timed(flight, [&] { return serve_flight(n, to_server, to_client, complete); })) {
      why = "server failed at client flight " + std::to_string(flight + 1);
      return false;
    }
    client.deliver(to_client);
    to_server = client.step();
    if (client.failed()) {
      why = "client failed after server flight " + std::to_string(flight + 1);
      return false;
    }
  }
  if (!client.done() || !complete) {
    why = "handshake did not complete";
    return false;
  }
  return true;
}

namespace {

// dtlsgw, as the control process sees a handshake: the dataplane answered
// the first ClientHello with a HelloVerifyRequest (not timed: stateless,
// on an lcore) and punts the cookie ClientHello; from there every
// HandshakeTable::on_datagram is timed, up to the Handover it returns.
class DtlsgwServer final : public ServerUnderTest {
 public:
  DtlsgwServer(CookieMaker& cookies, std::shared_ptr<handshake::ServerContext> context,
               record::CryptoContext& crypto, uint16_t suite)
      : cookies_(cookies), table_(std::move(context), crypto, table_config()), suite_(suite) {}

 private:
  static handshake::TableConfig table_config() {
    handshake::TableConfig c;
    c.engine.path_mtu = kPathMtu;
    return c;
  }

  bool before_timing(size_t n, Client& client, std::vector<Datagram>& to_server) override {
    ClientHello hello;
    std::vector<Datagram> hvr(1, Datagram(CookieMaker::kHelloVerifyRequestLength));
    if (to_server.size() != 1 || parse_client_hello(to_server[0], hello) != ClientHelloResult::ok ||
        cookies_.build_hello_verify_request(client_peer(n, false), hello, hvr[0]) !=
            hvr[0].size()) {
      return false;
    }
    client.deliver(hvr);
    to_server = client.step();
    return true;
  }

  bool serve_flight(size_t n, std::vector<Datagram>& in, std::vector<Datagram>& out,
                    bool& complete) override {
    const PeerAddress peer = client_peer(n, false);
    for (const Datagram& d : in) {
      auto r = table_.on_datagram(peer, d, handshake::Clock::now());
      if (r.failure.has_value()) {
        return false;
      }
      append(out, r.to_send);
      complete |= r.handover.has_value() && r.handover->suite == suite_ && r.handover->keys.valid();
    }
    return true;
  }

  CookieMaker& cookies_;
  handshake::HandshakeTable table_;
  uint16_t suite_;
};

// dtlsgw's HandshakeEngine alone, driven as the table drives it (create,
// start on the cookie ClientHello, on_datagram, take_handover), without
// the table's routing, limits and timers: for attribution, what the table
// adds is `dtlsgw` less this.
class DtlsgwEngineServer final : public ServerUnderTest {
 public:
  DtlsgwEngineServer(CookieMaker& cookies, std::shared_ptr<handshake::ServerContext> context,
                     record::CryptoContext& crypto, uint16_t suite)
      : cookies_(cookies), context_(std::move(context)), crypto_(crypto), suite_(suite) {
    config_.path_mtu = kPathMtu;
  }

 private:
  bool before_timing(size_t n, Client& client, std::vector<Datagram>& to_server) override {
    engine_.reset();
    ClientHello hello;
    std::vector<Datagram> hvr(1, Datagram(CookieMaker::kHelloVerifyRequestLength));
    if (to_server.size() != 1 || parse_client_hello(to_server[0], hello) != ClientHelloResult::ok ||
        cookies_.build_hello_verify_request(client_peer(n, false), hello, hvr[0]) !=
            hvr[0].size()) {
      return false;
    }
    client.deliver(hvr);
    to_server = client.step();
    return true;
  }

  bool serve_flight(size_t n, std::vector<Datagram>& in, std::vector<Datagram>& out,
                    bool& complete) override {
    for (const Datagram& d : in) {
      std::vector<Datagram> sent;
      if (engine_ == nullptr) {
        engine_ =
            handshake::HandshakeEngine::create(context_, crypto_, config_, client_peer(n, false));
        sent = engine_->start(d, handshake::Clock::now());
      } else {
        sent = engine_->on_datagram(d, handshake::Clock::now());
      }
      if (engine_->state() == handshake::HandshakeState::failed) {
        return false;
      }
      append(out, sent);
    }
    if (engine_->has_handover()) {
      const handshake::Handover h = engine_->take_handover();
      complete = h.suite == suite_ && h.keys.valid();
      engine_.reset();
    }
    return true;
  }

  CookieMaker& cookies_;
  std::shared_ptr<handshake::ServerContext> context_;
  record::CryptoContext& crypto_;
  handshake::EngineConfig config_;
  uint16_t suite_;
  std::unique_ptr<handshake::HandshakeEngine> engine_;
};

// Bare OpenSSL with its own cookie exchange (DTLSv1_listen), timed over
// the same span as dtlsgw: the first ClientHello's DTLSv1_listen (which
// writes the HelloVerifyRequest) is not timed, the cookie ClientHello's
// is. The listening SSL is made before the first ClientHello, as a
// listening server loop does; that SSL_new is timed and counted with the
// first flight, like dtlsgw's (made when the cookie ClientHello arrives).
class BareListenServer final : public ServerUnderTest {
 public:
  BareListenServer(std::unique_ptr<BareServer> server, uint16_t suite)
      : server_(std::move(server)), suite_(suite) {}

 private:
  bool prepares() const override { return true; }
  bool prepare(size_t n) override {
    connection_ = std::make_unique<BareConnection>(*server_, client_peer(n, false), kOpensslMtu);
    listened_ = false;
    return connection_->ok();
  }

  bool before_timing(size_t, Client& client, std::vector<Datagram>& to_server) override {
    std::vector<Datagram> hvr;
    if (to_server.size() != 1 || connection_->listen(to_server[0], hvr) != 0 || hvr.size() != 1) {
      return false;
    }
    client.deliver(hvr);
    to_server = client.step();
    return true;
  }

  bool serve_flight(size_t, std::vector<Datagram>& in, std::vector<Datagram>& out,
                    bool& complete) override {
    int r = 0;
    for (const Datagram& d : in) {
      if (!listened_) {
        std::vector<Datagram> unused;
        if (connection_->listen(d, unused) != 1) {
          return false;
        }
        listened_ = true;
        r = connection_->accept(nullptr, out);
      } else {
        r = connection_->accept(&d, out);
      }
      if (r < 0) {
        return false;
      }
    }
    if (r == 1) {
      complete = connection_->suite() == suite_;
      connection_.reset();
    }
    return true;
  }

  std::unique_ptr<BareServer> server_;
  uint16_t suite_;
  std::unique_ptr<BareConnection> connection_;
  bool listened_ = false;
};

// Bare OpenSSL without a cookie exchange: SSL_new and SSL_accept from the
// first ClientHello. For reference only: this server checks no cookie at
// all, so it does less than either server above.
class BareNoCookieServer final : public ServerUnderTest {
 public:
  BareNoCookieServer(std::unique_ptr<BareServer> server, uint16_t suite)
      : server_(std::move(server)), suite_(suite) {}

 private:
  bool before_timing(size_t, Client&, std::vector<Datagram>&) override {
    connection_.reset();  // left over only if the last handshake failed
    return true;
  }

  bool serve_flight(size_t n, std::vector<Datagram>& in, std::vector<Datagram>& out,
                    bool& complete) override {
    if (connection_ == nullptr) {
      connection_ = std::make_unique<BareConnection>(*server_, client_peer(n, false), kOpensslMtu);
    }
    int r = 0;
    for (const Datagram& d : in) {
      r = connection_->accept(&d, out);
      if (r < 0) {
        return false;
      }
    }
    if (r == 1) {
      complete = connection_->suite() == suite_;
      connection_.reset();
    }
    return true;
  }

  std::unique_ptr<BareServer> server_;
  uint16_t suite_;
  std::unique_ptr<BareConnection> connection_;
};

}  // namespace

std::unique_ptr<ServerUnderTest> make_dtlsgw_server(
    CookieMaker& cookies, std::shared_ptr<handshake::ServerContext> context,
    record::CryptoContext& crypto, uint16_t suite) {
  return std::make_unique<DtlsgwServer>(cookies, std::move(context), crypto, suite);
}

std::unique_ptr<ServerUnderTest> make_dtlsgw_engine_server(
    CookieMaker& cookies, std::shared_ptr<handshake::ServerContext> context,
    record::CryptoContext& crypto, uint16_t suite) {
  return std::make_unique<DtlsgwEngineServer>(cookies, std::move(context), crypto, suite);
}

std::unique_ptr<ServerUnderTest> make_bare_listen_server(std::unique_ptr<BareServer> server,
                                                         uint16_t suite) {
  return std::make_unique<BareListenServer>(std::move(server), suite);
}

std::unique_ptr<ServerUnderTest> make_bare_nocookie_server(std::unique_ptr<BareServer> server,
                                                           uint16_t suite) {
  return std::make_unique<BareNoCookieServer>(std::move(server), suite);
}

}  // namespace dtlsgw::bench
