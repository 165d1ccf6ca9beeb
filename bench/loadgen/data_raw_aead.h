// t_crypto of the memif scenario (bench/memif_scenario.py): raw IPsec-MB
// AES-128-GCM per record on the data mode's sizes, through every interface
// style bench/raw_aead.h offers, the fastest one kept. Measured by the
// same binary, in the same run as the gateway, so the ratio the scenario
// reports compares like with like (STYLE.md rule 11).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dtlsgw::loadgen {

struct RawAeadResult {
  uint32_t size = 0;
  double open_ns = 0;  // per record, the fastest interface
  double seal_ns = 0;
  std::string open_interface;
  std::string seal_interface;
  // What the load generator pays per record it writes (record_gcm.h), for
  // comparison: it must stay well under open_ns for the gateway, not the
  // generator, to be what a run measures.
  double generator_ns = 0;
};

// Runs each (size, interface, operation) for about `seconds`.
std::vector<RawAeadResult> measure_raw_aead(const std::vector<uint32_t>& sizes, double seconds);

// {"raw_aead": [{"size": .., "open_ns": .., ...}, ...]}
std::string raw_aead_json(const std::vector<RawAeadResult>& results);

}  // namespace dtlsgw::loadgen
