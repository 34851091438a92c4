// Prometheus text exposition format 0.0.4: metric families with HELP and
// TYPE, samples grouped under their family, label values escaped.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace pw {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Exposition {
public:
    // Starts a family; its samples must follow before the next family.
    void family(const std::string& name, const std::string& type, const std::string& help);
    void sample(const std::string& name, const Labels& labels, double value);
    void sample(const std::string& name, const Labels& labels, uint64_t value);
    const std::string& text() const { return out_; }

    static std::string escape_label(const std::string& v);

private:
    void head(const std::string& name, const Labels& labels);
    std::string out_;
};

} // namespace pw
