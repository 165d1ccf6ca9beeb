// dtlsgw-loadgen's modes. main.cc picks one from the first argument and
// hands it the rest of the command line (EAL arguments, then `--`, then
// the mode's own options); each mode initialises EAL itself.
//
//   dtlsgw-loadgen data      [EAL args] -- [options]   records with static keys
//   dtlsgw-loadgen handshake [EAL args] -- [options]   full handshakes, OpenSSL clients
//   dtlsgw-loadgen flood     [EAL args] -- [options]   spoofed ClientHellos
//
// Each returns the process exit status: 0 when the run completed (a missed
// rate is not a failure), 1 when the traffic was wrong (records that do not
// verify, sessions that do not answer), 2 for a usage or set-up error.
#pragma once

namespace dtlsgw::loadgen {

int run_data_mode(int argc, char** argv);
int run_handshake_mode(int argc, char** argv);
int run_flood_mode(int argc, char** argv);

}  // namespace dtlsgw::loadgen
