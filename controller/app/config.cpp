#include "app/config.hpp"

#include "base/deadline.hpp"
#include "base/error.hpp"
#include "registry/text.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace pw {

void check_source_name(const std::string& n)
{
    bool ok = !n.empty() && n.size() <= 64 && n[0] != '.';
    for (char c : n)
        ok &= std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
    if (!ok)
        throw Error("bad source name '" + n +
                    "': use letters, digits, '.', '_' and '-' (at most 64, not starting with '.')");
}

std::set<std::string> parse_block_types(const std::string& list)
{
    std::set<std::string> out;
    for (auto t : text::split_any(list, ", ")) {
        if (t != "ip" && t != "domain" && t != "domain-mask" && t != "url")
            throw Error("bad block type '" + std::string(t) +
                        "': expected ip, domain, domain-mask or url");
        out.emplace(t);
    }
    if (out.empty())
        throw Error("empty list of block types");
    return out;
}

namespace {

template <typename T>
T number(const std::string& v, const std::string& where)
{
    T out{};
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
    if (ec != std::errc() || p != v.data() + v.size())
        throw Error(where + ": '" + v + "' is not a number");
    return out;
}

double ratio(const std::string& v, const std::string& where)
{
    char* end = nullptr;
    double d = std::strtod(v.c_str(), &end);
    if (v.empty() || *end || d < 0 || d > 1)
        throw Error(where + ": '" + v + "' is not a ratio between 0 and 1");
    return d;
}

bool boolean(const std::string& v, const std::string& where)
{
    if (v == "true" || v == "yes" || v == "1")
        return true;
    if (v == "false" || v == "no" || v == "0")
        return false;
    throw Error(where + ": '" + v + "' is not true or false");
}

// A source being read: its spec, and its scope's words (proto, port,
// sport), parsed together once every key is in.
struct SourceDraft {
    SourceSpec spec;
    std::array<std::string, 3> scope_words;
};

// Every key, by section: the file's parser, --source's options and
// config_keys() (the conffile's test) read these tables, nothing else.
struct SourceKey {
    std::string_view name;
    void (*set)(SourceDraft&, const std::string& value, const std::string& where);
};
const SourceKey kSourceKeys[] = {
    {"from", [](SourceDraft& d, const std::string& v, const std::string&) { d.spec.locations.push_back(v); }},
    {"format", [](SourceDraft& d, const std::string& v, const std::string&) {
         d.spec.format = v == "auto" ? std::nullopt : std::optional(parse_format(v));
     }},
    {"action", [](SourceDraft& d, const std::string& v, const std::string&) { d.spec.action = parse_action(v); }},
    {"interval", [](SourceDraft& d, const std::string& v, const std::string& w) {
         d.spec.interval_s = number<unsigned>(v, w);
     }},
    {"expire", [](SourceDraft& d, const std::string& v, const std::string&) {
         d.spec.expire_s = static_cast<unsigned>(parse_duration(v));
     }},
    {"rkn-block-types", [](SourceDraft& d, const std::string& v, const std::string&) {
         d.spec.rkn_block_types = parse_block_types(v);
     }},
    {"proto", [](SourceDraft& d, const std::string& v, const std::string&) { d.scope_words[0] = v; }},
    {"port", [](SourceDraft& d, const std::string& v, const std::string&) { d.scope_words[1] = v; }},
    {"sport", [](SourceDraft& d, const std::string& v, const std::string&) { d.scope_words[2] = v; }},
};

struct SectionKey {
    std::string_view section, name;
    void (*set)(Config&, const std::string& value, const std::string& where);
};
const SectionKey kSectionKeys[] = {
    {"guards", "max-removal", [](Config& c, const std::string& v, const std::string& w) {
         c.guards.max_removal = ratio(v, w);
     }},
    {"guards", "min-prefix-len-v4", [](Config& c, const std::string& v, const std::string& w) {
         c.guards.min_len_v4 = number<unsigned>(v, w);
     }},
    {"guards", "min-prefix-len-v6", [](Config& c, const std::string& v, const std::string& w) {
         c.guards.min_len_v6 = number<unsigned>(v, w);
     }},
    {"guards", "protect", [](Config& c, const std::string& v, const std::string&) {
         c.guards.protect.push_back(Prefix::parse(v));
     }},
    {"guards", "allow-private", [](Config& c, const std::string& v, const std::string& w) {
         c.guards.allow_private = boolean(v, w);
     }},
    {"guards", "collateral", [](Config& c, const std::string& v, const std::string&) {
         c.guards.collateral.push_back(v);
     }},
    {"guards", "max-collateral", [](Config& c, const std::string& v, const std::string& w) {
         c.guards.max_collateral_v4 = number<uint64_t>(v, w);
     }},
    {"guards", "max-collateral-v6", [](Config& c, const std::string& v, const std::string& w) {
         c.guards.max_collateral_v6 = number<uint64_t>(v, w);
     }},
    {"fetch", "timeout", [](Config& c, const std::string& v, const std::string& w) {
         c.fetch.timeout_s = number<long>(v, w);
     }},
    {"fetch", "connect-timeout", [](Config& c, const std::string& v, const std::string& w) {
         c.fetch.connect_timeout_s = number<long>(v, w);
     }},
    {"fetch", "stall-timeout", [](Config& c, const std::string& v, const std::string& w) {
         c.fetch.stall_timeout_s = number<long>(v, w);
     }},
    {"fetch", "max-bytes", [](Config& c, const std::string& v, const std::string& w) {
         c.fetch.max_bytes = number<uint64_t>(v, w);
     }},
    {"fetch", "max-entries", [](Config& c, const std::string& v, const std::string& w) {
         c.fetch.max_entries = number<size_t>(v, w);
     }},
    {"fetch", "ca-file", [](Config& c, const std::string& v, const std::string&) { c.fetch.ca_file = v; }},
    {"fetch", "insecure-tls", [](Config& c, const std::string& v, const std::string& w) {
         c.fetch.insecure_tls = boolean(v, w);
     }},
    {"daemon", "listen", [](Config& c, const std::string& v, const std::string&) { c.daemon.listen = v; }},
    {"daemon", "attach", [](Config& c, const std::string& v, const std::string&) { c.daemon.attach.push_back(v); }},
    {"daemon", "mode", [](Config& c, const std::string& v, const std::string&) { c.daemon.mode = parse_mode(v); }},
    {"daemon", "match", [](Config& c, const std::string& v, const std::string&) { c.daemon.match = parse_match(v); }},
    {"daemon", "engine", [](Config& c, const std::string& v, const std::string&) {
         c.daemon.engine = parse_engine(v);
     }},
    {"daemon", "interval", [](Config& c, const std::string& v, const std::string& w) {
         c.daemon.interval_s = number<unsigned>(v, w);
     }},
    {"daemon", "metrics-top-k", [](Config& c, const std::string& v, const std::string& w) {
         c.daemon.metrics_top_k = number<size_t>(v, w);
     }},
    {"daemon", "detach-on-exit", [](Config& c, const std::string& v, const std::string& w) {
         c.daemon.detach_on_exit = boolean(v, w);
     }},
};

const SourceKey* find_source_key(std::string_view name)
{
    for (const auto& k : kSourceKeys)
        if (k.name == name)
            return &k;
    return nullptr;
}

// The source's scope from its words; errors name `who`.
void finish_source(SourceDraft& d, const std::string& who)
{
    try {
        d.spec.scope = Scope::parse(d.scope_words[0], d.scope_words[1], d.scope_words[2]);
    } catch (const Error& e) {
        throw Error(who + ": " + e.what());
    }
}

} // namespace

std::vector<std::pair<std::string, std::string>> config_keys()
{
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& k : kSourceKeys)
        out.emplace_back("source", k.name);
    for (const auto& k : kSectionKeys)
        out.emplace_back(k.section, k.name);
    return out;
}

Config parse_config(const std::string& textin, const std::string& name)
{
    Config cfg;
    std::vector<SourceDraft> drafts;
    std::istringstream in(textin);
    std::string line, section;
    size_t n = 0;
    while (std::getline(in, line)) {
        n++;
        std::string where = name + ":" + std::to_string(n);
        std::string_view t = text::trim(line);
        if (t.empty() || t[0] == '#' || t[0] == ';')
            continue;
        if (t.front() == '[') {
            if (t.back() != ']')
                throw Error(where + ": unclosed section header");
            std::string_view inner = text::trim(t.substr(1, t.size() - 2));
            if (inner.rfind("source ", 0) == 0) {
                std::string sname(text::trim(inner.substr(7)));
                try {
                    check_source_name(sname);
                } catch (const Error& e) {
                    throw Error(where + ": " + e.what());
                }
                for (const auto& d : drafts)
                    if (d.spec.name == sname)
                        // NOLINTNEXTLINE(performance-inefficient-string-concatenation): an error path
                        throw Error(where + ": source '" + sname + "' defined twice");
                drafts.emplace_back().spec.name = sname;
                section = "source";
            } else if (std::any_of(std::begin(kSectionKeys), std::end(kSectionKeys),
                                   [&](const SectionKey& k) { return k.section == inner; })) {
                section = inner;
            } else {
                throw Error(where + ": unknown section [" + std::string(inner) + "]");
            }
            continue;
        }
        size_t eq = t.find('=');
        if (eq == std::string_view::npos)
            throw Error(where + ": expected 'key = value'");
        std::string_view raw = t.substr(eq + 1);
        // A comment after a value needs white space before its '#'.
        for (size_t i = 1; i < raw.size(); i++)
            if (raw[i] == '#' && (raw[i - 1] == ' ' || raw[i - 1] == '\t')) {
                raw = raw.substr(0, i);
                break;
            }
        std::string key(text::trim(t.substr(0, eq))), value(text::trim(raw));
        where += " (" + key + ")";
        try {
            if (section.empty())
                throw Error("key outside any section");
            if (section == "source") {
                const SourceKey* k = find_source_key(key);
                if (!k)
                    throw Error("unknown key in [source]");
                k->set(drafts.back(), value, where);
            } else {
                auto k = std::find_if(std::begin(kSectionKeys), std::end(kSectionKeys),
                                      [&](const SectionKey& x) { return x.section == section && x.name == key; });
                if (k == std::end(kSectionKeys))
                    throw Error("unknown key in [" + section + "]");
                k->set(cfg, value, where);
            }
        } catch (const Error& e) {
            std::string msg = e.what();
            if (msg.rfind(where, 0) != 0)
                msg.insert(0, where + ": ");
            throw Error(msg);
        }
    }
    for (auto& d : drafts) {
        if (d.spec.locations.empty())
            throw Error(name + ": source '" + d.spec.name + "' has no 'from'");
        finish_source(d, name + ": source '" + d.spec.name + "'");
        cfg.sources.push_back(std::move(d.spec));
    }
    return cfg;
}

SourceSpec parse_source_flag(const std::string& text)
{
    size_t eq = text.find('=');
    if (eq == std::string::npos || eq == 0)
        throw Error("bad --source '" + text + "': expected NAME=LOCATION[,format=F][,action=A][,interval=S][,expire=D][,proto=P][,port=N+M][,sport=N]");
    SourceDraft d;
    SourceSpec& s = d.spec;
    s.name = text.substr(0, eq);
    check_source_name(s.name);
    std::string rest = text.substr(eq + 1);
    // Options follow the location after commas; a location may itself
    // contain commas, so only known ",key=" suffixes are options.
    for (;;) {
        size_t comma = rest.rfind(',');
        if (comma == std::string::npos)
            break;
        std::string opt = rest.substr(comma + 1);
        size_t oeq = opt.find('=');
        std::string k = opt.substr(0, oeq), v = oeq == std::string::npos ? "" : opt.substr(oeq + 1);
        const SourceKey* key = k == "from" ? nullptr : find_source_key(k); // the location is not an option
        if (!key)
            break;
        key->set(d, v, "--source " + s.name + " (" + k + ")");
        rest = rest.substr(0, comma);
    }
    // Several ports are joined by '+' here (commas separate options): 443+8443.
    std::replace(d.scope_words[1].begin(), d.scope_words[1].end(), '+', ',');
    finish_source(d, "--source " + s.name);
    if (rest.empty())
        throw Error("bad --source '" + text + "': no location");
    s.locations.push_back(rest);
    return std::move(d.spec);
}

Config load_config(const std::filesystem::path& file)
{
    // The configuration decides what is blocked: one that others may
    // change is refused, as sshd refuses a writable authorized_keys.
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0)
        throw sys_error("cannot read config " + file.string(), errno);
    if (st.st_mode & (S_IWGRP | S_IWOTH)) {
        char mode[8];
        std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
        throw Error("config " + file.string() + " is writable by group or others (mode " + mode +
                    "): it decides what is blocked; chmod go-w " + file.string());
    }
    std::ifstream in(file);
    if (!in)
        throw sys_error("cannot read config " + file.string(), errno);
    std::stringstream ss;
    ss << in.rdbuf();
    return parse_config(ss.str(), file.string());
}

} // namespace pw
