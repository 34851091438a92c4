#include "app/commands/commands.hpp"
#include "app/commands/guard_flags.hpp"

#include "app/config.hpp"
#include "registry/collateral_guard.hpp"
#include "session/reader.hpp"

#include <nlohmann/json.hpp>

#include <ostream>

namespace pw {
namespace po = boost::program_options;

namespace {

// The provider space the rules in force block: inside one prefix (the
// block rules in it named as the largest), or inside a source's block
// claims (as the rules in force decide: an allow of another source
// inside one is not blocked).
class CollateralCmd : public Command {
public:
    void options(po::options_description& o) override
    {
        o.add_options()
            ("source", po::value(&source_)->default_value("")->value_name("NAME"),
             "inside this source's block claims, instead of a prefix")
            ("config", po::value(&config_)->value_name("FILE"), "read the provider lists of its [guards] collateral")
            ("json,j", po::bool_switch(&json_), "machine output");
        guards_.declare_collateral(o, false);
    }
    int run(const CommandContext& ctx, const std::vector<std::string>& pos) override
    {
        need_args(pos, source_.empty() ? 1 : 0, source_.empty() ? 1 : 0, "collateral",
                  source_.empty() ? "prefix (or --source NAME)" : "");
        GuardOptions g;
        if (!config_.empty())
            g = load_config(config_).guards;
        guards_.apply_collateral(g);
        if (!g.providers)
            throw UsageError("collateral: give the provider lists with --collateral [NAME=]FILE (or --config "
                             "FILE with collateral = in [guards])");
        Reader reader(ctx.global.paths, ctx.global.capacity);
        auto view = reader.view();
        std::array<std::vector<Range>, 2> blocked;
        std::vector<Prefix> named;
        std::string what;
        if (source_.empty()) {
            Prefix region = Prefix::parse(pos[0]);
            what = region.to_string();
            blocked[fam_index(region.family)] = blocked_ranges(view, region);
            if (auto cover = region.len ? view.covering(region) : std::nullopt; cover && stops_traffic(cover->action))
                named.push_back(region);
            view.for_each_entry(region, [&](const RuleEntry& e) {
                if (stops_traffic(e.action))
                    named.push_back(e.prefix);
                return true;
            });
        } else {
            what = "source " + source_;
            // The outermost block claims; the ranges of each, in order,
            // are disjoint from the next one's.
            std::optional<Prefix> outer;
            size_t claims = 0;
            view.for_each_claim(source_, [&](const Prefix& p, const Claim& cl) {
                claims++;
                if (!stops_traffic(cl.action))
                    return true;
                named.push_back(p);
                if (outer && outer->contains(p))
                    return true;
                outer = p;
                auto r = blocked_ranges(view, p);
                auto& into = blocked[fam_index(p.family)];
                into.insert(into.end(), r.begin(), r.end());
                return true;
            });
            if (claims == 0)
                throw Error("collateral: no claims of source '" + source_ + "' in force");
        }
        Collateral c = count_collateral(*g.providers, blocked, named);
        if (json_) {
            auto j = collateral_json(c);
            j["of"] = what;
            ctx.out << j.dump(2) << "\n";
        } else {
            ctx.out << what << ": blocked in force\n";
            print_collateral(ctx.out, c, "  ");
        }
        return 0;
    }

private:
    std::string source_, config_;
    bool json_ = false;
    GuardFlags guards_;
};

} // namespace

std::unique_ptr<Command> make_collateral() { return std::make_unique<CollateralCmd>(); }

} // namespace pw
