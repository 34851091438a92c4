#include "kernel/capacity.hpp"

#include "base/error.hpp"

#include <string>

namespace pw {

void check_capacity(const Capacity& want)
{
    if (want.counter_slots < 2 || (want.counter_slots & (want.counter_slots - 1)))
        throw Error("--counter-slots " + std::to_string(want.counter_slots) +
                    ": must be a power of two, at least 2");
    if (want.max_rules_v4 == 0 || want.max_rules_v6 == 0)
        throw Error("--max-rules-v4/--max-rules-v6 must be at least 1");
    if (want.table_mb_v4 == 0 || want.table_mb_v6 == 0 || want.table_mb_v4 > 2048 ||
        want.table_mb_v6 > 2048)
        throw Error("--table-mb-v4/--table-mb-v6 must be between 1 and 2048");
}

} // namespace pw
