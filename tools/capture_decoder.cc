#include "tools/capture_decoder.h"

#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>

#include "dtls_record/cid_record.h"
#include "dtls_record/dtls13_header.h"
#include "dtls_record/dtls13_protection.h"
#include "dtls_record/hkdf_label.h"
#include "dtls_record/record_protection.h"
#include "dtls_record/sequence_reconstruction.h"
#include "tools/pcap_file.h"

namespace dtlsgw::tools {

using namespace dtlsgw::record;
using Bytes = std::vector<uint8_t>;

const char* to_string(RecordFormat f) {
  switch (f) {
    case RecordFormat::dtls12:
      return "1.2";
    case RecordFormat::dtls12_cid:
      return "1.2-cid";
    case RecordFormat::dtls13_plaintext:
      return "1.3-plaintext";
    case RecordFormat::dtls13:
      return "1.3";
  }
  return "?";
}

namespace {

std::optional<Bytes> from_hex(const std::string& s) {
  if (s.size() % 2 != 0) {
    return std::nullopt;
  }
  Bytes b;
  for (size_t i = 0; i < s.size(); i += 2) {
    unsigned v = 0;
    if (std::sscanf(s.c_str() + i, "%2x", &v) != 1) {
      return std::nullopt;
    }
    b.push_back(static_cast<uint8_t>(v));
  }
  return b;
}

struct Datagram {
  size_t frame;
  uint16_t src_port, dst_port;
  Bytes payload;
};

// Ethernet (802.1Q too) / IPv4 or IPv6 / UDP; nullopt for anything else.
std::optional<Datagram> udp_of(const Bytes& f, size_t frame) {
  size_t at = 12;
  if (f.size() < 14) {
    return std::nullopt;
  }
  uint16_t ethertype = static_cast<uint16_t>(f[12] << 8 | f[13]);
  at = 14;
  if (ethertype == 0x8100 && f.size() >= 18) {
    ethertype = static_cast<uint16_t>(f[16] << 8 | f[17]);
    at = 18;
  }
  uint8_t proto = 0;
  if (ethertype == 0x0800) {
    if (f.size() < at + 20) return std::nullopt;
    const size_t ihl = (f[at] & 0x0f) * 4u;
    proto = f[at + 9];
    if (ihl < 20 || f.size() < at + ihl) return std::nullopt;
    at += ihl;
  } else if (ethertype == 0x86dd) {
    if (f.size() < at + 40) return std::nullopt;
    proto = f[at + 6];
    at += 40;
  } else {
    return std::nullopt;
  }
  if (proto != 17 || f.size() < at + 8) {
    return std::nullopt;
  }
  const size_t udp_length = f[at + 4] << 8 | f[at + 5];
  if (udp_length < 8 || f.size() < at + udp_length) {
    return std::nullopt;
  }
  Datagram d{frame, static_cast<uint16_t>(f[at] << 8 | f[at + 1]),
             static_cast<uint16_t>(f[at + 2] << 8 | f[at + 3]),
             Bytes(f.begin() + at + 8, f.begin() + at + udp_length)};
  return d;
}

struct KeyLog {
  // label -> client random -> secret. The random is keyed as a string:
  // GCC 12 at -O3 misreads std::map<std::vector<uint8_t>, ...>'s compare
  // as an unbounded memcmp (-Wstringop-overread, a false positive).
  std::map<std::string, std::map<std::string, Bytes>> lines;
  static std::string key(const Bytes& random) {
    return std::string(random.begin(), random.end());
  }
  std::optional<Bytes> find(const std::string& label, const Bytes& random) const {
    const auto l = lines.find(label);
    if (l == lines.end() || l->second.empty()) return std::nullopt;
    const auto r = l->second.find(key(random));
    if (r != l->second.end()) return r->second;
    return l->second.begin()->second;  // the only session, random unseen
  }
};

bool read_keylog(const std::string& path, KeyLog& k, std::string& error) {
  std::ifstream in(path);
  if (!in) {
    error = path + ": cannot open";
    return false;
  }
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream s(line);
    std::string label, random, secret;
    if (!(s >> label >> random >> secret) || label[0] == '#') continue;
    auto r = from_hex(random);
    auto v = from_hex(secret);
    if (r && v) k.lines[label][KeyLog::key(*r)] = *v;
  }
  return true;
}

// A handshake message of the DTLS handshake header (RFC 6347 §4.2.2),
// when unfragmented.
struct Handshake {
  uint8_t type;
  const uint8_t* body;
  size_t length;
};
std::optional<Handshake> handshake_of(std::span<const uint8_t> b) {
  if (b.size() < 12) return std::nullopt;
  const size_t length = size_t{b[1]} << 16 | b[2] << 8 | b[3];
  const size_t offset = size_t{b[6]} << 16 | b[7] << 8 | b[8];
  const size_t frag = size_t{b[9]} << 16 | b[10] << 8 | b[11];
  if (offset != 0 || frag != length || b.size() < 12 + length) return std::nullopt;
  return Handshake{b[0], b.data() + 12, length};
}

// Finds extension 54 (connection_id) in an extensions block.
std::optional<Bytes> cid_extension(const uint8_t* p, size_t n) {
  if (n < 2) return std::nullopt;
  size_t total = p[0] << 8 | p[1];
  p += 2;
  total = std::min(total, n - 2);
  while (total >= 4) {
    const unsigned type = p[0] << 8 | p[1];
    const size_t len = p[2] << 8 | p[3];
    if (len + 4 > total) break;
    if (type == 54 && len >= 1 && p[4] + 1u <= len) return Bytes(p + 5, p + 5 + p[4]);
    p += 4 + len;
    total -= 4 + len;
  }
  return std::nullopt;
}

struct HelloInfo {
  Bytes random;
  uint16_t suite = 0;
  std::optional<Bytes> cid;
};

// ClientHello (1) or ServerHello (2) body.
std::optional<HelloInfo> parse_hello(const Handshake& h) {
  const uint8_t* p = h.body;
  size_t n = h.length;
  if (n < 35) return std::nullopt;
  HelloInfo info;
  info.random.assign(p + 2, p + 34);
  size_t at = 34;
  auto skip8 = [&]() { if (at < n) at += 1 + p[at]; else at = n + 1; };
  skip8();  // session_id
  if (h.type == 1) {
    skip8();  // cookie
    if (at + 2 > n) return std::nullopt;
    at += 2 + (p[at] << 8 | p[at + 1]);  // cipher_suites
    skip8();                             // compression_methods
  } else {
    if (at + 3 > n) return std::nullopt;
    info.suite = static_cast<uint16_t>(p[at] << 8 | p[at + 1]);
    at += 3;
  }
  if (at <= n) info.cid = cid_extension(p + at, n - at);
  return info;
}

std::optional<std::pair<Aead, const char*>> dtls12_suite(uint16_t s) {
  switch (s) {
    case 0xc02b: case 0xc02f: case 0x00a8:
      return std::pair{Aead::aes128_gcm, "SHA256"};
    case 0xc02c: case 0xc030: case 0x00a9:
      return std::pair{Aead::aes256_gcm, "SHA384"};
    case 0xcca8: case 0xcca9: case 0xccab: case 0xccac:
      return std::pair{Aead::chacha20_poly1305, "SHA256"};
    case 0xc0ac: case 0xc0a4:
      return std::pair{Aead::aes128_ccm, "SHA256"};
    case 0xc0ae: case 0xc0a8:
      return std::pair{Aead::aes128_ccm8, "SHA256"};
    default:
      return std::nullopt;
  }
}

bool tls1_prf(const char* digest, const Bytes& secret, const Bytes& seed, Bytes& out) {
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, OSSL_KDF_NAME_TLS1_PRF, nullptr);
  if (kdf == nullptr) return false;
  EVP_KDF_CTX* ctx = EVP_KDF_CTX_new(kdf);
  EVP_KDF_free(kdf);
  if (ctx == nullptr) return false;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, const_cast<char*>(digest), 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET, const_cast<uint8_t*>(secret.data()),
                                        secret.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, const_cast<uint8_t*>(seed.data()),
                                        seed.size()),
      OSSL_PARAM_construct_end()};
  const bool ok = EVP_KDF_derive(ctx, out.data(), out.size(), params) == 1;
  EVP_KDF_CTX_free(ctx);
  return ok;
}

// One direction's read state.
struct Direction {
  Bytes receiver_cid;  // the CID its records carry
  // DTLS 1.2
  std::unique_ptr<ReadEpoch> plain;
  std::unique_ptr<CidReadEpoch> cid;
  // DTLS 1.3: epoch -> keys, and the secret of the highest epoch >= 3.
  std::map<uint16_t, std::unique_ptr<Dtls13ReadEpoch>> epochs;
  Bytes traffic_secret;
  uint16_t traffic_epoch = 0;
  uint16_t current = 2;
};

class Decoder {
 public:
  Decoder(CryptoContext& ctx, const KeyLog& keys, DecodeOutput& out)
      : ctx_(ctx), keys_(keys), out_(out) {}

  void datagram(const Datagram& d) {
    const bool c2s = d.dst_port == out_.server_port;
    Bytes payload = d.payload;
    std::span<uint8_t> rest(payload);
    Direction& dir = c2s ? c2s_ : s2c_;
    while (!rest.empty()) {
      DecodedRecord r;
      r.frame = d.frame;
      r.client_to_server = c2s;
      size_t used = 0;
      if (out_.dtls13) {
        used = record13(rest, dir, c2s, r);
      } else {
        used = record12(rest, dir, c2s, r);
      }
      if (used == 0) {
        out_.messages.push_back("frame " + std::to_string(d.frame) + ": " + r.result +
                                " (" + std::to_string(rest.size()) + " bytes left unparsed)");
        return;
      }
      out_.records.push_back(std::move(r));
      rest = rest.subspan(used);
    }
  }

 private:
  void learn_plaintext(const DecodedRecord& r) {
    if (r.content_type != 22) return;
    const auto h = handshake_of(r.plaintext);
    if (!h || (h->type != 1 && h->type != 2)) return;
    const auto hello = parse_hello(*h);
    if (!hello) return;
    if (h->type == 1) {
      client_random_ = hello->random;
      // The client's own CID: in server->client records.
      if (hello->cid) s2c_.receiver_cid = *hello->cid;
    } else {
      out_.cipher_suite = hello->suite;
      server_random_ = hello->random;
      if (hello->cid) c2s_.receiver_cid = *hello->cid;  // 1.2, and wolfSSL 1.3
    }
  }

  size_t record12(std::span<uint8_t> rest, Direction& dir, bool c2s, DecodedRecord& r) {
    if (rest[0] == kTls12CidContentType) {
      CidRecordView v;
      const HeaderResult h = parse_cid_record(rest, dir.receiver_cid.size(), v);
      if (h != HeaderResult::ok) {
        r.result = std::string("tls12_cid header: ") + std::string(to_string(h));
        return 0;
      }
      r.format = RecordFormat::dtls12_cid;
      r.wire.assign(v.record.begin(), v.record.end());
      r.cid.assign(v.cid.begin(), v.cid.end());
      r.epoch = v.number.epoch().value;
      r.sequence = v.number.sequence();
      r.protected_record = true;
      if (!keys12(dir, c2s)) {
        r.result = "no keys";
        return v.record.size();
      }
      ContentType type{};
      std::span<uint8_t> pt;
      const OpenResult o = open_cid_record(ctx_, *dir.cid, v, type, pt);
      r.result = std::string(to_string(o));
      if (o == OpenResult::ok) {
        r.content_type = static_cast<uint8_t>(type);
        r.plaintext.assign(pt.begin(), pt.end());
      }
      return v.record.size();
    }
    RecordHeader header;
    const HeaderResult h = parse_record_header(rest, header);
    if (h != HeaderResult::ok) {
      r.result = std::string("record header: ") + std::string(to_string(h));
      return 0;
    }
    const size_t length = kRecordHeaderLength + header.length;
    r.format = RecordFormat::dtls12;
    r.wire.assign(rest.begin(), rest.begin() + length);
    r.epoch = header.number.epoch().value;
    r.sequence = header.number.sequence();
    r.content_type = static_cast<uint8_t>(header.type);
    if (r.epoch == 0) {
      r.result = "plaintext";
      r.plaintext.assign(rest.begin() + kRecordHeaderLength, rest.begin() + length);
      learn_plaintext(r);
      return length;
    }
    r.protected_record = true;
    if (!keys12(dir, c2s)) {
      r.result = "no keys";
      return length;
    }
    RecordView view{header, rest.first(length), rest.subspan(kRecordHeaderLength, header.length)};
    std::span<uint8_t> pt;
    const OpenResult o = open_record(ctx_, *dir.plain, view, pt);
    r.result = std::string(to_string(o));
    if (o == OpenResult::ok) r.plaintext.assign(pt.begin(), pt.end());
    return length;
  }

  bool keys12(Direction& dir, bool c2s) {
    if (dir.plain) return dir.plain->cipher().valid();
    dir.plain = std::make_unique<ReadEpoch>();
    dir.cid = std::make_unique<CidReadEpoch>();
    const auto suite = dtls12_suite(out_.cipher_suite);
    const auto master = keys_.find("CLIENT_RANDOM", client_random_);
    if (!suite || !master || server_random_.size() != 32 || client_random_.size() != 32) {
      return false;
    }
    const AeadParams& p = aead_params(suite->first);
    Bytes seed(13 + 64);
    std::memcpy(seed.data(), "key expansion", 13);
    std::memcpy(seed.data() + 13, server_random_.data(), 32);
    std::memcpy(seed.data() + 45, client_random_.data(), 32);
    Bytes block(2 * (p.key_length + p.fixed_iv_length));
    if (!tls1_prf(suite->second, *master, seed, block)) return false;
    const uint8_t* key = block.data() + (c2s ? 0 : p.key_length);
    const uint8_t* iv = block.data() + 2 * p.key_length + (c2s ? 0 : p.fixed_iv_length);
    const std::span<const uint8_t> k(key, p.key_length), i(iv, p.fixed_iv_length);
    bool ok = dir.plain->install(ctx_, Epoch{1}, suite->first, k, i);
    if (!dir.receiver_cid.empty()) {
      ok = dir.cid->install(ctx_, Epoch{1}, suite->first, k, i, dir.receiver_cid) && ok;
    }
    return ok;
  }

  size_t record13(std::span<uint8_t> rest, Direction& dir, bool c2s, DecodedRecord& r) {
    Dtls13Walker walker(rest, dir.receiver_cid.size());
    Dtls13RecordView v;
    if (!walker.next(v)) {
      r.result = std::string("DTLS 1.3 header: ") + std::string(to_string(walker.error()));
      return 0;
    }
    r.wire.assign(v.record.begin(), v.record.end());
    if (v.kind == Dtls13RecordKind::plaintext) {
      r.format = RecordFormat::dtls13_plaintext;
      r.epoch = v.plaintext.number.epoch().value;
      r.sequence = v.plaintext.number.sequence();
      r.content_type = static_cast<uint8_t>(v.plaintext.type);
      r.result = "plaintext";
      r.plaintext.assign(v.body.begin(), v.body.end());
      learn_plaintext(r);
      return v.record.size();
    }
    r.format = RecordFormat::dtls13;
    r.protected_record = true;
    r.cid.assign(v.cid.begin(), v.cid.end());
    const Epoch epoch = reconstruct_epoch(Epoch{dir.current}, v.unified.epoch_bits);
    r.epoch = epoch.value;
    Dtls13ReadEpoch* e = epoch13(dir, c2s, epoch.value);
    if (e == nullptr) {
      r.result = "no keys for epoch " + std::to_string(epoch.value);
      return v.record.size();
    }
    ContentType type{};
    RecordNumber number;
    std::span<uint8_t> pt;
    const OpenResult o = open_dtls13_record(ctx_, *e, v, type, number, pt);
    r.result = std::string(to_string(o));
    if (o == OpenResult::ok) {
      r.sequence = number.sequence();
      r.content_type = static_cast<uint8_t>(type);
      r.plaintext.assign(pt.begin(), pt.end());
      dir.current = std::max(dir.current, epoch.value);
      // The server's CID, in EncryptedExtensions (8): client->server records.
      if (!c2s && type == ContentType::handshake) {
        if (const auto h = handshake_of(pt); h && h->type == 8) {
          if (const auto cid = cid_extension(h->body, h->length)) c2s_.receiver_cid = *cid;
        }
      }
    }
    return v.record.size();
  }

  Dtls13ReadEpoch* epoch13(Direction& dir, bool c2s, uint16_t epoch) {
    auto found = dir.epochs.find(epoch);
    if (found != dir.epochs.end()) return found->second.get();
    const auto suite = dtls13_suite(out_.cipher_suite);
    if (!suite || epoch < 2) return nullptr;
    Bytes secret;
    if (epoch == 2) {
      const auto s = keys_.find(c2s ? "CLIENT_HANDSHAKE_TRAFFIC_SECRET"
                                    : "SERVER_HANDSHAKE_TRAFFIC_SECRET",
                                client_random_);
      if (!s) return nullptr;
      secret = *s;
    } else {
      if (dir.traffic_epoch == 0) {
        const auto s = keys_.find(c2s ? "CLIENT_TRAFFIC_SECRET_0" : "SERVER_TRAFFIC_SECRET_0",
                                  client_random_);
        if (!s) return nullptr;
        dir.traffic_secret = *s;
        dir.traffic_epoch = 3;
      }
      // RFC 8446 §7.2: each KeyUpdate moves to the next secret.
      if (epoch < dir.traffic_epoch || epoch - dir.traffic_epoch > 4) return nullptr;
      while (dir.traffic_epoch < epoch) {
        Bytes next(hash_length(suite->hash));
        if (!next_dtls13_traffic_secret(suite->hash, dir.traffic_secret, next)) return nullptr;
        dir.traffic_secret = next;
        ++dir.traffic_epoch;
      }
      secret = dir.traffic_secret;
    }
    auto e = std::make_unique<Dtls13ReadEpoch>();
    if (!e->install_secret(ctx_, Epoch{epoch}, *suite, secret, dir.receiver_cid)) return nullptr;
    return (dir.epochs[epoch] = std::move(e)).get();
  }

  CryptoContext& ctx_;
  const KeyLog& keys_;
  DecodeOutput& out_;
  Direction c2s_, s2c_;
  Bytes client_random_, server_random_;
};

}  // namespace

bool decode_capture(const std::string& pcap_path, const std::string& keylog_path,
                    uint16_t server_port, DecodeOutput& out, std::string& error) {
  KeyLog keys;
  if (!read_keylog(keylog_path, keys, error)) return false;
  out.dtls13 = keys.lines.count("CLIENT_TRAFFIC_SECRET_0") != 0 ||
               keys.lines.count("SERVER_HANDSHAKE_TRAFFIC_SECRET") != 0;
  if (!out.dtls13 && keys.lines.count("CLIENT_RANDOM") == 0) {
    error = keylog_path + ": no CLIENT_RANDOM or DTLS 1.3 traffic secrets";
    return false;
  }
  const auto frames = read_pcap(pcap_path, error);
  if (!frames) return false;
  auto ctx = CryptoContext::create();
  if (!ctx) {
    error = "IPsec-MB cannot run on this CPU";
    return false;
  }
  out.server_port = server_port;
  Decoder decoder(*ctx, keys, out);
  for (size_t i = 0; i < frames->size(); ++i) {
    const auto d = udp_of((*frames)[i], i + 1);
    if (!d) {
      out.messages.push_back("frame " + std::to_string(i + 1) + ": not UDP over IP, skipped");
      continue;
    }
    if (out.server_port == 0) out.server_port = d->dst_port;
    if (d->dst_port != out.server_port && d->src_port != out.server_port) {
      out.messages.push_back("frame " + std::to_string(i + 1) + ": another port, skipped");
      continue;
    }
    decoder.datagram(*d);
  }
  return true;
}

}  // namespace dtlsgw::tools
