#include "dataplane/dataplane.h"

#include <rte_bus.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_memzone.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <new>
#include <vector>

#include "dataplane/rss_key.h"
#include "dataplane/static_keys.h"
#include "handshake/cookie.h"

namespace dtlsgw::dataplane {

namespace {

constexpr uint16_t kRxDescriptors = 1024;
constexpr uint16_t kTxDescriptors = 1024;
constexpr unsigned kPuntRingSize = 4096;
constexpr unsigned kCtlTxRingSize = 4096;
constexpr unsigned kEventRingSize = 16384;
constexpr unsigned kKeysRingSize = 1024;
constexpr unsigned kHandoffRingSize = 4096;
constexpr unsigned kControlPoolSize = 8191;
constexpr unsigned kPoolCache = 256;

rte_ring* make_ring(const std::string& name, unsigned element_size, unsigned count,
                    unsigned flags) {
  return rte_ring_create_elem(name.c_str(), element_size, count,
                              static_cast<int>(rte_socket_id()), flags | RING_F_EXACT_SZ);
}

}  // namespace

std::unique_ptr<Dataplane> Dataplane::create(const Config& config, const Options& options,
                                             std::string& error) {
  std::unique_ptr<Dataplane> d(new Dataplane());
  DataplaneContext& ctx = d->ctx_;
  ctx.config = config;
  ctx.workers = static_cast<unsigned>(config.workers.size());
  ctx.outside_port = config.outside.port_id;
  ctx.inside_port = config.inside.port_id;
  ctx.tsc_hz = rte_get_tsc_hz();
  ctx.index_configuration();
  if (ctx.workers == 0 || ctx.workers > contract::kMaxWorkers) {
    error = "dataplane.workers: between 1 and 64 worker lcores are needed";
    return nullptr;
  }
  for (const uint16_t port : {ctx.outside_port, ctx.inside_port}) {
    if (!rte_eth_dev_is_valid_port(port)) {
      error = std::string(port == ctx.outside_port ? "outside" : "inside") +
              ".port: DPDK has no port " + std::to_string(port) + " (" +
              std::to_string(rte_eth_dev_count_avail()) +
              " found; check -a / --vdev in the EAL arguments)";
      return nullptr;
    }
  }
  if (config.relaxed_replay) {
#ifdef DTLSGW_BENCHMARK_BUILD
    record::ReplayWindow::relaxed_for_benchmark = true;
    std::fprintf(stderr,
                 "dtlsgw-dataplane: WARNING: relaxed_replay: the anti-replay check is OFF "
                 "(benchmark build, looped pcaps); never on a real network\n");
#else
    error = "dataplane.relaxed_replay: this is not a benchmark build (meson -Dstatic_keys=true)";
    return nullptr;
#endif
  }
  if (!config.static_keys.empty()) {
    if (!options.allow_static_keys) {
      error = "dataplane.static_keys: this is not a benchmark build (meson -Dstatic_keys=true)";
      return nullptr;
    }
    // Fixed keys reuse nonces on every restart: never on a real network.
    for (const uint16_t port : {ctx.outside_port, ctx.inside_port}) {
      rte_eth_dev_info info{};
      if (rte_eth_dev_info_get(port, &info) == 0 && info.device != nullptr) {
        const rte_bus* bus = rte_bus_find_by_device(info.device);
        if (bus != nullptr && std::strcmp(rte_bus_name(bus), "vdev") != 0) {
          error = "dataplane.static_keys: refused on port " + std::to_string(port) +
                  ", a physical (" + rte_bus_name(bus) + ") device";
          return nullptr;
        }
      }
    }
  }

  const int socket = static_cast<int>(rte_socket_id());
  ctx.pool = rte_pktmbuf_pool_create("dtlsgw_pool", config.mbufs, kPoolCache, 0,
                                     RTE_MBUF_DEFAULT_BUF_SIZE, socket);
  ctx.punt_pool = rte_pktmbuf_pool_create(contract::kPuntPoolName, kControlPoolSize, 64, 0,
                                          RTE_MBUF_DEFAULT_BUF_SIZE, socket);
  rte_mempool* ctl_pool = rte_pktmbuf_pool_create(contract::kCtlTxPoolName, kControlPoolSize,
                                                  64, 0, RTE_MBUF_DEFAULT_BUF_SIZE, socket);
  if (ctx.pool == nullptr || ctx.punt_pool == nullptr || ctl_pool == nullptr) {
    error = std::string("cannot create the mbuf pools (hugepages reserved?): ") +
            rte_strerror(rte_errno);
    return nullptr;
  }
  if (options.configure_ports) {
    if (!d->set_up_port(ctx.outside_port, ctx.workers, ctx.outside_checksum_offload,
                        ctx.outside_mac, error) ||
        !d->set_up_port(ctx.inside_port, ctx.workers, ctx.inside_checksum_offload,
                        ctx.inside_mac, error)) {
      return nullptr;
    }
  } else {
    rte_ether_addr mac{};
    rte_eth_macaddr_get(ctx.outside_port, &mac);
    std::memcpy(ctx.outside_mac.bytes, mac.addr_bytes, 6);
    rte_eth_macaddr_get(ctx.inside_port, &mac);
    std::memcpy(ctx.inside_mac.bytes, mac.addr_bytes, 6);
  }

  // The workers produce punts and events; the control process alone
  // consumes them and alone produces ctl-tx and keys messages.
  ctx.punt = make_ring(contract::kPuntRingName, sizeof(contract::PuntMessage), kPuntRingSize,
                       RING_F_SC_DEQ);
  ctx.ctl_tx = make_ring(contract::kCtlTxRingName, sizeof(contract::CtlTxMessage),
                         kCtlTxRingSize, RING_F_SP_ENQ | RING_F_SC_DEQ);
  ctx.events = make_ring(contract::kEventRingName, sizeof(contract::EventMessage),
                         kEventRingSize, RING_F_SC_DEQ);
  if (ctx.punt == nullptr || ctx.ctl_tx == nullptr || ctx.events == nullptr) {
    error = std::string("cannot create the control rings: ") + rte_strerror(rte_errno);
    return nullptr;
  }
  for (unsigned i = 0; i < ctx.workers; ++i) {
    // Two producers: the control process, and telemetry's /dtlsgw/close.
    ctx.keys[i] = make_ring(contract::kKeysRingPrefix + std::to_string(i),
                            sizeof(contract::KeysSlot), kKeysRingSize, RING_F_SC_DEQ);
    ctx.handoff[i] = rte_ring_create(("dtlsgw_handoff_" + std::to_string(i)).c_str(),
                                     kHandoffRingSize, socket, RING_F_SC_DEQ | RING_F_EXACT_SZ);
    if (ctx.keys[i] == nullptr || ctx.handoff[i] == nullptr) {
      error = std::string("cannot create the worker rings: ") + rte_strerror(rte_errno);
      return nullptr;
    }
  }

  SessionTable::Options table;
  table.capacity = config.max_sessions;
  table.replay_window_bits = config.replay_window;
  table.readers = ctx.workers + 1;  // the workers, then telemetry
  table.socket = socket;
  d->sessions_ = SessionTable::create(table, error);
  if (!d->sessions_) {
    return nullptr;
  }
  ctx.sessions = d->sessions_.get();
  ctx.counters = std::make_unique<WorkerCounters[]>(ctx.workers);

  // The ready memzone, last: a control process that finds it finds
  // everything above. It starts with a cookie secret of the dataplane's
  // own so HelloVerifyRequests work before the control process runs.
  d->ready_zone_ = rte_memzone_reserve(contract::kReadyZoneName, sizeof(contract::ReadyZone),
                                       socket, 0);
  if (d->ready_zone_ == nullptr) {
    error = std::string("cannot reserve the ready memzone: ") + rte_strerror(rte_errno);
    return nullptr;
  }
  auto* ready = new (d->ready_zone_->addr) contract::ReadyZone();
  ready->workers = static_cast<uint16_t>(ctx.workers);
  for (unsigned i = 0; i < ctx.workers; ++i) {
    ready->worker_lcores[i] = config.workers[i];
  }
  std::memcpy(ready->outside_address, &config.outside.address.be, 4);
  if (config.outside.address6) {
    ready->has_outside_address6 = 1;
    std::memcpy(ready->outside_address6, config.outside.address6->bytes, 16);
  }
  ready->mtu = config.handshake.mtu;
  handshake::CookieSecrets secrets;
  if (!handshake::rotate_cookie_secret(secrets)) {
    error = "cannot draw a cookie secret from the CSPRNG";
    return nullptr;
  }
  contract::write_cookie_secrets(ready->cookies, secrets);
  OPENSSL_cleanse(&secrets, sizeof(secrets));
  ctx.ready = ready;

  for (unsigned i = 0; i < ctx.workers; ++i) {
    auto w = Worker::create(ctx, i, error);
    if (!w) {
      return nullptr;
    }
    d->workers_.push_back(std::move(w));
  }
  if (!config.static_keys.empty() && !d->load_static_keys(error)) {
    return nullptr;
  }
  std::atomic_thread_fence(std::memory_order_release);
  ready->magic = contract::kReadyMagic;
  return d;
}

bool Dataplane::set_up_port(uint16_t port, unsigned queues, bool& checksum_offload,
                            MacAddress& mac, std::string& error) {
  const std::string name = "port " + std::to_string(port);
  rte_eth_dev_info info{};
  if (rte_eth_dev_info_get(port, &info) != 0) {
    error = name + ": cannot read device information";
    return false;
  }
  if (info.max_rx_queues < queues || info.max_tx_queues < queues) {
    error = name + ": " + std::to_string(queues) + " workers need as many queues; the device has " +
            std::to_string(info.max_rx_queues) + " rx and " + std::to_string(info.max_tx_queues) +
            " tx";
    return false;
  }
  rte_eth_conf conf{};
  const uint64_t want = RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
  checksum_offload = (info.tx_offload_capa & want) == want;
  if (checksum_offload) {
    conf.txmode.offloads = want;
  }
  // On receipt, the checks the device can make (the worker reads their
  // verdicts: rx_checksum_verdicts); without them it sums in software.
  conf.rxmode.offloads =
      info.rx_offload_capa & (RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM);
  // RSS spreads flows over the workers' queues; a packet that lands on a
  // worker that does not own its flow is handed to the owner, so RSS needs
  // no knowledge of ownership. The key makes Toeplitz symmetric
  // (rss_key.h). Devices whose key is not a multiple of 2 bytes, or that
  // take no key, keep their default.
  std::vector<uint8_t> symmetric_key;
  if (queues > 1 && info.flow_type_rss_offloads != 0) {
    conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
    conf.rx_adv_conf.rss_conf.rss_hf = RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP;
    conf.rx_adv_conf.rss_conf.rss_hf &= info.flow_type_rss_offloads;
    if (info.hash_key_size != 0 && info.hash_key_size % 2 == 0) {
      symmetric_key = symmetric_rss_key(info.hash_key_size);
      conf.rx_adv_conf.rss_conf.rss_key = symmetric_key.data();
      conf.rx_adv_conf.rss_conf.rss_key_len = info.hash_key_size;
    }
  }
  int rc = rte_eth_dev_configure(port, static_cast<uint16_t>(queues), static_cast<uint16_t>(queues),
                                 &conf);
  uint16_t rx_desc = kRxDescriptors;
  uint16_t tx_desc = kTxDescriptors;
  if (rc == 0) {
    rc = rte_eth_dev_adjust_nb_rx_tx_desc(port, &rx_desc, &tx_desc);
  }
  const int socket = rte_eth_dev_socket_id(port);
  for (unsigned q = 0; rc == 0 && q < queues; ++q) {
    rc = rte_eth_rx_queue_setup(port, static_cast<uint16_t>(q), rx_desc, socket, nullptr,
                                ctx_.pool);
    if (rc == 0) {
      rc = rte_eth_tx_queue_setup(port, static_cast<uint16_t>(q), tx_desc, socket, nullptr);
    }
  }
  if (rc == 0) {
    rc = rte_eth_dev_start(port);
  }
  if (rc != 0) {
    error = name + ": cannot configure and start: " + rte_strerror(-rc);
    return false;
  }
  started_ports_.push_back(port);
  rte_ether_addr addr{};
  rte_eth_macaddr_get(port, &addr);
  std::memcpy(mac.bytes, addr.addr_bytes, 6);
  return true;
}

bool Dataplane::load_static_keys(std::string& error) {
  auto keys = StaticKeys::load(ctx_.config.static_keys, error);
  if (!keys) {
    return false;
  }
  if (keys->size() > ctx_.config.max_sessions) {
    error = "dataplane.static_keys: " + std::to_string(keys->size()) +
            " sessions exceed dataplane.max_sessions";
    return false;
  }
  StaticSession s;
  contract::InstallMessage msg;
  for (size_t i = 0; i < keys->size(); ++i) {
    keys->session(i, s);
    const record::AeadParams& p = record::aead_params(s.aead);
    msg = contract::InstallMessage();
    msg.aead = static_cast<uint8_t>(s.aead);
    msg.flow = contract::FlowKey::v4(s.peer.be, s.peer_port, s.listener_port);
    // Static peers sit behind the outside port's link: reply to broadcast
    // until a frame from the peer teaches the real MAC.
    std::memset(msg.peer_mac, 0xff, 6);
    msg.key_length = static_cast<uint8_t>(p.key_length);
    msg.iv_length = static_cast<uint8_t>(p.fixed_iv_length);
    std::memcpy(msg.client_write_key, s.client_write_key, p.key_length);
    std::memcpy(msg.server_write_key, s.server_write_key, p.key_length);
    std::memcpy(msg.client_write_iv, s.client_write_iv, p.fixed_iv_length);
    std::memcpy(msg.server_write_iv, s.server_write_iv, p.fixed_iv_length);
    Worker& w = *workers_[ctx_.owner_of(msg.flow)];
    const uint64_t before = w.counters().get(Counter::sessions_installed);
    w.install(msg, true);
    if (w.counters().get(Counter::sessions_installed) == before) {
      error = "dataplane.static_keys: session " + std::to_string(i) + " could not be installed";
      return false;
    }
  }
  OPENSSL_cleanse(&msg, sizeof(msg));
  OPENSSL_cleanse(&s, sizeof(s));
  return true;
}

namespace {
int worker_main(void* arg) {
  auto* p = static_cast<std::pair<Worker*, std::atomic<bool>*>*>(arg);
  p->first->run(*p->second);
  delete p;
  return 0;
}
}  // namespace

bool Dataplane::launch(std::string& error) {
  for (unsigned i = 0; i < workers_.size(); ++i) {
    const unsigned lcore = ctx_.config.workers[i];
    if (!rte_lcore_is_enabled(lcore) || lcore == rte_get_main_lcore()) {
      error = "dataplane.workers: lcore " + std::to_string(lcore) +
              " is not a worker lcore of this EAL (give it with -l; the first -l lcore is "
              "the main one)";
      stop();
      return false;
    }
    auto* arg = new std::pair<Worker*, std::atomic<bool>*>(workers_[i].get(), &stop_);
    if (rte_eal_remote_launch(worker_main, arg, lcore) != 0) {
      delete arg;
      error = "cannot launch worker on lcore " + std::to_string(lcore);
      stop();
      return false;
    }
    launched_ = true;
  }
  return true;
}

void Dataplane::stop() {
  stop_.store(true);
  if (launched_) {
    for (const unsigned lcore : ctx_.config.workers) {
      rte_eal_wait_lcore(lcore);
    }
    launched_ = false;
  }
}

void Dataplane::tick() {
  if (ctx_.ready != nullptr) {
    ctx_.ready->dataplane_heartbeat.fetch_add(1, std::memory_order_release);
  }
}

uint64_t Dataplane::total(Counter c) const {
  uint64_t sum = 0;
  for (unsigned i = 0; i < ctx_.workers; ++i) {
    sum += ctx_.counters[i].get(c);
  }
  return sum;
}

std::string Dataplane::summary_line() const {
  uint64_t drops = 0;
  for (size_t c = 0; c < kCounterCount; ++c) {
    if (counter_info(static_cast<Counter>(c)).name.starts_with("drop_")) {
      drops += total(static_cast<Counter>(c));
    }
  }
  return "sessions " + std::to_string(sessions_->size()) + ", rx " +
         std::to_string(total(Counter::rx_packets)) + "/" +
         std::to_string(total(Counter::rx_inside_packets)) + " (outside/inside), tx " +
         std::to_string(total(Counter::tx_packets)) + "/" +
         std::to_string(total(Counter::tx_inside_packets)) + ", decrypted " +
         std::to_string(total(Counter::records_decrypted)) + ", encrypted " +
         std::to_string(total(Counter::records_encrypted)) + ", HelloVerifyRequests " +
         std::to_string(total(Counter::hello_verify_requests)) + ", punted " +
         std::to_string(total(Counter::punted)) + ", dropped " + std::to_string(drops);
}

std::string Dataplane::memory_report() const {
  const size_t table = sessions_->table_bytes_per_session();
  const size_t window =
      record::ReplayWindow::storage_words(ctx_.config.replay_window) * sizeof(uint64_t);
  // Appended piece by piece: GCC 12 at -O3 reports a false -Wrestrict on
  // long operator+ chains of std::string temporaries.
  std::string out = "session memory: ";
  out += std::to_string(sizeof(Session));
  out += " B session + ";
  out += std::to_string(table - sizeof(Session));
  out += " B hash tables + ";
  out += std::to_string(window);
  out += " B replay window; key schedules (both directions):";
  size_t largest = 0;
  for (size_t a = 0; a < record::kAeadCount; ++a) {
    const auto aead = static_cast<record::Aead>(a);
    const size_t keys = 2 * record::key_schedule_bytes(aead);
    largest = std::max(largest, keys);
    out += ' ';
    out += record::to_string(aead);
    out += ' ';
    out += std::to_string(keys);
    out += " B";
  }
  const size_t total = (table + window + largest) * sessions_->capacity();
  out += "; at most ";
  out += std::to_string(total >> 20);
  out += " MiB for ";
  out += std::to_string(sessions_->capacity());
  out += " sessions";
  return out;
}

Dataplane::~Dataplane() {
  stop();
  workers_.clear();
  sessions_.reset();
  for (const uint16_t port : started_ports_) {
    rte_eth_dev_stop(port);
  }
  if (ctx_.ready != nullptr) {
    ctx_.ready->magic = 0;
    OPENSSL_cleanse(&ctx_.ready->cookies, sizeof(ctx_.ready->cookies));
  }
  rte_memzone_free(ready_zone_);
  for (unsigned i = 0; i < ctx_.workers; ++i) {
    rte_ring_free(ctx_.keys[i]);
    rte_ring_free(ctx_.handoff[i]);
  }
  rte_ring_free(ctx_.punt);
  rte_ring_free(ctx_.ctl_tx);
  rte_ring_free(ctx_.events);
  rte_mempool_free(rte_mempool_lookup(contract::kCtlTxPoolName));
  rte_mempool_free(ctx_.punt_pool);
  rte_mempool_free(ctx_.pool);
}

}  // namespace dtlsgw::dataplane
