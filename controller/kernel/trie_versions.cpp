#include "kernel/trie_versions.hpp"

#include "base/error.hpp"
#include "kernel/map_io.hpp"
#include "kernel/pin_layout.hpp"

#include <bpf/bpf.h>

#include <cstring>
#include <map>

namespace pw {
namespace fs = std::filesystem;

namespace {

std::vector<uint8_t> key_bytes(const Prefix& p)
{
    std::vector<uint8_t> k(4 + addr_bytes(p.family));
    uint32_t len = p.len;
    std::memcpy(k.data(), &len, 4);
    std::memcpy(k.data() + 4, p.bytes.data(), addr_bytes(p.family));
    return k;
}

Error full_error(Family f, uint32_t limit)
{
    return Error(std::string("rules_") + family_tag(f) + " is full: limit " +
                 std::to_string(limit) + " rules (--max-rules-" + family_tag(f) +
                 " when the maps are created)");
}

} // namespace

TrieVersions TrieVersions::open(const fs::path& pin_dir, const Capacity& want)
{
    TrieVersions t;
    for (Family f : {Family::v4, Family::v6}) {
        int fi = fam_index(f);
        t.outer_[fi] = open_pinned(map_path(pin_dir, trie_outer(f)));
        for (int copy : {0, 1}) {
            fs::path p = map_path(pin_dir, trie_copy(f, copy));
            UniqueFd fd = try_open_pinned(p);
            if (!fd) {
                // Created here, not by libbpf: an outer map only knows a template.
                LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_NO_PREALLOC);
                uint32_t entries = f == Family::v4 ? want.max_rules_v4 : want.max_rules_v6;
                if (copy == 1)
                    entries = map_max_entries(t.copies_[fi][0].get());
                fd = create_pinned(p, BPF_MAP_TYPE_LPM_TRIE, map_name(trie_copy(f, copy)),
                                   4 + addr_bytes(f), sizeof(pw_rule_value), entries, &o);
            }
            t.copies_[fi][copy] = std::move(fd);
        }
        t.limits_[fi] = map_max_entries(t.copies_[fi][0].get());
        uint32_t zero = 0, inner_id = 0;
        if (bpf_map_lookup_elem(t.outer_[fi].get(), &zero, &inner_id) != 0)
            t.swap_to(f, 0);
    }
    return t;
}

int TrieVersions::active_copy(Family f) const
{
    return active_of(outer_[fam_index(f)].get(), copies_[fam_index(f)],
                     map_name(trie_outer(f)));
}

void TrieVersions::swap_to(Family f, int copy) const
{
    point_outer(outer_[fam_index(f)].get(), fd(f, copy), map_name(trie_outer(f)));
}

namespace {

// A rule's value in a trie (its counter slot 0: the data plane takes one).
pw_rule_value value_of(const EntryWrite& w)
{
    pw_rule_value v{};
    v.rule_id = w.rule_id;
    v.action = w.action;
    v.prefixlen = w.prefix.len;
    if (w.scoped.scoped()) {
        v.action = static_cast<uint8_t>(w.scoped.action);
        v.scope = w.scoped.scope.to_abi();
        v.otherwise = w.scoped.otherwise ? static_cast<uint8_t>(*w.scoped.otherwise) : 0;
    }
    return v;
}

} // namespace

void TrieVersions::write_copy(Family f, int copy, const std::vector<EntryWrite>& writes) const
{
    int map = fd(f, copy);
    size_t ks = 4 + addr_bytes(f);
    std::vector<uint8_t> del_keys, ins_keys;
    std::vector<pw_rule_value> ins_vals;
    for (const EntryWrite& w : writes) {
        if (w.prefix.family != f)
            continue;
        auto key = key_bytes(w.prefix);
        if (w.action == 0) {
            del_keys.insert(del_keys.end(), key.begin(), key.end());
            continue;
        }
        pw_rule_value v = value_of(w);
        if (w.prev_rule_id == 0) {
            ins_keys.insert(ins_keys.end(), key.begin(), key.end());
            ins_vals.push_back(v);
            continue;
        }
        // A rule that stays (its action changes): keep its counter slot.
        pw_rule_value old{};
        if (bpf_map_lookup_elem(map, key.data(), &old) == 0 && old.rule_id == w.rule_id)
            v.counter_slot = old.counter_slot;
        if (bpf_map_update_elem(map, key.data(), &v, BPF_ANY) != 0) {
            if (errno == ENOSPC || errno == E2BIG)
                throw full_error(f, limit(f));
            throw sys_error("cannot write rule " + w.prefix.to_string(), errno);
        }
    }
    // Deletions first (they free room), in batches; a key that is already
    // gone (undo of a partial write) is skipped.
    for (size_t done = 0, n = del_keys.size() / ks; done < n;) {
        uint32_t count = static_cast<uint32_t>(n - done);
        int err = bpf_map_delete_batch(map, del_keys.data() + done * ks, &count, nullptr);
        done += count;
        if (err != 0) {
            if (errno != ENOENT)
                throw sys_error(std::string("cannot delete rules from ") + map_name(trie_copy(f, copy)), errno);
            done++; // skip the missing key
        }
    }
    for (size_t done = 0, n = ins_vals.size(); done < n;) {
        uint32_t count = static_cast<uint32_t>(n - done);
        int err = bpf_map_update_batch(map, ins_keys.data() + done * ks, ins_vals.data() + done,
                                       &count, nullptr);
        done += count;
        if (err != 0) {
            if (errno == ENOSPC || errno == E2BIG)
                throw full_error(f, limit(f));
            throw sys_error(std::string("cannot write rules to ") + map_name(trie_copy(f, copy)), errno);
        }
    }
}

std::vector<std::pair<Prefix, pw_rule_value>> TrieVersions::entries(Family f, int copy) const
{
    if (copy < 0)
        copy = active_copy(f);
    int map = fd(f, copy);
    std::vector<std::pair<Prefix, pw_rule_value>> out;
    size_t ks = 4 + addr_bytes(f);
    std::vector<uint8_t> key(ks), next(ks);
    void* prev = nullptr;
    while (bpf_map_get_next_key(map, prev, next.data()) == 0) {
        Prefix p;
        p.family = f;
        uint32_t len;
        std::memcpy(&len, next.data(), 4);
        p.len = static_cast<uint8_t>(len);
        std::memcpy(p.bytes.data(), next.data() + 4, addr_bytes(f));
        pw_rule_value v{};
        bpf_map_lookup_elem(map, next.data(), &v);
        out.emplace_back(p, v);
        key = next;
        prev = key.data();
    }
    return out;
}

void TrieVersions::rebuild(const RuleView& rules) const
{
    for (Family f : {Family::v4, Family::v6}) {
        std::map<Prefix, RuleEntry> want;
        rules.for_each_entry(family_root(f), [&](const RuleEntry& r) {
            want.emplace(r.prefix, r);
            return true;
        });
        int active = active_copy(f);
        for (int copy : {1 - active, active}) {
            std::vector<EntryWrite> writes;
            std::map<Prefix, pw_rule_value> have;
            for (const auto& [p, v] : entries(f, copy)) {
                if (!want.contains(p))
                    writes.push_back({p, 0, 0, v.rule_id, {}});
                have[p] = v;
            }
            for (const auto& [p, r] : want) {
                auto it = have.find(p);
                auto action = static_cast<uint8_t>(r.action);
                EntryWrite w{p, r.id, action, 0, r.scoped};
                if (it == have.end()) {
                    writes.push_back(w);
                } else if (pw_rule_value v = value_of(w), &h = it->second;
                           h.rule_id != v.rule_id || h.action != v.action || h.prefixlen != v.prefixlen ||
                           h.otherwise != v.otherwise || std::memcmp(&h.scope, &v.scope, sizeof(v.scope)) != 0) {
                    w.prev_rule_id = h.rule_id;
                    writes.push_back(w);
                }
            }
            write_copy(f, copy, writes);
            if (copy != active)
                swap_to(f, copy);
        }
    }
}

} // namespace pw
