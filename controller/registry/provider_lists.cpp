#include "registry/provider_lists.hpp"

#include "base/error.hpp"
#include "registry/text.hpp"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace pw {

namespace {

using nlohmann::json;

// The line of the first occurrence of `needle` in `text` (1-based; 0 when
// it is not there): JSON values carry no line of their own.
size_t line_of(const std::string& text, const std::string& needle)
{
    size_t at = text.find(needle);
    if (at == std::string::npos)
        return 0;
    return 1 + static_cast<size_t>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(at), '\n'));
}

class ListReader {
public:
    ListReader(const ProviderList& list, ProviderSpace& space, std::string text)
        : list_(list), space_(space), text_(std::move(text))
    {
    }

    void read()
    {
        size_t first = text_.find_first_not_of(" \t\r\n");
        if (first != std::string::npos && text_[first] == '{')
            read_json();
        else
            read_plain();
        if (added_ == 0)
            throw Error(list_.file + ": no prefixes in this provider list");
    }

private:
    [[noreturn]] void fail(size_t line, const std::string& why) const
    {
        throw Error(list_.file + (line ? ": line " + std::to_string(line) : std::string()) + ": " + why);
    }

    void add(const std::string& provider, const std::string& label, const json& value)
    {
        if (!value.is_string())
            fail(0, "a prefix that is not a string: " + value.dump());
        const std::string& s = value.get_ref<const std::string&>();
        try {
            space_.add(provider, label, Prefix::parse(s));
        } catch (const Error& e) {
            fail(line_of(text_, "\"" + s + "\""), e.what());
        }
        added_++;
    }

    std::string name_or(const std::string& fallback) const
    {
        return list_.name.empty() ? fallback : list_.name;
    }

    static std::string field(const json& o, const char* key)
    {
        auto it = o.find(key);
        return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
    }

    static std::string joined(const std::string& a, const std::string& b)
    {
        return a.empty() ? b : b.empty() ? a : a + " " + b;
    }

    void read_json()
    {
        json j;
        try {
            j = json::parse(text_);
        } catch (const json::parse_error& e) {
            // The byte the parser stopped at, as a line.
            size_t at = std::min<size_t>(e.byte ? e.byte - 1 : 0, text_.size());
            size_t line = 1 + static_cast<size_t>(std::count(text_.begin(), text_.begin() + static_cast<std::ptrdiff_t>(at), '\n'));
            std::string why = e.what();
            if (auto colon = why.rfind(": "); colon != std::string::npos)
                why = why.substr(colon + 2);
            fail(line, "not valid JSON: " + why);
        }
        auto array = [&](const char* key) -> const json* {
            auto it = j.find(key);
            if (it == j.end())
                return nullptr;
            if (!it->is_array())
                fail(line_of(text_, std::string("\"") + key + "\""), std::string("'") + key + "' is not an array");
            return &*it;
        };
        auto objects = [&](const json& a, const char* what) {
            for (const auto& o : a)
                if (!o.is_object())
                    fail(0, std::string("an entry of '") + what + "' that is not an object: " + o.dump());
        };
        if (const json* values = array("values")) { // Azure Service Tags
            objects(*values, "values");
            const std::string provider = name_or("azure");
            for (const auto& v : *values) {
                auto props = v.find("properties");
                if (props == v.end() || !props->is_object() || !props->contains("addressPrefixes") ||
                    !(*props)["addressPrefixes"].is_array())
                    fail(line_of(text_, "\"" + field(v, "name") + "\""),
                         "service tag '" + field(v, "name") + "' has no properties.addressPrefixes array");
                for (const auto& p : (*props)["addressPrefixes"])
                    add(provider, field(v, "name"), p);
            }
        } else if (const json* prefixes = array("prefixes")) { // AWS, Google
            objects(*prefixes, "prefixes");
            bool aws = j.contains("syncToken") && (j.contains("createDate") || j.contains("ipv6_prefixes"));
            for (const auto& p : *prefixes) {
                if (p.contains("ip_prefix") || p.contains("ipv6_prefix")) {
                    aws = true;
                    add(name_or("aws"), joined(field(p, "service"), field(p, "region")),
                        p.contains("ip_prefix") ? p["ip_prefix"] : p["ipv6_prefix"]);
                } else if (p.contains("ipv4Prefix") || p.contains("ipv6Prefix")) {
                    add(name_or("google-cloud"), field(p, "scope"),
                        p.contains("ipv4Prefix") ? p["ipv4Prefix"] : p["ipv6Prefix"]);
                } else {
                    fail(0, "an entry of 'prefixes' with no ip_prefix, ipv6_prefix, ipv4Prefix or ipv6Prefix: " +
                                p.dump());
                }
            }
            if (const json* v6 = aws ? array("ipv6_prefixes") : nullptr) {
                objects(*v6, "ipv6_prefixes");
                for (const auto& p : *v6) {
                    if (!p.contains("ipv6_prefix"))
                        fail(0, "an entry of 'ipv6_prefixes' with no ipv6_prefix: " + p.dump());
                    add(name_or("aws"), joined(field(p, "service"), field(p, "region")), p["ipv6_prefix"]);
                }
            }
        } else if (j.contains("addresses") || j.contains("ipv6_addresses")) { // Fastly
            for (const char* key : {"addresses", "ipv6_addresses"})
                if (const json* a = array(key))
                    for (const auto& p : *a)
                        add(name_or("fastly"), "", p);
        } else {
            fail(0, "not a provider list this version reads (AWS ip-ranges.json, Google Cloud cloud.json, "
                    "Azure Service Tags, Fastly public-ip-list, or a plain list of prefixes)");
        }
    }

    void read_plain()
    {
        const std::string provider =
            name_or(std::filesystem::path(list_.file).stem().string());
        std::istringstream in(text_);
        std::string raw;
        size_t line = 0;
        while (std::getline(in, raw)) {
            line++;
            std::string_view t = raw;
            if (auto hash = t.find_first_of("#;"); hash != std::string_view::npos)
                t = t.substr(0, hash);
            t = text::trim(t);
            if (t.empty())
                continue;
            try {
                space_.add(provider, "", Prefix::parse(t));
            } catch (const Error& e) {
                fail(line, e.what());
            }
            added_++;
        }
    }

    const ProviderList& list_;
    ProviderSpace& space_;
    std::string text_;
    size_t added_ = 0;
};

} // namespace

ProviderList parse_collateral_flag(const std::string& text)
{
    ProviderList l;
    size_t eq = text.find('=');
    // A name is a word; a path with '=' in a directory name stays a path.
    if (eq != std::string::npos && eq > 0 && text.find('/') > eq) {
        l.name = text.substr(0, eq);
        l.file = text.substr(eq + 1);
    } else {
        l.file = text;
    }
    if (l.file.empty())
        throw Error("bad --collateral '" + text + "': expected [NAME=]FILE");
    return l;
}

void read_provider_list(const ProviderList& list, ProviderSpace& space)
{
    std::ifstream in(list.file, std::ios::binary);
    if (!in)
        throw Error(list.file + ": cannot read provider list: " + std::strerror(errno));
    std::ostringstream buf;
    buf << in.rdbuf();
    ListReader(list, space, buf.str()).read();
}

std::shared_ptr<const ProviderSpace> load_provider_space(const std::vector<std::string>& lists)
{
    if (lists.empty())
        return nullptr;
    auto space = std::make_shared<ProviderSpace>();
    for (const auto& l : lists)
        read_provider_list(parse_collateral_flag(l), *space);
    space->finish();
    return space;
}

} // namespace pw
