#include "dataplane/counters.h"

namespace dtlsgw::dataplane {

namespace {
constexpr CounterInfo kCounterInfo[] = {
#define DTLSGW_COUNTER_INFO(name, description) {#name, description},
    DTLSGW_COUNTERS(DTLSGW_COUNTER_INFO)
#undef DTLSGW_COUNTER_INFO
};
static_assert(std::size(kCounterInfo) == kCounterCount);
}  // namespace

const CounterInfo& counter_info(Counter c) { return kCounterInfo[static_cast<size_t>(c)]; }

}  // namespace dtlsgw::dataplane
