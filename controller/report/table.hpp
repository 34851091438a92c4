// A plain text table for people: columns padded to their widest cell
// (list, history).
#pragma once

#include <algorithm>
#include <ostream>
#include <string>
#include <vector>

namespace pw {

// A plain text table: columns padded to their widest cell.
class Table {
public:
    explicit Table(std::vector<std::string> head) { rows_.push_back(std::move(head)); }
    void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
    void print(std::ostream& out) const
    {
        std::vector<size_t> w(rows_[0].size(), 0);
        for (const auto& r : rows_)
            for (size_t i = 0; i < r.size(); i++)
                w[i] = std::max(w[i], r[i].size());
        for (const auto& r : rows_) {
            std::string line;
            for (size_t i = 0; i < r.size(); i++) {
                line += r[i];
                if (i + 1 < r.size())
                    line += std::string(w[i] - r[i].size() + 2, ' ');
            }
            while (!line.empty() && line.back() == ' ')
                line.pop_back();
            out << line << "\n";
        }
    }

private:
    std::vector<std::vector<std::string>> rows_;
};

} // namespace pw
