-- dtlsgw: one timed pktgen run over the pcap loaded on port 0, printing
-- what the gateway did with it (bench/pktgen/README.md). Load with
--   pktgen ... -- -P -m "[1:2].0, [3:4].1" -s 0:<pcap> -f bench/pktgen/run_profile.lua
-- and read the gateway's own counters beside it (scripts/dtlsgwctl stats).
--
--   flood (clienthello_flood.pcap): port 0 tx = ClientHellos sent, port 0
--     rx = HelloVerifyRequests received (ratio: answered share).
--   data (static_keys_data_<N>.pcap, BENCHMARK BUILD ONLY, relaxed replay):
--     port 0 tx = records sent, port 1 rx = plaintext datagrams received.
package.path = package.path .. ";?.lua;test/?.lua;app/?.lua;"
require "Pktgen"

local rate = 100          -- percent of the link; lower it to find the knee
local seconds = 10
local burst = 32

-- pktgen.portStats' shape changed across releases: older ones return the
-- counters at the top level, newer ones under `curr`.
local function counters(port)
  local all = pktgen.portStats(tostring(port), "port")
  local s = all[port]
  if s.curr ~= nil then
    s = s.curr
  end
  return s.opackets, s.ipackets
end

pktgen.stop("all")
pktgen.clr()
pktgen.pcap("0", "on")
pktgen.set("0", "burst", burst)
pktgen.set("0", "count", 0)
pktgen.set("0", "rate", rate)
pktgen.delay(1000)

local tx0_start, rx0_start = counters(0)
local ok1, tx1_start, rx1_start = pcall(counters, 1)
pktgen.start("0")
pktgen.delay(seconds * 1000)
pktgen.stop("0")
pktgen.delay(1000) -- let the last answers arrive

local tx0, rx0 = counters(0)
local sent = tx0 - tx0_start
printf("dtlsgw profile: %d s at rate %d%%\n", seconds, rate)
printf("  port 0 tx: %d packets (%.3f Mpps)\n", sent, sent / seconds / 1e6)
printf("  port 0 rx: %d packets (HelloVerifyRequests in the flood)\n", rx0 - rx0_start)
if ok1 then
  local _, rx1 = counters(1)
  printf("  port 1 rx: %d packets (plaintext to the backend in the data run)\n",
         rx1 - rx1_start)
end
