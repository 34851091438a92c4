// The words the controller and the data plane share: rule actions, XDP
// modes, which addresses are judged, lookup engines, packet outcomes and
// counter families. Each enum has its names (for the CLI, the state, the
// reports and the metrics) and its parser here, and the values the BPF
// program sees are tied to include/prefixwall/abi.h by static_asserts, so
// the two sides cannot drift apart.
#pragma once

#include "prefixwall/abi.h"

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace pw {

// What a rule does (values as PW_ACTION_*; 0 is never stored).
enum class Action : uint8_t {
    block = PW_ACTION_BLOCK,
    allow = PW_ACTION_ALLOW,
    monitor = PW_ACTION_MONITOR,
    reject = PW_ACTION_REJECT,
};
// Every action, in the order reports list them.
inline constexpr std::array<Action, 4> kActions{Action::block, Action::reject, Action::allow, Action::monitor};
// Whether the action stops the packets it matches (block drops them, reject
// answers and drops them): what the guards and the impact report count.
constexpr bool stops_traffic(Action a) { return a == Action::block || a == Action::reject; }
// An action's slot in per-action count arrays of 4 (the rule store keeps
// them in this order: reject, which came last, took the unused slot 0).
constexpr size_t action_slot(Action a) { return static_cast<uint8_t>(a) & 3; }
// How a program is attached.
enum class XdpMode : uint8_t { native, generic };
// Which addresses of a packet are judged (values as PW_MATCH_*).
enum class Match : uint8_t { src = PW_MATCH_SRC, dst = PW_MATCH_DST, both = PW_MATCH_BOTH };
// The lookup engine of a program instance (values as PW_ENGINE_*).
enum class Engine : uint8_t { trie = PW_ENGINE_TRIE, compiled = PW_ENGINE_COMPILED };

static_assert(static_cast<int>(Action::block) == PW_ACTION_BLOCK &&
              static_cast<int>(Action::allow) == PW_ACTION_ALLOW &&
              static_cast<int>(Action::monitor) == PW_ACTION_MONITOR &&
              static_cast<int>(Action::reject) == PW_ACTION_REJECT);
static_assert(static_cast<int>(Match::src) == PW_MATCH_SRC &&
              static_cast<int>(Match::dst) == PW_MATCH_DST &&
              static_cast<int>(Match::both) == PW_MATCH_BOTH);
static_assert(static_cast<int>(Engine::trie) == PW_ENGINE_TRIE &&
              static_cast<int>(Engine::compiled) == PW_ENGINE_COMPILED);

// A value and the word that names it, for the tables below.
template <class E>
struct Named {
    E value;
    const char* name;
};

inline constexpr std::array<Named<Action>, 4> kActionNames{
    {{Action::block, "block"}, {Action::reject, "reject"}, {Action::allow, "allow"}, {Action::monitor, "monitor"}}};
inline constexpr std::array<Named<XdpMode>, 2> kModeNames{
    {{XdpMode::native, "native"}, {XdpMode::generic, "generic"}}};
inline constexpr std::array<Named<Match>, 3> kMatchNames{
    {{Match::src, "src"}, {Match::dst, "dst"}, {Match::both, "both"}}};
inline constexpr std::array<Named<Engine>, 2> kEngineNames{
    {{Engine::compiled, "compiled"}, {Engine::trie, "trie"}}};

// Outcomes and counter families of the global counters: indices into
// PW_OUTCOME_* / PW_FAMILY_*, named as the reports and metrics show them.
inline constexpr std::array<const char*, PW_OUTCOME_MAX> kOutcomeNames{
    "dropped", "allowed", "monitored", "passed", "malformed", "non_ip", "rejected"};
inline constexpr std::array<const char*, PW_FAMILY_MAX> kFamilyLabels{"ipv4", "ipv6", "other"};
static_assert(PW_OUTCOME_DROPPED == 0 && PW_OUTCOME_ALLOWED == 1 && PW_OUTCOME_MONITORED == 2 &&
              PW_OUTCOME_PASSED == 3 && PW_OUTCOME_MALFORMED == 4 && PW_OUTCOME_NON_IP == 5 &&
              PW_OUTCOME_REJECTED == 6 && PW_OUTCOME_MAX == 7);
static_assert(PW_FAMILY_IPV4 == 0 && PW_FAMILY_IPV6 == 1 && PW_FAMILY_OTHER == 2 && PW_FAMILY_MAX == 3);

const char* action_name(Action a);
const char* mode_name(XdpMode m);
const char* match_name(Match m);
const char* engine_name(Engine e);
const char* outcome_name(unsigned outcome); // "?" out of range
const char* family_label(unsigned family);  // ipv4, ipv6, other

// Parsers: throw Error "bad WHAT 'text': expected a, b or c".
Action parse_action(std::string_view text);
XdpMode parse_mode(std::string_view text);
Match parse_match(std::string_view text);
Engine parse_engine(std::string_view text);

// "a, b or c": the choices of a table, for errors and help.
template <class E, size_t N>
std::string choices(const std::array<Named<E>, N>& table)
{
    std::string s;
    for (size_t i = 0; i < N; i++)
        s += std::string(i == 0 ? "" : i + 1 == N ? " or " : ", ") + table[i].name;
    return s;
}

} // namespace pw
