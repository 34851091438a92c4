#include "base/vocabulary.hpp"

#include "base/error.hpp"

namespace pw {

namespace {

template <class E, size_t N>
const char* name_in(const std::array<Named<E>, N>& table, E value)
{
    for (const auto& n : table)
        if (n.value == value)
            return n.name;
    return "?";
}

template <class E, size_t N>
E parse_in(const std::array<Named<E>, N>& table, std::string_view text, const char* what)
{
    for (const auto& n : table)
        if (text == n.name)
            return n.value;
    throw Error(std::string("bad ") + what + " '" + std::string(text) + "': expected " + choices(table));
}

} // namespace

const char* action_name(Action a) { return name_in(kActionNames, a); }
const char* mode_name(XdpMode m) { return name_in(kModeNames, m); }
const char* match_name(Match m) { return name_in(kMatchNames, m); }
const char* engine_name(Engine e) { return name_in(kEngineNames, e); }

const char* outcome_name(unsigned o) { return o < kOutcomeNames.size() ? kOutcomeNames[o] : "?"; }
const char* family_label(unsigned f) { return f < kFamilyLabels.size() ? kFamilyLabels[f] : "?"; }

Action parse_action(std::string_view t) { return parse_in(kActionNames, t, "action"); }
XdpMode parse_mode(std::string_view t) { return parse_in(kModeNames, t, "mode"); }
Match parse_match(std::string_view t) { return parse_in(kMatchNames, t, "match"); }
Engine parse_engine(std::string_view t) { return parse_in(kEngineNames, t, "engine"); }

} // namespace pw
