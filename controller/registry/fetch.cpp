#include "registry/fetch.hpp"

#include "base/error.hpp"
#include "base/version.hpp"

#include <curl/curl.h>
#include <sys/stat.h>
#include <zlib.h>

#include <cstring>
#include <ctime>
#include <fstream>
#include <memory>

namespace pw {

bool is_url(const std::string& l)
{
    return l.rfind("http://", 0) == 0 || l.rfind("https://", 0) == 0;
}

namespace {

// Passes bytes through, or inflates them when they start as gzip.
class Gunzip {
public:
    Gunzip(const ByteConsumer& out, uint64_t max_bytes, std::string where)
        : out_(out), max_(max_bytes), where_(std::move(where))
    {
    }
    ~Gunzip()
    {
        if (active_)
            inflateEnd(&z_);
    }

    void feed(std::string_view data)
    {
        if (!decided_) {
            head_.append(data);
            if (head_.size() < 2)
                return;
            decided_ = true;
            if (static_cast<uint8_t>(head_[0]) == 0x1f && static_cast<uint8_t>(head_[1]) == 0x8b) {
                std::memset(&z_, 0, sizeof(z_));
                if (inflateInit2(&z_, 15 + 32) != Z_OK)
                    throw Error(where_ + ": cannot start gzip decoding");
                active_ = true;
            }
            std::string h = std::move(head_);
            feed_decided(h);
            return;
        }
        feed_decided(data);
    }

    void finish()
    {
        if (!decided_) {
            decided_ = true;
            if (!head_.empty())
                pass(head_);
        }
        if (active_ && !ended_)
            throw Error(where_ + ": gzip data ends early (truncated download?)");
    }

    uint64_t bytes() const { return total_; }

private:
    void pass(std::string_view d)
    {
        total_ += d.size();
        if (total_ > max_)
            throw Error(where_ + ": larger than the limit of " + std::to_string(max_) + " bytes");
        out_(d);
    }

    void feed_decided(std::string_view data)
    {
        if (!active_) {
            pass(data);
            return;
        }
        z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
        z_.avail_in = static_cast<uInt>(data.size());
        char buf[65536];
        while (z_.avail_in > 0) {
            if (ended_) {
                // Another gzip member follows (concatenated .gz files).
                inflateReset(&z_);
                ended_ = false;
            }
            z_.next_out = reinterpret_cast<Bytef*>(buf);
            z_.avail_out = sizeof(buf);
            int rc = inflate(&z_, Z_NO_FLUSH);
            if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR)
                throw Error(where_ + ": bad gzip data (" + (z_.msg ? z_.msg : "inflate failed") + ")");
            pass(std::string_view(buf, sizeof(buf) - z_.avail_out));
            if (rc == Z_STREAM_END)
                ended_ = true;
            else if (rc == Z_BUF_ERROR && z_.avail_out != 0)
                break;
        }
        // Drain output still buffered inside zlib.
        while (!ended_ && z_.avail_in == 0) {
            z_.next_out = reinterpret_cast<Bytef*>(buf);
            z_.avail_out = sizeof(buf);
            int rc = inflate(&z_, Z_NO_FLUSH);
            size_t n = sizeof(buf) - z_.avail_out;
            if (n)
                pass(std::string_view(buf, n));
            if (rc == Z_STREAM_END)
                ended_ = true;
            if (n == 0 || rc != Z_OK)
                break;
        }
    }

    const ByteConsumer& out_;
    uint64_t max_;
    std::string where_;
    std::string head_;
    bool decided_ = false, active_ = false, ended_ = false;
    z_stream z_{};
    uint64_t total_ = 0;
};

FetchResult fetch_file(const std::string& path, const FetchOptions& o, const ByteConsumer& out,
                       const Progress& progress)
{
    // A file's validator, like an HTTP ETag: its modification time and size.
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0)
        throw sys_error(path, errno);
    std::string validator = std::to_string(st.st_mtim.tv_sec) + "." +
                            std::to_string(st.st_mtim.tv_nsec) + ":" + std::to_string(st.st_size);
    if (!o.etag.empty() && o.etag == validator) {
        FetchResult r;
        r.not_modified = true;
        r.etag = validator;
        return r;
    }
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw sys_error(path, errno);
    Gunzip gz(out, o.max_bytes, path);
    std::vector<char> buf(1 << 20);
    uint64_t raw = 0;
    while (in) {
        in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
        std::streamsize n = in.gcount();
        if (n <= 0)
            break;
        raw += static_cast<uint64_t>(n);
        if (raw > o.max_bytes)
            throw Error(path + ": larger than the limit of " + std::to_string(o.max_bytes) + " bytes");
        gz.feed(std::string_view(buf.data(), static_cast<size_t>(n)));
        if (progress)
            progress(raw);
    }
    if (in.bad())
        throw sys_error(path, errno);
    gz.finish();
    FetchResult r;
    r.bytes = gz.bytes();
    // A file written within the last 2 s may be written again within the
    // same timestamp tick with the same size: no validator then ("racy",
    // as git calls it), so the next sync reads it again.
    if (std::time(nullptr) - st.st_mtim.tv_sec >= 2)
        r.etag = validator;
    return r;
}

struct CurlGlobal {
    CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
    ~CurlGlobal() { curl_global_cleanup(); }
};

struct HttpState {
    Gunzip* gz;
    const Progress* progress;
    uint64_t raw = 0, max;
    std::string error; // an exception from the consumer, carried across C
    FetchResult* result;
};

size_t on_body(char* p, size_t size, size_t n, void* user)
{
    auto* st = static_cast<HttpState*>(user);
    size_t len = size * n;
    long code = 0;
    (void)code;
    st->raw += len;
    try {
        if (st->raw > st->max)
            throw Error("larger than the limit of " + std::to_string(st->max) + " bytes");
        st->gz->feed(std::string_view(p, len));
        if (*st->progress)
            (*st->progress)(st->raw);
    } catch (const std::exception& e) {
        st->error = e.what();
        return 0; // aborts the transfer
    }
    return len;
}

std::string header_value(std::string_view line, std::string_view name)
{
    if (line.size() <= name.size() || line[name.size()] != ':')
        return {};
    for (size_t i = 0; i < name.size(); i++)
        if (std::tolower(static_cast<unsigned char>(line[i])) != name[i])
            return {};
    std::string_view v = line.substr(name.size() + 1);
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t'))
        v.remove_prefix(1);
    while (!v.empty() && (v.back() == '\r' || v.back() == '\n' || v.back() == ' '))
        v.remove_suffix(1);
    return std::string(v);
}

size_t on_header(char* p, size_t size, size_t n, void* user)
{
    auto* st = static_cast<HttpState*>(user);
    std::string_view line(p, size * n);
    if (line.rfind("HTTP/", 0) == 0) { // a new response (redirects): reset
        st->result->etag.clear();
        st->result->last_modified.clear();
    }
    if (auto v = header_value(line, "etag"); !v.empty())
        st->result->etag = v;
    if (auto v = header_value(line, "last-modified"); !v.empty())
        st->result->last_modified = v;
    return size * n;
}

FetchResult fetch_http(const std::string& url, const FetchOptions& o, const ByteConsumer& out,
                       const Progress& progress)
{
    static CurlGlobal global;
    std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
    if (!curl)
        throw Error(url + ": cannot start libcurl");
    FetchResult result;
    Gunzip gz(out, o.max_bytes, url);
    HttpState st{&gz, &progress, 0, o.max_bytes, {}, &result};
    char errbuf[CURL_ERROR_SIZE] = "";

    curl_slist* headers = nullptr;
    if (!o.etag.empty())
        headers = curl_slist_append(headers, ("If-None-Match: " + o.etag).c_str());
    if (!o.last_modified.empty())
        headers = curl_slist_append(headers, ("If-Modified-Since: " + o.last_modified).c_str());
    std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> hdr_guard(headers, curl_slist_free_all);

    CURL* c = curl.get();
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, o.connect_timeout_s);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, o.timeout_s);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, o.stall_timeout_s);
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(o.max_bytes));
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, ""); // gzip, deflate... as curl supports
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, o.insecure_tls ? 0L : 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, o.insecure_tls ? 0L : 2L);
    if (!o.ca_file.empty())
        curl_easy_setopt(c, CURLOPT_CAINFO, o.ca_file.c_str());
    const std::string agent = std::string("prefixwall/") + version();
    curl_easy_setopt(c, CURLOPT_USERAGENT, agent.c_str());
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &st);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &st);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_FAILONERROR, 0L);

    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &result.http_status);
    if (!st.error.empty())
        throw Error(st.error.rfind(url, 0) == 0 ? st.error : url + ": " + st.error);
    if (rc == CURLE_OPERATION_TIMEDOUT)
        throw Error(url + ": timed out (" + (errbuf[0] ? errbuf : curl_easy_strerror(rc)) + ")");
    if (rc == CURLE_FILESIZE_EXCEEDED)
        throw Error(url + ": larger than the limit of " + std::to_string(o.max_bytes) + " bytes");
    if (rc != CURLE_OK)
        throw Error(url + ": " + (errbuf[0] ? errbuf : curl_easy_strerror(rc)));
    if (result.http_status == 304) {
        result.not_modified = true;
        return result;
    }
    if (result.http_status != 200)
        throw Error(url + ": HTTP " + std::to_string(result.http_status));
    gz.finish();
    result.bytes = gz.bytes();
    return result;
}

} // namespace

FetchResult fetch(const std::string& location, const FetchOptions& opts, const ByteConsumer& out,
                  const Progress& progress)
{
    if (is_url(location))
        return fetch_http(location, opts, out, progress);
    if (location.find("://") != std::string::npos)
        throw Error(location + ": only file paths and http(s) URLs are supported");
    return fetch_file(location, opts, out, progress);
}

} // namespace pw
