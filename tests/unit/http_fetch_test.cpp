// Fetching over HTTP from a real server (cpp-httplib) on 127.0.0.1:
// conditional requests, errors, stalls, cut bodies, size limits, gzip.
#include "base/error.hpp"
#include "registry/fetch.hpp"

#include <doctest/doctest.h>
#include <httplib.h>
#include <zlib.h>

#include <atomic>
#include <thread>

using namespace pw;

namespace {

std::string gzip(const std::string& s)
{
    z_stream z{};
    deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
    std::string out(compressBound(static_cast<uLong>(s.size())) + 64, '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(s.data()));
    z.avail_in = static_cast<uInt>(s.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    deflate(&z, Z_FINISH);
    out.resize(z.total_out);
    deflateEnd(&z);
    return out;
}

const std::string kBody = "192.0.2.0/24\n198.51.100.0/24\n2001:db8::/32\n";

// A registry server on a random loopback port, stopped on destruction.
struct Server {
    httplib::Server svr;
    std::thread thread;
    int port = 0;
    std::atomic<int> hits{0};
    std::atomic<bool> stopping{false};

    Server()
    {
        svr.Get("/list.txt", [this](const httplib::Request& req, httplib::Response& res) {
            hits++;
            const std::string etag = "\"v1\"", modified = "Tue, 24 Nov 2026 10:00:00 GMT";
            if (req.get_header_value("If-None-Match") == etag ||
                req.get_header_value("If-Modified-Since") == modified) {
                res.status = 304;
                return;
            }
            res.set_header("ETag", etag);
            res.set_header("Last-Modified", modified);
            res.set_content(kBody, "text/plain");
        });
        svr.Get("/missing", [](const httplib::Request&, httplib::Response& res) { res.status = 404; });
        svr.Get("/broken", [](const httplib::Request&, httplib::Response& res) { res.status = 500; });
        svr.Get("/stall", [this](const httplib::Request&, httplib::Response& res) {
            // Sends a line, then nothing for 10 s (or until the test ends).
            res.set_content_provider(1000, "text/plain", [this](size_t offset, size_t, httplib::DataSink& sink) {
                if (offset == 0) {
                    sink.write("192.0.2.0/24\n", 13);
                    return true;
                }
                for (int i = 0; i < 200 && !stopping; i++)
                    std::this_thread::sleep_for(std::chrono::milliseconds(50));
                return false;
            });
        });
        svr.Get("/cut", [](const httplib::Request&, httplib::Response& res) {
            // Promises 10,000 bytes, sends 13 and closes.
            res.set_content_provider(10000, "text/plain", [](size_t offset, size_t, httplib::DataSink& sink) {
                if (offset == 0) {
                    sink.write("192.0.2.0/24\n", 13);
                    return true;
                }
                return false;
            });
        });
        svr.Get("/big", [](const httplib::Request&, httplib::Response& res) {
            res.set_content(std::string(3 << 20, '#'), "text/plain");
        });
        svr.Get("/encoded", [](const httplib::Request&, httplib::Response& res) {
            res.set_header("Content-Encoding", "gzip");
            res.set_content(gzip(kBody), "text/plain");
        });
        svr.Get("/list.txt.gz", [](const httplib::Request&, httplib::Response& res) {
            res.set_content(gzip(kBody), "application/gzip");
        });
        svr.Get("/bomb.gz", [](const httplib::Request&, httplib::Response& res) {
            res.set_content(gzip(std::string(8 << 20, '\n')), "application/gzip");
        });
        port = svr.bind_to_any_port("127.0.0.1");
        thread = std::thread([this] { svr.listen_after_bind(); });
        while (!svr.is_running())
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ~Server()
    {
        stopping = true;
        svr.stop();
        thread.join();
    }
    std::string url(const std::string& path) const
    {
        return "http://127.0.0.1:" + std::to_string(port) + path;
    }
};

std::string get(const std::string& url, FetchResult* result = nullptr, FetchOptions o = {})
{
    std::string body;
    FetchResult r = fetch(url, o, [&](std::string_view d) { body.append(d); });
    if (result)
        *result = r;
    return body;
}

std::string error_of(const std::string& url, FetchOptions o = {})
{
    try {
        get(url, nullptr, o);
    } catch (const Error& e) {
        return e.what();
    }
    return "no error";
}

} // namespace

TEST_CASE("HTTP: a body, its validators, and 304 for an unchanged registry")
{
    Server s;
    FetchResult r;
    CHECK(get(s.url("/list.txt"), &r) == kBody);
    CHECK(r.http_status == 200);
    CHECK(r.etag == "\"v1\"");
    CHECK(r.last_modified == "Tue, 24 Nov 2026 10:00:00 GMT");

    FetchOptions cond;
    cond.etag = r.etag;
    CHECK(get(s.url("/list.txt"), &r, cond).empty());
    CHECK(r.not_modified);
    CHECK(r.http_status == 304);

    FetchOptions by_date;
    by_date.last_modified = "Tue, 24 Nov 2026 10:00:00 GMT";
    get(s.url("/list.txt"), &r, by_date);
    CHECK(r.not_modified);
    CHECK(s.hits == 3);
}

TEST_CASE("HTTP: errors, stalls, cut bodies and oversized bodies are errors naming the URL")
{
    Server s;
    CHECK(error_of(s.url("/missing")) == s.url("/missing") + ": HTTP 404");
    CHECK(error_of(s.url("/broken")) == s.url("/broken") + ": HTTP 500");

    FetchOptions quick;
    quick.timeout_s = 2;
    quick.stall_timeout_s = 1;
    std::string stall = error_of(s.url("/stall"), quick);
    CHECK_MESSAGE(stall.rfind(s.url("/stall") + ": timed out", 0) == 0, stall);

    std::string cut = error_of(s.url("/cut"));
    CHECK(cut.rfind(s.url("/cut") + ": ", 0) == 0);
    CHECK(cut.find("bytes remaining") != std::string::npos);

    FetchOptions small;
    small.max_bytes = 1 << 20;
    CHECK(error_of(s.url("/big"), small) == s.url("/big") + ": larger than the limit of 1048576 bytes");
    CHECK(error_of(s.url("/bomb.gz"), small) ==
          s.url("/bomb.gz") + ": larger than the limit of 1048576 bytes");

    CHECK(error_of("http://127.0.0.1:1/nothing-listens").rfind("http://127.0.0.1:1/nothing-listens: ", 0) == 0);
}

TEST_CASE("HTTP: gzip as Content-Encoding and as a .gz body")
{
    Server s;
    CHECK(get(s.url("/encoded")) == kBody);
    CHECK(get(s.url("/list.txt.gz")) == kBody);
}
