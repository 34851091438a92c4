#include "store/rule_db.hpp"

#include "base/error.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <mutex>

namespace pw {
namespace fs = std::filesystem;

namespace {

constexpr const char* kFile = "rules.mdb";
constexpr size_t kKeyBytes = 18;
constexpr size_t kRuleHead = 9; // id, result, action (| kScoped: a scoped part follows)
// The action byte of a rule or a claim with an L4 scope: the scope's
// struct pw_scope follows it (values written before scopes never have it);
// in a rule's value, then the scoped action and the otherwise action (0:
// none).
constexpr uint8_t kScoped = 0x80;
// The action byte of a claim that expires: its deadline (unix seconds,
// 8 bytes) follows the scope, and the expiry database indexes it.
constexpr uint8_t kExpires = 0x40;
constexpr uint8_t kActionMask = 0x3f;
constexpr const char* kVersionKey = "history.version"; // the last version recorded
constexpr size_t kRuleScopedBytes = sizeof(pw_scope) + 2;

void check(int rc, const std::string& what)
{
    if (rc != MDB_SUCCESS)
        throw Error(what + ": " + mdb_strerror(rc));
}

void store_u32(uint8_t* p, uint32_t v) { std::memcpy(p, &v, 4); }
uint32_t load_u32(const uint8_t* p)
{
    uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
}

Prefix decode_key(const uint8_t* k)
{
    Prefix p;
    p.family = k[0] == 0 ? Family::v4 : Family::v6;
    std::memcpy(p.bytes.data(), k + 1, 16);
    p.len = k[17];
    return p;
}

std::array<uint8_t, 4> id_key(uint32_t id)
{
    return {static_cast<uint8_t>(id >> 24), static_cast<uint8_t>(id >> 16),
            static_cast<uint8_t>(id >> 8), static_cast<uint8_t>(id)};
}

std::string claim_key(const std::string& source, const Prefix& p)
{
    auto k = prefix_key(p);
    std::string s = source;
    s += '\0';
    s.append(reinterpret_cast<const char*>(k.data()), k.size());
    return s;
}

std::string encode_claim(const Claim& c)
{
    std::string v(1, static_cast<char>(static_cast<uint8_t>(c.action) | (c.scope.scoped() ? kScoped : 0) |
                                       (c.expires ? kExpires : 0)));
    if (c.scope.scoped()) {
        pw_scope a = c.scope.to_abi();
        v.append(reinterpret_cast<const char*>(&a), sizeof(a));
    }
    if (c.expires)
        v.append(reinterpret_cast<const char*>(&c.expires), sizeof(c.expires));
    v += c.comment;
    return v;
}

Claim decode_claim(const MDB_val& v)
{
    const auto* b = static_cast<const char*>(v.mv_data);
    Claim c;
    const auto flags = static_cast<uint8_t>(b[0]);
    c.action = static_cast<Action>(flags & kActionMask);
    size_t at = 1;
    if ((flags & kScoped) && v.mv_size >= at + sizeof(pw_scope)) {
        pw_scope a;
        std::memcpy(&a, b + at, sizeof(a));
        c.scope = Scope::from_abi(a);
        at += sizeof(a);
    }
    if ((flags & kExpires) && v.mv_size >= at + sizeof(c.expires)) {
        std::memcpy(&c.expires, b + at, sizeof(c.expires));
        at += sizeof(c.expires);
    }
    c.comment.assign(b + at, v.mv_size - at);
    return c;
}

std::string be64(uint64_t v)
{
    std::string k(8, '\0');
    for (int i = 7; i >= 0; i--, v >>= 8)
        k[static_cast<size_t>(i)] = static_cast<char>(v & 0xff);
    return k;
}

uint64_t load_be64(const uint8_t* p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

// A delta's value: prefix key, source (length byte), then each of before
// and after present (flag bits 1, 2) as a 4-byte length and the claim.
std::string encode_delta(const ClaimDelta& d)
{
    auto pk = prefix_key(d.prefix);
    std::string v(reinterpret_cast<const char*>(pk.data()), pk.size());
    v += static_cast<char>(d.source.size());
    v += d.source;
    v += static_cast<char>((d.before ? 1 : 0) | (d.after ? 2 : 0));
    for (const auto* c : {&d.before, &d.after})
        if (*c) {
            std::string e = encode_claim(**c);
            auto n = static_cast<uint32_t>(e.size());
            v.append(reinterpret_cast<const char*>(&n), 4);
            v += e;
        }
    return v;
}

ClaimDelta decode_delta(const MDB_val& val)
{
    const auto* b = static_cast<const uint8_t*>(val.mv_data);
    const size_t size = val.mv_size;
    auto bad = [] { return Error("rule store: an unreadable version delta"); };
    if (size < kKeyBytes + 2)
        throw bad();
    ClaimDelta d;
    d.prefix = decode_key(b);
    size_t at = kKeyBytes;
    const size_t slen = b[at++];
    if (at + slen + 1 > size)
        throw bad();
    d.source.assign(reinterpret_cast<const char*>(b + at), slen);
    at += slen;
    const uint8_t flags = b[at++];
    for (auto [bit, into] : {std::pair{1, &d.before}, std::pair{2, &d.after}}) {
        if (!(flags & bit))
            continue;
        uint32_t n = 0;
        if (at + 4 > size)
            throw bad();
        std::memcpy(&n, b + at, 4);
        at += 4;
        if (n < 1 || at + n > size)
            throw bad();
        MDB_val cv{n, const_cast<uint8_t*>(b + at)};
        *into = decode_claim(cv);
        at += n;
    }
    return d;
}

// The expiry database's key: the deadline big-endian (keys sort by it),
// then the claim's key.
std::string expiry_key(int64_t deadline, const std::string& claim_key)
{
    return be64(static_cast<uint64_t>(deadline)) + claim_key;
}

// Where a rule value's source names start.
size_t rule_sources_at(const uint8_t* vb, size_t size)
{
    return (vb[8] & kScoped) && size >= kRuleHead + kRuleScopedBytes ? kRuleHead + kRuleScopedBytes : kRuleHead;
}

std::string scoped_key(Family f) { return std::string("count.") + family_tag(f) + ".scoped"; }

std::string count_key(Family f, Action a)
{
    return std::string("count.") + family_tag(f) + "." + action_name(a);
}

struct Cursor {
    MDB_cursor* c = nullptr;
    Cursor(MDB_txn* txn, MDB_dbi dbi) { check(mdb_cursor_open(txn, dbi, &c), "rule store cursor"); }
    ~Cursor() { mdb_cursor_close(c); }
    Cursor(const Cursor&) = delete;
    Cursor& operator=(const Cursor&) = delete;
};

} // namespace

std::array<uint8_t, 18> prefix_key(const Prefix& p)
{
    std::array<uint8_t, 18> k{};
    k[0] = p.family == Family::v4 ? 0 : 1;
    std::memcpy(k.data() + 1, p.bytes.data(), 16);
    k[17] = p.len;
    return k;
}

fs::path RuleDb::file(const fs::path& state_dir) { return state_dir / kFile; }

std::shared_ptr<RuleDb> RuleDb::shared(const fs::path& state_dir, size_t size_mb)
{
    static std::mutex m;
    static std::map<fs::path, std::weak_ptr<RuleDb>> open;
    std::lock_guard<std::mutex> g(m);
    fs::path key = fs::weakly_canonical(file(state_dir));
    if (auto db = open[key].lock())
        return db;
    std::shared_ptr<RuleDb> db;
    try {
        db = std::make_shared<RuleDb>(state_dir, size_mb, false);
    } catch (const Error& e) {
        if (!exists(state_dir))
            throw;
        db = std::make_shared<RuleDb>(state_dir, size_mb, true);
        db->read_only_reason_ = e.what();
    }
    open[key] = db;
    return db;
}

bool RuleDb::exists(const fs::path& state_dir) { return fs::exists(file(state_dir)); }

RuleDb::RuleDb(const fs::path& state_dir, size_t size_mb, bool read_only)
    : dir_(state_dir), size_mb_(size_mb)
{
    check(mdb_env_create(&env_), "rule store");
    try {
        check(mdb_env_set_maxdbs(env_, 16), "rule store");
        check(mdb_env_set_mapsize(env_, size_mb * 1048576), "rule store size");
        // NOSUBDIR: one file plus its lock file; NOTLS: read transactions
        // are not tied to threads (a commit reads "before" while writing).
        unsigned flags = MDB_NOSUBDIR | MDB_NOTLS | (read_only ? MDB_RDONLY : 0u);
        int rc = mdb_env_open(env_, file(state_dir).c_str(), flags, 0600);
        if (rc != MDB_SUCCESS)
            throw Error("rule store " + file(state_dir).string() + ": " +
                        (rc > 0 ? std::strerror(rc) : mdb_strerror(rc)));
        MDB_txn* txn = nullptr;
        check(mdb_txn_begin(env_, nullptr, read_only ? MDB_RDONLY : 0, &txn), "rule store");
        unsigned create = read_only ? 0 : MDB_CREATE;
        int r = 0;
        for (auto [name, dbi] : {std::pair{"rules", &rules_}, {"ids", &ids_}, {"claims", &claims_},
                                 {"sources", &sources_}, {"meta", &meta_}})
            if (r == 0)
                r = mdb_dbi_open(txn, name, create, dbi);
        // Databases added after the first version: a store opened
        // read-only that has none yet reads as having them empty.
        for (auto [name, dbi, have] : {std::tuple{"expiry", &expiry_, &has_expiry_},
                                       std::tuple{"versions", &versions_, &has_history_},
                                       std::tuple{"deltas", &deltas_, &has_history_}})
            if (r == 0) {
                r = mdb_dbi_open(txn, name, create, dbi);
                *have = r == 0;
                if (r == MDB_NOTFOUND && read_only)
                    r = 0;
            }
        if (r != 0) {
            mdb_txn_abort(txn);
            check(r, "rule store " + file(state_dir).string());
        }
        check(mdb_txn_commit(txn), "rule store " + file(state_dir).string());
    } catch (...) {
        mdb_env_close(env_);
        throw;
    }
}

RuleDb::~RuleDb() { mdb_env_close(env_); }

uint64_t RuleDb::file_bytes() const
{
    struct stat st {};
    return ::stat(file(dir_).c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_blocks) * 512 : 0;
}

RuleDb::Read RuleDb::read() const
{
    MDB_txn* txn = nullptr;
    check(mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn), "rule store read");
    return Read(*this, txn);
}

RuleDb::Write RuleDb::write()
{
    MDB_txn* txn = nullptr;
    int rc = mdb_txn_begin(env_, nullptr, 0, &txn);
    if (rc == EACCES || rc == EROFS)
        throw Error("rule store " + file(dir_).string() + " is read-only: " + std::strerror(rc));
    check(rc, "rule store write");
    return Write(*this, txn);
}

// --- reads ------------------------------------------------------------

RuleDb::Read::Read(const RuleDb& db, MDB_txn* txn) : db_(&db), txn_(txn) {}

RuleDb::Read::Read(Read&& o) noexcept : db_(o.db_), txn_(o.txn_) { o.txn_ = nullptr; }

RuleDb::Read::~Read()
{
    if (txn_)
        mdb_txn_abort(txn_);
}

bool RuleDb::Read::get(MDB_dbi dbi, const void* key, size_t klen, MDB_val& out) const
{
    MDB_val k{klen, const_cast<void*>(key)};
    int rc = mdb_get(txn_, dbi, &k, &out);
    if (rc == MDB_NOTFOUND)
        return false;
    check(rc, "rule store read");
    return true;
}

uint64_t RuleDb::Read::meta_u64(const char* key, uint64_t dflt) const
{
    MDB_val v;
    if (!get(db_->meta_, key, std::strlen(key), v) || v.mv_size != 8)
        return dflt;
    uint64_t x;
    std::memcpy(&x, v.mv_data, 8);
    return x;
}

unsigned __int128 RuleDb::Read::meta_u128(const char* key) const
{
    MDB_val v;
    if (!get(db_->meta_, key, std::strlen(key), v) || v.mv_size != 16)
        return 0;
    unsigned __int128 x;
    std::memcpy(&x, v.mv_data, 16);
    return x;
}

Rule RuleDb::Read::decode_rule(const MDB_val& k, const MDB_val& v) const
{
    const auto* kb = static_cast<const uint8_t*>(k.mv_data);
    const auto* vb = static_cast<const uint8_t*>(v.mv_data);
    Rule r;
    r.prefix = decode_key(kb);
    r.id = load_u32(vb);
    r.result = load_u32(vb + 4);
    for (size_t at = rule_sources_at(vb, v.mv_size); at < v.mv_size;) {
        size_t n = vb[at];
        std::string source(reinterpret_cast<const char*>(vb + at + 1), n);
        at += 1 + n;
        MDB_val c;
        std::string ck = claim_key(source, r.prefix);
        if (!get(db_->claims_, ck.data(), ck.size(), c) || c.mv_size < 1)
            throw Error("rule store: rule " + r.prefix.to_string() + " names source '" + source +
                        "' without its claim");
        r.claims.emplace(std::move(source), decode_claim(c));
    }
    return r;
}

std::optional<Rule> RuleDb::Read::find(const Prefix& prefix) const
{
    auto k = prefix_key(prefix);
    MDB_val v;
    if (!get(db_->rules_, k.data(), k.size(), v))
        return std::nullopt;
    MDB_val kv{k.size(), k.data()};
    return decode_rule(kv, v);
}

std::optional<Rule> RuleDb::Read::find_id(uint32_t id) const
{
    auto ik = id_key(id);
    MDB_val pk;
    if (!get(db_->ids_, ik.data(), ik.size(), pk) || pk.mv_size != kKeyBytes)
        return std::nullopt;
    return find(decode_key(static_cast<const uint8_t*>(pk.mv_data)));
}

size_t RuleDb::Read::count(Family f) const
{
    size_t n = 0;
    for (Action a : kActions)
        n += count(f, a);
    return n;
}

size_t RuleDb::Read::count(Family f, Action a) const { return meta_u64(count_key(f, a).c_str()); }

size_t RuleDb::Read::count_scoped(Family f) const { return meta_u64(scoped_key(f).c_str()); }

void RuleDb::Read::walk_rules(const Prefix& within,
                              const std::function<bool(const MDB_val&, const MDB_val&)>& fn) const
{
    auto start = prefix_key(within);
    Cursor cur(txn_, db_->rules_);
    MDB_val k{start.size(), start.data()}, v;
    for (int rc = mdb_cursor_get(cur.c, &k, &v, MDB_SET_RANGE); rc == MDB_SUCCESS;
         rc = mdb_cursor_get(cur.c, &k, &v, MDB_NEXT)) {
        if (k.mv_size != kKeyBytes || v.mv_size < kRuleHead)
            continue;
        if (!within.contains(decode_key(static_cast<const uint8_t*>(k.mv_data))) || !fn(k, v))
            return;
    }
}

void RuleDb::Read::for_each_within(const Prefix& within, const std::function<bool(const Rule&)>& fn) const
{
    walk_rules(within, [&](const MDB_val& k, const MDB_val& v) { return fn(decode_rule(k, v)); });
}

void RuleDb::Read::for_each_claim(const std::string& source,
                                  const std::function<bool(const Prefix&, const Claim&)>& fn) const
{
    std::string start = source + '\0';
    Cursor cur(txn_, db_->claims_);
    MDB_val k{start.size(), start.data()}, v;
    for (int rc = mdb_cursor_get(cur.c, &k, &v, MDB_SET_RANGE); rc == MDB_SUCCESS;
         rc = mdb_cursor_get(cur.c, &k, &v, MDB_NEXT)) {
        if (k.mv_size != start.size() + kKeyBytes ||
            std::memcmp(k.mv_data, start.data(), start.size()) != 0)
            return;
        const auto* kb = static_cast<const uint8_t*>(k.mv_data) + start.size();
        if (v.mv_size < 1 || !fn(decode_key(kb), decode_claim(v)))
            return;
    }
}

void RuleDb::Read::for_each_due(int64_t until,
                                const std::function<bool(const Prefix&, const std::string&, int64_t)>& fn) const
{
    if (!db_->has_expiry_)
        return;
    Cursor cur(txn_, db_->expiry_);
    MDB_val k, v;
    for (int rc = mdb_cursor_get(cur.c, &k, &v, MDB_FIRST); rc == MDB_SUCCESS;
         rc = mdb_cursor_get(cur.c, &k, &v, MDB_NEXT)) {
        if (k.mv_size < 8 + 1 + kKeyBytes)
            continue;
        const auto* kb = static_cast<const uint8_t*>(k.mv_data);
        uint64_t d = 0;
        for (int i = 0; i < 8; i++)
            d = d << 8 | kb[i];
        const auto deadline = static_cast<int64_t>(d);
        if (deadline > until)
            return;
        const size_t source_len = k.mv_size - 8 - 1 - kKeyBytes;
        std::string source(reinterpret_cast<const char*>(kb + 8), source_len);
        if (!fn(decode_key(kb + 8 + source_len + 1), source, deadline))
            return;
    }
}

std::vector<VersionRecord> RuleDb::Read::versions() const
{
    std::vector<VersionRecord> out;
    if (!db_->has_history_)
        return out;
    Cursor cur(txn_, db_->versions_);
    MDB_val k, v;
    for (int rc = mdb_cursor_get(cur.c, &k, &v, MDB_FIRST); rc == MDB_SUCCESS;
         rc = mdb_cursor_get(cur.c, &k, &v, MDB_NEXT))
        out.push_back(VersionRecord::from_json(std::string(static_cast<const char*>(v.mv_data), v.mv_size)));
    return out;
}

uint64_t RuleDb::Read::latest_version() const { return meta_u64(kVersionKey); }

std::optional<VersionRecord> RuleDb::Read::last_version() const
{
    if (!db_->has_history_)
        return std::nullopt;
    Cursor cur(txn_, db_->versions_);
    MDB_val k, v;
    if (mdb_cursor_get(cur.c, &k, &v, MDB_LAST) != MDB_SUCCESS)
        return std::nullopt;
    return VersionRecord::from_json(std::string(static_cast<const char*>(v.mv_data), v.mv_size));
}

std::vector<std::pair<uint64_t, ClaimDelta>> RuleDb::Read::deltas_after(uint64_t from, uint64_t to) const
{
    std::vector<std::pair<uint64_t, ClaimDelta>> out;
    if (!db_->has_history_ || to <= from)
        return out;
    Cursor cur(txn_, db_->deltas_);
    std::string start = be64(from + 1);
    MDB_val k{start.size(), start.data()}, v;
    for (int rc = mdb_cursor_get(cur.c, &k, &v, MDB_SET_RANGE); rc == MDB_SUCCESS;
         rc = mdb_cursor_get(cur.c, &k, &v, MDB_NEXT)) {
        if (k.mv_size < 8)
            continue;
        uint64_t ver = load_be64(static_cast<const uint8_t*>(k.mv_data));
        if (ver > to)
            break;
        out.emplace_back(ver, decode_delta(v));
    }
    return out;
}

std::pair<size_t, int64_t> RuleDb::Read::expiring() const
{
    if (!db_->has_expiry_)
        return {0, 0};
    MDB_stat st;
    check(mdb_stat(txn_, db_->expiry_, &st), "rule store");
    int64_t next = 0;
    for_each_due(INT64_MAX, [&](const Prefix&, const std::string&, int64_t d) {
        next = d;
        return false;
    });
    return {st.ms_entries, next};
}

namespace {

RuleEntry decode_entry(const MDB_val& k, const MDB_val& v)
{
    const auto* vb = static_cast<const uint8_t*>(v.mv_data);
    RuleEntry e{decode_key(static_cast<const uint8_t*>(k.mv_data)), load_u32(vb), load_u32(vb + 4),
                static_cast<Action>(vb[8] & ~kScoped), {}};
    if (rule_sources_at(vb, v.mv_size) != kRuleHead) {
        pw_scope a;
        std::memcpy(&a, vb + kRuleHead, sizeof(a));
        e.scoped.scope = Scope::from_abi(a);
        e.scoped.action = static_cast<Action>(vb[kRuleHead + sizeof(a)]);
        if (uint8_t o = vb[kRuleHead + sizeof(a) + 1])
            e.scoped.otherwise = static_cast<Action>(o);
    }
    return e;
}

} // namespace

std::optional<RuleEntry> RuleDb::Read::find_entry(const Prefix& prefix) const
{
    auto k = prefix_key(prefix);
    MDB_val v;
    if (!get(db_->rules_, k.data(), k.size(), v) || v.mv_size < kRuleHead)
        return std::nullopt;
    MDB_val kv{k.size(), k.data()};
    return decode_entry(kv, v);
}

void RuleDb::Read::for_each_entry(const Prefix& within, const std::function<bool(const RuleEntry&)>& fn) const
{
    walk_rules(within, [&](const MDB_val& k, const MDB_val& v) { return fn(decode_entry(k, v)); });
}

std::optional<RuleEntry> RuleDb::Read::covering(const Prefix& p) const
{
    auto bits = lengths(p.family);
    for (int len = static_cast<int>(p.len) - 1; len >= 0; len--) {
        if (!(bits[len / 64] >> (len % 64) & 1))
            continue;
        Prefix q = Prefix::of(p.first(), static_cast<unsigned>(len));
        auto k = prefix_key(q);
        std::string key(reinterpret_cast<const char*>(k.data()), k.size());
        auto it = memo_.find(key);
        if (it == memo_.end())
            it = memo_.emplace(std::move(key), find_entry(q)).first;
        if (it->second)
            return it->second;
    }
    return std::nullopt;
}

uint32_t RuleDb::Read::next_id() const { return static_cast<uint32_t>(meta_u64("next_id", 1)); }

uint64_t RuleDb::Read::generation() const { return meta_u64("generation", 0); }

SourceCounts RuleDb::Read::source_counts(const std::string& source) const
{
    SourceCounts c{};
    MDB_val v;
    if (get(db_->sources_, source.data(), source.size(), v) && v.mv_size == sizeof(c))
        std::memcpy(&c, v.mv_data, sizeof(c));
    return c;
}

std::vector<std::pair<std::string, SourceCounts>> RuleDb::Read::sources() const
{
    std::vector<std::pair<std::string, SourceCounts>> out;
    Cursor cur(txn_, db_->sources_);
    MDB_val k, v;
    for (int rc = mdb_cursor_get(cur.c, &k, &v, MDB_FIRST); rc == MDB_SUCCESS;
         rc = mdb_cursor_get(cur.c, &k, &v, MDB_NEXT)) {
        SourceCounts c{};
        if (v.mv_size == sizeof(c))
            std::memcpy(&c, v.mv_data, sizeof(c));
        out.emplace_back(std::string(static_cast<const char*>(k.mv_data), k.mv_size), c);
    }
    return out;
}

std::array<uint64_t, 3> RuleDb::Read::lengths(Family f) const
{
    std::array<uint64_t, 3> out{};
    for (int i = 0; i < 3; i++)
        out[i] = meta_u64((std::string("lengths.") + family_tag(f) + "." + std::to_string(i)).c_str());
    return out;
}

RuleSet RuleDb::Read::snapshot() const
{
    RuleSet set;
    for (Family f : {Family::v4, Family::v6})
        for_each_within(family_root(f), [&](const Rule& r) {
            set.restore(r);
            return true;
        });
    set.set_next_id(next_id());
    return set;
}

// --- writes -----------------------------------------------------------

RuleDb::Write::~Write()
{
    if (!committed_ && txn_) {
        mdb_txn_abort(txn_);
        txn_ = nullptr;
    }
}

namespace {

[[noreturn]] void write_failed(int rc, const fs::path& file, size_t size_mb)
{
    if (rc == MDB_MAP_FULL)
        throw Error("the rule store " + file.string() + " is full (" + std::to_string(size_mb) +
                    " MiB): raise --store-mb; nothing changed");
    throw Error("rule store " + file.string() + ": " + mdb_strerror(rc) + "; nothing changed");
}

} // namespace

void RuleDb::Write::put(MDB_dbi dbi, const void* key, size_t klen, const void* val, size_t vlen)
{
    MDB_val k{klen, const_cast<void*>(key)}, v{vlen, const_cast<void*>(val)};
    auto [it, _] = appending_.try_emplace(dbi, true);
    if (it->second) {
        int rc = mdb_put(txn_, dbi, &k, &v, MDB_APPEND);
        if (rc == MDB_SUCCESS)
            return;
        if (rc != MDB_KEYEXIST)
            write_failed(rc, file(db_->dir_), db_->size_mb_);
        it->second = false; // not after the last key: ordinary puts from now on
    }
    if (int rc = mdb_put(txn_, dbi, &k, &v, 0))
        write_failed(rc, file(db_->dir_), db_->size_mb_);
}

void RuleDb::Write::del(MDB_dbi dbi, const void* key, size_t klen)
{
    MDB_val k{klen, const_cast<void*>(key)};
    int rc = mdb_del(txn_, dbi, &k, nullptr);
    if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND)
        write_failed(rc, file(db_->dir_), db_->size_mb_);
}

void RuleDb::Write::set_meta_u64(const char* key, uint64_t v) { put(db_->meta_, key, std::strlen(key), &v, 8); }

void RuleDb::Write::set_meta_u128(const char* key, unsigned __int128 v)
{
    put(db_->meta_, key, std::strlen(key), &v, 16);
}

void RuleDb::Write::set_generation(uint64_t g) { set_meta_u64("generation", g); }

void RuleDb::Write::bump_count(Family f, Action a, int64_t delta)
{
    count_delta_[fam_index(f)][action_slot(a)] += delta;
}

void RuleDb::Write::bump_scoped(Family f, bool before, bool after)
{
    scoped_delta_[fam_index(f)] += int64_t(after) - int64_t(before);
}

size_t RuleDb::Write::count_scoped(Family f) const
{
    return static_cast<size_t>(static_cast<int64_t>(Read::count_scoped(f)) + scoped_delta_[fam_index(f)]);
}

void RuleDb::Write::bump_source(const std::string& source, Family f, Action a, int64_t delta)
{
    source_delta_[source][fam_index(f)][action_slot(a)] += static_cast<uint64_t>(delta);
}

size_t RuleDb::Write::count(Family f, Action a) const
{
    return static_cast<size_t>(static_cast<int64_t>(Read::count(f, a)) +
                               count_delta_[fam_index(f)][action_slot(a)]);
}

SourceCounts RuleDb::Write::source_counts(const std::string& source) const
{
    SourceCounts c = Read::source_counts(source);
    if (auto it = source_delta_.find(source); it != source_delta_.end())
        for (int f = 0; f < 2; f++)
            for (int a = 0; a < 4; a++)
                c[f][a] += it->second[f][a];
    return c;
}

std::vector<std::pair<std::string, SourceCounts>> RuleDb::Write::sources() const
{
    std::map<std::string, SourceCounts> all;
    for (auto& [name, c] : Read::sources())
        all[name] = c;
    for (const auto& [name, _] : source_delta_)
        all[name] = source_counts(name);
    std::vector<std::pair<std::string, SourceCounts>> out;
    for (auto& [name, c] : all) {
        bool any = false;
        for (const auto& fam : c)
            for (uint64_t n : fam)
                any |= n != 0;
        if (any)
            out.emplace_back(name, c);
    }
    return out;
}

std::array<uint64_t, 3> RuleDb::Write::lengths(Family f) const
{
    auto& l = lengths_[fam_index(f)];
    if (!l)
        l = Read::lengths(f);
    return *l;
}

void RuleDb::Write::add_length(const Prefix& p)
{
    auto bits = lengths(p.family);
    uint64_t bit = uint64_t(1) << (p.len % 64);
    if (bits[p.len / 64] & bit)
        return;
    (*lengths_[fam_index(p.family)])[p.len / 64] |= bit;
    lengths_dirty_[fam_index(p.family)] = true;
}

uint32_t RuleDb::Write::next_id() const
{
    if (!next_id_)
        next_id_ = Read::next_id();
    return *next_id_;
}

void RuleDb::Write::raise_next_id(uint32_t id)
{
    if (id > next_id())
        next_id_ = id;
}

void RuleDb::Write::flush()
{
    for (Family f : {Family::v4, Family::v6}) {
        for (Action a : kActions) {
            int64_t& d = count_delta_[fam_index(f)][action_slot(a)];
            if (d) {
                std::string k = count_key(f, a);
                set_meta_u64(k.c_str(), meta_u64(k.c_str()) + static_cast<uint64_t>(d));
                d = 0;
            }
        }
        if (int64_t& d = scoped_delta_[fam_index(f)]; d) {
            std::string k = scoped_key(f);
            set_meta_u64(k.c_str(), meta_u64(k.c_str()) + static_cast<uint64_t>(d));
            d = 0;
        }
        if (lengths_dirty_[fam_index(f)]) {
            for (int i = 0; i < 3; i++) {
                std::string k = std::string("lengths.") + family_tag(f) + "." + std::to_string(i);
                set_meta_u64(k.c_str(), (*lengths_[fam_index(f)])[i]);
            }
            lengths_dirty_[fam_index(f)] = false;
        }
    }
    for (const auto& [source, _] : source_delta_) {
        SourceCounts c = source_counts(source);
        bool empty = true;
        for (const auto& fam : c)
            for (uint64_t n : fam)
                empty &= n == 0;
        if (empty)
            del(db_->sources_, source.data(), source.size());
        else
            put(db_->sources_, source.data(), source.size(), &c, sizeof(c));
    }
    source_delta_.clear();
    if (next_id_)
        set_meta_u64("next_id", *next_id_);
}

void RuleDb::Write::put_rule(const Rule& r, const std::vector<std::string>& sources)
{
    std::vector<uint8_t> v(kRuleHead);
    store_u32(v.data(), r.id);
    store_u32(v.data() + 4, r.result);
    const ScopedPart part = r.scoped();
    v[8] = static_cast<uint8_t>(static_cast<uint8_t>(r.action()) | (part.scoped() ? kScoped : 0));
    if (part.scoped()) {
        pw_scope a = part.scope.to_abi();
        const auto* ab = reinterpret_cast<const uint8_t*>(&a);
        v.insert(v.end(), ab, ab + sizeof(a));
        v.push_back(static_cast<uint8_t>(part.action));
        v.push_back(part.otherwise ? static_cast<uint8_t>(*part.otherwise) : 0);
    }
    for (const auto& s : sources) {
        v.push_back(static_cast<uint8_t>(s.size()));
        v.insert(v.end(), s.begin(), s.end());
    }
    auto k = prefix_key(r.prefix);
    put(db_->rules_, k.data(), k.size(), v.data(), v.size());
}

RuleChange RuleDb::Write::set_claim(const Prefix& prefix, const std::string& source, const Claim& claim)
{
    memo_.clear();
    if (source.empty() || source.size() > 255)
        throw Error("rule store: bad source name '" + source + "'");
    RuleChange ch;
    ch.prefix = prefix;
    std::optional<Rule> before = find(prefix);
    if (before) {
        ch.before_id = ch.after_id = before->id;
        ch.before_action = ch.after_action = before->action();
        ch.before_scoped = ch.after_scoped = before->scoped();
        ch.before_result = before->result;
        if (auto it = before->claims.find(source); it != before->claims.end() && it->second == claim)
            return ch;
    }
    std::string ck = claim_key(source, prefix);
    std::string cv = encode_claim(claim);
    put(db_->claims_, ck.data(), ck.size(), cv.data(), cv.size());
    if (claim.expires)
        put_expiry(claim.expires, ck);

    Rule r;
    std::optional<Claim> was;
    if (before) {
        r = std::move(*before);
        if (auto it = r.claims.find(source); it != r.claims.end()) {
            was = it->second;
            bump_source(source, prefix.family, it->second.action, -1);
            if (it->second.expires && it->second.expires != claim.expires)
                del_expiry(it->second.expires, ck);
        }
    } else {
        r.prefix = prefix;
        r.id = next_id();
        next_id_ = r.id + 1;
        r.result = result_for_ ? result_for_(r.id) : 0;
        auto ik = id_key(r.id);
        auto pk = prefix_key(prefix);
        put(db_->ids_, ik.data(), ik.size(), pk.data(), pk.size());
        add_length(prefix);
    }
    r.claims.insert_or_assign(source, claim);
    history_.push_back({prefix, source, std::move(was), claim});
    bump_source(source, prefix.family, claim.action, 1);
    std::vector<std::string> names;
    for (const auto& [n, _] : r.claims)
        names.push_back(n);
    put_rule(r, names);
    ch.after_id = r.id;
    ch.after_result = r.result;
    ch.after_action = r.action();
    ch.after_scoped = r.scoped();
    bump_scoped(prefix.family, before && ch.before_scoped.scoped(), ch.after_scoped.scoped());
    if (before)
        bump_count(prefix.family, ch.before_action, -1);
    bump_count(prefix.family, ch.after_action, 1);
    return ch;
}

RuleChange RuleDb::Write::remove_claim(const Prefix& prefix, const std::string& source)
{
    memo_.clear();
    RuleChange ch;
    ch.prefix = prefix;
    std::optional<Rule> r = find(prefix);
    if (!r)
        return ch;
    ch.before_id = ch.after_id = r->id;
    ch.before_action = ch.after_action = r->action();
    ch.before_scoped = ch.after_scoped = r->scoped();
    ch.before_result = r->result;
    std::vector<std::string> gone;
    for (const auto& [n, c] : r->claims)
        if (source.empty() || n == source)
            gone.push_back(n);
    if (gone.empty())
        return ch;
    for (const auto& n : gone) {
        bump_source(n, prefix.family, r->claims.at(n).action, -1);
        std::string ck = claim_key(n, prefix);
        del(db_->claims_, ck.data(), ck.size());
        if (int64_t e = r->claims.at(n).expires)
            del_expiry(e, ck);
        history_.push_back({prefix, n, r->claims.at(n), std::nullopt});
        r->claims.erase(n);
    }
    ch.leaving = gone;
    bump_count(prefix.family, ch.before_action, -1);
    if (r->claims.empty()) {
        bump_scoped(prefix.family, ch.before_scoped.scoped(), false);
        auto k = prefix_key(prefix);
        del(db_->rules_, k.data(), k.size());
        auto ik = id_key(r->id);
        del(db_->ids_, ik.data(), ik.size());
        ch.after_id = 0;
        return ch;
    }
    std::vector<std::string> names;
    for (const auto& [n, _] : r->claims)
        names.push_back(n);
    put_rule(*r, names);
    ch.after_action = r->action();
    ch.after_scoped = r->scoped();
    bump_scoped(prefix.family, ch.before_scoped.scoped(), ch.after_scoped.scoped());
    bump_count(prefix.family, ch.after_action, 1);
    return ch;
}

void RuleDb::Write::restore(const Rule& rule)
{
    memo_.clear();
    const Prefix& p = rule.prefix;
    if (rule.claims.empty() || rule.id == 0)
        throw Error("rule store: rule " + p.to_string() + " without an id or claims");
    std::vector<std::string> names;
    for (const auto& [source, claim] : rule.claims) {
        if (source.empty() || source.size() > 255)
            throw Error("rule store: bad source name '" + source + "'");
        std::string ck = claim_key(source, p);
        std::string cv = encode_claim(claim);
        put(db_->claims_, ck.data(), ck.size(), cv.data(), cv.size());
        if (claim.expires)
            put_expiry(claim.expires, ck);
        bump_source(source, p.family, claim.action, 1);
        names.push_back(source);
    }
    put_rule(rule, names);
    auto ik = id_key(rule.id);
    auto pk = prefix_key(p);
    put(db_->ids_, ik.data(), ik.size(), pk.data(), pk.size());
    bump_count(p.family, rule.action(), 1);
    bump_scoped(p.family, false, rule.scoped().scoped());
    raise_next_id(rule.id + 1);
    add_length(p);
}

uint64_t RuleDb::Write::record_version(VersionRecord v, size_t keep)
{
    if (history_.empty())
        return 0;
    if (!db_->has_history_)
        throw Error("rule store: opened read-only");
    std::vector<ClaimDelta> deltas = std::move(history_);
    history_.clear();
    if (keep == 0)
        return 0;
    v.version = meta_u64(kVersionKey) + 1;
    set_meta_u64(kVersionKey, v.version);
    for (const ClaimDelta& d : deltas) {
        if (!d.before)
            v.claims_added++;
        else if (!d.after)
            v.claims_removed++;
        else
            v.claims_changed++;
        v.sources.insert(d.source);
    }
    const std::string vk = be64(v.version), record = v.to_json();
    put(db_->versions_, vk.data(), vk.size(), record.data(), record.size());
    uint32_t seq = 0;
    for (const ClaimDelta& d : deltas) {
        std::string k = vk;
        for (int i = 3; i >= 0; i--)
            k += static_cast<char>((seq >> (8 * i)) & 0xff);
        seq++;
        std::string val = encode_delta(d);
        put(db_->deltas_, k.data(), k.size(), val.data(), val.size());
    }
    // Keep the last `keep`: the oldest go with their deltas.
    if (v.version > keep) {
        const uint64_t last_gone = v.version - keep;
        for (MDB_dbi dbi : {db_->versions_, db_->deltas_}) {
            Cursor cur(txn_, dbi);
            MDB_val k, val;
            for (int rc = mdb_cursor_get(cur.c, &k, &val, MDB_FIRST); rc == MDB_SUCCESS;
                 rc = mdb_cursor_get(cur.c, &k, &val, MDB_NEXT)) {
                if (k.mv_size < 8 || load_be64(static_cast<const uint8_t*>(k.mv_data)) > last_gone)
                    break;
                check(mdb_cursor_del(cur.c, 0), "rule store history");
            }
        }
    }
    return v.version;
}

void RuleDb::Write::put_expiry(int64_t deadline, const std::string& claim_key)
{
    if (!db_->has_expiry_)
        throw Error("rule store: opened read-only");
    std::string k = expiry_key(deadline, claim_key);
    put(db_->expiry_, k.data(), k.size(), "", 0);
}

void RuleDb::Write::del_expiry(int64_t deadline, const std::string& claim_key)
{
    std::string k = expiry_key(deadline, claim_key);
    del(db_->expiry_, k.data(), k.size());
}

void RuleDb::Write::set_result(const Prefix& prefix, uint32_t result)
{
    memo_.clear();
    auto k = prefix_key(prefix);
    MDB_val v;
    if (!get(db_->rules_, k.data(), k.size(), v) || v.mv_size < kRuleHead)
        throw Error("rule store: no rule " + prefix.to_string() + " to give a result index");
    std::vector<uint8_t> copy(static_cast<const uint8_t*>(v.mv_data),
                              static_cast<const uint8_t*>(v.mv_data) + v.mv_size);
    store_u32(copy.data() + 4, result);
    put(db_->rules_, k.data(), k.size(), copy.data(), copy.size());
}

void RuleDb::Write::commit()
{
    flush();
    int rc = mdb_txn_commit(txn_);
    txn_ = nullptr;
    committed_ = true;
    if (rc != MDB_SUCCESS)
        write_failed(rc, file(db_->dir_), db_->size_mb_);
}

} // namespace pw
