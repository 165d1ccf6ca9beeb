// The handshake_engine_fuzz seeds, for make_corpus: real OpenSSL PSK client
// flights recorded against the harness's own server (handshake_fuzz.h).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace dtlsgw::handshake::fuzz {

// Seed name -> input. Deterministic; exits the program with a message if a
// recorded handshake does not complete as expected.
void handshake_engine_seeds(std::map<std::string, std::vector<uint8_t>>& out);

}  // namespace dtlsgw::handshake::fuzz
