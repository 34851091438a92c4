#include "app/commands/commands.hpp"

#include "base/atomic_file.hpp"
#include "report/load.hpp"
#include "report/metrics.hpp"
#include "report/render.hpp"
#include "report/top.hpp"
#include "session/reader.hpp"

#include <algorithm>
#include <ostream>
#include <thread>

namespace pw {
namespace po = boost::program_options;

namespace {

class Stats : public Command {
public:
    void options(po::options_description& o) override
    {
        o.add_options()
            ("top", po::value(&top_)->value_name("N"), "only the N busiest rules")
            ("sort", po::value(&sort_)->default_value("packets")->value_name("packets|bytes|pps|bps"),
             "rank by totals, or by rates over --interval")
            ("interval", po::value(&interval_)->value_name("S"), "read twice, S seconds apart, and show rates")
            ("source", po::value(&source_)->value_name("NAME"), "only this source's rules and totals")
            ("json,j", po::bool_switch(&json_), "machine output");
    }
    int run(const CommandContext& ctx, const std::vector<std::string>& pos) override
    {
        need_args(pos, 0, 0, "stats", "");
        SortKey key = parse_sort_key(sort_);
        if (interval_ < 0 || interval_ > 3600)
            throw UsageError("stats: --interval must be between 0 and 3600 seconds");
        if ((key == SortKey::pps || key == SortKey::bps) && interval_ <= 0)
            throw UsageError("stats: --sort " + sort_ + " needs --interval");
        Reader reader(ctx.global.paths, ctx.global.capacity);
        LoadSnapshot before = read_load(reader.dataplane());
        LoadSnapshot now = before;
        bool rates = interval_ > 0;
        if (rates) {
            std::this_thread::sleep_for(std::chrono::duration<double>(interval_));
            rates = !reader.refresh(); // maps recreated meanwhile: no rates
            now = read_load(reader.dataplane());
        }
        StatsView v;
        v.now = &now;
        v.before = rates ? &before : nullptr;
        auto rules = reader.view();
        v.rules = rank_rules(rules, now, v.before, key, top_, source_);
        v.sources = source_loads(rules, now, reader.store().load_retired());
        if (!source_.empty())
            std::erase_if(v.sources, [&](const SourceLoad& s) { return s.source != source_; });
        print_stats(ctx.out, v, json_);
        return 0;
    }

private:
    size_t top_ = 0;
    std::string sort_, source_;
    double interval_ = 0;
    bool json_ = false;
};

class Top : public Command {
public:
    void options(po::options_description& o) override
    {
        o.add_options()
            ("interval", po::value(&interval_)->default_value(1)->value_name("S"), "refresh every S seconds")
            ("sort", po::value(&sort_)->default_value("pps")->value_name("pps|bps|packets|bytes"), "rank by");
    }
    int run(const CommandContext& ctx, const std::vector<std::string>& pos) override
    {
        need_args(pos, 0, 0, "top", "");
        if (interval_ < 0.1 || interval_ > 60)
            throw UsageError("top: --interval must be between 0.1 and 60 seconds");
        return run_top(ctx.global.paths, ctx.global.capacity, interval_, parse_sort_key(sort_));
    }

private:
    double interval_ = 1;
    std::string sort_;
};

class Metrics : public Command {
public:
    void options(po::options_description& o) override
    {
        o.add_options()
            ("output", po::value(&output_)->value_name("FILE"),
             "write the exposition to FILE atomically (node_exporter's textfile collector)")
            ("metrics-top-k", po::value(&top_k_)->default_value(50)->value_name("K"),
             "prefixes with their own series");
    }
    int run(const CommandContext& ctx, const std::vector<std::string>& pos) override
    {
        need_args(pos, 0, 0, "metrics", "");
        Reader reader(ctx.global.paths, ctx.global.capacity);
        LoadSnapshot now = read_load(reader.dataplane());
        auto rules = reader.view();
        std::string text = render_metrics(
            metrics_input(rules, reader.store(), &reader.dataplane(), now, nullptr, top_k_));
        if (output_.empty())
            ctx.out << text;
        else
            write_file_atomic(output_, text);
        return 0;
    }

private:
    std::string output_;
    size_t top_k_ = 50;
};

} // namespace

std::unique_ptr<Command> make_stats() { return std::make_unique<Stats>(); }
std::unique_ptr<Command> make_top() { return std::make_unique<Top>(); }
std::unique_ptr<Command> make_metrics() { return std::make_unique<Metrics>(); }

} // namespace pw
