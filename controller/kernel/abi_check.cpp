// The C++ side's guard on the layout shared with the BPF program
// (include/prefixwall/abi.h): if a field moves, this stops the build.
#include "prefixwall/abi.h"

#include <cstddef>

static_assert(sizeof(pw_key_v4) == 8 && offsetof(pw_key_v4, addr) == 4);
static_assert(sizeof(pw_key_v6) == 20 && offsetof(pw_key_v6, addr) == 4);
static_assert(sizeof(pw_scope) == 24 && offsetof(pw_scope, dport_lo) == 6);
static_assert(sizeof(pw_rule_value) == 36 && offsetof(pw_rule_value, scope) == 12);
static_assert(offsetof(pw_rule_value, rule_id) == 0);
static_assert(offsetof(pw_rule_value, counter_slot) == 4);
static_assert(offsetof(pw_rule_value, action) == 8 && offsetof(pw_rule_value, prefixlen) == 9 &&
              offsetof(pw_rule_value, otherwise) == 10);
static_assert(sizeof(pw_counter) == 16);
static_assert(sizeof(pw_last_match) == 16);
static_assert(PW_GLOBAL_COUNTERS == 21);
static_assert(PW_CL_ACTION_SHIFT + 3 <= 30 && PW_CL_INDEX_MASK < (1u << PW_CL_ACTION_SHIFT)); // below PW_CL_TAIL
