#include "app/config.hpp"

#include "base/deadline.hpp"
#include "base/error.hpp"
#include "registry/text.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <map>
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

} // namespace

Config parse_config(const std::string& textin, const std::string& name)
{
    Config cfg;
    std::map<size_t, std::array<std::string, 3>> scope_words; // by source: proto, port, sport
    std::istringstream in(textin);
    std::string line, section;
    SourceSpec* src = nullptr;
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
            src = nullptr;
            if (inner.rfind("source ", 0) == 0) {
                std::string sname(text::trim(inner.substr(7)));
                try {
                    check_source_name(sname);
                } catch (const Error& e) {
                    throw Error(where + ": " + e.what());
                }
                for (const auto& s : cfg.sources)
                    if (s.name == sname)
                        // NOLINTNEXTLINE(performance-inefficient-string-concatenation): an error path
                        throw Error(where + ": source '" + sname + "' defined twice");
                cfg.sources.push_back(SourceSpec{});
                src = &cfg.sources.back();
                src->name = sname;
                section = "source";
            } else if (inner == "guards" || inner == "fetch" || inner == "daemon") {
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
            if (section == "source") {
                if (key == "from") src->locations.push_back(value);
                else if (key == "format") src->format = value == "auto" ? std::nullopt : std::optional(parse_format(value));
                else if (key == "action") src->action = parse_action(value);
                else if (key == "interval") src->interval_s = number<unsigned>(value, where);
                else if (key == "expire") src->expire_s = static_cast<unsigned>(parse_duration(value));
                else if (key == "rkn-block-types") src->rkn_block_types = parse_block_types(value);
                else if (key == "proto" || key == "port" || key == "sport")
                    scope_words[cfg.sources.size() - 1][key == "proto" ? 0 : key == "port" ? 1 : 2] = value;
                else throw Error("unknown key in [source]");
            } else if (section == "guards") {
                if (key == "max-removal") cfg.guards.max_removal = ratio(value, where);
                else if (key == "min-prefix-len-v4") cfg.guards.min_len_v4 = number<unsigned>(value, where);
                else if (key == "min-prefix-len-v6") cfg.guards.min_len_v6 = number<unsigned>(value, where);
                else if (key == "protect") cfg.guards.protect.push_back(Prefix::parse(value));
                else if (key == "allow-private") cfg.guards.allow_private = boolean(value, where);
                else if (key == "collateral") cfg.guards.collateral.push_back(value);
                else if (key == "max-collateral") cfg.guards.max_collateral_v4 = number<uint64_t>(value, where);
                else if (key == "max-collateral-v6") cfg.guards.max_collateral_v6 = number<uint64_t>(value, where);
                else throw Error("unknown key in [guards]");
            } else if (section == "fetch") {
                if (key == "timeout") cfg.fetch.timeout_s = number<long>(value, where);
                else if (key == "connect-timeout") cfg.fetch.connect_timeout_s = number<long>(value, where);
                else if (key == "stall-timeout") cfg.fetch.stall_timeout_s = number<long>(value, where);
                else if (key == "max-bytes") cfg.fetch.max_bytes = number<uint64_t>(value, where);
                else if (key == "max-entries") cfg.fetch.max_entries = number<size_t>(value, where);
                else if (key == "ca-file") cfg.fetch.ca_file = value;
                else if (key == "insecure-tls") cfg.fetch.insecure_tls = boolean(value, where);
                else throw Error("unknown key in [fetch]");
            } else if (section == "daemon") {
                DaemonSettings& d = cfg.daemon;
                if (key == "listen") d.listen = value;
                else if (key == "attach") d.attach.push_back(value);
                else if (key == "mode") d.mode = parse_mode(value);
                else if (key == "match") d.match = parse_match(value);
                else if (key == "engine") d.engine = parse_engine(value);
                else if (key == "interval") d.interval_s = number<unsigned>(value, where);
                else if (key == "metrics-top-k") d.metrics_top_k = number<size_t>(value, where);
                else if (key == "detach-on-exit") d.detach_on_exit = boolean(value, where);
                else throw Error("unknown key in [daemon]");
            } else {
                throw Error("key outside any section");
            }
        } catch (const Error& e) {
            std::string msg = e.what();
            if (msg.rfind(where, 0) != 0)
                msg.insert(0, where + ": ");
            throw Error(msg);
        }
    }
    for (size_t i = 0; i < cfg.sources.size(); i++) {
        SourceSpec& s = cfg.sources[i];
        if (s.locations.empty())
            throw Error(name + ": source '" + s.name + "' has no 'from'");
        if (auto it = scope_words.find(i); it != scope_words.end()) {
            try {
                s.scope = Scope::parse(it->second[0], it->second[1], it->second[2]);
            } catch (const Error& e) {
                throw Error(name + ": source '" + s.name + "': " + e.what());
            }
        }
    }
    return cfg;
}

SourceSpec parse_source_flag(const std::string& text)
{
    size_t eq = text.find('=');
    if (eq == std::string::npos || eq == 0)
        throw Error("bad --source '" + text + "': expected NAME=LOCATION[,format=F][,action=A][,interval=S][,expire=D][,proto=P][,port=N+M][,sport=N]");
    SourceSpec s;
    std::array<std::string, 3> words; // proto, port, sport
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
        std::string where = "--source " + s.name + " (" + k + ")";
        if (k == "format") s.format = v == "auto" ? std::nullopt : std::optional(parse_format(v));
        else if (k == "action") s.action = parse_action(v);
        else if (k == "interval") s.interval_s = number<unsigned>(v, where);
        else if (k == "expire") s.expire_s = static_cast<unsigned>(parse_duration(v));
        else if (k == "rkn-block-types") s.rkn_block_types = parse_block_types(v);
        else if (k == "proto") words[0] = v;
        else if (k == "port") words[1] = v; // several joined by '+': 443+8443
        else if (k == "sport") words[2] = v;
        else break;
        rest = rest.substr(0, comma);
    }
    std::replace(words[1].begin(), words[1].end(), '+', ',');
    try {
        s.scope = Scope::parse(words[0], words[1], words[2]);
    } catch (const Error& e) {
        throw Error("--source " + s.name + ": " + e.what());
    }
    if (rest.empty())
        throw Error("bad --source '" + text + "': no location");
    s.locations.push_back(rest);
    return s;
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
