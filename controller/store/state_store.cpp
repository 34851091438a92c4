#include "store/state_store.hpp"

#include "base/atomic_file.hpp"
#include "base/error.hpp"

#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <ctime>
#include <cstring>
#include <fstream>
#include <sstream>

namespace pw {
namespace fs = std::filesystem;

namespace {

constexpr const char* kRulesFile = "rules.tsv";
constexpr const char* kAttachFile = "attachments.json";
constexpr const char* kPendingFile = "pending";
constexpr const char* kRulesHeader = "#prefixwall-rules v1 next_id=";

std::string escape(const std::string& s)
{
    std::string out;
    for (char c : s) {
        switch (c) {
        case '\\': out += "\\\\"; break;
        case '\t': out += "\\t"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        default: out += c;
        }
    }
    return out;
}

std::string unescape(std::string_view s)
{
    std::string out;
    for (size_t i = 0; i < s.size(); i++) {
        if (s[i] != '\\' || i + 1 == s.size()) {
            out += s[i];
            continue;
        }
        char n = s[++i];
        out += n == 't' ? '\t' : n == 'n' ? '\n' : n == 'r' ? '\r' : n;
    }
    return out;
}

std::vector<std::string_view> split_tabs(std::string_view line)
{
    std::vector<std::string_view> f;
    size_t start = 0;
    for (;;) {
        size_t tab = line.find('\t', start);
        f.push_back(line.substr(start, tab - start));
        if (tab == std::string_view::npos)
            return f;
        start = tab + 1;
    }
}

} // namespace

StateStore::StateStore(fs::path dir) : dir_(std::move(dir)) {}

void StateStore::ensure_dir() const
{
    std::error_code ec;
    fs::create_directories(dir_, ec);
    if (ec)
        throw Error("state directory " + dir_.string() + ": " + ec.message());
    ::chmod(dir_.c_str(), 0700);
}

void StateStore::write_atomic(const std::string& name, const std::string& content) const
{
    ensure_dir();
    write_file_atomic(dir_ / name, content, 0600);
}

RuleSet StateStore::load_rules() const
{
    RuleSet set;
    fs::path path = dir_ / kRulesFile;
    std::ifstream in(path);
    if (!in)
        return set;
    std::string line;
    size_t lineno = 0;
    // The file is written in prefix order with a rule's claims on
    // consecutive lines: a rule is complete when the next line starts
    // another prefix.
    auto bad = [&](const std::string& why) {
        return Error(path.string() + ":" + std::to_string(lineno) + ": " + why);
    };
    Rule pending;
    auto flush = [&] {
        if (pending.id)
            set.restore(std::move(pending));
        pending = Rule{};
    };
    while (std::getline(in, line)) {
        lineno++;
        if (lineno == 1) {
            if (line.rfind(kRulesHeader, 0) != 0)
                throw bad("not a prefixwall rules file");
            set.set_next_id(static_cast<uint32_t>(
                std::stoul(line.substr(std::strlen(kRulesHeader)))));
            continue;
        }
        auto f = split_tabs(line);
        if (f.size() != 5)
            throw bad("expected 5 tab-separated fields");
        uint32_t id = 0;
        auto [p, ec] = std::from_chars(f[0].data(), f[0].data() + f[0].size(), id);
        if (ec != std::errc() || id == 0)
            throw bad("bad rule id '" + std::string(f[0]) + "'");
        if (id != pending.id) {
            flush();
            pending.id = id;
            try {
                pending.prefix = Prefix::parse(f[1]);
            } catch (const Error& e) {
                throw bad(e.what());
            }
        }
        pending.claims.emplace(unescape(f[2]), Claim{parse_action(f[3]), unescape(f[4]), {}});
    }
    flush();
    return set;
}

void StateStore::save_rules(const RuleSet& rules) const
{
    std::string out;
    out.reserve(rules.size() * 48);
    out += kRulesHeader + std::to_string(rules.next_id()) + "\n";
    for (const auto& [prefix, r] : rules.rules()) {
        std::string head = std::to_string(r.id) + '\t' + prefix.to_string() + '\t';
        for (const auto& [source, c] : r.claims) {
            out += head;
            out += escape(source);
            out += '\t';
            out += action_name(c.action);
            out += '\t';
            out += escape(c.comment);
            out += '\n';
        }
    }
    write_atomic(kRulesFile, out);
}

std::vector<Attachment> StateStore::load_attachments() const
{
    std::vector<Attachment> out;
    fs::path path = dir_ / kAttachFile;
    std::ifstream in(path);
    if (!in)
        return out;
    try {
        auto j = nlohmann::json::parse(in);
        for (const auto& a : j.at("attachments")) {
            Attachment at;
            at.ifname = a.at("interface").get<std::string>();
            at.ifindex = a.at("ifindex").get<int>();
            at.mode = parse_mode(a.at("mode").get<std::string>());
            at.match = parse_match(a.at("match").get<std::string>());
            at.dry_run = a.at("dry_run").get<bool>();
            at.malformed_drop = a.at("malformed").get<std::string>() == "drop";
            // Attachments saved before engines existed used the trie.
            at.engine = parse_engine(a.value("engine", std::string("trie")));
            at.reject_rate = a.value("reject_rate", 1000u);
            out.push_back(at);
        }
    } catch (const nlohmann::json::exception& e) {
        throw Error(path.string() + ": " + e.what());
    }
    return out;
}

void StateStore::save_attachments(const std::vector<Attachment>& list) const
{
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& a : list)
        arr.push_back({{"interface", a.ifname},
                       {"ifindex", a.ifindex},
                       {"mode", mode_name(a.mode)},
                       {"match", match_name(a.match)},
                       {"dry_run", a.dry_run},
                       {"malformed", a.malformed_drop ? "drop" : "pass"},
                       {"engine", engine_name(a.engine)},
                       {"reject_rate", a.reject_rate}});
    write_atomic(kAttachFile, nlohmann::json{{"attachments", arr}}.dump(2) + "\n");
}

SourceMeta StateStore::load_source_meta(const std::string& source) const
{
    SourceMeta m;
    std::ifstream in(dir_ / "sources" / (source + ".json"));
    if (!in)
        return m;
    auto j = nlohmann::json::parse(in, nullptr, false);
    if (j.is_discarded() || !j.is_object())
        return m; // unreadable metadata only costs a full download
    m.locations = j.value("locations", "");
    m.settings = j.value("settings", "");
    m.etag = j.value("etag", "");
    m.last_modified = j.value("last_modified", "");
    m.entries = j.value("entries", size_t{0});
    m.last_success = j.value("last_success", int64_t{0});
    m.last_duration = j.value("last_duration", 0.0);
    m.failures = j.value("failures", uint64_t{0});
    if (auto r = j.find("refusals"); r != j.end() && r->is_object())
        for (const auto& [guard, n] : r->items())
            if (n.is_number_unsigned())
                m.refusals[guard] = n.get<uint64_t>();
    return m;
}

void StateStore::save_source_meta(const std::string& source, SourceMeta m) const
{
    std::error_code ec;
    fs::create_directories(dir_ / "sources", ec);
    ::chmod((dir_ / "sources").c_str(), 0700);
    write_atomic("sources/" + source + ".json",
                 nlohmann::json{{"locations", m.locations},
                                {"settings", m.settings},
                                {"etag", m.etag},
                                {"last_modified", m.last_modified},
                                {"entries", m.entries},
                                {"last_success", m.last_success},
                                {"last_duration", m.last_duration},
                                {"failures", m.failures},
                                {"refusals", m.refusals}}
                         .dump(2) +
                     "\n");
}

std::map<std::string, Counter> StateStore::load_retired() const
{
    std::map<std::string, Counter> out;
    std::ifstream in(dir_ / "retired.json");
    if (!in)
        return out;
    auto j = nlohmann::json::parse(in, nullptr, false);
    if (!j.is_object())
        throw Error((dir_ / "retired.json").string() + ": not a JSON object");
    for (const auto& [source, c] : j.items())
        out[source] = Counter{c.value("packets", uint64_t{0}), c.value("bytes", uint64_t{0})};
    return out;
}

void StateStore::save_retired(const std::map<std::string, Counter>& retired) const
{
    nlohmann::json j = nlohmann::json::object();
    for (const auto& [source, c] : retired)
        j[source] = {{"packets", c.packets}, {"bytes", c.bytes}};
    write_atomic("retired.json", j.dump(2) + "\n");
}

std::map<std::string, int64_t> StateStore::load_holds() const
{
    std::map<std::string, int64_t> out;
    std::ifstream in(dir_ / "holds.json");
    if (!in)
        return out;
    auto j = nlohmann::json::parse(in, nullptr, false);
    if (!j.is_object())
        throw Error((dir_ / "holds.json").string() + ": not a JSON object");
    for (const auto& [source, until] : j.items())
        if (until.is_number_integer())
            out[source] = until.get<int64_t>();
    return out;
}

void StateStore::save_holds(const std::map<std::string, int64_t>& holds) const
{
    if (holds.empty()) {
        std::error_code ec;
        fs::remove(dir_ / "holds.json", ec);
        return;
    }
    nlohmann::json j = nlohmann::json::object();
    for (const auto& [source, until] : holds)
        j[source] = until;
    write_atomic("holds.json", j.dump(2) + "\n");
}

void StateStore::save_feed_status(const std::string& source, const FeedStatus& s) const
{
    std::error_code ec;
    fs::create_directories(dir_ / "feeds", ec);
    write_atomic("feeds/" + source + ".json",
                 nlohmann::json{{"state", s.state},
                                {"peer", s.peer},
                                {"peer_as", s.peer_as},
                                {"pid", s.pid},
                                {"announced", s.announced},
                                {"withdrawn", s.withdrawn},
                                {"versions", s.versions},
                                {"routes", s.routes},
                                {"last_update", s.last_update},
                                {"latency_p50", s.latency_p50},
                                {"latency_p99", s.latency_p99},
                                {"latency_max", s.latency_max},
                                {"latency_sum", s.latency_sum},
                                {"latency_count", s.latency_count},
                                {"returned_p50", s.returned_p50},
                                {"returned_p99", s.returned_p99}}
                         .dump(2) +
                     "\n");
}

std::map<std::string, FeedStatus> StateStore::load_feed_statuses() const
{
    std::map<std::string, FeedStatus> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir_ / "feeds", ec)) {
        if (e.path().extension() != ".json")
            continue;
        std::ifstream in(e.path());
        auto j = nlohmann::json::parse(in, nullptr, false);
        if (!j.is_object())
            continue; // a torn status only costs one scrape's feed series
        FeedStatus s;
        s.state = j.value("state", "");
        s.peer = j.value("peer", "");
        s.peer_as = j.value("peer_as", uint32_t{0});
        s.pid = j.value("pid", int64_t{0});
        s.announced = j.value("announced", uint64_t{0});
        s.withdrawn = j.value("withdrawn", uint64_t{0});
        s.versions = j.value("versions", uint64_t{0});
        s.routes = j.value("routes", uint64_t{0});
        s.last_update = j.value("last_update", 0.0);
        s.latency_p50 = j.value("latency_p50", 0.0);
        s.latency_p99 = j.value("latency_p99", 0.0);
        s.latency_max = j.value("latency_max", 0.0);
        s.latency_sum = j.value("latency_sum", 0.0);
        s.latency_count = j.value("latency_count", uint64_t{0});
        s.returned_p50 = j.value("returned_p50", 0.0);
        s.returned_p99 = j.value("returned_p99", 0.0);
        out[e.path().stem().string()] = s;
    }
    return out;
}

void StateStore::forget_source_meta(const std::string& source) const
{
    // Keep the record (failures, last success), drop the validators.
    fs::path p = dir_ / "sources" / (source + ".json");
    if (!fs::exists(p))
        return;
    SourceMeta m = load_source_meta(source);
    m.etag.clear();
    m.last_modified.clear();
    m.locations.clear();
    m.settings.clear();
    save_source_meta(source, m);
}

void StateStore::record_sync_failure(const std::string& source, const std::string& guard) const
{
    SourceMeta m = load_source_meta(source);
    m.failures++;
    if (!guard.empty())
        m.refusals[guard]++;
    save_source_meta(source, m);
}

std::vector<std::string> StateStore::synced_sources() const
{
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir_ / "sources", ec))
        if (e.path().extension() == ".json")
            out.push_back(e.path().stem().string());
    std::sort(out.begin(), out.end());
    return out;
}

void StateStore::purge() const
{
    std::error_code ec;
    for (const char* f : {kRulesFile, kAttachFile, kPendingFile, "retired.json", "holds.json", "rules.mdb",
                          "rules.mdb-lock", "rules.tsv.imported"})
        fs::remove(dir_ / f, ec);
    fs::remove_all(dir_ / "sources", ec);
    fs::remove_all(dir_ / "feeds", ec);
}

} // namespace pw
