// The address lists clouds and CDNs publish, read into provider space
// (store/collateral.hpp) for the collateral guard: AWS ip-ranges.json,
// Google Cloud cloud.json (and goog.json), Azure Service Tags JSON,
// Fastly's public-ip-list JSON, and plain or netset lists (Cloudflare's
// ips-v4 and ips-v6, anyone's) named by the flag. The format is told by
// the content. Every error names the file and, where there is one, the
// line.
#pragma once

#include "store/collateral.hpp"

#include <memory>
#include <string>
#include <vector>

namespace pw {

// One --collateral value: [NAME=]FILE. NAME is the provider's name (for
// plain lists the file's stem when left out; for the JSON formats the
// format's own: aws, google-cloud, azure, fastly).
struct ProviderList {
    std::string name;
    std::string file;
};
ProviderList parse_collateral_flag(const std::string& text);

// Reads one list into `space` (without finish()); throws Error.
void read_provider_list(const ProviderList& list, ProviderSpace& space);
// Reads every list given ("[NAME=]FILE" each); nullptr when none are.
std::shared_ptr<const ProviderSpace> load_provider_space(const std::vector<std::string>& lists);

} // namespace pw
