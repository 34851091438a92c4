#include "report/exposition.hpp"

#include <cmath>
#include <cstdio>

namespace pw {

std::string Exposition::escape_label(const std::string& v)
{
    std::string out;
    for (char c : v) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '"')
            out += "\\\"";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

void Exposition::family(const std::string& name, const std::string& type, const std::string& help)
{
    std::string h;
    for (char c : help) // HELP escapes backslash and newline only
        h += c == '\\' ? "\\\\" : c == '\n' ? "\\n" : std::string(1, c);
    out_ += "# HELP " + name + " " + h + "\n# TYPE " + name + " " + type + "\n";
}

void Exposition::head(const std::string& name, const Labels& labels)
{
    out_ += name;
    if (!labels.empty()) {
        out_ += '{';
        for (size_t i = 0; i < labels.size(); i++) {
            if (i)
                out_ += ',';
            out_ += labels[i].first + "=\"" + escape_label(labels[i].second) + '"';
        }
        out_ += '}';
    }
    out_ += ' ';
}

void Exposition::sample(const std::string& name, const Labels& labels, uint64_t value)
{
    head(name, labels);
    out_ += std::to_string(value) + "\n";
}

void Exposition::sample(const std::string& name, const Labels& labels, double value)
{
    head(name, labels);
    if (std::isnan(value)) {
        out_ += "NaN\n";
        return;
    }
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%.17g", value);
    out_ += buf;
    out_ += "\n";
}

} // namespace pw
