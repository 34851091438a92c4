#include "registry/parser.hpp"

#include "base/error.hpp"
#include "registry/text.hpp"

#include <expat.h>
#include <nlohmann/json.hpp>

#include <charconv>
#include <cstring>

namespace pw {

const char* format_name(Format f)
{
    switch (f) {
    case Format::plain: return "plain";
    case Format::spamhaus: return "spamhaus";
    case Format::spamhaus_json: return "spamhaus-json";
    case Format::zapret: return "zapret";
    case Format::rkn_xml: return "rkn-xml";
    case Format::pfx2as: return "pfx2as";
    }
    return "?";
}

Format parse_format(std::string_view n)
{
    for (Format f : {Format::plain, Format::spamhaus, Format::spamhaus_json, Format::zapret,
                     Format::rkn_xml, Format::pfx2as})
        if (n == format_name(f))
            return f;
    throw Error("bad format '" + std::string(n) +
                "': expected auto, plain, spamhaus, spamhaus-json, zapret, rkn-xml or pfx2as");
}

Format detect_format(std::string_view head)
{
    std::string_view s = text::trim(head.substr(0, 1 << 16));
    if (s.rfind("\xEF\xBB\xBF", 0) == 0)
        s.remove_prefix(3);
    if (s.rfind("<?xml", 0) == 0 || s.rfind("<content", 0) == 0 || s.rfind("<reg:register", 0) == 0)
        return Format::rkn_xml;
    if (s.rfind("Updated:", 0) == 0)
        return Format::zapret;
    // Judge by the first line that is not a comment.
    size_t pos = 0;
    while (pos < s.size()) {
        size_t end = s.find('\n', pos);
        std::string_view line = text::trim(s.substr(pos, end == std::string_view::npos ? s.npos : end - pos));
        pos = end == std::string_view::npos ? s.size() : end + 1;
        if (line.empty() || line[0] == '#' || line[0] == ';')
            continue;
        if (line[0] == '{')
            return Format::spamhaus_json;
        if (std::count(line.begin(), line.end(), ';') >= 4)
            return Format::zapret;
        if (line.find(';') != std::string_view::npos && line.find("SBL") != std::string_view::npos)
            return Format::spamhaus;
        auto tabs = text::split_any(line, "\t");
        if (tabs.size() == 3 && line.find('/') == std::string_view::npos)
            return Format::pfx2as;
        return Format::plain;
    }
    return Format::plain;
}

namespace {

// Turns one token into an entry, or a rejection naming it.
void emit(EntrySink& sink, size_t line, std::string_view token, std::string ref,
          std::string kind = {})
{
    try {
        bool masked = false;
        Prefix p = Prefix::parse(token, &masked);
        sink.entry(Entry{p, token.find('/') != std::string_view::npos, masked, std::move(ref),
                         std::move(kind)});
    } catch (const Error& e) {
        sink.reject(Rejection{line, e.what()});
    }
}

// Base of the line-oriented formats: splits chunks into lines (LF or
// CRLF, a last line without LF included) and rejects overlong lines.
class LineParser : public Parser {
public:
    LineParser(EntrySink& sink, const ParseOptions& o) : sink_(sink), opts_(o) {}

    void feed(std::string_view chunk) override
    {
        while (!chunk.empty()) {
            size_t nl = chunk.find('\n');
            if (buf_.empty() && !overlong_ && nl != std::string_view::npos && nl <= opts_.max_line) {
                // A whole line inside the chunk: no copy.
                end_line(chunk.substr(0, nl), false);
                chunk.remove_prefix(nl + 1);
                continue;
            }
            std::string_view part = chunk.substr(0, nl);
            if (!overlong_) {
                if (buf_.size() + part.size() > opts_.max_line) {
                    overlong_ = true;
                    buf_.clear();
                } else {
                    buf_.append(part);
                }
            }
            if (nl == std::string_view::npos)
                return;
            end_line(buf_, false);
            chunk.remove_prefix(nl + 1);
        }
    }

    void finish() override
    {
        if (!buf_.empty() || overlong_)
            end_line(buf_, true);
    }

    const ParseStats& stats() const override { return stats_; }

protected:
    virtual void line(std::string_view text, size_t number, bool last_unterminated) = 0;

    EntrySink& sink_;
    ParseOptions opts_;
    ParseStats stats_;

private:
    void end_line(std::string_view t, bool unterminated)
    {
        stats_.lines++;
        if (overlong_) {
            sink_.reject(Rejection{stats_.lines, "line longer than " + std::to_string(opts_.max_line) +
                                                     " bytes"});
        } else {
            if (!t.empty() && t.back() == '\r')
                t.remove_suffix(1);
            line(t, stats_.lines, unterminated);
        }
        buf_.clear();
        overlong_ = false;
    }

    std::string buf_;
    bool overlong_ = false;
};

// One IP or CIDR per line; '#' and ';' start comments.
class PlainParser : public LineParser {
public:
    using LineParser::LineParser;

protected:
    void line(std::string_view t, size_t n, bool) override
    {
        // A plain loop: find_first_of searches the set once per character.
        size_t end = 0;
        while (end < t.size() && t[end] != '#' && t[end] != ';')
            end++;
        t = text::trim(t.substr(0, end));
        if (t.empty())
            return;
        stats_.records++;
        emit(sink_, n, t, {});
    }
};

// Spamhaus DROP text: "CIDR ; SBLnnnnnn" under ';' comments.
class SpamhausParser : public LineParser {
public:
    using LineParser::LineParser;

protected:
    void line(std::string_view t, size_t n, bool) override
    {
        t = text::trim(t);
        if (t.empty() || t[0] == ';' || t[0] == '#')
            return;
        stats_.records++;
        size_t semi = t.find(';');
        std::string_view cidr = text::trim(t.substr(0, semi));
        std::string ref = semi == std::string_view::npos ? "" : std::string(text::trim(t.substr(semi + 1)));
        emit(sink_, n, cidr, std::move(ref));
    }
};

// Spamhaus DROP JSON lines: {"cidr": ..., "sblid": ..., "rir": ...} and a
// trailing {"type": "metadata", ...}.
class SpamhausJsonParser : public LineParser {
public:
    using LineParser::LineParser;

protected:
    void line(std::string_view t, size_t n, bool) override
    {
        t = text::trim(t);
        if (t.empty())
            return;
        nlohmann::json j = nlohmann::json::parse(t, nullptr, false);
        if (j.is_discarded() || !j.is_object()) {
            sink_.reject(Rejection{n, "not a JSON object"});
            return;
        }
        // Field types are checked, never assumed: value() throws on a
        // mismatch (found by fuzzing: {"type": 5}).
        if (auto t = j.find("type"); t != j.end() && t->is_string() && *t == "metadata")
            return;
        stats_.records++;
        auto cidr = j.find("cidr");
        if (cidr == j.end() || !cidr->is_string()) {
            sink_.reject(Rejection{n, "no \"cidr\" string"});
            return;
        }
        auto sbl = j.find("sblid");
        emit(sink_, n, cidr->get<std::string>(),
             sbl != j.end() && sbl->is_string() ? sbl->get<std::string>() : "");
    }
};

// CAIDA RouteViews prefix-to-AS: addr TAB len TAB asn.
class Pfx2asParser : public LineParser {
public:
    using LineParser::LineParser;

protected:
    void line(std::string_view t, size_t n, bool) override
    {
        auto f = text::split_any(t, "\t");
        if (f.empty())
            return;
        stats_.records++;
        if (f.size() != 3) {
            sink_.reject(Rejection{n, "expected address, length and AS separated by tabs"});
            return;
        }
        emit(sink_, n, std::string(f[0]) + "/" + std::string(f[1]), "AS" + std::string(f[2]));
    }
};

// The community CSV of the Roskomnadzor register (z-i dump.csv): cp1251,
// "IPs;domain;URLs;org;decision number;decision date", IPs separated by
// " | " or "|", IPv4 and IPv6 mixed, subnets inline.
class ZapretParser : public LineParser {
public:
    using LineParser::LineParser;

protected:
    void line(std::string_view t, size_t n, bool unterminated) override
    {
        if (n == 1 && t.rfind("Updated:", 0) == 0)
            return;
        if (text::trim(t).empty())
            return;
        stats_.records++;
        auto f = text::split_csv(t, ';');
        if (f.size() < 6) {
            if (!unterminated || f.size() < 2) {
                sink_.reject(Rejection{n, "expected 6 ';'-separated fields, found " +
                                              std::to_string(f.size())});
                return;
            }
            // The file was cut inside this record; the IP field is whole.
            sink_.reject(Rejection{n, "record cut off after " + std::to_string(f.size()) +
                                          " of 6 fields (its addresses are kept)"});
        }
        std::string ref;
        if (f.size() >= 6) {
            std::string number = text::cp1251_to_utf8(text::trim(f[4]));
            std::string date(text::trim(f[5]));
            std::string org = text::cp1251_to_utf8(text::trim(f[3]));
            ref = number;
            if (!date.empty())
                ref += (ref.empty() ? "" : " ") + date;
            if (!org.empty())
                ref += " (" + org + ")";
        }
        for (std::string_view tok : text::split_any(f[0], "|"))
            emit(sink_, n, tok, ref);
    }
};

// The regulator's dump.xml (windows-1251), whole or a tail part without
// the XML declaration and root start tag. Streams through expat.
class RknXmlParser : public Parser {
public:
    RknXmlParser(EntrySink& sink, const ParseOptions& o)
        : sink_(sink), opts_(o), xml_(XML_ParserCreate(nullptr))
    {
        XML_SetUserData(xml_, this);
        XML_SetElementHandler(xml_, &RknXmlParser::on_start, &RknXmlParser::on_end);
        XML_SetCharacterDataHandler(xml_, &RknXmlParser::on_text);
        XML_SetUnknownEncodingHandler(xml_, &RknXmlParser::on_encoding, nullptr);
    }
    ~RknXmlParser() override { XML_ParserFree(xml_); }

    void feed(std::string_view chunk) override
    {
        if (!started_) {
            head_.append(chunk);
            if (head_.size() < 64)
                return;
            start();
            return;
        }
        parse(chunk, false);
    }

    void finish() override
    {
        if (!started_)
            start();
        parse({}, true);
    }

    const ParseStats& stats() const override { return stats_; }

private:
    void start()
    {
        started_ = true;
        std::string_view h = text::trim(head_);
        // A tail part starts at a <content> element: give it the declaration
        // and root element it lacks (its end tag is in the part).
        if (h.rfind("<?xml", 0) != 0 && h.rfind("<reg:register", 0) != 0)
            parse("<?xml version=\"1.0\" encoding=\"windows-1251\"?>"
                  "<reg:register xmlns:reg=\"http://rsoc.ru\">",
                  false);
        std::string head = std::move(head_);
        parse(head, false);
    }

    void parse(std::string_view data, bool last)
    {
        if (failed_)
            return;
        if (XML_Parse(xml_, data.data(), static_cast<int>(data.size()), last) == XML_STATUS_ERROR) {
            failed_ = true;
            throw Error("XML error at line " + std::to_string(XML_GetCurrentLineNumber(xml_)) +
                        ": " + XML_ErrorString(XML_GetErrorCode(xml_)));
        }
    }

    static const char* attr(const char** a, const char* name)
    {
        for (; a && *a; a += 2)
            if (std::strcmp(a[0], name) == 0)
                return a[1];
        return nullptr;
    }

    static void on_start(void* self_, const char* name, const char** attrs)
    {
        auto* self = static_cast<RknXmlParser*>(self_);
        std::string_view n = name;
        if (n == "content") {
            self->stats_.records++;
            const char* bt = attr(attrs, "blockType");
            self->block_type_ = bt ? bt : "url";
            self->stats_.block_types[self->block_type_]++;
            const char* id = attr(attrs, "id");
            self->content_id_ = id ? id : "";
            self->decision_.clear();
        } else if (n == "decision") {
            const char* num = attr(attrs, "number");
            const char* date = attr(attrs, "date");
            const char* org = attr(attrs, "org");
            self->decision_ = "content " + self->content_id_;
            if (num)
                self->decision_ += std::string(", decision ") + num;
            if (date)
                self->decision_ += std::string(" ") + date;
            if (org)
                self->decision_ += std::string(" (") + org + ")";
        } else if (n == "ip" || n == "ipSubnet" || n == "ipv6" || n == "ipv6Subnet") {
            self->element_ = n;
            self->text_.clear();
        }
    }

    static void on_text(void* self_, const char* s, int len)
    {
        auto* self = static_cast<RknXmlParser*>(self_);
        if (!self->element_.empty() && self->text_.size() < 256)
            self->text_.append(s, static_cast<size_t>(len));
    }

    static void on_end(void* self_, const char* name)
    {
        auto* self = static_cast<RknXmlParser*>(self_);
        if (self->element_.empty() || self->element_ != name)
            return;
        if (self->opts_.rkn_block_types.contains(self->block_type_))
            emit(self->sink_, XML_GetCurrentLineNumber(self->xml_), text::trim(self->text_),
                 self->decision_, self->element_);
        self->element_.clear();
    }

    static int on_encoding(void*, const XML_Char* name, XML_Encoding* info)
    {
        std::string n = name;
        for (auto& c : n)
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (n != "windows-1251" && n != "cp1251")
            return XML_STATUS_ERROR;
        for (int i = 0; i < 256; i++)
            info->map[i] = static_cast<int>(text::cp1251_code_point(static_cast<uint8_t>(i)));
        info->data = nullptr;
        info->convert = nullptr;
        info->release = nullptr;
        return XML_STATUS_OK;
    }

    EntrySink& sink_;
    ParseOptions opts_;
    ParseStats stats_;
    XML_Parser xml_;
    std::string head_;
    bool started_ = false, failed_ = false;
    std::string block_type_, content_id_, decision_, element_, text_;
};

} // namespace

std::unique_ptr<Parser> make_parser(Format f, EntrySink& sink, const ParseOptions& o)
{
    switch (f) {
    case Format::plain: return std::make_unique<PlainParser>(sink, o);
    case Format::spamhaus: return std::make_unique<SpamhausParser>(sink, o);
    case Format::spamhaus_json: return std::make_unique<SpamhausJsonParser>(sink, o);
    case Format::zapret: return std::make_unique<ZapretParser>(sink, o);
    case Format::rkn_xml: return std::make_unique<RknXmlParser>(sink, o);
    case Format::pfx2as: return std::make_unique<Pfx2asParser>(sink, o);
    }
    throw Error("unknown format");
}

} // namespace pw
